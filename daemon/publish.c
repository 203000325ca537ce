/*
 * publish.c - mashd's outgoing side: seal for a recipient and sign
 * (crypto/inbox.h), publish the outbox, release held deliveries when a
 * key arrives (issue 25), publish other signed messages. Main thread only
 * (see mashd.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/aud.h"
#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/inbox.h"
#include "daemon/mashd.h"
#include "daemon/outbox.h"
#include "daemon/outbox_pump.h"
#include "daemon/seal_cache.h"
#include "daemon/seal_defer.h"
#include "daemon/seal_pool.h"
#include "policy/dir.h"
#include "store/store.h"

int
mashd_seal(void *ctx, const char *payload_type, const unsigned char *payload,
           size_t len, unsigned char **env, size_t *env_len)
{
	struct mashd *d = ctx;

	return mash_env_seal(d->key, d->signer, d->key_id, payload_type,
	                     payload, len, env, env_len);
}

int
mashd_seal_to(void *ctx, const char *recipient, const char *payload_type,
              const unsigned char *payload, size_t len, unsigned char **env,
              size_t *env_len)
{
	return mashd_seal_to_with(ctx, NULL, recipient, payload_type, payload,
	                          len, env, env_len);
}

int
mashd_seal_to_with(void *ctx, const struct mash_seal_to *to,
                   const char *recipient, const char *payload_type,
                   const unsigned char *payload, size_t len,
                   unsigned char **env, size_t *env_len)
{
	struct mashd *d = ctx;
	struct mash_dir_entry e;

	*env = NULL;
	*env_len = 0;
	/* to was derived from the directory's key on the core thread. */
	if (to != NULL)
		return mash_inbox_seal_to(to, d->key, d->signer, d->key_id,
		                          recipient, payload_type, payload, len,
		                          env, env_len);
	if (d->directory == NULL ||
	    mash_dir_lookup(d->directory, recipient, &e) != MASH_OK ||
	    e.enc_pub == NULL)
		return MASH_ERR_NO_ENC_KEY;
	return mash_inbox_seal_with(NULL, d->key, d->signer, d->key_id,
	                            recipient, e.enc_pub, payload_type, payload,
	                            len, env, env_len);
}

/* Each job gets its recipient's key for the batch (derived here, on the
 * core thread, the first time the batch seals to it; crypto/seal.h says
 * why that is sound); a job the cache cannot serve, or whose recipient
 * has no key, goes without and seals (or fails) as before. */
static void
batch_keys(struct mashd *d, struct mashd_seal_job *jobs, size_t n)
{
	struct mash_dir_entry e;
	size_t i;

	mashd_seal_cache_reserve(d->seal_cache, n);
	for (i = 0; i < n; i++) {
		jobs[i].to = NULL;
		if (d->seal_cache != NULL && d->directory != NULL &&
		    mash_dir_lookup(d->directory, jobs[i].recipient, &e) ==
		        MASH_OK &&
		    e.enc_pub != NULL)
			jobs[i].to = mashd_seal_cache_get(
			    d->seal_cache, jobs[i].recipient, e.enc_pub);
	}
}

void
mashd_seal_many(void *ctx, struct mashd_seal_job *jobs, size_t n)
{
	struct mashd *d = ctx;
	uint64_t t0 = mashd_stage_start();
	size_t i;

	batch_keys(d, jobs, n);
	if (d->seal_pool != NULL)
		mashd_seal_pool_run(d->seal_pool, jobs, n);
	else /* no worker thread: every job here, never one skipped */
		for (i = 0; i < n; i++)
			jobs[i].rc = mashd_seal_to_with(
			    d, jobs[i].to, jobs[i].recipient,
			    jobs[i].payload_type, jobs[i].payload, jobs[i].len,
			    &jobs[i].env, &jobs[i].env_len);
	for (i = 0; i < n; i++)
		jobs[i].to = NULL;
	mashd_stage_add(&d->stages, MASHD_STAGE_SEAL, t0);
}

int
mashd_seal_defer(void *ctx, struct mashd_seal_job *jobs, size_t n)
{
	struct mashd *d = ctx;
	uint64_t t0 = mashd_stage_start();
	size_t i;
	int rc;

	if (d->sdq == NULL)
		return MASH_ERR_STATE;
	batch_keys(d, jobs, n);
	rc = mashd_sdq_add(d->sdq, jobs, n); /* copies the keys */
	for (i = 0; i < n; i++)
		jobs[i].to = NULL;
	mashd_stage_add(&d->stages, MASHD_STAGE_SEAL, t0);
	return rc;
}

/* Seal what the batch queued and add its outbox rows, in the open
 * transaction (daemon/seal_defer.h); counted as sealing. */
