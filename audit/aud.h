/*
 * aud.h - the tamper-evident audit trail: canonical, versioned audit
 * records appended to an RFC 9162 Merkle tree kept in the daemon's SQLite
 * database (tables audit_log, audit_state, audit_checkpoints; created on
 * open), and signed checkpoints of that tree.
 *
 * Record encoding (the Merkle leaf): compact JSON with sorted keys
 * (jansson JSON_COMPACT | JSON_SORT_KEYS), always with "v" (2; version 1
 * records, without "by_rule", still verify), "seq", "type", "time" and
 * "actor"; the other keys only when set. See
 * docs/internals/audit.md. A record holds ids, agency names, field NAMES,
 * rule ids and legal bases, never names, dates of birth, NHS numbers or
 * summaries: strings are length-bounded and any 10-digit number in them is
 * masked before it is written.
 *
 * seq starts at 1 and has no gaps; leaf index = seq - 1.
 *
 * Single-threaded: one struct mash_aud per connection, used from the
 * daemon's core thread only.
 */
#ifndef MASH_AUD_H
#define MASH_AUD_H

#include <stddef.h>
#include <stdint.h>

#include "audit/merkle.h"
#include "common/clock.h"

struct mash_store;
struct mash_aud;

/* Record format version written as "v"; 2 added "by_rule" (issue 26).
 * Verifiers accept MASH_AUD_VERSION_MIN..MASH_AUD_VERSION. */
#define MASH_AUD_VERSION     2
#define MASH_AUD_VERSION_MIN 1
/* Largest string value (ids, names of fields, rule ids): bytes. */
#define MASH_AUD_MAX_ID 128u
/* Largest reason text: bytes. Far below a summary on purpose. */
#define MASH_AUD_MAX_REASON 256u
/* Largest number of shared or withheld field names in one record. */
#define MASH_AUD_MAX_FIELDS 128u
/* Largest "extra" JSON object text: bytes. */
#define MASH_AUD_MAX_EXTRA 1024u
/* Largest encoded record: bytes. */
#define MASH_AUD_MAX_RECORD 32768u
/* Payload type of a checkpoint envelope (wire-contract.md). */
#define MASH_AUD_CHECKPOINT_TYPE "mash.v1.AuditCheckpoint"
/* Retained topic of checkpoints (wire-contract.md). */
#define MASH_AUD_CHECKPOINT_TOPIC "mash/v1/audit/checkpoints"

/* Record types; the numbers are stable (stored), the names are the
 * "type" value of the encoding. Append, never renumber. */
