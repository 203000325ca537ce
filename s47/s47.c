/*
 * s47.c - trigger policy (libconfig `triggers` and `clocks` groups) and the
 * pure evaluation of one event against a case history. See s47.h.
 */
#include <libconfig.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "s47/cal.h"
#include "s47/s47.h"

#define DAY_MS           86400000LL
#define MAX_AGENCY_ROLES 16u
#define MAX_PATH         4096u

enum rule_kind {
	RK_IMMINENT = 0,
	RK_SERIOUS,
	RK_MULTI,
	RK_ACCUM,
	RK_VCL,
};

static const char *const kind_names[] = {"imminent", "serious-category",
                                         "multi-agency", "accumulation", "vcl"};

struct rule {
	char id[MASH_S47_MAX_RULE_ID];
	enum rule_kind kind;
	int enabled;
	int same_day;
	uint32_t min_severity;
	size_t n_categories;
	int categories[MASH_S47_MAX_CATEGORIES];
	size_t n_infant;
	int infant_categories[MASH_S47_MAX_CATEGORIES];
	int infant_under_months;
	uint32_t infant_min_severity;
	uint32_t min_agencies;
	int window_days;
	uint32_t min_severity_sum;
	uint32_t min_vcl_score;
};

struct agency_role {
	char agency[MASH_MAX_AGENCY];
	char role[MASH_S47_MAX_ROLE];
};

struct mash_s47_policy {
	size_t n_rules;
	struct rule rules[MASH_S47_MAX_RULES];
	uint32_t level;
	size_t n_required;
	char required[MASH_S47_MAX_ROLES][MASH_S47_MAX_ROLE];
	/* the referring agency's role: added for contributing agencies */
	size_t n_agency_roles;
	struct agency_role agency_roles[MAX_AGENCY_ROLES];
	/* roles added when the agency appears anywhere in the case history
	 * ("the child's school or nursery" when education is involved) */
	size_t n_involved;
	struct agency_role involved[MAX_AGENCY_ROLES];
	int clock_days[MASH_S47_CLOCK_KINDS];
	uint32_t referral_min_severity;
	char escalate_role[MASH_S47_MAX_ROLE];
	char *holidays_file;
};

/* ---- defaults ---------------------------------------------------------- */

static void
set_defaults(struct mash_s47_policy *p)
{
	static const char *const req[] = {
	    "la-social-worker", "social-work-manager",
	    "police-public-protection", "health-safeguarding"};
	static const struct agency_role ar[] = {
	    {"police", "police-public-protection"},
	    {"health", "health-safeguarding"},
	    {"education", "school-dsl"},
	    {"yot", "yot-worker"},
	    {"housing", "housing-officer"},
	    {"social-care", "la-social-worker"}};
	struct rule *r;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->level = 4;
	for (i = 0; i < 4; i++)
		(void)mash_strlcpy(p->required[i], req[i], MASH_S47_MAX_ROLE);
	p->n_required = 4;
	for (i = 0; i < 6; i++)
		p->agency_roles[i] = ar[i];
	p->n_agency_roles = 6;
	p->involved[0] = ar[2];
	p->n_involved = 1;

	r = &p->rules[p->n_rules++];
	(void)mash_strlcpy(r->id, "s47.imminent", sizeof(r->id));
	r->kind = RK_IMMINENT;
	r->enabled = 1;
	r->same_day = 1;
	r->min_severity = 4;

	r = &p->rules[p->n_rules++];
	(void)mash_strlcpy(r->id, "s47.serious-category", sizeof(r->id));
	r->kind = RK_SERIOUS;
	r->enabled = 1;
	r->min_severity = 3;
	r->categories[0] = MASH__V1__CATEGORY__SEXUAL_ABUSE;
	r->categories[1] = MASH__V1__CATEGORY__PHYSICAL_ABUSE;
	r->categories[2] = MASH__V1__CATEGORY__FGM;
	r->n_categories = 3;
	r->infant_categories[0] = MASH__V1__CATEGORY__INJURY;
	r->n_infant = 1;
	r->infant_under_months = 12;
	r->infant_min_severity = 0;

	r = &p->rules[p->n_rules++];
	(void)mash_strlcpy(r->id, "s47.multi-agency", sizeof(r->id));
	r->kind = RK_MULTI;
	r->enabled = 1;
	r->min_severity = 3;
	r->min_agencies = 2;
	r->window_days = 30;

	r = &p->rules[p->n_rules++];
	(void)mash_strlcpy(r->id, "s47.accumulation", sizeof(r->id));
	r->kind = RK_ACCUM;
	r->enabled = 1;
	r->min_agencies = 3;
	r->min_severity_sum = 8;
	r->window_days = 90;

	r = &p->rules[p->n_rules++];
	(void)mash_strlcpy(r->id, "s47.vcl-very-high", sizeof(r->id));
	r->kind = RK_VCL;
	r->enabled = 1;
	r->min_vcl_score = 4;

	p->clock_days[MASH_S47_CLOCK_REFERRAL] = 1;
	p->clock_days[MASH_S47_CLOCK_STRATEGY] = 1;
	p->clock_days[MASH_S47_CLOCK_ICPC] = 15;
	p->clock_days[MASH_S47_CLOCK_ASSESSMENT] = 45;
	p->referral_min_severity = 3;
	(void)mash_strlcpy(p->escalate_role, "mash-manager",
	                   sizeof(p->escalate_role));
}

