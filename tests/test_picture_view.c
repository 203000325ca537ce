/* Unit tests for cli/picture_view: the terminal and JSON views of a
 * Picture, built here in memory from the demo story (SHARED-DEFS.md). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/picture_view.h"
#include "common/err.h"
#include "common/mem.h"

/* 2026-11-23 12:00 UTC */
#define NOW_MS 1795435200000LL
#define DAY_MS 86400000LL

struct fixture {
	Mash__V1__Picture p;
	Mash__V1__Subject subj;
	Mash__V1__SharedRecord rec[2];
	Mash__V1__SharedRecord *recp[2];
	Mash__V1__SharedRecord__FieldsEntry fe[3];
	Mash__V1__SharedRecord__FieldsEntry *fep[3];
	Mash__V1__StrategyDiscussionTrigger trig;
	Mash__V1__StrategyDiscussionTrigger *trigp[1];
	char *agencies[3];
	char *withheld[2];
	char *flags[1];
	char *contrib[2];
	char *attendees[2];
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	mash__v1__picture__init(&f->p);
	mash__v1__subject__init(&f->subj);
	f->subj.given_name = "Jordan";
	f->subj.family_name = "Reed";
	f->subj.date_of_birth = "2011-05-14";
	f->subj.nhs_number = "9434765919";
	f->subj.postcode = "NE61 1AA";
	f->subj.sex = "M";

	/* Fields deliberately out of order: the view sorts them. */
	mash__v1__shared_record__fields_entry__init(&f->fe[0]);
	f->fe[0].key = "summary";
	f->fe[0].value =
	    "Reported missing overnight, found at an address in town.";
	mash__v1__shared_record__fields_entry__init(&f->fe[1]);
	f->fe[1].key = "consent";
	f->fe[1].value = "NOT_SOUGHT";
	f->fep[0] = &f->fe[0];
	f->fep[1] = &f->fe[1];

	mash__v1__shared_record__init(&f->rec[0]);
	f->rec[0].case_id = "case-1";
	f->rec[0].event_id = "e1";
	f->rec[0].agency = "police";
	f->rec[0].category = MASH__V1__CATEGORY__MISSING_EPISODE;
	f->rec[0].severity = 2;
	f->rec[0].occurred_at = 1790899200000LL; /* 2026-10-02 00:00 UTC */
	f->rec[0].n_fields = 2;
	f->rec[0].fields = f->fep;
	f->rec[0].rule_id = "share.analyst.triage";
	f->rec[0].legal_basis = "CA 2004 s11";

	mash__v1__shared_record__init(&f->rec[1]);
	f->rec[1].case_id = "case-1";
	f->rec[1].event_id = "e4";
	f->rec[1].agency = "health";
	f->rec[1].category = MASH__V1__CATEGORY__SELF_HARM;
	f->rec[1].severity = 3;
	f->rec[1].occurred_at = 1792454400000LL; /* 2026-10-20 */
	f->withheld[0] = "summary";
	f->withheld[1] = "health.diagnosis";
	f->rec[1].n_withheld = 2;
	f->rec[1].withheld = f->withheld;
	f->flags[0] = "consent-refused";
	f->rec[1].n_flags = 1;
	f->rec[1].flags = f->flags;
	f->recp[0] = &f->rec[0];
	f->recp[1] = &f->rec[1];

	mash__v1__strategy_discussion_trigger__init(&f->trig);
	f->trig.case_id = "case-1";
	f->trig.trigger_id = "trig-1";
	f->trig.rule_id = "s47.accumulation";
	f->trig.kind = "updated";
	f->trig.reason = "4 agencies within 90 days, severity sum 8";
	f->contrib[0] = "police/e1";
	f->contrib[1] = "health/e4";
	f->trig.n_contributing_events = 2;
	f->trig.contributing_events = f->contrib;
	f->attendees[0] = "la-social-worker";
	f->attendees[1] = "police-public-protection";
	f->trig.n_required_attendees = 2;
	f->trig.required_attendees = f->attendees;
	f->trig.raised_at = 1792454400000LL;
	f->trig.discussion_due_by = NOW_MS + 2 * DAY_MS;
	f->trig.level = 4;
	f->trigp[0] = &f->trig;

	f->agencies[0] = "police";
	f->agencies[1] = "health";
	f->agencies[2] = "housing";

