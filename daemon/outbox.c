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

#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/outbox.h"
#include "store/store.h"

/* mashd_outbox_flush's one-at-a-time sender as a pipeline of one: each
 * message waits for the one before it, and nothing is sent after a
 * failure other than a refusal (the order guarantee of
 * mashd_outbox_flush). */
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
		if (rcs[i] != MASH_OK && rcs[i] != MASH_ERR_REFUSED)
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

/* ---- one job: publish, then settle (issue 31) ------------------------ */

/* Topics refused so far in one call (order per destination). Beyond
 * REFUSED_MAX distinct topics the call stops sending: order is never
 * traded for the bound. */
#define REFUSED_MAX 64

static int
refused_has(const char *const *set, size_t n, const char *topic)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(set[i], topic) == 0)
			return 1;
	return 0;
}

int
mashd_outbox_publish_rows(mashd_outbox_send_many_fn send, void *ctx,
                          const struct mash_store_outbox_row *rows, size_t n,
                          int *rcs)
{
	const char *topic[MASHD_OUTBOX_FLUSH_BATCH];
	const unsigned char *bytes[MASHD_OUTBOX_FLUSH_BATCH];
	size_t len[MASHD_OUTBOX_FLUSH_BATCH], idx[MASHD_OUTBOX_FLUSH_BATCH];
	int out[MASHD_OUTBOX_FLUSH_BATCH];
	const char *refused[REFUSED_MAX];
	size_t at = 0, k, i, n_refused = 0;
	int rc = MASH_OK;

	for (i = 0; i < n; i++)
		rcs[i] = MASH_ERR_STATE; /* not attempted */
	while (at < n && rc == MASH_OK) {
		/* The next list: rows whose topic was not refused. */
		for (k = 0; at < n && k < MASHD_OUTBOX_FLUSH_BATCH; at++) {
			if (refused_has(refused, n_refused, rows[at].topic))
				continue;
			idx[k] = at;
			topic[k] = rows[at].topic;
			bytes[k] = rows[at].bytes;
			len[k] = rows[at].len;
			out[k] = MASH_ERR_STATE;
			k++;
		}
		if (k == 0)
			break;
		send(ctx, topic, bytes, len, k, out);
		for (i = 0; i < k; i++) {
			rcs[idx[i]] = out[i];
			if (out[i] == MASH_OK)
				continue;
			if (out[i] != MASH_ERR_REFUSED) {
				if (rc == MASH_OK)
					rc = out[i];
				continue;
			}
			if (refused_has(refused, n_refused, topic[i]))
				continue;
			if (n_refused == REFUSED_MAX) {
				rc = MASH_ERR_REFUSED;
				continue;
			}
			refused[n_refused++] = rows[idx[i]].topic;
		}
	}
	return rc;
}

/* The back-off before attempt a + 1: retry_ms doubled per attempt. */
static int64_t
backoff_ms(const struct mashd_outbox_retry *r, int64_t a)
{
	int64_t ms = r->retry_ms;

	while (--a > 0 && ms < MASHD_OUTBOX_RETRY_MAX_MS)
		ms *= 2;
	return ms < MASHD_OUTBOX_RETRY_MAX_MS ? ms : MASHD_OUTBOX_RETRY_MAX_MS;
}

/* Count one failed attempt on row w (error rc_send) at now, or make it a
 * dead letter past the budget (*dead_id its id), inside the caller's
 * transaction. MASH_ERR_NOT_FOUND: the row is gone, nothing changed. */
static int
attempt_failed(struct mash_store *st, const struct mashd_outbox_retry *r,
               const struct mash_store_outbox_row *w, int rc_send, int64_t now,
               int64_t *dead_id)
{
	const char *error = mash_errname(rc_send);
	int64_t a = w->attempts + 1;
	int64_t first = w->first_fail_at > 0 ? w->first_fail_at : now;
	int rc;

	*dead_id = 0;
	if (a >= r->max_attempts && now - first >= r->max_age_ms) {
		rc = mash_store_outbox_kill(st, w->id, error, dead_id);
		if (rc == MASH_OK && r->dead != NULL)
			rc = r->dead(r->ctx, w, error, *dead_id);
		return rc;
	}
	return mash_store_outbox_failed(st, w->id, error,
	                                now + backoff_ms(r, a));
}

/* Said once the attempts are committed. */
static void
attempt_said(const struct mashd_outbox_retry *r,
             const struct mash_store_outbox_row *w, int rc_send,
             int64_t dead_id)
{
	const char *error = mash_errname(rc_send);
	int64_t a = w->attempts + 1;

	if (dead_id > 0) {
		mash_err("outbox: message %lld to %s is dead letter %lld after "
		         "%lld attempt(s) (%s): kept for mashctl outbox "
		         "retry|drop",
		         (long long)w->id, w->topic, (long long)dead_id,
		         (long long)a, error);
		if (r->n_dead != NULL)
			(*r->n_dead)++;
	} else {
		mash_warn("outbox: message %lld to %s not taken (%s, attempt "
		          "%lld of %lld); it and later ones to that topic wait "
		          "%lld ms",
		          (long long)w->id, w->topic, error, (long long)a,
		          (long long)r->max_attempts,
		          (long long)backoff_ms(r, a));
	}
}