int
mash_s47_policy_default(struct mash_s47_policy **out)
{
	struct mash_s47_policy *p;

	*out = NULL;
	p = mash_calloc(1, sizeof(*p));
	if (p == NULL)
		return MASH_ERR_NOMEM;
	set_defaults(p);
	*out = p;
	return MASH_OK;
}

void
mash_s47_policy_free(struct mash_s47_policy *p)
{
	if (p == NULL)
		return;
	mash_free(p->holidays_file);
	mash_free(p);
}

const char *
mash_s47_policy_holidays_file(const struct mash_s47_policy *p)
{
	return p == NULL ? NULL : p->holidays_file;
}

const char *
mash_s47_policy_escalation_role(const struct mash_s47_policy *p)
{
	return p->escalate_role;
}

size_t
mash_s47_policy_rule_count(const struct mash_s47_policy *p)
{
	return p->n_rules;
}

const char *
mash_s47_policy_rule_id(const struct mash_s47_policy *p, size_t i)
{
	return i < p->n_rules ? p->rules[i].id : NULL;
}

int
mash_s47_policy_clock_days(const struct mash_s47_policy *p, int kind)
{
	if (kind < 0 || kind >= MASH_S47_CLOCK_KINDS)
		return 0;
	return p->clock_days[kind];
}

uint32_t
mash_s47_policy_referral_min_severity(const struct mash_s47_policy *p)
{
	return p->referral_min_severity;
}

const char *
mash_s47_clock_name(int kind)
{
	static const char *const names[] = {
	    "referral-decision", "strategy-discussion", "icpc", "assessment"};

	if (kind < 0 || kind >= MASH_S47_CLOCK_KINDS)
		return "unknown";
	return names[kind];
}

/* ---- loading ----------------------------------------------------------- */

struct loader {
	const char *path;
	char *err;
	size_t errsz;
};

static int
fail(struct loader *ld, const config_setting_t *s, const char *msg,
     const char *what)
{
	const char *file = NULL;
	int line = 0;

	if (s != NULL) {
		file = config_setting_source_file(s);
		line = (int)config_setting_source_line(s);
	}
	if (file == NULL)
		file = ld->path;
	if (ld->err != NULL && ld->errsz > 0)
		(void)mash_snprintf(ld->err, ld->errsz, "%s:%d: %s%s%s", file,
		                    line, msg, what != NULL ? ": " : "",
		                    what != NULL ? what : "");
	return MASH_ERR_POLICY;
}

/* Reject any member of group s whose name is not in allowed (NULL-ended). */
static int
check_keys(struct loader *ld, const config_setting_t *s,
           const char *const *allowed, const char *where)
{
	int i, n = config_setting_length(s);

	for (i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		size_t k;
		int ok = 0;

		for (k = 0; name != NULL && allowed[k] != NULL; k++)
			if (strcmp(name, allowed[k]) == 0)
				ok = 1;
		if (!ok) {
			char msg[128];

			(void)mash_snprintf(msg, sizeof(msg),
			                    "unknown key in %s", where);
			return fail(ld, m, msg,
			            name != NULL ? name : "(unnamed)");
		}
	}
	return MASH_OK;
}

static int
get_int(struct loader *ld, const config_setting_t *g, const char *key, long lo,
        long hi, int *out)
{
	config_setting_t *m = config_setting_get_member(g, key);
	long v;

	if (m == NULL)
		return MASH_OK; /* keep the default */
	if (config_setting_type(m) != CONFIG_TYPE_INT)
		return fail(ld, m, "value must be an integer", key);
	v = (long)config_setting_get_int(m);
	if (v < lo || v > hi) {
		char msg[96];

		(void)mash_snprintf(msg, sizeof(msg),
		                    "value out of range %ld..%ld", lo, hi);
		return fail(ld, m, msg, key);
	}
	*out = (int)v;
	return MASH_OK;
}

static int
get_u32(struct loader *ld, const config_setting_t *g, const char *key, long lo,
        long hi, uint32_t *out)
{
	int v = (int)*out;
	int rc = get_int(ld, g, key, lo, hi, &v);

	if (rc == MASH_OK)
		*out = (uint32_t)v;
	return rc;
}

