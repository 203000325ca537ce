/*
 * handle_event.c - mash/v1/events/{agency}: one agency event, end to end.
 *
 *   size bound -> topic -> envelope (signature, key, signer = topic agency)
 *   -> decode -> validate -> ONE transaction { dedupe on (agency,
 *   event_id), link to a case, insert, audit, post-store hooks } -> COMMIT
 *   -> signed Receipt on mash/v1/receipts/{agency} (a batch's receipts
 *   published by the receipt pump, daemon/receipt_pump.h).
 *
 * Why the receipt comes last: Paho acknowledges the MQTT PUBLISH as soon
 * as it arrives, so the broker's view proves nothing; the signed Receipt,
 * published only after COMMIT, is what an agency may rely on
 * (shared/spec/audit.md, "durable before acknowledgement"). A receipt
 * that cannot be published is not retried here: the agent keeps the event
 * until a receipt arrives and re-sends it, and the re-send is answered
 * DUPLICATE with the original case id.
 *
 * Rejected messages are quarantined with their raw bytes and an
 * EVENT_REJECTED audit record in one transaction, then answered REJECTED
 * with a reason naming the rule and field. A receipt needs an agency, so
 * a message on a topic that names no known agency is quarantined only.
 * The event_id is echoed in a rejection only when it came from a verified
 * envelope: an unverified payload could otherwise make us tell an agent
 * that its genuine event was rejected.
 *
 * Group commit (mashd_batch_*): the main loop may handle several queued
 * events in ONE transaction, each in its own savepoint, so one fsync
 * covers them all. The rule does not change: a receipt is published only
 * after the COMMIT that contains its event (or quarantine row) and audit
 * records; a message whose work fails is rolled back to its savepoint
 * alone.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit/aud.h"
#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/topics.h"
#include "crypto/env.h"
#include "daemon/mashd.h"
#include "daemon/receipt_pump.h"
#include "daemon/replay.h"
#include "daemon/seal_cache.h"
#include "daemon/seal_defer.h"
#include "event/evt.h"
#include "store/store.h"

#define EVENTS_PREFIX   MASH_TOPIC_EVENTS_PREFIX
#define RECEIPTS_PREFIX MASH_TOPIC_RECEIPTS_PREFIX
#define EVENT_TYPE      "mash.v1.AgencyEvent"

/* What one message came to, for the receipt. */
struct outcome {
	int status; /* MASH__V1__RECEIPT__STATUS__* */
	int err;
	char reason[MASH_MAX_SHORT];
	char event_id[MASH_MAX_ID + 1];
	char case_id[MASH_STORE_CASE_ID_SIZE];
	uint64_t audit_seq;
};

/* A receipt waiting for its batch's COMMIT (mashd.h). */
struct mashd_deferred {
	const struct mash_mq_msg *msg; /* borrowed until mashd_batch_end */
	char agency[MASH_MAX_AGENCY + 1];
	struct outcome out;
};

/* The message's unit of work: a transaction, or a savepoint of the open
 * batch. */
static int
tx_begin(struct mashd *d)
{
	/* Deliveries queued from here on are this unit's (seal_defer.h). */
	d->sdq_mark = mashd_sdq_mark(d->sdq);
	return d->batch_open ? mash_store_savepoint(d->store)
	                     : mash_store_begin(d->store);
}

/* Outside a batch the unit's deferred deliveries join its transaction
 * now; in a batch, at mashd_batch_end. */
static int
tx_commit(struct mashd *d)
{
	int rc;

	if (d->batch_open)
		return mash_store_release(d->store);
	rc = mashd_seal_deferred_flush(d);
	return rc == MASH_OK ? mash_store_commit(d->store) : rc;
}

/* Undo the message's unit of work, if one is open, with the deliveries
 * it queued. */
