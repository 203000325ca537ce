#define _GNU_SOURCE /* memmem */
/*
 * test_outbox_atrest.c - an agent's outbox encrypted at rest (issue 28):
 * with a key, a pending envelope (names, NHS number, story) is nowhere in
 * the file or its WAL and is sent as it was put; an outbox written in
 * clear is sealed on its first keyed open; without the key, or with
 * another outbox's, it does not open at all.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/outbox.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "crypto/atrest.h"

#define ENV "signed envelope: Jordan Reed, 9434765919, missing overnight"

static char dir[64], path[128];
static int64_t now;
static struct mash_clock clk;
static uint8_t kek[MASH_ATREST_KEK_LEN], other[MASH_ATREST_KEK_LEN];

static void
setup(void)
{
	mash_log_set_level(MASH_LOG_ERROR);
	(void)snprintf(dir, sizeof(dir), "/tmp/mash-obatrest-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/outbox.db", dir);
	now = 1790000000000LL;
	mash_clock_manual(&clk, &now);
	memset(kek, 0x33, sizeof(kek));
	memset(other, 0x44, sizeof(other));
}

static void
teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static int
open_ob(const uint8_t *key, struct mash_outbox **ob)
{
	struct mash_outbox_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.backoff_min_ms = 1000;
	cfg.backoff_max_ms = 8000;
	cfg.clock = &clk;
	cfg.kek = key;
	*ob = NULL;
	return mash_outbox_open(path, &cfg, ob);
}

static void
put(struct mash_outbox *ob, const char *id)
{
	int64_t run;

	ck_assert_int_eq(mash_outbox_begin_run(ob, &run), MASH_OK);
	ck_assert_int_eq(mash_outbox_put(ob, "police", id, "OCC-1", 2,
	                                 (const uint8_t *)ENV, strlen(ENV),
	                                 NULL, NULL),
	                 MASH_OK);
}

/* The pending envelopes come back as they were put. */
static void
assert_due(struct mash_outbox *ob, size_t want)
{
	struct mash_outbox_item *it = NULL;
	size_t n = 0, i;

	ck_assert_int_eq(mash_outbox_next(ob, SIZE_MAX, 100, &it, &n), MASH_OK);
	ck_assert_uint_eq(n, want);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(it[i].len, strlen(ENV));
		ck_assert_mem_eq(it[i].env, ENV, it[i].len);
	}
	mash_outbox_items_free(it, n);
}

static int
file_has(const char *p, const char *needle)
{
	FILE *f = fopen(p, "rb");
	static char buf[4 << 20];
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return memmem(buf, n, needle, strlen(needle)) != NULL;
}

static int
files_have(const char *needle)
{
	char wal[160];

	(void)snprintf(wal, sizeof(wal), "%s-wal", path);
	return file_has(path, needle) || file_has(wal, needle);
}

START_TEST(keyed_outbox_keeps_no_envelope_in_clear_and_sends_it)
{
	struct mash_outbox *ob = NULL;

	ck_assert_int_eq(open_ob(kek, &ob), MASH_OK);
	put(ob, "E-1");
	put(ob, "E-2");
	assert_due(ob, 2);
	ck_assert_int_eq(files_have("Jordan"), 0);
	ck_assert_int_eq(files_have("9434765919"), 0);
	ck_assert_int_eq(files_have("missing overnight"), 0);
	mash_outbox_close(ob);
	ck_assert_int_eq(open_ob(kek, &ob), MASH_OK);
	assert_due(ob, 2);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(first_keyed_open_seals_what_was_kept_in_clear)
{
	struct mash_outbox *ob = NULL;

	ck_assert_int_eq(open_ob(NULL, &ob), MASH_OK);
	put(ob, "E-1");
	mash_outbox_close(ob);
	ck_assert_int_eq(files_have("missing overnight"), 1); /* before */
	ck_assert_int_eq(open_ob(kek, &ob), MASH_OK);
	ck_assert_int_eq(files_have("missing overnight"), 0);
	assert_due(ob, 1);
	put(ob, "E-2");
	assert_due(ob, 2);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(keyed_outbox_does_not_open_without_its_key)
{
	struct mash_outbox *ob = NULL;

	ck_assert_int_eq(open_ob(kek, &ob), MASH_OK);
	put(ob, "E-1");
	mash_outbox_close(ob);
	ck_assert_int_eq(open_ob(NULL, &ob), MASH_ERR_DENIED);
	ck_assert_ptr_null(ob);
	ck_assert_int_eq(open_ob(other, &ob), MASH_ERR_DECRYPT);
	ck_assert_ptr_null(ob);
	ck_assert_int_eq(open_ob(kek, &ob), MASH_OK);
	assert_due(ob, 1);
	mash_outbox_close(ob);
}
END_TEST

/* Rotation: afterwards only the new key opens the outbox, and what waits
 * there is sent as it was put. */
START_TEST(rekey_moves_the_outbox_to_the_new_key)
{
	struct mash_outbox *ob = NULL;

	ck_assert_int_eq(open_ob(NULL, &ob), MASH_OK);
	ck_assert_int_eq(mash_outbox_rekey(ob, other), MASH_ERR_STATE);
	mash_outbox_close(ob);
	ck_assert_int_eq(open_ob(kek, &ob), MASH_OK);
	put(ob, "E-1");
	ck_assert_int_eq(mash_outbox_rekey(ob, other), MASH_OK);
	assert_due(ob, 1);
	mash_outbox_close(ob);
	ck_assert_int_eq(open_ob(kek, &ob), MASH_ERR_DECRYPT);
	ck_assert_int_eq(open_ob(other, &ob), MASH_OK);
	assert_due(ob, 1);
	mash_outbox_close(ob);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("outbox_atrest");
	TCase *tc = tcase_create("atrest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	               keyed_outbox_keeps_no_envelope_in_clear_and_sends_it);
	tcase_add_test(tc, first_keyed_open_seals_what_was_kept_in_clear);
	tcase_add_test(tc, keyed_outbox_does_not_open_without_its_key);
	tcase_add_test(tc, rekey_moves_the_outbox_to_the_new_key);
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
