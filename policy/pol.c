/*
 * pol.c - the sharing-policy engine.
 *
 * Why it is built this way:
 *   - Working Together 2013 ch.1 paras 22-24 (seed 003_*.txt): "effective
 *     sharing of information between professionals and local agencies is
 *     essential", and "fears about sharing information cannot be allowed to
 *     stand in the way" of protecting a child. Ch.3 para 21: any request
 *     "must be 'necessary' and 'proportionate'". The engine therefore
 *     shares by rule and by field, never by whole record, and explains
 *     every decision with a rule id, a legal basis and a reason.
 *   - Deny by default (house style rule 11): each field starts withheld; a
 *     rule must name it to share it.
 *   - Rules are compiled at load time into bit masks, so deciding is a
 *     loop of AND/compare over at most MASH_POL_MAX_RULES small structs:
 *     no allocation, no string compare except the restrict_to_agencies list.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libconfig.h>
#include <openssl/evp.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "policy/cfgfile.h"
#include "policy/pol.h"

_Static_assert(MASH_POL_F_COUNT <= 64, "field set must fit in 64 bits");

/* ------------------------------------------------------------------ */
/* Catalogue                                                            */

enum fclass {
	C_SIGNPOST,
	C_IDENTITY,
	C_CONCERN,
	C_NARRATIVE,
	C_RELATED,
	C_VCL,
	C_COUNT
};

static const char *const class_names[C_COUNT] = {
    "signpost", "identity", "concern", "narrative", "related", "vcl",
};

static const struct {
	const char *name;
	enum fclass cls;
} fields[MASH_POL_F_COUNT] = {
    [MASH_POL_F_SIGNPOST] = {"signpost", C_SIGNPOST},
    [MASH_POL_F_LEAD] = {"lead", C_SIGNPOST},
    [MASH_POL_F_GIVEN_NAME] = {"subject.given_name", C_IDENTITY},
    [MASH_POL_F_FAMILY_NAME] = {"subject.family_name", C_IDENTITY},
    [MASH_POL_F_DATE_OF_BIRTH] = {"subject.date_of_birth", C_IDENTITY},
    [MASH_POL_F_NHS_NUMBER] = {"subject.nhs_number", C_IDENTITY},
    [MASH_POL_F_POSTCODE] = {"subject.postcode", C_IDENTITY},
    [MASH_POL_F_SEX] = {"subject.sex", C_IDENTITY},
    [MASH_POL_F_CATEGORY] = {"category", C_CONCERN},
    [MASH_POL_F_SEVERITY] = {"severity", C_CONCERN},
    [MASH_POL_F_OCCURRED_AT] = {"occurred_at", C_CONCERN},
    [MASH_POL_F_CONSENT] = {"consent", C_CONCERN},
    [MASH_POL_F_CLASSIFICATION] = {"handling.classification", C_CONCERN},
    [MASH_POL_F_DO_NOT_DISCLOSE] = {"handling.do_not_disclose_to_family",
                                    C_CONCERN},
    [MASH_POL_F_RESTRICT_TO] = {"handling.restrict_to_agencies", C_CONCERN},
    [MASH_POL_F_SUMMARY] = {"summary", C_NARRATIVE},
    [MASH_POL_F_REPORTER] = {"reporter", C_NARRATIVE},
    [MASH_POL_F_AGENCY_REF] = {"agency_ref", C_NARRATIVE},
    [MASH_POL_F_POLICE_INCIDENT_REF] = {"detail.police.incident_ref",
                                        C_NARRATIVE},
    [MASH_POL_F_POLICE_INCIDENT_TYPE] = {"detail.police.incident_type",
                                         C_NARRATIVE},
    [MASH_POL_F_POLICE_DASH_RISK] = {"detail.police.dash_risk", C_NARRATIVE},
    [MASH_POL_F_POLICE_CHILDREN_PRESENT] = {"detail.police.children_present",
                                            C_NARRATIVE},
    [MASH_POL_F_POLICE_OFFENCES] = {"detail.police.offences", C_NARRATIVE},
    [MASH_POL_F_POLICE_INTELLIGENCE] = {"detail.police.intelligence",
                                        C_NARRATIVE},
    [MASH_POL_F_POLICE_OFFICER] = {"detail.police.officer_in_case",
                                   C_NARRATIVE},
    [MASH_POL_F_HEALTH_SETTING] = {"detail.health.setting", C_NARRATIVE},
    [MASH_POL_F_HEALTH_COMPLAINT] = {"detail.health.presenting_complaint",
                                     C_NARRATIVE},
    [MASH_POL_F_HEALTH_DIAGNOSIS] = {"detail.health.diagnosis", C_NARRATIVE},
    [MASH_POL_F_HEALTH_CLINICAL_NOTES] = {"detail.health.clinical_notes",
                                          C_NARRATIVE},
    [MASH_POL_F_HEALTH_EXPLANATION] = {"detail.health.explanation_consistent",
                                       C_NARRATIVE},
    [MASH_POL_F_HEALTH_ATTENDANCES] = {"detail.health.attendances_12m",
                                       C_NARRATIVE},
    [MASH_POL_F_HEALTH_NAMED_PRO] = {"detail.health.named_professional",
                                     C_NARRATIVE},
    [MASH_POL_F_EDU_URN] = {"detail.education.school_urn", C_NARRATIVE},
    [MASH_POL_F_EDU_SCHOOL] = {"detail.education.school_name", C_NARRATIVE},
    [MASH_POL_F_EDU_ATTENDANCE] = {"detail.education.attendance_pct",
                                   C_NARRATIVE},
    [MASH_POL_F_EDU_EXCLUSION_TYPE] = {"detail.education.exclusion_type",
                                       C_NARRATIVE},
    [MASH_POL_F_EDU_EXCLUSION_DAYS] = {"detail.education.exclusion_days",
                                       C_NARRATIVE},
    [MASH_POL_F_EDU_YEAR_GROUP] = {"detail.education.year_group", C_NARRATIVE},
    [MASH_POL_F_EDU_DSL] = {"detail.education.dsl_name", C_NARRATIVE},
    [MASH_POL_F_YOT_ORDER] = {"detail.yot.order_type", C_NARRATIVE},
    [MASH_POL_F_YOT_OFFENCE] = {"detail.yot.offence", C_NARRATIVE},
    [MASH_POL_F_YOT_ASSET] = {"detail.yot.asset_score", C_NARRATIVE},
    [MASH_POL_F_YOT_WORKER] = {"detail.yot.yot_worker", C_NARRATIVE},
    [MASH_POL_F_YOT_COURT_DATE] = {"detail.yot.next_court_date", C_NARRATIVE},
    [MASH_POL_F_HOUSING_TENANCY] = {"detail.housing.tenancy_status",
                                    C_NARRATIVE},
    [MASH_POL_F_HOUSING_DUTY] = {"detail.housing.homelessness_duty",
                                 C_NARRATIVE},
    [MASH_POL_F_HOUSING_ACCOMMODATION] = {"detail.housing.accommodation_type",
                                          C_NARRATIVE},
    [MASH_POL_F_HOUSING_OVERCROWDED] = {"detail.housing.overcrowded",
                                        C_NARRATIVE},
    [MASH_POL_F_HOUSING_LANDLORD] = {"detail.housing.landlord_concern",
                                     C_NARRATIVE},
    [MASH_POL_F_SC_DECISION] = {"detail.social_care.decision", C_NARRATIVE},
    [MASH_POL_F_SC_TRIGGER] = {"detail.social_care.trigger_id", C_NARRATIVE},
    [MASH_POL_F_SC_HELD_AT] = {"detail.social_care.held_at", C_NARRATIVE},
    [MASH_POL_F_SC_SOCIAL_WORKER] = {"detail.social_care.social_worker",
                                     C_NARRATIVE},
    [MASH_POL_F_SC_OUTCOME] = {"detail.social_care.outcome", C_NARRATIVE},
    [MASH_POL_F_RELATED] = {"related", C_RELATED},
    [MASH_POL_F_VCL] = {"vcl", C_VCL},
    [MASH_POL_F_VCL_EVIDENCE] = {"vcl.evidence", C_VCL},
};

