/* Unit tests for policy/pol: decisions per rule of the default policy,
 * deny by default, no policy = deny, malformed files rejected with line
 * numbers, reload atomicity, record building. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "policy/pol.h"

#define FB(f) ((uint64_t)1 << (f))

static char tmpdir[256];

/* One temp dir per test (fork mode: per child), removed by teardown. */
static void
make_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		return;
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_pol.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
setup(void)
{
	tmpdir[0] = '\0';
}

static void
teardown(void)
{
	char cmd[300];

	if (tmpdir[0] == '\0')
		return;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	tmpdir[0] = '\0';
}

static void
write_file(const char *name, const char *text, char *path, size_t len)
{
	FILE *f;

	(void)snprintf(path, len, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

static const char *
default_path(void)
{
	static char p[1024];
	const char *src = getenv("MASH_SOURCE_DIR");

	(void)snprintf(p, sizeof(p), "%s/policy/default.cfg",
	               src != NULL ? src : ".");
	return p;
}

static struct mash_policy *
load_default(void)
{
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];
	int rc = mash_pol_load(default_path(), &pol, eb, sizeof(eb));

	ck_assert_msg(rc == MASH_OK, "load default: %s", eb);
	return pol;
}

/* A policy with just enough around one rule body. */
#define LEVELS                                                                 \
	"levels = { l2 = { min_agencies = 2; }; l3 = { min_severity = 3; }; "  \
	"l4 = { min_severity = 4; trigger_open = true; }; };\n"

/* ---- a realistic event -------------------------------------------- */

struct test_event {
	Mash__V1__AgencyEvent ev;
	Mash__V1__Subject subj;
	Mash__V1__Handling h;
	Mash__V1__PoliceDetail pd;
	Mash__V1__HealthDetail hd;
	Mash__V1__RelatedPerson rp;
	Mash__V1__RelatedPerson *rps[1];
	Mash__V1__VclScore vs;
	Mash__V1__VclScore *vss[1];
	char *restrict_list[2];
	struct mash_pol_event view;
};

static void
police_event(struct test_event *t)
{
	memset(t, 0, sizeof(*t));
	mash__v1__agency_event__init(&t->ev);
	mash__v1__subject__init(&t->subj);
	mash__v1__handling__init(&t->h);
	mash__v1__police_detail__init(&t->pd);
	mash__v1__related_person__init(&t->rp);
	mash__v1__vcl_score__init(&t->vs);
	t->ev.event_id = "7d3c1c54-0001-4000-8000-000000000001";
	t->ev.agency = "police";
	t->ev.occurred_at = 1790899200000LL; /* 2026-10-02 */
	t->ev.recorded_at = 1790902800000LL;
	t->subj.given_name = "Jordan";
	t->subj.family_name = "Reed";
	t->subj.date_of_birth = "2011-05-14";
	t->subj.nhs_number = "9434765919";
	t->subj.postcode = "NE61 1AA";
	t->subj.sex = "M";
	t->ev.subject = &t->subj;
	t->ev.category = MASH__V1__CATEGORY__MISSING_EPISODE;
	t->ev.severity = 2;
	t->ev.summary =
	    "Reported missing overnight, found at an address of concern.";
	t->ev.consent = MASH__V1__CONSENT__NOT_SOUGHT;
	t->h.classification = "OFFICIAL";
	t->ev.handling = &t->h;
	t->ev.reporter = "PC 1234";
	t->ev.agency_ref = "NP-2026-0001";
	t->vs.factor = "risk_of_sexual_exploitation";
	t->vs.score = 2;
	t->vs.evidence = "older associates";
	t->vss[0] = &t->vs;
	t->ev.n_vcl = 1;
	t->ev.vcl = t->vss;
	t->rp.role = "mother";
	t->rp.given_name = "Alex";
	t->rp.family_name = "Reed";
	t->rps[0] = &t->rp;
	t->ev.n_related = 1;
	t->ev.related = t->rps;
	t->pd.incident_ref = "INC-1";
	t->pd.incident_type = "missing-person";
	t->pd.intelligence = "Linked to a known exploitation network.";
	t->pd.officer_in_case = "DC 77";
	t->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	t->ev.police = &t->pd;
	mash_pol_event_view(&t->ev, &t->view);
}

static void
health_event(struct test_event *t)
{
	police_event(t);
	t->ev.agency = "health";
	t->ev.category = MASH__V1__CATEGORY__SELF_HARM;
	t->ev.severity = 3;
	t->ev.consent = MASH__V1__CONSENT__REFUSED;
	t->ev.summary = "ED attendance after self-harm.";
	mash__v1__health_detail__init(&t->hd);
	t->hd.setting = "ED";
	t->hd.diagnosis = "Laceration, forearm";
	t->hd.clinical_notes = "Superficial, dressed.";
	t->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_HEALTH;
	t->ev.health = &t->hd;
	mash_pol_event_view(&t->ev, &t->view);
}

static const struct mash_pol_recipient analyst = {
    "analyst.amara", "mash-analyst", "social-care"};
static const struct mash_pol_recipient sw = {"sw.sam", "la-social-worker",
                                             "social-care"};
static const struct mash_pol_recipient nurse = {
    "health.nurse1", "health-safeguarding", "health"};
static const struct mash_pol_recipient police = {
    "police.pp1", "police-public-protection", "police"};
static const struct mash_pol_recipient school = {"school.dsl1", "school-dsl",
                                                 "education"};
static const struct mash_pol_recipient housing = {"housing.officer1",
                                                  "housing-officer", "housing"};
static const struct mash_pol_recipient auditor = {"auditor.ada", "auditor",
                                                  "mash"};

static int
shares(const struct mash_pol_decision *d, const char *field)
{
	int f = mash_pol_field_index(field);

	ck_assert_msg(f >= 0, "unknown field %s", field);
	return (d->shared & FB(f)) != 0;
}

static int
withholds(const struct mash_pol_decision *d, const char *field)
{
	int f = mash_pol_field_index(field);

	ck_assert_msg(f >= 0, "unknown field %s", field);
	return (d->withheld & FB(f)) != 0;
}

static void
decide(const struct mash_policy *pol, const struct test_event *t,
       unsigned level, unsigned n_agencies, const struct mash_pol_recipient *r,
       const char *purpose, int bg, struct mash_pol_decision *d)
{
	struct mash_pol_case c = {level, n_agencies, 0};

	ck_assert_int_eq(mash_pol_decide(pol, &t->view, &c, r, purpose, bg, d),
	                 MASH_OK);
}

/* ---- the default policy, rule by rule ------------------------------- */

START_TEST(default_policy_loads_and_lints_clean)
{
	struct mash_policy *pol = load_default();
	unsigned n = 99;

	ck_assert_uint_ge(mash_pol_rule_count(pol), 8);
	ck_assert_int_eq(mash_pol_lint(default_path(), NULL, NULL, &n),
	                 MASH_OK);
	ck_assert_uint_eq(n, 0);
	mash_pol_free(pol);
}
END_TEST

START_TEST(no_policy_denies_everything)
{
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	decide(NULL, &t, 4, 6, &sw, "strategy-discussion", 1, &d);
	ck_assert_int_eq(d.receives, 0);
	ck_assert_uint_eq(d.shared, 0);
	ck_assert_uint_eq(d.withheld, t.view.present | FB(MASH_POL_F_LEAD));
	ck_assert_str_eq(d.rule_id, "no-policy");
}
END_TEST

START_TEST(unknown_role_or_purpose_is_denied_as_invalid)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;
	struct mash_pol_recipient r = {"x", "janitor", "police"};
	struct mash_pol_case c = {1, 1, 0};

	police_event(&t);
	ck_assert_int_eq(
	    mash_pol_decide(pol, &t.view, &c, &r, "mash-triage", 0, &d),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(d.receives, 0);
	ck_assert_int_eq(
	    mash_pol_decide(pol, &t.view, &c, &analyst, "gossip", 0, &d),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(d.receives, 0);
	c.level = 5;
	ck_assert_int_eq(
	    mash_pol_decide(pol, &t.view, &c, &analyst, "mash-triage", 0, &d),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(d.receives, 0);
	mash_pol_free(pol);
}
END_TEST

START_TEST(recipient_no_rule_names_receives_nothing)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	decide(pol, &t, 1, 1, &housing, "mash-triage", 0, &d);
	ck_assert_int_eq(d.receives, 0);
	ck_assert_str_eq(d.rule_id, "default-deny");
	/* The auditor receives nothing by automatic delivery either. */
	decide(pol, &t, 4, 3, &auditor, "strategy-discussion", 0, &d);
	ck_assert_int_eq(d.receives, 0);
	mash_pol_free(pol);
}
END_TEST

START_TEST(field_no_rule_grants_is_withheld)
{
	char path[512];
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];
	struct test_event t;
	struct mash_pol_decision d;

	make_tmpdir();
	write_file("p.cfg",
	           LEVELS
	           "rules = ( { id = \"only-category\"; effect = \"share\";"
	           " fields = [ \"category\" ]; legal_basis = \"CA 2004 s11\";"
	           " reason = \"test\"; } );\n",
	           path, sizeof(path));
	ck_assert_int_eq(mash_pol_load(path, &pol, eb, sizeof(eb)), MASH_OK);
	police_event(&t);
	decide(pol, &t, 1, 1, &analyst, "mash-triage", 0, &d);
	ck_assert_int_eq(d.receives, 1);
	ck_assert_uint_eq(d.shared, FB(MASH_POL_F_CATEGORY));
	ck_assert(withholds(&d, "summary"));
	ck_assert(withholds(&d, "subject.nhs_number"));
	ck_assert_str_eq(d.rule_id, "only-category");
	mash_pol_free(pol);
}
END_TEST

START_TEST(source_agency_sees_its_own_record_in_full)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	decide(pol, &t, 1, 1, &police, "mash-triage", 0, &d);
	ck_assert_uint_eq(d.shared, t.view.present);
	ck_assert_uint_eq(d.withheld, 0);
	ck_assert_str_eq(d.rule_id, "source-agency");
	mash_pol_free(pol);
}
END_TEST

