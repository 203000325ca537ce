/*
 * store.h - the daemon's durable store: accepted events, cases and case
 * linkage, possible matches, quarantined (rejected) messages and a small
 * key/value meta table.
 *
 * The embedded back-end is SQLite in WAL mode with synchronous=FULL, so a
 * mash_store_commit() that returned MASH_OK has reached the disk: the
 * daemon publishes a Receipt only after it (wire contract, audit.md
 * "durable before acknowledgement"). The interface names no SQLite type
 * (white-box tests reach the file through store/store_test.h), so a server
 * database can follow. The audit trail (store/store_aud.h) and the s47
 * triggers and clocks (s47/s47_store.h) are kept by the store as well.
 *
 * One struct mash_store is one connection, used by one thread (the
 * daemon's core thread). The ingest path is:
 *
 *	mash_store_begin(st);
 *	mash_store_event_lookup(st, agency, event_id, &rcpt);
 *		MASH_OK  -> DUPLICATE receipt with rcpt.case_id; rollback
 *	mash_store_case_link(st, &subject, case_id, &is_new);
 *	mash_store_event_insert(st, &ev, &seq);
 *	(audit and s47 append their rows through the store, same transaction)
 *	mash_store_event_set_receipt(st, agency, event_id, status, audit_seq);
 *	mash_store_outbox_add(st, topic, bytes, len, &id);  (deliveries)
 *	mash_store_commit(st);   -> now publish the receipt and the outbox,
 *	                            mash_store_outbox_done(st, id) on PUBACK
 *
 * Every function returns MASH_OK or a negative MASH_ERR_* (common/err.h);
 * SQLite failures are MASH_ERR_STORE (the SQLite message is available from
 * mash_store_errmsg()), except MASH_ERR_TIMEOUT when another process held
 * the database lock for MASH_STORE_BUSY_TIMEOUT_MS (retry later) and
 * MASH_ERR_NOMEM when SQLite ran out of memory. All output parameters are
 *cleared on entry and left cleared on failure. Strings passed in are
 *NUL-terminated UTF-8.
 */
#ifndef MASH_STORE_H
#define MASH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/limits.h"

struct mash_store;

/* Current schema version (PRAGMA user_version after open). */
#define MASH_STORE_SCHEMA_VERSION 6
/* Case ids are "C-" followed by 12 lower-case hex digits. */
#define MASH_STORE_CASE_ID_LEN 14u
/* Buffer size for a case id including its NUL. */
#define MASH_STORE_CASE_ID_SIZE (MASH_STORE_CASE_ID_LEN + 1u)
/* SQLite busy timeout (ms) before a locked database is an error. */
#define MASH_STORE_BUSY_TIMEOUT_MS 5000
/* Quarantined bytes kept per message; larger messages are truncated to
 * this and flagged. */
#define MASH_STORE_MAX_QUARANTINE_BYTES MASH_MAX_ENVELOPE
/* Longest quarantine reason kept (bytes); longer ones are truncated. */
#define MASH_STORE_MAX_REASON MASH_MAX_SHORT
/* Longest meta key and value. */
#define MASH_STORE_MAX_META_KEY   128u
#define MASH_STORE_MAX_META_VALUE 4096u
/* At most this many possible-match rows are recorded per new case. */
#define MASH_STORE_MAX_CANDIDATES 16u

/* Receipt status values stored per event (mirror Mash__V1__Receipt__Status
 * so the store need not include the protobuf header). */
#define MASH_STORE_RECEIPT_ACCEPTED  1
#define MASH_STORE_RECEIPT_DUPLICATE 2
#define MASH_STORE_RECEIPT_REJECTED  3

/* ------------------------------------------------------------------ */
/* Open, close, transactions                                           */

/*
 * Open the store a URL names: "sqlite:PATH" or a bare PATH is the embedded
 * SQLite back-end (the only one built today; any other "scheme://" is
 * MASH_ERR_INVAL, logged, and never taken as a file name). SQLite: open
 * (creating if needed) the database at PATH, enable WAL,
 * synchronous=FULL, foreign keys and the busy timeout, and migrate the
 * schema to MASH_STORE_SCHEMA_VERSION. On success *out owns a new store
 * (free with mash_store_close). MASH_ERR_INVAL for a NULL/empty path,
 * MASH_ERR_NOMEM, MASH_ERR_STORE if SQLite fails or the file has a schema
 * newer than this build. Case ids come from OpenSSL RAND_bytes and time
 * from the system clock unless changed with the setters below.
 */
