/*
 * sq_int.h - inside the SQLite back-end of the store (store/sqlite/): the
 * handle, its cached statements and the bind/step/column helpers every
 * file of the back-end shares. Nothing outside store/sqlite/ includes it.
 *
 * Files, one concern each: sq_ops.c (the table of operations), sq_util.c
 * (statements, helpers), sq_open.c (open, read-only open, schema and
 * migrations, close), sq_tx.c (transactions, savepoints, snapshots, check,
 * meta), sq_events.c, sq_link.c (linkage: which case an event is about),
 * sq_cases.c (cases and possible matches), sq_quarantine.c, sq_outbox.c,
 * sq_s47.c and sq_s47_clock.c (triggers, statutory clocks; sq_s47_int.h),
 * sq_audit.c (the audit log, tree state, checkpoints), sq_agent_outbox.c
 * and sq_agent_outbox_read.c (an agent's own outbox file, agents/outbox.h;
 * sq_agent_outbox_int.h).
 */
#ifndef MASH_STORE_SQ_INT_H
#define MASH_STORE_SQ_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/limits.h"
#include "crypto/atrest.h"
#include "store/store.h"
#include "store/store_be.h"

#define EVENT_COLS                                                             \
	"seq, case_id, agency, event_id, category, severity, consent,"         \
	" occurred_at, recorded_at, received_at, receipt_status, audit_seq,"   \
	" envelope, payload"

/* The cached statements. */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_LINK_SAVEPOINT,
	S_LINK_RELEASE,
	S_LINK_ROLLBACK_TO,
	S_EVENT_INSERT,
	S_EVENT_LOOKUP,
	S_EVENT_SET_RECEIPT,
	S_EVENT_GET,
	S_CASE_EVENTS,
	S_CASE_EXISTS,
	S_CASE_INSERT,
	S_CASE_BY_NHS,
	S_CASE_BY_DEMOGRAPHICS,
	S_CASE_BY_FAMILY_DOB,
	S_CASE_BY_DOB_POSTCODE,
	S_CASE_FILL,
	S_CASE_GET,
	S_CASE_AGENCIES,
	S_MATCH_INSERT,
	S_MATCH_LIST,
	S_MATCH_DECIDE,
	S_QUARANTINE_INSERT,
	S_QUARANTINE_LIST,
	S_META_SET,
	S_META_GET,
	S_OUTBOX_ADD,
	S_OUTBOX_PENDING,
	S_OUTBOX_DONE,
	S_OUTBOX_HOLD,
	S_OUTBOX_HELD,
	S_OUTBOX_RELEASE,
	S_AUD_STATE_GET,
	S_AUD_STATE_PUT,
	S_AUD_ROW_ADD,
	S_AUD_SP_BEGIN,
	S_AUD_SP_RELEASE,
	S_AUD_SP_ROLLBACK,
	S_AUD_CP_LAST,
	S_AUD_CP_ADD,
	S__COUNT
};

/* Statements of the back-end's less central files (s47, audit read-back),
 * cached by the address of their SQL text: see sq_prep. */
#define SQ_PREP_MAX 64

struct sq_ckpt;

struct mash_store_be {
	sqlite3 *db;
	sqlite3_stmt *stmt[S__COUNT];
	struct {
		const char *sql;
		sqlite3_stmt *s;
	} prep[SQ_PREP_MAX];
	size_t nprep;
	int in_tx;
	int in_sp;     /* a savepoint is open (inside in_tx) */
	int read_only; /* sq_open_ro: no write transaction */
	int lazy;      /* synchronous=NORMAL until the transaction ends */
	struct sq_ckpt *ckpt; /* sq_ckpt.c: checkpoints on their thread */
	/* Encryption at rest (sq_atrest.c): the store keys once unlocked;
	 * sealed: the store has keys, so nothing is written or read in
	 * clear without them. */
	struct mash_atrest *atrest;
	int sealed;
	mash_store_random_fn rnd;
	void *rnd_ctx;
	const struct mash_clock *clock;
};

/* The default randomness: OpenSSL's RAND_bytes. */
int sq_default_random(void *ctx, unsigned char *buf, size_t n);
/* Map a SQLite result code to ours, logging SQLite's message (it names
 * tables and columns, never stored values). */
