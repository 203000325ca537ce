/*
 * test_s47.c - section 47 triggers: every default rule and its boundaries,
 * debounce (one open trigger per case, later events update it), closing,
 * required attendees, the policy file, and the statutory clocks in the
 * store (set, closed, escalated exactly once, surviving a reopen).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "s47/cal.h"
#include "s47/s47.h"
#include "s47/s47_store.h"
#include "store/store.h"
#include "support/store_sql.h"

#define DAY  (86400000LL)
#define HOUR (3600000LL)

/* libconfig 1.5 leaks its string buffer when a file ends inside a string
 * literal (scanner strbuf_append); not ours, and only on malformed input.
 * Read by LeakSanitizer when the test runs under -fsanitize=address. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static int32_t
D(const char *s)
{
	int32_t d = 0;

	ck_assert_int_eq(mash_cal_parse_date(s, &d), MASH_OK);
	return d;
}

/* Monday 2 November 2026, 10:00 UTC. */
static int64_t
t0(void)
{
	return (int64_t)D("2026-11-02") * DAY + 10 * HOUR;
}

static struct mash_s47_fact
F(const char *agency, const char *id, int cat, uint32_t sev, int64_t at) {
	struct mash_s47_fact f;

	memset(&f, 0, sizeof(f));
	snprintf(f.agency, sizeof(f.agency), "%s", agency);
	snprintf(f.event_id, sizeof(f.event_id), "%s", id);
	f.category = cat;
	f.severity = sev;
	f.occurred_at = at;
	f.dob_day = D("2011-05-14");
	return f;
}

#define CAT(x) MASH__V1__CATEGORY__##x

static struct mash_s47_policy *
defpol(void)
{
	struct mash_s47_policy *p = NULL;

	ck_assert_int_eq(mash_s47_policy_default(&p), MASH_OK);
	return p;
}

static struct mash_s47_result *
eval(const struct mash_s47_fact *h, size_t n, size_t cur,
     const struct mash_s47_open *open)
{
	static struct mash_s47_result res;
	struct mash_s47_policy *p = defpol();

	ck_assert_int_eq(mash_s47_evaluate(p, h, n, cur, open, &res), MASH_OK);
	mash_s47_policy_free(p);
	return &res;
}

