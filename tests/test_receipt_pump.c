/*
 * test_receipt_pump.c - daemon/receipt_pump.h: a batch's receipts handed
 * over are published on the pump's thread and start returns before the
 * broker acknowledged them; the next batch's slots wait for the job in
 * flight, so receipts go out once each, in batch order, and the counts
 * come back then; a receipt the broker does not take is counted failed
 * and the rest still go; a job larger than one pipeline goes in several;
 * the correlation data reaches the broker; poll never waits; free
 * publishes the job in flight; envelopes never started are freed (LSan
 * in make test).
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "daemon/receipt_pump.h"

/* A broker stand-in the test controls: it takes messages numbered 0, 1,
 * 2... (each carries its number), may be held (PUBACKs not yet given)
 * and refuses the message numbered refuse_at when refuse is set. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t caller;
	int held, calls_off_caller, refuse;
	size_t next, refuse_at, calls, largest_call;
	unsigned char last_corr[8];
	size_t last_corr_len;
} b;

static void
send_many(void *ctx, const struct mash_mq_out *msgs, size_t n, int *rcs)
{
	size_t i, k;

	ck_assert_ptr_eq(ctx, &b);
	pthread_mutex_lock(&b.mu);
	if (!pthread_equal(pthread_self(), b.caller))
		b.calls_off_caller++;
	b.calls++;
	if (n > b.largest_call)
		b.largest_call = n;
	pthread_cond_broadcast(&b.cv);
	while (b.held)
		pthread_cond_wait(&b.cv, &b.mu);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(msgs[i].len, sizeof(size_t));
		memcpy(&k, msgs[i].buf, sizeof(k));
		/* Exactly once and in order: receipt k after k - 1. */
		ck_assert_uint_eq(k, b.next);
		b.next++;
		ck_assert_str_eq(msgs[i].topic, "mash/v1/receipts/police");
		if (msgs[i].props != NULL &&
		    msgs[i].props->correlation_len > 0) {
			ck_assert_uint_le(msgs[i].props->correlation_len,
			                  sizeof(b.last_corr));
			memcpy(b.last_corr, msgs[i].props->correlation,
			       msgs[i].props->correlation_len);
			b.last_corr_len = msgs[i].props->correlation_len;
		}
		rcs[i] =
		    b.refuse && k == b.refuse_at ? MASH_ERR_REFUSED : MASH_OK;
	}
	pthread_mutex_unlock(&b.mu);
}

static void
set_held(int held)
{
	pthread_mutex_lock(&b.mu);
	b.held = held;
	pthread_cond_broadcast(&b.cv);
	pthread_mutex_unlock(&b.mu);
}

/* Wait until the stand-in has been called `calls` times in all. */
static void
wait_calls(size_t calls)
{
	pthread_mutex_lock(&b.mu);
	while (b.calls < calls)
		pthread_cond_wait(&b.cv, &b.mu);
	pthread_mutex_unlock(&b.mu);
}

static size_t
seen(void)
{
	size_t n;

	pthread_mutex_lock(&b.mu);
	n = b.next;
	pthread_mutex_unlock(&b.mu);
	return n;
}

/* Fill n slots with receipts numbered from, from the pump's slots. */
static struct mashd_rcpt *
fill(struct mashd_rpump *p, size_t from, size_t n, struct mashd_rpump_counts *c)
{
	struct mashd_rcpt *s = mashd_rpump_slots(p, c);
	size_t i, k;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++) {
		k = from + i;
		(void)snprintf(s[i].topic, sizeof(s[i].topic),
		               "mash/v1/receipts/police");
		(void)snprintf(s[i].agency, sizeof(s[i].agency), "police");
		(void)snprintf(s[i].event_id, sizeof(s[i].event_id), "EVT-%zu",
		               k);
		s[i].env = mash_malloc(sizeof(k));
		ck_assert_ptr_nonnull(s[i].env);
		memcpy(s[i].env, &k, sizeof(k));
		s[i].len = sizeof(k);
	}
	return s;
}

static void
setup(void)
{
	memset(&b, 0, sizeof(b));
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	b.caller = pthread_self();
}

static void
teardown(void)
{
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
}

START_TEST(start_returns_before_the_broker_acknowledges)
{
	struct mashd_rpump *p = NULL;
	struct mashd_rpump_counts c = {0, 0};

	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 32, &p), MASH_OK);
	set_held(1);
	(void)fill(p, 0, 5, &c);
	mashd_rpump_start(p, 5);
	/* Published on the pump's thread while no PUBACK has come. */
	wait_calls(1);
	ck_assert_int_eq(mashd_rpump_poll(p, &c), 1);
	ck_assert_uint_eq(c.sent + c.failed, 0);
	set_held(0);
	mashd_rpump_settle(p, &c);
	ck_assert_uint_eq(c.sent, 5);
	ck_assert_uint_eq(c.failed, 0);
	ck_assert_int_eq(b.calls_off_caller, 1);
	/* Counted once: a second settle adds nothing. */
	mashd_rpump_settle(p, &c);
	ck_assert_uint_eq(c.sent, 5);
	mashd_rpump_free(p);
}
END_TEST