enum mash_aud_type {
	MASH_AUD_EVENT_RECEIVED = 1,  /* an agency event accepted and stored */
	MASH_AUD_EVENT_REJECTED = 2,  /* rejected: reason = error token */
	MASH_AUD_EVENT_DUPLICATE = 3, /* re-sent event acknowledged again */
	MASH_AUD_DECISION = 4,        /* sharing decision for one recipient */
	/* the broker acknowledged messages to an inbox (issue 31: written
	 * at the PUBACK; extra.queued lists the DELIVERY_QUEUED /
	 * TRIGGER_DELIVERY records whose messages they were) */
	MASH_AUD_DELIVERY = 5,
	MASH_AUD_PICTURE_GRANTED = 6,   /* picture request granted */
	MASH_AUD_PICTURE_DENIED = 7,    /* picture request denied */
	MASH_AUD_BREAK_GLASS = 8,       /* an override used (reason = why) */
	MASH_AUD_TRIGGER_RAISED = 9,    /* s47 trigger raised */
	MASH_AUD_TRIGGER_UPDATED = 10,  /* s47 trigger updated */
	MASH_AUD_TRIGGER_DELIVERY = 11, /* a trigger sent to an attendee */
	MASH_AUD_CLOCK_SET = 12,        /* a statutory clock set or changed */
	MASH_AUD_ESCALATION = 13,       /* a clock overdue, escalated */
	MASH_AUD_POLICY_LOAD = 14,      /* policy loaded (extra: sha256) */
	MASH_AUD_KEY_CHANGE = 15,       /* trust store key added/revoked */
	MASH_AUD_PURGE = 16,            /* data purged (retention) */
	MASH_AUD_CHECKPOINT = 17,       /* a checkpoint was signed */
	/* a delivery decided but held: the recipient has no encryption key
	 * (issue 25); a DELIVERY record follows when it is released */
	MASH_AUD_DELIVERY_HELD = 18,
	/* a break-glass override asked for by a role the policy does not
	 * give it to (sharing-policy.md rule 8, issue 26): refused, the
	 * ordinary view shown; reason = the reason the requester gave */
	MASH_AUD_BREAK_GLASS_REFUSED = 19,
	/* an operator read a quarantined message's bytes (mashctl
	 * quarantine show, issue 28): actor who, extra the id */
	MASH_AUD_QUARANTINE_READ = 20,
	/* a delivery the broker kept refusing (or never acknowledged) past
	 * mashd's retry budget, moved to the dead letters (issue 31):
	 * recipient, reason the error, extra the outbox and dead-letter ids
	 * and the attempts; no DELIVERY record says it arrived */
	MASH_AUD_DELIVERY_FAILED = 21,
	/* an operator put a dead letter back in the outbox (mashctl outbox
	 * retry): actor who, extra the dead-letter and new outbox ids */
	MASH_AUD_DELIVERY_RETRIED = 22,
	/* an operator dropped a dead letter (mashctl outbox drop): actor
	 * who, reason why; the delivery will never be made */
	MASH_AUD_DELIVERY_DROPPED = 23,
	/* a SharedRecord decided for an inbox and committed to the outbox
	 * with this record (issue 31): queued, not yet acknowledged; the
	 * DELIVERY record that lists this seq says the broker took it */
	MASH_AUD_DELIVERY_QUEUED = 24,
};
#define MASH_AUD_TYPE_MIN MASH_AUD_EVENT_RECEIVED
#define MASH_AUD_TYPE_MAX MASH_AUD_DELIVERY_QUEUED

/* The fields of a decision one rule decided ("by_rule", version 2): which
 * rule shared, and which withheld, each field (issue 26). */
struct mash_aud_rule_fields {
	const char *rule_id;       /* "default-deny" when no rule named them */
	const char *legal_basis;   /* may be NULL or "" */
	int shared;                /* 1 shared, 0 withheld */
	const char *const *fields; /* their NAMES, at least one */
	size_t n_fields;
};

/*
 * One audit record as the caller describes it. Every pointer is borrowed
 * for the duration of the call and may be NULL (or n_* 0) when it does not
 * apply. actor is required: a principal, an agency, or "mashd".
 */
struct mash_aud_record {
	enum mash_aud_type type;
	int64_t time_ms;   /* 0: the audit log's clock is read */
	const char *actor; /* who acted */
	const char *case_id;
	const char *agency; /* the agency the record is about */
	const char *event_id;
	const char *recipient; /* principal who received / requested */
	const char *purpose;
	const char *rule_id;
	const char *legal_basis;
	const char *const *shared; /* names of fields shared */
	size_t n_shared;
	const char *const *withheld; /* names of fields withheld */
	size_t n_withheld;
	const char *reason;     /* error token, break-glass reason, ... */
	const char *extra_json; /* a small JSON object, e.g. {"sha256":..} */
	/* DECISION: the fields by the rule that decided them (may be 0) */
	const struct mash_aud_rule_fields *by_rule;
	size_t n_by_rule;
};

/* "EVENT_RECEIVED" etc.; NULL for a value not in the enum. Static. */
const char *mash_aud_type_name(enum mash_aud_type type);

/* Parse a type name (case-sensitive). MASH_OK or MASH_ERR_BAD_ENUM. */
int mash_aud_type_parse(const char *name, enum mash_aud_type *out);

/*
 * Open the audit log kept in the store st (borrowed: it must outlive the
 * log); creates the tables when missing. log_id names
 * a new log (NULL: "mash-audit"); an existing log keeps its stored id.
 * clock is borrowed and must outlive the log. *out gets a new handle
 * (caller frees with mash_aud_free) or NULL. MASH_OK, MASH_ERR_STORE,
 * MASH_ERR_TAMPERED (stored tree state does not decode), MASH_ERR_NOMEM.
 */
int mash_aud_open(struct mash_store *st, const struct mash_clock *clock,
                  const char *log_id, struct mash_aud **out);

/* Free the handle (not the store). NULL allowed. */
void mash_aud_free(struct mash_aud *aud);

