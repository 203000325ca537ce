/*
 * it_picture.c - the combined picture over a real mosquitto and a real
 * mashd (tests/support/broker.h), with the story of SHARED-DEFS.md ingested
 * as signed events:
 *  - the same case seen by the analyst (mash-triage), the housing officer
 *    (early-help) and the auditor (audit) gives three different pictures,
 *    as policy/default.cfg says;
 *  - a request whose response topic is someone else's inbox is denied, and
 *    nothing reaches that inbox;
 *  - a denied request returns denied_reason; break-glass is refused for a
 *    role the policy does not allow;
 *  - with break-glass an analyst is granted what was withheld, the access
 *    is audited as BREAK_GLASS and the auditor's inbox is told;
 *  - under a policy where the analyst is denied outright, break-glass turns
 *    the denial into a grant (second stack, strict policy);
 *  - every access is in the audit trail; mashctl picture exits 0/1/2.
 *
 * Two stacks (broker + mashd + store) are started once, in the parent
 * (unchecked fixture); each test runs in its own forked child.
 */
#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "mash/v1/mash.pb-c.h"
#include "support/broker.h"
#include "support/picture_stack.h"

#define NHS_JORDAN "9434765919"
#define NHS_ALEX   "4010232137"
#define WAIT_MS    15000

static struct mash_picture_stack *dflt; /* policy/default.cfg */
static struct mash_picture_stack
    *strict; /* analyst denied unless break-glass */

/* ------------------------------------------------------------------ */
/* The strict policy: only the break-glass rule for analysts, and the
 * auditor's review. It proves the daemon's break-glass path turns a full
 * denial into a grant when the policy allows the role. */
static const char strict_policy[] =
    "version = 1;\n"
    "levels = { l2 = { min_agencies = 2; }; l3 = { min_severity = 3; };\n"
    "  l4 = { min_severity = 4; trigger_open = true; }; };\n"
    "break_glass = { roles = [ \"mash-analyst\" ]; };\n"
    "rules = (\n"
    "  { id = \"bg-analyst\"; effect = \"share\"; fields = [ \"@all\" ];\n"
    "    when = { roles = [ \"mash-analyst\" ]; break_glass = true; };\n"
    "    legal_basis = \"CA 1989 s47 (test)\"; reason = \"break-glass "
    "(test)\"; },\n"
    "  { id = \"auditor-review\"; effect = \"share\"; fields = [ \"@concern\" "
    "];\n"
    "    when = { roles = [ \"auditor\" ]; purposes = [ \"audit\" ]; };\n"
    "    legal_basis = \"UK GDPR art.5(2) (test)\"; reason = \"audit (test)\"; "
    "}\n"
    ");\n"
    "@include \"s47.cfg\"\n";

/* Unchecked fixture (runs once, in the parent): no ck_assert here, the
 * tests check that the stacks came up. */
static void
stacks_up(void)
{
	dflt = mash_picture_stack_start("pic-default", NULL);
	if (dflt != NULL)
		strict = mash_picture_stack_start("pic-strict", strict_policy);
}

static void
stacks_down(void)
{
	mash_picture_stack_free(dflt);
	mash_picture_stack_free(strict);
	dflt = NULL;
	strict = NULL;
}

/* ------------------------------------------------------------------ */
/* helpers over Picture messages                                        */

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

static int
has_agency(const Mash__V1__Picture *p, const char *agency)
{
	size_t i;

	for (i = 0; i < p->n_agencies_involved; i++)
		if (strcmp(p->agencies_involved[i], agency) == 0)
			return 1;
	return 0;
}

static void
picture_free(Mash__V1__Picture *p)
{
	if (p != NULL)
		mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
}

static void
need_stacks(void)
{
	ck_assert_msg(
	    dflt != NULL && strict != NULL,
	    "the mosquitto + mashd stacks did not start (see stderr)");
}

