/*
 * it_decision_explain.c - every sharing decision explains itself (issue
 * 26), read back from the audit trail of the real mashd with the default
 * policy and directory, over a real mosquitto and SQLite file:
 *   - a health event with consent REFUSED at L1 (a severity-1 mental
 *     health concern about a child known to one agency): no recipient
 *     outside health receives anything, and for every recipient the
 *     DECISION record names, per field, the rule that withheld it (the
 *     clinical narrative by the Caldicott rule r6, identity, concern and
 *     the rest by the refused-consent rule r2), while health's own nurse
 *     sees the record in full under one rule;
 *   - a police event marked do-not-disclose-to-family at L1: school,
 *     housing and YOT get nothing, identity and narrative withheld by
 *     rule r4;
 *   - `mashctl audit report` lists the withheld fields by rule, and
 *     `audit verify` passes over the version 2 records.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"

static struct mash_mashd_fx *fx;

#define EV_REFUSED "bbbbbbbb-0001-4000-8000-000000000001"
#define EV_DND     "bbbbbbbb-0002-4000-8000-000000000002"

static void
setup(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char extra[1024];

	snprintf(extra, sizeof(extra),
	         "policy = \"%s/policy/default.cfg\";\n"
	         "directory = \"@DIRECTORY@\";\n",
	         src != NULL ? src : ".");
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

static void
send_and_accept(Mash__V1__AgencyEvent *ev)
{
	Mash__V1__Receipt *r = NULL;

	ck_assert_int_eq(mash_mashd_fx_send(fx, ev), 0);
	ck_assert_int_eq(mash_mashd_fx_receipt(fx, 15000, &r, NULL), 0);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	mash_mashd_fx_receipt_free(r);
}

/* A health event, consent REFUSED, severity 1, with clinical notes. */
static void
send_refused_health_event(void)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event("health", EV_REFUSED);
	Mash__V1__HealthDetail *hd = calloc(1, sizeof(*hd));

	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_nonnull(hd);
	mash__v1__health_detail__init(hd);
	hd->clinical_notes = strdup("Low mood, disclosed self-harm.");
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_HEALTH;
	ev->health = hd;
	ev->category = MASH__V1__CATEGORY__MENTAL_HEALTH;
	ev->severity = 1;
	ev->consent = MASH__V1__CONSENT__REFUSED;
	send_and_accept(ev);
	mash_mashd_fx_event_free(ev);
}

static void
send_dnd_police_event(void)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event("police", EV_DND);

	ck_assert_ptr_nonnull(ev);
	ev->handling->do_not_disclose_to_family = 1;
	ev->consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	send_and_accept(ev);
	mash_mashd_fx_event_free(ev);
}

