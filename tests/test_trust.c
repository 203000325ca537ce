/* Unit tests for crypto/trust: id validation, add/revoke/list/lookup,
 * strict loading, revocation persistence. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "support/crypto_fixture.h"

static char tmp[64];
static char store[128];

static void
setup(void)
{
	mash_test_tmpdir(tmp, sizeof(tmp));
	snprintf(store, sizeof(store), "%s/trust", tmp);
}

static void
teardown(void)
{
	mash_test_rmtree(tmp);
}

static const struct {
	const char *id;
	int ok;
} ids[] = {
    {"police", 1},
    {"social-care", 1},
    {"analyst.amara", 1},
    {"key_2026-01", 1},
    {"a", 1},
    {"0123456789012345678901234567890123456789012345678901234567890123",
     1}, /* exactly 64 */
    {"01234567890123456789012345678901234567890123456789012345678901234",
     0}, /* 65 */
    {"", 0},
    {".", 0},
    {"..", 0},
    {"Police", 0},
    {"a/b", 0},
    {"a b", 0},
    {"a+b", 0},
    {"a#", 0},
    {"caf\xc3\xa9", 0},
    {"a\nb", 0},
};

START_TEST(id_validation_table)
{
	ck_assert_int_eq(mash_trust_id_valid(ids[_i].id), ids[_i].ok);
}
END_TEST

START_TEST(id_null_is_invalid)
{
	ck_assert_int_eq(mash_trust_id_valid(NULL), 0);
}
END_TEST

START_TEST(added_key_is_found_and_verifies)
{
	struct mash_key *k = NULL;
	const struct mash_key *found = NULL;
	struct mash_trust *t = NULL;
	uint8_t sig[MASH_KEY_SIG_LEN];

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_uint_eq(mash_trust_count(t), 1);
	ck_assert_int_eq(mash_trust_lookup(t, "police", "p1", &found), MASH_OK);
	ck_assert_ptr_nonnull(found);
	ck_assert_int_eq(mash_key_sign(k, (const uint8_t *)"m", 1, sig),
	                 MASH_OK);
	ck_assert_int_eq(
	    mash_key_verify(found, (const uint8_t *)"m", 1, sig, 64), MASH_OK);
	mash_trust_free(t);
	mash_key_free(k);
}
END_TEST

START_TEST(unknown_signer_or_key_id_is_unknown_key)
{
	struct mash_key *k = NULL;
	const struct mash_key *found = (const struct mash_key *)1;
	struct mash_trust *t = NULL;

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_trust_lookup(t, "police", "p2", &found),
	                 MASH_ERR_UNKNOWN_KEY);
	ck_assert_ptr_null(found);
	ck_assert_int_eq(mash_trust_lookup(t, "health", "p1", NULL),
	                 MASH_ERR_UNKNOWN_KEY);
	ck_assert_int_eq(mash_trust_lookup(t, "../police", "p1", NULL),
	                 MASH_ERR_UNKNOWN_KEY);
	mash_trust_free(t);
	mash_key_free(k);
}
END_TEST