START_TEST(r1_signpost_only_when_known_to_two_agencies)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	decide(pol, &t, 1, 1, &sw, "mash-triage", 0, &d);
	ck_assert(!shares(&d, "signpost"));
	decide(pol, &t, 2, 2, &sw, "mash-triage", 0, &d);
	ck_assert(shares(&d, "signpost"));
	/* Police and health partners are not in the signpost group. */
	decide(pol, &t, 2, 2, &nurse, "mash-triage", 0, &d);
	ck_assert(!shares(&d, "signpost"));
	mash_pol_free(pol);
}
END_TEST

/* Rule 2: which consent states let the narrative through below L3. */
static const struct {
	int consent;
	int narrative;
} consent_cases[] = {
    {MASH__V1__CONSENT__CONSENT_UNSPECIFIED, 0},
    {MASH__V1__CONSENT__NOT_SOUGHT, 0},
    {MASH__V1__CONSENT__GIVEN, 1},
    {MASH__V1__CONSENT__REFUSED, 0},
    {MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM, 1},
};

START_TEST(r2_consent_state_decides_narrative_below_l3)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	t.ev.consent = consent_cases[_i].consent;
	mash_pol_event_view(&t.ev, &t.view);
	for (unsigned level = 1; level <= 2; level++) {
		decide(pol, &t, level, 1, &analyst, "mash-triage", 0, &d);
		ck_assert_int_eq(shares(&d, "summary"),
		                 consent_cases[_i].narrative);
		ck_assert_int_eq(shares(&d, "detail.police.incident_type"),
		                 consent_cases[_i].narrative);
		/* Identity and concern flow unless consent was refused:
		 * then a signpost at most (rule 2, issue 26). */
		ck_assert_int_eq(shares(&d, "subject.family_name"),
		                 consent_cases[_i].consent !=
		                     MASH__V1__CONSENT__REFUSED);
		ck_assert_int_eq(shares(&d, "category"),
		                 consent_cases[_i].consent !=
		                     MASH__V1__CONSENT__REFUSED);
		ck_assert_int_eq((d.flags & MASH_POL_FLAG_CONSENT_REFUSED) != 0,
		                 consent_cases[_i].consent ==
		                     MASH__V1__CONSENT__REFUSED);
	}
	mash_pol_free(pol);
}
END_TEST

