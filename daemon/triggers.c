/*
 * triggers.c - section 47 triggers in the daemon. See triggers.h.
 *
 * Ordering (audit.md "durable before acknowledgement"): the trigger, its
 * clocks, their audit records, each delivery's TRIGGER_DELIVERY record
 * and the sealed message in the store's outbox commit in ONE transaction
 * (the event's, or the escalation's); the daemon publishes the outbox
 * after the commit (daemon/outbox.h), at least once, so the trail never
 * claims a delivery that a crash or a broker outage could lose.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/aud.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/seal_pool.h"
#include "daemon/triggers.h"
#include "daemon/triggers_int.h"
#include "mash/v1/mash.pb-c.h"
#include "policy/dir.h"
#include "s47/cal.h"
#include "s47/s47.h"
#include "s47/s47_store.h"
#include "store/store.h"

#define ESCALATE_BATCH 16u

int
mashd_triggers_new(const struct mashd_triggers_cfg *cfg,
                   struct mashd_triggers **out)
{
	struct mashd_triggers *t = NULL;
	int rc = MASH_ERR_INVAL;

	*out = NULL;
	if (cfg == NULL || cfg->store == NULL || cfg->aud == NULL ||
	    cfg->clock == NULL || cfg->policy == NULL ||
	    cfg->principals == NULL || cfg->seal_to == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	t = mash_calloc(1, sizeof(*t));
	if (t == NULL)
		goto out;
	t->cfg = *cfg;
	t->scratch = mash_calloc(1, sizeof(*t->scratch));
	t->facts = mash_calloc(MASH_S47_MAX_HISTORY, sizeof(*t->facts));
	t->jobs = mash_calloc(N_ATTENDEES, sizeof(*t->jobs));
	if (t->scratch == NULL || t->facts == NULL || t->jobs == NULL)
		goto out;
	rc = mash_s47_store_init(cfg->store);
	if (rc != MASH_OK)
		goto out;
	rc = mash_store_meta_set(cfg->store, "s47.schema", "1");
	if (rc != MASH_OK)
		goto out;
	*out = t;
	t = NULL; /* transferred */
out:
	mashd_triggers_free(t);
	return rc;
}

void
mashd_triggers_free(struct mashd_triggers *t)
{
	if (t == NULL)
		return;
	mash_free(t->scratch);
	mash_free(t->facts);
	mash_free(t->jobs);
	mash_free(t);
}

void
mashd_triggers_set_policy(struct mashd_triggers *t,
                          const struct mash_s47_policy *policy,
                          const struct mash_cal *cal)
{
	t->cfg.policy = policy;
	t->cfg.cal = cal;
}

/* ---- audit helpers ------------------------------------------------------ */

int
mashd_trig_audit(struct mashd_triggers *t, enum mash_aud_type type,
                 const char *case_id, const char *rule_id,
                 const char *recipient, const char *reason, const char *extra,
                 uint64_t *seq)
{
	struct mash_aud_record r;
	char why[MASH_AUD_MAX_REASON];

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.time_ms = mash_clock_now(t->cfg.clock);
	r.actor = "mashd";
	r.case_id = case_id;
	r.rule_id = rule_id != NULL && rule_id[0] != '\0' ? rule_id : NULL;
	r.recipient = recipient;
	r.purpose = "strategy-discussion";
	if (reason != NULL) {
		/* Audit reasons are short by design; a long one is cut. */
		(void)mash_strlcpy(why, reason, sizeof(why));
		r.reason = why;
	}
	r.extra_json = extra;
	return mash_aud_append(t->cfg.aud, &r, seq);
}

/* Append s to buf as a JSON string (ids are [A-Za-z0-9._/-]; anything
 * else is escaped as \u00XX or dropped if not ASCII). */
static int
json_str(char *buf, size_t bufsz, const char *s)
{
	size_t len = strlen(buf);
	const unsigned char *p;

	if (len + 2 >= bufsz)
		return MASH_ERR_FIELD_TOO_LONG;
	buf[len++] = '"';
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (len + 7 >= bufsz)
			return MASH_ERR_FIELD_TOO_LONG;
		if (*p < 0x20 || *p == '"' || *p == '\\' || *p >= 0x7f) {
			(void)snprintf(buf + len, bufsz - len, "\\u%04x",
			               (unsigned)*p);
			len += 6;
		} else {
			buf[len++] = (char)*p;
		}
	}
	buf[len++] = '"';
	buf[len] = '\0';
	return MASH_OK;
}

