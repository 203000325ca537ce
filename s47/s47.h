/*
 * s47.h - section 47 strategy-discussion triggers (Children Act 1989 s47;
 * Working Together 2013, seed 003, "Strategy discussion": "Whenever there is
 * reasonable cause to suspect that a child is suffering, or is likely to
 * suffer, significant harm there should be a strategy discussion involving
 * local authority children's social care, the police, health and other
 * bodies such as the referring agency").
 *
 * The broker cannot decide that there is reasonable cause, people do; it
 * makes sure nobody misses the moment the combined picture suggests it.
 *
 * Two layers:
 *  - the policy (loaded from the policy file's `triggers` and `clocks`
 *    groups, policy/s47.cfg) and mash_s47_evaluate(), a pure function over
 *    a case's history of event facts and its open trigger;
 *  - s47_store.c (mash_s47_store_*): triggers and statutory clocks in the
 *    daemon's SQLite database, inside the caller's transaction.
 *
 * Trigger semantics (SHARED-DEFS.md): at most one open trigger per case; the
 * first rule (in policy order) to fire raises it; later matching events
 * update it and its contributing events accumulate; a social-care
 * STRATEGY_DISCUSSION_HELD event closes it. A rule fires for the event
 * being evaluated only if that event is one of the events that satisfy it,
 * so old events never re-fire on their own. Time windows are measured
 * between events' occurred_at, never against the wall clock.
 */
#ifndef MASH_S47_H
#define MASH_S47_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "mash/v1/mash.pb-c.h"

/* Hard limits. */
#define MASH_S47_MAX_RULES      16u
#define MASH_S47_MAX_CATEGORIES 16u
#define MASH_S47_MAX_ROLES      16u
/* Contributing events kept per trigger; later ones are not listed. */
#define MASH_S47_MAX_CONTRIB 64u
/* Events of one case history evaluated (the newest are kept). */
#define MASH_S47_MAX_HISTORY 2048u
#define MASH_S47_MAX_RULE_ID 64u
#define MASH_S47_MAX_ROLE    64u
#define MASH_S47_MAX_REASON  1024u
/* "agency/event_id" */
#define MASH_S47_MAX_REF        (MASH_MAX_AGENCY + MASH_MAX_ID)
#define MASH_S47_MAX_TRIGGER_ID (MASH_MAX_ID + 24u)
/* Date of birth unknown. */
#define MASH_S47_NO_DOB INT32_MIN

struct mash_s47_policy;
struct mash_cal;

/* What one stored event contributes to trigger evaluation. */
struct mash_s47_fact {
	char agency[MASH_MAX_AGENCY];
	char event_id[MASH_MAX_ID];
	int category;        /* Mash__V1__Category value */
	uint32_t severity;   /* 0-4 */
	int64_t occurred_at; /* unix ms */
	int32_t dob_day;     /* child's DOB as epoch day, or MASH_S47_NO_DOB */
	uint32_t vcl_max;    /* highest VCL factor score (0 if none) */
	int64_t held_at;     /* social care: strategy discussion held (ms), 0 */
};

/* The open trigger of a case, as stored. */
struct mash_s47_open {
	int open; /* 0: no open trigger (other fields empty) */
	char trigger_id[MASH_S47_MAX_TRIGGER_ID];
	char rule_id[MASH_S47_MAX_RULE_ID];
	char reason[MASH_S47_MAX_REASON];
	uint32_t level;
	int64_t raised_at;
	int64_t due_by;
	uint32_t updates; /* times updated since raised */
	size_t n_events;
	char events[MASH_S47_MAX_CONTRIB][MASH_S47_MAX_REF];
	size_t n_roles;
	char roles[MASH_S47_MAX_ROLES][MASH_S47_MAX_ROLE];
};

enum mash_s47_action {
	MASH_S47_NONE = 0,
	MASH_S47_RAISE = 1,
	MASH_S47_UPDATE = 2,
	MASH_S47_CLOSE = 3,
};

/* Result of evaluating one event. */
struct mash_s47_result {
	enum mash_s47_action action;
	/* RAISE: the first rule that fired; UPDATE: the first rule that fired
	 * for this event; CLOSE/NONE: empty. */
	char rule_id[MASH_S47_MAX_RULE_ID];
	/* One sentence per rule that fired, no personal data. */
	char reason[MASH_S47_MAX_REASON];
	uint32_t level;
	/* 1 if a fired rule wants the discussion the same working day. */
	int same_day;
	/* All contributing events after this change ("agency/event_id"). */
	size_t n_events;
	char events[MASH_S47_MAX_CONTRIB][MASH_S47_MAX_REF];
	/* The ones this event added (UPDATE), or all of them (RAISE). */
	size_t n_new;
	char new_events[MASH_S47_MAX_CONTRIB][MASH_S47_MAX_REF];
	/* Required attendee roles after this change. */
	size_t n_roles;
	char roles[MASH_S47_MAX_ROLES][MASH_S47_MAX_ROLE];
};