int mash_store_open(const char *path, struct mash_store **out);

/* The local file a store URL names ("sqlite:PATH" or a bare PATH), for
 * existence checks; NULL for any other scheme. Points into url. */
const char *mash_store_url_file(const char *url);

/*
 * Open an existing store read-only, as found: nothing created, written or
 * migrated (what an auditor's tools read). Writing through it fails.
 * MASH_OK and *out, MASH_ERR_INVAL, MASH_ERR_IO (cannot open), MASH_ERR_NOMEM.
 */
int mash_store_open_ro(const char *path, struct mash_store **out);

/* A consistent read of several queries: begins a read transaction unless
 * one is open (*began says whether it did); end it with
 * mash_store_snapshot_end(st, *began). MASH_OK or MASH_ERR_STORE. */
int mash_store_snapshot_begin(struct mash_store *st, int *began);
void mash_store_snapshot_end(struct mash_store *st, int began);

/* Close the store; an open transaction is rolled back. NULL allowed. */
void mash_store_close(struct mash_store *st);

/*
 * Random source for case ids: fn fills buf[0..n) and returns MASH_OK or an
 * error. NULL fn restores the default. For tests (deterministic ids).
 */
typedef int (*mash_store_random_fn)(void *ctx, unsigned char *buf, size_t n);
void mash_store_set_random(struct mash_store *st, mash_store_random_fn fn,
                           void *ctx);

/* Clock used for cases' and possible matches' created_at. NULL restores
 * the system clock. The clock must outlive the store. */
void mash_store_set_clock(struct mash_store *st, const struct mash_clock *c);

/* Largest page cache a store may be given, in MiB. */
#define MASH_STORE_CACHE_MIB_MAX 4096u

/*
 * The most memory the store keeps of its own pages (SQLite: its page
 * cache; the default, 2 MiB, is too small once the audit trail's indexes
 * outgrow it: every insert then reads its index pages back from the
 * file, issue 22). MASH_OK, or MASH_ERR_INVAL for 0 or more than
 * MASH_STORE_CACHE_MIB_MAX, MASH_ERR_STORE. mash_store_cache_mib reads
 * back what the engine applied.
 */
int mash_store_set_cache_mib(struct mash_store *st, unsigned mib);
int mash_store_cache_mib(struct mash_store *st, unsigned *mib);

/*
 * BEGIN IMMEDIATE (takes the write lock now, so a later statement cannot
 * fail with SQLITE_BUSY half-way). MASH_ERR_STATE if a transaction is
 * already open, MASH_ERR_TIMEOUT if another process kept the lock for the
 * busy timeout, MASH_ERR_STORE on other failures.
 */
int mash_store_begin(struct mash_store *st);

/*
 * COMMIT. On MASH_OK everything since begin is on disk (WAL fsynced) and
 * survives a crash or power loss. On failure the transaction has been
 * rolled back and nothing since begin is stored. MASH_ERR_STATE if no
 * transaction is open.
 */
int mash_store_commit(struct mash_store *st);

/*
 * BEGIN as mash_store_begin, for a transaction whose COMMIT need not wait
 * for the disk: it is visible at once and reaches the disk with the next
 * durable commit (or checkpoint). A power cut before then loses it whole,
 * never part of it and never without losing every later transaction too
 * (SQLite's WAL is written and replayed in order; PostgreSQL's SET LOCAL
 * synchronous_commit = off is the same promise). Only for work that is
 * redone when lost and that nobody outside is told of before a durable
 * commit follows: mashd's outbox acknowledgements (daemon/outbox.c).
 * The store is durable again for the next mash_store_begin.
 */
int mash_store_begin_lazy(struct mash_store *st);

