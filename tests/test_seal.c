#define _GNU_SOURCE /* memmem */
/*
 * test_seal.c - sealing a delivery to one principal (crypto/seal.h, issue
 * 25): it opens with the recipient's key and nothing else; another
 * recipient, another type, a tampered byte, another version each fail;
 * and Python's cryptography opens what we seal, so the construction is
 * not private to our C code.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/key.h"
#include "crypto/seal.h"
#include "support/crypto_fixture.h"

#define TYPE "mash.v1.SharedRecord"
#define MSG  "Jordan Reed, NHS 943 476 5919: missing overnight"

static struct mash_key *amara, *sam;
static uint8_t amara_pub[32], sam_pub[32];

static void
setup(void)
{
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, &amara),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, &sam),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(amara, amara_pub), MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(sam, sam_pub), MASH_OK);
}

static void
teardown(void)
{
	mash_key_free(amara);
	mash_key_free(sam);
}

static void
seal_to_amara(uint8_t **s, size_t *n)
{
	ck_assert_int_eq(mash_seal(amara_pub, "analyst.amara", TYPE,
	                           (const uint8_t *)MSG, strlen(MSG), s, n),
	                 MASH_OK);
}

static int
open_as(const struct mash_key *k, const char *who, const char *type,
        const uint8_t *s, size_t n)
{
	uint8_t *m = NULL;
	size_t mlen = 0;
	int rc = mash_seal_open(k, who, type, s, n, &m, &mlen);

	if (rc == MASH_OK) {
		ck_assert_uint_eq(mlen, strlen(MSG));
		ck_assert_mem_eq(m, MSG, mlen);
	} else {
		ck_assert_ptr_null(m);
	}
	mash_free_secret(m, mlen);
	return rc;
}

START_TEST(sealed_opens_for_its_recipient_and_hides_the_content)
{
	uint8_t *s = NULL, *s2 = NULL;
	size_t n = 0, n2 = 0;

	seal_to_amara(&s, &n);
	ck_assert_uint_eq(n, strlen(MSG) + MASH_SEAL_OVERHEAD);
	ck_assert_uint_eq(s[0], MASH_SEAL_VERSION);
	ck_assert_ptr_null(memmem(s, n, "Jordan", 6));
	ck_assert_ptr_null(memmem(s, n, "943 476", 7));
	ck_assert_int_eq(open_as(amara, "analyst.amara", TYPE, s, n), MASH_OK);
	/* A fresh ephemeral key and nonce each time. */
	seal_to_amara(&s2, &n2);
	ck_assert(n == n2 && memcmp(s, s2, n) != 0);
	mash_free(s);
	mash_free(s2);
}
END_TEST

START_TEST(another_key_recipient_or_type_does_not_open)
{
	uint8_t *s = NULL;
	size_t n = 0;

	seal_to_amara(&s, &n);
	ck_assert_int_eq(open_as(sam, "analyst.amara", TYPE, s, n),
	                 MASH_ERR_DECRYPT);
	ck_assert_int_eq(open_as(amara, "sw.sam", TYPE, s, n),
	                 MASH_ERR_DECRYPT);
	ck_assert_int_eq(
	    open_as(amara, "analyst.amara", "mash.v1.Picture", s, n),
	    MASH_ERR_DECRYPT);
	mash_free(s);
}
END_TEST

START_TEST(every_tampered_byte_is_refused)
{
	uint8_t *s = NULL;
	size_t n = 0, i;

	seal_to_amara(&s, &n);
	for (i = 1; i < n; i++) {
		s[i] ^= 0x01;
		ck_assert_msg(open_as(amara, "analyst.amara", TYPE, s, n) ==
		                  MASH_ERR_DECRYPT,
		              "byte %zu", i);
		s[i] ^= 0x01;
	}
	s[0] = 2; /* a version we do not know */
	ck_assert_int_eq(open_as(amara, "analyst.amara", TYPE, s, n),
	                 MASH_ERR_DECODE);
	s[0] = MASH_SEAL_VERSION;
	ck_assert_int_eq(
	    open_as(amara, "analyst.amara", TYPE, s, MASH_SEAL_OVERHEAD - 1),
	    MASH_ERR_DECODE);
	ck_assert_int_eq(open_as(amara, "analyst.amara", TYPE, s, n - 1),
	                 MASH_ERR_DECRYPT);
	mash_free(s);
}
END_TEST

