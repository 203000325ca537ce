/*
 * test_triggers.c - the daemon's s47 path (daemon/triggers.c) over a real
 * SQLite store and audit log: a trigger reaches every required attendee's
 * inbox once through the store's outbox (added in the event's transaction,
 * gone with a rollback, kept while the broker refuses it and across a
 * reopen), each delivery and clock is audited, an overdue clock is
 * escalated to the MASH manager exactly once, also after a reopen, and the
 * test clock reads its file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/aud.h"
#include "audit/verify.h"
#include "common/err.h"
#include "common/mem.h"
#include "daemon/outbox.h"
#include "daemon/seal_pool.h"
#include "daemon/triggers.h"
#include "mash/v1/mash.pb-c.h"
#include "policy/dir.h"
#include "s47/cal.h"
#include "s47/s47.h"
#include "store/store.h"

#define DAY      (86400000LL)
#define HOUR     (3600000LL)
#define MAX_SENT 64

struct sent {
	char topic[128];
	Mash__V1__StrategyDiscussionTrigger *msg;
};

static struct {
	char dir[64];
	char db[128];
	int64_t now;
	struct mash_clock clock;
	struct mash_store *st;
	struct mash_aud *aud;
	struct mash_s47_policy *pol;
	struct mash_cal *cal;
	struct mashd_triggers *t;
	size_t n_sent;
	struct sent sent[MAX_SENT];
	int fail_publish;
	int no_flush; /* ingest commits but does not flush */
	int rollback; /* ingest rolls back instead of committing */
	int use_many; /* open_all gives the engine seal_many */
	size_t many_calls, many_jobs;
	int use_sees; /* open_all gives the engine sees and sees_memo */
	int memo_on;  /* what sees_memo was last told */
	size_t memo_ons, sees_calls, sees_off;
} fx;

/* The default directory of SHARED-DEFS.md. */
static int
principals(void *ctx, const char *role, const char **names, size_t max,
           size_t *n)
{
	static const char *const dir[][2] = {
	    {"analyst.amara", "mash-analyst"},
	    {"manager.morgan", "mash-manager"},
	    {"sw.sam", "la-social-worker"},
	    {"swm.taylor", "social-work-manager"},
	    {"police.pp1", "police-public-protection"},
	    {"health.nurse1", "health-safeguarding"},
	    {"school.dsl1", "school-dsl"},
	    {"yot.worker1", "yot-worker"},
	    {"housing.officer1", "housing-officer"},
	    {"auditor.ada", "auditor"}};
	size_t i;

	(void)ctx;
	*n = 0;
	for (i = 0; i < sizeof(dir) / sizeof(dir[0]) && *n < max; i++)
		if (strcmp(dir[i][1], role) == 0)
			names[(*n)++] = dir[i][0];
	return MASH_OK;
}

/* The seal callback: the envelope is the payload itself here (sealing is
 * crypto's and the integration tests' business); the type is checked. */
static int
seal(void *ctx, const char *recipient, const char *type,
     const unsigned char *payload, size_t len, unsigned char **env,
     size_t *env_len)
{
	(void)ctx;
	ck_assert_ptr_nonnull(recipient);
	ck_assert_str_eq(type, MASHD_TRIGGER_PAYLOAD_TYPE);
	/* Sealed inside the transaction that audits the delivery. */
	ck_assert_int_eq(mash_store_in_tx(fx.st), 1);
	*env = mash_malloc(len);
	ck_assert_ptr_nonnull(*env);
	memcpy(*env, payload, len);
	*env_len = len;
	return MASH_OK;
}

/* The seal pool as the daemon gives it: a message's seals in one call,
 * here in order; health.nurse1 has no encryption key. */
static void
seal_many(void *ctx, struct mashd_seal_job *jobs, size_t n)
{
	size_t i;

	(void)ctx;
	fx.many_calls++;
	fx.many_jobs += n;
	for (i = 0; i < n; i++) {
		jobs[i].env = NULL;
		jobs[i].env_len = 0;
		if (strcmp(jobs[i].recipient, "health.nurse1") == 0) {
			jobs[i].rc = MASH_ERR_NO_ENC_KEY;
			continue;
		}
		jobs[i].rc = seal(NULL, jobs[i].recipient, jobs[i].payload_type,
		                  jobs[i].payload, jobs[i].len, &jobs[i].env,
		                  &jobs[i].env_len);
	}
}