/*
 * Take the copying of committed pages into the database file (SQLite's
 * WAL checkpoint) off the caller's thread (issue 32): a thread with its
 * own connection to the file does it every interval_ms (1..60000) without
 * ever waiting for the writer; st's commits do it only every 4,096 WAL
 * pages instead of 1,000, copying the last frames and rewinding the WAL
 * (store/sqlite/sq_ckpt.c says why they must). Durability is unchanged (a
 * COMMIT is durable in the WAL). For the one long-lived writer, mashd;
 * mash_store_close stops the thread. MASH_OK; MASH_ERR_INVAL; MASH_ERR_STATE
 * (already running, read-only or an in-memory store); MASH_ERR_STORE (no second
 * connection: logged, and st goes on checkpointing in its commits);
 * MASH_ERR_NOMEM, MASH_ERR_INTERNAL.
 */
int mash_store_checkpoint_in_background(struct mash_store *st, int interval_ms);

/* ROLLBACK; MASH_OK, MASH_ERR_STATE if no transaction is open. */
int mash_store_rollback(struct mash_store *st);

/* 1 if a transaction is open, 0 otherwise. */
int mash_store_in_tx(const struct mash_store *st);

/*
 * Savepoints: one level inside a transaction, so a group of messages can
 * share one COMMIT (group commit) while each message's work is undone
 * alone. mash_store_savepoint marks the current state (SAVEPOINT);
 * mash_store_release keeps what was done since (RELEASE: it commits with
 * the enclosing transaction); mash_store_rollback_to undoes it and ends
 * the savepoint (ROLLBACK TO + RELEASE), the transaction stays open.
 * MASH_OK; MASH_ERR_STATE (no transaction, a savepoint already open for
 * savepoint, none open for release / rollback_to); MASH_ERR_STORE (SQLite
 * error: after one the transaction may be lost, and the final commit
 * says so).
 */
int mash_store_savepoint(struct mash_store *st);
int mash_store_release(struct mash_store *st);
int mash_store_rollback_to(struct mash_store *st);

/* 1 if a savepoint is open, 0 otherwise. */
int mash_store_in_savepoint(const struct mash_store *st);

/*
 * Check the database file's structure (PRAGMA quick_check) and foreign
 * keys (PRAGMA foreign_key_check), for `mashd --check` and after a crash.
 * MASH_OK, MASH_ERR_STATE inside a transaction, MASH_ERR_STORE if either
 * finds a problem (logged without stored values).
 */
int mash_store_check(struct mash_store *st);

/* The last SQLite error message of this connection (for logs; it names no
 * stored values). Static or connection-owned storage; never NULL. */
const char *mash_store_errmsg(struct mash_store *st);

/* ------------------------------------------------------------------ */
/* Events                                                              */

/* An accepted event to insert. Pointers are borrowed for the call. */
struct mash_store_event {
	const char *case_id;  /* from mash_store_case_link */
	const char *agency;   /* 1..MASH_MAX_AGENCY bytes */
	const char *event_id; /* 1..MASH_MAX_ID bytes */
	int category;         /* Mash__V1__Category value */
	unsigned severity;    /* 0..4 */
	int consent;          /* Mash__V1__Consent value */
	int64_t occurred_at;  /* unix ms */
	int64_t recorded_at;  /* unix ms */
	int64_t received_at;  /* unix ms, when the daemon received it */
	/* The signed envelope exactly as received (<= MASH_MAX_ENVELOPE). */
	const unsigned char *envelope;
	size_t envelope_len;
	/* The AgencyEvent payload bytes exactly as signed (<=
	 * MASH_MAX_PAYLOAD); consumers re-decode these, never a
	 * re-serialization. */
	const unsigned char *payload;
	size_t payload_len;
};

/*
 * Insert an accepted event (receipt status ACCEPTED, no audit_seq yet).
 * *seq_out (may be NULL) gets the event's store sequence number (> 0).
 * MASH_ERR_DUPLICATE if (agency, event_id) is already stored (nothing
 * changes), MASH_ERR_NOT_FOUND if case_id is not a case,
 * MASH_ERR_INVAL for missing fields or severity > 4, MASH_ERR_FIELD_TOO_LONG
 * for an over-long agency or event_id, MASH_ERR_TOO_BIG for over-size
 * bytes, MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mash_store_event_insert(struct mash_store *st,
                            const struct mash_store_event *ev,
                            int64_t *seq_out);

/* What the store remembers of an event's receipt. */
struct mash_store_receipt {
	int64_t seq;                           /* event sequence number */
	char case_id[MASH_STORE_CASE_ID_SIZE]; /* the case it was linked to */
	int status;                            /* MASH_STORE_RECEIPT_* */
	uint64_t audit_seq;                    /* 0 if not set */
	int64_t received_at;                   /* first receipt, unix ms */
};

