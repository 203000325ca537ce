/*
 * agent.c - the agent's run loop. One thread: the MQTT adapter queues
 * received receipts and this loop takes them, so the outbox (SQLite) is
 * only touched here.
 *
 * Order of every event: map -> seal -> outbox (COMMIT on disk) -> publish
 * -> mark sent -> ... -> verified receipt -> settle. A crash anywhere
 * leaves the event either not yet read (the feed is read again, or from
 * the saved position with --follow) or pending in the outbox (re-sent on
 * start); the daemon's idempotency on (agency, event_id) turns every
 * repeat into a DUPLICATE receipt, never a second stored concern.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agents/agent.h"
#include "agents/feed.h"
#include "agents/map.h"
#include "agents/outbox.h"
#include "agents/receipt.h"
#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/atrest.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "event/evt.h"
#include "mash/v1/mash.pb-c.h"

/* Records read per loop turn, events published per turn. */
#define AGENT_READ_BATCH 64u
#define AGENT_SEND_BATCH 64u
/* Longest wait in one turn when idle (ms). */
#define AGENT_IDLE_MS 200
/* The daemon's retained liveness (daemon/status.h: MASHD_STATUS_TOPIC). */
#define AGENT_STATUS_TOPIC "mash/v1/status/daemon"
/* A progress line this often on a long run (ms). */
#define AGENT_PROGRESS_MS 5000

struct agent {
	const struct mash_agent_opts *o;
	const struct mash_agent_cfg *cfg;
	const struct mash_clock *clock;
	FILE *out;
	struct mash_agent_result *res;
	struct mash_key *key;
	struct mash_trust *trust;
	struct mash_outbox *ob;
	struct mash_mq *mq;
	struct mash_feed *feed;
	enum mash_feed_format fmt;
	char feed_key[MASH_OUTBOX_MAX_FEED_KEY];
	uint64_t inode;
	char topic_events[MASH_MAX_TOPIC];
	char topic_receipts[MASH_MAX_TOPIC];
	/* The daemon incarnation last seen on its status topic; "" none. */
	char incarnation[64];
	int64_t run_id;
	int feed_done;
	int64_t feed_done_ms;
	uint64_t connects_seen;
	int64_t last_receipt_ms; /* last verified receipt for this agency */
	/* Re-sends forced by a reconnect or a daemon restart are not
	 * deferred before this time (publish_due). */
	int64_t forced_until_ms;
	int64_t start_ms;
	int64_t deadline_ms; /* absolute; 0: none */
	int64_t progress_ms; /* next progress line */
	int deadline_hit;
};

static int64_t
now(const struct agent *a)
{
	return mash_clock_now(a->clock);
}

static int
stopping(const struct agent *a)
{
	return a->o->stop != NULL && *a->o->stop != 0;
}

/* One line per rejected record: "police.csv:7: occurred_at: not a date
 * '2026-13-01'" (cli.md: what and where). */
static void
report_bad(const struct agent *a, const struct mash_feed_err *err)
{
	if (err->field[0] != '\0')
		fprintf(stderr, "%s:%lu: %s: %s\n", mash_feed_name(a->feed),
		        err->line, err->field, err->msg);
	else
		fprintf(stderr, "%s:%lu: %s\n", mash_feed_name(a->feed),
		        err->line, err->msg);
}

/* Load the receipts' trust: the configured store, or a store of one key
 * (the daemon's public key) built in a private temporary directory. */
static int
load_trust(struct agent *a)
{
	const struct mash_agent_cfg *c = a->cfg;
	char why[MASH_ENV_WHY_LEN], tmp[64], sub[160], file[320];
	int rc;

	if (c->trust_store != NULL) {
		rc = mash_trust_load(c->trust_store, &a->trust, why,
		                     sizeof(why));
		if (rc != MASH_OK)
			fprintf(stderr, "mash-agent: trust store %s: %s\n",
			        c->trust_store,
			        why[0] ? why : mash_strerror(rc));
		return rc;
	}
	(void)snprintf(tmp, sizeof(tmp), "/tmp/mash-agent-trust-XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		fprintf(stderr,
		        "mash-agent: cannot create a temporary "
		        "directory: %s\n",
		        strerror(errno));
		return MASH_ERR_IO;
	}
	rc = mash_trust_add(tmp, c->daemon_signer, c->daemon_key_id,
	                    c->daemon_pub, why, sizeof(why));
	if (rc == MASH_OK)
		rc = mash_trust_load(tmp, &a->trust, why, sizeof(why));
	if (rc != MASH_OK)
		fprintf(stderr, "mash-agent: daemon public key %s: %s\n",
		        c->daemon_pub, why[0] ? why : mash_strerror(rc));
	(void)snprintf(sub, sizeof(sub), "%s/%s", tmp, c->daemon_signer);
	(void)snprintf(file, sizeof(file), "%s/%s.pub.pem", sub,
	               c->daemon_key_id);
	(void)unlink(file);
	(void)rmdir(sub);
	(void)rmdir(tmp);
	return rc;
}

