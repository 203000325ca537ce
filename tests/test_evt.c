/* Unit tests for event/evt: NHS Modulus 11, calendar dates, agencies,
 * normalisers, and every AgencyEvent field rule. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "event/evt.h"
#include "mash/v1/mash.pb-c.h"

/* 2026-11-23T12:00:00Z */
#define NOW_MS 1795435200000LL
#define DAY_MS 86400000LL

static const struct {
	const char *s;
	int ok;
} nhs[] = {
    {"9434765919", 1},                      /* the demo child */
    {"9434765870", 1},                      /* check digit 11 -> 0 */
    {"4010232137", 1},   {"9434765918", 0}, /* wrong check digit */
    {"9434765911", 0},   {"0000000060", 0}, /* check digit would be 10: never
                                               valid */
    {"0000000061", 0},   {"943476591", 0},  /* 9 digits */
    {"94347659190", 0},                     /* 11 digits */
    {"943 476 5919", 0}, {"943476591X", 0}, {"", 0}, {"abcdefghij", 0},
};

START_TEST(nhs_modulus_11_table)
{
	ck_assert_msg(mash_evt_nhs_valid(nhs[_i].s) == nhs[_i].ok, "%s",
	              nhs[_i].s);
}
END_TEST

static const struct {
	const char *s;
	int ok;
} dates[] = {
    {"2011-05-14", 1},       {"2024-02-29", 1}, /* leap year */
    {"2025-02-29", 0},                          /* not a leap year */
    {"2000-02-29", 1},                          /* divisible by 400 */
    {"1900-02-29", 0},                          /* divisible by 100 */
    {"2026-04-31", 0},       {"2026-12-31", 1}, {"2026-13-01", 0},
    {"2026-00-10", 0},       {"2026-01-00", 0}, {"2026-1-01", 0},
    {"2026-01-01T00:00", 0}, {"20260101", 0},   {"1899-12-31", 0},
    {"abcd-ef-gh", 0},       {"", 0},
};

START_TEST(date_parse_table)
{
	struct mash_date d;
	int rc = mash_evt_date_parse(dates[_i].s, &d);

	ck_assert_msg((rc == MASH_OK) == dates[_i].ok, "%s", dates[_i].s);
	if (!dates[_i].ok) {
		ck_assert_int_eq(rc, MASH_ERR_BAD_DATE);
		ck_assert_int_eq(d.year, 0);
	}
}
END_TEST

START_TEST(date_days_matches_unix_epoch)
{
	struct mash_date d;

	ck_assert_int_eq(mash_evt_date_parse("1970-01-01", &d), MASH_OK);
	ck_assert_int_eq(mash_evt_date_days(&d), 0);
	ck_assert_int_eq(mash_evt_date_parse("2026-11-23", &d), MASH_OK);
	ck_assert_int_eq(mash_evt_date_days(&d), NOW_MS / DAY_MS);
	ck_assert_int_eq(mash_evt_date_parse("1969-12-31", &d), MASH_OK);
	ck_assert_int_eq(mash_evt_date_days(&d), -1);
}
END_TEST

START_TEST(agency_names_are_exactly_the_six)
{
	ck_assert_int_eq(mash_evt_agency_valid("police"), 1);
	ck_assert_int_eq(mash_evt_agency_valid("health"), 1);
	ck_assert_int_eq(mash_evt_agency_valid("education"), 1);
	ck_assert_int_eq(mash_evt_agency_valid("yot"), 1);
	ck_assert_int_eq(mash_evt_agency_valid("housing"), 1);
	ck_assert_int_eq(mash_evt_agency_valid("social-care"), 1);
	ck_assert_int_eq(mash_evt_agency_valid("Police"), 0);
	ck_assert_int_eq(mash_evt_agency_valid("social_care"), 0);
	ck_assert_int_eq(mash_evt_agency_valid("mashd"), 0);
	ck_assert_int_eq(mash_evt_agency_valid(""), 0);
	ck_assert_int_eq(mash_evt_agency_valid(NULL), 0);
}
END_TEST