#define FBIT(f)    ((uint64_t)1 << (f))
#define ALL_FIELDS ((((uint64_t)1) << MASH_POL_F_COUNT) - 1)

/* SHARED-DEFS.md: roles, purposes, agencies. */
static const char *const roles[] = {
    "mash-analyst",
    "mash-manager",
    "la-social-worker",
    "social-work-manager",
    "police-public-protection",
    "health-safeguarding",
    "school-dsl",
    "yot-worker",
    "housing-officer",
    "auditor",
};
#define N_ROLES (sizeof(roles) / sizeof(roles[0]))

static const char *const purposes[] = {
    "mash-triage",         "early-help",  "s17-assessment",
    "strategy-discussion", "s47-enquiry", "audit",
};
#define N_PURPOSES (sizeof(purposes) / sizeof(purposes[0]))

/* The six agencies of the wire contract, and "mash" for hub staff who
 * belong to no agency (the auditor). */
static const char *const agencies[] = {
    "police", "health", "education", "yot", "housing", "social-care", "mash",
};
#define N_AGENCIES (sizeof(agencies) / sizeof(agencies[0]))

static const char *const classifications[] = {"OFFICIAL", "OFFICIAL-SENSITIVE"};

static const char *const flag_names[MASH_POL_FLAG_COUNT_] = {
    "consent-refused",    "do-not-disclose-to-family",
    "official-sensitive", "restricted-to-agencies",
    "break-glass",
};

/* The bit every "any" mask has set and every unknown value maps to, so
 * that a rule with no condition on a dimension matches unknown values too
 * and a rule with a list never does. */
#define UNKNOWN_BIT ((uint32_t)1 << 31)
#define ANY         ((uint32_t)0xffffffffu)

static int
table_index(const char *const *t, size_t n, const char *s)
{
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
mash_pol_field_name(unsigned f)
{
	return f < MASH_POL_F_COUNT ? fields[f].name : NULL;
}

const char *
mash_pol_field_class(unsigned f)
{
	return f < MASH_POL_F_COUNT ? class_names[fields[f].cls] : NULL;
}

int
mash_pol_field_index(const char *name)
{
	if (name == NULL)
		return -1;
	for (unsigned i = 0; i < MASH_POL_F_COUNT; i++)
		if (strcmp(fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
mash_pol_fields_resolve(const char *pattern, uint64_t *out)
{
	uint64_t set = 0;
	size_t n;

	*out = 0;
	if (pattern == NULL || pattern[0] == '\0')
		return MASH_ERR_NOT_FOUND;
	if (pattern[0] == '@') {
		if (strcmp(pattern + 1, "all") == 0) {
			set = ALL_FIELDS;
		} else {
			for (unsigned i = 0; i < MASH_POL_F_COUNT; i++)
				if (strcmp(class_names[fields[i].cls],
				           pattern + 1) == 0)
					set |= FBIT(i);
		}
	} else {
		n = strlen(pattern);
		if (n >= 2 && strcmp(pattern + n - 2, ".*") == 0) {
			/* "detail.health.*" matches names that start with
			 * "detail.health." */
			for (unsigned i = 0; i < MASH_POL_F_COUNT; i++)
				if (strncmp(fields[i].name, pattern, n - 1) ==
				    0)
					set |= FBIT(i);
		} else {
			int f = mash_pol_field_index(pattern);

			if (f >= 0)
				set = FBIT(f);
		}
	}
	if (set == 0)
		return MASH_ERR_NOT_FOUND;
	*out = set;
	return MASH_OK;
}

const char *
mash_pol_flag_name(unsigned flag)
{
	for (unsigned i = 0; i < MASH_POL_FLAG_COUNT_; i++)
		if (flag == (1u << i))
			return flag_names[i];
	return NULL;
}

int
mash_pol_role_valid(const char *role)
{
	return table_index(roles, N_ROLES, role) >= 0;
}

int
mash_pol_purpose_valid(const char *purpose)
{
	return table_index(purposes, N_PURPOSES, purpose) >= 0;
}

int
mash_pol_agency_valid(const char *agency)
{
	return table_index(agencies, N_AGENCIES, agency) >= 0;
}

int
mash_pol_fields_join(uint64_t set, char *buf, size_t len)
{
	size_t pos = 0;
	int rc = MASH_OK;

	if (buf == NULL || len == 0)
		return MASH_ERR_INVAL;
	buf[0] = '\0';
	for (unsigned i = 0; i < MASH_POL_F_COUNT; i++) {
		size_t n;

		if ((set & FBIT(i)) == 0)
			continue;
		n = strlen(fields[i].name);
		if (pos + (pos > 0 ? 1 : 0) + n + 1 > len) {
			rc = MASH_ERR_FIELD_TOO_LONG;
			break;
		}
		if (pos > 0)
			buf[pos++] = ',';
		memcpy(buf + pos, fields[i].name, n);
		pos += n;
		buf[pos] = '\0';
	}
	return rc;
}

size_t
mash_pol_field_names(uint64_t set, const char **names, size_t max)
{
	size_t n = 0;

	for (unsigned f = 0; f < MASH_POL_F_COUNT && n < max; f++)
		if (set & FBIT(f))
			names[n++] = fields[f].name;
	return n;
}

int
mash_pol_flags_join(unsigned flags, const char *sep, char *buf, size_t len)
{
	size_t pos = 0;

	if (buf == NULL || len == 0 || sep == NULL)
		return MASH_ERR_INVAL;
	buf[0] = '\0';
	for (unsigned b = 0; b < MASH_POL_FLAG_COUNT_; b++) {
		if ((flags & (1u << b)) == 0)
			continue;
		if (mash_snprintf(buf + pos, len - pos, "%s%s",
		                  pos > 0 ? sep : "",
		                  flag_names[b]) != MASH_OK) {
			buf[pos] = '\0';
			return MASH_ERR_FIELD_TOO_LONG;
		}
		pos += strlen(buf + pos);
	}
	return MASH_OK;
}

/* Category and consent values map to bit numbers through the generated
 * enum descriptors, so a new Category in the proto is known here too. */
static uint32_t
enum_bit(const ProtobufCEnumDescriptor *d, int value)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(d, value);
	size_t idx;

	if (v == NULL)
		return UNKNOWN_BIT;
	idx = (size_t)(v - d->values);
	if (idx >= 31)
		return UNKNOWN_BIT;
	return (uint32_t)1 << idx;
}

static int
enum_bit_by_name(const ProtobufCEnumDescriptor *d, const char *name,
                 uint32_t *bit)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value_by_name(d, name);

	*bit = 0;
	if (v == NULL)
		return MASH_ERR_NOT_FOUND;
	*bit = enum_bit(d, v->value);
	return *bit == UNKNOWN_BIT ? MASH_ERR_NOT_FOUND : MASH_OK;
}

/* ------------------------------------------------------------------ */
/* Compiled policy                                                      */

/* Tri-state conditions: a rule either does not care, or requires the fact
 * to be true, or false. */
enum tri {
	T_SAME_AGENCY = 1u << 0,
	T_DNDF = 1u << 1,
	T_OUTSIDE_RESTRICT = 1u << 2,
	T_KNOWN_MULTI = 1u << 3,
	T_BREAK_GLASS = 1u << 4,
	T_RESTRICTED = 1u << 5,
};

struct rule {
	char *id;
	char *legal_basis;
	char *reason;
	unsigned line;
	int share; /* 1 share, 0 withhold */
	uint64_t fields;
	uint32_t roles;
	uint32_t rec_agencies;
	uint32_t ev_agencies;
	uint32_t categories;
	uint32_t levels;
	uint32_t consent;
	uint32_t purposes;
	uint32_t classes;
	unsigned min_severity;
	uint32_t tri_care;
	uint32_t tri_val;
};

struct level_rule {
	int set;               /* the lN group exists */
	unsigned min_severity; /* 0 = not a criterion */
	unsigned min_agencies; /* 0 = not a criterion */
	int trigger_open;      /* 1 = an open trigger meets it */
};

struct mash_policy {
	char *path;
	unsigned char sha256[32];
	struct rule *rules;
	size_t n_rules;
	struct level_rule levels[5]; /* index 2..4 used */
	const char *delivery[5];     /* index 1..4: static purpose names */
	uint32_t break_glass_roles;  /* role bits that may break glass */
};

static void
rule_clear(struct rule *r)
{
	mash_free(r->id);
	mash_free(r->legal_basis);
	mash_free(r->reason);
	memset(r, 0, sizeof(*r));
}

void
mash_pol_free(struct mash_policy *pol)
{
	if (pol == NULL)
		return;
	for (size_t i = 0; i < pol->n_rules; i++)
		rule_clear(&pol->rules[i]);
	mash_free(pol->rules);
	mash_free(pol->path);
	mash_free(pol);
}

const unsigned char *
mash_pol_sha256(const struct mash_policy *pol)
{
	return pol->sha256;
}

const char *
mash_pol_path(const struct mash_policy *pol)
{
	return pol != NULL ? pol->path : NULL;
}

size_t
mash_pol_rule_count(const struct mash_policy *pol)
{
	return pol != NULL ? pol->n_rules : 0;
}

int
mash_pol_break_glass_allowed(const struct mash_policy *pol, const char *role)
{
	int i;

	if (pol == NULL || role == NULL)
		return 0;
	i = table_index(roles, N_ROLES, role);
	return i >= 0 && (pol->break_glass_roles & ((uint32_t)1 << i)) != 0;
}

int
mash_pol_rule_info(const struct mash_policy *pol, size_t i, const char **id,
                   const char **legal_basis, int *share)
{
	if (pol == NULL || i >= pol->n_rules)
		return MASH_ERR_NOT_FOUND;
	if (id != NULL)
		*id = pol->rules[i].id;
	if (legal_basis != NULL)
		*legal_basis =
		    pol->rules[i].legal_basis ? pol->rules[i].legal_basis : "";
	if (share != NULL)
		*share = pol->rules[i].share;
	return MASH_OK;
}

const char *
mash_pol_rule_id(const struct mash_policy *pol, size_t i)
{
	if (pol == NULL || i >= pol->n_rules)
		return NULL;
	return pol->rules[i].id;
}

/* ------------------------------------------------------------------ */
/* Loading                                                              */

/* The parse context collects every problem (lint) and keeps the first
 * (load). */
struct pctx {
	const char *path;
	void (*report)(void *ctx, const char *msg);
	void *rctx;
	unsigned n_problems;
	char *errbuf;
	size_t errlen;
};

static void problem(struct pctx *p, const config_setting_t *s,
                    const char *rule_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
problem(struct pctx *p, const config_setting_t *s, const char *rule_id,
        const char *fmt, ...)
{
	char msg[MASH_POL_ERRLEN];
	char line[MASH_POL_ERRLEN + 128];
	const char *file = NULL;
	unsigned ln = 0;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s != NULL) {
		ln = config_setting_source_line(s);
		file = config_setting_source_file(s);
	}
	if (file == NULL)
		file = p->path;
	if (rule_id != NULL)
		(void)snprintf(line, sizeof(line), "%s:%u: rule '%s': %s", file,
		               ln, rule_id, msg);
	else
		(void)snprintf(line, sizeof(line), "%s:%u: %s", file, ln, msg);
	if (p->n_problems == 0 && p->errbuf != NULL)
		(void)mash_strlcpy(p->errbuf, line, p->errlen);
	p->n_problems++;
	if (p->report != NULL)
		p->report(p->rctx, line);
}

/* Copy a string setting, checking UTF-8 and its length. NULL on problem
 * (reported). */
static char *
get_str(struct pctx *p, const config_setting_t *s, const char *rule_id,
        const char *what, size_t max)
{
	const char *v;
	char *copy;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		problem(p, s, rule_id, "'%s' must be a string", what);
		return NULL;
	}
	v = config_setting_get_string(s);
	if (v == NULL || mash_str_check(v, max) != MASH_OK) {
		problem(p, s, rule_id,
		        "'%s' is not valid UTF-8 or longer than %zu bytes",
		        what, max);
		return NULL;
	}
	copy = mash_strdup(v);
	if (copy == NULL)
		problem(p, s, rule_id, "out of memory");
	return copy;
}

static int
get_bool(struct pctx *p, const config_setting_t *s, const char *rule_id,
         const char *what, int *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		problem(p, s, rule_id, "'%s' must be true or false", what);
		return MASH_ERR_POLICY;
	}
	*out = config_setting_get_bool(s) ? 1 : 0;
	return MASH_OK;
}

