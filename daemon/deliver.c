/*
 * deliver.c - decide, audit, then deliver. See deliver.h.
 *
 * Ordering (audit.md "durable before acknowledgement"): every DECISION
 * and DELIVERY record commits in the event's transaction together with
 * the sealed SharedRecord in the store's outbox, BEFORE anything leaves
 * the hub: the trail never records a disclosure that is not durably on
 * its way (daemon/outbox.h publishes it, at least once), and never misses
 * one that was made.
 *
 * Working Together 2013 ch.1 para 24: "no professional should assume that
 * someone else will pass on information which they think may be critical
 * to keeping a child safe" - so every principal is considered for every
 * event, and the policy (not the daemon) says who hears what.
 */
#include <stdio.h>
#include <string.h>

#include "audit/aud.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "daemon/deliver.h"
#include "daemon/seal_pool.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "s47/s47_store.h"
#include "store/store.h"

/* One principal's part in one event. */
struct dl_slot {
	struct mash_dir_entry e; /* borrowed from the directory */
	struct mash_pol_decision dec;
	struct mashd_by_rule by;
	const char *shared[MASH_POL_F_COUNT], *withheld[MASH_POL_F_COUNT];
	char extra[256];
	uint64_t dseq, lseq; /* its DECISION and DELIVERY_* records */
	unsigned char *buf;  /* the packed SharedRecord, if it receives */
	size_t len;
	unsigned char *env; /* sealed here (no pool), or NULL */
	size_t envlen;
	int64_t held; /* outbox id when held for want of a key */
	int pooled;   /* sealed on the pool with the others */
};

struct mashd_deliver {
	struct mashd_deliver_cfg cfg;
	struct mashd_deliver_stats stats;
	/* One event's slots, audit records, seqs and batch of seals
	 * (seal_many), kept between events: one of each per principal,
	 * grown with the directory, never allocated per event. */
	struct dl_slot *slots;
	struct mash_aud_record *recs;
	uint64_t *seqs;
	struct mashd_seal_job *jobs;
	size_t cap;
};

int
mashd_deliver_new(const struct mashd_deliver_cfg *cfg,
                  struct mashd_deliver **out)
{
	struct mashd_deliver *d;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (cfg == NULL || cfg->store == NULL || cfg->aud == NULL ||
	    cfg->seal_to == NULL)
		return MASH_ERR_INVAL;
	d = mash_calloc(1, sizeof(*d));
	if (d == NULL)
		return MASH_ERR_NOMEM;
	d->cfg = *cfg;
	*out = d;
	return MASH_OK;
}

void
mashd_deliver_free(struct mashd_deliver *d)
{
	if (d == NULL)
		return;
	mash_free(d->slots);
	mash_free(d->recs);
	mash_free(d->seqs);
	mash_free(d->jobs);
	mash_free(d);
}

/* At least n zeroed slots, records, seqs and jobs: MASH_OK or
 * MASH_ERR_NOMEM. */
static int
slots_ready(struct mashd_deliver *d, size_t n)
{
	void *p;

	if (n > d->cap) {
		if ((p = mash_realloc(d->slots, n * sizeof(*d->slots))) == NULL)
			return MASH_ERR_NOMEM;
		d->slots = p;
		if ((p = mash_realloc(d->recs, n * sizeof(*d->recs))) == NULL)
			return MASH_ERR_NOMEM;
		d->recs = p;
		if ((p = mash_realloc(d->seqs, n * sizeof(*d->seqs))) == NULL)
			return MASH_ERR_NOMEM;
		d->seqs = p;
		if ((p = mash_realloc(d->jobs, n * sizeof(*d->jobs))) == NULL)
			return MASH_ERR_NOMEM;
		d->jobs = p;
		d->cap = n;
	}
	if (n > 0) {
		memset(d->slots, 0, n * sizeof(*d->slots));
		memset(d->jobs, 0, n * sizeof(*d->jobs));
	}
	return MASH_OK;
}

void
mashd_deliver_stats(const struct mashd_deliver *d,
                    struct mashd_deliver_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (d != NULL)
		*out = d->stats;
}

