/*
 * mashd.h - the daemon's context and the places other modules hook in.
 *
 * One struct mashd per process, owned by main (daemon/mashd.c) and used
 * only on the core thread (Paho's threads never see it: they only fill the
 * adapter's queue), except that the seal pool's worker reads the key and
 * the directory while the core thread waits for it, and the outbox pump
 * reads mq and cfg, which do not change after start-up. The main loop polls the
 * MQTT queue, the signal fd and the tick timer; each message goes through
 * mashd_dispatch() (dispatch.c) to one handler per message type
 * (handle_event.c, handle_picture.c).
 *
 * Hook points for other modules (keep additions to one line each):
 *   - mashd_after_store(): inside the event's transaction, after it is
 *     stored and audited (s47 triggers, sharing decisions).
 *   - mashd_after_commit(): after that transaction committed (publish
 *     the store's outbox, where the hooks added their deliveries).
 *   - mashd_tick_add(): a function run every cfg.tick_ms on the core
 *     thread, outside any transaction (clock escalation, checkpoints).
 *   - mashd_dispatch(): one line per topic family.
 */
#ifndef MASHD_H
#define MASHD_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/clock.h"
#include "daemon/config.h"
#include "daemon/stages.h"
#include "daemon/triggers.h"
#include "mash/v1/mash.pb-c.h"

struct mash_mq;
struct mash_mq_msg;
struct mash_mq_props;
struct mash_store;
struct mash_trust;
struct mash_key;
struct mash_aud;
struct mash_policy;
struct mash_dir;
struct mash_s47_policy;
struct mash_cal;
struct mashd_deliver;
struct mashd_triggers;
struct mashd_deferred;

/* Most tick functions. */
#define MASHD_MAX_TICKS 16u
/* Signer / key id buffers (ids are [a-z0-9._-]{1,64}). */
#define MASHD_ID_SIZE 65u
/* How often the store's thread copies the WAL into the database (ms):
 * at up to 14 MB of WAL a second, what is left for the COMMIT that
 * rewinds the WAL is about a MB (store/sqlite/sq_ckpt.c). */
#define MASHD_CHECKPOINT_MS 100

struct mashd;

/* A periodic function: runs on the core thread, outside a transaction.
 * A non-OK return is logged; it does not stop the daemon. */
typedef int (*mashd_tick_fn)(struct mashd *d, void *arg);

/* Counters (logged at exit, read by tests through the log). */
struct mashd_stats {
	uint64_t received; /* messages taken from the queue */
	uint64_t accepted;
	uint64_t duplicates;
	uint64_t rejected;        /* quarantined */
	uint64_t receipts;        /* receipts the broker acknowledged */
	uint64_t receipt_failed;  /* receipts not sent (agent re-sends) */
	uint64_t internal_errors; /* store/audit failures: no receipt */
	uint64_t dead_letters;    /* deliveries past the retry budget */
};

struct mashd_status;

struct mashd {
	struct mashd_config cfg; /* after file + command line */
	const char *config_path; /* borrowed from argv */

	/* Time: the system clock, or a test clock (daemon/triggers.h). */
	struct mash_clock clock;
	struct mashd_test_clock test_clock;
	int64_t purge_next_ms; /* next quarantine retention run (clock) */

	struct mash_mq *mq;          /* the MQTT adapter */
	struct mashd_status *status; /* liveness messages (daemon/status.h) */
	uint64_t status_conn; /* connection the online status went out on */
	/* Batches committed while the pump was busy, their deliveries not
	 * yet handed to it (mashd_outbox_flush_bg). */
	unsigned outbox_owed;
	struct mash_store *store;   /* SQLite store (one connection) */
	struct mash_aud *aud;       /* audit log kept in store */
	struct mash_trust *trust;   /* swapped on SIGHUP */
	struct mash_key *key;       /* mashd's private signing key */
	char signer[MASHD_ID_SIZE]; /* "mashd" (cfg.signer) */
	char key_id[MASHD_ID_SIZE]; /* cfg.key_id */

	/* Filled when the files are configured; NULL otherwise. Swapped
	 * on SIGHUP between messages, never during one. */
	struct mash_policy *policy;  /* sharing policy (cfg.policy) */
	struct mash_dir *directory;  /* principals (cfg.directory) */
	struct mash_s47_policy *s47; /* s47 triggers (cfg.policy) */
	struct mash_cal *cal;        /* working-day calendar */

