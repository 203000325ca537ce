/* Unit tests for crypto/env: seal/open good path, every rejection in
 * order, size boundaries, bit flips and truncations of a good envelope,
 * allocation failure. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "mash/v1/mash.pb-c.h"
#include "support/crypto_fixture.h"

#define TYPE "mash.v1.AgencyEvent"

static char tmp[64];
static char store[128];
static struct mash_key *police;   /* trusted as police/p1 */
static struct mash_key *stranger; /* not in the store */
static struct mash_trust *trust;

static void
setup(void)
{
	mash_test_tmpdir(tmp, sizeof(tmp));
	snprintf(store, sizeof(store), "%s/trust", tmp);
	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &police),
	                 MASH_OK);
	ck_assert_int_eq(mash_test_signer(store, "police", "old", &stranger),
	                 MASH_OK);
	mash_key_free(stranger);
	ck_assert_int_eq(mash_trust_revoke(store, "police", "old",
	                                   mash_clock_system(), NULL, 0),
	                 MASH_OK);
	ck_assert_int_eq(mash_key_generate(&stranger), MASH_OK);
	ck_assert_int_eq(mash_trust_load(store, &trust, NULL, 0), MASH_OK);
}

static void
teardown(void)
{
	mash_trust_free(trust);
	mash_key_free(police);
	mash_key_free(stranger);
	mash_test_rmtree(tmp);
}

static const uint8_t payload[] = "\x0a\x24"
                                 "6f1c2a7e-0000-4000-8000-000000000001"
                                 "\x12\x06police";

/*
 * Build an envelope by hand (to make the malformed ones seal refuses):
 * signed by key over type/payload as given, then fields overridden.
 */
static uint8_t *
hand_env(const struct mash_key *key, uint32_t version, const char *signer,
         const char *key_id, const char *type, const uint8_t *p, size_t plen,
         size_t siglen, size_t *outlen)
{
	Mash__V1__SignedEnvelope env = MASH__V1__SIGNED_ENVELOPE__INIT;
	uint8_t sig[80], *tbs, *out;
	size_t tl = strlen(type), cl = strlen(MASH_ENV_CONTEXT), n;

	memset(sig, 0, sizeof(sig));
	tbs = malloc(cl + tl + 1 + plen + 1);
	memcpy(tbs, MASH_ENV_CONTEXT, cl);
	memcpy(tbs + cl, type, tl);
	tbs[cl + tl] = '\n';
	if (plen > 0)
		memcpy(tbs + cl + tl + 1, p, plen);
	ck_assert_int_eq(mash_key_sign(key, tbs, cl + tl + 1 + plen, sig),
	                 MASH_OK);
	free(tbs);
	env.version = version;
	env.signer = (char *)signer;
	env.key_id = (char *)key_id;
	env.payload_type = (char *)type;
	env.payload.data = (uint8_t *)p;
	env.payload.len = plen;
	env.signature.data = sig;
	env.signature.len = siglen;
	n = mash__v1__signed_envelope__get_packed_size(&env);
	out = malloc(n);
	mash__v1__signed_envelope__pack(&env, out);
	*outlen = n;
	return out;
}

static int
open_rc(const uint8_t *b, size_t n, const char *type, const char *signer,
        char *why, size_t whylen)
{
	struct mash_env_opened *o = NULL;
	int rc = mash_env_open(trust, b, n, type, signer, &o, why, whylen);

	if (rc == MASH_OK)
		ck_assert_ptr_nonnull(o);
	else
		ck_assert_ptr_null(o);
	mash_env_opened_free(o);
	return rc;
}

START_TEST(sealed_envelope_opens_with_payload_as_sent)
{
	struct mash_env_opened *o = NULL;
	uint8_t *env = NULL;
	size_t n = 0;
	char why[MASH_ENV_WHY_LEN];

	ck_assert_int_eq(mash_env_seal(police, "police", "p1", TYPE, payload,
	                               sizeof(payload) - 1, &env, &n),
	                 MASH_OK);
	ck_assert_int_eq(
	    mash_env_open(trust, env, n, TYPE, "police", &o, why, sizeof(why)),
	    MASH_OK);
	ck_assert_str_eq(o->signer, "police");
	ck_assert_str_eq(o->key_id, "p1");
	ck_assert_str_eq(o->payload_type, TYPE);
	ck_assert_uint_eq(o->payload_len, sizeof(payload) - 1);
	ck_assert_mem_eq(o->payload, payload, sizeof(payload) - 1);
	ck_assert_str_eq(why, "");
	mash_env_opened_free(o);
	mash_free(env);
}
END_TEST