static void
tx_abort(struct mashd *d)
{
	mashd_sdq_drop_from(d->sdq, d->sdq_mark);
	if (d->batch_open) {
		if (mash_store_in_savepoint(d->store))
			(void)mash_store_rollback_to(d->store);
	} else if (mash_store_in_tx(d->store)) {
		(void)mash_store_rollback(d->store);
	}
}

/* The agency a topic names: MASH_OK and agency filled; BAD_TOPIC if the
 * topic is not mash/v1/events/X with one segment X; UNKNOWN_AGENCY if X
 * is not an agency. */
static int
topic_agency(const char *topic, char agency[MASH_MAX_AGENCY + 1])
{
	const char *a;

	agency[0] = '\0';
	if (strncmp(topic, EVENTS_PREFIX, strlen(EVENTS_PREFIX)) != 0)
		return MASH_ERR_BAD_TOPIC;
	a = topic + strlen(EVENTS_PREFIX);
	if (a[0] == '\0' || strchr(a, '/') != NULL ||
	    strlen(a) > MASH_MAX_AGENCY)
		return MASH_ERR_BAD_TOPIC;
	if (!mash_evt_agency_valid(a))
		return MASH_ERR_UNKNOWN_AGENCY;
	mash_strlcpy(agency, a, MASH_MAX_AGENCY + 1);
	return MASH_OK;
}

/* Seal the receipt for out (echoing msg's correlation data) into *env. */
static int
seal_receipt(struct mashd *d, const char *agency, const struct outcome *out,
             uint8_t **env, size_t *envlen)
{
	Mash__V1__Receipt r = MASH__V1__RECEIPT__INIT;

	r.event_id = (char *)out->event_id;
	r.agency = (char *)agency;
	r.status = (Mash__V1__Receipt__Status)out->status;
	r.reason = (char *)out->reason;
	r.case_id = (char *)out->case_id;
	r.audit_seq = out->audit_seq;
	return mash_env_seal_msg(d->key, d->signer, d->key_id, &r.base, env,
	                         envlen);
}

/* The topic and sealed receipt of one deferred outcome; a failure is
 * logged here (the caller counts it; the agent re-sends). */
static int
receipt_for(struct mashd *d, const struct mashd_deferred *v,
            char topic[MASH_MAX_TOPIC + 1], uint8_t **env, size_t *len)
{
	int rc = mash_snprintf(topic, MASH_MAX_TOPIC + 1, "%s%s",
	                       RECEIPTS_PREFIX, v->agency);

	if (rc == MASH_OK)
		rc = seal_receipt(d, v->agency, &v->out, env, len);
	if (rc != MASH_OK)
		mash_warn("event %s/%s: receipt not sealed (%s); the agent "
		          "will re-send",
		          v->agency, v->out.event_id[0] ? v->out.event_id : "-",
		          mash_errname(rc));
	return rc;
}

/* The receipts of a committed batch in pipelines of up to
 * MASH_MQ_MAX_PIPELINE: one round trip to the broker for each, not one
 * per receipt (issue 22). */