	/* Post-store engines (NULL when their inputs are missing). */
	struct mashd_deliver *deliver;   /* SharedRecords (policy owner) */
	struct mashd_triggers *triggers; /* s47 triggers (s47 owner) */

	struct {
		mashd_tick_fn fn;
		void *arg;
		const char *name;
	} ticks[MASHD_MAX_TICKS];
	size_t nticks;

	struct mashd_stats stats;
	struct mashd_stages stages; /* core thread time per stage (issue 32) */
	int stopping;               /* SIGTERM seen: draining */
	int test_exit_after_commit; /* TEST ONLY (mashd_test_exit_from_env) */
	struct mashd_seal_pool *seal_pool;   /* sealing on both cores */
	struct mashd_seal_cache *seal_cache; /* a batch's derived keys */
	/* Deliveries sealed beside the core thread, their outbox rows
	 * added before the COMMIT (daemon/seal_defer.h); NULL: at once. */
	struct mashd_sdq *sdq;
	size_t sdq_mark;         /* queued before the message's unit of work */
	struct mashd_pump *pump; /* the outbox published beside the core */
	struct mashd_rpump *rpump; /* receipts published beside the core */
	struct mashd_sees_memo *sees_memo; /* trigger_sees.c, MASHD_SEES_MEMO */
	size_t n_sees_memo;
	int sees_memo_on;

	/* Group commit (mashd_batch_*): while batch_open, each event is a
	 * savepoint of one transaction and its receipt waits in deferred
	 * (cfg.ingest_batch_max entries) for the COMMIT. */
	int batch_open;
	struct mashd_deferred *deferred;
	size_t n_deferred;
};

/*
 * Seal msg (payload_type = its descriptor's full name) as the daemon
 * (signer, key id) and publish it at QoS 1 to topic, waiting for the
 * broker's PUBACK (cfg.mqtt_publish_timeout_ms). props may be NULL.
 * MASH_OK once the broker has it; MASH_ERR_MQTT / MASH_ERR_TIMEOUT
 * (not connected, refused, no PUBACK); sealing errors (MASH_ERR_TOO_BIG,
 * MASH_ERR_NOMEM, ...).
 */
int mashd_publish_signed(struct mashd *d, const char *topic,
                         const ProtobufCMessage *msg, int retained,
                         const struct mash_mq_props *props);

/*
 * Seal payload[0..len) of payload_type as the daemon: *env (mash_malloc'd,
 * caller frees with mash_free) and *env_len. The shape of struct
 * mash_aud_signer's seal and of the seal callbacks of daemon/deliver.h and
 * daemon/triggers.h (ctx is the struct mashd).
 */
/*
 * Seal payload for recipient with its directory enc_key, then sign
 * (crypto/inbox.h): daemon/outbox.h's mashd_seal_to_fn, ctx the struct
 * mashd. MASH_ERR_NO_ENC_KEY for a principal the directory gives no key
 * (or does not know).
 */
int mashd_seal_to(void *ctx, const char *recipient, const char *payload_type,
                  const unsigned char *payload, size_t len, unsigned char **env,
                  size_t *env_len);

/* mashd_seal_to with to, the recipient's key derived for the batch
 * (NULL: a fresh ephemeral key): the seal pool's function
 * (daemon/seal_pool.h). */
struct mash_seal_to;
int mashd_seal_to_with(void *ctx, const struct mash_seal_to *to,
                       const char *recipient, const char *payload_type,
                       const unsigned char *payload, size_t len,
                       unsigned char **env, size_t *env_len);

/* Seal one event's deliveries on d->seal_pool (daemon/seal_pool.h), each
 * with its recipient's key derived once for the batch (d->seal_cache,
 * daemon/seal_cache.h): the deliver cfg's seal_many; ctx the mashd. */
struct mashd_seal_job;
void mashd_seal_many(void *ctx, struct mashd_seal_job *jobs, size_t n);

/* The same keys as mashd_seal_many, the jobs queued on d->sdq instead of
 * sealed now (their payloads pass to it): the deliver cfg's seal_defer.
 * MASH_OK, or an error and nothing taken (seal them at once). */
int mashd_seal_defer(void *ctx, struct mashd_seal_job *jobs, size_t n);

/* Seal what d->sdq holds and add its outbox rows in the open transaction,
 * before its COMMIT; MASH_OK (also without a queue), or the first error:
 * the caller rolls back and sends no receipt. */