/* Every refused or timed-out row of a job, in one transaction (one fsync
 * however many an inbox refused): all recorded, or none (they are tried
 * again as they were). */
static int
attempts_failed(struct mash_store *st, const struct mashd_outbox_retry *r,
                const struct mash_store_outbox_row *rows, const int *rcs,
                size_t n)
{
	int64_t dead[MASHD_OUTBOX_MARK_MAX];
	int64_t now = mash_clock_now(r->clock);
	size_t i, nf = 0;
	int rc;

	for (i = 0; i < n; i++)
		nf += rcs[i] == MASH_ERR_REFUSED || rcs[i] == MASH_ERR_TIMEOUT;
	if (nf == 0)
		return MASH_OK;
	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < n && rc == MASH_OK; i++) {
		dead[i] = -1;
		if (rcs[i] != MASH_ERR_REFUSED && rcs[i] != MASH_ERR_TIMEOUT)
			continue;
		rc = attempt_failed(st, r, &rows[i], rcs[i], now, &dead[i]);
		if (rc == MASH_ERR_NOT_FOUND) {
			dead[i] = -1; /* gone meanwhile */
			rc = MASH_OK;
		}
	}
	if (rc == MASH_OK)
		rc = mash_store_commit(st);
	else
		(void)mash_store_rollback(st);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < n; i++)
		if (dead[i] >= 0)
			attempt_said(r, &rows[i], rcs[i], dead[i]);
	return MASH_OK;
}

/* The DELIVERY records of the acknowledged rows (rcs MASH_OK) with an
 * audit_seq: one per topic and MASHD_OUTBOX_ACK_MAX seqs, in row order.
 * Inside the transaction that marks them done. */
static int
write_acks(const struct mashd_outbox_retry *r,
           const struct mash_store_outbox_row *rows, const int *rcs, size_t n)
{
	unsigned char seen[MASHD_OUTBOX_MARK_MAX];
	int64_t seqs[MASHD_OUTBOX_ACK_MAX];
	size_t i, k, ns;
	int rc;

	memset(seen, 0, n);
	for (i = 0; i < n; i++) {
		if (seen[i] || rcs[i] != MASH_OK || rows[i].audit_seq <= 0)
			continue;
		ns = 0;
		for (k = i; k < n; k++) {
			if (seen[k] || rcs[k] != MASH_OK ||
			    rows[k].audit_seq <= 0 ||
			    strcmp(rows[k].topic, rows[i].topic) != 0)
				continue;
			seen[k] = 1;
			seqs[ns++] = rows[k].audit_seq;
			if (ns == MASHD_OUTBOX_ACK_MAX) {
				rc = r->acked(r->ctx, rows[i].topic, seqs, ns);
				if (rc != MASH_OK)
					return rc;
				ns = 0;
			}
		}
		if (ns > 0) {
			rc = r->acked(r->ctx, rows[i].topic, seqs, ns);
			if (rc != MASH_OK)
				return rc;
		}
	}
	return MASH_OK;
}

/* Mark the acknowledged rows done and write their DELIVERY records, in
 * one transaction: a crash before its COMMIT publishes them again (and
 * they are recorded then), never records what the broker did not take.
 * The COMMIT does not wait for the disk (mash_store_begin_lazy): losing
 * it to a power cut is that same crash, and nothing outside hears of it
 * before the next batch's durable COMMIT carries it to disk; it was the
 * second fsync of every batch (issue 32). */
static int
mark_acked(struct mash_store *st, const struct mashd_outbox_retry *r,
           const struct mash_store_outbox_row *rows, const int *rcs, size_t n,
           size_t *nd)
{
	size_t i;
	int rc;

	*nd = 0;
	for (i = 0; i < n; i++)
		*nd += rcs[i] == MASH_OK;
	if (*nd == 0)
		return MASH_OK;
	rc = mash_store_begin_lazy(st);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < n && rc == MASH_OK; i++) {
		if (rcs[i] != MASH_OK)
			continue;
		rc = mash_store_outbox_done(st, rows[i].id);
		if (rc == MASH_ERR_NOT_FOUND)
			rc = MASH_OK; /* already done: a second publish */
	}
	if (rc == MASH_OK && r != NULL && r->acked != NULL)
		rc = write_acks(r, rows, rcs, n);
	if (rc != MASH_OK) {
		(void)mash_store_rollback(st);
		return rc;
	}
	return mash_store_commit(st);
}

