/*
 * mashd.c - the broker daemon: start-up, the main loop, signals, reload
 * and drain (main() and the command line are in main.c). See
 * docs/internals/daemon.md.
 *
 * Threads: Paho runs its own; everything here runs on the main (core)
 * thread, except the sealing of an event's deliveries, which one worker
 * shares while the main thread waits for the batch (daemon/seal_pool.h),
 * and the publishing of the outbox, which another does while the main
 * thread handles the next batch (daemon/outbox_pump.h).
 * Signals are blocked before Paho starts (so its threads inherit the mask) and
 * read from a signalfd in the main loop: no work happens in a signal handler.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit/aud.h"
#include "broker-adapters/mq.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/topics.h"
#include "crypto/atrest.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "daemon/audit_tick.h"
#include "daemon/config.h"
#include "daemon/deliver.h"
#include "daemon/mashd.h"
#include "daemon/outbox.h"
#include "daemon/outbox_pump.h"
#include "daemon/receipt_pump.h"
#include "daemon/reload_check.h"
#include "daemon/retention.h"
#include "daemon/seal_cache.h"
#include "daemon/seal_defer.h"
#include "daemon/seal_pool.h"
#include "daemon/status.h"
#include "daemon/store_open.h"
#include "daemon/triggers.h"
#include "daemon/trust_audit.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "s47/cal.h"
#include "s47/s47.h"
#include "store/store.h"

/* Messages handled per wake-up before signals and ticks get a look. */
#define BATCH 64

int64_t
mashd_now(const struct mashd *d)
{
	return mash_clock_now(&d->clock);
}

int
mashd_tick_add(struct mashd *d, const char *name, mashd_tick_fn fn, void *arg)
{
	if (d == NULL || fn == NULL)
		return MASH_ERR_INVAL;
	if (d->nticks >= MASHD_MAX_TICKS)
		return MASH_ERR_TOO_BIG;
	d->ticks[d->nticks].fn = fn;
	d->ticks[d->nticks].arg = arg;
	d->ticks[d->nticks].name = name != NULL ? name : "tick";
	d->nticks++;
	return MASH_OK;
}

/* ---- post-store hooks ------------------------------------------------ */

int
mashd_after_store(struct mashd *d, const Mash__V1__AgencyEvent *ev,
                  const char *case_id, uint64_t audit_seq)
{
	int rc = MASH_OK;

	(void)audit_seq;
	/* s47 first, so a trigger raised by this very event makes the case
	 * L4 for its sharing decisions (daemon/deliver.h). */
	if (d->triggers != NULL) {
		uint64_t t0 = mashd_stage_start();

		rc = mashd_triggers_on_event(d->triggers, case_id, ev->agency,
		                             ev->event_id, NULL);
		mashd_stage_add(&d->stages, MASHD_STAGE_S47, t0);
		if (rc != MASH_OK)
			return rc;
	}
	if (d->deliver != NULL)
		rc = mashd_deliver_on_event(d->deliver, d->policy, d->directory,
		                            ev, case_id, NULL);
	return rc;
}

void
mashd_after_commit(struct mashd *d)
{
	(void)mashd_outbox_flush_bg(d);
}

/* ---- ticks ----------------------------------------------------------- */

/* Sign and publish an audit checkpoint when one is due (audit.md: at
 * least every N records or T seconds), retained for late subscribers. */
static int
tick_checkpoint(struct mashd *d, void *arg)
{
	struct mash_aud_checkpoint_policy pol;
	struct mash_aud_signer signer;
	unsigned char *env = NULL;
	size_t len = 0;
	int rc;

	(void)arg;
	pol.every_records = (uint64_t)d->cfg.audit_checkpoint_every_records;
	pol.every_ms = d->cfg.audit_checkpoint_every_ms;
	if (pol.every_records == 0 && pol.every_ms == 0)
		return MASH_OK;
	rc = mash_aud_checkpoint_due(d->aud, &pol);
	if (rc <= 0)
		return rc;
	signer.seal = mashd_seal;
	signer.ctx = d;
	rc = mash_aud_checkpoint(d->aud, &signer, &env, &len);
	if (rc != MASH_OK || env == NULL)
		goto out;
	rc = mash_mq_publish(d->mq, MASH_AUD_CHECKPOINT_TOPIC, env, len, 1,
	                     NULL, (int)d->cfg.mqtt_publish_timeout_ms);
	if (rc != MASH_OK)
		mash_warn("checkpoint stored but not published (%s); the "
		          "next one will be",
		          mash_errname(rc));
	rc = MASH_OK;
out:
	mash_free(env);
	return rc;
}