int
mashd_trig_json_kv(char *buf, size_t bufsz, const char *key, const char *val,
                   int first)
{
	size_t len = strlen(buf);
	int rc;

	if (mash_snprintf(buf + len, bufsz - len, "%s", first ? "" : ",") !=
	    MASH_OK)
		return MASH_ERR_FIELD_TOO_LONG;
	rc = json_str(buf, bufsz, key);
	if (rc != MASH_OK)
		return rc;
	len = strlen(buf);
	if (mash_snprintf(buf + len, bufsz - len, ":") != MASH_OK)
		return MASH_ERR_FIELD_TOO_LONG;
	return json_str(buf, bufsz, val);
}

static int
json_ki(char *buf, size_t bufsz, const char *key, int64_t v)
{
	size_t len = strlen(buf);

	return mash_snprintf(buf + len, bufsz - len, ",\"%s\":%lld", key,
	                     (long long)v);
}

/* {"trigger_id":..,"kind":..,"due_by":..,"events":[..]} within the audit
 * extra limit: events that do not fit are counted, not listed. */
static void
trigger_extra(const char *trigger_id, const char *kind, int64_t due_by,
              char (*events)[MASH_S47_MAX_REF], size_t n, char *buf,
              size_t bufsz)
{
	size_t i, listed = 0;

	buf[0] = '{';
	buf[1] = '\0';
	if (mashd_trig_json_kv(buf, bufsz, "trigger_id", trigger_id, 1) !=
	        MASH_OK ||
	    mashd_trig_json_kv(buf, bufsz, "kind", kind, 0) != MASH_OK ||
	    json_ki(buf, bufsz, "due_by", due_by) != MASH_OK ||
	    mash_snprintf(buf + strlen(buf), bufsz - strlen(buf),
	                  ",\"events\":[") != MASH_OK)
		goto fallback;
	for (i = 0; i < n; i++) {
		size_t len = strlen(buf);

		if (len + strlen(events[i]) + 64 >= bufsz)
			break;
		if (listed > 0)
			(void)mash_snprintf(buf + len, bufsz - len, ",");
		if (json_str(buf, bufsz, events[i]) != MASH_OK)
			goto fallback;
		listed++;
	}
	if (mash_snprintf(buf + strlen(buf), bufsz - strlen(buf),
	                  "],\"n_events\":%zu}", n) == MASH_OK)
		return;
fallback:
	buf[0] = '{';
	buf[1] = '\0';
	(void)mashd_trig_json_kv(buf, bufsz, "trigger_id", trigger_id, 1);
	(void)mash_snprintf(buf + strlen(buf), bufsz - strlen(buf), "}");
}

static void
clock_extra(const struct mash_s47_clock *c, const char *op, char *buf,
            size_t bufsz)
{
	buf[0] = '{';
	buf[1] = '\0';
	if (mashd_trig_json_kv(buf, bufsz, "clock",
	                       mash_s47_clock_name(c->kind), 1) != MASH_OK ||
	    mashd_trig_json_kv(buf, bufsz, "op", op, 0) != MASH_OK ||
	    json_ki(buf, bufsz, "clock_id", c->clock_id) != MASH_OK ||
	    json_ki(buf, bufsz, "started_at", c->started_at) != MASH_OK ||
	    json_ki(buf, bufsz, "due_at", c->due_at) != MASH_OK ||
	    (c->trigger_id[0] != '\0' &&
	     mashd_trig_json_kv(buf, bufsz, "trigger_id", c->trigger_id, 0) !=
	         MASH_OK) ||
	    mash_snprintf(buf + strlen(buf), bufsz - strlen(buf), "}") !=
	        MASH_OK) {
		(void)mash_snprintf(buf, bufsz, "{\"clock_id\":%lld}",
		                    (long long)c->clock_id);
	}
}

/* ---- the post-store hook ------------------------------------------------ */

