/*
 * handle_picture.c - mash/v1/requests/picture (see handle_picture.h).
 *
 * Why the handler is shaped like this:
 *  - Every access is audited, granted or denied, and the audit commits
 *    BEFORE the answer leaves (audit.md: "every picture request (granted
 *    or denied)"); a picture whose audit did not commit is never sent.
 *  - The requester is who signed, and the answer goes only to that
 *    person's own inbox: an MQTT v5 response topic is chosen by the
 *    client, so without this check anyone could have a child's picture
 *    delivered to another subscriber's topic.
 *  - What each record shows is the policy engine's decision and the
 *    policy's record builder, never a second redaction here: one place
 *    decides what is necessary and proportionate (Working Together 2013
 *    ch.1 para 21-25; sharing-policy.md).
 *  - Break-glass (sharing-policy.md rule 8) is the policy's to allow: the
 *    engine is asked again with break_glass = 1, and only if it then
 *    shares more is the override used, audited as BREAK_GLASS and reported
 *    to the auditor role.
 *  - Signposting (seed 002, ContactPoint's successor): agencies_involved
 *    lists only agencies whose records the requester may see, so the list
 *    itself never says more than the policy allows.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/aud.h"
#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/inbox.h"
#include "daemon/deliver.h"
#include "daemon/handle_picture.h"
#include "daemon/mashd.h"
#include "daemon/picture_delivery.h"
#include "daemon/picture_req.h"
#include "daemon/picture_triggers.h"
#include "event/evt.h"
#include "mash/v1/mash.pb-c.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "s47/vcl.h"
#include "store/store.h"

#define REQUEST_TYPE "mash.v1.PictureRequest"
#define WHY_LEN      256u

/* One event of the case, as decided for this requester. */
struct pic_item {
	const struct mash_store_event_row *row; /* borrowed from the list */
	Mash__V1__AgencyEvent *ev;              /* decoded; owned */
	struct mash_pol_decision d;             /* the decision used */
	int by_break_glass;                     /* d came from the override */
	int shown; /* has a record in the Picture */
};

/* Everything one request holds; freed by req_state_clear(). */
struct req_state {
	struct mash_env_opened *opened;
	Mash__V1__PictureRequest *req;
	struct mash_dir_entry who;
	int who_known;
	struct mash_store_case *kase;
	struct mash_store_event_list *events;
	struct pic_item *items;
	size_t n_items;
	Mash__V1__SharedRecord *recs;
	Mash__V1__SharedRecord **recp;
	size_t n_recs;
	char **agencies;
	size_t n_agencies;
	struct mashd_picture_triggers trig;
	char trig_reason[MASH_S47_MAX_REASON]; /* as the requester reads it */
	char bg_refused[160]; /* why a break-glass was refused, or "" */
	char inbox[MASH_MAX_TOPIC + 1];
	unsigned level;
	const char *deny_rule; /* the policy rule behind a denial, or NULL */
	char denied[WHY_LEN];
	int deny_err;
};

static void
req_state_clear(struct req_state *s)
{
	size_t i;

	for (i = 0; i < s->n_recs; i++)
		mash_pol_record_clear(&s->recs[i]);
	mash_free(s->recs);
	mash_free(s->recp);
	for (i = 0; i < s->n_items; i++)
		mash_evt_free(s->items[i].ev);
	mash_free(s->items);
	mash_free(s->agencies);
	mashd_picture_triggers_clear(&s->trig);
	mash_store_event_list_free(s->events);
	mash_store_case_free(s->kase);
	if (s->req != NULL)
		mash__v1__picture_request__free_unpacked(
		    s->req, mash_env_pb_allocator());
	mash_env_opened_free(s->opened);
	memset(s, 0, sizeof(*s));
}