static int
tick_triggers(struct mashd *d, void *arg)
{
	size_t n = 0;
	int rc;

	(void)arg;
	if (d->triggers == NULL)
		return MASH_OK;
	rc = mashd_triggers_tick(d->triggers, &n);
	if (n > 0)
		mash_info("s47: %zu clock(s) escalated", n);
	return rc;
}

/* Quarantine retention (issue 28): hourly, and at the first tick. */
static int
tick_retention(struct mashd *d, void *arg)
{
	int64_t now = mash_clock_now(&d->clock), days;

	(void)arg;
	days = d->cfg.quarantine_retention_days;
	if (days <= 0 || now < d->purge_next_ms)
		return MASH_OK;
	d->purge_next_ms = now + 3600000;
	return mashd_quarantine_purge(d->store, d->aud, now - days * 86400000,
	                              "mashd", NULL);
}

/* Publish what is still pending (a broker outage, a failed publish). */
static int
tick_outbox(struct mashd *d, void *arg)
{
	(void)arg;
	return mashd_outbox_flush_bg(d);
}

static void
run_ticks(struct mashd *d)
{
	uint64_t t0 = mashd_stage_start();
	size_t i;
	int rc;

	mashd_receipts_collect(d, 0); /* counts of an idle spell */
	for (i = 0; i < d->nticks; i++) {
		rc = d->ticks[i].fn(d, d->ticks[i].arg);
		if (rc != MASH_OK)
			mash_warn("tick %s: %s", d->ticks[i].name,
			          mash_errname(rc));
	}
	/* A tick's trigger messages are a batch of their own. */
	mashd_seal_cache_end(d->seal_cache);
	mashd_stage_add(&d->stages, MASHD_STAGE_TICKS, t0);
}

/* ---- loading --------------------------------------------------------- */

static int
principals_cb(void *ctx, const char *role, const char **names, size_t max,
              size_t *n)
{
	struct mashd *d = ctx;
	struct mash_dir_entry e;
	size_t i, count;

	*n = 0;
	if (d->directory == NULL)
		return MASH_OK;
	count = mash_dir_count(d->directory);
	for (i = 0; i < count && *n < max; i++) {
		if (mash_dir_get(d->directory, i, &e) == MASH_OK &&
		    strcmp(e.role, role) == 0)
			names[(*n)++] = e.principal;
	}
	return MASH_OK;
}

static int
load_key(struct mashd *d)
{
	int rc;

	if (!mash_trust_id_valid(d->cfg.signer) ||
	    !mash_trust_id_valid(d->cfg.key_id)) {
		mash_err("signer/key_id: must be [a-z0-9._-]{1,64}");
		return MASH_ERR_CONFIG;
	}
	mash_strlcpy(d->signer, d->cfg.signer, sizeof(d->signer));
	mash_strlcpy(d->key_id, d->cfg.key_id, sizeof(d->key_id));
	rc = mash_key_load_private(d->cfg.key_file, &d->key);
	if (rc != MASH_OK)
		mash_err("key_file %s: %s", d->cfg.key_file,
		         mash_file_strerror(rc));
	return rc;
}

static int
load_trust(const char *dir, struct mash_trust **out)
{
	char why[256];
	int rc;

	why[0] = '\0';
	rc = mash_trust_load(dir, out, why, sizeof(why));
	if (rc != MASH_OK)
		mash_err("trust_store %s: %s (%s)", dir, mash_strerror(rc),
		         why);
	return rc;
}

