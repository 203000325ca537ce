/*
 * test_pol_explain.c - policy/explain.c (issue 26): every present field
 * of a decision is attributed to the rule that shared or withheld it, or
 * to default-deny; the groups come in catalogue order with default-deny
 * last; no policy, or a decision another policy made, explains nothing
 * but default-deny; a short output array gets a prefix and the full count.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "policy/pol.h"

#define FB(f) ((uint64_t)1 << (f))

static const char policy_text[] =
    "version = 1;\n"
    "levels = { l2 = { min_agencies = 2; }; l3 = { min_severity = 3; }; "
    "l4 = { min_severity = 4; trigger_open = true; }; };\n"
    "rules = (\n"
    "  { id = \"no-notes\"; effect = \"withhold\";\n"
    "    fields = [ \"detail.health.*\" ];\n"
    "    when = { event_agencies = [ \"health\" ]; };\n"
    "    legal_basis = \"Caldicott principles 3-4\"; reason = \"n\"; },\n"
    "  { id = \"consent\"; effect = \"withhold\";\n"
    "    fields = [ \"@narrative\" ];\n"
    "    when = { consent = [ \"REFUSED\" ]; levels = [ 1, 2 ]; };\n"
    "    legal_basis = \"HRA 1998 art.8\"; reason = \"c\"; },\n"
    "  { id = \"triage\"; effect = \"share\";\n"
    "    fields = [ \"@identity\", \"@concern\", \"@narrative\" ];\n"
    "    when = { roles = [ \"mash-analyst\" ]; };\n"
    "    legal_basis = \"CA 2004 s11\"; reason = \"t\"; }\n"
    ");\n";

static char dir[64], path[96];
static struct mash_policy *pol;

static const struct mash_pol_recipient analyst = {"analyst.amara",
                                                  "mash-analyst", "mash"};

static int
F(const char *name)
{
	int f = mash_pol_field_index(name);

	ck_assert_msg(f >= 0, "unknown field %s", name);
	return f;
}

static void
setup(void)
{
	char eb[MASH_POL_ERRLEN];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test_pol_explain.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/p.cfg", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(policy_text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(mash_pol_load(path, &pol, eb, sizeof(eb)) == MASH_OK,
	              "%s", eb);
}

static void
teardown(void)
{
	mash_pol_free(pol);
	pol = NULL;
	(void)unlink(path);
	(void)rmdir(dir);
}

/* A health event with consent refused carrying identity, concern,
 * narrative, clinical notes and a VCL score (which no rule names). */
static void
refused_health_event(struct mash_pol_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->agency = "health";
	ev->category = MASH__V1__CATEGORY__MENTAL_HEALTH;
	ev->severity = 1;
	ev->consent = MASH__V1__CONSENT__REFUSED;
	ev->present = FB(F("subject.given_name")) |
	              FB(F("subject.nhs_number")) | FB(F("category")) |
	              FB(F("severity")) | FB(F("summary")) |
	              FB(F("detail.health.clinical_notes")) | FB(F("vcl"));
}

START_TEST(each_field_is_attributed_to_the_rule_that_decided_it)
{
	struct mash_pol_event ev;
	struct mash_pol_case c = {1, 1, 0};
	struct mash_pol_decision d;
	struct mash_pol_rule_group g[8];
	size_t n;

	refused_health_event(&ev);
	ck_assert_int_eq(
	    mash_pol_decide(pol, &ev, &c, &analyst, "mash-triage", 0, &d),
	    MASH_OK);
	n = mash_pol_decision_groups(pol, &d, g, 8);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(g[0].rule_id, "triage");
	ck_assert_str_eq(g[0].legal_basis, "CA 2004 s11");
	ck_assert_int_eq(g[0].shared, 1);
	ck_assert(g[0].fields ==
	          (FB(F("subject.given_name")) | FB(F("subject.nhs_number")) |
	           FB(F("category")) | FB(F("severity"))));
	ck_assert_str_eq(g[1].rule_id, "consent");
	ck_assert_str_eq(g[1].legal_basis, "HRA 1998 art.8");
	ck_assert_int_eq(g[1].shared, 0);
	ck_assert(g[1].fields == FB(F("summary")));
	ck_assert_str_eq(g[2].rule_id, "no-notes");
	ck_assert_int_eq(g[2].shared, 0);
	ck_assert(g[2].fields == FB(F("detail.health.clinical_notes")));
	ck_assert_str_eq(g[3].rule_id, "default-deny");
	ck_assert_str_eq(g[3].legal_basis, "");
	ck_assert_int_eq(g[3].shared, 0);
	ck_assert(g[3].fields == FB(F("vcl")));
	/* Together they are exactly the decision's fields. */
	ck_assert((g[0].fields | g[1].fields | g[2].fields | g[3].fields) ==
	          (d.shared | d.withheld));
	ck_assert(g[0].fields == d.shared);
}
END_TEST

