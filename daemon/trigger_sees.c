/*
 * trigger_sees.c - mashd's answer to "what may this attendee learn of that
 * contributing event" (daemon/trigger_view.h): the stored event decided
 * by the sharing policy for the attendee, at the trigger's level, for the
 * purpose automatic delivery uses there (issue 26). Core thread only.
 */
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "daemon/mashd.h"
#include "event/evt.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "store/store.h"

#define FBIT(f) ((uint64_t)1 << (f))

int
mashd_trigger_sees(void *ctx, const char *case_id, const char *recipient,
                   const char *event_ref, unsigned level, unsigned n_agencies,
                   int *record, int *signpost)
{
	struct mashd *d = ctx;
	struct mash_store_event_row *row = NULL;
	Mash__V1__AgencyEvent *ev = NULL;
	struct mash_pol_event view;
	struct mash_pol_case c;
	struct mash_pol_recipient r;
	struct mash_pol_decision dec;
	struct mash_dir_entry e;
	char agency[MASH_MAX_AGENCY + 1];
	const char *slash;
	uint64_t need;
	int rc;

	(void)case_id;
	*record = *signpost = 0;
	slash = strchr(event_ref, '/');
	if (slash == NULL || (size_t)(slash - event_ref) > MASH_MAX_AGENCY)
		return MASH_ERR_INVAL;
	memcpy(agency, event_ref, (size_t)(slash - event_ref));
	agency[slash - event_ref] = '\0';
	/* No policy or no directory entry: nothing is shared, so nothing
	 * is told (deny by default). */
	if (d->policy == NULL || d->directory == NULL ||
	    mash_dir_lookup(d->directory, recipient, &e) != MASH_OK)
		return MASH_OK;
	rc = mash_store_event_get(d->store, agency, slash + 1, &row);
	if (rc != MASH_OK)
		goto out;
	rc = mash_evt_decode(row->payload, row->payload_len, &ev, NULL, 0);
	if (rc != MASH_OK)
		goto out;
	mash_pol_event_view(ev, &view);
	memset(&c, 0, sizeof(c));
	c.level = level >= 1 && level <= 4 ? level : 4;
	c.n_agencies = n_agencies;
	c.known_to_multiple = n_agencies >= 2;
	r.principal = e.principal;
	r.role = e.role;
	r.agency = e.agency;
	(void)mash_pol_decide(d->policy, &view, &c, &r,
	                      mash_pol_delivery_purpose(d->policy, c.level), 0,
	                      &dec);
	/* The record: its concern, and its VCL score when it has one. */
	need = FBIT(MASH_POL_F_CATEGORY) | FBIT(MASH_POL_F_SEVERITY);
	need |= view.present & FBIT(MASH_POL_F_VCL);
	*record = (dec.shared & need) == need;
	*signpost = *record || (dec.shared & FBIT(MASH_POL_F_SIGNPOST)) != 0;
	rc = MASH_OK;
out:
	mash_evt_free(ev);
	mash_store_event_row_free(row);
	return rc;
}
