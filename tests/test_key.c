/* Unit tests for crypto/key: generate, PEM load/save, sign/verify, file
 * safety (0600, O_EXCL, symlinks, size bound), format rejections. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/key.h"
#include "support/crypto_fixture.h"

static char tmp[64];

static void
setup(void)
{
	mash_test_tmpdir(tmp, sizeof(tmp));
}

static void
teardown(void)
{
	mash_test_rmtree(tmp);
}

static void
path_in(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmp, name);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(generated_key_signs_and_verifies)
{
	struct mash_key *k = NULL;
	uint8_t sig[MASH_KEY_SIG_LEN];
	const uint8_t msg[] = "hello";

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_is_private(k), 1);
	ck_assert_int_eq(mash_key_sign(k, msg, 5, sig), MASH_OK);
	ck_assert_int_eq(mash_key_verify(k, msg, 5, sig, sizeof(sig)), MASH_OK);
	ck_assert_int_eq(mash_key_verify(k, msg, 4, sig, sizeof(sig)),
	                 MASH_ERR_BAD_SIGNATURE);
	sig[10] ^= 1;
	ck_assert_int_eq(mash_key_verify(k, msg, 5, sig, sizeof(sig)),
	                 MASH_ERR_BAD_SIGNATURE);
	mash_key_free(k);
}
END_TEST

START_TEST(empty_message_signs_and_verifies)
{
	struct mash_key *k = NULL;
	uint8_t sig[MASH_KEY_SIG_LEN];

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_sign(k, NULL, 0, sig), MASH_OK);
	ck_assert_int_eq(mash_key_verify(k, NULL, 0, sig, sizeof(sig)),
	                 MASH_OK);
	mash_key_free(k);
}
END_TEST

START_TEST(verify_rejects_wrong_signature_length)
{
	struct mash_key *k = NULL;
	uint8_t sig[MASH_KEY_SIG_LEN + 1];

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_sign(k, (const uint8_t *)"x", 1, sig),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_verify(k, (const uint8_t *)"x", 1, sig, 63),
	                 MASH_ERR_BAD_SIGNATURE);
	ck_assert_int_eq(mash_key_verify(k, (const uint8_t *)"x", 1, sig, 65),
	                 MASH_ERR_BAD_SIGNATURE);
	ck_assert_int_eq(mash_key_verify(k, (const uint8_t *)"x", 1, NULL, 64),
	                 MASH_ERR_BAD_SIGNATURE);
	mash_key_free(k);
}
END_TEST

START_TEST(private_key_saved_0600_and_loads_back)
{
	struct mash_key *k = NULL, *k2 = NULL, *pub = NULL;
	char priv[128], pubp[128];
	struct stat st;
	uint8_t sig[MASH_KEY_SIG_LEN];

	path_in(priv, sizeof(priv), "k.key.pem");
	path_in(pubp, sizeof(pubp), "k.pub.pem");
	umask(0); /* even with a permissive umask */
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(k, priv), MASH_OK);
	ck_assert_int_eq(mash_key_save_public(k, pubp), MASH_OK);
	ck_assert_int_eq(stat(priv, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(stat(pubp, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	ck_assert_int_eq(mash_key_load_private(priv, &k2), MASH_OK);
	ck_assert_int_eq(mash_key_load_public(pubp, &pub), MASH_OK);
	ck_assert_int_eq(mash_key_is_private(pub), 0);
	ck_assert_int_eq(mash_key_same_public(k, k2), 1);
	ck_assert_int_eq(mash_key_same_public(k, pub), 1);
	ck_assert_int_eq(mash_key_sign(k2, (const uint8_t *)"m", 1, sig),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_verify(pub, (const uint8_t *)"m", 1, sig, 64),
	                 MASH_OK);
	mash_key_free(k);
	mash_key_free(k2);
	mash_key_free(pub);
}
END_TEST

START_TEST(pem_files_are_pkcs8_and_spki)
{
	struct mash_key *k = NULL;
	char priv[128], pubp[128], buf[512];
	FILE *f;
	size_t n;

	path_in(priv, sizeof(priv), "k.key.pem");
	path_in(pubp, sizeof(pubp), "k.pub.pem");
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(k, priv), MASH_OK);
	ck_assert_int_eq(mash_key_save_public(k, pubp), MASH_OK);
	f = fopen(priv, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "-----BEGIN PRIVATE KEY-----"));
	f = fopen(pubp, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "-----BEGIN PUBLIC KEY-----"));
	mash_key_free(k);
}
END_TEST