/* Copy src into dst[dstsz], cut on a UTF-8 character boundary. */
static void
clip(char *dst, size_t dstsz, const char *src)
{
	size_t n;

	if (dstsz == 0)
		return;
	dst[0] = '\0';
	if (src == NULL)
		return;
	n = strlen(src);
	if (n >= dstsz) {
		n = dstsz - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void deny(struct req_state *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record why the request is refused (the denied_reason sent back). */
static void
deny(struct req_state *s, int err, const char *fmt, ...)
{
	va_list ap;

	s->deny_err = err;
	va_start(ap, fmt);
	(void)vsnprintf(s->denied, sizeof(s->denied), fmt, ap);
	va_end(ap);
}

static int
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ------------------------------------------------------------------ */
/* Steps 1-4: who asks, where the answer goes, which case              */

static int
open_request(const struct mashd_picture_env *env, const struct mash_mq_msg *msg,
             struct req_state *s, char *why, size_t whylen)
{
	int rc;

	if (msg->oversized) {
		(void)mash_snprintf(why, whylen,
		                    "request larger than %zu bytes", msg->len);
		return MASH_ERR_TOO_BIG;
	}
	rc = mash_env_open(env->trust, msg->payload, msg->len, REQUEST_TYPE,
	                   NULL, &s->opened, why, whylen);
	if (rc != MASH_OK)
		return rc;
	rc = mashd_picture_req_decode(s->opened->payload,
	                              s->opened->payload_len, &s->req);
	if (rc == MASH_ERR_BAD_UTF8)
		(void)mash_snprintf(why, whylen,
		                    "PictureRequest from %s has a "
		                    "string that is not UTF-8",
		                    s->opened->signer);
	else if (rc != MASH_OK)
		(void)mash_snprintf(why, whylen,
		                    "PictureRequest from %s does "
		                    "not decode",
		                    s->opened->signer);
	return rc;
}

/* Checks on a verified request; on refusal fills s->denied. */
static int
check_request(const struct mashd_picture_env *env,
              const struct mash_mq_msg *msg, struct req_state *s)
{
	const Mash__V1__PictureRequest *r = s->req;
	const char *principal = s->opened->signer;

	if (mash_dir_lookup(env->dir, principal, &s->who) != MASH_OK) {
		deny(s, MASH_ERR_UNKNOWN_PRINCIPAL,
		     "principal %s is not in the directory", principal);
		return MASH_ERR_DENIED;
	}
	s->who_known = 1;
	if (msg->response_topic == NULL ||
	    strcmp(msg->response_topic, s->inbox) != 0) {
		deny(s, MASH_ERR_DENIED,
		     "the response topic must be the requester's own inbox %s",
		     s->inbox);
		return MASH_ERR_DENIED;
	}
	return mashd_picture_req_check(r, &s->deny_err, s->denied,
	                               sizeof(s->denied));
}

static int
find_case(const struct mashd_picture_env *env, struct req_state *s)
{
	const Mash__V1__PictureRequest *r = s->req;
	char id[MASH_STORE_CASE_ID_SIZE];
	const char *case_id;
	int rc;

	if (nonempty(r->case_id)) {
		case_id = r->case_id; /* bounded: mashd_picture_req_check */
	} else if (r->subject != NULL && nonempty(r->subject->nhs_number)) {
		rc = mash_store_case_find_nhs(env->store,
		                              r->subject->nhs_number, id);
		if (rc == MASH_ERR_NOT_FOUND || rc == MASH_ERR_BAD_NHS) {
			deny(s, rc, "no case for that NHS number");
			return MASH_ERR_DENIED;
		}
		if (rc != MASH_OK)
			return rc;
		case_id = id;
	} else {
		deny(s, MASH_ERR_MISSING_FIELD,
		     "give case_id or subject.nhs_number");
		return MASH_ERR_DENIED;
	}
	rc = mash_store_case_get(env->store, case_id, &s->kase);
	if (rc == MASH_ERR_NOT_FOUND) {
		deny(s, rc, "no such case");
		return MASH_ERR_DENIED;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Step 5-6: decide every event                                        */

static int
decide_all(const struct mashd_picture_env *env, struct req_state *s)
{
	struct mash_pol_case_facts facts;
	struct mash_pol_case pc;
	struct mash_pol_recipient rcpt;
	struct mash_pol_event view;
	struct mash_pol_decision plain, bg;
	const char *purpose = s->req->purpose;
	int want_bg = nonempty(s->req->break_glass_reason);
	char why[WHY_LEN];

	/* Rule 8: only a role the policy gives break-glass to may use it;
	 * another is refused, audited and told, never silently ignored. */
	if (want_bg && !mash_pol_break_glass_allowed(env->pol, s->who.role)) {
		want_bg = 0;
		(void)mash_snprintf(
		    s->bg_refused, sizeof(s->bg_refused),
		    "role %s may not break glass under the "
		    "sharing policy (rule 8); the ordinary view "
		    "is shown",
		    s->who.role);
	}
	size_t i, j, n_agencies = 0;
	int rc;

	s->items =
	    mash_calloc(s->events->n ? s->events->n : 1, sizeof(*s->items));
	if (s->items == NULL)
		return MASH_ERR_NOMEM;
	memset(&facts, 0, sizeof(facts));
	for (i = 0; i < s->events->n; i++) {
		const struct mash_store_event_row *row = &s->events->v[i];

		s->items[i].row = row;
		if (row->severity > facts.max_severity)
			facts.max_severity = row->severity;
		for (j = 0; j < i; j++)
			if (strcmp(s->events->v[j].agency, row->agency) == 0)
				break;
		if (j == i)
			n_agencies++;
		rc = mash_evt_decode(row->payload, row->payload_len,
		                     &s->items[i].ev, why, sizeof(why));
		if (rc != MASH_OK) {
			/* Stored events were validated on the way in; one
			 * that no longer decodes is a store fault. */
			mash_err("picture: case %s event %s/%s does not decode "
			         "(%s)",
			         row->case_id, row->agency, row->event_id,
			         mash_errname(rc));
			return MASH_ERR_STORE;
		}
	}
	s->n_items = s->events->n;
	facts.n_agencies = (unsigned)n_agencies;
	facts.trigger_open = s->trig.open;

	memset(&pc, 0, sizeof(pc));
	pc.level = mash_pol_case_level(env->pol, &facts);
	pc.n_agencies = (unsigned)n_agencies;
	pc.known_to_multiple = n_agencies >= 2;
	s->level = pc.level;

	memset(&rcpt, 0, sizeof(rcpt));
	rcpt.principal = s->who.principal;
	rcpt.role = s->who.role;
	rcpt.agency = s->who.agency;

	for (i = 0; i < s->n_items; i++) {
		struct pic_item *it = &s->items[i];

		mash_pol_event_view(it->ev, &view);
		(void)mash_pol_decide(env->pol, &view, &pc, &rcpt, purpose, 0,
		                      &plain);
		it->d = plain;
		if (!want_bg)
			continue;
		(void)mash_pol_decide(env->pol, &view, &pc, &rcpt, purpose, 1,
		                      &bg);
		/* The override is used only where the policy, asked with
		 * break-glass, shares something it otherwise would not. */
		if (bg.receives && (bg.shared & ~plain.shared) != 0) {
			it->d = bg;
			it->by_break_glass = 1;
		}
	}
	return MASH_OK;
}

/* ------------------------------------------------------------------ */
/* Building the Picture                                                 */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The SharedRecords of the granted events, the agencies involved, the
 * union of shared and withheld fields; the newest MASHD_PICTURE_MAX_RECORDS
 * granted events are kept.
 */
static int
build_records(const struct mashd_picture_env *env, struct req_state *s)
{
	const char *contact;
	size_t i, j, n = 0, first = 0, k = 0;
	int rc;

	for (i = 0; i < s->n_items; i++)
		n += s->items[i].d.receives ? 1 : 0;
	if (n == 0)
		return MASH_OK;
	/* Events come in (occurred_at, seq) order: skip the oldest. */
	if (n > MASHD_PICTURE_MAX_RECORDS) {
		size_t skip = n - MASHD_PICTURE_MAX_RECORDS;

		for (first = 0; first < s->n_items && skip > 0; first++)
			if (s->items[first].d.receives)
				skip--;
		n = MASHD_PICTURE_MAX_RECORDS;
	}
	s->recs = mash_calloc(n, sizeof(*s->recs));
	s->recp = mash_calloc(n, sizeof(*s->recp));
	s->agencies = mash_calloc(n, sizeof(*s->agencies));
	if (s->recs == NULL || s->recp == NULL || s->agencies == NULL)
		return MASH_ERR_NOMEM;
	for (i = first; i < s->n_items && k < n; i++) {
		struct pic_item *it = &s->items[i];

		if (!it->d.receives)
			continue;
		mash__v1__shared_record__init(&s->recs[k]);
		contact = mash_dir_agency_contact(env->dir, it->row->agency);
		rc = mash_pol_record_build(it->ev, &it->d, s->kase->case_id,
		                           contact, &s->recs[k]);
		if (rc != MASH_OK)
			return rc;
		s->recp[k] = &s->recs[k];
		s->n_recs = ++k;
		it->shown = 1;
		for (j = 0; j < s->n_agencies; j++)
			if (strcmp(s->agencies[j], it->row->agency) == 0)
				break;
		if (j == s->n_agencies)
			s->agencies[s->n_agencies++] = (char *)it->row->agency;
	}
	qsort(s->agencies, s->n_agencies, sizeof(*s->agencies), cmp_str);
	return MASH_OK;
}

static void
unions(const struct req_state *s, uint64_t *shared, uint64_t *withheld,
       int *bg_used)
{
	size_t i;

	*shared = 0;
	*withheld = 0;
	*bg_used = 0;
	for (i = 0; i < s->n_items; i++) {
		if (!s->items[i].shown)
			continue;
		*shared |= s->items[i].d.shared;
		*withheld |= s->items[i].d.withheld;
		*bg_used |= s->items[i].by_break_glass;
	}
	/* A field shown on one record and withheld on another was shown. */
	*withheld &= ~*shared;
}

/* VCL band and RMG register from the records whose VCL scores the
 * requester may see (Northumberland risk matrix, seed 003 6.6-6.10). */
static void
vcl_summary(const struct req_state *s, const char **band, int *rmg)
{
	struct mash_vcl_assessment a[64];
	struct mash_vcl_register reg;
	uint32_t max = 0, m;
	size_t i, j, na = 0;
	int any = 0;

	*band = "";
	*rmg = 0;
	for (i = 0; i < s->n_items; i++) {
		const struct pic_item *it = &s->items[i];

		if (!it->shown || !((it->d.shared >> MASH_POL_F_VCL) & 1u) ||
		    it->ev->n_vcl == 0)
			continue;
		any = 1;
		m = 0;
		for (j = 0; j < it->ev->n_vcl; j++)
			if (it->ev->vcl[j] != NULL && it->ev->vcl[j]->score > m)
				m = it->ev->vcl[j]->score;
		if (m > max)
			max = m;
		if (na < sizeof(a) / sizeof(a[0])) {
			a[na].at_ms = it->ev->occurred_at;
			a[na].band = mash_vcl_band_from_max(m);
			na++;
		}
	}
	if (!any)
		return;
	*band = mash_vcl_band_name(mash_vcl_band_from_max(max));
	if (mash_vcl_register_status(a, na, &reg) == MASH_OK)
		*rmg = reg.on_register;
}

static void
subject_for(const struct req_state *s, uint64_t shared, Mash__V1__Subject *subj)
{
	const struct mash_store_case *c = s->kase;

	mash__v1__subject__init(subj);
	if ((shared >> MASH_POL_F_NHS_NUMBER) & 1u && c->nhs_number)
		subj->nhs_number = c->nhs_number;
	if ((shared >> MASH_POL_F_GIVEN_NAME) & 1u && c->given_name)
		subj->given_name = c->given_name;
	if ((shared >> MASH_POL_F_FAMILY_NAME) & 1u && c->family_name)
		subj->family_name = c->family_name;
	if ((shared >> MASH_POL_F_DATE_OF_BIRTH) & 1u && c->date_of_birth)
		subj->date_of_birth = c->date_of_birth;
	if ((shared >> MASH_POL_F_POSTCODE) & 1u && c->postcode)
		subj->postcode = c->postcode;
	if ((shared >> MASH_POL_F_SEX) & 1u && c->sex)
		subj->sex = c->sex;
}

/*
 * Whether the requester is shown the open trigger: the people it is
 * delivered to anyway (its required attendee roles, s47-triggers.md "Who
 * is told"), the MASH team that triages, and auditors.
 */
static int
trigger_visible(const struct req_state *s)
{
	static const char *const always[] = {"mash-analyst", "mash-manager",
	                                     MASHD_PICTURE_AUDITOR_ROLE};
	size_t i;

	if (!s->trig.open)
		return 0;
	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (mash_streq(s->who.role, always[i]))
			return 1;
	for (i = 0; i < s->trig.msg.n_required_attendees; i++)
		if (mash_streq(s->who.role, s->trig.msg.required_attendees[i]))
			return 1;
	return 0;
}

/* The reason as the requester may read it (issue 26): a piece about an
 * agency whose record they do not see becomes "that agency contributed"
 * or is left out (daemon/trigger_view.h). On any failure they are told
 * that a discussion is required, not why. */
static void
filter_trigger_reason(const struct mashd_picture_env *env, struct req_state *s)
{
	int keep[MASH_S47_MAX_CONTRIB];

	if (env->sees == NULL)
		return;
	if (mashd_trigger_view_for(env->s47, &s->trig.raw, s->kase->case_id,
	                           s->who.principal, env->sees, env->sees_ctx,
	                           s->trig_reason, sizeof(s->trig_reason),
	                           keep) != MASH_OK)
		(void)mash_strlcpy(s->trig_reason,
		                   "A strategy discussion is required.",
		                   sizeof(s->trig_reason));
	s->trig.msg.reason = s->trig_reason;
}

/* Keep only the contributing events whose records the requester sees. */
static void
filter_trigger_events(struct req_state *s)
{
	size_t i, j, keep = 0;
	char ref[MASH_MAX_AGENCY + MASH_MAX_ID + 2];
	int seen;

	for (i = 0; i < s->trig.msg.n_contributing_events; i++) {
		seen = 0;
		for (j = 0; j < s->n_items && !seen; j++) {
			if (!s->items[j].shown)
				continue;
			if (mash_snprintf(ref, sizeof(ref), "%s/%s",
			                  s->items[j].row->agency,
			                  s->items[j].row->event_id) != MASH_OK)
				continue;
			seen = strcmp(ref,
			              s->trig.msg.contributing_events[i]) == 0;
		}
		if (seen)
			s->trig.msg.contributing_events[keep++] =
			    s->trig.msg.contributing_events[i];
	}
	s->trig.msg.n_contributing_events = keep;
}

/* ------------------------------------------------------------------ */
/* Audit and answer                                                     */

static int
audit_append(const struct mashd_picture_env *env,
             const struct mash_aud_record *r, uint64_t *seq)
{
	int rc;

	rc = mash_aud_append(env->aud, r, seq);
	if (rc != MASH_OK)
		mash_err("picture: audit append %s failed: %s",
		         mash_aud_type_name(r->type), mash_errname(rc));
	return rc;
}

/* Add id to the set ids[0..*n) (at most 16; later ones are dropped). */
static void
add_rule(const char *ids[16], size_t *n, const char *id)
{
	size_t i;

	if (id == NULL)
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(ids[i], id) == 0)
			return;
	if (*n < 16)
		ids[(*n)++] = id;
}

/* msg sealed to the principal of topic (crypto/inbox.h) into *buf. A
 * principal without an encryption key gets nothing of a case: a Picture
 * becomes a clear refusal that names only what the request itself gave
 * (issue 25: no clear fallback); anything else is not sent. */
static int
seal_for(const struct mashd_picture_env *env, const ProtobufCMessage *m,
         const char *topic, uint8_t **buf, size_t *len)
{
	const char *who = topic + strlen(MASHD_INBOX_PREFIX);
	struct mash_dir_entry e;
	Mash__V1__Picture den;
	uint8_t *clear = NULL;
	size_t n = 0;
	int rc;

	if (strncmp(topic, MASHD_INBOX_PREFIX, strlen(MASHD_INBOX_PREFIX)) != 0)
		return MASH_ERR_INTERNAL;
	if (env->dir == NULL || mash_dir_lookup(env->dir, who, &e) != MASH_OK ||
	    e.enc_pub == NULL) {
		const Mash__V1__Picture *pm = (const Mash__V1__Picture *)m;

		if (m->descriptor != &mash__v1__picture__descriptor) {
			mash_warn("picture: %s for %s not sent: no encryption "
			          "key in the directory",
			          m->descriptor->name, who);
			return MASH_ERR_NO_ENC_KEY;
		}
		/* A refusal holds only what the request gave: sent as is. */
		if (pm->denied_reason != NULL && pm->denied_reason[0] != '\0' &&
		    pm->n_records == 0 && pm->subject == NULL)
			return mash_env_seal_msg(env->key, env->signer,
			                         env->key_id, m, buf, len);
		mash_warn("picture: answer for %s refused: no encryption key "
		          "in the directory",
		          who);
		mash__v1__picture__init(&den);
		den.case_id = ((const Mash__V1__Picture *)m)->case_id;
		den.audit_seq = ((const Mash__V1__Picture *)m)->audit_seq;
		den.denied_reason = "no encryption key for you in the hub's "
		                    "directory: nothing can be sent to you "
		                    "sealed; ask the hub's administrator";
		return mash_env_seal_msg(env->key, env->signer, env->key_id,
		                         &den.base, buf, len);
	}
	n = protobuf_c_message_get_packed_size(m);
	if (n > MASH_MAX_PAYLOAD)
		return MASH_ERR_TOO_BIG;
	clear = mash_malloc(n > 0 ? n : 1);
	if (clear == NULL)
		return MASH_ERR_NOMEM;
	(void)protobuf_c_message_pack(m, clear);
	rc = mash_inbox_seal(env->key, env->signer, env->key_id, who, e.enc_pub,
	                     m->descriptor->name, clear, n, buf, len);
	mash_free_secret(clear, n);
	return rc;
}

/* Seal msg to topic's principal, sign it as mashd and publish it on topic
 * with correlation echoed. */
static int
send_signed(const struct mashd_picture_env *env, const ProtobufCMessage *m,
            const char *topic, const struct mash_mq_msg *req)
{
	struct mash_mq_props props;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = seal_for(env, m, topic, &buf, &len);
	if (rc != MASH_OK) {
		mash_err("picture: cannot seal the answer: %s",
		         mash_errname(rc));
		goto out;
	}
	memset(&props, 0, sizeof(props));
	if (req != NULL && req->correlation != NULL) {
		props.correlation = req->correlation;
		props.correlation_len = req->correlation_len;
	}
	rc = env->publish(env->publish_ctx, topic, buf, len, &props);
	if (rc != MASH_OK)
		mash_err("picture: publish to %s failed: %s", topic,
		         mash_errname(rc));
out:
	if (buf != NULL)
		mash_free_secret(buf, len);
	return rc;
}

/* Audit a refusal (committed on its own) and answer it on the
 * requester's own inbox when the requester is known. */
static int
handle_denied(const struct mashd_picture_env *env,
              const struct mash_mq_msg *msg, struct req_state *s,
              struct mashd_picture_outcome *out)
{
	struct mash_aud_record ar;
	Mash__V1__Picture pic;
	char extra[128];
	uint64_t seq = 0;
	int rc;

	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_PICTURE_DENIED;
	ar.actor = s->opened->signer;
	ar.recipient = s->opened->signer;
	ar.case_id = s->kase != NULL ? s->kase->case_id : NULL;
	ar.purpose = s->req->purpose;
	ar.rule_id = s->deny_rule;
	ar.reason = s->denied;
	(void)mash_snprintf(
	    extra, sizeof(extra), "{\"error\":\"%s\",\"break_glass\":%s}",
	    mash_errname(s->deny_err),
	    nonempty(s->req->break_glass_reason) ? "true" : "false");
	ar.extra_json = extra;
	rc = mash_store_begin(env->store);
	if (rc == MASH_OK)
		rc = audit_append(env, &ar, &seq);
	if (rc == MASH_OK)
		rc = mash_store_commit(env->store);
	else if (mash_store_in_tx(env->store))
		(void)mash_store_rollback(env->store);
	if (rc != MASH_OK) {
		rc = MASH_ERR_STORE; /* no answer without its audit record */
		goto out;
	}
	out->audit_seq = seq;
	out->err = s->deny_err;
	mash_info("picture: denied %s (%s) seq %" PRIu64, s->opened->signer,
	          mash_errname(s->deny_err), seq);

	mash__v1__picture__init(&pic);
	pic.case_id =
	    nonempty(s->req->case_id) &&
	            mash_str_check(s->req->case_id, MASH_MAX_ID) == MASH_OK
	        ? s->req->case_id
	        : "";
	pic.denied_reason = s->denied;
	pic.audit_seq = seq;
	pic.break_glass_available =
	    s->who_known && mash_pol_break_glass_allowed(env->pol, s->who.role);
	rc = send_signed(env, &pic.base, s->inbox, msg);
	if (rc == MASH_OK)
		out->answered = 1;
out:
	return rc;
}

/* A request that does not verify: audited, never answered. */
static int
handle_unverified(const struct mashd_picture_env *env, int err, const char *why,
                  struct mashd_picture_outcome *out)
{
	struct mash_aud_record ar;
	char extra[96];
	uint64_t seq = 0;
	int rc;

	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_PICTURE_DENIED;
	ar.actor = "mashd";
	ar.reason = why;
	(void)mash_snprintf(extra, sizeof(extra),
	                    "{\"error\":\"%s\",\"verified\":false}",
	                    mash_errname(err));
	ar.extra_json = extra;
	rc = mash_store_begin(env->store);
	if (rc == MASH_OK)
		rc = audit_append(env, &ar, &seq);
	if (rc == MASH_OK)
		rc = mash_store_commit(env->store);
	else if (mash_store_in_tx(env->store))
		(void)mash_store_rollback(env->store);
	out->audit_seq = seq;
	out->err = err;
	mash_warn("picture: unverified request refused (%s)",
	          mash_errname(err));
	return rc == MASH_OK ? MASH_OK : MASH_ERR_STORE;
}

/*
 * The notification an auditor receives about a break-glass override: a
 * SharedRecord with the who, why and under which purpose, flagged
 * "break-glass" (sharing-policy.md rule 8). It names no child's details.
 */
static void
notice_init(Mash__V1__SharedRecord *n, Mash__V1__SharedRecord__FieldsEntry *fe,
            Mash__V1__SharedRecord__FieldsEntry **fep, char **flags,
            const struct req_state *s, const char *records, int64_t now,
            uint64_t seq)
{
	mash__v1__shared_record__init(n);
	n->case_id = s->kase->case_id;
	n->event_id = "";
	n->agency = (char *)s->who.agency;
	n->occurred_at = now;
	mash__v1__shared_record__fields_entry__init(&fe[0]);
	fe[0].key = "break_glass.principal";
	fe[0].value = (char *)s->who.principal;
	mash__v1__shared_record__fields_entry__init(&fe[1]);
	fe[1].key = "break_glass.role";
	fe[1].value = (char *)s->who.role;
	mash__v1__shared_record__fields_entry__init(&fe[2]);
	fe[2].key = "break_glass.purpose";
	fe[2].value = s->req->purpose;
	mash__v1__shared_record__fields_entry__init(&fe[3]);
	fe[3].key = "break_glass.reason";
	fe[3].value = s->req->break_glass_reason;
	mash__v1__shared_record__fields_entry__init(&fe[4]);
	fe[4].key = "break_glass.records_shown";
	fe[4].value = (char *)records;
	for (int i = 0; i < 5; i++)
		fep[i] = &fe[i];
	n->n_fields = 5;
	n->fields = fep;
	n->rule_id = "break-glass";
	n->legal_basis = "";
	n->purpose = "audit";
	n->reason = "A picture was shown by break-glass override; reported to "
	            "the auditor role (sharing-policy.md rule 8).";
	flags[0] = "break-glass";
	n->n_flags = 1;
	n->flags = flags;
	n->audit_seq = seq;
}

/* Auditors whose break-glass notification's DELIVERY is recorded. */
#define NOTICE_MAX 16

/* The DELIVERY record of a notification the broker acknowledged (issue
 * 31), in a transaction of its own: the picture's has committed. A
 * failure is logged; the DELIVERY_QUEUED record stands. */
static int
ack_notice(const struct mashd_picture_env *env, const char *principal,
           uint64_t queued)
{
	struct mash_aud_record ar;
	char extra[64];
	int rc;

	(void)mash_snprintf(extra, sizeof(extra), "{\"queued\":[%llu]}",
	                    (unsigned long long)queued);
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_DELIVERY;
	ar.actor = env->signer;
	ar.recipient = principal;
	ar.extra_json = extra;
	rc = mash_store_begin(env->store);
	if (rc == MASH_OK)
		rc = audit_append(env, &ar, NULL);
	if (rc == MASH_OK)
		rc = mash_store_commit(env->store);
	else if (mash_store_in_tx(env->store))
		(void)mash_store_rollback(env->store);
	if (rc != MASH_OK)
		mash_warn("picture: DELIVERY of notification %llu to %s not "
		          "recorded (%s)",
		          (unsigned long long)queued, principal,
		          mash_errname(rc));
	return rc;
}

static int
handle_granted(const struct mashd_picture_env *env,
               const struct mash_mq_msg *msg, struct req_state *s,
               struct mashd_picture_outcome *out)
{
	const char *shared_names[MASH_POL_F_COUNT];
	const char *withheld_names[MASH_POL_F_COUNT];
	const char *rec_shared[MASH_POL_F_COUNT];
	const char *rec_withheld[MASH_POL_F_COUNT];
	const char *rule_ids[16];
	const char *band = "";
	struct mash_aud_record ar;
	struct mashd_by_rule by;
	struct mash_dir_entry de;
	Mash__V1__Picture pic;
	Mash__V1__Subject subj;
	Mash__V1__StrategyDiscussionTrigger *trigp[1];
	Mash__V1__SharedRecord notice;
	Mash__V1__SharedRecord__FieldsEntry nfe[5];
	Mash__V1__SharedRecord__FieldsEntry *nfep[5];
	char *nflags[1];
	char reason[MASH_AUD_MAX_REASON + 1];
	char extra[MASH_AUD_MAX_EXTRA];
	char nrec[24];
	char topic[MASH_MAX_TOPIC + 1];
	uint64_t shared, withheld, seq = 0, bg_seq = 0, nseq[NOTICE_MAX];
	size_t i, k, n_rules = 0, n_sh, n_wh, pos, n_nseq = 0, k_nseq = 0;
	int bg_used, rmg = 0, rc;
	int64_t now;

	unions(s, &shared, &withheld, &bg_used);
	vcl_summary(s, &band, &rmg);

	rc = mash_store_begin(env->store);
	if (rc != MASH_OK) {
		rc = MASH_ERR_STORE;
		goto out;
	}
	/* One DECISION record per record shown: who saw which fields of
	 * which event, under which rule and legal basis. */
	k = 0;
	for (i = 0; i < s->n_items; i++) {
		const struct pic_item *it = &s->items[i];

		if (!it->shown)
			continue;
		memset(&ar, 0, sizeof(ar));
		ar.type = MASH_AUD_DECISION;
		ar.actor = env->signer;
		ar.case_id = s->kase->case_id;
		ar.agency = it->row->agency;
		ar.event_id = it->row->event_id;
		ar.recipient = s->who.principal;
		ar.purpose = s->req->purpose;
		ar.rule_id = it->d.rule_id;
		ar.legal_basis = it->d.legal_basis;
		ar.n_shared = mash_pol_field_names(it->d.shared, rec_shared,
		                                   MASH_POL_F_COUNT);
		ar.shared = rec_shared;
		ar.n_withheld = mash_pol_field_names(
		    it->d.withheld, rec_withheld, MASH_POL_F_COUNT);
		ar.withheld = rec_withheld;
		clip(reason, sizeof(reason),
		     it->by_break_glass ? "picture (break-glass)" : "picture");
		ar.reason = reason;
		mashd_decision_by_rule(env->pol, &it->d, &by);
		ar.by_rule = by.g;
		ar.n_by_rule = by.n;
		rc = audit_append(env, &ar, &s->recs[k].audit_seq);
		if (rc != MASH_OK)
			goto out;
		k++;
		add_rule(rule_ids, &n_rules, it->d.rule_id);
	}
	now = mash_clock_now(env->clock != NULL ? env->clock
	                                        : mash_clock_system());
	if (bg_used) {
		memset(&ar, 0, sizeof(ar));
		ar.type = MASH_AUD_BREAK_GLASS;
		ar.actor = s->who.principal;
		ar.recipient = s->who.principal;
		ar.case_id = s->kase->case_id;
		ar.purpose = s->req->purpose;
		clip(reason, sizeof(reason), s->req->break_glass_reason);
		ar.reason = reason;
		rc = audit_append(env, &ar, &bg_seq);
		if (rc != MASH_OK)
			goto out;
	}
	if (s->bg_refused[0] != '\0') {
		memset(&ar, 0, sizeof(ar));
		ar.type = MASH_AUD_BREAK_GLASS_REFUSED;
		ar.actor = s->who.principal;
		ar.recipient = s->who.principal;
		ar.case_id = s->kase->case_id;
		ar.purpose = s->req->purpose;
		ar.rule_id = "r8-break-glass-roles";
		clip(reason, sizeof(reason), s->req->break_glass_reason);
		ar.reason = reason;
		rc = audit_append(env, &ar, NULL);
		if (rc != MASH_OK)
			goto out;
	}
	/* The access itself, with the rule ids in force. */
	pos = 0;
	extra[0] = '\0';
	(void)mash_snprintf(extra, sizeof(extra),
	                    "{\"records\":%zu,"
	                    "\"break_glass\":%s,\"rules\":[",
	                    s->n_recs, bg_used ? "true" : "false");
	pos = strlen(extra);
	for (i = 0; i < n_rules; i++) {
		if (mash_snprintf(extra + pos, sizeof(extra) - pos, "%s\"%s\"",
		                  i ? "," : "", rule_ids[i]) != MASH_OK)
			break;
		pos = strlen(extra);
	}
	if (mash_snprintf(extra + pos, sizeof(extra) - pos, "]}") != MASH_OK)
		(void)mash_snprintf(extra, sizeof(extra),
		                    "{\"records\":%zu,\"break_glass\":%s}",
		                    s->n_recs, bg_used ? "true" : "false");
	n_sh = mash_pol_field_names(shared, shared_names, MASH_POL_F_COUNT);
	n_wh = mash_pol_field_names(withheld, withheld_names, MASH_POL_F_COUNT);
	memset(&ar, 0, sizeof(ar));
	ar.type = MASH_AUD_PICTURE_GRANTED;
	ar.actor = s->who.principal;
	ar.recipient = s->who.principal;
	ar.case_id = s->kase->case_id;
	ar.purpose = s->req->purpose;
	ar.rule_id = n_rules > 0 ? rule_ids[0] : NULL;
	ar.shared = shared_names;
	ar.n_shared = n_sh;
	ar.withheld = withheld_names;
	ar.n_withheld = n_wh;
	ar.extra_json = extra;
	rc = audit_append(env, &ar, &seq);
	if (rc != MASH_OK)
		goto out;
	/* Each notification to an auditor is a delivery, audited. */
	if (bg_used) {
		for (i = 0; i < mash_dir_count(env->dir); i++) {
			if (mash_dir_get(env->dir, i, &de) != MASH_OK ||
			    !mash_streq(de.role, MASHD_PICTURE_AUDITOR_ROLE))
				continue;
			memset(&ar, 0, sizeof(ar));
			ar.type = MASH_AUD_DELIVERY_QUEUED;
			ar.actor = env->signer;
			ar.recipient = de.principal;
			ar.case_id = s->kase->case_id;
			ar.purpose = "audit";
			ar.rule_id = "break-glass";
			ar.reason = "break-glass notification";
			rc = audit_append(env, &ar,
			                  n_nseq < NOTICE_MAX ? &nseq[n_nseq]
			                                      : NULL);
			if (rc != MASH_OK)
				goto out;
			n_nseq += n_nseq < NOTICE_MAX;
		}
	}
	rc = mash_store_commit(env->store);
	if (rc != MASH_OK) {
		rc = MASH_ERR_STORE; /* rolled back by the store */
		goto out;
	}
	out->audit_seq = seq;
	out->granted = 1;
	out->break_glass = bg_used;
	out->n_records = s->n_recs;
	mash_info("picture: granted %s purpose %s case %s records %zu%s "
	          "seq %" PRIu64,
	          s->who.principal, s->req->purpose, s->kase->case_id,
	          s->n_recs, bg_used ? " BREAK-GLASS" : "", seq);

	/* The answer, published only now that its audit is on disk. */
	mash__v1__picture__init(&pic);
	pic.case_id = s->kase->case_id;
	subject_for(s, shared, &subj);
	pic.subject = &subj;
	pic.level = s->level;
	pic.n_agencies_involved = s->n_agencies;
	pic.agencies_involved = s->agencies;
	pic.n_records = s->n_recs;
	pic.records = s->recp;
	if (trigger_visible(s)) {
		filter_trigger_events(s);
		filter_trigger_reason(env, s);
		trigp[0] = &s->trig.msg;
		pic.n_open_triggers = 1;
		pic.open_triggers = trigp;
	}
	pic.vcl_band = (char *)band;
	pic.rmg_register = rmg;
	pic.audit_seq = seq;
	pic.break_glass = bg_used;
	if (s->bg_refused[0] != '\0')
		pic.break_glass_refused = s->bg_refused;
	pic.break_glass_available =
	    mash_pol_break_glass_allowed(env->pol, s->who.role);
	rc = send_signed(env, &pic.base, s->inbox, msg);
	if (rc == MASH_OK)
		out->answered = 1;
	if (bg_used) {
		(void)mash_snprintf(nrec, sizeof(nrec), "%zu", s->n_recs);
		notice_init(&notice, nfe, nfep, nflags, s, nrec, now, bg_seq);
		for (i = 0; i < mash_dir_count(env->dir); i++) {
			if (mash_dir_get(env->dir, i, &de) != MASH_OK ||
			    !mash_streq(de.role, MASHD_PICTURE_AUDITOR_ROLE))
				continue;
			k = k_nseq++; /* this auditor's DELIVERY_QUEUED */
			if (mash_snprintf(topic, sizeof(topic), "%s%s",
			                  MASHD_INBOX_PREFIX,
			                  de.principal) != MASH_OK)
				continue;
			if (send_signed(env, &notice.base, topic, NULL) !=
			    MASH_OK)
				continue;
			out->n_notified++;
			/* The broker has it: DELIVERY (issue 31). */
			if (k < n_nseq)
				(void)ack_notice(env, de.principal, nseq[k]);
		}
	}
out:
	/* A failure inside the transaction: nothing of it is kept, nothing
	 * was published. */
	if (mash_store_in_tx(env->store)) {
		(void)mash_store_rollback(env->store);
		rc = MASH_ERR_STORE;
	}
	return rc;
}

/* Drop the oldest records until the Picture fits in one envelope. */
static void
fit_envelope(struct req_state *s)
{
	Mash__V1__Picture pic;
	size_t drop = 0, i;

	mash__v1__picture__init(&pic);
	pic.n_records = s->n_recs;
	pic.records = s->recp;
	while (pic.n_records > 0 &&
	       mash__v1__picture__get_packed_size(&pic) + 8192u >
	           MASH_MAX_PAYLOAD) {
		pic.records++;
		pic.n_records--;
		drop++;
	}
	if (drop == 0)
		return;
	mash_warn("picture: case %s: %zu oldest records left out to fit one "
	          "envelope",
	          s->kase->case_id, drop);
	for (i = 0; i < s->n_items && drop > 0; i++) {
		if (s->items[i].shown) {
			s->items[i].shown = 0;
			drop--;
		}
	}
	drop = s->n_recs - pic.n_records;
	for (i = 0; i < drop; i++)
		mash_pol_record_clear(&s->recs[i]);
	memmove(s->recs, s->recs + drop, pic.n_records * sizeof(*s->recs));
	s->n_recs = pic.n_records;
	for (i = 0; i < s->n_recs; i++)
		s->recp[i] = &s->recs[i];
}

int
mashd_picture_mq_publish(void *ctx, const char *topic, const uint8_t *buf,
                         size_t len, const struct mash_mq_props *props)
{
	return mash_mq_publish(ctx, topic, buf, len, 0, props,
	                       MASHD_PICTURE_PUBLISH_MS);
}

int
mashd_handle_picture(const struct mashd_picture_env *env,
                     const struct mash_mq_msg *msg,
                     struct mashd_picture_outcome *outp)
{
	struct mashd_picture_outcome dummy;
	struct mashd_picture_outcome *out = outp != NULL ? outp : &dummy;
	struct req_state s;
	char why[MASH_ENV_WHY_LEN];
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	if (env == NULL || msg == NULL || env->publish == NULL ||
	    env->store == NULL || env->aud == NULL || env->key == NULL ||
	    env->trust == NULL || env->signer == NULL || env->key_id == NULL)
		return MASH_ERR_INVAL;

	why[0] = '\0';
	rc = open_request(env, msg, &s, why, sizeof(why));
	if (rc != MASH_OK && s.opened == NULL) {
		rc = handle_unverified(env, rc, why, out);
		goto out;
	}
	(void)mash_strlcpy(out->principal, s.opened->signer,
	                   sizeof(out->principal));
	if (mash_snprintf(s.inbox, sizeof(s.inbox), "%s%s", MASHD_INBOX_PREFIX,
	                  s.opened->signer) != MASH_OK) {
		rc = MASH_ERR_INTERNAL; /* signer ids are <= 64 bytes */
		goto out;
	}
	if (rc != MASH_OK) {
		/* Verified but not a usable PictureRequest. */
		rc = handle_unverified(env, rc, why, out);
		goto out;
	}
	rc = check_request(env, msg, &s);
	if (rc == MASH_OK)
		rc = find_case(env, &s);
	if (rc == MASH_OK) {
		(void)mash_strlcpy(out->case_id, s.kase->case_id,
		                   sizeof(out->case_id));
		rc = mash_store_case_events(env->store, s.kase->case_id,
		                            &s.events);
	}
	if (rc == MASH_OK)
		rc = mashd_picture_triggers_load(env->store, s.kase->case_id,
		                                 &s.trig);
	if (rc == MASH_OK)
		rc = decide_all(env, &s);
	if (rc == MASH_OK)
		rc = build_records(env, &s);
	if (rc == MASH_OK && s.n_recs > 0)
		rc = mashd_picture_delivery(env->store, s.kase->case_id,
		                            s.who.principal, s.recs, s.n_recs);
	if (rc == MASH_OK && s.n_recs == 0) {
		const char *r = NULL;

		for (i = 0; i < s.n_items && r == NULL; i++)
			r = s.items[i].d.rule_id;
		s.deny_rule = r;
		deny(&s, MASH_ERR_DENIED,
		     "no rule grants role %s purpose %s any record of this "
		     "case%s (%s)",
		     s.who.role, s.req->purpose,
		     nonempty(s.req->break_glass_reason)
		         ? ", break-glass included"
		         : "",
		     r != NULL ? r : "no events");
		rc = MASH_ERR_DENIED;
	}
	if (rc == MASH_ERR_DENIED) {
		rc = handle_denied(env, msg, &s, out);
		goto out;
	}
	if (rc != MASH_OK) {
		mash_err("picture: request from %s failed: %s",
		         s.opened->signer, mash_errname(rc));
		goto out;
	}
	fit_envelope(&s);
	rc = handle_granted(env, msg, &s, out);
out:
	req_state_clear(&s);
	return rc;
}

/* Publish through the daemon's adapter with its configured timeout. */
static int
mashd_picture_publish(void *ctx, const char *topic, const uint8_t *buf,
                      size_t len, const struct mash_mq_props *props)
{
	struct mashd *d = ctx;

	return mash_mq_publish(d->mq, topic, buf, len, 0, props,
	                       (int)d->cfg.mqtt_publish_timeout_ms);
}

int
mashd_handle_picture_msg(struct mashd *d, const struct mash_mq_msg *msg)
{
	struct mashd_picture_env env;
	struct mashd_picture_outcome out;
	int rc;

	memset(&env, 0, sizeof(env));
	env.store = d->store;
	env.aud = d->aud;
	env.pol = d->policy;
	env.dir = d->directory;
	env.trust = d->trust;
	env.key = d->key;
	env.signer = d->signer;
	env.key_id = d->key_id;
	env.clock = &d->clock;
	env.publish = mashd_picture_publish;
	env.publish_ctx = d;
	env.s47 = d->s47;
	env.sees = mashd_trigger_sees;
	env.sees_ctx = d;
	rc = mashd_handle_picture(&env, msg, &out);
	if (rc != MASH_OK) {
		d->stats.internal_errors++;
		mash_err("picture: request from %s not completed: %s",
		         out.principal[0] ? out.principal : "(unverified)",
		         mash_errname(rc));
	}
	return rc;
}