static int
get_uint(struct pctx *p, const config_setting_t *s, const char *rule_id,
         const char *what, unsigned min, unsigned max, unsigned *out)
{
	int v;

	if (config_setting_type(s) != CONFIG_TYPE_INT) {
		problem(p, s, rule_id, "'%s' must be an integer", what);
		return MASH_ERR_POLICY;
	}
	v = config_setting_get_int(s);
	if (v < (int)min || v > (int)max) {
		problem(p, s, rule_id, "'%s' must be %u-%u, not %d", what, min,
		        max, v);
		return MASH_ERR_POLICY;
	}
	*out = (unsigned)v;
	return MASH_OK;
}

/* Check that s is a non-empty array/list of at most MASH_POL_MAX_LIST
 * elements of the given type. */
static int
check_list(struct pctx *p, const config_setting_t *s, const char *rule_id,
           const char *what, int elem_type)
{
	int n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		problem(p, s, rule_id, "'%s' must be a list [ ... ]", what);
		return MASH_ERR_POLICY;
	}
	n = config_setting_length(s);
	if (n == 0) {
		problem(p, s, rule_id, "'%s' is empty", what);
		return MASH_ERR_POLICY;
	}
	if ((unsigned)n > MASH_POL_MAX_LIST) {
		problem(p, s, rule_id, "'%s' has more than %u entries", what,
		        MASH_POL_MAX_LIST);
		return MASH_ERR_POLICY;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e =
		    config_setting_get_elem(s, (unsigned)i);

		if (e == NULL || config_setting_type(e) != elem_type) {
			problem(p, s, rule_id,
			        "'%s' entry %d has the wrong type", what,
			        i + 1);
			return MASH_ERR_POLICY;
		}
	}
	return MASH_OK;
}

/* A list of names from a table into a mask. */
static int
get_name_mask(struct pctx *p, const config_setting_t *s, const char *rule_id,
              const char *what, const char *kind, const char *const *table,
              size_t n, uint32_t *out)
{
	uint32_t mask = 0;
	int rc = MASH_OK;

	*out = 0;
	if (check_list(p, s, rule_id, what, CONFIG_TYPE_STRING) != MASH_OK)
		return MASH_ERR_POLICY;
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *v = config_setting_get_string_elem(s, (unsigned)i);
		int idx = table_index(table, n, v);

		if (idx < 0) {
			problem(p, s, rule_id, "unknown %s '%.64s'", kind,
			        v != NULL ? v : "");
			rc = MASH_ERR_POLICY;
			continue;
		}
		mask |= (uint32_t)1 << idx;
	}
	*out = mask;
	return rc;
}

static int
get_enum_mask(struct pctx *p, const config_setting_t *s, const char *rule_id,
              const char *what, const char *kind,
              const ProtobufCEnumDescriptor *d, uint32_t *out)
{
	uint32_t mask = 0;
	int rc = MASH_OK;

	*out = 0;
	if (check_list(p, s, rule_id, what, CONFIG_TYPE_STRING) != MASH_OK)
		return MASH_ERR_POLICY;
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *v = config_setting_get_string_elem(s, (unsigned)i);
		uint32_t bit;

		if (v == NULL || enum_bit_by_name(d, v, &bit) != MASH_OK) {
			problem(p, s, rule_id, "unknown %s '%.64s'", kind,
			        v != NULL ? v : "");
			rc = MASH_ERR_POLICY;
			continue;
		}
		mask |= bit;
	}
	*out = mask;
	return rc;
}

