/*
 * test_outbox_retry.c - daemon/outbox.h's retry budget and dead letters
 * (issue 31) against a real SQLite store and a broker stand-in that
 * refuses one inbox: the other inboxes' messages go in the same flush; the
 * refused inbox's later messages wait behind it (order per destination);
 * each refusal or timeout counts an attempt and backs off; past the
 * budget the message becomes a dead letter with its audit callback in the
 * same transaction, and the inbox flows again; a transport failure counts
 * nothing; the pump settles a job the same way.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "daemon/outbox.h"
#include "daemon/outbox_pump.h"
#include "store/store.h"

#define T_A "mash/v1/inbox/sw.sam"
#define T_B "mash/v1/inbox/analyst.amara"
#define T_C "mash/v1/inbox/auditor.ada"

/* The stand-in: answers every message to refuse_topic with refuse_rc
 * (REFUSED or TIMEOUT), or every message with down_rc when set; takes the
 * rest and records their tags in order. */
static struct {
	const char *refuse_topic;
	int refuse_rc, down_rc;
	unsigned char taken[64];
	size_t n_taken, offered;
} br;

static struct {
	char dir[64], db[96];
	struct mash_store *st;
	struct mash_clock clock;
	int64_t now;
	int dead_calls, dead_rc;
	int64_t dead_id, dead_outbox_id;
	char dead_error[32];
	uint64_t n_dead;
} fx;

static void
send_many(void *ctx, const char *const *topic,
          const unsigned char *const *bytes, const size_t *len, size_t n,
          int *rcs)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(len[i], 1);
		br.offered++;
		if (br.down_rc != 0)
			rcs[i] = br.down_rc;
		else if (br.refuse_topic != NULL &&
		         strcmp(topic[i], br.refuse_topic) == 0)
			rcs[i] = br.refuse_rc;
		else {
			br.taken[br.n_taken++] = bytes[i][0];
			rcs[i] = MASH_OK;
		}
	}
}

static int
dead_cb(void *ctx, const struct mash_store_outbox_row *r, const char *error,
        int64_t dead_id)
{
	(void)ctx;
	fx.dead_calls++;
	fx.dead_id = dead_id;
	fx.dead_outbox_id = r->id;
	snprintf(fx.dead_error, sizeof(fx.dead_error), "%s", error);
	return fx.dead_rc;
}

static void
budget(struct mashd_outbox_retry *r, int64_t attempts, int64_t age_ms)
{
	memset(r, 0, sizeof(*r));
	r->max_attempts = attempts;
	r->max_age_ms = age_ms;
	r->retry_ms = 100;
	r->clock = &fx.clock;
	r->dead = dead_cb;
	r->n_dead = &fx.n_dead;
}

static int64_t
add(const char *topic, unsigned char tag)
{
	int64_t id = 0;

	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_add(fx.st, topic, &tag, 1, &id),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	return id;
}

static struct mash_store_outbox_list *
dead_letters(void)
{
	struct mash_store_outbox_list *l = NULL;

	ck_assert_int_eq(mash_store_outbox_dead(fx.st, 0, 0, &l), MASH_OK);
	return l;
}

static size_t
n_rows(void)
{
	struct mash_store_outbox_list *l = NULL;
	size_t n;

	/* Every row, waiting ones too: read far in the future. */
	fx.now += 10000000;
	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	fx.now -= 10000000;
	n = l->n;
	mash_store_outbox_list_free(l);
	return n;
}

static void
setup(void)
{
	mash_log_set_level(MASH_LOG_ERROR);
	memset(&fx, 0, sizeof(fx));
	memset(&br, 0, sizeof(br));
	fx.now = 1790000000000;
	mash_clock_manual(&fx.clock, &fx.now);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_retry_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/mash.db", fx.dir);
	ck_assert_int_eq(mash_store_open(fx.db, &fx.st), MASH_OK);
	mash_store_set_clock(fx.st, &fx.clock);
}

static void
teardown(void)
{
	char cmd[128];

	mash_store_close(fx.st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

START_TEST(refused_inbox_does_not_hold_up_the_others)
{
	struct mashd_outbox_retry r;
	struct mash_store_outbox_list *l = NULL;
	size_t n = 0;

	budget(&r, 5, 600000);
	br.refuse_topic = T_A;
	br.refuse_rc = MASH_ERR_REFUSED;
	add(T_A, 1);
	add(T_B, 2);
	add(T_A, 3);
	add(T_C, 4);
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, &n), MASH_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(br.n_taken, 2);
	ck_assert_uint_eq(br.taken[0], 2);
	ck_assert_uint_eq(br.taken[1], 4);
	/* A's two went in the same pipeline (both refused): order is per
	 * destination across pipelines, not inside one. */
	ck_assert_uint_eq(br.offered, 4);
	ck_assert_uint_eq(n_rows(), 2);
	/* Backing off: nothing of A's goes before its next try. */
	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 0);
	mash_store_outbox_list_free(l);
	fx.now += 100;
	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_int_eq(l->v[0].attempts, 1);
	ck_assert_str_eq(l->v[0].last_error, "REFUSED");
	ck_assert_int_eq(l->v[1].attempts, 1);
	mash_store_outbox_list_free(l);
	ck_assert_int_eq(fx.dead_calls, 0);
}
END_TEST

