#define _GNU_SOURCE /* memmem */
/*
 * Unit tests for daemon/handle_picture: mashd's answer to a picture
 * request, against a real SQLite store with the SHARED-DEFS story
 * ingested, the repository's policy/default.cfg and directory.cfg, real
 * keys and a trust store. Publishing is captured (env.publish), so every
 * answer's topic, correlation data and signature can be checked, and a
 * publish failure can be injected.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/aud.h"
#include "broker-adapters/mq.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "daemon/handle_picture.h"
#include "event/evt.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "s47/s47.h"
#include "s47/s47_store.h"
#include "store/store.h"
#include "store/store_test.h"
#include "support/crypto_fixture.h"
#include "support/sealed_inbox.h"
#include "support/story.h"

#define MAX_PUBS 16
#define NOW_MS   1795435200000LL /* 2026-11-23 12:00 UTC */

struct pub {
	char topic[MASH_MAX_TOPIC + 1];
	uint8_t *buf;
	size_t len;
	unsigned char corr[MASH_MQ_MAX_CORRELATION];
	size_t corrlen;
	int64_t granted_at_publish; /* PICTURE_GRANTED+DENIED rows then */
};

static const char *const signers[] = {
    "mashd",       "police",        "health",
    "education",   "yot",           "housing",
    "social-care", "analyst.amara", "housing.officer1",
    "auditor.ada", "stranger.sam",
};
#define N_SIGNERS (sizeof(signers) / sizeof(signers[0]))

static struct {
	char dir[256];
	char trust_dir[320];
	char db[320];
	struct mash_key *keys[N_SIGNERS];
	struct mash_trust *trust;
	struct mash_store *st;
	struct mash_aud *aud;
	struct mash_policy *pol;
	struct mash_dir *directory;
	struct mash_s47_policy *s47;
	int64_t now;
	struct mash_clock clock;
	struct mashd_picture_env env;
	struct pub pubs[MAX_PUBS];
	size_t npubs;
	int fail_publish;
	unsigned corr_seq;
} fx;

static struct mash_key *
key_of(const char *signer)
{
	size_t i;

	for (i = 0; i < N_SIGNERS; i++)
		if (strcmp(signers[i], signer) == 0)
			return fx.keys[i];
	ck_abort_msg("no key for %s", signer);
	return NULL;
}