START_TEST(r3_l4_core_gets_narrative_despite_refusal_and_sees_flag)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	t.ev.consent = MASH__V1__CONSENT__REFUSED;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 4, 3, &sw, "strategy-discussion", 0, &d);
	ck_assert(shares(&d, "summary"));
	ck_assert(shares(&d, "detail.police.intelligence"));
	ck_assert(shares(&d, "related"));
	ck_assert_str_eq(d.rule_id, "r3-s47-strategy-core");
	ck_assert_str_eq(d.legal_basis,
	                 "CA 1989 s47; DPA 2018 Sch.8 para 4 (safeguarding of "
	                 "children and individuals at risk)");
	ck_assert(d.flags & MASH_POL_FLAG_CONSENT_REFUSED);
	decide(pol, &t, 4, 3, &nurse, "strategy-discussion", 0, &d);
	ck_assert(shares(&d, "summary"));
	/* The same refusal at L2 keeps the narrative from the social worker. */
	decide(pol, &t, 2, 3, &sw, "mash-triage", 0, &d);
	ck_assert(!shares(&d, "summary"));
	mash_pol_free(pol);
}
END_TEST

START_TEST(r4_do_not_disclose_gives_family_roles_the_concern_and_flag_only)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	t.h.do_not_disclose_to_family = 1;
	mash_pol_event_view(&t.ev, &t.view);
	/* The school and housing learn that a concern exists and must not
	 * be raised with the family: concern and flag, never the narrative
	 * or who the child is beyond what they hold (issue 26). */
	decide(pol, &t, 4, 3, &school, "strategy-discussion", 0, &d);
	ck_assert_int_eq(d.receives, 1);
	ck_assert_str_eq(d.rule_id, "r4-concern-and-flag-to-family-roles");
	ck_assert(shares(&d, "category"));
	ck_assert(shares(&d, "handling.do_not_disclose_to_family"));
	ck_assert(!shares(&d, "summary"));
	ck_assert(!shares(&d, "subject.family_name"));
	ck_assert(withholds(&d, "detail.police.intelligence"));
	ck_assert(d.flags & MASH_POL_FLAG_DO_NOT_DISCLOSE);
	decide(pol, &t, 4, 3, &housing, "strategy-discussion", 0, &d);
	ck_assert(!shares(&d, "summary"));
	ck_assert(!shares(&d, "related"));
	decide(pol, &t, 4, 3, &sw, "strategy-discussion", 0, &d);
	ck_assert_int_eq(d.receives, 1);
	ck_assert(d.flags & MASH_POL_FLAG_DO_NOT_DISCLOSE);
	ck_assert(shares(&d, "handling.do_not_disclose_to_family"));
	/* Without the flag the school does hear at L4. */
	t.h.do_not_disclose_to_family = 0;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 4, 3, &school, "strategy-discussion", 0, &d);
	ck_assert_int_eq(d.receives, 1);
	mash_pol_free(pol);
}
END_TEST

START_TEST(r5_official_sensitive_narrows_narrative_not_concern)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	t.h.classification = "OFFICIAL-SENSITIVE";
	t.ev.consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 3, 2, &analyst, "s17-assessment", 0, &d);
	ck_assert(!shares(&d, "summary"));
	ck_assert(!shares(&d, "related"));
	ck_assert(shares(&d, "category"));
	ck_assert(shares(&d, "signpost"));
	ck_assert(d.flags & MASH_POL_FLAG_OFFICIAL_SENSITIVE);
	/* The social worker (strategy core) still gets it at L3. */
	decide(pol, &t, 3, 2, &sw, "s17-assessment", 0, &d);
	ck_assert(shares(&d, "summary"));
	mash_pol_free(pol);
}
END_TEST

START_TEST(r5_restrict_to_agencies_withholds_narrative_outside_list)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	t.restrict_list[0] = "police";
	t.restrict_list[1] = "social-care";
	t.h.n_restrict_to_agencies = 2;
	t.h.restrict_to_agencies = t.restrict_list;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 4, 3, &nurse, "strategy-discussion", 0, &d);
	ck_assert(!shares(&d, "summary"));
	ck_assert(!shares(&d, "detail.police.intelligence"));
	ck_assert(shares(&d, "category"));
	ck_assert(d.flags & MASH_POL_FLAG_RESTRICTED);
	decide(pol, &t, 4, 3, &sw, "strategy-discussion", 0, &d);
	ck_assert(shares(&d, "summary"));
	mash_pol_free(pol);
}
END_TEST

START_TEST(r6_health_clinical_detail_only_at_l4)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	health_event(&t);
	t.ev.consent = MASH__V1__CONSENT__GIVEN;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 3, 4, &sw, "s17-assessment", 0, &d);
	ck_assert(!shares(&d, "detail.health.diagnosis"));
	ck_assert(!shares(&d, "detail.health.clinical_notes"));
	ck_assert(!shares(&d, "summary"));
	ck_assert(shares(&d, "category"));
	ck_assert(shares(&d, "severity"));
	decide(pol, &t, 4, 4, &sw, "strategy-discussion", 0, &d);
	ck_assert(shares(&d, "detail.health.diagnosis"));
	ck_assert(shares(&d, "detail.health.clinical_notes"));
	/* At L4 analysts (not strategy core) still do not see the notes. */
	decide(pol, &t, 4, 4, &analyst, "strategy-discussion", 0, &d);
	ck_assert(!shares(&d, "detail.health.clinical_notes"));
	ck_assert(shares(&d, "summary"));
	mash_pol_free(pol);
}
END_TEST

START_TEST(r7_education_sees_concern_and_lead_not_intelligence)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	decide(pol, &t, 3, 2, &school, "s17-assessment", 0, &d);
	ck_assert(shares(&d, "category"));
	ck_assert(shares(&d, "lead"));
	ck_assert(!shares(&d, "summary"));
	ck_assert(!shares(&d, "detail.police.intelligence"));
	ck_assert(!shares(&d, "subject.nhs_number"));
	ck_assert_str_eq(d.rule_id, "r7-education");
	/* For triage the school hears nothing. */
	decide(pol, &t, 3, 2, &school, "mash-triage", 0, &d);
	ck_assert_int_eq(d.receives, 0);
	decide(pol, &t, 2, 2, &school, "s17-assessment", 0, &d);
	ck_assert_int_eq(d.receives, 0);
	mash_pol_free(pol);
}
END_TEST

START_TEST(r7_housing_nothing_at_l1_concern_only_for_housing_categories)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	decide(pol, &t, 1, 1, &housing, "mash-triage", 0, &d);
	ck_assert_int_eq(d.receives, 0);
	decide(pol, &t, 3, 2, &housing, "s17-assessment", 0, &d);
	ck_assert_int_eq(d.receives, 1);
	ck_assert(!shares(&d, "category"));
	ck_assert(shares(&d, "signpost"));
	t.ev.category = MASH__V1__CATEGORY__HOMELESSNESS;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 3, 2, &housing, "s17-assessment", 0, &d);
	ck_assert(shares(&d, "category"));
	ck_assert(shares(&d, "subject.postcode"));
	ck_assert(!shares(&d, "summary"));
	mash_pol_free(pol);
}
END_TEST

