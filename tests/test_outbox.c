/* Unit tests for agents/outbox: durability across reopen, the resend
 * backoff schedule on an injected clock, receipt matching, runs and
 * summaries, feed positions. */
#include <check.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/outbox.h"
#include "common/clock.h"
#include "common/err.h"

static char dir[64];
static char path[128];
static int64_t now;
static struct mash_clock clk;
static struct mash_outbox_cfg cfg;

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/mash-outbox-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/outbox.db", dir);
	now = 1790000000000LL;
	mash_clock_manual(&clk, &now);
	cfg.backoff_min_ms = 1000;
	cfg.backoff_max_ms = 8000;
	cfg.clock = &clk;
}

static void
teardown(void)
{
	char p[200];

	(void)snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	(void)snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	unlink(path);
	rmdir(dir);
}

static struct mash_outbox *
open_ob(int64_t *run)
{
	struct mash_outbox *ob = NULL;

	ck_assert_int_eq(mash_outbox_open(path, &cfg, &ob), MASH_OK);
	ck_assert_int_eq(mash_outbox_begin_run(ob, run), MASH_OK);
	return ob;
}

static void
put(struct mash_outbox *ob, const char *id, const char *bytes)
{
	ck_assert_int_eq(mash_outbox_put(ob, "police", id, "OCC-1", 2,
	                                 (const uint8_t *)bytes, strlen(bytes),
	                                 NULL, NULL),
	                 MASH_OK);
}

static size_t
due_count(struct mash_outbox *ob)
{
	struct mash_outbox_item *it = NULL;
	size_t n = 0;

	ck_assert_int_eq(mash_outbox_due(ob, 100, &it, &n), MASH_OK);
	mash_outbox_items_free(it, n);
	return n;
}

START_TEST(put_event_is_due_now_with_its_sealed_bytes)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	struct mash_outbox_item *it = NULL;
	size_t n = 0;

	put(ob, "e1", "sealed-1");
	ck_assert_int_eq(mash_outbox_due(ob, 10, &it, &n), MASH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(it[0].agency, "police");
	ck_assert_str_eq(it[0].event_id, "e1");
	ck_assert_uint_eq(it[0].len, 8);
	ck_assert_int_eq(memcmp(it[0].env, "sealed-1", 8), 0);
	ck_assert_uint_eq(it[0].attempts, 0);
	mash_outbox_items_free(it, n);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(pending_events_survive_close_and_reopen)
{
	int64_t run1, run2;
	struct mash_outbox *ob = open_ob(&run1);
	struct mash_outbox_summary s;

	put(ob, "e1", "one");
	put(ob, "e2", "two");
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e2"), MASH_OK);
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "e2",
	                                     MASH_OUTBOX_ACCEPTED, NULL, "c1",
	                                     7),
	                 MASH_OK);
	mash_outbox_close(ob); /* the agent stops (or crashes) here */

	ob = open_ob(&run2);
	ck_assert_int_gt(run2, run1);
	/* e1 is still pending and due at once, although its backoff had not
	 * expired: a restart re-sends what is pending. */
	ck_assert_uint_eq(due_count(ob), 1);
	ck_assert_int_eq(mash_outbox_summary(ob, run2, &s), MASH_OK);
	ck_assert_uint_eq(s.total, 1);
	ck_assert_uint_eq(s.pending, 1);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(backoff_doubles_from_min_up_to_the_cap)
{
	static const int64_t want[] = {0, 1000, 2000, 4000, 8000, 8000, 8000};
	uint32_t a;

	for (a = 0; a < sizeof(want) / sizeof(want[0]); a++)
		ck_assert_int_eq(mash_outbox_backoff(&cfg, a), want[a]);
	ck_assert_int_eq(mash_outbox_backoff(&cfg, UINT32_MAX), 8000);
	ck_assert_int_eq(mash_outbox_backoff(NULL, 1),
	                 MASH_OUTBOX_DEFAULT_BACKOFF_MIN_MS);
	ck_assert_int_eq(mash_outbox_backoff(NULL, 1000),
	                 MASH_OUTBOX_DEFAULT_BACKOFF_MAX_MS);
}
END_TEST