void
mashd_log_stages(const struct mashd *d, const char *when)
{
	struct mashd_seal_cache_stats sc;
	char line[1400];

	mashd_stages_format(&d->stages, line, sizeof(line));
	mashd_seal_cache_stats(d->seal_cache, &sc);
	/* How often a batch's recipient key served more than one seal. */
	mash_info("stages (%s): %s; seal keys derived %llu, reused %llu", when,
	          line, (unsigned long long)sc.derived,
	          (unsigned long long)sc.reused);
}

/* How long a reload's pre-check may take (a policy parses in ms). */
#define MASHD_RELOAD_CHECK_MS 10000

/* SIGHUP: load everything new first; swap only what loaded. A bad file
 * is refused and the old one stays in force. */
static void
reload(struct mashd *d)
{
	struct mashd_config c;
	struct mash_trust *t = NULL;
	struct mash_s47_policy *s47 = NULL;
	struct mash_cal *cal = NULL;
	struct mash_dir *dir = NULL;
	enum mashd_reload_bad bad = MASHD_RELOAD_OK;
	char err[512];
	int rc;

	mash_info("SIGHUP: reloading trust store, policy and directory");
	c = d->cfg;
	if (load_trust(c.trust_store, &t) == MASH_OK) {
		size_t changed = 0;
		int own = !mash_store_in_tx(d->store) &&
		          mash_store_begin(d->store) == MASH_OK;

		/* Who may publish changes only with an audit record of it
		 * (KEY_CHANGE), all of them or none; unauditable, the store
		 * in force stays. */
		rc = mashd_trust_audit(d->aud, d->trust, t, &changed);
		if (own && rc == MASH_OK)
			rc = mash_store_commit(d->store);
		else if (own)
			(void)mash_store_rollback(d->store);
		if (rc == MASH_OK) {
			mash_trust_free(d->trust);
			d->trust = t;
			mash_info("trust store reloaded (%zu keys, %zu "
			          "changed)",
			          mash_trust_count(t), changed);
		} else {
			mash_err("trust store reload not audited (%s); the "
			         "previous one stays",
			         mash_errname(rc));
			mash_trust_free(t);
		}
	} else {
		mash_err("trust store reload refused; the previous one stays");
	}
	/* Parsed in a child first (daemon/reload_check.h): a broken file
	 * is refused without this process parsing it. */
	err[0] = '\0';
	rc = mashd_reload_check(&c, MASHD_RELOAD_CHECK_MS, &bad, err,
	                        sizeof(err));
	if (rc == MASH_ERR_INTERNAL)
		mash_warn("reload: no pre-check (%s); the files are parsed "
		          "here",
		          err);
	if (c.policy[0] != '\0' && bad == MASHD_RELOAD_BAD_POLICY) {
		mash_err("policy reload refused (%s); the previous one stays",
		         err);
		if (mashd_policy_refused(c.policy, d->aud, rc) != MASH_OK)
			mash_err("policy: the refusal is not audited");
	} else if (c.policy[0] != '\0') {
		err[0] = '\0';
		rc = mashd_policy_load(c.policy, &d->policy, d->aud, err,
		                       sizeof(err));
		if (rc != MASH_OK)
			mash_err("policy reload refused (%s); the previous one "
			         "stays",
			         err);
	}
	/* Refused by the pre-check: not parsed here at all. */
	if (bad != MASHD_RELOAD_OK ||
	    mashd_load_side_files(&c, &s47, &cal, &dir) != MASH_OK) {
		mash_err("s47 policy / calendar / directory reload refused; "
		         "the previous ones stay");
		return;
	}
	if (d->triggers != NULL && s47 != NULL)
		mashd_triggers_set_policy(d->triggers, s47, cal);
	if (s47 != NULL || d->triggers == NULL) {
		mash_s47_policy_free(d->s47);
		d->s47 = s47;
		mash_cal_free(d->cal);
		d->cal = cal;
	} else {
		mash_cal_free(cal);
	}
	mash_dir_free(d->directory);
	d->directory = dir;
	if (dir != NULL)
		mashd_warn_keyless(dir);
	mashd_release_held(d);
}