/* Load the case history into t->facts; *cur = index of (agency, id). */
static int
load_history(struct mashd_triggers *t, const char *case_id, const char *agency,
             const char *event_id, size_t *n, size_t *cur)
{
	struct mash_store_event_list *l = NULL;
	size_t i, first;
	int rc;

	*n = 0;
	*cur = SIZE_MAX;
	rc = mash_store_case_events(t->cfg.store, case_id, &l);
	if (rc != MASH_OK)
		goto out;
	/* The newest MASH_S47_MAX_HISTORY events (the list is in
	 * occurred_at order); windows are at most years, so older ones never
	 * matter to a rule, and the event being evaluated is searched for
	 * below. */
	first = l->n > MASH_S47_MAX_HISTORY ? l->n - MASH_S47_MAX_HISTORY : 0;
	for (i = 0; i < l->n; i++) {
		const struct mash_store_event_row *r = &l->v[i];
		Mash__V1__AgencyEvent *ev;
		int is_cur = strcmp(r->agency, agency) == 0 &&
		             strcmp(r->event_id, event_id) == 0;

		if (i < first && !is_cur)
			continue;
		if (*n >= MASH_S47_MAX_HISTORY)
			break;
		ev = mash__v1__agency_event__unpack(NULL, r->payload_len,
		                                    r->payload);
		if (ev == NULL) {
			/* Stored payloads were validated on the way in. */
			mash_warn("s47: case %s event %s/%s does not decode",
			          case_id, r->agency, r->event_id);
			continue;
		}
		rc = mash_s47_fact_from_event(ev, &t->facts[*n]);
		mash__v1__agency_event__free_unpacked(ev, NULL);
		if (rc != MASH_OK)
			continue;
		/* The store's agency/event_id are authoritative. */
		(void)mash_strlcpy(t->facts[*n].agency, r->agency,
		                   sizeof(t->facts[*n].agency));
		(void)mash_strlcpy(t->facts[*n].event_id, r->event_id,
		                   sizeof(t->facts[*n].event_id));
		t->facts[*n].occurred_at = r->occurred_at;
		if (is_cur)
			*cur = *n;
		(*n)++;
	}
	rc = *cur == SIZE_MAX ? MASH_ERR_NOT_FOUND : MASH_OK;
out:
	mash_store_event_list_free(l);
	return rc;
}

static const char *
op_name(enum mash_s47_clock_op op)
{
	return op == MASH_S47_CLOCK_SET     ? "set"
	       : op == MASH_S47_CLOCK_MOVED ? "moved"
	                                    : "closed";
}

int
mashd_triggers_on_event(struct mashd_triggers *t, const char *case_id,
                        const char *agency, const char *event_id,
                        uint64_t *trigger_seq)
{
	struct mash_s47_outcome *o;
	char extra[MASH_AUD_MAX_EXTRA];
	const char *kind = NULL;
	uint64_t seq = 0;
	size_t n = 0, cur = 0, i;
	int64_t now;
	int rc = MASH_ERR_INVAL;

	if (trigger_seq != NULL)
		*trigger_seq = 0;
	if (t == NULL || case_id == NULL || agency == NULL || event_id == NULL)
		goto out;
	o = &t->out;
	now = mash_clock_now(t->cfg.clock);
	rc = load_history(t, case_id, agency, event_id, &n, &cur);
	if (rc != MASH_OK)
		goto out;
	rc = mash_s47_store_apply(t->cfg.store, t->cfg.policy, t->cfg.cal,
	                          case_id, t->facts, n, cur, now, o);
	if (rc != MASH_OK)
		goto out;
	switch (o->action) {
	case MASH_S47_RAISE:
		kind = "raised";
		break;
	case MASH_S47_UPDATE:
		kind = "updated";
		break;
	case MASH_S47_CLOSE:
		kind = "closed";
		break;
	case MASH_S47_NONE:
		break;
	}
	if (kind != NULL) {
		trigger_extra(o->trigger.trigger_id, kind, o->trigger.due_by,
		              o->action == MASH_S47_UPDATE ? o->new_events
		                                           : o->trigger.events,
		              o->action == MASH_S47_UPDATE
		                  ? o->n_new
		                  : o->trigger.n_events,
		              extra, sizeof(extra));
		rc = mashd_trig_audit(
		    t,
		    o->action == MASH_S47_RAISE ? MASH_AUD_TRIGGER_RAISED
		                                : MASH_AUD_TRIGGER_UPDATED,
		    case_id, o->trigger.rule_id, NULL,
		    o->action == MASH_S47_CLOSE
		        ? "closed by STRATEGY_DISCUSSION_HELD from social-care"
		        : o->trigger.reason,
		    extra, &seq);
		if (rc != MASH_OK)
			goto out;
		mash_info("s47: case %s trigger %s %s (%s)", case_id,
		          o->trigger.trigger_id, kind, o->trigger.rule_id);
	}
	for (i = 0; i < o->n_clocks; i++) {
		clock_extra(&o->clocks[i].clock, op_name(o->clocks[i].op),
		            extra, sizeof(extra));
		rc = mashd_trig_audit(t, MASH_AUD_CLOCK_SET, case_id, NULL,
		                      NULL, NULL, extra, NULL);
		if (rc != MASH_OK)
			goto out;
	}
	if (o->action == MASH_S47_RAISE || o->action == MASH_S47_UPDATE) {
		struct pending *p = t->scratch;

		memset(p, 0, sizeof(*p));
		(void)mash_strlcpy(p->kind, kind, sizeof(p->kind));
		(void)mash_strlcpy(p->case_id, case_id, sizeof(p->case_id));
		p->trig = o->trigger;
		p->audit_seq = seq;
		p->raised_at = o->trigger.raised_at;
		rc = mashd_trig_queue(t, p);
		if (rc != MASH_OK)
			goto out;
	}
	if (trigger_seq != NULL)
		*trigger_seq = seq;
	rc = MASH_OK;
out:
	return rc;
}