START_TEST(save_refuses_existing_file_and_symlink)
{
	struct mash_key *k = NULL;
	char p[128], target[128], link[128];
	struct stat st;

	path_in(p, sizeof(p), "exists.pem");
	path_in(target, sizeof(target), "target");
	path_in(link, sizeof(link), "link.pem");
	write_text(p, "old");
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(k, p), MASH_ERR_EXISTS);
	ck_assert_int_eq(mash_key_save_private(k, link), MASH_ERR_EXISTS);
	ck_assert_int_ne(stat(target, &st), 0); /* nothing written through */
	mash_key_free(k);
}
END_TEST

START_TEST(save_private_of_public_key_is_refused)
{
	struct mash_key *k = NULL, *pub = NULL;
	uint8_t raw[MASH_KEY_PUB_LEN], sig[MASH_KEY_SIG_LEN];
	char p[128];
	struct stat st;

	path_in(p, sizeof(p), "x.pem");
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(k, raw), MASH_OK);
	ck_assert_int_eq(mash_key_from_raw_public(raw, &pub), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(pub, p), MASH_ERR_INVAL);
	ck_assert_int_ne(stat(p, &st), 0);
	ck_assert_int_eq(mash_key_sign(pub, raw, 1, sig), MASH_ERR_INVAL);
	mash_key_free(k);
	mash_key_free(pub);
}
END_TEST

START_TEST(raw_public_round_trips)
{
	struct mash_key *k = NULL, *pub = NULL;
	uint8_t raw[MASH_KEY_PUB_LEN], raw2[MASH_KEY_PUB_LEN];

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(k, raw), MASH_OK);
	ck_assert_int_eq(mash_key_from_raw_public(raw, &pub), MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(pub, raw2), MASH_OK);
	ck_assert_mem_eq(raw, raw2, sizeof(raw));
	mash_key_free(k);
	mash_key_free(pub);
}
END_TEST

START_TEST(public_pem_parses_back)
{
	struct mash_key *k = NULL, *pub = NULL;
	char *pem = NULL;
	size_t n = 0;

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_public_pem(k, &pem, &n), MASH_OK);
	ck_assert_uint_eq(strlen(pem), n);
	ck_assert_int_eq(mash_key_parse_public(pem, n, &pub), MASH_OK);
	ck_assert_int_eq(mash_key_same_public(k, pub), 1);
	mash_free(pem);
	mash_key_free(k);
	mash_key_free(pub);
}
END_TEST

