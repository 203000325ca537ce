/*
 * it_s47_trigger.c - section 47 triggers end to end over a real mosquitto
 * and a real mashd (SQLite store, default policy, shipped directory and
 * holidays file), with the daemon's test clock (MASHD_TEST_CLOCK_FILE) so
 * nothing sleeps until a statutory deadline:
 *  - the seed's pattern: a police domestic-abuse notification (severity 3)
 *    and a health injury (severity 3) ten days apart about one child give
 *    ONE trigger with both events, due by the end of the next working day,
 *    in the social worker's, their manager's, police's and health's
 *    inboxes, signed by mashd;
 *  - mashd restarted between the trigger and its due time still escalates
 *    on time, to the MASH manager, once per clock.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/mem.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "mash/v1/mash.pb-c.h"
#include "s47/cal.h"
#include "support/broker.h"
#include "support/sealed_inbox.h"

#define DAY      (86400000LL)
#define HOUR     (3600000LL)
#define MAX_SEEN 128

struct seen {
	char principal[80];
	Mash__V1__StrategyDiscussionTrigger *msg;
};

static struct {
	char dir[64];
	char path_cfg[256], path_clock[256], path_err[256], path_trust[256];
	struct mash_test_broker *broker;
	struct mash_key *police, *health;
	struct mash_trust *trust;
	struct mash_mq *client;
	pid_t mashd;
	size_t n_seen;
	struct seen seen[MAX_SEEN];
} it;

static int64_t
day_ms(const char *date)
{
	int32_t d = 0;

	ck_assert_int_eq(mash_cal_parse_date(date, &d), MASH_OK);
	return (int64_t)d * DAY;
}

/* Monday 2 November 2026, 10:00 UTC (GMT). */
static int64_t
t0(void)
{
	return day_ms("2026-11-02") + 10 * HOUR;
}

static void
set_clock(int64_t ms)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld\n", (long long)ms);

	ck_assert_int_eq(mash_test_write_file(it.path_clock, buf, (size_t)n),
	                 0);
}

static void
add_signer(const char *signer, struct mash_key **priv, const char *save_to)
{
	struct mash_key *k = NULL;

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ck_assert_int_eq(
	    mash_trust_add_key(it.path_trust, signer, "k1", k, NULL, 0),
	    MASH_OK);
	if (save_to != NULL)
		ck_assert_int_eq(mash_key_save_private(k, save_to), MASH_OK);
	if (priv != NULL)
		*priv = k;
	else
		mash_key_free(k);
}

static void
start_mashd(void)
{
	char bin[512], env_clock[300];
	const char *bindir = getenv("MASH_BIN_DIR");
	const char *argv[4];
	const char *env[2];

	ck_assert_ptr_nonnull(bindir);
	snprintf(bin, sizeof(bin), "%s/mashd", bindir);
	snprintf(env_clock, sizeof(env_clock), "MASHD_TEST_CLOCK_FILE=%s",
	         it.path_clock);
	argv[0] = bin;
	argv[1] = "--config";
	argv[2] = it.path_cfg;
	argv[3] = NULL;
	env[0] = env_clock;
	env[1] = NULL;
	it.mashd = mash_test_spawn(argv, env, NULL, it.path_err);
	ck_assert_int_gt(it.mashd, 0);
}

static void
stop_mashd(void)
{
	int status = 0;

	if (it.mashd <= 0)
		return;
	ck_assert_int_eq(mash_test_kill(it.mashd, SIGTERM, 15000, &status), 0);
	it.mashd = 0;
}

