/*
 * trigger_sees.c - mashd's answer to "what may this attendee learn of that
 * contributing event" (daemon/trigger_view.h): the stored event decided
 * by the sharing policy for the attendee, at the trigger's level, for the
 * purpose automatic delivery uses there (issue 26). Core thread only.
 */
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/mashd.h"
#include "event/evt.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "store/store.h"

#define FBIT(f) ((uint64_t)1 << (f))

/* A contributing event as read and decoded once for every attendee of
 * one trigger message (mashd_trigger_sees_memo). */
struct mashd_sees_memo {
	char ref[MASH_MAX_AGENCY + 1 + MASH_MAX_ID + 1];
	Mash__V1__AgencyEvent *ev; /* owned; NULL: not stored or bad */
	int rc;                    /* what reading it gave */
};

void
mashd_trigger_sees_memo(void *ctx, int on)
{
	struct mashd *d = ctx;
	size_t i;

	for (i = 0; i < d->n_sees_memo; i++) {
		mash_evt_free(d->sees_memo[i].ev);
		d->sees_memo[i].ev = NULL;
	}
	d->n_sees_memo = 0;
	d->sees_memo_on = on && d->sees_memo != NULL;
}

int
mashd_trigger_sees_memo_new(struct mashd *d)
{
	d->sees_memo = mash_calloc(MASHD_SEES_MEMO, sizeof(*d->sees_memo));
	return d->sees_memo != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

void
mashd_trigger_sees_memo_free(struct mashd *d)
{
	if (d->sees_memo == NULL)
		return;
	mashd_trigger_sees_memo(d, 0);
	mash_free(d->sees_memo);
	d->sees_memo = NULL;
}

/* The stored event event_ref names (agency, id), decoded: from the memo
 * when one is on (*ev then borrowed, *owned 0), else read now. */
static int
event_for(struct mashd *d, const char *agency, const char *id,
          const char *event_ref, Mash__V1__AgencyEvent **ev, int *owned)
{
	struct mash_store_event_row *row = NULL;
	struct mashd_sees_memo *m = NULL;
	size_t i;
	int rc;

	*ev = NULL;
	*owned = 1;
	if (d->sees_memo_on) {
		for (i = 0; i < d->n_sees_memo; i++)
			if (strcmp(d->sees_memo[i].ref, event_ref) == 0) {
				*ev = d->sees_memo[i].ev;
				*owned = 0;
				return d->sees_memo[i].rc;
			}
		if (d->n_sees_memo < MASHD_SEES_MEMO &&
		    strlen(event_ref) < sizeof(m->ref))
			m = &d->sees_memo[d->n_sees_memo];
	}
	rc = mash_store_event_get(d->store, agency, id, &row);
	if (rc == MASH_OK)
		rc = mash_evt_decode(row->payload, row->payload_len, ev, NULL,
		                     0);
	mash_store_event_row_free(row);
	if (m != NULL) {
		(void)mash_strlcpy(m->ref, event_ref, sizeof(m->ref));
		m->ev = *ev;
		m->rc = rc;
		d->n_sees_memo++;
		*owned = 0;
	}
	return rc;
}

int
mashd_trigger_sees(void *ctx, const char *case_id, const char *recipient,
                   const char *event_ref, unsigned level, unsigned n_agencies,
                   int *record, int *signpost)
{
	struct mashd *d = ctx;
	Mash__V1__AgencyEvent *ev = NULL;
	struct mash_pol_event view;
	struct mash_pol_case c;
	struct mash_pol_recipient r;
	struct mash_pol_decision dec;
	struct mash_dir_entry e;
	char agency[MASH_MAX_AGENCY + 1];
	const char *slash;
	uint64_t need;
	int rc, owned = 1;

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
	rc = event_for(d, agency, slash + 1, event_ref, &ev, &owned);
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
	if (owned)
		mash_evt_free(ev);
	return rc;
}
