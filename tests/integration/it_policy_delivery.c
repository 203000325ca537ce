/*
 * it_policy_delivery.c - the real mashd binary with the default policy and
 * directory, against a real mosquitto and a real SQLite file: one police
 * event reaches the analyst's, the social worker's and the health nurse's
 * inboxes with DIFFERENT field sets (each a SharedRecord signed by mashd,
 * only the granted fields, the names of the withheld ones), and does NOT
 * reach housing, school or YOT at L1; every decision (denials included) and
 * every delivery is in the audit trail; a SIGHUP with a broken policy is
 * refused (audited) and delivery goes on under the old one.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/limits.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"
#include "support/sealed_inbox.h"

#define MAX_MSGS 64

static struct {
	struct mash_mashd_fx *fx;
	struct mash_mq *inbox;          /* subscribed to mash/v1/inbox/+ */
	struct mash_trust *mashd_trust; /* verifies what mashd signs */
	char policy[700];               /* a copy of default.cfg we may break */
	size_t n;
	char principal[MAX_MSGS][80];
	Mash__V1__SharedRecord *rec[MAX_MSGS];
} t;

static int
copy_file(const char *from, const char *to)
{
	size_t len = 0;
	char *buf = mash_test_read_file(from, 1u << 20, &len);
	int rc;

	if (buf == NULL)
		return -1;
	rc = mash_test_write_file(to, buf, len);
	free(buf);
	return rc;
}

static void
setup(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char extra[2048], from[700], to[700], dirp[700];
	struct mash_mq_opts o;
	struct mash_test_tls tls_h;
	char why[256];

	memset(&t, 0, sizeof(t));
	if (src == NULL)
		src = ".";
	/* The policy is copied next to a copy of s47.cfg so that the test
	 * can break it without touching the source tree. */
	t.fx = mash_mashd_fx_new(NULL);
	ck_assert_ptr_nonnull(t.fx);
	snprintf(to, sizeof(to), "%s/policy", t.fx->dir);
	ck_assert_int_eq(mkdir(to, 0700), 0);
	snprintf(to, sizeof(to), "%s/s47", t.fx->dir);
	ck_assert_int_eq(mkdir(to, 0700), 0);
	snprintf(t.policy, sizeof(t.policy), "%s/policy/default.cfg",
	         t.fx->dir);
	snprintf(from, sizeof(from), "%s/policy/default.cfg", src);
	ck_assert_int_eq(copy_file(from, t.policy), 0);
	snprintf(from, sizeof(from), "%s/policy/s47.cfg", src);
	snprintf(to, sizeof(to), "%s/policy/s47.cfg", t.fx->dir);
	ck_assert_int_eq(copy_file(from, to), 0);
	/* s47.cfg names its holidays file relative to itself. */
	snprintf(from, sizeof(from), "%s/s47/holidays.cfg", src);
	snprintf(to, sizeof(to), "%s/s47/holidays.cfg", t.fx->dir);
	ck_assert_int_eq(copy_file(from, to), 0);
	snprintf(extra, sizeof(extra),
	         "policy = \"%s\";\ndirectory = \"%s\";\n", t.policy,
	         mash_test_broker_directory(t.fx->broker, dirp, sizeof(dirp)));
	{
		size_t len = 0;
		char *cfg = mash_test_read_file(t.fx->cfg, 1u << 16, &len);
		char *all;

		ck_assert_ptr_nonnull(cfg);
		all = malloc(len + strlen(extra) + 1);
		ck_assert_ptr_nonnull(all);
		memcpy(all, cfg, len);
		memcpy(all + len, extra, strlen(extra) + 1);
		ck_assert_int_eq(
		    mash_test_write_file(t.fx->cfg, all, len + strlen(extra)),
		    0);
		free(all);
		free(cfg);
	}
	ck_assert_int_eq(mash_trust_load(t.fx->mashd_trust, &t.mashd_trust, why,
	                                 sizeof(why)),
	                 MASH_OK);
	/* The inboxes, subscribed before the daemon says anything. */
	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(t.fx->broker, MASH_TEST_HARNESS, &tls_h, &o);
	o.client_id = "it-inboxes";
	ck_assert_int_eq(mash_mq_new(&o, &t.inbox), MASH_OK);
	ck_assert_int_eq(mash_mq_subscribe(t.inbox, "mash/v1/inbox/+", 5000),
	                 MASH_OK);
	ck_assert_int_eq(mash_mq_connect(t.inbox, 10000), MASH_OK);
	ck_assert_int_eq(mash_mashd_fx_start(t.fx), 0);
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
}

