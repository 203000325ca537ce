/*
 * it_daemon_policy.c - the real mashd with the repository's policy
 * (policy/default.cfg + s47.cfg) and directory: the post-store hooks run
 * inside the event's transaction (sharing DECISION for every principal,
 * SharedRecords delivered to inboxes signed by mashd, the s47 trigger of
 * the demo story raised at its fourth agency), the policy load is
 * audited, and signed audit checkpoints are published retained.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "crypto/env.h"
#include "crypto/trust.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"
#include "support/sealed_inbox.h"

static struct mash_mashd_fx *fx;

static void
setup(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char extra[2048];

	ck_assert_ptr_nonnull(src);
	snprintf(extra, sizeof(extra),
	         "policy = \"%s/policy/default.cfg\";\n"
	         "directory = \"@DIRECTORY@\";\n"
	         "audit = { checkpoint_every_records = 5; "
	         "checkpoint_every_ms = 500; };\n",
	         src);
	fx = mash_mashd_fx_new(extra);
	ck_assert_ptr_nonnull(fx);
	ck_assert_int_eq(mash_mashd_fx_start(fx), 0);
}

static void
teardown(void)
{
	mash_mashd_fx_free(fx);
	fx = NULL;
}

static int64_t
count(const char *sql)
{
	return mash_mashd_fx_sql_int(fx, sql);
}

static Mash__V1__Receipt *
send_and_receipt(Mash__V1__AgencyEvent *ev)
{
	Mash__V1__Receipt *r = NULL;

	ck_assert_int_eq(mash_mashd_fx_send(fx, ev), 0);
	ck_assert_int_eq(mash_mashd_fx_receipt(fx, 20000, &r, NULL), 0);
	ck_assert_str_eq(r->event_id, ev->event_id);
	return r;
}

static struct mash_mq *
listener(const char *id, const char *filter)
{
	struct mash_mq_opts o;
	struct mash_test_tls tls_h;
	struct mash_mq *mq = NULL;

	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(fx->broker, MASH_TEST_HARNESS, &tls_h, &o);
	o.client_id = id;
	o.clean_start = 1;
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_OK);
	ck_assert_int_eq(mash_mq_subscribe(mq, filter, 5000), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(mq, 10000), MASH_OK);
	return mq;
}

/* Next message on mq, verified as signed by mashd with payload type
 * type; returns the opened envelope. */
static struct mash_env_opened *
next_signed(struct mash_mq *mq, const char *type, char *topic, size_t tsz)
{
	struct mash_trust *t = NULL;
	struct mash_mq_msg *m = NULL;
	struct mash_env_opened *o = NULL;
	char why[256], enc[700];

	ck_assert_int_eq(mash_mq_next(mq, 20000, &m), MASH_OK);
	if (topic != NULL)
		snprintf(topic, tsz, "%s", m->topic);
	ck_assert_int_eq(mash_trust_load(fx->mashd_trust, &t, why, sizeof(why)),
	                 MASH_OK);
	/* Inbox deliveries are sealed to their principal (issue 25). */
	if (strncmp(m->topic, "mash/v1/inbox/", 14) == 0)
		ck_assert_msg(
		    mash_test_open_delivery(
		        mash_test_broker_enc_dir(fx->broker, enc, sizeof(enc)),
		        t, m, type, &o, why, sizeof(why)) == MASH_OK,
		    "%s", why);
	else
		ck_assert_msg(mash_env_open(t, m->payload, m->len, type,
		                            "mashd", &o, why,
		                            sizeof(why)) == MASH_OK,
		              "%s", why);
	mash_trust_free(t);
	mash_mq_msg_free(m);
	return o;
}

