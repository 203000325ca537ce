/*
 * test_outbox_pump.c - daemon/outbox_pump.h against a real SQLite store:
 * a flush returns before the broker acknowledged anything, and the rows
 * are published on the pump's thread, not the caller's; the next flush
 * marks them done and hands over only rows not yet published (each row
 * published once, in id order, across flushes); a failed publish leaves
 * it and the rows behind it pending and leads the next job; more rows
 * than one job covers go over several flushes; free waits for a job in
 * flight and leaves its rows pending; a flush while a job is in flight
 * can return at once instead of waiting for the PUBACKs, and the pump's
 * fd says when the job is done; the time spent waiting is counted.
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "daemon/outbox_pump.h"
#include "daemon/stages.h"
#include "store/store.h"

/* A broker stand-in the test controls: it takes messages numbered 0, 1,
 * 2... (each carries its number), may be held (PUBACKs not yet given)
 * and may refuse the message with a given number once. */
struct fake_broker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t caller;
	int held, calls_off_caller, refuse_once;
	size_t next, refuse_at, seen;
};

static struct {
	char dir[64], db[96];
	struct mash_store *st;
	struct fake_broker b;
} fx;

static void
send_many(void *ctx, const char *const *topic,
          const unsigned char *const *bytes, const size_t *len, size_t n,
          int *rcs)
{
	struct fake_broker *b = ctx;
	size_t i, k;

	(void)topic;
	pthread_mutex_lock(&b->mu);
	if (!pthread_equal(pthread_self(), b->caller))
		b->calls_off_caller++;
	b->seen += n;
	pthread_cond_broadcast(&b->cv);
	while (b->held)
		pthread_cond_wait(&b->cv, &b->mu);
	for (i = 0; i < n; i++) {
		memcpy(&k, bytes[i], sizeof(k));
		ck_assert_uint_eq(len[i], sizeof(size_t));
		if (b->refuse_once && k == b->refuse_at) {
			/* Refused; those behind it in this pipeline are
			 * not sent (the adapter stops at a failure). */
			b->refuse_once = 0;
			rcs[i] = MASH_ERR_MQTT;
			for (i++; i < n; i++)
				rcs[i] = MASH_ERR_STATE;
			break;
		}
		/* Exactly once and in order: message k after k - 1. */
		ck_assert_uint_eq(k, b->next);
		b->next++;
		rcs[i] = MASH_OK;
	}
	pthread_mutex_unlock(&b->mu);
}

static void
add_rows(size_t from, size_t n)
{
	size_t i, k;
	int64_t id;

	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	for (i = 0; i < n; i++) {
		k = from + i;
		ck_assert_int_eq(mash_store_outbox_add(
		                     fx.st, "mash/v1/inbox/x",
		                     (const unsigned char *)&k, sizeof(k), &id),
		                 MASH_OK);
	}
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
}

static size_t
pending(void)
{
	struct mash_store_outbox_list *l = NULL;
	size_t n;

	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	n = l->n;
	mash_store_outbox_list_free(l);
	return n;
}

static void
hold(int on)
{
	pthread_mutex_lock(&fx.b.mu);
	fx.b.held = on;
	pthread_cond_broadcast(&fx.b.cv);
	pthread_mutex_unlock(&fx.b.mu);
}

/* Wait until the broker has been offered n messages in all. */
static void
wait_seen(size_t n)
{
	pthread_mutex_lock(&fx.b.mu);
	while (fx.b.seen < n)
		pthread_cond_wait(&fx.b.cv, &fx.b.mu);
	pthread_mutex_unlock(&fx.b.mu);
}

static void
setup(void)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_pump_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/mash.db", fx.dir);
	ck_assert_int_eq(mash_store_open(fx.db, &fx.st), MASH_OK);
	pthread_mutex_init(&fx.b.mu, NULL);
	pthread_cond_init(&fx.b.cv, NULL);
	fx.b.caller = pthread_self();
}