/*
 * Append one record. Meant to run INSIDE the caller's store transaction so
 * that the event and its audit records commit together (it uses a
 * SAVEPOINT, so it is also atomic on its own). Assigns the next seq,
 * stores the canonical bytes and the leaf hash, and updates the tree state
 * (O(log n), never re-reads the log). If the caller's transaction is rolled
 * back, the next append sees the rolled-back state: nothing is cached.
 * *seq (may be NULL) gets the seq, 0 on failure. MASH_OK, MASH_ERR_INVAL
 * (unknown type, no actor, bad extra_json), MASH_ERR_FIELD_TOO_LONG,
 * MASH_ERR_BAD_UTF8, MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mash_aud_append(struct mash_aud *aud, const struct mash_aud_record *rec,
                    uint64_t *seq);

/*
 * Append recs[0..n) as one unit, as n appends in order would, but with one
 * savepoint and one read and write of the tree state: all are stored with
 * consecutive seqs, or none (the first failure is returned, as append's).
 * seqs (may be NULL) gets n seqs, all 0 on failure. n == 0 is MASH_OK.
 */
int mash_aud_append_many(struct mash_aud *aud,
                         const struct mash_aud_record *recs, size_t n,
                         uint64_t *seqs);

/*
 * The canonical encoding of rec with the given seq (no database): what
 * append stores as the leaf. *out (mash_malloc'd, NUL-terminated, caller
 * frees with mash_free) and *len, or NULL/0 on error. Errors as append.
 */
int mash_aud_encode(const struct mash_aud_record *rec, uint64_t seq,
                    int64_t time_ms, char **out, size_t *len);

/* The committed (as seen by this connection) tree: *size and root.
 * MASH_OK or MASH_ERR_STORE. */
int mash_aud_tree(struct mash_aud *aud, uint64_t *size,
                  unsigned char root[MASH_MERKLE_HASH_LEN]);

/* The log id (static for the handle's lifetime). */
const char *mash_aud_log_id(const struct mash_aud *aud);

/*
 * Checkpoints. The daemon's key seals the AuditCheckpoint: the signer is a
 * callback so that this module does not depend on how keys are held.
 * seal() returns MASH_OK and a serialized SignedEnvelope of payload_type
 * in *env (mash_malloc'd; the audit module frees it with mash_free).
 */
struct mash_aud_signer {
	int (*seal)(void *ctx, const char *payload_type,
	            const unsigned char *payload, size_t payload_len,
	            unsigned char **env, size_t *env_len);
	void *ctx;
};

/* When a checkpoint is due: every `every_records` records or every
 * `every_ms` milliseconds (with at least one new record); 0 disables that
 * trigger. */
struct mash_aud_checkpoint_policy {
	uint64_t every_records;
	int64_t every_ms;
};

/*
 * 1 if a checkpoint is due now under pol (there are records not yet
 * covered by a checkpoint, and either every_records of them or every_ms
 * elapsed since the last checkpoint, or there has never been one), 0 if
 * not, negative error (MASH_ERR_STORE).
 */
int mash_aud_checkpoint_due(struct mash_aud *aud,
                            const struct mash_aud_checkpoint_policy *pol);

/*
 * Sign a checkpoint of the current tree and store it (in its own
 * SAVEPOINT; call it after the batch committed, or inside a transaction:
 * it commits with it). Also appends a CHECKPOINT record AFTER the signed
 * tree size (so the checkpoint covers everything before it). *env / *len
 * (may be NULL) receive a copy of the envelope to publish retained on
 * MASH_AUD_CHECKPOINT_TOPIC (caller frees with mash_free). If the tree did
 * not grow since the last checkpoint, returns MASH_OK with *env NULL and
 * stores nothing. MASH_OK, MASH_ERR_STORE, MASH_ERR_CRYPTO (from seal),
 * MASH_ERR_NOMEM.
 */
int mash_aud_checkpoint(struct mash_aud *aud,
                        const struct mash_aud_signer *signer,
                        unsigned char **env, size_t *len);

/* The latest stored checkpoint envelope (to re-publish at start-up):
 * *env (caller frees with mash_free) / *len, or MASH_ERR_NOT_FOUND. */
int mash_aud_latest_checkpoint(struct mash_aud *aud, unsigned char **env,
                               size_t *len);

#endif