static int
has(char (*list)[MASH_S47_MAX_REF], size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static int
has_role(const struct mash_s47_result *r, const char *role)
{
	size_t i;

	for (i = 0; i < r->n_roles; i++)
		if (strcmp(r->roles[i], role) == 0)
			return 1;
	return 0;
}

/* ---- single-event rules, table-driven --------------------------------- */

struct single_case {
	const char *name;
	const char *agency;
	int category;
	uint32_t severity;
	const char *dob;  /* NULL: unknown */
	int64_t age_days; /* occurred = dob + age_days (if dob) */
	uint32_t vcl;
	const char *want_rule; /* NULL: no trigger */
};

static const struct single_case singles[] = {
    {"severity 4 is imminent", "police", CAT(DOMESTIC_ABUSE), 4, NULL, 0, 0,
     "s47.imminent"},
    {"severity 3 alone is not", "police", CAT(DOMESTIC_ABUSE), 3, NULL, 0, 0,
     NULL},
    {"sexual abuse sev 3", "police", CAT(SEXUAL_ABUSE), 3, NULL, 0, 0,
     "s47.serious-category"},
    {"sexual abuse sev 2", "police", CAT(SEXUAL_ABUSE), 2, NULL, 0, 0, NULL},
    {"physical abuse sev 3", "health", CAT(PHYSICAL_ABUSE), 3, NULL, 0, 0,
     "s47.serious-category"},
    {"physical abuse sev 2", "health", CAT(PHYSICAL_ABUSE), 2, NULL, 0, 0,
     NULL},
    {"FGM sev 3", "health", CAT(FGM), 3, NULL, 0, 0, "s47.serious-category"},
    {"neglect sev 3 not a serious category", "health", CAT(NEGLECT), 3, NULL, 0,
     0, NULL},
    {"injury age 364 days", "health", CAT(INJURY), 1, "2025-11-03", 364, 0,
     "s47.serious-category"},
    {"injury age 366 days", "health", CAT(INJURY), 1, "2025-11-01", 366, 0,
     NULL},
    {"injury age 365 days is the first birthday", "health", CAT(INJURY), 2,
     "2025-11-02", 365, 0, NULL},
    {"injury newborn sev 0", "health", CAT(INJURY), 0, "2026-11-01", 1, 0,
     "s47.serious-category"},
    {"injury unknown DOB", "health", CAT(INJURY), 2, NULL, 0, 0, NULL},
    {"injury to a teenager sev 3", "health", CAT(INJURY), 3, "2011-05-14", 5651,
     0, NULL},
    {"vcl factor 4", "yot", CAT(OFFENDING), 2, NULL, 0, 4, "s47.vcl-very-high"},
    {"vcl factor 3", "yot", CAT(OFFENDING), 2, NULL, 0, 3, NULL},
    {"imminent wins over serious", "police", CAT(SEXUAL_ABUSE), 4, NULL, 0, 4,
     "s47.imminent"},
};

START_TEST(test_single_event_rules_and_boundaries)
{
	const struct single_case *c = &singles[_i];
	struct mash_s47_fact f =
	    F(c->agency, "e1", c->category, c->severity, t0());
	struct mash_s47_result *r;

	f.vcl_max = c->vcl;
	f.dob_day = MASH_S47_NO_DOB;
	if (c->dob != NULL) {
		f.dob_day = D(c->dob);
		ck_assert_int_eq(mash_cal_local_day(t0()) - f.dob_day,
		                 c->age_days);
	}
	r = eval(&f, 1, 0, NULL);
	if (c->want_rule == NULL) {
		ck_assert_msg(r->action == MASH_S47_NONE, "%s: fired %s",
		              c->name, r->rule_id);
	} else {
		ck_assert_msg(r->action == MASH_S47_RAISE, "%s: no trigger",
		              c->name);
		ck_assert_str_eq(r->rule_id, c->want_rule);
		ck_assert_uint_eq(r->n_events, 1);
		ck_assert_str_eq(r->events[0], c->agency[0] == 'p' ? "police/e1"
		                               : c->agency[0] == 'h'
		                                   ? "health/e1"
		                                   : "yot/e1");
		ck_assert_uint_eq(r->level, 4);
		ck_assert_msg(strstr(r->reason, c->want_rule) != NULL, "%s",
		              r->reason);
	}
}
END_TEST

START_TEST(test_imminent_wants_same_working_day)
{
	struct mash_s47_fact f =
	    F("police", "e1", CAT(DOMESTIC_ABUSE), 4, t0());
	struct mash_s47_result *r = eval(&f, 1, 0, NULL);

	ck_assert_int_eq(r->same_day, 1);
	f = F("police", "e1", CAT(SEXUAL_ABUSE), 3, t0());
	r = eval(&f, 1, 0, NULL);
	ck_assert_int_eq(r->same_day, 0);
}
END_TEST

START_TEST(test_both_rules_named_in_reason)
{
	struct mash_s47_fact f = F("police", "e1", CAT(SEXUAL_ABUSE), 4, t0());
	struct mash_s47_result *r = eval(&f, 1, 0, NULL);

	ck_assert_str_eq(r->rule_id, "s47.imminent");
	ck_assert_ptr_nonnull(strstr(r->reason, "s47.serious-category"));
	ck_assert_ptr_null(strstr(r->reason, "Jordan"));
}
END_TEST

/* ---- multi-agency and accumulation windows ---------------------------- */

struct pair_case {
	const char *name;
	const char *a_agency;
	uint32_t a_sev;
	const char *b_agency;
	uint32_t b_sev;
	int64_t gap_days;
	const char *want_rule;
};

static const struct pair_case pairs[] = {
    {"29 days", "police", 3, "health", 3, 29, "s47.multi-agency"},
    {"30 days inclusive", "police", 3, "health", 3, 30, "s47.multi-agency"},
    {"31 days", "police", 3, "health", 3, 31, NULL},
    {"0 days", "education", 3, "housing", 3, 0, "s47.multi-agency"},
    {"severity 2 vs 3", "police", 2, "health", 3, 10, NULL},
    {"severity 3 vs 2", "police", 3, "health", 2, 10, NULL},
    {"same agency twice", "police", 3, "police", 3, 10, NULL},
    {"later event first in time", "health", 3, "police", 3, -10,
     "s47.multi-agency"},
};

START_TEST(test_multi_agency_window_and_severity)
{
	const struct pair_case *c = &pairs[_i];
	struct mash_s47_fact h[2];
	struct mash_s47_result *r;

	h[0] = F(c->a_agency, "a", CAT(DOMESTIC_ABUSE), c->a_sev, t0());
	h[1] = F(c->b_agency, "b", CAT(SELF_HARM), c->b_sev,
	         t0() + c->gap_days * DAY);
	r = eval(h, 2, 1, NULL);
	if (c->want_rule == NULL) {
		ck_assert_msg(r->action == MASH_S47_NONE, "%s", c->name);
	} else {
		char a[64], b[64];

		snprintf(a, sizeof(a), "%s/a", c->a_agency);
		snprintf(b, sizeof(b), "%s/b", c->b_agency);
		ck_assert_msg(r->action == MASH_S47_RAISE, "%s", c->name);
		ck_assert_str_eq(r->rule_id, c->want_rule);
		ck_assert_uint_eq(r->n_events, 2);
		ck_assert(has(r->events, r->n_events, a));
		ck_assert(has(r->events, r->n_events, b));
	}
}
END_TEST

struct accum_case {
	const char *name;
	uint32_t sev[4];
	const char *agency[4];
	int64_t day[4];
	size_t n;
	const char *want_rule;
};

static const struct accum_case accums[] = {
    {"3 agencies sum 8 within 89 days",
     {3, 2, 3},
     {"education", "housing", "yot"},
     {0, 45, 89},
     3,
     "s47.accumulation"},
    {"3 agencies sum 8 over 91 days",
     {3, 2, 3},
     {"education", "housing", "yot"},
     {0, 45, 91},
     3,
     NULL},
    {"3 agencies sum 8 exactly 90 days",
     {3, 2, 3},
     {"education", "housing", "yot"},
     {0, 45, 90},
     3,
     "s47.accumulation"},
    {"3 agencies sum 7",
     {2, 2, 3},
     {"education", "housing", "yot"},
     {0, 10, 20},
     3,
     NULL},
    {"2 agencies sum 8",
     {3, 2, 3},
     {"education", "housing", "education"},
     {0, 40, 80},
     3,
     NULL},
    {"4 agencies sum 8 (demo events 1-4)",
     {2, 1, 2, 3},
     {"police", "education", "housing", "health"},
     {0, 7, 13, 18},
     4,
     "s47.accumulation"},
    {"4 agencies sum 7",
     {2, 1, 2, 2},
     {"police", "education", "housing", "health"},
     {0, 7, 13, 18},
     4,
     NULL},
};

START_TEST(test_accumulation_window_agencies_and_sum)
{
	const struct accum_case *c = &accums[_i];
	struct mash_s47_fact h[4];
	struct mash_s47_result *r;
	size_t i;

	for (i = 0; i < c->n; i++) {
		char id[32];

		snprintf(id, sizeof(id), "e%zu", i);
		h[i] = F(c->agency[i], id, CAT(NEGLECT), c->sev[i],
		         t0() + c->day[i] * DAY);
	}
	r = eval(h, c->n, c->n - 1, NULL);
	if (c->want_rule == NULL) {
		ck_assert_msg(r->action == MASH_S47_NONE, "%s: %s", c->name,
		              r->reason);
	} else {
		ck_assert_msg(r->action == MASH_S47_RAISE, "%s", c->name);
		ck_assert_str_eq(r->rule_id, c->want_rule);
		ck_assert_uint_eq(r->n_events, c->n);
	}
}
END_TEST

START_TEST(test_old_events_alone_never_fire)
{
	/* Two severity-3 reports within 30 days, then an unrelated severity
	 * 1 event: the new event is not part of the pattern. */
	struct mash_s47_fact h[3];

	h[0] = F("police", "a", CAT(DOMESTIC_ABUSE), 3, t0());
	h[1] = F("health", "b", CAT(SELF_HARM), 3, t0() + 5 * DAY);
	h[2] = F("education", "c", CAT(SCHOOL_ATTENDANCE), 1, t0() + 200 * DAY);
	ck_assert_int_eq(eval(h, 3, 2, NULL)->action, MASH_S47_NONE);
}
END_TEST

/* ---- debounce, update, close ------------------------------------------ */

static void
open_from(const struct mash_s47_result *r, struct mash_s47_open *o)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	o->open = 1;
	snprintf(o->trigger_id, sizeof(o->trigger_id), "C-1-s47-1");
	snprintf(o->rule_id, sizeof(o->rule_id), "%s", r->rule_id);
	for (i = 0; i < r->n_events; i++)
		memcpy(o->events[i], r->events[i], MASH_S47_MAX_REF);
	o->n_events = r->n_events;
}

START_TEST(test_second_matching_event_updates_not_raises)
{
	struct mash_s47_fact h[3];
	struct mash_s47_open o;
	struct mash_s47_result *r;

	h[0] = F("police", "a", CAT(DOMESTIC_ABUSE), 3, t0());
	h[1] = F("health", "b", CAT(INJURY), 3, t0() + 10 * DAY);
	r = eval(h, 2, 1, NULL);
	ck_assert_int_eq(r->action, MASH_S47_RAISE);
	open_from(r, &o);
	h[2] = F("education", "c", CAT(NEGLECT), 3, t0() + 12 * DAY);
	r = eval(h, 3, 2, &o);
	ck_assert_int_eq(r->action, MASH_S47_UPDATE);
	ck_assert_str_eq(r->rule_id, "s47.multi-agency");
	ck_assert_uint_eq(r->n_new, 1);
	ck_assert_str_eq(r->new_events[0], "education/c");
	ck_assert_uint_eq(r->n_events, 3);
	ck_assert_str_eq(r->events[0], "police/a");
	ck_assert(has_role(r, "school-dsl"));
}
END_TEST

START_TEST(test_re_evaluating_same_event_is_no_update)
{
	struct mash_s47_fact h[2];
	struct mash_s47_open o;
	struct mash_s47_result *r;

	h[0] = F("police", "a", CAT(DOMESTIC_ABUSE), 3, t0());
	h[1] = F("health", "b", CAT(INJURY), 3, t0() + 10 * DAY);
	r = eval(h, 2, 1, NULL);
	open_from(r, &o);
	ck_assert_int_eq(eval(h, 2, 1, &o)->action, MASH_S47_NONE);
}
END_TEST