/* The daemon's view callbacks: every attendee sees everything; each
 * look is counted, and whether the memo was on for it. */
static int
sees(void *ctx, const char *case_id, const char *recipient,
     const char *event_ref, unsigned level, unsigned n_agencies, int *record,
     int *signpost)
{
	(void)ctx;
	(void)case_id;
	(void)recipient;
	(void)event_ref;
	(void)level;
	(void)n_agencies;
	fx.sees_calls++;
	if (!fx.memo_on)
		fx.sees_off++;
	*record = *signpost = 1;
	return MASH_OK;
}

static void
sees_memo(void *ctx, int on)
{
	(void)ctx;
	if (on && !fx.memo_on)
		fx.memo_ons++;
	fx.memo_on = on;
}

/* The outbox flush's publisher (the broker, as far as this test goes). */
static int
publish(void *ctx, const char *topic, const unsigned char *payload, size_t len)
{
	struct sent *s;

	(void)ctx;
	ck_assert_int_eq(mash_store_in_tx(fx.st), 0);
	if (fx.fail_publish)
		return MASH_ERR_MQTT;
	ck_assert_uint_lt(fx.n_sent, MAX_SENT);
	s = &fx.sent[fx.n_sent++];
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	s->msg =
	    mash__v1__strategy_discussion_trigger__unpack(NULL, len, payload);
	ck_assert_ptr_nonnull(s->msg);
	return MASH_OK;
}

/* The daemon's outbox flush (after each commit and on every tick). */
static int
flush(void)
{
	return mashd_outbox_flush(fx.st, publish, NULL, NULL);
}

static size_t
outbox_count(void)
{
	struct mash_store_outbox_list *l = NULL;
	size_t n;

	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	n = l->n;
	mash_store_outbox_list_free(l);
	return n;
}

/* The tick as mashd runs it: escalation, then the outbox flush. */
static void
tick(size_t *n)
{
	ck_assert_int_eq(mashd_triggers_tick(fx.t, n), MASH_OK);
	(void)flush();
}

static int32_t
D(const char *s)
{
	int32_t d = 0;

	ck_assert_int_eq(mash_cal_parse_date(s, &d), MASH_OK);
	return d;
}

static void
open_all(void)
{
	struct mashd_triggers_cfg cfg;

	ck_assert_int_eq(mash_store_open(fx.db, &fx.st), MASH_OK);
	mash_store_set_clock(fx.st, &fx.clock);
	ck_assert_int_eq(mash_aud_open(fx.st, &fx.clock, NULL, &fx.aud),
	                 MASH_OK);
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = fx.st;
	cfg.aud = fx.aud;
	cfg.clock = &fx.clock;
	cfg.policy = fx.pol;
	cfg.cal = fx.cal;
	cfg.principals = principals;
	cfg.seal_to = seal;
	cfg.seal_many = fx.use_many ? seal_many : NULL;
	cfg.sees = fx.use_sees ? sees : NULL;
	cfg.sees_memo = fx.use_sees ? sees_memo : NULL;
	ck_assert_int_eq(mashd_triggers_new(&cfg, &fx.t), MASH_OK);
}

static void
close_all(void)
{
	mashd_triggers_free(fx.t);
	mash_aud_free(fx.aud);
	mash_store_close(fx.st);
	fx.t = NULL;
	fx.aud = NULL;
	fx.st = NULL;
}

static void
setup(void)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_triggers_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/mash.db", fx.dir);
	/* Monday 2 November 2026, 10:00 UTC. */
	fx.now = (int64_t)D("2026-11-02") * DAY + 10 * HOUR;
	mash_clock_manual(&fx.clock, &fx.now);
	ck_assert_int_eq(mash_s47_policy_default(&fx.pol), MASH_OK);
	fx.cal = mash_cal_new();
	open_all();
}