START_TEST(normalisers_fold_case_and_drop_punctuation)
{
	char out[MASH_EVT_NORM_MAX], small[4];

	ck_assert_int_eq(
	    mash_evt_norm_family("O'Brien-Smith", out, sizeof(out)), MASH_OK);
	ck_assert_str_eq(out, "obriensmith");
	ck_assert_int_eq(mash_evt_norm_family("Reed ", out, sizeof(out)),
	                 MASH_OK);
	ck_assert_str_eq(out, "reed");
	ck_assert_int_eq(mash_evt_norm_postcode("ne61 1aa", out, sizeof(out)),
	                 MASH_OK);
	ck_assert_str_eq(out, "NE611AA");
	ck_assert_int_eq(
	    mash_evt_norm_postcode(" NE61  1AA\t", out, sizeof(out)), MASH_OK);
	ck_assert_str_eq(out, "NE611AA");
	ck_assert_int_eq(
	    mash_evt_norm_postcode("NE61 1AA", small, sizeof(small)),
	    MASH_ERR_FIELD_TOO_LONG);
	ck_assert_str_eq(small, "NE6");
	ck_assert_int_eq(mash_evt_norm_family(NULL, out, sizeof(out)),
	                 MASH_ERR_INVAL);
}
END_TEST

/* --- a good event and mutations of it ----------------------------------- */

struct fixture {
	Mash__V1__AgencyEvent ev;
	Mash__V1__Subject subj;
	Mash__V1__Handling hand;
	Mash__V1__VclScore vcl;
	Mash__V1__VclScore *vclp[1];
	Mash__V1__RelatedPerson rel;
	Mash__V1__RelatedPerson *relp[1];
	Mash__V1__PoliceDetail police;
	Mash__V1__Subject__LocalIdsEntry lid;
	Mash__V1__Subject__LocalIdsEntry *lidp[1];
	char big[MASH_MAX_SUMMARY + 2];
	char *many[MASH_MAX_REPEATED + 1];
};

static struct fixture *
good(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	Mash__V1__AgencyEvent e = MASH__V1__AGENCY_EVENT__INIT;
	Mash__V1__Subject s = MASH__V1__SUBJECT__INIT;
	Mash__V1__Handling h = MASH__V1__HANDLING__INIT;
	Mash__V1__VclScore v = MASH__V1__VCL_SCORE__INIT;
	Mash__V1__RelatedPerson r = MASH__V1__RELATED_PERSON__INIT;
	Mash__V1__PoliceDetail p = MASH__V1__POLICE_DETAIL__INIT;
	Mash__V1__Subject__LocalIdsEntry l =
	    MASH__V1__SUBJECT__LOCAL_IDS_ENTRY__INIT;

	f->ev = e;
	f->subj = s;
	f->hand = h;
	f->vcl = v;
	f->rel = r;
	f->police = p;
	f->lid = l;
	f->ev.event_id = "6f1c2a7e-0000-4000-8000-000000000001";
	f->ev.agency = "police";
	f->ev.occurred_at = NOW_MS - 30 * DAY_MS;
	f->ev.recorded_at = NOW_MS - 29 * DAY_MS;
	f->ev.subject = &f->subj;
	f->ev.category = MASH__V1__CATEGORY__MISSING_EPISODE;
	f->ev.severity = 2;
	f->ev.summary = "Missing overnight, found at an address of concern.";
	f->ev.consent = MASH__V1__CONSENT__NOT_SOUGHT;
	f->ev.handling = &f->hand;
	f->ev.reporter = "PC 1234";
	f->ev.agency_ref = "NP-2026-0001";
	f->subj.nhs_number = "9434765919";
	f->subj.given_name = "Jordan";
	f->subj.family_name = "Reed";
	f->subj.date_of_birth = "2011-05-14";
	f->subj.postcode = "NE61 1AA";
	f->subj.sex = "M";
	f->lid.key = "police";
	f->lid.value = "NP-P-77";
	f->lidp[0] = &f->lid;
	f->subj.n_local_ids = 1;
	f->subj.local_ids = f->lidp;
	f->hand.classification = "OFFICIAL";
	f->vcl.factor = "risk_of_sexual_exploitation";
	f->vcl.score = 3;
	f->vclp[0] = &f->vcl;
	f->ev.n_vcl = 1;
	f->ev.vcl = f->vclp;
	f->rel.role = "mother";
	f->rel.family_name = "Reed";
	f->rel.date_of_birth = "1985-03-02";
	f->relp[0] = &f->rel;
	f->ev.n_related = 1;
	f->ev.related = f->relp;
	f->police.incident_ref = "INC-1";
	f->police.dash_risk = "medium";
	f->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	f->ev.police = &f->police;
	for (int i = 0; i <= (int)MASH_MAX_REPEATED; i++)
		f->many[i] = "x";
	return f;
}