START_TEST(test_non_matching_event_leaves_open_trigger_alone)
{
	struct mash_s47_fact h[3];
	struct mash_s47_open o;
	struct mash_s47_result *r;

	h[0] = F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0());
	r = eval(h, 1, 0, NULL);
	open_from(r, &o);
	h[1] = F("education", "b", CAT(SCHOOL_ATTENDANCE), 1, t0() + 100 * DAY);
	ck_assert_int_eq(eval(h, 2, 1, &o)->action, MASH_S47_NONE);
}
END_TEST

START_TEST(test_strategy_discussion_held_closes_only_from_social_care)
{
	struct mash_s47_fact h[2];
	struct mash_s47_open o;
	struct mash_s47_result *r;

	h[0] = F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0());
	r = eval(h, 1, 0, NULL);
	open_from(r, &o);
	h[1] = F("social-care", "sd", CAT(STRATEGY_DISCUSSION_HELD), 0,
	         t0() + DAY);
	ck_assert_int_eq(eval(h, 2, 1, &o)->action, MASH_S47_CLOSE);
	ck_assert_int_eq(eval(h, 2, 1, NULL)->action, MASH_S47_NONE);
	h[1] = F("police", "sd", CAT(STRATEGY_DISCUSSION_HELD), 0, t0() + DAY);
	ck_assert_int_eq(eval(h, 2, 1, &o)->action, MASH_S47_NONE);
	/* Closing categories never count as concerns. */
	h[1] = F("social-care", "od", CAT(S47_OUTCOME), 4, t0() + DAY);
	ck_assert_int_eq(eval(h, 2, 1, NULL)->action, MASH_S47_NONE);
}
END_TEST

START_TEST(test_required_attendees_minimum_and_referrers)
{
	struct mash_s47_fact h[3];
	struct mash_s47_result *r;

	h[0] = F("police", "a", CAT(DOMESTIC_ABUSE), 3, t0());
	h[1] = F("health", "b", CAT(INJURY), 3, t0() + 10 * DAY);
	r = eval(h, 2, 1, NULL);
	ck_assert_uint_eq(r->n_roles, 4);
	ck_assert(has_role(r, "la-social-worker"));
	ck_assert(has_role(r, "social-work-manager"));
	ck_assert(has_role(r, "police-public-protection"));
	ck_assert(has_role(r, "health-safeguarding"));
	/* A YOT referral adds the YOT worker; education anywhere in the
	 * history adds the school. */
	h[0] = F("education", "x", CAT(SCHOOL_ATTENDANCE), 1, t0() - 50 * DAY);
	h[1] = F("yot", "y", CAT(OFFENDING), 4, t0());
	r = eval(h, 2, 1, NULL);
	ck_assert_uint_eq(r->n_events, 1);
	ck_assert(has_role(r, "yot-worker"));
	ck_assert(has_role(r, "school-dsl"));
	ck_assert(!has_role(r, "housing-officer"));
	ck_assert_uint_eq(r->n_roles, 6);
}
END_TEST

/* The demo story of SHARED-DEFS.md. */
START_TEST(test_demo_story_accumulation_then_update)
{
	struct mash_s47_fact h[6];
	struct mash_s47_open o;
	struct mash_s47_result *r;
	size_t i;

	h[0] = F("police", "e1", CAT(MISSING_EPISODE), 2,
	         (int64_t)D("2026-10-02") * DAY);
	h[1] = F("education", "e2", CAT(SCHOOL_ATTENDANCE), 1,
	         (int64_t)D("2026-10-09") * DAY);
	h[2] = F("housing", "e3", CAT(HOMELESSNESS), 2,
	         (int64_t)D("2026-10-15") * DAY);
	h[3] = F("health", "e4", CAT(SELF_HARM), 3,
	         (int64_t)D("2026-10-20") * DAY);
	h[4] =
	    F("yot", "e5", CAT(OFFENDING), 2, (int64_t)D("2026-10-28") * DAY);
	h[4].vcl_max = 3;
	h[5] = F("police", "e6", CAT(SEXUAL_EXPLOITATION), 3,
	         (int64_t)D("2026-11-03") * DAY);
	h[5].vcl_max = 4;
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(eval(h, i + 1, i, NULL)->action,
		                 MASH_S47_NONE);
	r = eval(h, 4, 3, NULL);
	ck_assert_int_eq(r->action, MASH_S47_RAISE);
	ck_assert_str_eq(r->rule_id, "s47.accumulation");
	ck_assert_uint_eq(r->n_events, 4);
	ck_assert(has_role(r, "school-dsl"));
	ck_assert(has_role(r, "housing-officer"));
	open_from(r, &o);
	r = eval(h, 6, 5, &o);
	ck_assert_int_eq(r->action, MASH_S47_UPDATE);
	ck_assert_ptr_nonnull(strstr(r->reason, "s47.multi-agency"));
	ck_assert_ptr_nonnull(strstr(r->reason, "s47.vcl-very-high"));
	ck_assert(has(r->new_events, r->n_new, "police/e6"));
	ck_assert(has(r->events, r->n_events, "health/e4"));
}
END_TEST