/* Collect inbox messages until want have arrived, then `quiet_ms` more
 * (to catch any that should not come); bounded. Each must be signed by
 * mashd and decode as a SharedRecord. */
static void
collect(size_t want, int quiet_ms)
{
	int waited = 0;

	while (waited < 20000) {
		struct mash_mq_msg *m = NULL;
		struct mash_env_opened *env = NULL;
		char why[256], enc[700];
		int rc = mash_mq_next(t.inbox, 100, &m);

		if (rc != MASH_OK || m == NULL) {
			waited += 100;
			if (t.n >= want && waited >= quiet_ms)
				return;
			continue;
		}
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
		if (t.n >= want)
			waited = 0, quiet_ms = quiet_ms > 0 ? quiet_ms : 1;
	}
	ck_abort_msg("only %zu of %zu inbox messages in 20 s", t.n, want);
}

static const Mash__V1__SharedRecord *
inbox(const char *principal, const char *event_id)
{
	for (size_t i = 0; i < t.n; i++)
		if (strcmp(t.principal[i], principal) == 0 &&
		    strcmp(t.rec[i]->event_id, event_id) == 0)
			return t.rec[i];
	return NULL;
}

static const char *
field(const Mash__V1__SharedRecord *r, const char *name)
{
	for (size_t i = 0; i < r->n_fields; i++)
		if (strcmp(r->fields[i]->key, name) == 0)
			return r->fields[i]->value;
	return NULL;
}

static int
withheld(const Mash__V1__SharedRecord *r, const char *name)
{
	for (size_t i = 0; i < r->n_withheld; i++)
		if (strcmp(r->withheld[i], name) == 0)
			return 1;
	return 0;
}

/* A police event the MASH may discuss without consent (NOT_REQUIRED_
 * RISK_OF_HARM), with police detail and a household member. */
static void
send_police_event(const char *event_id)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event("police", event_id);
	Mash__V1__PoliceDetail *pd = calloc(1, sizeof(*pd));
	Mash__V1__RelatedPerson *rp = calloc(1, sizeof(*rp));
	Mash__V1__Receipt *r = NULL;
	uint8_t *env;
	size_t len;

	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_nonnull(pd);
	ck_assert_ptr_nonnull(rp);
	mash__v1__police_detail__init(pd);
	mash__v1__related_person__init(rp);
	pd->incident_type = strdup("missing-person");
	pd->intelligence = strdup("Vehicle linked to a known network.");
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	ev->police = pd;
	rp->role = strdup("mother");
	rp->given_name = strdup("Alex");
	rp->family_name = strdup("Reed");
	ev->related = calloc(1, sizeof(*ev->related));
	ck_assert_ptr_nonnull(ev->related);
	ev->related[0] = rp;
	ev->n_related = 1;
	ev->consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	env = mash_mashd_fx_seal(t.fx->police, "police", "k1", &ev->base, &len);
	ck_assert_ptr_nonnull(env);
	ck_assert_int_eq(
	    mash_mashd_fx_publish(t.fx, "mash/v1/events/police", env, len), 0);
	free(env);
	mash_mashd_fx_event_free(ev);
	ck_assert_int_eq(mash_mashd_fx_receipt(t.fx, 15000, &r, NULL), 0);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	mash_mashd_fx_receipt_free(r);
}

