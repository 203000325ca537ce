/*
 * deliver.h - the daemon's sharing path: after each stored event, decide
 * for EVERY principal of the directory what they may see (policy/pol.h),
 * audit each decision (DECISION: shared and withheld field names, rule,
 * legal basis, purpose) and each delivery (DELIVERY) inside the event's
 * transaction, and seal a SharedRecord for each recipient who receives
 * anything into the store's outbox (to mash/v1/inbox/{principal}) in that
 * same transaction: the daemon publishes it after the commit
 * (daemon/outbox.h), so "audited as delivered" and "will be delivered"
 * commit together and survive a crash.
 *
 * Decisions that deny a recipient everything are audited too (DECISION
 * with no shared fields, rule "default-deny" or the denying rule): the
 * spec asks for "every decision for every recipient" (audit.md), and an
 * auditor must be able to show that housing was NOT told. They are also
 * counted (mashd_deliver_stats).
 *
 * The purpose of automatic delivery comes from the policy's `delivery`
 * group by the case's level (default L1-L2 mash-triage, L3 s17-assessment,
 * L4 strategy-discussion); the level from the policy's `levels` group over
 * the case's history (max severity, distinct agencies, an open s47
 * trigger). Automatic delivery never breaks glass.
 *
 * The daemon's own structures stay out of this interface (as in
 * triggers.h): it hands in its store, audit log and a seal callback,
 * and the policy and directory in force at each call (they may be swapped
 * on SIGHUP between events, never during one).
 *
 * Single-threaded: the daemon's core thread only.
 */
#ifndef MASHD_DELIVER_H
#define MASHD_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "audit/aud.h"
#include "mash/v1/mash.pb-c.h"
#include "policy/pol.h"

#include "daemon/outbox.h"

struct mash_store;
struct mash_aud;
struct mash_dir;
struct mashd_deliver;

/* Payload type of what this module delivers. */
#define MASHD_DELIVER_PAYLOAD_TYPE "mash.v1.SharedRecord"
/* Inbox topic prefix (wire-contract.md). */
#define MASHD_DELIVER_INBOX_PREFIX MASHD_INBOX_PREFIX
/*
 * seal_to: seal payload for its recipient and sign it as the daemon
 * (daemon/outbox.h mashd_seal_to_fn; MASH_ERR_NO_ENC_KEY holds it). The
 * same callback shape as triggers.h, so the daemon passes one function
 * (mashd_seal_to).
 */
struct mashd_seal_job;
struct mashd_deliver_cfg {
	struct mash_store *store; /* borrowed */
	struct mash_aud *aud;     /* borrowed */
	mashd_seal_to_fn seal_to;
	/* Optional: seal an event's deliveries as one batch (both cores,
	 * daemon/seal_pool.h); NULL: one by one through seal_to. */
	void (*seal_many)(void *ctx, struct mashd_seal_job *jobs, size_t n);
	/* Optional: queue them to be sealed beside the core thread, their
	 * outbox rows added before the transaction commits
	 * (daemon/seal_defer.h): MASH_OK and each job's payload taken, or
	 * an error and nothing taken (then seal_many or seal_to). */
	int (*seal_defer)(void *ctx, struct mashd_seal_job *jobs, size_t n);
	void *ctx;
};

/* Counters since mashd_deliver_new. */
struct mashd_deliver_stats {
	uint64_t events;    /* events decided */
	uint64_t decisions; /* decisions made and audited */
	uint64_t denied;    /* of which the recipient received nothing */
	uint64_t queued;    /* SharedRecords added to the outbox */
	uint64_t held;      /* of which held: recipient without a key */
};

/* MASH_OK and *out, or MASH_ERR_INVAL (missing store, aud or seal),
 * MASH_ERR_NOMEM. */
/* A decision's fields by the rule that decided them, for the DECISION
 * record's by_rule (issue 26); g[i].fields point into names. */
struct mashd_by_rule {
	struct mash_aud_rule_fields g[MASH_POL_F_COUNT + 1];
	const char *names[MASH_POL_F_COUNT];
	size_t n;
};

/* Fill *out from decision d made by pol (mash_pol_decision_groups). */
void mashd_decision_by_rule(const struct mash_policy *pol,
                            const struct mash_pol_decision *d,
                            struct mashd_by_rule *out);

int mashd_deliver_new(const struct mashd_deliver_cfg *cfg,
                      struct mashd_deliver **out);

/* Free. NULL allowed. */
void mashd_deliver_free(struct mashd_deliver *d);

/*
 * The post-store hook. Call INSIDE the store transaction that stored ev on
 * case_id, after the s47 hook (so a trigger raised by this very event makes
 * the case L4 for its delivery). For each principal of dir (file order):
 * decide; the DECISION records are appended together, in that order. Then
 * for each recipient who receives anything, build the SharedRecord (only
 * granted fields, names of withheld ones, rule_id, legal_basis, purpose,
 * reason, flags, audit_seq = its DECISION's seq) and seal it (or hold it
 * for want of a key); their DELIVERY_QUEUED (or _HELD) records are
 * appended together, then the outbox rows added. pol NULL denies
 * everyone (and is audited so). *level (may be NULL) gets the level
 * decided at. MASH_OK, or an error after which the caller rolls back (the
 * audit records and outbox rows go with it): MASH_ERR_INVAL,
 * MASH_ERR_NOMEM, MASH_ERR_STORE (store or audit), MASH_ERR_TOO_BIG, the
 * seal callback's error.
 */
int mashd_deliver_on_event(struct mashd_deliver *d,
                           const struct mash_policy *pol,
                           const struct mash_dir *dir,
                           const Mash__V1__AgencyEvent *ev, const char *case_id,
                           unsigned *level);

/* The counters. */
void mashd_deliver_stats(const struct mashd_deliver *d,
                         struct mashd_deliver_stats *out);

/*
 * The case as the policy sees it: level from the policy's thresholds over
 * the case's stored events (max severity, distinct agencies) and whether
 * an s47 trigger is open; n_agencies. Reads inside the caller's
 * transaction. MASH_OK, MASH_ERR_INVAL, MASH_ERR_NOMEM, MASH_ERR_STORE.
 */
int mashd_deliver_case(struct mash_store *st, const struct mash_policy *pol,
                       const char *case_id, struct mash_pol_case *out);

/*
 * (Re)load the policy at path atomically, for start-up and SIGHUP: load
 * into a NEW object; append a POLICY_LOAD audit record either way
 * (extra {"sha256": hex of the file (+ includes), "result": "loaded" |
 * "refused", "rules": N}; reason = the error token when refused); only if
 * both the load and its audit record succeed is *cur swapped (the old
 * policy freed). A refused file leaves *cur untouched. errbuf gets the
 * located error. MASH_OK, or the load's error (MASH_ERR_IO, TOO_BIG,
 * PARSE, POLICY) or the audit's (MASH_ERR_STORE...). aud may be NULL only
 * in tools that do not audit (then nothing is recorded).
 */
int mashd_policy_load(const char *path, struct mash_policy **cur,
                      struct mash_aud *aud, char *errbuf, size_t errlen);

/* The POLICY_LOAD record (result "refused", reason rc's token, the file's
 * sha256) of a policy a check refused without this process parsing it
 * (daemon/reload_check.h). MASH_OK or the audit's error. */
int mashd_policy_refused(const char *path, struct mash_aud *aud, int rc);

#endif