START_TEST(test_evaluate_rejects_bad_arguments)
{
	struct mash_s47_policy *p = defpol();
	struct mash_s47_fact f = F("police", "a", CAT(INJURY), 4, t0());
	struct mash_s47_result r;

	ck_assert_int_eq(mash_s47_evaluate(p, &f, 1, 1, NULL, &r),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(r.action, MASH_S47_NONE);
	ck_assert_int_eq(mash_s47_evaluate(NULL, &f, 1, 0, NULL, &r),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_s47_evaluate(p, NULL, 1, 0, NULL, &r),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mash_s47_evaluate(p, &f, MASH_S47_MAX_HISTORY + 1, 0, NULL, &r),
	    MASH_ERR_INVAL);
	mash_s47_policy_free(p);
}
END_TEST

START_TEST(test_fact_from_event_takes_no_identity)
{
	Mash__V1__AgencyEvent ev = MASH__V1__AGENCY_EVENT__INIT;
	Mash__V1__Subject subj = MASH__V1__SUBJECT__INIT;
	Mash__V1__VclScore v1 = MASH__V1__VCL_SCORE__INIT,
	                   v2 = MASH__V1__VCL_SCORE__INIT;
	Mash__V1__VclScore *vs[2] = {&v1, &v2};
	Mash__V1__SocialCareDetail sc = MASH__V1__SOCIAL_CARE_DETAIL__INIT;
	struct mash_s47_fact f;

	subj.date_of_birth = "2011-05-14";
	subj.given_name = "Jordan";
	ev.event_id = "0f1e";
	ev.agency = "social-care";
	ev.category = CAT(STRATEGY_DISCUSSION_HELD);
	ev.severity = 2;
	ev.occurred_at = t0();
	ev.subject = &subj;
	v1.score = 3;
	v2.score = 1;
	ev.n_vcl = 2;
	ev.vcl = vs;
	sc.held_at = t0() + HOUR;
	ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE;
	ev.social_care = &sc;
	ck_assert_int_eq(mash_s47_fact_from_event(&ev, &f), MASH_OK);
	ck_assert_str_eq(f.agency, "social-care");
	ck_assert_str_eq(f.event_id, "0f1e");
	ck_assert_int_eq(f.dob_day, D("2011-05-14"));
	ck_assert_uint_eq(f.vcl_max, 3);
	ck_assert_int_eq(f.held_at, t0() + HOUR);
	subj.date_of_birth = "14/05/2011";
	ck_assert_int_eq(mash_s47_fact_from_event(&ev, &f), MASH_OK);
	ck_assert_int_eq(f.dob_day, MASH_S47_NO_DOB);
	ck_assert_int_eq(mash_s47_fact_from_event(NULL, &f), MASH_ERR_INVAL);
}
END_TEST

/* ---- the policy file -------------------------------------------------- */

static void
src_path(char *buf, size_t n, const char *rel)
{
	const char *src = getenv("MASH_SOURCE_DIR");

	ck_assert_ptr_nonnull(src);
	snprintf(buf, n, "%s/%s", src, rel);
}

static char tmpdir[64];

static void
write_file(const char *name, const char *text, char *path, size_t n)
{
	FILE *f;

	snprintf(path, n, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_shipped_policy_loads_with_five_rules)
{
	char path[4096], err[512];
	struct mash_s47_policy *p = NULL;
	static const char *const ids[] = {
	    "s47.imminent", "s47.serious-category", "s47.multi-agency",
	    "s47.accumulation", "s47.vcl-very-high"};
	size_t i;
	struct mash_cal *cal = mash_cal_new();

	src_path(path, sizeof(path), "policy/s47.cfg");
	ck_assert_msg(mash_s47_policy_load(path, &p, err, sizeof(err)) ==
	                  MASH_OK,
	              "%s", err);
	ck_assert_uint_eq(mash_s47_policy_rule_count(p), 5);
	for (i = 0; i < 5; i++)
		ck_assert_str_eq(mash_s47_policy_rule_id(p, i), ids[i]);
	ck_assert_int_eq(mash_s47_policy_clock_days(p, MASH_S47_CLOCK_ICPC),
	                 15);
	ck_assert_int_eq(
	    mash_s47_policy_clock_days(p, MASH_S47_CLOCK_ASSESSMENT), 45);
	ck_assert_str_eq(mash_s47_policy_escalation_role(p), "mash-manager");
	ck_assert_ptr_nonnull(
	    strstr(mash_s47_policy_holidays_file(p), "s47/holidays.cfg"));
	ck_assert_int_eq(mash_cal_load(cal, mash_s47_policy_holidays_file(p),
	                               err, sizeof(err)),
	                 MASH_OK);
	mash_cal_free(cal);
	mash_s47_policy_free(p);
}
END_TEST

START_TEST(test_policy_through_include_ignores_other_groups)
{
	char s47[4096], top[4096], path[512], err[512], text[8192];
	struct mash_s47_policy *p = NULL;
	FILE *f;
	size_t n;

	src_path(s47, sizeof(s47), "policy/s47.cfg");
	f = fopen(s47, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	write_file("s47.cfg", text, path, sizeof(path));
	write_file("default.cfg",
	           "sharing = { rules = ( { id = \"x\"; } ); };\n@include "
	           "\"s47.cfg\"\n",
	           top, sizeof(top));
	ck_assert_msg(mash_s47_policy_load(top, &p, err, sizeof(err)) ==
	                  MASH_OK,
	              "%s", err);
	ck_assert_uint_eq(mash_s47_policy_rule_count(p), 5);
	mash_s47_policy_free(p);
}
END_TEST

struct bad_policy {
	const char *text;
	const char *want;
};

#define CLOCKS "clocks = { icpc_working_days = 15; };\n"
#define RULE1  "rules = ( { id = \"r\"; kind = \"imminent\"; } );"

static const struct bad_policy bad_policies[] = {
    {"triggers = {\n " RULE1 "\n colour = 1; };\n" CLOCKS,
     ":3: unknown key in triggers: colour"},
    {"triggers = { rules = (\n { id = \"r\"; kind = \"imminent\"; wndow_days = "
     "3; } ); };\n" CLOCKS,
     ":2: unknown key in rule: wndow_days"},
    {"triggers = { " RULE1 " };\nclocks = {\n icpc_days = 15; };\n",
     ":3: unknown key in clocks: icpc_days"},
    {"triggers = { " RULE1 " };\n", "no `clocks` group"},
    {CLOCKS, "no `triggers` group"},
    {"triggers = { rules = (\n { id = \"r\"; kind = \"loud\"; } ); };\n" CLOCKS,
     ":2: unknown rule kind"},
    {"triggers = { rules = (\n { id = \"r\"; kind = \"serious-category\";\n "
     "categories = [\"SEXUAL_ABUSE\", \"BURGLARY\"]; } ); };\n" CLOCKS,
     ":3: unknown category: BURGLARY"},
    {"triggers = { rules = (\n { id = \"r\"; kind = \"imminent\";\n "
     "min_severity = 5; } ); };\n" CLOCKS,
     ":3: value out of range 0..4: min_severity"},
    {"triggers = { rules = (\n { id = \"r\"; kind = \"multi-agency\"; "
     "window_days = \"30\"; } ); };\n" CLOCKS,
     ":2: value must be an integer: window_days"},
    {"triggers = { rules = (\n { id = \"r\"; kind = \"imminent\"; },\n { id = "
     "\"r\"; kind = \"vcl\"; } ); };\n" CLOCKS,
     ":3: duplicate rule id: r"},
    {"triggers = { rules = ( { kind = \"imminent\"; } ); };\n" CLOCKS,
     "missing key: id"},
    {"triggers = { " RULE1
     " agency_roles = {\n police = \"p\"; fire = \"f\"; }; };\n" CLOCKS,
     ":2: unknown key in agency_roles: fire"},
    {"triggers = { rules = (); };\n" CLOCKS, "1 to 16 rules"},
    {"triggers = { " RULE1 "\n" CLOCKS, "syntax error"},
};

START_TEST(test_policy_errors_name_file_line_and_key)
{
	char path[512], err[512];
	struct mash_s47_policy *p = (struct mash_s47_policy *)&err;

	write_file("bad.cfg", bad_policies[_i].text, path, sizeof(path));
	ck_assert_int_eq(mash_s47_policy_load(path, &p, err, sizeof(err)),
	                 MASH_ERR_POLICY);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(err, bad_policies[_i].want) != NULL, "got: %s",
	              err);
	ck_assert_msg(strstr(err, "bad.cfg") != NULL, "no file: %s", err);
}
END_TEST

START_TEST(test_policy_missing_file_is_io_error)
{
	char err[512];
	struct mash_s47_policy *p = NULL;

	ck_assert_int_eq(
	    mash_s47_policy_load("/nonexistent/p.cfg", &p, err, sizeof(err)),
	    MASH_ERR_IO);
	ck_assert_ptr_null(p);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/p.cfg"));
}
END_TEST

START_TEST(test_configured_thresholds_change_behaviour)
{
	char path[512], err[512];
	struct mash_s47_policy *p = NULL;
	struct mash_s47_fact h[2];
	struct mash_s47_result r;

	write_file("narrow.cfg",
	           "triggers = { rules = (\n"
	           " { id = \"local.multi\"; kind = \"multi-agency\"; "
	           "min_severity = 2;"
	           " window_days = 10; },\n"
	           " { id = \"local.imminent\"; kind = \"imminent\"; enabled = "
	           "false; }"
	           " ); };\n" CLOCKS,
	           path, sizeof(path));
	ck_assert_msg(mash_s47_policy_load(path, &p, err, sizeof(err)) ==
	                  MASH_OK,
	              "%s", err);
	h[0] = F("police", "a", CAT(DOMESTIC_ABUSE), 2, t0());
	h[1] = F("health", "b", CAT(SELF_HARM), 2, t0() + 10 * DAY);
	ck_assert_int_eq(mash_s47_evaluate(p, h, 2, 1, NULL, &r), MASH_OK);
	ck_assert_int_eq(r.action, MASH_S47_RAISE);
	ck_assert_str_eq(r.rule_id, "local.multi");
	h[1].occurred_at = t0() + 11 * DAY;
	ck_assert_int_eq(mash_s47_evaluate(p, h, 2, 1, NULL, &r), MASH_OK);
	ck_assert_int_eq(r.action, MASH_S47_NONE);
	h[1].severity = 4; /* imminent is disabled */
	ck_assert_int_eq(mash_s47_evaluate(p, h, 2, 1, NULL, &r), MASH_OK);
	ck_assert_int_eq(r.action, MASH_S47_NONE);
	mash_s47_policy_free(p);
}
END_TEST

/* Truncations and bit flips of the shipped policy: never a crash or a
 * leak, always OK or a policy/parse error with a message. */
START_TEST(test_policy_truncations_and_bit_flips_fail_cleanly)
{
	char src[4096], path[512], err[512];
	static char text[16384], mut[16384];
	struct mash_s47_policy *p = NULL;
	size_t n, cut, bit;
	FILE *f;
	int rc;

	src_path(src, sizeof(src), "policy/s47.cfg");
	f = fopen(src, "r");
	ck_assert_ptr_nonnull(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	for (cut = 0; cut < n; cut += 37) {
		memcpy(mut, text, cut);
		mut[cut] = '\0';
		write_file("cut.cfg", mut, path, sizeof(path));
		err[0] = '\0';
		rc = mash_s47_policy_load(path, &p, err, sizeof(err));
		ck_assert(rc == MASH_OK || rc == MASH_ERR_POLICY);
		ck_assert(rc == MASH_OK || err[0] != '\0');
		mash_s47_policy_free(p);
		p = NULL;
	}
	for (bit = 0; bit < n * 8; bit += 53) {
		memcpy(mut, text, n);
		mut[n] = '\0';
		mut[bit / 8] ^= (char)(1u << (bit % 8));
		if (mut[bit / 8] == '\0')
			mut[bit / 8] = ' ';
		write_file("flip.cfg", mut, path, sizeof(path));
		rc = mash_s47_policy_load(path, &p, err, sizeof(err));
		ck_assert(rc == MASH_OK || rc == MASH_ERR_POLICY ||
		          rc == MASH_ERR_NOMEM);
		mash_s47_policy_free(p);
		p = NULL;
	}
}
END_TEST

START_TEST(test_policy_load_survives_allocation_failures)
{
	char path[4096], err[512];
	struct mash_s47_policy *p = NULL;
	long k;
	int rc = MASH_ERR_NOMEM;

	src_path(path, sizeof(path), "policy/s47.cfg");
	for (k = 0; k < 8 && rc != MASH_OK; k++) {
		mash_mem_fail_after(k);
		rc = mash_s47_policy_load(path, &p, err, sizeof(err));
		mash_mem_fail_after(-1);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		ck_assert(rc == MASH_OK || p == NULL);
		mash_s47_policy_free(p);
		p = NULL;
	}
	ck_assert_int_eq(rc, MASH_OK);
}
END_TEST

/* ---- the store: triggers and clocks ----------------------------------- */

struct fixture {
	char dir[64];
	char db[128];
	struct mash_store *st;
	struct mash_s47_policy *p;
	struct mash_cal *cal;
	struct mash_s47_fact h[16];
	size_t n;
	struct mash_s47_outcome out;
};

static struct fixture fx;

static void
fx_open(void)
{
	ck_assert_int_eq(mash_store_open(fx.db, &fx.st), MASH_OK);
	ck_assert_int_eq(mash_s47_store_init(fx.st), MASH_OK);
}

static void
fx_setup(void)
{
	char path[4096];

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_s47db_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.db, sizeof(fx.db), "%s/mash.db", fx.dir);
	fx_open();
	fx.p = defpol();
	fx.cal = mash_cal_new();
	src_path(path, sizeof(path), "s47/holidays.cfg");
	ck_assert_int_eq(mash_cal_load(fx.cal, path, NULL, 0), MASH_OK);
}

static void
fx_teardown(void)
{
	char cmd[256];

	mash_store_close(fx.st);
	mash_s47_policy_free(fx.p);
	mash_cal_free(fx.cal);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

/* Store hist fact f for case "C-1" at now, in one transaction. */
static int
fx_event(struct mash_s47_fact f, int64_t now)
{
	int rc;

	fx.h[fx.n++] = f;
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	rc = mash_s47_store_apply(fx.st, fx.p, fx.cal, "C-1", fx.h, fx.n,
	                          fx.n - 1, now, &fx.out);
	if (rc == MASH_OK)
		ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	else
		ck_assert_int_eq(mash_store_rollback(fx.st), MASH_OK);
	return rc;
}

static size_t
fx_escalate(int64_t now, struct mash_s47_clock *out, size_t max)
{
	size_t n = 99;

	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_s47_store_escalate_due(fx.st, now, out, max, &n),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	return n;
}

static const struct mash_s47_clock_change *
find_change(int kind, enum mash_s47_clock_op op)
{
	size_t i;

	for (i = 0; i < fx.out.n_clocks; i++)
		if (fx.out.clocks[i].clock.kind == kind &&
		    fx.out.clocks[i].op == op)
			return &fx.out.clocks[i];
	return NULL;
}

/* End of the London working day date (winter: 23:59:59.999 UTC). */
static int64_t
eod(const char *date)
{
	return mash_cal_end_of_day_ms(D(date));
}

START_TEST(test_store_raise_sets_strategy_and_referral_clocks)
{
	const struct mash_s47_clock_change *ch;
	struct mash_s47_open o;

	/* Police DA sev 3 on Monday: referral + assessment clocks only. */
	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 3, t0() - 10 * DAY),
	             t0()),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_NONE);
	ch = find_change(MASH_S47_CLOCK_REFERRAL, MASH_S47_CLOCK_SET);
	ck_assert_ptr_nonnull(ch);
	ck_assert_int_eq(ch->clock.due_at, eod("2026-11-03"));
	ch = find_change(MASH_S47_CLOCK_ASSESSMENT, MASH_S47_CLOCK_SET);
	ck_assert_ptr_nonnull(ch);
	ck_assert_int_eq(ch->clock.due_at, eod("2027-01-07"));
	/* Health injury sev 3 ten days later: one trigger, both events,
	 * strategy discussion due by the end of the next working day. */
	ck_assert_int_eq(
	    fx_event(F("health", "b", CAT(INJURY), 3, t0()), t0() + HOUR),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
	ck_assert_str_eq(fx.out.trigger.trigger_id, "C-1-s47-1");
	ck_assert_str_eq(fx.out.trigger.rule_id, "s47.multi-agency");
	ck_assert_uint_eq(fx.out.trigger.n_events, 2);
	ck_assert_int_eq(fx.out.trigger.due_by, eod("2026-11-03"));
	ck_assert_uint_eq(fx.out.trigger.n_roles, 4);
	ch = find_change(MASH_S47_CLOCK_STRATEGY, MASH_S47_CLOCK_SET);
	ck_assert_ptr_nonnull(ch);
	ck_assert_str_eq(ch->clock.trigger_id, "C-1-s47-1");
	ck_assert_int_eq(ch->clock.due_at, eod("2026-11-03"));
	/* The referral clock is not started twice. */
	ck_assert_ptr_null(
	    find_change(MASH_S47_CLOCK_REFERRAL, MASH_S47_CLOCK_SET));
	ck_assert_int_eq(mash_s47_store_load_open(fx.st, "C-1", &o), MASH_OK);
	ck_assert_int_eq(o.open, 1);
	ck_assert_str_eq(o.events[0], "police/a");
	ck_assert_str_eq(o.events[1], "health/b");
	ck_assert_uint_eq(o.n_roles, 4);
}
END_TEST

START_TEST(test_store_imminent_due_same_working_day)
{
	/* Saturday 7 November 2026: due the end of Monday 9th. */
	int64_t sat = (int64_t)D("2026-11-07") * DAY + 9 * HOUR;

	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 4, sat), sat),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
	ck_assert_int_eq(fx.out.trigger.due_by, eod("2026-11-09"));
	/* Tuesday: the end of that Tuesday. */
	ck_assert_int_eq(fx_event(F("health", "b", CAT(INJURY), 4, t0() + DAY),
	                          t0() + 8 * DAY),
	                 MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_UPDATE);
	ck_assert_int_eq(fx.out.trigger.due_by, eod("2026-11-09"));
}
END_TEST