/* A P-256 key pair: valid PEM, wrong algorithm. */
static const char p256_priv[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgod+vqZpzgfreevZn\n"
    "jbHzjJ6GtZSUSkqlVDvq4jimItOhRANCAATNvSpJjU1FJyl7LmAZGrfKnaNzcvYI\n"
    "2+IyGth/tn9RceXddyqv5AX5knlcSGnhoLhdZO6urXHAKnrJuk6IJ8qK\n"
    "-----END PRIVATE KEY-----\n";
static const char p256_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzb0qSY1NRScpey5gGRq3yp2jc3L2\n"
    "CNviMhrYf7Z/UXHl3Xcqr+QF+ZJ5XEhp4aC4XWTurq1xwCp6ybpOiCfKig==\n"
    "-----END PUBLIC KEY-----\n";

static const struct {
	const char *name;
	const char *text;
	int priv; /* load as private (1) or public (0) */
} bad_files[] = {
    {"empty", "", 1},
    {"empty-pub", "", 0},
    {"not-pem", "hello world\n", 1},
    {"garbled-b64",
     "-----BEGIN PRIVATE KEY-----\n!!!!\n"
     "-----END PRIVATE KEY-----\n",
     1},
    {"truncated",
     "-----BEGIN PRIVATE KEY-----\n"
     "MC4CAQAwBQYDK2VwBCIEI\n",
     1},
    {"p256-private", p256_priv, 1},
    {"p256-public", p256_pub, 0},
    {"garbled-pub",
     "-----BEGIN PUBLIC KEY-----\nAAAA\n"
     "-----END PUBLIC KEY-----\n",
     0},
    /* Same length as Ed25519, different OID: the prefix check matters. */
    {"x25519-public",
     "-----BEGIN PUBLIC KEY-----\n"
     "MCowBQYDK2VuAyEAIz8Ow48iT3hZohgngT7i4RcFl85VVgDJwcJJtQZlFQU=\n"
     "-----END PUBLIC KEY-----\n",
     0},
    {"ed448-public",
     "-----BEGIN PUBLIC KEY-----\n"
     "MEMwBQYDK2VxAzoA+eJqJ2GJdqYlddPpOSGeaPbh0R2gIPwWIiciIbHV3R8ERfSq\n"
     "7DNPwRzC1cQWqPHVgFdcah2IJjUA\n"
     "-----END PUBLIC KEY-----\n",
     0},
    {"pem-headers",
     "-----BEGIN PUBLIC KEY-----\n"
     "Proc-Type: 4,ENCRYPTED\n\n"
     "MCowBQYDK2VwAyEAMWVjZtH+ZM1Dvdj/xqmuJMFlIBcUB9z4Ihwg432aC0c=\n"
     "-----END PUBLIC KEY-----\n",
     0},
    {"wrong-label",
     "-----BEGIN RSA PUBLIC KEY-----\n"
     "MCowBQYDK2VwAyEAMWVjZtH+ZM1Dvdj/xqmuJMFlIBcUB9z4Ihwg432aC0c=\n"
     "-----END RSA PUBLIC KEY-----\n",
     0},
};

START_TEST(public_key_with_leading_text_still_loads)
{
	struct mash_key *k = NULL;
	char p[128];

	path_in(p, sizeof(p), "commented.pub.pem");
	write_text(
	    p, "police signing key, rotated 2026\n"
	       "-----BEGIN PUBLIC KEY-----\n"
	       "MCowBQYDK2VwAyEAMWVjZtH+ZM1Dvdj/xqmuJMFlIBcUB9z4Ihwg432aC0c=\n"
	       "-----END PUBLIC KEY-----\n");
	ck_assert_int_eq(mash_key_load_public(p, &k), MASH_OK);
	mash_key_free(k);
}
END_TEST

START_TEST(load_rejects_bad_files_as_key_format)
{
	struct mash_key *k = (struct mash_key *)1;
	char p[128];

	path_in(p, sizeof(p), bad_files[_i].name);
	write_text(p, bad_files[_i].text);
	if (bad_files[_i].priv)
		ck_assert_int_eq(mash_key_load_private(p, &k),
		                 MASH_ERR_KEY_FORMAT);
	else
		ck_assert_int_eq(mash_key_load_public(p, &k),
		                 MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_null(k);
}
END_TEST

START_TEST(public_loader_refuses_private_file_and_vice_versa)
{
	struct mash_key *k = NULL, *x = NULL;
	char priv[128], pubp[128];

	path_in(priv, sizeof(priv), "k.key.pem");
	path_in(pubp, sizeof(pubp), "k.pub.pem");
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(k, priv), MASH_OK);
	ck_assert_int_eq(mash_key_save_public(k, pubp), MASH_OK);
	ck_assert_int_eq(mash_key_load_public(priv, &x), MASH_ERR_KEY_FORMAT);
	ck_assert_int_eq(mash_key_load_private(pubp, &x), MASH_ERR_KEY_FORMAT);
	mash_key_free(k);
}
END_TEST

START_TEST(load_missing_file_is_not_found_and_a_directory_is_io)
{
	struct mash_key *k = NULL;
	char p[128];

	path_in(p, sizeof(p), "nope.pem");
	ck_assert_int_eq(mash_key_load_private(p, &k), MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_key_load_public(p, &k), MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_key_load_public(tmp, &k), MASH_ERR_IO); /* dir */
}
END_TEST

START_TEST(load_bounds_file_size)
{
	struct mash_key *k = NULL;
	char p[128];
	int fd;

	path_in(p, sizeof(p), "big.pem");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, MASH_KEY_MAX_FILE + 1), 0);
	close(fd);
	ck_assert_int_eq(mash_key_load_private(p, &k), MASH_ERR_TOO_BIG);
	ck_assert_int_eq(mash_key_load_public(p, &k), MASH_ERR_TOO_BIG);
}
END_TEST

