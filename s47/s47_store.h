/*
 * s47_store.h - section 47 triggers and statutory clocks in the daemon's
 * store (implemented by the store's back-end: store/sqlite/sq_s47.c).
 *
 * These functions never BEGIN or COMMIT: the caller wraps them in its own
 * transaction so that an event, its audit records and its clock changes
 * commit together, and a restart finds the clocks exactly as committed.
 */
#ifndef MASH_S47_STORE_H
#define MASH_S47_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "s47/s47.h"

struct mash_store;

/* Clock changes one event can cause (set, moved or closed). */
#define MASH_S47_MAX_CLOCK_CHANGES 16u

enum mash_s47_clock_op {
	MASH_S47_CLOCK_SET = 0,
	MASH_S47_CLOCK_MOVED = 1, /* due time brought forward */
	MASH_S47_CLOCK_CLOSED = 2,
};

/* A clock as stored. */
struct mash_s47_clock {
	int64_t clock_id;
	int kind; /* enum mash_s47_clock_kind */
	char case_id[MASH_MAX_ID];
	char trigger_id[MASH_S47_MAX_TRIGGER_ID]; /* "" if none */
	int64_t started_at;
	int64_t due_at;
	int open;
	int64_t closed_at;    /* 0 while open */
	int64_t escalated_at; /* 0 if not escalated */
};

struct mash_s47_clock_change {
	enum mash_s47_clock_op op;
	struct mash_s47_clock clock; /* after the change */
};

/* What processing one event did. */
struct mash_s47_outcome {
	enum mash_s47_action action;
	/* RAISE/UPDATE/CLOSE: the trigger after the change (open = 0 after
	 * CLOSE). NONE: trigger.open says whether one is open. */
	struct mash_s47_open trigger;
	/* UPDATE/RAISE: the events this event added ("agency/event_id"). */
	size_t n_new;
	char new_events[MASH_S47_MAX_CONTRIB][MASH_S47_MAX_REF];
	size_t n_clocks;
	struct mash_s47_clock_change clocks[MASH_S47_MAX_CLOCK_CHANGES];
};

/* Create the tables and indexes if missing (idempotent). MASH_OK or
 * MASH_ERR_STORE. */
int mash_s47_store_init(struct mash_store *st);

/* The open trigger of case_id into *out (cleared first; out->open = 0 if
 * none). MASH_OK, MASH_ERR_INVAL or MASH_ERR_STORE. */
int mash_s47_store_load_open(struct mash_store *st, const char *case_id,
                             struct mash_s47_open *out);

/*
 * Evaluate hist[cur] (the event just stored for case_id, see
 * mash_s47_evaluate) and write the consequences inside the caller's
 * transaction:
 *  - RAISE: a new open trigger (id "<case_id>-s47-<n>") with its
 *    contributing events and a strategy-discussion clock due at the end of
 *    the same working day (rules with same_day) or after
 *    clocks.strategy_discussion_working_days;
 *  - UPDATE: the new contributing events, reason, roles; a same_day rule
 *    brings an open, not yet escalated strategy clock forward;
 *  - an event at severity >= clocks.referral_min_severity starts the
 *    referral-decision clock (and the assessment clock) unless one is open;
 *  - social care's STRATEGY_DISCUSSION_HELD closes the trigger and the
 *    strategy clock and starts the ICPC clock from held_at (or occurred_at);
 *    S47_OUTCOME closes the ICPC and assessment clocks; REFERRAL_DECISION
 *    closes the referral-decision clock.
 * Working days come from cal (NULL: computed bank holidays only), "now" is
 * now_ms (the injected clock). *out is cleared first and describes every
 * change for auditing and delivery. MASH_OK, MASH_ERR_INVAL,
 * MASH_ERR_NOMEM, MASH_ERR_BAD_DATE (a clock beyond the calendar) or
 * MASH_ERR_STORE; on error the caller rolls back.
 */
int mash_s47_store_apply(struct mash_store *st, const struct mash_s47_policy *p,
                         const struct mash_cal *cal, const char *case_id,
                         const struct mash_s47_fact *hist, size_t n, size_t cur,
                         int64_t now_ms, struct mash_s47_outcome *out);

/*
 * Clocks due: every open clock with due_at < now_ms that has not been
 * escalated, oldest due first, at most max of them. Each one returned is
 * marked escalated (escalated_at = now_ms) inside the caller's transaction,
 * so each clock escalates exactly once. out[0..*n) receives them (the
 * caller loops while *n == max). MASH_OK, MASH_ERR_INVAL or MASH_ERR_STORE.
 */
int mash_s47_store_escalate_due(struct mash_store *st, int64_t now_ms,
                                struct mash_s47_clock *out, size_t max,
                                size_t *n);

/*
 * Clocks of case_id (all, or only open ones if open_only), oldest first,
 * at most max into out[0..*n). MASH_OK, MASH_ERR_INVAL or MASH_ERR_STORE.
 */
int mash_s47_store_list_clocks(struct mash_store *st, const char *case_id,
                               int open_only, struct mash_s47_clock *out,
                               size_t max, size_t *n);

/* The earliest due_at of an open, not escalated clock (for the daemon's
 * timer): MASH_OK with *due_at, or MASH_ERR_NOT_FOUND if none. */
int mash_s47_store_next_due(struct mash_store *st, int64_t *due_at);

#endif