START_TEST(good_event_validates)
{
	struct fixture *f = good();
	char why[MASH_EVT_WHY_LEN];

	ck_assert_int_eq(
	    mash_evt_validate(&f->ev, "police", NOW_MS, why, sizeof(why)),
	    MASH_OK);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(mash_evt_validate(&f->ev, NULL, NOW_MS, NULL, 0),
	                 MASH_OK);
	free(f);
}
END_TEST

/* One mutation per rule: what to break, the code, the field named. */
static void
m_agency_unknown(struct fixture *f)
{
	f->ev.agency = "mi5";
}
static void
m_agency_topic(struct fixture *f)
{
	f->ev.agency = "health";
	f->ev.detail_case = 0;
}
static void
m_no_event_id(struct fixture *f)
{
	f->ev.event_id = "";
}
static void
m_event_id_chars(struct fixture *f)
{
	f->ev.event_id = "abc/def";
}
static void
m_event_id_long(struct fixture *f)
{
	memset(f->big, 'a', 65);
	f->big[65] = 0;
	f->ev.event_id = f->big;
}
static void
m_occurred_zero(struct fixture *f)
{
	f->ev.occurred_at = 0;
}
static void
m_occurred_neg(struct fixture *f)
{
	f->ev.occurred_at = -5;
}
static void
m_occurred_future(struct fixture *f)
{
	f->ev.occurred_at = NOW_MS + DAY_MS + 1;
}
static void
m_recorded_zero(struct fixture *f)
{
	f->ev.recorded_at = 0;
}
static void
m_category_unspec(struct fixture *f)
{
	f->ev.category = 0;
}
static void
m_category_unknown(struct fixture *f)
{
	f->ev.category = (Mash__V1__Category)20;
}
static void
m_category_sc_only(struct fixture *f)
{
	f->ev.category = MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD;
}
static void
m_category_s47(struct fixture *f)
{
	f->ev.category = MASH__V1__CATEGORY__S47_OUTCOME;
}
static void
m_category_referral(struct fixture *f)
{
	f->ev.category = MASH__V1__CATEGORY__REFERRAL_DECISION;
}
static void
m_severity_5(struct fixture *f)
{
	f->ev.severity = 5;
}
static void
m_consent_unknown(struct fixture *f)
{
	f->ev.consent = (Mash__V1__Consent)7;
}
static void
m_classification(struct fixture *f)
{
	f->hand.classification = "SECRET";
}
static void
m_classification_case(struct fixture *f)
{
	f->hand.classification = "official";
}
static void
m_restrict_unknown(struct fixture *f)
{
	f->hand.n_restrict_to_agencies = 1;
	f->hand.restrict_to_agencies = f->many;
}
static void
m_restrict_many(struct fixture *f)
{
	f->hand.n_restrict_to_agencies = MASH_MAX_REPEATED + 1;
	f->hand.restrict_to_agencies = f->many;
}
static void
m_no_subject(struct fixture *f)
{
	f->ev.subject = NULL;
}
static void
m_nhs_check(struct fixture *f)
{
	f->subj.nhs_number = "9434765918";
}
static void
m_nhs_short(struct fixture *f)
{
	f->subj.nhs_number = "943476591";
}
static void
m_nhs_spaces(struct fixture *f)
{
	f->subj.nhs_number = "943 476 5919";
}
static void
m_dob_feb29(struct fixture *f)
{
	f->subj.date_of_birth = "2025-02-29";
}
static void
m_dob_future(struct fixture *f)
{
	f->subj.date_of_birth = "2026-11-24";
}
static void
m_no_identity(struct fixture *f)
{
	f->subj.nhs_number = "";
	f->subj.postcode = "";
}
static void
m_no_identity_dob(struct fixture *f)
{
	f->subj.nhs_number = "";
	f->subj.date_of_birth = "";
}
static void
m_no_identity_fam(struct fixture *f)
{
	f->subj.nhs_number = "";
	f->subj.family_name = "--";
}
static void
m_summary_long(struct fixture *f)
{
	memset(f->big, 'a', MASH_MAX_SUMMARY + 1);
	f->big[MASH_MAX_SUMMARY + 1] = 0;
	f->ev.summary = f->big;
}
static void
m_summary_utf8(struct fixture *f)
{
	f->ev.summary = "bad \xc3\x28 byte";
}
static void
m_given_long(struct fixture *f)
{
	memset(f->big, 'a', MASH_MAX_SHORT + 1);
	f->big[MASH_MAX_SHORT + 1] = 0;
	f->subj.given_name = f->big;
}
static void
m_reporter_utf8(struct fixture *f)
{
	f->ev.reporter = "\xff";
}
static void
m_vcl_score(struct fixture *f)
{
	f->vcl.score = 5;
}
static void
m_vcl_factor(struct fixture *f)
{
	f->vcl.factor = "";
}
static void
m_vcl_many(struct fixture *f)
{
	f->ev.n_vcl = MASH_MAX_REPEATED + 1;
}
static void
m_related_dob(struct fixture *f)
{
	f->rel.date_of_birth = "1985-02-30";
}
static void
m_related_many(struct fixture *f)
{
	f->ev.n_related = MASH_MAX_REPEATED + 1;
}
static void
m_local_ids_many(struct fixture *f)
{
	f->subj.n_local_ids = MASH_MAX_REPEATED + 1;
}
static void
m_dash(struct fixture *f)
{
	f->police.dash_risk = "extreme";
}
static void
m_offences_many(struct fixture *f)
{
	f->police.n_offences = MASH_MAX_REPEATED + 1;
	f->police.offences = f->many;
}
static void
m_intel_long(struct fixture *f)
{
	memset(f->big, 'a', MASH_MAX_TEXT + 1);
	f->big[MASH_MAX_TEXT + 1] = 0;
	f->police.intelligence = f->big;
}
static void
m_detail_other(struct fixture *f)
{
	f->ev.agency = "health";
}

