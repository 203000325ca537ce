/*
 * map_housing.c - housing feeds: a homelessness case extract (CSV, as
 * kept for H-CLIC returns) keyed by the housing case reference. Housing
 * and homelessness services "may become aware of conditions that could
 * have an adverse impact on children" (Working Together 2013, ch.2 para
 * 19); homelessness duties are those of the Housing Act 1996 Part 7 as
 * amended (prevention, relief, main duty).
 */
#include "agents/map_agency.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"

static const char *const duties[] = {"prevention", "relief", "main", "none",
                                     NULL};

static int
housing_detail(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	Mash__V1__HousingDetail *d;
	int rc;

	d = mash_malloc(sizeof(*d));
	if (d == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__housing_detail__init(d);
	ev->housing = d;
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_HOUSING;
	rc = map__str(m, "tenancy_status", MASH_MAX_SHORT, &d->tenancy_status);
	if (rc == MASH_OK)
		rc = map__word(m, "homelessness_duty", duties,
		               &d->homelessness_duty);
	if (rc == MASH_OK)
		rc = map__str(m, "accommodation_type", MASH_MAX_SHORT,
		              &d->accommodation_type);
	if (rc == MASH_OK)
		rc = map__bool(m, "overcrowded", &d->overcrowded);
	if (rc == MASH_OK)
		rc = map__str(m, "landlord_concern", MASH_MAX_TEXT,
		              &d->landlord_concern);
	return rc;
}

const struct map__agency map__housing = {
    .agency = "housing",
    .ref_col = "housing_case_ref",
    .local_id_col = "applicant_ref",
    .detail = housing_detail,
};
