/* Unit tests for the store's retry budget and dead letters (issue 31):
 * a failed row holds back its own topic only, until its next try; a
 * killed row moves to the dead letters with its attempts and error and
 * frees its topic; retry puts it back at the end of the outbox; drop
 * deletes it. A fresh SQLite file per test, a manual clock. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "store/store.h"

#define T_SAM  "mash/v1/inbox/sw.sam"
#define T_ADA  "mash/v1/inbox/auditor.ada"
#define T_RCPT "mash/v1/receipts/police"

static char g_dir[256];
static char g_path[300];
static struct mash_store *g_st;
static int64_t g_now = 1790000000000;
static struct mash_clock g_clock;

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	mash_log_set_level(MASH_LOG_ERROR);
	(void)snprintf(g_dir, sizeof(g_dir), "%s/mash-dead-XXXXXX",
	               tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	(void)snprintf(g_path, sizeof(g_path), "%s/mash.db", g_dir);
	g_now = 1790000000000;
	mash_clock_manual(&g_clock, &g_now);
	g_st = NULL;
	ck_assert_int_eq(mash_store_open(g_path, &g_st), MASH_OK);
	mash_store_set_clock(g_st, &g_clock);
}

static void
teardown(void)
{
	char p[320];

	mash_store_close(g_st);
	g_st = NULL;
	(void)unlink(g_path);
	(void)snprintf(p, sizeof(p), "%s-wal", g_path);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s-shm", g_path);
	(void)unlink(p);
	(void)rmdir(g_dir);
}

static int64_t
add(const char *topic, unsigned char tag)
{
	int64_t id = 0;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_add(g_st, topic, &tag, 1, &id),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	return id;
}

/* The pending ids, oldest first, into ids[]; returns how many. */
static size_t
pending(int64_t *ids, size_t max)
{
	struct mash_store_outbox_list *l = NULL;
	size_t i, n;

	ck_assert_int_eq(mash_store_outbox_pending(g_st, 0, 0, &l), MASH_OK);
	n = l->n;
	ck_assert_uint_le(n, max);
	for (i = 0; i < n; i++)
		ids[i] = l->v[i].id;
	mash_store_outbox_list_free(l);
	return n;
}

START_TEST(failed_row_holds_back_its_topic_only_until_its_next_try)
{
	int64_t s1, s2, a1, r1, ids[8];

	s1 = add(T_SAM, 1);
	a1 = add(T_ADA, 2);
	s2 = add(T_SAM, 3);
	r1 = add(T_RCPT, 4);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, s1, "REFUSED", g_now + 1000),
	    MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	/* sw.sam's rows wait (in order), the others go. */
	ck_assert_uint_eq(pending(ids, 8), 2);
	ck_assert_int_eq(ids[0], a1);
	ck_assert_int_eq(ids[1], r1);
	g_now += 1000;
	ck_assert_uint_eq(pending(ids, 8), 4);
	ck_assert_int_eq(ids[0], s1);
	ck_assert_int_eq(ids[2], s2);
}
END_TEST

START_TEST(failed_counts_attempts_and_keeps_the_first_failure_time)
{
	struct mash_store_outbox_list *l = NULL;
	int64_t id = add(T_SAM, 1), first = g_now;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, id, "TIMEOUT", g_now + 1), MASH_OK);
	g_now += 5;
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, id, "REFUSED", g_now + 1), MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	g_now += 1;
	ck_assert_int_eq(mash_store_outbox_pending(g_st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].attempts, 2);
	ck_assert_int_eq(l->v[0].first_fail_at, first);
	ck_assert_str_eq(l->v[0].last_error, "REFUSED");
	mash_store_outbox_list_free(l);
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, id + 99, "REFUSED", g_now),
	    MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, id, "not a token; DROP", g_now),
	    MASH_ERR_BAD_ID);
}
END_TEST

START_TEST(killed_row_becomes_a_dead_letter_and_frees_its_topic)
{
	static const unsigned char env[] = {0xde, 0xad};
	struct mash_store_outbox_list *l = NULL;
	int64_t s1, s2, dead = 0, ids[8];

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_add(g_st, T_SAM, env, sizeof(env), &s1), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, s1, "REFUSED", g_now + 60000),
	    MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	s2 = add(T_SAM, 3);
	ck_assert_uint_eq(pending(ids, 8), 0);
	/* Outside a transaction the move could be half done: refused. */
	ck_assert_int_eq(mash_store_outbox_kill(g_st, s1, "REFUSED", &dead),
	                 MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_kill(g_st, s1, "REFUSED", &dead),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_gt(dead, 0);
	ck_assert_uint_eq(pending(ids, 8), 1);
	ck_assert_int_eq(ids[0], s2);
	ck_assert_int_eq(mash_store_outbox_dead(g_st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].id, dead);
	ck_assert_int_eq(l->v[0].outbox_id, s1);
	ck_assert_str_eq(l->v[0].topic, T_SAM);
	ck_assert_int_eq(l->v[0].attempts, 2);
	ck_assert_str_eq(l->v[0].last_error, "REFUSED");
	ck_assert_int_eq(l->v[0].dead_at, g_now);
	ck_assert_uint_eq(l->v[0].len, sizeof(env));
	ck_assert_mem_eq(l->v[0].bytes, env, sizeof(env));
	mash_store_outbox_list_free(l);
}
END_TEST

