/* Unit tests for agents/map*: each agency's feed columns into the
 * AgencyEvent and its typed detail; every bad-record reason with its line
 * and column; JSON values of the wrong type; stable event ids. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/feed.h"
#include "agents/map.h"
#include "common/err.h"
#include "common/mem.h"

/* 2027-01-01T00:00:00Z: "now" for the future-date checks. */
#define NOW_MS 1798761600000LL
/* 2026-10-02T00:00:00Z */
#define OCT2_MS 1790899200000LL

struct mapped {
	Mash__V1__AgencyEvent *ev;
	struct mash_feed_err err;
	int rc;
};

/* Map the first record of a CSV or JSON-lines text (the header, if any,
 * included in text). */
static void
map_text(const char *agency, const char *text, enum mash_feed_format fmt,
         struct mapped *m)
{
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *rec = NULL;
	struct mash_feed_err ferr;

	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(mash_feed_open_mem(text, strlen(text), fmt, "t", &f),
	                 MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &rec, &ferr), MASH_OK);
	m->rc = mash_agent_map(agency, rec, NOW_MS, &m->ev, &m->err);
	mash_feed_free(f);
}

static void
mapped_free(struct mapped *m)
{
	mash_agent_event_free(m->ev);
	m->ev = NULL;
}

/* Police: the demo story's missing episode (SHARED-DEFS event 1). */
static const char police_csv[] =
    "occurrence_ref,notification_type,category,occurred_at,nhs_number,"
    "given_name,family_name,date_of_birth,postcode,sex,person_urn,severity,"
    "consent,classification,do_not_disclose_to_family,summary,reporter,"
    "dash_risk,children_present,offences,officer_in_case,vcl,related\n"
    "NB-26-1002-0457,missing-person-report,MISSING_EPISODE,"
    "2026-10-02T22:15:00Z,943 476 5919,Jordan,Reed,2011-05-14,ne61 1aa,"
    "male,PER-0091,2,NOT_SOUGHT,OFFICIAL,false,\"Reported missing, found "
    "next morning\",PC 1432 Hall,standard,no,,PC 1432 Hall,"
    "absconding=2:missing overnight,mother:Kelly:Reed:1988-03-02\n";

