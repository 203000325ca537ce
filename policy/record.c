/*
 * record.c - build what one recipient receives about one event: a
 * SharedRecord with only the granted fields (rendered as text, by field
 * name) and the names of the withheld ones. Daemon delivery and the
 * analyst's picture both call mash_pol_record_build(), so there is one
 * implementation of "what leaves the hub" (necessary and proportionate,
 * Working Together 2013 ch.3 para 21).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "policy/pol.h"

#define FBIT(f) ((uint64_t)1 << (f))
/* A rendered value never exceeds this (a summary is at most 8 KiB; lists
 * of related people are bounded by MASH_MAX_REPEATED). */
#define MAX_VALUE (64u * 1024u)

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	int err;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err != MASH_OK)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = MASH_ERR_INVAL;
		return;
	}
	if (b->len + (size_t)n + 1 > MAX_VALUE) {
		b->err = MASH_ERR_FIELD_TOO_LONG;
		return;
	}
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 128 : b->cap;
		char *np;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		np = mash_realloc(b->p, cap);
		if (np == NULL) {
			b->err = MASH_ERR_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append s (a plain string: most values) without printf. */
static void
sb_puts(struct sbuf *b, const char *s)
{
	size_t n;

	if (b->err != MASH_OK)
		return;
	n = strlen(s);
	if (b->len + n + 1 > MAX_VALUE) {
		b->err = MASH_ERR_FIELD_TOO_LONG;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 128 : b->cap;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = mash_realloc(b->p, cap);
		if (np == NULL) {
			b->err = MASH_ERR_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

static const char *
enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev =
	    protobuf_c_enum_descriptor_get_value(d, v);

	return ev != NULL ? ev->name : "UNKNOWN";
}

static void
render_time(struct sbuf *b, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		sb_printf(b, "%" PRId64, ms);
		return;
	}
	sb_puts(b, buf);
}

static void
render_strings(struct sbuf *b, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%s%s", i > 0 ? "; " : "", nz(v[i]));
}

/* Render field f of ev into b. */
static void
render(struct sbuf *b, const Mash__V1__AgencyEvent *ev, unsigned f,
       const char *signpost_contact)
{
	const Mash__V1__Subject *s = ev->subject;
	const Mash__V1__Handling *h = ev->handling;
	const Mash__V1__PoliceDetail *po = ev->police;
	const Mash__V1__HealthDetail *he = ev->health;
	const Mash__V1__EducationDetail *ed = ev->education;
	const Mash__V1__YotDetail *yo = ev->yot;
	const Mash__V1__HousingDetail *ho = ev->housing;
	const Mash__V1__SocialCareDetail *sc = ev->social_care;
	int pd = ev->detail_case == MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	int hd = ev->detail_case == MASH__V1__AGENCY_EVENT__DETAIL_HEALTH;
	int edd = ev->detail_case == MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION;
	int yd = ev->detail_case == MASH__V1__AGENCY_EVENT__DETAIL_YOT;
	int hod = ev->detail_case == MASH__V1__AGENCY_EVENT__DETAIL_HOUSING;
	int sd = ev->detail_case == MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE;

	switch ((enum mash_pol_field)f) {
	case MASH_POL_F_SIGNPOST:
		/* ContactPoint's successor (seed 002_*.txt 4.6): *that* an
		 * agency works with the child and how to reach it, not what
		 * it knows. */
		if (signpost_contact != NULL && signpost_contact[0] != '\0')
			sb_printf(b,
			          "%s is involved with this child; contact: %s",
			          nz(ev->agency), signpost_contact);
		else
			sb_printf(b, "%s is involved with this child",
			          nz(ev->agency));
		break;
	case MASH_POL_F_LEAD:
		sb_puts(b, "social-care");
		break;
	case MASH_POL_F_GIVEN_NAME:
		sb_puts(b, s ? nz(s->given_name) : "");
		break;
	case MASH_POL_F_FAMILY_NAME:
		sb_puts(b, s ? nz(s->family_name) : "");
		break;
	case MASH_POL_F_DATE_OF_BIRTH:
		sb_puts(b, s ? nz(s->date_of_birth) : "");
		break;
	case MASH_POL_F_NHS_NUMBER:
		sb_puts(b, s ? nz(s->nhs_number) : "");
		break;
	case MASH_POL_F_POSTCODE:
		sb_puts(b, s ? nz(s->postcode) : "");
		break;
	case MASH_POL_F_SEX:
		sb_puts(b, s ? nz(s->sex) : "");
		break;
	case MASH_POL_F_CATEGORY:
		sb_puts(b, enum_name(&mash__v1__category__descriptor,
		                     (int)ev->category));
		break;
	case MASH_POL_F_SEVERITY:
		sb_printf(b, "%u", ev->severity);
		break;
	case MASH_POL_F_OCCURRED_AT:
		render_time(b, ev->occurred_at);
		break;
	case MASH_POL_F_CONSENT:
		sb_puts(b, enum_name(&mash__v1__consent__descriptor,
		                     (int)ev->consent));
		break;
	case MASH_POL_F_CLASSIFICATION:
		sb_puts(b, h ? nz(h->classification) : "");
		break;
	case MASH_POL_F_DO_NOT_DISCLOSE:
		sb_printf(b, "%s",
		          h && h->do_not_disclose_to_family ? "true" : "false");
		break;
	case MASH_POL_F_RESTRICT_TO:
		if (h != NULL)
			render_strings(b, h->restrict_to_agencies,
			               h->n_restrict_to_agencies);
		break;
	case MASH_POL_F_SUMMARY:
		sb_puts(b, nz(ev->summary));
		break;
	case MASH_POL_F_REPORTER:
		sb_puts(b, nz(ev->reporter));
		break;
	case MASH_POL_F_AGENCY_REF:
		sb_puts(b, nz(ev->agency_ref));
		break;
	case MASH_POL_F_POLICE_INCIDENT_REF:
		sb_puts(b, pd ? nz(po->incident_ref) : "");
		break;
	case MASH_POL_F_POLICE_INCIDENT_TYPE:
		sb_puts(b, pd ? nz(po->incident_type) : "");
		break;
	case MASH_POL_F_POLICE_DASH_RISK:
		sb_puts(b, pd ? nz(po->dash_risk) : "");
		break;
	case MASH_POL_F_POLICE_CHILDREN_PRESENT:
		sb_puts(b, pd && po->children_present ? "true" : "false");
		break;
	case MASH_POL_F_POLICE_OFFENCES:
		if (pd)
			render_strings(b, po->offences, po->n_offences);
		break;
	case MASH_POL_F_POLICE_INTELLIGENCE:
		sb_puts(b, pd ? nz(po->intelligence) : "");
		break;
	case MASH_POL_F_POLICE_OFFICER:
		sb_puts(b, pd ? nz(po->officer_in_case) : "");
		break;
	case MASH_POL_F_HEALTH_SETTING:
		sb_puts(b, hd ? nz(he->setting) : "");
		break;
	case MASH_POL_F_HEALTH_COMPLAINT:
		sb_puts(b, hd ? nz(he->presenting_complaint) : "");
		break;
	case MASH_POL_F_HEALTH_DIAGNOSIS:
		sb_puts(b, hd ? nz(he->diagnosis) : "");
		break;
	case MASH_POL_F_HEALTH_CLINICAL_NOTES:
		sb_puts(b, hd ? nz(he->clinical_notes) : "");
		break;
	case MASH_POL_F_HEALTH_EXPLANATION:
		sb_printf(b, "%s",
		          hd && he->explanation_consistent ? "true" : "false");
		break;
	case MASH_POL_F_HEALTH_ATTENDANCES:
		sb_printf(b, "%u", hd ? he->attendances_12m : 0u);
		break;
	case MASH_POL_F_HEALTH_NAMED_PRO:
		sb_puts(b, hd ? nz(he->named_professional) : "");
		break;
	case MASH_POL_F_EDU_URN:
		sb_puts(b, edd ? nz(ed->school_urn) : "");
		break;
	case MASH_POL_F_EDU_SCHOOL:
		sb_puts(b, edd ? nz(ed->school_name) : "");
		break;
	case MASH_POL_F_EDU_ATTENDANCE:
		sb_printf(b, "%u", edd ? ed->attendance_pct : 0u);
		break;
	case MASH_POL_F_EDU_EXCLUSION_TYPE:
		sb_puts(b, edd ? nz(ed->exclusion_type) : "");
		break;
	case MASH_POL_F_EDU_EXCLUSION_DAYS:
		sb_printf(b, "%u", edd ? ed->exclusion_days : 0u);
		break;
	case MASH_POL_F_EDU_YEAR_GROUP:
		sb_puts(b, edd ? nz(ed->year_group) : "");
		break;
	case MASH_POL_F_EDU_DSL:
		sb_puts(b, edd ? nz(ed->dsl_name) : "");
		break;
	case MASH_POL_F_YOT_ORDER:
		sb_puts(b, yd ? nz(yo->order_type) : "");
		break;
	case MASH_POL_F_YOT_OFFENCE:
		sb_puts(b, yd ? nz(yo->offence) : "");
		break;
	case MASH_POL_F_YOT_ASSET:
		sb_printf(b, "%u", yd ? yo->asset_score : 0u);
		break;
	case MASH_POL_F_YOT_WORKER:
		sb_puts(b, yd ? nz(yo->yot_worker) : "");
		break;
	case MASH_POL_F_YOT_COURT_DATE:
		sb_puts(b, yd ? nz(yo->next_court_date) : "");
		break;
	case MASH_POL_F_HOUSING_TENANCY:
		sb_puts(b, hod ? nz(ho->tenancy_status) : "");
		break;
	case MASH_POL_F_HOUSING_DUTY:
		sb_puts(b, hod ? nz(ho->homelessness_duty) : "");
		break;
	case MASH_POL_F_HOUSING_ACCOMMODATION:
		sb_puts(b, hod ? nz(ho->accommodation_type) : "");
		break;
	case MASH_POL_F_HOUSING_OVERCROWDED:
		sb_puts(b, hod && ho->overcrowded ? "true" : "false");
		break;
	case MASH_POL_F_HOUSING_LANDLORD:
		sb_puts(b, hod ? nz(ho->landlord_concern) : "");
		break;
	case MASH_POL_F_SC_DECISION:
		sb_puts(b, sd ? nz(sc->decision) : "");
		break;
	case MASH_POL_F_SC_TRIGGER:
		sb_puts(b, sd ? nz(sc->trigger_id) : "");
		break;
	case MASH_POL_F_SC_HELD_AT:
		if (sd)
			render_time(b, sc->held_at);
		break;
	case MASH_POL_F_SC_SOCIAL_WORKER:
		sb_puts(b, sd ? nz(sc->social_worker) : "");
		break;
	case MASH_POL_F_SC_OUTCOME:
		sb_puts(b, sd ? nz(sc->outcome) : "");
		break;
	case MASH_POL_F_RELATED:
		for (size_t i = 0; i < ev->n_related; i++) {
			const Mash__V1__RelatedPerson *rp = ev->related[i];

			if (rp == NULL)
				continue;
			sb_printf(b, "%s%s: %s %s", i > 0 ? "; " : "",
			          nz(rp->role), nz(rp->given_name),
			          nz(rp->family_name));
			if (rp->date_of_birth != NULL &&
			    rp->date_of_birth[0] != '\0')
				sb_printf(b, " (%s)", rp->date_of_birth);
		}
		break;
	case MASH_POL_F_VCL:
		for (size_t i = 0; i < ev->n_vcl; i++)
			if (ev->vcl[i] != NULL)
				sb_printf(b, "%s%s=%u", i > 0 ? "; " : "",
				          nz(ev->vcl[i]->factor),
				          ev->vcl[i]->score);
		break;
	case MASH_POL_F_VCL_EVIDENCE: {
		int first = 1;

		for (size_t i = 0; i < ev->n_vcl; i++) {
			if (ev->vcl[i] == NULL ||
			    ev->vcl[i]->evidence == NULL ||
			    ev->vcl[i]->evidence[0] == '\0')
				continue;
			sb_printf(b, "%s%s: %s", first ? "" : "; ",
			          nz(ev->vcl[i]->factor), ev->vcl[i]->evidence);
			first = 0;
		}
		break;
	}
	case MASH_POL_F_COUNT:
		break;
	}
}

static int
dup_into(char **dst, const char *src)
{
	*dst = mash_strdup(src != NULL ? src : "");
	return *dst != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

static void
free_pb_str(char *s)
{
	if (s != NULL && s != protobuf_c_empty_string)
		mash_free_str(s);
}

void
mash_pol_record_clear(Mash__V1__SharedRecord *rec)
{
	if (rec == NULL)
		return;
	free_pb_str(rec->case_id);
	free_pb_str(rec->event_id);
	free_pb_str(rec->agency);
	free_pb_str(rec->rule_id);
	free_pb_str(rec->legal_basis);
	free_pb_str(rec->purpose);
	free_pb_str(rec->reason);
	for (size_t i = 0; i < rec->n_fields; i++) {
		if (rec->fields[i] == NULL)
			continue;
		free_pb_str(rec->fields[i]->key);
		free_pb_str(rec->fields[i]->value);
		mash_free(rec->fields[i]);
	}
	mash_free(rec->fields);
	for (size_t i = 0; i < rec->n_withheld; i++)
		free_pb_str(rec->withheld[i]);
	mash_free(rec->withheld);
	for (size_t i = 0; i < rec->n_withheld_rules; i++)
		free_pb_str(rec->withheld_rules[i]);
	mash_free(rec->withheld_rules);
	mash_free(rec->withheld_rule);
	for (size_t i = 0; i < rec->n_flags; i++)
		free_pb_str(rec->flags[i]);
	mash_free(rec->flags);
	mash__v1__shared_record__init(rec);
}

/* Which rule withheld each withheld field (issue 26: the picture's
 * withheld markers name the rule): withheld_rules the distinct rules, in
 * the order of their first withheld field, and withheld_rule[i] the index
 * of withheld[i]'s. Compact on purpose: a few rule ids and a byte per
 * field, not a name per field, on every delivery. */
static int
withheld_by(const struct mash_pol_decision *d, Mash__V1__SharedRecord *rec)
{
	struct mash_pol_rule_group gr[MASH_POL_F_COUNT + 1];
	int slot[MASH_POL_F_COUNT + 1];
	size_t n, g, i = 0;

	if (rec->n_withheld == 0)
		return MASH_OK;
	n = mash_pol_decision_groups(d->pol, d, gr, MASH_POL_F_COUNT + 1);
	if (n > MASH_POL_F_COUNT + 1)
		return MASH_ERR_INTERNAL;
	rec->withheld_rules = mash_calloc(n == 0 ? 1 : n, sizeof(char *));
	rec->withheld_rule = mash_calloc(rec->n_withheld, sizeof(uint32_t));
	if (rec->withheld_rules == NULL || rec->withheld_rule == NULL)
		return MASH_ERR_NOMEM;
	for (g = 0; g < n; g++)
		slot[g] = -1;
	/* withheld[] is in catalogue order, as the loop below builds it. */
	for (unsigned f = 0; f < MASH_POL_F_COUNT; f++) {
		if ((d->withheld & FBIT(f)) == 0)
			continue;
		for (g = 0; g < n && (gr[g].fields & FBIT(f)) == 0; g++)
			;
		if (g == n || i >= rec->n_withheld)
			return MASH_ERR_INTERNAL;
		if (slot[g] < 0) {
			if (dup_into(
			        &rec->withheld_rules[rec->n_withheld_rules],
			        gr[g].rule_id) != MASH_OK)
				return MASH_ERR_NOMEM;
			slot[g] = (int)rec->n_withheld_rules++;
		}
		rec->withheld_rule[i++] = (uint32_t)slot[g];
	}
	rec->n_withheld_rule = i;
	return MASH_OK;
}

int
mash_pol_record_build(const Mash__V1__AgencyEvent *ev,
                      const struct mash_pol_decision *d, const char *case_id,
                      const char *signpost_contact, Mash__V1__SharedRecord *rec)
{
	int rc = MASH_ERR_INVAL;
	struct sbuf b = {0};
	size_t nf = 0, nw = 0, nfl = 0;

	if (rec == NULL)
		return MASH_ERR_INVAL;
	mash__v1__shared_record__init(rec);
	if (ev == NULL || d == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	if (dup_into(&rec->event_id, ev->event_id) != MASH_OK ||
	    dup_into(&rec->agency, ev->agency) != MASH_OK ||
	    dup_into(&rec->rule_id, d->rule_id) != MASH_OK ||
	    dup_into(&rec->legal_basis, d->legal_basis) != MASH_OK ||
	    dup_into(&rec->purpose, d->purpose) != MASH_OK ||
	    dup_into(&rec->reason, d->reason) != MASH_OK)
		goto out;
	if (case_id != NULL && dup_into(&rec->case_id, case_id) != MASH_OK)
		goto out;
	/* The typed top-level copies of concern fields only when granted:
	 * proto3 defaults (0) otherwise, so nothing leaks around the map. */
	if (d->shared & FBIT(MASH_POL_F_CATEGORY))
		rec->category = ev->category;
	if (d->shared & FBIT(MASH_POL_F_SEVERITY))
		rec->severity = ev->severity;
	if (d->shared & FBIT(MASH_POL_F_OCCURRED_AT))
		rec->occurred_at = ev->occurred_at;

	for (unsigned f = 0; f < MASH_POL_F_COUNT; f++) {
		if (d->shared & FBIT(f))
			nf++;
		if (d->withheld & FBIT(f))
			nw++;
	}
	for (unsigned i = 0; i < MASH_POL_FLAG_COUNT_; i++)
		if (d->flags & (1u << i))
			nfl++;
	rec->fields = mash_calloc(nf == 0 ? 1 : nf, sizeof(*rec->fields));
	rec->withheld = mash_calloc(nw == 0 ? 1 : nw, sizeof(*rec->withheld));
	rec->flags = mash_calloc(nfl == 0 ? 1 : nfl, sizeof(*rec->flags));
	if (rec->fields == NULL || rec->withheld == NULL || rec->flags == NULL)
		goto out;
	for (unsigned f = 0; f < MASH_POL_F_COUNT; f++) {
		Mash__V1__SharedRecord__FieldsEntry *e;

		if (d->withheld & FBIT(f)) {
			if (dup_into(&rec->withheld[rec->n_withheld],
			             mash_pol_field_name(f)) != MASH_OK)
				goto out;
			rec->n_withheld++;
		}
		if ((d->shared & FBIT(f)) == 0)
			continue;
		e = mash_malloc(sizeof(*e));
		if (e == NULL)
			goto out;
		mash__v1__shared_record__fields_entry__init(e);
		rec->fields[rec->n_fields++] = e;
		if (dup_into(&e->key, mash_pol_field_name(f)) != MASH_OK)
			goto out;
		b.len = 0;
		b.err = MASH_OK;
		sb_puts(&b, "");
		render(&b, ev, f, signpost_contact);
		if (b.err != MASH_OK) {
			rc = b.err;
			goto out;
		}
		if (dup_into(&e->value, b.p) != MASH_OK)
			goto out;
	}
	for (unsigned i = 0; i < MASH_POL_FLAG_COUNT_; i++) {
		if ((d->flags & (1u << i)) == 0)
			continue;
		if (dup_into(&rec->flags[rec->n_flags],
		             mash_pol_flag_name(1u << i)) != MASH_OK)
			goto out;
		rec->n_flags++;
	}
	rc = withheld_by(d, rec);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_OK;
out:
	if (b.p != NULL)
		mash_free_secret(b.p, b.cap);
	if (rc != MASH_OK)
		mash_pol_record_clear(rec);
	return rc;
}
