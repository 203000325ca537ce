/*
 * merkle.c - RFC 9162 Merkle tree hashing, proofs and their verification.
 *
 * The algorithms follow RFC 9162 section 2.1 literally (MTH, PATH,
 * SUBPROOF and the two verification procedures), so that any CT-style
 * verifier, including tools/verify-proof.py, accepts our proofs.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "audit/merkle.h"
#include "common/err.h"

#define HLEN MASH_MERKLE_HASH_LEN

typedef unsigned char hash_t[HLEN];

int
mash_merkle_leaf_hash(const void *data, size_t n, unsigned char out[HLEN])
{
	static const unsigned char prefix = 0x00;
	EVP_MD_CTX *ctx = NULL;
	unsigned int len = 0;
	int rc = MASH_ERR_CRYPTO;

	memset(out, 0, HLEN);
	if (data == NULL && n > 0) {
		rc = MASH_ERR_INVAL;
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto out;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
	    (n > 0 && EVP_DigestUpdate(ctx, data, n) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != HLEN) {
		memset(out, 0, HLEN);
		goto out;
	}
	rc = MASH_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
mash_merkle_node_hash(const unsigned char left[HLEN],
                      const unsigned char right[HLEN], unsigned char out[HLEN])
{
	unsigned char buf[1 + 2 * HLEN];

	/* Copy first: out may alias left or right. */
	buf[0] = 0x01;
	memcpy(buf + 1, left, HLEN);
	memcpy(buf + 1 + HLEN, right, HLEN);
	if (SHA256(buf, sizeof(buf), out) == NULL)
		return MASH_ERR_CRYPTO;
	return MASH_OK;
}

void
mash_merkle_frontier_init(struct mash_merkle_frontier *f)
{
	memset(f, 0, sizeof(*f));
}

int
mash_merkle_frontier_append(struct mash_merkle_frontier *f,
                            const unsigned char leaf[HLEN])
{
	hash_t h;
	uint64_t s;
	unsigned n;
	int rc;

	if (f == NULL || leaf == NULL || f->size >= (UINT64_C(1) << 63))
		return MASH_ERR_INVAL;
	memcpy(h, leaf, HLEN);
	n = f->n;
	/* Every trailing 1 bit of the old size is a perfect subtree of the
	 * same height as the one being carried: merge them, like binary
	 * addition. Work on a copy of the count so f is unchanged on error. */
	for (s = f->size; s & 1u; s >>= 1) {
		if (n == 0)
			return MASH_ERR_INTERNAL;
		rc = mash_merkle_node_hash(f->hash[n - 1], h, h);
		if (rc != MASH_OK)
			return rc;
		n--;
	}
	memcpy(f->hash[n], h, HLEN);
	f->n = n + 1;
	f->size++;
	return MASH_OK;
}

int
mash_merkle_frontier_root(const struct mash_merkle_frontier *f,
                          unsigned char out[HLEN])
{
	hash_t r;
	unsigned i;
	int rc;

	memset(out, 0, HLEN);
	if (f->n == 0)
		return SHA256((const unsigned char *)"", 0, out) == NULL
		           ? MASH_ERR_CRYPTO
		           : MASH_OK;
	/* The RFC's split at the largest power of two is exactly the binary
	 * decomposition of size, so fold the subtree roots right to left. */
	memcpy(r, f->hash[f->n - 1], HLEN);
	for (i = f->n - 1; i > 0; i--) {
		rc = mash_merkle_node_hash(f->hash[i - 1], r, r);
		if (rc != MASH_OK)
			return rc;
	}
	memcpy(out, r, HLEN);
	return MASH_OK;
}

static unsigned
popcount64(uint64_t v)
{
	unsigned c = 0;

	for (; v != 0; v &= v - 1)
		c++;
	return c;
}

int
mash_merkle_frontier_encode(const struct mash_merkle_frontier *f,
                            unsigned char *buf, size_t bufsz, size_t *len)
{
	size_t need;
	unsigned i;

	*len = 0;
	need = 8u + (size_t)f->n * HLEN;
	if (f->n != popcount64(f->size) || bufsz < need)
		return MASH_ERR_INVAL;
	for (i = 0; i < 8; i++)
		buf[i] = (unsigned char)(f->size >> (56 - 8 * i));
	memcpy(buf + 8, f->hash, (size_t)f->n * HLEN);
	*len = need;
	return MASH_OK;
}