START_TEST(backoff_doubles_per_attempt)
{
	struct mashd_outbox_retry r;
	struct mash_store_outbox_list *l = NULL;
	int64_t waits[] = {100, 200, 400}, start;
	size_t i;

	budget(&r, 10, 600000);
	br.refuse_topic = T_A;
	br.refuse_rc = MASH_ERR_REFUSED;
	add(T_A, 1);
	for (i = 0; i < 3; i++) {
		start = fx.now;
		ck_assert_int_eq(
		    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
		    MASH_OK);
		fx.now = start + waits[i] - 1;
		ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l),
		                 MASH_OK);
		ck_assert_uint_eq(l->n, 0);
		mash_store_outbox_list_free(l);
		fx.now = start + waits[i];
	}
	ck_assert_uint_eq(br.offered, 3);
}
END_TEST

START_TEST(past_the_budget_it_becomes_an_audited_dead_letter)
{
	struct mashd_outbox_retry r;
	struct mash_store_outbox_list *l;
	int64_t a1;
	size_t i;

	/* Three attempts AND a second since the first failure. */
	budget(&r, 3, 1000);
	br.refuse_topic = T_A;
	br.refuse_rc = MASH_ERR_REFUSED;
	a1 = add(T_A, 1);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(
		    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
		    MASH_OK);
		fx.now += 400;
	}
	/* Three attempts, 800 ms: not yet old enough. */
	ck_assert_int_eq(fx.dead_calls, 0);
	fx.now += 200;
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_OK);
	ck_assert_int_eq(fx.dead_calls, 1);
	ck_assert_int_eq(fx.dead_outbox_id, a1);
	ck_assert_str_eq(fx.dead_error, "REFUSED");
	ck_assert_uint_eq(fx.n_dead, 1);
	l = dead_letters();
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].id, fx.dead_id);
	ck_assert_int_eq(l->v[0].outbox_id, a1);
	ck_assert_int_eq(l->v[0].attempts, 4);
	ck_assert_uint_eq(l->v[0].bytes[0], 1);
	mash_store_outbox_list_free(l);
	/* The inbox flows again: its next message is offered at once. */
	add(T_A, 2);
	br.refuse_topic = NULL;
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_OK);
	ck_assert_uint_eq(br.n_taken, 1);
	ck_assert_uint_eq(br.taken[0], 2);
	ck_assert_uint_eq(n_rows(), 0);
}
END_TEST

START_TEST(failed_audit_keeps_the_row_where_it_was)
{
	struct mashd_outbox_retry r;
	struct mash_store_outbox_list *l;

	budget(&r, 1, 0);
	fx.dead_rc = MASH_ERR_STORE;
	br.refuse_topic = T_A;
	br.refuse_rc = MASH_ERR_REFUSED;
	add(T_A, 1);
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_ERR_STORE);
	ck_assert_int_eq(fx.dead_calls, 1);
	l = dead_letters();
	ck_assert_uint_eq(l->n, 0);
	mash_store_outbox_list_free(l);
	ck_assert_uint_eq(n_rows(), 1);
	ck_assert_uint_eq(fx.n_dead, 0);
}
END_TEST

START_TEST(timeout_counts_an_attempt_and_transport_failure_does_not)
{
	struct mashd_outbox_retry r;
	struct mash_store_outbox_list *l = NULL;

	budget(&r, 5, 600000);
	add(T_A, 1);
	add(T_B, 2);
	br.down_rc = MASH_ERR_MQTT;
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_ERR_MQTT);
	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_int_eq(l->v[0].attempts, 0);
	mash_store_outbox_list_free(l);
	br.down_rc = 0;
	br.refuse_topic = T_A;
	br.refuse_rc = MASH_ERR_TIMEOUT;
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_ERR_TIMEOUT);
	ck_assert_uint_eq(br.n_taken, 1);
	fx.now += 100;
	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].attempts, 1);
	ck_assert_str_eq(l->v[0].last_error, "TIMEOUT");
	mash_store_outbox_list_free(l);
}
END_TEST

static struct {
	char topic[8][64];
	int64_t seqs[8][MASHD_OUTBOX_ACK_MAX];
	size_t n[8], calls;
	int rc;
} ack;

static int
acked_cb(void *ctx, const char *topic, const int64_t *seqs, size_t n)
{
	(void)ctx;
	ck_assert_uint_lt(ack.calls, 8);
	ck_assert_uint_le(n, MASHD_OUTBOX_ACK_MAX);
	snprintf(ack.topic[ack.calls], sizeof(ack.topic[0]), "%s", topic);
	memcpy(ack.seqs[ack.calls], seqs, n * sizeof(*seqs));
	ack.n[ack.calls++] = n;
	return ack.rc;
}