static int
open_feed_at(struct agent *a, int resume)
{
	struct mash_outbox_feedpos pos;
	struct stat st;
	int rc;

	mash_feed_free(a->feed);
	a->feed = NULL;
	rc = mash_feed_open(a->o->input, a->fmt, NULL, &a->feed);
	if (rc != MASH_OK) {
		fprintf(stderr, "mash-agent: %s: cannot open: %s\n",
		        a->o->input, strerror(errno));
		return rc;
	}
	if (stat(a->o->input, &st) != 0) {
		fprintf(stderr, "mash-agent: %s: cannot stat\n", a->o->input);
		return MASH_ERR_IO;
	}
	a->inode = (uint64_t)st.st_ino;
	if (!resume)
		return MASH_OK;
	rc = mash_outbox_feed_get(a->ob, a->feed_key, &pos);
	if (rc == MASH_ERR_NOT_FOUND)
		return MASH_OK;
	if (rc != MASH_OK)
		return rc;
	/* A feed replaced (rotated) or truncated since: start it afresh. */
	if (pos.inode != a->inode || (uint64_t)st.st_size < pos.offset)
		return MASH_OK;
	if (mash_feed_seek(a->feed, pos.offset, pos.lines) != MASH_OK)
		return MASH_OK;
	mash_info("%s: resuming after line %lu", mash_feed_name(a->feed),
	          pos.lines);
	return MASH_OK;
}

static void
feed_pos(const struct agent *a, struct mash_outbox_feedpos *pos)
{
	mash_feed_tell(a->feed, &pos->offset, &pos->lines);
	pos->inode = a->inode;
}

/* Map, seal and store one record. An error return is fatal (outbox); a
 * record the agent refuses is reported and counted, not an error. */
static int
take_record(struct agent *a, const struct mash_feed_rec *rec)
{
	Mash__V1__AgencyEvent *ev = NULL;
	struct mash_feed_err err;
	struct mash_outbox_feedpos pos;
	uint8_t *env = NULL;
	size_t envlen = 0;
	int rc;

	a->res->records++;
	rc = mash_agent_map(a->cfg->agency, rec, now(a), &ev, &err);
	if (rc != MASH_OK) {
		report_bad(a, &err);
		a->res->rejected_by_agent++;
		rc = MASH_OK;
		if (a->o->follow) {
			feed_pos(a, &pos);
			rc = mash_outbox_feed_set(a->ob, a->feed_key, &pos);
		}
		goto out;
	}
	rc = mash_env_seal_msg(a->key, a->cfg->signer, a->cfg->key_id,
	                       (const ProtobufCMessage *)ev, &env, &envlen);
	if (rc != MASH_OK) {
		memset(&err, 0, sizeof(err));
		err.line = rec->line;
		(void)snprintf(err.msg, sizeof(err.msg), "cannot seal: %s",
		               mash_strerror(rc));
		report_bad(a, &err);
		a->res->rejected_by_agent++;
		rc = rc == MASH_ERR_TOO_BIG ? MASH_OK : rc;
		goto out;
	}
	feed_pos(a, &pos);
	/* Durable before published: put returns after the COMMIT. */
	rc = mash_outbox_put(a->ob, a->cfg->agency, ev->event_id,
	                     ev->agency_ref, rec->line, env, envlen,
	                     a->o->follow ? a->feed_key : NULL,
	                     a->o->follow ? &pos : NULL);
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mash-agent: outbox %s: cannot store event %s: "
		        "%s\n",
		        a->cfg->outbox, ev->event_id, mash_strerror(rc));
		goto out;
	}
	mash_debug("%s:%lu: event %s stored", mash_feed_name(a->feed),
	           rec->line, ev->event_id);
out:
	if (env != NULL)
		mash_free_secret(env, envlen);
	mash_agent_event_free(ev);
	return rc;
}