/*
 * Look up (agency, event_id): MASH_OK and *out filled if stored (a re-send
 * is answered DUPLICATE with out->case_id), MASH_ERR_NOT_FOUND if not,
 * MASH_ERR_INVAL, MASH_ERR_STORE. out is zeroed on entry.
 */
int mash_store_event_lookup(struct mash_store *st, const char *agency,
                            const char *event_id,
                            struct mash_store_receipt *out);

/* Record the receipt status and audit sequence number of a stored event.
 * MASH_OK, MASH_ERR_NOT_FOUND, MASH_ERR_INVAL, MASH_ERR_STORE. */
int mash_store_event_set_receipt(struct mash_store *st, const char *agency,
                                 const char *event_id, int status,
                                 uint64_t audit_seq);

/* One stored event with its bytes. */
struct mash_store_event_row {
	int64_t seq;
	char case_id[MASH_STORE_CASE_ID_SIZE];
	char agency[MASH_MAX_AGENCY + 1];
	char event_id[MASH_MAX_ID + 1];
	int category;
	unsigned severity;
	int consent;
	int64_t occurred_at;
	int64_t recorded_at;
	int64_t received_at;
	int receipt_status;
	uint64_t audit_seq;
	unsigned char *envelope; /* owned by the row */
	size_t envelope_len;
	unsigned char *payload; /* owned by the row */
	size_t payload_len;
};

struct mash_store_event_list {
	struct mash_store_event_row *v;
	size_t n;
};

/*
 * All events of case_id in (occurred_at, seq) order. On MASH_OK *out is a
 * new list (possibly n == 0) the caller frees with
 * mash_store_event_list_free. MASH_ERR_INVAL, MASH_ERR_NOMEM,
 * MASH_ERR_STORE.
 */
int mash_store_case_events(struct mash_store *st, const char *case_id,
                           struct mash_store_event_list **out);

/* Wipe the bytes of every row and free the list. NULL allowed. */
void mash_store_event_list_free(struct mash_store_event_list *l);

/*
 * One event by (agency, event_id): MASH_OK and *out a new row (free with
 * mash_store_event_row_free), MASH_ERR_NOT_FOUND, MASH_ERR_INVAL,
 * MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mash_store_event_get(struct mash_store *st, const char *agency,
                         const char *event_id,
                         struct mash_store_event_row **out);

/* Wipe and free a row returned by mash_store_event_get. NULL allowed. */
void mash_store_event_row_free(struct mash_store_event_row *r);

/* ------------------------------------------------------------------ */
/* Cases and linkage                                                   */

/* The child as an event names them. NULL or "" means absent. */
struct mash_store_subject {
	const char *nhs_number; /* 10 digits (spaces ignored), Modulus 11 */
	const char *given_name;
	const char *family_name;
	const char *date_of_birth; /* YYYY-MM-DD */
	const char *postcode;
	const char *sex;
};

/*
 * Link a subject to a case, creating one if needed. Rules, in order:
 *  1. a valid NHS number that a case already has: that case;
 *  2. exact match on normalised family name + date of birth + normalised
 *     postcode with a case that has no NHS number or the same one: that
 *     case (which learns the subject's NHS number if it had none);
 *  3. otherwise a new case. Partial matches with existing cases are
 *     recorded as possible matches (never merged): same family name and
 *     DOB but a different postcode ("family-dob"), same DOB and postcode
 *     but a different family name ("dob-postcode"), full demographic match
 *     but different NHS numbers ("demographics-nhs-differs").
 * case_id receives the case's id; *is_new (may be NULL) is 1 if a case was
 * created. All-or-nothing (a savepoint): on failure nothing was written
 * and the caller's transaction is still usable. Call it inside the ingest
 * transaction so the case commits with its event.
 * MASH_ERR_BAD_NHS for a present but invalid NHS number,
 * MASH_ERR_BAD_DATE for a present but malformed date of birth,
 * MASH_ERR_NO_IDENTITY without a valid NHS number or all of family name,
 * DOB and postcode, MASH_ERR_FIELD_TOO_LONG / MASH_ERR_BAD_UTF8 for bad
 * strings (limit MASH_MAX_SHORT), MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mash_store_case_link(struct mash_store *st,
                         const struct mash_store_subject *s,
                         char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new);

/* A case and the child's demographics as first seen (fields filled in
 * later events only where they were unknown). Strings NULL if unknown. */
