/*
 * outbox.c - flush the store's outbox. See outbox.h.
 *
 * Why publish before marking done (not the other way round): a crash
 * between the two sends the message twice, which receivers absorb (they
 * de-duplicate by audit_seq); marking first would lose it, and the
 * audit trail would claim a delivery that never happened.
 *
 * The rows published from one list are marked done in one transaction
 * (one fsync per list, not per message, issue 22): a crash before its
 * COMMIT only means those messages are published again.
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/outbox.h"
#include "store/store.h"

/* Mark rows [0, n) of l done in one transaction (one fsync). Only rows
 * already published get here; a failure only means a second publish. */
static int
mark_done(struct mash_store *st, const struct mash_store_outbox_list *l,
          size_t n)
{
	size_t i;
	int rc;

	if (n == 0)
		return MASH_OK;
	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < n; i++) {
		rc = mash_store_outbox_done(st, l->v[i].id);
		if (rc != MASH_OK && rc != MASH_ERR_NOT_FOUND) {
			(void)mash_store_rollback(st);
			return rc;
		}
	}
	return mash_store_commit(st);
}

int
mashd_outbox_flush(struct mash_store *st, mashd_outbox_send_fn send, void *ctx,
                   size_t *n_sent)
{
	struct mash_store_outbox_list *l = NULL;
	int64_t after = 0;
	size_t sent = 0, i = 0;
	int rc = MASH_ERR_INVAL, src;

	if (n_sent != NULL)
		*n_sent = 0;
	if (st == NULL || send == NULL)
		goto out;
	for (;;) {
		i = 0;
		rc = mash_store_outbox_pending(st, after,
		                               MASHD_OUTBOX_FLUSH_BATCH, &l);
		if (rc != MASH_OK)
			goto out;
		if (l->n == 0)
			break;
		/* Publish outside any transaction (nothing leaves the hub
		 * while one is open), then mark the published prefix. */
		for (i = 0; i < l->n; i++) {
			const struct mash_store_outbox_row *r = &l->v[i];

			rc = send(ctx, r->topic, r->bytes, r->len);
			if (rc != MASH_OK) {
				mash_warn(
				    "outbox: message %lld to %s not "
				    "published (%s); kept for the next flush",
				    (long long)r->id, r->topic,
				    mash_errname(rc));
				goto out;
			}
			after = r->id;
			sent++;
		}
		rc = mark_done(st, l, l->n);
		if (rc != MASH_OK)
			goto out;
		mash_store_outbox_list_free(l);
		l = NULL;
	}
	rc = MASH_OK;
out:
	if (l != NULL && rc != MASH_OK && i > 0 && i < l->n) {
		src = mark_done(st, l, i);
		if (src != MASH_OK)
			rc = src;
	}
	mash_store_outbox_list_free(l);
	if (n_sent != NULL)
		*n_sent = sent;
	return rc;
}
