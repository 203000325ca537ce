/*
 * map_yot.c - youth offending team feeds: a YOT case management extract
 * (CSV) keyed by the YOT case reference. YOTs supervise children subject
 * to pre-court interventions and statutory court disposals and are "well
 * placed to identify children ... most at risk" (Working Together 2013,
 * ch.2 para 30). asset_score is the Asset core profile total (12 sections
 * scored 0-4: 0-48).
 */
#include "agents/map_agency.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"

static const char *const order_types[] = {
    "community-resolution",
    "youth-caution",
    "youth-conditional-caution",
    "referral-order",
    "youth-rehabilitation-order",
    "detention-and-training-order",
    "bail-supervision",
    "none",
    NULL,
};

static int
yot_detail(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	Mash__V1__YotDetail *d;
	int rc;

	d = mash_malloc(sizeof(*d));
	if (d == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__yot_detail__init(d);
	ev->yot = d;
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_YOT;
	rc = map__word(m, "order_type", order_types, &d->order_type);
	if (rc == MASH_OK)
		rc = map__str(m, "offence", MASH_MAX_SHORT, &d->offence);
	if (rc == MASH_OK)
		rc = map__uint(m, "asset_score", 0, 48, &d->asset_score, NULL);
	if (rc == MASH_OK)
		rc = map__str(m, "yot_worker", MASH_MAX_SHORT, &d->yot_worker);
	if (rc == MASH_OK)
		rc = map__date(m, "next_court_date", 1, &d->next_court_date);
	return rc;
}

const struct map__agency map__yot = {
    .agency = "yot",
    .ref_col = "yot_case_ref",
    .local_id_col = "yot_person_id",
    .detail = yot_detail,
};