/* A followed file that was replaced or truncated is read from the start. */
static int
check_rotation(struct agent *a)
{
	struct stat st;
	uint64_t off;
	unsigned long lines;

	if (stat(a->o->input, &st) != 0)
		return MASH_OK; /* gone for now: keep waiting */
	mash_feed_tell(a->feed, &off, &lines);
	if ((uint64_t)st.st_ino == a->inode && (uint64_t)st.st_size >= off)
		return MASH_OK;
	mash_info("%s: replaced or truncated, reading it from the start",
	          mash_feed_name(a->feed));
	return open_feed_at(a, 0);
}

/* Read up to a batch of records, stored in one outbox transaction (one
 * fsync) that commits before anything of it is published. Fatal errors
 * only are returned. */
static int
read_feed(struct agent *a)
{
	const struct mash_feed_rec *rec;
	struct mash_feed_err err;
	struct mash_outbox_feedpos pos;
	unsigned i;
	int rc;

	if (a->feed_done || stopping(a))
		return MASH_OK;
	rc = mash_outbox_batch_begin(a->ob);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < AGENT_READ_BATCH && !a->feed_done && !stopping(a);
	     i++) {
		rc = mash_feed_next(a->feed, a->o->follow, &rec, &err);
		if (rc == MASH_OK) {
			rc = take_record(a, rec);
			if (rc != MASH_OK)
				goto out;
			continue;
		}
		if (rc == MASH_FEED_EOF || rc == MASH_FEED_AGAIN) {
			rc = MASH_OK;
			if (!a->o->follow) {
				a->feed_done = 1;
				a->feed_done_ms = now(a);
			} else {
				rc = check_rotation(a);
			}
			goto out;
		}
		report_bad(a, &err);
		if (err.fatal)
			goto out;
		a->res->rejected_by_agent++;
		rc = MASH_OK;
		if (a->o->follow) {
			feed_pos(a, &pos);
			rc = mash_outbox_feed_set(a->ob, a->feed_key, &pos);
			if (rc != MASH_OK)
				goto out;
		}
	}
	rc = MASH_OK;
out:
	if (rc == MASH_OK)
		rc = mash_outbox_batch_commit(a->ob);
	else
		mash_outbox_batch_rollback(a->ob);
	return rc;
}

static enum mash_outbox_state
receipt_state(Mash__V1__Receipt__Status s)
{
	switch (s) {
	case MASH__V1__RECEIPT__STATUS__ACCEPTED:
		return MASH_OUTBOX_ACCEPTED;
	case MASH__V1__RECEIPT__STATUS__DUPLICATE:
		return MASH_OUTBOX_DUPLICATE;
	case MASH__V1__RECEIPT__STATUS__REJECTED:
		return MASH_OUTBOX_REJECTED;
	default:
		return MASH_OUTBOX_PENDING;
	}
}

static const char *
state_name(enum mash_outbox_state s)
{
	switch (s) {
	case MASH_OUTBOX_ACCEPTED:
		return "ACCEPTED";
	case MASH_OUTBOX_DUPLICATE:
		return "DUPLICATE";
	case MASH_OUTBOX_REJECTED:
		return "REJECTED";
	default:
		return "PENDING";
	}
}

/* A message on our receipts topic. Only a receipt whose envelope verifies
 * against the trust store as signed by the daemon settles an event. */