int
mashd_seal_deferred_flush(struct mashd *d)
{
	uint64_t t0;
	int rc;

	/* Most commits outside a batch (quarantine, duplicates) queued
	 * nothing: they are not counted as sealing. */
	if (d->sdq == NULL || mashd_sdq_mark(d->sdq) == 0)
		return MASH_OK;
	t0 = mashd_stage_start();
	rc = mashd_sdq_flush(d->sdq, d->store, NULL);
	mashd_stage_add(&d->stages, MASHD_STAGE_SEAL, t0);
	return rc;
}

/* The DELIVERY_QUEUED record of a delivery released from hold (issue
 * 25), inside release's transaction; *seq for its outbox row. */
static int
released_audit(void *ctx, const char *recipient, const char *payload_type,
               int64_t id, uint64_t *seq)
{
	struct mashd *d = ctx;
	struct mash_aud_record ar;
	char extra[256];

	(void)mash_snprintf(extra, sizeof(extra),
	                    "{\"payload_type\":\"%s\",\"held_as\":%lld}",
	                    payload_type, (long long)id);
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_DELIVERY_QUEUED;
	ar.actor = "mashd";
	ar.recipient = recipient;
	ar.reason = "released from hold: the recipient's key is known";
	ar.extra_json = extra;
	return mash_aud_append(d->aud, &ar, seq);
}

/* The DELIVERY record of messages the broker acknowledged (issue 31),
 * in the transaction that marks them done: which inbox, and the records
 * that queued them. */
static int
acked_audit(void *ctx, const char *topic, const int64_t *seqs, size_t n)
{
	struct mashd *d = ctx;
	struct mash_aud_record ar;
	char extra[MASH_AUD_MAX_EXTRA];
	size_t i, at;

	if (d->aud == NULL)
		return MASH_ERR_STATE;
	at = (size_t)snprintf(extra, sizeof(extra), "{\"queued\":[");
	for (i = 0; i < n && at < sizeof(extra); i++)
		at += (size_t)snprintf(extra + at, sizeof(extra) - at, "%s%lld",
		                       i > 0 ? "," : "", (long long)seqs[i]);
	if (at < sizeof(extra))
		at += (size_t)snprintf(extra + at, sizeof(extra) - at, "]}");
	if (at >= sizeof(extra))
		return MASH_ERR_INTERNAL; /* MASHD_OUTBOX_ACK_MAX fits */
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_DELIVERY;
	ar.actor = "mashd";
	if (strncmp(topic, MASHD_INBOX_PREFIX, strlen(MASHD_INBOX_PREFIX)) == 0)
		ar.recipient = topic + strlen(MASHD_INBOX_PREFIX);
	ar.extra_json = extra;
	return mash_aud_append(d->aud, &ar, NULL);
}

/* The DELIVERY_FAILED record of a dead letter (issue 31), inside the
 * transaction that moves it. Ids and the error token only: the bytes are
 * sealed to the recipient and stay in the dead letter. */
static int
dead_audit(void *ctx, const struct mash_store_outbox_row *r, const char *error,
           int64_t dead_id)
{
	struct mashd *d = ctx;
	struct mash_aud_record ar;
	char extra[256], reason[128];
	const char *recipient = NULL;

	if (d->aud == NULL)
		return MASH_ERR_STATE; /* never unaudited: the row stays */
	if (strncmp(r->topic, MASHD_INBOX_PREFIX, strlen(MASHD_INBOX_PREFIX)) ==
	    0)
		recipient = r->topic + strlen(MASHD_INBOX_PREFIX);
	(void)mash_snprintf(extra, sizeof(extra),
	                    "{\"outbox_id\":%lld,\"dead_letter\":%lld,"
	                    "\"attempts\":%lld,\"error\":\"%s\","
	                    "\"queued\":%lld}",
	                    (long long)r->id, (long long)dead_id,
	                    (long long)(r->attempts + 1), error,
	                    (long long)r->audit_seq);
	(void)mash_snprintf(reason, sizeof(reason),
	                    "not delivered: %s past the retry budget", error);
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_DELIVERY_FAILED;
	ar.actor = "mashd";
	ar.recipient = recipient;
	ar.reason = reason;
	ar.extra_json = extra;
	return mash_aud_append(d->aud, &ar, NULL);
}

void
mashd_outbox_retry_init(struct mashd *d, struct mashd_outbox_retry *r)
{
	memset(r, 0, sizeof(*r));
	r->max_attempts = d->cfg.outbox_max_attempts;
	r->max_age_ms = d->cfg.outbox_max_age_s * 1000;
	r->retry_ms = d->cfg.outbox_retry_ms;
	r->clock = &d->clock;
	r->dead = dead_audit;
	r->acked = acked_audit;
	r->ctx = d;
	r->n_dead = &d->stats.dead_letters;
}