START_TEST(bad_keys_are_refused)
{
	static const uint8_t zero[32];
	struct mash_key *signing = NULL;
	uint8_t *s = NULL;
	size_t n = 0;

	/* A low-order public key would give an all-zero secret. */
	ck_assert_int_eq(mash_seal(zero, "analyst.amara", TYPE,
	                           (const uint8_t *)"x", 1, &s, &n),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_null(s);
	seal_to_amara(&s, &n);
	ck_assert_int_eq(mash_key_generate(&signing), MASH_OK);
	ck_assert_int_eq(open_as(signing, "analyst.amara", TYPE, s, n),
	                 MASH_ERR_KEY_FORMAT);
	mash_free(s);
	s = NULL;
	ck_assert_int_eq(
	    mash_seal(amara_pub, "", TYPE, (const uint8_t *)"x", 1, &s, &n),
	    MASH_ERR_INVAL);
	mash_key_free(signing);
	mash_free(s);
}
END_TEST

START_TEST(python_cryptography_opens_what_we_seal)
{
	char dir[64], cmd[2048], keyp[128], sealp[128];
	uint8_t *s = NULL;
	size_t n = 0;
	FILE *f;

	mash_test_tmpdir(dir, sizeof(dir));
	(void)snprintf(keyp, sizeof(keyp), "%s/amara.key.pem", dir);
	(void)snprintf(sealp, sizeof(sealp), "%s/sealed.bin", dir);
	ck_assert_int_eq(mash_key_save_private(amara, keyp), MASH_OK);
	seal_to_amara(&s, &n);
	f = fopen(sealp, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(s, 1, n, f), n);
	fclose(f);
	/* docs/internals/crypto.md, "Sealed deliveries", step by step. */
	(void)snprintf(
	    cmd, sizeof(cmd),
	    "/usr/bin/python3 - '%s' '%s' <<'PY'\n"
	    "import sys\n"
	    "from cryptography.hazmat.primitives import hashes, "
	    "serialization\n"
	    "from cryptography.hazmat.primitives.asymmetric.x25519 import "
	    "X25519PublicKey\n"
	    "from cryptography.hazmat.primitives.kdf.hkdf import HKDF\n"
	    "from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n"
	    "key = serialization.load_pem_private_key(open(sys.argv[1], "
	    "'rb').read(), None)\n"
	    "b = open(sys.argv[2], 'rb').read()\n"
	    "assert b[0] == 1\n"
	    "eph, nonce, ct = b[1:33], b[33:45], b[45:]\n"
	    "me = key.public_key().public_bytes(serialization.Encoding.Raw, "
	    "serialization.PublicFormat.Raw)\n"
	    "shared = key.exchange(X25519PublicKey.from_public_bytes(eph))\n"
	    "k = HKDF(hashes.SHA256(), 32, eph + me, "
	    "b'mash.v1.seal').derive(shared)\n"
	    "aad = b'mash.v1.seal\\nanalyst.amara\\n" TYPE "'\n"
	    "sys.stdout.write(AESGCM(k).decrypt(nonce, ct, aad).decode())\n"
	    "PY\n",
	    keyp, sealp);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	{
		char got[256] = {0};
		size_t r = fread(got, 1, sizeof(got) - 1, f);

		ck_assert_int_eq(pclose(f), 0);
		ck_assert_uint_eq(r, strlen(MSG));
		ck_assert_str_eq(got, MSG);
	}
	mash_free(s);
	mash_test_rmtree(dir);
}
END_TEST

/* One event's ephemeral key for two recipients (issue 32): each message
 * opens only with its own recipient's key, as its own recipient; both
 * carry the event's eph_pub, another event's differs; a cleared key is
 * zeros. */
START_TEST(one_ephemeral_key_seals_an_event_to_each_recipient_alone)
{
	static const uint8_t zero[sizeof(struct mash_seal_eph)];
	struct mash_seal_eph e, other;
	uint8_t *a = NULL, *b = NULL, *c = NULL;
	size_t na = 0, nb = 0, nc = 0;

	ck_assert_int_eq(mash_seal_eph_new(&e), MASH_OK);
	ck_assert_int_eq(mash_seal_eph_new(&other), MASH_OK);
	ck_assert_int_eq(mash_seal_with(&e, amara_pub, "analyst.amara", TYPE,
	                                (const uint8_t *)MSG, strlen(MSG), &a,
	                                &na),
	                 MASH_OK);
	ck_assert_int_eq(mash_seal_with(&e, sam_pub, "sw.sam", TYPE,
	                                (const uint8_t *)MSG, strlen(MSG), &b,
	                                &nb),
	                 MASH_OK);
	ck_assert_int_eq(mash_seal_with(&other, sam_pub, "sw.sam", TYPE,
	                                (const uint8_t *)MSG, strlen(MSG), &c,
	                                &nc),
	                 MASH_OK);
	ck_assert_mem_eq(a + 1, e.pub, MASH_SEAL_PUB_LEN);
	ck_assert_mem_eq(b + 1, e.pub, MASH_SEAL_PUB_LEN);
	ck_assert(memcmp(c + 1, e.pub, MASH_SEAL_PUB_LEN) != 0);
	ck_assert_int_eq(open_as(amara, "analyst.amara", TYPE, a, na), MASH_OK);
	ck_assert_int_eq(open_as(sam, "sw.sam", TYPE, b, nb), MASH_OK);
	ck_assert_int_eq(open_as(sam, "sw.sam", TYPE, c, nc), MASH_OK);
	ck_assert_int_eq(open_as(sam, "analyst.amara", TYPE, a, na),
	                 MASH_ERR_DECRYPT);
	ck_assert_int_eq(open_as(amara, "sw.sam", TYPE, b, nb),
	                 MASH_ERR_DECRYPT);
	/* The two recipients' ciphertexts share nothing but the key. */
	ck_assert(memcmp(a + 1 + MASH_SEAL_PUB_LEN, b + 1 + MASH_SEAL_PUB_LEN,
	                 na - 1 - MASH_SEAL_PUB_LEN) != 0);
	mash_seal_eph_clear(&e);
	ck_assert_mem_eq(&e, zero, sizeof(e));
	mash_seal_eph_clear(&other);
	mash_seal_eph_clear(NULL);
	mash_free(a);
	mash_free(b);
	mash_free(c);
}
END_TEST

/* A key derived once for a recipient seals several messages to it: the
 * same ephemeral key on the wire, a fresh nonce each, each opening only
 * for that recipient (issue 32: a batch's deliveries to one inbox). */
START_TEST(a_key_derived_once_seals_many_to_its_recipient_alone)
{
	static const uint8_t zero[32];
	static const uint8_t zero_to[sizeof(struct mash_seal_to)];
	struct mash_seal_eph e;
	struct mash_seal_to t;
	uint8_t *m[3] = {NULL, NULL, NULL}, *none = NULL;
	size_t n[3] = {0, 0, 0}, n_none = 0;
	int i;

	ck_assert_int_eq(mash_seal_eph_new(&e), MASH_OK);
	ck_assert_int_eq(mash_seal_to_derive(&e, amara_pub, &t), MASH_OK);
	ck_assert_mem_eq(t.eph_pub, e.pub, MASH_SEAL_PUB_LEN);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(mash_seal_with_to(&t, "analyst.amara", TYPE,
		                                   (const uint8_t *)MSG,
		                                   strlen(MSG), &m[i], &n[i]),
		                 MASH_OK);
		ck_assert_uint_eq(n[i], strlen(MSG) + MASH_SEAL_OVERHEAD);
		ck_assert_mem_eq(m[i] + 1, e.pub, MASH_SEAL_PUB_LEN);
		ck_assert_int_eq(
		    open_as(amara, "analyst.amara", TYPE, m[i], n[i]), MASH_OK);
		ck_assert_int_eq(
		    open_as(sam, "analyst.amara", TYPE, m[i], n[i]),
		    MASH_ERR_DECRYPT);
		ck_assert_int_eq(open_as(amara, "sw.sam", TYPE, m[i], n[i]),
		                 MASH_ERR_DECRYPT);
	}
	/* Same key, same message: the nonces (and so the ciphertexts)
	 * differ. */
	ck_assert(memcmp(m[0] + 1 + MASH_SEAL_PUB_LEN,
	                 m[1] + 1 + MASH_SEAL_PUB_LEN, MASH_SEAL_NONCE) != 0);
	ck_assert(memcmp(m[1] + 1 + MASH_SEAL_PUB_LEN,
	                 m[2] + 1 + MASH_SEAL_PUB_LEN, MASH_SEAL_NONCE) != 0);
	ck_assert(memcmp(m[0] + 1 + MASH_SEAL_PUB_LEN + MASH_SEAL_NONCE,
	                 m[1] + 1 + MASH_SEAL_PUB_LEN + MASH_SEAL_NONCE,
	                 strlen(MSG)) != 0);
	/* A low-order key gives no secret; nothing is left behind. */
	ck_assert_int_eq(mash_seal_to_derive(&e, zero, &t),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_mem_eq(&t, zero_to, sizeof(t));
	ck_assert_int_eq(mash_seal_to_derive(NULL, amara_pub, &t),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_seal_with_to(NULL, "analyst.amara", TYPE,
	                                   (const uint8_t *)"x", 1, &none,
	                                   &n_none),
	                 MASH_ERR_INVAL);
	ck_assert_ptr_null(none);
	ck_assert_int_eq(mash_seal_to_derive(&e, amara_pub, &t), MASH_OK);
	mash_seal_to_clear(&t);
	ck_assert_mem_eq(&t, zero_to, sizeof(t));
	mash_seal_to_clear(NULL);
	mash_seal_eph_clear(&e);
	for (i = 0; i < 3; i++)
		mash_free(m[i]);
}
END_TEST

static Suite *
seal_suite(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	               sealed_opens_for_its_recipient_and_hides_the_content);
	tcase_add_test(tc, another_key_recipient_or_type_does_not_open);
	tcase_add_test(tc, every_tampered_byte_is_refused);
	tcase_add_test(tc, bad_keys_are_refused);
	tcase_add_test(tc, python_cryptography_opens_what_we_seal);
	tcase_add_test(
	    tc, one_ephemeral_key_seals_an_event_to_each_recipient_alone);
	tcase_add_test(tc,
	               a_key_derived_once_seals_many_to_its_recipient_alone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(seal_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