START_TEST(police_record_maps_to_police_detail)
{
	struct mapped m;
	const Mash__V1__AgencyEvent *ev;

	map_text("police", police_csv, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ev = m.ev;
	ck_assert_str_eq(ev->agency, "police");
	ck_assert_str_eq(ev->agency_ref, "NB-26-1002-0457");
	ck_assert_str_eq(ev->event_id, "18cad656-2dd0-5c02-8756-ee8c41f6de13");
	ck_assert_int_eq(ev->category, MASH__V1__CATEGORY__MISSING_EPISODE);
	ck_assert_int_eq(ev->occurred_at, OCT2_MS + (22 * 60 + 15) * 60000LL);
	ck_assert_int_eq(ev->recorded_at, ev->occurred_at);
	ck_assert_uint_eq(ev->severity, 2);
	ck_assert_int_eq(ev->consent, MASH__V1__CONSENT__NOT_SOUGHT);
	ck_assert_str_eq(ev->subject->nhs_number, "9434765919");
	ck_assert_str_eq(ev->subject->postcode, "NE61 1AA");
	ck_assert_str_eq(ev->subject->sex, "M");
	ck_assert_str_eq(ev->subject->date_of_birth, "2011-05-14");
	ck_assert_uint_eq(ev->subject->n_local_ids, 1);
	ck_assert_str_eq(ev->subject->local_ids[0]->key, "police");
	ck_assert_str_eq(ev->subject->local_ids[0]->value, "PER-0091");
	ck_assert_str_eq(ev->handling->classification, "OFFICIAL");
	ck_assert_int_eq(ev->handling->do_not_disclose_to_family, 0);
	ck_assert_str_eq(ev->summary, "Reported missing, found next morning");
	ck_assert_uint_eq(ev->n_vcl, 1);
	ck_assert_str_eq(ev->vcl[0]->factor, "absconding");
	ck_assert_uint_eq(ev->vcl[0]->score, 2);
	ck_assert_str_eq(ev->vcl[0]->evidence, "missing overnight");
	ck_assert_uint_eq(ev->n_related, 1);
	ck_assert_str_eq(ev->related[0]->role, "mother");
	ck_assert_str_eq(ev->related[0]->date_of_birth, "1988-03-02");
	ck_assert_int_eq(ev->detail_case,
	                 MASH__V1__AGENCY_EVENT__DETAIL_POLICE);
	ck_assert_str_eq(ev->police->incident_ref, "NB-26-1002-0457");
	ck_assert_str_eq(ev->police->incident_type, "missing-person-report");
	ck_assert_str_eq(ev->police->dash_risk, "standard");
	ck_assert_int_eq(ev->police->children_present, 0);
	ck_assert_uint_eq(ev->police->n_offences, 0);
	mapped_free(&m);
}
END_TEST

START_TEST(health_ed_attendance_maps_to_health_detail)
{
	static const char csv[] =
	    "attendance_ref,hospital_number,arrival,category,occurred_at,"
	    "nhs_number,severity,consent,setting,presenting_complaint,"
	    "diagnosis,clinical_notes,explanation_consistent,attendances_12m,"
	    "named_professional\n"
	    "ED-2026-88121,RTF123456,x,SELF_HARM,20/10/2026 01:40,9434765919,"
	    "3,REFUSED,ed,Laceration to forearm,Self-inflicted laceration,"
	    "\"Sutured; CAMHS referral\",N,3,Named nurse Patel\n";
	struct mapped m;

	map_text("health", csv, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_int_eq(m.ev->category, MASH__V1__CATEGORY__SELF_HARM);
	ck_assert_int_eq(m.ev->consent, MASH__V1__CONSENT__REFUSED);
	ck_assert_int_eq(m.ev->occurred_at,
	                 OCT2_MS + 18 * 86400000LL + 100 * 60000LL);
	ck_assert_int_eq(m.ev->detail_case,
	                 MASH__V1__AGENCY_EVENT__DETAIL_HEALTH);
	ck_assert_str_eq(m.ev->health->setting, "ED");
	ck_assert_str_eq(m.ev->health->diagnosis, "Self-inflicted laceration");
	ck_assert_str_eq(m.ev->health->clinical_notes,
	                 "Sutured; CAMHS referral");
	ck_assert_int_eq(m.ev->health->explanation_consistent, 0);
	ck_assert_uint_eq(m.ev->health->attendances_12m, 3);
	ck_assert_str_eq(m.ev->subject->local_ids[0]->key, "health");
	mapped_free(&m);
}
END_TEST

START_TEST(education_extract_maps_to_education_detail)
{
	static const char csv[] =
	    "record_ref,upn,category,occurred_at,nhs_number,severity,consent,"
	    "school_urn,school_name,attendance_pct,exclusion_type,"
	    "exclusion_days,year_group,dsl_name\n"
	    "ATT-2026-T1-0412,A123456789012,SCHOOL_ATTENDANCE,2026-10-09,"
	    "9434765919,1,GIVEN,122334,Morpeth High,71,,,Year 11,Ms Okafor\n";
	struct mapped m;

	map_text("education", csv, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_int_eq(m.ev->detail_case,
	                 MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION);
	ck_assert_uint_eq(m.ev->education->attendance_pct, 71);
	ck_assert_str_eq(m.ev->education->school_urn, "122334");
	ck_assert_str_eq(m.ev->education->exclusion_type, "");
	ck_assert_str_eq(m.ev->education->year_group, "Year 11");
	ck_assert_str_eq(m.ev->subject->local_ids[0]->value, "A123456789012");
	ck_assert_int_eq(m.ev->occurred_at, OCT2_MS + 7 * 86400000LL);
	mapped_free(&m);
}
END_TEST

START_TEST(yot_case_maps_to_yot_detail)
{
	static const char csv[] =
	    "yot_case_ref,category,occurred_at,nhs_number,severity,consent,"
	    "order_type,offence,asset_score,yot_worker,next_court_date,vcl\n"
	    "YOT-26-0311,OFFENDING,2026-10-28,9434765919,2,NOT_SOUGHT,"
	    "referral_order,Shoplifting,19,Sam Ng,2026-12-03,"
	    "risk_of_sexual_exploitation=3\n";
	struct mapped m;

	map_text("yot", csv, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_int_eq(m.ev->detail_case, MASH__V1__AGENCY_EVENT__DETAIL_YOT);
	ck_assert_str_eq(m.ev->yot->order_type, "referral-order");
	ck_assert_uint_eq(m.ev->yot->asset_score, 19);
	ck_assert_str_eq(m.ev->yot->next_court_date, "2026-12-03");
	ck_assert_str_eq(m.ev->vcl[0]->factor, "risk_of_sexual_exploitation");
	ck_assert_uint_eq(m.ev->vcl[0]->score, 3);
	mapped_free(&m);
}
END_TEST

START_TEST(housing_case_maps_to_housing_detail)
{
	static const char csv[] =
	    "housing_case_ref,applicant_ref,category,occurred_at,nhs_number,"
	    "severity,consent,tenancy_status,homelessness_duty,"
	    "accommodation_type,overcrowded,landlord_concern\n"
	    "HC-26-0733,APP-5521,HOMELESSNESS,2026-10-15,9434765919,2,GIVEN,"
	    "temporary-accommodation,Relief,B&B,TRUE,\n";
	struct mapped m;

	map_text("housing", csv, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_int_eq(m.ev->detail_case,
	                 MASH__V1__AGENCY_EVENT__DETAIL_HOUSING);
	ck_assert_str_eq(m.ev->housing->homelessness_duty, "relief");
	ck_assert_int_eq(m.ev->housing->overcrowded, 1);
	ck_assert_str_eq(m.ev->housing->accommodation_type, "B&B");
	mapped_free(&m);
}
END_TEST

START_TEST(social_care_strategy_discussion_maps_held_at)
{
	static const char js[] =
	    "{\"record_ref\":\"SD-26-0042\",\"category\":"
	    "\"STRATEGY_DISCUSSION_HELD\",\"occurred_at\":"
	    "\"2026-11-05T10:00:00Z\",\"nhs_number\":\"9434765919\","
	    "\"severity\":3,\"consent\":\"NOT_REQUIRED_RISK_OF_HARM\","
	    "\"decision\":\"Proceed to s47 enquiry\",\"outcome\":"
	    "\"s47-enquiry\",\"social_worker\":\"sw.sam\"}\n";
	struct mapped m;

	map_text("social-care", js, MASH_FEED_JSONL, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_int_eq(m.ev->category,
	                 MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD);
	ck_assert_int_eq(m.ev->detail_case,
	                 MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE);
	ck_assert_int_eq(m.ev->social_care->held_at, m.ev->occurred_at);
	ck_assert_str_eq(m.ev->social_care->outcome, "s47-enquiry");
	mapped_free(&m);
}
END_TEST

START_TEST(json_line_maps_exactly_like_the_csv_line)
{
	static const char js[] =
	    "{\"occurrence_ref\":\"NB-26-1002-0457\",\"notification_type\":"
	    "\"missing-person-report\",\"category\":\"MISSING_EPISODE\","
	    "\"occurred_at\":\"2026-10-02T22:15:00Z\",\"nhs_number\":"
	    "\"943 476 5919\",\"given_name\":\"Jordan\",\"family_name\":"
	    "\"Reed\",\"date_of_birth\":\"2011-05-14\",\"postcode\":"
	    "\"ne61 1aa\",\"sex\":\"male\",\"person_urn\":\"PER-0091\","
	    "\"severity\":2,\"consent\":\"NOT_SOUGHT\",\"classification\":"
	    "\"OFFICIAL\",\"do_not_disclose_to_family\":false,\"summary\":"
	    "\"Reported missing, found next morning\",\"reporter\":"
	    "\"PC 1432 Hall\",\"dash_risk\":\"standard\",\"children_present\":"
	    "false,\"offences\":null,\"officer_in_case\":\"PC 1432 Hall\","
	    "\"vcl\":\"absconding=2:missing overnight\",\"related\":"
	    "\"mother:Kelly:Reed:1988-03-02\"}\n";
	struct mapped a, b;
	uint8_t *pa, *pb;
	size_t la, lb;

	map_text("police", police_csv, MASH_FEED_CSV, &a);
	map_text("police", js, MASH_FEED_JSONL, &b);
	ck_assert_int_eq(a.rc, MASH_OK);
	ck_assert_msg(b.rc == MASH_OK, "%s: %s", b.err.field, b.err.msg);
	la = mash__v1__agency_event__get_packed_size(a.ev);
	lb = mash__v1__agency_event__get_packed_size(b.ev);
	ck_assert_uint_eq(la, lb);
	pa = malloc(la);
	pb = malloc(lb);
	mash__v1__agency_event__pack(a.ev, pa);
	mash__v1__agency_event__pack(b.ev, pb);
	ck_assert_int_eq(memcmp(pa, pb, la), 0);
	free(pa);
	free(pb);
	mapped_free(&a);
	mapped_free(&b);
}
END_TEST

START_TEST(event_id_is_a_stable_name_based_uuid)
{
	char a[MASH_AGENT_UUID_LEN], b[MASH_AGENT_UUID_LEN];

	ck_assert_int_eq(mash_agent_event_id("police", "NB-26-1002-0457", a),
	                 MASH_OK);
	/* Python: uuid.uuid5(UUID('6b1e3c52-9a47-4d0e-8f21-5c7a30d496e1'),
	 * 'police/NB-26-1002-0457') */
	ck_assert_str_eq(a, "18cad656-2dd0-5c02-8756-ee8c41f6de13");
	ck_assert_int_eq(mash_agent_event_id("health", "NB-26-1002-0457", b),
	                 MASH_OK);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(mash_agent_event_id("police", "", b), MASH_ERR_INVAL);
	ck_assert_str_eq(b, "");
}
END_TEST

START_TEST(explicit_event_id_column_is_used)
{
	static const char ok[] = "occurrence_ref,event_id,category,occurred_at,"
	                         "nhs_number,severity,consent\n"
	                         "R1,0b5a2c1e-1111-4222-8333-444455556666,"
	                         "INJURY,2026-10-02,9434765919,1,GIVEN\n";
	static const char bad[] =
	    "occurrence_ref,event_id,category,occurred_at,"
	    "nhs_number,severity,consent\n"
	    "R1,not a uuid!,INJURY,2026-10-02,9434765919,1,"
	    "GIVEN\n";
	struct mapped m;

	map_text("police", ok, MASH_FEED_CSV, &m);
	ck_assert_int_eq(m.rc, MASH_OK);
	ck_assert_str_eq(m.ev->event_id,
	                 "0b5a2c1e-1111-4222-8333-444455556666");
	mapped_free(&m);
	map_text("police", bad, MASH_FEED_CSV, &m);
	ck_assert_int_eq(m.rc, MASH_ERR_INVAL);
	ck_assert_str_eq(m.err.field, "event_id");
	ck_assert_ptr_null(m.ev);
}
END_TEST

/* Every reason the agent rejects a record for: column, code, message. */
#define H                                                                      \
	"occurrence_ref,category,occurred_at,nhs_number,family_name,"          \
	"date_of_birth,postcode,severity,consent,summary,dash_risk,vcl,"       \
	"related,restrict_to_agencies,classification,children_present\n"
static const struct {
	const char *row;
	int rc;
	const char *field;
	const char *msg;
} bad_rows[] = {
    {"R,INJURY,2026-10-02,,,,,1,GIVEN,,,,,,,", MASH_ERR_NO_IDENTITY,
     "nhs_number", "missing, and no full demographics"},
    {"R,INJURY,2026-10-02,,Reed,2011-05-14,,1,GIVEN,,,,,,,",
     MASH_ERR_NO_IDENTITY, "nhs_number", "no full demographics"},
    {"R,INJURY,2026-10-02,9434765918,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_NHS,
     "nhs_number", "Modulus 11 check digit does not match"},
    {"R,INJURY,2026-10-02,94347659,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_NHS,
     "nhs_number", "not 10 digits"},
    {"R,INJURY,2026-10-02,9434x65919,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_NHS,
     "nhs_number", "not 10 digits"},
    {"R,INJURY,2026-13-01,9434765919,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_DATE,
     "occurred_at", "not a date '2026-13-01'"},
    {"R,INJURY,2026-02-30,9434765919,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_DATE,
     "occurred_at", "not a date '2026-02-30'"},
    {"R,INJURY,2026-10-02T25:00,9434765919,,,,1,GIVEN,,,,,,,",
     MASH_ERR_BAD_DATE, "occurred_at", "not a date"},
    {"R,INJURY,yesterday,9434765919,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_DATE,
     "occurred_at", "not a date 'yesterday'"},
    {"R,INJURY,,9434765919,,,,1,GIVEN,,,,,,,", MASH_ERR_MISSING_FIELD,
     "occurred_at", "missing"},
    {"R,INJURY,2027-03-01,9434765919,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_TIME,
     "occurred_at", "in the future"},
    {"R,FOO,2026-10-02,9434765919,,,,1,GIVEN,,,,,,,", MASH_ERR_BAD_ENUM,
     "category", "unknown category 'FOO'"},
    {"R,CATEGORY_UNSPECIFIED,2026-10-02,9434765919,,,,1,GIVEN,,,,,,,",
     MASH_ERR_BAD_ENUM, "category", "unknown category"},
    {"R,STRATEGY_DISCUSSION_HELD,2026-10-02,9434765919,,,,1,GIVEN,,,,,,,",
     MASH_ERR_AGENCY_MISMATCH, "category", "social-care only"},
    {"R,INJURY,2026-10-02,9434765919,,,,5,GIVEN,,,,,,,", MASH_ERR_BAD_SEVERITY,
     "severity", "not a whole number 0-4 '5'"},
    {"R,INJURY,2026-10-02,9434765919,,,,,GIVEN,,,,,,,", MASH_ERR_MISSING_FIELD,
     "severity", "missing"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,MAYBE,,,,,,,", MASH_ERR_BAD_ENUM,
     "consent", "unknown consent 'MAYBE'"},
    {",INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,,,,,", MASH_ERR_MISSING_FIELD,
     "occurrence_ref", "missing"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,severe,,,,,",
     MASH_ERR_BAD_ENUM, "dash_risk", "unknown value 'severe'"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,self_harm=5,,,,",
     MASH_ERR_BAD_SEVERITY, "vcl", "score is not 0-4"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,Self Harm,,,,",
     MASH_ERR_INVAL, "vcl", "not factor=score"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,,mother,,,", MASH_ERR_INVAL,
     "related", "not role:given:family"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,,mother:A:B:1988-02-30,,,",
     MASH_ERR_BAD_DATE, "related", "date of birth"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,,,police;mi5,,",
     MASH_ERR_UNKNOWN_AGENCY, "restrict_to_agencies", "item 2"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,,,,SECRET,",
     MASH_ERR_BAD_ENUM, "classification", "unknown value 'SECRET'"},
    {"R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,,,,,,,maybe", MASH_ERR_INVAL,
     "children_present", "not true/false"},
    {"R,INJURY,2026-10-02,,Reed,1900-02-29,NE61 1AA,1,GIVEN,,,,,,,",
     MASH_ERR_BAD_DATE, "date_of_birth", "not a date (YYYY-MM-DD)"},
};

START_TEST(bad_record_is_rejected_with_line_column_and_reason)
{
	char text[1024];
	struct mapped m;

	/* Two good-looking lines before, so the reported line is 4. */
	(void)snprintf(text, sizeof(text), "%s\n\n%s\n", H, bad_rows[_i].row);
	map_text("police", text, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == bad_rows[_i].rc,
	              "row %d: rc %s, want %s (%s: %s)", _i, mash_errname(m.rc),
	              mash_errname(bad_rows[_i].rc), m.err.field, m.err.msg);
	ck_assert_ptr_null(m.ev);
	ck_assert_uint_eq(m.err.line, 4);
	ck_assert_str_eq(m.err.field, bad_rows[_i].field);
	ck_assert_msg(strstr(m.err.msg, bad_rows[_i].msg) != NULL,
	              "row %d: '%s' lacks '%s'", _i, m.err.msg,
	              bad_rows[_i].msg);
}
END_TEST

START_TEST(over_long_field_is_rejected)
{
	size_t n = MASH_MAX_SUMMARY + 1, k;
	char *text = malloc(n + 512);
	struct mapped m;

	k = (size_t)snprintf(text, 512, "%s%s", H,
	                     "R,INJURY,2026-10-02,9434765919,,,,1,GIVEN,");
	memset(text + k, 's', n);
	k += n;
	memcpy(text + k, ",,,,,,\n", 8);
	map_text("police", text, MASH_FEED_CSV, &m);
	ck_assert_int_eq(m.rc, MASH_ERR_FIELD_TOO_LONG);
	ck_assert_str_eq(m.err.field, "summary");
	ck_assert_ptr_nonnull(strstr(m.err.msg, "longer than 8192 bytes"));
	/* Exactly at the limit is fine. */
	text[k - 1] = ',';
	memmove(text + k - 1, text + k, 8);
	map_text("police", text, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_uint_eq(strlen(m.ev->summary), MASH_MAX_SUMMARY);
	mapped_free(&m);
	free(text);
}
END_TEST

#define J0                                                                     \
	"{\"occurrence_ref\":\"R\",\"category\":\"INJURY\","                   \
	"\"occurred_at\":\"2026-10-02\",\"nhs_number\":\"9434765919\","        \
	"\"consent\":\"GIVEN\","
static const struct {
	const char *line;
	const char *field;
	const char *msg;
} json_wrong[] = {
    {J0 "\"severity\":\"2\"}", "severity", "wrong type (string)"},
    {J0 "\"severity\":2.5}", "severity", "wrong type (number)"},
    {J0 "\"severity\":true}", "severity", "wrong type (boolean)"},
    {J0 "\"severity\":-1}", "severity", "not a whole number 0-4"},
    {J0 "\"severity\":1,\"summary\":{\"a\":1}}", "summary",
     "wrong type (object)"},
    {J0 "\"severity\":1,\"offences\":[\"theft\"]}", "offences",
     "wrong type (array)"},
    {J0 "\"severity\":1,\"children_present\":\"yes\"}", "children_present",
     "wrong type (string)"},
    {"{\"occurrence_ref\":\"R\",\"category\":\"INJURY\",\"occurred_at\":"
     "1790899200000,\"nhs_number\":\"9434765919\",\"severity\":1,"
     "\"consent\":\"GIVEN\"}",
     "occurred_at", "wrong type (integer)"},
    {"{\"occurrence_ref\":\"R\",\"category\":\"INJURY\",\"occurred_at\":"
     "\"2026-10-02\",\"nhs_number\":9434765919,\"severity\":1,"
     "\"consent\":\"GIVEN\"}",
     "nhs_number", "wrong type (integer)"},
    {"{\"occurrence_ref\":7,\"category\":\"INJURY\",\"occurred_at\":"
     "\"2026-10-02\",\"nhs_number\":\"9434765919\",\"severity\":1,"
     "\"consent\":\"GIVEN\"}",
     "occurrence_ref", "wrong type (integer)"},
    {"{\"occurrence_ref\":\"R\",\"category\":[\"INJURY\"],\"occurred_at\":"
     "\"2026-10-02\",\"nhs_number\":\"9434765919\",\"severity\":1,"
     "\"consent\":\"GIVEN\"}",
     "category", "wrong type (array)"},
};

START_TEST(json_value_of_the_wrong_type_is_rejected)
{
	struct mapped m;

	map_text("police", json_wrong[_i].line, MASH_FEED_JSONL, &m);
	ck_assert_msg(m.rc != MASH_OK, "line %d accepted", _i);
	ck_assert_ptr_null(m.ev);
	ck_assert_uint_eq(m.err.line, 1);
	ck_assert_str_eq(m.err.field, json_wrong[_i].field);
	ck_assert_msg(strstr(m.err.msg, json_wrong[_i].msg) != NULL,
	              "line %d: '%s' lacks '%s'", _i, m.err.msg,
	              json_wrong[_i].msg);
}
END_TEST

static const struct {
	const char *when;
	int64_t ms;
} times[] = {
    {"2026-10-02", OCT2_MS},
    {"2026-10-02T14:30:00Z", OCT2_MS + 870 * 60000LL},
    {"2026-10-02 14:30", OCT2_MS + 870 * 60000LL},
    {"2026-10-02T14:30:00.250Z", OCT2_MS + 870 * 60000LL + 250},
    {"2026-10-02T15:30:00+01:00", OCT2_MS + 870 * 60000LL},
    {"2026-10-02T13:30:00-0100", OCT2_MS + 870 * 60000LL},
    {"02/10/2026", OCT2_MS},
    {"02/10/2026 14:30", OCT2_MS + 870 * 60000LL},
    {"2024-02-29", 1709164800000LL},
};

START_TEST(dates_and_times_in_export_formats_are_read)
{
	char text[512];
	struct mapped m;

	(void)snprintf(
	    text, sizeof(text),
	    "occurrence_ref,category,occurred_at,nhs_number,severity,"
	    "consent\nR,INJURY,%s,9434765919,1,GIVEN\n",
	    times[_i].when);
	map_text("police", text, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_int_eq(m.ev->occurred_at, times[_i].ms);
	mapped_free(&m);
}
END_TEST

START_TEST(demographics_without_nhs_number_are_enough)
{
	static const char csv[] = "record_ref,category,occurred_at,given_name,"
	                          "family_name,date_of_birth,postcode,sex,"
	                          "severity,consent\n"
	                          "R,SCHOOL_ATTENDANCE,2026-10-09,Jordan,Reed,"
	                          "2011-05-14,NE61 1AA,F,1,GIVEN\n";
	struct mapped m;

	map_text("education", csv, MASH_FEED_CSV, &m);
	ck_assert_msg(m.rc == MASH_OK, "%s: %s", m.err.field, m.err.msg);
	ck_assert_str_eq(m.ev->subject->nhs_number, "");
	ck_assert_str_eq(m.ev->subject->sex, "F");
	mapped_free(&m);
}
END_TEST

START_TEST(detail_of_each_agency_stays_with_that_agency)
{
	/* The same police record mapped as housing: no police detail, and
	 * the record reference column differs. */
	struct mapped m;

	map_text("housing", police_csv, MASH_FEED_CSV, &m);
	ck_assert_int_eq(m.rc, MASH_ERR_MISSING_FIELD);
	ck_assert_str_eq(m.err.field, "housing_case_ref");
	map_text("nobody", police_csv, MASH_FEED_CSV, &m);
	ck_assert_int_eq(m.rc, MASH_ERR_UNKNOWN_AGENCY);
	ck_assert_int_eq(mash_agent_agency_known("social-care"), 1);
	ck_assert_int_eq(mash_agent_agency_known("mashd"), 0);
	ck_assert_str_eq(mash_agent_ref_column("yot"), "yot_case_ref");
}
END_TEST

/* Fail every allocation in turn: mapping fails cleanly (NOMEM) or
 * succeeds, never crashes or leaks (ASan). */
START_TEST(allocation_failures_are_clean)
{
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *rec = NULL;
	struct mash_feed_err err;
	Mash__V1__AgencyEvent *ev = NULL;
	long n;
	int rc = MASH_ERR_NOMEM;

	ck_assert_int_eq(mash_feed_open_mem(police_csv, strlen(police_csv),
	                                    MASH_FEED_CSV, "t", &f),
	                 MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &rec, &err), MASH_OK);
	for (n = 0; n < 400 && rc != MASH_OK; n++) {
		mash_mem_fail_after(n);
		rc = mash_agent_map("police", rec, NOW_MS, &ev, &err);
		mash_mem_fail_after(-1);
		if (rc != MASH_OK) {
			ck_assert_int_eq(rc, MASH_ERR_NOMEM);
			ck_assert_ptr_null(ev);
		}
	}
	ck_assert_int_eq(rc, MASH_OK);
	mash_agent_event_free(ev);
	mash_feed_free(f);
}
END_TEST

/* Map a whole sample feed; the trace lists "line:field" for every record
 * the agent refuses (reader or mapping), and *ok counts good records. */
static void
map_file(const char *agency, const char *rel, char *trace, size_t tracesz,
         int *ok)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char path[1024];
	enum mash_feed_format fmt;
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *rec;
	struct mash_feed_err err;
	Mash__V1__AgencyEvent *ev;
	size_t n = 0;
	int rc;

	*ok = 0;
	trace[0] = '\0';
	(void)snprintf(path, sizeof(path), "%s/agents/samples/%s",
	               src != NULL ? src : ".", rel);
	ck_assert_int_eq(mash_feed_format_from_name(path, &fmt), MASH_OK);
	ck_assert_msg(mash_feed_open(path, fmt, NULL, &f) == MASH_OK,
	              "cannot open %s", path);
	for (;;) {
		rc = mash_feed_next(f, 0, &rec, &err);
		if (rc == MASH_FEED_EOF)
			break;
		if (rc == MASH_OK) {
			rc = mash_agent_map(agency, rec, NOW_MS, &ev, &err);
			if (rc == MASH_OK) {
				(*ok)++;
				mash_agent_event_free(ev);
				continue;
			}
		}
		ck_assert_int_eq(err.fatal, 0);
		n += (size_t)snprintf(trace + n, tracesz - n, "%lu:%s ",
		                      err.line, err.field);
	}
	mash_feed_free(f);
}

static const struct {
	const char *agency;
	const char *file;
	int good;
	const char *bad;
} samples[] = {
    {"police", "police.csv", 2, ""},
    {"education", "education.csv", 1, ""},
    {"housing", "housing.csv", 1, ""},
    {"health", "health.csv", 1, ""},
    {"yot", "yot.csv", 1, ""},
    {"social-care", "social-care.jsonl", 1, ""},
    {"police", "bad/police-bad.csv", 2,
     "3:nhs_number 4:occurred_at 5:category 6:summary 7:nhs_number 9: "},
    {"health", "bad/health-bad.csv", 1,
     "3:occurred_at 4:setting 5:severity 6:nhs_number "},
    {"education", "bad/education-bad.csv", 1,
     "3:attendance_pct 4:category 5:nhs_number 6:school_urn "},
    {"yot", "bad/yot-bad.csv", 1,
     "3:next_court_date 4:asset_score 5:consent 6:occurred_at "},
    {"housing", "bad/housing-bad.csv", 1,
     "3:homelessness_duty 4:overcrowded 5:housing_case_ref "
     "6:landlord_concern "},
    {"social-care", "bad/social-care-bad.jsonl", 1,
     "2:severity 3: 4:category 5:occurred_at 6:summary 7: "},
};

START_TEST(sample_feeds_map_as_documented)
{
	char trace[1024];
	int ok;

	map_file(samples[_i].agency, samples[_i].file, trace, sizeof(trace),
	         &ok);
	ck_assert_msg(strcmp(trace, samples[_i].bad) == 0, "%s: bad lines '%s'",
	              samples[_i].file, trace);
	ck_assert_int_eq(ok, samples[_i].good);
}
END_TEST

static Suite *
map_suite(void)
{
	Suite *s = suite_create("map");
	TCase *tc = tcase_create("agencies");
	TCase *tb = tcase_create("bad");

	tcase_add_test(tc, police_record_maps_to_police_detail);
	tcase_add_test(tc, health_ed_attendance_maps_to_health_detail);
	tcase_add_test(tc, education_extract_maps_to_education_detail);
	tcase_add_test(tc, yot_case_maps_to_yot_detail);
	tcase_add_test(tc, housing_case_maps_to_housing_detail);
	tcase_add_test(tc, social_care_strategy_discussion_maps_held_at);
	tcase_add_test(tc, json_line_maps_exactly_like_the_csv_line);
	tcase_add_test(tc, event_id_is_a_stable_name_based_uuid);
	tcase_add_test(tc, explicit_event_id_column_is_used);
	tcase_add_loop_test(tc, dates_and_times_in_export_formats_are_read, 0,
	                    sizeof(times) / sizeof(times[0]));
	tcase_add_test(tc, demographics_without_nhs_number_are_enough);
	tcase_add_test(tc, detail_of_each_agency_stays_with_that_agency);
	tcase_add_test(tc, allocation_failures_are_clean);
	tcase_add_loop_test(tc, sample_feeds_map_as_documented, 0,
	                    sizeof(samples) / sizeof(samples[0]));
	tcase_add_loop_test(tb,
	                    bad_record_is_rejected_with_line_column_and_reason,
	                    0, sizeof(bad_rows) / sizeof(bad_rows[0]));
	tcase_add_test(tb, over_long_field_is_rejected);
	tcase_add_loop_test(tb, json_value_of_the_wrong_type_is_rejected, 0,
	                    sizeof(json_wrong) / sizeof(json_wrong[0]));
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tb);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(map_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