static int
handle_receipt(struct agent *a, const struct mash_mq_msg *m)
{
	struct mash_env_opened *env = NULL;
	Mash__V1__Receipt *r = NULL;
	enum mash_outbox_state st;
	char why[MASH_ENV_WHY_LEN];
	int rc;

	if (strcmp(m->topic, a->topic_receipts) != 0 || m->oversized ||
	    m->len == 0) {
		mash_warn("receipts: ignored a message on %s (%zu bytes)",
		          m->topic, m->orig_len);
		return MASH_OK;
	}
	rc = mash_env_open(a->trust, m->payload, m->len, "mash.v1.Receipt",
	                   a->cfg->daemon_signer, &env, why, sizeof(why));
	if (rc != MASH_OK) {
		mash_warn("receipts: refused a receipt: %s: %s",
		          mash_errname(rc), why);
		return MASH_OK;
	}
	rc = mash_receipt_decode(env->payload, env->payload_len, a->cfg->agency,
	                         &r, why, sizeof(why));
	if (rc != MASH_OK) {
		mash_warn("receipts: receipt ignored: %s: %s", mash_errname(rc),
		          why);
		rc = MASH_OK;
		goto out;
	}
	st = receipt_state(r->status);
	a->last_receipt_ms = now(a);
	rc = mash_outbox_receipt(a->ob, a->cfg->agency, r->event_id, st,
	                         r->reason, r->case_id, r->audit_seq);
	if (rc == MASH_OK) {
		if (st == MASH_OUTBOX_REJECTED)
			mash_warn("event %s REJECTED by the daemon: %s",
			          r->event_id, r->reason);
		else
			mash_info("event %s %s (case %s, audit %llu)",
			          r->event_id, state_name(st), r->case_id,
			          (unsigned long long)r->audit_seq);
	} else if (rc == MASH_ERR_NOT_FOUND || rc == MASH_ERR_STATE) {
		mash_debug("receipt for event %s: %s (ignored)", r->event_id,
		           mash_errname(rc));
		rc = MASH_OK;
	} else {
		fprintf(stderr,
		        "mash-agent: outbox %s: cannot record a receipt: "
		        "%s\n",
		        a->cfg->outbox, mash_strerror(rc));
		goto out;
	}
	rc = MASH_OK;
out:
	if (r != NULL)
		mash__v1__receipt__free_unpacked(r, mash_env_pb_allocator());
	mash_env_opened_free(env);
	return rc;
}

/*
 * The daemon's retained status (daemon/status.h). A new incarnation means
 * the daemon restarted: events it had taken from the broker but not yet
 * committed are gone, and receipts it had not yet published will never
 * come. Everything in flight is therefore re-sent now, instead of after
 * a backoff that must stay long enough not to re-send to a daemon that is
 * merely busy (issue 22). Only a status signed by the daemon counts.
 */
static int
handle_status(struct agent *a, const struct mash_mq_msg *m)
{
	struct mash_env_opened *env = NULL;
	Mash__V1__DaemonStatus *st = NULL;
	char why[MASH_ENV_WHY_LEN];
	int rc;

	if (m->oversized || m->len == 0)
		return MASH_OK; /* a retained status being cleared */
	rc = mash_env_open(a->trust, m->payload, m->len, "mash.v1.DaemonStatus",
	                   a->cfg->daemon_signer, &env, why, sizeof(why));
	if (rc != MASH_OK) {
		mash_warn("status: refused a daemon status: %s: %s",
		          mash_errname(rc), why);
		return MASH_OK;
	}
	if (!mash_evt_wire_strings_valid(&mash__v1__daemon_status__descriptor,
	                                 env->payload, env->payload_len) ||
	    (st = mash__v1__daemon_status__unpack(mash_env_pb_allocator(),
	                                          env->payload_len,
	                                          env->payload)) == NULL ||
	    st->incarnation[0] == '\0' ||
	    strlen(st->incarnation) >= sizeof(a->incarnation)) {
		mash_warn("status: refused a daemon status: does not decode");
		goto out;
	}
	rc = MASH_OK;
	if (strcmp(st->incarnation, a->incarnation) == 0)
		goto out;
	if (a->incarnation[0] != '\0' && st->online) {
		mash_info("daemon restarted (incarnation %s): re-sending "
		          "unreceipted events now",
		          st->incarnation);
		rc = mash_outbox_resend_now(a->ob);
		a->forced_until_ms = now(a) + a->cfg->backoff_min_ms;
	}
	/* Remember an offline incarnation too: its successor is new. */
	(void)mash_strlcpy(a->incarnation, st->incarnation,
	                   sizeof(a->incarnation));
out:
	if (st != NULL)
		mash__v1__daemon_status__free_unpacked(st,
		                                       mash_env_pb_allocator());
	mash_env_opened_free(env);
	return rc;
}

static int
take_receipt(struct agent *a, int wait_ms)
{
	struct mash_mq_msg *m = NULL;
	int rc;

	rc = mash_mq_next(a->mq, wait_ms, &m);
	if (rc != MASH_OK)
		return MASH_ERR_TIMEOUT;
	if (strcmp(m->topic, AGENT_STATUS_TOPIC) == 0)
		rc = handle_status(a, m);
	else
		rc = handle_receipt(a, m);
	mash_mq_msg_free(m);
	return rc;
}