START_TEST(load_refuses_symlinked_key)
{
	struct mash_key *k = NULL, *x = NULL;
	char priv[128], link[128];

	path_in(priv, sizeof(priv), "k.key.pem");
	path_in(link, sizeof(link), "link.pem");
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(k, priv), MASH_OK);
	ck_assert_int_eq(symlink(priv, link), 0);
	ck_assert_int_eq(mash_key_load_private(link, &x), MASH_ERR_IO);
	mash_key_free(k);
}
END_TEST

START_TEST(x25519_key_saved_0600_loads_back_and_never_signs)
{
	struct mash_key *k = NULL, *k2 = NULL, *pub = NULL, *wrong = NULL;
	char priv[128], pubp[128];
	uint8_t sig[MASH_KEY_SIG_LEN];
	struct stat st;

	path_in(priv, sizeof(priv), "e.key.pem");
	path_in(pubp, sizeof(pubp), "e.pub.pem");
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, &k), MASH_OK);
	ck_assert_int_eq(mash_key_kind(k), MASH_KEY_X25519);
	ck_assert_int_eq(mash_key_save_private(k, priv), MASH_OK);
	ck_assert_int_eq(mash_key_save_public(k, pubp), MASH_OK);
	ck_assert_int_eq(stat(priv, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(mash_key_load_kind(MASH_KEY_X25519, 1, priv, &k2),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_load_kind(MASH_KEY_X25519, 0, pubp, &pub),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_same_public(k, k2), 1);
	ck_assert_int_eq(mash_key_same_public(k, pub), 1);
	/* An encryption key is never a signing key, nor the other way. */
	ck_assert_int_eq(mash_key_sign(k2, (const uint8_t *)"m", 1, sig),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_int_eq(mash_key_load_private(priv, &wrong),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_int_eq(mash_key_load_public(pubp, &wrong),
	                 MASH_ERR_KEY_FORMAT);
	mash_key_free(k);
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	path_in(pubp, sizeof(pubp), "s.pub.pem");
	ck_assert_int_eq(mash_key_save_public(k, pubp), MASH_OK);
	ck_assert_int_eq(mash_key_load_kind(MASH_KEY_X25519, 0, pubp, &wrong),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_null(wrong);
	mash_key_free(k);
	mash_key_free(k2);
	mash_key_free(pub);
}
END_TEST

START_TEST(different_keys_do_not_cross_verify)
{
	struct mash_key *a = NULL, *b = NULL;
	uint8_t sig[MASH_KEY_SIG_LEN];

	ck_assert_int_eq(mash_key_generate(&a), MASH_OK);
	ck_assert_int_eq(mash_key_generate(&b), MASH_OK);
	ck_assert_int_eq(mash_key_same_public(a, b), 0);
	ck_assert_int_eq(mash_key_sign(a, (const uint8_t *)"m", 1, sig),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_verify(b, (const uint8_t *)"m", 1, sig, 64),
	                 MASH_ERR_BAD_SIGNATURE);
	mash_key_free(a);
	mash_key_free(b);
}
END_TEST

/* RFC 8032 section 7.1, TEST 1, and RFC 7748 section 6.1: the fast path
 * (libsodium on the raw bytes) gives the standard's answers for keys
 * loaded from the standard PEM files, so other implementations agree. */
static const char rfc8032_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
static const char rfc7748_alice_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEIHcHbQpzGKV9PBbBclGyZkXfTC+H68CZKrF3+6UduSwq\n"
    "-----END PRIVATE KEY-----\n";

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
}

START_TEST(rfc8032_test_1_signature_and_public_key_are_reproduced)
{
	struct mash_key *k = NULL;
	uint8_t sig[MASH_KEY_SIG_LEN], want[MASH_KEY_SIG_LEN];
	uint8_t pub[MASH_KEY_PUB_LEN], want_pub[MASH_KEY_PUB_LEN];
	char path[128];

	path_in(path, sizeof(path), "rfc8032.pem");
	write_text(path, rfc8032_pem);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(mash_key_load_private(path, &k), MASH_OK);
	unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707"
	      "511a",
	      want_pub, sizeof(want_pub));
	ck_assert_int_eq(mash_key_public_raw(k, pub), MASH_OK);
	ck_assert_mem_eq(pub, want_pub, sizeof(pub));
	unhex(
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
	    want, sizeof(want));
	ck_assert_int_eq(mash_key_sign(k, NULL, 0, sig), MASH_OK);
	ck_assert_mem_eq(sig, want, sizeof(sig));
	ck_assert_int_eq(mash_key_verify(k, NULL, 0, want, sizeof(want)),
	                 MASH_OK);
	mash_key_free(k);
}
END_TEST

START_TEST(rfc7748_agreement_is_reproduced)
{
	struct mash_key *a = NULL;
	uint8_t bob[MASH_KEY_PUB_LEN], k[MASH_KEY_PUB_LEN], want[32];
	char path[128];

	path_in(path, sizeof(path), "alice.pem");
	write_text(path, rfc7748_alice_pem);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(mash_key_load_kind(MASH_KEY_X25519, 1, path, &a),
	                 MASH_OK);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f88"
	      "2b4f",
	      bob, sizeof(bob));
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e16"
	      "1742",
	      want, sizeof(want));
	ck_assert_int_eq(mash_key_x25519(a, bob, k), MASH_OK);
	ck_assert_mem_eq(k, want, sizeof(k));
	/* A low-order peer (here the point of order 1, u = 1) is refused. */
	memset(bob, 0, sizeof(bob));
	bob[0] = 1;
	ck_assert_int_eq(mash_key_x25519(a, bob, k), MASH_ERR_KEY_FORMAT);
	mash_key_free(a);
}
END_TEST