static void
teardown(void)
{
	char cmd[128];
	size_t i;

	close_all();
	for (i = 0; i < fx.n_sent; i++)
		mash__v1__strategy_discussion_trigger__free_unpacked(
		    fx.sent[i].msg, NULL);
	mash_s47_policy_free(fx.pol);
	mash_cal_free(fx.cal);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

/* Store one event about the demo child and run the hook, as mashd does. */
static uint64_t
ingest(const char *agency, const char *id, int category, uint32_t sev,
       int64_t occurred, const char *dob)
{
	Mash__V1__AgencyEvent ev = MASH__V1__AGENCY_EVENT__INIT;
	Mash__V1__Subject subj = MASH__V1__SUBJECT__INIT;
	struct mash_store_subject ss;
	struct mash_store_event se;
	char case_id[MASH_STORE_CASE_ID_SIZE];
	unsigned char buf[1024];
	uint64_t seq = 0;
	size_t len;

	subj.nhs_number = "9434765919";
	subj.family_name = "Reed";
	subj.date_of_birth = (char *)dob;
	subj.postcode = "NE61 1AA";
	ev.event_id = (char *)id;
	ev.agency = (char *)agency;
	ev.occurred_at = occurred;
	ev.recorded_at = occurred;
	ev.subject = &subj;
	ev.category = category;
	ev.severity = sev;
	len = mash__v1__agency_event__get_packed_size(&ev);
	ck_assert_uint_lt(len, sizeof(buf));
	mash__v1__agency_event__pack(&ev, buf);
	memset(&ss, 0, sizeof(ss));
	ss.nhs_number = subj.nhs_number;
	ss.family_name = subj.family_name;
	ss.date_of_birth = dob;
	ss.postcode = subj.postcode;
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_store_case_link(fx.st, &ss, case_id, NULL),
	                 MASH_OK);
	memset(&se, 0, sizeof(se));
	se.case_id = case_id;
	se.agency = agency;
	se.event_id = id;
	se.category = category;
	se.severity = sev;
	se.occurred_at = occurred;
	se.recorded_at = occurred;
	se.received_at = fx.now;
	se.envelope = buf;
	se.envelope_len = len;
	se.payload = buf;
	se.payload_len = len;
	ck_assert_int_eq(mash_store_event_insert(fx.st, &se, NULL), MASH_OK);
	ck_assert_int_eq(
	    mashd_triggers_on_event(fx.t, case_id, agency, id, &seq), MASH_OK);
	if (fx.rollback) {
		ck_assert_int_eq(mash_store_rollback(fx.st), MASH_OK);
		return seq;
	}
	/* Queued in the outbox by the commit, not yet published. */
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	if (!fx.no_flush)
		(void)flush();
	return seq;
}

static const struct sent *
sent_to(const char *principal, const char *kind, size_t *count)
{
	char topic[128];
	const struct sent *last = NULL;
	size_t i;

	snprintf(topic, sizeof(topic), "mash/v1/inbox/%s", principal);
	*count = 0;
	for (i = 0; i < fx.n_sent; i++) {
		if (strcmp(fx.sent[i].topic, topic) == 0 &&
		    strcmp(fx.sent[i].msg->kind, kind) == 0) {
			(*count)++;
			last = &fx.sent[i];
		}
	}
	return last;
}

/* Number of audit records of type (by its JSON name). */
static size_t
audit_count(const char *type)
{
	uint64_t size = 0, s;
	unsigned char root[MASH_MERKLE_HASH_LEN];
	char needle[64];
	size_t n = 0;

	ck_assert_int_eq(mash_aud_tree(fx.aud, &size, root), MASH_OK);
	snprintf(needle, sizeof(needle), "\"type\":\"%s\"", type);
	for (s = 1; s <= size; s++) {
		char *rec = NULL;
		size_t len = 0;

		ck_assert_int_eq(mash_aud_record_bytes(fx.st, s, &rec, &len),
		                 MASH_OK);
		if (strstr(rec, needle) != NULL)
			n++;
		mash_free(rec);
	}
	return n;
}

#define TEEN_DOB "2011-05-14"
#define CAT(x)   MASH__V1__CATEGORY__##x