START_TEST(retry_puts_a_dead_letter_back_at_the_end_and_drop_deletes_it)
{
	struct mash_store_outbox_list *l = NULL;
	int64_t s1, s2, d1 = 0, d2 = 0, again = 0, ids[8];

	s1 = add(T_SAM, 1);
	s2 = add(T_ADA, 2);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_kill(g_st, s1, "REFUSED", &d1),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_outbox_kill(g_st, s2, "TIMEOUT", &d2),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_outbox_dead_retry(g_st, d1, &again),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_outbox_dead_retry(g_st, d1, NULL),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_store_outbox_dead_drop(g_st, d2), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_dead_drop(g_st, d2),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_gt(again, s2);
	ck_assert_uint_eq(pending(ids, 8), 1);
	ck_assert_int_eq(ids[0], again);
	ck_assert_int_eq(mash_store_outbox_pending(g_st, 0, 0, &l), MASH_OK);
	ck_assert_int_eq(l->v[0].attempts, 0); /* a fresh budget */
	ck_assert_str_eq(l->v[0].topic, T_SAM);
	mash_store_outbox_list_free(l);
	ck_assert_int_eq(mash_store_outbox_dead(g_st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 0);
	mash_store_outbox_list_free(l);
}
END_TEST

START_TEST(held_rows_are_never_failed_or_killed)
{
	static const unsigned char clear[] = {1, 2, 3};
	int64_t id = 0;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_hold(g_st, T_SAM,
	                                        "mash.v1.SharedRecord", clear,
	                                        sizeof(clear), &id),
	                 MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, id, "REFUSED", g_now + 1),
	    MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_store_outbox_kill(g_st, id, "REFUSED", NULL),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
}
END_TEST

/* A delivery is found by the audit record that queued it, or a held one
 * by its outbox id, through each state to GONE once acknowledged. */
START_TEST(where_follows_a_delivery_from_queued_to_dead_to_gone)
{
	static const unsigned char b[] = {7};
	int64_t s1 = 0, h = 0, d1 = 0, again = 0, n = -1;
	int where = -1;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_add_seq(g_st, T_SAM, b, sizeof(b), 41, &s1),
	    MASH_OK);
	ck_assert_int_eq(mash_store_outbox_hold(g_st, T_ADA,
	                                        "mash.v1.SharedRecord", b,
	                                        sizeof(b), &h),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 41, 0, &where, &n),
	                 MASH_OK);
	ck_assert_int_eq(where, MASH_STORE_OB_PENDING);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 0, h, &where, NULL),
	                 MASH_OK);
	ck_assert_int_eq(where, MASH_STORE_OB_HELD);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 40, 0, &where, &n),
	                 MASH_OK);
	ck_assert_int_eq(where, MASH_STORE_OB_GONE);

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_failed(g_st, s1, "REFUSED", g_now + 1000),
	    MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 41, 0, &where, &n),
	                 MASH_OK);
	ck_assert_int_eq(where, MASH_STORE_OB_PENDING);
	ck_assert_int_eq(n, 1);

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_kill(g_st, s1, "REFUSED", &d1),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 41, 0, &where, &n),
	                 MASH_OK);
	ck_assert_int_eq(where, MASH_STORE_OB_DEAD);
	ck_assert_int_eq(n, 2);

	/* Retried: pending again under its queued seq, with a new id. */
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_dead_retry(g_st, d1, &again),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 41, 0, &where, &n),
	                 MASH_OK);
	ck_assert_int_eq(where, MASH_STORE_OB_PENDING);
	ck_assert_int_eq(n, 0);

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_done(g_st, again), MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 41, 0, &where, &n),
	                 MASH_OK);
	ck_assert_int_eq(where, MASH_STORE_OB_GONE);
	ck_assert_int_eq(mash_store_outbox_where(g_st, 0, 0, &where, &n),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_outbox_where(g_st, -1, 5, &where, &n),
	                 MASH_ERR_INVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("outbox_dead");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	               failed_row_holds_back_its_topic_only_until_its_next_try);
	tcase_add_test(tc,
	               failed_counts_attempts_and_keeps_the_first_failure_time);
	tcase_add_test(tc,
	               killed_row_becomes_a_dead_letter_and_frees_its_topic);
	tcase_add_test(
	    tc, retry_puts_a_dead_letter_back_at_the_end_and_drop_deletes_it);
	tcase_add_test(tc, held_rows_are_never_failed_or_killed);
	tcase_add_test(tc,
	               where_follows_a_delivery_from_queued_to_dead_to_gone);
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