int sq_fail(struct mash_store_be *st, int src, const char *what);
/* The cached statement id, prepared on first use. */
int sq_stmt(struct mash_store_be *st, enum stmt_id id, sqlite3_stmt **out);
/* Return a cached statement to a clean state. NULL allowed. */
void sq_stmt_done(sqlite3_stmt *s);
/* The statement for sql, prepared once per handle and kept: sql must be a
 * string literal (its address is the key). Give it back with
 * sq_stmt_done, never sqlite3_finalize; sq_close finalizes them all.
 * MASH_OK, or MASH_ERR_STORE (logged; also when more than SQ_PREP_MAX
 * distinct texts are asked for, a programming error). */
int sq_prep(struct mash_store_be *st, const char *sql, sqlite3_stmt **out);
/* Step a cached statement that returns no rows. */
int sq_step_done(struct mash_store_be *st, enum stmt_id id, const char *what);
/* Bind text; NULL or "" binds SQL NULL. */
int sq_bind_text_or_null(sqlite3_stmt *s, int i, const char *v);
/* Bind a blob; a zero-length blob is an empty blob, not NULL. */
int sq_bind_blob(sqlite3_stmt *s, int i, const unsigned char *p, size_t n);
/* Copy a text column into dst[dstsz] ("" for NULL). */
void sq_col_text(sqlite3_stmt *s, int i, char *dst, size_t dstsz);
/* A new copy of a text column, *out NULL for SQL NULL. */
int sq_col_text_dup(sqlite3_stmt *s, int i, char **out);
/* A new copy of a blob column. */
int sq_col_blob_dup(sqlite3_stmt *s, int i, unsigned char **out, size_t *len);
/* A caller-supplied identifier: present, UTF-8, at most max bytes. */
int sq_check_id(const char *s, size_t max);
/* Run SQL that returns no rows. */
int sq_exec(struct mash_store_be *st, const char *sql, const char *what);
/* A one-row PRAGMA query's integer result. */
int sq_pragma_int(struct mash_store_be *st, const char *sql, int64_t *out);

/* A SQLite file opened the store's way (created 0600 and its directory
 * synced, WAL checked, synchronous=FULL, secure_delete, temp_store in
 * memory, busy timeout) without the daemon's schema: for the agents'
 * outbox file (sq_agent_outbox.c), which keeps its own tables. */
/* Encryption at rest (sq_atrest.c). sq_seal: *out is in itself while the
 * store has no keys, else a sealed copy (*owned, mash_free); MASH_ERR_DENIED
 * for a sealed store not unlocked. sq_unseal replaces *val (mash_malloc'd)
 * by its clear value; MASH_ERR_TAMPERED if it does not open. */
#define SQ_WHERE_MAX (32u + MASH_MAX_TOPIC + MASH_MAX_ID)
int sq_atrest_detect(struct mash_store_be *be);
int sq_where(char *buf, size_t n, const char *col, const char *a,
             const char *b);
int sq_seal(struct mash_store_be *be, const char *where, const uint8_t *in,
            size_t len, uint8_t **owned, const uint8_t **out, size_t *outlen);
int sq_unseal(struct mash_store_be *be, const char *where, uint8_t **val,
              size_t *len);
int sq_unlock(struct mash_store_be *be, const uint8_t *kek);
int sq_rekey(struct mash_store_be *be, const uint8_t *new_kek);
/* Where a file keeps its wrapped keys and what its first unlock seals:
 * the store (meta, sq_atrest.c) and an agent's outbox each have one. */
struct sq_keyring {
	const char *what; /* for the log: "store", "outbox" */
	/* MASH_OK and wrapped[0..*len), or MASH_ERR_NOT_FOUND: no keys. */
	int (*get)(struct mash_store_be *be, uint8_t *wrapped, size_t *len);
	int (*put)(struct mash_store_be *be, const uint8_t *wrapped,
	           size_t len);
	int (*migrate)(struct mash_store_be *be, uint64_t *rows);
};
int sq_unlock_ring(struct mash_store_be *be, const uint8_t *kek,
                   const struct sq_keyring *ring);
/* Seal one blob column in place: sel (?1 = last rowid) yields rowid,
 * blob and two place parts, one row at a time; upd sets ?1 at rowid ?2. */
int sq_seal_column(struct mash_store_be *be, const char *sel, const char *upd,
                   const char *col, uint64_t *count);

/* A case's identity at rest (sq_identity.c). Fields in order: */
enum {
	SQ_ID_NHS,
	SQ_ID_GIVEN,
	SQ_ID_FAMILY,
	SQ_ID_DOB,
	SQ_ID_POSTCODE,
	SQ_ID_SEX,
	SQ_ID_FIELDS
};
enum sq_mac_kind { SQ_MAC_NHS, SQ_MAC_FAMILY, SQ_MAC_DOB, SQ_MAC_POSTCODE };
/* 1: linkage runs on MACs and identities are sealed; 0: in clear; -1: the
 * store has keys but was not unlocked (logged). */
