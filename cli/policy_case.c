/*
 * policy_case.c - the libconfig groups of policy test cases and of
 * mashctl policy eval's event file. See policy_case.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/policy_case.h"
#include "common/err.h"
#include "common/str.h"

#define FB(f) ((uint64_t)1 << (f))

int
mashctl_case_error(const char *file, const config_setting_t *s, const char *fmt,
                   ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s:%u: %s\n", file,
	        s != NULL ? config_setting_source_line(s) : 0u, msg);
	return MASHCTL_EXIT_USAGE;
}

const char *
mashctl_case_string(const config_setting_t *g, const char *key)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL || config_setting_type(s) != CONFIG_TYPE_STRING)
		return NULL;
	return config_setting_get_string(s);
}

int
mashctl_case_bool(const config_setting_t *g, const char *key, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	*out = 0;
	if (s == NULL)
		return MASH_OK;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return MASH_ERR_INVAL;
	*out = config_setting_get_bool(s) ? 1 : 0;
	return MASH_OK;
}

int
mashctl_case_uint(const config_setting_t *g, const char *key, unsigned min,
                  unsigned max, unsigned *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	int v;

	if (s == NULL)
		return MASH_OK;
	if (config_setting_type(s) != CONFIG_TYPE_INT)
		return MASH_ERR_INVAL;
	v = config_setting_get_int(s);
	if (v < (int)min || v > (int)max)
		return MASH_ERR_INVAL;
	*out = (unsigned)v;
	return MASH_OK;
}

int
mashctl_case_only_keys(const char *file, const config_setting_t *g,
                       const char *where, const char *const *keys)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s =
		    config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);
		size_t j;

		for (j = 0; keys[j] != NULL; j++)
			if (k != NULL && strcmp(k, keys[j]) == 0)
				break;
		if (keys[j] == NULL)
			return mashctl_case_error(file, s,
			                          "unknown key '%.64s' in %s",
			                          k != NULL ? k : "", where);
	}
	return MASHCTL_EXIT_OK;
}

/* A list of field patterns into a set; exact names are kept in *exact so
 * that naming an absent field is a failure, classes and globs are cut
 * down to the fields the event carries. */
int
mashctl_case_fieldset(const char *file, const config_setting_t *g,
                      const char *key, uint64_t *patterns, uint64_t *exact,
                      int *given)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	*patterns = 0;
	*exact = 0;
	*given = s != NULL;
	if (s == NULL)
		return MASHCTL_EXIT_OK;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return mashctl_case_error(
		    file, s, "'%s' must be a list of field names", key);
	if ((unsigned)config_setting_length(s) > MASH_POL_F_COUNT * 2)
		return mashctl_case_error(file, s, "'%s' is too long", key);
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *v = config_setting_get_string_elem(s, (unsigned)i);
		uint64_t set;

		if (v == NULL || mash_pol_fields_resolve(v, &set) != MASH_OK)
			return mashctl_case_error(file, s,
			                          "unknown field '%.64s'",
			                          v != NULL ? v : "");
		if (mash_pol_field_index(v) >= 0)
			*exact |= set;
		else
			*patterns |= set;
	}
	return MASHCTL_EXIT_OK;
}

int
mashctl_case_enum(const ProtobufCEnumDescriptor *d, const char *name, int *out)
{
	const ProtobufCEnumValue *v;

	if (name == NULL)
		return MASH_ERR_INVAL;
	v = protobuf_c_enum_descriptor_get_value_by_name(d, name);
	if (v == NULL)
		return MASH_ERR_BAD_ENUM;
	*out = v->value;
	return MASH_OK;
}

/* The default set of fields a test event carries: a full record of its
 * agency (identity, concern, narrative with that agency's detail, related,
 * VCL), and the handling fields only when they are set. */
uint64_t
mashctl_case_default_present(const char *agency,
                             const struct mash_pol_event *ev)
{
	uint64_t p = 0, s;
	char glob[64];

	(void)mash_pol_fields_resolve("@identity", &s);
	p |= s;
	p |= FB(MASH_POL_F_SIGNPOST) | FB(MASH_POL_F_CATEGORY) |
	     FB(MASH_POL_F_SEVERITY) | FB(MASH_POL_F_OCCURRED_AT) |
	     FB(MASH_POL_F_CONSENT) | FB(MASH_POL_F_CLASSIFICATION) |
	     FB(MASH_POL_F_SUMMARY) | FB(MASH_POL_F_REPORTER) |
	     FB(MASH_POL_F_AGENCY_REF) | FB(MASH_POL_F_RELATED) |
	     FB(MASH_POL_F_VCL) | FB(MASH_POL_F_VCL_EVIDENCE);
	if (ev->do_not_disclose_to_family)
		p |= FB(MASH_POL_F_DO_NOT_DISCLOSE);
	if (ev->n_restrict_to > 0)
		p |= FB(MASH_POL_F_RESTRICT_TO);
	if (strcmp(agency, "social-care") == 0)
		(void)mash_snprintf(glob, sizeof(glob), "detail.social_care.*");
	else
		(void)mash_snprintf(glob, sizeof(glob), "detail.%s.*", agency);
	if (mash_pol_fields_resolve(glob, &s) == MASH_OK)
		p |= s;
	return p;
}

