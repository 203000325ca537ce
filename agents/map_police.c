/*
 * map_police.c - police feeds: a domestic-abuse notification / missing
 * person / child concern export (CSV) keyed by the force's occurrence
 * reference. The police hold information about children who may be
 * suffering significant harm and about those who cause it, and "should
 * always share this information with other organisations where this is
 * necessary to protect children" (Working Together 2013, ch.2 paras
 * 14-15); intelligence is the most restricted detail field.
 */
#include "agents/map_agency.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"

static const char *const incident_types[] = {
    "domestic-abuse-notification",
    "missing-person-report",
    "missing-person-return",
    "child-concern-notification",
    "cse-concern",
    "arrest",
    "intelligence-report",
    "other",
    NULL,
};

/* DASH risk identification checklist outcome (proto PoliceDetail). */
static const char *const dash_levels[] = {"standard", "medium", "high", NULL};

static int
police_detail(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	Mash__V1__PoliceDetail *d;
	int rc;

	d = mash_malloc(sizeof(*d));
	if (d == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__police_detail__init(d);
	ev->police = d;
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	rc = map__str(m, "occurrence_ref", MASH_MAX_ID, &d->incident_ref);
	if (rc == MASH_OK)
		rc = map__word(m, "notification_type", incident_types,
		               &d->incident_type);
	if (rc == MASH_OK)
		rc = map__word(m, "dash_risk", dash_levels, &d->dash_risk);
	if (rc == MASH_OK)
		rc = map__bool(m, "children_present", &d->children_present);
	if (rc == MASH_OK)
		rc = map__list(m, "offences", MASH_MAX_REPEATED, MASH_MAX_SHORT,
		               &d->offences, &d->n_offences);
	if (rc == MASH_OK)
		rc = map__str(m, "intelligence", MASH_MAX_TEXT,
		              &d->intelligence);
	if (rc == MASH_OK)
		rc = map__str(m, "officer_in_case", MASH_MAX_SHORT,
		              &d->officer_in_case);
	return rc;
}

const struct map__agency map__police = {
    .agency = "police",
    .ref_col = "occurrence_ref",
    .local_id_col = "person_urn",
    .detail = police_detail,
};