static int
drain_receipts(struct agent *a)
{
	int rc, own;

	/* Every receipt waiting now settles in one transaction (one fsync,
	 * not one per receipt: five agents fsyncing each receipt slowed the
	 * daemon's own commits, issue 22). Inside publish_due's batch the
	 * receipts join that one. A crash before the COMMIT loses only the
	 * settling: the events are re-sent and answered DUPLICATE. */
	own = mash_outbox_batch_begin(a->ob) == MASH_OK;
	for (;;) {
		rc = take_receipt(a, 0);
		if (rc != MASH_OK)
			break;
	}
	if (rc == MASH_ERR_TIMEOUT)
		rc = MASH_OK;
	if (own) {
		if (rc == MASH_OK)
			rc = mash_outbox_batch_commit(a->ob);
		else
			mash_outbox_batch_rollback(a->ob);
	}
	return rc;
}

/* Publish what is due. A broker that is down is not an error: the outbox
 * keeps everything and the adapter reconnects. */
static int
publish_due(struct agent *a)
{
	struct mash_mq_out out[AGENT_SEND_BATCH];
	int prc[AGENT_SEND_BATCH];
	struct mash_outbox_item *it = NULL;
	size_t n = 0, i, sent;
	uint64_t cc;
	int rc, batch = 0;

	if (!mash_mq_is_connected(a->mq))
		return MASH_OK;
	cc = mash_mq_connect_count(a->mq);
	if (cc != a->connects_seen) {
		/* Receipts may have been lost while we were away. */
		if (a->connects_seen != 0) {
			mash_info("reconnected (%llu): re-sending unreceipted "
			          "events",
			          (unsigned long long)cc);
			rc = mash_outbox_resend_now(a->ob);
			if (rc != MASH_OK)
				return rc;
			a->forced_until_ms = now(a) + a->cfg->backoff_min_ms;
		}
		a->connects_seen = cc;
	}
	/* While receipts keep arriving the daemon is working through a
	 * backlog that already holds our unreceipted events: re-sending them
	 * now would only lengthen it. Re-sends resume once receipts have
	 * stopped for backoff_min_ms. Not so for re-sends a reconnect or a
	 * daemon restart just forced: that backlog is gone. */
	if (a->last_receipt_ms > 0 && now(a) >= a->forced_until_ms &&
	    now(a) - a->last_receipt_ms < a->cfg->backoff_min_ms) {
		rc = mash_outbox_defer_resends(
		    a->ob, a->last_receipt_ms + a->cfg->backoff_min_ms);
		if (rc != MASH_OK)
			return rc;
	}
	rc = mash_outbox_next(a->ob, a->cfg->max_inflight, AGENT_SEND_BATCH,
	                      &it, &n);
	if (rc != MASH_OK)
		return rc;
	if (n == 0)
		goto out;
	/* Attempts and receipts of this turn in one transaction: losing it in
	 * a crash only means a re-send, answered DUPLICATE. */
	rc = mash_outbox_batch_begin(a->ob);
	if (rc != MASH_OK)
		goto out;
	batch = 1;
	/* One pipeline for the turn (at most AGENT_SEND_BATCH, within
	 * MASH_MQ_MAX_PIPELINE): one round trip, and the PUBLISHes leave in
	 * a few segments; one PUBACK wait each stalled on Nagle's algorithm
	 * whenever receipts arrived in bursts (issue 22). */
	memset(out, 0, sizeof(out));
	for (i = 0; i < n; i++) {
		out[i].topic = a->topic_events;
		out[i].buf = it[i].env;
		out[i].len = it[i].len;
	}
	sent = n;
	if (stopping(a) ||
	    mash_mq_publish_many(a->mq, out, n, a->cfg->publish_timeout_ms,
	                         prc) == MASH_ERR_INVAL)
		sent = 0;
	for (i = 0; i < sent; i++) {
		if (prc[i] != MASH_OK && prc[i] != MASH_ERR_TIMEOUT) {
			mash_debug("publish %s: %s (broker down?)",
			           it[i].event_id, mash_errname(prc[i]));
			break;
		}
		/* A timed-out publish may still have reached the broker: it
		 * counts as an attempt and is retried after the backoff. */
		rc = mash_outbox_sent(a->ob, it[i].agency, it[i].event_id);
		if (rc != MASH_OK && rc != MASH_ERR_NOT_FOUND)
			goto out;
		if (it[i].attempts > 0)
			mash_info("event %s re-sent (attempt %u)",
			          it[i].event_id, it[i].attempts + 1);
	}
	/* Settle the receipts that came meanwhile in the same transaction. */
	rc = drain_receipts(a);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_OK;
out:
	if (batch && rc == MASH_OK)
		rc = mash_outbox_batch_commit(a->ob);
	else if (batch)
		mash_outbox_batch_rollback(a->ob);
	mash_outbox_items_free(it, n);
	return rc;
}

