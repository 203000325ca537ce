/*
 * verify.h - checking an audit trail at rest and proving things about it:
 * what `mashctl audit verify` and `mashctl audit prove` run.
 *
 * mash_aud_verify() reads the audit tables of a database (aud.h) and
 * checks, in seq order, stopping at the FIRST problem:
 *   - seq contiguity from 1 (a gap is a deleted record),
 *   - every leaf hash recomputed from the stored record bytes,
 *   - every record's own "seq" (a different one is a reordered, swapped
 *     or inserted record), its version, and that the indexed columns
 *     agree with it,
 *   - every checkpoint: signature (through an opener), that its stored
 *     columns equal what was signed, and that its root equals the root
 *     recomputed at its tree_size,
 *   - the stored tree state: same size (a missing tail is a deletion, an
 *     extra tail an insertion) and same root.
 */
#ifndef MASH_AUD_VERIFY_H
#define MASH_AUD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "audit/merkle.h"

struct mash_store;

/* Size of the one-line diagnosis. */
#define MASH_AUD_WHY_LEN 320u

/*
 * Opens a checkpoint's SignedEnvelope: checks its signature (signer
 * "mashd", payload_type MASH_AUD_CHECKPOINT_TYPE) and hands back the
 * verified payload bytes (*payload mash_malloc'd, caller frees with
 * mash_free). MASH_OK, or an error with a reason in why.
 */
struct mash_aud_opener {
	int (*open)(void *ctx, const unsigned char *env, size_t len,
	            unsigned char **payload, size_t *payload_len, char *why,
	            size_t whylen);
	void *ctx;
};

struct mash_aud_verify_result {
	uint64_t records;       /* records checked (up to the first problem) */
	size_t checkpoints;     /* checkpoints checked */
	int signatures_checked; /* 1 if an opener checked signatures */
	uint64_t tree_size;     /* recomputed tree, when intact */
	unsigned char root[MASH_MERKLE_HASH_LEN];
	uint64_t bad_seq;       /* first bad record, 0 if none / not a record */
	int64_t bad_checkpoint; /* id of the bad checkpoint, 0 if none */
	char why[MASH_AUD_WHY_LEN]; /* one line: what is wrong and where */
};

/*
 * Verify the audit trail kept in st (open it with mash_store_open_ro to
 * read evidence as found). opener may be NULL: checkpoint envelopes
 * are then decoded without checking signatures (roots are still
 * compared) and res->signatures_checked is 0. res is cleared on entry.
 * MASH_OK when intact; MASH_ERR_TAMPERED when a check fails (res->why
 * names the first bad record or checkpoint); MASH_ERR_STORE or
 * MASH_ERR_NOMEM when the database cannot be read (res->why says why).
 */
int mash_aud_verify(struct mash_store *st, const struct mash_aud_opener *opener,
                    struct mash_aud_verify_result *res);

/*
 * The leaf hashes of records 1..n recomputed from the stored bytes, in
 * seq order: *leaves (mash_malloc'd, n entries, caller frees with
 * mash_free). Fails with MASH_ERR_TAMPERED if a seq is missing or a
 * stored leaf hash differs, MASH_ERR_NOT_FOUND if the log has fewer than
 * n records, MASH_ERR_STORE, MASH_ERR_NOMEM.
 */
int mash_aud_leaves(struct mash_store *st, uint64_t n,
                    unsigned char (**leaves)[MASH_MERKLE_HASH_LEN]);

/* A checkpoint as stored and as signed. */
struct mash_aud_checkpoint_info {
	int64_t id;
	char log_id[129];
	uint64_t tree_size;
	unsigned char root[MASH_MERKLE_HASH_LEN];
	int64_t timestamp;
	unsigned char *envelope; /* mash_malloc'd; free with mash_free */
	size_t envelope_len;
};

/*
 * The latest checkpoint (highest tree size) whose envelope opens with
 * opener (NULL: decoded without a signature check); its fields are taken
 * from the signed payload. MASH_OK, MASH_ERR_NOT_FOUND (none),
 * MASH_ERR_TAMPERED (it does not open or decode), MASH_ERR_STORE.
 * out->envelope must be freed on MASH_OK.
 */
int mash_aud_latest_signed(struct mash_store *st,
                           const struct mash_aud_opener *opener,
                           struct mash_aud_checkpoint_info *out, char *why,
                           size_t whylen);

/* Free what a checkpoint info holds (not the struct). NULL allowed. */
void mash_aud_checkpoint_info_clear(struct mash_aud_checkpoint_info *ci);

/*
 * The canonical bytes of record seq: *record (mash_malloc'd,
 * NUL-terminated) and *len. MASH_OK, MASH_ERR_NOT_FOUND, MASH_ERR_STORE,
 * MASH_ERR_NOMEM.
 */
int mash_aud_record_bytes(struct mash_store *st, uint64_t seq, char **record,
                          size_t *len);

#endif