START_TEST(revoked_key_is_revoked_after_reload)
{
	struct mash_key *k = NULL;
	struct mash_trust *t = NULL;
	struct mash_trust_info info;
	struct mash_clock clk;
	int64_t now = 1790000000000LL;
	const struct mash_key *found = (const struct mash_key *)1;

	mash_clock_manual(&clk, &now);
	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	ck_assert_int_eq(
	    mash_trust_revoke(store, "police", "p1", &clk, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_trust_lookup(t, "police", "p1", &found),
	                 MASH_ERR_REVOKED_KEY);
	ck_assert_ptr_null(found);
	ck_assert_int_eq(mash_trust_get(t, 0, &info), MASH_OK);
	ck_assert_int_eq(info.revoked, 1);
	ck_assert_int_eq(info.revoked_at_ms, now);
	mash_trust_free(t);
	mash_key_free(k);
}
END_TEST

START_TEST(revoking_twice_keeps_first_time)
{
	struct mash_key *k = NULL;
	struct mash_trust *t = NULL;
	struct mash_trust_info info;
	struct mash_clock clk;
	int64_t now = 1000;

	mash_clock_manual(&clk, &now);
	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	ck_assert_int_eq(
	    mash_trust_revoke(store, "police", "p1", &clk, NULL, 0), MASH_OK);
	now = 5000;
	ck_assert_int_eq(
	    mash_trust_revoke(store, "police", "p1", &clk, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_trust_get(t, 0, &info), MASH_OK);
	ck_assert_int_eq(info.revoked_at_ms, 1000);
	mash_trust_free(t);
	mash_key_free(k);
}
END_TEST

START_TEST(revoke_unknown_key_is_unknown_key)
{
	struct mash_key *k = NULL;
	char why[256];

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	ck_assert_int_eq(mash_trust_revoke(store, "police", "nope",
	                                   mash_clock_system(), why,
	                                   sizeof(why)),
	                 MASH_ERR_UNKNOWN_KEY);
	ck_assert_ptr_nonnull(strstr(why, "police/nope"));
	mash_key_free(k);
}
END_TEST

START_TEST(add_existing_key_id_is_exists_even_after_revocation)
{
	struct mash_key *k = NULL, *k2 = NULL;
	char why[256];

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	ck_assert_int_eq(mash_key_generate(&k2), MASH_OK);
	ck_assert_int_eq(
	    mash_trust_add_key(store, "police", "p1", k2, why, sizeof(why)),
	    MASH_ERR_EXISTS);
	ck_assert_int_eq(mash_trust_revoke(store, "police", "p1",
	                                   mash_clock_system(), NULL, 0),
	                 MASH_OK);
	ck_assert_int_eq(
	    mash_trust_add_key(store, "police", "p1", k2, why, sizeof(why)),
	    MASH_ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(why, "never reused"));
	mash_key_free(k);
	mash_key_free(k2);
}
END_TEST

START_TEST(add_rejects_bad_ids)
{
	struct mash_key *k = NULL;
	char why[256];

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(
	    mash_trust_add_key(store, "../etc", "p1", k, why, sizeof(why)),
	    MASH_ERR_BAD_ID);
	ck_assert_ptr_nonnull(strstr(why, "signer"));
	ck_assert_int_eq(
	    mash_trust_add_key(store, "police", "P1", k, why, sizeof(why)),
	    MASH_ERR_BAD_ID);
	ck_assert_ptr_nonnull(strstr(why, "key id"));
	mash_key_free(k);
}
END_TEST

START_TEST(add_from_file_and_rejects_non_key_file)
{
	struct mash_key *k = NULL;
	struct mash_trust *t = NULL;
	char pub[160], junk[160], why[256];
	FILE *f;

	snprintf(pub, sizeof(pub), "%s/k.pub.pem", tmp);
	snprintf(junk, sizeof(junk), "%s/junk.pem", tmp);
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(mash_key_save_public(k, pub), MASH_OK);
	f = fopen(junk, "w");
	fputs("not a key\n", f);
	fclose(f);
	ck_assert_int_eq(
	    mash_trust_add(store, "health", "h1", junk, why, sizeof(why)),
	    MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_nonnull(strstr(why, "junk.pem"));
	ck_assert_int_eq(
	    mash_trust_add(store, "health", "h1", pub, why, sizeof(why)),
	    MASH_OK);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_trust_lookup(t, "health", "h1", NULL), MASH_OK);
	mash_trust_free(t);
	mash_key_free(k);
}
END_TEST

START_TEST(list_is_sorted_by_signer_then_key)
{
	struct mash_key *k[4] = {NULL};
	struct mash_trust *t = NULL;
	struct mash_trust_info info;

	ck_assert_int_eq(mash_test_signer(store, "police", "p2", &k[0]),
	                 MASH_OK);
	ck_assert_int_eq(mash_test_signer(store, "health", "h1", &k[1]),
	                 MASH_OK);
	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k[2]),
	                 MASH_OK);
	ck_assert_int_eq(mash_test_signer(store, "mashd", "d1", &k[3]),
	                 MASH_OK);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_uint_eq(mash_trust_count(t), 4);
	mash_trust_get(t, 0, &info);
	ck_assert_str_eq(info.signer, "health");
	mash_trust_get(t, 1, &info);
	ck_assert_str_eq(info.signer, "mashd");
	mash_trust_get(t, 2, &info);
	ck_assert_str_eq(info.key_id, "p1");
	mash_trust_get(t, 3, &info);
	ck_assert_str_eq(info.key_id, "p2");
	ck_assert_int_eq(info.revoked, 0);
	ck_assert_int_eq(mash_trust_get(t, 4, &info), MASH_ERR_INVAL);
	ck_assert_ptr_null(info.signer);
	mash_trust_free(t);
	for (int i = 0; i < 4; i++)
		mash_key_free(k[i]);
}
END_TEST

START_TEST(missing_store_is_not_found_empty_store_is_empty)
{
	struct mash_trust *t = NULL;
	char why[256];

	ck_assert_int_eq(mash_trust_load(store, &t, why, sizeof(why)),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(why, store));
	ck_assert_int_eq(mkdir(store, 0755), 0);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_uint_eq(mash_trust_count(t), 0);
	ck_assert_int_eq(mash_trust_lookup(t, "police", "p1", NULL),
	                 MASH_ERR_UNKNOWN_KEY);
	mash_trust_free(t);
}
END_TEST

