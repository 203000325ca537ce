/*
 * evt.c - AgencyEvent validation. Each rule cites where it comes from:
 * the wire contract (shared/spec/wire-contract.md), the NHS Data
 * Dictionary (NHS number Modulus 11), and the Northumberland risk matrix
 * in the Vulnerability Checklist (seed 003: severity and VCL scores 0-4).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/datetime.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "event/evt.h"

#define WIRE_MAX_DEPTH 16

static const char *const agencies[] = {
    "police", "health", "education", "yot", "housing", "social-care",
};

const char *
mash_evt_agency_name(size_t i)
{
	return i < sizeof(agencies) / sizeof(agencies[0]) ? agencies[i] : NULL;
}

int
mash_evt_agency_valid(const char *s)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof(agencies) / sizeof(agencies[0]); i++)
		if (strcmp(s, agencies[i]) == 0)
			return 1;
	return 0;
}

/* NHS Data Dictionary: weights 10..2 over the first nine digits; the
 * check digit is 11 - (sum mod 11), 11 means 0 and 10 means the number is
 * invalid. */
int
mash_evt_nhs_valid(const char *s)
{
	int sum = 0, check, i;

	if (s == NULL)
		return 0;
	for (i = 0; i < 10; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	if (s[10] != '\0')
		return 0;
	for (i = 0; i < 9; i++)
		sum += (s[i] - '0') * (10 - i);
	check = 11 - sum % 11;
	if (check == 11)
		check = 0;
	if (check == 10)
		return 0;
	return check == s[9] - '0';
}

int
mash_evt_date_parse(const char *s, struct mash_date *out)
{
	int64_t ms;
	int y, m, d;

	if (out == NULL)
		return MASH_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	/* Strict YYYY-MM-DD (common/datetime.h), in the years a child's or
	 * an event's date can have. */
	if (s == NULL ||
	    mash_dt_parse(s, strlen(s), MASH_DT_DATE, &ms, NULL) != MASH_OK)
		return MASH_ERR_BAD_DATE;
	mash_dt_ymd_from_day(mash_dt_utc_day(ms), &y, &m, &d);
	if (y < 1900 || y > 2999)
		return MASH_ERR_BAD_DATE;
	out->year = y;
	out->month = m;
	out->day = d;
	return MASH_OK;
}

int64_t
mash_evt_date_days(const struct mash_date *dt)
{
	return mash_dt_day_from_ymd(dt->year, dt->month, dt->day);
}

static int
norm(const char *in, char *out, size_t outsz, int postcode)
{
	size_t o = 0;
	int rc = MASH_OK;

	if (in == NULL || out == NULL || outsz == 0)
		return MASH_ERR_INVAL;
	for (; *in != '\0'; in++) {
		char c = *in;

		if (c >= 'A' && c <= 'Z')
			c = postcode ? c : (char)(c - 'A' + 'a');
		else if (c >= 'a' && c <= 'z')
			c = postcode ? (char)(c - 'a' + 'A') : c;
		else if (!(postcode && c >= '0' && c <= '9'))
			continue;
		if (o + 1 >= outsz) {
			rc = MASH_ERR_FIELD_TOO_LONG;
			break;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return rc;
}

int
mash_evt_norm_family(const char *in, char *out, size_t outsz)
{
	return norm(in, out, outsz, 0);
}

int
mash_evt_norm_postcode(const char *in, char *out, size_t outsz)
{
	return norm(in, out, outsz, 1);
}

const char *
mash_evt_category_name(int category)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(
	    &mash__v1__category__descriptor, category);
	return v == NULL ? NULL : v->name;
}

/* --- wire-level string check ------------------------------------------ */

static int
read_varint(const uint8_t *b, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift = 0;

	while (*pos < n && shift < 64) {
		uint8_t c = b[(*pos)++];

		r |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*v = r;
			return 1;
		}
		shift += 7;
	}
	return 0;
}

static int
wire_ok(const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t n,
        int depth)
{
	size_t pos = 0;

	if (depth > WIRE_MAX_DEPTH)
		return 0;
	while (pos < n) {
		const ProtobufCFieldDescriptor *f;
		uint64_t key, len, skip;

		if (!read_varint(b, n, &pos, &key))
			return 0;
		switch (key & 7) {
		case 0:
			if (!read_varint(b, n, &pos, &skip))
				return 0;
			continue;
		case 1:
			if (n - pos < 8)
				return 0;
			pos += 8;
			continue;
		case 5:
			if (n - pos < 4)
				return 0;
			pos += 4;
			continue;
		case 2:
			break;
		default:
			return 0;
		}
		if (!read_varint(b, n, &pos, &len) || len > n - pos)
			return 0;
		f = key >> 3 <= UINT32_MAX
		        ? protobuf_c_message_descriptor_get_field(
		              d, (unsigned)(key >> 3))
		        : NULL;
		if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING &&
		    !mash_utf8_valid((const char *)b + pos, (size_t)len))
			return 0;
		if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !wire_ok(f->descriptor, b + pos, (size_t)len, depth + 1))
			return 0;
		pos += (size_t)len;
	}
	return 1;
}