static void
send_receipts(struct mashd *d, const struct mashd_deferred *v, size_t n)
{
	struct mash_mq_out out[MASH_MQ_MAX_PIPELINE];
	struct mash_mq_props props[MASH_MQ_MAX_PIPELINE];
	char topic[MASH_MQ_MAX_PIPELINE][MASH_MAX_TOPIC + 1];
	const struct mashd_deferred *src[MASH_MQ_MAX_PIPELINE];
	uint8_t *env[MASH_MQ_MAX_PIPELINE];
	size_t len[MASH_MQ_MAX_PIPELINE], i, m;
	int rcs[MASH_MQ_MAX_PIPELINE];

	while (n > 0) {
		memset(out, 0, sizeof(out));
		for (i = 0, m = 0; i < n && m < MASH_MQ_MAX_PIPELINE; i++) {
			env[m] = NULL;
			if (receipt_for(d, &v[i], topic[m], &env[m], &len[m]) !=
			    MASH_OK) {
				d->stats.receipt_failed++;
				continue;
			}
			src[m] = &v[i];
			memset(&props[m], 0, sizeof(props[m]));
			props[m].correlation = v[i].msg->correlation;
			props[m].correlation_len = v[i].msg->correlation_len;
			out[m].topic = topic[m];
			out[m].buf = env[m];
			out[m].len = len[m];
			out[m].props = &props[m];
			m++;
		}
		v += i;
		n -= i;
		if (m > 0 &&
		    mash_mq_publish_many(d->mq, out, m,
		                         (int)d->cfg.mqtt_publish_timeout_ms,
		                         rcs) == MASH_ERR_INVAL)
			for (i = 0; i < m; i++)
				rcs[i] = MASH_ERR_INVAL;
		for (i = 0; i < m; i++) {
			if (rcs[i] == MASH_OK) {
				d->stats.receipts++;
			} else {
				d->stats.receipt_failed++;
				mash_warn("event %s/%s: receipt not published "
				          "(%s); the agent will re-send",
				          src[i]->agency,
				          src[i]->out.event_id[0]
				              ? src[i]->out.event_id
				              : "-",
				          mash_errname(rcs[i]));
			}
			mash_free(env[i]);
		}
	}
}

/* The receipts of a committed batch sealed here and handed to the
 * receipt pump (daemon/receipt_pump.h), which publishes them while this
 * thread goes on with the next batch; the counts of the batch before
 * come back now. */
static void
queue_receipts(struct mashd *d, const struct mashd_deferred *v, size_t n)
{
	struct mashd_rpump_counts c = {0, 0};
	struct mashd_rcpt *s = mashd_rpump_slots(d->rpump, &c);
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		struct mashd_rcpt *r = &s[m];
		const struct mash_mq_msg *msg = v[i].msg;

		if (msg->correlation_len > sizeof(r->corr)) {
			/* mq bounds it; never trusted */
			c.failed++;
			mash_warn("event %s/%s: correlation data of %zu bytes; "
			          "no receipt, the agent will re-send",
			          v[i].agency,
			          v[i].out.event_id[0] ? v[i].out.event_id
			                               : "-",
			          msg->correlation_len);
			continue;
		}
		if (receipt_for(d, &v[i], r->topic, &r->env, &r->len) !=
		    MASH_OK) {
			c.failed++;
			continue;
		}
		if (msg->correlation_len > 0)
			memcpy(r->corr, msg->correlation, msg->correlation_len);
		r->corr_len = msg->correlation_len;
		(void)mash_strlcpy(r->agency, v[i].agency, sizeof(r->agency));
		(void)mash_strlcpy(r->event_id, v[i].out.event_id,
		                   sizeof(r->event_id));
		m++;
	}
	d->stats.receipts += c.sent;
	d->stats.receipt_failed += c.failed;
	mashd_rpump_start(d->rpump, m);
}

void
mashd_receipts_collect(struct mashd *d, int wait)
{
	struct mashd_rpump_counts c = {0, 0};

	if (d == NULL || d->rpump == NULL)
		return;
	if (wait)
		mashd_rpump_settle(d->rpump, &c);
	else
		(void)mashd_rpump_poll(d->rpump, &c);
	d->stats.receipts += c.sent;
	d->stats.receipt_failed += c.failed;
}

/* The receipt for out: now, or after the batch's COMMIT. */
static void
reply(struct mashd *d, const char *agency, const struct mash_mq_msg *msg,
      const struct outcome *out)
{
	struct mashd_deferred *r, now;

	if (!d->batch_open) {
		now.msg = msg;
		mash_strlcpy(now.agency, agency, sizeof(now.agency));
		now.out = *out;
		send_receipts(d, &now, 1);
		return;
	}
	if (d->n_deferred >= (size_t)d->cfg.ingest_batch_max) {
		/* The loop never lets this happen; if it did, the receipt
		 * is dropped (never sent early): the agent re-sends. */
		mash_err("event %s/%s: batch full; receipt dropped", agency,
		         out->event_id[0] ? out->event_id : "-");
		d->stats.receipt_failed++;
		return;
	}
	r = &d->deferred[d->n_deferred++];
	r->msg = msg;
	mash_strlcpy(r->agency, agency, sizeof(r->agency));
	r->out = *out;
}