static const struct {
	const char *name;
	void (*mutate)(struct fixture *);
	int rc;
	const char *field;
} rules[] = {
    {"agency unknown", m_agency_unknown, MASH_ERR_UNKNOWN_AGENCY, "agency"},
    {"agency not topic", m_agency_topic, MASH_ERR_AGENCY_MISMATCH, "topic"},
    {"no event_id", m_no_event_id, MASH_ERR_MISSING_FIELD, "event_id"},
    {"event_id chars", m_event_id_chars, MASH_ERR_BAD_ID, "event_id"},
    {"event_id 65", m_event_id_long, MASH_ERR_BAD_ID, "event_id"},
    {"occurred 0", m_occurred_zero, MASH_ERR_BAD_TIME, "occurred_at"},
    {"occurred <0", m_occurred_neg, MASH_ERR_BAD_TIME, "occurred_at"},
    {"occurred future", m_occurred_future, MASH_ERR_BAD_TIME, "future"},
    {"recorded 0", m_recorded_zero, MASH_ERR_BAD_TIME, "recorded_at"},
    {"category 0", m_category_unspec, MASH_ERR_BAD_ENUM, "category"},
    {"category 20", m_category_unknown, MASH_ERR_BAD_ENUM, "category"},
    {"category 30 police", m_category_sc_only, MASH_ERR_AGENCY_MISMATCH,
     "social-care"},
    {"category 31 police", m_category_s47, MASH_ERR_AGENCY_MISMATCH,
     "S47_OUTCOME"},
    {"category 32 police", m_category_referral, MASH_ERR_AGENCY_MISMATCH,
     "REFERRAL_DECISION"},
    {"severity 5", m_severity_5, MASH_ERR_BAD_SEVERITY, "severity"},
    {"consent 7", m_consent_unknown, MASH_ERR_BAD_ENUM, "consent"},
    {"classification", m_classification, MASH_ERR_BAD_ENUM,
     "handling.classification"},
    {"classification case", m_classification_case, MASH_ERR_BAD_ENUM,
     "handling.classification"},
    {"restrict unknown", m_restrict_unknown, MASH_ERR_UNKNOWN_AGENCY,
     "restrict_to_agencies[0]"},
    {"restrict 65", m_restrict_many, MASH_ERR_FIELD_TOO_LONG,
     "restrict_to_agencies"},
    {"no subject", m_no_subject, MASH_ERR_MISSING_FIELD, "subject"},
    {"nhs check digit", m_nhs_check, MASH_ERR_BAD_NHS,
     "subject.nhs_number: check digit mismatch"},
    {"nhs 9 digits", m_nhs_short, MASH_ERR_BAD_NHS, "not 10 digits"},
    {"nhs spaces", m_nhs_spaces, MASH_ERR_BAD_NHS, "not 10 digits"},
    {"dob 2025-02-29", m_dob_feb29, MASH_ERR_BAD_DATE, "subject.date_of_birth"},
    {"dob tomorrow", m_dob_future, MASH_ERR_BAD_DATE, "future"},
    {"no nhs, no postcode", m_no_identity, MASH_ERR_NO_IDENTITY, "subject"},
    {"no nhs, no dob", m_no_identity_dob, MASH_ERR_NO_IDENTITY, "subject"},
    {"no nhs, family punctuation", m_no_identity_fam, MASH_ERR_NO_IDENTITY,
     "family_name"},
    {"summary 8193", m_summary_long, MASH_ERR_FIELD_TOO_LONG, "summary"},
    {"summary utf8", m_summary_utf8, MASH_ERR_BAD_UTF8, "summary"},
    {"given_name 257", m_given_long, MASH_ERR_FIELD_TOO_LONG,
     "subject.given_name"},
    {"reporter utf8", m_reporter_utf8, MASH_ERR_BAD_UTF8, "reporter"},
    {"vcl score 5", m_vcl_score, MASH_ERR_BAD_SEVERITY, "vcl[0].score"},
    {"vcl factor empty", m_vcl_factor, MASH_ERR_MISSING_FIELD, "vcl[0].factor"},
    {"vcl 65", m_vcl_many, MASH_ERR_FIELD_TOO_LONG, "vcl"},
    {"related dob", m_related_dob, MASH_ERR_BAD_DATE,
     "related[0].date_of_birth"},
    {"related 65", m_related_many, MASH_ERR_FIELD_TOO_LONG, "related"},
    {"local_ids 65", m_local_ids_many, MASH_ERR_FIELD_TOO_LONG,
     "subject.local_ids"},
    {"dash risk", m_dash, MASH_ERR_BAD_ENUM, "police.dash_risk"},
    {"offences 65", m_offences_many, MASH_ERR_FIELD_TOO_LONG,
     "police.offences"},
    {"intelligence 4097", m_intel_long, MASH_ERR_FIELD_TOO_LONG,
     "police.intelligence"},
    {"police detail from health", m_detail_other, MASH_ERR_AGENCY_MISMATCH,
     "detail"},
};