START_TEST(policy_load_is_audited_and_every_principal_gets_a_decision)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event(
	    "police", "b1000000-0000-4000-8000-000000000001");
	struct mash_mq *inbox = listener("it-inbox", "mash/v1/inbox/+");
	struct mash_env_opened *o;
	Mash__V1__SharedRecord *rec;
	Mash__V1__Receipt *r;
	char topic[300];

	ck_assert_int_eq(count("SELECT count(*) FROM audit_log WHERE type = "
	                       "'POLICY_LOAD'"),
	                 1);
	r = send_and_receipt(ev);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	/* One DECISION per principal of the directory (10), in the same
	 * commit as the event. */
	ck_assert_int_eq(count("SELECT count(*) FROM audit_log WHERE type = "
	                       "'DECISION'"),
	                 10);
	ck_assert_int_eq(count("SELECT count(*) FROM audit_log WHERE type = "
	                       "'EVENT_RECEIVED'"),
	                 1);
	/* At least one recipient was sent a SharedRecord, signed by mashd
	 * (queued with the event; DELIVERY follows the broker's PUBACK). */
	ck_assert_int_gt(count("SELECT count(*) FROM audit_log WHERE type = "
	                       "'DELIVERY_QUEUED'"),
	                 0);
	o = next_signed(inbox, "mash.v1.SharedRecord", topic, sizeof(topic));
	ck_assert(strncmp(topic, "mash/v1/inbox/", 14) == 0);
	rec = mash__v1__shared_record__unpack(NULL, o->payload_len, o->payload);
	ck_assert_ptr_nonnull(rec);
	ck_assert_str_eq(rec->event_id, ev->event_id);
	ck_assert_str_eq(rec->case_id, r->case_id);
	mash__v1__shared_record__free_unpacked(rec, NULL);
	mash_env_opened_free(o);
	mash_mashd_fx_receipt_free(r);
	mash_mq_free(inbox);
	mash_mashd_fx_event_free(ev);
}
END_TEST

START_TEST(story_raises_s47_accumulation_trigger_at_the_fourth_agency)
{
	static const struct {
		const char *agency;
		Mash__V1__Category cat;
		unsigned sev;
	} story[] = {
	    {"police", MASH__V1__CATEGORY__MISSING_EPISODE, 2},
	    {"education", MASH__V1__CATEGORY__SCHOOL_ATTENDANCE, 1},
	    {"housing", MASH__V1__CATEGORY__HOMELESSNESS, 2},
	    {"health", MASH__V1__CATEGORY__SELF_HARM, 3},
	};
	Mash__V1__AgencyEvent *ev;
	Mash__V1__Receipt *r;
	char id[64];
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "c1000000-0000-4000-8000-%012zu", i);
		ev = mash_mashd_fx_event(story[i].agency, id);
		ev->category = story[i].cat;
		ev->severity = story[i].sev;
		r = send_and_receipt(ev);
		ck_assert_int_eq(r->status,
		                 MASH__V1__RECEIPT__STATUS__ACCEPTED);
		ck_assert_int_eq(count("SELECT count(*) FROM audit_log WHERE "
		                       "type = 'TRIGGER_RAISED'"),
		                 i == 3 ? 1 : 0);
		mash_mashd_fx_receipt_free(r);
		mash_mashd_fx_event_free(ev);
	}
	ck_assert_int_gt(count("SELECT count(*) FROM audit_log WHERE type = "
	                       "'TRIGGER_DELIVERY'"),
	                 0);
}
END_TEST

START_TEST(signed_checkpoint_is_published_retained)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event(
	    "police", "d1000000-0000-4000-8000-000000000001");
	struct mash_mq *cp;
	struct mash_env_opened *o;
	Mash__V1__AuditCheckpoint *c;
	Mash__V1__Receipt *r;

	r = send_and_receipt(ev);
	mash_mashd_fx_receipt_free(r);
	/* Subscribe after the fact: the checkpoint is retained. */
	mash_test_sleep_ms(1500);
	cp = listener("it-cp", "mash/v1/audit/checkpoints");
	o = next_signed(cp, "mash.v1.AuditCheckpoint", NULL, 0);
	c = mash__v1__audit_checkpoint__unpack(NULL, o->payload_len,
	                                       o->payload);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_gt(c->tree_size, 0);
	ck_assert_uint_eq(c->root_hash.len, 32);
	mash__v1__audit_checkpoint__free_unpacked(c, NULL);
	mash_env_opened_free(o);
	mash_mq_free(cp);
	mash_mashd_fx_event_free(ev);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("it_daemon_policy");
	TCase *tc = tcase_create("policy");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(
	    tc, policy_load_is_audited_and_every_principal_gets_a_decision);
	tcase_add_test(
	    tc, story_raises_s47_accumulation_trigger_at_the_fourth_agency);
	tcase_add_test(tc, signed_checkpoint_is_published_retained);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
