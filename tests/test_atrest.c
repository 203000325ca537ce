#define _GNU_SOURCE /* memmem */
/*
 * test_atrest.c - encryption at rest (crypto/atrest.h, issue 28): the KEK
 * file is refused unless only its owner can reach it, is never replaced,
 * and says which file and why; the store keys unwrap only under their
 * KEK; a sealed value opens only with its key at its own place; the
 * linkage MAC matches equal values and nothing else.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/atrest.h"

#define STORY "Jordan Reed, NHS 943 476 5919: missing overnight"
#define WHERE "events.payload\npolice\nE-1"

static char dir[64];
static char kek_path[128];

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/test_atrest_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(kek_path, sizeof(kek_path), "%s/store.key", dir);
}

static void
teardown(void)
{
	char cmd[160];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(created_kek_is_owner_only_loads_and_is_never_replaced)
{
	uint8_t a[MASH_ATREST_KEK_LEN], b[MASH_ATREST_KEK_LEN];
	char why[256];
	struct stat sb;
	mode_t old = umask(0); /* open()'s mode alone would give 0600 here */

	ck_assert_int_eq(mash_atrest_kek_create(kek_path, why, sizeof(why)),
	                 MASH_OK);
	(void)umask(old);
	ck_assert_int_eq(stat(kek_path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, a, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_int_eq(mash_atrest_kek_create(kek_path, why, sizeof(why)),
	                 MASH_ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(why, kek_path));
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, b, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_mem_eq(a, b, sizeof(a));
}
END_TEST

START_TEST(kek_file_refusals_name_the_file_and_the_fault)
{
	uint8_t k[MASH_ATREST_KEK_LEN];
	char why[256], link[160];
	const char *hex64 = "00112233445566778899aabbccddeeff"
	                    "00112233445566778899aabbccddeeff\n";

	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(why, kek_path));
	write_file(kek_path, hex64, 0644);
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_ERR_DENIED);
	ck_assert_ptr_nonnull(strstr(why, kek_path));
	ck_assert_ptr_nonnull(strstr(why, "0644"));
	ck_assert_int_eq(chmod(kek_path, 0620), 0); /* group may write */
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_ERR_DENIED);
	ck_assert_int_eq(chmod(kek_path, 0600), 0);
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_uint_eq(k[0], 0x00);
	ck_assert_uint_eq(k[31], 0xff);
	/* Not 64 hex digits: short, long, not hex, empty. */
	write_file(kek_path, "00112233\n", 0600);
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_nonnull(strstr(why, "64 hex digits"));
	write_file(kek_path,
	           "00112233445566778899aabbccddeeff"
	           "00112233445566778899aabbccddeeff00\n",
	           0600);
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_ERR_KEY_FORMAT);
	write_file(kek_path,
	           "zz112233445566778899aabbccddeeff"
	           "00112233445566778899aabbccddeeff\n",
	           0600);
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_ERR_KEY_FORMAT);
	write_file(kek_path, "", 0600);
	ck_assert_int_eq(mash_atrest_kek_load(kek_path, k, why, sizeof(why)),
	                 MASH_ERR_KEY_FORMAT);
	/* A symbolic link in the key's place is not followed; a directory
	 * is not a key. */
	write_file(kek_path, hex64, 0600);
	(void)snprintf(link, sizeof(link), "%s/link.key", dir);
	ck_assert_int_eq(symlink(kek_path, link), 0);
	ck_assert_int_eq(mash_atrest_kek_load(link, k, why, sizeof(why)),
	                 MASH_ERR_IO);
	ck_assert_int_eq(mash_atrest_kek_load(dir, k, why, sizeof(why)),
	                 MASH_ERR_IO);
	ck_assert_int_eq(mash_atrest_kek_load(NULL, k, why, sizeof(why)),
	                 MASH_ERR_INVAL);
}
END_TEST