/* --check: load everything, touch nothing. */
int
mashd_exit_for(int rc)
{
	return rc == MASH_ERR_NOT_FOUND || rc == MASH_ERR_IO ||
	               rc == MASH_ERR_KEY_FORMAT || rc == MASH_ERR_CONFIG ||
	               rc == MASH_ERR_PARSE || rc == MASH_ERR_POLICY ||
	               rc == MASH_ERR_TOO_BIG
	           ? MASHD_EXIT_USAGE
	           : MASHD_EXIT_CHECK;
}

/* Keep the worst exit code of a --check: 2 (bad input) over 1. */
static void
check_failed(int rc, int *exit_code)
{
	int e = mashd_exit_for(rc);

	if (e > *exit_code)
		*exit_code = e;
}

int
mashd_check(struct mashd *d)
{
	struct mash_policy *pol = NULL;
	struct mash_s47_policy *s47 = NULL;
	struct mash_cal *cal = NULL;
	struct mash_dir *dir = NULL;
	struct mash_store *st = NULL;
	struct stat sb;
	char err[512];
	int rc, exit_code = MASHD_EXIT_OK;

	rc = load_key(d);
	if (rc != MASH_OK)
		check_failed(rc, &exit_code);
	rc = load_trust(d->cfg.trust_store, &d->trust);
	if (rc != MASH_OK)
		check_failed(rc, &exit_code);
	else if (mash_trust_lookup(d->trust, d->signer, d->key_id, NULL) !=
	         MASH_OK)
		mash_warn("trust_store has no valid key %s/%s: receivers will "
		          "not verify the daemon's messages",
		          d->signer, d->key_id);
	if (d->cfg.policy[0] != '\0') {
		err[0] = '\0';
		rc = mash_pol_load(d->cfg.policy, &pol, err, sizeof(err));
		if (rc != MASH_OK) {
			mash_err("policy %s: %s", d->cfg.policy, err);
			check_failed(rc, &exit_code);
		}
	}
	rc = mashd_load_side_files(&d->cfg, &s47, &cal, &dir);
	if (rc != MASH_OK)
		check_failed(rc, &exit_code);
	/* The store is checked if it exists; --check never creates it. A
	 * store that fails its integrity check is a failed check (1); a URL
	 * naming no local file (a server) is always opened and checked. */
	if (mash_store_url_file(d->cfg.store) == NULL ||
	    stat(mash_store_url_file(d->cfg.store), &sb) == 0) {
		rc = mashd_store_open(&d->cfg, 1, &st);
		if (rc == MASH_OK) {
			rc = mash_store_check(st);
			if (rc != MASH_OK)
				mash_err("store %s: %s", d->cfg.store,
				         mash_strerror(rc));
		}
		if (rc == MASH_ERR_CONFIG)
			check_failed(rc, &exit_code);
		else if (rc != MASH_OK && exit_code == MASHD_EXIT_OK)
			exit_code = MASHD_EXIT_CHECK;
	} else if (d->cfg.store_key_file[0] != '\0') {
		uint8_t kek[MASH_ATREST_KEK_LEN];

		rc = mash_atrest_kek_load(d->cfg.store_key_file, kek, err,
		                          sizeof(err));
		OPENSSL_cleanse(kek, sizeof(kek));
		if (rc != MASH_OK) {
			mash_err("store_key_file: %s", err);
			check_failed(MASH_ERR_CONFIG, &exit_code);
		}
	}
	mash_store_close(st);
	mash_pol_free(pol);
	mash_s47_policy_free(s47);
	mash_cal_free(cal);
	mash_dir_free(dir);
	if (exit_code == MASHD_EXIT_OK)
		fprintf(stderr, "mashd: %s: configuration OK\n",
		        d->config_path);
	return exit_code;
}

