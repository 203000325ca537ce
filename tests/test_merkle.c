/* Unit tests for audit/merkle: RFC 9162 tree hashing and proofs, checked
 * against trees computed by hand from explicit SHA-256 calls and against
 * the RFC's worked example (section 2.1.5, the 7-leaf tree). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "audit/merkle.h"
#include "common/err.h"

#define H    MASH_MERKLE_HASH_LEN
#define MAXN 17

/* Leaf data d[i] = "record i", leaf hashes and node hashes by hand. */
static void
hand_leaf(unsigned i, unsigned char out[H])
{
	unsigned char buf[32];
	int n;

	buf[0] = 0x00;
	n = 1 + snprintf((char *)buf + 1, sizeof(buf) - 1, "record %u", i);
	SHA256(buf, (size_t)n, out);
}

static void
hand_node(const unsigned char *l, const unsigned char *r, unsigned char out[H])
{
	unsigned char buf[1 + 2 * H];

	buf[0] = 0x01;
	memcpy(buf + 1, l, H);
	memcpy(buf + 1 + H, r, H);
	SHA256(buf, sizeof(buf), out);
}

static unsigned char leaves[MAXN][H];

static void
setup_leaves(void)
{
	unsigned i;

	for (i = 0; i < MAXN; i++)
		hand_leaf(i, leaves[i]);
}

/* Named nodes of the RFC 9162 2.1.5 example tree (7 leaves):
 *   g = N(a,b)  h = N(c,d)  i = N(e,f)  j = leaf 6
 *   k = N(g,h)  l = N(i,j)  root = N(k,l)                         */
struct rfc_tree {
	unsigned char a[H], b[H], c[H], d[H], e[H], f[H], j[H];
	unsigned char g[H], h[H], i[H], k[H], l[H], root[H];
};

static void
rfc_tree(struct rfc_tree *t)
{
	memcpy(t->a, leaves[0], H);
	memcpy(t->b, leaves[1], H);
	memcpy(t->c, leaves[2], H);
	memcpy(t->d, leaves[3], H);
	memcpy(t->e, leaves[4], H);
	memcpy(t->f, leaves[5], H);
	memcpy(t->j, leaves[6], H);
	hand_node(t->a, t->b, t->g);
	hand_node(t->c, t->d, t->h);
	hand_node(t->e, t->f, t->i);
	hand_node(t->g, t->h, t->k);
	hand_node(t->i, t->j, t->l);
	hand_node(t->k, t->l, t->root);
}

START_TEST(leaf_and_node_hash_use_rfc_prefixes)
{
	unsigned char got[H], want[H];
	unsigned char buf[1 + 2 * H];

	setup_leaves();
	ck_assert_int_eq(mash_merkle_leaf_hash("record 3", 8, got), MASH_OK);
	ck_assert_mem_eq(got, leaves[3], H);
	buf[0] = 0x01;
	memcpy(buf + 1, leaves[0], H);
	memcpy(buf + 1 + H, leaves[1], H);
	SHA256(buf, sizeof(buf), want);
	ck_assert_int_eq(mash_merkle_node_hash(leaves[0], leaves[1], got),
	                 MASH_OK);
	ck_assert_mem_eq(got, want, H);
	/* Leaf of the empty record is SHA-256(0x00). */
	buf[0] = 0x00;
	SHA256(buf, 1, want);
	ck_assert_int_eq(mash_merkle_leaf_hash(NULL, 0, got), MASH_OK);
	ck_assert_mem_eq(got, want, H);
}
END_TEST

START_TEST(empty_tree_root_is_sha256_of_nothing)
{
	unsigned char got[H], want[H];
	struct mash_merkle_frontier f;

	SHA256((const unsigned char *)"", 0, want);
	ck_assert_int_eq(mash_merkle_root(NULL, 0, got), MASH_OK);
	ck_assert_mem_eq(got, want, H);
	mash_merkle_frontier_init(&f);
	ck_assert_int_eq(mash_merkle_frontier_root(&f, got), MASH_OK);
	ck_assert_mem_eq(got, want, H);
}
END_TEST

