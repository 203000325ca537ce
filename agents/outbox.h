/*
 * outbox.h - the agent's durable outbox: its own SQLite file (WAL,
 * synchronous=FULL, secure_delete) that holds every sealed event from
 * before it is first published until its signed Receipt has been
 * verified, and the feed positions of --follow.
 *
 * Invariants (docs/internals/agents.md):
 *  - nothing is published that is not durable here first: mash_outbox_put
 *    returns only after the COMMIT reached the disk;
 *  - an event leaves the pending state only through mash_outbox_receipt,
 *    which the agent calls only for a receipt whose signature verified;
 *  - a pending event is re-sent with exponential backoff
 *    (mash_outbox_backoff) on the injected clock, across restarts.
 * The handle is single-threaded.
 */
#ifndef MASH_AGENT_OUTBOX_H
#define MASH_AGENT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/limits.h"

/* Longest reason kept from a receipt. */
#define MASH_OUTBOX_MAX_REASON 512u
/* Longest feed key (agency + ":" + absolute path). */
#define MASH_OUTBOX_MAX_FEED_KEY 4200u
/* Defaults for the resend backoff. */
#define MASH_OUTBOX_DEFAULT_BACKOFF_MIN_MS 30000
#define MASH_OUTBOX_DEFAULT_BACKOFF_MAX_MS 300000

enum mash_outbox_state {
	MASH_OUTBOX_PENDING = 0,
	MASH_OUTBOX_ACCEPTED = 1,  /* = Receipt ACCEPTED */
	MASH_OUTBOX_DUPLICATE = 2, /* = Receipt DUPLICATE */
	MASH_OUTBOX_REJECTED = 3,  /* = Receipt REJECTED */
};

struct mash_outbox_cfg {
	int64_t backoff_min_ms;         /* first resend delay; <= 0: default */
	int64_t backoff_max_ms;         /* cap; < min: default */
	const struct mash_clock *clock; /* NULL: system clock */
	/* Uniform 32-bit random numbers for the re-send jitter; NULL: no
	 * jitter (an exact schedule, for tests). */
	uint32_t (*random)(void *ctx);
	void *random_ctx;
	/* The agent's key-encryption key (MASH_ATREST_KEK_LEN bytes, from
	 * agent.outbox.key_file; issue 28): envelopes are kept sealed, and
	 * an outbox written in clear is sealed on open. NULL: in clear; an
	 * outbox that has keys is then refused (MASH_ERR_DENIED). A KEK of
	 * another outbox: MASH_ERR_DECRYPT. */
	const uint8_t *kek;
};

/* An event due for (re)sending; from mash_outbox_next. */
struct mash_outbox_item {
	char agency[MASH_MAX_AGENCY + 1];
	char event_id[MASH_MAX_ID + 1];
	uint8_t *env; /* the sealed SignedEnvelope bytes */
	size_t len;
	uint32_t attempts; /* sends so far */
};

/* Where a followed feed was left. */
struct mash_outbox_feedpos {
	uint64_t offset;     /* byte offset (mash_feed_tell) */
	unsigned long lines; /* physical lines consumed */
	uint64_t inode;      /* the file's inode: a replaced file restarts */
};

/* Counts for the events of one run (mash_outbox_begin_run). */
struct mash_outbox_summary {
	size_t total;  /* events of the run */
	size_t sent;   /* published at least once */
	size_t resent; /* publishes beyond the first, summed */
	size_t accepted;
	size_t duplicate;
	size_t rejected; /* rejected by the daemon */
	size_t pending;  /* no receipt yet */
};

struct mash_outbox;

/*
 * Open (creating if needed) the outbox at path. cfg may be NULL
 * (defaults). The file is created 0600 (it holds pending envelopes with
 * children's names) and opened as the daemon's store is (store/sqlite/).
 * MASH_OK and *out (close with mash_outbox_close); MASH_ERR_IO if the
 * file cannot be created or opened (missing directory, permissions);
 * MASH_ERR_STORE if SQLite cannot set it up; MASH_ERR_NOMEM.
 */