int sq_link_keyed(struct mash_store_be *be);
/* With keys, replace the linkage value val (not empty) by its MAC. */
int sq_link_mac(struct mash_store_be *be, enum sq_mac_kind kind, char *val,
                size_t valsz);
/* Seal f (NULL: absent) as case_id's identity; *out: mash_free. */
int sq_identity_seal(struct mash_store_be *be, const char *case_id,
                     const char *const f[SQ_ID_FIELDS], uint8_t **out,
                     size_t *outlen);
/* Open case_id's identity into f (each mash_strdup'd or NULL). */
int sq_identity_open(struct mash_store_be *be, const char *case_id,
                     const uint8_t *in, size_t len, char *f[SQ_ID_FIELDS]);
void sq_identity_clear(char *f[SQ_ID_FIELDS]);
/* Add the fields of add that case_id's identity lacks. */
int sq_identity_fill(struct mash_store_be *be, const char *case_id,
                     const char *const add[SQ_ID_FIELDS]);
int sq_is_sealed(struct mash_store_be *be);

int sq_open_file(const char *path, struct mash_store_be **out);

/* The operations of this back-end (store_be.h), one per interface
 * function; sq_ops.c puts them in mash_store_sqlite_ops. */
int sq_open(const char *path, struct mash_store_be **out);
int sq_open_ro(const char *path, struct mash_store_be **out);
int sq_snapshot_begin(struct mash_store_be *be, int *began);
void sq_snapshot_end(struct mash_store_be *be, int began);
void sq_close(struct mash_store_be *be);
void sq_set_random(struct mash_store_be *be, mash_store_random_fn fn,
                   void *ctx);
void sq_set_clock(struct mash_store_be *be, const struct mash_clock *c);
int sq_set_cache_mib(struct mash_store_be *be, unsigned mib);
int sq_cache_mib(struct mash_store_be *be, unsigned *mib);
int sq_begin(struct mash_store_be *be);
int sq_commit(struct mash_store_be *be);
int sq_begin_lazy(struct mash_store_be *be);
int sq_ckpt_start(struct mash_store_be *be, int interval_ms);
void sq_ckpt_stop(struct mash_store_be *be);
int sq_rollback(struct mash_store_be *be);
int sq_in_tx(const struct mash_store_be *be);
int sq_savepoint(struct mash_store_be *be);
int sq_release(struct mash_store_be *be);
int sq_rollback_to(struct mash_store_be *be);
int sq_in_savepoint(const struct mash_store_be *be);
int sq_check(struct mash_store_be *be);
const char *sq_errmsg(struct mash_store_be *be);
int sq_event_insert(struct mash_store_be *be, const struct mash_store_event *ev,
                    int64_t *seq_out);
int sq_event_lookup(struct mash_store_be *be, const char *agency,
                    const char *event_id, struct mash_store_receipt *out);
int sq_event_set_receipt(struct mash_store_be *be, const char *agency,
                         const char *event_id, int status, uint64_t audit_seq);
int sq_case_events(struct mash_store_be *be, const char *case_id,
                   struct mash_store_event_list **out);
int sq_event_get(struct mash_store_be *be, const char *agency,
                 const char *event_id, struct mash_store_event_row **out);
int sq_case_link(struct mash_store_be *be, const struct mash_store_subject *s,
                 char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new);
int sq_case_get(struct mash_store_be *be, const char *case_id,
                struct mash_store_case **out);
int sq_case_find_nhs(struct mash_store_be *be, const char *nhs,
                     char case_id[MASH_STORE_CASE_ID_SIZE]);
int sq_case_agencies(struct mash_store_be *be, const char *case_id,
                     struct mash_store_strlist **out);
int sq_case_summary(struct mash_store_be *be, const char *case_id,
                    unsigned *max_severity, unsigned *n_agencies);
int sq_possible_matches(struct mash_store_be *be, const char *case_id,
                        struct mash_store_match_list **out);
int sq_possible_match_decide(struct mash_store_be *be, int64_t id, int status);
int sq_quarantine_add(struct mash_store_be *be,
                      const struct mash_store_quarantine *q, int64_t *id_out);
int sq_quarantine_purge(struct mash_store_be *be, int64_t before_ms,
                        size_t limit, struct mash_store_purge *out);
int sq_quarantine_list(struct mash_store_be *be, const char *agency,
                       int64_t after_id, size_t limit,
                       struct mash_store_quarantine_list **out);
