/*
 * outbox.c - flush the store's outbox. See outbox.h.
 *
 * Why publish before marking done (not the other way round): a crash
 * between the two sends the message twice, which receivers absorb (they
 * de-duplicate by audit_seq); marking first would lose it, and the
 * audit trail would claim a delivery that never happened.
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/outbox.h"
#include "store/store.h"

int
mashd_outbox_flush(struct mash_store *st, mashd_outbox_send_fn send, void *ctx,
                   size_t *n_sent)
{
	struct mash_store_outbox_list *l = NULL;
	int64_t after = 0;
	size_t sent = 0, i;
	int rc = MASH_ERR_INVAL;

	if (n_sent != NULL)
		*n_sent = 0;
	if (st == NULL || send == NULL)
		goto out;
	for (;;) {
		rc = mash_store_outbox_pending(st, after,
		                               MASHD_OUTBOX_FLUSH_BATCH, &l);
		if (rc != MASH_OK)
			goto out;
		if (l->n == 0)
			break;
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
			rc = mash_store_outbox_done(st, r->id);
			if (rc != MASH_OK && rc != MASH_ERR_NOT_FOUND)
				goto out;
			after = r->id;
			sent++;
		}
		mash_store_outbox_list_free(l);
		l = NULL;
	}
	rc = MASH_OK;
out:
	mash_store_outbox_list_free(l);
	if (n_sent != NULL)
		*n_sent = sent;
	return rc;
}