START_TEST(each_rule_rejects_with_code_and_field)
{
	struct fixture *f = good();
	char why[MASH_EVT_WHY_LEN];
	const char *topic =
	    rules[_i].mutate == m_detail_other ? "health" : "police";

	rules[_i].mutate(f);
	ck_assert_int_eq(
	    mash_evt_validate(&f->ev, topic, NOW_MS, why, sizeof(why)),
	    rules[_i].rc);
	ck_assert_msg(strstr(why, rules[_i].field) != NULL,
	              "%s: reason \"%s\" does not name \"%s\"", rules[_i].name,
	              why, rules[_i].field);
	/* Reasons never carry the sensitive values. */
	ck_assert_ptr_null(strstr(why, "9434765919"));
	ck_assert_ptr_null(strstr(why, "Jordan"));
	ck_assert_ptr_null(strstr(why, "2011-05-14"));
	free(f);
}
END_TEST

/* Boundary values that must pass. */
static void
b_sev_0(struct fixture *f)
{
	f->ev.severity = 0;
}
static void
b_sev_4(struct fixture *f)
{
	f->ev.severity = 4;
}
static void
b_vcl_4(struct fixture *f)
{
	f->vcl.score = 4;
}
static void
b_future_day(struct fixture *f)
{
	f->ev.occurred_at = NOW_MS + DAY_MS;
}
static void
b_dob_today(struct fixture *f)
{
	f->subj.date_of_birth = "2026-11-23";
}
static void
b_dob_leap(struct fixture *f)
{
	f->subj.date_of_birth = "2024-02-29";
}
static void
b_summary_max(struct fixture *f)
{
	memset(f->big, 'a', MASH_MAX_SUMMARY);
	f->big[MASH_MAX_SUMMARY] = 0;
	f->ev.summary = f->big;
}
static void
b_event_id_64(struct fixture *f)
{
	memset(f->big, 'A', 64);
	f->big[64] = 0;
	f->ev.event_id = f->big;
}
static void
b_restrict_max(struct fixture *f)
{
	for (int i = 0; i < (int)MASH_MAX_REPEATED; i++)
		f->many[i] = "health";
	f->hand.n_restrict_to_agencies = MASH_MAX_REPEATED;
	f->hand.restrict_to_agencies = f->many;
}
static void
b_demographics_only(struct fixture *f)
{
	f->subj.nhs_number = "";
}
static void
b_no_handling(struct fixture *f)
{
	f->ev.handling = NULL;
}
static void
b_sensitive(struct fixture *f)
{
	f->hand.classification = "OFFICIAL-SENSITIVE";
}
static void
b_no_classification(struct fixture *f)
{
	f->hand.classification = "";
}
static void
b_consent_unspec(struct fixture *f)
{
	f->ev.consent = 0;
}
static void
b_no_detail(struct fixture *f)
{
	f->ev.detail_case = 0;
	f->ev.police = NULL;
}
static void
b_other(struct fixture *f)
{
	f->ev.category = MASH__V1__CATEGORY__OTHER;
}
static void
b_utf8_name(struct fixture *f)
{
	f->subj.given_name = "Zo\xc3\xab";
}

