/* Unit tests for agents/outbox: durability across reopen, the resend
 * backoff schedule on an injected clock, receipt matching, runs and
 * summaries, feed positions. */
#include <check.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

	ck_assert_int_eq(mash_outbox_next(ob, SIZE_MAX, 100, &it, &n), MASH_OK);
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
	ck_assert_int_eq(mash_outbox_next(ob, SIZE_MAX, 10, &it, &n), MASH_OK);
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
	ck_assert_int_eq(mash_outbox_wake_ms(ob, SIZE_MAX, &next), MASH_OK);
	ck_assert_int_eq(next, t0 + 1000 + 2000);
	now = next;
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "e1"), MASH_OK);
	ck_assert_int_eq(mash_outbox_wake_ms(ob, SIZE_MAX, &next), MASH_OK);
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
	ck_assert_int_eq(mash_outbox_wake_ms(ob, SIZE_MAX, &next),
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

		ck_assert_int_eq(mash_outbox_next(ob, SIZE_MAX, 10, &it, &n),
		                 MASH_OK);
		ck_assert_uint_eq(n, 1);
		ck_assert_str_eq(it[0].event_id, "new");
		mash_outbox_items_free(it, n);
	}
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "new"), MASH_OK);
	ck_assert_int_eq(mash_outbox_wake_ms(ob, SIZE_MAX, &next), MASH_OK);
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
	ck_assert_int_eq(mash_outbox_next(ob, SIZE_MAX, 2, &it, &n), MASH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(it[0].event_id, "a");
	ck_assert_str_eq(it[1].event_id, "b");
	mash_outbox_items_free(it, n);
	mash_outbox_close(ob);
}
END_TEST

static size_t
next_ids(struct mash_outbox *ob, size_t window, char *ids, size_t idsz)
{
	struct mash_outbox_item *it = NULL;
	size_t n = 0, i;

	ck_assert_int_eq(mash_outbox_next(ob, window, 64, &it, &n), MASH_OK);
	ids[0] = '\0';
	for (i = 0; i < n; i++) {
		strncat(ids, it[i].event_id, idsz - strlen(ids) - 1);
		strncat(ids, " ", idsz - strlen(ids) - 1);
	}
	mash_outbox_items_free(it, n);
	return n;
}

static void
sent_all(struct mash_outbox *ob, const char *const *ids)
{
	for (; *ids != NULL; ids++)
		ck_assert_int_eq(mash_outbox_sent(ob, "police", *ids), MASH_OK);
}

START_TEST(full_window_sends_only_overdue_resends)
{
	static const char *const ab[] = {"a", "b", NULL};
	int64_t run, t0 = now;
	struct mash_outbox *ob = open_ob(&run);
	char ids[64];

	put(ob, "a", "1");
	put(ob, "b", "2");
	put(ob, "c", "3");
	put(ob, "d", "4");
	/* A window of two: only the two oldest go out. */
	ck_assert_uint_eq(next_ids(ob, 2, ids, sizeof(ids)), 2);
	ck_assert_str_eq(ids, "a b ");
	sent_all(ob, ab);
	/* Window full, nothing overdue: nothing to send at all. */
	ck_assert_uint_eq(next_ids(ob, 2, ids, sizeof(ids)), 0);
	/* The receipts were lost (a daemon crash): once the re-sends are
	 * due they go, ahead of the never-sent c and d (issue 22). */
	now = t0 + 1000;
	ck_assert_uint_eq(next_ids(ob, 2, ids, sizeof(ids)), 2);
	ck_assert_str_eq(ids, "a b ");
	/* One more slot in the window lets exactly one new event join. */
	ck_assert_uint_eq(next_ids(ob, 3, ids, sizeof(ids)), 3);
	ck_assert_str_eq(ids, "a b c ");
	mash_outbox_close(ob);
}
END_TEST