/*
 * Key rotation (issue 28): keep the keys of an outbox opened with its
 * key file wrapped under new_kek instead (no envelope rewritten); from
 * then on only new_kek opens it. MASH_OK; MASH_ERR_STATE (the outbox is
 * not encrypted, or a batch is open); MASH_ERR_STORE, MASH_ERR_CRYPTO.
 */
int mash_outbox_rekey(struct mash_outbox *ob, const uint8_t *new_kek);

int mash_outbox_open(const char *path, const struct mash_outbox_cfg *cfg,
                     struct mash_outbox **out);

/* Close; NULL allowed. */
void mash_outbox_close(struct mash_outbox *ob);

/*
 * The delay after the attempts-th send before the next one:
 * min(max, min * 2^(attempts-1)) for attempts >= 1 (0 for 0), with cfg's
 * values (defaults when cfg is NULL or values invalid). Never overflows.
 */
int64_t mash_outbox_backoff(const struct mash_outbox_cfg *cfg,
                            uint32_t attempts);

/*
 * Start a run: a new run id in *run_id; every event still pending from
 * earlier runs joins this run and is due now (it is re-sent first).
 * MASH_OK or MASH_ERR_STORE.
 */
int mash_outbox_begin_run(struct mash_outbox *ob, int64_t *run_id);

/*
 * Group the writes that follow (put, sent, receipt, feed_set, ...) in one
 * transaction, so that one fsync covers a batch of records. Inside a
 * batch nothing is durable until mash_outbox_batch_commit returns MASH_OK;
 * the agent therefore publishes only events committed by an earlier
 * batch. MASH_OK, MASH_ERR_STATE (already in a batch), MASH_ERR_STORE.
 */
int mash_outbox_batch_begin(struct mash_outbox *ob);
/* Commit the batch (on disk when it returns): MASH_OK, MASH_ERR_STATE (no
 * batch), MASH_ERR_STORE (the batch is rolled back). */
int mash_outbox_batch_commit(struct mash_outbox *ob);
/* Abandon the batch; nothing of it is kept. No-op outside a batch. */
void mash_outbox_batch_rollback(struct mash_outbox *ob);

/*
 * Make the sealed event env[0..len) durable as pending and due now, in the
 * current run. An event already present (same agency and event_id) is
 * replaced and pending again, even if it had a receipt: a re-run sends it
 * again and the daemon answers DUPLICATE. If feed_key is not NULL, the
 * feed position pos is saved in the same transaction. Returns after the
 * COMMIT is on disk: MASH_OK, MASH_ERR_INVAL (NULL, empty, or len >
 * MASH_MAX_ENVELOPE), MASH_ERR_STORE. Inside a batch: durable when the
 * batch commits.
 */
int mash_outbox_put(struct mash_outbox *ob, const char *agency,
                    const char *event_id, const char *agency_ref,
                    unsigned long feed_line, const uint8_t *env, size_t len,
                    const char *feed_key,
                    const struct mash_outbox_feedpos *pos);

/*
 * What to publish next, decided here and nowhere else: up to max pending
 * events that are due now (next send time <= the clock) into *items
 * (array of *n; free with mash_outbox_items_free). First every due re-send
 * of an in-flight event (published, no receipt), oldest due first; then
 * never-sent events, oldest first, no more than window minus the events
 * in flight. The caller publishes every item it gets. *n may be 0.
 * MASH_OK, MASH_ERR_INVAL, MASH_ERR_NOMEM or MASH_ERR_STORE.
 */
int mash_outbox_next(struct mash_outbox *ob, size_t window, size_t max,
                     struct mash_outbox_item **items, size_t *n);

/* Free items from mash_outbox_next (envelopes wiped); NULL allowed. */
void mash_outbox_items_free(struct mash_outbox_item *items, size_t n);