START_TEST(test_trigger_reaches_each_attendee_once_with_both_events)
{
	const struct sent *s;
	uint64_t seq;
	size_t c;

	ck_assert_uint_eq(ingest("police", "da-1", CAT(DOMESTIC_ABUSE), 3,
	                         fx.now - 10 * DAY, TEEN_DOB),
	                  0);
	ck_assert_uint_eq(fx.n_sent, 0);
	fx.now += HOUR;
	seq =
	    ingest("health", "inj-1", CAT(INJURY), 3, fx.now - HOUR, TEEN_DOB);
	ck_assert_uint_gt(seq, 0);
	ck_assert_uint_eq(fx.n_sent, 4);
	s = sent_to("sw.sam", "raised", &c);
	ck_assert_uint_eq(c, 1);
	ck_assert_str_eq(s->msg->rule_id, "s47.multi-agency");
	ck_assert_uint_eq(s->msg->n_contributing_events, 2);
	ck_assert_str_eq(s->msg->contributing_events[0], "police/da-1");
	ck_assert_str_eq(s->msg->contributing_events[1], "health/inj-1");
	ck_assert_uint_eq(s->msg->level, 4);
	ck_assert_uint_eq(s->msg->audit_seq, seq);
	ck_assert_int_eq(s->msg->discussion_due_by,
	                 mash_cal_end_of_day_ms(D("2026-11-03")));
	ck_assert_uint_eq(s->msg->n_required_attendees, 4);
	ck_assert_ptr_nonnull(sent_to("swm.taylor", "raised", &c));
	ck_assert_ptr_nonnull(sent_to("police.pp1", "raised", &c));
	ck_assert_ptr_nonnull(sent_to("health.nurse1", "raised", &c));
	ck_assert_ptr_null(sent_to("school.dsl1", "raised", &c));
	ck_assert_ptr_null(sent_to("manager.morgan", "raised", &c));
	ck_assert_uint_eq(audit_count("TRIGGER_RAISED"), 1);
	ck_assert_uint_eq(audit_count("TRIGGER_DELIVERY"), 4);
	/* referral + assessment (first event), strategy (the trigger). */
	ck_assert_uint_eq(audit_count("CLOCK_SET"), 3);
}
END_TEST

/* Police domestic abuse, then a health injury an hour later: the
 * multi-agency trigger, raised to its four attendees. */
static void
raise_multi_agency(void)
{
	ingest("police", "da-1", CAT(DOMESTIC_ABUSE), 3, fx.now - 10 * DAY,
	       TEEN_DOB);
	fx.now += HOUR;
	ck_assert_uint_gt(
	    ingest("health", "inj-1", CAT(INJURY), 3, fx.now - HOUR, TEEN_DOB),
	    0);
}

START_TEST(test_a_messages_seals_run_together_and_a_keyless_one_is_held)
{
	size_t c;

	close_all();
	fx.use_many = 1;
	open_all();
	raise_multi_agency();
	/* Four attendees, sealed in one call; the one without a key is
	 * held (audited as such, not published), the others delivered. */
	ck_assert_uint_eq(fx.many_calls, 1);
	ck_assert_uint_eq(fx.many_jobs, 4);
	ck_assert_uint_eq(fx.n_sent, 3);
	ck_assert_ptr_nonnull(sent_to("sw.sam", "raised", &c));
	ck_assert_ptr_nonnull(sent_to("swm.taylor", "raised", &c));
	ck_assert_ptr_nonnull(sent_to("police.pp1", "raised", &c));
	ck_assert_ptr_null(sent_to("health.nurse1", "raised", &c));
	ck_assert_uint_eq(audit_count("TRIGGER_DELIVERY"), 3);
	ck_assert_uint_eq(audit_count("DELIVERY_HELD"), 1);
	ck_assert_uint_eq(outbox_count(), 0); /* the held row is not pending */
}
END_TEST

START_TEST(test_views_of_one_message_are_taken_with_the_memo_on_then_off)
{
	close_all();
	fx.use_sees = 1;
	open_all();
	raise_multi_agency();
	/* Four attendees looked at two contributing events, all while the
	 * memo was on; it was switched on once for the message and is off
	 * again (nothing kept past the message). */
	ck_assert_uint_eq(fx.n_sent, 4);
	ck_assert_uint_eq(fx.sees_calls, 8);
	ck_assert_uint_eq(fx.sees_off, 0);
	ck_assert_uint_eq(fx.memo_ons, 1);
	ck_assert_int_eq(fx.memo_on, 0);
}
END_TEST

START_TEST(test_update_goes_to_new_attendees_too)
{
	size_t c;

	ingest("police", "da-1", CAT(DOMESTIC_ABUSE), 4, fx.now, TEEN_DOB);
	ck_assert_uint_eq(fx.n_sent, 4);
	ingest("education", "att-1", CAT(NEGLECT), 3, fx.now, TEEN_DOB);
	ck_assert_ptr_nonnull(sent_to("school.dsl1", "updated", &c));
	ck_assert_uint_eq(c, 1);
	ck_assert_ptr_nonnull(sent_to("sw.sam", "updated", &c));
	ck_assert_uint_eq(audit_count("TRIGGER_UPDATED"), 1);
	ck_assert_uint_eq(audit_count("TRIGGER_RAISED"), 1);
}
END_TEST