static void
teardown(void)
{
	char cmd[128];

	mash_store_close(fx.st);
	pthread_cond_destroy(&fx.b.cv);
	pthread_mutex_destroy(&fx.b.mu);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

START_TEST(flush_returns_before_the_broker_acknowledges_and_settle_marks_done)
{
	struct mashd_pump *p = NULL;
	size_t n = 99;

	ck_assert_int_eq(mashd_pump_new(send_many, &fx.b, &p), MASH_OK);
	add_rows(0, 100);
	hold(1); /* no PUBACK until the test says so */
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(n, 0); /* nothing was in flight before */
	wait_seen(64);           /* the first pipeline is with the broker */
	ck_assert_uint_eq(pending(), 100); /* none done yet */
	hold(0);
	ck_assert_int_eq(mashd_pump_settle(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(n, 100);
	ck_assert_uint_eq(pending(), 0);
	ck_assert_uint_eq(fx.b.next, 100);
	ck_assert_int_gt(fx.b.calls_off_caller, 0);
	/* Settling again with nothing in flight is a no-op. */
	ck_assert_int_eq(mashd_pump_settle(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(n, 0);
	mashd_pump_free(p);
}
END_TEST

START_TEST(rows_added_while_a_job_is_in_flight_go_in_the_next_job_once)
{
	struct mashd_pump *p = NULL;
	size_t n = 0, total = 0;

	ck_assert_int_eq(mashd_pump_new(send_many, &fx.b, &p), MASH_OK);
	add_rows(0, 30);
	hold(1);
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	add_rows(30, 40); /* a later batch commits meanwhile */
	hold(0);
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(n, 30); /* the first job, marked done */
	total += n;
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(n, 40);
	total += n;
	ck_assert_uint_eq(total, 70);
	ck_assert_uint_eq(fx.b.next, 70); /* each once, in order */
	ck_assert_uint_eq(pending(), 0);
	mashd_pump_free(p);
}
END_TEST

static int
readable(int fd, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	ck_assert_int_ge(poll(&pfd, 1, ms), 0);
	return (pfd.revents & POLLIN) != 0;
}

static void *
release_later(void *arg)
{
	(void)arg;
	(void)usleep(100000);
	hold(0);
	return NULL;
}

START_TEST(a_flush_while_a_job_is_in_flight_returns_and_the_fd_says_when_done)
{
	struct mashd_pump *p = NULL;
	pthread_t t;
	struct mashd_stages stages;
	size_t n = 99;
	int busy = 0;

	memset(&stages, 0, sizeof(stages));
	ck_assert_int_eq(mashd_pump_new(send_many, &fx.b, &p), MASH_OK);
	mashd_pump_set_stages(p, &stages);
	ck_assert_int_ge(mashd_pump_fd(p), 0);
	ck_assert_int_eq(mashd_pump_fd(NULL), -1);
	add_rows(0, 30);
	hold(1);
	ck_assert_int_eq(mashd_pump_flush_idle(p, fx.st, &n, &busy), MASH_OK);
	ck_assert_int_eq(busy, 0); /* nothing was in flight: started */
	wait_seen(30);
	add_rows(30, 10); /* the next batch commits meanwhile */
	/* Held by the broker: this would hang if it waited. */
	ck_assert_int_eq(mashd_pump_flush_idle(p, fx.st, &n, &busy), MASH_OK);
	ck_assert_int_eq(busy, 1);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(pending(), 40);
	ck_assert(!readable(mashd_pump_fd(p), 0));
	hold(0);
	ck_assert(readable(mashd_pump_fd(p), 10000));
	ck_assert_int_eq(mashd_pump_flush_idle(p, fx.st, &n, &busy), MASH_OK);
	ck_assert_int_eq(busy, 0);
	ck_assert_uint_eq(n, 30); /* the first job marked done... */
	ck_assert(readable(mashd_pump_fd(p), 10000)); /* ...the second */
	ck_assert_int_eq(mashd_pump_flush_idle(p, fx.st, &n, &busy), MASH_OK);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(fx.b.next, 40); /* each once, in order */
	ck_assert_uint_eq(pending(), 0);
	ck_assert(!readable(mashd_pump_fd(p), 0)); /* nothing started */
	ck_assert_uint_eq(stages.n[MASHD_STAGE_PUBACKS], 0); /* no wait */
	/* A settle that does wait for the broker counts the wait. */
	add_rows(40, 5);
	hold(1);
	ck_assert_int_eq(mashd_pump_flush_idle(p, fx.st, &n, &busy), MASH_OK);
	wait_seen(45);
	ck_assert_int_eq(pthread_create(&t, NULL, release_later, NULL), 0);
	ck_assert_int_eq(mashd_pump_settle(p, fx.st, &n), MASH_OK);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(stages.n[MASHD_STAGE_PUBACKS], 1);
	ck_assert_uint_ge(stages.ns[MASHD_STAGE_PUBACKS], 50000000u);
	ck_assert_int_eq(mashd_pump_flush_idle(NULL, fx.st, &n, &busy),
	                 MASH_ERR_INVAL);
	mashd_pump_free(p);
}
END_TEST

START_TEST(a_refused_publish_stays_pending_and_leads_the_next_job)
{
	struct mashd_pump *p = NULL;
	size_t n = 0;

	ck_assert_int_eq(mashd_pump_new(send_many, &fx.b, &p), MASH_OK);
	add_rows(0, 100);
	fx.b.refuse_once = 1;
	fx.b.refuse_at = 70; /* in the second pipeline of 64 */
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	/* The job stopped at 70: those before it are done, 70 and the
	 * rest pending; the flush that learns it says so, and starts again
	 * at 70. */
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_ERR_MQTT);
	ck_assert_uint_eq(n, 70);
	ck_assert_int_eq(mashd_pump_settle(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(n, 30);
	ck_assert_uint_eq(fx.b.next, 100);
	ck_assert_uint_eq(pending(), 0);
	mashd_pump_free(p);
}
END_TEST

START_TEST(more_rows_than_one_job_covers_go_over_several_flushes)
{
	struct mashd_pump *p = NULL;
	const size_t total = MASHD_OUTBOX_MARK_MAX + 200;
	size_t n = 0, done = 0;
	int flushes = 0;

	ck_assert_int_eq(mashd_pump_new(send_many, &fx.b, &p), MASH_OK);
	add_rows(0, total);
	while (pending() > 0 && flushes < 5) {
		ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
		done += n;
		ck_assert_int_eq(mashd_pump_settle(p, fx.st, &n), MASH_OK);
		done += n;
		flushes++;
	}
	ck_assert_int_eq(flushes, 2);
	ck_assert_uint_eq(done, total);
	ck_assert_uint_eq(fx.b.next, total);
	mashd_pump_free(p);
}
END_TEST

START_TEST(free_waits_for_the_job_in_flight_and_leaves_its_rows_pending)
{
	struct mashd_pump *p = NULL;
	size_t n = 0;

	ck_assert_int_eq(mashd_pump_new(send_many, &fx.b, &p), MASH_OK);
	add_rows(0, 10);
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	mashd_pump_free(p);
	/* Published (the broker took all ten) but never marked: at-least-
	 * once, they go again at the next start. */
	ck_assert_uint_eq(fx.b.next, 10);
	ck_assert_uint_eq(pending(), 10);
	mashd_pump_free(NULL);
}
END_TEST

START_TEST(new_refuses_bad_arguments)
{
	struct mashd_pump *p = (struct mashd_pump *)&fx;
	size_t n = 5;

	ck_assert_int_eq(mashd_pump_new(NULL, NULL, &p), MASH_ERR_INVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(mashd_pump_new(send_many, NULL, NULL), MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_pump_flush(NULL, fx.st, &n), MASH_ERR_INVAL);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mashd_pump_settle(NULL, fx.st, NULL), MASH_ERR_INVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("outbox_pump");
	TCase *tc = tcase_create("pump");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc,
	    flush_returns_before_the_broker_acknowledges_and_settle_marks_done);
	tcase_add_test(
	    tc, rows_added_while_a_job_is_in_flight_go_in_the_next_job_once);
	tcase_add_test(
	    tc,
	    a_flush_while_a_job_is_in_flight_returns_and_the_fd_says_when_done);
	tcase_add_test(tc,
	               a_refused_publish_stays_pending_and_leads_the_next_job);
	tcase_add_test(tc,
	               more_rows_than_one_job_covers_go_over_several_flushes);
	tcase_add_test(
	    tc, free_waits_for_the_job_in_flight_and_leaves_its_rows_pending);
	tcase_add_test(tc, new_refuses_bad_arguments);
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