START_TEST(open_without_expectations_accepts_any_trusted)
{
	uint8_t *env = NULL;
	size_t n = 0;

	ck_assert_int_eq(mash_env_seal(police, "police", "p1",
	                               "mash.v1.Receipt", payload, 4, &env, &n),
	                 MASH_OK);
	ck_assert_int_eq(open_rc(env, n, NULL, NULL, NULL, 0), MASH_OK);
	mash_free(env);
}
END_TEST

START_TEST(seal_msg_uses_descriptor_full_name)
{
	Mash__V1__Receipt r = MASH__V1__RECEIPT__INIT;
	struct mash_env_opened *o = NULL;
	Mash__V1__Receipt *back;
	uint8_t *env = NULL;
	size_t n = 0;

	r.event_id = "e1";
	r.agency = "police";
	r.status = MASH__V1__RECEIPT__STATUS__ACCEPTED;
	r.audit_seq = 42;
	ck_assert_int_eq(
	    mash_env_seal_msg(police, "police", "p1", &r.base, &env, &n),
	    MASH_OK);
	ck_assert_int_eq(
	    mash_env_open(trust, env, n, "mash.v1.Receipt", NULL, &o, NULL, 0),
	    MASH_OK);
	ck_assert_str_eq(o->payload_type, "mash.v1.Receipt");
	back = mash__v1__receipt__unpack(NULL, o->payload_len, o->payload);
	ck_assert_ptr_nonnull(back);
	ck_assert_str_eq(back->event_id, "e1");
	ck_assert_uint_eq(back->audit_seq, 42);
	mash__v1__receipt__free_unpacked(back, NULL);
	mash_env_opened_free(o);
	mash_free(env);
}
END_TEST

/* Every rejection: (builder parameters, expected code, word in reason). */
static const struct {
	const char *name;
	int stranger;
	uint32_t version;
	const char *signer, *key_id, *type;
	size_t plen, siglen;
	const char *expect_type, *expect_signer;
	int rc;
	const char *why;
} rejects[] = {
    {"version 0", 0, 0, "police", "p1", TYPE, 10, 64, TYPE, "police",
     MASH_ERR_BAD_VERSION, "version 0"},
    {"version 2", 0, 2, "police", "p1", TYPE, 10, 64, TYPE, "police",
     MASH_ERR_BAD_VERSION, "version 2"},
    {"empty type", 0, 1, "police", "p1", "", 10, 64, NULL, NULL,
     MASH_ERR_DECODE, "payload_type"},
    {"type with slash", 0, 1, "police", "p1", "mash/v1", 10, 64, NULL, NULL,
     MASH_ERR_DECODE, "payload_type"},
    {"empty payload", 0, 1, "police", "p1", TYPE, 0, 64, NULL, NULL,
     MASH_ERR_DECODE, "payload"},
    {"empty signer", 0, 1, "", "p1", TYPE, 10, 64, NULL, NULL, MASH_ERR_BAD_ID,
     "signer"},
    {"signer path", 0, 1, "../police", "p1", TYPE, 10, 64, NULL, NULL,
     MASH_ERR_BAD_ID, "signer"},
    {"key id upper", 0, 1, "police", "P1", TYPE, 10, 64, NULL, NULL,
     MASH_ERR_BAD_ID, "key_id"},
    {"short signature", 0, 1, "police", "p1", TYPE, 10, 63, NULL, NULL,
     MASH_ERR_BAD_SIGNATURE, "63 bytes"},
    {"long signature", 0, 1, "police", "p1", TYPE, 10, 65, NULL, NULL,
     MASH_ERR_BAD_SIGNATURE, "65 bytes"},
    {"no signature", 0, 1, "police", "p1", TYPE, 10, 0, NULL, NULL,
     MASH_ERR_BAD_SIGNATURE, "0 bytes"},
    {"wrong type", 0, 1, "police", "p1", "mash.v1.Receipt", 10, 64, TYPE, NULL,
     MASH_ERR_PAYLOAD_TYPE, "expected mash.v1.AgencyEvent"},
    {"signer not topic", 0, 1, "police", "p1", TYPE, 10, 64, TYPE, "health",
     MASH_ERR_SIGNER_MISMATCH, "expected health"},
    {"unknown key id", 0, 1, "police", "p9", TYPE, 10, 64, TYPE, "police",
     MASH_ERR_UNKNOWN_KEY, "police/p9"},
    {"unknown signer", 0, 1, "housing", "p1", TYPE, 10, 64, TYPE, NULL,
     MASH_ERR_UNKNOWN_KEY, "not trusted"},
    {"revoked key", 0, 1, "police", "old", TYPE, 10, 64, TYPE, "police",
     MASH_ERR_REVOKED_KEY, "revoked"},
    {"signed by stranger", 1, 1, "police", "p1", TYPE, 10, 64, TYPE, "police",
     MASH_ERR_BAD_SIGNATURE, "does not verify"},
};