START_TEST(the_next_slots_wait_for_the_job_in_flight_and_bring_its_counts)
{
	struct mashd_rpump *p = NULL;
	struct mashd_rpump_counts c = {0, 0};
	size_t batch, sent = 0;

	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 32, &p), MASH_OK);
	for (batch = 0; batch < 20; batch++) {
		size_t n = 1 + batch % 32;

		/* Whatever the last job came to arrives with these slots,
		 * and it has all gone out by then. */
		(void)fill(p, sent, n, &c);
		ck_assert_uint_eq(seen(), sent);
		ck_assert_uint_eq(c.sent, sent);
		mashd_rpump_start(p, n);
		sent += n;
	}
	mashd_rpump_settle(p, &c);
	ck_assert_uint_eq(c.sent, sent);
	ck_assert_uint_eq(seen(), sent);
	mashd_rpump_free(p);
}
END_TEST

START_TEST(a_refused_receipt_is_counted_failed_and_the_rest_still_go)
{
	struct mashd_rpump *p = NULL;
	struct mashd_rpump_counts c = {0, 0};

	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 32, &p), MASH_OK);
	b.refuse = 1;
	b.refuse_at = 3;
	(void)fill(p, 0, 10, &c);
	mashd_rpump_start(p, 10);
	mashd_rpump_settle(p, &c);
	ck_assert_uint_eq(c.sent, 9);
	ck_assert_uint_eq(c.failed, 1);
	ck_assert_uint_eq(seen(), 10);
	mashd_rpump_free(p);
}
END_TEST

START_TEST(a_job_larger_than_a_pipeline_goes_in_several)
{
	struct mashd_rpump *p = NULL;
	struct mashd_rpump_counts c = {0, 0};
	const size_t n = 2 * MASH_MQ_MAX_PIPELINE + 7;

	ck_assert_int_eq(mashd_rpump_new(send_many, &b, n, &p), MASH_OK);
	(void)fill(p, 0, n, &c);
	mashd_rpump_start(p, n);
	mashd_rpump_settle(p, &c);
	ck_assert_uint_eq(c.sent, n);
	ck_assert_uint_eq(b.calls, 3);
	ck_assert_uint_eq(b.largest_call, MASH_MQ_MAX_PIPELINE);
	mashd_rpump_free(p);
}
END_TEST

START_TEST(the_correlation_data_reaches_the_broker)
{
	struct mashd_rpump *p = NULL;
	struct mashd_rpump_counts c = {0, 0};
	struct mashd_rcpt *s;

	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 4, &p), MASH_OK);
	s = fill(p, 0, 1, &c);
	memcpy(s[0].corr, "corr-42", 7);
	s[0].corr_len = 7;
	mashd_rpump_start(p, 1);
	mashd_rpump_settle(p, &c);
	ck_assert_uint_eq(b.last_corr_len, 7);
	ck_assert_int_eq(memcmp(b.last_corr, "corr-42", 7), 0);
	mashd_rpump_free(p);
}
END_TEST

START_TEST(free_publishes_the_job_in_flight_first)
{
	struct mashd_rpump *p = NULL;
	struct mashd_rpump_counts c = {0, 0};

	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 8, &p), MASH_OK);
	(void)fill(p, 0, 8, &c);
	mashd_rpump_start(p, 8);
	mashd_rpump_free(p);
	ck_assert_uint_eq(seen(), 8);
}
END_TEST

START_TEST(envelopes_never_started_are_freed_not_published)
{
	struct mashd_rpump *p = NULL;
	struct mashd_rpump_counts c = {0, 0};

	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 8, &p), MASH_OK);
	/* Filled, only 2 of 6 started: the other 4 are freed by the next
	 * slots (LeakSanitizer says if not), and never published. */
	(void)fill(p, 0, 6, &c);
	mashd_rpump_start(p, 2);
	(void)fill(p, 2, 3, &c);
	ck_assert_uint_eq(c.sent, 2);
	mashd_rpump_start(p, 0); /* starts nothing */
	mashd_rpump_settle(p, &c);
	ck_assert_uint_eq(c.sent, 2);
	ck_assert_uint_eq(seen(), 2);
	mashd_rpump_free(p);
}
END_TEST

START_TEST(new_refuses_bad_arguments)
{
	struct mashd_rpump *p = (struct mashd_rpump *)&b;

	ck_assert_int_eq(mashd_rpump_new(NULL, &b, 8, &p), MASH_ERR_INVAL);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 0, &p), MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mashd_rpump_new(send_many, &b, MASHD_RPUMP_MAX + 1, &p),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_rpump_new(send_many, &b, 8, NULL),
	                 MASH_ERR_INVAL);
	ck_assert_ptr_null(mashd_rpump_slots(NULL, NULL));
	ck_assert_int_eq(mashd_rpump_poll(NULL, NULL), 0);
	mashd_rpump_start(NULL, 3);
	mashd_rpump_settle(NULL, NULL);
	mashd_rpump_free(NULL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("receipt_pump");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, start_returns_before_the_broker_acknowledges);
	tcase_add_test(
	    tc, the_next_slots_wait_for_the_job_in_flight_and_bring_its_counts);
	tcase_add_test(
	    tc, a_refused_receipt_is_counted_failed_and_the_rest_still_go);
	tcase_add_test(tc, a_job_larger_than_a_pipeline_goes_in_several);
	tcase_add_test(tc, the_correlation_data_reaches_the_broker);
	tcase_add_test(tc, free_publishes_the_job_in_flight_first);
	tcase_add_test(tc, envelopes_never_started_are_freed_not_published);
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