static int
get_bool(struct loader *ld, const config_setting_t *g, const char *key,
         int *out)
{
	config_setting_t *m = config_setting_get_member(g, key);

	if (m == NULL)
		return MASH_OK;
	if (config_setting_type(m) != CONFIG_TYPE_BOOL)
		return fail(ld, m, "value must be true or false", key);
	*out = config_setting_get_bool(m);
	return MASH_OK;
}

static int
get_str(struct loader *ld, const config_setting_t *g, const char *key,
        char *dst, size_t dstsz, int required)
{
	config_setting_t *m = config_setting_get_member(g, key);
	const char *v;

	if (m == NULL)
		return required ? fail(ld, g, "missing key", key) : MASH_OK;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return fail(ld, m, "value must be a string", key);
	v = config_setting_get_string(m);
	if (v == NULL || v[0] == '\0' ||
	    mash_str_check(v, dstsz - 1) != MASH_OK)
		return fail(ld, m, "empty, too long or not UTF-8", key);
	(void)mash_strlcpy(dst, v, dstsz);
	return MASH_OK;
}

static int
category_from_name(const char *name, int *out)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value_by_name(
	    &mash__v1__category__descriptor, name);
	if (v == NULL || v->value == MASH__V1__CATEGORY__CATEGORY_UNSPECIFIED)
		return MASH_ERR_BAD_ENUM;
	*out = v->value;
	return MASH_OK;
}

static int
get_categories(struct loader *ld, const config_setting_t *g, const char *key,
               int *cats, size_t *n)
{
	config_setting_t *m = config_setting_get_member(g, key);
	int i, len;

	if (m == NULL)
		return MASH_OK;
	if (!config_setting_is_array(m) && !config_setting_is_list(m))
		return fail(ld, m, "value must be an array of category names",
		            key);
	len = config_setting_length(m);
	if (len < 0 || (size_t)len > MASH_S47_MAX_CATEGORIES)
		return fail(ld, m, "too many categories (max 16)", key);
	for (i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
		const char *name = config_setting_get_string(e);

		if (name == NULL)
			return fail(ld, m, "category must be a string", key);
		if (category_from_name(name, &cats[i]) != MASH_OK)
			return fail(ld, m, "unknown category", name);
	}
	*n = (size_t)len;
	return MASH_OK;
}

/* A group of agency = "role" pairs. */
static int
get_agency_roles(struct loader *ld, const config_setting_t *g, const char *key,
                 struct agency_role *ar, size_t *n)
{
	static const char *const agencies[] = {
	    "police",  "health",      "education", "yot",
	    "housing", "social-care", NULL};
	config_setting_t *m = config_setting_get_member(g, key);
	int i, len, rc;

	if (m == NULL)
		return MASH_OK;
	if (!config_setting_is_group(m))
		return fail(
		    ld, m, "value must be a group { agency = \"role\"; }", key);
	rc = check_keys(ld, m, agencies, key);
	if (rc != MASH_OK)
		return rc;
	len = config_setting_length(m);
	*n = 0;
	for (i = 0; i < len && (size_t)i < MAX_AGENCY_ROLES; i++) {
		config_setting_t *e = config_setting_get_elem(m, (unsigned)i);

		(void)mash_strlcpy(ar[i].agency, config_setting_name(e),
		                   sizeof(ar[i].agency));
		rc = get_str(ld, m, ar[i].agency, ar[i].role,
		             sizeof(ar[i].role), 1);
		if (rc != MASH_OK)
			return rc;
		(*n)++;
	}
	return MASH_OK;
}