int mashd_seal_deferred_flush(struct mashd *d);

int mashd_seal(void *ctx, const char *payload_type,
               const unsigned char *payload, size_t len, unsigned char **env,
               size_t *env_len);

/*
 * Register a tick function (name for logs, static storage). MASH_OK or
 * MASH_ERR_TOO_BIG (more than MASHD_MAX_TICKS).
 */
int mashd_tick_add(struct mashd *d, const char *name, mashd_tick_fn fn,
                   void *arg);

/*
 * Route one received message to its handler by topic. Never fails: a
 * handler's error is logged and counted. Defined in dispatch.c.
 */
void mashd_dispatch(struct mashd *d, const struct mash_mq_msg *msg);

/*
 * Handle one message on mash/v1/events/{agency} (handle_event.c):
 * verify, validate, store, audit, receipt. Returns MASH_OK when the
 * message was answered (accepted, duplicate or rejected and quarantined),
 * or an internal error (store/audit failure: nothing committed, no
 * receipt; the agent re-sends).
 */
int mashd_handle_event(struct mashd *d, const struct mash_mq_msg *msg);

/*
 * The post-store hook: called by handle_event INSIDE the transaction that
 * stored ev on case_id, after its EVENT_RECEIVED audit record (audit_seq).
 * Modules add their work here (s47 triggers, sharing decisions); what
 * they deliver goes into the store's outbox in this transaction. MASH_OK,
 * or an error after which the caller rolls back (outbox rows included)
 * and sends no receipt.
 */
int mashd_after_store(struct mashd *d, const Mash__V1__AgencyEvent *ev,
                      const char *case_id, uint64_t audit_seq);

/* After the event's transaction committed: mashd_outbox_flush_bg. */
void mashd_after_commit(struct mashd *d);

/*
 * Publish the store's pending outbox (daemon/outbox.h) through the MQTT
 * adapter (QoS 1, PUBACK awaited), oldest first, stopping at the first
 * failure (kept for the next flush): first what the pump has in flight,
 * then the rest. Call outside a transaction. MASH_OK when the outbox is
 * empty, or the error (logged).
 */
int mashd_outbox_flush_now(struct mashd *d);

/* Log the core thread's time per stage ("stages (WHEN): verify ...";
 * issue 32): at the stop and on SIGUSR1. */
void mashd_log_stages(const struct mashd *d, const char *when);

struct mashd_outbox_retry;
/* The outbox retry budget from d's config, DELIVERY_FAILED records in
 * d's audit log, counted in d->stats.dead_letters (issue 31). */
void mashd_outbox_retry_init(struct mashd *d, struct mashd_outbox_retry *r);

/*
 * Mark what the pump published done and hand it the pending outbox
 * (daemon/outbox_pump.h), without waiting for the PUBACKs; without a pump,
 * mashd_outbox_flush_now. While the pump still has a job in flight this
 * does nothing (d->outbox_owed counts it; mashd_run flushes when the pump
 * says it is done), up to MASHD_OUTBOX_OWED_MAX batches in a row: then it
 * waits for the job, so a broker slower than the daemon slows the daemon
 * down instead of growing the outbox. Call outside a transaction. The
 * last job's error (logged), or MASH_OK.
 */
#define MASHD_OUTBOX_OWED_MAX 4u
int mashd_outbox_flush_bg(struct mashd *d);

/* mashd_sees_fn (daemon/trigger_view.h) over d's store, policy and
 * directory: daemon/trigger_sees.c. */
int mashd_trigger_sees(void *ctx, const char *case_id, const char *recipient,
                       const char *event_ref, unsigned level,
                       unsigned n_agencies, int *record, int *signpost);

/* Contributing events read for one trigger message at most (one per
 * contributing event, MASH_S47_MAX_CONTRIB). */
#define MASHD_SEES_MEMO 64u

/*
 * on: from now on mashd_trigger_sees reads and decodes each contributing
 * event once and answers every attendee from that (a trigger message's
 * attendees all look at the same events; issue 22); off: forget them
 * (ctx: the mashd). Either way what was kept is freed, so a memo never
 * outlives the message it was made for. The memo is made by
 * mashd_trigger_sees_memo_new (MASH_OK, MASH_ERR_NOMEM; without it every
 * call reads the store) and freed by mashd_trigger_sees_memo_free.
 */
