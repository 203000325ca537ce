/*
 * test_aud_many.c - mash_aud_append_many (issue 32: one savepoint and one
 * tree-state read and write for an event's DECISION records, not one
 * each): the records take consecutive seqs and make the same tree, byte
 * for byte, as appending them one at a time; one bad record stores none
 * of them; an empty list changes nothing; a caller's rollback takes them
 * all back and the next append carries on from the rolled-back tree.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/aud.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "common/clock.h"
#include "common/err.h"
#include "store/store.h"

#define N 5

static char tmpdir[128];
static struct mash_store *one, *many; /* the same records, two ways */
static int64_t now_ms;
static struct mash_clock clk;

static struct mash_store *
open_store(const char *name)
{
	struct mash_store *st = NULL;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_int_eq(mash_store_open(path, &st), MASH_OK);
	return st;
}

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_aud_many.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	one = open_store("one.db");
	many = open_store("many.db");
	now_ms = 1795000000000;
	mash_clock_manual(&clk, &now_ms);
}

static void
teardown(void)
{
	char cmd[256];

	mash_store_close(one);
	mash_store_close(many);
	one = many = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "teardown: could not remove %s\n", tmpdir);
}

static const char *const principals[N] = {
    "analyst.amara", "sw.manager", "police.dc", "health.hv", "auditor.ada"};

/* Record i of an event's decisions: each names its recipient. */
static void
decision(struct mash_aud_record *r, size_t i)
{
	memset(r, 0, sizeof(*r));
	r->type = MASH_AUD_DECISION;
	r->actor = "mashd";
	r->case_id = "C-000000000001";
	r->agency = "police";
	r->event_id = "00000000-0000-4000-8000-000000000001";
	r->recipient = principals[i];
	r->purpose = "mash-triage";
	r->rule_id = i % 2 == 0 ? "analyst-triage" : "default-deny";
	r->reason = "test";
	r->extra_json = "{\"level\":2}";
}

static struct mash_aud *
aud_of(struct mash_store *st)
{
	struct mash_aud *aud = NULL;

	ck_assert_int_eq(mash_aud_open(st, &clk, NULL, &aud), MASH_OK);
	return aud;
}

static uint64_t
tree_size(struct mash_aud *aud, unsigned char root[MASH_MERKLE_HASH_LEN])
{
	unsigned char r[MASH_MERKLE_HASH_LEN];
	uint64_t size = 0;

	ck_assert_int_eq(mash_aud_tree(aud, &size, root != NULL ? root : r),
	                 MASH_OK);
	return size;
}

START_TEST(many_take_consecutive_seqs_and_make_the_tree_one_at_a_time_makes)
{
	struct mash_aud *a = aud_of(one), *b = aud_of(many);
	struct mash_aud_record recs[N];
	struct mash_aud_verify_result res;
	unsigned char ra[MASH_MERKLE_HASH_LEN], rb[MASH_MERKLE_HASH_LEN];
	uint64_t seq = 0, seqs[N];
	size_t i;

	for (i = 0; i < N; i++)
		decision(&recs[i], i);
	/* One record first, so the batch starts mid-tree. */
	ck_assert_int_eq(mash_aud_append(a, &recs[0], &seq), MASH_OK);
	ck_assert_uint_eq(seq, 1);
	ck_assert_int_eq(mash_aud_append(b, &recs[0], &seq), MASH_OK);
	for (i = 1; i < N; i++) {
		ck_assert_int_eq(mash_aud_append(a, &recs[i], &seq), MASH_OK);
		ck_assert_uint_eq(seq, i + 1);
	}
	ck_assert_int_eq(mash_aud_append_many(b, recs + 1, N - 1, seqs),
	                 MASH_OK);
	for (i = 0; i < N - 1; i++)
		ck_assert_uint_eq(seqs[i], i + 2);
	ck_assert_uint_eq(tree_size(a, ra), N);
	ck_assert_uint_eq(tree_size(b, rb), N);
	ck_assert_mem_eq(ra, rb, sizeof(ra));
	ck_assert_int_eq(mash_aud_verify(many, NULL, &res), MASH_OK);
	ck_assert_uint_eq(res.records, N);
	mash_aud_free(a);
	mash_aud_free(b);
}
END_TEST

START_TEST(one_bad_record_in_the_middle_stores_none_of_them)
{
	struct mash_aud *b = aud_of(many);
	struct mash_aud_record recs[3];
	uint64_t seq = 0, seqs[3] = {7, 7, 7};
	size_t i;

	decision(&recs[0], 0);
	ck_assert_int_eq(mash_aud_append(b, &recs[0], NULL), MASH_OK);
	for (i = 0; i < 3; i++)
		decision(&recs[i], i + 1);
	recs[1].extra_json = "{not json";
	ck_assert_int_eq(mash_aud_append_many(b, recs, 3, seqs),
	                 MASH_ERR_INVAL);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(seqs[i], 0);
	ck_assert_uint_eq(tree_size(b, NULL), 1);
	/* The log goes on from where it was. */
	recs[1].extra_json = NULL;
	ck_assert_int_eq(mash_aud_append(b, &recs[1], &seq), MASH_OK);
	ck_assert_uint_eq(seq, 2);
	mash_aud_free(b);
}
END_TEST

START_TEST(an_empty_list_changes_nothing_and_a_missing_one_is_refused)
{
	struct mash_aud *b = aud_of(many);
	struct mash_aud_record rec;

	decision(&rec, 0);
	ck_assert_int_eq(mash_aud_append(b, &rec, NULL), MASH_OK);
	ck_assert_int_eq(mash_aud_append_many(b, NULL, 0, NULL), MASH_OK);
	ck_assert_uint_eq(tree_size(b, NULL), 1);
	ck_assert_int_eq(mash_aud_append_many(b, NULL, 2, NULL),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_aud_append_many(NULL, &rec, 1, NULL),
	                 MASH_ERR_INVAL);
	ck_assert_uint_eq(tree_size(b, NULL), 1);
	mash_aud_free(b);
}
END_TEST

START_TEST(a_callers_rollback_takes_them_all_back)
{
	struct mash_aud *b = aud_of(many);
	struct mash_aud_record recs[N];
	uint64_t seq = 0, seqs[N];
	size_t i;

	for (i = 0; i < N; i++)
		decision(&recs[i], i);
	ck_assert_int_eq(mash_store_begin(many), MASH_OK);
	ck_assert_int_eq(mash_aud_append_many(b, recs, N, seqs), MASH_OK);
	ck_assert_uint_eq(seqs[N - 1], N);
	ck_assert_int_eq(mash_store_rollback(many), MASH_OK);
	ck_assert_uint_eq(tree_size(b, NULL), 0);
	ck_assert_int_eq(mash_aud_append(b, &recs[0], &seq), MASH_OK);
	ck_assert_uint_eq(seq, 1);
	mash_aud_free(b);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("aud_many");
	TCase *tc = tcase_create("many");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(
	    tc,
	    many_take_consecutive_seqs_and_make_the_tree_one_at_a_time_makes);
	tcase_add_test(tc, one_bad_record_in_the_middle_stores_none_of_them);
	tcase_add_test(
	    tc, an_empty_list_changes_nothing_and_a_missing_one_is_refused);
	tcase_add_test(tc, a_callers_rollback_takes_them_all_back);
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