START_TEST(open_rejects_each_bad_envelope_with_its_code)
{
	char why[MASH_ENV_WHY_LEN];
	uint8_t *env;
	size_t n;

	env = hand_env(rejects[_i].stranger ? stranger : police,
	               rejects[_i].version, rejects[_i].signer,
	               rejects[_i].key_id, rejects[_i].type, payload,
	               rejects[_i].plen, rejects[_i].siglen, &n);
	ck_assert_int_eq(open_rc(env, n, rejects[_i].expect_type,
	                         rejects[_i].expect_signer, why, sizeof(why)),
	                 rejects[_i].rc);
	ck_assert_msg(strstr(why, rejects[_i].why) != NULL,
	              "%s: reason \"%s\" lacks \"%s\"", rejects[_i].name, why,
	              rejects[_i].why);
	free(env);
}
END_TEST

START_TEST(open_rejects_non_envelope_bytes_as_decode)
{
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f};
	char why[MASH_ENV_WHY_LEN];

	ck_assert_int_eq(
	    open_rc(junk, sizeof(junk), NULL, NULL, why, sizeof(why)),
	    MASH_ERR_DECODE);
	ck_assert_ptr_nonnull(strstr(why, "do not decode"));
	/* Zero bytes decode as an all-default envelope: version 0. */
	ck_assert_int_eq(open_rc((const uint8_t *)"", 0, NULL, NULL, NULL, 0),
	                 MASH_ERR_BAD_VERSION);
}
END_TEST

START_TEST(open_checks_size_before_unpacking)
{
	char why[MASH_ENV_WHY_LEN];
	uint8_t *big = calloc(1, MASH_ENV_MAX + 1);

	/* All zero bytes do not decode: TOO_BIG proves the size check runs
	 * first. */
	ck_assert_int_eq(
	    open_rc(big, MASH_ENV_MAX + 1, NULL, NULL, why, sizeof(why)),
	    MASH_ERR_TOO_BIG);
	ck_assert_ptr_nonnull(strstr(why, "262145"));
	free(big);
}
END_TEST

/* The payload length whose hand-built envelope is exactly target bytes. */
static size_t
plen_for_total(size_t target)
{
	Mash__V1__SignedEnvelope env = MASH__V1__SIGNED_ENVELOPE__INIT;
	uint8_t sig[64] = {0};
	size_t plen = target - 200;

	env.version = 1;
	env.signer = "police";
	env.key_id = "p1";
	env.payload_type = TYPE;
	env.signature.data = sig;
	env.signature.len = 64;
	for (;; plen++) {
		env.payload.len = plen;
		if (mash__v1__signed_envelope__get_packed_size(&env) >= target)
			return plen;
	}
}

START_TEST(envelope_of_exactly_max_opens_and_max_plus_one_is_too_big)
{
	size_t plen = plen_for_total(MASH_ENV_MAX), n;
	uint8_t *p = calloc(1, plen + 1), *env;

	memset(p, 'a', plen);
	env = hand_env(police, 1, "police", "p1", TYPE, p, plen, 64, &n);
	ck_assert_uint_eq(n, MASH_ENV_MAX);
	ck_assert_int_eq(open_rc(env, n, TYPE, "police", NULL, 0), MASH_OK);
	free(env);
	env = hand_env(police, 1, "police", "p1", TYPE, p, plen + 1, 64, &n);
	ck_assert_uint_eq(n, MASH_ENV_MAX + 1);
	ck_assert_int_eq(open_rc(env, n, TYPE, "police", NULL, 0),
	                 MASH_ERR_TOO_BIG);
	free(env);
	free(p);
}
END_TEST