/* Files planted in a store: each must fail the whole load. */
static const struct {
	const char *rel;
	const char *text;
	int rc;
} planted[] = {
    {"police/garbled.pub.pem",
     "-----BEGIN PUBLIC KEY-----\nAAAA\n"
     "-----END PUBLIC KEY-----\n",
     MASH_ERR_KEY_FORMAT},
    {"police/notes.txt", "hello\n", MASH_ERR_CONFIG},
    {"police/UPPER.pub.pem", "x", MASH_ERR_BAD_ID},
    {"Police/p1.pub.pem", "x", MASH_ERR_BAD_ID},
};

START_TEST(load_fails_on_planted_bad_entry)
{
	struct mash_key *k = NULL;
	struct mash_trust *t = NULL;
	char path[256], dir[256], why[512], *slash;
	FILE *f;

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	snprintf(path, sizeof(path), "%s/%s", store, planted[_i].rel);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	(void)mkdir(dir, 0755);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(planted[_i].text, f);
	fclose(f);
	ck_assert_int_eq(mash_trust_load(store, &t, why, sizeof(why)),
	                 planted[_i].rc);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(why, "trust store"));
	mash_key_free(k);
}
END_TEST

START_TEST(load_refuses_symlinked_signer_dir_and_ignores_hidden)
{
	struct mash_key *k = NULL;
	struct mash_trust *t = NULL;
	char link[256], hidden[256];

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	snprintf(hidden, sizeof(hidden), "%s/.tmp", store);
	ck_assert_int_eq(mkdir(hidden, 0755), 0);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	mash_trust_free(t);
	t = NULL;
	snprintf(link, sizeof(link), "%s/health", store);
	ck_assert_int_eq(symlink("police", link), 0);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_ERR_CONFIG);
	mash_key_free(k);
}
END_TEST

START_TEST(garbled_revocation_record_still_revokes)
{
	struct mash_key *k = NULL;
	struct mash_trust *t = NULL;
	char path[256];
	FILE *f;

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k), MASH_OK);
	snprintf(path, sizeof(path), "%s/police/p1.revoked", store);
	f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	ck_assert_int_eq(mash_trust_load(store, &t, NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_trust_lookup(t, "police", "p1", NULL),
	                 MASH_ERR_REVOKED_KEY);
	mash_trust_free(t);
	mash_key_free(k);
}
END_TEST

START_TEST(load_survives_every_allocation_failure)
{
	struct mash_key *k[3] = {NULL};
	struct mash_trust *t = NULL;
	int rc = MASH_ERR_NOMEM;
	long n;

	ck_assert_int_eq(mash_test_signer(store, "police", "p1", &k[0]),
	                 MASH_OK);
	ck_assert_int_eq(mash_test_signer(store, "police", "p2", &k[1]),
	                 MASH_OK);
	ck_assert_int_eq(mash_test_signer(store, "health", "h1", &k[2]),
	                 MASH_OK);
	ck_assert_int_eq(mash_trust_revoke(store, "police", "p2",
	                                   mash_clock_system(), NULL, 0),
	                 MASH_OK);
	for (n = 0; n < 100; n++) {
		mash_mem_fail_after(n);
		rc = mash_trust_load(store, &t, NULL, 0);
		mash_mem_fail_after(-1);
		if (rc == MASH_OK)
			break;
		ck_assert_int_eq(rc, MASH_ERR_NOMEM);
		ck_assert_ptr_null(t);
	}
	ck_assert_int_eq(rc, MASH_OK);
	ck_assert_int_eq(mash_trust_lookup(t, "police", "p2", NULL),
	                 MASH_ERR_REVOKED_KEY);
	mash_trust_free(t);
	for (int i = 0; i < 3; i++)
		mash_key_free(k[i]);
}
END_TEST

static Suite *
trust_suite(void)
{
	Suite *s = suite_create("trust");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, id_validation_table, 0,
	                    sizeof(ids) / sizeof(ids[0]));
	tcase_add_test(tc, id_null_is_invalid);
	tcase_add_test(tc, added_key_is_found_and_verifies);
	tcase_add_test(tc, unknown_signer_or_key_id_is_unknown_key);
	tcase_add_test(tc, revoked_key_is_revoked_after_reload);
	tcase_add_test(tc, revoking_twice_keeps_first_time);
	tcase_add_test(tc, revoke_unknown_key_is_unknown_key);
	tcase_add_test(tc, add_existing_key_id_is_exists_even_after_revocation);
	tcase_add_test(tc, add_rejects_bad_ids);
	tcase_add_test(tc, add_from_file_and_rejects_non_key_file);
	tcase_add_test(tc, list_is_sorted_by_signer_then_key);
	tcase_add_test(tc, missing_store_is_not_found_empty_store_is_empty);
	tcase_add_loop_test(tc, load_fails_on_planted_bad_entry, 0,
	                    sizeof(planted) / sizeof(planted[0]));
	tcase_add_test(tc,
	               load_refuses_symlinked_signer_dir_and_ignores_hidden);
	tcase_add_test(tc, garbled_revocation_record_still_revokes);
	tcase_add_test(tc, load_survives_every_allocation_failure);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(trust_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
