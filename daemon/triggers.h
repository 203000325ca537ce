/*
 * triggers.h - the daemon's section 47 path: after each stored event,
 * evaluate the case's history (s47/s47.h), persist the trigger and the
 * statutory clocks (s47/s47_store.h) and audit them inside the event's
 * transaction, together with a signed StrategyDiscussionTrigger for every
 * required attendee's inbox (mash/v1/inbox/{principal}) added to the
 * store's outbox and each delivery audited (the daemon publishes the
 * outbox after the commit: daemon/outbox.h); on every tick, escalate
 * clocks that passed with no closing event from social care to the MASH
 * manager role, exactly once, the same way.
 *
 * The daemon's own structures stay out of this interface: it hands in its
 * store, audit log, clock, s47 policy, calendar, and two callbacks (who
 * holds a role; seal a payload).
 *
 * Single-threaded: the daemon's core thread only.
 */
#ifndef MASHD_TRIGGERS_H
#define MASHD_TRIGGERS_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"

#include "daemon/outbox.h"
#include "daemon/trigger_view.h"

struct mash_store;
struct mash_aud;
struct mash_s47_policy;
struct mash_cal;
struct mash_dir;
struct mashd_triggers;

/* Payload type of the messages this module delivers. */
#define MASHD_TRIGGER_PAYLOAD_TYPE "mash.v1.StrategyDiscussionTrigger"
/* Principals one role may map to (more are not told; logged). */
#define MASHD_TRIGGERS_MAX_PRINCIPALS 64u

/*
 * principals: the principals holding role, into names[0..*n) (at most max;
 * strings borrowed until the next call). Return MASH_OK (possibly *n = 0).
 * seal_to: seal payload for one recipient as the daemon (daemon/outbox.h
 * mashd_seal_to_fn; MASH_ERR_NO_ENC_KEY holds the delivery).
 */
struct mashd_seal_job;

struct mashd_triggers_cfg {
	struct mash_store *store;             /* borrowed */
	struct mash_aud *aud;                 /* borrowed */
	const struct mash_clock *clock;       /* borrowed */
	const struct mash_s47_policy *policy; /* borrowed */
	const struct mash_cal *cal; /* borrowed; NULL: computed only */
	int (*principals)(void *ctx, const char *role, const char **names,
	                  size_t max, size_t *n);
	mashd_seal_to_fn seal_to;
	/* An update's deliveries sealed together (one ephemeral key, both
	 * cores; daemon/seal_pool.h) with jobs[i].rc MASH_ERR_NO_ENC_KEY for
	 * an attendee without a key; NULL: one by one through seal_to. */
	void (*seal_many)(void *ctx, struct mashd_seal_job *jobs, size_t n);
	/* What an attendee may learn of a contributing event (issue 26);
	 * NULL: every attendee reads the whole trigger. */
	mashd_sees_fn sees;
	/* Called with 1 before one message's attendees are looked at through
	 * sees and with 0 after: sees may keep what it read for the message
	 * in between (mashd_trigger_sees_memo). NULL: not called. */
	void (*sees_memo)(void *ctx, int on);
	void *ctx;
};

/*
 * A new trigger engine. Creates the s47 tables if missing (call outside a
 * transaction, before the first event) and records "s47.schema" in the
 * store's meta table. MASH_OK and *out, or MASH_ERR_INVAL (missing store,
 * aud, clock, policy or callback), MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mashd_triggers_new(const struct mashd_triggers_cfg *cfg,
                       struct mashd_triggers **out);

/* Free. NULL allowed. */
void mashd_triggers_free(struct mashd_triggers *t);

/* Swap the policy and calendar after a reload (both borrowed). */
void mashd_triggers_set_policy(struct mashd_triggers *t,
                               const struct mash_s47_policy *policy,
                               const struct mash_cal *cal);

/*
 * The post-store hook. Call INSIDE the store transaction that stored
 * (agency, event_id) on case_id: loads the case history, evaluates,
 * writes the trigger and clocks, appends TRIGGER_RAISED / TRIGGER_UPDATED
 * and CLOCK_SET audit records, and for a raised or updated trigger adds
 * one sealed message per attendee to the outbox with its TRIGGER_DELIVERY
 * record (reason = the kind). *trigger_seq (may be NULL) gets the audit
 * seq of the trigger record, 0 if none. MASH_OK, or an error after which
 * the caller rolls back (taking all of it back).
 */
int mashd_triggers_on_event(struct mashd_triggers *t, const char *case_id,
                            const char *agency, const char *event_id,
                            uint64_t *trigger_seq);

/*
 * The tick: escalate every clock due before now, each exactly once: marked,
 * audited as ESCALATION, and a StrategyDiscussionTrigger with kind
 * "escalated" added to the outbox for every principal of the escalation
 * role (clocks.escalate_to_role), each delivery audited, all in one
 * transaction (the daemon's outbox flush publishes them). Must be called
 * outside a transaction. *n_escalated (may be NULL) gets how many
 * clocks escalated. MASH_OK or an error.
 */
int mashd_triggers_tick(struct mashd_triggers *t, size_t *n_escalated);

/*
 * Milliseconds until the next clock is due (>= 0), or -1 if no clock is
 * open: for the daemon's poll timeout. Never fails (errors give 1000).
 */
int64_t mashd_triggers_next_due_in(struct mashd_triggers *t);

/*
 * The principals callback over a directory (policy/dir.h): every principal
 * whose role is role, in file order, into names[0..*n) (at most max; the
 * strings are borrowed from dir). The daemon calls it from its principals
 * callback with the directory in force. MASH_OK or MASH_ERR_INVAL.
 */
int mashd_triggers_principals_from_dir(const struct mash_dir *dir,
                                       const char *role, const char **names,
                                       size_t max, size_t *n);

/*
 * TEST ONLY: a clock for the daemon binary that tests can move without
 * sleeping. If the environment has MASHD_TEST_CLOCK_FILE (a file holding
 * the current unix time in ms, re-read at every call, so a test moves time
 * by rewriting it) or MASHD_TEST_CLOCK_OFFSET_MS (added to the system
 * clock), *out is set to that clock (ctx points into *storage, which must
 * outlive it) and 1 is returned; otherwise *out is the system clock and 0
 * is returned. Production deployments must not set either variable; the
 * daemon logs a warning when one is in effect.
 */
struct mashd_test_clock {
	char path[1024];
	int64_t offset_ms;
	int64_t last_ms;
};
int mashd_test_clock_from_env(struct mashd_test_clock *storage,
                              struct mash_clock *out);

#endif