int
mash_merkle_frontier_decode(const unsigned char *buf, size_t len,
                            struct mash_merkle_frontier *f)
{
	uint64_t size = 0;
	unsigned i, n;

	mash_merkle_frontier_init(f);
	if (buf == NULL || len < 8)
		return MASH_ERR_DECODE;
	for (i = 0; i < 8; i++)
		size = (size << 8) | buf[i];
	n = popcount64(size);
	if (size >= (UINT64_C(1) << 63) || len != 8u + (size_t)n * HLEN)
		return MASH_ERR_DECODE;
	f->size = size;
	f->n = n;
	memcpy(f->hash, buf + 8, (size_t)n * HLEN);
	return MASH_OK;
}

/* MTH(D[0:n]) of a non-empty range via a frontier: O(n) hashes. */
static int
subtree_root(const hash_t *leaves, uint64_t n, unsigned char out[HLEN])
{
	struct mash_merkle_frontier f;
	uint64_t i;
	int rc;

	mash_merkle_frontier_init(&f);
	for (i = 0; i < n; i++) {
		rc = mash_merkle_frontier_append(&f, leaves[i]);
		if (rc != MASH_OK)
			return rc;
	}
	return mash_merkle_frontier_root(&f, out);
}

int
mash_merkle_root(const unsigned char (*leaves)[HLEN], uint64_t n,
                 unsigned char out[HLEN])
{
	memset(out, 0, HLEN);
	if (leaves == NULL && n > 0)
		return MASH_ERR_INVAL;
	return subtree_root(leaves, n, out);
}

/* The largest power of two strictly smaller than n (n > 1). */
static uint64_t
split_point(uint64_t n)
{
	uint64_t k = 1;

	while ((k << 1) < n)
		k <<= 1;
	return k;
}

/* RFC 9162 2.1.3.1 PATH(m, D[n]); appends to proof[*len]. */
static int
path(const hash_t *d, uint64_t n, uint64_t m, hash_t *proof, size_t *len)
{
	uint64_t k;
	int rc;

	if (n <= 1)
		return MASH_OK;
	if (*len >= MASH_MERKLE_MAX_DEPTH)
		return MASH_ERR_INVAL;
	k = split_point(n);
	if (m < k) {
		rc = path(d, k, m, proof, len);
		if (rc == MASH_OK)
			rc = subtree_root(d + k, n - k, proof[*len]);
	} else {
		rc = path(d + k, n - k, m - k, proof, len);
		if (rc == MASH_OK)
			rc = subtree_root(d, k, proof[*len]);
	}
	if (rc == MASH_OK)
		(*len)++;
	return rc;
}

int
mash_merkle_inclusion_proof(const unsigned char (*leaves)[HLEN], uint64_t n,
                            uint64_t index, unsigned char (*proof)[HLEN],
                            size_t *proof_len)
{
	size_t len = 0;
	int rc;

	*proof_len = 0;
	if (leaves == NULL || proof == NULL || index >= n)
		return MASH_ERR_INVAL;
	rc = path(leaves, n, index, proof, &len);
	if (rc == MASH_OK)
		*proof_len = len;
	return rc;
}