/* With the neutral point as public key, R = neutral and S = 0 satisfy the
 * cofactorless equation for every message: a key that signs anything.
 * Such a key must never verify a signature. */
START_TEST(small_order_public_key_verifies_nothing)
{
	struct mash_key *k = NULL;
	uint8_t raw[MASH_KEY_PUB_LEN] = {1}, sig[MASH_KEY_SIG_LEN] = {1};

	ck_assert_int_eq(mash_key_from_raw_public(raw, &k), MASH_OK);
	ck_assert_int_eq(mash_key_verify(k, (const uint8_t *)"anything", 8, sig,
	                                 sizeof(sig)),
	                 MASH_ERR_BAD_SIGNATURE);
	mash_key_free(k);
}
END_TEST

START_TEST(generate_survives_allocation_failure)
{
	struct mash_key *k = NULL;
	int rc;

	mash_mem_fail_after(0);
	rc = mash_key_generate(&k);
	mash_mem_fail_after(-1);
	ck_assert_int_eq(rc, MASH_ERR_NOMEM);
	ck_assert_ptr_null(k);
}
END_TEST

static Suite *
key_suite(void)
{
	Suite *s = suite_create("key");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, generated_key_signs_and_verifies);
	tcase_add_test(tc, empty_message_signs_and_verifies);
	tcase_add_test(tc, verify_rejects_wrong_signature_length);
	tcase_add_test(tc, private_key_saved_0600_and_loads_back);
	tcase_add_test(tc, pem_files_are_pkcs8_and_spki);
	tcase_add_test(tc, save_refuses_existing_file_and_symlink);
	tcase_add_test(tc, save_private_of_public_key_is_refused);
	tcase_add_test(tc, raw_public_round_trips);
	tcase_add_test(tc, public_pem_parses_back);
	tcase_add_loop_test(tc, load_rejects_bad_files_as_key_format, 0,
	                    sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_test(tc, public_loader_refuses_private_file_and_vice_versa);
	tcase_add_test(tc, public_key_with_leading_text_still_loads);
	tcase_add_test(tc,
	               load_missing_file_is_not_found_and_a_directory_is_io);
	tcase_add_test(tc, load_bounds_file_size);
	tcase_add_test(tc, load_refuses_symlinked_key);
	tcase_add_test(tc,
	               rfc8032_test_1_signature_and_public_key_are_reproduced);
	tcase_add_test(tc, rfc7748_agreement_is_reproduced);
	tcase_add_test(tc, small_order_public_key_verifies_nothing);
	tcase_add_test(tc, different_keys_do_not_cross_verify);
	tcase_add_test(tc, x25519_key_saved_0600_loads_back_and_never_signs);
	tcase_add_test(tc, generate_survives_allocation_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(key_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