START_TEST(test_store_trigger_on_maundy_thursday_due_after_easter)
{
	int64_t thu = (int64_t)D("2026-04-02") * DAY + 15 * HOUR;

	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(SEXUAL_ABUSE), 3, thu), thu),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
	/* Good Friday, the weekend and Easter Monday are skipped; BST. */
	ck_assert_int_eq(fx.out.trigger.due_by, eod("2026-04-07"));
	ck_assert_int_eq(fx.out.trigger.due_by,
	                 (int64_t)D("2026-04-07") * DAY + 23 * HOUR - 1);
}
END_TEST

START_TEST(test_store_update_brings_strategy_clock_forward)
{
	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(SEXUAL_ABUSE), 3, t0()), t0()),
	    MASH_OK);
	ck_assert_int_eq(fx.out.trigger.due_by, eod("2026-11-03"));
	ck_assert_int_eq(
	    fx_event(F("health", "b", CAT(NEGLECT), 4, t0()), t0() + HOUR),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_UPDATE);
	ck_assert_int_eq(fx.out.trigger.due_by, eod("2026-11-02"));
	ck_assert_ptr_nonnull(
	    find_change(MASH_S47_CLOCK_STRATEGY, MASH_S47_CLOCK_MOVED));
	ck_assert_str_eq(fx.out.trigger.rule_id, "s47.serious-category");
	ck_assert_uint_eq(fx.out.n_new, 1);
	ck_assert_str_eq(fx.out.new_events[0], "health/b");
}
END_TEST