static int
load_rule(struct loader *ld, const config_setting_t *g, struct rule *r)
{
	static const char *const keys[] = {"id",
	                                   "kind",
	                                   "enabled",
	                                   "same_day",
	                                   "min_severity",
	                                   "categories",
	                                   "infant_categories",
	                                   "infant_under_months",
	                                   "infant_min_severity",
	                                   "min_agencies",
	                                   "window_days",
	                                   "min_severity_sum",
	                                   "min_vcl_score",
	                                   NULL};
	char kind[32] = "";
	size_t k;
	int rc;

	memset(r, 0, sizeof(*r));
	r->enabled = 1;
	if (!config_setting_is_group(g))
		return fail(ld, g,
		            "rule must be a group { id = ...; kind = ...; }",
		            NULL);
	rc = check_keys(ld, g, keys, "rule");
	if (rc != MASH_OK)
		return rc;
	rc = get_str(ld, g, "id", r->id, sizeof(r->id), 1);
	if (rc == MASH_OK)
		rc = get_str(ld, g, "kind", kind, sizeof(kind), 1);
	if (rc != MASH_OK)
		return rc;
	for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (strcmp(kind, kind_names[k]) == 0)
			break;
	if (k == sizeof(kind_names) / sizeof(kind_names[0]))
		return fail(ld, config_setting_get_member(g, "kind"),
		            "unknown rule kind (imminent, serious-category, "
		            "multi-agency, accumulation, vcl)",
		            kind);
	r->kind = (enum rule_kind)k;
	/* Defaults per kind, the values of the spec's table. */
	r->min_severity = r->kind == RK_IMMINENT ? 4 : 3;
	r->min_agencies = r->kind == RK_MULTI ? 2 : 3;
	r->window_days = r->kind == RK_MULTI ? 30 : 90;
	r->min_severity_sum = 8;
	r->min_vcl_score = 4;
	r->infant_under_months = 12;
	r->same_day = r->kind == RK_IMMINENT;
	if ((rc = get_bool(ld, g, "enabled", &r->enabled)) != MASH_OK ||
	    (rc = get_bool(ld, g, "same_day", &r->same_day)) != MASH_OK ||
	    (rc = get_u32(ld, g, "min_severity", 0, 4, &r->min_severity)) !=
	        MASH_OK ||
	    (rc = get_categories(ld, g, "categories", r->categories,
	                         &r->n_categories)) != MASH_OK ||
	    (rc = get_categories(ld, g, "infant_categories",
	                         r->infant_categories, &r->n_infant)) !=
	        MASH_OK ||
	    (rc = get_int(ld, g, "infant_under_months", 1, 216,
	                  &r->infant_under_months)) != MASH_OK ||
	    (rc = get_u32(ld, g, "infant_min_severity", 0, 4,
	                  &r->infant_min_severity)) != MASH_OK ||
	    (rc = get_u32(ld, g, "min_agencies", 1, 6, &r->min_agencies)) !=
	        MASH_OK ||
	    (rc = get_int(ld, g, "window_days", 1, 3650, &r->window_days)) !=
	        MASH_OK ||
	    (rc = get_u32(ld, g, "min_severity_sum", 1, 10000,
	                  &r->min_severity_sum)) != MASH_OK ||
	    (rc = get_u32(ld, g, "min_vcl_score", 0, 4, &r->min_vcl_score)) !=
	        MASH_OK)
		return rc;
	if (r->kind == RK_SERIOUS && r->n_categories == 0 && r->n_infant == 0)
		return fail(ld, g, "serious-category rule without categories",
		            r->id);
	return MASH_OK;
}

static int
load_triggers(struct loader *ld, const config_setting_t *t,
              struct mash_s47_policy *p)
{
	static const char *const keys[] = {"level",        "required_roles",
	                                   "agency_roles", "involved_roles",
	                                   "rules",        NULL};
	config_setting_t *m;
	int i, n, rc, level = (int)p->level;
	size_t j;

	rc = check_keys(ld, t, keys, "triggers");
	if (rc != MASH_OK)
		return rc;
	rc = get_int(ld, t, "level", 1, 4, &level);
	if (rc != MASH_OK)
		return rc;
	p->level = (uint32_t)level;
	m = config_setting_get_member(t, "required_roles");
	if (m != NULL) {
		if (!config_setting_is_array(m))
			return fail(ld, m, "value must be an array of roles",
			            "required_roles");
		n = config_setting_length(m);
		if (n < 1 || (size_t)n > MASH_S47_MAX_ROLES)
			return fail(ld, m, "1 to 16 roles", "required_roles");
		for (i = 0; i < n; i++) {
			const char *v = config_setting_get_string_elem(m, i);

			if (v == NULL || v[0] == '\0' ||
			    mash_str_check(v, MASH_S47_MAX_ROLE - 1) != MASH_OK)
				return fail(ld, m, "bad role",
				            "required_roles");
			(void)mash_strlcpy(p->required[i], v,
			                   MASH_S47_MAX_ROLE);
		}
		p->n_required = (size_t)n;
	}
	if ((rc = get_agency_roles(ld, t, "agency_roles", p->agency_roles,
	                           &p->n_agency_roles)) != MASH_OK ||
	    (rc = get_agency_roles(ld, t, "involved_roles", p->involved,
	                           &p->n_involved)) != MASH_OK)
		return rc;
	m = config_setting_get_member(t, "rules");
	if (m == NULL)
		return fail(ld, t, "missing key", "rules");
	if (!config_setting_is_list(m))
		return fail(ld, m, "rules must be a list ( {...}, ... )", NULL);
	n = config_setting_length(m);
	if (n < 1 || (size_t)n > MASH_S47_MAX_RULES)
		return fail(ld, m, "1 to 16 rules", "rules");
	for (i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(m, (unsigned)i);

		rc = load_rule(ld, g, &p->rules[i]);
		if (rc != MASH_OK)
			return rc;
		for (j = 0; j < (size_t)i; j++)
			if (strcmp(p->rules[j].id, p->rules[i].id) == 0)
				return fail(ld, g, "duplicate rule id",
				            p->rules[i].id);
	}
	p->n_rules = (size_t)n;
	return MASH_OK;
}