/* Roots of n = 1..8 written out by hand with the RFC's split. */
START_TEST(roots_of_one_to_eight_leaves_match_hand_computation)
{
	unsigned char n01[H], n23[H], n45[H], n67[H], n0123[H], n4567[H];
	unsigned char want[9][H], t[H], got[H];
	struct mash_merkle_frontier f;
	unsigned n;

	setup_leaves();
	hand_node(leaves[0], leaves[1], n01);
	hand_node(leaves[2], leaves[3], n23);
	hand_node(leaves[4], leaves[5], n45);
	hand_node(leaves[6], leaves[7], n67);
	hand_node(n01, n23, n0123);
	hand_node(n45, n67, n4567);
	memcpy(want[1], leaves[0], H);
	memcpy(want[2], n01, H);
	hand_node(n01, leaves[2], want[3]);
	memcpy(want[4], n0123, H);
	hand_node(n0123, leaves[4], want[5]);
	hand_node(n0123, n45, want[6]);
	hand_node(n45, leaves[6], t);
	hand_node(n0123, t, want[7]);
	hand_node(n0123, n4567, want[8]);

	mash_merkle_frontier_init(&f);
	for (n = 1; n <= 8; n++) {
		ck_assert_int_eq(
		    mash_merkle_root((const unsigned char(*)[H])leaves, n, got),
		    MASH_OK);
		ck_assert_msg(memcmp(got, want[n], H) == 0, "root n=%u", n);
		ck_assert_int_eq(mash_merkle_frontier_append(&f, leaves[n - 1]),
		                 MASH_OK);
		ck_assert_int_eq(mash_merkle_frontier_root(&f, got), MASH_OK);
		ck_assert_msg(memcmp(got, want[n], H) == 0,
		              "frontier root n=%u", n);
	}
}
END_TEST

/* The classic CT test vectors (RFC 6962 reference implementation). */
START_TEST(roots_match_certificate_transparency_test_vectors)
{
	static const char *const data[8] = {
	    "",
	    "\x00",
	    "\x10",
	    "\x20\x21",
	    "\x30\x31",
	    "\x40\x41\x42\x43",
	    "\x50\x51\x52\x53\x54\x55\x56\x57",
	    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e"
	    "\x6f"};
	static const size_t len[8] = {0, 1, 1, 2, 2, 4, 8, 16};
	static const char *const roots[8] = {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	struct mash_merkle_frontier f;
	unsigned char leaf[H], root[H];
	char hex[2 * H + 1];
	unsigned i, k;

	mash_merkle_frontier_init(&f);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(mash_merkle_leaf_hash(data[i], len[i], leaf),
		                 MASH_OK);
		ck_assert_int_eq(mash_merkle_frontier_append(&f, leaf),
		                 MASH_OK);
		ck_assert_int_eq(mash_merkle_frontier_root(&f, root), MASH_OK);
		for (k = 0; k < H; k++)
			snprintf(hex + 2 * k, 3, "%02x", root[k]);
		ck_assert_str_eq(hex, roots[i]);
	}
}
END_TEST