/*
 * Load the `triggers` and `clocks` groups from the libconfig file at path
 * (the file mashd gets as --policy; @include is resolved relative to the
 * file's directory). Other top-level groups are ignored (they belong to the
 * sharing policy); an unknown key inside `triggers` or `clocks`, a missing
 * group, a bad value or an unknown category is rejected. On success MASH_OK
 * and *out (free with mash_s47_policy_free); otherwise *out = NULL,
 * MASH_ERR_IO (unreadable) or MASH_ERR_POLICY with "file:line: reason" in
 * err[errsz] (err may be NULL).
 */
int mash_s47_policy_load(const char *path, struct mash_s47_policy **out,
                         char *err, size_t errsz);

/* The built-in defaults (the same values as policy/s47.cfg, no holidays
 * file). MASH_OK or MASH_ERR_NOMEM; free with mash_s47_policy_free. */
int mash_s47_policy_default(struct mash_s47_policy **out);

/* Free p; NULL allowed. */
void mash_s47_policy_free(struct mash_s47_policy *p);

/* The holidays file named by clocks.holidays_file, resolved against the
 * policy file's directory; NULL if none. Owned by p. */
const char *mash_s47_policy_holidays_file(const struct mash_s47_policy *p);

/* The role escalations go to (clocks.escalate_to_role, "mash-manager").
 * Owned by p. */
const char *mash_s47_policy_escalation_role(const struct mash_s47_policy *p);

/* Number of rules and the id of rule i (NULL if out of range). */
size_t mash_s47_policy_rule_count(const struct mash_s47_policy *p);
const char *mash_s47_policy_rule_id(const struct mash_s47_policy *p, size_t i);

/* Working days of a clock (see enum mash_s47_clock_kind below). */
int mash_s47_policy_clock_days(const struct mash_s47_policy *p, int kind);

/* Minimum severity of an event that starts the referral-decision clock. */
uint32_t mash_s47_policy_referral_min_severity(const struct mash_s47_policy *p);

/*
 * Fill *out from a decoded AgencyEvent: agency, event_id, category,
 * severity, occurred_at, DOB (MASH_S47_NO_DOB when absent or not a valid
 * date), highest VCL score, social care held_at. MASH_OK, or
 * MASH_ERR_INVAL (NULL), MASH_ERR_FIELD_TOO_LONG (agency or id too long).
 * The fact holds no names, summaries or NHS numbers.
 */
int mash_s47_fact_from_event(const Mash__V1__AgencyEvent *ev,
                             struct mash_s47_fact *out);

/* 1 if category is one social care publishes to stop or move clocks
 * (STRATEGY_DISCUSSION_HELD, S47_OUTCOME, REFERRAL_DECISION). */
int mash_s47_is_closing_category(int category);

/*
 * Evaluate hist[cur] (the event just stored) against the case's history
 * hist[0..n) (any order; it includes hist[cur]) and its open trigger
 * (open may be NULL: no open trigger). Pure: no I/O, no clock, no
 * allocation. *out is cleared first.
 *  - a social-care STRATEGY_DISCUSSION_HELD with a trigger open: CLOSE;
 *  - otherwise, if rules fire with hist[cur] among their events: RAISE when
 *    nothing is open, UPDATE when a trigger is open and the event adds
 *    contributing events; else NONE.
 * MASH_OK, or MASH_ERR_INVAL (NULL arguments, cur >= n, n larger than
 * MASH_S47_MAX_HISTORY).
 */
int mash_s47_evaluate(const struct mash_s47_policy *p,
                      const struct mash_s47_fact *hist, size_t n, size_t cur,
                      const struct mash_s47_open *open,
                      struct mash_s47_result *out);

/* Statutory clocks (Working Together 2013 timescales). */
enum mash_s47_clock_kind {
	MASH_S47_CLOCK_REFERRAL = 0, /* referral decision, 1 working day */
	MASH_S47_CLOCK_STRATEGY = 1, /* strategy discussion, 0/1 working day */
	MASH_S47_CLOCK_ICPC = 2,     /* initial child protection conf., 15 */
	MASH_S47_CLOCK_ASSESSMENT = 3, /* assessment decision, 45 */
};
#define MASH_S47_CLOCK_KINDS 4

/* "referral-decision", "strategy-discussion", "icpc", "assessment";
 * "unknown" for a bad kind. Static. */
const char *mash_s47_clock_name(int kind);

#endif