	f->p.case_id = "case-1";
	f->p.subject = &f->subj;
	f->p.level = 4;
	f->p.n_agencies_involved = 3;
	f->p.agencies_involved = f->agencies;
	f->p.n_records = 2;
	f->p.records = f->recp;
	f->p.n_open_triggers = 1;
	f->p.open_triggers = f->trigp;
	f->p.vcl_band = "VERY_HIGH";
	f->p.rmg_register = 1;
	f->p.audit_seq = 42;
}

/* A stand-in calendar: whole calendar days (the real one is s47's). */
static int
days_between(void *ctx, int64_t from_ms, int64_t to_ms, int64_t *out)
{
	(void)ctx;
	*out = (to_ms - from_ms) / DAY_MS;
	return MASH_OK;
}

static char *
render(const Mash__V1__Picture *p, const struct mashctl_view_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(mashctl_picture_render(f, p, o), MASH_OK);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

static const struct mashctl_view_opts opts = {
    .principal = "analyst.amara",
    .purpose = "mash-triage",
    .now_ms = NOW_MS,
    .working_days = days_between,
};

START_TEST(render_shows_child_level_band_and_agencies)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(strstr(s, "case case-1"));
	ck_assert_ptr_nonnull(
	    strstr(s, "as analyst.amara, purpose mash-triage"));
	ck_assert_ptr_nonnull(strstr(
	    s,
	    "Jordan Reed, born 2011-05-14, NHS 9434765919, NE61 1AA, sex M\n"));
	ck_assert_ptr_nonnull(
	    strstr(s, "Level:      L4 child protection (s47)"));
	ck_assert_ptr_nonnull(
	    strstr(s, "VERY_HIGH (on the Risk Management Group register)"));
	ck_assert_ptr_nonnull(
	    strstr(s, "Agencies:   police, health, housing\n"));
	ck_assert_ptr_nonnull(strstr(s, "record 42"));
	ck_assert_ptr_null(strstr(s, "DENIED"));
	free(s);
}
END_TEST

START_TEST(render_timeline_rows_have_date_agency_category_severity)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(strstr(s, "Timeline (2 records)"));
	ck_assert_ptr_nonnull(
	    strstr(s, "  2026-10-02  police      MISSING_EPISODE      sev 2   "
	              "rule share.analyst.triage\n"));
	ck_assert_ptr_nonnull(strstr(
	    s, "  2026-10-20  health      SELF_HARM            sev 3\n"));
	free(s);
}
END_TEST

START_TEST(render_sorts_granted_fields_and_marks_withheld)
{
	struct fixture f;
	char *s, *c, *m;

	fixture_init(&f);
	s = render(&f.p, &opts);
	c = strstr(s, "      consent: NOT_SOUGHT\n");
	m = strstr(s, "      summary: Reported missing overnight");
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(m);
	ck_assert(m < c); /* the summary first, then the rest by name */
	ck_assert_ptr_nonnull(
	    strstr(s, "      [withheld: summary, health.diagnosis]\n"));
	ck_assert_ptr_nonnull(strstr(s, "      flags: consent-refused\n"));
	ck_assert_ptr_nonnull(
	    strstr(s, "Rules applied\n  share.analyst.triage: CA 2004 s11\n"));
	free(s);
}
END_TEST

START_TEST(render_omits_fields_the_row_and_header_already_show)
{
	struct fixture f;
	Mash__V1__SharedRecord__FieldsEntry extra[4];
	Mash__V1__SharedRecord__FieldsEntry *ep[6];
	char *s;

	fixture_init(&f);
	mash__v1__shared_record__fields_entry__init(&extra[0]);
	extra[0].key = "subject.given_name";
	extra[0].value = "Jordan"; /* as in the header: omitted */
	mash__v1__shared_record__fields_entry__init(&extra[1]);
	extra[1].key = "subject.postcode";
	extra[1].value = "NE61 9ZZ"; /* different: shown */
	mash__v1__shared_record__fields_entry__init(&extra[2]);
	extra[2].key = "category";
	extra[2].value = "MISSING_EPISODE"; /* in the row: omitted */
	mash__v1__shared_record__fields_entry__init(&extra[3]);
	extra[3].key = "occurred_at";
	extra[3].value = "2026-10-02T00:00:00Z";
	ep[0] = &f.fe[0];
	ep[1] = &f.fe[1];
	ep[2] = &extra[0];
	ep[3] = &extra[1];
	ep[4] = &extra[2];
	ep[5] = &extra[3];
	f.rec[0].fields = ep;
	f.rec[0].n_fields = 6;
	f.rec[1].rule_id = "share.analyst.triage";
	s = render(&f.p, &opts);
	ck_assert_ptr_null(strstr(s, "subject.given_name: Jordan"));
	ck_assert_ptr_nonnull(strstr(s, "      subject.postcode: NE61 9ZZ\n"));
	ck_assert_ptr_null(strstr(s, "category: MISSING_EPISODE"));
	ck_assert_ptr_null(strstr(s, "occurred_at:"));
	/* One line per rule, however many records used it. */
	ck_assert_ptr_nonnull(
	    strstr(s, "  share.analyst.triage: CA 2004 s11\n"));
	ck_assert_ptr_null(strstr(strstr(s, "share.analyst.triage: ") + 1,
	                          "share.analyst.triage: "));
	free(s);
}
END_TEST