void mashd_trigger_sees_memo(void *ctx, int on);
int mashd_trigger_sees_memo_new(struct mashd *d);
void mashd_trigger_sees_memo_free(struct mashd *d);

/* mashd_outbox_send_many_fn over the MQTT adapter (ctx: the mashd); called
 * on the pump thread, it reads only d->mq and d->cfg. */
void mashd_outbox_send(void *ctx, const char *const *topic,
                       const unsigned char *const *bytes, const size_t *len,
                       size_t n, int *rcs);

/* Seal and queue every held delivery whose recipient now has a key, then
 * flush (daemon/publish.c; at start-up and after each reload). */
void mashd_release_held(struct mashd *d);

/* Log each principal of dir without an encryption key (its deliveries
 * are held): never silent about what will not be sent. */
struct mash_dir;
void mashd_warn_keyless(const struct mash_dir *dir);

/*
 * TEST ONLY: 1 if the environment has MASHD_TEST_EXIT_AFTER_COMMIT=1,
 * else 0. Then mashd _exit()s (status MASHD_TEST_EXIT_STATUS) right after
 * the first event transaction that stored an event commits, before
 * publishing anything, to simulate a crash between COMMIT and publish.
 * The daemon logs a warning; production deployments must not set it.
 */
int mashd_test_exit_from_env(void);
#define MASHD_TEST_EXIT_STATUS 86

/*
 * Group commit (handle_event.c). mashd_batch_init allocates room for
 * cfg.ingest_batch_max deferred receipts (MASH_OK, MASH_ERR_NOMEM);
 * mashd_batch_free releases it. mashd_batch_begin opens ONE store
 * transaction: until mashd_batch_end, every event message handled runs in
 * its own savepoint (a failure rolls back that message only) and its
 * receipt (ACCEPTED, DUPLICATE or REJECTED) is deferred; the caller must
 * keep each message alive until mashd_batch_end and handle at most
 * cfg.ingest_batch_max of them, events only. mashd_batch_end COMMITs;
 * then, and only then, publishes the deferred receipts in order (through
 * d->rpump when there is one: handed over, not waited for) and flushes
 * the outbox. If the COMMIT fails no receipt is sent (the agents
 * re-send) and the error is returned. MASH_OK when no batch is open.
 */
int mashd_batch_init(struct mashd *d);
/* Add what the receipt pump has published since to d->stats; wait for
 * the job in flight first when wait is set (a stop), else only a job
 * that has finished. No-op without a pump. */
void mashd_receipts_collect(struct mashd *d, int wait);
void mashd_batch_free(struct mashd *d);
int mashd_batch_begin(struct mashd *d);
int mashd_batch_end(struct mashd *d);

/* The current time (d->clock). */
int64_t mashd_now(const struct mashd *d);

/* Exit codes (shared/spec/cli.md). */
#define MASHD_EXIT_OK    0
#define MASHD_EXIT_CHECK 1
#define MASHD_EXIT_USAGE 2

/* The exit code for a start-up error rc: MASHD_EXIT_USAGE when an input
 * (key, trust store, policy, directory, calendar) is missing, unreadable
 * or malformed (cli.md: "bad usage or unreadable input"), otherwise
 * MASHD_EXIT_CHECK. */
int mashd_exit_for(int rc);

/* --check with d->cfg set: load key, trust store, policy, s47 policy,
 * calendar, directory, check an existing store; create nothing.
 * MASHD_EXIT_OK, MASHD_EXIT_USAGE if an input is missing, unreadable or
 * malformed (as mashd_exit_for), else MASHD_EXIT_CHECK if a check failed
 * (reasons logged). */
int mashd_check(struct mashd *d);

/* Start-up with d->cfg and d->clock set: key, trust store, store, audit
 * log, policy, directory, s47 engine, delivery engine, ticks. MASH_OK or
 * the first error (logged). */
int mashd_start(struct mashd *d);

/* Create the MQTT client and subscribe (not yet connected). */
int mashd_start_mq(struct mashd *d);

/* The main loop: connect (retrying), then handle messages, signals
 * (read from sfd, a signalfd for SIGTERM/SIGINT/SIGHUP) and ticks until
 * SIGTERM; drain and disconnect. Returns the exit code. */
int mashd_run(struct mashd *d, int sfd);

/* Free everything mashd_start / mashd_start_mq made. */
void mashd_teardown(struct mashd *d);

#endif