/*
 * Quarantine msg with an EVENT_REJECTED audit record in one transaction;
 * fills out (status REJECTED, audit_seq). MASH_OK, or the store/audit
 * error (then nothing is kept and no receipt may be sent).
 */
static int
quarantine(struct mashd *d, const struct mash_mq_msg *msg, const char *agency,
           struct outcome *out)
{
	struct mash_store_quarantine q;
	struct mash_aud_record ar;
	int64_t qid = 0;
	int rc;

	out->status = MASH__V1__RECEIPT__STATUS__REJECTED;
	memset(&q, 0, sizeof(q));
	q.topic = msg->topic;
	q.agency = agency != NULL ? agency : "";
	q.received_at = mashd_now(d);
	q.err = out->err;
	q.reason = out->reason;
	q.bytes = msg->payload;
	q.len = msg->len;
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_EVENT_REJECTED;
	ar.actor = d->signer;
	ar.agency = agency != NULL && agency[0] ? agency : NULL;
	ar.event_id = out->event_id[0] ? out->event_id : NULL;
	ar.reason = mash_errname(out->err);
	rc = tx_begin(d);
	if (rc != MASH_OK)
		goto fail;
	rc = mash_store_quarantine_add(d->store, &q, &qid);
	if (rc != MASH_OK)
		goto fail;
	rc = mash_aud_append(d->aud, &ar, &out->audit_seq);
	if (rc != MASH_OK)
		goto fail;
	rc = tx_commit(d);
	if (rc != MASH_OK)
		goto fail;
	d->stats.rejected++;
	mash_info("event %s/%s: REJECTED %s (quarantine %lld, audit %llu)",
	          agency != NULL && agency[0] ? agency : "?",
	          out->event_id[0] ? out->event_id : "-",
	          mash_errname(out->err), (long long)qid,
	          (unsigned long long)out->audit_seq);
	return MASH_OK;
fail:
	tx_abort(d);
	mash_err("quarantine failed (%s: %s); message not kept",
	         mash_errname(rc), mash_store_errmsg(d->store));
	out->audit_seq = 0;
	return rc;
}

/* Fill out's reason as "TOKEN: detail". */
static void
set_reason(struct outcome *out, int err, const char *why)
{
	out->err = err;
	if (why != NULL && why[0] != '\0')
		mash_snprintf(out->reason, sizeof(out->reason), "%s: %s",
		              mash_errname(err), why);
	else
		mash_snprintf(out->reason, sizeof(out->reason), "%s: %s",
		              mash_errname(err), mash_strerror(err));
}

/* Only a new event is held to the replay window (daemon/replay.h). */
static int
replay_window(const struct mashd *d, const Mash__V1__AgencyEvent *ev,
              struct outcome *out)
{
	char why[160];
	int rc;

	rc = mashd_replay_check(mashd_now(d), ev->recorded_at,
	                        d->cfg.replay_future_s, d->cfg.replay_past_days,
	                        why, sizeof(why));
	if (rc != MASH_OK)
		set_reason(out, rc, why);
	return rc;
}

/*
 * The store transaction for a valid event. MASH_OK with out filled
 * (ACCEPTED or DUPLICATE); a linkage rejection (BAD_NHS, NO_IDENTITY...)
 * returns that code with out->reason set and nothing committed; any other
 * error is internal (nothing committed).
 */
static int
store_event(struct mashd *d, const struct mash_mq_msg *msg,
            const struct mash_env_opened *env, const Mash__V1__AgencyEvent *ev,
            struct outcome *out)
{
	struct mash_store_receipt prior;
	struct mash_store_subject subj;
	struct mash_store_event se;
	struct mash_aud_record ar;
	uint64_t t0 = mashd_stage_start();
	int rc, is_new = 0;

