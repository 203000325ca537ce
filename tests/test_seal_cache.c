/*
 * test_seal_cache.c - a batch's ephemeral key and derived recipient keys
 * (daemon/seal_cache.h, issue 32): each recipient's key is derived once a
 * batch and reused, every recipient under the batch's one ephemeral key,
 * and what it seals opens for that recipient alone; ending the batch
 * erases the keys and the next batch has a new ephemeral key; a
 * recipient whose key changed (a reload) gets a key derived afresh; a
 * full cache or a spent key hands out none, and reserving before a call
 * starts a spent key afresh; a bad public key gets none.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/key.h"
#include "crypto/seal.h"
#include "daemon/seal_cache.h"

#define TYPE "mash.v1.SharedRecord"
#define MSG  "case C-000000000001: strategy discussion"

static struct mash_key *amara, *sam, *sam2;
static uint8_t amara_pub[32], sam_pub[32], sam2_pub[32];
static struct mashd_seal_cache *c;

static void
x25519(struct mash_key **k, uint8_t pub[32])
{
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, k), MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(*k, pub), MASH_OK);
}

static void
setup(void)
{
	x25519(&amara, amara_pub);
	x25519(&sam, sam_pub);
	x25519(&sam2, sam2_pub);
	ck_assert_int_eq(mashd_seal_cache_new(&c), MASH_OK);
}

static void
teardown(void)
{
	mashd_seal_cache_free(c);
	c = NULL;
	mash_key_free(amara);
	mash_key_free(sam);
	mash_key_free(sam2);
}

/* Seal MSG with t to who and open it with k: MASH_OK or the error. */
static int
round_trip(const struct mash_seal_to *t, const char *who,
           const struct mash_key *k)
{
	uint8_t *s = NULL, *m = NULL;
	size_t n = 0, mlen = 0;
	int rc;

	ck_assert_int_eq(mash_seal_with_to(t, who, TYPE, (const uint8_t *)MSG,
	                                   strlen(MSG), &s, &n),
	                 MASH_OK);
	rc = mash_seal_open(k, who, TYPE, s, n, &m, &mlen);
	if (rc == MASH_OK)
		ck_assert_mem_eq(m, MSG, strlen(MSG));
	mash_free_secret(m, mlen);
	mash_free(s);
	return rc;
}

START_TEST(a_batch_derives_once_per_recipient_and_reuses_it)
{
	const struct mash_seal_to *a, *s, *again;
	struct mashd_seal_cache_stats st;
	int i;

	a = mashd_seal_cache_get(c, "analyst.amara", amara_pub);
	s = mashd_seal_cache_get(c, "sw.sam", sam_pub);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(s);
	for (i = 0; i < 3; i++) {
		again = mashd_seal_cache_get(c, "analyst.amara", amara_pub);
		ck_assert_ptr_eq(again, a);
		again = mashd_seal_cache_get(c, "sw.sam", sam_pub);
		ck_assert_ptr_eq(again, s);
	}
	mashd_seal_cache_stats(c, &st);
	ck_assert_uint_eq(st.derived, 2);
	ck_assert_uint_eq(st.reused, 6);
	/* One ephemeral key for the batch, a key of its own for each. */
	ck_assert_mem_eq(a->eph_pub, s->eph_pub, MASH_SEAL_PUB_LEN);
	ck_assert(memcmp(a->key, s->key, sizeof(a->key)) != 0);
	ck_assert_int_eq(round_trip(a, "analyst.amara", amara), MASH_OK);
	ck_assert_int_eq(round_trip(s, "sw.sam", sam), MASH_OK);
	ck_assert_int_eq(round_trip(a, "analyst.amara", sam), MASH_ERR_DECRYPT);
	ck_assert_int_eq(round_trip(s, "sw.sam", amara), MASH_ERR_DECRYPT);
}
END_TEST