START_TEST(r8_break_glass_is_a_per_role_attribute_never_the_auditors)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;

	police_event(&t);
	t.ev.consent = MASH__V1__CONSENT__REFUSED;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 1, 1, &analyst, "mash-triage", 1, &d);
	ck_assert(shares(&d, "summary"));
	ck_assert(shares(&d, "detail.police.intelligence"));
	ck_assert(d.flags & MASH_POL_FLAG_BREAK_GLASS);
	ck_assert_str_eq(d.rule_id, "r8-break-glass");
	ck_assert_int_eq(d.break_glass_refused, 0);
	decide(pol, &t, 1, 1, &analyst, "mash-triage", 0, &d);
	ck_assert(!shares(&d, "summary"));
	ck_assert(!(d.flags & MASH_POL_FLAG_BREAK_GLASS));
	/* Every role with a CA 2004 s11 duty has it (issue 26). */
	decide(pol, &t, 1, 1, &sw, "mash-triage", 1, &d);
	ck_assert(shares(&d, "summary"));
	ck_assert(d.flags & MASH_POL_FLAG_BREAK_GLASS);
	ck_assert(mash_pol_break_glass_allowed(pol, "housing-officer"));
	/* The auditor asks and is refused: the ordinary decision, said. */
	ck_assert(!mash_pol_break_glass_allowed(pol, "auditor"));
	decide(pol, &t, 1, 1, &auditor, "audit", 1, &d);
	ck_assert_int_eq(d.break_glass_refused, 1);
	ck_assert(!(d.flags & MASH_POL_FLAG_BREAK_GLASS));
	ck_assert(!shares(&d, "summary"));
	ck_assert(!mash_pol_break_glass_allowed(NULL, "mash-analyst"));
	ck_assert(!mash_pol_break_glass_allowed(pol, "wizard"));
	mash_pol_free(pol);
}
END_TEST

START_TEST(one_police_event_different_field_sets_per_role)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision a, s, n, h;

	police_event(&t);
	t.ev.consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 1, 1, &analyst, "mash-triage", 0, &a);
	decide(pol, &t, 1, 1, &sw, "mash-triage", 0, &s);
	decide(pol, &t, 1, 1, &nurse, "mash-triage", 0, &n);
	decide(pol, &t, 1, 1, &housing, "mash-triage", 0, &h);
	ck_assert(a.receives && s.receives && n.receives && !h.receives);
	ck_assert_uint_ne(a.shared, s.shared);
	ck_assert_uint_ne(s.shared, n.shared);
	ck_assert_uint_ne(a.shared, n.shared);
	ck_assert(shares(&a, "related") && !shares(&s, "related"));
	ck_assert(shares(&s, "summary") && !shares(&n, "summary"));
	mash_pol_free(pol);
}
END_TEST

/* ---- levels ----------------------------------------------------------- */

static const struct {
	unsigned sev, agencies;
	int trigger;
	unsigned level;
} level_cases[] = {
    {0, 1, 0, 1}, {2, 1, 0, 1}, {2, 2, 0, 2}, {1, 6, 0, 2}, {3, 1, 0, 3},
    {3, 4, 0, 3}, {4, 1, 0, 4}, {1, 1, 1, 4}, {2, 2, 1, 4},
};

START_TEST(case_level_follows_policy_thresholds)
{
	struct mash_policy *pol = load_default();
	struct mash_pol_case_facts f = {level_cases[_i].sev,
	                                level_cases[_i].agencies,
	                                level_cases[_i].trigger};

	ck_assert_uint_eq(mash_pol_case_level(pol, &f), level_cases[_i].level);
	ck_assert_uint_eq(mash_pol_case_level(NULL, &f), 1);
	mash_pol_free(pol);
}
END_TEST

START_TEST(case_level_thresholds_come_from_the_file)
{
	char path[512];
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];
	struct mash_pol_case_facts f = {3, 1, 0};

	make_tmpdir();
	write_file("p.cfg",
	           "levels = { l3 = { min_severity = 4; }; l2 = { min_severity "
	           "= 3; }; };\n"
	           "rules = ();\n",
	           path, sizeof(path));
	ck_assert_int_eq(mash_pol_load(path, &pol, eb, sizeof(eb)), MASH_OK);
	ck_assert_uint_eq(mash_pol_case_level(pol, &f), 2);
	f.max_severity = 4;
	ck_assert_uint_eq(mash_pol_case_level(pol, &f), 3);
	f.trigger_open = 1;
	ck_assert_uint_eq(mash_pol_case_level(pol, &f), 3);
	mash_pol_free(pol);
}
END_TEST

START_TEST(delivery_purpose_by_level)
{
	struct mash_policy *pol = load_default();

	ck_assert_str_eq(mash_pol_delivery_purpose(pol, 1), "mash-triage");
	ck_assert_str_eq(mash_pol_delivery_purpose(pol, 2), "mash-triage");
	ck_assert_str_eq(mash_pol_delivery_purpose(pol, 3), "s17-assessment");
	ck_assert_str_eq(mash_pol_delivery_purpose(pol, 4),
	                 "strategy-discussion");
	ck_assert_str_eq(mash_pol_delivery_purpose(NULL, 4),
	                 "strategy-discussion");
	mash_pol_free(pol);
}
END_TEST

/* ---- malformed files ---------------------------------------------------- */

