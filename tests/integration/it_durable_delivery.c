/*
 * it_durable_delivery.c - a crash between COMMIT and publishing loses no
 * inbox delivery. The real mashd binary (default policy and directory),
 * a real mosquitto and a real SQLite file: mashd is told (TEST ONLY,
 * MASHD_TEST_EXIT_AFTER_COMMIT=1) to _exit() right after the commit of the
 * first event, before publishing anything; a police event makes it die
 * with its deliveries audited and in the store's outbox but not sent;
 * restarted on the same store, mashd publishes them from the outbox, and
 * the inbox subscribers (subscribed before the first run) receive each
 * SharedRecord signed by mashd exactly as audited (audit_seq = its
 * DECISION record), once; the agent's re-send of the event is answered
 * DUPLICATE and delivers nothing more.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/limits.h"
#include "crypto/env.h"
#include "crypto/trust.h"
#include "daemon/mashd.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"
#include "support/sealed_inbox.h"

#define MAX_MSGS 32
#define EV1      "dddddddd-0001-4000-8000-000000000001"

static struct {
	struct mash_mashd_fx *fx;
	struct mash_mq *inbox;          /* subscribed to mash/v1/inbox/+ */
	struct mash_trust *mashd_trust; /* verifies what mashd signs */
	size_t n;
	char principal[MAX_MSGS][80];
	Mash__V1__SharedRecord *rec[MAX_MSGS];
} t;

static void
setup(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char extra[2048];
	struct mash_mq_opts o;
	struct mash_test_tls tls_h;
	char why[256];

	memset(&t, 0, sizeof(t));
	if (src == NULL)
		src = ".";
	snprintf(extra, sizeof(extra),
	         "policy = \"%s/policy/default.cfg\";\n"
	         "directory = \"@DIRECTORY@\";\n",
	         src);
	t.fx = mash_mashd_fx_new(extra);
	ck_assert_ptr_nonnull(t.fx);
	ck_assert_int_eq(mash_trust_load(t.fx->mashd_trust, &t.mashd_trust, why,
	                                 sizeof(why)),
	                 MASH_OK);
	/* The inboxes, subscribed before the daemon's first run. */
	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(t.fx->broker, MASH_TEST_HARNESS, &tls_h, &o);
	o.client_id = "it-durable-inboxes";
	ck_assert_int_eq(mash_mq_new(&o, &t.inbox), MASH_OK);
	ck_assert_int_eq(mash_mq_subscribe(t.inbox, "mash/v1/inbox/+", 5000),
	                 MASH_OK);
	ck_assert_int_eq(mash_mq_connect(t.inbox, 10000), MASH_OK);
}

static void
teardown(void)
{
	for (size_t i = 0; i < t.n; i++)
		mash__v1__shared_record__free_unpacked(t.rec[i], NULL);
	mash_mq_free(t.inbox);
	mash_trust_free(t.mashd_trust);
	mash_mashd_fx_free(t.fx);
	memset(&t, 0, sizeof(t));
	unsetenv("MASHD_TEST_EXIT_AFTER_COMMIT");
}

/* Take inbox messages for up to wait_ms (stopping early once want have
 * arrived and quiet_ms passed with no more). Each must be signed by mashd
 * and decode as a SharedRecord. */
static void
collect(size_t want, int wait_ms, int quiet_ms)
{
	int waited = 0, quiet = 0;

	while (waited < wait_ms) {
		struct mash_mq_msg *m = NULL;
		struct mash_env_opened *env = NULL;
		char why[256], enc[700];
		int rc = mash_mq_next(t.inbox, 100, &m);

		if (rc != MASH_OK || m == NULL) {
			waited += 100;
			quiet += 100;
			if (t.n >= want && quiet >= quiet_ms)
				return;
			continue;
		}
		quiet = 0;
		ck_assert_uint_lt(t.n, MAX_MSGS);
		ck_assert_int_eq(strncmp(m->topic, "mash/v1/inbox/", 14), 0);
		ck_assert_msg(mash_test_open_delivery(
		                  mash_test_broker_enc_dir(t.fx->broker, enc,
		                                           sizeof(enc)),
		                  t.mashd_trust, m, "mash.v1.SharedRecord",
		                  &env, why, sizeof(why)) == MASH_OK,
		              "%s", why);
		snprintf(t.principal[t.n], sizeof(t.principal[t.n]), "%s",
		         m->topic + 14);
		t.rec[t.n] = mash__v1__shared_record__unpack(
		    NULL, env->payload_len, env->payload);
		ck_assert_ptr_nonnull(t.rec[t.n]);
		t.n++;
		mash_env_opened_free(env);
		mash_mq_msg_free(m);
	}
}

static size_t
received_by(const char *principal, const Mash__V1__SharedRecord **rec)
{
	size_t c = 0;

	*rec = NULL;
	for (size_t i = 0; i < t.n; i++) {
		if (strcmp(t.principal[i], principal) == 0 &&
		    strcmp(t.rec[i]->event_id, EV1) == 0) {
			c++;
			*rec = t.rec[i];
		}
	}
	return c;
}

static int64_t
sql(const char *q)
{
	return mash_mashd_fx_sql_int(t.fx, q);
}