START_TEST(store_keys_unwrap_only_under_their_kek)
{
	uint8_t kek[MASH_ATREST_KEK_LEN], other[MASH_ATREST_KEK_LEN];
	uint8_t wrapped[MASH_ATREST_WRAPPED], *sealed = NULL, *opened = NULL;
	struct mash_atrest *k = NULL, *k2 = NULL;
	size_t slen, olen;

	memset(kek, 0x11, sizeof(kek));
	memset(other, 0x22, sizeof(other));
	ck_assert_int_eq(mash_atrest_new(&k), MASH_OK);
	ck_assert_int_eq(mash_atrest_wrap(k, kek, wrapped), MASH_OK);
	ck_assert_int_eq(
	    mash_atrest_unwrap(other, wrapped, sizeof(wrapped), &k2),
	    MASH_ERR_DECRYPT);
	ck_assert_ptr_null(k2);
	wrapped[40] ^= 1;
	ck_assert_int_eq(mash_atrest_unwrap(kek, wrapped, sizeof(wrapped), &k2),
	                 MASH_ERR_DECRYPT);
	wrapped[40] ^= 1;
	ck_assert_int_eq(
	    mash_atrest_unwrap(kek, wrapped, sizeof(wrapped) - 1, &k2),
	    MASH_ERR_DECODE);
	ck_assert_int_eq(mash_atrest_unwrap(kek, wrapped, sizeof(wrapped), &k2),
	                 MASH_OK);
	/* The unwrapped keys are the same keys: k's seal opens under k2. */
	ck_assert_int_eq(mash_atrest_seal(k, WHERE, (const uint8_t *)STORY,
	                                  strlen(STORY), &sealed, &slen),
	                 MASH_OK);
	ck_assert_int_eq(
	    mash_atrest_open(k2, WHERE, sealed, slen, &opened, &olen), MASH_OK);
	ck_assert_uint_eq(olen, strlen(STORY));
	ck_assert_mem_eq(opened, STORY, olen);
	mash_free_secret(opened, olen);
	mash_free(sealed);
	mash_atrest_free(k);
	mash_atrest_free(k2);
}
END_TEST

START_TEST(sealed_value_opens_only_with_its_key_at_its_place)
{
	struct mash_atrest *k = NULL, *other = NULL;
	uint8_t *a = NULL, *b = NULL, *o = NULL;
	size_t alen, blen, olen;

	ck_assert_int_eq(mash_atrest_new(&k), MASH_OK);
	ck_assert_int_eq(mash_atrest_new(&other), MASH_OK);
	ck_assert_int_eq(mash_atrest_seal(k, WHERE, (const uint8_t *)STORY,
	                                  strlen(STORY), &a, &alen),
	                 MASH_OK);
	ck_assert_uint_eq(alen, strlen(STORY) + MASH_ATREST_OVERHEAD);
	ck_assert_ptr_null(memmem(a, alen, "Jordan", 6));
	ck_assert_ptr_null(memmem(a, alen, "5919", 4));
	/* A fresh nonce each time: equal values do not look equal. */
	ck_assert_int_eq(mash_atrest_seal(k, WHERE, (const uint8_t *)STORY,
	                                  strlen(STORY), &b, &blen),
	                 MASH_OK);
	ck_assert_uint_eq(alen, blen);
	ck_assert_int_ne(memcmp(a, b, alen), 0);
	/* Another row, another column, another key: no. */
	ck_assert_int_eq(mash_atrest_open(k, "events.payload\npolice\nE-2", a,
	                                  alen, &o, &olen),
	                 MASH_ERR_DECRYPT);
	ck_assert_ptr_null(o);
	ck_assert_int_eq(mash_atrest_open(k, "events.envelope\npolice\nE-1", a,
	                                  alen, &o, &olen),
	                 MASH_ERR_DECRYPT);
	ck_assert_int_eq(mash_atrest_open(other, WHERE, a, alen, &o, &olen),
	                 MASH_ERR_DECRYPT);
	/* Altered, cut short, another version. */
	a[alen / 2] ^= 0x40;
	ck_assert_int_eq(mash_atrest_open(k, WHERE, a, alen, &o, &olen),
	                 MASH_ERR_DECRYPT);
	a[alen / 2] ^= 0x40;
	ck_assert_int_eq(
	    mash_atrest_open(k, WHERE, a, MASH_ATREST_OVERHEAD - 1, &o, &olen),
	    MASH_ERR_DECODE);
	a[0] = 2;
	ck_assert_int_eq(mash_atrest_open(k, WHERE, a, alen, &o, &olen),
	                 MASH_ERR_DECODE);
	a[0] = 1;
	ck_assert_int_eq(mash_atrest_open(k, WHERE, a, alen, &o, &olen),
	                 MASH_OK);
	ck_assert_mem_eq(o, STORY, olen);
	mash_free_secret(o, olen);
	/* An empty value round-trips; no place, no seal. */
	mash_free(b);
	ck_assert_int_eq(mash_atrest_seal(k, WHERE, NULL, 0, &b, &blen),
	                 MASH_OK);
	ck_assert_int_eq(mash_atrest_open(k, WHERE, b, blen, &o, &olen),
	                 MASH_OK);
	ck_assert_uint_eq(olen, 0);
	mash_free_secret(o, 1);
	ck_assert_int_eq(
	    mash_atrest_seal(k, "", (const uint8_t *)"x", 1, &o, &olen),
	    MASH_ERR_INVAL);
	mash_free(a);
	mash_free(b);
	mash_atrest_free(k);
	mash_atrest_free(other);
}
END_TEST