int
mashd_start(struct mashd *d)
{
	struct mashd_triggers_cfg tc;
	struct mashd_deliver_cfg dc;
	char err[512];
	int rc;

	rc = load_key(d);
	if (rc != MASH_OK)
		return rc;
	rc = load_trust(d->cfg.trust_store, &d->trust);
	if (rc != MASH_OK)
		return rc;
	rc = mashd_store_open(&d->cfg, 0, &d->store);
	if (rc != MASH_OK)
		return rc;
	mash_store_set_clock(d->store, &d->clock);
	/* The core thread's COMMITs only append to the WAL; copying it into
	 * the database runs on the store's own thread (issue 32). Without
	 * it the commits go on doing it, as they always did. */
	rc = mash_store_checkpoint_in_background(d->store, MASHD_CHECKPOINT_MS);
	if (rc != MASH_OK)
		mash_warn("store: checkpoints stay inside the commits (%s)",
		          mash_errname(rc));
	rc = mash_aud_open(d->store, &d->clock, d->cfg.audit_log_id, &d->aud);
	if (rc != MASH_OK) {
		mash_err("audit log in %s: %s", d->cfg.store,
		         mash_strerror(rc));
		return rc;
	}
	if (d->cfg.policy[0] != '\0') {
		err[0] = '\0';
		rc = mashd_policy_load(d->cfg.policy, &d->policy, d->aud, err,
		                       sizeof(err));
		if (rc != MASH_OK) {
			mash_err("policy %s: %s", d->cfg.policy, err);
			return rc;
		}
	}
	rc = mashd_load_side_files(&d->cfg, &d->s47, &d->cal, &d->directory);
	if (rc != MASH_OK)
		return rc;
	if (d->directory != NULL)
		mashd_warn_keyless(d->directory);
	/* Deliveries and trigger messages sealed on both cores (issue 22). */
	if (d->s47 != NULL || d->policy != NULL) {
		rc = mashd_seal_pool_new(mashd_seal_to_with, d, &d->seal_pool);
		if (rc != MASH_OK)
			mash_warn("sealing on one core only: no worker thread "
			          "(%s)",
			          mash_errname(rc));
		/* Without it every seal makes its own ephemeral key. */
		if (mashd_seal_cache_new(&d->seal_cache) != MASH_OK)
			mash_warn("sealing without a batch key cache: out of "
			          "memory");
	}
	if (d->s47 != NULL) {
		memset(&tc, 0, sizeof(tc));
		tc.store = d->store;
		tc.aud = d->aud;
		tc.clock = &d->clock;
		tc.policy = d->s47;
		tc.cal = d->cal;
		tc.principals = principals_cb;
		tc.seal_to = mashd_seal_to;
		tc.seal_many = d->seal_pool != NULL ? mashd_seal_many : NULL;
		tc.sees = mashd_trigger_sees;
		if (mashd_trigger_sees_memo_new(d) == MASH_OK)
			tc.sees_memo = mashd_trigger_sees_memo;
		else
			mash_warn("s47: each attendee's view reads the store "
			          "(no memory for a memo)");
		tc.ctx = d;
		rc = mashd_triggers_new(&tc, &d->triggers);
		if (rc != MASH_OK) {
			mash_err("s47 triggers: %s", mash_strerror(rc));
			return rc;
		}
	}
	if (d->policy != NULL) {
		memset(&dc, 0, sizeof(dc));
		dc.store = d->store;
		dc.aud = d->aud;
		dc.seal_to = mashd_seal_to;
		dc.seal_many = d->seal_pool != NULL ? mashd_seal_many : NULL;
		/* An event's deliveries sealed while the next events are
		 * handled (issue 32); without the thread, as above. */
		if (d->seal_pool != NULL &&
		    (rc = mashd_sdq_new(mashd_seal_to_with, d, &d->sdq)) !=
		        MASH_OK)
			mash_warn("deliveries sealed event by event: no "
			          "worker thread (%s)",
			          mash_errname(rc));
		dc.seal_defer = d->sdq != NULL ? mashd_seal_defer : NULL;
		dc.ctx = d;
		rc = mashd_deliver_new(&dc, &d->deliver);
		if (rc != MASH_OK) {
			mash_err("delivery: %s", mash_strerror(rc));
			return rc;
		}
	}
	(void)mashd_tick_add(d, "audit-checkpoint", tick_checkpoint, NULL);
	rc = mashd_batch_init(d);
	if (rc != MASH_OK)
		return rc;
	(void)mashd_tick_add(d, "s47-escalation", tick_triggers, NULL);
	/* After escalation, so its deliveries go out in the same tick. */
	(void)mashd_tick_add(d, "outbox", tick_outbox, NULL);
	(void)mashd_tick_add(d, "quarantine-retention", tick_retention, NULL);
	if (d->cfg.quarantine_retention_days == 0)
		mash_warn("quarantine.retention_days = 0: rejected messages "
		          "are kept for ever");
	return MASH_OK;
}