static const struct {
	const char *name;
	const char *text;
	int rc;
	const char *msg; /* substring of the error, after "path" */
} bad_cases[] = {
    {"syntax", LEVELS "rules = ( { id = \"a\" ; \n", MASH_ERR_PARSE,
     ":3: syntax error"},
    {"unknown-role",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\";\n"
     "   when = { roles = [ \"mash-analyst\", \"wizard\" ]; }; } );\n",
     MASH_ERR_POLICY, ":5: rule 'r1': unknown role 'wizard'"},
    {"no-legal-basis",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   reason = \"y\"; } );\n",
     MASH_ERR_POLICY, ":3: rule 'r1': rule without legal basis"},
    {"empty-legal-basis",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"\"; reason = \"y\"; } );\n",
     MASH_ERR_POLICY, "rule 'r1': rule without legal basis"},
    {"unknown-field",
     LEVELS "rules = (\n { id = \"r1\"; effect = \"share\";\n"
            "   fields = [\"category\", \"detail.police.shoe_size\"];\n"
            "   legal_basis = \"x\"; reason = \"y\"; } );\n",
     MASH_ERR_POLICY, ":4: rule 'r1': unknown field 'detail.police.shoe_size'"},
    {"unknown-key-in-rule",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\"; priority = 3; } );\n",
     MASH_ERR_POLICY, ":4: rule 'r1': unknown key 'priority' in rule"},
    {"unknown-key-in-when",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\";\n   when = { colour = true; }; } "
     ");\n",
     MASH_ERR_POLICY, ":5: rule 'r1': unknown key 'colour' in 'when'"},
    {"unknown-key-in-levels",
     "levels = { l2 = { min_agencies = 2; }; l5 = { min_severity = 4; }; };\n"
     "rules = ();\n",
     MASH_ERR_POLICY, ":1: unknown key 'l5' in 'levels'"},
    {"bad-effect",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"maybe\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\"; } );\n",
     MASH_ERR_POLICY, ":3: rule 'r1': 'effect' must be"},
    {"duplicate-id",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\"; },\n"
     " { id = \"r1\"; effect = \"share\"; fields = [\"severity\"];\n"
     "   legal_basis = \"x\"; reason = \"y\"; } );\n",
     MASH_ERR_POLICY, ":5: rule 'r1': duplicate rule id"},
    {"level-out-of-range",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\"; when = { levels = [ 0, 5 ]; }; } "
     ");\n",
     MASH_ERR_POLICY, "rule 'r1': level 0 is not 1-4"},
    {"bad-id",
     LEVELS "rules = (\n { id = \"R 1\"; effect = \"share\"; fields = "
            "[\"category\"];\n"
            "   legal_basis = \"x\"; reason = \"y\"; } );\n",
     MASH_ERR_POLICY, ":3: rule id 'R 1' must be"},
    {"missing-levels", "rules = ();\n", MASH_ERR_POLICY,
     "missing 'levels' group"},
    {"break-glass-for-auditors",
     LEVELS "break_glass = { roles = [ \"mash-analyst\", \"auditor\" ]; };\n"
            "rules = ();\n",
     MASH_ERR_POLICY,
     ":2: break-glass is never granted to auditors (sharing-policy.md "
     "rule 8)"},
    {"break-glass-unknown-role",
     LEVELS "break_glass = { roles = [ \"wizard\" ]; };\nrules = ();\n",
     MASH_ERR_POLICY, ":2: unknown role 'wizard'"},
    {"break-glass-unknown-key",
     LEVELS "break_glass = { roles = [ \"mash-analyst\" ]; always = true; "
            "};\nrules = ();\n",
     MASH_ERR_POLICY, ":2: unknown key 'always' in 'break_glass'"},
    {"unknown-category",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\"; when = { categories = [ "
     "\"BURGLARY\" ]; }; } );\n",
     MASH_ERR_POLICY, "rule 'r1': unknown category 'BURGLARY'"},
    {"unknown-purpose",
     LEVELS
     "rules = (\n { id = \"r1\"; effect = \"share\"; fields = [\"category\"];\n"
     "   legal_basis = \"x\"; reason = \"y\"; when = { purposes = [ "
     "\"curiosity\" ]; }; } );\n",
     MASH_ERR_POLICY, "rule 'r1': unknown purpose 'curiosity'"},
};

START_TEST(malformed_policy_rejected_with_line_and_rule)
{
	char path[512];
	struct mash_policy *pol = (struct mash_policy *)1;
	char eb[MASH_POL_ERRLEN];
	int rc;

	make_tmpdir();
	write_file("bad.cfg", bad_cases[_i].text, path, sizeof(path));
	rc = mash_pol_load(path, &pol, eb, sizeof(eb));
	ck_assert_msg(rc == bad_cases[_i].rc, "%s: rc %d (%s)",
	              bad_cases[_i].name, rc, eb);
	ck_assert_ptr_null(pol);
	ck_assert_msg(strncmp(eb, path, strlen(path)) == 0, "%s: '%s'",
	              bad_cases[_i].name, eb);
	ck_assert_msg(strstr(eb, bad_cases[_i].msg) != NULL,
	              "%s: expected '%s' in '%s'", bad_cases[_i].name,
	              bad_cases[_i].msg, eb);
}
END_TEST

START_TEST(too_many_rules_rejected)
{
	char path[512];
	size_t cap = 200 * (MASH_POL_MAX_RULES + 2);
	char *text = malloc(cap);
	size_t pos;
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];

	make_tmpdir();
	ck_assert_ptr_nonnull(text);
	pos = (size_t)snprintf(text, cap, "%srules = (\n", LEVELS);
	for (unsigned i = 0; i <= MASH_POL_MAX_RULES; i++)
		pos += (size_t)snprintf(text + pos, cap - pos,
		                        "%s{ id = \"r%u\"; effect = \"share\"; "
		                        "fields = [\"category\"];"
		                        " legal_basis = \"x\"; reason = \"y\"; "
		                        "when = { min_severity = %u; }; }\n",
		                        i > 0 ? "," : "", i, i % 5);
	(void)snprintf(text + pos, cap - pos, ");\n");
	write_file("many.cfg", text, path, sizeof(path));
	free(text);
	ck_assert_int_eq(mash_pol_load(path, &pol, eb, sizeof(eb)),
	                 MASH_ERR_POLICY);
	ck_assert_ptr_null(pol);
	ck_assert_ptr_nonnull(strstr(eb, "more than 256 rules"));
	ck_assert_ptr_nonnull(strstr(eb, ":2: "));
}
END_TEST

START_TEST(overlong_reason_rejected_exactly_at_limit)
{
	char path[512];
	char *text = malloc(4096);
	char *reason = malloc(MASH_POL_MAX_TEXT + 2);
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];

	make_tmpdir();
	memset(reason, 'x', MASH_POL_MAX_TEXT + 1);
	/* exactly at the limit: accepted */
	reason[MASH_POL_MAX_TEXT] = '\0';
	(void)snprintf(text, 4096,
	               LEVELS "rules = (\n{ id = \"r1\"; effect = \"share\"; "
	                      "fields = [\"category\"]; legal_basis = \"x\";\n"
	                      "  reason = \"%s\"; } );\n",
	               reason);
	write_file("edge.cfg", text, path, sizeof(path));
	ck_assert_int_eq(mash_pol_load(path, &pol, eb, sizeof(eb)), MASH_OK);
	mash_pol_free(pol);
	/* one byte over: rejected, located */
	reason[MASH_POL_MAX_TEXT] = 'x';
	reason[MASH_POL_MAX_TEXT + 1] = '\0';
	(void)snprintf(text, 4096,
	               LEVELS "rules = (\n{ id = \"r1\"; effect = \"share\"; "
	                      "fields = [\"category\"]; legal_basis = \"x\";\n"
	                      "  reason = \"%s\"; } );\n",
	               reason);
	write_file("over.cfg", text, path, sizeof(path));
	ck_assert_int_eq(mash_pol_load(path, &pol, eb, sizeof(eb)),
	                 MASH_ERR_POLICY);
	ck_assert_ptr_nonnull(
	    strstr(eb, ":4: rule 'r1': 'reason' is not valid"));
	free(text);
	free(reason);
}
END_TEST

