/*
 * map_health.c - health feeds: an emergency department (A&E) attendance
 * extract (CSV) keyed by the attendance reference, with the hospital
 * number as the local id. Unscheduled and emergency care settings are
 * named among the health professionals with a critical safeguarding role
 * (Working Together 2013, ch.2 para 10); diagnosis and clinical notes are
 * clinical detail the sharing policy withholds below L4 (Caldicott).
 */
#include "agents/map_agency.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"

static const char *const settings[] = {
    "ED",
    "GP",
    "health-visiting",
    "CAMHS",
    "midwifery",
    "school-nursing",
    "paediatrics",
    "sexual-health",
    "substance-misuse",
    NULL,
};

static int
health_detail(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	Mash__V1__HealthDetail *d;
	int rc;

	d = mash_malloc(sizeof(*d));
	if (d == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__health_detail__init(d);
	ev->health = d;
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_HEALTH;
	rc = map__word(m, "setting", settings, &d->setting);
	if (rc == MASH_OK)
		rc = map__str(m, "presenting_complaint", MASH_MAX_TEXT,
		              &d->presenting_complaint);
	if (rc == MASH_OK)
		rc = map__str(m, "diagnosis", MASH_MAX_TEXT, &d->diagnosis);
	if (rc == MASH_OK)
		rc = map__str(m, "clinical_notes", MASH_MAX_TEXT,
		              &d->clinical_notes);
	if (rc == MASH_OK)
		rc = map__bool(m, "explanation_consistent",
		               &d->explanation_consistent);
	if (rc == MASH_OK)
		rc = map__uint(m, "attendances_12m", 0, 1000,
		               &d->attendances_12m, NULL);
	if (rc == MASH_OK)
		rc = map__str(m, "named_professional", MASH_MAX_SHORT,
		              &d->named_professional);
	return rc;
}

const struct map__agency map__health = {
    .agency = "health",
    .ref_col = "attendance_ref",
    .local_id_col = "hospital_number",
    .detail = health_detail,
};