START_TEST(seal_accepts_max_payload_and_refuses_one_more)
{
	uint8_t *p = calloc(1, MASH_MAX_PAYLOAD + 1), *env = NULL;
	size_t n = 0;

	ck_assert_int_eq(mash_env_seal(police, "police", "p1", TYPE, p,
	                               MASH_MAX_PAYLOAD, &env, &n),
	                 MASH_OK);
	ck_assert_uint_le(n, MASH_ENV_MAX);
	ck_assert_int_eq(open_rc(env, n, TYPE, "police", NULL, 0), MASH_OK);
	mash_free(env);
	env = NULL;
	ck_assert_int_eq(mash_env_seal(police, "police", "p1", TYPE, p,
	                               MASH_MAX_PAYLOAD + 1, &env, &n),
	                 MASH_ERR_TOO_BIG);
	ck_assert_ptr_null(env);
	ck_assert_uint_eq(n, 0);
	free(p);
}
END_TEST

static const struct {
	const char *signer, *key_id, *type;
	int pub_only;
	int rc;
} seal_bad[] = {
    {"Police", "p1", TYPE, 0, MASH_ERR_BAD_ID},
    {"police", "", TYPE, 0, MASH_ERR_BAD_ID},
    {"police", "p1", "", 0, MASH_ERR_DECODE},
    {"police", "p1", "mash.v1.Agency Event", 0, MASH_ERR_DECODE},
    {"police", "p1", TYPE, 1, MASH_ERR_INVAL},
};

START_TEST(seal_refuses_bad_arguments)
{
	struct mash_key *pub = NULL;
	uint8_t raw[MASH_KEY_PUB_LEN], *env = (uint8_t *)1;
	size_t n = 1;

	ck_assert_int_eq(mash_key_public_raw(police, raw), MASH_OK);
	ck_assert_int_eq(mash_key_from_raw_public(raw, &pub), MASH_OK);
	ck_assert_int_eq(mash_env_seal(seal_bad[_i].pub_only ? pub : police,
	                               seal_bad[_i].signer, seal_bad[_i].key_id,
	                               seal_bad[_i].type, payload, 4, &env, &n),
	                 seal_bad[_i].rc);
	ck_assert_ptr_null(env);
	ck_assert_uint_eq(n, 0);
	mash_key_free(pub);
}
END_TEST

