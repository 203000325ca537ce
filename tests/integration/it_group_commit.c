/*
 * it_group_commit.c - group commit (ingest.batch_max = 32) against a real
 * mosquitto, a real SQLite file and the real mashd binary. 200 events
 * (every 20th one invalid: a bad NHS number) plus one re-send are queued
 * by the broker while mashd is down, so they reach it as one burst and are
 * handled in batches of up to 32 events per transaction. Every good event
 * is ACCEPTED exactly once and stored once, the re-send is DUPLICATE (in
 * the same batch as its original), and every bad one is REJECTED with its
 * quarantine row and EVENT_REJECTED audit record: a rejected message in
 * the middle of a batch loses none of its neighbours. The log shows that
 * batches of more than one message were committed. mashd's receive queue
 * is set far below the backlog (16), so the restart also proves that a
 * backlog larger than the queue does not keep the daemon from connecting.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"

#define N_EVENTS  200
#define BAD_EVERY 20
#define RESENT    7 /* index of the event sent twice */

static void
event_id(int i, char *buf, size_t len)
{
	snprintf(buf, len, "eeeeeeee-%04d-4000-8000-%012d", i, i);
}

static int
is_bad(int i)
{
	return i % BAD_EVERY == BAD_EVERY / 2;
}

static void
send_event(struct mash_mashd_fx *fx, int i)
{
	static const char *const agencies[] = {"police", "health", "education"};
	Mash__V1__AgencyEvent *ev;
	char id[64];

	event_id(i, id, sizeof(id));
	ev = mash_mashd_fx_event(agencies[i % 3], id);
	ck_assert_ptr_nonnull(ev);
	if (is_bad(i)) {
		free(ev->subject->nhs_number);
		ev->subject->nhs_number =
		    strdup("9434765918"); /* check digit */
		ck_assert_ptr_nonnull(ev->subject->nhs_number);
	}
	ck_assert_int_eq(mash_mashd_fx_send(fx, ev), 0);
	mash_mashd_fx_event_free(ev);
}

START_TEST(burst_is_answered_exactly_once_per_event_in_batches)
{
	static const char *const spawn_args[] = {
	    "--set", "mqtt.queue_max_messages=16", NULL};
	struct mash_mashd_fx *fx;
	int accepted[N_EVENTS], rejected[N_EVENTS], duplicate[N_EVENTS];
	int n_bad = 0, i, got;
	char *log;

	memset(accepted, 0, sizeof(accepted));
	memset(rejected, 0, sizeof(rejected));
	memset(duplicate, 0, sizeof(duplicate));
	fx = mash_mashd_fx_new("ingest = { batch_max = 32; };\n");
	ck_assert_ptr_nonnull(fx);
	/* First run: the persistent session and its subscription. */
	ck_assert_int_eq(mash_mashd_fx_start(fx), 0);
	ck_assert_int_eq(mash_mashd_fx_stop(fx, NULL), 0);
	/* The burst, queued by the broker while mashd is down. */
	for (i = 0; i < N_EVENTS; i++) {
		send_event(fx, i);
		if (i == RESENT + 3)
			send_event(fx, RESENT); /* the agent's re-send */
		n_bad += is_bad(i);
	}
	/* A receive queue far smaller than the backlog: the broker floods
	 * the session's messages before the SUBACK of the re-subscribe, and
	 * the daemon must still come up (not wait for a SUBACK stuck behind
	 * a full queue) and take them all. */
	fx->mashd = mash_mashd_fx_spawn(fx, spawn_args, fx->log);
	ck_assert_int_gt(fx->mashd, 0);
	for (got = 0; got < N_EVENTS + 1; got++) {
		Mash__V1__Receipt *r = NULL;
		int idx;

		ck_assert_msg(mash_mashd_fx_receipt(fx, 60000, &r, NULL) == 0,
		              "only %d of %d receipts", got, N_EVENTS + 1);
		ck_assert_int_eq(sscanf(r->event_id, "eeeeeeee-%4d", &idx), 1);
		ck_assert(idx >= 0 && idx < N_EVENTS);
		switch (r->status) {
		case MASH__V1__RECEIPT__STATUS__ACCEPTED:
			accepted[idx]++;
			break;
		case MASH__V1__RECEIPT__STATUS__DUPLICATE:
			duplicate[idx]++;
			break;
		case MASH__V1__RECEIPT__STATUS__REJECTED:
			ck_assert_msg(strncmp(r->reason, "BAD_NHS", 7) == 0,
			              "%s", r->reason);
			rejected[idx]++;
			break;
		default:
			ck_abort_msg("status %d", (int)r->status);
		}
		mash_mashd_fx_receipt_free(r);
	}
	for (i = 0; i < N_EVENTS; i++) {
		ck_assert_int_eq(accepted[i], is_bad(i) ? 0 : 1);
		ck_assert_int_eq(rejected[i], is_bad(i) ? 1 : 0);
		ck_assert_int_eq(duplicate[i], i == RESENT ? 1 : 0);
	}
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(fx, "SELECT count(*) FROM events"),
	    N_EVENTS - n_bad);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(DISTINCT event_id) FROM events"),
	                 N_EVENTS - n_bad);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx,
	                     "SELECT count(*) FROM quarantine WHERE errname = "
	                     "'BAD_NHS'"),
	                 n_bad);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM audit_log WHERE type = "
	                         "'EVENT_REJECTED'"),
	                 n_bad);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM audit_log WHERE type = "
	                         "'EVENT_RECEIVED'"),
	                 N_EVENTS - n_bad);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM audit_log WHERE type = "
	                         "'EVENT_DUPLICATE'"),
	                 1);
	/* Grouped: at least one commit carried more than one message. */
	log = mash_test_read_file(fx->log, 16u << 20, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_nonnull(strstr(log, "messages in one commit"));
	free(log);
	ck_assert_int_eq(mash_mashd_fx_stop(fx, NULL), 0);
	mash_mashd_fx_free(fx);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("group_commit");
	TCase *tc = tcase_create("burst");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, burst_is_answered_exactly_once_per_event_in_batches);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