START_TEST(rfc_example_inclusion_proofs_are_exact)
{
	struct rfc_tree t;
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][H];
	size_t len;

	setup_leaves();
	rfc_tree(&t);
	/* d0: [b, h, l] */
	ck_assert_int_eq(
	    mash_merkle_inclusion_proof((const unsigned char(*)[H])leaves, 7, 0,
	                                proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(proof[0], t.b, H);
	ck_assert_mem_eq(proof[1], t.h, H);
	ck_assert_mem_eq(proof[2], t.l, H);
	/* d3: [c, g, l] */
	ck_assert_int_eq(
	    mash_merkle_inclusion_proof((const unsigned char(*)[H])leaves, 7, 3,
	                                proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(proof[0], t.c, H);
	ck_assert_mem_eq(proof[1], t.g, H);
	ck_assert_mem_eq(proof[2], t.l, H);
	/* d4: [f, j, k] */
	ck_assert_int_eq(
	    mash_merkle_inclusion_proof((const unsigned char(*)[H])leaves, 7, 4,
	                                proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(proof[0], t.f, H);
	ck_assert_mem_eq(proof[1], t.j, H);
	ck_assert_mem_eq(proof[2], t.k, H);
	/* d6: [i, k] */
	ck_assert_int_eq(
	    mash_merkle_inclusion_proof((const unsigned char(*)[H])leaves, 7, 6,
	                                proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(proof[0], t.i, H);
	ck_assert_mem_eq(proof[1], t.k, H);
	ck_assert_int_eq(
	    mash_merkle_inclusion_verify(
	        t.j, 6, 7, (const unsigned char(*)[H])proof, len, t.root),
	    MASH_OK);
}
END_TEST

START_TEST(rfc_example_consistency_proofs_are_exact)
{
	struct rfc_tree t;
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][H], hash0[H], hash2[H];
	size_t len;

	setup_leaves();
	rfc_tree(&t);
	/* hash0 = tree of 3 = N(g, c): proof to 7 is [c, d, g, l]. */
	hand_node(t.g, t.c, hash0);
	ck_assert_int_eq(
	    mash_merkle_consistency_proof((const unsigned char(*)[H])leaves, 7,
	                                  3, proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(proof[0], t.c, H);
	ck_assert_mem_eq(proof[1], t.d, H);
	ck_assert_mem_eq(proof[2], t.g, H);
	ck_assert_mem_eq(proof[3], t.l, H);
	ck_assert_int_eq(
	    mash_merkle_consistency_verify(
	        3, 7, hash0, t.root, (const unsigned char(*)[H])proof, len),
	    MASH_OK);
	/* hash1 = tree of 4 = k: proof is [l]. */
	ck_assert_int_eq(
	    mash_merkle_consistency_proof((const unsigned char(*)[H])leaves, 7,
	                                  4, proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 1);
	ck_assert_mem_eq(proof[0], t.l, H);
	/* hash2 = tree of 6 = N(k, i): proof is [i, j, k]. */
	hand_node(t.k, t.i, hash2);
	ck_assert_int_eq(
	    mash_merkle_consistency_proof((const unsigned char(*)[H])leaves, 7,
	                                  6, proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(proof[0], t.i, H);
	ck_assert_mem_eq(proof[1], t.j, H);
	ck_assert_mem_eq(proof[2], t.k, H);
	ck_assert_int_eq(
	    mash_merkle_consistency_verify(
	        6, 7, hash2, t.root, (const unsigned char(*)[H])proof, len),
	    MASH_OK);
}
END_TEST

/* Loop test over n = 1..17: every leaf's proof verifies, and flipping any
 * bit of any proof hash, of the leaf or of the root makes it fail. */
START_TEST(inclusion_proofs_verify_for_every_leaf_and_fail_when_flipped)
{
	unsigned n = (unsigned)_i;
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][H], root[H], bad[H];
	size_t len, p;
	uint64_t idx;

	setup_leaves();
	ck_assert_int_eq(
	    mash_merkle_root((const unsigned char(*)[H])leaves, n, root),
	    MASH_OK);
	for (idx = 0; idx < n; idx++) {
		ck_assert_int_eq(
		    mash_merkle_inclusion_proof(
		        (const unsigned char(*)[H])leaves, n, idx, proof, &len),
		    MASH_OK);
		ck_assert_int_eq(mash_merkle_inclusion_verify(
		                     leaves[idx], idx, n,
		                     (const unsigned char(*)[H])proof, len,
		                     root),
		                 MASH_OK);
		for (p = 0; p < len; p++) {
			proof[p][p % H] ^= 0x01;
			ck_assert_int_eq(mash_merkle_inclusion_verify(
			                     leaves[idx], idx, n,
			                     (const unsigned char(*)[H])proof,
			                     len, root),
			                 MASH_ERR_TAMPERED);
			proof[p][p % H] ^= 0x01;
		}
		memcpy(bad, leaves[idx], H);
		bad[31] ^= 0x80;
		ck_assert_int_eq(mash_merkle_inclusion_verify(
		                     bad, idx, n,
		                     (const unsigned char(*)[H])proof, len,
		                     root),
		                 MASH_ERR_TAMPERED);
		memcpy(bad, root, H);
		bad[0] ^= 0x01;
		ck_assert_int_eq(mash_merkle_inclusion_verify(
		                     leaves[idx], idx, n,
		                     (const unsigned char(*)[H])proof, len,
		                     bad),
		                 MASH_ERR_TAMPERED);
		/* The same proof does not prove another index (except when
		 * the two leaves are siblings of identical structure, which
		 * cannot verify with a different leaf hash). */
		if (n > 1)
			ck_assert_int_eq(mash_merkle_inclusion_verify(
			                     leaves[(idx + 1) % n], idx, n,
			                     (const unsigned char(*)[H])proof,
			                     len, root),
			                 MASH_ERR_TAMPERED);
		/* A truncated proof fails. */
		if (len > 0)
			ck_assert_int_eq(mash_merkle_inclusion_verify(
			                     leaves[idx], idx, n,
			                     (const unsigned char(*)[H])proof,
			                     len - 1, root),
			                 MASH_ERR_TAMPERED);
	}
}
END_TEST

START_TEST(inclusion_rejects_index_beyond_tree)
{
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][H], root[H];
	size_t len = 99;

	setup_leaves();
	ck_assert_int_eq(
	    mash_merkle_inclusion_proof((const unsigned char(*)[H])leaves, 4, 4,
	                                proof, &len),
	    MASH_ERR_INVAL);
	ck_assert_uint_eq(len, 0);
	memset(root, 0, H);
	ck_assert_int_eq(
	    mash_merkle_inclusion_verify(
	        leaves[0], 5, 5 - 1, (const unsigned char(*)[H])proof, 0, root),
	    MASH_ERR_INVAL);
}
END_TEST

/* Loop test over n = 2..17: for every m < n the consistency proof
 * verifies, and fails when a hash is flipped or a root is wrong. */
START_TEST(consistency_proofs_verify_for_every_pair_and_fail_when_flipped)
{
	unsigned n = (unsigned)_i;
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][H], rn[H], rm[H];
	size_t len, p;
	unsigned m;

	setup_leaves();
	ck_assert_int_eq(
	    mash_merkle_root((const unsigned char(*)[H])leaves, n, rn),
	    MASH_OK);
	for (m = 1; m < n; m++) {
		ck_assert_int_eq(
		    mash_merkle_root((const unsigned char(*)[H])leaves, m, rm),
		    MASH_OK);
		ck_assert_int_eq(
		    mash_merkle_consistency_proof(
		        (const unsigned char(*)[H])leaves, n, m, proof, &len),
		    MASH_OK);
		ck_assert_uint_gt(len, 0);
		ck_assert_int_eq(
		    mash_merkle_consistency_verify(
		        m, n, rm, rn, (const unsigned char(*)[H])proof, len),
		    MASH_OK);
		for (p = 0; p < len; p++) {
			proof[p][7] ^= 0x04;
			ck_assert_msg(mash_merkle_consistency_verify(
			                  m, n, rm, rn,
			                  (const unsigned char(*)[H])proof,
			                  len) == MASH_ERR_TAMPERED,
			              "flip m=%u n=%u p=%zu", m, n, p);
			proof[p][7] ^= 0x04;
		}
		rm[3] ^= 0x10;
		ck_assert_int_eq(
		    mash_merkle_consistency_verify(
		        m, n, rm, rn, (const unsigned char(*)[H])proof, len),
		    MASH_ERR_TAMPERED);
		rm[3] ^= 0x10;
		rn[5] ^= 0x10;
		ck_assert_int_eq(
		    mash_merkle_consistency_verify(
		        m, n, rm, rn, (const unsigned char(*)[H])proof, len),
		    MASH_ERR_TAMPERED);
		rn[5] ^= 0x10;
	}
}
END_TEST

START_TEST(consistency_of_equal_sizes_needs_empty_proof_and_same_root)
{
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][H], r[H], other[H];
	size_t len = 7;

	setup_leaves();
	ck_assert_int_eq(
	    mash_merkle_root((const unsigned char(*)[H])leaves, 5, r), MASH_OK);
	ck_assert_int_eq(
	    mash_merkle_consistency_proof((const unsigned char(*)[H])leaves, 5,
	                                  5, proof, &len),
	    MASH_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(mash_merkle_consistency_verify(
	                     5, 5, r, r, (const unsigned char(*)[H])proof, 0),
	                 MASH_OK);
	memcpy(other, r, H);
	other[0] ^= 1;
	ck_assert_int_eq(
	    mash_merkle_consistency_verify(5, 5, r, other,
	                                   (const unsigned char(*)[H])proof, 0),
	    MASH_ERR_TAMPERED);
	ck_assert_int_eq(mash_merkle_consistency_verify(
	                     3, 5, r, r, (const unsigned char(*)[H])proof, 0),
	                 MASH_ERR_TAMPERED);
	ck_assert_int_eq(
	    mash_merkle_consistency_proof((const unsigned char(*)[H])leaves, 5,
	                                  0, proof, &len),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(mash_merkle_consistency_verify(
	                     6, 5, r, r, (const unsigned char(*)[H])proof, 0),
	                 MASH_ERR_INVAL);
}
END_TEST

START_TEST(frontier_encoding_round_trips_and_rejects_bad_lengths)
{
	struct mash_merkle_frontier f, g;
	unsigned char buf[MASH_MERKLE_FRONTIER_MAX_BYTES], r1[H], r2[H];
	size_t len;
	unsigned i;

	setup_leaves();
	mash_merkle_frontier_init(&f);
	for (i = 0; i < 13; i++)
		ck_assert_int_eq(mash_merkle_frontier_append(&f, leaves[i]),
		                 MASH_OK);
	ck_assert_uint_eq(f.n, 3); /* 13 = 8 + 4 + 1 */
	ck_assert_int_eq(
	    mash_merkle_frontier_encode(&f, buf, sizeof(buf), &len), MASH_OK);
	ck_assert_uint_eq(len, 8 + 3 * H);
	ck_assert_int_eq(mash_merkle_frontier_decode(buf, len, &g), MASH_OK);
	ck_assert_uint_eq(g.size, 13);
	ck_assert_int_eq(mash_merkle_frontier_root(&f, r1), MASH_OK);
	ck_assert_int_eq(mash_merkle_frontier_root(&g, r2), MASH_OK);
	ck_assert_mem_eq(r1, r2, H);
	/* Appending after a decode continues the same tree. */
	ck_assert_int_eq(mash_merkle_frontier_append(&g, leaves[13]), MASH_OK);
	ck_assert_int_eq(mash_merkle_frontier_root(&g, r2), MASH_OK);
	ck_assert_int_eq(
	    mash_merkle_root((const unsigned char(*)[H])leaves, 14, r1),
	    MASH_OK);
	ck_assert_mem_eq(r1, r2, H);
	/* Truncated, overlong, or too short to hold a size. */
	ck_assert_int_eq(mash_merkle_frontier_decode(buf, len - 1, &g),
	                 MASH_ERR_DECODE);
	ck_assert_uint_eq(g.size, 0);
	ck_assert_int_eq(mash_merkle_frontier_decode(buf, len + 1, &g),
	                 MASH_ERR_DECODE);
	ck_assert_int_eq(mash_merkle_frontier_decode(buf, 7, &g),
	                 MASH_ERR_DECODE);
	ck_assert_int_eq(mash_merkle_frontier_encode(&f, buf, 8 + 2 * H, &len),
	                 MASH_ERR_INVAL);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* A larger tree: the frontier root equals MTH for every size to 300. */
START_TEST(frontier_root_equals_mth_for_every_size)
{
	static unsigned char big[300][H];
	struct mash_merkle_frontier f;
	unsigned char r1[H], r2[H];
	unsigned i;

	for (i = 0; i < 300; i++)
		hand_leaf(i, big[i]);
	mash_merkle_frontier_init(&f);
	for (i = 0; i < 300; i++) {
		ck_assert_int_eq(mash_merkle_frontier_append(&f, big[i]),
		                 MASH_OK);
		ck_assert_int_eq(mash_merkle_frontier_root(&f, r1), MASH_OK);
		ck_assert_int_eq(
		    mash_merkle_root((const unsigned char(*)[H])big, i + 1, r2),
		    MASH_OK);
		ck_assert_mem_eq(r1, r2, H);
	}
}
END_TEST

static Suite *
merkle_suite(void)
{
	Suite *s = suite_create("merkle");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, leaf_and_node_hash_use_rfc_prefixes);
	tcase_add_test(tc, empty_tree_root_is_sha256_of_nothing);
	tcase_add_test(tc, roots_of_one_to_eight_leaves_match_hand_computation);
	tcase_add_test(tc, roots_match_certificate_transparency_test_vectors);
	tcase_add_test(tc, rfc_example_inclusion_proofs_are_exact);
	tcase_add_test(tc, rfc_example_consistency_proofs_are_exact);
	tcase_add_loop_test(
	    tc, inclusion_proofs_verify_for_every_leaf_and_fail_when_flipped, 1,
	    MAXN + 1);
	tcase_add_test(tc, inclusion_rejects_index_beyond_tree);
	tcase_add_loop_test(
	    tc, consistency_proofs_verify_for_every_pair_and_fail_when_flipped,
	    2, MAXN + 1);
	tcase_add_test(
	    tc, consistency_of_equal_sizes_needs_empty_proof_and_same_root);
	tcase_add_test(tc,
	               frontier_encoding_round_trips_and_rejects_bad_lengths);
	tcase_add_test(tc, frontier_root_equals_mth_for_every_size);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(merkle_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