struct mash_store_case {
	char case_id[MASH_STORE_CASE_ID_SIZE];
	char *nhs_number;
	char *given_name;
	char *family_name;
	char *date_of_birth;
	char *postcode;
	char *sex;
	int64_t created_at;
};

/* The case case_id: MASH_OK and *out new (free with mash_store_case_free),
 * MASH_ERR_NOT_FOUND, MASH_ERR_INVAL, MASH_ERR_NOMEM, MASH_ERR_STORE. */
int mash_store_case_get(struct mash_store *st, const char *case_id,
                        struct mash_store_case **out);

/* Wipe the demographics and free. NULL allowed. */
void mash_store_case_free(struct mash_store_case *c);

/* The case holding NHS number nhs (spaces ignored): MASH_OK and case_id
 * filled, MASH_ERR_NOT_FOUND, MASH_ERR_BAD_NHS, MASH_ERR_STORE. */
int mash_store_case_find_nhs(struct mash_store *st, const char *nhs,
                             char case_id[MASH_STORE_CASE_ID_SIZE]);

struct mash_store_strlist {
	char **v;
	size_t n;
};

/* Free a string list and its strings. NULL allowed. */
void mash_store_strlist_free(struct mash_store_strlist *l);

/* The distinct agencies with events on case_id, sorted by name. On MASH_OK
 * *out is new (possibly n == 0). MASH_ERR_INVAL, MASH_ERR_NOMEM,
 * MASH_ERR_STORE. */
int mash_store_case_agencies(struct mash_store *st, const char *case_id,
                             struct mash_store_strlist **out);

/* What the sharing level of case_id rests on, without reading its events
 * (issue 32: every event read the whole case to find these): the highest
 * severity of its events and how many agencies have one (0 and 0 for a
 * case without events). MASH_ERR_INVAL, MASH_ERR_STORE. */
int mash_store_case_summary(struct mash_store *st, const char *case_id,
                            unsigned *max_severity, unsigned *n_agencies);

/* Possible-match status values. */
#define MASH_STORE_MATCH_OPEN      0
#define MASH_STORE_MATCH_CONFIRMED 1
#define MASH_STORE_MATCH_REJECTED  2

struct mash_store_match {
	int64_t id;
	char case_a[MASH_STORE_CASE_ID_SIZE]; /* the existing case */
	char case_b[MASH_STORE_CASE_ID_SIZE]; /* the case created after it */
	char reason[32];                      /* e.g. "family-dob" */
	int status;                           /* MASH_STORE_MATCH_* */
	int64_t created_at;
};

struct mash_store_match_list {
	struct mash_store_match *v;
	size_t n;
};

/*
 * Possible matches involving case_id (as a or b), or all of them if
 * case_id is NULL, oldest first. On MASH_OK *out is new (free with
 * mash_store_match_list_free). MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mash_store_possible_matches(struct mash_store *st, const char *case_id,
                                struct mash_store_match_list **out);

void mash_store_match_list_free(struct mash_store_match_list *l);

/* An analyst's decision on possible match id (MASH_STORE_MATCH_CONFIRMED
 * or _REJECTED). Records the decision only: cases are never merged by the
 * store. MASH_OK, MASH_ERR_NOT_FOUND, MASH_ERR_INVAL, MASH_ERR_STORE. */
int mash_store_possible_match_decide(struct mash_store *st, int64_t id,
                                     int status);

/* ------------------------------------------------------------------ */
/* Quarantine                                                          */