START_TEST(test_store_one_open_trigger_per_case_enforced_by_schema)
{
	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0()), t0()),
	    MASH_OK);
	ck_assert_int_ne(
	    mash_test_sql_exec(
	        fx.st,
	        "INSERT INTO s47_trigger(trigger_id,"
	        " case_id, rule_id, reason, level, raised_at, updated_at, "
	        "due_by,"
	        " roles, status) VALUES ('x', 'C-1', 'r', 'r', 4, 0, 0, 0, '',"
	        " 'open')"),
	    MASH_OK);
}
END_TEST

START_TEST(test_store_strategy_discussion_closes_and_starts_icpc)
{
	struct mash_s47_fact sd;
	struct mash_s47_open o;
	const struct mash_s47_clock_change *ch;

	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0()), t0()),
	    MASH_OK);
	sd = F("social-care", "sd1", CAT(STRATEGY_DISCUSSION_HELD), 0, t0());
	sd.held_at = t0() + 5 * HOUR;
	ck_assert_int_eq(fx_event(sd, t0() + 6 * HOUR), MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_CLOSE);
	ck_assert_int_eq(fx.out.trigger.open, 0);
	ck_assert_ptr_nonnull(
	    find_change(MASH_S47_CLOCK_STRATEGY, MASH_S47_CLOCK_CLOSED));
	ch = find_change(MASH_S47_CLOCK_ICPC, MASH_S47_CLOCK_SET);
	ck_assert_ptr_nonnull(ch);
	/* 15 working days from Monday 2 November: Monday 23 November. */
	ck_assert_int_eq(ch->clock.due_at, eod("2026-11-23"));
	ck_assert_int_eq(ch->clock.started_at, t0() + 5 * HOUR);
	ck_assert_int_eq(mash_s47_store_load_open(fx.st, "C-1", &o), MASH_OK);
	ck_assert_int_eq(o.open, 0);
	/* A new matching event after the discussion raises a new trigger. */
	ck_assert_int_eq(
	    fx_event(F("health", "b", CAT(FGM), 3, t0() + DAY), t0() + DAY),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
	ck_assert_str_eq(fx.out.trigger.trigger_id, "C-1-s47-2");
	ck_assert_str_eq(fx.out.trigger.rule_id, "s47.serious-category");
	/* The police report still combines with it (multi-agency). */
	ck_assert_uint_eq(fx.out.trigger.n_events, 2);
}
END_TEST

START_TEST(test_store_outcome_and_referral_decision_close_their_clocks)
{
	struct mash_s47_clock c[8];
	size_t n = 0, i;

	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0()), t0()),
	    MASH_OK);
	ck_assert_int_eq(
	    fx_event(F("social-care", "rd", CAT(REFERRAL_DECISION), 0, t0()),
	             t0() + HOUR),
	    MASH_OK);
	ck_assert_ptr_nonnull(
	    find_change(MASH_S47_CLOCK_REFERRAL, MASH_S47_CLOCK_CLOSED));
	ck_assert_uint_eq(fx.out.n_clocks, 1);
	ck_assert_int_eq(fx_event(F("social-care", "sd",
	                            CAT(STRATEGY_DISCUSSION_HELD), 0, t0()),
	                          t0() + 2 * HOUR),
	                 MASH_OK);
	ck_assert_int_eq(
	    fx_event(F("social-care", "out", CAT(S47_OUTCOME), 0, t0()),
	             t0() + 3 * HOUR),
	    MASH_OK);
	ck_assert_ptr_nonnull(
	    find_change(MASH_S47_CLOCK_ICPC, MASH_S47_CLOCK_CLOSED));
	ck_assert_ptr_nonnull(
	    find_change(MASH_S47_CLOCK_ASSESSMENT, MASH_S47_CLOCK_CLOSED));
	ck_assert_int_eq(mash_s47_store_list_clocks(fx.st, "C-1", 0, c, 8, &n),
	                 MASH_OK);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++)
		ck_assert_msg(!c[i].open, "clock %s still open",
		              mash_s47_clock_name(c[i].kind));
	/* Nothing left to escalate, ever. */
	ck_assert_uint_eq(fx_escalate(t0() + 400 * DAY, c, 8), 0);
}
END_TEST