static void
print_rejection(void *ctx, const char *event_id, const char *agency_ref,
                unsigned long feed_line, const char *reason)
{
	struct agent *a = ctx;

	(void)agency_ref;
	fprintf(a->out, "  rejected by daemon: %s:%lu: event %s: %s\n",
	        mash_feed_name(a->feed), feed_line, event_id, reason);
}

static int
summary(struct agent *a)
{
	struct mash_outbox_summary *s = &a->res->s;
	int rc;

	rc = mash_outbox_summary(a->ob, a->run_id, s);
	if (rc != MASH_OK)
		return rc;
	fprintf(a->out,
	        "mash-agent %s: %s: %zu records; sent %zu, receipted %zu "
	        "(accepted %zu, duplicate %zu), rejected by agent %zu, "
	        "rejected by daemon %zu, still pending %zu; re-sends %zu\n",
	        a->cfg->agency, mash_feed_name(a->feed), a->res->records,
	        s->sent, s->accepted + s->duplicate, s->accepted, s->duplicate,
	        a->res->rejected_by_agent, s->rejected, s->pending, s->resent);
	(void)mash_outbox_rejections(a->ob, a->run_id, print_rejection, a);
	fprintf(a->out,
	        "summary: agency=%s records=%zu sent=%zu accepted=%zu "
	        "duplicate=%zu rejected_by_agent=%zu rejected_by_daemon=%zu "
	        "pending=%zu resent=%zu\n",
	        a->cfg->agency, a->res->records, s->sent, s->accepted,
	        s->duplicate, a->res->rejected_by_agent, s->rejected,
	        s->pending, s->resent);
	fflush(a->out);
	return MASH_OK;
}

static uint32_t
agent_random(void *ctx)
{
	(void)ctx;
	return arc4random();
}

