/*
 * triggers_int.h - what daemon/triggers.c (evaluation, escalation) and
 * daemon/trigger_deliver.c (one trigger message to its attendees) share.
 * Not for other modules: they use daemon/triggers.h.
 */
#ifndef MASHD_TRIGGERS_INT_H
#define MASHD_TRIGGERS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "audit/aud.h"
#include "daemon/triggers.h"
#include "s47/s47.h"
#include "s47/s47_store.h"

/* Attendees of one trigger message at most (two roles' worth). */
#define N_ATTENDEES (MASHD_TRIGGERS_MAX_PRINCIPALS * 2)

struct pending {
	char kind[16]; /* raised, updated, escalated */
	char case_id[MASH_MAX_ID];
	struct mash_s47_open trig; /* trigger snapshot (roles, events) */
	uint64_t audit_seq;
	int64_t raised_at;
};

struct mashd_triggers {
	struct mashd_triggers_cfg cfg;
	struct pending *scratch;     /* one message being queued */
	struct mash_s47_fact *facts; /* MASH_S47_MAX_HISTORY */
	struct mash_s47_outcome out;
	struct mashd_seal_job *jobs; /* N_ATTENDEES: one update's seals */
};

/* An s47 audit record (actor mashd, purpose strategy-discussion, the
 * reason cut to the audit's bound); *seq (may be NULL) its number. */
int mashd_trig_audit(struct mashd_triggers *t, enum mash_aud_type type,
                     const char *case_id, const char *rule_id,
                     const char *recipient, const char *reason,
                     const char *extra, uint64_t *seq);

/* Append "key":"val" (a comma first unless first) to the JSON object
 * text in buf, escaped. MASH_OK or MASH_ERR_FIELD_TOO_LONG. */
int mashd_trig_json_kv(char *buf, size_t bufsz, const char *key,
                       const char *val, int first);

/*
 * p to every principal of its roles: each attendee's copy as the policy
 * lets them read it, sealed together, added to the outbox with its
 * TRIGGER_DELIVERY record (DELIVERY_HELD without a key), inside the
 * caller's transaction. MASH_OK or an error (the caller rolls back).
 */
int mashd_trig_queue(struct mashd_triggers *t, const struct pending *p);

#endif