START_TEST(full_window_wakes_for_the_first_resend_not_for_new_events)
{
	static const char *const ab[] = {"a", "b", NULL};
	int64_t run, t0 = now, wake;
	struct mash_outbox *ob = open_ob(&run);

	put(ob, "a", "1");
	put(ob, "b", "2");
	now = t0 + 10;
	sent_all(ob, ab);
	now = t0 + 20;
	put(ob, "c", "3"); /* due now, but the window (2) is full */
	ck_assert_int_eq(mash_outbox_wake_ms(ob, 2, &wake), MASH_OK);
	ck_assert_int_eq(wake, t0 + 10 + 1000);
	/* With room in the window the new event is due at once. */
	ck_assert_int_eq(mash_outbox_wake_ms(ob, 3, &wake), MASH_OK);
	ck_assert_int_eq(wake, t0 + 20);
	/* Receipts for everything in flight: only c can wake us. */
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "a",
	                                     MASH_OUTBOX_ACCEPTED, NULL, NULL,
	                                     1),
	                 MASH_OK);
	ck_assert_int_eq(mash_outbox_receipt(ob, "police", "b",
	                                     MASH_OUTBOX_ACCEPTED, NULL, NULL,
	                                     2),
	                 MASH_OK);
	ck_assert_int_eq(mash_outbox_wake_ms(ob, 2, &wake), MASH_OK);
	ck_assert_int_eq(wake, t0 + 20);
	mash_outbox_close(ob);
}
END_TEST

static uint32_t
fixed_random(void *ctx)
{
	return *(const uint32_t *)ctx;
}

START_TEST(resend_jitter_takes_at_most_a_quarter_off_the_backoff)
{
	static const uint32_t draws[] = {0, UINT32_MAX / 2, UINT32_MAX};
	static const int64_t want[] = {1000, 876, 750}; /* floor */
	int64_t run, t0 = now, wake;
	struct mash_outbox *ob;
	uint32_t r;
	size_t i;

	cfg.random = fixed_random;
	cfg.random_ctx = &r;
	ob = open_ob(&run);
	for (i = 0; i < 3; i++) {
		char id[8];

		(void)snprintf(id, sizeof(id), "j%zu", i);
		put(ob, id, "x");
		r = draws[i];
		ck_assert_int_eq(mash_outbox_sent(ob, "police", id), MASH_OK);
		ck_assert_int_eq(mash_outbox_wake_ms(ob, 1, &wake), MASH_OK);
		ck_assert_int_eq(wake, t0 + want[i]);
		ck_assert_int_eq(mash_outbox_receipt(ob, "police", id,
		                                     MASH_OUTBOX_ACCEPTED, NULL,
		                                     NULL, 1),
		                 MASH_OK);
	}
	cfg.random = NULL;
	cfg.random_ctx = NULL;
	mash_outbox_close(ob);
}
END_TEST

START_TEST(summary_counts_resends)
{
	int64_t run;
	struct mash_outbox *ob = open_ob(&run);
	struct mash_outbox_summary s;

	put(ob, "a", "1");
	put(ob, "b", "2");
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "a"), MASH_OK);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "a"), MASH_OK);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "a"), MASH_OK);
	ck_assert_int_eq(mash_outbox_sent(ob, "police", "b"), MASH_OK);
	ck_assert_int_eq(mash_outbox_summary(ob, run, &s), MASH_OK);
	ck_assert_uint_eq(s.sent, 2);
	ck_assert_uint_eq(s.resent, 2);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(outbox_file_is_readable_by_its_owner_only)
{
	struct mash_outbox *ob = NULL;
	struct stat sb;

	/* Pending envelopes carry names and NHS numbers (issue 28). */
	ck_assert_int_eq(mash_outbox_open(path, &cfg, &ob), MASH_OK);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	mash_outbox_close(ob);
}
END_TEST

START_TEST(open_fails_cleanly_on_an_unwritable_path)
{
	struct mash_outbox *ob = (struct mash_outbox *)1;

	ck_assert_int_eq(
	    mash_outbox_open("/nonexistent-dir/x/outbox.db", &cfg, &ob),
	    MASH_ERR_IO);
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
	tcase_add_test(tc, full_window_sends_only_overdue_resends);
	tcase_add_test(
	    tc, full_window_wakes_for_the_first_resend_not_for_new_events);
	tcase_add_test(tc,
	               resend_jitter_takes_at_most_a_quarter_off_the_backoff);
	tcase_add_test(tc, summary_counts_resends);
	tcase_add_test(tc, open_fails_cleanly_on_an_unwritable_path);
	tcase_add_test(tc, outbox_file_is_readable_by_its_owner_only);
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