START_TEST(render_groups_agency_detail_and_handling_on_one_line)
{
	struct fixture f;
	Mash__V1__SharedRecord__FieldsEntry extra[4];
	Mash__V1__SharedRecord__FieldsEntry *ep[6];
	char *s;

	fixture_init(&f);
	mash__v1__shared_record__fields_entry__init(&extra[0]);
	extra[0].key = "detail.police.incident_ref";
	extra[0].value = "NB-1";
	mash__v1__shared_record__fields_entry__init(&extra[1]);
	extra[1].key = "detail.police.dash_risk";
	extra[1].value = "standard";
	mash__v1__shared_record__fields_entry__init(&extra[2]);
	extra[2].key = "handling.classification";
	extra[2].value = "OFFICIAL";
	mash__v1__shared_record__fields_entry__init(&extra[3]);
	extra[3].key = "detail.police."; /* no field name: its own line */
	extra[3].value = "odd";
	ep[0] = &f.fe[0];
	ep[1] = &f.fe[1];
	ep[2] = &extra[0];
	ep[3] = &extra[1];
	ep[4] = &extra[2];
	ep[5] = &extra[3];
	f.rec[0].fields = ep;
	f.rec[0].n_fields = 6;
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(strstr(
	    s, "      detail.police: dash_risk=standard; incident_ref=NB-1\n"));
	ck_assert_ptr_nonnull(
	    strstr(s, "      handling: classification=OFFICIAL\n"));
	ck_assert_ptr_nonnull(strstr(s, "      detail.police.: odd\n"));
	free(s);
}
END_TEST

START_TEST(render_redacted_subject_names_withheld_identity)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	f.subj.given_name = "";
	f.subj.family_name = NULL;
	f.subj.date_of_birth = "";
	f.subj.nhs_number = "";
	f.subj.postcode = "";
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(
	    strstr(s, "Child:      sex M  [withheld: name, date_of_birth, "
	              "nhs_number, postcode]\n"));
	ck_assert_ptr_null(strstr(s, "Jordan"));
	f.p.subject = NULL;
	free(s);
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(
	    strstr(s, "Child:      [withheld: name, date_of_birth, nhs_number, "
	              "postcode, sex]\n"));
	free(s);
}
END_TEST

static const struct {
	int64_t due_offset_ms;
	const char *expect;
} due_cases[] = {
    {2 * DAY_MS, "(2 working days left)"},
    {1 * DAY_MS, "(1 working day left)"},
    {0, "(due today)"},
    {-1 * DAY_MS, "(OVERDUE by 1 working day)"},
    {-23 * DAY_MS, "(OVERDUE by 23 working days)"},
};

START_TEST(render_trigger_shows_due_date_and_working_days)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	f.trig.discussion_due_by = NOW_MS + due_cases[_i].due_offset_ms;
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(strstr(s, "Open s47 triggers (1)"));
	ck_assert_ptr_nonnull(
	    strstr(s, "  s47.accumulation (updated)  trigger trig-1\n"));
	ck_assert_ptr_nonnull(strstr(
	    s, "raised 2026-10-20 00:00 UTC, strategy discussion due by "));
	ck_assert_ptr_nonnull(strstr(s, due_cases[_i].expect));
	ck_assert_ptr_nonnull(strstr(s, "contributing: police/e1, health/e4"));
	ck_assert_ptr_nonnull(
	    strstr(s, "attendees: la-social-worker, police-public-protection"));
	free(s);
}
END_TEST

START_TEST(render_without_calendar_omits_working_days)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	s = render(&f.p, NULL);
	ck_assert_ptr_nonnull(
	    strstr(s, "strategy discussion due by 2026-11-25 12:00 UTC\n"));
	ck_assert_ptr_null(strstr(s, "working day"));
	ck_assert_ptr_null(strstr(s, "Requested:"));
	free(s);
}
END_TEST

