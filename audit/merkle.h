/*
 * merkle.h - RFC 9162 (Certificate Transparency v2) Merkle tree hashing.
 *
 *   leaf hash  = SHA-256(0x00 || record)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two
 *                smaller than n (RFC 9162 section 2.1.1)
 *
 * Pure functions over 32-byte hashes; no I/O and no SQLite. Leaf indices
 * are 0-based (the audit log's seq N is leaf index N-1).
 *
 * The appendable tree state (struct mash_merkle_frontier) is a compact
 * range: the roots of the perfect subtrees that make up the first `size`
 * leaves, one per set bit of size, largest (leftmost) first. Appending a
 * leaf costs O(log n) hashes and the root is O(log n) from the frontier, so
 * the log never has to be re-read. It is a plain value type on purpose
 * (fixed size, copied and persisted byte for byte), like a hash context.
 */
#ifndef MASH_MERKLE_H
#define MASH_MERKLE_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 output length. */
#define MASH_MERKLE_HASH_LEN 32u
/* Largest number of hashes in a frontier, an inclusion or a consistency
 * proof: trees hold at most 2^63 leaves. */
#define MASH_MERKLE_MAX_DEPTH 64u
/* Largest frontier serialisation: 8-byte size + one hash per set bit. */
#define MASH_MERKLE_FRONTIER_MAX_BYTES                                         \
	(8u + MASH_MERKLE_MAX_DEPTH * MASH_MERKLE_HASH_LEN)

struct mash_merkle_frontier {
	uint64_t size; /* number of leaves appended */
	unsigned n;    /* number of stored subtree roots == popcount(size) */
	unsigned char hash[MASH_MERKLE_MAX_DEPTH][MASH_MERKLE_HASH_LEN];
};

/* out = SHA-256(0x00 || data[0..n)). data may be NULL only when n == 0.
 * MASH_OK or MASH_ERR_CRYPTO (out zeroed). */
int mash_merkle_leaf_hash(const void *data, size_t n,
                          unsigned char out[MASH_MERKLE_HASH_LEN]);

/* out = SHA-256(0x01 || left || right); out may alias left or right.
 * MASH_OK or MASH_ERR_CRYPTO. */
int mash_merkle_node_hash(const unsigned char left[MASH_MERKLE_HASH_LEN],
                          const unsigned char right[MASH_MERKLE_HASH_LEN],
                          unsigned char out[MASH_MERKLE_HASH_LEN]);

/* MTH over n leaf hashes (RFC 9162 2.1.1), n == 0 gives SHA-256("").
 * leaves may be NULL only when n == 0. O(n) hashes, O(log n) memory.
 * MASH_OK, MASH_ERR_INVAL or MASH_ERR_CRYPTO (out zeroed on error). */
int mash_merkle_root(const unsigned char (*leaves)[MASH_MERKLE_HASH_LEN],
                     uint64_t n, unsigned char out[MASH_MERKLE_HASH_LEN]);

/* An empty frontier (size 0). f must not be NULL. */
void mash_merkle_frontier_init(struct mash_merkle_frontier *f);

/* Append one leaf hash: O(log n). MASH_OK, MASH_ERR_INVAL (full tree or
 * NULL) or MASH_ERR_CRYPTO (f unchanged on error). */
int mash_merkle_frontier_append(struct mash_merkle_frontier *f,
                                const unsigned char leaf[MASH_MERKLE_HASH_LEN]);

/* The root of the f->size leaves appended so far (SHA-256("") for none).
 * MASH_OK or MASH_ERR_CRYPTO. */
int mash_merkle_frontier_root(const struct mash_merkle_frontier *f,
                              unsigned char out[MASH_MERKLE_HASH_LEN]);

/* Serialise f into buf[bufsz]: 8-byte big-endian size, then popcount(size)
 * hashes. *len receives the byte count (0 on error). MASH_OK or
 * MASH_ERR_INVAL (buffer too small). */
int mash_merkle_frontier_encode(const struct mash_merkle_frontier *f,
                                unsigned char *buf, size_t bufsz, size_t *len);

/* Parse an encoding made by mash_merkle_frontier_encode(); the length must
 * match the size exactly. MASH_OK or MASH_ERR_DECODE (f cleared). */
int mash_merkle_frontier_decode(const unsigned char *buf, size_t len,
                                struct mash_merkle_frontier *f);

/*
 * Inclusion proof PATH(index, D[n]) (RFC 9162 2.1.3.1) from the n leaf
 * hashes. proof must hold MASH_MERKLE_MAX_DEPTH hashes; *proof_len gets
 * the count (0 on error). MASH_OK, MASH_ERR_INVAL (index >= n) or
 * MASH_ERR_CRYPTO. O(n) hashes.
 */
int
mash_merkle_inclusion_proof(const unsigned char (*leaves)[MASH_MERKLE_HASH_LEN],
                            uint64_t n, uint64_t index,
                            unsigned char (*proof)[MASH_MERKLE_HASH_LEN],
                            size_t *proof_len);

/*
 * Verify an inclusion proof (RFC 9162 2.1.3.2): leaf hash `leaf` is at
 * `index` of the tree of `tree_size` leaves whose root is `root`.
 * MASH_OK when it verifies, MASH_ERR_TAMPERED when it does not,
 * MASH_ERR_INVAL for impossible arguments (index >= tree_size, too long).
 */
int mash_merkle_inclusion_verify(
    const unsigned char leaf[MASH_MERKLE_HASH_LEN], uint64_t index,
    uint64_t tree_size, const unsigned char (*proof)[MASH_MERKLE_HASH_LEN],
    size_t proof_len, const unsigned char root[MASH_MERKLE_HASH_LEN]);

/*
 * Consistency proof PROOF(m, D[n]) (RFC 9162 2.1.4.1) that the tree of the
 * first m leaves is a prefix of the tree of n leaves, 0 < m <= n (m == n
 * gives an empty proof). proof must hold MASH_MERKLE_MAX_DEPTH hashes.
 * MASH_OK, MASH_ERR_INVAL or MASH_ERR_CRYPTO.
 */
int mash_merkle_consistency_proof(
    const unsigned char (*leaves)[MASH_MERKLE_HASH_LEN], uint64_t n, uint64_t m,
    unsigned char (*proof)[MASH_MERKLE_HASH_LEN], size_t *proof_len);

/*
 * Verify a consistency proof (RFC 9162 2.1.4.2) between the tree of size
 * `first` with root first_root and the tree of size `second` with root
 * second_root. first == second verifies iff the proof is empty and the
 * roots are equal. MASH_OK, MASH_ERR_TAMPERED, or MASH_ERR_INVAL
 * (first == 0, first > second).
 */
int mash_merkle_consistency_verify(
    uint64_t first, uint64_t second,
    const unsigned char first_root[MASH_MERKLE_HASH_LEN],
    const unsigned char second_root[MASH_MERKLE_HASH_LEN],
    const unsigned char (*proof)[MASH_MERKLE_HASH_LEN], size_t proof_len);

#endif