static int64_t
audit_count(const char *type, const char *recipient)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(
	        mash_store_sqlite(fx.st),
	        "SELECT count(*) FROM audit_log WHERE type = ?1 AND "
	        "(?2 IS NULL OR recipient = ?2)",
	        -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	if (recipient != NULL)
		sqlite3_bind_text(st, 2, recipient, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static char *
audit_record(uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	char *r = NULL;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(mash_store_sqlite(fx.st),
	                       "SELECT record FROM audit_log WHERE seq = ?1",
	                       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		r = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return r;
}

static int
capture(void *ctx, const char *topic, const uint8_t *buf, size_t len,
        const struct mash_mq_props *props)
{
	struct pub *p;

	(void)ctx;
	if (fx.fail_publish)
		return MASH_ERR_MQTT;
	ck_assert_uint_lt(fx.npubs, MAX_PUBS);
	p = &fx.pubs[fx.npubs++];
	ck_assert_int_eq(mash_strlcpy(p->topic, topic, sizeof(p->topic)),
	                 MASH_OK);
	p->buf = malloc(len);
	ck_assert_ptr_nonnull(p->buf);
	memcpy(p->buf, buf, len);
	p->len = len;
	if (props != NULL && props->correlation != NULL) {
		memcpy(p->corr, props->correlation, props->correlation_len);
		p->corrlen = props->correlation_len;
	}
	/* What the audit trail holds at the moment of publishing. */
	p->granted_at_publish = audit_count("PICTURE_GRANTED", NULL) +
	                        audit_count("PICTURE_DENIED", NULL);
	return MASH_OK;
}

/* The daemon's ingest path, reduced: verify, decode, link, store, s47. */
static void
ingest(size_t i)
{
	const struct mash_test_story_event *e = mash_test_story_get(i);
	struct mash_env_opened *o = NULL;
	Mash__V1__AgencyEvent *ev = NULL;
	struct mash_store_subject subj;
	struct mash_store_event se;
	struct mash_store_event_list *l = NULL;
	struct mash_s47_fact hist[16];
	struct mash_s47_outcome *out;
	char case_id[MASH_STORE_CASE_ID_SIZE];
	char why[256];
	uint8_t *env = NULL;
	size_t len = 0, j, cur = 0;

	ck_assert_int_eq(
	    mash_test_story_seal(i, key_of(e->agency), "k1", &env, &len),
	    MASH_OK);
	ck_assert_int_eq(mash_env_open(fx.trust, env, len,
	                               "mash.v1.AgencyEvent", e->agency, &o,
	                               why, sizeof(why)),
	                 MASH_OK);
	ck_assert_int_eq(
	    mash_evt_decode(o->payload, o->payload_len, &ev, why, sizeof(why)),
	    MASH_OK);
	ck_assert_int_eq(
	    mash_evt_validate(ev, e->agency, fx.now, why, sizeof(why)),
	    MASH_OK);
	memset(&subj, 0, sizeof(subj));
	subj.nhs_number = ev->subject->nhs_number;
	subj.given_name = ev->subject->given_name;
	subj.family_name = ev->subject->family_name;
	subj.date_of_birth = ev->subject->date_of_birth;
	subj.postcode = ev->subject->postcode;
	subj.sex = ev->subject->sex;
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_store_case_link(fx.st, &subj, case_id, NULL),
	                 MASH_OK);
	memset(&se, 0, sizeof(se));
	se.case_id = case_id;
	se.agency = ev->agency;
	se.event_id = ev->event_id;
	se.category = ev->category;
	se.severity = ev->severity;
	se.consent = ev->consent;
	se.occurred_at = ev->occurred_at;
	se.recorded_at = ev->recorded_at;
	se.received_at = fx.now;
	se.envelope = env;
	se.envelope_len = len;
	se.payload = o->payload;
	se.payload_len = o->payload_len;
	ck_assert_int_eq(mash_store_event_insert(fx.st, &se, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_case_events(fx.st, case_id, &l), MASH_OK);
	ck_assert_uint_le(l->n, 16);
	for (j = 0; j < l->n; j++) {
		Mash__V1__AgencyEvent *x = NULL;

		ck_assert_int_eq(mash_evt_decode(l->v[j].payload,
		                                 l->v[j].payload_len, &x, why,
		                                 sizeof(why)),
		                 MASH_OK);
		ck_assert_int_eq(mash_s47_fact_from_event(x, &hist[j]),
		                 MASH_OK);
		if (strcmp(x->event_id, ev->event_id) == 0)
			cur = j;
		mash_evt_free(x);
	}
	out = calloc(1, sizeof(*out));
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(mash_s47_store_apply(fx.st, fx.s47, NULL, case_id,
	                                      hist, l->n, cur, fx.now, out),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	free(out);
	mash_store_event_list_free(l);
	mash_evt_free(ev);
	mash_env_opened_free(o);
	mash_free(env);
}

static void
setup(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char path[512], err[512];
	size_t i;

	ck_assert_ptr_nonnull(src);
	memset(&fx, 0, sizeof(fx));
	mash_test_tmpdir(fx.dir, sizeof(fx.dir));
	(void)mash_snprintf(fx.trust_dir, sizeof(fx.trust_dir), "%s/trust",
	                    fx.dir);
	(void)mash_snprintf(fx.db, sizeof(fx.db), "%s/mash.db", fx.dir);
	for (i = 0; i < N_SIGNERS; i++)
		ck_assert_int_eq(mash_test_signer(fx.trust_dir, signers[i],
		                                  "k1", &fx.keys[i]),
		                 MASH_OK);
	ck_assert_int_eq(
	    mash_trust_load(fx.trust_dir, &fx.trust, err, sizeof(err)),
	    MASH_OK);
	fx.now = NOW_MS;
	mash_clock_manual(&fx.clock, &fx.now);
	ck_assert_int_eq(mash_store_open(fx.db, &fx.st), MASH_OK);
	mash_store_set_clock(fx.st, &fx.clock);
	ck_assert_int_eq(mash_aud_open(fx.st, &fx.clock, NULL, &fx.aud),
	                 MASH_OK);
	ck_assert_int_eq(mash_s47_store_init(fx.st), MASH_OK);
	(void)mash_snprintf(path, sizeof(path), "%s/policy/default.cfg", src);
	ck_assert_msg(mash_pol_load(path, &fx.pol, err, sizeof(err)) == MASH_OK,
	              "%s", err);
	ck_assert_msg(mash_s47_policy_load(path, &fx.s47, err, sizeof(err)) ==
	                  MASH_OK,
	              "%s", err);
	/* Every principal with an encryption key, as deployed (issue 25). */
	(void)mash_snprintf(path, sizeof(path), "%s/policy/directory.cfg", src);
	ck_assert_int_eq(mash_test_hub_enc_keys(fx.dir, path), 0);
	(void)mash_snprintf(path, sizeof(path), "%s/directory.cfg", fx.dir);
	ck_assert_msg(mash_dir_load(path, &fx.directory, err, sizeof(err)) ==
	                  MASH_OK,
	              "%s", err);
	for (i = 0; i < mash_test_story_count(); i++)
		ingest(i);

	fx.env.store = fx.st;
	fx.env.aud = fx.aud;
	fx.env.pol = fx.pol;
	fx.env.dir = fx.directory;
	fx.env.trust = fx.trust;
	fx.env.key = key_of("mashd");
	fx.env.signer = "mashd";
	fx.env.key_id = "k1";
	fx.env.clock = &fx.clock;
	fx.env.publish = capture;
	fx.env.publish_ctx = NULL;
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < fx.npubs; i++)
		free(fx.pubs[i].buf);
	for (i = 0; i < N_SIGNERS; i++)
		mash_key_free(fx.keys[i]);
	mash_dir_free(fx.directory);
	mash_s47_policy_free(fx.s47);
	mash_pol_free(fx.pol);
	mash_aud_free(fx.aud);
	mash_store_close(fx.st);
	mash_trust_free(fx.trust);
	mash_test_rmtree(fx.dir);
}

/* ------------------------------------------------------------------ */

struct req {
	const char *principal;      /* signs */
	const struct mash_key *key; /* NULL: the principal's own */
	const char *purpose;
	const char *nhs;
	const char *case_id;
	const char *bg;
	const char *response_topic; /* NULL: own inbox; "" none */
};

/* Handle one request; returns the handler's rc, outcome in *o. */
static int
handle(const struct req *r, struct mashd_picture_outcome *o,
       unsigned char corr[8])
{
	Mash__V1__PictureRequest pr;
	Mash__V1__Subject subj;
	struct mash_mq_msg m;
	char inbox[128];
	uint8_t *env = NULL;
	size_t len = 0;
	int rc;

	mash__v1__picture_request__init(&pr);
	mash__v1__subject__init(&subj);
	if (r->case_id != NULL)
		pr.case_id = (char *)r->case_id;
	if (r->nhs != NULL) {
		subj.nhs_number = (char *)r->nhs;
		pr.subject = &subj;
	}
	pr.purpose = (char *)r->purpose;
	if (r->bg != NULL)
		pr.break_glass_reason = (char *)r->bg;
	ck_assert_int_eq(
	    mash_env_seal_msg(r->key ? r->key : key_of(r->principal),
	                      r->principal, "k1", &pr.base, &env, &len),
	    MASH_OK);
	(void)mash_snprintf(inbox, sizeof(inbox), "mash/v1/inbox/%s",
	                    r->principal);
	memset(&m, 0, sizeof(m));
	m.topic = MASHD_PICTURE_TOPIC;
	m.payload = env;
	m.len = len;
	m.orig_len = len;
	m.response_topic = r->response_topic == NULL ? inbox
	                   : r->response_topic[0]    ? (char *)r->response_topic
	                                             : NULL;
	fx.corr_seq++;
	memset(corr, 0, 8);
	memcpy(corr, &fx.corr_seq, sizeof(fx.corr_seq));
	m.correlation = corr;
	m.correlation_len = 8;
	rc = mashd_handle_picture(&fx.env, &m, o);
	mash_free(env);
	return rc;
}

/* Published message idx opened as its recipient would (verified as
 * mashd's, sealed to the topic's principal, of type). */
static struct mash_env_opened *
open_pub(size_t idx, const char *type)
{
	struct mash_env_opened *o = NULL;
	struct mash_mq_msg m;
	char enc[300], why[256] = "";

	memset(&m, 0, sizeof(m));
	m.topic = fx.pubs[idx].topic;
	m.payload = fx.pubs[idx].buf;
	m.len = fx.pubs[idx].len;
	(void)mash_snprintf(enc, sizeof(enc), "%s/enc", fx.dir);
	ck_assert_msg(mash_test_open_delivery(enc, fx.trust, &m, type, &o, why,
	                                      sizeof(why)) == MASH_OK,
	              "%s", why);
	return o;
}

/* The last published message, verified as mashd's and decoded. */
static Mash__V1__Picture *
answer(size_t idx, const char *want_topic, const unsigned char corr[8])
{
	struct mash_env_opened *o = NULL;
	struct mash_dir_entry de;
	Mash__V1__Picture *p;
	char why[256];
	int clear = 1;

	ck_assert_uint_gt(fx.npubs, idx);
	ck_assert_str_eq(fx.pubs[idx].topic, want_topic);
	ck_assert_uint_eq(fx.pubs[idx].corrlen, 8);
	ck_assert(memcmp(fx.pubs[idx].corr, corr, 8) == 0);
	/* To a principal with a key: sealed. To anyone else: only a
	 * refusal, and clear (nothing of the child in it). */
	if (mash_dir_lookup(fx.directory, want_topic + strlen("mash/v1/inbox/"),
	                    &de) == MASH_OK) {
		o = open_pub(idx, "mash.v1.Picture");
		clear = 0;
	} else {
		ck_assert_msg(mash_env_open(fx.trust, fx.pubs[idx].buf,
		                            fx.pubs[idx].len, "mash.v1.Picture",
		                            "mashd", &o, why,
		                            sizeof(why)) == MASH_OK,
		              "%s", why);
	}
	p = mash__v1__picture__unpack(NULL, o->payload_len, o->payload);
	ck_assert_ptr_nonnull(p);
	if (clear) /* must be a bare refusal */
		ck_assert(p->denied_reason[0] != '\0' && p->n_records == 0);
	mash_env_opened_free(o);
	return p;
}

static const Mash__V1__SharedRecord *
record_of(const Mash__V1__Picture *p, const char *agency, int category)
{
	size_t i;

	for (i = 0; i < p->n_records; i++)
		if (strcmp(p->records[i]->agency, agency) == 0 &&
		    (int)p->records[i]->category == category)
			return p->records[i];
	return NULL;
}

static const char *
field(const Mash__V1__SharedRecord *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_fields; i++)
		if (strcmp(r->fields[i]->key, name) == 0)
			return r->fields[i]->value;
	return NULL;
}

static int
withheld(const Mash__V1__SharedRecord *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_withheld; i++)
		if (strcmp(r->withheld[i], name) == 0)
			return 1;
	return 0;
}

static Mash__V1__Picture *
ask_ok(const char *principal, const char *purpose, const char *bg)
{
	struct req r = {principal, NULL, purpose, MASH_TEST_NHS_JORDAN,
	                NULL,      bg,   NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	char inbox[128];
	size_t before = fx.npubs;

	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	ck_assert(o.answered);
	(void)mash_snprintf(inbox, sizeof(inbox), "mash/v1/inbox/%s",
	                    principal);
	return answer(before, inbox, corr);
}

/* ------------------------------------------------------------------ */

START_TEST(analyst_triage_gets_full_picture_minus_police_intelligence)
{
	Mash__V1__Picture *p = ask_ok("analyst.amara", "mash-triage", NULL);
	const Mash__V1__SharedRecord *r;

	ck_assert_str_eq(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 6);
	ck_assert_uint_eq(p->level, 4);
	ck_assert_str_eq(p->vcl_band, "VERY_HIGH");
	ck_assert(p->rmg_register);
	ck_assert_uint_eq(p->n_agencies_involved, 5);
	ck_assert_str_eq(p->agencies_involved[0], "education"); /* sorted */
	ck_assert_str_eq(p->subject->given_name, "Jordan");
	ck_assert_str_eq(p->subject->nhs_number, MASH_TEST_NHS_JORDAN);
	ck_assert_uint_eq(p->n_open_triggers, 1);
	ck_assert_str_eq(p->open_triggers[0]->rule_id, "s47.accumulation");
	ck_assert_uint_gt(p->open_triggers[0]->n_contributing_events, 3);
	r = record_of(p, "police", MASH__V1__CATEGORY__SEXUAL_EXPLOITATION);
	ck_assert_ptr_nonnull(r);
	ck_assert(withheld(r, "detail.police.intelligence"));
	ck_assert(withheld(r, "summary"));
	r = record_of(p, "health", MASH__V1__CATEGORY__SELF_HARM);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(field(r, "summary"));
	ck_assert(withheld(r, "detail.health.diagnosis"));
	/* Records oldest first, each with its DECISION record. */
	ck_assert_str_eq(p->records[0]->agency, "police");
	ck_assert_uint_gt(p->records[0]->audit_seq, 0);
	ck_assert_uint_gt(p->audit_seq, p->records[5]->audit_seq);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(
    housing_officer_early_help_gets_own_record_and_trigger_with_own_event)
{
	Mash__V1__Picture *p = ask_ok("housing.officer1", "early-help", NULL);

	ck_assert_str_eq(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 1);
	ck_assert_str_eq(p->records[0]->agency, "housing");
	ck_assert_ptr_nonnull(field(p->records[0], "summary"));
	ck_assert_uint_eq(p->n_agencies_involved, 1);
	/* Housing referred, so it is told of the trigger (s47-triggers.md);
	 * the picture lists only the contributing event it may see. */
	ck_assert_uint_eq(p->n_open_triggers, 1);
	ck_assert_uint_eq(p->open_triggers[0]->n_contributing_events, 1);
	ck_assert_ptr_nonnull(
	    strstr(p->open_triggers[0]->contributing_events[0], "housing/"));
	ck_assert_str_eq(p->vcl_band, "");
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(auditor_audit_gets_concerns_without_identity)
{
	Mash__V1__Picture *p = ask_ok("auditor.ada", "audit", NULL);
	size_t i;

	ck_assert_str_eq(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 6);
	ck_assert_str_eq(p->subject->given_name, "");
	ck_assert_str_eq(p->subject->nhs_number, "");
	ck_assert_str_eq(p->subject->date_of_birth, "");
	for (i = 0; i < p->n_records; i++) {
		ck_assert_ptr_null(field(p->records[i], "summary"));
		ck_assert(withheld(p->records[i], "summary"));
		ck_assert_str_eq(p->records[i]->rule_id, "auditor-review");
	}
	/* The auditor reviews the trigger too. */
	ck_assert_uint_eq(p->n_open_triggers, 1);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(audit_is_committed_before_the_answer_is_published)
{
	int64_t before = audit_count("PICTURE_GRANTED", NULL) +
	                 audit_count("PICTURE_DENIED", NULL);
	Mash__V1__Picture *p = ask_ok("analyst.amara", "mash-triage", NULL);

	ck_assert_int_eq(fx.pubs[fx.npubs - 1].granted_at_publish, before + 1);
	ck_assert_int_eq(audit_count("DECISION", "analyst.amara"), 6);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(granted_audit_record_names_purpose_rules_and_fields_not_values)
{
	Mash__V1__Picture *p = ask_ok("analyst.amara", "mash-triage", NULL);
	char *rec = audit_record(p->audit_seq);

	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(strstr(rec, "\"type\":\"PICTURE_GRANTED\""));
	ck_assert_ptr_nonnull(strstr(rec, "\"purpose\":\"mash-triage\""));
	ck_assert_ptr_nonnull(strstr(rec, "mash-triage"));
	ck_assert_ptr_nonnull(strstr(rec, "detail.police.intelligence"));
	ck_assert_ptr_nonnull(strstr(rec, "\"records\":6"));
	ck_assert_ptr_null(strstr(rec, "Jordan"));
	ck_assert_ptr_null(strstr(rec, MASH_TEST_NHS_JORDAN));
	free(rec);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(response_topic_of_another_inbox_is_denied_to_own_inbox)
{
	struct req r = {"housing.officer1",           NULL, "early-help",
	                MASH_TEST_NHS_JORDAN,         NULL, NULL,
	                "mash/v1/inbox/analyst.amara"};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	Mash__V1__Picture *p;
	size_t i;

	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	ck_assert(!o.granted);
	ck_assert_uint_eq(fx.npubs, 1);
	for (i = 0; i < fx.npubs; i++)
		ck_assert_str_ne(fx.pubs[i].topic,
		                 "mash/v1/inbox/analyst.amara");
	p = answer(0, "mash/v1/inbox/housing.officer1", corr);
	ck_assert_ptr_nonnull(strstr(p->denied_reason, "own inbox"));
	ck_assert_uint_eq(p->n_records, 0);
	ck_assert_int_eq(audit_count("PICTURE_DENIED", "housing.officer1"), 1);
	ck_assert_int_eq(audit_count("DECISION", "housing.officer1"), 0);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(missing_response_topic_is_denied)
{
	struct req r = {"analyst.amara",
	                NULL,
	                "mash-triage",
	                MASH_TEST_NHS_JORDAN,
	                NULL,
	                NULL,
	                ""};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	Mash__V1__Picture *p;

	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	p = answer(0, "mash/v1/inbox/analyst.amara", corr);
	ck_assert_str_ne(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 0);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(unknown_key_is_audited_and_not_answered)
{
	struct mash_key *k = NULL;
	struct req r = {"analyst.amara",
	                NULL,
	                "mash-triage",
	                MASH_TEST_NHS_JORDAN,
	                NULL,
	                NULL,
	                NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];

	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	r.key = k;
	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	ck_assert_uint_eq(fx.npubs, 0);
	ck_assert(!o.answered);
	ck_assert_int_eq(o.err, MASH_ERR_BAD_SIGNATURE);
	ck_assert_int_eq(audit_count("PICTURE_DENIED", NULL), 1);
	mash_key_free(k);
}
END_TEST

START_TEST(tampered_request_is_audited_and_not_answered)
{
	Mash__V1__PictureRequest pr;
	struct mash_mq_msg m;
	struct mashd_picture_outcome o;
	uint8_t *env = NULL;
	size_t len = 0;

	mash__v1__picture_request__init(&pr);
	pr.case_id = "C-000000000000";
	pr.purpose = "audit";
	ck_assert_int_eq(mash_env_seal_msg(key_of("auditor.ada"), "auditor.ada",
	                                   "k1", &pr.base, &env, &len),
	                 MASH_OK);
	env[len - 70] ^= 0x01; /* inside the signature or payload */
	memset(&m, 0, sizeof(m));
	m.topic = MASHD_PICTURE_TOPIC;
	m.payload = env;
	m.len = len;
	m.response_topic = "mash/v1/inbox/auditor.ada";
	ck_assert_int_eq(mashd_handle_picture(&fx.env, &m, &o), MASH_OK);
	ck_assert_uint_eq(fx.npubs, 0);
	ck_assert_int_ne(o.err, MASH_OK);
	ck_assert_int_eq(audit_count("PICTURE_DENIED", NULL), 1);
	mash_free(env);
}
END_TEST

START_TEST(wrong_payload_type_and_oversized_are_not_answered)
{
	Mash__V1__Receipt rc;
	struct mash_mq_msg m;
	struct mashd_picture_outcome o;
	uint8_t *env = NULL;
	size_t len = 0;

	mash__v1__receipt__init(&rc);
	rc.event_id = "x";
	ck_assert_int_eq(mash_env_seal_msg(key_of("analyst.amara"),
	                                   "analyst.amara", "k1", &rc.base,
	                                   &env, &len),
	                 MASH_OK);
	memset(&m, 0, sizeof(m));
	m.topic = MASHD_PICTURE_TOPIC;
	m.payload = env;
	m.len = len;
	m.response_topic = "mash/v1/inbox/analyst.amara";
	ck_assert_int_eq(mashd_handle_picture(&fx.env, &m, &o), MASH_OK);
	ck_assert_int_eq(o.err, MASH_ERR_PAYLOAD_TYPE);
	m.oversized = 1;
	ck_assert_int_eq(mashd_handle_picture(&fx.env, &m, &o), MASH_OK);
	ck_assert_int_eq(o.err, MASH_ERR_TOO_BIG);
	ck_assert_uint_eq(fx.npubs, 0);
	ck_assert_int_eq(audit_count("PICTURE_DENIED", NULL), 2);
	mash_free(env);
}
END_TEST

START_TEST(principal_not_in_directory_is_denied)
{
	struct req r = {
	    "stranger.sam", NULL, "mash-triage", MASH_TEST_NHS_JORDAN,
	    NULL,           NULL, NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	Mash__V1__Picture *p;

	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	ck_assert_int_eq(o.err, MASH_ERR_UNKNOWN_PRINCIPAL);
	p = answer(0, "mash/v1/inbox/stranger.sam", corr);
	ck_assert_ptr_nonnull(strstr(p->denied_reason, "directory"));
	ck_assert_int_eq(audit_count("PICTURE_DENIED", "stranger.sam"), 1);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

static const struct {
	const char *purpose;
	const char *nhs;
	const char *case_id;
	const char *bg;
	const char *expect;
} deny_cases[] = {
    {"gossip", MASH_TEST_NHS_JORDAN, NULL, NULL, "unknown purpose"},
    {"mash-triage", NULL, "C-000000000000", NULL, "no such case"},
    {"mash-triage", "9434765918", NULL, NULL, "no case"},
    {"mash-triage", NULL, NULL, NULL, "case_id or subject"},
    {"mash-triage", MASH_TEST_NHS_JORDAN, NULL,
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "break_glass_reason"},
};

START_TEST(bad_requests_are_denied_with_a_reason)
{
	struct req r = {"analyst.amara",
	                NULL,
	                deny_cases[_i].purpose,
	                deny_cases[_i].nhs,
	                deny_cases[_i].case_id,
	                deny_cases[_i].bg,
	                NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	Mash__V1__Picture *p;

	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	ck_assert(!o.granted);
	p = answer(0, "mash/v1/inbox/analyst.amara", corr);
	ck_assert_msg(strstr(p->denied_reason, deny_cases[_i].expect) != NULL,
	              "denied_reason '%s' lacks '%s'", p->denied_reason,
	              deny_cases[_i].expect);
	ck_assert_uint_gt(p->audit_seq, 0);
	ck_assert_int_eq(audit_count("PICTURE_DENIED", "analyst.amara"), 1);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(case_id_lookup_gives_the_same_case)
{
	Mash__V1__Picture *p = ask_ok("analyst.amara", "mash-triage", NULL);
	struct req r = {
	    "analyst.amara", NULL, "mash-triage", NULL, NULL, NULL, NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	Mash__V1__Picture *q;
	char case_id[64];

	ck_assert_int_eq(mash_strlcpy(case_id, p->case_id, sizeof(case_id)),
	                 MASH_OK);
	r.case_id = case_id;
	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	q = answer(1, "mash/v1/inbox/analyst.amara", corr);
	ck_assert_str_eq(q->case_id, p->case_id);
	ck_assert_uint_eq(q->n_records, p->n_records);
	mash__v1__picture__free_unpacked(p, NULL);
	mash__v1__picture__free_unpacked(q, NULL);
}
END_TEST

START_TEST(nothing_granted_is_denied_and_housing_may_break_glass)
{
	struct req r = {"housing.officer1",
	                NULL,
	                "early-help",
	                MASH_TEST_NHS_ALEX,
	                NULL,
	                NULL,
	                NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	Mash__V1__Picture *p;

	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	p = answer(0, "mash/v1/inbox/housing.officer1", corr);
	ck_assert_ptr_nonnull(strstr(p->denied_reason, "no rule grants"));
	ck_assert_str_eq(p->case_id, "");
	/* The refusal says the override is there for this role. */
	ck_assert(p->break_glass_available);
	mash__v1__picture__free_unpacked(p, NULL);
	/* Housing has break-glass under the default policy (CA 2004 s11
	 * duty, rule 8, issue 26): the override is used and audited. */
	r.bg = "please";
	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	ck_assert(o.break_glass);
	p = answer(1, "mash/v1/inbox/housing.officer1", corr);
	ck_assert_str_eq(p->denied_reason, "");
	ck_assert_str_eq(p->break_glass_refused, "");
	ck_assert_int_eq(audit_count("BREAK_GLASS", NULL), 1);
	ck_assert_int_eq(audit_count("PICTURE_DENIED", "housing.officer1"), 1);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

/* Issue 25: no clear fallback. A requester the directory gives no
 * encryption key gets a signed refusal naming nothing of the child, and
 * the bytes on the wire hold no name. */
START_TEST(requester_without_encryption_key_gets_a_refusal_and_no_content)
{
	struct req r = {"analyst.amara",
	                NULL,
	                "mash-triage",
	                MASH_TEST_NHS_JORDAN,
	                NULL,
	                NULL,
	                NULL};
	struct mashd_picture_outcome out;
	struct mash_env_opened *o = NULL;
	Mash__V1__Picture *p;
	const char *src = getenv("MASH_SOURCE_DIR");
	unsigned char corr[8];
	char path[512], err[256], why[256];

	mash_dir_free(fx.directory);
	(void)mash_snprintf(path, sizeof(path), "%s/policy/directory.cfg", src);
	ck_assert_int_eq(mash_dir_load(path, &fx.directory, err, sizeof(err)),
	                 MASH_OK);
	fx.env.dir = fx.directory;
	ck_assert_int_eq(handle(&r, &out, corr), MASH_OK);
	ck_assert_uint_eq(fx.npubs, 1);
	ck_assert_ptr_null(memmem(fx.pubs[0].buf, fx.pubs[0].len, "Jordan", 6));
	ck_assert_ptr_null(memmem(fx.pubs[0].buf, fx.pubs[0].len, "943", 3));
	ck_assert_int_eq(mash_env_open(fx.trust, fx.pubs[0].buf, fx.pubs[0].len,
	                               "mash.v1.Picture", "mashd", &o, why,
	                               sizeof(why)),
	                 MASH_OK);
	p = mash__v1__picture__unpack(NULL, o->payload_len, o->payload);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(p->denied_reason, "no encryption key"));
	ck_assert_uint_eq(p->n_records, 0);
	ck_assert_ptr_null(p->subject);
	mash__v1__picture__free_unpacked(p, NULL);
	mash_env_opened_free(o);
}
END_TEST

START_TEST(break_glass_shows_withheld_fields_audits_and_tells_the_auditor)
{
	Mash__V1__Picture *p;
	const Mash__V1__SharedRecord *r;
	struct mash_env_opened *o = NULL;
	Mash__V1__SharedRecord *note;
	size_t i;

	p = ask_ok("analyst.amara", "mash-triage",
	           "missing tonight; police ask");
	ck_assert(p->break_glass);
	r = record_of(p, "police", MASH__V1__CATEGORY__SEXUAL_EXPLOITATION);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(field(r, "detail.police.intelligence"),
	                 "Vehicle seen at known address");
	ck_assert_str_eq(r->rule_id, "r8-break-glass");
	ck_assert_int_eq(audit_count("BREAK_GLASS", "analyst.amara"), 1);
	ck_assert_int_eq(audit_count("DELIVERY", "auditor.ada"), 1);
	/* The picture first, then one notification per auditor. */
	ck_assert_uint_eq(fx.npubs, 2);
	ck_assert_str_eq(fx.pubs[1].topic, "mash/v1/inbox/auditor.ada");
	o = open_pub(1, "mash.v1.SharedRecord");
	note =
	    mash__v1__shared_record__unpack(NULL, o->payload_len, o->payload);
	ck_assert_ptr_nonnull(note);
	ck_assert_str_eq(note->rule_id, "break-glass");
	ck_assert_str_eq(note->case_id, p->case_id);
	ck_assert_str_eq(note->flags[0], "break-glass");
	for (i = 0; i < note->n_fields; i++)
		if (strcmp(note->fields[i]->key, "break_glass.reason") == 0)
			ck_assert_str_eq(note->fields[i]->value,
			                 "missing tonight; police ask");
	ck_assert_uint_gt(note->audit_seq, 0);
	mash__v1__shared_record__free_unpacked(note, NULL);
	mash_env_opened_free(o);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(the_auditor_asking_break_glass_is_refused_told_and_audited)
{
	/* Never the auditor (rule 8): the ordinary review view, the refusal
	 * said in the answer and audited, nobody notified. */
	Mash__V1__Picture *p = ask_ok("auditor.ada", "audit", "curious");

	ck_assert(!p->break_glass);
	ck_assert_ptr_nonnull(
	    strstr(p->break_glass_refused, "role auditor may not break glass"));
	/* ... and the answer says it is not there for the auditor. */
	ck_assert(!p->break_glass_available);
	ck_assert_uint_eq(p->n_records, 6);
	ck_assert_int_eq(audit_count("BREAK_GLASS", NULL), 0);
	ck_assert_int_eq(audit_count("BREAK_GLASS_REFUSED", "auditor.ada"), 1);
	ck_assert_uint_eq(fx.npubs, 1);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(publish_failure_is_reported_after_the_audit_committed)
{
	struct req r = {"analyst.amara",
	                NULL,
	                "mash-triage",
	                MASH_TEST_NHS_JORDAN,
	                NULL,
	                NULL,
	                NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];

	fx.fail_publish = 1;
	ck_assert_int_eq(handle(&r, &o, corr), MASH_ERR_MQTT);
	ck_assert(o.granted);
	ck_assert(!o.answered);
	ck_assert_int_eq(audit_count("PICTURE_GRANTED", "analyst.amara"), 1);
}
END_TEST

START_TEST(trigger_shows_updated_then_escalated_clock)
{
	Mash__V1__Picture *p = ask_ok("analyst.amara", "mash-triage", NULL);
	struct mash_s47_clock c[8];
	size_t n = 0;
	int64_t due;

	ck_assert_uint_eq(p->n_open_triggers, 1);
	/* The story's later events updated the trigger raised at event 4. */
	ck_assert_str_eq(p->open_triggers[0]->kind, "updated");
	due = p->open_triggers[0]->discussion_due_by;
	ck_assert_int_gt(due, NOW_MS);
	mash__v1__picture__free_unpacked(p, NULL);
	/* A week later nobody has held the discussion: escalated. */
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(
	    mash_s47_store_escalate_due(fx.st, due + 7 * 86400000LL, c, 8, &n),
	    MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	ck_assert_uint_gt(n, 0);
	p = ask_ok("analyst.amara", "mash-triage", NULL);
	ck_assert_str_eq(p->open_triggers[0]->kind, "escalated");
	ck_assert_int_eq(p->open_triggers[0]->discussion_due_by, due);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(audit_failure_publishes_nothing)
{
	struct req r = {"analyst.amara",
	                NULL,
	                "mash-triage",
	                MASH_TEST_NHS_JORDAN,
	                NULL,
	                NULL,
	                NULL};
	struct req d = {"analyst.amara",
	                NULL,
	                "gossip",
	                MASH_TEST_NHS_JORDAN,
	                NULL,
	                NULL,
	                NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];

	/* Without its audit table the trail cannot record the access: the
	 * picture (and a denial) must not leave. */
	ck_assert_int_eq(sqlite3_exec(mash_store_sqlite(fx.st),
	                              "DROP TABLE audit_log", NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(handle(&r, &o, corr), MASH_ERR_STORE);
	ck_assert(!o.answered);
	ck_assert_int_eq(handle(&d, &o, corr), MASH_ERR_STORE);
	ck_assert(!o.answered);
	ck_assert_uint_eq(fx.npubs, 0);
	ck_assert(!mash_store_in_tx(fx.st));
}
END_TEST

START_TEST(no_policy_denies_everything)
{
	struct req r = {"analyst.amara",
	                NULL,
	                "mash-triage",
	                MASH_TEST_NHS_JORDAN,
	                NULL,
	                NULL,
	                NULL};
	struct mashd_picture_outcome o;
	unsigned char corr[8];
	Mash__V1__Picture *p;

	fx.env.pol = NULL;
	ck_assert_int_eq(handle(&r, &o, corr), MASH_OK);
	p = answer(0, "mash/v1/inbox/analyst.amara", corr);
	ck_assert_str_ne(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 0);
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

/* Queue one delivery of record r to recipient as mashd does: its
 * DELIVERY_QUEUED (or _HELD) record, then (row != 0) an outbox row naming
 * it; returns the record's seq, *id the row's id. */
static uint64_t
queue_delivery(const Mash__V1__SharedRecord *r, const char *recipient, int held,
               int row, int64_t *id)
{
	struct mash_aud_record ar;
	static const unsigned char b[] = {1, 2, 3};
	char topic[MASH_MAX_TOPIC + 1], extra[64];
	uint64_t seq = 0;

	*id = 0;
	(void)snprintf(topic, sizeof(topic), "mash/v1/inbox/%s", recipient);
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	if (held)
		ck_assert_int_eq(mash_store_outbox_hold(fx.st, topic,
		                                        "mash.v1.SharedRecord",
		                                        b, sizeof(b), id),
		                 MASH_OK);
	(void)snprintf(extra, sizeof(extra), "{\"held_as\":%lld}",
	               (long long)*id);
	memset(&ar, 0, sizeof(ar));
	ar.type = held ? MASH_AUD_DELIVERY_HELD : MASH_AUD_DELIVERY_QUEUED;
	ar.actor = "mashd";
	ar.case_id = r->case_id;
	ar.agency = r->agency;
	ar.event_id = r->event_id;
	ar.recipient = recipient;
	ar.extra_json = held ? extra : NULL;
	ck_assert_int_eq(mash_aud_append(fx.aud, &ar, &seq), MASH_OK);
	if (!held && row)
		ck_assert_int_eq(mash_store_outbox_add_seq(fx.st, topic, b,
		                                           sizeof(b),
		                                           (int64_t)seq, id),
		                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	return seq;
}

static const char *
delivery_of(const Mash__V1__Picture *p, const char *event_id)
{
	size_t i;

	for (i = 0; i < p->n_records; i++)
		if (strcmp(p->records[i]->event_id, event_id) == 0)
			return p->records[i]->delivery;
	ck_abort_msg("no record %s", event_id);
	return NULL;
}

/* Issue 31: a picture tells the requester what became of their own inbox
 * copy of each record: delivered only once the broker acknowledged it. */
START_TEST(records_show_the_requesters_own_delivery_state)
{
	Mash__V1__Picture *p = ask_ok("analyst.amara", "mash-triage", NULL);
	struct mash_aud_record ar;
	char ev[6][MASH_MAX_ID + 1], extra[128];
	int64_t id = 0, dead = 0, other = 0;
	uint64_t seq;
	size_t i;

	ck_assert_uint_eq(p->n_records, 6);
	for (i = 0; i < 6; i++) {
		ck_assert_str_eq(p->records[i]->delivery, ""); /* none pushed */
		(void)mash_strlcpy(ev[i], p->records[i]->event_id,
		                   sizeof(ev[i]));
	}
	/* 0 queued, 1 refused once, 2 a dead letter, 3 acknowledged (its
	 * row gone), 4 dropped by an operator, 5 held, and pushed to another
	 * inbox as well (not the requester's business). */
	(void)queue_delivery(p->records[0], "analyst.amara", 0, 1, &id);
	(void)queue_delivery(p->records[1], "analyst.amara", 0, 1, &id);
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(
	    mash_store_outbox_failed(fx.st, id, "REFUSED", NOW_MS + 1000),
	    MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	(void)queue_delivery(p->records[2], "analyst.amara", 0, 1, &id);
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_kill(fx.st, id, "REFUSED", &dead),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	(void)queue_delivery(p->records[3], "analyst.amara", 0, 0, &id);
	seq = queue_delivery(p->records[4], "analyst.amara", 0, 0, &id);
	(void)snprintf(extra, sizeof(extra), "{\"queued\":%llu}",
	               (unsigned long long)seq);
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_DELIVERY_DROPPED;
	ar.actor = "ops.oliver";
	ar.case_id = p->records[4]->case_id;
	ar.recipient = "analyst.amara";
	ar.reason = "recipient left";
	ar.extra_json = extra;
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_aud_append(fx.aud, &ar, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	(void)queue_delivery(p->records[5], "analyst.amara", 1, 0, &id);
	(void)queue_delivery(p->records[5], "auditor.ada", 0, 1, &other);
	mash__v1__picture__free_unpacked(p, NULL);

	p = ask_ok("analyst.amara", "mash-triage", NULL);
	ck_assert_msg(strcmp(delivery_of(p, ev[0]), "queued") == 0,
	              "states %s|%s|%s|%s|%s|%s", delivery_of(p, ev[0]),
	              delivery_of(p, ev[1]), delivery_of(p, ev[2]),
	              delivery_of(p, ev[3]), delivery_of(p, ev[4]),
	              delivery_of(p, ev[5]));
	ck_assert_str_eq(delivery_of(p, ev[1]), "retrying");
	ck_assert_str_eq(delivery_of(p, ev[2]), "failed");
	ck_assert_str_eq(delivery_of(p, ev[3]), "delivered");
	ck_assert_str_eq(delivery_of(p, ev[4]), "dropped");
	ck_assert_str_eq(delivery_of(p, ev[5]), "held");
	mash__v1__picture__free_unpacked(p, NULL);

	/* The dead letter retried and acknowledged: delivered. */
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_dead_retry(fx.st, dead, &id),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	p = ask_ok("analyst.amara", "mash-triage", NULL);
	ck_assert_str_eq(delivery_of(p, ev[2]), "queued");
	mash__v1__picture__free_unpacked(p, NULL);
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_done(fx.st, id), MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	p = ask_ok("analyst.amara", "mash-triage", NULL);
	ck_assert_str_eq(delivery_of(p, ev[2]), "delivered");
	mash__v1__picture__free_unpacked(p, NULL);
}
END_TEST

START_TEST(null_arguments_are_invalid)
{
	struct mash_mq_msg m;
	struct mashd_picture_outcome o;

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(mashd_handle_picture(NULL, &m, &o), MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_handle_picture(&fx.env, NULL, &o),
	                 MASH_ERR_INVAL);
	fx.env.publish = NULL;
	ck_assert_int_eq(mashd_handle_picture(&fx.env, &m, NULL),
	                 MASH_ERR_INVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("handle_picture");
	TCase *tc = tcase_create("picture");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc, analyst_triage_gets_full_picture_minus_police_intelligence);
	tcase_add_test(
	    tc,
	    housing_officer_early_help_gets_own_record_and_trigger_with_own_event);
	tcase_add_test(tc, auditor_audit_gets_concerns_without_identity);
	tcase_add_test(tc, audit_is_committed_before_the_answer_is_published);
	tcase_add_test(
	    tc, granted_audit_record_names_purpose_rules_and_fields_not_values);
	tcase_add_test(tc,
	               response_topic_of_another_inbox_is_denied_to_own_inbox);
	tcase_add_test(tc, missing_response_topic_is_denied);
	tcase_add_test(tc, unknown_key_is_audited_and_not_answered);
	tcase_add_test(tc, tampered_request_is_audited_and_not_answered);
	tcase_add_test(tc, wrong_payload_type_and_oversized_are_not_answered);
	tcase_add_test(tc, principal_not_in_directory_is_denied);
	tcase_add_loop_test(tc, bad_requests_are_denied_with_a_reason, 0,
	                    (int)(sizeof(deny_cases) / sizeof(deny_cases[0])));
	tcase_add_test(tc, case_id_lookup_gives_the_same_case);
	tcase_add_test(tc,
	               nothing_granted_is_denied_and_housing_may_break_glass);
	tcase_add_test(
	    tc, break_glass_shows_withheld_fields_audits_and_tells_the_auditor);
	tcase_add_test(
	    tc, requester_without_encryption_key_gets_a_refusal_and_no_content);
	tcase_add_test(
	    tc, the_auditor_asking_break_glass_is_refused_told_and_audited);
	tcase_add_test(tc,
	               publish_failure_is_reported_after_the_audit_committed);
	tcase_add_test(tc, trigger_shows_updated_then_escalated_clock);
	tcase_add_test(tc, audit_failure_publishes_nothing);
	tcase_add_test(tc, no_policy_denies_everything);
	tcase_add_test(tc, records_show_the_requesters_own_delivery_state);
	tcase_add_test(tc, null_arguments_are_invalid);
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