int
mashd_deliver_case(struct mash_store *st, const struct mash_policy *pol,
                   const char *case_id, struct mash_pol_case *out)
{
	struct mash_s47_open *open = NULL;
	struct mash_pol_case_facts f;
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (st == NULL || case_id == NULL || out == NULL)
		goto out;
	memset(&f, 0, sizeof(f));
	/* One aggregate over the case's index, not its events read and
	 * decrypted one by one (issue 32: an event's cost grew with its
	 * case's history). */
	rc = mash_store_case_summary(st, case_id, &f.max_severity,
	                             &f.n_agencies);
	if (rc != MASH_OK)
		goto out;
	/* The open trigger (s47 tables may not exist in tools without the
	 * s47 engine: treat "cannot read" as an error, not as "none"). */
	open = mash_calloc(1, sizeof(*open));
	if (open == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	rc = mash_s47_store_load_open(st, case_id, open);
	if (rc != MASH_OK)
		goto out;
	f.trigger_open = open->open;
	out->level = mash_pol_case_level(pol, &f);
	out->n_agencies = f.n_agencies;
	out->known_to_multiple = f.n_agencies >= 2;
	rc = MASH_OK;
out:
	mash_free(open);
	return rc;
}

void
mashd_decision_by_rule(const struct mash_policy *pol,
                       const struct mash_pol_decision *d,
                       struct mashd_by_rule *out)
{
	struct mash_pol_rule_group gr[MASH_POL_F_COUNT + 1];
	size_t n, i, used = 0, k;

	n = mash_pol_decision_groups(pol, d, gr, MASH_POL_F_COUNT + 1);
	if (n > MASH_POL_F_COUNT + 1)
		n = MASH_POL_F_COUNT + 1; /* cannot happen: one field each */
	out->n = 0;
	for (i = 0; i < n; i++) {
		/* Each present field is in exactly one group. */
		k = mash_pol_field_names(gr[i].fields, out->names + used,
		                         MASH_POL_F_COUNT - used);
		if (k == 0)
			continue;
		out->g[out->n].rule_id = gr[i].rule_id;
		out->g[out->n].legal_basis = gr[i].legal_basis;
		out->g[out->n].shared = gr[i].shared;
		out->g[out->n].fields = out->names + used;
		out->g[out->n].n_fields = k;
		out->n++;
		used += k;
	}
}

/* {"flags":[...],"level":N} for the DECISION record. */
static void
decision_extra(const struct mash_pol_decision *dec, char *buf, size_t len)
{
	size_t pos;
	int first = 1;

	(void)mash_snprintf(buf, len, "{\"flags\":[");
	pos = strlen(buf);
	for (unsigned b = 0; b < MASH_POL_FLAG_COUNT_; b++) {
		if ((dec->flags & (1u << b)) == 0)
			continue;
		if (mash_snprintf(buf + pos, len - pos, "%s\"%s\"",
		                  first ? "" : ",",
		                  mash_pol_flag_name(1u << b)) != MASH_OK)
			break;
		pos += strlen(buf + pos);
		first = 0;
	}
	(void)mash_snprintf(buf + pos, len - pos, "],\"level\":%u}",
	                    dec->level);
}

/* *ar cleared to a record of type about ev on case_id for sl's
 * principal, as decided for it. */
static void
about(struct mash_aud_record *ar, enum mash_aud_type type,
      const Mash__V1__AgencyEvent *ev, const char *case_id,
      const struct dl_slot *sl)
{
	memset(ar, 0, sizeof(*ar));
	ar->type = type;
	ar->actor = "mashd";
	ar->case_id = case_id;
	ar->agency = ev->agency;
	ar->event_id = ev->event_id;
	ar->recipient = sl->e.principal;
	ar->purpose = sl->dec.purpose;
	ar->rule_id = sl->dec.rule_id;
}

/* Decide for one principal and fill its DECISION record *ar (pointing
 * into sl, which must outlive the append). */
static int
decide_one(const struct mash_policy *pol, const Mash__V1__AgencyEvent *ev,
           const struct mash_pol_event *view, const char *case_id,
           const struct mash_pol_case *c, struct dl_slot *sl,
           struct mash_aud_record *ar)
{
	struct mash_pol_recipient r = {sl->e.principal, sl->e.role,
	                               sl->e.agency};
	int rc;

	rc = mash_pol_decide(pol, view, c, &r,
	                     mash_pol_delivery_purpose(pol, c->level), 0,
	                     &sl->dec);
	if (rc != MASH_OK && rc != MASH_ERR_INVAL)
		return rc;
	/* An invalid input (e.g. a role the policy does not know) is a
	 * denial like any other: audited, nothing sent. */
	about(ar, MASH_AUD_DECISION, ev, case_id, sl);
	ar->legal_basis = sl->dec.legal_basis;
	ar->shared = sl->shared;
	ar->n_shared =
	    mash_pol_field_names(sl->dec.shared, sl->shared, MASH_POL_F_COUNT);
	ar->withheld = sl->withheld;
	ar->n_withheld = mash_pol_field_names(sl->dec.withheld, sl->withheld,
	                                      MASH_POL_F_COUNT);
	ar->reason = sl->dec.reason;
	decision_extra(&sl->dec, sl->extra, sizeof(sl->extra));
	ar->extra_json = sl->extra;
	mashd_decision_by_rule(pol, &sl->dec, &sl->by);
	ar->by_rule = sl->by.g;
	ar->n_by_rule = sl->by.n;
	return MASH_OK;
}

/* The SharedRecord for a principal who receives, packed into sl->buf;
 * without a pool (or a key) sealed here or held (sl->env, sl->held);
 * then its DELIVERY_QUEUED or DELIVERY_HELD record in *ar. */
static int
record_one(struct mashd_deliver *d, const struct mash_dir *dir,
           const Mash__V1__AgencyEvent *ev, const char *case_id, int pool,
           struct dl_slot *sl, struct mash_aud_record *ar)
{
	Mash__V1__SharedRecord rec;
	int rc;

	mash__v1__shared_record__init(&rec);
	rc = mash_pol_record_build(ev, &sl->dec, case_id,
	                           mash_dir_agency_contact(dir, ev->agency),
	                           &rec);
	if (rc != MASH_OK)
		goto out;
	rec.audit_seq = sl->dseq;
	sl->len = mash__v1__shared_record__get_packed_size(&rec);
	if (sl->len > MASH_MAX_PAYLOAD) {
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	sl->buf = mash_malloc(sl->len);
	if (sl->buf == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	(void)mash__v1__shared_record__pack(&rec, sl->buf);
	/* With a key the recipient's seal runs with the event's others
	 * (queue_sealed); without one, seal_or_hold holds it. Either way the
	 * audit record comes first: the outbox row names it (issue 31). */
	sl->pooled = pool && sl->e.enc_pub != NULL;
	if (!sl->pooled) {
		rc = mashd_outbox_seal_or_hold(
		    d->cfg.store, d->cfg.seal_to, d->cfg.ctx, sl->e.principal,
		    MASHD_DELIVER_PAYLOAD_TYPE, sl->buf, sl->len, &sl->env,
		    &sl->envlen, &sl->held);
		if (rc != MASH_OK)
			goto out;
	}
	/* Held: decided and kept, not (yet) sent (issue 25). Queued: in the
	 * outbox; DELIVERY is written when the broker acknowledges it. */
	about(ar,
	      sl->held != 0 ? MASH_AUD_DELIVERY_HELD : MASH_AUD_DELIVERY_QUEUED,
	      ev, case_id, sl);
	ar->reason =
	    sl->held != 0 ? "no encryption key for the recipient" : NULL;
	/* held_as: the outbox id its later DELIVERY_QUEUED record names.
	 * sl->extra is free again: the DECISION was appended. */
	(void)mash_snprintf(sl->extra, sizeof(sl->extra),
	                    "{\"payload_type\":\"" MASHD_DELIVER_PAYLOAD_TYPE
	                    "\",\"held_as\":%lld}",
	                    (long long)sl->held);
	ar->extra_json = sl->held != 0
	                     ? sl->extra
	                     : "{\"payload_type\":\"" MASHD_DELIVER_PAYLOAD_TYPE
	                       "\"}";
	rc = MASH_OK;
out:
	mash_pol_record_clear(&rec);
	return rc;
}

/* Queue the event's seals to be sealed beside the core thread (their rows
 * added before the COMMIT, daemon/seal_defer.h), or seal them on both
 * cores now and add each to the outbox in decision order (inside the
 * event's transaction). The first failure is returned: the caller rolls
 * the event back, as for any delivery error. */
static int
queue_sealed(struct mashd_deliver *d, struct mashd_seal_job *jobs, size_t n)
{
	size_t i;
	int rc;

	if (n == 0)
		return MASH_OK;
	if (d->cfg.seal_defer != NULL &&
	    d->cfg.seal_defer(d->cfg.ctx, jobs, n) == MASH_OK)
		return MASH_OK; /* the rows follow before the COMMIT */
	d->cfg.seal_many(d->cfg.ctx, jobs, n);
	for (i = 0; i < n; i++) {
		if (jobs[i].rc != MASH_OK)
			return jobs[i].rc;
		rc = mashd_outbox_add_sealed(d->cfg.store, jobs[i].recipient,
		                             jobs[i].env, jobs[i].env_len,
		                             jobs[i].audit_seq);
		if (rc != MASH_OK)
			return rc;
	}
	return MASH_OK;
}

/* The records of those who receive go out: sealed here or held ones to
 * the outbox in decision order, the pool's batch after it (queue_sealed).
 * Each slot's buffer passes to its job. */
static int
queue_all(struct mashd_deliver *d, size_t n)
{
	struct mashd_seal_job *job;
	struct dl_slot *sl;
	size_t i, n_jobs = 0;
	int rc;

	for (i = 0; i < n; i++) {
		sl = &d->slots[i];
		if (sl->buf == NULL)
			continue;
		if (sl->pooled) {
			job = &d->jobs[n_jobs++];
			job->recipient = sl->e.principal;
			job->payload_type = MASHD_DELIVER_PAYLOAD_TYPE;
			job->payload = sl->buf;
			job->len = sl->len;
			job->audit_seq = (int64_t)sl->lseq;
			sl->buf = NULL; /* transferred */
		} else if (sl->env != NULL) {
			rc = mashd_outbox_add_sealed(
			    d->cfg.store, sl->e.principal, sl->env, sl->envlen,
			    (int64_t)sl->lseq);
			if (rc != MASH_OK)
				return rc;
		}
	}
	return queue_sealed(d, d->jobs, n_jobs);
}

/*
 * In three steps, each principal's part in the order of the directory:
 * every decision, audited together; the records of those who receive,
 * their DELIVERY_QUEUED (or _HELD) records audited together; then the
 * outbox. Two appends an event instead of one a record: every principal
 * has a DECISION every event, and each append has its own savepoint and
 * tree-state read and write (issue 32; bench_audit: 1.06x).
 */
int
mashd_deliver_on_event(struct mashd_deliver *d, const struct mash_policy *pol,
                       const struct mash_dir *dir,
                       const Mash__V1__AgencyEvent *ev, const char *case_id,
                       unsigned *level)
{
	struct mash_pol_event view;
	struct mash_pol_case c;
	struct dl_slot *sl;
	size_t i, n = 0, m = 0;
	int rc = MASH_ERR_INVAL, pool;

	if (level != NULL)
		*level = 0;
	if (d == NULL || ev == NULL || case_id == NULL || ev->agency == NULL ||
	    ev->event_id == NULL)
		goto out;
	rc = mashd_deliver_case(d->cfg.store, pol, case_id, &c);
	if (rc != MASH_OK)
		goto out;
	if (level != NULL)
		*level = c.level;
	mash_pol_event_view(ev, &view);
	d->stats.events++;
	rc = slots_ready(d, mash_dir_count(dir));
	if (rc != MASH_OK)
		goto out;
	pool = d->cfg.seal_many != NULL;
	for (i = 0; i < mash_dir_count(dir); i++) {
		sl = &d->slots[n];
		if (mash_dir_get(dir, i, &sl->e) != MASH_OK)
			continue;
		rc = decide_one(pol, ev, &view, case_id, &c, sl, &d->recs[n]);
		if (rc != MASH_OK) {
			mash_err("deliver: event %s/%s to %s: %s", ev->agency,
			         ev->event_id, sl->e.principal,
			         mash_errname(rc));
			goto out;
		}
		n++;
	}
	rc = mash_aud_append_many(d->cfg.aud, d->recs, n, d->seqs);
	if (rc != MASH_OK) {
		mash_err("deliver: event %s/%s: %zu decisions not audited: %s",
		         ev->agency, ev->event_id, n, mash_errname(rc));
		goto out;
	}
	d->stats.decisions += n;
	for (i = 0; i < n; i++) {
		sl = &d->slots[i];
		sl->dseq = d->seqs[i];
		if (!sl->dec.receives) {
			d->stats.denied++;
			continue;
		}
		rc = record_one(d, dir, ev, case_id, pool, sl, &d->recs[m]);
		if (rc != MASH_OK) {
			mash_err("deliver: event %s/%s to %s: %s", ev->agency,
			         ev->event_id, sl->e.principal,
			         mash_errname(rc));
			goto out;
		}
		m++;
	}
	rc = mash_aud_append_many(d->cfg.aud, d->recs, m, d->seqs);
	if (rc != MASH_OK) {
		mash_err("deliver: event %s/%s: %zu deliveries not audited: %s",
		         ev->agency, ev->event_id, m, mash_errname(rc));
		goto out;
	}
	for (i = 0, m = 0; i < n; i++) {
		sl = &d->slots[i];
		if (sl->buf == NULL)
			continue;
		sl->lseq = d->seqs[m++];
		d->stats.queued++;
		d->stats.held += sl->held != 0 ? 1 : 0;
	}
	rc = queue_all(d, n);
	if (rc != MASH_OK)
		mash_err("deliver: event %s/%s: outbox: %s", ev->agency,
		         ev->event_id, mash_errname(rc));
out:
	for (i = 0; d != NULL && i < n; i++) {
		mash_free_secret(d->slots[i].buf, d->slots[i].len);
		mash_free(d->slots[i].env);
	}
	for (i = 0; d != NULL && d->jobs != NULL && i < d->cap; i++) {
		mash_free_secret((void *)d->jobs[i].payload, d->jobs[i].len);
		mash_free(d->jobs[i].env);
		d->jobs[i].payload = NULL;
		d->jobs[i].env = NULL;
	}
	return rc;
}

int
mashd_policy_refused(const char *path, struct mash_aud *aud, int rc)
{
	struct mash_aud_record ar;
	unsigned char sha[32];
	char hex[65];
	char extra[192];

	(void)mash_pol_file_sha256(path, sha);
	mash_hex(sha, sizeof(sha), hex);
	(void)mash_snprintf(extra, sizeof(extra),
	                    "{\"result\":\"refused\",\"rules\":0,"
	                    "\"sha256\":\"%s\"}",
	                    hex);
	mash_warn("policy: %s refused (%s); the policy in force stays", path,
	          mash_errname(rc));
	if (aud == NULL)
		return MASH_OK;
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_POLICY_LOAD;
	ar.actor = "mashd";
	ar.reason = mash_errname(rc);
	ar.extra_json = extra;
	return mash_aud_append(aud, &ar, NULL);
}

int
mashd_policy_load(const char *path, struct mash_policy **cur,
                  struct mash_aud *aud, char *errbuf, size_t errlen)
{
	struct mash_policy *fresh = NULL;
	struct mash_aud_record ar;
	unsigned char sha[32];
	char hex[65];
	char extra[192];
	int rc, arc;

	if (path == NULL || cur == NULL)
		return MASH_ERR_INVAL;
	rc = mash_pol_load(path, &fresh, errbuf, errlen);
	if (rc == MASH_OK)
		memcpy(sha, mash_pol_sha256(fresh), sizeof(sha));
	else
		(void)mash_pol_file_sha256(path, sha);
	mash_hex(sha, sizeof(sha), hex);
	(void)mash_snprintf(
	    extra, sizeof(extra),
	    "{\"result\":\"%s\",\"rules\":%zu,\"sha256\":\"%s\"}",
	    rc == MASH_OK ? "loaded" : "refused", mash_pol_rule_count(fresh),
	    hex);
	if (aud != NULL) {
		memset(&ar, 0, sizeof(ar));
		ar.type = MASH_AUD_POLICY_LOAD;
		ar.actor = "mashd";
		ar.reason = rc == MASH_OK ? NULL : mash_errname(rc);
		ar.extra_json = extra;
		arc = mash_aud_append(aud, &ar, NULL);
		if (arc != MASH_OK) {
			/* A policy whose load cannot be audited is not put in
			 * force: the old one stays. */
			mash_err("policy: cannot audit the load of %s: %s",
			         path, mash_errname(arc));
			if (rc == MASH_OK) {
				rc = arc;
				if (errbuf != NULL)
					(void)mash_snprintf(
					    errbuf, errlen,
					    "%s: load not audited: %s", path,
					    mash_strerror(arc));
			}
		}
	}
	if (rc != MASH_OK) {
		mash_warn("policy: %s refused (%s); the policy in force stays",
		          path, mash_errname(rc));
		mash_pol_free(fresh);
		return rc;
	}
	mash_info("policy: loaded %s (%zu rules, sha256 %s)", path,
	          mash_pol_rule_count(fresh), hex);
	mash_pol_free(*cur);
	*cur = fresh;
	return MASH_OK;
}