static const struct {
	const char *name;
	void (*mutate)(struct fixture *);
} boundaries[] = {
    {"severity 0", b_sev_0},
    {"severity 4", b_sev_4},
    {"vcl score 4", b_vcl_4},
    {"occurred exactly a day ahead", b_future_day},
    {"dob today", b_dob_today},
    {"dob 2024-02-29", b_dob_leap},
    {"summary exactly max", b_summary_max},
    {"event_id 64", b_event_id_64},
    {"restrict exactly max", b_restrict_max},
    {"demographics without nhs", b_demographics_only},
    {"no handling", b_no_handling},
    {"OFFICIAL-SENSITIVE", b_sensitive},
    {"no classification", b_no_classification},
    {"consent unspecified", b_consent_unspec},
    {"no detail", b_no_detail},
    {"category OTHER", b_other},
    {"utf8 name", b_utf8_name},
};

START_TEST(boundary_values_are_accepted)
{
	struct fixture *f = good();
	char why[MASH_EVT_WHY_LEN];

	boundaries[_i].mutate(f);
	ck_assert_msg(mash_evt_validate(&f->ev, "police", NOW_MS, why,
	                                sizeof(why)) == MASH_OK,
	              "%s: %s", boundaries[_i].name, why);
	free(f);
}
END_TEST

START_TEST(social_care_may_publish_statutory_categories)
{
	struct fixture *f = good();
	Mash__V1__SocialCareDetail sc = MASH__V1__SOCIAL_CARE_DETAIL__INIT;

	f->ev.agency = "social-care";
	f->ev.category = MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD;
	sc.trigger_id = "t-1";
	sc.held_at = NOW_MS - DAY_MS;
	f->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE;
	f->ev.social_care = &sc;
	ck_assert_int_eq(
	    mash_evt_validate(&f->ev, "social-care", NOW_MS, NULL, 0), MASH_OK);
	sc.held_at = -1;
	ck_assert_int_eq(
	    mash_evt_validate(&f->ev, "social-care", NOW_MS, NULL, 0),
	    MASH_ERR_BAD_TIME);
	free(f);
}
END_TEST

