/*
 * map_social_care.c - children's social care feeds (JSON lines from the
 * case management system) for the events that stop or move statutory
 * clocks: STRATEGY_DISCUSSION_HELD, S47_OUTCOME, REFERRAL_DECISION
 * (wire-contract.md, categories 30-32). A strategy discussion decides
 * whether to start section 47 enquiries; a referral decision is due
 * within one working day (Working Together 2013, ch.1).
 */
#include "agents/map_agency.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"

static const char *const outcomes[] = {
    "s47-enquiry",
    "s17",
    "nfa",
    "icpc",
    "early-help",
    "strategy-discussion",
    "single-agency",
    "police-investigation",
    NULL,
};

static int
social_care_detail(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	Mash__V1__SocialCareDetail *d;
	int present = 0, rc;

	d = mash_malloc(sizeof(*d));
	if (d == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__social_care_detail__init(d);
	ev->social_care = d;
	ev->detail_case = MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE;
	rc = map__str(m, "decision", MASH_MAX_SHORT, &d->decision);
	if (rc == MASH_OK)
		rc = map__str(m, "trigger_id", MASH_MAX_ID, &d->trigger_id);
	if (rc == MASH_OK)
		rc = map__time(m, "held_at", 0, &d->held_at, &present);
	if (rc != MASH_OK)
		return rc;
	/* A strategy discussion was held when it happened unless the
	 * record says otherwise. */
	if (!present &&
	    ev->category == MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD)
		d->held_at = ev->occurred_at;
	rc = map__str(m, "social_worker", MASH_MAX_SHORT, &d->social_worker);
	if (rc == MASH_OK)
		rc = map__word(m, "outcome", outcomes, &d->outcome);
	return rc;
}

const struct map__agency map__social_care = {
    .agency = "social-care",
    .ref_col = "record_ref",
    .local_id_col = "person_id",
    .detail = social_care_detail,
};