static Mash__V1__Picture *
ask(struct mash_picture_stack *s, const char *principal, const char *purpose,
    const char *bg)
{
	struct mash_picture_ask a;
	Mash__V1__Picture *p = NULL;

	need_stacks();
	memset(&a, 0, sizeof(a));
	a.principal = principal;
	a.purpose = purpose;
	a.nhs = NHS_JORDAN;
	a.break_glass = bg;
	ck_assert_int_eq(mash_picture_stack_ask(s, &a, &p, NULL, WAIT_MS),
	                 MASH_OK);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* ------------------------------------------------------------------ */

START_TEST(
    analyst_triage_sees_identity_and_narrative_but_not_police_intelligence)
{
	Mash__V1__Picture *p = ask(dflt, "analyst.amara", "mash-triage", NULL);
	const Mash__V1__SharedRecord *r;
	size_t i, n;

	ck_assert_str_eq(p->denied_reason, "");
	ck_assert(!p->break_glass);
	ck_assert_uint_eq(p->n_records, 6);
	ck_assert_uint_eq(p->level, 4);
	ck_assert_str_eq(p->vcl_band, "VERY_HIGH");
	ck_assert(p->rmg_register);
	ck_assert_uint_eq(p->n_agencies_involved, 5);
	ck_assert(has_agency(p, "police") && has_agency(p, "health") &&
	          has_agency(p, "education") && has_agency(p, "housing") &&
	          has_agency(p, "yot"));
	ck_assert_str_eq(p->subject->given_name, "Jordan");
	ck_assert_str_eq(p->subject->nhs_number, NHS_JORDAN);
	ck_assert_uint_gt(p->audit_seq, 0);
	/* The s47 trigger raised by the accumulation of events 1-4. */
	ck_assert_uint_eq(p->n_open_triggers, 1);
	ck_assert_str_eq(p->open_triggers[0]->rule_id, "s47.accumulation");
	ck_assert_int_gt(p->open_triggers[0]->discussion_due_by, 0);
	/* Health event at L4: the summary is shared with the MASH team, the
	 * diagnosis stays with the strategy core (rule 6). */
	r = record_of(p, "health", MASH__V1__CATEGORY__SELF_HARM);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(field(r, "summary"));
	ck_assert(withheld(r, "detail.health.diagnosis"));
	/* Police intelligence never goes to MASH triage; the OFFICIAL-
	 * SENSITIVE exploitation report withholds its narrative (rule 5). */
	r = record_of(p, "police", MASH__V1__CATEGORY__SEXUAL_EXPLOITATION);
	ck_assert_ptr_nonnull(r);
	ck_assert(withheld(r, "detail.police.intelligence"));
	ck_assert(withheld(r, "summary"));
	ck_assert_ptr_null(field(r, "summary"));
	/* Each record pushed to the analyst's inbox says so only once the
	 * broker acknowledged it (issue 31): by now every one was. */
	n = 0;
	for (i = 0; i < p->n_records; i++) {
		if (p->records[i]->delivery[0] == '\0')
			continue;
		ck_assert_str_eq(p->records[i]->delivery, "delivered");
		n++;
	}
	ck_assert_uint_gt(n, 0);
	picture_free(p);
}
END_TEST

START_TEST(housing_officer_early_help_sees_only_the_housing_record)
{
	Mash__V1__Picture *p =
	    ask(dflt, "housing.officer1", "early-help", NULL);
	const Mash__V1__SharedRecord *r;

	ck_assert_str_eq(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 1);
	r = record_of(p, "housing", MASH__V1__CATEGORY__HOMELESSNESS);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(field(r, "summary"));
	ck_assert_uint_eq(p->n_agencies_involved, 1);
	ck_assert_str_eq(p->agencies_involved[0], "housing");
	/* No police, health or YOT record; the trigger (housing referred,
	 * so it is told) lists only the housing event; no VCL band. */
	ck_assert_ptr_null(
	    record_of(p, "police", MASH__V1__CATEGORY__SEXUAL_EXPLOITATION));
	ck_assert_ptr_null(
	    record_of(p, "health", MASH__V1__CATEGORY__SELF_HARM));
	ck_assert_uint_eq(p->n_open_triggers, 1);
	ck_assert_uint_eq(p->open_triggers[0]->n_contributing_events, 1);
	ck_assert_str_eq(p->vcl_band, "");
	picture_free(p);
}
END_TEST

START_TEST(auditor_audit_sees_concerns_without_identity_or_narrative)
{
	Mash__V1__Picture *p = ask(dflt, "auditor.ada", "audit", NULL);
	size_t i;

	ck_assert_str_eq(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 6);
	ck_assert(p->subject == NULL || p->subject->given_name[0] == '\0');
	ck_assert(p->subject == NULL || p->subject->nhs_number[0] == '\0');
	for (i = 0; i < p->n_records; i++) {
		const Mash__V1__SharedRecord *r = p->records[i];

		ck_assert_ptr_null(field(r, "summary"));
		ck_assert(withheld(r, "summary"));
		ck_assert_ptr_null(field(r, "subject.given_name"));
		ck_assert_uint_gt(r->category, 0);
	}
	picture_free(p);
}
END_TEST

START_TEST(three_roles_three_different_pictures)
{
	Mash__V1__Picture *a = ask(dflt, "analyst.amara", "mash-triage", NULL);
	Mash__V1__Picture *h =
	    ask(dflt, "housing.officer1", "early-help", NULL);
	Mash__V1__Picture *u = ask(dflt, "auditor.ada", "audit", NULL);
	const Mash__V1__SharedRecord *ra, *rh, *ru;

	ck_assert_uint_ne(a->n_records, h->n_records);
	ck_assert_str_eq(a->case_id, h->case_id);
	ck_assert_str_eq(a->case_id, u->case_id);
	/* The same housing event, three ways. */
	ra = record_of(a, "housing", MASH__V1__CATEGORY__HOMELESSNESS);
	rh = record_of(h, "housing", MASH__V1__CATEGORY__HOMELESSNESS);
	ru = record_of(u, "housing", MASH__V1__CATEGORY__HOMELESSNESS);
	ck_assert(ra && rh && ru);
	ck_assert_str_eq(ra->event_id, rh->event_id);
	ck_assert_str_eq(ra->event_id, ru->event_id);
	ck_assert_ptr_nonnull(field(rh, "summary")); /* own record */
	ck_assert_ptr_nonnull(field(ra, "summary")); /* triage, consent given */
	ck_assert_ptr_null(field(ru, "summary"));    /* audit: concern only */
	ck_assert_str_ne(ra->rule_id, ru->rule_id);
	ck_assert_str_ne(rh->rule_id, ru->rule_id);
	picture_free(a);
	picture_free(h);
	picture_free(u);
}
END_TEST

START_TEST(response_topic_of_another_inbox_is_denied_and_nothing_reaches_it)
{
	struct mash_picture_ask q;
	Mash__V1__Picture *p = NULL;
	int64_t before, after;
	int stray = -1;

	need_stacks();

	before = mash_picture_stack_audit_count(dflt, "PICTURE_DENIED",
	                                        "housing.officer1");
	memset(&q, 0, sizeof(q));
	q.principal = "housing.officer1";
	q.purpose = "early-help";
	q.nhs = NHS_JORDAN;
	q.response_topic = "mash/v1/inbox/analyst.amara";
	q.watch_topic = "mash/v1/inbox/analyst.amara";
	ck_assert_int_eq(mash_picture_stack_ask(dflt, &q, &p, &stray, WAIT_MS),
	                 MASH_OK);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_ne(p->denied_reason, "");
	ck_assert_ptr_nonnull(strstr(p->denied_reason, "own inbox"));
	ck_assert_uint_eq(p->n_records, 0);
	ck_assert_int_eq(stray, 0);
	after = mash_picture_stack_audit_count(dflt, "PICTURE_DENIED",
	                                       "housing.officer1");
	ck_assert_int_eq(after, before + 1);
	picture_free(p);
}
END_TEST

START_TEST(denied_request_returns_denied_reason_and_break_glass_is_per_role)
{
	struct mash_picture_ask q;
	Mash__V1__Picture *p = NULL;
	int64_t before_bg;

	need_stacks();

	/* Alex is known to education only: nothing for housing's early help. */
	memset(&q, 0, sizeof(q));
	q.principal = "housing.officer1";
	q.purpose = "early-help";
	q.nhs = NHS_ALEX;
	ck_assert_int_eq(mash_picture_stack_ask(dflt, &q, &p, NULL, WAIT_MS),
	                 MASH_OK);
	ck_assert_str_ne(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 0);
	ck_assert_uint_gt(p->audit_seq, 0);
	picture_free(p);
	p = NULL;

	/* Housing has a CA 2004 s11 duty: the default policy gives it
	 * break-glass (rule 8, issue 26), used and audited. */
	before_bg = mash_picture_stack_audit_count(dflt, "BREAK_GLASS", NULL);
	q.break_glass = "urgent welfare concern raised by phone";
	ck_assert_int_eq(mash_picture_stack_ask(dflt, &q, &p, NULL, WAIT_MS),
	                 MASH_OK);
	ck_assert_str_eq(p->denied_reason, "");
	ck_assert(p->break_glass);
	ck_assert_str_eq(p->break_glass_refused, "");
	ck_assert_int_eq(
	    mash_picture_stack_audit_count(dflt, "BREAK_GLASS", NULL),
	    before_bg + 1);
	picture_free(p);
	p = NULL;

	/* The auditor may not: refused, told why, audited; the ordinary
	 * review view is what they get. */
	before_bg = mash_picture_stack_audit_count(dflt, "BREAK_GLASS_REFUSED",
	                                           "auditor.ada");
	q.principal = "auditor.ada";
	q.purpose = "audit";
	q.nhs = NHS_JORDAN;
	ck_assert_int_eq(mash_picture_stack_ask(dflt, &q, &p, NULL, WAIT_MS),
	                 MASH_OK);
	ck_assert(!p->break_glass);
	ck_assert_ptr_nonnull(
	    strstr(p->break_glass_refused, "role auditor may not break glass"));
	ck_assert_int_eq(mash_picture_stack_audit_count(
	                     dflt, "BREAK_GLASS_REFUSED", "auditor.ada"),
	                 before_bg + 1);
	picture_free(p);
}
END_TEST

START_TEST(break_glass_reveals_withheld_fields_is_audited_and_auditor_told)
{
	struct mash_picture_ask q;
	Mash__V1__Picture *p = NULL;
	const Mash__V1__SharedRecord *r;
	Mash__V1__SharedRecord *note = NULL;
	int64_t bg_before, granted_before;

	need_stacks();

	bg_before = mash_picture_stack_audit_count(dflt, "BREAK_GLASS",
	                                           "analyst.amara");
	granted_before = mash_picture_stack_audit_count(dflt, "PICTURE_GRANTED",
	                                                "analyst.amara");
	memset(&q, 0, sizeof(q));
	q.principal = "analyst.amara";
	q.purpose = "mash-triage";
	q.nhs = NHS_JORDAN;
	q.break_glass = "child missing tonight, police request";
	ck_assert_int_eq(mash_picture_stack_ask_with_notice(
	                     dflt, &q, &p, "auditor.ada", &note, WAIT_MS),
	                 MASH_OK);
	ck_assert_str_eq(p->denied_reason, "");
	ck_assert(p->break_glass);
	r = record_of(p, "police", MASH__V1__CATEGORY__SEXUAL_EXPLOITATION);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(field(r, "detail.police.intelligence"));
	ck_assert_ptr_nonnull(field(r, "summary"));
	ck_assert_str_eq(r->rule_id, "r8-break-glass");
	ck_assert_int_eq(mash_picture_stack_audit_count(dflt, "BREAK_GLASS",
	                                                "analyst.amara"),
	                 bg_before + 1);
	ck_assert_int_eq(mash_picture_stack_audit_count(dflt, "PICTURE_GRANTED",
	                                                "analyst.amara"),
	                 granted_before + 1);
	/* The auditor's inbox: who broke glass, why, signed by mashd. */
	ck_assert_ptr_nonnull(note);
	ck_assert_str_eq(note->rule_id, "break-glass");
	ck_assert_uint_eq(note->n_flags, 1);
	ck_assert_str_eq(note->flags[0], "break-glass");
	ck_assert_str_eq(field(note, "break_glass.principal"), "analyst.amara");
	ck_assert_str_eq(field(note, "break_glass.reason"),
	                 "child missing tonight, police request");
	ck_assert_str_eq(note->case_id, p->case_id);
	mash__v1__shared_record__free_unpacked(note, mash_env_pb_allocator());
	picture_free(p);
}
END_TEST

START_TEST(strict_policy_denies_analyst_and_break_glass_grants)
{
	struct mash_picture_ask q;
	Mash__V1__Picture *p = NULL;
	Mash__V1__SharedRecord *note = NULL;

	need_stacks();

	memset(&q, 0, sizeof(q));
	q.principal = "analyst.amara";
	q.purpose = "mash-triage";
	q.nhs = NHS_JORDAN;
	ck_assert_int_eq(mash_picture_stack_ask(strict, &q, &p, NULL, WAIT_MS),
	                 MASH_OK);
	ck_assert_str_ne(p->denied_reason, "");
	ck_assert_uint_eq(p->n_records, 0);
	ck_assert(p->subject == NULL || p->subject->given_name[0] == '\0');
	picture_free(p);
	p = NULL;

	q.break_glass = "strategy discussion tonight";
	ck_assert_int_eq(mash_picture_stack_ask_with_notice(
	                     strict, &q, &p, "auditor.ada", &note, WAIT_MS),
	                 MASH_OK);
	ck_assert_str_eq(p->denied_reason, "");
	ck_assert(p->break_glass);
	ck_assert_uint_eq(p->n_records, 6);
	ck_assert_str_eq(p->records[0]->rule_id, "bg-analyst");
	ck_assert_ptr_nonnull(note);
	ck_assert_int_eq(mash_picture_stack_audit_count(strict, "BREAK_GLASS",
	                                                "analyst.amara"),
	                 1);
	mash__v1__shared_record__free_unpacked(note, mash_env_pb_allocator());
	picture_free(p);
}
END_TEST

START_TEST(every_access_is_in_the_audit_trail_with_purpose_and_fields)
{
	int64_t g0, d0, dec0;
	Mash__V1__Picture *p;
	char *rec = NULL;

	need_stacks();

	g0 = mash_picture_stack_audit_count(dflt, "PICTURE_GRANTED",
	                                    "auditor.ada");
	d0 = mash_picture_stack_audit_count(dflt, "PICTURE_DENIED", NULL);
	dec0 = mash_picture_stack_audit_count(dflt, "DECISION", "auditor.ada");
	p = ask(dflt, "auditor.ada", "audit", NULL);
	ck_assert_int_eq(mash_picture_stack_audit_count(dflt, "PICTURE_GRANTED",
	                                                "auditor.ada"),
	                 g0 + 1);
	/* One DECISION per record shown, each with its audit_seq. */
	ck_assert_int_eq(
	    mash_picture_stack_audit_count(dflt, "DECISION", "auditor.ada"),
	    dec0 + (int64_t)p->n_records);
	ck_assert_uint_gt(p->records[0]->audit_seq, 0);
	ck_assert_uint_lt(p->records[0]->audit_seq, p->audit_seq);
	/* The PICTURE_GRANTED record names purpose and withheld fields. */
	rec = mash_picture_stack_audit_record(dflt, p->audit_seq);
	ck_assert_ptr_nonnull(rec);
	ck_assert_ptr_nonnull(strstr(rec, "\"PICTURE_GRANTED\""));
	ck_assert_ptr_nonnull(strstr(rec, "\"audit\""));
	ck_assert_ptr_nonnull(strstr(rec, "summary"));
	ck_assert_ptr_nonnull(strstr(rec, "auditor-review"));
	ck_assert_ptr_null(strstr(rec, "Jordan"));
	ck_assert_ptr_null(strstr(rec, NHS_JORDAN));
	free(rec);
	picture_free(p);
	/* A refusal too. */
	p = NULL;
	{
		struct mash_picture_ask q;

		memset(&q, 0, sizeof(q));
		q.principal = "auditor.ada";
		q.purpose = "mash-triage";
		q.nhs = NHS_JORDAN;
		ck_assert_int_eq(
		    mash_picture_stack_ask(dflt, &q, &p, NULL, WAIT_MS),
		    MASH_OK);
		ck_assert_str_ne(p->denied_reason, "");
	}
	ck_assert_int_eq(
	    mash_picture_stack_audit_count(dflt, "PICTURE_DENIED", NULL),
	    d0 + 1);
	picture_free(p);
}
END_TEST

START_TEST(unverified_request_is_audited_and_not_answered)
{
	int64_t d0;
	int rc;

	need_stacks();

	d0 = mash_picture_stack_audit_count(dflt, "PICTURE_DENIED", NULL);
	rc = mash_picture_stack_ask_forged(dflt, "analyst.amara", 3000);
	ck_assert_int_eq(rc, MASH_ERR_TIMEOUT);
	ck_assert_int_eq(
	    mash_picture_stack_audit_count(dflt, "PICTURE_DENIED", NULL),
	    d0 + 1);
}
END_TEST

START_TEST(mashctl_picture_exit_codes_and_json)
{
	char *out = NULL;
	int status;

	need_stacks();

	/* 0: shown, JSON with stable names. */
	status = mash_picture_stack_mashctl(dflt, &out, "--as", "analyst.amara",
	                                    "--nhs", NHS_JORDAN, "--purpose",
	                                    "mash-triage", "--json", NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_ptr_nonnull(strstr(out, "\"status\": \"granted\""));
	ck_assert_ptr_nonnull(strstr(out, "\"rule_id\": \"s47.accumulation\""));
	ck_assert_ptr_nonnull(strstr(out, "\"delivery\": \"delivered\""));
	free(out);
	out = NULL;
	/* The terminal view. */
	status = mash_picture_stack_mashctl(dflt, &out, "--as", "analyst.amara",
	                                    "--nhs", NHS_JORDAN, "--purpose",
	                                    "mash-triage", NULL);
	ck_assert_int_eq(status, 0);
	ck_assert_ptr_nonnull(
	    strstr(out, "Level:      L4 child protection (s47)"));
	/* Each withheld marker names the rule that withheld it (issue 26):
	 * the diagnosis is kept to the strategy core by Caldicott rule 6. */
	ck_assert_ptr_nonnull(strstr(out, "[withheld by "));
	ck_assert_ptr_nonnull(strstr(out, "by r6-health-clinical-l4-core-only: "
	                                  "detail.health.diagnosis"));
	ck_assert_ptr_nonnull(strstr(out, "strategy discussion due by"));
	ck_assert_ptr_nonnull(strstr(out, "your inbox: delivered"));
	free(out);
	out = NULL;
	/* 1: denied. */
	status = mash_picture_stack_mashctl(
	    dflt, &out, "--as", "housing.officer1", "--nhs", NHS_ALEX,
	    "--purpose", "early-help", NULL);
	ck_assert_int_eq(status, 1);
	ck_assert_ptr_nonnull(strstr(out, "DENIED:"));
	free(out);
	out = NULL;
	/* 2: bad usage (both --case and --nhs), bad NHS number. */
	status = mash_picture_stack_mashctl(
	    dflt, &out, "--as", "analyst.amara", "--nhs", NHS_JORDAN, "--case",
	    "C-1", "--purpose", "mash-triage", NULL);
	ck_assert_int_eq(status, 2);
	free(out);
	out = NULL;
	status = mash_picture_stack_mashctl(dflt, &out, "--as", "analyst.amara",
	                                    "--nhs", "9434765918", "--purpose",
	                                    "mash-triage", NULL);
	ck_assert_int_eq(status, 2);
	free(out);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("it_picture");
	TCase *tc = tcase_create("picture");

	tcase_add_unchecked_fixture(tc, stacks_up, stacks_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc,
	    analyst_triage_sees_identity_and_narrative_but_not_police_intelligence);
	tcase_add_test(tc,
	               housing_officer_early_help_sees_only_the_housing_record);
	tcase_add_test(
	    tc, auditor_audit_sees_concerns_without_identity_or_narrative);
	tcase_add_test(tc, three_roles_three_different_pictures);
	tcase_add_test(
	    tc,
	    response_topic_of_another_inbox_is_denied_and_nothing_reaches_it);
	tcase_add_test(
	    tc,
	    denied_request_returns_denied_reason_and_break_glass_is_per_role);
	tcase_add_test(
	    tc,
	    break_glass_reveals_withheld_fields_is_audited_and_auditor_told);
	tcase_add_test(tc, strict_policy_denies_analyst_and_break_glass_grants);
	tcase_add_test(
	    tc, every_access_is_in_the_audit_trail_with_purpose_and_fields);
	tcase_add_test(tc, unverified_request_is_audited_and_not_answered);
	tcase_add_test(tc, mashctl_picture_exit_codes_and_json);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