START_TEST(every_single_bit_flip_is_rejected)
{
	uint8_t *env = NULL;
	size_t n = 0, bit;

	ck_assert_int_eq(mash_env_seal(police, "police", "p1", TYPE, payload,
	                               sizeof(payload) - 1, &env, &n),
	                 MASH_OK);
	for (bit = 0; bit < n * 8; bit++) {
		int rc;

		env[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = open_rc(env, n, TYPE, "police", NULL, 0);
		ck_assert_msg(rc != MASH_OK, "flip of bit %zu accepted", bit);
		env[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_int_eq(open_rc(env, n, TYPE, "police", NULL, 0), MASH_OK);
	mash_free(env);
}
END_TEST

START_TEST(every_payload_and_signature_bit_flip_is_bad_signature)
{
	uint8_t *env = NULL;
	size_t n = 0, plen = sizeof(payload) - 1, off, bit;

	ck_assert_int_eq(mash_env_seal(police, "police", "p1", TYPE, payload,
	                               plen, &env, &n),
	                 MASH_OK);
	/* The payload's bytes sit just before the 66-byte signature field
	 * (tag, length, 64 bytes), which is last. */
	off = n - 66 - plen;
	ck_assert_mem_eq(env + off, payload, plen);
	for (bit = 0; bit < plen * 8; bit++) {
		env[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(open_rc(env, n, TYPE, "police", NULL, 0),
		                 MASH_ERR_BAD_SIGNATURE);
		env[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (bit = 0; bit < 64 * 8; bit++) {
		env[n - 64 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(open_rc(env, n, TYPE, "police", NULL, 0),
		                 MASH_ERR_BAD_SIGNATURE);
		env[n - 64 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	mash_free(env);
}
END_TEST

START_TEST(every_truncation_is_rejected)
{
	uint8_t *env = NULL, *cut;
	size_t n = 0, len;

	ck_assert_int_eq(mash_env_seal(police, "police", "p1", TYPE, payload,
	                               sizeof(payload) - 1, &env, &n),
	                 MASH_OK);
	for (len = 0; len < n; len++) {
		/* A fresh exact-size copy so ASan catches any over-read. */
		cut = malloc(len + 1);
		memcpy(cut, env, len);
		ck_assert_msg(open_rc(cut, len, TYPE, "police", NULL, 0) !=
		                  MASH_OK,
		              "truncation to %zu accepted", len);
		free(cut);
	}
	mash_free(env);
}
END_TEST

START_TEST(seal_survives_every_allocation_failure)
{
	uint8_t *env = NULL;
	size_t n = 0;
	int rc = MASH_ERR_NOMEM;
	long i;

	for (i = 0; i < 50; i++) {
		mash_mem_fail_after(i);
		rc = mash_env_seal(police, "police", "p1", TYPE, payload,
		                   sizeof(payload) - 1, &env, &n);
		mash_mem_fail_after(-1);
		if (rc == MASH_OK)
			break;
		ck_assert_int_eq(rc, MASH_ERR_NOMEM);
		ck_assert_ptr_null(env);
	}
	ck_assert_int_eq(rc, MASH_OK);
	mash_free(env);
}
END_TEST

START_TEST(open_survives_every_allocation_failure)
{
	struct mash_env_opened *o = NULL;
	uint8_t *env = NULL;
	size_t n = 0;
	int rc = MASH_ERR_NOMEM;
	long i;

	ck_assert_int_eq(mash_env_seal(police, "police", "p1", TYPE, payload,
	                               sizeof(payload) - 1, &env, &n),
	                 MASH_OK);
	for (i = 0; i < 50; i++) {
		mash_mem_fail_after(i);
		rc = mash_env_open(trust, env, n, TYPE, "police", &o, NULL, 0);
		mash_mem_fail_after(-1);
		if (rc == MASH_OK)
			break;
		/* protobuf-c reports a failed allocation as a failed
		 * unpack. */
		ck_assert(rc == MASH_ERR_NOMEM || rc == MASH_ERR_DECODE);
		ck_assert_ptr_null(o);
	}
	ck_assert_int_eq(rc, MASH_OK);
	mash_env_opened_free(o);
	mash_free(env);
}
END_TEST

START_TEST(open_argument_errors_clear_outputs)
{
	struct mash_env_opened *o = (struct mash_env_opened *)1;

	ck_assert_int_eq(
	    mash_env_open(NULL, payload, 4, NULL, NULL, &o, NULL, 0),
	    MASH_ERR_INVAL);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(
	    mash_env_open(trust, payload, 4, NULL, NULL, NULL, NULL, 0),
	    MASH_ERR_INVAL);
}
END_TEST

static Suite *
env_suite(void)
{
	Suite *s = suite_create("env");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sealed_envelope_opens_with_payload_as_sent);
	tcase_add_test(tc, open_without_expectations_accepts_any_trusted);
	tcase_add_test(tc, seal_msg_uses_descriptor_full_name);
	tcase_add_loop_test(tc, open_rejects_each_bad_envelope_with_its_code, 0,
	                    sizeof(rejects) / sizeof(rejects[0]));
	tcase_add_test(tc, open_rejects_non_envelope_bytes_as_decode);
	tcase_add_test(tc, open_checks_size_before_unpacking);
	tcase_add_test(
	    tc, envelope_of_exactly_max_opens_and_max_plus_one_is_too_big);
	tcase_add_test(tc, seal_accepts_max_payload_and_refuses_one_more);
	tcase_add_loop_test(tc, seal_refuses_bad_arguments, 0,
	                    sizeof(seal_bad) / sizeof(seal_bad[0]));
	tcase_add_test(tc, every_single_bit_flip_is_rejected);
	tcase_add_test(tc,
	               every_payload_and_signature_bit_flip_is_bad_signature);
	tcase_add_test(tc, every_truncation_is_rejected);
	tcase_add_test(tc, seal_survives_every_allocation_failure);
	tcase_add_test(tc, open_survives_every_allocation_failure);
	tcase_add_test(tc, open_argument_errors_clear_outputs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(env_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