/* Resolve name against the directory of path (unless absolute). */
static char *
resolve_path(const char *path, const char *name)
{
	char buf[MAX_PATH];
	const char *slash = strrchr(path, '/');

	if (name[0] == '/' || slash == NULL)
		return mash_strdup(name);
	if (mash_snprintf(buf, sizeof(buf), "%.*s/%s", (int)(slash - path),
	                  path, name) != MASH_OK)
		return NULL;
	return mash_strdup(buf);
}

static int
load_clocks(struct loader *ld, const config_setting_t *c,
            struct mash_s47_policy *p)
{
	static const char *const keys[] = {
	    "holidays_file",         "referral_decision_working_days",
	    "referral_min_severity", "strategy_discussion_working_days",
	    "icpc_working_days",     "assessment_working_days",
	    "escalate_to_role",      NULL};
	char file[MAX_PATH] = "";
	int rc;

	rc = check_keys(ld, c, keys, "clocks");
	if (rc != MASH_OK)
		return rc;
	if ((rc = get_int(ld, c, "referral_decision_working_days", 0,
	                  MASH_CAL_MAX_WORKING_DAYS,
	                  &p->clock_days[MASH_S47_CLOCK_REFERRAL])) !=
	        MASH_OK ||
	    (rc = get_u32(ld, c, "referral_min_severity", 0, 4,
	                  &p->referral_min_severity)) != MASH_OK ||
	    (rc = get_int(ld, c, "strategy_discussion_working_days", 0,
	                  MASH_CAL_MAX_WORKING_DAYS,
	                  &p->clock_days[MASH_S47_CLOCK_STRATEGY])) !=
	        MASH_OK ||
	    (rc = get_int(ld, c, "icpc_working_days", 0,
	                  MASH_CAL_MAX_WORKING_DAYS,
	                  &p->clock_days[MASH_S47_CLOCK_ICPC])) != MASH_OK ||
	    (rc = get_int(
	         ld, c, "assessment_working_days", 0, MASH_CAL_MAX_WORKING_DAYS,
	         &p->clock_days[MASH_S47_CLOCK_ASSESSMENT])) != MASH_OK ||
	    (rc = get_str(ld, c, "escalate_to_role", p->escalate_role,
	                  sizeof(p->escalate_role), 0)) != MASH_OK ||
	    (rc = get_str(ld, c, "holidays_file", file, sizeof(file), 0)) !=
	        MASH_OK)
		return rc;
	if (file[0] != '\0') {
		p->holidays_file = resolve_path(ld->path, file);
		if (p->holidays_file == NULL)
			return MASH_ERR_NOMEM;
	}
	return MASH_OK;
}

int
mash_s47_policy_load(const char *path, struct mash_s47_policy **out, char *err,
                     size_t errsz)
{
	struct loader ld = {path, err, errsz};
	struct mash_s47_policy *p = NULL;
	config_setting_t *t, *c;
	char dir[MAX_PATH];
	const char *slash;
	config_t cfg;
	int rc = MASH_ERR_POLICY;

	*out = NULL;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	config_init(&cfg);
	if (path == NULL) {
		rc = MASH_ERR_INVAL;
		goto out;
	}
	/* @include "s47.cfg" is relative to the including file. */
	slash = strrchr(path, '/');
	if (slash != NULL &&
	    mash_snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
	                  path) == MASH_OK)
		config_set_include_dir(&cfg, dir);
	if (!config_read_file(&cfg, path)) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			(void)fail(&ld, NULL, "cannot read policy file", NULL);
			rc = MASH_ERR_IO;
		} else if (err != NULL && errsz > 0) {
			(void)mash_snprintf(err, errsz, "%s:%d: %s",
			                    config_error_file(&cfg) != NULL
			                        ? config_error_file(&cfg)
			                        : path,
			                    config_error_line(&cfg),
			                    config_error_text(&cfg));
		}
		goto out;
	}
	p = mash_calloc(1, sizeof(*p));
	if (p == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	set_defaults(p);
	t = config_lookup(&cfg, "triggers");
	c = config_lookup(&cfg, "clocks");
	if (t == NULL || !config_setting_is_group(t)) {
		rc = fail(&ld, t, "no `triggers` group (policy/s47.cfg)", NULL);
		goto out;
	}
	if (c == NULL || !config_setting_is_group(c)) {
		rc = fail(&ld, c, "no `clocks` group (policy/s47.cfg)", NULL);
		goto out;
	}
	rc = load_triggers(&ld, t, p);
	if (rc != MASH_OK)
		goto out;
	rc = load_clocks(&ld, c, p);
	if (rc != MASH_OK)
		goto out;
	*out = p;
	p = NULL; /* transferred */
out:
	mash_s47_policy_free(p);
	config_destroy(&cfg);
	return rc;
}

/* ---- facts -------------------------------------------------------------- */

int
mash_s47_is_closing_category(int category)
{
	return category == MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD ||
	       category == MASH__V1__CATEGORY__S47_OUTCOME ||
	       category == MASH__V1__CATEGORY__REFERRAL_DECISION;
}