static void
setup(void)
{
	char cfg[4096], keyfile[256], db[256], mqtt[2200], dirp[700];
	const char *src = getenv("MASH_SOURCE_DIR");
	char why[256];
	int n;

	memset(&it, 0, sizeof(it));
	ck_assert_ptr_nonnull(src);
	snprintf(it.dir, sizeof(it.dir), "/tmp/it_s47_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(it.dir));
	snprintf(it.path_trust, sizeof(it.path_trust), "%s/trust", it.dir);
	snprintf(it.path_cfg, sizeof(it.path_cfg), "%s/mashd.cfg", it.dir);
	snprintf(it.path_clock, sizeof(it.path_clock), "%s/clock", it.dir);
	snprintf(it.path_err, sizeof(it.path_err), "%s/mashd.err", it.dir);
	snprintf(keyfile, sizeof(keyfile), "%s/mashd.key.pem", it.dir);
	snprintf(db, sizeof(db), "%s/mash.db", it.dir);
	ck_assert_int_eq(mkdir(it.path_trust, 0700), 0);
	add_signer("mashd", NULL, keyfile);
	add_signer("police", &it.police, NULL);
	add_signer("health", &it.health, NULL);
	ck_assert_int_eq(
	    mash_trust_load(it.path_trust, &it.trust, why, sizeof(why)),
	    MASH_OK);
	ck_assert_int_eq(mash_test_broker_start(&it.broker), 0);
	set_clock(t0());
	n = snprintf(
	    cfg, sizeof(cfg),
	    "mqtt = { %s client_id = \"mashd-it-s47\"; };\n"
	    "key_id = \"k1\";\nkey_file = \"%s\";\ntrust_store = \"%s\";\n"
	    "store = \"%s\";\npolicy = \"%s/policy/default.cfg\";\n"
	    "directory = \"%s\";\ntick_ms = 100;\n",
	    mash_test_broker_mqtt_cfg(it.broker, "mashd", mqtt, sizeof(mqtt)),
	    keyfile, it.path_trust, db, src,
	    mash_test_broker_directory(it.broker, dirp, sizeof(dirp)));
	ck_assert_int_lt(n, (int)sizeof(cfg));
	ck_assert_int_eq(mash_test_write_file(it.path_cfg, cfg, (size_t)n), 0);
	{
		struct mash_mq_opts o;
		struct mash_test_tls t;

		mash_mq_opts_init(&o);
		mash_test_broker_mq_opts(it.broker, MASH_TEST_HARNESS, &t, &o);
		o.client_id = "it-s47-inboxes";
		o.clean_start = 1;
		ck_assert_int_eq(mash_mq_new(&o, &it.client), MASH_OK);
		ck_assert_int_eq(
		    mash_mq_subscribe(it.client, "mash/v1/inbox/+", 5000),
		    MASH_OK);
		ck_assert_int_eq(
		    mash_mq_subscribe(it.client, "mash/v1/receipts/+", 5000),
		    MASH_OK);
		ck_assert_int_eq(mash_mq_connect(it.client, 10000), MASH_OK);
	}
	start_mashd();
}

static void
teardown(void)
{
	size_t i;
	char *log;

	if (it.mashd > 0)
		(void)mash_test_kill(it.mashd, SIGTERM, 15000, NULL);
	log = mash_test_read_file(it.path_err, 1 << 20, NULL);
	if (log != NULL && getenv("IT_S47_VERBOSE") != NULL)
		fprintf(stderr, "---- mashd ----\n%s\n", log);
	free(log);
	mash_mq_free(it.client);
	mash_test_broker_free(it.broker);
	mash_key_free(it.police);
	mash_key_free(it.health);
	mash_trust_free(it.trust);
	for (i = 0; i < it.n_seen; i++)
		mash__v1__strategy_discussion_trigger__free_unpacked(
		    it.seen[i].msg, mash_env_pb_allocator());
	(void)mash_test_rmrf(it.dir);
}

/*
 * Take messages for up to ms: receipts count towards *receipts (may be
 * NULL), triggers signed by mashd are kept in it.seen.
 */
static void
pump(int ms, int *receipts)
{
	struct mash_mq_msg *m = NULL;
	int waited = 0;

	while (waited < ms) {
		struct mash_env_opened *o = NULL;
		char enc[700];

		if (mash_mq_next(it.client, 100, &m) != MASH_OK) {
			waited += 100;
			continue;
		}
		if (strncmp(m->topic, "mash/v1/receipts/", 17) == 0) {
			if (receipts != NULL)
				(*receipts)++;
		} else if (mash_test_open_delivery(
		               mash_test_broker_enc_dir(it.broker, enc,
		                                        sizeof(enc)),
		               it.trust, m, "mash.v1.StrategyDiscussionTrigger",
		               &o, NULL, 0) == MASH_OK) {
			struct seen *s;

			ck_assert_uint_lt(it.n_seen, MAX_SEEN);
			s = &it.seen[it.n_seen++];
			snprintf(s->principal, sizeof(s->principal), "%s",
			         m->topic + strlen("mash/v1/inbox/"));
			s->msg = mash__v1__strategy_discussion_trigger__unpack(
			    mash_env_pb_allocator(), o->payload_len,
			    o->payload);
			ck_assert_ptr_nonnull(s->msg);
		}
		mash_env_opened_free(o);
		mash_mq_msg_free(m);
		m = NULL;
	}
}

static size_t
count(const char *principal, const char *kind)
{
	size_t i, n = 0;

	for (i = 0; i < it.n_seen; i++)
		if ((principal == NULL ||
		     strcmp(it.seen[i].principal, principal) == 0) &&
		    strcmp(it.seen[i].msg->kind, kind) == 0)
			n++;
	return n;
}

static const Mash__V1__StrategyDiscussionTrigger *
find(const char *principal, const char *kind)
{
	size_t i;

	for (i = 0; i < it.n_seen; i++)
		if (strcmp(it.seen[i].principal, principal) == 0 &&
		    strcmp(it.seen[i].msg->kind, kind) == 0)
			return it.seen[i].msg;
	return NULL;
}

/* Publish one signed event about the demo child until mashd's receipt
 * arrives (mashd may still be connecting; the event id makes re-sends
 * idempotent). */
static void
send_event(const char *agency, struct mash_key *key, const char *id,
           int category, int64_t occurred)
{
	Mash__V1__AgencyEvent ev = MASH__V1__AGENCY_EVENT__INIT;
	Mash__V1__Subject subj = MASH__V1__SUBJECT__INIT;
	char topic[64];
	uint8_t *env = NULL;
	size_t len = 0;
	int receipts = 0, tries;

	subj.nhs_number = "9434765919";
	subj.given_name = "Jordan";
	subj.family_name = "Reed";
	subj.date_of_birth = "2011-05-14";
	subj.postcode = "NE61 1AA";
	subj.sex = "M";
	ev.event_id = (char *)id;
	ev.agency = (char *)agency;
	ev.occurred_at = occurred;
	ev.recorded_at = occurred;
	ev.subject = &subj;
	ev.category = category;
	ev.severity = 3;
	ev.summary = "integration test";
	ev.consent = MASH__V1__CONSENT__NOT_SOUGHT;
	ev.reporter = "it";
	ev.agency_ref = "REF-1";
	ck_assert_int_eq(
	    mash_env_seal_msg(key, agency, "k1", &ev.base, &env, &len),
	    MASH_OK);
	snprintf(topic, sizeof(topic), "mash/v1/events/%s", agency);
	for (tries = 0; tries < 30 && receipts == 0; tries++) {
		ck_assert_int_eq(
		    mash_mq_publish(it.client, topic, env, len, 0, NULL, 5000),
		    MASH_OK);
		pump(1000, &receipts);
	}
	mash_free(env);
	ck_assert_msg(receipts > 0, "no receipt for %s/%s", agency, id);
}

static const char *const core[] = {"sw.sam", "swm.taylor", "police.pp1",
                                   "health.nurse1"};

/* The seed's pattern, shared by both tests; returns the due time. */
static int64_t
raise_domestic_abuse_then_injury(void)
{
	const Mash__V1__StrategyDiscussionTrigger *t;
	int64_t due =
	    mash_cal_end_of_day_ms((int32_t)(day_ms("2026-11-03") / DAY));
	size_t i;
	int waited;

	send_event("police", it.police, "3f6c7f0e-5d7a-4c59-9a51-000000000001",
	           MASH__V1__CATEGORY__DOMESTIC_ABUSE, t0() - 10 * DAY);
	send_event("health", it.health, "3f6c7f0e-5d7a-4c59-9a51-000000000002",
	           MASH__V1__CATEGORY__INJURY, t0());
	for (waited = 0; waited < 15000 && count(NULL, "raised") < 4;
	     waited += 500)
		pump(500, NULL);
	pump(1000, NULL); /* anything extra would arrive now */
	ck_assert_uint_eq(count(NULL, "raised"), 4);
	ck_assert_uint_eq(count(NULL, "updated"), 0);
	for (i = 0; i < 4; i++) {
		t = find(core[i], "raised");
		ck_assert_msg(t != NULL, "no trigger in %s's inbox", core[i]);
		ck_assert_uint_eq(count(core[i], "raised"), 1);
		ck_assert_str_eq(t->rule_id, "s47.multi-agency");
		ck_assert_uint_eq(t->n_contributing_events, 2);
		ck_assert_str_eq(t->contributing_events[0],
		                 "police/3f6c7f0e-5d7a-4c59-9a51-000000000001");
		ck_assert_str_eq(t->contributing_events[1],
		                 "health/3f6c7f0e-5d7a-4c59-9a51-000000000002");
		ck_assert_int_eq(t->discussion_due_by, due);
		ck_assert_uint_eq(t->level, 4);
		ck_assert_uint_gt(t->audit_seq, 0);
		ck_assert_str_eq(t->trigger_id,
		                 find(core[0], "raised")->trigger_id);
	}
	ck_assert_uint_eq(count("school.dsl1", "raised"), 0);
	ck_assert_uint_eq(count("housing.officer1", "raised"), 0);
	return due;
}

START_TEST(test_da_and_injury_ten_days_apart_give_one_trigger_in_core_inboxes)
{
	(void)raise_domestic_abuse_then_injury();
}
END_TEST

START_TEST(test_restart_before_due_still_escalates_on_time_once)
{
	const Mash__V1__StrategyDiscussionTrigger *e;
	int64_t due = raise_domestic_abuse_then_injury();
	char trigger_id[160];
	int waited;

	snprintf(trigger_id, sizeof(trigger_id), "%s",
	         find("sw.sam", "raised")->trigger_id);
	stop_mashd();
	set_clock(t0() + 2 * HOUR);
	start_mashd();
	pump(2000, NULL);
	ck_assert_uint_eq(count(NULL, "escalated"), 0);
	/* One second before the end of the working day: not yet late. */
	set_clock(due - 1000);
	pump(1500, NULL);
	ck_assert_uint_eq(count(NULL, "escalated"), 0);
	set_clock(due + 1000);
	for (waited = 0;
	     waited < 10000 && count("manager.morgan", "escalated") < 2;
	     waited += 500)
		pump(500, NULL);
	pump(1500, NULL);
	/* referral decision and strategy discussion, once each. */
	ck_assert_uint_eq(count("manager.morgan", "escalated"), 2);
	ck_assert_uint_eq(count(NULL, "escalated"), 2);
	e = find("manager.morgan", "escalated");
	ck_assert_int_eq(e->discussion_due_by, due);
	ck_assert_ptr_nonnull(strstr(e->reason, "overdue"));
	{
		size_t i, strategy = 0;

		for (i = 0; i < it.n_seen; i++) {
			const Mash__V1__StrategyDiscussionTrigger *m =
			    it.seen[i].msg;

			if (strcmp(m->kind, "escalated") != 0 ||
			    strstr(m->reason, "strategy-discussion") == NULL)
				continue;
			strategy++;
			ck_assert_str_eq(m->trigger_id, trigger_id);
			ck_assert_str_eq(m->case_id,
			                 find("sw.sam", "raised")->case_id);
			ck_assert_uint_eq(m->n_contributing_events, 2);
			ck_assert_uint_gt(m->audit_seq, 0);
		}
		ck_assert_uint_eq(strategy, 1);
	}
	/* Another restart later: still nothing new. */
	stop_mashd();
	set_clock(due + 3 * DAY);
	start_mashd();
	pump(2500, NULL);
	ck_assert_uint_eq(count(NULL, "escalated"), 2);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("it_s47_trigger");
	TCase *tc = tcase_create("s47");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc,
	    test_da_and_injury_ten_days_apart_give_one_trigger_in_core_inboxes);
	tcase_add_test(tc,
	               test_restart_before_due_still_escalates_on_time_once);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