START_TEST(education_detail_rules)
{
	struct fixture *f = good();
	Mash__V1__EducationDetail ed = MASH__V1__EDUCATION_DETAIL__INIT;
	char why[MASH_EVT_WHY_LEN];

	f->ev.agency = "education";
	f->ev.category = MASH__V1__CATEGORY__SCHOOL_ATTENDANCE;
	f->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION;
	f->ev.education = &ed;
	ed.attendance_pct = 100;
	ck_assert_int_eq(
	    mash_evt_validate(&f->ev, "education", NOW_MS, NULL, 0), MASH_OK);
	ed.attendance_pct = 101;
	ck_assert_int_eq(
	    mash_evt_validate(&f->ev, "education", NOW_MS, why, sizeof(why)),
	    MASH_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(why, "education.attendance_pct"));
	ed.attendance_pct = 71;
	ed.exclusion_type = "expelled";
	ck_assert_int_eq(
	    mash_evt_validate(&f->ev, "education", NOW_MS, why, sizeof(why)),
	    MASH_ERR_BAD_ENUM);
	ck_assert_ptr_nonnull(strstr(why, "education.exclusion_type"));
	free(f);
}
END_TEST

START_TEST(yot_court_date_may_be_future_but_must_be_real)
{
	struct fixture *f = good();
	Mash__V1__YotDetail y = MASH__V1__YOT_DETAIL__INIT;

	f->ev.agency = "yot";
	f->ev.category = MASH__V1__CATEGORY__OFFENDING;
	f->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_YOT;
	f->ev.yot = &y;
	y.next_court_date = "2027-01-15";
	ck_assert_int_eq(mash_evt_validate(&f->ev, "yot", NOW_MS, NULL, 0),
	                 MASH_OK);
	y.next_court_date = "2027-02-29";
	ck_assert_int_eq(mash_evt_validate(&f->ev, "yot", NOW_MS, NULL, 0),
	                 MASH_ERR_BAD_DATE);
	free(f);
}
END_TEST

START_TEST(decode_round_trips_a_packed_event)
{
	struct fixture *f = good();
	Mash__V1__AgencyEvent *ev = NULL;
	size_t n = mash__v1__agency_event__get_packed_size(&f->ev);
	uint8_t *buf = malloc(n);

	mash__v1__agency_event__pack(&f->ev, buf);
	ck_assert_int_eq(mash_evt_decode(buf, n, &ev, NULL, 0), MASH_OK);
	ck_assert_str_eq(ev->subject->nhs_number, "9434765919");
	ck_assert_int_eq(mash_evt_validate(ev, "police", NOW_MS, NULL, 0),
	                 MASH_OK);
	mash_evt_free(ev);
	free(buf);
	free(f);
}
END_TEST

START_TEST(decode_rejects_nul_inside_a_nested_string)
{
	struct fixture *f = good();
	Mash__V1__AgencyEvent *ev = (Mash__V1__AgencyEvent *)1;
	char why[MASH_EVT_WHY_LEN];
	size_t n, i;
	uint8_t *buf;

	f->subj.family_name = "ReeX"; /* becomes "Ree\0" on the wire */
	n = mash__v1__agency_event__get_packed_size(&f->ev);
	buf = malloc(n);
	mash__v1__agency_event__pack(&f->ev, buf);
	for (i = 0; i + 4 <= n; i++)
		if (memcmp(buf + i, "ReeX", 4) == 0)
			buf[i + 3] = 0;
	ck_assert_int_eq(mash_evt_decode(buf, n, &ev, why, sizeof(why)),
	                 MASH_ERR_BAD_UTF8);
	ck_assert_ptr_null(ev);
	free(buf);
	free(f);
}
END_TEST