/* A rejected message. Pointers borrowed for the call. */
struct mash_store_quarantine {
	const char *topic; /* as received; truncated to MASH_MAX_TOPIC */
	/* The agency the topic names; NULL to derive it from a
	 * mash/v1/events/{agency} topic ("" if the topic has none). */
	const char *agency;
	int64_t received_at;
	int err; /* the MASH_ERR_* code; stored with its name */
	const char
	    *reason; /* human reason; truncated to MASH_STORE_MAX_REASON */
	const unsigned char *bytes; /* the raw message; NULL only if len 0 */
	size_t len;
};

/*
 * Keep a rejected message. Never refuses a message for its content:
 * invalid UTF-8 in topic or reason is kept as bytes / replaced, over-long
 * bytes are truncated to MASH_STORE_MAX_QUARANTINE_BYTES with the
 * truncated flag and original length recorded. *id_out (may be NULL) gets
 * the row id. Outside a transaction the row commits (durably) by itself.
 * MASH_ERR_INVAL (NULL q or st, or bytes NULL with len > 0), MASH_ERR_STORE.
 */
int mash_store_quarantine_add(struct mash_store *st,
                              const struct mash_store_quarantine *q,
                              int64_t *id_out);

struct mash_store_quarantine_row {
	int64_t id;
	char topic[MASH_MAX_TOPIC + 1]; /* invalid UTF-8 bytes as '?' */
	char agency[MASH_MAX_AGENCY + 1];
	int64_t received_at;
	int err;
	char errname[32];
	char reason[MASH_STORE_MAX_REASON + 1];
	unsigned char *bytes; /* owned */
	size_t len;
	size_t orig_len; /* length as received */
	int truncated;   /* 1 if len < orig_len */
};

struct mash_store_quarantine_list {
	struct mash_store_quarantine_row *v;
	size_t n;
};

/* What a purge removed: how many rows, the lowest and highest id. */
struct mash_store_purge {
	size_t n;
	int64_t first_id, last_id;
};

/*
 * Retention (issue 28): delete at most limit (1..10000) quarantined
 * messages received before before_ms, oldest first; *out says what went
 * (n 0: nothing was due). Run it in the caller's transaction with the
 * PURGE audit record that says so (daemon/retention.h). secure_delete
 * zeroes the pages. MASH_OK, MASH_ERR_INVAL, MASH_ERR_STORE.
 */
int mash_store_quarantine_purge(struct mash_store *st, int64_t before_ms,
                                size_t limit, struct mash_store_purge *out);

/*
 * Quarantined messages of agency (NULL: all), ids > after_id, oldest
 * first, at most limit rows (0: no limit). On MASH_OK *out is new (free
 * with mash_store_quarantine_list_free). MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mash_store_quarantine_list(struct mash_store *st, const char *agency,
                               int64_t after_id, size_t limit,
                               struct mash_store_quarantine_list **out);

void mash_store_quarantine_list_free(struct mash_store_quarantine_list *l);

/* ------------------------------------------------------------------ */
/* Outbox: messages to publish after commit                            */

/*
 * The daemon publishes deliveries (SharedRecord, trigger, receipt
 * envelopes) only after the transaction that decided them commits. A crash
 * between the commit and the publish would lose them, so the daemon adds
 * each message to the outbox inside that same transaction, publishes after
 * commit, and calls mash_store_outbox_done() once the broker acknowledged
 * it; at start-up it republishes whatever is still pending (receivers
 * de-duplicate by audit_seq / event_id: delivery is at-least-once).
 */

/* Largest outbox message (bytes). */
#define MASH_STORE_MAX_OUTBOX_BYTES MASH_MAX_ENVELOPE

/*
 * Queue bytes for topic. *id_out (may be NULL) gets its id (ids increase).
 * MASH_ERR_INVAL (NULL/empty topic, bytes NULL with len > 0),
 * MASH_ERR_FIELD_TOO_LONG (topic > MASH_MAX_TOPIC), MASH_ERR_BAD_UTF8,
 * MASH_ERR_TOO_BIG (len > MASH_STORE_MAX_OUTBOX_BYTES), MASH_ERR_STORE.
 */
int mash_store_outbox_add(struct mash_store *st, const char *topic,
                          const unsigned char *bytes, size_t len,
                          int64_t *id_out);

/* As mash_store_outbox_add, naming audit_seq, the audit record that
 * queued it (issue 31: the row's audit_seq; 0 none). */