START_TEST(linkage_mac_matches_equal_values_and_nothing_else)
{
	struct mash_atrest *k = NULL, *other = NULL;
	char m1[MASH_ATREST_MAC_HEX], m2[MASH_ATREST_MAC_HEX];

	ck_assert_int_eq(mash_atrest_new(&k), MASH_OK);
	ck_assert_int_eq(mash_atrest_new(&other), MASH_OK);
	ck_assert_int_eq(mash_atrest_mac(k, "nhs", "9434765919", m1), MASH_OK);
	ck_assert_uint_eq(strlen(m1), 64);
	ck_assert_ptr_null(strstr(m1, "9434765919"));
	ck_assert_int_eq(mash_atrest_mac(k, "nhs", "9434765919", m2), MASH_OK);
	ck_assert_str_eq(m1, m2);
	ck_assert_int_eq(mash_atrest_mac(k, "nhs", "9434765918", m2), MASH_OK);
	ck_assert_str_ne(m1, m2);
	/* The same digits as another kind of value do not match. */
	ck_assert_int_eq(mash_atrest_mac(k, "dob", "9434765919", m2), MASH_OK);
	ck_assert_str_ne(m1, m2);
	/* Another store's keys give another index. */
	ck_assert_int_eq(mash_atrest_mac(other, "nhs", "9434765919", m2),
	                 MASH_OK);
	ck_assert_str_ne(m1, m2);
	ck_assert_int_eq(mash_atrest_mac(NULL, "nhs", "1", m2), MASH_ERR_INVAL);
	mash_atrest_free(k);
	mash_atrest_free(other);
}
END_TEST

static Suite *
atrest_suite(void)
{
	Suite *s = suite_create("atrest");
	TCase *tc = tcase_create("atrest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	               created_kek_is_owner_only_loads_and_is_never_replaced);
	tcase_add_test(tc, kek_file_refusals_name_the_file_and_the_fault);
	tcase_add_test(tc, store_keys_unwrap_only_under_their_kek);
	tcase_add_test(tc, sealed_value_opens_only_with_its_key_at_its_place);
	tcase_add_test(tc, linkage_mac_matches_equal_values_and_nothing_else);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(atrest_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