START_TEST(test_store_closing_events_from_other_agencies_ignored)
{
	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0()), t0()),
	    MASH_OK);
	ck_assert_int_eq(
	    fx_event(F("health", "rd", CAT(REFERRAL_DECISION), 0, t0()),
	             t0() + HOUR),
	    MASH_OK);
	ck_assert_uint_eq(fx.out.n_clocks, 0);
	ck_assert_int_eq(fx.out.action, MASH_S47_NONE);
	ck_assert_int_eq(fx.out.trigger.open, 1);
}
END_TEST

START_TEST(test_store_escalation_exactly_once)
{
	struct mash_s47_clock c[8];
	int64_t due;
	size_t n;

	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 3, t0() - 10 * DAY),
	             t0()),
	    MASH_OK);
	ck_assert_int_eq(
	    fx_event(F("health", "b", CAT(INJURY), 3, t0()), t0() + HOUR),
	    MASH_OK);
	due = fx.out.trigger.due_by;
	ck_assert_int_eq(mash_s47_store_next_due(fx.st, &due), MASH_OK);
	ck_assert_int_eq(due, eod("2026-11-03"));
	/* At the due instant nothing is late yet. */
	ck_assert_uint_eq(fx_escalate(due, c, 8), 0);
	n = fx_escalate(due + 1, c, 8);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(c[0].kind, MASH_S47_CLOCK_REFERRAL);
	ck_assert_int_eq(c[1].kind, MASH_S47_CLOCK_STRATEGY);
	ck_assert_str_eq(c[1].trigger_id, "C-1-s47-1");
	ck_assert_str_eq(c[1].case_id, "C-1");
	ck_assert_int_eq(c[1].escalated_at, due + 1);
	ck_assert_uint_eq(fx_escalate(due + 2, c, 8), 0);
	ck_assert_uint_eq(fx_escalate(due + 30 * DAY, c, 8), 0);
	/* The assessment clock escalates on its own day, once. */
	ck_assert_uint_eq(fx_escalate(eod("2027-01-07") + 1, c, 8), 1);
	ck_assert_int_eq(c[0].kind, MASH_S47_CLOCK_ASSESSMENT);
	ck_assert_uint_eq(fx_escalate(eod("2027-06-01"), c, 8), 0);
	ck_assert_int_eq(mash_s47_store_next_due(fx.st, &due),
	                 MASH_ERR_NOT_FOUND);
}
END_TEST

START_TEST(test_store_escalation_batches_respect_max)
{
	struct mash_s47_clock c[1];

	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0()), t0()),
	    MASH_OK);
	ck_assert_uint_eq(fx_escalate(t0() + 100 * DAY, c, 1), 1);
	ck_assert_uint_eq(fx_escalate(t0() + 100 * DAY, c, 1), 1);
	ck_assert_uint_eq(fx_escalate(t0() + 100 * DAY, c, 1), 1);
	ck_assert_uint_eq(fx_escalate(t0() + 100 * DAY, c, 1), 0);
}
END_TEST

START_TEST(test_store_clocks_and_trigger_survive_reopen)
{
	struct mash_s47_clock c[8];
	struct mash_s47_open o;

	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(DOMESTIC_ABUSE), 3, t0() - 10 * DAY),
	             t0()),
	    MASH_OK);
	ck_assert_int_eq(
	    fx_event(F("health", "b", CAT(INJURY), 3, t0()), t0() + HOUR),
	    MASH_OK);
	mash_store_close(fx.st);
	fx.st = NULL;
	fx_open();
	ck_assert_int_eq(mash_s47_store_load_open(fx.st, "C-1", &o), MASH_OK);
	ck_assert_int_eq(o.open, 1);
	ck_assert_str_eq(o.trigger_id, "C-1-s47-1");
	ck_assert_uint_eq(o.n_events, 2);
	ck_assert_int_eq(o.due_by, eod("2026-11-03"));
	ck_assert_uint_eq(fx_escalate(eod("2026-11-03") + 1000, c, 8), 2);
	mash_store_close(fx.st);
	fx.st = NULL;
	fx_open();
	/* Escalated before the restart: never again. */
	ck_assert_uint_eq(fx_escalate(eod("2026-11-04"), c, 8), 0);
	/* A later event still updates the same trigger. */
	ck_assert_int_eq(
	    fx_event(F("education", "c", CAT(NEGLECT), 3, t0() + DAY),
	             t0() + 2 * DAY),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_UPDATE);
	ck_assert_str_eq(fx.out.trigger.trigger_id, "C-1-s47-1");
}
END_TEST

START_TEST(test_store_counts_updates_for_the_trigger_kind)
{
	struct mash_s47_open o;

	/* Raised: no update yet, so a picture says kind "raised". */
	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(SEXUAL_ABUSE), 3, t0()), t0()),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
	ck_assert_int_eq(mash_s47_store_load_open(fx.st, "C-1", &o), MASH_OK);
	ck_assert_uint_eq(o.updates, 0);
	/* Two later contributing events at the same instant: counted even
	 * though the clock did not move. */
	ck_assert_int_eq(
	    fx_event(F("health", "b", CAT(NEGLECT), 4, t0()), t0()), MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_UPDATE);
	ck_assert_int_eq(
	    fx_event(F("education", "c", CAT(NEGLECT), 3, t0()), t0()),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_UPDATE);
	mash_store_close(fx.st);
	fx.st = NULL;
	fx_open();
	ck_assert_int_eq(mash_s47_store_load_open(fx.st, "C-1", &o), MASH_OK);
	ck_assert_uint_eq(o.updates, 2);
}
END_TEST

/* The trigger and clock statements run for every event of a case with an
 * open trigger: prepared once per store handle, not once per event. */