/* ---- escalation --------------------------------------------------------- */

int
mashd_triggers_tick(struct mashd_triggers *t, size_t *n_escalated)
{
	struct mash_s47_clock due[ESCALATE_BATCH];
	struct pending *p = NULL;
	char extra[MASH_AUD_MAX_EXTRA], when[16];
	const char *role;
	size_t n = 0, i, total = 0;
	int64_t now;
	int rc = MASH_ERR_INVAL;

	if (n_escalated != NULL)
		*n_escalated = 0;
	if (t == NULL)
		return MASH_ERR_INVAL;
	role = mash_s47_policy_escalation_role(t->cfg.policy);
	p = mash_calloc(ESCALATE_BATCH, sizeof(*p));
	if (p == NULL)
		return MASH_ERR_NOMEM;
	do {
		now = mash_clock_now(t->cfg.clock);
		rc = mash_store_begin(t->cfg.store);
		if (rc != MASH_OK)
			goto out;
		rc = mash_s47_store_escalate_due(t->cfg.store, now, due,
		                                 ESCALATE_BATCH, &n);
		for (i = 0; rc == MASH_OK && i < n; i++) {
			struct pending *e = &p[i];
			char reason[MASH_S47_MAX_REASON];

			memset(e, 0, sizeof(*e));
			(void)mash_strlcpy(e->kind, "escalated",
			                   sizeof(e->kind));
			(void)mash_strlcpy(e->case_id, due[i].case_id,
			                   sizeof(e->case_id));
			if (due[i].trigger_id[0] != '\0') {
				rc = mash_s47_store_load_open(
				    t->cfg.store, due[i].case_id, &e->trig);
				if (rc != MASH_OK)
					break;
				if (strcmp(e->trig.trigger_id,
				           due[i].trigger_id) != 0)
					memset(&e->trig, 0, sizeof(e->trig));
			}
			(void)mash_strlcpy(e->trig.trigger_id,
			                   due[i].trigger_id,
			                   sizeof(e->trig.trigger_id));
			(void)mash_cal_format_date(
			    mash_cal_local_day(due[i].due_at), when,
			    sizeof(when));
			(void)mash_snprintf(
			    reason, sizeof(reason),
			    "%s clock overdue: due by the end of %s (London) "
			    "with no closing event from social care.",
			    mash_s47_clock_name(due[i].kind), when);
			(void)mash_strlcpy(e->trig.reason, reason,
			                   sizeof(e->trig.reason));
			e->trig.due_by = due[i].due_at;
			if (e->trig.level == 0)
				e->trig.level = 4;
			/* The escalation goes to the MASH manager role. */
			e->trig.n_roles = 1;
			(void)mash_strlcpy(e->trig.roles[0], role,
			                   sizeof(e->trig.roles[0]));
			e->raised_at = now;
			clock_extra(&due[i], "escalated", extra, sizeof(extra));
			rc = mashd_trig_audit(t, MASH_AUD_ESCALATION,
			                      due[i].case_id, e->trig.rule_id,
			                      role, reason, extra,
			                      &e->audit_seq);
			if (rc == MASH_OK)
				rc = mashd_trig_queue(t, e);
			if (rc == MASH_OK)
				mash_warn("s47: case %s %s clock %lld overdue: "
				          "escalated to %s",
				          due[i].case_id,
				          mash_s47_clock_name(due[i].kind),
				          (long long)due[i].clock_id, role);
		}
		if (rc != MASH_OK) {
			(void)mash_store_rollback(t->cfg.store);
			goto out;
		}
		rc = mash_store_commit(t->cfg.store);
		if (rc != MASH_OK)
			goto out;
		total += n;
	} while (n == ESCALATE_BATCH);
	rc = MASH_OK;
out:
	if (n_escalated != NULL)
		*n_escalated = total;
	mash_free(p);
	return rc;
}