START_TEST(unreceipted_event_is_resent_on_the_backoff_schedule)
{
	int64_t run, t0 = now, next;
	struct mash_outbox *ob = open_ob(&run);
	uint32_t attempts;
	enum mash_outbox_state st;

	put(ob, "e1", "x");
	ck_assert_uint_eq(due_count(ob), 1);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_uint_eq(due_count(ob), 0);
	now = t0 + 999;
	ck_assert_uint_eq(due_count(ob), 0);
	now = t0 + 1000;
	ck_assert_uint_eq(due_count(ob), 1);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(mash_outbox_next_due_ms(ob, &next), MASH_OK);
	ck_assert_int_eq(next, t0 + 1000 + 2000);
	now = next;
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(mash_outbox_next_due_ms(ob, &next), MASH_OK);
	ck_assert_int_eq(next, now + 4000);
	ck_assert_int_eq(mash_outbox_state(ob, "police", "e1", &st, &attempts),
	                 MASH_OK);
	ck_assert_int_eq(st, MASH_OUTBOX_PENDING);
	ck_assert_uint_eq(attempts, 3);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(receipt_settles_a_pending_event_once)
{
	int64_t run, next;
	struct mash_outbox *ob = open_ob(&run);
	enum mash_outbox_state st;
	size_t n;

	put(ob, "e1", "x");
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "e1",
	                                     MASH_OUTBOX_ACCEPTED, "", "case-1",
	                                     3),
	                 MASH_OK);
	/* A second receipt (for a resend) changes nothing. */
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "e1",
	                                     MASH_OUTBOX_DUPLICATE, "", NULL,
	                                     4),
	                 MASH_ERR_STATE);
	ck_assert_int_eq(mash_outbox_state(ob, "police", "e1", &st, NULL),
	                 MASH_OK);
	ck_assert_int_eq(st, MASH_OUTBOX_ACCEPTED);
	now += 1000000;
	ck_assert_uint_eq(due_count(ob), 0);
	ck_assert_int_eq(mash_outbox_pending(ob, &n), MASH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mash_outbox_next_due_ms(ob, &next),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"),
	                 MASH_ERR_NOT_FOUND);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(receipt_for_an_event_never_sent_is_not_found)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);

	put(ob, "e1", "x");
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "other",
	                                     MASH_OUTBOX_ACCEPTED, NULL, NULL,
	                                     0),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_outbox_receipt(ob, "health", "e1",
	                                     MASH_OUTBOX_ACCEPTED, NULL, NULL,
	                                     0),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "e1",
	                                     MASH_OUTBOX_PENDING, NULL, NULL,
	                                     0),
	                 MASH_ERR_INVAL);
	ck_assert_uint_eq(due_count(ob), 1);
	mash_outbox_close(ob);
}
END_TEST

static void
collect(void *ctx, const char *event_id, const char *ref, unsigned long line,
        const char *reason)
{
	char *buf = ctx;
	size_t n = strlen(buf);

	(void)snprintf(buf + n, 512 - n, "%s|%s|%lu|%s;", event_id, ref, line,
	               reason);
}

START_TEST(daemon_rejection_keeps_reason_and_envelope)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	struct mash_outbox_summary s;
	char buf[512] = "";

	put(ob, "e1", "x");
	put(ob, "e2", "y");
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(
	    mash_outbox_receipt(ob, "police", "e1", MASH_OUTBOX_REJECTED,
	                        "UNKNOWN_KEY: signer key is unknown", NULL, 9),
	    MASH_OK);
	ck_assert_int_eq(mash_outbox_rejections(ob, run, collect, buf),
	                 MASH_OK);
	ck_assert_str_eq(buf, "e1|OCC-1|2|UNKNOWN_KEY: signer key is unknown;");
	ck_assert_int_eq(mash_outbox_summary(ob, run, &s), MASH_OK);
	ck_assert_uint_eq(s.total, 2);
	ck_assert_uint_eq(s.sent, 1);
	ck_assert_uint_eq(s.rejected, 1);
	ck_assert_uint_eq(s.pending, 1);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(envelope_is_wiped_once_accepted)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	put(ob, "e1", "x");
	put(ob, "e2", "y");
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "e1",
	                                     MASH_OUTBOX_ACCEPTED, NULL, NULL,
	                                     1),
	                 MASH_OK);
	mash_outbox_close(ob);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db,
	                       "SELECT event_id, envelope IS NULL"
	                       " FROM mash_outbox_events ORDER BY event_id",
	                       -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 1), 1);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 1), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

