/*
 * outbox.c - flush the store's outbox. See outbox.h.
 *
 * Why publish before marking done (not the other way round): a crash
 * between the two sends the message twice, which receivers absorb (they
 * de-duplicate by audit_seq); marking first would lose it, and the
 * audit trail would claim a delivery that never happened.
 *
 * The rows published are marked done in one transaction per flush (or
 * per MASHD_OUTBOX_MARK_MAX rows), not one per message or per list
 * (issue 22): a crash before its COMMIT only means those messages are
 * published again.
 */
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/outbox.h"
#include "store/store.h"

/* Mark ids[0, n) done in one transaction (one fsync). Only rows already
 * published get here; a failure only means a second publish. */
static int
mark_done(struct mash_store *st, const int64_t *ids, size_t n)
{
	size_t i;
	int rc;

	if (n == 0)
		return MASH_OK;
	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < n; i++) {
		rc = mash_store_outbox_done(st, ids[i]);
		if (rc != MASH_OK && rc != MASH_ERR_NOT_FOUND) {
			(void)mash_store_rollback(st);
			return rc;
		}
	}
	return mash_store_commit(st);
}

/* mashd_outbox_flush's one-at-a-time sender as a pipeline of one: each
 * message waits for the one before it, and nothing is sent after a
 * failure (the order guarantee of mashd_outbox_flush). */
struct one_by_one {
	mashd_outbox_send_fn send;
	void *ctx;
};

static void
send_one_by_one(void *ctx, const char *const *topic,
                const unsigned char *const *bytes, const size_t *len, size_t n,
                int *rcs)
{
	const struct one_by_one *o = ctx;
	size_t i;

	for (i = 0; i < n; i++) {
		rcs[i] = o->send(o->ctx, topic[i], bytes[i], len[i]);
		if (rcs[i] != MASH_OK)
			break;
	}
	for (i++; i < n; i++)
		rcs[i] = MASH_ERR_STATE; /* not attempted */
}

int
mashd_outbox_flush(struct mash_store *st, mashd_outbox_send_fn send, void *ctx,
                   size_t *n_sent)
{
	struct one_by_one o;

	if (n_sent != NULL)
		*n_sent = 0;
	if (st == NULL || send == NULL)
		return MASH_ERR_INVAL;
	o.send = send;
	o.ctx = ctx;
	return mashd_outbox_flush_many(st, send_one_by_one, &o, n_sent);
}

int
mashd_outbox_flush_many(struct mash_store *st, mashd_outbox_send_many_fn send,
                        void *ctx, size_t *n_sent)
{
	struct mash_store_outbox_list *l = NULL;
	const char *topic[MASHD_OUTBOX_FLUSH_BATCH];
	const unsigned char *bytes[MASHD_OUTBOX_FLUSH_BATCH];
	size_t len[MASHD_OUTBOX_FLUSH_BATCH];
	int rcs[MASHD_OUTBOX_FLUSH_BATCH];
	/* On the stack: a flush runs after every batch and every tick. */
	int64_t done[MASHD_OUTBOX_MARK_MAX], after = 0;
	size_t sent = 0, n_done = 0, i, k;
	int rc = MASH_ERR_INVAL, mrc;

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
		if (l->n > MASHD_OUTBOX_FLUSH_BATCH) {
			rc = MASH_ERR_INTERNAL;
			goto out;
		}
		/* Publish outside any transaction (nothing leaves the hub
		 * while one is open); the acknowledged prefix is marked done
		 * with the lists before it, not list by list: one commit per
		 * MASHD_OUTBOX_MARK_MAX messages (a batch of events makes
		 * hundreds of deliveries; a commit each list was most of
		 * mashd's writes, issue 22). */
		for (i = 0; i < l->n; i++) {
			topic[i] = l->v[i].topic;
			bytes[i] = l->v[i].bytes;
			len[i] = l->v[i].len;
		}
		send(ctx, topic, bytes, len, l->n, rcs);
		for (k = 0; k < l->n && rcs[k] == MASH_OK; k++)
			done[n_done++] = l->v[k].id;
		sent += k;
		if (k < l->n) {
			mash_warn("outbox: message %lld to %s not published "
			          "(%s); kept for the next flush",
			          (long long)l->v[k].id, l->v[k].topic,
			          mash_errname(rcs[k]));
			rc = rcs[k];
			goto out;
		}
		if (n_done + MASHD_OUTBOX_FLUSH_BATCH > MASHD_OUTBOX_MARK_MAX) {
			rc = mark_done(st, done, n_done);
			if (rc != MASH_OK)
				goto out;
			n_done = 0;
		}
		after = l->v[l->n - 1].id;
		mash_store_outbox_list_free(l);
		l = NULL;
	}
	rc = MASH_OK;
out:
	/* Also after a failed send: what the broker took is done. */
	mrc = st != NULL ? mark_done(st, done, n_done) : MASH_OK;
	if (rc == MASH_OK)
		rc = mrc;
	mash_store_outbox_list_free(l);
	if (n_sent != NULL)
		*n_sent = sent;
	return rc;
}