int
mash_evt_wire_strings_valid(const ProtobufCMessageDescriptor *desc,
                            const uint8_t *buf, size_t len)
{
	if (desc == NULL || (buf == NULL && len != 0))
		return 0;
	return wire_ok(desc, buf, len, 0);
}

int
mash_evt_decode(const uint8_t *buf, size_t len, Mash__V1__AgencyEvent **out,
                char *why, size_t whylen)
{
	Mash__V1__AgencyEvent *ev = NULL;
	int rc = MASH_ERR_INVAL;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (buf == NULL && len != 0)
		goto out;
	if (len > MASH_MAX_PAYLOAD) {
		rc = MASH_ERR_TOO_BIG;
		mash_why(why, whylen, "event: %zu bytes exceeds the maximum %u",
		         len, MASH_MAX_PAYLOAD);
		goto out;
	}
	ev = mash__v1__agency_event__unpack(mash_env_pb_allocator(), len, buf);
	if (ev == NULL) {
		rc = MASH_ERR_DECODE;
		mash_why(why, whylen,
		         "event: payload does not decode as "
		         "mash.v1.AgencyEvent (or out of memory)");
		goto out;
	}
	if (!wire_ok(&mash__v1__agency_event__descriptor, buf, len, 0)) {
		rc = MASH_ERR_BAD_UTF8;
		mash_why(why, whylen,
		         "event: a string field is not valid UTF-8 "
		         "or contains NUL");
		goto out;
	}
	*out = ev;
	ev = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_evt_free(ev);
	return rc;
}

void
mash_evt_free(Mash__V1__AgencyEvent *ev)
{
	if (ev != NULL)
		mash__v1__agency_event__free_unpacked(ev,
		                                      mash_env_pb_allocator());
}

/* --- validation ---------------------------------------------------------- */

/* A bounded UTF-8 string field; name is the field path for the reason. */
static int
str_field(const char *s, size_t max, const char *name, char *why, size_t whylen)
{
	int rc = mash_str_check(s, max);

	if (rc == MASH_ERR_FIELD_TOO_LONG)
		mash_why(why, whylen, "%s: longer than %zu bytes", name, max);
	else if (rc != MASH_OK)
		mash_why(why, whylen, "%s: not valid UTF-8 or contains NUL",
		         name);
	return rc;
}

static int
empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static int
date_field(const char *s, const char *name, int64_t today, int past_only,
           char *why, size_t whylen)
{
	struct mash_date d;

	if (mash_evt_date_parse(s, &d) != MASH_OK) {
		mash_why(why, whylen, "%s: not a real calendar date YYYY-MM-DD",
		         name);
		return MASH_ERR_BAD_DATE;
	}
	if (past_only && mash_evt_date_days(&d) > today) {
		mash_why(why, whylen, "%s: in the future", name);
		return MASH_ERR_BAD_DATE;
	}
	return MASH_OK;
}

static int
count_field(size_t n, const char *name, char *why, size_t whylen)
{
	if (n > MASH_MAX_REPEATED) {
		mash_why(why, whylen, "%s: %zu entries, at most %u", name, n,
		         MASH_MAX_REPEATED);
		return MASH_ERR_FIELD_TOO_LONG;
	}
	return MASH_OK;
}