START_TEST(render_denied_shows_reason_and_nothing_else)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	f.p.denied_reason =
	    "no rule grants housing-officer purpose mash-triage";
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(
	    strstr(s, "DENIED:     no rule grants housing-officer purpose "
	              "mash-triage\n"));
	ck_assert_ptr_null(strstr(s, "Timeline"));
	ck_assert_ptr_null(strstr(s, "Jordan"));
	ck_assert_ptr_null(strstr(s, "Reported missing"));
	free(s);
}
END_TEST

START_TEST(render_break_glass_is_announced)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	f.p.break_glass = 1;
	s = render(&f.p, &opts);
	ck_assert_ptr_nonnull(strstr(s, "BREAK-GLASS"));
	free(s);
}
END_TEST

START_TEST(render_replaces_terminal_escapes_and_bad_utf8)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	f.fe[0].value = "clear\x1b[2Jscreen\x07 and\xc2\x9b"
	                "31m red\nnext";
	f.fe[1].value = "bad \xff utf8";
	s = render(&f.p, &opts);
	ck_assert_ptr_null(strchr(s, '\x1b'));
	ck_assert_ptr_null(strchr(s, '\x07'));
	ck_assert_ptr_null(strstr(s, "\xc2\x9b"));
	ck_assert_ptr_nonnull(
	    strstr(s, "summary: clear?[2Jscreen? and?31m red next\n"));
	ck_assert_ptr_nonnull(strstr(s, "consent: [invalid text]\n"));
	free(s);
}
END_TEST

START_TEST(render_cuts_overlong_text_on_a_character_boundary)
{
	struct fixture f;
	char *big, *s, *line, *end;
	size_t i, n = MASHCTL_VIEW_MAX_TEXT + 100;

	fixture_init(&f);
	big = malloc(n + 1);
	ck_assert_ptr_nonnull(big);
	/* Two-byte characters straddling the cut point. */
	big[0] = 'x';
	for (i = 1; i + 1 < n; i += 2) {
		big[i] = '\xc3';
		big[i + 1] = '\xa9';
	}
	big[i] = '\0';
	f.fe[0].value = big;
	s = render(&f.p, &opts);
	line = strstr(s, "summary: ");
	ck_assert_ptr_nonnull(line);
	end = strchr(line, '\n');
	ck_assert_ptr_nonnull(end);
	ck_assert(end - line <=
	          (long)(strlen("summary: ") + MASHCTL_VIEW_MAX_TEXT + 3));
	ck_assert(strncmp(end - 3, "...", 3) == 0);
	ck_assert_ptr_null(strstr(line, "[invalid text]"));
	free(s);
	free(big);
}
END_TEST

START_TEST(render_empty_picture_says_nothing_shared)
{
	Mash__V1__Picture p;
	char *s;

	mash__v1__picture__init(&p);
	s = render(&p, NULL);
	ck_assert_ptr_nonnull(strstr(
	    s, "Timeline (0 records)\n  (no records shared for this purpose)"));
	ck_assert_ptr_nonnull(strstr(s, "Open s47 triggers (0)\n  none"));
	ck_assert_ptr_nonnull(strstr(s, "Level:      unknown"));
	ck_assert_ptr_nonnull(strstr(s, "VCL band:   not shown"));
	free(s);
}
END_TEST

START_TEST(json_has_stable_fields_for_granted_picture)
{
	struct fixture f;
	json_t *j, *r, *t;

	fixture_init(&f);
	j = mashctl_picture_to_json(&f.p, &opts);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
	                 "granted");
	ck_assert_str_eq(json_string_value(json_object_get(j, "denied_reason")),
	                 "");
	ck_assert_str_eq(json_string_value(json_object_get(j, "case_id")),
	                 "case-1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "principal")),
	                 "analyst.amara");
	ck_assert_str_eq(json_string_value(json_object_get(j, "purpose")),
	                 "mash-triage");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "level")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(j, "vcl_band")),
	                 "VERY_HIGH");
	ck_assert(json_is_true(json_object_get(j, "rmg_register")));
	ck_assert(json_is_false(json_object_get(j, "break_glass")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "audit_seq")),
	                 42);
	ck_assert_int_eq(
	    json_array_size(json_object_get(j, "agencies_involved")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(j, "subject"), "nhs_number")),
	                 "9434765919");

	r = json_array_get(json_object_get(j, "records"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(r, "category")),
	                 "MISSING_EPISODE");
	ck_assert_str_eq(json_string_value(json_object_get(r, "occurred_date")),
	                 "2026-10-02");
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(r, "fields"), "consent")),
	                 "NOT_SOUGHT");
	r = json_array_get(json_object_get(j, "records"), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "severity")), 3);
	ck_assert_str_eq(json_string_value(
	                     json_array_get(json_object_get(r, "withheld"), 1)),
	                 "health.diagnosis");
	ck_assert_int_eq(json_object_size(json_object_get(r, "fields")), 0);

	t = json_array_get(json_object_get(j, "open_triggers"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(t, "rule_id")),
	                 "s47.accumulation");
	ck_assert_str_eq(json_string_value(json_object_get(t, "kind")),
	                 "updated");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(t, "working_days_remaining")),
	    2);
	ck_assert_int_eq(
	    json_array_size(json_object_get(t, "contributing_events")), 2);
	json_decref(j);
}
END_TEST

