/*
 * picture_delivery.c - the requester's own delivery state of each record
 * in a Picture (issue 31: a DELIVERY record means the broker acknowledged
 * it; until then it is queued, and the picture says which).
 *
 * The trail is the source: the event's transaction wrote DELIVERY_QUEUED
 * (or DELIVERY_HELD, for a recipient without a key) naming the case, the
 * event and the recipient; the outbox row it queued keeps that record's
 * seq (a held one is named by its outbox id, extra.held_as). A row still
 * in the outbox is queued (or retrying, once refused or unacknowledged),
 * one among the dead letters failed, and one gone was acknowledged,
 * unless an operator dropped it: `mashctl outbox drop` names the case and
 * the queued seq in its DELIVERY_DROPPED record. Only the case index is
 * read, never the whole trail.
 */
#include <string.h>

#include <jansson.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/picture_delivery.h"
#include "store/store.h"
#include "store/store_aud.h"

/* What the trail says of one record: the newest queuing record. */
struct slot {
	int64_t seq;     /* DELIVERY_QUEUED's seq, or 0 */
	int64_t held_as; /* DELIVERY_HELD's outbox id, or 0 */
};

struct walk {
	const char *principal;
	Mash__V1__SharedRecord *recs;
	struct slot *slots;
	size_t n;
	int64_t *dropped; /* queued seqs an operator dropped */
	size_t n_dropped, cap_dropped;
};

/* extra.<key> of a stored record as a positive integer, or 0. The record
 * is our own, written by mash_aud_append; still read as untrusted. */
static int64_t
extra_int(const struct mash_store_aud_raw *row, const char *key)
{
	json_t *root, *v;
	int64_t out = 0;

	root = json_loadb(row->record, row->record_len, 0, NULL);
	if (root == NULL)
		return 0;
	v = json_object_get(json_object_get(root, "extra"), key);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		out = (int64_t)json_integer_value(v);
	json_decref(root);
	return out;
}

static int
add_dropped(struct walk *w, int64_t seq)
{
	int64_t *nd;

	if (w->n_dropped == w->cap_dropped) {
		w->cap_dropped = w->cap_dropped == 0 ? 8 : w->cap_dropped * 2;
		nd = mash_realloc(w->dropped,
		                  w->cap_dropped * sizeof(*w->dropped));
		if (nd == NULL)
			return MASH_ERR_NOMEM;
		w->dropped = nd;
	}
	w->dropped[w->n_dropped++] = seq;
	return MASH_OK;
}

static int
on_row(void *ctx, const struct mash_store_aud_raw *row)
{
	struct walk *w = ctx;
	int queued, held;
	int64_t seq;
	size_t i;

	if (row->type == NULL || !mash_streq(row->recipient, w->principal))
		return MASH_OK;
	if (strcmp(row->type, "DELIVERY_DROPPED") == 0) {
		seq = extra_int(row, "queued");
		return seq > 0 ? add_dropped(w, seq) : MASH_OK;
	}
	queued = strcmp(row->type, "DELIVERY_QUEUED") == 0;
	held = strcmp(row->type, "DELIVERY_HELD") == 0;
	if ((!queued && !held) || row->agency == NULL ||
	    row->event_id == NULL || row->seq <= 0)
		return MASH_OK;
	for (i = 0; i < w->n; i++) {
		if (!mash_streq(w->recs[i].agency, row->agency) ||
		    !mash_streq(w->recs[i].event_id, row->event_id))
			continue;
		/* Rows come in seq order: the newest queuing wins. */
		w->slots[i].seq = queued ? row->seq : 0;
		w->slots[i].held_as = held ? extra_int(row, "held_as") : 0;
		break;
	}
	return MASH_OK;
}

static int
was_dropped(const struct walk *w, int64_t seq)
{
	size_t i;

	for (i = 0; i < w->n_dropped; i++)
		if (w->dropped[i] == seq)
			return 1;
	return 0;
}

/* The state of one queued or held delivery, or NULL on a store error. */
static const char *
state_of(struct mash_store *st, const struct walk *w, const struct slot *sl,
         int *rc)
{
	int64_t attempts = 0;
	int where = MASH_STORE_OB_GONE;

	if (sl->seq > 0 && was_dropped(w, sl->seq))
		return MASHD_DLV_DROPPED;
	*rc = mash_store_outbox_where(
	    st, sl->seq, sl->seq > 0 ? 0 : sl->held_as, &where, &attempts);
	if (*rc != MASH_OK)
		return NULL;
	switch (where) {
	case MASH_STORE_OB_PENDING:
		return attempts > 0 ? MASHD_DLV_RETRYING : MASHD_DLV_QUEUED;
	case MASH_STORE_OB_HELD:
		return MASHD_DLV_HELD;
	case MASH_STORE_OB_DEAD:
		return MASHD_DLV_FAILED;
	default:
		/* Out of the outbox: acknowledged, which the DELIVERY record
		 * says, unless it left the hold (the released message is
		 * queued by a record of its own, found in the audit report). */
		return sl->seq > 0 ? MASHD_DLV_DELIVERED : MASHD_DLV_RELEASED;
	}
}

int
mashd_picture_delivery(struct mash_store *st, const char *case_id,
                       const char *principal, Mash__V1__SharedRecord *recs,
                       size_t n)
{
	struct mash_store_aud_filter f;
	struct walk w;
	const char **states = NULL;
	size_t i;
	int rc;

	if (st == NULL || case_id == NULL || principal == NULL ||
	    (recs == NULL && n > 0))
		return MASH_ERR_INVAL;
	if (n == 0)
		return MASH_OK;
	memset(&w, 0, sizeof(w));
	w.principal = principal;
	w.recs = recs;
	w.n = n;
	rc = MASH_ERR_NOMEM;
	w.slots = mash_calloc(n, sizeof(*w.slots));
	states = mash_calloc(n, sizeof(*states));
	if (w.slots == NULL || states == NULL)
		goto out;
	memset(&f, 0, sizeof(f));
	f.case_id = case_id;
	f.principal = principal;
	f.since = -1;
	f.until = -1;
	rc = mash_store_aud_rows(st, &f, on_row, &w);
	if (rc != MASH_OK)
		goto out;
	/* All or nothing: a picture never shows half its states. */
	for (i = 0; i < n; i++) {
		if (w.slots[i].seq == 0 && w.slots[i].held_as == 0)
			continue;
		states[i] = state_of(st, &w, &w.slots[i], &rc);
		if (states[i] == NULL)
			goto out;
	}
	for (i = 0; i < n; i++)
		if (states[i] != NULL)
			recs[i].delivery = (char *)states[i];
	rc = MASH_OK;
out:
	mash_free(w.dropped);
	mash_free(w.slots);
	mash_free(states);
	return rc;
}