static int
check_subject(const Mash__V1__Subject *s, int64_t today, char *why,
              size_t whylen)
{
	static const struct {
		size_t off, max;
		const char *name;
	} strs[] = {
	    {offsetof(Mash__V1__Subject, nhs_number), MASH_MAX_SHORT,
	     "subject.nhs_number"},
	    {offsetof(Mash__V1__Subject, given_name), MASH_MAX_SHORT,
	     "subject.given_name"},
	    {offsetof(Mash__V1__Subject, family_name), MASH_MAX_SHORT,
	     "subject.family_name"},
	    {offsetof(Mash__V1__Subject, date_of_birth), MASH_MAX_SHORT,
	     "subject.date_of_birth"},
	    {offsetof(Mash__V1__Subject, postcode), MASH_MAX_SHORT,
	     "subject.postcode"},
	    {offsetof(Mash__V1__Subject, sex), MASH_MAX_SHORT, "subject.sex"},
	};
	char pc[MASH_EVT_NORM_MAX], fam[MASH_EVT_NORM_MAX];
	size_t i;
	int rc;

	if (s == NULL) {
		mash_why(why, whylen, "subject: missing");
		return MASH_ERR_MISSING_FIELD;
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *v = *(char *const *)((const char *)s + strs[i].off);

		rc = str_field(v, strs[i].max, strs[i].name, why, whylen);
		if (rc != MASH_OK)
			return rc;
	}
	rc = count_field(s->n_local_ids, "subject.local_ids", why, whylen);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < s->n_local_ids; i++) {
		rc = str_field(s->local_ids[i]->key, MASH_MAX_AGENCY,
		               "subject.local_ids key", why, whylen);
		if (rc == MASH_OK)
			rc = str_field(s->local_ids[i]->value, MASH_MAX_ID,
			               "subject.local_ids value", why, whylen);
		if (rc != MASH_OK)
			return rc;
	}
	if (!empty(s->nhs_number)) {
		size_t k;

		for (k = 0; s->nhs_number[k] != '\0'; k++)
			if (s->nhs_number[k] < '0' || s->nhs_number[k] > '9')
				break;
		if (k != 10 || s->nhs_number[k] != '\0') {
			mash_why(why, whylen,
			         "subject.nhs_number: not 10 digits");
			return MASH_ERR_BAD_NHS;
		}
		if (!mash_evt_nhs_valid(s->nhs_number)) {
			mash_why(why, whylen,
			         "subject.nhs_number: check digit mismatch");
			return MASH_ERR_BAD_NHS;
		}
	}
	if (!empty(s->date_of_birth)) {
		rc = date_field(s->date_of_birth, "subject.date_of_birth",
		                today, 1, why, whylen);
		if (rc != MASH_OK)
			return rc;
	}
	if (!empty(s->nhs_number))
		return MASH_OK;
	/* Without an NHS number, linkage needs full demographics. */
	(void)mash_evt_norm_family(s->family_name, fam, sizeof(fam));
	(void)mash_evt_norm_postcode(s->postcode, pc, sizeof(pc));
	if (fam[0] == '\0' || empty(s->date_of_birth) || pc[0] == '\0') {
		mash_why(why, whylen,
		         "subject: no NHS number and not all of "
		         "family_name, date_of_birth, postcode");
		return MASH_ERR_NO_IDENTITY;
	}
	return MASH_OK;
}

static int
check_handling(const Mash__V1__Handling *h, char *why, size_t whylen)
{
	size_t i;
	int rc;

	if (h == NULL)
		return MASH_OK;
	if (!empty(h->classification) &&
	    strcmp(h->classification, "OFFICIAL") != 0 &&
	    strcmp(h->classification, "OFFICIAL-SENSITIVE") != 0) {
		mash_why(why, whylen,
		         "handling.classification: not OFFICIAL or "
		         "OFFICIAL-SENSITIVE");
		return MASH_ERR_BAD_ENUM;
	}
	rc = count_field(h->n_restrict_to_agencies,
	                 "handling.restrict_to_agencies", why, whylen);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < h->n_restrict_to_agencies; i++) {
		if (!mash_evt_agency_valid(h->restrict_to_agencies[i])) {
			mash_why(why, whylen,
			         "handling.restrict_to_agencies[%zu]: "
			         "unknown agency",
			         i);
			return MASH_ERR_UNKNOWN_AGENCY;
		}
	}
	return MASH_OK;
}

