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

struct mashd_deliver {
	struct mashd_deliver_cfg cfg;
	struct mashd_deliver_stats stats;
	/* One event's batch of seals (seal_many), kept between events: a
	 * slot per principal, grown with the directory, never per event. */
	struct mashd_seal_job *jobs;
	size_t jobs_cap;
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
	mash_free(d->jobs);
	mash_free(d);
}

/* d->jobs with at least n zeroed slots: MASH_OK or MASH_ERR_NOMEM. */
static int
jobs_ready(struct mashd_deliver *d, size_t n)
{
	struct mashd_seal_job *nj;

	if (n > d->jobs_cap) {
		nj = mash_realloc(d->jobs, n * sizeof(*nj));
		if (nj == NULL)
			return MASH_ERR_NOMEM;
		d->jobs = nj;
		d->jobs_cap = n;
	}
	memset(d->jobs, 0, n * sizeof(*d->jobs));
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

/* Decide, audit and queue for one recipient; with job non-NULL, a
 * recipient with a key gets its packed record put in *job for the batch
 * seal instead (job->payload then owned by the caller). */
static int
deliver_one(struct mashd_deliver *d, const struct mash_policy *pol,
            const struct mash_dir *dir, const Mash__V1__AgencyEvent *ev,
            const struct mash_pol_event *view, const char *case_id,
            const struct mash_pol_case *c, const struct mash_dir_entry *e,
            struct mashd_seal_job *job)
{
	struct mash_pol_recipient r = {e->principal, e->role, e->agency};
	struct mash_pol_decision dec;
	struct mash_aud_record ar;
	struct mashd_by_rule by;
	const char *shared[MASH_POL_F_COUNT], *withheld[MASH_POL_F_COUNT];
	char extra[256];
	Mash__V1__SharedRecord rec;
	unsigned char *buf = NULL, *env = NULL;
	size_t len = 0, envlen = 0;
	uint64_t dseq = 0, lseq = 0;
	int64_t held = 0;
	int rc, pooled;

	mash__v1__shared_record__init(&rec);
	rc = mash_pol_decide(pol, view, c, &r,
	                     mash_pol_delivery_purpose(pol, c->level), 0, &dec);
	if (rc != MASH_OK && rc != MASH_ERR_INVAL)
		goto out;
	/* An invalid input (e.g. a role the policy does not know) is a
	 * denial like any other: audited, nothing sent. */
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_DECISION;
	ar.actor = "mashd";
	ar.case_id = case_id;
	ar.agency = ev->agency;
	ar.event_id = ev->event_id;
	ar.recipient = e->principal;
	ar.purpose = dec.purpose;
	ar.rule_id = dec.rule_id;
	ar.legal_basis = dec.legal_basis;
	ar.shared = shared;
	ar.n_shared =
	    mash_pol_field_names(dec.shared, shared, MASH_POL_F_COUNT);
	ar.withheld = withheld;
	ar.n_withheld =
	    mash_pol_field_names(dec.withheld, withheld, MASH_POL_F_COUNT);
	ar.reason = dec.reason;
	decision_extra(&dec, extra, sizeof(extra));
	ar.extra_json = extra;
	mashd_decision_by_rule(pol, &dec, &by);
	ar.by_rule = by.g;
	ar.n_by_rule = by.n;
	rc = mash_aud_append(d->cfg.aud, &ar, &dseq);
	if (rc != MASH_OK)
		goto out;
	d->stats.decisions++;
	if (!dec.receives) {
		d->stats.denied++;
		rc = MASH_OK;
		goto out;
	}
	rc = mash_pol_record_build(
	    ev, &dec, case_id, mash_dir_agency_contact(dir, ev->agency), &rec);
	if (rc != MASH_OK)
		goto out;
	rec.audit_seq = dseq;
	len = mash__v1__shared_record__get_packed_size(&rec);
	if (len > MASH_MAX_PAYLOAD) {
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	buf = mash_malloc(len);
	if (buf == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	(void)mash__v1__shared_record__pack(&rec, buf);
	/* With a key the recipient's seal runs with the event's others
	 * (queue_sealed); without one, seal_or_hold holds it. Either way the
	 * audit record comes first: the outbox row names it (issue 31). */
	pooled = job != NULL && e->enc_pub != NULL;
	if (!pooled) {
		rc = mashd_outbox_seal_or_hold(
		    d->cfg.store, d->cfg.seal_to, d->cfg.ctx, e->principal,
		    MASHD_DELIVER_PAYLOAD_TYPE, buf, len, &env, &envlen, &held);
		if (rc != MASH_OK)
			goto out;
	}
	memset(&ar, 0, sizeof(ar));
	/* Held: decided and kept, not (yet) sent (issue 25). Queued: in the
	 * outbox; DELIVERY is written when the broker acknowledges it. */
	ar.type = held != 0 ? MASH_AUD_DELIVERY_HELD : MASH_AUD_DELIVERY_QUEUED;
	ar.reason = held != 0 ? "no encryption key for the recipient" : NULL;
	ar.actor = "mashd";
	ar.case_id = case_id;
	ar.agency = ev->agency;
	ar.event_id = ev->event_id;
	ar.recipient = e->principal;
	ar.purpose = dec.purpose;
	ar.rule_id = dec.rule_id;
	/* held_as: the outbox id its later DELIVERY_QUEUED record names. */
	(void)mash_snprintf(extra, sizeof(extra),
	                    "{\"payload_type\":\"" MASHD_DELIVER_PAYLOAD_TYPE
	                    "\",\"held_as\":%lld}",
	                    (long long)held);
	ar.extra_json =
	    held != 0 ? extra
	              : "{\"payload_type\":\"" MASHD_DELIVER_PAYLOAD_TYPE "\"}";
	rc = mash_aud_append(d->cfg.aud, &ar, &lseq);
	if (rc != MASH_OK)
		goto out;
	if (pooled) {
		job->recipient = e->principal;
		job->payload_type = MASHD_DELIVER_PAYLOAD_TYPE;
		job->payload = buf;
		job->len = len;
		job->audit_seq = (int64_t)lseq;
		buf = NULL; /* transferred */
	} else if (env != NULL) {
		rc = mashd_outbox_add_sealed(d->cfg.store, e->principal, env,
		                             envlen, (int64_t)lseq);
		if (rc != MASH_OK)
			goto out;
	}
	d->stats.queued++;
	d->stats.held += held != 0 ? 1 : 0;
out:
	if (buf != NULL)
		mash_free_secret(buf, len);
	mash_free(env);
	mash_pol_record_clear(&rec);
	return rc;
}

/* Seal the event's batch on both cores, then add each to the outbox in
 * decision order (inside the event's transaction). The first failure is
 * returned: the caller rolls the event back, as for any delivery error. */
static int
queue_sealed(struct mashd_deliver *d, struct mashd_seal_job *jobs, size_t n)
{
	size_t i;
	int rc;

	if (n == 0)
		return MASH_OK;
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

int
mashd_deliver_on_event(struct mashd_deliver *d, const struct mash_policy *pol,
                       const struct mash_dir *dir,
                       const Mash__V1__AgencyEvent *ev, const char *case_id,
                       unsigned *level)
{
	struct mash_pol_event view;
	struct mash_pol_case c;
	struct mash_dir_entry e;
	struct mashd_seal_job *jobs = NULL;
	size_t n_jobs = 0;
	int rc = MASH_ERR_INVAL;

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
	if (d->cfg.seal_many != NULL && mash_dir_count(dir) > 0) {
		rc = jobs_ready(d, mash_dir_count(dir));
		if (rc != MASH_OK)
			goto out;
		jobs = d->jobs;
	}
	for (size_t i = 0; i < mash_dir_count(dir); i++) {
		if (mash_dir_get(dir, i, &e) != MASH_OK)
			continue;
		rc = deliver_one(d, pol, dir, ev, &view, case_id, &c, &e,
		                 jobs != NULL ? &jobs[n_jobs] : NULL);
		if (rc != MASH_OK) {
			mash_err("deliver: event %s/%s to %s: %s", ev->agency,
			         ev->event_id, e.principal, mash_errname(rc));
			goto out;
		}
		if (jobs != NULL && jobs[n_jobs].payload != NULL)
			n_jobs++;
	}
	rc = queue_sealed(d, jobs, n_jobs);
out:
	for (size_t i = 0; jobs != NULL && i < mash_dir_count(dir); i++) {
		mash_free_secret((void *)jobs[i].payload, jobs[i].len);
		mash_free(jobs[i].env);
		jobs[i].payload = NULL;
		jobs[i].env = NULL;
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
