/*
 * story.c - see story.h. Tests only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "support/story.h"

static const struct mash_test_story_event story[] = {
    {"police", "0b9d6d2e-2c31-4d0f-9a51-6f1f0c6d0a01", "2026-10-02",
     MASH__V1__CATEGORY__MISSING_EPISODE, 2, MASH__V1__CONSENT__NOT_SOUGHT,
     "Reported missing overnight by carer; found next morning in town.",
     "9434765919", 0, 0, 0},
    {"education", "1c2e7f3a-3d42-4e1a-8b62-7a2a1d7e1b02", "2026-10-09",
     MASH__V1__CATEGORY__SCHOOL_ATTENDANCE, 1, MASH__V1__CONSENT__GIVEN,
     "Attendance has fallen to 71% this half term.", "9434765919", 0, 0, 0},
    {"housing", "2d3f8a4b-4e53-4f2b-9c73-8b3b2e8f2c03", "2026-10-15",
     MASH__V1__CATEGORY__HOMELESSNESS, 2, MASH__V1__CONSENT__GIVEN,
     "Family in temporary accommodation, overcrowded.", "9434765919", 0, 0, 0},
    {"health", "3e4a9b5c-5f64-4a3c-8d84-9c4c3f9a3d04", "2026-10-20",
     MASH__V1__CATEGORY__SELF_HARM, 3, MASH__V1__CONSENT__REFUSED,
     "ED attendance after self-harm; discharged with CAMHS follow-up.",
     "9434765919", 0, 0, 0},
    {"yot", "4f5bac6d-6a75-4b4d-9e95-ad5d4a0b4e05", "2026-10-28",
     MASH__V1__CATEGORY__OFFENDING, 2, MASH__V1__CONSENT__NOT_SOUGHT,
     "Arrested with older males for shoplifting; referral order.", "9434765919",
     0, 0, 3},
    {"police", "5a6cbd7e-7b86-4c5e-8fa6-be6e5b1c5f06", "2026-11-03",
     MASH__V1__CATEGORY__SEXUAL_EXPLOITATION, 3,
     MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM,
     "Seen in cars with adult males linked to CSE intelligence.", "9434765919",
     1, 1, 4},
    /* Alex: known to education only. */
    {"education", "6b7dce8f-8c97-4d6f-9ab7-cf7f6c2d6a07", "2026-10-12",
     MASH__V1__CATEGORY__SCHOOL_ATTENDANCE, 1, MASH__V1__CONSENT__GIVEN,
     "Late most mornings.", "4010232137", 0, 0, 0},
};

size_t
mash_test_story_count(void)
{
	return sizeof(story) / sizeof(story[0]);
}

const struct mash_test_story_event *
mash_test_story_get(size_t i)
{
	return i < mash_test_story_count() ? &story[i] : NULL;
}

int64_t
mash_test_story_ms(const char *date)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(date, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) !=
	    3)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_hour = 9;
	return (int64_t)timegm(&tm) * 1000;
}

int
mash_test_story_seal(size_t i, const struct mash_key *key, const char *key_id,
                     uint8_t **env, size_t *len)
{
	const struct mash_test_story_event *e;
	Mash__V1__AgencyEvent ev;
	Mash__V1__Subject subj;
	Mash__V1__Handling h;
	Mash__V1__VclScore vcl;
	Mash__V1__VclScore *vclp[1];
	Mash__V1__PoliceDetail pd;
	Mash__V1__HealthDetail hd;
	Mash__V1__EducationDetail ed;
	Mash__V1__HousingDetail hod;
	Mash__V1__YotDetail yd;
	int jordan;

	if (i >= mash_test_story_count() || key == NULL)
		return MASH_ERR_INVAL;
	e = &story[i];
	jordan = strcmp(e->nhs, MASH_TEST_NHS_JORDAN) == 0;
	mash__v1__agency_event__init(&ev);
	mash__v1__subject__init(&subj);
	mash__v1__handling__init(&h);
	subj.nhs_number = (char *)e->nhs;
	subj.given_name = jordan ? "Jordan" : "Alex";
	subj.family_name = jordan ? "Reed" : "Morgan";
	subj.date_of_birth = jordan ? "2011-05-14" : "2019-03-02";
	subj.postcode = jordan ? "NE61 1AA" : "NE61 2BB";
	subj.sex = jordan ? "M" : "F";
	ev.event_id = (char *)e->event_id;
	ev.agency = (char *)e->agency;
	ev.occurred_at = mash_test_story_ms(e->date);
	ev.recorded_at = ev.occurred_at + 2 * 3600 * 1000;
	ev.subject = &subj;
	ev.category = e->category;
	ev.severity = e->severity;
	ev.summary = (char *)e->summary;
	ev.consent = e->consent;
	h.classification =
	    e->official_sensitive ? "OFFICIAL-SENSITIVE" : "OFFICIAL";
	h.do_not_disclose_to_family = e->dnd_family;
	ev.handling = &h;
	ev.reporter = "test reporter";
	ev.agency_ref = "REF-1";
	if (e->vcl_rse > 0) {
		mash__v1__vcl_score__init(&vcl);
		vcl.factor = "risk_of_sexual_exploitation";
		vcl.score = e->vcl_rse;
		vcl.evidence = "assessed by the agency";
		vclp[0] = &vcl;
		ev.n_vcl = 1;
		ev.vcl = vclp;
	}
	if (strcmp(e->agency, "police") == 0) {
		mash__v1__police_detail__init(&pd);
		pd.incident_ref = "INC-1";
		pd.incident_type =
		    e->category == MASH__V1__CATEGORY__SEXUAL_EXPLOITATION
		        ? "cse-intelligence"
		        : "missing-person";
		pd.intelligence =
		    e->category == MASH__V1__CATEGORY__SEXUAL_EXPLOITATION
		        ? "Vehicle seen at known address"
		        : "";
		ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
		ev.police = &pd;
	} else if (strcmp(e->agency, "health") == 0) {
		mash__v1__health_detail__init(&hd);
		hd.setting = "ED";
		hd.presenting_complaint = "self-harm";
		hd.diagnosis = "superficial lacerations";
		hd.clinical_notes = "low mood, declined CAMHS";
		ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_HEALTH;
		ev.health = &hd;
	} else if (strcmp(e->agency, "education") == 0) {
		mash__v1__education_detail__init(&ed);
		ed.school_name = "Northumberland High";
		ed.attendance_pct = jordan ? 71 : 88;
		ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION;
		ev.education = &ed;
	} else if (strcmp(e->agency, "housing") == 0) {
		mash__v1__housing_detail__init(&hod);
		hod.accommodation_type = "temporary";
		hod.overcrowded = 1;
		ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_HOUSING;
		ev.housing = &hod;
	} else if (strcmp(e->agency, "yot") == 0) {
		mash__v1__yot_detail__init(&yd);
		yd.order_type = "referral order";
		yd.offence = "theft";
		ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_YOT;
		ev.yot = &yd;
	}
	return mash_env_seal_msg(key, e->agency, key_id, &ev.base, env, len);
}