static int
check_vcl(const Mash__V1__AgencyEvent *ev, char *why, size_t whylen)
{
	char name[64];
	size_t i;
	int rc;

	rc = count_field(ev->n_vcl, "vcl", why, whylen);
	for (i = 0; rc == MASH_OK && i < ev->n_vcl; i++) {
		const Mash__V1__VclScore *v = ev->vcl[i];

		(void)mash_snprintf(name, sizeof(name), "vcl[%zu].factor", i);
		if (empty(v->factor)) {
			mash_why(why, whylen, "%s: missing", name);
			return MASH_ERR_MISSING_FIELD;
		}
		rc = str_field(v->factor, MASH_MAX_SHORT, name, why, whylen);
		if (rc != MASH_OK)
			break;
		(void)mash_snprintf(name, sizeof(name), "vcl[%zu].evidence", i);
		rc = str_field(v->evidence, MASH_MAX_TEXT, name, why, whylen);
		if (rc != MASH_OK)
			break;
		/* Northumberland risk matrix: scores 0-4 (seed 003). */
		if (v->score > 4) {
			mash_why(why, whylen, "vcl[%zu].score: %u is not 0-4",
			         i, v->score);
			return MASH_ERR_BAD_SEVERITY;
		}
	}
	return rc;
}

static int
check_related(const Mash__V1__AgencyEvent *ev, int64_t today, char *why,
              size_t whylen)
{
	char name[64];
	size_t i;
	int rc;

	rc = count_field(ev->n_related, "related", why, whylen);
	for (i = 0; rc == MASH_OK && i < ev->n_related; i++) {
		const Mash__V1__RelatedPerson *p = ev->related[i];

		(void)mash_snprintf(name, sizeof(name), "related[%zu].role", i);
		rc = str_field(p->role, MASH_MAX_SHORT, name, why, whylen);
		if (rc != MASH_OK)
			break;
		(void)mash_snprintf(name, sizeof(name),
		                    "related[%zu].given_name", i);
		rc =
		    str_field(p->given_name, MASH_MAX_SHORT, name, why, whylen);
		if (rc != MASH_OK)
			break;
		(void)mash_snprintf(name, sizeof(name),
		                    "related[%zu].family_name", i);
		rc = str_field(p->family_name, MASH_MAX_SHORT, name, why,
		               whylen);
		if (rc != MASH_OK)
			break;
		if (!empty(p->date_of_birth)) {
			(void)mash_snprintf(name, sizeof(name),
			                    "related[%zu].date_of_birth", i);
			rc = date_field(p->date_of_birth, name, today, 1, why,
			                whylen);
		}
	}
	return rc;
}

static int
one_of(const char *s, const char *const *allowed, size_t n)
{
	size_t i;

	if (empty(s))
		return 1;
	for (i = 0; i < n; i++)
		if (strcmp(s, allowed[i]) == 0)
			return 1;
	return 0;
}

struct sfield {
	const char *v;
	size_t max;
	const char *name;
};