START_TEST(with_consent_given_the_narrative_is_the_sharing_rules)
{
	struct mash_pol_event ev;
	struct mash_pol_case c = {1, 1, 0};
	struct mash_pol_decision d;
	struct mash_pol_rule_group g[8];
	size_t n;

	refused_health_event(&ev);
	ev.consent = MASH__V1__CONSENT__GIVEN;
	ck_assert_int_eq(
	    mash_pol_decide(pol, &ev, &c, &analyst, "mash-triage", 0, &d),
	    MASH_OK);
	n = mash_pol_decision_groups(pol, &d, g, 8);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(g[0].rule_id, "triage");
	ck_assert(g[0].fields & FB(F("summary")));
	ck_assert_str_eq(g[1].rule_id, "no-notes");
	ck_assert_str_eq(g[2].rule_id, "default-deny");
}
END_TEST

START_TEST(a_recipient_no_rule_names_is_all_default_deny)
{
	struct mash_pol_event ev;
	struct mash_pol_case c = {1, 1, 0};
	struct mash_pol_recipient housing = {"housing.officer1",
	                                     "housing-officer", "housing"};
	struct mash_pol_decision d;
	struct mash_pol_rule_group g[8];

	refused_health_event(&ev);
	ev.present &=
	    ~(FB(F("summary")) | FB(F("detail.health.clinical_notes")));
	ck_assert_int_eq(
	    mash_pol_decide(pol, &ev, &c, &housing, "mash-triage", 0, &d),
	    MASH_OK);
	ck_assert_uint_eq(mash_pol_decision_groups(pol, &d, g, 8), 1);
	ck_assert_str_eq(g[0].rule_id, "default-deny");
	ck_assert(g[0].fields == ev.present);
}
END_TEST

START_TEST(no_policy_or_another_policy_explains_only_default_deny)
{
	struct mash_pol_event ev;
	struct mash_pol_case c = {1, 1, 0};
	struct mash_pol_decision d;
	struct mash_pol_rule_group g[8];

	refused_health_event(&ev);
	ck_assert_int_eq(
	    mash_pol_decide(pol, &ev, &c, &analyst, "mash-triage", 0, &d),
	    MASH_OK);
	/* The decision names rules 0-2; without their policy they are
	 * unknown, so nothing is attributed to a rule it cannot name. */
	ck_assert_uint_eq(mash_pol_decision_groups(NULL, &d, g, 8), 1);
	ck_assert_str_eq(g[0].rule_id, "default-deny");
	ck_assert(g[0].fields == (d.shared | d.withheld));
	ck_assert_uint_eq(mash_pol_decision_groups(pol, NULL, g, 8), 0);
	/* No policy at all: the engine denies and explains it so. */
	ck_assert_int_eq(
	    mash_pol_decide(NULL, &ev, &c, &analyst, "mash-triage", 0, &d),
	    MASH_OK);
	ck_assert_uint_eq(mash_pol_decision_groups(NULL, &d, g, 8), 1);
	ck_assert(g[0].fields == ev.present);
}
END_TEST

START_TEST(a_short_array_gets_a_prefix_and_the_full_count)
{
	struct mash_pol_event ev;
	struct mash_pol_case c = {1, 1, 0};
	struct mash_pol_decision d;
	struct mash_pol_rule_group g[2];

	memset(g, 0, sizeof(g));
	refused_health_event(&ev);
	ck_assert_int_eq(
	    mash_pol_decide(pol, &ev, &c, &analyst, "mash-triage", 0, &d),
	    MASH_OK);
	ck_assert_uint_eq(mash_pol_decision_groups(pol, &d, g, 1), 4);
	ck_assert_str_eq(g[0].rule_id, "triage");
	ck_assert_ptr_null(g[1].rule_id); /* untouched */
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("pol_explain");
	TCase *tc = tcase_create("explain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	               each_field_is_attributed_to_the_rule_that_decided_it);
	tcase_add_test(tc,
	               with_consent_given_the_narrative_is_the_sharing_rules);
	tcase_add_test(tc, a_recipient_no_rule_names_is_all_default_deny);
	tcase_add_test(tc,
	               no_policy_or_another_policy_explains_only_default_deny);
	tcase_add_test(tc, a_short_array_gets_a_prefix_and_the_full_count);
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
