/*
 * store_aud.h - where the audit trail is kept: the log's rows, its Merkle
 * tree state and its signed checkpoints, in the store (issue 27). The
 * audit module (audit/aud.c) decides what a record is, its canonical bytes
 * and its hashes; these functions only keep them, byte for byte, inside
 * the caller's transaction, so an event and its audit records commit
 * together. Implemented by the back-end (store/sqlite/sq_audit.c).
 *
 * Tables (created by mash_store_aud_init):
 *   audit_log(seq, type, time_ms, actor, case_id, agency, event_id,
 *             recipient, record, leaf_hash)
 *   audit_state(id = 1, log_id, version, tree_size, frontier)
 *   audit_checkpoints(id, tree_size, root_hash, timestamp, log_id,
 *                     envelope)
 */
#ifndef MASH_STORE_AUD_H
#define MASH_STORE_AUD_H

#include <stddef.h>
#include <stdint.h>

struct mash_store;

/* One row of the log. Strings borrowed; NULL or "" stores no value. */
struct mash_store_aud_row {
	uint64_t seq;
	const char *type; /* "EVENT_RECEIVED" ... */
	int64_t time_ms;
	const char *actor, *case_id, *agency, *event_id, *recipient;
	const char *record; /* the canonical JSON (the Merkle leaf) */
	size_t record_len;
	const unsigned char *leaf_hash; /* leaf_len bytes */
	size_t leaf_len;
};

/*
 * Create the audit tables if missing and, on the first open, the state row
 * of an empty tree named log_id (version and the encoded empty frontier
 * given by the caller). The stored log_id (which an existing log keeps)
 * is copied to out[outsz]. MASH_OK, MASH_ERR_INVAL, MASH_ERR_STORE.
 */
int mash_store_aud_init(struct mash_store *st, const char *log_id, int version,
                        const unsigned char *frontier, size_t frontier_len,
                        char *out, size_t outsz);

/* The tree state: size and encoded frontier (copied into buf[max], its
 * length in *len). MASH_OK, MASH_ERR_NOT_FOUND (no state row),
 * MASH_ERR_TOO_BIG (frontier over max), MASH_ERR_STORE. */
int mash_store_aud_state_get(struct mash_store *st, uint64_t *tree_size,
                             unsigned char *buf, size_t max, size_t *len);

/* Replace the tree state. MASH_OK or MASH_ERR_STORE. */
int mash_store_aud_state_put(struct mash_store *st, uint64_t tree_size,
                             const unsigned char *frontier, size_t len);

/* Add one row (seq must be new). MASH_OK, MASH_ERR_INVAL, MASH_ERR_STORE. */
int mash_store_aud_row_add(struct mash_store *st,
                           const struct mash_store_aud_row *row);

/* The audit's own savepoint (nested inside the caller's transaction, or
 * a transaction of its own outside one): begin, release, and undo (roll
 * back to it and release it). MASH_OK or MASH_ERR_STORE. */
int mash_store_aud_savepoint(struct mash_store *st);
int mash_store_aud_release(struct mash_store *st);
void mash_store_aud_undo(struct mash_store *st);

/* The latest checkpoint: tree size and time, and (env not NULL) a
 * mash_malloc'd copy of its SignedEnvelope. MASH_OK, MASH_ERR_NOT_FOUND
 * (none yet), MASH_ERR_NOMEM, MASH_ERR_STORE. */
int mash_store_aud_checkpoint_last(struct mash_store *st, uint64_t *tree_size,
                                   int64_t *time_ms, unsigned char **env,
                                   size_t *env_len);

/* Keep one signed checkpoint. MASH_OK, MASH_ERR_INVAL, MASH_ERR_STORE. */
int mash_store_aud_checkpoint_add(struct mash_store *st, uint64_t tree_size,
                                  const unsigned char *root, size_t root_len,
                                  int64_t time_ms, const char *log_id,
                                  const unsigned char *env, size_t env_len);

/* ---- reading the trail back (audit verify, query, report, prove) ---- */

/* One stored row exactly as found: nothing in it is trusted (verify
 * checks it). Strings are NULL for no value; every pointer is valid only
 * during the callback. */
struct mash_store_aud_raw {
	int64_t seq; /* as stored: may be <= 0 in an altered log */
	const char *type, *actor, *case_id, *agency, *event_id, *recipient;
	int64_t time_ms;
	const char *record; /* not NUL-terminated */
	size_t record_len;
	const unsigned char *leaf_hash;
	size_t leaf_len;
};

/* Which rows (every member optional: NULL / -1 / 0 = any). principal
 * matches the actor or the recipient; [since, until) in ms; max_seq
 * stops after that seq. */
struct mash_store_aud_filter {
	const char *case_id, *agency, *principal, *type;
	int64_t since, until;
	uint64_t max_seq;
};

/* Called per row; a non-zero return stops the walk and is returned. */
typedef int (*mash_store_aud_row_fn)(void *ctx,
                                     const struct mash_store_aud_raw *row);

/* The rows matching f (NULL: all) in seq order. MASH_OK after the last
 * row, fn's non-zero value, MASH_ERR_INVAL or MASH_ERR_STORE. */
int mash_store_aud_rows(struct mash_store *st,
                        const struct mash_store_aud_filter *f,
                        mash_store_aud_row_fn fn, void *ctx);

/* One stored checkpoint exactly as found (pointers valid during the
 * callback only). */
struct mash_store_aud_cp_raw {
	int64_t id;
	int64_t tree_size;
	const unsigned char *root;
	size_t root_len;
	int64_t timestamp;
	const char *log_id; /* NULL for no value */
	const unsigned char *env;
	size_t env_len;
};

typedef int (*mash_store_aud_cp_fn)(void *ctx,
                                    const struct mash_store_aud_cp_raw *cp);

/* Every checkpoint in id order, or (latest) only the one with the highest
 * tree size (then highest id). Returns as mash_store_aud_rows. */
int mash_store_aud_checkpoints(struct mash_store *st, int latest,
                               mash_store_aud_cp_fn fn, void *ctx);

/* The stored log id into out[outsz] ("" when the state row is missing).
 * MASH_OK, or MASH_ERR_STORE (no audit tables). */
int mash_store_aud_log_id(struct mash_store *st, char *out, size_t outsz);

/* The record bytes of seq: *record (mash_malloc'd, NUL-terminated) and
 * *len. MASH_OK, MASH_ERR_NOT_FOUND, MASH_ERR_NOMEM, MASH_ERR_STORE. */
int mash_store_aud_record(struct mash_store *st, uint64_t seq, char **record,
                          size_t *len);

#endif
