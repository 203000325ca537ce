#define _GNU_SOURCE /* memmem */
/*
 * test_inbox.c - a delivery sealed to its principal inside mashd's
 * signed envelope (crypto/inbox.h, issue 25): the recipient reads it; the
 * bytes on the wire hold no name; another principal, another key, a
 * tampered byte, an unknown signer and a clear envelope are each refused
 * with their own code and never yield content.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/inbox.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "support/crypto_fixture.h"

#define TYPE "mash.v1.SharedRecord"
#define MSG  "Jordan Reed, NHS 943 476 5919: missing overnight"

static char dir[64];
static struct mash_trust *trust;
static struct mash_key *mashd, *amara, *sam;
static uint8_t amara_pub[32];

static void
setup(void)
{
	mash_test_tmpdir(dir, sizeof(dir));
	ck_assert_int_eq(mash_test_signer(dir, "mashd", "k1", &mashd), MASH_OK);
	ck_assert_int_eq(mash_trust_load(dir, &trust, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, &amara),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, &sam),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(amara, amara_pub), MASH_OK);
}

static void
teardown(void)
{
	mash_trust_free(trust);
	mash_key_free(mashd);
	mash_key_free(amara);
	mash_key_free(sam);
	mash_test_rmtree(dir);
}

static void
seal_to_amara(uint8_t **env, size_t *n)
{
	ck_assert_int_eq(mash_inbox_seal(mashd, "mashd", "k1", "analyst.amara",
	                                 amara_pub, TYPE, (const uint8_t *)MSG,
	                                 strlen(MSG), env, n),
	                 MASH_OK);
}

/* Open as who with k; on success check the content; the code either way. */
static int
open_as(const char *who, const struct mash_key *k, const uint8_t *env, size_t n,
        char *why, size_t whylen)
{
	struct mash_inbox_msg *m = (struct mash_inbox_msg *)1;
	int rc =
	    mash_inbox_open(trust, "mashd", who, k, env, n, &m, why, whylen);

	if (rc == MASH_OK) {
		ck_assert_str_eq(m->payload_type, TYPE);
		ck_assert_str_eq(m->recipient, who);
		ck_assert_str_eq(m->signer, "mashd");
		ck_assert_uint_eq(m->payload_len, strlen(MSG));
		ck_assert_mem_eq(m->payload, MSG, m->payload_len);
	} else {
		ck_assert_ptr_null(m);
		ck_assert_ptr_null(memmem(why, strlen(why), "Jordan", 6));
	}
	mash_inbox_msg_free(rc == MASH_OK ? m : NULL);
	return rc;
}

START_TEST(recipient_reads_it_and_the_wire_holds_no_name)
{
	uint8_t *env = NULL;
	size_t n = 0;
	char why[256];

	seal_to_amara(&env, &n);
	ck_assert_ptr_null(memmem(env, n, "Jordan", 6));
	ck_assert_ptr_null(memmem(env, n, "943 476", 7));
	ck_assert_ptr_null(memmem(env, n, "missing", 7));
	/* the recipient and the type are in the clear: routing, not content */
	ck_assert_ptr_nonnull(memmem(env, n, "analyst.amara", 13));
	ck_assert_int_eq(
	    open_as("analyst.amara", amara, env, n, why, sizeof(why)), MASH_OK);
	mash_free(env);
}
END_TEST

START_TEST(another_principal_or_key_is_refused)
{
	uint8_t *env = NULL;
	size_t n = 0;
	char why[256];

	seal_to_amara(&env, &n);
	ck_assert_int_eq(open_as("sw.sam", sam, env, n, why, sizeof(why)),
	                 MASH_ERR_WRONG_RECIPIENT);
	ck_assert_ptr_nonnull(strstr(why, "sealed to analyst.amara"));
	/* sam's key claiming to be amara */
	ck_assert_int_eq(
	    open_as("analyst.amara", sam, env, n, why, sizeof(why)),
	    MASH_ERR_DECRYPT);
	/* a signing key is not an encryption key */
	ck_assert_int_eq(
	    open_as("analyst.amara", mashd, env, n, why, sizeof(why)),
	    MASH_ERR_KEY_FORMAT);
	mash_free(env);
}
END_TEST

START_TEST(every_tampered_byte_is_refused)
{
	uint8_t *env = NULL;
	size_t n = 0, i;
	char why[256];
	int rc;

	seal_to_amara(&env, &n);
	for (i = 0; i < n; i++) {
		env[i] ^= 0x01;
		rc = open_as("analyst.amara", amara, env, n, why, sizeof(why));
		ck_assert_msg(rc != MASH_OK, "byte %zu flipped still opened",
		              i);
		env[i] ^= 0x01;
	}
	ck_assert_int_eq(
	    open_as("analyst.amara", amara, env, n, why, sizeof(why)), MASH_OK);
	mash_free(env);
}
END_TEST

START_TEST(unknown_signer_and_clear_envelope_are_refused)
{
	struct mash_key *stranger = NULL;
	uint8_t *env = NULL;
	size_t n = 0;
	char why[256];

	/* sealed properly, signed by a key the reader does not trust */
	ck_assert_int_eq(mash_key_generate(&stranger), MASH_OK);
	ck_assert_int_eq(
	    mash_inbox_seal(stranger, "mashd", "k9", "analyst.amara", amara_pub,
	                    TYPE, (const uint8_t *)MSG, strlen(MSG), &env, &n),
	    MASH_OK);
	ck_assert_int_eq(
	    open_as("analyst.amara", amara, env, n, why, sizeof(why)),
	    MASH_ERR_UNKNOWN_KEY);
	mash_free(env);
	env = NULL;
	/* a clear SharedRecord signed by mashd is not a sealed delivery */
	ck_assert_int_eq(mash_env_seal(mashd, "mashd", "k1", TYPE,
	                               (const uint8_t *)MSG, strlen(MSG), &env,
	                               &n),
	                 MASH_OK);
	ck_assert_int_eq(
	    open_as("analyst.amara", amara, env, n, why, sizeof(why)),
	    MASH_ERR_PAYLOAD_TYPE);
	mash_free(env);
	mash_key_free(stranger);
}
END_TEST

START_TEST(seal_refuses_bad_recipient_and_type)
{
	uint8_t *env = (uint8_t *)1;
	size_t n = 1;

	ck_assert_int_eq(mash_inbox_seal(mashd, "mashd", "k1", "Amara!",
	                                 amara_pub, TYPE, (const uint8_t *)"x",
	                                 1, &env, &n),
	                 MASH_ERR_BAD_ID);
	ck_assert_ptr_null(env);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mash_inbox_seal(mashd, "mashd", "k1", "analyst.amara",
	                                 amara_pub, "mash v1",
	                                 (const uint8_t *)"x", 1, &env, &n),
	                 MASH_ERR_DECODE);
	ck_assert_int_eq(mash_inbox_seal(mashd, "mashd", "k1", "analyst.amara",
	                                 NULL, TYPE, (const uint8_t *)"x", 1,
	                                 &env, &n),
	                 MASH_ERR_INVAL);
}
END_TEST

static Suite *
inbox_suite(void)
{
	Suite *s = suite_create("inbox");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, recipient_reads_it_and_the_wire_holds_no_name);
	tcase_add_test(tc, another_principal_or_key_is_refused);
	tcase_add_test(tc, every_tampered_byte_is_refused);
	tcase_add_test(tc, unknown_signer_and_clear_envelope_are_refused);
	tcase_add_test(tc, seal_refuses_bad_recipient_and_type);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(inbox_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