int sq_outbox_add(struct mash_store_be *be, const char *topic,
                  const unsigned char *bytes, size_t len, int64_t audit_seq,
                  int64_t *id_out);
int sq_outbox_hold(struct mash_store_be *be, const char *topic,
                   const char *payload_type, const unsigned char *bytes,
                   size_t len, int64_t *id_out);
int sq_outbox_pending(struct mash_store_be *be, int64_t after_id, size_t limit,
                      struct mash_store_outbox_list **out);
int sq_outbox_held(struct mash_store_be *be, int64_t after_id, size_t limit,
                   struct mash_store_outbox_list **out);
int sq_outbox_release(struct mash_store_be *be, int64_t id,
                      const unsigned char *bytes, size_t len,
                      int64_t audit_seq);
int sq_outbox_done(struct mash_store_be *be, int64_t id);
int sq_outbox_failed(struct mash_store_be *be, int64_t id, const char *error,
                     int64_t next_try_at);
int sq_outbox_kill(struct mash_store_be *be, int64_t id, const char *error,
                   int64_t *dead_id);
int sq_outbox_dead(struct mash_store_be *be, int64_t after_id, size_t limit,
                   struct mash_store_outbox_list **out);
int sq_outbox_dead_retry(struct mash_store_be *be, int64_t id, int64_t *new_id);
int sq_outbox_dead_drop(struct mash_store_be *be, int64_t id);
int sq_outbox_where(struct mash_store_be *be, int64_t audit_seq,
                    int64_t outbox_id, int *where, int64_t *attempts);
/* The rows of an outbox statement (sq_outbox.c): which a stmt_id, or -1
 * and sql a literal for sq_prep; ?1 after_id, ?2 limit, ?3 now. */
int sq_outbox_rows(struct mash_store_be *be, int which, const char *sql,
                   int64_t after_id, size_t limit,
                   struct mash_store_outbox_list **out);
int sq_meta_set(struct mash_store_be *be, const char *key, const char *value);
int sq_meta_get(struct mash_store_be *be, const char *key, char **out);
int sq_aud_init(struct mash_store_be *be, const char *log_id, int version,
                const unsigned char *frontier, size_t frontier_len, char *out,
                size_t outsz);
int sq_aud_state_get(struct mash_store_be *be, uint64_t *tree_size,
                     unsigned char *buf, size_t max, size_t *len);
int sq_aud_state_put(struct mash_store_be *be, uint64_t tree_size,
                     const unsigned char *frontier, size_t len);
int sq_aud_row_add(struct mash_store_be *be,
                   const struct mash_store_aud_row *row);
int sq_aud_savepoint(struct mash_store_be *be);
int sq_aud_release(struct mash_store_be *be);
void sq_aud_undo(struct mash_store_be *be);
int sq_aud_checkpoint_last(struct mash_store_be *be, uint64_t *tree_size,
                           int64_t *time_ms, unsigned char **env,
                           size_t *env_len);
int sq_aud_checkpoint_add(struct mash_store_be *be, uint64_t tree_size,
                          const unsigned char *root, size_t root_len,
                          int64_t time_ms, const char *log_id,
                          const unsigned char *env, size_t env_len);
int sq_aud_rows(struct mash_store_be *be, const struct mash_store_aud_filter *f,
                mash_store_aud_row_fn fn, void *ctx);
int sq_aud_checkpoints(struct mash_store_be *be, int latest,
                       mash_store_aud_cp_fn fn, void *ctx);
int sq_aud_log_id(struct mash_store_be *be, char *out, size_t outsz);
int sq_aud_record(struct mash_store_be *be, uint64_t seq, char **record,
                  size_t *len);
int sq_s47_init(struct mash_store_be *be);
int sq_s47_load_open(struct mash_store_be *be, const char *case_id,
                     struct mash_s47_open *out);
int sq_s47_apply(struct mash_store_be *be, const struct mash_s47_policy *p,
                 const struct mash_cal *cal, const char *case_id,
                 const struct mash_s47_fact *hist, size_t n, size_t cur,
                 int64_t now_ms, struct mash_s47_outcome *out);
int sq_s47_escalate_due(struct mash_store_be *be, int64_t now_ms,
                        struct mash_s47_clock *out, size_t max, size_t *n);
int sq_s47_list_clocks(struct mash_store_be *be, const char *case_id,
                       int open_only, struct mash_s47_clock *out, size_t max,
                       size_t *n);
int sq_s47_next_due(struct mash_store_be *be, int64_t *due_at);

#endif