START_TEST(test_escalation_to_manager_exactly_once_across_reopen)
{
	const struct sent *s;
	size_t n = 99, c;
	int64_t due = mash_cal_end_of_day_ms(D("2026-11-03"));

	ingest("police", "da-1", CAT(DOMESTIC_ABUSE), 3, fx.now - 10 * DAY,
	       TEEN_DOB);
	ingest("health", "inj-1", CAT(INJURY), 3, fx.now, TEEN_DOB);
	fx.now = due;
	tick(&n);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mashd_triggers_next_due_in(fx.t), 1);
	/* Restart between trigger and due time. */
	close_all();
	open_all();
	fx.now = due + 1;
	tick(&n);
	ck_assert_uint_eq(n, 2); /* referral decision and strategy */
	s = sent_to("manager.morgan", "escalated", &c);
	ck_assert_uint_eq(c, 2);
	ck_assert_int_eq(s->msg->discussion_due_by, due);
	ck_assert_ptr_nonnull(strstr(s->msg->reason, "overdue"));
	ck_assert_uint_eq(audit_count("ESCALATION"), 2);
	ck_assert_ptr_null(sent_to("sw.sam", "escalated", &c));
	close_all();
	open_all();
	fx.now = due + 5 * DAY;
	tick(&n);
	ck_assert_uint_eq(n, 0);
	sent_to("manager.morgan", "escalated", &c);
	ck_assert_uint_eq(c, 2);
}
END_TEST