/*
 * Record that a pending event was just published: attempts + 1, next
 * send at now + mash_outbox_backoff(attempts). MASH_OK, MASH_ERR_NOT_FOUND
 * (not pending), MASH_ERR_STORE.
 */
int mash_outbox_sent(struct mash_outbox *ob, const char *agency,
                     const char *event_id);

/*
 * Settle a pending event with a VERIFIED receipt: status is
 * MASH_OUTBOX_ACCEPTED, _DUPLICATE or _REJECTED; reason (may be NULL,
 * bounded to MASH_OUTBOX_MAX_REASON), case_id (may be NULL) and audit_seq
 * are kept. The envelope is wiped except for REJECTED events (kept for
 * inspection). MASH_OK; MASH_ERR_NOT_FOUND (no such event: a receipt for
 * something this agent never sent); MASH_ERR_STATE (already settled: a
 * second receipt for a resend, ignored); MASH_ERR_INVAL; MASH_ERR_STORE.
 */
int mash_outbox_receipt(struct mash_outbox *ob, const char *agency,
                        const char *event_id, enum mash_outbox_state status,
                        const char *reason, const char *case_id,
                        uint64_t audit_seq);

/* State of one event into *state: MASH_OK or MASH_ERR_NOT_FOUND. */
int mash_outbox_state(struct mash_outbox *ob, const char *agency,
                      const char *event_id, enum mash_outbox_state *state,
                      uint32_t *attempts);

/* Number of pending events that were published at least once and have no
 * receipt yet (the in-flight window). */
int mash_outbox_inflight(struct mash_outbox *ob, size_t *n);

/*
 * Make every pending event that was already published due now: called
 * after the MQTT connection came back, since receipts sent while it was
 * down may be lost. MASH_OK or MASH_ERR_STORE.
 */
int mash_outbox_resend_now(struct mash_outbox *ob);

/*
 * Push the next send of every published, unreceipted event that is due
 * before until_ms to until_ms, without counting an attempt: the agent
 * calls it while receipts are still arriving (the daemon is working
 * through a backlog that already holds these events), so that re-sends
 * do not add duplicates to that backlog. MASH_OK or MASH_ERR_STORE.
 */
int mash_outbox_defer_resends(struct mash_outbox *ob, int64_t until_ms);

/* Number of pending events (all runs). */
int mash_outbox_pending(struct mash_outbox *ob, size_t *n);

/*
 * When mash_outbox_next will next return something, for the same window:
 * the earliest next-send time of an in-flight event and, while fewer than
 * window events are in flight, of a never-sent one. MASH_OK, or
 * MASH_ERR_NOT_FOUND when nothing can become due (only a receipt changes
 * that).
 */
int mash_outbox_wake_ms(struct mash_outbox *ob, size_t window, int64_t *ms);

/* Counts for run_id into *s. */
int mash_outbox_summary(struct mash_outbox *ob, int64_t run_id,
                        struct mash_outbox_summary *s);

/* Call cb for every event of run_id the daemon rejected (its event id,
 * agency reference, feed line and reason). */
int mash_outbox_rejections(struct mash_outbox *ob, int64_t run_id,
                           void (*cb)(void *ctx, const char *event_id,
                                      const char *agency_ref,
                                      unsigned long feed_line,
                                      const char *reason),
                           void *ctx);

/* The saved position of feed_key: MASH_OK, MASH_ERR_NOT_FOUND (never
 * saved: start at 0), MASH_ERR_STORE. */
int mash_outbox_feed_get(struct mash_outbox *ob, const char *feed_key,
                         struct mash_outbox_feedpos *pos);

/* Save the position of feed_key durably (after a skipped bad line). */
int mash_outbox_feed_set(struct mash_outbox *ob, const char *feed_key,
                         const struct mash_outbox_feedpos *pos);

#endif