START_TEST(file_over_size_limit_rejected_before_parsing)
{
	char path[512];
	FILE *f;
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];

	make_tmpdir();
	(void)snprintf(path, sizeof(path), "%s/huge.cfg", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i <= MASH_MAX_CONFIG_FILE / 50; i++)
		fputs("# padding padding padding padding padding padding pad\n",
		      f);
	fputs("# and more\n", f);
	fclose(f);
	ck_assert_int_eq(mash_pol_load(path, &pol, eb, sizeof(eb)),
	                 MASH_ERR_TOO_BIG);
	ck_assert_ptr_null(pol);
	ck_assert_int_eq(
	    mash_pol_load("/nonexistent/p.cfg", &pol, eb, sizeof(eb)),
	    MASH_ERR_IO);
	ck_assert_ptr_nonnull(strstr(eb, "/nonexistent/p.cfg"));
}
END_TEST

START_TEST(other_engines_groups_are_ignored)
{
	char path[512], inc[512];
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];

	make_tmpdir();
	write_file(
	    "s47.cfg",
	    "triggers = ( { id = \"s47.imminent\"; min_severity = 4; } );\n"
	    "clocks = { strategy_discussion_days = 1; };\n",
	    inc, sizeof(inc));
	write_file("p.cfg",
	           LEVELS "rules = ( { id = \"a\"; effect = \"share\"; fields "
	                  "= [\"@concern\"];"
	                  " legal_basis = \"x\"; reason = \"y\"; } );\n"
	                  "@include \"s47.cfg\"\n",
	           path, sizeof(path));
	ck_assert_msg(mash_pol_load(path, &pol, eb, sizeof(eb)) == MASH_OK,
	              "%s", eb);
	ck_assert_uint_eq(mash_pol_rule_count(pol), 1);
	mash_pol_free(pol);
}
END_TEST

START_TEST(sha256_covers_included_file)
{
	char path[512], inc[512];
	struct mash_policy *a = NULL, *b = NULL;
	char eb[MASH_POL_ERRLEN];

	make_tmpdir();
	write_file("s47.cfg", "# one\n", inc, sizeof(inc));
	write_file("p.cfg", LEVELS "rules = ();\n@include \"s47.cfg\"\n", path,
	           sizeof(path));
	ck_assert_int_eq(mash_pol_load(path, &a, eb, sizeof(eb)), MASH_OK);
	write_file("s47.cfg", "# two\n", inc, sizeof(inc));
	ck_assert_int_eq(mash_pol_load(path, &b, eb, sizeof(eb)), MASH_OK);
	ck_assert_int_ne(memcmp(mash_pol_sha256(a), mash_pol_sha256(b), 32), 0);
	mash_pol_free(a);
	mash_pol_free(b);
}
END_TEST

START_TEST(failed_reload_leaves_old_policy_untouched)
{
	char path[512];
	struct mash_policy *old = load_default();
	struct mash_policy *fresh = (struct mash_policy *)1;
	char eb[MASH_POL_ERRLEN];
	unsigned char sha[32];
	struct test_event t;
	struct mash_pol_decision before, after;

	memcpy(sha, mash_pol_sha256(old), 32);
	police_event(&t);
	decide(old, &t, 1, 1, &analyst, "mash-triage", 0, &before);
	make_tmpdir();
	write_file("bad.cfg", LEVELS "rules = ( { id = \"x\"; } ;", path,
	           sizeof(path));
	ck_assert_int_eq(mash_pol_load(path, &fresh, eb, sizeof(eb)),
	                 MASH_ERR_PARSE);
	ck_assert_ptr_null(fresh);
	decide(old, &t, 1, 1, &analyst, "mash-triage", 0, &after);
	ck_assert_uint_eq(before.shared, after.shared);
	ck_assert_str_eq(before.rule_id, after.rule_id);
	ck_assert_int_eq(memcmp(sha, mash_pol_sha256(old), 32), 0);
	mash_pol_free(old);
}
END_TEST

static void
collect(void *ctx, const char *msg)
{
	char *buf = ctx;
	size_t n = strlen(buf);

	(void)snprintf(buf + n, 4096 - n, "%s\n", msg);
}

START_TEST(lint_reports_unreachable_rule)
{
	char path[512];
	char out[4096] = "";
	unsigned n = 0;
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];

	make_tmpdir();
	write_file(
	    "p.cfg",
	    LEVELS
	    "rules = (\n"
	    " { id = \"broad\"; effect = \"share\"; fields = [\"@concern\", "
	    "\"signpost\"];\n"
	    "   legal_basis = \"x\"; reason = \"y\"; when = { roles = [ "
	    "\"mash-analyst\", \"mash-manager\" ]; }; },\n"
	    " { id = \"narrow\"; effect = \"share\"; fields = [\"category\"];\n"
	    "   legal_basis = \"x\"; reason = \"y\"; when = { roles = [ "
	    "\"mash-analyst\" ]; levels = [ 3 ]; }; },\n"
	    " { id = \"fine\"; effect = \"share\"; fields = [\"summary\"];\n"
	    "   legal_basis = \"x\"; reason = \"y\"; when = { roles = [ "
	    "\"mash-analyst\" ]; }; } );\n",
	    path, sizeof(path));
	/* Load accepts it (it is not wrong, only useless); lint says so. */
	ck_assert_int_eq(mash_pol_load(path, &pol, eb, sizeof(eb)), MASH_OK);
	mash_pol_free(pol);
	ck_assert_int_eq(mash_pol_lint(path, collect, out, &n), MASH_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(out,
	                             ":5: rule 'narrow': unreachable rule: "
	                             "shadowed by rule 'broad'"));
}
END_TEST

