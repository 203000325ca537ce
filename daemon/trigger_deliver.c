/*
 * trigger_deliver.c - one s47 trigger message to its attendees (raised,
 * updated or escalated): daemon/triggers_int.h. Split from triggers.c,
 * which evaluates and escalates.
 */
#include <string.h>

#include "audit/aud.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/seal_pool.h"
#include "daemon/triggers_int.h"
#include "mash/v1/mash.pb-c.h"

/* Pack p; reason (NULL: p's own) and keep (NULL: every contributing
 * event) are what one attendee may read (daemon/trigger_view.h). */
static int
pack_trigger(const struct pending *p, const char *reason, const int *keep,
             unsigned char **buf, size_t *len)
{
	Mash__V1__StrategyDiscussionTrigger m =
	    MASH__V1__STRATEGY_DISCUSSION_TRIGGER__INIT;
	char *events[MASH_S47_MAX_CONTRIB];
	char *roles[MASH_S47_MAX_ROLES];
	size_t i, n = 0;

	*buf = NULL;
	*len = 0;
	m.case_id = (char *)p->case_id;
	m.trigger_id = (char *)p->trig.trigger_id;
	m.rule_id = (char *)p->trig.rule_id;
	m.reason = (char *)(reason != NULL ? reason : p->trig.reason);
	for (i = 0; i < p->trig.n_events; i++)
		if (keep == NULL || keep[i])
			events[n++] = (char *)p->trig.events[i];
	m.n_contributing_events = n;
	m.contributing_events = events;
	for (i = 0; i < p->trig.n_roles; i++)
		roles[i] = (char *)p->trig.roles[i];
	m.n_required_attendees = p->trig.n_roles;
	m.required_attendees = roles;
	m.raised_at = p->raised_at;
	m.discussion_due_by = p->trig.due_by;
	m.level = p->trig.level;
	m.audit_seq = p->audit_seq;
	m.kind = (char *)p->kind;
	*len = mash__v1__strategy_discussion_trigger__get_packed_size(&m);
	*buf = mash_malloc(*len > 0 ? *len : 1);
	if (*buf == NULL) {
		*len = 0;
		return MASH_ERR_NOMEM;
	}
	(void)mash__v1__strategy_discussion_trigger__pack(&m, *buf);
	return MASH_OK;
}

/* p packed for recipient: as the policy lets them read it when the
 * daemon gave a sees callback (issue 26), else whole. */
static int
pack_for(struct mashd_triggers *t, const struct pending *p,
         const char *recipient, unsigned char **buf, size_t *len)
{
	char reason[MASH_S47_MAX_REASON];
	int keep[MASH_S47_MAX_CONTRIB];
	int rc;

	if (t->cfg.sees == NULL)
		return pack_trigger(p, NULL, NULL, buf, len);
	rc = mashd_trigger_view_for(t->cfg.policy, &p->trig, p->case_id,
	                            recipient, t->cfg.sees, t->cfg.ctx, reason,
	                            sizeof(reason), keep);
	if (rc != MASH_OK)
		return rc;
	return pack_trigger(p, reason, keep, buf, len);
}

/* Seal jobs[0..n) together (one ephemeral key, both cores) when the
 * daemon can, else one by one; each job's rc says how it went. */
static void
seal_all(struct mashd_triggers *t, struct mashd_seal_job *jobs, size_t n)
{
	size_t i;

	if (t->cfg.seal_many != NULL) {
		t->cfg.seal_many(t->cfg.ctx, jobs, n);
		return;
	}
	for (i = 0; i < n; i++)
		jobs[i].rc =
		    t->cfg.seal_to(t->cfg.ctx, jobs[i].recipient,
		                   jobs[i].payload_type, jobs[i].payload,
		                   jobs[i].len, &jobs[i].env, &jobs[i].env_len);
}

/*
 * Seal p for every principal of its roles, add each to the outbox and
 * audit each delivery (TRIGGER_DELIVERY, reason = the kind), all inside
 * the caller's transaction: a rollback takes them all back. Each attendee
 * gets the trigger as the policy lets them read it (pack_for). The seals
 * of one message run together (seal_all: one sealed each took 115 us on
 * the core thread, and trigger updates were the biggest stage with five
 * agencies, issue 22); the records and outbox rows follow in attendee
 * order, as before.
 */