static int
get_fields(struct pctx *p, const config_setting_t *s, const char *rule_id,
           uint64_t *out)
{
	uint64_t add = 0, sub = 0;
	int rc = MASH_OK;

	*out = 0;
	if (check_list(p, s, rule_id, "fields", CONFIG_TYPE_STRING) != MASH_OK)
		return MASH_ERR_POLICY;
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *v = config_setting_get_string_elem(s, (unsigned)i);
		int neg = v != NULL && v[0] == '!';
		uint64_t set;

		if (v == NULL ||
		    mash_pol_fields_resolve(v + neg, &set) != MASH_OK) {
			problem(p, s, rule_id, "unknown field '%.64s'",
			        v != NULL ? v : "");
			rc = MASH_ERR_POLICY;
			continue;
		}
		if (neg)
			sub |= set;
		else
			add |= set;
	}
	if (rc == MASH_OK && (add & ~sub) == 0) {
		problem(p, s, rule_id, "'fields' names no field");
		rc = MASH_ERR_POLICY;
	}
	*out = add & ~sub;
	return rc;
}

static int
id_valid(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= MASH_POL_MAX_ID;
}

/* Parse the `when` group of a rule. */
static int
parse_when(struct pctx *p, const config_setting_t *w, struct rule *r)
{
	int rc = MASH_OK;
	uint32_t m;

	if (!config_setting_is_group(w)) {
		problem(p, w, r->id, "'when' must be a group { ... }");
		return MASH_ERR_POLICY;
	}
	for (int i = 0; i < config_setting_length(w); i++) {
		const config_setting_t *s =
		    config_setting_get_elem(w, (unsigned)i);
		const char *k = config_setting_name(s);
		int b = 0;
		uint32_t tri = 0;
		int bad;

		if (strcmp(k, "roles") == 0 || strcmp(k, "not_roles") == 0) {
			bad = get_name_mask(p, s, r->id, k, "role", roles,
			                    N_ROLES, &m);
			r->roles &= k[0] == 'n' ? ~m : m;
		} else if (strcmp(k, "recipient_agencies") == 0 ||
		           strcmp(k, "not_recipient_agencies") == 0) {
			bad = get_name_mask(p, s, r->id, k, "agency", agencies,
			                    N_AGENCIES, &m);
			r->rec_agencies &= k[0] == 'n' ? ~m : m;
		} else if (strcmp(k, "event_agencies") == 0 ||
		           strcmp(k, "not_event_agencies") == 0) {
			bad = get_name_mask(p, s, r->id, k, "agency", agencies,
			                    N_AGENCIES, &m);
			r->ev_agencies &= k[0] == 'n' ? ~m : m;
		} else if (strcmp(k, "categories") == 0 ||
		           strcmp(k, "not_categories") == 0) {
			bad =
			    get_enum_mask(p, s, r->id, k, "category",
			                  &mash__v1__category__descriptor, &m);
			r->categories &= k[0] == 'n' ? ~m : m;
		} else if (strcmp(k, "consent") == 0) {
			bad = get_enum_mask(p, s, r->id, k, "consent state",
			                    &mash__v1__consent__descriptor, &m);
			r->consent &= m;
		} else if (strcmp(k, "purposes") == 0) {
			bad = get_name_mask(p, s, r->id, k, "purpose", purposes,
			                    N_PURPOSES, &m);
			r->purposes &= m;
		} else if (strcmp(k, "classification") == 0) {
			bad = get_name_mask(p, s, r->id, k, "classification",
			                    classifications, 2, &m);
			r->classes &= m;
		} else if (strcmp(k, "levels") == 0) {
			bad = check_list(p, s, r->id, k, CONFIG_TYPE_INT);
			m = 0;
			for (int j = 0;
			     bad == MASH_OK && j < config_setting_length(s);
			     j++) {
				int v =
				    config_setting_get_int_elem(s, (unsigned)j);

				if (v < 1 || v > 4) {
					problem(p, s, r->id,
					        "level %d is not 1-4", v);
					bad = MASH_ERR_POLICY;
				} else {
					m |= (uint32_t)1 << v;
				}
			}
			r->levels &= m;
		} else if (strcmp(k, "min_severity") == 0) {
			bad = get_uint(p, s, r->id, k, 0, 4, &r->min_severity);
		} else {
			if (strcmp(k, "same_agency") == 0)
				tri = T_SAME_AGENCY;
			else if (strcmp(k, "do_not_disclose_to_family") == 0)
				tri = T_DNDF;
			else if (strcmp(k, "outside_restrict_to_agencies") == 0)
				tri = T_OUTSIDE_RESTRICT;
			else if (strcmp(k, "restricted") == 0)
				tri = T_RESTRICTED;
			else if (strcmp(k, "known_to_multiple_agencies") == 0)
				tri = T_KNOWN_MULTI;
			else if (strcmp(k, "break_glass") == 0)
				tri = T_BREAK_GLASS;
			if (tri == 0) {
				problem(p, s, r->id,
				        "unknown key '%.64s' in 'when'", k);
				bad = MASH_ERR_POLICY;
			} else {
				bad = get_bool(p, s, r->id, k, &b);
				r->tri_care |= tri;
				if (b)
					r->tri_val |= tri;
			}
		}
		if (bad != MASH_OK)
			rc = MASH_ERR_POLICY;
	}
	return rc;
}

static int
parse_rule(struct pctx *p, const config_setting_t *g, struct rule *r,
           const struct rule *prev, size_t n_prev)
{
	const config_setting_t *s;
	int rc = MASH_OK;
	int have_fields = 0, have_effect = 0;

	memset(r, 0, sizeof(*r));
	r->roles = r->rec_agencies = r->ev_agencies = ANY;
	r->categories = r->levels = r->consent = r->purposes = ANY;
	r->classes = ANY;
	r->line = config_setting_source_line(g);
	if (!config_setting_is_group(g)) {
		problem(p, g, NULL, "a rule must be a group { ... }");
		return MASH_ERR_POLICY;
	}
	/* The id first, so that every later message names the rule. */
	s = config_setting_get_member(g, "id");
	if (s == NULL) {
		problem(p, g, NULL, "rule without 'id'");
		rc = MASH_ERR_POLICY;
	} else {
		r->id = get_str(p, s, NULL, "id", MASH_POL_MAX_ID);
		if (r->id == NULL) {
			rc = MASH_ERR_POLICY;
		} else if (!id_valid(r->id)) {
			problem(p, s, NULL,
			        "rule id '%.64s' must be [a-z0-9._-]{1,64}",
			        r->id);
			rc = MASH_ERR_POLICY;
		} else {
			for (size_t i = 0; i < n_prev; i++)
				if (prev[i].id != NULL &&
				    strcmp(prev[i].id, r->id) == 0) {
					problem(p, s, r->id,
					        "duplicate rule id (first at "
					        "line %u)",
					        prev[i].line);
					rc = MASH_ERR_POLICY;
				}
		}
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e =
		    config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(e);

		if (k == NULL) {
			problem(p, e, r->id, "unnamed setting in rule");
			rc = MASH_ERR_POLICY;
		} else if (strcmp(k, "id") == 0) {
			continue;
		} else if (strcmp(k, "legal_basis") == 0) {
			r->legal_basis =
			    get_str(p, e, r->id, k, MASH_POL_MAX_LEGAL_BASIS);
			if (r->legal_basis == NULL)
				rc = MASH_ERR_POLICY;
		} else if (strcmp(k, "reason") == 0) {
			r->reason = get_str(p, e, r->id, k, MASH_POL_MAX_TEXT);
			if (r->reason == NULL)
				rc = MASH_ERR_POLICY;
		} else if (strcmp(k, "effect") == 0) {
			const char *v = config_setting_get_string(e);

			have_effect = 1;
			if (v != NULL && strcmp(v, "share") == 0) {
				r->share = 1;
			} else if (v != NULL && strcmp(v, "withhold") == 0) {
				r->share = 0;
			} else {
				problem(p, e, r->id,
				        "'effect' must be \"share\" or "
				        "\"withhold\"");
				rc = MASH_ERR_POLICY;
			}
		} else if (strcmp(k, "fields") == 0) {
			have_fields = 1;
			if (get_fields(p, e, r->id, &r->fields) != MASH_OK)
				rc = MASH_ERR_POLICY;
		} else if (strcmp(k, "when") == 0) {
			if (parse_when(p, e, r) != MASH_OK)
				rc = MASH_ERR_POLICY;
		} else {
			problem(p, e, r->id, "unknown key '%.64s' in rule", k);
			rc = MASH_ERR_POLICY;
		}
	}
	if (r->legal_basis == NULL || r->legal_basis[0] == '\0') {
		/* Every decision must be explainable to an auditor: a rule
		 * that cannot name its lawful basis is not a rule. */
		if (config_setting_get_member(g, "legal_basis") == NULL ||
		    r->legal_basis != NULL)
			problem(p, g, r->id, "rule without legal basis");
		rc = MASH_ERR_POLICY;
	}
	if (r->reason == NULL || r->reason[0] == '\0') {
		if (config_setting_get_member(g, "reason") == NULL ||
		    r->reason != NULL)
			problem(p, g, r->id, "rule without reason");
		rc = MASH_ERR_POLICY;
	}
	if (!have_effect) {
		problem(p, g, r->id, "rule without 'effect'");
		rc = MASH_ERR_POLICY;
	}
	if (!have_fields) {
		problem(p, g, r->id, "rule without 'fields'");
		rc = MASH_ERR_POLICY;
	}
	return rc;
}