START_TEST(test_store_trigger_updates_reuse_prepared_statements)
{
	char ev[16];
	int before, warm, i;

	before = mash_test_sql_statements(fx.st);
	ck_assert_int_eq(
	    fx_event(F("police", "a", CAT(SEXUAL_ABUSE), 3, t0()), t0()),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
	ck_assert_int_eq(
	    fx_event(F("health", "b", CAT(NEGLECT), 4, t0()), t0() + HOUR),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_UPDATE);
	warm = mash_test_sql_statements(fx.st);
	ck_assert_int_gt(warm, before);
	for (i = 0; i < 12; i++) { /* fx.h holds 16 */
		(void)snprintf(ev, sizeof(ev), "e%d", i);
		ck_assert_int_eq(fx_event(F("education", ev, CAT(NEGLECT), 3,
		                            t0() + i * HOUR / 60),
		                          t0() + HOUR + i * HOUR / 60),
		                 MASH_OK);
		ck_assert_int_eq(fx.out.action, MASH_S47_UPDATE);
	}
	ck_assert_int_eq(mash_test_sql_statements(fx.st), warm);
}
END_TEST

/* A trigger's number counts the case's earlier triggers; with every other
 * case's triggers in the same table that count must come from an index,
 * or each raise costs a read of the whole table (issue 32's profile: 4 %
 * of mashd after two minutes of load). */
START_TEST(test_store_raising_a_trigger_scans_no_table)
{
	struct mash_s47_fact f[1] = {
	    F("police", "a", CAT(SEXUAL_ABUSE), 3, t0())};
	char case_id[16];
	int i;

	for (i = 0; i < 40; i++) {
		(void)snprintf(case_id, sizeof(case_id), "C-%d", 100 + i);
		ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
		ck_assert_int_eq(mash_s47_store_apply(fx.st, fx.p, fx.cal,
		                                      case_id, f, 1, 0, t0(),
		                                      &fx.out),
		                 MASH_OK);
		ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
		ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	}
	(void)mash_test_sql_full_scans(fx.st);
	ck_assert_int_eq(
	    fx_event(F("police", "b", CAT(SEXUAL_ABUSE), 3, t0()), t0()),
	    MASH_OK);
	ck_assert_int_eq(fx.out.action, MASH_S47_RAISE);
	ck_assert_str_eq(fx.out.trigger.trigger_id, "C-1-s47-1");
	ck_assert_int_eq(mash_test_sql_full_scans(fx.st), 0);
}
END_TEST

START_TEST(test_store_init_migrates_a_trigger_table_without_update_counter)
{
	struct mash_s47_open o;

	/* A database from before the counter: the old table shape. */
	ck_assert_int_eq(
	    mash_test_sql_exec(
	        fx.st,
	        "DROP TABLE s47_trigger_event; DROP TABLE s47_trigger;"
	        "CREATE TABLE s47_trigger(trigger_id TEXT PRIMARY KEY,"
	        " case_id TEXT NOT NULL, rule_id TEXT NOT NULL,"
	        " reason TEXT NOT NULL, level INTEGER NOT NULL,"
	        " raised_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	        " due_by INTEGER NOT NULL, roles TEXT NOT NULL,"
	        " status TEXT NOT NULL, closed_at INTEGER, closed_by TEXT);"
	        "INSERT INTO s47_trigger "
	        "VALUES('C-1-s47-1','C-1','s47.imminent',"
	        " 'old',4,1,1,2,'la-social-worker','open',NULL,NULL);"),
	    MASH_OK);
	ck_assert_int_eq(mash_s47_store_init(fx.st), MASH_OK);
	/* Idempotent: a second start does not try to add it again. */
	ck_assert_int_eq(mash_s47_store_init(fx.st), MASH_OK);
	ck_assert_int_eq(mash_s47_store_load_open(fx.st, "C-1", &o), MASH_OK);
	ck_assert_int_eq(o.open, 1);
	ck_assert_uint_eq(o.updates, 0);
}
END_TEST

START_TEST(test_store_rolled_back_apply_leaves_nothing)
{
	struct mash_s47_open o;
	struct mash_s47_clock c[8];
	size_t n = 9;

	fx.h[fx.n++] = F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0());
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mash_s47_store_apply(fx.st, fx.p, fx.cal, "C-1", fx.h,
	                                      fx.n, 0, t0(), &fx.out),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_rollback(fx.st), MASH_OK);
	ck_assert_int_eq(mash_s47_store_load_open(fx.st, "C-1", &o), MASH_OK);
	ck_assert_int_eq(o.open, 0);
	ck_assert_int_eq(mash_s47_store_list_clocks(fx.st, "C-1", 0, c, 8, &n),
	                 MASH_OK);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_store_apply_rejects_bad_arguments)
{
	struct mash_s47_fact f = F("police", "a", CAT(DOMESTIC_ABUSE), 4, t0());

	ck_assert_int_eq(mash_s47_store_apply(fx.st, fx.p, fx.cal, NULL, &f, 1,
	                                      0, t0(), &fx.out),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_s47_store_apply(fx.st, fx.p, fx.cal, "C-1", &f, 1,
	                                      1, t0(), &fx.out),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_s47_store_apply(NULL, fx.p, fx.cal, "C-1", &f, 1,
	                                      0, t0(), &fx.out),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(fx.out.action, MASH_S47_NONE);
}
END_TEST

static Suite *
s47_suite(void)
{
	Suite *s = suite_create("s47");
	TCase *tc = tcase_create("evaluate");
	TCase *tp = tcase_create("policy");
	TCase *ts = tcase_create("store");

	tcase_add_loop_test(tc, test_single_event_rules_and_boundaries, 0,
	                    (int)(sizeof(singles) / sizeof(singles[0])));
	tcase_add_test(tc, test_imminent_wants_same_working_day);
	tcase_add_test(tc, test_both_rules_named_in_reason);
	tcase_add_loop_test(tc, test_multi_agency_window_and_severity, 0,
	                    (int)(sizeof(pairs) / sizeof(pairs[0])));
	tcase_add_loop_test(tc, test_accumulation_window_agencies_and_sum, 0,
	                    (int)(sizeof(accums) / sizeof(accums[0])));
	tcase_add_test(tc, test_old_events_alone_never_fire);
	tcase_add_test(tc, test_second_matching_event_updates_not_raises);
	tcase_add_test(tc, test_re_evaluating_same_event_is_no_update);
	tcase_add_test(tc, test_non_matching_event_leaves_open_trigger_alone);
	tcase_add_test(
	    tc, test_strategy_discussion_held_closes_only_from_social_care);
	tcase_add_test(tc, test_required_attendees_minimum_and_referrers);
	tcase_add_test(tc, test_demo_story_accumulation_then_update);
	tcase_add_test(tc, test_evaluate_rejects_bad_arguments);
	tcase_add_test(tc, test_fact_from_event_takes_no_identity);
	suite_add_tcase(s, tc);

	tcase_add_test(tp, test_shipped_policy_loads_with_five_rules);
	tcase_add_test(tp, test_policy_through_include_ignores_other_groups);
	tcase_add_loop_test(
	    tp, test_policy_errors_name_file_line_and_key, 0,
	    (int)(sizeof(bad_policies) / sizeof(bad_policies[0])));
	tcase_add_test(tp, test_policy_missing_file_is_io_error);
	tcase_add_test(tp, test_configured_thresholds_change_behaviour);
	tcase_add_test(tp, test_policy_truncations_and_bit_flips_fail_cleanly);
	tcase_add_test(tp, test_policy_load_survives_allocation_failures);
	suite_add_tcase(s, tp);

	tcase_add_checked_fixture(ts, fx_setup, fx_teardown);
	tcase_add_test(ts, test_store_raise_sets_strategy_and_referral_clocks);
	tcase_add_test(ts,
	               test_store_trigger_updates_reuse_prepared_statements);
	tcase_add_test(ts, test_store_raising_a_trigger_scans_no_table);
	tcase_add_test(ts, test_store_imminent_due_same_working_day);
	tcase_add_test(ts,
	               test_store_trigger_on_maundy_thursday_due_after_easter);
	tcase_add_test(ts, test_store_update_brings_strategy_clock_forward);
	tcase_add_test(ts,
	               test_store_one_open_trigger_per_case_enforced_by_schema);
	tcase_add_test(ts,
	               test_store_strategy_discussion_closes_and_starts_icpc);
	tcase_add_test(
	    ts, test_store_outcome_and_referral_decision_close_their_clocks);
	tcase_add_test(ts,
	               test_store_closing_events_from_other_agencies_ignored);
	tcase_add_test(ts, test_store_escalation_exactly_once);
	tcase_add_test(ts, test_store_escalation_batches_respect_max);
	tcase_add_test(ts, test_store_clocks_and_trigger_survive_reopen);
	tcase_add_test(ts, test_store_counts_updates_for_the_trigger_kind);
	tcase_add_test(
	    ts,
	    test_store_init_migrates_a_trigger_table_without_update_counter);
	tcase_add_test(ts, test_store_rolled_back_apply_leaves_nothing);
	tcase_add_test(ts, test_store_apply_rejects_bad_arguments);
	suite_add_tcase(s, ts);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(s47_suite());
	int failed;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_s47_XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return EXIT_FAILURE;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (tmpdir[0] != '\0') {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