START_TEST(rerun_of_a_receipted_event_sends_it_again)
{
	int64_t run1, run2;
	struct mash_outbox *ob = open_ob(&run1);
	struct mash_outbox_summary s;
	enum mash_outbox_state st;

	put(ob, "e1", "x");
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "e1",
	                                     MASH_OUTBOX_ACCEPTED, NULL, NULL,
	                                     1),
	                 MASH_OK);
	mash_outbox_close(ob);
	ob = open_ob(&run2);
	ck_assert_uint_eq(due_count(ob), 0);
	put(ob, "e1", "x2");
	ck_assert_int_eq(mash_outbox_state(ob, "police", "e1", &st, NULL),
	                 MASH_OK);
	ck_assert_int_eq(st, MASH_OUTBOX_PENDING);
	ck_assert_uint_eq(due_count(ob), 1);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "e1",
	                                     MASH_OUTBOX_DUPLICATE, NULL, NULL,
	                                     2),
	                 MASH_OK);
	ck_assert_int_eq(mash_outbox_summary(ob, run2, &s), MASH_OK);
	ck_assert_uint_eq(s.total, 1);
	ck_assert_uint_eq(s.duplicate, 1);
	ck_assert_uint_eq(s.accepted, 0);
	ck_assert_int_eq(mash_outbox_summary(ob, run1, &s), MASH_OK);
	ck_assert_uint_eq(s.total, 0);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(feed_position_is_saved_with_the_event)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	struct mash_outbox_feedpos pos = {123, 4, 99}, got;

	ck_assert_int_eq(mash_outbox_feed_get(ob, "police:/f.csv", &got),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_outbox_put(ob, "police", "e1", "r", 4,
	                                 (const uint8_t *)"x", 1,
	                                 "police:/f.csv", &pos),
	                 MASH_OK);
	mash_outbox_close(ob);
	ob = open_ob(&run);
	ck_assert_int_eq(mash_outbox_feed_get(ob, "police:/f.csv", &got),
	                 MASH_OK);
	ck_assert_uint_eq(got.offset, 123);
	ck_assert_uint_eq(got.lines, 4);
	ck_assert_uint_eq(got.inode, 99);
	pos.offset = 200;
	pos.lines = 6;
	ck_assert_int_eq(mash_outbox_feed_set(ob, "police:/f.csv", &pos),
	                 MASH_OK);
	ck_assert_int_eq(mash_outbox_feed_get(ob, "police:/f.csv", &got),
	                 MASH_OK);
	ck_assert_uint_eq(got.offset, 200);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(put_refuses_empty_or_oversized_envelopes)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	static uint8_t big[MASH_MAX_ENVELOPE + 1];
	struct mash_outbox_feedpos pos = {0, 0, 0};

	ck_assert_int_eq(
	    mash_outbox_put(ob, "police", "e1", "r", 1, big, 0, NULL, NULL),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(mash_outbox_put(ob, "police", "e1", "r", 1, big,
	                                 sizeof(big), NULL, NULL),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mash_outbox_put(ob, "police", "", "r", 1, big, 1, NULL, NULL),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mash_outbox_put(ob, "police", "e1", "r", 1, big, 1, NULL, &pos),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(mash_outbox_put(ob, "police", "e1", "r", 1, big,
	                                 MASH_MAX_ENVELOPE, NULL, NULL),
	                 MASH_OK);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(deferred_resends_wait_without_counting_an_attempt)
{
	int64_t run, t0 = now, next;
	struct mash_outbox *ob = open_ob(&run);
	uint32_t attempts;
	enum mash_outbox_state st;

	put(ob, "sent", "x");
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "sent"), MASH_OK);
	now = t0 + 1000; /* its resend is due now */
	put(ob, "new", "y");
	ck_assert_int_eq(mash_outbox_defer_resends(ob, t0 + 5000), MASH_OK);
	/* Only the never-sent event is due; the resend waits. */
	{
		struct mash_outbox_item *it = NULL;
		size_t n = 0;

		ck_assert_int_eq(mash_outbox_due(ob, 10, &it, &n), MASH_OK);
		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(it[0].event_id, "new");
		mash_outbox_items_free(it, n);
	}
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "new"), MASH_OK);
	ck_assert_int_eq(mash_outbox_next_due_ms(ob, &next), MASH_OK);
	ck_assert_int_eq(next, t0 + 2000); /* "new": 1000 + backoff 1000 */
	now = t0 + 5000;
	ck_assert_uint_eq(due_count(ob), 2);
	ck_assert_int_eq(
	    mash_outbox_state(ob, "police", "sent", &st, &attempts), MASH_OK);
	ck_assert_uint_eq(attempts, 1);
	/* Deferring never brings a later send forward. */
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "sent"), MASH_OK);
	ck_assert_int_eq(mash_outbox_defer_resends(ob, t0 + 5001), MASH_OK);
	ck_assert_int_eq(
	    mash_outbox_state(ob, "police", "sent", &st, &attempts), MASH_OK);
	ck_assert_uint_eq(attempts, 2);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(batch_is_all_or_nothing)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	struct mash_outbox_feedpos pos = {10, 2, 7}, got;
	size_t n;

	ck_assert_int_eq(mash_outbox_batch_begin(ob), MASH_OK);
	ck_assert_int_eq(mash_outbox_batch_begin(ob), MASH_ERR_STATE);
	put(ob, "a", "1");
	ck_assert_int_eq(mash_outbox_put(ob, "police", "b", "r", 3,
	                                 (const uint8_t *)"2", 1, "police:/f",
	                                 &pos),
	                 MASH_OK);
	mash_outbox_batch_rollback(ob);
	ck_assert_int_eq(mash_outbox_pending(ob, &n), MASH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mash_outbox_feed_get(ob, "police:/f", &got),
	                 MASH_ERR_NOT_FOUND);

	ck_assert_int_eq(mash_outbox_batch_begin(ob), MASH_OK);
	put(ob, "a", "1");
	put(ob, "b", "2");
	ck_assert_int_eq(mash_outbox_batch_commit(ob), MASH_OK);
	ck_assert_int_eq(mash_outbox_batch_commit(ob), MASH_ERR_STATE);
	mash_outbox_close(ob);
	ob = open_ob(&run);
	ck_assert_int_eq(mash_outbox_pending(ob, &n), MASH_OK);
	ck_assert_uint_eq(n, 2);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(due_is_ordered_and_bounded)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	struct mash_outbox_item *it = NULL;
	size_t n = 0;

	put(ob, "a", "1");
	now += 1;
	put(ob, "b", "2");
	now += 1;
	put(ob, "c", "3");
	ck_assert_int_eq(mash_outbox_due(ob, 2, &it, &n), MASH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(it[0].event_id, "a");
	ck_assert_str_eq(it[1].event_id, "b");
	mash_outbox_items_free(it, n);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(open_fails_cleanly_on_an_unwritable_path)
{
	struct mash_outbox *ob = (struct mash_outbox *)1;

	ck_assert_int_eq(
	    mash_outbox_open("/nonexistent-dir/x/outbox.db", &cfg, &ob),
	    MASH_ERR_STORE);
	ck_assert_ptr_null(ob);
}
END_TEST

static Suite *
outbox_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, put_event_is_due_now_with_its_sealed_bytes);
	tcase_add_test(tc, pending_events_survive_close_and_reopen);
	tcase_add_test(tc, backoff_doubles_from_min_up_to_the_cap);
	tcase_add_test(tc, unreceipted_event_is_resent_on_the_backoff_schedule);
	tcase_add_test(tc, receipt_settles_a_pending_event_once);
	tcase_add_test(tc, receipt_for_an_event_never_sent_is_not_found);
	tcase_add_test(tc, daemon_rejection_keeps_reason_and_envelope);
	tcase_add_test(tc, envelope_is_wiped_once_accepted);
	tcase_add_test(tc, rerun_of_a_receipted_event_sends_it_again);
	tcase_add_test(tc, feed_position_is_saved_with_the_event);
	tcase_add_test(tc, put_refuses_empty_or_oversized_envelopes);
	tcase_add_test(tc, due_is_ordered_and_bounded);
	tcase_add_test(tc, batch_is_all_or_nothing);
	tcase_add_test(tc, deferred_resends_wait_without_counting_an_attempt);
	tcase_add_test(tc, open_fails_cleanly_on_an_unwritable_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(outbox_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