/* The receipt pump's way out (called on its thread; reads only d->mq
 * and d->cfg, as the outbox pump's). */
static void
receipts_send(void *ctx, const struct mash_mq_out *msgs, size_t n, int *rcs)
{
	struct mashd *d = ctx;
	size_t i;

	if (mash_mq_publish_many(d->mq, msgs, n,
	                         (int)d->cfg.mqtt_publish_timeout_ms,
	                         rcs) == MASH_ERR_INVAL)
		for (i = 0; i < n; i++)
			rcs[i] = MASH_ERR_INVAL;
}

int
mashd_start_mq(struct mashd *d)
{
	struct mash_mq_opts o;
	int rc;

	rc = mashd_status_new(d->key, d->signer, d->key_id,
	                      mash_clock_now(&d->clock), &d->status);
	if (rc != MASH_OK) {
		mash_err("cannot seal the status messages: %s",
		         mash_strerror(rc));
		return rc;
	}
	mash_mq_opts_init(&o);
	o.uri = d->cfg.mqtt_uri;
	o.client_id = d->cfg.mqtt_client_id;
	o.username = d->cfg.mqtt_username;
	o.password = d->cfg.mqtt_password;
	o.ca_file = d->cfg.mqtt_ca_file;
	o.cert_file = d->cfg.mqtt_cert_file;
	o.key_file = d->cfg.mqtt_key_file;
	o.verify_peer = d->cfg.mqtt_verify_peer;
	o.clean_start = d->cfg.mqtt_clean_start;
	o.session_expiry_s = (uint32_t)d->cfg.mqtt_session_expiry;
	o.keepalive_s = (int)d->cfg.mqtt_keepalive;
	o.reconnect_min_s = (int)d->cfg.mqtt_reconnect_min;
	o.reconnect_max_s = (int)d->cfg.mqtt_reconnect_max;
	o.queue_max_msgs = (size_t)d->cfg.mqtt_queue_max_messages;
	o.queue_max_bytes = (size_t)d->cfg.mqtt_queue_max_bytes;
	/* Never more unacknowledged messages in flight to us than the queue
	 * holds: the broker keeps the rest (docs/internals/mq.md, sizing). */
	o.receive_max = d->cfg.mqtt_queue_max_messages > 65535
	                    ? 65535
	                    : (uint16_t)d->cfg.mqtt_queue_max_messages;
	/* Copy a little more than the limit so an oversized message is
	 * recognised (and quarantined, truncated) rather than taken whole. */
	o.max_payload = (size_t)d->cfg.max_message + 1;
	/* A crash says so: the broker publishes "offline" for us. */
	o.will_topic = MASHD_STATUS_TOPIC;
	o.will_payload = mashd_status_env(d->status, 0, &o.will_len);
	o.will_retained = 1;
	rc = mash_mq_new(&o, &d->mq);
	if (rc != MASH_OK)
		return rc;
	/* A batch's deliveries published while the next batch is handled
	 * (issue 22); without the thread, after each commit in turn. */
	rc = mashd_pump_new(mashd_outbox_send, d, &d->pump);
	if (rc == MASH_OK) {
		struct mashd_outbox_retry r;

		mashd_outbox_retry_init(d, &r);
		mashd_pump_set_retry(d->pump, &r);
		mashd_pump_set_stages(d->pump, &d->stages);
	} else
		mash_warn("outbox published between batches only: no pump "
		          "thread (%s)",
		          mash_errname(rc));
	/* A batch's receipts published while the next batch is handled;
	 * without the thread, each batch waits for its own PUBACKs. */
	rc = mashd_rpump_new(receipts_send, d, (size_t)d->cfg.ingest_batch_max,
	                     &d->rpump);
	if (rc != MASH_OK)
		mash_warn("receipts published between batches only: no "
		          "receipt thread (%s)",
		          mash_errname(rc));
	rc = mash_mq_subscribe(d->mq, d->cfg.mqtt_subscribe, 5000);
	if (rc == MASH_OK && d->cfg.mqtt_picture_subscribe[0] != '\0')
		rc = mash_mq_subscribe(d->mq, d->cfg.mqtt_picture_subscribe,
		                       5000);
	return rc;
}