int64_t
mashd_triggers_next_due_in(struct mashd_triggers *t)
{
	int64_t due = 0, now;
	int rc;

	if (t == NULL)
		return -1;
	rc = mash_s47_store_next_due(t->cfg.store, &due);
	if (rc == MASH_ERR_NOT_FOUND)
		return -1;
	if (rc != MASH_OK)
		return 1000;
	now = mash_clock_now(t->cfg.clock);
	/* Escalation happens once due_at < now. */
	return due + 1 > now ? due + 1 - now : 0;
}

int
mashd_triggers_principals_from_dir(const struct mash_dir *dir, const char *role,
                                   const char **names, size_t max, size_t *n)
{
	struct mash_dir_entry e;
	size_t i, count;

	if (n != NULL)
		*n = 0;
	if (dir == NULL || role == NULL || names == NULL || n == NULL)
		return MASH_ERR_INVAL;
	count = mash_dir_count(dir);
	for (i = 0; i < count && *n < max; i++) {
		if (mash_dir_get(dir, i, &e) != MASH_OK)
			break;
		if (e.role != NULL && strcmp(e.role, role) == 0)
			names[(*n)++] = e.principal;
	}
	return MASH_OK;
}

/* ---- the test clock ----------------------------------------------------- */

static int64_t
system_ms(void)
{
	const struct mash_clock *c = mash_clock_system();

	return mash_clock_now(c);
}

static int64_t
file_clock_now(void *ctx)
{
	struct mashd_test_clock *s = ctx;
	char buf[32];
	ssize_t got;
	int64_t v;
	int fd;

	fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return s->last_ms;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return s->last_ms;
	buf[got] = '\0';
	buf[strcspn(buf, " \r\n")] = '\0';
	if (mash_parse_i64(buf, 0, INT64_MAX / 2, &v) == MASH_OK)
		s->last_ms = v;
	return s->last_ms;
}

static int64_t
offset_clock_now(void *ctx)
{
	struct mashd_test_clock *s = ctx;

	return system_ms() + s->offset_ms;
}

int
mashd_test_clock_from_env(struct mashd_test_clock *storage,
                          struct mash_clock *out)
{
	const char *file = getenv("MASHD_TEST_CLOCK_FILE");
	const char *off = getenv("MASHD_TEST_CLOCK_OFFSET_MS");

	memset(storage, 0, sizeof(*storage));
	*out = *mash_clock_system();
	if (file != NULL && file[0] != '\0' &&
	    mash_strlcpy(storage->path, file, sizeof(storage->path)) ==
	        MASH_OK) {
		storage->last_ms = system_ms();
		out->now_ms = file_clock_now;
		out->ctx = storage;
		mash_warn("TEST CLOCK in effect (MASHD_TEST_CLOCK_FILE): not "
		          "for production");
		return 1;
	}
	if (off != NULL && off[0] != '\0' &&
	    mash_parse_i64(off, -(INT64_C(1) << 50), INT64_C(1) << 50,
	                   &storage->offset_ms) == MASH_OK) {
		out->now_ms = offset_clock_now;
		out->ctx = storage;
		mash_warn("TEST CLOCK in effect (MASHD_TEST_CLOCK_OFFSET_MS): "
		          "not for production");
		return 1;
	}
	return 0;
}