/* The police event, sealed by police/k1; published from the agent. */
static void
publish_police_event(void)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event("police", EV1);

	ck_assert_ptr_nonnull(ev);
	ev->consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	ck_assert_int_eq(mash_mashd_fx_send(t.fx, ev), 0);
	mash_mashd_fx_event_free(ev);
}

/* The audit seq of the DECISION for principal on EV1. */
static int64_t
decision_seq(const char *principal)
{
	char q[256];

	snprintf(q, sizeof(q),
	         "SELECT seq FROM audit_log WHERE type = 'DECISION' AND "
	         "event_id = '" EV1 "' AND recipient = '%s'",
	         principal);
	return sql(q);
}

START_TEST(crash_after_commit_delivers_shared_records_after_restart)
{
	static const char *const who[] = {"analyst.amara", "sw.sam"};
	const Mash__V1__SharedRecord *rec;
	Mash__V1__Receipt *r = NULL;
	int status = 0;
	int64_t deliveries;

	/* First run: dies right after the event's COMMIT. */
	ck_assert_int_eq(setenv("MASHD_TEST_EXIT_AFTER_COMMIT", "1", 1), 0);
	ck_assert_int_eq(mash_mashd_fx_start(t.fx), 0);
	ck_assert_int_eq(unsetenv("MASHD_TEST_EXIT_AFTER_COMMIT"), 0);
	publish_police_event();
	ck_assert_int_eq(mash_test_wait(t.fx->mashd, 20000, &status), 0);
	t.fx->mashd = -1;
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), MASHD_TEST_EXIT_STATUS);
	/* No receipt, no inbox message: nothing was published... */
	ck_assert_int_ne(mash_mashd_fx_receipt(t.fx, 500, &r, NULL), 0);
	collect(0, 1000, 1000);
	ck_assert_uint_eq(t.n, 0);
	/* ...but everything was committed: the event, its DELIVERY_QUEUED
	 * records and, for each of them, a sealed message in the outbox; no
	 * DELIVERY record, since the broker acknowledged nothing. */
	ck_assert_int_eq(
	    sql("SELECT count(*) FROM events WHERE event_id = '" EV1 "'"), 1);
	deliveries = sql("SELECT count(*) FROM audit_log WHERE type = "
	                 "'DELIVERY_QUEUED' AND event_id = '" EV1 "'");
	ck_assert_int_eq(
	    sql("SELECT count(*) FROM audit_log WHERE type = 'DELIVERY'"), 0);
	ck_assert_int_ge(deliveries,
	                 2); /* analyst and social worker at least */
	ck_assert_int_eq(sql("SELECT count(*) FROM outbox"), deliveries);

	/* Restart on the same store: the outbox goes out first. */
	ck_assert_int_eq(mash_mashd_fx_start(t.fx), 0);
	collect((size_t)deliveries, 20000, 1500);
	ck_assert_uint_eq(t.n, (size_t)deliveries);
	for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		ck_assert_uint_eq(received_by(who[i], &rec), 1);
		ck_assert_int_eq((int64_t)rec->audit_seq, decision_seq(who[i]));
		ck_assert_str_eq(rec->purpose, "mash-triage");
		ck_assert_str_ne(rec->case_id, "");
	}
	/* Every audited delivery arrived exactly once, as audited. */
	for (size_t i = 0; i < t.n; i++) {
		char q[256];

		ck_assert_uint_eq(received_by(t.principal[i], &rec), 1);
		snprintf(q, sizeof(q),
		         "SELECT count(*) FROM audit_log WHERE type = "
		         "'DELIVERY_QUEUED' AND event_id = '" EV1 "' AND "
		         "recipient = '%s'",
		         t.principal[i]);
		ck_assert_int_eq(sql(q), 1);
		ck_assert_int_eq((int64_t)rec->audit_seq,
		                 decision_seq(t.principal[i]));
	}
	ck_assert_int_eq(sql("SELECT count(*) FROM outbox"), 0);
	/* ...and each is confirmed by a DELIVERY record naming the record
	 * that queued it, written when the broker acknowledged it. */
	ck_assert_int_eq(
	    sql("SELECT count(DISTINCT q.seq) FROM audit_log q, audit_log d, "
	        "json_each(d.record, '$.extra.queued') j WHERE q.type = "
	        "'DELIVERY_QUEUED' AND q.event_id = '" EV1 "' AND d.type = "
	        "'DELIVERY' AND d.recipient = q.recipient AND j.value = q.seq"),
	    deliveries);

	/* The agent never got a receipt, so it re-sends: DUPLICATE, with
	 * the original audit record, and nothing delivered twice. */
	publish_police_event();
	ck_assert_int_eq(mash_mashd_fx_receipt(t.fx, 15000, &r, NULL), 0);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__DUPLICATE);
	ck_assert_int_eq((int64_t)r->audit_seq,
	                 sql("SELECT seq FROM audit_log WHERE type = "
	                     "'EVENT_RECEIVED' AND event_id = '" EV1 "'"));
	mash_mashd_fx_receipt_free(r);
	collect(t.n, 1500, 1500);
	ck_assert_uint_eq(t.n, (size_t)deliveries);
	ck_assert_int_eq(
	    sql("SELECT count(*) FROM events WHERE event_id = '" EV1 "'"), 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("durable_delivery");
	TCase *tc = tcase_create("crash");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, crash_after_commit_delivers_shared_records_after_restart);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
