/*
 * map_education.c - education feeds: a school attendance / exclusion
 * extract (CSV) from the school's management information system, keyed
 * by the extract's record reference, with the Unique Pupil Number as the
 * local id. Schools safeguard pupils under s175/s157 Education Act 2002
 * through a designated safeguarding lead (Working Together 2013, ch.2
 * paras 6-7); the Vulnerability Checklist scores "Non School
 * Attendance/NEET" as a social and environmental factor.
 */
#include <string.h>

#include "agents/map_agency.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"

static const char *const exclusion_types[] = {"fixed-term", "permanent", NULL};

static int
education_detail(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	Mash__V1__EducationDetail *d;
	size_t i, n;
	int rc;

	d = mash_malloc(sizeof(*d));
	if (d == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__education_detail__init(d);
	ev->education = d;
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION;
	rc = map__str(m, "school_urn", 6, &d->school_urn);
	if (rc != MASH_OK)
		return rc;
	/* A school's Unique Reference Number is six digits (DfE). */
	n = strlen(d->school_urn);
	for (i = 0; i < n; i++) {
		if (d->school_urn[i] < '0' || d->school_urn[i] > '9')
			break;
	}
	if (n != 0 && (n != 6 || i != n))
		return map__fail(m, "school_urn", MASH_ERR_INVAL,
		                 "not a six-digit URN");
	rc = map__str(m, "school_name", MASH_MAX_SHORT, &d->school_name);
	if (rc == MASH_OK)
		rc = map__uint(m, "attendance_pct", 0, 100, &d->attendance_pct,
		               NULL);
	if (rc == MASH_OK)
		rc = map__word(m, "exclusion_type", exclusion_types,
		               &d->exclusion_type);
	if (rc == MASH_OK)
		rc = map__uint(m, "exclusion_days", 0, 366, &d->exclusion_days,
		               NULL);
	if (rc == MASH_OK)
		rc = map__str(m, "year_group", 32, &d->year_group);
	if (rc == MASH_OK)
		rc = map__str(m, "dsl_name", MASH_MAX_SHORT, &d->dsl_name);
	return rc;
}

const struct map__agency map__education = {
    .agency = "education",
    .ref_col = "record_ref",
    .local_id_col = "upn",
    .detail = education_detail,
};