START_TEST(ending_the_batch_erases_it_and_the_next_has_a_new_key)
{
	static const uint8_t zero[sizeof(struct mash_seal_to)];
	const struct mash_seal_to *a;
	struct mashd_seal_cache_stats st;
	uint8_t first[MASH_SEAL_PUB_LEN];

	a = mashd_seal_cache_get(c, "analyst.amara", amara_pub);
	ck_assert_ptr_nonnull(a);
	memcpy(first, a->eph_pub, sizeof(first));
	mashd_seal_cache_end(c);
	/* The slot it pointed into is wiped, not only forgotten. */
	ck_assert_mem_eq(a, zero, sizeof(zero));
	mashd_seal_cache_end(c); /* nothing left: not counted */
	a = mashd_seal_cache_get(c, "analyst.amara", amara_pub);
	ck_assert_ptr_nonnull(a);
	ck_assert(memcmp(a->eph_pub, first, sizeof(first)) != 0);
	ck_assert_int_eq(round_trip(a, "analyst.amara", amara), MASH_OK);
	mashd_seal_cache_stats(c, &st);
	ck_assert_uint_eq(st.derived, 2);
	ck_assert_uint_eq(st.reused, 0);
	ck_assert_uint_eq(st.ended, 1);
}
END_TEST

START_TEST(a_recipient_whose_key_changed_gets_a_key_derived_afresh)
{
	const struct mash_seal_to *s;
	struct mashd_seal_cache_stats st;

	s = mashd_seal_cache_get(c, "sw.sam", sam_pub);
	ck_assert_ptr_nonnull(s);
	/* A reload gave sw.sam a new key within the batch. */
	s = mashd_seal_cache_get(c, "sw.sam", sam2_pub);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(round_trip(s, "sw.sam", sam2), MASH_OK);
	ck_assert_int_eq(round_trip(s, "sw.sam", sam), MASH_ERR_DECRYPT);
	mashd_seal_cache_stats(c, &st);
	ck_assert_uint_eq(st.derived, 2);
}
END_TEST

START_TEST(a_full_cache_or_a_spent_key_hands_out_none_until_reserved)
{
	static const uint8_t zero[32];
	char name[32];
	const struct mash_seal_to *a;
	int i;

	for (i = 0; i < MASHD_SEAL_CACHE_SLOTS; i++) {
		snprintf(name, sizeof(name), "p.%d", i);
		ck_assert_ptr_nonnull(mashd_seal_cache_get(c, name, sam_pub));
	}
	ck_assert_ptr_null(mashd_seal_cache_get(c, "analyst.amara", amara_pub));
	mashd_seal_cache_end(c);
	/* Spend the key: MASHD_SEAL_CACHE_USES seals under it. */
	a = mashd_seal_cache_get(c, "analyst.amara", amara_pub);
	ck_assert_ptr_nonnull(a);
	for (i = 1; i < MASHD_SEAL_CACHE_USES; i++)
		ck_assert_ptr_eq(
		    mashd_seal_cache_get(c, "analyst.amara", amara_pub), a);
	ck_assert_ptr_null(mashd_seal_cache_get(c, "analyst.amara", amara_pub));
	/* Reserving before a call ends the spent key; a new one follows. */
	mashd_seal_cache_reserve(c, 1);
	a = mashd_seal_cache_get(c, "analyst.amara", amara_pub);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(round_trip(a, "analyst.amara", amara), MASH_OK);
	/* Reserving what still fits keeps the keys handed out. */
	mashd_seal_cache_reserve(c, 10);
	ck_assert_ptr_eq(mashd_seal_cache_get(c, "analyst.amara", amara_pub),
	                 a);
	/* No secret from a low-order key; nothing for bad names. */
	ck_assert_ptr_null(mashd_seal_cache_get(c, "sw.sam", zero));
	ck_assert_ptr_null(mashd_seal_cache_get(c, "", sam_pub));
	ck_assert_ptr_null(mashd_seal_cache_get(c, NULL, sam_pub));
	ck_assert_ptr_null(mashd_seal_cache_get(NULL, "sw.sam", sam_pub));
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("seal_cache");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_batch_derives_once_per_recipient_and_reuses_it);
	tcase_add_test(tc,
	               ending_the_batch_erases_it_and_the_next_has_a_new_key);
	tcase_add_test(tc,
	               a_recipient_whose_key_changed_gets_a_key_derived_afresh);
	tcase_add_test(
	    tc, a_full_cache_or_a_spent_key_hands_out_none_until_reserved);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