static int
str_fields(const struct sfield *f, size_t n, char *why, size_t whylen)
{
	size_t i;
	int rc = MASH_OK;

	for (i = 0; rc == MASH_OK && i < n; i++)
		rc = str_field(f[i].v, f[i].max, f[i].name, why, whylen);
	return rc;
}

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static int
check_detail(const Mash__V1__AgencyEvent *ev, int64_t today, char *why,
             size_t whylen)
{
	static const char *const dash[] = {"standard", "medium", "high"};
	static const char *const excl[] = {"fixed-term", "permanent"};
	const char *owner = NULL;
	size_t i;
	int rc = MASH_OK;

	switch (ev->detail_case) {
	case MASH__V1__AGENCY_EVENT__DETAIL__NOT_SET:
		return MASH_OK;
	case MASH__V1__AGENCY_EVENT__DETAIL_POLICE: {
		const Mash__V1__PoliceDetail *d = ev->police;
		const struct sfield f[] = {
		    {d->incident_ref, MASH_MAX_ID, "police.incident_ref"},
		    {d->incident_type, MASH_MAX_SHORT, "police.incident_type"},
		    {d->dash_risk, MASH_MAX_SHORT, "police.dash_risk"},
		    {d->intelligence, MASH_MAX_TEXT, "police.intelligence"},
		    {d->officer_in_case, MASH_MAX_SHORT,
		     "police.officer_in_case"},
		};

		owner = "police";
		rc = str_fields(f, NFIELDS(f), why, whylen);
		if (rc == MASH_OK && !one_of(d->dash_risk, dash, 3)) {
			mash_why(why, whylen,
			         "police.dash_risk: not standard, "
			         "medium or high");
			rc = MASH_ERR_BAD_ENUM;
		}
		if (rc == MASH_OK)
			rc = count_field(d->n_offences, "police.offences", why,
			                 whylen);
		for (i = 0; rc == MASH_OK && i < d->n_offences; i++)
			rc = str_field(d->offences[i], MASH_MAX_SHORT,
			               "police.offences[]", why, whylen);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_HEALTH: {
		const Mash__V1__HealthDetail *d = ev->health;
		const struct sfield f[] = {
		    {d->setting, MASH_MAX_SHORT, "health.setting"},
		    {d->presenting_complaint, MASH_MAX_TEXT,
		     "health.presenting_complaint"},
		    {d->diagnosis, MASH_MAX_TEXT, "health.diagnosis"},
		    {d->clinical_notes, MASH_MAX_TEXT, "health.clinical_notes"},
		    {d->named_professional, MASH_MAX_SHORT,
		     "health.named_professional"},
		};

		owner = "health";
		rc = str_fields(f, NFIELDS(f), why, whylen);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION: {
		const Mash__V1__EducationDetail *d = ev->education;
		const struct sfield f[] = {
		    {d->school_urn, MASH_MAX_ID, "education.school_urn"},
		    {d->school_name, MASH_MAX_SHORT, "education.school_name"},
		    {d->exclusion_type, MASH_MAX_SHORT,
		     "education.exclusion_type"},
		    {d->year_group, MASH_MAX_SHORT, "education.year_group"},
		    {d->dsl_name, MASH_MAX_SHORT, "education.dsl_name"},
		};

		owner = "education";
		rc = str_fields(f, NFIELDS(f), why, whylen);
		if (rc == MASH_OK && d->attendance_pct > 100) {
			mash_why(why, whylen,
			         "education.attendance_pct: %u is not "
			         "0-100",
			         d->attendance_pct);
			rc = MASH_ERR_INVAL;
		}
		if (rc == MASH_OK && !one_of(d->exclusion_type, excl, 2)) {
			mash_why(why, whylen,
			         "education.exclusion_type: not "
			         "fixed-term or permanent");
			rc = MASH_ERR_BAD_ENUM;
		}
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_YOT: {
		const Mash__V1__YotDetail *d = ev->yot;
		const struct sfield f[] = {
		    {d->order_type, MASH_MAX_SHORT, "yot.order_type"},
		    {d->offence, MASH_MAX_SHORT, "yot.offence"},
		    {d->yot_worker, MASH_MAX_SHORT, "yot.yot_worker"},
		    {d->next_court_date, MASH_MAX_SHORT, "yot.next_court_date"},
		};

		owner = "yot";
		rc = str_fields(f, NFIELDS(f), why, whylen);
		if (rc == MASH_OK && !empty(d->next_court_date))
			rc = date_field(d->next_court_date,
			                "yot.next_court_date", today, 0, why,
			                whylen);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_HOUSING: {
		const Mash__V1__HousingDetail *d = ev->housing;
		const struct sfield f[] = {
		    {d->tenancy_status, MASH_MAX_SHORT,
		     "housing.tenancy_status"},
		    {d->homelessness_duty, MASH_MAX_SHORT,
		     "housing.homelessness_duty"},
		    {d->accommodation_type, MASH_MAX_SHORT,
		     "housing.accommodation_type"},
		    {d->landlord_concern, MASH_MAX_TEXT,
		     "housing.landlord_concern"},
		};

		owner = "housing";
		rc = str_fields(f, NFIELDS(f), why, whylen);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE: {
		const Mash__V1__SocialCareDetail *d = ev->social_care;
		const struct sfield f[] = {
		    {d->decision, MASH_MAX_SHORT, "social_care.decision"},
		    {d->trigger_id, MASH_MAX_ID, "social_care.trigger_id"},
		    {d->social_worker, MASH_MAX_SHORT,
		     "social_care.social_worker"},
		    {d->outcome, MASH_MAX_SHORT, "social_care.outcome"},
		};

		owner = "social-care";
		rc = str_fields(f, NFIELDS(f), why, whylen);
		if (rc == MASH_OK && d->held_at < 0) {
			mash_why(why, whylen, "social_care.held_at: negative");
			rc = MASH_ERR_BAD_TIME;
		}
		break;
	}
	default:
		mash_why(why, whylen, "detail: unknown case %d",
		         (int)ev->detail_case);
		return MASH_ERR_BAD_ENUM;
	}
	if (rc == MASH_OK && strcmp(owner, ev->agency) != 0) {
		mash_why(why, whylen, "detail: %s detail in an event from %s",
		         owner, ev->agency);
		rc = MASH_ERR_AGENCY_MISMATCH;
	}
	return rc;
}

static int
check_time(int64_t t, const char *name, int64_t now_ms, char *why,
           size_t whylen)
{
	if (t <= 0) {
		mash_why(why, whylen, "%s: missing or not after 1970", name);
		return MASH_ERR_BAD_TIME;
	}
	if (t > now_ms + MASH_EVT_MAX_FUTURE_MS) {
		mash_why(why, whylen, "%s: more than a day in the future",
		         name);
		return MASH_ERR_BAD_TIME;
	}
	return MASH_OK;
}

int
mash_evt_validate(const Mash__V1__AgencyEvent *ev, const char *topic_agency,
                  int64_t now_ms, char *why, size_t whylen)
{
	int64_t today;
	size_t i;
	int rc = MASH_ERR_INVAL;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (ev == NULL) {
		mash_why(why, whylen, "event: missing");
		goto out;
	}
	today = now_ms >= 0 ? now_ms / 86400000 : -1 - (-now_ms - 1) / 86400000;
	if (!mash_evt_agency_valid(ev->agency)) {
		rc = MASH_ERR_UNKNOWN_AGENCY;
		mash_why(why, whylen,
		         "agency: not one of police, health, "
		         "education, yot, housing, social-care");
		goto out;
	}
	if (topic_agency != NULL && strcmp(ev->agency, topic_agency) != 0) {
		rc = MASH_ERR_AGENCY_MISMATCH;
		mash_why(why, whylen,
		         "agency: %s, but published on the %.32s topic",
		         ev->agency, topic_agency);
		goto out;
	}
	if (empty(ev->event_id)) {
		rc = MASH_ERR_MISSING_FIELD;
		mash_why(why, whylen, "event_id: missing");
		goto out;
	}
	for (i = 0; ev->event_id[i] != '\0'; i++) {
		char c = ev->event_id[i];

		if (i >= MASH_EVT_ID_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-')) {
			rc = MASH_ERR_BAD_ID;
			mash_why(why, whylen,
			         "event_id: not [A-Za-z0-9-]{1,%u}",
			         MASH_EVT_ID_MAX);
			goto out;
		}
	}
	rc = check_time(ev->occurred_at, "occurred_at", now_ms, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = check_time(ev->recorded_at, "recorded_at", now_ms, why, whylen);
	if (rc != MASH_OK)
		goto out;
	if (ev->category == MASH__V1__CATEGORY__CATEGORY_UNSPECIFIED ||
	    mash_evt_category_name((int)ev->category) == NULL) {
		rc = MASH_ERR_BAD_ENUM;
		mash_why(why, whylen, "category: %d is not a known category",
		         (int)ev->category);
		goto out;
	}
	/* Wire contract: 30-32 are published by social care to stop or
	 * move statutory clocks; nobody else may. */
	if ((ev->category == MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD ||
	     ev->category == MASH__V1__CATEGORY__S47_OUTCOME ||
	     ev->category == MASH__V1__CATEGORY__REFERRAL_DECISION) &&
	    strcmp(ev->agency, "social-care") != 0) {
		rc = MASH_ERR_AGENCY_MISMATCH;
		mash_why(why, whylen,
		         "category: %s is published only by "
		         "social-care",
		         mash_evt_category_name((int)ev->category));
		goto out;
	}
	/* Northumberland risk matrix (seed 003): 0 no apparent risk .. 4
	 * very high, harm imminent. */
	if (ev->severity > 4) {
		rc = MASH_ERR_BAD_SEVERITY;
		mash_why(why, whylen, "severity: %u is not 0-4", ev->severity);
		goto out;
	}
	if (protobuf_c_enum_descriptor_get_value(&mash__v1__consent__descriptor,
	                                         (int)ev->consent) == NULL) {
		rc = MASH_ERR_BAD_ENUM;
		mash_why(why, whylen, "consent: %d is not a known value",
		         (int)ev->consent);
		goto out;
	}
	rc = check_handling(ev->handling, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = check_subject(ev->subject, today, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = str_field(ev->summary, MASH_MAX_SUMMARY, "summary", why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = str_field(ev->reporter, MASH_MAX_SHORT, "reporter", why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = str_field(ev->agency_ref, MASH_MAX_ID, "agency_ref", why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = check_vcl(ev, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = check_related(ev, today, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = check_detail(ev, today, why, whylen);
out:
	return rc;
}