static const char *const default_delivery[5] = {
    NULL, "mash-triage", "mash-triage", "s17-assessment", "strategy-discussion",
};

static int
parse_levels(struct pctx *p, const config_setting_t *g, struct mash_policy *pol)
{
	int rc = MASH_OK;

	if (!config_setting_is_group(g)) {
		problem(p, g, NULL, "'levels' must be a group { ... }");
		return MASH_ERR_POLICY;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *lg =
		    config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(lg);
		struct level_rule *lr;
		unsigned lv;

		if (strcmp(k, "l2") == 0) {
			lv = 2;
		} else if (strcmp(k, "l3") == 0) {
			lv = 3;
		} else if (strcmp(k, "l4") == 0) {
			lv = 4;
		} else {
			problem(p, lg, NULL,
			        "unknown key '%.64s' in 'levels' (l2, l3, l4)",
			        k);
			rc = MASH_ERR_POLICY;
			continue;
		}
		if (!config_setting_is_group(lg)) {
			problem(p, lg, NULL, "'levels.%s' must be a group", k);
			rc = MASH_ERR_POLICY;
			continue;
		}
		lr = &pol->levels[lv];
		lr->set = 1;
		for (int j = 0; j < config_setting_length(lg); j++) {
			const config_setting_t *s =
			    config_setting_get_elem(lg, (unsigned)j);
			const char *kk = config_setting_name(s);
			int bad;

			if (strcmp(kk, "min_severity") == 0) {
				bad = get_uint(p, s, NULL, kk, 1, 4,
				               &lr->min_severity);
			} else if (strcmp(kk, "min_agencies") == 0) {
				bad = get_uint(p, s, NULL, kk, 1, 64,
				               &lr->min_agencies);
			} else if (strcmp(kk, "trigger_open") == 0) {
				bad =
				    get_bool(p, s, NULL, kk, &lr->trigger_open);
			} else {
				problem(p, s, NULL,
				        "unknown key '%.64s' in 'levels.%s'",
				        kk, k);
				bad = MASH_ERR_POLICY;
			}
			if (bad != MASH_OK)
				rc = MASH_ERR_POLICY;
		}
	}
	return rc;
}

static int
parse_delivery(struct pctx *p, const config_setting_t *g,
               struct mash_policy *pol)
{
	int rc = MASH_OK;

	if (!config_setting_is_group(g)) {
		problem(p, g, NULL, "'delivery' must be a group { ... }");
		return MASH_ERR_POLICY;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s =
		    config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);

		if (strcmp(k, "purposes") != 0) {
			problem(p, s, NULL, "unknown key '%.64s' in 'delivery'",
			        k);
			rc = MASH_ERR_POLICY;
			continue;
		}
		if (check_list(p, s, NULL, k, CONFIG_TYPE_STRING) != MASH_OK) {
			rc = MASH_ERR_POLICY;
			continue;
		}
		if (config_setting_length(s) != 4) {
			problem(p, s, NULL,
			        "'delivery.purposes' needs 4 entries (L1-L4)");
			rc = MASH_ERR_POLICY;
			continue;
		}
		for (unsigned j = 0; j < 4; j++) {
			const char *v = config_setting_get_string_elem(s, j);
			int idx = table_index(purposes, N_PURPOSES, v);

			if (idx < 0) {
				problem(p, s, NULL, "unknown purpose '%.64s'",
				        v != NULL ? v : "");
				rc = MASH_ERR_POLICY;
				continue;
			}
			pol->delivery[j + 1] = purposes[idx];
		}
	}
	return rc;
}

/* break_glass = { roles = [ ... ]; }: the roles that may override a
 * denial with a recorded reason (sharing-policy.md rule 8: a per-role
 * attribute of the policy). Never the auditor: an auditor reviews
 * overrides and must not be able to make one. */
static int
parse_break_glass(struct pctx *p, const config_setting_t *g,
                  struct mash_policy *pol)
{
	int rc = MASH_OK;

	if (!config_setting_is_group(g)) {
		problem(p, g, NULL, "'break_glass' must be a group { ... }");
		return MASH_ERR_POLICY;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s =
		    config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);

		if (strcmp(k, "roles") != 0) {
			problem(p, s, NULL,
			        "unknown key '%.64s' in 'break_glass'", k);
			rc = MASH_ERR_POLICY;
			continue;
		}
		if (check_list(p, s, NULL, k, CONFIG_TYPE_STRING) != MASH_OK) {
			rc = MASH_ERR_POLICY;
			continue;
		}
		for (int j = 0; j < config_setting_length(s); j++) {
			const char *v =
			    config_setting_get_string_elem(s, (unsigned)j);
			int idx = table_index(roles, N_ROLES, v);

			if (idx < 0) {
				problem(p, s, NULL, "unknown role '%.64s'",
				        v != NULL ? v : "");
				rc = MASH_ERR_POLICY;
			} else if (strcmp(v, "auditor") == 0) {
				problem(p, s, NULL,
				        "break-glass is never granted to "
				        "auditors (sharing-policy.md rule 8)");
				rc = MASH_ERR_POLICY;
			} else {
				pol->break_glass_roles |= (uint32_t)1 << idx;
			}
		}
	}
	return rc;
}

/* SHA-256 over the file bytes and then each @include'd file's bytes, in
 * order, so that the POLICY_LOAD audit record changes when s47.cfg does. */