START_TEST(lint_reports_every_problem_not_just_first)
{
	char path[512];
	char out[4096] = "";
	unsigned n = 0;

	make_tmpdir();
	write_file(
	    "p.cfg",
	    LEVELS
	    "rules = (\n"
	    " { id = \"a\"; effect = \"share\"; fields = [\"nope\"]; reason = "
	    "\"y\"; },\n"
	    " { id = \"b\"; effect = \"share\"; fields = [\"category\"];\n"
	    "   legal_basis = \"x\"; reason = \"y\"; when = { roles = [ "
	    "\"pilot\" ]; }; } );\n",
	    path, sizeof(path));
	ck_assert_int_eq(mash_pol_lint(path, collect, out, &n), MASH_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_nonnull(strstr(out, "rule 'a': unknown field 'nope'"));
	ck_assert_ptr_nonnull(
	    strstr(out, "rule 'a': rule without legal basis"));
	ck_assert_ptr_nonnull(strstr(out, "rule 'b': unknown role 'pilot'"));
	/* Unreadable input is a different outcome. */
	ck_assert_int_eq(mash_pol_lint("/nonexistent.cfg", NULL, NULL, &n),
	                 MASH_ERR_IO);
}
END_TEST

/* ---- fields and records --------------------------------------------- */

START_TEST(field_patterns_resolve)
{
	uint64_t s;

	ck_assert_int_eq(mash_pol_fields_resolve("@identity", &s), MASH_OK);
	ck_assert_uint_eq(
	    s, FB(MASH_POL_F_GIVEN_NAME) | FB(MASH_POL_F_FAMILY_NAME) |
	           FB(MASH_POL_F_DATE_OF_BIRTH) | FB(MASH_POL_F_NHS_NUMBER) |
	           FB(MASH_POL_F_POSTCODE) | FB(MASH_POL_F_SEX));
	ck_assert_int_eq(mash_pol_fields_resolve("detail.health.*", &s),
	                 MASH_OK);
	ck_assert_uint_eq(__builtin_popcountll(s), 7);
	ck_assert_int_eq(mash_pol_fields_resolve("summary", &s), MASH_OK);
	ck_assert_uint_eq(s, FB(MASH_POL_F_SUMMARY));
	ck_assert_int_eq(mash_pol_fields_resolve("@secret", &s),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_pol_fields_resolve("detail.nope.*", &s),
	                 MASH_ERR_NOT_FOUND);
	for (unsigned f = 0; f < MASH_POL_F_COUNT; f++)
		ck_assert_int_eq(mash_pol_field_index(mash_pol_field_name(f)),
		                 (int)f);
}
END_TEST

START_TEST(record_has_only_granted_fields_and_withheld_names)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;
	Mash__V1__SharedRecord rec;
	int saw_given = 0, saw_intel = 0;

	health_event(&t);
	decide(pol, &t, 3, 4, &sw, "s17-assessment", 0, &d);
	ck_assert_int_eq(mash_pol_record_build(&t.ev, &d, "case-1",
	                                       "Safeguarding team, 01670",
	                                       &rec),
	                 MASH_OK);
	ck_assert_str_eq(rec.case_id, "case-1");
	ck_assert_str_eq(rec.rule_id, d.rule_id);
	ck_assert_str_eq(rec.purpose, "s17-assessment");
	ck_assert_uint_eq(rec.severity, 3);
	for (size_t i = 0; i < rec.n_fields; i++) {
		ck_assert(shares(&d, rec.fields[i]->key));
		if (strcmp(rec.fields[i]->key, "subject.given_name") == 0) {
			ck_assert_str_eq(rec.fields[i]->value, "Jordan");
			saw_given = 1;
		}
		if (strcmp(rec.fields[i]->key, "signpost") == 0)
			ck_assert_ptr_nonnull(
			    strstr(rec.fields[i]->value, "01670"));
		ck_assert_str_ne(rec.fields[i]->key, "detail.health.diagnosis");
	}
	for (size_t i = 0; i < rec.n_withheld; i++)
		if (strcmp(rec.withheld[i], "detail.health.diagnosis") == 0)
			saw_intel = 1;
	ck_assert(saw_given);
	ck_assert(saw_intel);
	ck_assert_uint_eq(rec.n_flags, 1);
	ck_assert_str_eq(rec.flags[0], "consent-refused");
	mash_pol_record_clear(&rec);
	ck_assert_uint_eq(rec.n_fields, 0);

	/* Withheld concern fields stay zero in the typed copies too. */
	decide(pol, &t, 1, 1, &housing, "mash-triage", 0, &d);
	ck_assert_int_eq(mash_pol_record_build(&t.ev, &d, NULL, NULL, &rec),
	                 MASH_OK);
	ck_assert_uint_eq(rec.n_fields, 0);
	ck_assert_int_eq(rec.category, 0);
	ck_assert_uint_eq(rec.severity, 0);
	ck_assert_int_eq(rec.occurred_at, 0);
	mash_pol_record_clear(&rec);
	mash_pol_free(pol);
}
END_TEST

/* Issue 26: the record names, for each withheld field, the rule that
 * withheld it (a rule id list and an index per field). */
START_TEST(record_names_the_rule_that_withheld_each_field)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;
	Mash__V1__SharedRecord rec;
	const char *by_diag = NULL, *by_name = NULL;

	health_event(&t);
	/* s17 social worker at L3: diagnosis withheld by Caldicott r6. */
	decide(pol, &t, 3, 4, &sw, "s17-assessment", 0, &d);
	ck_assert_int_eq(mash_pol_record_build(&t.ev, &d, "c", NULL, &rec),
	                 MASH_OK);
	ck_assert_uint_gt(rec.n_withheld, 0);
	ck_assert_uint_eq(rec.n_withheld_rule, rec.n_withheld);
	for (size_t i = 0; i < rec.n_withheld; i++) {
		ck_assert_uint_lt(rec.withheld_rule[i], rec.n_withheld_rules);
		if (strcmp(rec.withheld[i], "detail.health.diagnosis") == 0)
			by_diag = rec.withheld_rules[rec.withheld_rule[i]];
	}
	ck_assert_ptr_nonnull(by_diag);
	ck_assert_str_eq(by_diag, "r6-health-clinical-below-l4");
	mash_pol_record_clear(&rec);
	ck_assert_uint_eq(rec.n_withheld_rules, 0);

	/* Refused consent at L2 for the analyst: identity withheld by r2. */
	t.ev.consent = MASH__V1__CONSENT__REFUSED;
	mash_pol_event_view(&t.ev, &t.view);
	decide(pol, &t, 2, 2, &analyst, "mash-triage", 0, &d);
	ck_assert_int_eq(mash_pol_record_build(&t.ev, &d, "c", NULL, &rec),
	                 MASH_OK);
	for (size_t i = 0; i < rec.n_withheld; i++)
		if (strcmp(rec.withheld[i], "subject.nhs_number") == 0)
			by_name = rec.withheld_rules[rec.withheld_rule[i]];
	ck_assert_ptr_nonnull(by_name);
	ck_assert_str_eq(by_name, "r2-consent-refused-below-l3");
	mash_pol_record_clear(&rec);
	mash_pol_free(pol);
}
END_TEST