static int
setup(struct agent *a)
{
	const struct mash_agent_cfg *c = a->cfg;
	struct mash_outbox_cfg ocfg;
	uint8_t kek[MASH_ATREST_KEK_LEN];
	struct mash_mq_opts mo;
	char real[PATH_MAX];
	int rc;

	if (mash_feed_format_from_name(a->o->input, &a->fmt) != MASH_OK) {
		fprintf(stderr,
		        "mash-agent: %s: unknown feed format (use .csv "
		        "or .jsonl)\n",
		        a->o->input);
		return MASH_ERR_INVAL;
	}
	if (realpath(a->o->input, real) == NULL) {
		fprintf(stderr, "mash-agent: %s: %s\n", a->o->input,
		        strerror(errno));
		return MASH_ERR_IO;
	}
	if (mash_snprintf(a->feed_key, sizeof(a->feed_key), "%s:%s", c->agency,
	                  real) != MASH_OK ||
	    mash_snprintf(a->topic_events, sizeof(a->topic_events),
	                  "mash/v1/events/%s", c->agency) != MASH_OK ||
	    mash_snprintf(a->topic_receipts, sizeof(a->topic_receipts),
	                  "mash/v1/receipts/%s", c->agency) != MASH_OK)
		return MASH_ERR_INVAL;
	rc = mash_key_load_private(c->sign_key, &a->key);
	if (rc != MASH_OK) {
		fprintf(stderr, "mash-agent: signing key %s: %s\n", c->sign_key,
		        mash_file_strerror(rc));
		return rc;
	}
	rc = load_trust(a);
	if (rc != MASH_OK)
		return rc;
	memset(&ocfg, 0, sizeof(ocfg));
	ocfg.backoff_min_ms = c->backoff_min_ms;
	ocfg.backoff_max_ms = c->backoff_max_ms;
	ocfg.clock = a->clock;
	ocfg.random = agent_random;
	/* Issue 28: pending envelopes carry names, NHS numbers and stories;
	 * with a key file they are kept sealed. The key file is read before
	 * the outbox is opened, so a bad one leaves the disk untouched. */
	if (c->outbox_key != NULL) {
		char why[512];

		rc = mash_atrest_kek_load(c->outbox_key, kek, why, sizeof(why));
		if (rc != MASH_OK) {
			fprintf(stderr,
			        "mash-agent: agent.outbox.key_file: %s\n", why);
			return MASH_ERR_CONFIG;
		}
		ocfg.kek = kek;
	} else {
		mash_warn("outbox %s is not encrypted at rest (no "
		          "agent.outbox.key_file): records waiting there can "
		          "be read from the disk",
		          c->outbox);
	}
	rc = mash_outbox_open(c->outbox, &ocfg, &a->ob);
	OPENSSL_cleanse(kek, sizeof(kek));
	if (rc == MASH_ERR_DECRYPT || rc == MASH_ERR_DENIED) {
		fprintf(stderr, "mash-agent: outbox %s: %s\n", c->outbox,
		        rc == MASH_ERR_DENIED
		            ? "encrypted at rest: set agent.outbox.key_file"
		            : "agent.outbox.key_file is not its key");
		return MASH_ERR_CONFIG;
	}
	if (rc != MASH_OK) {
		fprintf(stderr, "mash-agent: outbox %s: cannot open\n",
		        c->outbox);
		return rc;
	}
	rc = mash_outbox_begin_run(a->ob, &a->run_id);
	if (rc != MASH_OK)
		return rc;
	rc = open_feed_at(a, a->o->follow);
	if (rc != MASH_OK)
		return rc;
	if (c->insecure && strncmp(c->uri, "tcp://", 6) == 0)
		mash_warn("mqtt: plaintext %s (agent.mqtt.insecure = true): "
		          "anyone on the network can read this agency's "
		          "records; development only",
		          c->uri);
	mash_mq_opts_init(&mo);
	mo.uri = c->uri;
	mo.client_id = c->client_id;
	mo.username = c->username;
	mo.password = c->password;
	mo.ca_file = c->ca_file;
	mo.cert_file = c->cert_file;
	mo.key_file = c->key_file;
	mo.verify_peer = c->verify_peer;
	mo.keepalive_s = c->keepalive_s;
	mo.reconnect_min_s = c->reconnect_min_s;
	mo.reconnect_max_s = c->reconnect_max_s;
	mo.clean_start = 0; /* receipts wait for us in the session */
	rc = mash_mq_new(&mo, &a->mq);
	if (rc != MASH_OK) {
		fprintf(stderr, "mash-agent: mqtt %s: %s\n", c->uri,
		        mash_strerror(rc));
		return rc;
	}
	rc = mash_mq_subscribe(a->mq, a->topic_receipts, c->connect_timeout_ms);
	if (rc == MASH_OK)
		rc = mash_mq_subscribe(a->mq, AGENT_STATUS_TOPIC,
		                       c->connect_timeout_ms);
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mash-agent: mqtt: cannot subscribe to %s: %s\n",
		        a->topic_receipts, mash_strerror(rc));
		return rc;
	}
	return MASH_OK;
}

/* Connect until the first success; afterwards the adapter reconnects on
 * its own. A broker that is down only delays publishing. */
static int
ensure_connected(struct agent *a, int first)
{
	int rc;

	if (mash_mq_connect_count(a->mq) > 0)
		return MASH_OK;
	rc = mash_mq_connect(a->mq, first ? a->cfg->connect_timeout_ms : 50);
	if (rc == MASH_ERR_TIMEOUT) {
		if (first)
			mash_warn("broker %s not reachable yet; events wait in "
			          "the outbox",
			          a->cfg->uri);
		return MASH_OK;
	}
	if (rc != MASH_OK)
		fprintf(stderr, "mash-agent: mqtt %s: connection refused: %s\n",
		        a->cfg->uri, mash_strerror(rc));
	return rc;
}

/* A line on stderr every few seconds of a long run, so an operator
 * watching a backlog drain sees it move. */
static int
progress(struct agent *a, int64_t t)
{
	struct mash_outbox_summary s;
	int rc;

	if (t < a->progress_ms)
		return MASH_OK;
	a->progress_ms = t + AGENT_PROGRESS_MS;
	rc = mash_outbox_summary(a->ob, a->run_id, &s);
	if (rc != MASH_OK)
		return rc;
	fprintf(stderr,
	        "mash-agent %s: %lld s: read %zu, sent %zu, accepted %zu, "
	        "duplicate %zu, rejected %zu, pending %zu, re-sends %zu\n",
	        a->cfg->agency, (long long)((t - a->start_ms) / 1000),
	        a->res->records, s.sent, s.accepted, s.duplicate, s.rejected,
	        s.pending, s.resent);
	return MASH_OK;
}