	rc = tx_begin(d);
	if (rc != MASH_OK)
		goto out;
	rc =
	    mash_store_event_lookup(d->store, ev->agency, ev->event_id, &prior);
	if (rc == MASH_OK) {
		/* A re-send: answered again with the original case and the
		 * audit record that proved the first receipt; stored once. */
		memset(&ar, 0, sizeof(ar));
		ar.type = MASH_AUD_EVENT_DUPLICATE;
		ar.actor = ev->agency;
		ar.case_id = prior.case_id;
		ar.agency = ev->agency;
		ar.event_id = ev->event_id;
		rc = mash_aud_append(d->aud, &ar, NULL);
		if (rc != MASH_OK)
			goto out;
		rc = tx_commit(d);
		if (rc != MASH_OK)
			goto out;
		out->status = MASH__V1__RECEIPT__STATUS__DUPLICATE;
		mash_strlcpy(out->case_id, prior.case_id, sizeof(out->case_id));
		out->audit_seq = prior.audit_seq;
		goto out;
	}
	if (rc != MASH_ERR_NOT_FOUND)
		goto out;
	/* Only a new event is held to the replay window: a re-send of one
	 * already stored is answered DUPLICATE above, whatever its age. */
	rc = replay_window(d, ev, out);
	if (rc != MASH_OK)
		goto out;
	if (ev->subject == NULL) { /* validation requires it; be sure */
		rc = MASH_ERR_MISSING_FIELD;
		set_reason(out, rc, "subject: missing");
		goto out;
	}
	memset(&subj, 0, sizeof(subj));
	subj.nhs_number = ev->subject->nhs_number;
	subj.given_name = ev->subject->given_name;
	subj.family_name = ev->subject->family_name;
	subj.date_of_birth = ev->subject->date_of_birth;
	subj.postcode = ev->subject->postcode;
	subj.sex = ev->subject->sex;
	rc = mash_store_case_link(d->store, &subj, out->case_id, &is_new);
	if (rc != MASH_OK) {
		if (rc != MASH_ERR_STORE && rc != MASH_ERR_NOMEM)
			set_reason(out, rc,
			           "subject: cannot be linked to a case");
		goto out;
	}
	memset(&se, 0, sizeof(se));
	se.case_id = out->case_id;
	se.agency = ev->agency;
	se.event_id = ev->event_id;
	se.category = (int)ev->category;
	se.severity = ev->severity;
	se.consent = (int)ev->consent;
	se.occurred_at = ev->occurred_at;
	se.recorded_at = ev->recorded_at;
	se.received_at = mashd_now(d);
	se.envelope = msg->payload;
	se.envelope_len = msg->len;
	se.payload = env->payload;
	se.payload_len = env->payload_len;
	rc = mash_store_event_insert(d->store, &se, NULL);
	if (rc != MASH_OK)
		goto out;
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_EVENT_RECEIVED;
	ar.actor = ev->agency;
	ar.case_id = out->case_id;
	ar.agency = ev->agency;
	ar.event_id = ev->event_id;
	rc = mash_aud_append(d->aud, &ar, &out->audit_seq);
	if (rc != MASH_OK)
		goto out;
	rc = mash_store_event_set_receipt(d->store, ev->agency, ev->event_id,
	                                  MASH_STORE_RECEIPT_ACCEPTED,
	                                  out->audit_seq);
	if (rc != MASH_OK)
		goto out;
	mashd_stage_add(&d->stages, MASHD_STAGE_STORE, t0);
	t0 = mashd_stage_start();
	rc = mashd_after_store(d, ev, out->case_id, out->audit_seq);
	mashd_stage_add(&d->stages, MASHD_STAGE_POLICY, t0);
	if (rc != MASH_OK)
		goto out;
	t0 = mashd_stage_start();
	rc = tx_commit(d);
	if (!d->batch_open)
		mashd_stage_add(&d->stages, MASHD_STAGE_COMMIT, t0);
	if (rc != MASH_OK)
		goto out;
	out->status = MASH__V1__RECEIPT__STATUS__ACCEPTED;
	if (!d->batch_open) { /* in a batch: after its COMMIT */
		if (d->test_exit_after_commit)
			_exit(MASHD_TEST_EXIT_STATUS); /* TEST ONLY: crash */
		mashd_after_commit(d);
	}
out:
	if (rc != MASH_OK)
		tx_abort(d);
	return rc;
}