int mash_store_outbox_add_seq(struct mash_store *st, const char *topic,
                              const unsigned char *bytes, size_t len,
                              int64_t audit_seq, int64_t *id_out);

/* Longest payload type of a held delivery. */
#define MASH_STORE_MAX_HELD_TYPE 128u

/*
 * Hold a delivery that cannot be sealed yet (its recipient has no
 * encryption key; issue 25): bytes are the clear payload_type payload,
 * never published as they are: mash_store_outbox_pending skips it until
 * mash_store_outbox_release replaces it with the sealed envelope. Same
 * errors as mash_store_outbox_add.
 */
int mash_store_outbox_hold(struct mash_store *st, const char *topic,
                           const char *payload_type, const unsigned char *bytes,
                           size_t len, int64_t *id_out);

/* Longest error token kept with a failed publish. */
#define MASH_STORE_MAX_OUTBOX_ERROR 32u

struct mash_store_outbox_row {
	int64_t id;
	char topic[MASH_MAX_TOPIC + 1];
	unsigned char *bytes; /* owned */
	size_t len;
	int64_t created_at;                           /* store clock, unix ms */
	char held_type[MASH_STORE_MAX_HELD_TYPE + 1]; /* "" when ready */
	/* Refused or unacknowledged publishes so far (issue 31), the first
	 * one's time (0: none) and the last one's error token ("": none). */
	int64_t attempts;
	int64_t first_fail_at;
	char last_error[MASH_STORE_MAX_OUTBOX_ERROR + 1];
	/* The audit record that queued it (0: none; issue 31). */
	int64_t audit_seq;
	/* Dead letters only (mash_store_outbox_dead): the id the message
	 * had in the outbox, and when it was moved out (unix ms). */
	int64_t outbox_id;
	int64_t dead_at;
};

struct mash_store_outbox_list {
	struct mash_store_outbox_row *v;
	size_t n;
};

/* Pending messages (never held ones) with id > after_id, oldest first, at most
 * limit (0: no limit), that may go now: a row waiting for its next try
 * (mash_store_outbox_failed) holds back itself and every later row to its
 * topic, and nothing else. On MASH_OK *out is new (free with
 * mash_store_outbox_list_free). MASH_ERR_INVAL, MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mash_store_outbox_pending(struct mash_store *st, int64_t after_id,
                              size_t limit,
                              struct mash_store_outbox_list **out);

/* Wipe the bytes and free. NULL allowed. */
void mash_store_outbox_list_free(struct mash_store_outbox_list *l);

/* Held deliveries with id > after_id, oldest first, at most limit (0: no
 * limit); as mash_store_outbox_pending. */
int mash_store_outbox_held(struct mash_store *st, int64_t after_id,
                           size_t limit, struct mash_store_outbox_list **out);

/* Replace held delivery id by its sealed envelope bytes, queued by audit
 * record audit_seq (0: none): it is published with the next flush.
 * MASH_ERR_NOT_FOUND if id is not held. */
int mash_store_outbox_release(struct mash_store *st, int64_t id,
                              const unsigned char *bytes, size_t len,
                              int64_t audit_seq);

/* Remove message id once published: MASH_OK, MASH_ERR_NOT_FOUND (already
 * done), MASH_ERR_STORE. */
int mash_store_outbox_done(struct mash_store *st, int64_t id);

/*
 * Dead letters (issue 31). A publish the broker refused or did not
 * acknowledge counts an attempt on its row: mash_store_outbox_failed
 * records it (error: an error token, e.g. "REFUSED") and holds the row,
 * and its topic behind it, until next_try_at (store clock, unix ms).
 * Past the daemon's retry budget mash_store_outbox_kill moves the row,
 * with that last attempt counted, to the dead letters (*dead_id, may be
 * NULL): its topic is free again. Both inside the caller's transaction;
 * MASH_ERR_NOT_FOUND when id is not a ready outbox row.
 */
int mash_store_outbox_failed(struct mash_store *st, int64_t id,
                             const char *error, int64_t next_try_at);
int mash_store_outbox_kill(struct mash_store *st, int64_t id, const char *error,
                           int64_t *dead_id);

/* Dead letters with id > after_id, oldest first, at most limit (0: no
 * limit); as mash_store_outbox_pending (outbox_id and dead_at set). */