/* Never silent: name the principals whose deliveries will be held
 * (issue 25: no clear fallback), once per load. */
void
mashd_warn_keyless(const struct mash_dir *dir)
{
	struct mash_dir_entry e;
	size_t i, n = 0;

	for (i = 0; mash_dir_get(dir, i, &e) == MASH_OK; i++) {
		if (e.enc_pub != NULL)
			continue;
		n++;
		mash_warn("directory: %s has no enc_key: deliveries to it are "
		          "held until one is added (SIGHUP)",
		          e.principal);
	}
	if (n > 0)
		mash_warn("directory: %zu of %zu principals without an "
		          "encryption key",
		          n, mash_dir_count(dir));
}

/* Deliver what was held for recipients who now have a key. */
void
mashd_release_held(struct mashd *d)
{
	size_t released = 0, held = 0;
	int rc;

	rc = mashd_outbox_release(d->store, mashd_seal_to, released_audit, d,
	                          &released, &held);
	if (rc != MASH_OK)
		mash_err("outbox: releasing held deliveries stopped: %s",
		         mash_strerror(rc));
	if (released > 0 || held > 0)
		mash_info("outbox: %zu held deliver%s released, %zu still "
		          "held (no encryption key)",
		          released, released == 1 ? "y" : "ies", held);
	if (released > 0)
		(void)mashd_outbox_flush_now(d);
}

/* QoS 1, not retained, one pipeline. */
void
mashd_outbox_send(void *ctx, const char *const *topic,
                  const unsigned char *const *bytes, const size_t *len,
                  size_t n, int *rcs)
{
	struct mash_mq_out out[MASHD_OUTBOX_FLUSH_BATCH];
	struct mashd *d = ctx;
	size_t i;
	int rc = MASH_ERR_INVAL;

	memset(out, 0, sizeof(out));
	if (n <= MASHD_OUTBOX_FLUSH_BATCH) {
		for (i = 0; i < n; i++) {
			out[i].topic = topic[i];
			out[i].buf = bytes[i];
			out[i].len = len[i];
		}
		rc = mash_mq_publish_many(
		    d->mq, out, n, (int)d->cfg.mqtt_publish_timeout_ms, rcs);
	}
	if (rc == MASH_ERR_INVAL)
		for (i = 0; i < n; i++)
			rcs[i] = MASH_ERR_INVAL;
}

int
mashd_outbox_flush_now(struct mashd *d)
{
	struct mashd_outbox_retry r;
	size_t n = 0;
	int rc;

	if (d->pump != NULL) {
		/* In order: what is in flight before what is read next. */
		(void)mashd_pump_settle(d->pump, d->store, &n); /* logs */
		if (n > 0)
			mash_debug("outbox: %zu message(s) published", n);
	}
	mashd_outbox_retry_init(d, &r);
	rc = mashd_outbox_flush_retry(d->store, mashd_outbox_send, d, &r, &n);
	if (n > 0)
		mash_debug("outbox: %zu message(s) published", n);
	if (rc != MASH_OK)
		mash_warn("outbox: flush stopped (%s); the rest stay pending",
		          mash_errname(rc));
	return rc;
}

int
mashd_outbox_flush_bg(struct mashd *d)
{
	size_t n = 0;
	int rc, busy = 0;

	if (d->pump == NULL)
		return mashd_outbox_flush_now(d);
	/* Both log their failures. */
	if (d->outbox_owed < MASHD_OUTBOX_OWED_MAX) {
		rc = mashd_pump_flush_idle(d->pump, d->store, &n, &busy);
		if (busy) {
			d->outbox_owed++;
			return MASH_OK;
		}
	} else {
		rc = mashd_pump_flush(d->pump, d->store, &n);
	}
	d->outbox_owed = 0;
	if (n > 0)
		mash_debug("outbox: %zu message(s) published", n);
	return rc;
}

int
mashd_test_exit_from_env(void)
{
	const char *v = getenv("MASHD_TEST_EXIT_AFTER_COMMIT");

	return v != NULL && strcmp(v, "1") == 0;
}

int
mashd_publish_signed(struct mashd *d, const char *topic,
                     const ProtobufCMessage *msg, int retained,
                     const struct mash_mq_props *props)
{
	uint8_t *env = NULL;
	size_t envlen = 0;
	int rc;

	rc =
	    mash_env_seal_msg(d->key, d->signer, d->key_id, msg, &env, &envlen);
	if (rc != MASH_OK)
		goto out;
	rc = mash_mq_publish(d->mq, topic, env, envlen, retained, props,
	                     (int)d->cfg.mqtt_publish_timeout_ms);
out:
	mash_free(env);
	return rc;
}