int
mashd_handle_event(struct mashd *d, const struct mash_mq_msg *msg)
{
	struct mash_env_opened *env = NULL;
	Mash__V1__AgencyEvent *ev = NULL;
	struct outcome out;
	char agency[MASH_MAX_AGENCY + 1];
	char why[MASH_ENV_WHY_LEN];
	uint64_t t0;
	int rc, trc;

	memset(&out, 0, sizeof(out));
	why[0] = '\0';
	trc = topic_agency(msg->topic, agency);
	if (trc != MASH_OK) {
		/* No agency, no receipt topic: quarantine only. */
		set_reason(&out, trc, "topic is not mash/v1/events/{agency}");
		rc = quarantine(d, msg, NULL, &out);
		goto out;
	}
	if (msg->oversized || msg->len > (size_t)d->cfg.max_message) {
		mash_snprintf(
		    why, sizeof(why),
		    "message of %zu bytes exceeds the %lld-byte limit",
		    msg->orig_len, (long long)d->cfg.max_message);
		set_reason(&out, MASH_ERR_TOO_BIG, why);
		goto reject;
	}
	t0 = mashd_stage_start();
	rc = mash_env_open(d->trust, msg->payload, msg->len, EVENT_TYPE, agency,
	                   &env, why, sizeof(why));
	mashd_stage_add(&d->stages, MASHD_STAGE_VERIFY, t0);
	if (rc != MASH_OK) {
		set_reason(&out, rc, why);
		goto reject;
	}
	t0 = mashd_stage_start();
	rc = mash_evt_decode(env->payload, env->payload_len, &ev, why,
	                     sizeof(why));
	if (rc != MASH_OK) {
		mashd_stage_add(&d->stages, MASHD_STAGE_DECODE, t0);
		set_reason(&out, rc, why);
		goto reject;
	}
	/* From here the payload is authentic: its event_id may be echoed
	 * (if it is a well-formed id; validation says so otherwise). */
	if (ev->event_id != NULL &&
	    mash_str_check(ev->event_id, MASH_EVT_ID_MAX) == MASH_OK)
		mash_strlcpy(out.event_id, ev->event_id, sizeof(out.event_id));
	rc = mash_evt_validate(ev, agency, mashd_now(d), why, sizeof(why));
	mashd_stage_add(&d->stages, MASHD_STAGE_DECODE, t0);
	if (rc != MASH_OK) {
		set_reason(&out, rc, why);
		goto reject;
	}
	rc = store_event(d, msg, env, ev, &out);
	if (rc == MASH_OK) {
		if (out.status == MASH__V1__RECEIPT__STATUS__DUPLICATE) {
			d->stats.duplicates++;
			mash_info("event %s/%s: DUPLICATE of case %s", agency,
			          out.event_id, out.case_id);
		} else {
			d->stats.accepted++;
			mash_info("event %s/%s: ACCEPTED case %s audit %llu",
			          agency, out.event_id, out.case_id,
			          (unsigned long long)out.audit_seq);
		}
		reply(d, agency, msg, &out);
		goto out;
	}
	if (out.reason[0] != '\0') {
		out.case_id[0] = '\0';
		goto reject; /* linkage refused the subject */
	}
	d->stats.internal_errors++;
	mash_err("event %s/%s: not stored (%s: %s); no receipt, the agent "
	         "will re-send",
	         agency, out.event_id[0] ? out.event_id : "-", mash_errname(rc),
	         mash_store_errmsg(d->store));
	goto out;
reject:
	rc = quarantine(d, msg, agency, &out);
	if (rc == MASH_OK)
		reply(d, agency, msg, &out);
	else
		d->stats.internal_errors++;
out:
	mash_evt_free(ev);
	mash_env_opened_free(env);
	return rc;
}