int
mashd_trig_queue(struct mashd_triggers *t, const struct pending *p)
{
	const char *names[MASHD_TRIGGERS_MAX_PRINCIPALS];
	char sent[N_ATTENDEES][MASH_MAX_ID];
	char extra[MASH_AUD_MAX_EXTRA], hextra[MASH_AUD_MAX_EXTRA + 32];
	struct mashd_seal_job *jobs = t->jobs;
	unsigned char *buf = NULL;
	size_t len = 0, n_sent = 0, r, i, k, n;
	uint64_t seq = 0;
	int64_t held;
	int rc;

	extra[0] = '{';
	extra[1] = '\0';
	(void)mashd_trig_json_kv(extra, sizeof(extra), "trigger_id",
	                         p->trig.trigger_id, 1);
	(void)mashd_trig_json_kv(extra, sizeof(extra), "kind", p->kind, 0);
	(void)mash_snprintf(extra + strlen(extra),
	                    sizeof(extra) - strlen(extra), "}");
	if (t->cfg.sees_memo != NULL)
		t->cfg.sees_memo(t->cfg.ctx, 1);
	for (r = 0; r < p->trig.n_roles; r++) {
		n = 0;
		rc = t->cfg.principals(t->cfg.ctx, p->trig.roles[r], names,
		                       MASHD_TRIGGERS_MAX_PRINCIPALS, &n);
		if (rc != MASH_OK)
			goto out;
		if (n == 0)
			mash_warn(
			    "s47: no principal holds role %s (trigger %s)",
			    p->trig.roles[r], p->trig.trigger_id);
		for (i = 0; i < n; i++) {
			int dup = 0;

			/* One person holding two required roles gets it once.
			 */
			for (k = 0; k < n_sent; k++)
				if (strcmp(sent[k], names[i]) == 0)
					dup = 1;
			if (dup || n_sent >= N_ATTENDEES)
				continue;
			rc = pack_for(t, p, names[i], &buf, &len);
			if (rc != MASH_OK)
				goto out;
			(void)mash_strlcpy(sent[n_sent], names[i], MASH_MAX_ID);
			memset(&jobs[n_sent], 0, sizeof(jobs[n_sent]));
			jobs[n_sent].recipient = sent[n_sent];
			jobs[n_sent].payload_type = MASHD_TRIGGER_PAYLOAD_TYPE;
			jobs[n_sent].payload = buf;
			jobs[n_sent].len = len;
			buf = NULL; /* the job's */
			n_sent++;
		}
	}
	if (t->cfg.sees_memo != NULL)
		t->cfg.sees_memo(t->cfg.ctx, 0);
	seal_all(t, jobs, n_sent);
	for (i = 0; i < n_sent; i++) {
		/* Sealed to each attendee (issue 25); held for one without
		 * a key, audited as such. The record comes first: the outbox
		 * row names it (issue 31). */
		held = 0;
		rc = jobs[i].rc;
		if (rc == MASH_ERR_NO_ENC_KEY)
			rc = mashd_outbox_hold(t->cfg.store, jobs[i].recipient,
			                       MASHD_TRIGGER_PAYLOAD_TYPE,
			                       jobs[i].payload, jobs[i].len,
			                       &held);
		if (rc != MASH_OK)
			goto out;
		/* held_as: the outbox id its later DELIVERY names. */
		if (held != 0)
			(void)mash_snprintf(
			    hextra, sizeof(hextra), "%.*s,\"held_as\":%lld}",
			    (int)(strlen(extra) - 1), extra, (long long)held);
		rc = mashd_trig_audit(
		    t,
		    held != 0 ? MASH_AUD_DELIVERY_HELD
		              : MASH_AUD_TRIGGER_DELIVERY,
		    p->case_id, p->trig.rule_id, jobs[i].recipient,
		    held != 0 ? "no encryption key for the recipient" : p->kind,
		    held != 0 ? hextra : extra, &seq);
		if (rc == MASH_OK && held == 0)
			rc = mashd_outbox_add_sealed(
			    t->cfg.store, jobs[i].recipient, jobs[i].env,
			    jobs[i].env_len, (int64_t)seq);
		if (rc != MASH_OK)
			goto out;
	}
	rc = MASH_OK;
out:
	if (t->cfg.sees_memo != NULL)
		t->cfg.sees_memo(t->cfg.ctx, 0);
	mash_free(buf);
	for (i = 0; i < n_sent; i++) {
		mash_free_secret((void *)jobs[i].payload, jobs[i].len);
		mash_free(jobs[i].env);
		memset(&jobs[i], 0, sizeof(jobs[i]));
	}
	return rc;
}