/* Handle pending signals; returns 1 if the daemon should stop. */
static int
read_signals(struct mashd *d, int sfd)
{
	struct signalfd_siginfo si;
	ssize_t n;

	for (;;) {
		n = read(sfd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si))
			break;
		if (si.ssi_signo == SIGHUP) {
			reload(d);
		} else if (si.ssi_signo == SIGUSR1) {
			mashd_log_stages(d, "SIGUSR1");
		} else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			mash_info("signal %u: draining and stopping",
			          si.ssi_signo);
			d->stopping = 1;
		}
	}
	return d->stopping;
}

/* 1 if msg may join a group commit (events only: picture requests run
 * their own transactions). */
static int
batchable(const struct mash_mq_msg *msg)
{
	return strncmp(msg->topic, MASH_TOPIC_EVENTS_PREFIX,
	               strlen(MASH_TOPIC_EVENTS_PREFIX)) == 0;
}

/* End the open batch (COMMIT, then its receipts and the outbox) and free
 * the messages it held. */
static void
batch_close(struct mashd *d, struct mash_mq_msg **held, size_t *nheld)
{
	size_t i;

	(void)mashd_batch_end(d);
	for (i = 0; i < *nheld; i++)
		mash_mq_msg_free(held[i]);
	*nheld = 0;
}

/*
 * Handle every message queued now (up to limit; 0: no limit). Events
 * already queued are grouped, up to cfg.ingest_batch_max, into one
 * transaction (mashd_batch_*): never waiting for more to arrive, so a
 * lone event is committed and answered at once.
 */
static size_t
drain(struct mashd *d, size_t limit)
{
	struct mash_mq_msg *held[MASHD_BATCH_MAX];
	struct mash_mq_msg *m = NULL;
	size_t n = 0, nheld = 0, max = (size_t)d->cfg.ingest_batch_max;

	if (limit != 0 && limit < max)
		limit = max; /* a wake-up takes at least one full batch */
	while ((limit == 0 || n < limit) &&
	       mash_mq_next(d->mq, 0, &m) == MASH_OK) {
		n++;
		if (max > 1 && batchable(m) && !d->batch_open)
			(void)mashd_batch_begin(d); /* else: one by one */
		if (d->batch_open && !batchable(m))
			batch_close(d, held, &nheld);
		mashd_dispatch(d, m);
		if (!d->batch_open) {
			mash_mq_msg_free(m);
			m = NULL;
			continue;
		}
		held[nheld++] = m;
		m = NULL;
		if (nheld >= max)
			batch_close(d, held, &nheld);
	}
	batch_close(d, held, &nheld);
	return n;
}

/* Publish the retained status: online once per connection (a broker
 * restarted without persistence forgot it), offline on a clean stop. */
static void
publish_status(struct mashd *d, int online)
{
	const uint8_t *env;
	size_t len;
	uint64_t conn = mash_mq_connect_count(d->mq);
	int rc;

	if (online && conn == d->status_conn)
		return;
	env = mashd_status_env(d->status, online, &len);
	rc = mash_mq_publish(d->mq, MASHD_STATUS_TOPIC, env, len, 1, NULL,
	                     (int)d->cfg.mqtt_publish_timeout_ms);
	if (rc != MASH_OK) {
		mash_warn("status %s not published (%s)%s",
		          online ? "online" : "offline", mash_errname(rc),
		          online ? "; retried" : "");
		return;
	}
	if (online) {
		d->status_conn = conn;
		mash_info("status: online, incarnation %s",
		          mashd_status_incarnation(d->status));
	}
}