#define EV1 "aaaaaaaa-0001-4000-8000-000000000001"
#define EV2 "aaaaaaaa-0002-4000-8000-000000000002"

START_TEST(police_event_reaches_analyst_sw_health_not_housing_at_l1)
{
	const Mash__V1__SharedRecord *a, *s, *h, *p;

	send_police_event(EV1);
	/* analyst, manager, social worker, their manager, police (own
	 * record), health nurse; then 1.5 s of quiet for the rest. */
	collect(6, 1500);
	ck_assert_uint_eq(t.n, 6);
	a = inbox("analyst.amara", EV1);
	s = inbox("sw.sam", EV1);
	h = inbox("health.nurse1", EV1);
	p = inbox("police.pp1", EV1);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(inbox("housing.officer1", EV1));
	ck_assert_ptr_null(inbox("school.dsl1", EV1));
	ck_assert_ptr_null(inbox("yot.worker1", EV1));
	ck_assert_ptr_null(inbox("auditor.ada", EV1));

	/* Three different field sets. */
	ck_assert_uint_ne(a->n_fields, s->n_fields);
	ck_assert_uint_ne(s->n_fields, h->n_fields);
	ck_assert_ptr_nonnull(field(a, "summary"));
	ck_assert_ptr_nonnull(field(a, "related"));
	ck_assert_ptr_null(field(a, "detail.police.intelligence"));
	ck_assert(withheld(a, "detail.police.intelligence"));
	ck_assert_str_eq(a->rule_id, "mash-triage");
	ck_assert_ptr_nonnull(field(s, "summary"));
	ck_assert_ptr_null(field(s, "related"));
	ck_assert(withheld(s, "related"));
	ck_assert_str_eq(s->rule_id, "social-care-front-door");
	ck_assert_str_eq(field(h, "subject.nhs_number"), "9434765919");
	ck_assert_str_eq(field(h, "category"), "MISSING_EPISODE");
	ck_assert_ptr_null(field(h, "summary"));
	ck_assert(withheld(h, "summary"));
	ck_assert_str_eq(h->rule_id, "partner-triage");
	ck_assert_str_eq(
	    h->legal_basis,
	    "CA 2004 s11 (police and NHS bodies' duty to safeguard); "
	    "Working Together 2013 ch.2");
	ck_assert_str_eq(h->purpose, "mash-triage");
	ck_assert_ptr_nonnull(field(p, "detail.police.intelligence"));
	for (size_t i = 0; i < t.n; i++) {
		ck_assert_str_ne(t.rec[i]->case_id, "");
		ck_assert_uint_gt(t.rec[i]->audit_seq, 0);
		ck_assert_str_ne(t.rec[i]->reason, "");
	}

	/* Every decision audited, denials included; one DELIVERY_QUEUED
	 * each. */
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(
	        t.fx,
	        "SELECT count(*) FROM audit_log WHERE type = 'DECISION' AND "
	        "event_id = '" EV1 "'"),
	    10);
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(
	        t.fx,
	        "SELECT count(*) FROM audit_log WHERE type = 'DELIVERY_QUEUED' "
	        "AND event_id = '" EV1 "'"),
	    6);
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(
	        t.fx,
	        "SELECT count(*) FROM audit_log WHERE type = 'DECISION' AND "
	        "recipient = 'housing.officer1' AND record LIKE "
	        "'%\"rule_id\":\"default-deny\"%'"),
	    1);
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(
	        t.fx,
	        "SELECT count(*) FROM audit_log WHERE type = 'POLICY_LOAD' AND "
	        "record LIKE '%\"result\":\"loaded\"%'"),
	    1);
}
END_TEST

