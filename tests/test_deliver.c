/*
 * test_deliver.c - the daemon's sharing path (daemon/deliver.c) over a
 * real SQLite store and audit log with the default policy and directory:
 * every principal is decided and audited, only recipients who receive
 * something get a SharedRecord (granted fields only), sealed into the
 * store's outbox inside the event's transaction (a rollback leaves none),
 * published only by the outbox flush after the commit, kept while the
 * broker refuses them and across a reopen of the store; policy reloads are
 * atomic and audited with the file's SHA-256.
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
#include "common/str.h"
#include "daemon/deliver.h"
#include "daemon/outbox.h"
#include "daemon/seal_pool.h"
#include "mash/v1/mash.pb-c.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "s47/s47_store.h"
#include "store/store.h"
#include "support/broker.h"
#include "support/sealed_inbox.h"

#define MAX_SENT 64

struct sent {
	char topic[128];
	Mash__V1__SharedRecord *rec;
};

static struct {
	char dir[64];
	char db[128];
	int64_t now;
	struct mash_clock clock;
	struct mash_store *st;
	struct mash_aud *aud;
	struct mash_policy *pol;
	struct mash_dir *directory;
	struct mashd_deliver *d;
	size_t n_sent;
	struct sent sent[MAX_SENT];
	int fail_publish; /* every send fails */
	size_t fail_at;   /* the send number fail_at (1-based) fails */
	size_t n_send_calls;
	int no_flush;               /* ingest commits but does not flush */
	const char *no_key_for;     /* this principal has no encryption key */
	int seal_recipients_seen;   /* the seal callback was told who */
	size_t batches, batch_jobs; /* seal_many calls and their jobs */
} fx;

static const char *
src(const char *rel)
{
	static char p[4][1024];
	static int i;
	const char *s = getenv("MASH_SOURCE_DIR");

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", s != NULL ? s : ".", rel);
	return p[i];
}

/* The seal callback: the envelope is the payload itself here (sealing is
 * crypto's and the integration tests' business); the type is checked, and
 * fx.no_key_for has no key (daemon/outbox.h: held, never sent clear). */
static int
seal(void *ctx, const char *recipient, const char *type,
     const unsigned char *payload, size_t len, unsigned char **env,
     size_t *env_len)
{
	(void)ctx;
	ck_assert_str_eq(type, MASHD_DELIVER_PAYLOAD_TYPE);
	ck_assert_ptr_nonnull(recipient);
	fx.seal_recipients_seen++;
	if (fx.no_key_for != NULL && strcmp(recipient, fx.no_key_for) == 0)
		return MASH_ERR_NO_ENC_KEY;
	/* Sealed inside the event's transaction, with its audit records. */
	ck_assert_int_eq(mash_store_in_tx(fx.st), 1);
	*env = mash_malloc(len);
	ck_assert_ptr_nonnull(*env);
	memcpy(*env, payload, len);
	*env_len = len;
	return MASH_OK;
}

/* The outbox flush's publisher (the broker, as far as this test goes). */
static int
publish(void *ctx, const char *topic, const unsigned char *payload, size_t len)
{
	struct sent *s;

	(void)ctx;
	/* Nothing leaves the hub inside the event's transaction. */
	ck_assert_int_eq(mash_store_in_tx(fx.st), 0);
	fx.n_send_calls++;
	if (fx.fail_publish || fx.n_send_calls == fx.fail_at)
		return MASH_ERR_MQTT;
	ck_assert_uint_lt(fx.n_sent, MAX_SENT);
	s = &fx.sent[fx.n_sent++];
	snprintf(s->topic, sizeof(s->topic), "%s", topic);
	s->rec = mash__v1__shared_record__unpack(NULL, len, payload);
	ck_assert_ptr_nonnull(s->rec);
	return MASH_OK;
}