int
mashd_run(struct mashd *d, int sfd)
{
	struct pollfd pfd[3];
	int64_t next_tick, now, end;
	int rc, timeout;

	/* Connect, retrying until the broker answers or we are told to
	 * stop (the broker may start after us). */
	for (;;) {
		rc = mash_mq_connect(d->mq, 2000);
		if (rc == MASH_OK)
			break;
		if (rc != MASH_ERR_TIMEOUT) {
			mash_err("mqtt %s: %s", d->cfg.mqtt_uri,
			         mash_strerror(rc));
			return MASHD_EXIT_CHECK;
		}
		if (read_signals(d, sfd))
			return MASHD_EXIT_OK;
		mash_warn("mqtt %s: not reachable yet; retrying",
		          d->cfg.mqtt_uri);
	}
	mash_info("mashd ready: subscribed to %s as %s", d->cfg.mqtt_subscribe,
	          d->cfg.mqtt_client_id);
	/* Deliveries committed before a crash or a stop go out first; held
	 * ones whose recipient gained a key while we were down with them. */
	(void)mashd_outbox_flush_now(d);
	mashd_release_held(d);
	next_tick = mash_mono_ms();
	while (!d->stopping) {
		if (mash_mq_is_connected(d->mq))
			publish_status(d, 1);
		now = mash_mono_ms();
		if (now >= next_tick) {
			run_ticks(d);
			next_tick = now + d->cfg.tick_ms;
		}
		timeout = (int)(next_tick - mash_mono_ms());
		if (timeout < 0)
			timeout = 0;
		pfd[0].fd = mash_mq_fd(d->mq);
		pfd[0].events = POLLIN;
		pfd[1].fd = sfd;
		pfd[1].events = POLLIN;
		/* The pump finished a job: what it published is marked done
		 * and the deliveries of batches committed meanwhile go. */
		pfd[2].fd = mashd_pump_fd(d->pump);
		pfd[2].events = POLLIN;
		pfd[2].revents = 0;
		rc = poll(pfd, pfd[2].fd >= 0 ? 3 : 2, timeout);
		if (rc < 0 && errno != EINTR) {
			mash_err("poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents & POLLIN)
			(void)read_signals(d, sfd);
		if (pfd[2].revents & POLLIN)
			(void)mashd_outbox_flush_bg(d);
		if (pfd[0].revents & POLLIN)
			(void)drain(d, BATCH);
	}
	/* Drain: everything already taken from the broker is handled, with
	 * receipts, while still connected; bounded by drain_timeout_ms. */
	end = mash_mono_ms() + d->cfg.drain_timeout_ms;
	while (mash_mq_queued(d->mq) > 0 && mash_mono_ms() < end)
		(void)drain(d, BATCH);
	mashd_receipts_collect(d, 1); /* the last batch's receipts out */
	/* The last batches' deliveries out, their PUBACKs awaited. */
	(void)mashd_outbox_flush_now(d);
	(void)mashd_audit_checkpoint_now(
	    d); /* every record under a checkpoint */
	publish_status(d, 0);
	(void)mash_mq_disconnect(d->mq, 2000);
	/* Anything that arrived while disconnecting is stored too (its
	 * receipt cannot go out; the agent's re-send gets DUPLICATE). */
	(void)drain(d, 0);
	mashd_receipts_collect(d, 1);
	return MASHD_EXIT_OK;
}

void
mashd_teardown(struct mashd *d)
{
	mashd_pump_free(d->pump);   /* publishes through d->mq */
	mashd_rpump_free(d->rpump); /* so does this */
	mash_mq_free(d->mq);
	mashd_status_free(d->status);
	mashd_sdq_free(d->sdq); /* seals with d's key and directory */
	mashd_seal_pool_free(d->seal_pool);
	mashd_seal_cache_free(d->seal_cache);
	mashd_deliver_free(d->deliver);
	mashd_triggers_free(d->triggers);
	mashd_trigger_sees_memo_free(d);
	mashd_batch_free(d);
	mash_aud_free(d->aud);
	mash_store_close(d->store);
	mash_trust_free(d->trust);
	mash_key_free(d->key);
	mash_pol_free(d->policy);
	mash_s47_policy_free(d->s47);
	mash_cal_free(d->cal);
	mash_dir_free(d->directory);
}