START_TEST(test_strategy_discussion_held_stops_escalation)
{
	size_t n = 99;
	int64_t due = mash_cal_end_of_day_ms(D("2026-11-02"));

	ingest("police", "da-1", CAT(DOMESTIC_ABUSE), 4, fx.now, TEEN_DOB);
	ingest("social-care", "rd-1", CAT(REFERRAL_DECISION), 0, fx.now,
	       TEEN_DOB);
	ingest("social-care", "sd-1", CAT(STRATEGY_DISCUSSION_HELD), 0, fx.now,
	       TEEN_DOB);
	fx.now = due + HOUR;
	ck_assert_int_eq(mashd_triggers_tick(fx.t, &n), MASH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(audit_count("ESCALATION"), 0);
	/* "closed" is audited as an update of the trigger. */
	ck_assert_uint_eq(audit_count("TRIGGER_UPDATED"), 1);
}
END_TEST

START_TEST(test_failed_publish_keeps_trigger_in_outbox_until_taken)
{
	size_t n = 9, c;

	fx.fail_publish = 1;
	ingest("police", "da-1", CAT(SEXUAL_ABUSE), 3, fx.now, TEEN_DOB);
	ck_assert_uint_eq(fx.n_sent, 0);
	ck_assert_uint_eq(audit_count("TRIGGER_DELIVERY"), 4);
	ck_assert_uint_eq(outbox_count(), 4);
	tick(&n);
	ck_assert_uint_eq(fx.n_sent, 0);
	ck_assert_uint_eq(outbox_count(), 4);
	ck_assert_int_eq(flush(), MASH_ERR_MQTT);
	fx.fail_publish = 0;
	tick(&n);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(fx.n_sent, 4);
	ck_assert_uint_eq(outbox_count(), 0);
	ck_assert_ptr_nonnull(sent_to("sw.sam", "raised", &c));
	ck_assert_uint_eq(c, 1);
	/* Audited once, when it was committed to the outbox. */
	ck_assert_uint_eq(audit_count("TRIGGER_DELIVERY"), 4);
	/* Delivered once: nothing more at the next tick. */
	tick(&n);
	ck_assert_uint_eq(fx.n_sent, 4);
}
END_TEST

START_TEST(test_rollback_leaves_no_trigger_delivery)
{
	fx.rollback = 1;
	ingest("police", "da-1", CAT(SEXUAL_ABUSE), 3, fx.now, TEEN_DOB);
	ck_assert_uint_eq(outbox_count(), 0);
	ck_assert_uint_eq(audit_count("TRIGGER_DELIVERY"), 0);
	ck_assert_uint_eq(audit_count("TRIGGER_RAISED"), 0);
	ck_assert_int_eq(flush(), MASH_OK);
	ck_assert_uint_eq(fx.n_sent, 0);
}
END_TEST

START_TEST(test_outbox_trigger_survives_reopen)
{
	size_t c;

	fx.no_flush = 1;
	ingest("police", "da-1", CAT(SEXUAL_ABUSE), 3, fx.now, TEEN_DOB);
	ck_assert_uint_eq(outbox_count(), 4);
	/* A crash after the commit: nothing in memory survives. */
	close_all();
	open_all();
	ck_assert_uint_eq(outbox_count(), 4);
	ck_assert_int_eq(flush(), MASH_OK);
	ck_assert_uint_eq(fx.n_sent, 4);
	ck_assert_uint_eq(outbox_count(), 0);
	ck_assert_ptr_nonnull(sent_to("sw.sam", "raised", &c));
	ck_assert_uint_eq(c, 1);
}
END_TEST

START_TEST(test_infant_injury_triggers_with_dob_from_payload)
{
	size_t c;

	/* Born 5 December 2025: 332 days old on 2 November 2026. */
	ingest("health", "inj-1", CAT(INJURY), 1, fx.now, "2025-12-05");
	ck_assert_ptr_nonnull(sent_to("sw.sam", "raised", &c));
	ck_assert_str_eq(fx.sent[0].msg->rule_id, "s47.serious-category");
}
END_TEST

START_TEST(test_test_clock_reads_file_and_offset)
{
	struct mashd_test_clock storage;
	struct mash_clock c;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/clock", fx.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("1795000000000\n", f);
	fclose(f);
	unsetenv("MASHD_TEST_CLOCK_OFFSET_MS");
	setenv("MASHD_TEST_CLOCK_FILE", path, 1);
	ck_assert_int_eq(mashd_test_clock_from_env(&storage, &c), 1);
	ck_assert_int_eq(mash_clock_now(&c), 1795000000000LL);
	f = fopen(path, "w");
	fputs("1795000000500", f);
	fclose(f);
	ck_assert_int_eq(mash_clock_now(&c), 1795000000500LL);
	unsetenv("MASHD_TEST_CLOCK_FILE");
	setenv("MASHD_TEST_CLOCK_OFFSET_MS", "86400000", 1);
	ck_assert_int_eq(mashd_test_clock_from_env(&storage, &c), 1);
	ck_assert_int_gt(mash_clock_now(&c) -
	                     mash_clock_now(mash_clock_system()),
	                 86400000LL - 1000);
	unsetenv("MASHD_TEST_CLOCK_OFFSET_MS");
	ck_assert_int_eq(mashd_test_clock_from_env(&storage, &c), 0);
}
END_TEST

START_TEST(test_principals_from_shipped_directory)
{
	char path[4096], err[256];
	const char *names[8];
	struct mash_dir *dir = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/policy/directory.cfg",
	         getenv("MASH_SOURCE_DIR"));
	ck_assert_msg(mash_dir_load(path, &dir, err, sizeof(err)) == MASH_OK,
	              "%s", err);
	ck_assert_int_eq(mashd_triggers_principals_from_dir(
	                     dir, "la-social-worker", names, 8, &n),
	                 MASH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "sw.sam");
	ck_assert_int_eq(mashd_triggers_principals_from_dir(dir, "mash-manager",
	                                                    names, 8, &n),
	                 MASH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(names[0], "manager.morgan");
	ck_assert_int_eq(
	    mashd_triggers_principals_from_dir(dir, "nobody", names, 8, &n),
	    MASH_OK);
	ck_assert_uint_eq(n, 0);
	mash_dir_free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("triggers");
	TCase *tc = tcase_create("triggers");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(
	    tc, test_trigger_reaches_each_attendee_once_with_both_events);
	tcase_add_test(
	    tc, test_a_messages_seals_run_together_and_a_keyless_one_is_held);
	tcase_add_test(
	    tc, test_views_of_one_message_are_taken_with_the_memo_on_then_off);
	tcase_add_test(tc, test_update_goes_to_new_attendees_too);
	tcase_add_test(tc,
	               test_escalation_to_manager_exactly_once_across_reopen);
	tcase_add_test(tc, test_strategy_discussion_held_stops_escalation);
	tcase_add_test(tc,
	               test_failed_publish_keeps_trigger_in_outbox_until_taken);
	tcase_add_test(tc, test_rollback_leaves_no_trigger_delivery);
	tcase_add_test(tc, test_outbox_trigger_survives_reopen);
	tcase_add_test(tc, test_infant_injury_triggers_with_dob_from_payload);
	tcase_add_test(tc, test_test_clock_reads_file_and_offset);
	tcase_add_test(tc, test_principals_from_shipped_directory);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