int
mash_merkle_inclusion_verify(const unsigned char leaf[HLEN], uint64_t index,
                             uint64_t tree_size,
                             const unsigned char (*proof)[HLEN],
                             size_t proof_len, const unsigned char root[HLEN])
{
	uint64_t fn, sn;
	hash_t r;
	size_t i;
	int rc;

	if (index >= tree_size || proof_len > MASH_MERKLE_MAX_DEPTH ||
	    (proof == NULL && proof_len > 0))
		return MASH_ERR_INVAL;
	fn = index;
	sn = tree_size - 1;
	memcpy(r, leaf, HLEN);
	for (i = 0; i < proof_len; i++) {
		if (sn == 0)
			return MASH_ERR_TAMPERED;
		if ((fn & 1u) || fn == sn) {
			rc = mash_merkle_node_hash(proof[i], r, r);
			if (rc != MASH_OK)
				return rc;
			if (!(fn & 1u)) {
				while (!(fn & 1u) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			rc = mash_merkle_node_hash(r, proof[i], r);
			if (rc != MASH_OK)
				return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || CRYPTO_memcmp(r, root, HLEN) != 0)
		return MASH_ERR_TAMPERED;
	return MASH_OK;
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b); appends to proof[*len]. */
static int
subproof(const hash_t *d, uint64_t n, uint64_t m, int b, hash_t *proof,
         size_t *len)
{
	uint64_t k;
	int rc;

	if (*len >= MASH_MERKLE_MAX_DEPTH)
		return MASH_ERR_INVAL;
	if (m == n) {
		if (b)
			return MASH_OK;
		rc = subtree_root(d, n, proof[*len]);
		if (rc == MASH_OK)
			(*len)++;
		return rc;
	}
	k = split_point(n);
	if (m <= k) {
		rc = subproof(d, k, m, b, proof, len);
		if (rc == MASH_OK && *len >= MASH_MERKLE_MAX_DEPTH)
			rc = MASH_ERR_INVAL;
		if (rc == MASH_OK)
			rc = subtree_root(d + k, n - k, proof[*len]);
	} else {
		rc = subproof(d + k, n - k, m - k, 0, proof, len);
		if (rc == MASH_OK && *len >= MASH_MERKLE_MAX_DEPTH)
			rc = MASH_ERR_INVAL;
		if (rc == MASH_OK)
			rc = subtree_root(d, k, proof[*len]);
	}
	if (rc == MASH_OK)
		(*len)++;
	return rc;
}

int
mash_merkle_consistency_proof(const unsigned char (*leaves)[HLEN], uint64_t n,
                              uint64_t m, unsigned char (*proof)[HLEN],
                              size_t *proof_len)
{
	size_t len = 0;
	int rc;

	*proof_len = 0;
	if (leaves == NULL || proof == NULL || m == 0 || m > n)
		return MASH_ERR_INVAL;
	rc = subproof(leaves, n, m, 1, proof, &len);
	if (rc == MASH_OK)
		*proof_len = len;
	return rc;
}

int
mash_merkle_consistency_verify(uint64_t first, uint64_t second,
                               const unsigned char first_root[HLEN],
                               const unsigned char second_root[HLEN],
                               const unsigned char (*proof)[HLEN],
                               size_t proof_len)
{
	const unsigned char *c;
	uint64_t fn, sn;
	hash_t fr, sr;
	size_t i, start;
	int rc;

	if (first == 0 || first > second || proof_len > MASH_MERKLE_MAX_DEPTH ||
	    (proof == NULL && proof_len > 0))
		return MASH_ERR_INVAL;
	if (first == second) {
		if (proof_len == 0 &&
		    CRYPTO_memcmp(first_root, second_root, HLEN) == 0)
			return MASH_OK;
		return MASH_ERR_TAMPERED;
	}
	/* Step 1: an empty path cannot prove anything for first < second. */
	if (proof_len == 0)
		return MASH_ERR_TAMPERED;
	/* Step 2: a power-of-two first tree is a node of the second one, so
	 * the RFC prepends first_hash; we read it from first_root instead of
	 * copying the array. */
	start = 0;
	if ((first & (first - 1)) == 0) {
		memcpy(fr, first_root, HLEN);
	} else {
		memcpy(fr, proof[0], HLEN);
		start = 1;
	}
	memcpy(sr, fr, HLEN);
	fn = first - 1;
	sn = second - 1;
	while (fn & 1u) {
		fn >>= 1;
		sn >>= 1;
	}
	for (i = start; i < proof_len; i++) {
		c = proof[i];
		if (sn == 0)
			return MASH_ERR_TAMPERED;
		if ((fn & 1u) || fn == sn) {
			rc = mash_merkle_node_hash(c, fr, fr);
			if (rc == MASH_OK)
				rc = mash_merkle_node_hash(c, sr, sr);
			if (rc != MASH_OK)
				return rc;
			while (!(fn & 1u) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = mash_merkle_node_hash(sr, c, sr);
			if (rc != MASH_OK)
				return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || CRYPTO_memcmp(fr, first_root, HLEN) != 0 ||
	    CRYPTO_memcmp(sr, second_root, HLEN) != 0)
		return MASH_ERR_TAMPERED;
	return MASH_OK;
}