int
mash_s47_fact_from_event(const Mash__V1__AgencyEvent *ev,
                         struct mash_s47_fact *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->dob_day = MASH_S47_NO_DOB;
	if (ev == NULL)
		return MASH_ERR_INVAL;
	if (mash_strlcpy(out->agency, ev->agency != NULL ? ev->agency : "",
	                 sizeof(out->agency)) != MASH_OK ||
	    mash_strlcpy(out->event_id,
	                 ev->event_id != NULL ? ev->event_id : "",
	                 sizeof(out->event_id)) != MASH_OK) {
		memset(out, 0, sizeof(*out));
		out->dob_day = MASH_S47_NO_DOB;
		return MASH_ERR_FIELD_TOO_LONG;
	}
	out->category = (int)ev->category;
	out->severity = ev->severity;
	out->occurred_at = ev->occurred_at;
	if (ev->subject != NULL && ev->subject->date_of_birth != NULL &&
	    mash_cal_parse_date(ev->subject->date_of_birth, &out->dob_day) !=
	        MASH_OK)
		out->dob_day = MASH_S47_NO_DOB;
	for (i = 0; i < ev->n_vcl && i < MASH_MAX_REPEATED; i++)
		if (ev->vcl[i] != NULL && ev->vcl[i]->score > out->vcl_max)
			out->vcl_max = ev->vcl[i]->score;
	if (ev->detail_case == MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE &&
	    ev->social_care != NULL)
		out->held_at = ev->social_care->held_at;
	return MASH_OK;
}

/* ---- evaluation -------------------------------------------------------- */

/* Working set of one evaluation, on the heap-free path: bitmaps over the
 * history say which events a rule selected. */
struct eval {
	const struct mash_s47_policy *p;
	const struct mash_s47_fact *h;
	size_t n, cur;
	unsigned char sel[MASH_S47_MAX_HISTORY]; /* union of fired rules */
	unsigned char tmp[MASH_S47_MAX_HISTORY]; /* one rule's selection */
};

static int
is_concern(const struct mash_s47_fact *f)
{
	return !mash_s47_is_closing_category(f->category);
}

static int
in_list(const int *list, size_t n, int v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == v)
			return 1;
	return 0;
}

/* 1 if the child was under `months` months old on the London date of at. */
static int
under_months(int32_t dob, int64_t at, int months)
{
	int y, m, d, ny, nm;
	int32_t limit;

	if (dob == MASH_S47_NO_DOB)
		return 0;
	mash_cal_ymd_from_day(dob, &y, &m, &d);
	nm = m - 1 + months;
	ny = y + nm / 12;
	nm = nm % 12 + 1;
	/* A birthday that does not exist that year (29 February) is reached
	 * on the day after the month's last day: the protective reading. */
	if (mash_cal_day_from_ymd(ny, nm, 1, &limit) != MASH_OK)
		return 0;
	limit += d - 1;
	return mash_cal_local_day(at) >= dob && mash_cal_local_day(at) < limit;
}

/* Distinct agencies among the selected events: a linear pass against the
 * (few) agencies seen so far, so a window costs O(n), not O(n^2). */
#define MAX_DISTINCT 32u
static size_t
count_agencies(const struct eval *ev, const unsigned char *sel)
{
	const char *seen[MAX_DISTINCT];
	size_t i, j, n = 0;

	for (i = 0; i < ev->n; i++) {
		if (!sel[i])
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(seen[j], ev->h[i].agency) == 0)
				break;
		if (j == n && n < MAX_DISTINCT)
			seen[n++] = ev->h[i].agency;
	}
	return n;
}

/*
 * Sliding windows of window_days containing hist[cur]: every window
 * [s, s + W] with s an event time in [cur - W, cur]. An event counts in a
 * window if qualifies(); a window satisfies the rule if it holds enough
 * agencies (and enough summed severity for accumulation). tmp receives the
 * union of the events of every satisfying window; returns 1 if any.
 */
static int
window_rule(struct eval *ev, const struct rule *r, size_t *agencies_out,
            uint32_t *sum_out)
{
	const struct mash_s47_fact *c = &ev->h[ev->cur];
	int64_t w = (int64_t)r->window_days * DAY_MS;
	unsigned char win[MASH_S47_MAX_HISTORY];
	size_t i, k, best_ag = 0;
	uint32_t best_sum = 0;
	int any = 0;

	memset(ev->tmp, 0, ev->n);
	for (k = 0; k < ev->n; k++) {
		int64_t s = ev->h[k].occurred_at;
		uint32_t sum = 0;
		size_t ag;

		if (!is_concern(&ev->h[k]) || s > c->occurred_at ||
		    s < c->occurred_at - w)
			continue;
		memset(win, 0, ev->n);
		for (i = 0; i < ev->n; i++) {
			const struct mash_s47_fact *f = &ev->h[i];

			if (!is_concern(f) || f->occurred_at < s ||
			    f->occurred_at > s + w)
				continue;
			if (r->kind == RK_MULTI &&
			    f->severity < r->min_severity)
				continue;
			win[i] = 1;
			sum += f->severity;
		}
		if (!win[ev->cur])
			continue;
		ag = count_agencies(ev, win);
		if (ag < r->min_agencies)
			continue;
		if (r->kind == RK_ACCUM && sum < r->min_severity_sum)
			continue;
		any = 1;
		if (ag > best_ag || (ag == best_ag && sum > best_sum)) {
			best_ag = ag;
			best_sum = sum;
		}
		for (i = 0; i < ev->n; i++)
			ev->tmp[i] |= win[i];
	}
	*agencies_out = best_ag;
	*sum_out = best_sum;
	return any;
}