int mash_store_outbox_dead(struct mash_store *st, int64_t after_id,
                           size_t limit, struct mash_store_outbox_list **out);

/* Put dead letter id back at the end of the outbox, attempts at zero
 * (*new_id, may be NULL: its new outbox id), or delete it. Inside the
 * caller's transaction (which audits it); MASH_ERR_NOT_FOUND. */
int mash_store_outbox_dead_retry(struct mash_store *st, int64_t id,
                                 int64_t *new_id);
int mash_store_outbox_dead_drop(struct mash_store *st, int64_t id);

/* Where a delivery is now (issue 31: pictures show queued and delivered):
 * GONE once the broker acknowledged it (or an operator dropped it: the
 * trail says which), else still in the outbox (PENDING, *attempts
 * refused or unacknowledged publishes so far), HELD there for a
 * recipient without a key, or among the dead letters (DEAD). */
enum mash_store_outbox_where {
	MASH_STORE_OB_GONE = 0,
	MASH_STORE_OB_PENDING = 1,
	MASH_STORE_OB_HELD = 2,
	MASH_STORE_OB_DEAD = 3,
};

/* The delivery queued by audit record audit_seq, or (audit_seq 0) the one
 * held as outbox row outbox_id: *where and *attempts (may be NULL).
 * MASH_ERR_INVAL (neither key > 0), MASH_ERR_STORE. Reads the outbox
 * without an index on audit_seq (it holds what is not yet acknowledged:
 * small unless the broker is away); a picture asks once per record. */
int mash_store_outbox_where(struct mash_store *st, int64_t audit_seq,
                            int64_t outbox_id, int *where, int64_t *attempts);

/* ------------------------------------------------------------------ */
/* Meta (small key/value settings: log id, module schema versions)     */

/* Set key to value (insert or replace). MASH_ERR_INVAL for NULL/empty key,
 * MASH_ERR_FIELD_TOO_LONG, MASH_ERR_STORE. */
int mash_store_meta_set(struct mash_store *st, const char *key,
                        const char *value);

/* *out = a new copy of key's value (caller frees with mash_free), or
 * MASH_ERR_NOT_FOUND; MASH_ERR_INVAL, MASH_ERR_NOMEM, MASH_ERR_STORE. */
int mash_store_meta_get(struct mash_store *st, const char *key, char **out);

/* ------------------------------------------------------------------ */
/* Encryption at rest (crypto/atrest.h, issue 28)                      */

/*
 * Give the store its key-encryption key (32 bytes, from the key file;
 * mash_atrest_kek_load). The first time, fresh store keys are made and
 * kept wrapped under it, and every value written before in clear is
 * sealed, all in one transaction; later, the kept keys are unwrapped.
 * From then on events' envelope and payload and quarantined bytes are
 * written sealed and read opened. Call right after opening, outside a
 * transaction. MASH_OK; MASH_ERR_DECRYPT (another key file: nothing
 * changed); MASH_ERR_DECODE (the kept keys are damaged); MASH_ERR_STATE
 * (already unlocked, in a transaction, or a read-only store without
 * keys); MASH_ERR_STORE, MASH_ERR_NOMEM, MASH_ERR_CRYPTO.
 *
 * A store with keys that is not unlocked refuses to write or read a
 * sealed value (MASH_ERR_DENIED, logged); a sealed value that does not
 * open is MASH_ERR_TAMPERED. Other columns (ids, times, linkage, audit)
 * are not affected by this part of issue 28.
 */
int mash_store_unlock(struct mash_store *st, const uint8_t *kek);

/*
 * Key rotation: keep the unlocked store keys wrapped under new_kek instead
 * (64 bytes re-wrapped; no row is rewritten). Inside the caller's
 * transaction, so that the KEY_CHANGE audit record commits with it; the
 * old key file no longer opens the store once committed. MASH_OK;
 * MASH_ERR_STATE (not unlocked, or no transaction); MASH_ERR_STORE.
 */
int mash_store_rekey(struct mash_store *st, const uint8_t *new_kek);

/* 1 if the store has keys (values are sealed), 0 if not. */
int mash_store_is_sealed(struct mash_store *st);

#endif