START_TEST(decode_rejects_garbage_and_oversize)
{
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x0f};
	Mash__V1__AgencyEvent *ev = NULL;

	ck_assert_int_eq(mash_evt_decode(junk, sizeof(junk), &ev, NULL, 0),
	                 MASH_ERR_DECODE);
	ck_assert_int_eq(
	    mash_evt_decode(junk, MASH_MAX_PAYLOAD + 1, &ev, NULL, 0),
	    MASH_ERR_TOO_BIG);
	ck_assert_ptr_null(ev);
}
END_TEST

START_TEST(wire_strings_checked_in_map_entries)
{
	Mash__V1__SharedRecord r = MASH__V1__SHARED_RECORD__INIT;
	Mash__V1__SharedRecord__FieldsEntry e =
	    MASH__V1__SHARED_RECORD__FIELDS_ENTRY__INIT;
	Mash__V1__SharedRecord__FieldsEntry *ep[1] = {&e};
	uint8_t buf[256];
	size_t n, i;

	e.key = "summary";
	e.value = "caf\xc3\xa9";
	r.n_fields = 1;
	r.fields = ep;
	n = mash__v1__shared_record__pack(&r, buf);
	ck_assert_int_eq(mash_evt_wire_strings_valid(
	                     &mash__v1__shared_record__descriptor, buf, n),
	                 1);
	for (i = 0; i < n; i++)
		if (buf[i] == 0xc3)
			buf[i] = 0xc0; /* invalid lead byte */
	ck_assert_int_eq(mash_evt_wire_strings_valid(
	                     &mash__v1__shared_record__descriptor, buf, n),
	                 0);
}
END_TEST

/* The fuzzer's seed corpus (fuzz/make_corpus.py, written by Python's
 * protobuf) holds one valid event per agency: all must validate. */
static const char *const seed_agencies[] = {
    "police", "health", "education", "yot", "housing", "social-care",
};

START_TEST(python_built_seed_events_validate)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	Mash__V1__AgencyEvent *ev = NULL;
	char path[1024], why[MASH_EVT_WHY_LEN];
	uint8_t buf[4096];
	size_t n;
	FILE *f;

	ck_assert_ptr_nonnull(src);
	snprintf(path, sizeof(path), "%s/fuzz/corpus/evt_validate/%s", src,
	         seed_agencies[_i]);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_uint_gt(n, 1);
	ck_assert_int_eq(buf[0], _i);
	ck_assert_int_eq(mash_evt_decode(buf + 1, n - 1, &ev, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_msg(mash_evt_validate(ev, seed_agencies[_i], NOW_MS, why,
	                                sizeof(why)) == MASH_OK,
	              "%s: %s", seed_agencies[_i], why);
	mash_evt_free(ev);
}
END_TEST

static Suite *
evt_suite(void)
{
	Suite *s = suite_create("evt");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, nhs_modulus_11_table, 0,
	                    sizeof(nhs) / sizeof(nhs[0]));
	tcase_add_loop_test(tc, date_parse_table, 0,
	                    sizeof(dates) / sizeof(dates[0]));
	tcase_add_test(tc, date_days_matches_unix_epoch);
	tcase_add_test(tc, agency_names_are_exactly_the_six);
	tcase_add_test(tc, normalisers_fold_case_and_drop_punctuation);
	tcase_add_test(tc, good_event_validates);
	tcase_add_loop_test(tc, each_rule_rejects_with_code_and_field, 0,
	                    sizeof(rules) / sizeof(rules[0]));
	tcase_add_loop_test(tc, boundary_values_are_accepted, 0,
	                    sizeof(boundaries) / sizeof(boundaries[0]));
	tcase_add_test(tc, social_care_may_publish_statutory_categories);
	tcase_add_test(tc, education_detail_rules);
	tcase_add_test(tc, yot_court_date_may_be_future_but_must_be_real);
	tcase_add_test(tc, decode_round_trips_a_packed_event);
	tcase_add_test(tc, decode_rejects_nul_inside_a_nested_string);
	tcase_add_test(tc, decode_rejects_garbage_and_oversize);
	tcase_add_test(tc, wire_strings_checked_in_map_entries);
	tcase_add_loop_test(tc, python_built_seed_events_validate, 0,
	                    sizeof(seed_agencies) / sizeof(seed_agencies[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(evt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