/* The DECISION record of (event, recipient), parsed; NULL if none. */
static json_t *
decision(const char *event_id, const char *recipient)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *r = NULL;

	ck_assert_int_eq(
	    sqlite3_open_v2(fx->db, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "SELECT record FROM audit_log"
	                                    " WHERE type = 'DECISION' AND"
	                                    " event_id = ?1 AND recipient = ?2",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, recipient, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		r = json_loadb(sqlite3_column_blob(st, 0),
		               (size_t)sqlite3_column_bytes(st, 0), 0, NULL);
		ck_assert_ptr_nonnull(r);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

static int
in_array(json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) if (json_is_string(v) &&
	                                  strcmp(json_string_value(v), s) ==
	                                      0) return 1;
	return 0;
}

/* The rule that decided field in r ("shared"/"withheld" in *how), or
 * NULL when no group names it. */
static const char *
rule_of(json_t *r, const char *field, const char **how)
{
	json_t *g;
	size_t i;

	json_array_foreach(json_object_get(r, "by_rule"), i, g)
	{
		if (in_array(json_object_get(g, "fields"), field)) {
			*how =
			    json_string_value(json_object_get(g, "decision"));
			return json_string_value(json_object_get(g, "rule"));
		}
	}
	return NULL;
}

/* Every field shared or withheld is in exactly one group, on the right
 * side; every group names a rule, and a rule other than default-deny its
 * legal basis. */
static void
check_consistent(json_t *r)
{
	json_t *g, *f, *arr;
	const char *how, *rule;
	size_t i, k, n_grouped = 0;

	ck_assert_int_eq(json_integer_value(json_object_get(r, "v")), 2);
	json_array_foreach(json_object_get(r, "by_rule"), i, g)
	{
		rule = json_string_value(json_object_get(g, "rule"));
		ck_assert_ptr_nonnull(rule);
		if (strcmp(rule, "default-deny") != 0)
			ck_assert_ptr_nonnull(
			    json_string_value(json_object_get(g, "basis")));
		how = json_string_value(json_object_get(g, "decision"));
		ck_assert_ptr_nonnull(how);
		arr = json_object_get(
		    r, strcmp(how, "shared") == 0 ? "shared" : "withheld");
		json_array_foreach(json_object_get(g, "fields"), k, f)
		{
			ck_assert_msg(
			    in_array(arr, json_string_value(f)),
			    "%s %s by %s but not in the record's list",
			    json_string_value(f), how, rule);
			n_grouped++;
		}
	}
	ck_assert_uint_eq(n_grouped,
	                  json_array_size(json_object_get(r, "shared")) +
	                      json_array_size(json_object_get(r, "withheld")));
}

static void
expect(json_t *r, const char *field, const char *rule, const char *how)
{
	const char *got_how = NULL, *got = rule_of(r, field, &got_how);

	ck_assert_msg(got != NULL, "%s: no rule decided it", field);
	ck_assert_str_eq(got, rule);
	ck_assert_str_eq(got_how, how);
}

START_TEST(refused_consent_names_the_rule_that_withheld_each_field)
{
	static const char *const others[] = {"analyst.amara", "sw.sam",
	                                     "police.pp1"};
	json_t *r;
	size_t i;

	send_refused_health_event();
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		r = decision(EV_REFUSED, others[i]);
		ck_assert_msg(r != NULL, "no DECISION for %s", others[i]);
		check_consistent(r);
		/* Caldicott first (r6 is above r2 in the file), then the
		 * consent rule for the narrative r6 does not name. */
		expect(r, "summary", "r6-health-clinical-below-l4", "withheld");
		expect(r, "detail.health.clinical_notes",
		       "r6-health-clinical-below-l4", "withheld");
		expect(r, "reporter", "r2-consent-refused-below-l3",
		       "withheld");
		expect(r, "agency_ref", "r2-consent-refused-below-l3",
		       "withheld");
		/* Nothing about the child leaves health (issue 26: the NHS
		 * number used to reach police and hub staff). */
		expect(r, "subject.nhs_number", "r2-consent-refused-below-l3",
		       "withheld");
		expect(r, "category", "r2-consent-refused-below-l3",
		       "withheld");
		ck_assert_uint_eq(json_array_size(json_object_get(r, "shared")),
		                  0);
		json_decref(r);
	}
	/* The source agency sees its own record in full, by one rule. */
	r = decision(EV_REFUSED, "health.nurse1");
	ck_assert_ptr_nonnull(r);
	check_consistent(r);
	ck_assert_uint_eq(json_array_size(json_object_get(r, "by_rule")), 1);
	expect(r, "detail.health.clinical_notes", "source-agency", "shared");
	json_decref(r);
}
END_TEST

START_TEST(do_not_disclose_names_rule_4_for_roles_working_with_the_family)
{
	static const char *const family[] = {"school.dsl1", "housing.officer1",
	                                     "yot.worker1"};
	json_t *r;
	size_t i;

	send_dnd_police_event();
	for (i = 0; i < sizeof(family) / sizeof(family[0]); i++) {
		r = decision(EV_DND, family[i]);
		ck_assert_msg(r != NULL, "no DECISION for %s", family[i]);
		check_consistent(r);
		ck_assert_uint_eq(json_array_size(json_object_get(r, "shared")),
		                  0);
		expect(r, "summary", "r4-do-not-disclose-to-family",
		       "withheld");
		expect(r, "subject.given_name", "r4-do-not-disclose-to-family",
		       "withheld");
		json_decref(r);
	}
}
END_TEST

START_TEST(report_lists_withheld_fields_by_rule_and_verify_passes)
{
	char cmd[2048], out[65536];
	const char *bin = getenv("MASH_BIN_DIR");
	FILE *p;
	size_t n;

	send_refused_health_event();
	send_dnd_police_event();
	snprintf(cmd, sizeof(cmd), "%s/mashctl audit report --db %s 2>&1",
	         bin != NULL ? bin : ".", fx->db);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(strstr(out, "withheld by rule:") != NULL, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "r2-consent-refused-below-l3"));
	ck_assert_ptr_nonnull(strstr(out, "r4-do-not-disclose-to-family"));
	ck_assert_ptr_nonnull(strstr(out, "detail.health.clinical_notes"));
	/* The query's readable line names the rules too. */
	snprintf(cmd, sizeof(cmd),
	         "%s/mashctl audit query --db %s --type DECISION 2>&1",
	         bin != NULL ? bin : ".", fx->db);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(strstr(out, "r4-do-not-disclose-to-family:withheld(") !=
	                  NULL,
	              "%s", out);
	snprintf(cmd, sizeof(cmd),
	         "%s/mashctl audit verify --db %s >/dev/null 2>&1",
	         bin != NULL ? bin : ".", fx->db);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("decision_explain");
	TCase *tc = tcase_create("it");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc,
	               refused_consent_names_the_rule_that_withheld_each_field);
	tcase_add_test(
	    tc, do_not_disclose_names_rule_4_for_roles_working_with_the_family);
	tcase_add_test(tc,
	               report_lists_withheld_fields_by_rule_and_verify_passes);
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