int
mashd_batch_init(struct mashd *d)
{
	d->n_deferred = 0;
	d->batch_open = 0;
	d->deferred =
	    mash_calloc((size_t)d->cfg.ingest_batch_max, sizeof(*d->deferred));
	return d->deferred != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

void
mashd_batch_free(struct mashd *d)
{
	if (d->deferred != NULL)
		mash_free_secret(d->deferred, (size_t)d->cfg.ingest_batch_max *
		                                  sizeof(*d->deferred));
	d->deferred = NULL;
	d->n_deferred = 0;
}

int
mashd_batch_begin(struct mashd *d)
{
	int rc;

	if (d->batch_open || d->deferred == NULL)
		return MASH_ERR_STATE;
	rc = mash_store_begin(d->store);
	if (rc != MASH_OK)
		return rc;
	d->batch_open = 1;
	d->n_deferred = 0;
	return MASH_OK;
}

/* Undo the counters of receipts that will not be sent. */
static void
uncount(struct mashd *d, const struct outcome *out)
{
	if (out->status == MASH__V1__RECEIPT__STATUS__ACCEPTED)
		d->stats.accepted--;
	else if (out->status == MASH__V1__RECEIPT__STATUS__DUPLICATE)
		d->stats.duplicates--;
	else
		d->stats.rejected--;
	d->stats.internal_errors++;
}

int
mashd_batch_end(struct mashd *d)
{
	size_t i, n = d->n_deferred;
	uint64_t t0;
	int rc, stored = 0;

	/* The batch's seals are done: their keys go (daemon/seal_cache.h). */
	mashd_seal_cache_end(d->seal_cache);
	if (!d->batch_open)
		return MASH_OK;
	d->batch_open = 0;
	d->n_deferred = 0;
	/* The deliveries sealed beside the batch join it before the COMMIT:
	 * none is committed without the audit records that name it. */
	rc = mashd_seal_deferred_flush(d);
	if (rc != MASH_OK) {
		mash_err("batch of %zu message(s): deliveries not queued "
		         "(%s); rolled back",
		         n, mash_errname(rc));
		(void)mash_store_rollback(d->store);
	} else {
		t0 = mashd_stage_start();
		rc = mash_store_commit(d->store);
		mashd_stage_add(&d->stages, MASHD_STAGE_COMMIT, t0);
	}
	if (rc != MASH_OK) {
		/* Nothing of the batch is stored: no receipt may go out. */
		mash_err("batch of %zu message(s) not committed (%s: %s); no "
		         "receipts, the agents will re-send",
		         n, mash_errname(rc), mash_store_errmsg(d->store));
		for (i = 0; i < n; i++)
			uncount(d, &d->deferred[i].out);
		return rc;
	}
	for (i = 0; i < n; i++)
		if (d->deferred[i].out.status ==
		    MASH__V1__RECEIPT__STATUS__ACCEPTED)
			stored = 1;
	if (n > 1)
		mash_info("batch: %zu messages in one commit", n);
	if (stored && d->test_exit_after_commit)
		_exit(MASHD_TEST_EXIT_STATUS); /* TEST ONLY: crash */
	t0 = mashd_stage_start();
	if (d->rpump != NULL)
		queue_receipts(d, d->deferred, n);
	else
		send_receipts(d, d->deferred, n);
	mashd_stage_add(&d->stages, MASHD_STAGE_RECEIPTS, t0);
	if (stored) {
		t0 = mashd_stage_start();
		mashd_after_commit(d);
		mashd_stage_add(&d->stages, MASHD_STAGE_OUTBOX, t0);
	}
	return MASH_OK;
}