int
mashctl_case_event(const char *file, const config_setting_t *ev_g,
                   const char *name, struct mash_pol_event *ev,
                   char **restrict_to)
{
	static const char *const event_keys[] = {"agency",
	                                         "category",
	                                         "severity",
	                                         "consent",
	                                         "classification",
	                                         "do_not_disclose_to_family",
	                                         "restrict_to_agencies",
	                                         "fields",
	                                         NULL};
	const config_setting_t *s;
	const char *agency, *cls;
	unsigned sev = 0;
	int dndf = 0, given, ex;
	uint64_t pat, exact;

	memset(ev, 0, sizeof(*ev));
	if (ev_g == NULL || !config_setting_is_group(ev_g))
		return mashctl_case_error(file, ev_g,
		                          "'%s': the event must be a group "
		                          "{ ... }",
		                          name);
	ex = mashctl_case_only_keys(file, ev_g, "event", event_keys);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	agency = mashctl_case_string(ev_g, "agency");
	if (agency == NULL || !mash_pol_agency_valid(agency))
		return mashctl_case_error(file, ev_g,
		                          "case '%s': event needs a known "
		                          "'agency'",
		                          name);
	ev->agency = agency;
	if (mashctl_case_enum(&mash__v1__category__descriptor,
	                      mashctl_case_string(ev_g, "category"),
	                      &ev->category) != MASH_OK)
		return mashctl_case_error(file, ev_g,
		                          "case '%s': unknown or missing "
		                          "event 'category'",
		                          name);
	if (mashctl_case_enum(&mash__v1__consent__descriptor,
	                      mashctl_case_string(ev_g, "consent"),
	                      &ev->consent) != MASH_OK)
		return mashctl_case_error(file, ev_g,
		                          "case '%s': unknown or missing "
		                          "event 'consent'",
		                          name);
	if (mashctl_case_uint(ev_g, "severity", 0, 4, &sev) != MASH_OK)
		return mashctl_case_error(
		    file, ev_g, "case '%s': severity must be 0-4", name);
	ev->severity = sev;
	cls = mashctl_case_string(ev_g, "classification");
	if (cls != NULL && strcmp(cls, "OFFICIAL") != 0 &&
	    strcmp(cls, "OFFICIAL-SENSITIVE") != 0)
		return mashctl_case_error(file, ev_g,
		                          "case '%s': classification must be "
		                          "OFFICIAL or OFFICIAL-SENSITIVE",
		                          name);
	ev->official_sensitive =
	    cls != NULL && strcmp(cls, "OFFICIAL-SENSITIVE") == 0;
	if (mashctl_case_bool(ev_g, "do_not_disclose_to_family", &dndf) !=
	    MASH_OK)
		return mashctl_case_error(
		    file, ev_g,
		    "case '%s': do_not_disclose_to_family "
		    "must be true or false",
		    name);
	ev->do_not_disclose_to_family = dndf;
	s = config_setting_get_member(ev_g, "restrict_to_agencies");
	if (s != NULL) {
		if (!config_setting_is_array(s) && !config_setting_is_list(s))
			return mashctl_case_error(
			    file, s,
			    "case '%s': restrict_to_agencies "
			    "must be a list",
			    name);
		if ((unsigned)config_setting_length(s) > MASH_MAX_REPEATED)
			return mashctl_case_error(
			    file, s, "case '%s': too many agencies", name);
		for (int i = 0; i < config_setting_length(s); i++) {
			const char *a =
			    config_setting_get_string_elem(s, (unsigned)i);

			if (a == NULL)
				return mashctl_case_error(
				    file, s, "case '%s': bad agency", name);
			restrict_to[ev->n_restrict_to++] = (char *)a;
		}
		ev->restrict_to = restrict_to;
	}
	ex = mashctl_case_fieldset(file, ev_g, "fields", &pat, &exact, &given);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	ev->present = given ? (pat | exact | FB(MASH_POL_F_SIGNPOST))
	                    : mashctl_case_default_present(agency, ev);
	return MASHCTL_EXIT_OK;
}