static void
append_reason(char *reason, const char *rule_id, const char *sentence)
{
	size_t len = strlen(reason);

	if (len >= MASH_S47_MAX_REASON - 1)
		return;
	(void)mash_snprintf(reason + len, MASH_S47_MAX_REASON - len, "%s%s: %s",
	                    len > 0 ? " " : "", rule_id, sentence);
}

static const char *
category_name(int category)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &mash__v1__category__descriptor, category);

	return v != NULL ? v->name : "OTHER";
}

/* Evaluate one rule for hist[cur]: 1 and ev->tmp/sentence filled if fired. */
static int
fire_rule(struct eval *ev, const struct rule *r, char *sentence, size_t ssz)
{
	const struct mash_s47_fact *c = &ev->h[ev->cur];
	size_t agencies = 0;
	uint32_t sum = 0;
	int fired = 0;

	memset(ev->tmp, 0, ev->n);
	sentence[0] = '\0';
	switch (r->kind) {
	case RK_IMMINENT:
		if (c->severity >= r->min_severity) {
			fired = 1;
			(void)mash_snprintf(
			    sentence, ssz,
			    "%s reported a severity %u concern (harm may be "
			    "imminent).",
			    c->agency, c->severity);
		}
		break;
	case RK_SERIOUS:
		if (c->severity >= r->min_severity &&
		    in_list(r->categories, r->n_categories, c->category)) {
			fired = 1;
			(void)mash_snprintf(
			    sentence, ssz, "%s reported %s at severity %u.",
			    c->agency, category_name(c->category), c->severity);
		} else if (in_list(r->infant_categories, r->n_infant,
		                   c->category) &&
		           c->severity >= r->infant_min_severity &&
		           under_months(c->dob_day, c->occurred_at,
		                        r->infant_under_months)) {
			fired = 1;
			(void)mash_snprintf(
			    sentence, ssz,
			    "%s reported %s to a child under %d months old.",
			    c->agency, category_name(c->category),
			    r->infant_under_months);
		}
		if (fired)
			ev->tmp[ev->cur] = 1;
		break;
	case RK_MULTI:
		if (c->severity < r->min_severity)
			break;
		fired = window_rule(ev, r, &agencies, &sum);
		if (fired)
			(void)mash_snprintf(sentence, ssz,
			                    "%zu agencies reported severity "
			                    "%u+ concerns within "
			                    "%d days.",
			                    agencies, r->min_severity,
			                    r->window_days);
		break;
	case RK_ACCUM:
		fired = window_rule(ev, r, &agencies, &sum);
		if (fired)
			(void)mash_snprintf(
			    sentence, ssz,
			    "%zu agencies reported concerns with a combined "
			    "severity of %u within %d days.",
			    agencies, sum, r->window_days);
		break;
	case RK_VCL:
		if (c->vcl_max >= r->min_vcl_score) {
			fired = 1;
			(void)mash_snprintf(
			    sentence, ssz,
			    "%s scored a Vulnerability Checklist factor %u "
			    "(VCL band %s): refer to the Risk Management "
			    "Group.",
			    c->agency, c->vcl_max,
			    c->vcl_max >= 4 ? "VERY_HIGH" : "HIGH");
		}
		break;
	}
	if (fired && r->kind != RK_MULTI && r->kind != RK_ACCUM)
		ev->tmp[ev->cur] = 1;
	return fired;
}

static int
has_ref(char (*list)[MASH_S47_MAX_REF], size_t n, const char *ref)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], ref) == 0)
			return 1;
	return 0;
}

static void
add_role(struct mash_s47_result *out, const char *role)
{
	size_t i;

	for (i = 0; i < out->n_roles; i++)
		if (strcmp(out->roles[i], role) == 0)
			return;
	if (out->n_roles < MASH_S47_MAX_ROLES)
		(void)mash_strlcpy(out->roles[out->n_roles++], role,
		                   MASH_S47_MAX_ROLE);
}

static const char *
role_of(const struct agency_role *ar, size_t n, const char *agency)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(ar[i].agency, agency) == 0)
			return ar[i].role;
	return NULL;
}