START_TEST(sighup_with_broken_policy_is_refused_and_delivery_goes_on)
{
	const char *broken = "levels = { l2 = { min_agencies = 2; }; };\n"
	                     "rules = ( { id = \"everyone-sees-all\";\n"
	                     "  effect = \"share\"; fields = [ \"@all\" ];\n"
	                     "  reason = \"oops\"; } );\n";

	ck_assert_int_eq(mash_test_write_file(t.policy, broken, strlen(broken)),
	                 0);
	ck_assert_int_eq(kill(t.fx->mashd, SIGHUP), 0);
	for (int i = 0; i < 100; i++) {
		if (mash_mashd_fx_sql_int(
		        t.fx, "SELECT count(*) FROM audit_log WHERE type = "
		              "'POLICY_LOAD' AND record LIKE "
		              "'%\"result\":\"refused\"%'") == 1)
			break;
		mash_test_sleep_ms(100);
	}
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(
	        t.fx,
	        "SELECT count(*) FROM audit_log WHERE type = 'POLICY_LOAD' AND "
	        "record LIKE '%\"result\":\"refused\"%' AND record LIKE "
	        "'%\"sha256\":\"%'"),
	    1);
	ck_assert(mash_mashd_fx_alive(t.fx));
	/* The old policy is still in force: housing still hears nothing,
	 * the analyst still does not see police intelligence. */
	send_police_event(EV2);
	collect(6, 1500);
	ck_assert_uint_eq(t.n, 6);
	ck_assert_ptr_null(inbox("housing.officer1", EV2));
	ck_assert_ptr_nonnull(inbox("analyst.amara", EV2));
	ck_assert_ptr_null(
	    field(inbox("analyst.amara", EV2), "detail.police.intelligence"));
}
END_TEST

/* The count mashd's "stages (SIGUSR1):" line gives stage name, or -1. */
static long
stage_count(const char *log, const char *name)
{
	const char *line = strstr(log, "stages (SIGUSR1): "), *p;
	char key[32];
	double secs;
	long n;

	if (line == NULL)
		return -1;
	snprintf(key, sizeof(key), "%s ", name);
	p = strstr(line, key);
	if (p == NULL || sscanf(p + strlen(key), "%lf s/%ld", &secs, &n) != 2)
		return -1;
	return n;
}

START_TEST(sigusr1_logs_the_time_per_stage)
{
	char *log = NULL;
	size_t len = 0;
	int i;

	send_police_event(EV1);
	collect(6, 1500);
	ck_assert_uint_eq(t.n, 6);
	ck_assert_int_eq(kill(t.fx->mashd, SIGUSR1), 0);
	for (i = 0; i < 100; i++) {
		free(log);
		log = mash_test_read_file(t.fx->log, 1u << 22, &len);
		if (log != NULL && strstr(log, "stages (SIGUSR1): ") != NULL &&
		    strchr(strstr(log, "stages (SIGUSR1): "), '\n') != NULL)
			break;
		mash_test_sleep_ms(100);
	}
	ck_assert_ptr_nonnull(log);
	/* One event: verified, decoded, stored, decided and committed
	 * once; its six deliveries sealed in one batch. */
	ck_assert_int_eq(stage_count(log, "verify"), 1);
	ck_assert_int_eq(stage_count(log, "decode"), 1);
	ck_assert_int_eq(stage_count(log, "store"), 1);
	ck_assert_int_eq(stage_count(log, "policy"), 1);
	ck_assert_int_ge(stage_count(log, "seal"), 1);
	ck_assert_int_eq(stage_count(log, "s47"), 1); /* its triggers once */
	ck_assert_int_ge(stage_count(log, "commit"), 1);
	ck_assert_int_ge(stage_count(log, "outbox"), 1);
	ck_assert(mash_mashd_fx_alive(t.fx));
	free(log);
}
END_TEST

static Suite *
it_suite(void)
{
	Suite *s = suite_create("it_policy_delivery");
	TCase *tc = tcase_create("delivery");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, police_event_reaches_analyst_sw_health_not_housing_at_l1);
	tcase_add_test(
	    tc, sighup_with_broken_policy_is_refused_and_delivery_goes_on);
	tcase_add_test(tc, sigusr1_logs_the_time_per_stage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(it_suite());
	int failed;

	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
