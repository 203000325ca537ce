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
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/outbox.h"
#include "store/store.h"

int
mashd_outbox_mark_done(struct mash_store *st, const int64_t *ids, size_t n)
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
	int64_t done[MASHD_OUTBOX_MARK_MAX] = {0}, after = 0;
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
			rc = mashd_outbox_mark_done(st, done, n_done);
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
	mrc = st != NULL ? mashd_outbox_mark_done(st, done, n_done) : MASH_OK;
	if (rc == MASH_OK)
		rc = mrc;
	mash_store_outbox_list_free(l);
	if (n_sent != NULL)
		*n_sent = sent;
	return rc;
}

/* ---- sealed deliveries (issue 25) ------------------------------------ */

static int
inbox_topic(const char *recipient, char topic[MASH_MAX_TOPIC + 1])
{
	return mash_snprintf(topic, MASH_MAX_TOPIC + 1, MASHD_INBOX_PREFIX "%s",
	                     recipient) == MASH_OK
	           ? MASH_OK
	           : MASH_ERR_FIELD_TOO_LONG;
}

int
mashd_outbox_add_sealed(struct mash_store *st, const char *recipient,
                        const unsigned char *env, size_t env_len)
{
	char topic[MASH_MAX_TOPIC + 1];
	int rc = inbox_topic(recipient, topic);

	return rc == MASH_OK
	           ? mash_store_outbox_add(st, topic, env, env_len, NULL)
	           : rc;
}

int
mashd_outbox_queue(struct mash_store *st, mashd_seal_to_fn seal_to, void *ctx,
                   const char *recipient, const char *payload_type,
                   const unsigned char *payload, size_t len, int64_t *held_id)
{
	char topic[MASH_MAX_TOPIC + 1];
	unsigned char *env = NULL;
	size_t envlen = 0;
	int64_t id = 0;
	int rc;

	*held_id = 0;
	rc = inbox_topic(recipient, topic);
	if (rc != MASH_OK)
		return rc;
	rc = seal_to(ctx, recipient, payload_type, payload, len, &env, &envlen);
	if (rc == MASH_OK) {
		rc = mash_store_outbox_add(st, topic, env, envlen, NULL);
		mash_free(env);
		return rc;
	}
	if (rc != MASH_ERR_NO_ENC_KEY)
		return rc;
	/* No clear fallback: kept in the store (as every record is) until
	 * the recipient has a key; said by id, never by content. */
	rc = mash_store_outbox_hold(st, topic, payload_type, payload, len, &id);
	if (rc != MASH_OK)
		return rc;
	*held_id = id;
	mash_warn("outbox: %s for %s held as %lld: no encryption key in the "
	          "directory (delivered after a reload that adds one)",
	          payload_type, recipient, (long long)id);
	return MASH_OK;
}

/* Seal and release one held row in its own transaction: 1 released, 0
 * still no key, or an error. */
static int
release_one(struct mash_store *st, mashd_seal_to_fn seal_to,
            mashd_outbox_audit_fn audit, void *ctx,
            const struct mash_store_outbox_row *r)
{
	const char *recipient;
	unsigned char *env = NULL;
	size_t envlen = 0;
	int rc;

	if (strncmp(r->topic, MASHD_INBOX_PREFIX, strlen(MASHD_INBOX_PREFIX)) !=
	    0)
		return MASH_ERR_INTERNAL;
	recipient = r->topic + strlen(MASHD_INBOX_PREFIX);
	/* Sealed inside the transaction that audits it, as at first. */
	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		return rc;
	rc = seal_to(ctx, recipient, r->held_type, r->bytes, r->len, &env,
	             &envlen);
	if (rc == MASH_ERR_NO_ENC_KEY) {
		(void)mash_store_rollback(st);
		return 0;
	}
	if (rc == MASH_OK)
		rc = mash_store_outbox_release(st, r->id, env, envlen);
	if (rc == MASH_OK && audit != NULL)
		rc = audit(ctx, recipient, r->held_type, r->id);
	if (rc == MASH_OK)
		rc = mash_store_commit(st);
	else
		(void)mash_store_rollback(st);
	if (rc == MASH_OK)
		mash_info(
		    "outbox: %s for %s (held as %lld) sealed and released",
		    r->held_type, recipient, (long long)r->id);
	mash_free(env);
	return rc == MASH_OK ? 1 : rc;
}

int
mashd_outbox_release(struct mash_store *st, mashd_seal_to_fn seal_to,
                     mashd_outbox_audit_fn audit, void *ctx, size_t *n_released,
                     size_t *n_still_held)
{
	struct mash_store_outbox_list *l = NULL;
	size_t released = 0, held = 0, i;
	int64_t after = 0;
	int rc = MASH_ERR_INVAL, one;

	if (st == NULL || seal_to == NULL)
		goto out;
	for (;;) {
		rc = mash_store_outbox_held(st, after, MASHD_OUTBOX_FLUSH_BATCH,
		                            &l);
		if (rc != MASH_OK || l->n == 0)
			break;
		for (i = 0; i < l->n; i++) {
			one = release_one(st, seal_to, audit, ctx, &l->v[i]);
			if (one < 0) {
				rc = one;
				goto out;
			}
			if (one == 1)
				released++;
			else
				held++;
		}
		after = l->v[l->n - 1].id;
		mash_store_outbox_list_free(l);
		l = NULL;
	}
out:
	mash_store_outbox_list_free(l);
	if (n_released != NULL)
		*n_released = released;
	if (n_still_held != NULL)
		*n_still_held = held;
	return rc;
}