static int
hash_policy(struct pctx *p, const char *text, size_t len, unsigned char out[32])
{
	EVP_MD_CTX *md = NULL;
	char dir[4096];
	char inc[4096];
	char *ibuf = NULL;
	size_t ilen = 0;
	unsigned n_inc = 0;
	unsigned int mdlen = 0;
	const char *line = text;
	int rc = MASH_ERR_CRYPTO;

	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, text, len) != 1)
		goto out;
	if (policy__dirname(p->path, dir, sizeof(dir)) != MASH_OK) {
		rc = MASH_ERR_IO;
		goto out;
	}
	while (line != NULL && *line != '\0') {
		const char *nl = strchr(line, '\n');
		const char *q = line;
		const char *end;

		while (*q == ' ' || *q == '\t')
			q++;
		if (strncmp(q, "@include", 8) == 0) {
			q += 8;
			while (*q == ' ' || *q == '\t')
				q++;
			end = *q == '"' ? strchr(q + 1, '"') : NULL;
			if (end != NULL && (nl == NULL || end < nl)) {
				char eb[MASH_POL_ERRLEN];
				int r;

				if (++n_inc > MASH_POL_MAX_INCLUDES) {
					problem(p, NULL, NULL,
					        "more than %u @include lines",
					        MASH_POL_MAX_INCLUDES);
					rc = MASH_ERR_POLICY;
					goto out;
				}
				if (q[1] == '/')
					r = mash_snprintf(
					    inc, sizeof(inc), "%.*s",
					    (int)(end - q - 1), q + 1);
				else
					r = mash_snprintf(
					    inc, sizeof(inc), "%s/%.*s", dir,
					    (int)(end - q - 1), q + 1);
				if (r != MASH_OK) {
					rc = MASH_ERR_IO;
					goto out;
				}
				r = policy__read_file(inc, MASH_MAX_CONFIG_FILE,
				                      &ibuf, &ilen, eb,
				                      sizeof(eb));
				if (r != MASH_OK) {
					problem(p, NULL, NULL, "@include: %s",
					        eb);
					rc = r;
					goto out;
				}
				if (EVP_DigestUpdate(md, ibuf, ilen) != 1)
					goto out;
				mash_free(ibuf);
				ibuf = NULL;
			}
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	if (EVP_DigestFinal_ex(md, out, &mdlen) != 1 || mdlen != 32)
		goto out;
	rc = MASH_OK;
out:
	mash_free(ibuf);
	EVP_MD_CTX_free(md);
	return rc;
}

/*
 * Parse the policy at path into a new policy; every problem is reported
 * through p. Returns MASH_OK only if there was none.
 */
static int
policy_parse(struct pctx *p, struct mash_policy **out)
{
	config_t cfg;
	char *text = NULL;
	size_t len = 0;
	struct mash_policy *pol = NULL;
	const config_setting_t *root, *s;
	char eb[MASH_POL_ERRLEN];
	int rc;

	*out = NULL;
	config_init(&cfg);
	rc = policy__read_file(p->path, MASH_MAX_CONFIG_FILE, &text, &len, eb,
	                       sizeof(eb));
	if (rc != MASH_OK)
		goto fail_msg;
	rc = policy__parse(&cfg, p->path, text, eb, sizeof(eb));
	if (rc != MASH_OK)
		goto fail_msg;
	pol = mash_calloc(1, sizeof(*pol));
	if (pol == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	pol->path = mash_strdup(p->path);
	if (pol->path == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	for (unsigned lv = 1; lv <= 4; lv++)
		pol->delivery[lv] = default_delivery[lv];
	rc = hash_policy(p, text, len, pol->sha256);
	if (rc != MASH_OK)
		goto out;

	root = config_root_setting(&cfg);
	s = config_setting_get_member(root, "version");
	if (s != NULL) {
		unsigned v = 0;

		(void)get_uint(p, s, NULL, "version", 1, 1, &v);
	}
	s = config_setting_get_member(root, "levels");
	if (s == NULL)
		problem(p, root, NULL,
		        "missing 'levels' group (threshold levels L2-L4)");
	else
		(void)parse_levels(p, s, pol);
	s = config_setting_get_member(root, "delivery");
	if (s != NULL)
		(void)parse_delivery(p, s, pol);
	s = config_setting_get_member(root, "break_glass");
	if (s != NULL)
		(void)parse_break_glass(p, s, pol);
	s = config_setting_get_member(root, "rules");
	if (s == NULL) {
		problem(p, root, NULL, "missing 'rules' list");
	} else if (!config_setting_is_list(s)) {
		problem(p, s, NULL, "'rules' must be a list ( {...}, ... )");
	} else if ((unsigned)config_setting_length(s) > MASH_POL_MAX_RULES) {
		problem(p, s, NULL, "more than %u rules", MASH_POL_MAX_RULES);
	} else {
		size_t n = (size_t)config_setting_length(s);

		pol->rules = mash_calloc(n == 0 ? 1 : n, sizeof(*pol->rules));
		if (pol->rules == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			(void)parse_rule(
			    p, config_setting_get_elem(s, (unsigned)i),
			    &pol->rules[i], pol->rules, i);
			pol->n_rules = i + 1;
		}
	}
	/* Top-level settings other than ours (s47's `triggers`, `clocks`)
	 * belong to other engines reading the same file: ignored here. */
	rc = p->n_problems == 0 ? MASH_OK : MASH_ERR_POLICY;
	if (rc != MASH_OK)
		goto out;
	*out = pol;
	pol = NULL; /* transferred */
	goto out;
fail_msg:
	/* Unreadable or syntax error: one message, already located. */
	if (p->n_problems == 0 && p->errbuf != NULL)
		(void)mash_strlcpy(p->errbuf, eb, p->errlen);
	p->n_problems++;
	if (p->report != NULL)
		p->report(p->rctx, eb);
out:
	mash_pol_free(pol);
	config_destroy(&cfg);
	if (text != NULL)
		mash_free_secret(text, len);
	return rc;
}

int
mash_pol_load(const char *path, struct mash_policy **out, char *errbuf,
              size_t errlen)
{
	struct pctx p;

	if (out != NULL)
		*out = NULL;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (path == NULL || out == NULL)
		return MASH_ERR_INVAL;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.errbuf = errbuf;
	p.errlen = errlen;
	return policy_parse(&p, out);
}

int
mash_pol_file_sha256(const char *path, unsigned char out[32])
{
	struct pctx p;
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, 32);
	if (path == NULL)
		return MASH_ERR_INVAL;
	memset(&p, 0, sizeof(p));
	p.path = path;
	rc =
	    policy__read_file(path, MASH_MAX_CONFIG_FILE, &text, &len, NULL, 0);
	if (rc == MASH_OK)
		rc = hash_policy(&p, text, len, out);
	if (rc != MASH_OK)
		memset(out, 0, 32);
	if (text != NULL)
		mash_free_secret(text, len);
	return rc;
}

/* 1 if rule a matches every input rule b matches (a's conditions are a
 * superset of b's). */
static int
covers(const struct rule *a, const struct rule *b)
{
	if ((b->roles & ~a->roles) != 0 ||
	    (b->rec_agencies & ~a->rec_agencies) != 0 ||
	    (b->ev_agencies & ~a->ev_agencies) != 0 ||
	    (b->categories & ~a->categories) != 0 ||
	    (b->levels & ~a->levels) != 0 || (b->consent & ~a->consent) != 0 ||
	    (b->purposes & ~a->purposes) != 0 ||
	    (b->classes & ~a->classes) != 0)
		return 0;
	if (a->min_severity > b->min_severity)
		return 0;
	/* Every tri-state condition of a must also be one of b's, with the
	 * same value. */
	if ((a->tri_care & ~b->tri_care) != 0)
		return 0;
	if (((a->tri_val ^ b->tri_val) & a->tri_care) != 0)
		return 0;
	return 1;
}

int
mash_pol_lint(const char *path, void (*report)(void *ctx, const char *msg),
              void *ctx, unsigned *n_problems)
{
	struct pctx p;
	struct mash_policy *pol = NULL;
	config_t cfg;
	char *text = NULL;
	size_t len = 0;
	char eb[MASH_POL_ERRLEN];
	int rc;

	if (n_problems != NULL)
		*n_problems = 0;
	if (path == NULL)
		return MASH_ERR_INVAL;
	memset(&p, 0, sizeof(p));
	p.path = path;
	p.report = report;
	p.rctx = ctx;
	/* Unreadable or unparsable is a different outcome from a policy
	 * with problems (exit 2 vs 1): find out first. */
	config_init(&cfg);
	rc = policy__read_file(path, MASH_MAX_CONFIG_FILE, &text, &len, eb,
	                       sizeof(eb));
	if (rc == MASH_OK)
		rc = policy__parse(&cfg, path, text, eb, sizeof(eb));
	config_destroy(&cfg);
	if (text != NULL)
		mash_free_secret(text, len);
	if (rc != MASH_OK) {
		if (report != NULL)
			report(ctx, eb);
		if (n_problems != NULL)
			*n_problems = 1;
		return rc;
	}
	rc = policy_parse(&p, &pol);
	if (rc == MASH_ERR_NOMEM)
		goto out;
	if (pol != NULL) {
		char msg[MASH_POL_ERRLEN];

		if (pol->n_rules == 0) {
			(void)snprintf(msg, sizeof(msg),
			               "%s:1: policy has no rules: every "
			               "recipient would be denied everything",
			               path);
			p.n_problems++;
			if (report != NULL)
				report(ctx, msg);
		}
		for (size_t i = 1; i < pol->n_rules; i++) {
			const struct rule *b = &pol->rules[i];
			uint64_t decided = 0;
			size_t first = i;

			for (size_t j = 0; j < i; j++) {
				if (!covers(&pol->rules[j], b))
					continue;
				decided |= pol->rules[j].fields;
				if (first == i)
					first = j;
			}
			if ((b->fields & ~decided) != 0)
				continue;
			(void)snprintf(msg, sizeof(msg),
			               "%s:%u: rule '%s': unreachable rule: "
			               "shadowed by rule '%s' (line %u), which "
			               "matches a superset and decides every "
			               "field it names",
			               path, b->line, b->id,
			               pol->rules[first].id,
			               pol->rules[first].line);
			p.n_problems++;
			if (report != NULL)
				report(ctx, msg);
		}
	}
	rc = MASH_OK;
out:
	if (n_problems != NULL)
		*n_problems = p.n_problems;
	mash_pol_free(pol);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Levels and delivery purpose                                          */

unsigned
mash_pol_case_level(const struct mash_policy *pol,
                    const struct mash_pol_case_facts *f)
{
	if (pol == NULL || f == NULL)
		return 1;
	for (unsigned lv = 4; lv >= 2; lv--) {
		const struct level_rule *l = &pol->levels[lv];

		if (!l->set)
			continue;
		if (l->min_severity != 0 && f->max_severity >= l->min_severity)
			return lv;
		if (l->min_agencies != 0 && f->n_agencies >= l->min_agencies)
			return lv;
		if (l->trigger_open && f->trigger_open)
			return lv;
	}
	return 1;
}

const char *
mash_pol_delivery_purpose(const struct mash_policy *pol, unsigned level)
{
	if (level < 1)
		level = 1;
	if (level > 4)
		level = 4;
	if (pol == NULL)
		return default_delivery[level];
	return pol->delivery[level];
}

/* ------------------------------------------------------------------ */
/* Deciding                                                             */

void
mash_pol_event_view(const Mash__V1__AgencyEvent *ev, struct mash_pol_event *out)
{
	uint64_t p = FBIT(MASH_POL_F_SIGNPOST) | FBIT(MASH_POL_F_SEVERITY) |
	             FBIT(MASH_POL_F_CONSENT);
	const Mash__V1__Subject *s;
	const Mash__V1__Handling *h;

	memset(out, 0, sizeof(*out));
	if (ev == NULL)
		return;
	out->agency = ev->agency;
	out->category = (int)ev->category;
	out->severity = ev->severity;
	out->consent = (int)ev->consent;
#define STR_PRESENT(v, f)                                                      \
	do {                                                                   \
		if ((v) != NULL && (v)[0] != '\0')                             \
			p |= FBIT(f);                                          \
	} while (0)
	s = ev->subject;
	if (s != NULL) {
		STR_PRESENT(s->given_name, MASH_POL_F_GIVEN_NAME);
		STR_PRESENT(s->family_name, MASH_POL_F_FAMILY_NAME);
		STR_PRESENT(s->date_of_birth, MASH_POL_F_DATE_OF_BIRTH);
		STR_PRESENT(s->nhs_number, MASH_POL_F_NHS_NUMBER);
		STR_PRESENT(s->postcode, MASH_POL_F_POSTCODE);
		STR_PRESENT(s->sex, MASH_POL_F_SEX);
	}
	if (ev->category != MASH__V1__CATEGORY__CATEGORY_UNSPECIFIED)
		p |= FBIT(MASH_POL_F_CATEGORY);
	if (ev->occurred_at != 0)
		p |= FBIT(MASH_POL_F_OCCURRED_AT);
	h = ev->handling;
	if (h != NULL) {
		STR_PRESENT(h->classification, MASH_POL_F_CLASSIFICATION);
		if (h->classification != NULL &&
		    strcmp(h->classification, "OFFICIAL-SENSITIVE") == 0)
			out->official_sensitive = 1;
		if (h->do_not_disclose_to_family) {
			out->do_not_disclose_to_family = 1;
			p |= FBIT(MASH_POL_F_DO_NOT_DISCLOSE);
		}
		if (h->n_restrict_to_agencies > 0) {
			out->restrict_to = h->restrict_to_agencies;
			out->n_restrict_to = h->n_restrict_to_agencies;
			p |= FBIT(MASH_POL_F_RESTRICT_TO);
		}
	}
	STR_PRESENT(ev->summary, MASH_POL_F_SUMMARY);
	STR_PRESENT(ev->reporter, MASH_POL_F_REPORTER);
	STR_PRESENT(ev->agency_ref, MASH_POL_F_AGENCY_REF);
	if (ev->n_related > 0)
		p |= FBIT(MASH_POL_F_RELATED);
	if (ev->n_vcl > 0) {
		p |= FBIT(MASH_POL_F_VCL);
		for (size_t i = 0; i < ev->n_vcl; i++)
			if (ev->vcl[i] != NULL)
				STR_PRESENT(ev->vcl[i]->evidence,
				            MASH_POL_F_VCL_EVIDENCE);
	}
	/* Typed detail: strings when non-empty; numbers and booleans
	 * whenever the detail is there (false and 0 are information). */
	switch (ev->detail_case) {
	case MASH__V1__AGENCY_EVENT__DETAIL_POLICE: {
		const Mash__V1__PoliceDetail *d = ev->police;

		STR_PRESENT(d->incident_ref, MASH_POL_F_POLICE_INCIDENT_REF);
		STR_PRESENT(d->incident_type, MASH_POL_F_POLICE_INCIDENT_TYPE);
		STR_PRESENT(d->dash_risk, MASH_POL_F_POLICE_DASH_RISK);
		p |= FBIT(MASH_POL_F_POLICE_CHILDREN_PRESENT);
		if (d->n_offences > 0)
			p |= FBIT(MASH_POL_F_POLICE_OFFENCES);
		STR_PRESENT(d->intelligence, MASH_POL_F_POLICE_INTELLIGENCE);
		STR_PRESENT(d->officer_in_case, MASH_POL_F_POLICE_OFFICER);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_HEALTH: {
		const Mash__V1__HealthDetail *d = ev->health;

		STR_PRESENT(d->setting, MASH_POL_F_HEALTH_SETTING);
		STR_PRESENT(d->presenting_complaint,
		            MASH_POL_F_HEALTH_COMPLAINT);
		STR_PRESENT(d->diagnosis, MASH_POL_F_HEALTH_DIAGNOSIS);
		STR_PRESENT(d->clinical_notes,
		            MASH_POL_F_HEALTH_CLINICAL_NOTES);
		p |= FBIT(MASH_POL_F_HEALTH_EXPLANATION) |
		     FBIT(MASH_POL_F_HEALTH_ATTENDANCES);
		STR_PRESENT(d->named_professional, MASH_POL_F_HEALTH_NAMED_PRO);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION: {
		const Mash__V1__EducationDetail *d = ev->education;

		STR_PRESENT(d->school_urn, MASH_POL_F_EDU_URN);
		STR_PRESENT(d->school_name, MASH_POL_F_EDU_SCHOOL);
		p |= FBIT(MASH_POL_F_EDU_ATTENDANCE);
		STR_PRESENT(d->exclusion_type, MASH_POL_F_EDU_EXCLUSION_TYPE);
		if (d->exclusion_days != 0)
			p |= FBIT(MASH_POL_F_EDU_EXCLUSION_DAYS);
		STR_PRESENT(d->year_group, MASH_POL_F_EDU_YEAR_GROUP);
		STR_PRESENT(d->dsl_name, MASH_POL_F_EDU_DSL);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_YOT: {
		const Mash__V1__YotDetail *d = ev->yot;

		STR_PRESENT(d->order_type, MASH_POL_F_YOT_ORDER);
		STR_PRESENT(d->offence, MASH_POL_F_YOT_OFFENCE);
		p |= FBIT(MASH_POL_F_YOT_ASSET);
		STR_PRESENT(d->yot_worker, MASH_POL_F_YOT_WORKER);
		STR_PRESENT(d->next_court_date, MASH_POL_F_YOT_COURT_DATE);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_HOUSING: {
		const Mash__V1__HousingDetail *d = ev->housing;

		STR_PRESENT(d->tenancy_status, MASH_POL_F_HOUSING_TENANCY);
		STR_PRESENT(d->homelessness_duty, MASH_POL_F_HOUSING_DUTY);
		STR_PRESENT(d->accommodation_type,
		            MASH_POL_F_HOUSING_ACCOMMODATION);
		p |= FBIT(MASH_POL_F_HOUSING_OVERCROWDED);
		STR_PRESENT(d->landlord_concern, MASH_POL_F_HOUSING_LANDLORD);
		break;
	}
	case MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE: {
		const Mash__V1__SocialCareDetail *d = ev->social_care;

		STR_PRESENT(d->decision, MASH_POL_F_SC_DECISION);
		STR_PRESENT(d->trigger_id, MASH_POL_F_SC_TRIGGER);
		if (d->held_at != 0)
			p |= FBIT(MASH_POL_F_SC_HELD_AT);
		STR_PRESENT(d->social_worker, MASH_POL_F_SC_SOCIAL_WORKER);
		STR_PRESENT(d->outcome, MASH_POL_F_SC_OUTCOME);
		break;
	}
	default:
		break;
	}
#undef STR_PRESENT
	out->present = p;
}

static void
deny_all(struct mash_pol_decision *out, const struct mash_pol_event *ev,
         const char *rule_id, const char *reason)
{
	memset(out, 0, sizeof(*out));
	for (size_t f = 0; f < MASH_POL_F_COUNT; f++)
		out->field_rule[f] = -1; /* no rule: denied by default */
	out->rule_id = rule_id;
	out->legal_basis = "";
	out->reason = reason;
	out->purpose = "";
	out->withheld = ev != NULL ? ev->present : 0;
}

static uint32_t
name_bit(const char *const *t, size_t n, const char *s)
{
	int i = table_index(t, n, s);

	return i < 0 ? UNKNOWN_BIT : (uint32_t)1 << i;
}

int
mash_pol_decide(const struct mash_policy *pol, const struct mash_pol_event *ev,
                const struct mash_pol_case *c,
                const struct mash_pol_recipient *r, const char *purpose,
                int break_glass, struct mash_pol_decision *out)
{
	uint32_t role_bit, rec_bit, ev_bit, cat_bit, lvl_bit, con_bit;
	uint32_t pur_bit, cls_bit, tri = 0;
	uint64_t decided = 0, shared = 0, present;
	int role_i, pur_i;
	const struct rule *primary = NULL, *first_withhold = NULL;
	unsigned primary_n = 0;

	if (out == NULL)
		return MASH_ERR_INVAL;
	deny_all(out, ev, "invalid-input",
	         "The request was incomplete or invalid: nothing is shared.");
	if (ev == NULL || c == NULL || r == NULL || purpose == NULL)
		return MASH_ERR_INVAL;
	out->pol = pol;
	role_i = table_index(roles, N_ROLES, r->role);
	pur_i = table_index(purposes, N_PURPOSES, purpose);
	if (role_i < 0 || pur_i < 0 || c->level < 1 || c->level > 4)
		return MASH_ERR_INVAL;
	out->purpose = purposes[pur_i];
	out->level = c->level;
	present = ev->present;
	if (c->level >= 3)
		present |= FBIT(MASH_POL_F_LEAD);
	out->withheld = present;
	if (pol == NULL) {
		/* No policy loaded: deny everything (style rule 11). */
		out->rule_id = "no-policy";
		out->reason = "No sharing policy is loaded: nothing is shared.";
		return MASH_OK;
	}

	role_bit = (uint32_t)1 << role_i;
	pur_bit = (uint32_t)1 << pur_i;
	rec_bit = name_bit(agencies, N_AGENCIES, r->agency);
	ev_bit = name_bit(agencies, N_AGENCIES, ev->agency);
	cat_bit = enum_bit(&mash__v1__category__descriptor, ev->category);
	con_bit = enum_bit(&mash__v1__consent__descriptor, ev->consent);
	lvl_bit = (uint32_t)1 << c->level;
	cls_bit = ev->official_sensitive ? 2u : 1u;
	if (ev->agency != NULL && r->agency != NULL &&
	    strcmp(ev->agency, r->agency) == 0)
		tri |= T_SAME_AGENCY;
	if (ev->do_not_disclose_to_family)
		tri |= T_DNDF;
	if (ev->n_restrict_to > 0) {
		int listed = 0;

		tri |= T_RESTRICTED;
		for (size_t i = 0; i < ev->n_restrict_to && !listed; i++)
			listed = ev->restrict_to[i] != NULL &&
			         r->agency != NULL &&
			         strcmp(ev->restrict_to[i], r->agency) == 0;
		if (!listed)
			tri |= T_OUTSIDE_RESTRICT;
	}
	if (c->known_to_multiple || c->n_agencies >= 2)
		tri |= T_KNOWN_MULTI;
	/* Break-glass only for a role the policy gives it to (rule 8); an
	 * attempt by another is refused, never silently dropped. */
	if (break_glass && (pol->break_glass_roles & role_bit) != 0)
		tri |= T_BREAK_GLASS;
	else if (break_glass)
		out->break_glass_refused = 1;

	/* First match per field, in file order: a rule decides the fields it
	 * names that no earlier matching rule decided. */
	for (size_t i = 0; i < pol->n_rules && decided != ALL_FIELDS; i++) {
		const struct rule *ru = &pol->rules[i];
		uint64_t fresh;

		if ((ru->roles & role_bit) == 0 ||
		    (ru->purposes & pur_bit) == 0 ||
		    (ru->levels & lvl_bit) == 0 ||
		    (ru->rec_agencies & rec_bit) == 0 ||
		    (ru->ev_agencies & ev_bit) == 0 ||
		    (ru->categories & cat_bit) == 0 ||
		    (ru->consent & con_bit) == 0 ||
		    (ru->classes & cls_bit) == 0 ||
		    ev->severity < ru->min_severity ||
		    ((tri ^ ru->tri_val) & ru->tri_care) != 0)
			continue;
		fresh = ru->fields & ~decided;
		if (fresh == 0)
			continue;
		decided |= fresh;
		for (unsigned f = 0; f < MASH_POL_F_COUNT; f++)
			if (fresh & FBIT(f))
				out->field_rule[f] = (int16_t)i;
		if (out->n_rules < sizeof(out->rules) / sizeof(out->rules[0]))
			out->rules[out->n_rules] = (uint16_t)i;
		out->n_rules++;
		if (ru->share) {
			unsigned n =
			    (unsigned)__builtin_popcountll(fresh & present);

			shared |= fresh;
			/* The rule in force is the one under which most of
			 * what the recipient sees was shared (earliest on a
			 * tie); every contributing rule is in out->rules. */
			if (n > primary_n) {
				primary = ru;
				primary_n = n;
			}
			if ((ru->tri_care & ru->tri_val & T_BREAK_GLASS) &&
			    (fresh & present) != 0)
				out->flags |= MASH_POL_FLAG_BREAK_GLASS;
		} else if (first_withhold == NULL &&
		           (ru->fields & present) == present) {
			first_withhold = ru;
		}
	}
	out->shared = shared & present;
	out->withheld = present & ~out->shared;
	out->receives = out->shared != 0;
	/* Nothing shared: name a withhold rule only if it alone explains the
	 * denial (it decided every present field); otherwise the denial is
	 * the default. */
	if (primary == NULL && first_withhold != NULL &&
	    (present & ~first_withhold->fields) == 0)
		primary = first_withhold;
	if (primary != NULL) {
		out->rule_id = primary->id;
		out->legal_basis = primary->legal_basis;
		out->reason = primary->reason;
	} else {
		out->rule_id = "default-deny";
		out->reason =
		    "No rule shares any field of this event with this "
		    "recipient: denied by default.";
	}
	if (ev->consent == MASH__V1__CONSENT__REFUSED)
		out->flags |= MASH_POL_FLAG_CONSENT_REFUSED;
	if (ev->do_not_disclose_to_family)
		out->flags |= MASH_POL_FLAG_DO_NOT_DISCLOSE;
	if (ev->official_sensitive)
		out->flags |= MASH_POL_FLAG_OFFICIAL_SENSITIVE;
	if (ev->n_restrict_to > 0)
		out->flags |= MASH_POL_FLAG_RESTRICTED;
	return MASH_OK;
}