START_TEST(record_build_survives_allocation_failures)
{
	struct mash_policy *pol = load_default();
	struct test_event t;
	struct mash_pol_decision d;
	Mash__V1__SharedRecord rec;
	int rc;

	police_event(&t);
	decide(pol, &t, 4, 3, &sw, "strategy-discussion", 0, &d);
	for (long n = 0; n < 200; n++) {
		mash_mem_fail_after(n);
		rc = mash_pol_record_build(&t.ev, &d, "c", NULL, &rec);
		mash_mem_fail_after(-1);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		if (rc == MASH_ERR_NOMEM)
			ck_assert_uint_eq(rec.n_fields, 0);
		mash_pol_record_clear(&rec);
		if (rc == MASH_OK)
			break;
	}
	ck_assert_int_eq(rc, MASH_OK);
	mash_pol_free(pol);
}
END_TEST

START_TEST(load_survives_allocation_failures)
{
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];
	int rc = MASH_ERR_NOMEM;

	for (long n = 0; n < 2000 && rc != MASH_OK; n++) {
		mash_mem_fail_after(n);
		rc = mash_pol_load(default_path(), &pol, eb, sizeof(eb));
		mash_mem_fail_after(-1);
		if (rc != MASH_OK)
			ck_assert_ptr_null(pol);
	}
	ck_assert_int_eq(rc, MASH_OK);
	mash_pol_free(pol);
}
END_TEST

START_TEST(truncated_default_policy_never_crashes)
{
	char path[512];
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(default_path(), "r");
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];

	ck_assert_ptr_nonnull(f);
	text = malloc(MASH_MAX_CONFIG_FILE);
	len = fread(text, 1, MASH_MAX_CONFIG_FILE - 1, f);
	fclose(f);
	text[len] = '\0';
	make_tmpdir();
	/* Every 97th truncation point and a bit flip there: loads or fails
	 * cleanly, never half-succeeds. */
	for (size_t cut = 0; cut < len; cut += 97) {
		char saved = text[cut];

		text[cut] = '\0';
		write_file("t.cfg", text, path, sizeof(path));
		if (mash_pol_load(path, &pol, eb, sizeof(eb)) == MASH_OK)
			mash_pol_free(pol);
		else
			ck_assert_ptr_null(pol);
		text[cut] = (char)(saved ^ 0x20);
		write_file("t.cfg", text, path, sizeof(path));
		if (mash_pol_load(path, &pol, eb, sizeof(eb)) == MASH_OK)
			mash_pol_free(pol);
		text[cut] = saved;
	}
	free(text);
}
END_TEST

static Suite *
pol_suite(void)
{
	Suite *s = suite_create("pol");
	TCase *tc = tcase_create("rules");
	TCase *tl = tcase_create("load");

	tcase_add_test(tc, default_policy_loads_and_lints_clean);
	tcase_add_test(tc, no_policy_denies_everything);
	tcase_add_test(tc, unknown_role_or_purpose_is_denied_as_invalid);
	tcase_add_test(tc, recipient_no_rule_names_receives_nothing);
	tcase_add_test(tc, field_no_rule_grants_is_withheld);
	tcase_add_test(tc, source_agency_sees_its_own_record_in_full);
	tcase_add_test(tc, r1_signpost_only_when_known_to_two_agencies);
	tcase_add_loop_test(tc, r2_consent_state_decides_narrative_below_l3, 0,
	                    sizeof(consent_cases) / sizeof(consent_cases[0]));
	tcase_add_test(tc,
	               r3_l4_core_gets_narrative_despite_refusal_and_sees_flag);
	tcase_add_test(
	    tc,
	    r4_do_not_disclose_gives_family_roles_the_concern_and_flag_only);
	tcase_add_test(tc, r5_official_sensitive_narrows_narrative_not_concern);
	tcase_add_test(
	    tc, r5_restrict_to_agencies_withholds_narrative_outside_list);
	tcase_add_test(tc, r6_health_clinical_detail_only_at_l4);
	tcase_add_test(tc, r7_education_sees_concern_and_lead_not_intelligence);
	tcase_add_test(
	    tc, r7_housing_nothing_at_l1_concern_only_for_housing_categories);
	tcase_add_test(
	    tc, r8_break_glass_is_a_per_role_attribute_never_the_auditors);
	tcase_add_test(tc, one_police_event_different_field_sets_per_role);
	tcase_add_loop_test(tc, case_level_follows_policy_thresholds, 0,
	                    sizeof(level_cases) / sizeof(level_cases[0]));
	tcase_add_test(tc, case_level_thresholds_come_from_the_file);
	tcase_add_test(tc, delivery_purpose_by_level);
	tcase_add_test(tc, field_patterns_resolve);
	tcase_add_test(tc, record_has_only_granted_fields_and_withheld_names);
	tcase_add_test(tc, record_names_the_rule_that_withheld_each_field);
	tcase_add_test(tc, record_build_survives_allocation_failures);
	tcase_add_checked_fixture(tc, setup, teardown);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, setup, teardown);
	tcase_add_loop_test(tl, malformed_policy_rejected_with_line_and_rule, 0,
	                    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tl, too_many_rules_rejected);
	tcase_add_test(tl, overlong_reason_rejected_exactly_at_limit);
	tcase_add_test(tl, file_over_size_limit_rejected_before_parsing);
	tcase_add_test(tl, other_engines_groups_are_ignored);
	tcase_add_test(tl, sha256_covers_included_file);
	tcase_add_test(tl, failed_reload_leaves_old_policy_untouched);
	tcase_add_test(tl, lint_reports_unreachable_rule);
	tcase_add_test(tl, lint_reports_every_problem_not_just_first);
	tcase_add_test(tl, load_survives_allocation_failures);
	tcase_add_test(tl, truncated_default_policy_never_crashes);
	tcase_set_timeout(tl, 120);
	suite_add_tcase(s, tl);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pol_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