/*
 * How long the loop may sleep: until the outbox next has something to
 * send for the current window (mash_outbox_wake_ms), a receipt arrives
 * (take_receipt returns at once), the idle or follow poll, the receipt
 * wait or the deadline, whichever is first. Never 0 unless something is
 * really due: a wait of 0 with nothing to do was the busy spin of
 * issue 22.
 */
static int64_t
wait_ms(struct agent *a, int64_t t)
{
	int64_t wake, w;

	w = a->o->follow ? a->cfg->follow_poll_ms : AGENT_IDLE_MS;
	if (mash_outbox_wake_ms(a->ob, a->cfg->max_inflight, &wake) ==
	        MASH_OK &&
	    wake - t < w)
		w = wake - t;
	if (!a->o->follow && a->feed_done && a->deadline_ms == 0 &&
	    a->feed_done_ms + a->cfg->receipt_wait_ms - t < w)
		w = a->feed_done_ms + a->cfg->receipt_wait_ms - t;
	if (a->deadline_ms > 0 && a->deadline_ms - t < w)
		w = a->deadline_ms - t;
	if (a->progress_ms - t < w)
		w = a->progress_ms - t;
	return w > 0 ? w : 0;
}

static int
loop(struct agent *a)
{
	size_t pending = 0;
	int64_t t;
	int rc, first = 1;

	for (;;) {
		rc = ensure_connected(a, first);
		first = 0;
		if (rc != MASH_OK)
			return rc;
		rc = read_feed(a);
		if (rc != MASH_OK)
			return rc;
		rc = drain_receipts(a);
		if (rc == MASH_OK)
			rc = publish_due(a);
		if (rc != MASH_OK)
			return rc;
		if (stopping(a))
			return MASH_OK;
		rc = mash_outbox_pending(a->ob, &pending);
		if (rc != MASH_OK)
			return rc;
		t = now(a);
		rc = progress(a, t);
		if (rc != MASH_OK)
			return rc;
		if (a->deadline_ms > 0 && t >= a->deadline_ms) {
			a->deadline_hit = 1;
			if (pending > 0)
				fprintf(stderr,
				        "mash-agent %s: deadline reached with "
				        "%zu events still without a receipt; "
				        "they stay in the outbox and are "
				        "re-sent on the next run\n",
				        a->cfg->agency, pending);
			return MASH_OK;
		}
		if (!a->o->follow && a->feed_done) {
			if (pending == 0)
				return MASH_OK;
			/* An explicit --deadline replaces receipt_wait_ms. */
			if (a->deadline_ms == 0 &&
			    t - a->feed_done_ms >= a->cfg->receipt_wait_ms) {
				fprintf(stderr,
				        "mash-agent %s: %zu events still "
				        "without a receipt after %d ms; they "
				        "stay in the outbox and are re-sent "
				        "on the next run\n",
				        a->cfg->agency, pending,
				        a->cfg->receipt_wait_ms);
				return MASH_OK;
			}
		}
		if (!a->o->follow && !a->feed_done)
			continue; /* keep reading */
		rc = take_receipt(a, (int)wait_ms(a, t));
		if (rc != MASH_OK && rc != MASH_ERR_TIMEOUT)
			return rc;
	}
}

int
mash_agent_run(const struct mash_agent_opts *o, struct mash_agent_result *res)
{
	struct agent a;
	int rc = MASH_ERR_INVAL;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (o == NULL || o->cfg == NULL || o->input == NULL || res == NULL)
		return rc;
	memset(&a, 0, sizeof(a));
	a.o = o;
	a.cfg = o->cfg;
	a.clock = o->clock != NULL ? o->clock : mash_clock_system();
	a.out = o->out != NULL ? o->out : stdout;
	a.res = res;
	a.start_ms = now(&a);
	a.progress_ms = a.start_ms + AGENT_PROGRESS_MS;
	if (o->deadline_s > 0)
		a.deadline_ms = a.start_ms + o->deadline_s * 1000;
	rc = setup(&a);
	if (rc != MASH_OK)
		goto out;
	rc = loop(&a);
	if (rc != MASH_OK)
		goto out;
	rc = summary(&a);
out:
	if (a.mq != NULL) {
		(void)mash_mq_disconnect(a.mq, 1000);
		mash_mq_free(a.mq);
	}
	mash_feed_free(a.feed);
	mash_outbox_close(a.ob);
	mash_trust_free(a.trust);
	mash_key_free(a.key);
	return rc;
}