START_TEST(json_denied_and_unknown_working_days)
{
	struct fixture f;
	json_t *j, *t;

	fixture_init(&f);
	f.p.denied_reason = "response topic is not the requester's inbox";
	f.p.subject = NULL;
	f.p.vcl_band = NULL;
	f.fe[0].value = "bad \xff";
	j = mashctl_picture_to_json(&f.p, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
	                 "denied");
	ck_assert_str_eq(json_string_value(json_object_get(j, "denied_reason")),
	                 "response topic is not the requester's inbox");
	ck_assert_str_eq(json_string_value(json_object_get(j, "vcl_band")), "");
	ck_assert_str_eq(json_string_value(json_object_get(
	                     json_object_get(j, "subject"), "given_name")),
	                 "");
	ck_assert_str_eq(json_string_value(json_object_get(j, "principal")),
	                 "");
	t = json_array_get(json_object_get(j, "open_triggers"), 0);
	ck_assert(json_is_null(json_object_get(t, "working_days_remaining")));
	ck_assert_str_eq(
	    json_string_value(json_object_get(
	        json_object_get(
	            json_array_get(json_object_get(j, "records"), 0), "fields"),
	        "summary")),
	    "[invalid text]");
	json_decref(j);
}
END_TEST

START_TEST(render_survives_allocation_failure)
{
	struct fixture f;
	char *s;

	fixture_init(&f);
	mash_mem_fail_after(0);
	s = render(&f.p, &opts);
	mash_mem_fail_after(-1);
	ck_assert_ptr_nonnull(strstr(s, "[fields not shown: out of memory]"));
	ck_assert_ptr_nonnull(
	    strstr(s, "[withheld: summary, health.diagnosis]"));
	free(s);
}
END_TEST

START_TEST(category_and_level_names)
{
	ck_assert_str_eq(
	    mashctl_category_name(MASH__V1__CATEGORY__SEXUAL_EXPLOITATION),
	    "SEXUAL_EXPLOITATION");
	ck_assert_str_eq(mashctl_category_name(77), "UNKNOWN");
	ck_assert_str_eq(mashctl_level_name(2), "L2 early help");
	ck_assert_str_eq(mashctl_level_name(0), "unknown");
	ck_assert_str_eq(mashctl_level_name(5), "unknown");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("picture_view");
	TCase *tc = tcase_create("view");

	tcase_add_test(tc, render_shows_child_level_band_and_agencies);
	tcase_add_test(tc,
	               render_timeline_rows_have_date_agency_category_severity);
	tcase_add_test(tc, render_sorts_granted_fields_and_marks_withheld);
	tcase_add_test(tc, render_omits_fields_the_row_and_header_already_show);
	tcase_add_test(tc,
	               render_groups_agency_detail_and_handling_on_one_line);
	tcase_add_test(tc, render_redacted_subject_names_withheld_identity);
	tcase_add_loop_test(tc, render_trigger_shows_due_date_and_working_days,
	                    0, (int)(sizeof(due_cases) / sizeof(due_cases[0])));
	tcase_add_test(tc, render_without_calendar_omits_working_days);
	tcase_add_test(tc, render_denied_shows_reason_and_nothing_else);
	tcase_add_test(tc, render_break_glass_is_announced);
	tcase_add_test(tc, render_replaces_terminal_escapes_and_bad_utf8);
	tcase_add_test(tc, render_cuts_overlong_text_on_a_character_boundary);
	tcase_add_test(tc, render_empty_picture_says_nothing_shared);
	tcase_add_test(tc, json_has_stable_fields_for_granted_picture);
	tcase_add_test(tc, json_denied_and_unknown_working_days);
	tcase_add_test(tc, render_survives_allocation_failure);
	tcase_add_test(tc, category_and_level_names);
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