int
mashd_outbox_settle(struct mash_store *st, const struct mashd_outbox_retry *r,
                    const struct mash_store_outbox_row *rows, const int *rcs,
                    size_t n, size_t *n_done)
{
	size_t i, nd = 0;
	int rc = MASH_OK, one;

	if (n_done != NULL)
		*n_done = 0;
	if (st == NULL || (rows == NULL && n > 0) || n > MASHD_OUTBOX_MARK_MAX)
		return MASH_ERR_INVAL;
	rc = mark_acked(st, r, rows, rcs, n, &nd);
	if (rc != MASH_OK)
		mash_warn("outbox: %zu published message(s) not marked done "
		          "(%s); they go again",
		          nd, mash_errname(rc));
	else if (n_done != NULL)
		*n_done = nd;
	if (r != NULL) {
		one = attempts_failed(st, r, rows, rcs, n);
		return rc != MASH_OK ? rc : one;
	}
	for (i = 0; i < n; i++)
		if (rcs[i] == MASH_ERR_REFUSED || rcs[i] == MASH_ERR_TIMEOUT)
			mash_warn("outbox: message %lld to %s not taken (%s); "
			          "kept for the next flush",
			          (long long)rows[i].id, rows[i].topic,
			          mash_errname(rcs[i]));
	return rc;
}

int
mashd_outbox_flush_many(struct mash_store *st, mashd_outbox_send_many_fn send,
                        void *ctx, size_t *n_sent)
{
	return mashd_outbox_flush_retry(st, send, ctx, NULL, n_sent);
}

int
mashd_outbox_flush_retry(struct mash_store *st, mashd_outbox_send_many_fn send,
                         void *ctx, const struct mashd_outbox_retry *r,
                         size_t *n_sent)
{
	struct mash_store_outbox_list *l = NULL;
	int *rcs = NULL;
	int64_t after = 0;
	size_t sent = 0, nd;
	int rc = MASH_ERR_INVAL, src;

	if (n_sent != NULL)
		*n_sent = 0;
	if (st == NULL || send == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	rcs = mash_calloc(MASHD_OUTBOX_MARK_MAX, sizeof(*rcs));
	if (rcs == NULL)
		goto out;
	/* Publish outside any transaction (nothing leaves the hub while
	 * one is open); what was published is marked done one commit per
	 * MASHD_OUTBOX_MARK_MAX messages, not per list (a batch of events
	 * makes hundreds of deliveries, issue 22). A failed row waits with
	 * its topic (mash_store_outbox_pending leaves them out), so the next
	 * read, after the last id of this one, is never held up by it. */
	for (;;) {
		rc = mash_store_outbox_pending(st, after, MASHD_OUTBOX_MARK_MAX,
		                               &l);
		if (rc != MASH_OK || l->n == 0)
			break;
		src = mashd_outbox_publish_rows(send, ctx, l->v, l->n, rcs);
		rc = mashd_outbox_settle(st, r, l->v, rcs, l->n, &nd);
		sent += nd;
		if (src != MASH_OK) {
			if (src != MASH_ERR_REFUSED)
				mash_warn("outbox: flush stopped (%s); the "
				          "rest stay pending",
				          mash_errname(src));
			rc = src;
			break;
		}
		if (rc != MASH_OK)
			break;
		after = l->v[l->n - 1].id;
		mash_store_outbox_list_free(l);
		l = NULL;
	}
out:
	mash_store_outbox_list_free(l);
	mash_free(rcs);
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
                        const unsigned char *env, size_t env_len,
                        int64_t audit_seq)
{
	char topic[MASH_MAX_TOPIC + 1];
	int rc = inbox_topic(recipient, topic);

	return rc == MASH_OK ? mash_store_outbox_add_seq(
	                           st, topic, env, env_len, audit_seq, NULL)
	                     : rc;
}

int
mashd_outbox_seal_or_hold(struct mash_store *st, mashd_seal_to_fn seal_to,
                          void *ctx, const char *recipient,
                          const char *payload_type,
                          const unsigned char *payload, size_t len,
                          unsigned char **env, size_t *env_len,
                          int64_t *held_id)
{
	char topic[MASH_MAX_TOPIC + 1];
	int rc;

	*env = NULL;
	*env_len = 0;
	*held_id = 0;
	/* A bad recipient is refused before anything is sealed for it. */
	rc = inbox_topic(recipient, topic);
	if (rc != MASH_OK)
		return rc;
	rc = seal_to(ctx, recipient, payload_type, payload, len, env, env_len);
	if (rc != MASH_ERR_NO_ENC_KEY)
		return rc;
	return mashd_outbox_hold(st, recipient, payload_type, payload, len,
	                         held_id);
}

int
mashd_outbox_hold(struct mash_store *st, const char *recipient,
                  const char *payload_type, const unsigned char *payload,
                  size_t len, int64_t *held_id)
{
	char topic[MASH_MAX_TOPIC + 1];
	int64_t id = 0;
	int rc;

	*held_id = 0;
	rc = inbox_topic(recipient, topic);
	if (rc != MASH_OK)
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
	uint64_t seq = 0;
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
	/* Audited first: the row names the record that queued it. */
	if (rc == MASH_OK && audit != NULL)
		rc = audit(ctx, recipient, r->held_type, r->id, &seq);
	if (rc == MASH_OK)
		rc = mash_store_outbox_release(st, r->id, env, envlen,
		                               (int64_t)seq);
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