/* Required attendees: Working Together's minimum (social worker and
 * manager, police, health), the referring agencies (every agency with a
 * contributing event), and the school when education is involved. */
static void
compute_roles(const struct eval *ev, struct mash_s47_result *out)
{
	const struct mash_s47_policy *p = ev->p;
	size_t i, k;

	for (i = 0; i < p->n_required; i++)
		add_role(out, p->required[i]);
	for (i = 0; i < out->n_events; i++) {
		char agency[MASH_MAX_AGENCY];
		const char *slash = strchr(out->events[i], '/');
		const char *role;

		if (slash == NULL ||
		    (size_t)(slash - out->events[i]) >= sizeof(agency))
			continue;
		memcpy(agency, out->events[i],
		       (size_t)(slash - out->events[i]));
		agency[slash - out->events[i]] = '\0';
		role = role_of(p->agency_roles, p->n_agency_roles, agency);
		if (role != NULL)
			add_role(out, role);
	}
	for (k = 0; k < p->n_involved; k++) {
		for (i = 0; i < ev->n; i++) {
			if (is_concern(&ev->h[i]) &&
			    strcmp(ev->h[i].agency, p->involved[k].agency) ==
			        0) {
				add_role(out, p->involved[k].role);
				break;
			}
		}
	}
}

int
mash_s47_evaluate(const struct mash_s47_policy *p,
                  const struct mash_s47_fact *hist, size_t n, size_t cur,
                  const struct mash_s47_open *open, struct mash_s47_result *out)
{
	struct eval *ev = NULL;
	const struct mash_s47_fact *c;
	char sentence[MASH_S47_MAX_REASON];
	size_t i, r;
	int any = 0, rc = MASH_ERR_INVAL;

	if (out == NULL)
		return MASH_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (p == NULL || hist == NULL || cur >= n || n > MASH_S47_MAX_HISTORY)
		goto out;
	c = &hist[cur];
	if (open != NULL && !open->open)
		open = NULL;
	if (mash_s47_is_closing_category(c->category)) {
		/* "A STRATEGY_DISCUSSION_HELD event from social care closes
		 * it" (s47-triggers.md); other closing events only move
		 * clocks (s47_store.c). */
		if (open != NULL && strcmp(c->agency, "social-care") == 0 &&
		    c->category == MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD)
			out->action = MASH_S47_CLOSE;
		rc = MASH_OK;
		goto out;
	}
	ev = mash_calloc(1, sizeof(*ev));
	if (ev == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	ev->p = p;
	ev->h = hist;
	ev->n = n;
	ev->cur = cur;
	for (r = 0; r < p->n_rules; r++) {
		const struct rule *rule = &p->rules[r];

		if (!rule->enabled ||
		    !fire_rule(ev, rule, sentence, sizeof(sentence)))
			continue;
		if (!any)
			(void)mash_strlcpy(out->rule_id, rule->id,
			                   sizeof(out->rule_id));
		any = 1;
		if (rule->same_day)
			out->same_day = 1;
		append_reason(out->reason, rule->id, sentence);
		for (i = 0; i < n; i++)
			ev->sel[i] |= ev->tmp[i];
	}
	rc = MASH_OK;
	if (!any)
		goto out;
	/* Contributing events: those already on the open trigger first, then
	 * this evaluation's, oldest first. */
	if (open != NULL) {
		for (i = 0; i < open->n_events && i < MASH_S47_MAX_CONTRIB; i++)
			(void)mash_strlcpy(out->events[out->n_events++],
			                   open->events[i], MASH_S47_MAX_REF);
	}
	for (;;) {
		size_t best = n;
		char ref[MASH_S47_MAX_REF];

		for (i = 0; i < n; i++)
			if (ev->sel[i] &&
			    (best == n ||
			     hist[i].occurred_at < hist[best].occurred_at))
				best = i;
		if (best == n)
			break;
		ev->sel[best] = 0;
		if (mash_snprintf(ref, sizeof(ref), "%s/%s", hist[best].agency,
		                  hist[best].event_id) != MASH_OK)
			continue;
		if (has_ref(out->events, out->n_events, ref) ||
		    out->n_events >= MASH_S47_MAX_CONTRIB)
			continue;
		(void)mash_strlcpy(out->events[out->n_events++], ref,
		                   MASH_S47_MAX_REF);
		(void)mash_strlcpy(out->new_events[out->n_new++], ref,
		                   MASH_S47_MAX_REF);
	}
	if (open != NULL && out->n_new == 0) {
		/* Nothing new (a re-evaluation of the same event): no update.
		 */
		memset(out, 0, sizeof(*out));
		goto out;
	}
	out->action = open != NULL ? MASH_S47_UPDATE : MASH_S47_RAISE;
	out->level = p->level;
	compute_roles(ev, out);
out:
	mash_free(ev);
	return rc;
}