static void
setup(void)
{
	struct mashd_deliver_cfg cfg;
	char eb[MASH_POL_ERRLEN];

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_deliver_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/mash.db", fx.dir);
	fx.now = 1793000000000LL;
	mash_clock_manual(&fx.clock, &fx.now);
	ck_assert_int_eq(mash_store_open(fx.db, &fx.st), MASH_OK);
	mash_store_set_clock(fx.st, &fx.clock);
	ck_assert_int_eq(mash_aud_open(fx.st, &fx.clock, NULL, &fx.aud),
	                 MASH_OK);
	ck_assert_int_eq(mash_s47_store_init(fx.st), MASH_OK);
	ck_assert_msg(mashd_policy_load(src("policy/default.cfg"), &fx.pol,
	                                fx.aud, eb, sizeof(eb)) == MASH_OK,
	              "%s", eb);
	ck_assert_msg(mash_dir_load(src("policy/directory.cfg"), &fx.directory,
	                            eb, sizeof(eb)) == MASH_OK,
	              "%s", eb);
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = fx.st;
	cfg.aud = fx.aud;
	cfg.seal_to = seal;
	ck_assert_int_eq(mashd_deliver_new(&cfg, &fx.d), MASH_OK);
}

static void
teardown(void)
{
	char cmd[128];

	mashd_deliver_free(fx.d);
	mash_dir_free(fx.directory);
	mash_pol_free(fx.pol);
	mash_aud_free(fx.aud);
	mash_store_close(fx.st);
	for (size_t i = 0; i < fx.n_sent; i++)
		mash__v1__shared_record__free_unpacked(fx.sent[i].rec, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
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

static size_t
audit_count(const char *needle1, const char *needle2)
{
	uint64_t size = 0;
	unsigned char root[MASH_MERKLE_HASH_LEN];
	size_t n = 0;

	ck_assert_int_eq(mash_aud_tree(fx.aud, &size, root), MASH_OK);
	for (uint64_t s = 1; s <= size; s++) {
		char *rec = NULL;
		size_t len = 0;

		ck_assert_int_eq(mash_aud_record_bytes(fx.st, s, &rec, &len),
		                 MASH_OK);
		if (strstr(rec, needle1) != NULL &&
		    (needle2 == NULL || strstr(rec, needle2) != NULL))
			n++;
		mash_free(rec);
	}
	return n;
}

struct police_ev {
	Mash__V1__AgencyEvent ev;
	Mash__V1__Subject subj;
	Mash__V1__Handling h;
	Mash__V1__PoliceDetail pd;
	Mash__V1__RelatedPerson rp, *rps[1];
};

static void
make_police(struct police_ev *p, const char *id, int consent, unsigned sev)
{
	mash__v1__agency_event__init(&p->ev);
	mash__v1__subject__init(&p->subj);
	mash__v1__handling__init(&p->h);
	mash__v1__police_detail__init(&p->pd);
	mash__v1__related_person__init(&p->rp);
	p->subj.nhs_number = "9434765919";
	p->subj.given_name = "Jordan";
	p->subj.family_name = "Reed";
	p->subj.date_of_birth = "2011-05-14";
	p->subj.postcode = "NE61 1AA";
	p->ev.subject = &p->subj;
	p->ev.event_id = (char *)id;
	p->ev.agency = "police";
	p->ev.occurred_at = 1790899200000LL;
	p->ev.recorded_at = 1790899200000LL;
	p->ev.category = MASH__V1__CATEGORY__MISSING_EPISODE;
	p->ev.severity = sev;
	p->ev.consent = consent;
	p->ev.summary = "Missing overnight; found at an address of concern.";
	p->h.classification = "OFFICIAL";
	p->ev.handling = &p->h;
	p->rp.role = "mother";
	p->rp.given_name = "Alex";
	p->rp.family_name = "Reed";
	p->rps[0] = &p->rp;
	p->ev.n_related = 1;
	p->ev.related = p->rps;
	p->pd.incident_type = "missing-person";
	p->pd.intelligence = "Linked to a known network.";
	p->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	p->ev.police = &p->pd;
}

/* Store ev and run the hook as mashd does; commit (or roll back), then
 * flush. Returns the hook's rc. */
static int
ingest(const Mash__V1__AgencyEvent *ev, int rollback, unsigned *level)
{
	struct mash_store_subject ss;
	struct mash_store_event se;
	char case_id[MASH_STORE_CASE_ID_SIZE];
	unsigned char buf[4096];
	size_t len;
	int rc;

	len = mash__v1__agency_event__get_packed_size(ev);
	ck_assert_uint_lt(len, sizeof(buf));
	mash__v1__agency_event__pack(ev, buf);
	memset(&ss, 0, sizeof(ss));
	ss.nhs_number = ev->subject->nhs_number;
	ss.family_name = ev->subject->family_name;
	ss.date_of_birth = ev->subject->date_of_birth;
	ss.postcode = ev->subject->postcode;
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_store_case_link(fx.st, &ss, case_id, NULL),
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
	se.envelope = buf;
	se.envelope_len = len;
	se.payload = buf;
	se.payload_len = len;
	ck_assert_int_eq(mash_store_event_insert(fx.st, &se, NULL), MASH_OK);
	rc = mashd_deliver_on_event(fx.d, fx.pol, fx.directory, ev, case_id,
	                            level);
	if (rc != MASH_OK || rollback) {
		ck_assert_int_eq(mash_store_rollback(fx.st), MASH_OK);
		return rc;
	}
	/* Queued in the outbox, not yet published. */
	ck_assert_uint_eq(fx.n_sent, 0);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	ck_assert_uint_eq(outbox_count(),
	                  audit_count("\"type\":\"DELIVERY_QUEUED\"", NULL));
	if (!fx.no_flush)
		(void)mashd_outbox_flush(fx.st, publish, NULL, NULL);
	return rc;
}

static const Mash__V1__SharedRecord *
inbox(const char *principal)
{
	char topic[128];

	snprintf(topic, sizeof(topic), "mash/v1/inbox/%s", principal);
	for (size_t i = 0; i < fx.n_sent; i++)
		if (strcmp(fx.sent[i].topic, topic) == 0)
			return fx.sent[i].rec;
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

START_TEST(police_event_reaches_each_role_with_its_own_fields)
{
	struct police_ev p;
	const Mash__V1__SharedRecord *a, *s, *n, *pp;
	unsigned level = 0;

	make_police(&p, "ev-1", MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM,
	            2);
	ck_assert_int_eq(ingest(&p.ev, 0, &level), MASH_OK);
	ck_assert_uint_eq(level, 1);
	a = inbox("analyst.amara");
	s = inbox("sw.sam");
	n = inbox("health.nurse1");
	pp = inbox("police.pp1");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_nonnull(pp);
	ck_assert_ptr_null(inbox("housing.officer1"));
	ck_assert_ptr_null(inbox("school.dsl1"));
	ck_assert_ptr_null(inbox("yot.worker1"));
	ck_assert_ptr_null(inbox("auditor.ada"));
	/* analyst: narrative without intelligence, household */
	ck_assert_str_eq(field(a, "subject.given_name"), "Jordan");
	ck_assert_ptr_nonnull(field(a, "summary"));
	ck_assert_ptr_nonnull(field(a, "related"));
	ck_assert_ptr_null(field(a, "detail.police.intelligence"));
	ck_assert(withheld(a, "detail.police.intelligence"));
	ck_assert_str_eq(a->rule_id, "mash-triage");
	ck_assert_str_eq(a->purpose, "mash-triage");
	ck_assert_uint_gt(a->audit_seq, 0);
	/* social worker: summary, no household */
	ck_assert_ptr_nonnull(field(s, "summary"));
	ck_assert_ptr_null(field(s, "related"));
	ck_assert(withheld(s, "related"));
	/* health: identity and concern */
	ck_assert_ptr_nonnull(field(n, "subject.nhs_number"));
	ck_assert_ptr_nonnull(field(n, "category"));
	ck_assert_ptr_null(field(n, "summary"));
	ck_assert_str_eq(n->rule_id, "partner-triage");
	ck_assert_uint_eq(n->severity, 2);
	/* police: their own record in full */
	ck_assert_str_eq(field(pp, "detail.police.intelligence"),
	                 "Linked to a known network.");
	ck_assert_uint_eq(fx.n_sent,
	                  6); /* analyst, manager, sw, swm, pp, nurse */
}
END_TEST

START_TEST(every_decision_is_audited_denials_included)
{
	struct police_ev p;
	struct mashd_deliver_stats st;

	make_police(&p, "ev-2", MASH__V1__CONSENT__NOT_SOUGHT, 2);
	ck_assert_int_eq(ingest(&p.ev, 0, NULL), MASH_OK);
	ck_assert_uint_eq(audit_count("\"type\":\"DECISION\"", NULL), 10);
	ck_assert_uint_eq(audit_count("\"type\":\"DELIVERY_QUEUED\"", NULL),
	                  fx.n_sent);
	ck_assert_uint_eq(audit_count("\"type\":\"DECISION\"",
	                              "\"recipient\":\"housing.officer1\""),
	                  1);
	ck_assert_uint_eq(audit_count("\"type\":\"DELIVERY_QUEUED\"",
	                              "\"recipient\":\"housing.officer1\""),
	                  0);
	ck_assert_uint_eq(audit_count("\"rule_id\":\"default-deny\"",
	                              "\"recipient\":\"housing.officer1\""),
	                  1);
	mashd_deliver_stats(fx.d, &st);
	ck_assert_uint_eq(st.decisions, 10);
	ck_assert_uint_eq(st.denied, 10 - fx.n_sent);
	ck_assert_uint_eq(st.queued, fx.n_sent);
	ck_assert_uint_eq(outbox_count(), 0);
	/* No personal data in the trail. */
	ck_assert_uint_eq(audit_count("Jordan", NULL), 0);
	ck_assert_uint_eq(audit_count("9434765919", NULL), 0);
}
END_TEST

/* The event's DECISIONs are appended together, then its DELIVERY_QUEUED
 * records (one append each, issue 32); each SharedRecord still carries
 * its own recipient's DECISION. */
START_TEST(decisions_come_first_and_each_record_names_its_own)
{
	struct police_ev p;
	char want[160], *rec = NULL;
	const char *who;
	uint64_t size = 0, s, last_decision = 0, first_queued = 0;
	unsigned char root[MASH_MERKLE_HASH_LEN];
	size_t len = 0, i, decisions = 0, queued = 0;

	make_police(&p, "ev-order",
	            MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM, 2);
	ck_assert_int_eq(ingest(&p.ev, 0, NULL), MASH_OK);
	ck_assert_uint_eq(fx.n_sent, 6);
	ck_assert_int_eq(mash_aud_tree(fx.aud, &size, root), MASH_OK);
	for (s = 1; s <= size; s++) {
		ck_assert_int_eq(mash_aud_record_bytes(fx.st, s, &rec, &len),
		                 MASH_OK);
		if (strstr(rec, "\"ev-order\"") != NULL) {
			if (strstr(rec, "\"type\":\"DECISION\"") != NULL) {
				decisions++;
				last_decision = s;
			} else if (strstr(rec,
			                  "\"type\":\"DELIVERY_QUEUED\"") !=
			           NULL) {
				queued++;
				if (first_queued == 0)
					first_queued = s;
			}
		}
		mash_free(rec);
	}
	ck_assert_uint_eq(decisions, 10);
	ck_assert_uint_eq(queued, 6);
	ck_assert_uint_eq(first_queued, last_decision + 1);
	for (i = 0; i < fx.n_sent; i++) {
		who = fx.sent[i].topic + strlen("mash/v1/inbox/");
		ck_assert_int_eq(
		    mash_aud_record_bytes(fx.st, fx.sent[i].rec->audit_seq,
		                          &rec, &len),
		    MASH_OK);
		ck_assert_msg(strstr(rec, "\"type\":\"DECISION\"") != NULL,
		              "%s", rec);
		snprintf(want, sizeof(want), "\"recipient\":\"%s\"", who);
		ck_assert_msg(strstr(rec, want) != NULL, "%s: %s", who, rec);
		mash_free(rec);
	}
}
END_TEST

START_TEST(rollback_leaves_nothing_in_the_outbox)
{
	struct police_ev p;

	make_police(&p, "ev-3", MASH__V1__CONSENT__GIVEN, 2);
	ck_assert_int_eq(ingest(&p.ev, 1, NULL), MASH_OK);
	ck_assert_uint_eq(outbox_count(), 0);
	ck_assert_int_eq(mashd_outbox_flush(fx.st, publish, NULL, NULL),
	                 MASH_OK);
	ck_assert_uint_eq(fx.n_sent, 0);
	ck_assert_uint_eq(audit_count("\"type\":\"DECISION\"", NULL), 0);
}
END_TEST

START_TEST(severity_three_makes_l3_with_s17_purpose)
{
	struct police_ev p;
	const Mash__V1__SharedRecord *school;
	unsigned level = 0;

	make_police(&p, "ev-4", MASH__V1__CONSENT__GIVEN, 3);
	ck_assert_int_eq(ingest(&p.ev, 0, &level), MASH_OK);
	ck_assert_uint_eq(level, 3);
	school = inbox("school.dsl1");
	ck_assert_ptr_nonnull(school);
	ck_assert_str_eq(school->purpose, "s17-assessment");
	ck_assert_str_eq(field(school, "lead"), "social-care");
	ck_assert_ptr_null(field(school, "summary"));
	ck_assert_ptr_nonnull(strstr(field(school, "signpost"), "police"));
}
END_TEST

START_TEST(no_policy_denies_everyone_and_audits_it)
{
	struct police_ev p;

	mash_pol_free(fx.pol);
	fx.pol = NULL;
	make_police(&p, "ev-5", MASH__V1__CONSENT__GIVEN, 2);
	ck_assert_int_eq(ingest(&p.ev, 0, NULL), MASH_OK);
	ck_assert_uint_eq(fx.n_sent, 0);
	ck_assert_uint_eq(audit_count("\"rule_id\":\"no-policy\"", NULL), 10);
}
END_TEST

START_TEST(failed_publish_keeps_the_rest_pending_in_order)
{
	struct police_ev p;
	size_t total, n = 0;

	fx.fail_at = 3;
	make_police(&p, "ev-6", MASH__V1__CONSENT__GIVEN, 2);
	ck_assert_int_eq(ingest(&p.ev, 0, NULL), MASH_OK);
	total = audit_count("\"type\":\"DELIVERY_QUEUED\"", NULL);
	ck_assert_uint_eq(total, 6);
	/* The third send failed: two out, the flush stopped, four kept. */
	ck_assert_uint_eq(fx.n_sent, 2);
	ck_assert_uint_eq(outbox_count(), total - 2);
	fx.fail_publish = 1;
	ck_assert_int_eq(mashd_outbox_flush(fx.st, publish, NULL, &n),
	                 MASH_ERR_MQTT);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(outbox_count(), total - 2);
	/* The broker is back: the rest go out, in the audited order. */
	fx.fail_publish = 0;
	ck_assert_int_eq(mashd_outbox_flush(fx.st, publish, NULL, &n), MASH_OK);
	ck_assert_uint_eq(n, total - 2);
	ck_assert_uint_eq(fx.n_sent, total);
	ck_assert_uint_eq(outbox_count(), 0);
	for (size_t i = 1; i < fx.n_sent; i++)
		ck_assert_uint_lt(fx.sent[i - 1].rec->audit_seq,
		                  fx.sent[i].rec->audit_seq);
}
END_TEST

/* A many-sender that records the order of what it took and fails
 * every message from fx.fail_at on (1-based over the whole flush). */
static void
publish_many_numbered(void *ctx, const char *const *topic,
                      const unsigned char *const *bytes, const size_t *len,
                      size_t n, int *rcs)
{
	size_t *taken = ctx, i;

	(void)topic;
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(mash_store_in_tx(fx.st), 0);
		fx.n_send_calls++;
		if (fx.fail_at > 0 && fx.n_send_calls >= fx.fail_at) {
			rcs[i] = MASH_ERR_MQTT;
			continue;
		}
		/* In order: message k carries the number k. */
		ck_assert_uint_eq(len[i], sizeof(size_t));
		ck_assert_mem_eq(bytes[i], taken, sizeof(size_t));
		(*taken)++;
		rcs[i] = MASH_OK;
	}
}

START_TEST(flush_larger_than_one_commit_marks_what_the_broker_took)
{
	const size_t total = MASHD_OUTBOX_MARK_MAX + 100;
	size_t i, taken = 0, n = 0;
	int64_t id;

	/* More rows than one marking transaction covers; the broker fails
	 * past the first commit's worth. */
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	for (i = 0; i < total; i++)
		ck_assert_int_eq(mash_store_outbox_add(
		                     fx.st, "mash/v1/inbox/x",
		                     (const unsigned char *)&i, sizeof(i), &id),
		                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	fx.fail_at = MASHD_OUTBOX_MARK_MAX + 50;
	ck_assert_int_eq(
	    mashd_outbox_flush_many(fx.st, publish_many_numbered, &taken, &n),
	    MASH_ERR_MQTT);
	ck_assert_uint_eq(n, MASHD_OUTBOX_MARK_MAX + 49);
	ck_assert_uint_eq(taken, n);
	/* Everything the broker took is done, in and after the first
	 * commit; the rest are kept, in order. */
	ck_assert_uint_eq(outbox_count(), total - n);
	fx.fail_at = 0;
	ck_assert_int_eq(
	    mashd_outbox_flush_many(fx.st, publish_many_numbered, &taken, &n),
	    MASH_OK);
	ck_assert_uint_eq(n, total - (MASHD_OUTBOX_MARK_MAX + 49));
	ck_assert_uint_eq(taken, total);
	ck_assert_uint_eq(outbox_count(), 0);
}
END_TEST

START_TEST(outbox_survives_reopening_the_store)
{
	struct police_ev p;
	size_t total;

	fx.no_flush = 1;
	make_police(&p, "ev-7", MASH__V1__CONSENT__GIVEN, 2);
	ck_assert_int_eq(ingest(&p.ev, 0, NULL), MASH_OK);
	total = outbox_count();
	ck_assert_uint_eq(total, 6);
	/* A crash after the commit: everything in memory is gone. */
	mashd_deliver_free(fx.d);
	fx.d = NULL;
	mash_aud_free(fx.aud);
	fx.aud = NULL;
	mash_store_close(fx.st);
	ck_assert_int_eq(mash_store_open(fx.db, &fx.st), MASH_OK);
	ck_assert_int_eq(mash_aud_open(fx.st, &fx.clock, NULL, &fx.aud),
	                 MASH_OK);
	ck_assert_uint_eq(outbox_count(), total);
	ck_assert_int_eq(mashd_outbox_flush(fx.st, publish, NULL, NULL),
	                 MASH_OK);
	ck_assert_uint_eq(fx.n_sent, total);
	ck_assert_uint_eq(outbox_count(), 0);
	ck_assert_ptr_nonnull(inbox("analyst.amara"));
	ck_assert_ptr_nonnull(inbox("sw.sam"));
}
END_TEST

START_TEST(reload_refuses_bad_file_keeps_old_and_audits_both)
{
	char bad[256];
	struct mash_policy *before = fx.pol;
	char eb[MASH_POL_ERRLEN];
	FILE *f;

	snprintf(bad, sizeof(bad), "%s/bad.cfg", fx.dir);
	f = fopen(bad, "w");
	ck_assert_ptr_nonnull(f);
	fputs("levels = { };\nrules = ( { id = \"x\"; effect = \"share\"; "
	      "fields = [\"@all\"]; reason = \"r\"; } );\n",
	      f);
	fclose(f);
	ck_assert_int_eq(
	    mashd_policy_load(bad, &fx.pol, fx.aud, eb, sizeof(eb)),
	    MASH_ERR_POLICY);
	ck_assert_ptr_eq(fx.pol, before);
	ck_assert_ptr_nonnull(strstr(eb, "rule without legal basis"));
	ck_assert_uint_eq(
	    audit_count("\"type\":\"POLICY_LOAD\"", "\"result\":\"refused\""),
	    1);
	ck_assert_uint_eq(
	    audit_count("\"type\":\"POLICY_LOAD\"", "\"result\":\"loaded\""),
	    1);
	/* A good reload swaps and is audited with the same hash as the file. */
	ck_assert_int_eq(mashd_policy_load(src("policy/default.cfg"), &fx.pol,
	                                   fx.aud, eb, sizeof(eb)),
	                 MASH_OK);
	ck_assert_uint_eq(
	    audit_count("\"type\":\"POLICY_LOAD\"", "\"result\":\"loaded\""),
	    2);
	{
		unsigned char sha[32];
		char hex[65], needle[100];

		ck_assert_int_eq(
		    mash_pol_file_sha256(src("policy/default.cfg"), sha),
		    MASH_OK);
		mash_hex(sha, 32, hex);
		snprintf(needle, sizeof(needle), "\"sha256\":\"%s\"", hex);
		ck_assert_uint_eq(audit_count(needle, NULL), 2);
	}
}
END_TEST

/* Issue 25: no clear fallback. A recipient without an encryption key
 * gets nothing published; the delivery is held, audited as held, and
 * released (sealed, audited as DELIVERY) once the key is known. */
START_TEST(recipient_without_key_is_held_audited_then_released)
{
	struct police_ev p;
	size_t n_rel = 0, n_held = 0, before;

	fx.no_key_for = "sw.sam";
	make_police(&p, "ev-held", MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM,
	            2);
	ck_assert_int_eq(ingest(&p.ev, 0, NULL), MASH_OK);
	ck_assert_ptr_null(inbox("sw.sam"));
	ck_assert_ptr_nonnull(inbox("analyst.amara"));
	ck_assert_uint_eq(fx.n_sent, 5);
	ck_assert_uint_eq(audit_count("\"type\":\"DELIVERY_HELD\"", "sw.sam"),
	                  1);
	ck_assert_uint_eq(audit_count("\"type\":\"DELIVERY_QUEUED\"", "sw.sam"),
	                  0);
	/* Still no key: it stays held, nothing sent. */
	ck_assert_int_eq(
	    mashd_outbox_release(fx.st, seal, NULL, NULL, &n_rel, &n_held),
	    MASH_OK);
	ck_assert_uint_eq(n_rel, 0);
	ck_assert_uint_eq(n_held, 1);
	(void)mashd_outbox_flush(fx.st, publish, NULL, NULL);
	ck_assert_ptr_null(inbox("sw.sam"));
	/* The key arrives (a directory reload): sealed and delivered. */
	fx.no_key_for = NULL;
	before = fx.n_sent;
	ck_assert_int_eq(
	    mashd_outbox_release(fx.st, seal, NULL, NULL, &n_rel, &n_held),
	    MASH_OK);
	ck_assert_uint_eq(n_rel, 1);
	ck_assert_uint_eq(n_held, 0);
	(void)mashd_outbox_flush(fx.st, publish, NULL, NULL);
	ck_assert_uint_eq(fx.n_sent, before + 1);
	ck_assert_ptr_nonnull(inbox("sw.sam"));
	ck_assert_ptr_nonnull(field(inbox("sw.sam"), "summary"));
}
END_TEST

/* The batch the daemon seals on two cores (seal_many), here in turn. */
static void
seal_many(void *ctx, struct mashd_seal_job *jobs, size_t n)
{
	fx.batches++;
	fx.batch_jobs += n;
	for (size_t i = 0; i < n; i++)
		jobs[i].rc = seal(ctx, jobs[i].recipient, jobs[i].payload_type,
		                  jobs[i].payload, jobs[i].len, &jobs[i].env,
		                  &jobs[i].env_len);
}

/* Issue 22: an event's deliveries to principals with keys are sealed as
 * one batch and land in the outbox (and the inboxes) exactly as one by
 * one; a principal without a key is still held, outside the batch. */
START_TEST(batch_seal_delivers_the_same_and_still_holds_the_keyless)
{
	struct mashd_deliver_cfg cfg;
	struct police_ev p;
	char path[300], eb[MASH_POL_ERRLEN], *text, *cut, *line, *end;
	size_t len = 0;

	/* Every principal keyed but sw.sam. */
	ck_assert_int_eq(
	    mash_test_hub_enc_keys(fx.dir, src("policy/directory.cfg")), 0);
	snprintf(path, sizeof(path), "%s/directory.cfg", fx.dir);
	text = mash_test_read_file(path, 1u << 20, &len);
	ck_assert_ptr_nonnull(text);
	cut = strstr(text, "/enc/sw.sam/");
	ck_assert_ptr_nonnull(cut);
	for (line = cut; line > text && line[-1] != '\n'; line--)
		;
	end = strchr(line, '\n');
	memmove(line, end + 1, strlen(end + 1) + 1);
	ck_assert_int_eq(mash_test_write_file(path, text, strlen(text)), 0);
	free(text);
	mash_dir_free(fx.directory);
	ck_assert_msg(mash_dir_load(path, &fx.directory, eb, sizeof(eb)) ==
	                  MASH_OK,
	              "%s", eb);
	mashd_deliver_free(fx.d);
	memset(&cfg, 0, sizeof(cfg));
	cfg.store = fx.st;
	cfg.aud = fx.aud;
	cfg.seal_to = seal; /* as mashd_seal_to: sw.sam has no key */
	cfg.seal_many = seal_many;
	fx.no_key_for = "sw.sam";
	ck_assert_int_eq(mashd_deliver_new(&cfg, &fx.d), MASH_OK);
	make_police(&p, "ev-batch",
	            MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM, 2);
	ck_assert_int_eq(ingest(&p.ev, 0, NULL), MASH_OK);
	ck_assert_uint_eq(fx.batches, 1);
	ck_assert_uint_eq(fx.batch_jobs, 5); /* 6 receive, sw.sam held */
	ck_assert_uint_eq(fx.n_sent, 5);
	ck_assert_ptr_nonnull(inbox("analyst.amara"));
	ck_assert_ptr_nonnull(field(inbox("analyst.amara"), "summary"));
	ck_assert_ptr_null(inbox("sw.sam"));
	ck_assert_uint_eq(audit_count("\"type\":\"DELIVERY_HELD\"", "sw.sam"),
	                  1);
}
END_TEST

START_TEST(deliver_rejects_missing_arguments)
{
	struct mashd_deliver *d = (struct mashd_deliver *)1;
	struct mashd_deliver_cfg cfg;

	memset(&cfg, 0, sizeof(cfg));
	ck_assert_int_eq(mashd_deliver_new(&cfg, &d), MASH_ERR_INVAL);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(
	    mashd_deliver_on_event(fx.d, fx.pol, fx.directory, NULL, "c", NULL),
	    MASH_ERR_INVAL);
}
END_TEST

static Suite *
deliver_suite(void)
{
	Suite *s = suite_create("deliver");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, police_event_reaches_each_role_with_its_own_fields);
	tcase_add_test(tc, every_decision_is_audited_denials_included);
	tcase_add_test(tc, decisions_come_first_and_each_record_names_its_own);
	tcase_add_test(tc, rollback_leaves_nothing_in_the_outbox);
	tcase_add_test(tc, severity_three_makes_l3_with_s17_purpose);
	tcase_add_test(tc, no_policy_denies_everyone_and_audits_it);
	tcase_add_test(tc, failed_publish_keeps_the_rest_pending_in_order);
	tcase_add_test(tc, outbox_survives_reopening_the_store);
	tcase_add_test(tc,
	               flush_larger_than_one_commit_marks_what_the_broker_took);
	tcase_add_test(tc, reload_refuses_bad_file_keeps_old_and_audits_both);
	tcase_add_test(tc, deliver_rejects_missing_arguments);
	tcase_add_test(tc, recipient_without_key_is_held_audited_then_released);
	tcase_add_test(
	    tc, batch_seal_delivers_the_same_and_still_holds_the_keyless);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(deliver_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