static int64_t
add_seq(const char *topic, unsigned char tag, int64_t seq)
{
	int64_t id = 0;

	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_add_seq(fx.st, topic, &tag, 1, seq, &id),
	    MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	return id;
}

START_TEST(acknowledged_rows_are_recorded_per_inbox_with_their_queued_seqs)
{
	struct mashd_outbox_retry r;
	size_t i;

	memset(&ack, 0, sizeof(ack));
	budget(&r, 5, 600000);
	r.acked = acked_cb;
	br.refuse_topic = T_C;
	br.refuse_rc = MASH_ERR_REFUSED;
	add_seq(T_A, 1, 101);
	add_seq(T_B, 2, 102);
	add_seq(T_A, 3, 103);
	add_seq(T_C, 4, 104); /* refused: not recorded as delivered */
	add(T_B, 5);          /* no queuing record: none to name */
	for (i = 0; i < MASHD_OUTBOX_ACK_MAX + 1; i++)
		add_seq(T_B, 6, 200 + (int64_t)i);
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_OK);
	/* A: one record naming both; B: a full one and the rest. */
	ck_assert_uint_eq(ack.calls, 3);
	ck_assert_str_eq(ack.topic[0], T_A);
	ck_assert_uint_eq(ack.n[0], 2);
	ck_assert_int_eq(ack.seqs[0][0], 101);
	ck_assert_int_eq(ack.seqs[0][1], 103);
	ck_assert_str_eq(ack.topic[1], T_B);
	ck_assert_uint_eq(ack.n[1], MASHD_OUTBOX_ACK_MAX);
	ck_assert_int_eq(ack.seqs[1][0], 102);
	ck_assert_str_eq(ack.topic[2], T_B);
	ck_assert_uint_eq(ack.n[2], 2);
	ck_assert_int_eq(ack.seqs[2][1], 200 + MASHD_OUTBOX_ACK_MAX);
	ck_assert_uint_eq(n_rows(), 1); /* C's */
}
END_TEST

START_TEST(failed_delivery_record_keeps_the_rows_to_publish_again)
{
	struct mashd_outbox_retry r;

	memset(&ack, 0, sizeof(ack));
	budget(&r, 5, 600000);
	r.acked = acked_cb;
	ack.rc = MASH_ERR_STORE;
	add_seq(T_A, 1, 101);
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_ERR_STORE);
	/* Published, but not recorded: it stays, and goes again. */
	ck_assert_uint_eq(br.n_taken, 1);
	ck_assert_uint_eq(n_rows(), 1);
	ack.rc = MASH_OK;
	ck_assert_int_eq(
	    mashd_outbox_flush_retry(fx.st, send_many, NULL, &r, NULL),
	    MASH_OK);
	ck_assert_uint_eq(br.n_taken, 2);
	ck_assert_uint_eq(n_rows(), 0);
}
END_TEST

START_TEST(pump_settles_a_refused_job_with_the_budget)
{
	struct mashd_outbox_retry r;
	struct mashd_pump *p = NULL;
	size_t n = 0;

	budget(&r, 1, 0);
	br.refuse_topic = T_A;
	br.refuse_rc = MASH_ERR_REFUSED;
	add(T_A, 1);
	add(T_B, 2);
	add(T_A, 3);
	ck_assert_int_eq(mashd_pump_new(send_many, NULL, &p), MASH_OK);
	mashd_pump_set_retry(p, &r);
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	ck_assert_int_eq(mashd_pump_settle(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(br.offered, 3);
	ck_assert_int_eq(fx.dead_calls, 2);
	ck_assert_uint_eq(fx.n_dead, 2);
	ck_assert_uint_eq(n_rows(), 0);
	/* Nothing left: the next flush offers nothing. */
	ck_assert_int_eq(mashd_pump_flush(p, fx.st, &n), MASH_OK);
	ck_assert_int_eq(mashd_pump_settle(p, fx.st, &n), MASH_OK);
	ck_assert_uint_eq(br.offered, 3);
	mashd_pump_free(p);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("outbox_retry");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, refused_inbox_does_not_hold_up_the_others);
	tcase_add_test(tc, backoff_doubles_per_attempt);
	tcase_add_test(tc, past_the_budget_it_becomes_an_audited_dead_letter);
	tcase_add_test(tc, failed_audit_keeps_the_row_where_it_was);
	tcase_add_test(
	    tc, timeout_counts_an_attempt_and_transport_failure_does_not);
	tcase_add_test(tc, pump_settles_a_refused_job_with_the_budget);
	tcase_add_test(
	    tc,
	    acknowledged_rows_are_recorded_per_inbox_with_their_queued_seqs);
	tcase_add_test(tc,
	               failed_delivery_record_keeps_the_rows_to_publish_again);
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
