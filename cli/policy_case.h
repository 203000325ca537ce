/*
 * policy_case.h - reading the libconfig groups of policy test cases
 * (mashctl policy test, docs/internals/policy.md) and of the event file
 * of mashctl policy eval: one parser for both, so an event written for a
 * test case can be evaluated as it stands.
 *
 * Errors are printed as "file:line: message" on stderr; functions that
 * return an exit code return MASHCTL_EXIT_USAGE (bad input) after printing,
 * MASHCTL_EXIT_OK otherwise.
 */
#ifndef MASHCTL_POLICY_CASE_H
#define MASHCTL_POLICY_CASE_H

#include <stdint.h>

#include <libconfig.h>

#include "common/limits.h"
#include "policy/pol.h"

/* Print "file:line: message" (line of s, 0 when s is NULL); returns
 * MASHCTL_EXIT_USAGE. */
int mashctl_case_error(const char *file, const config_setting_t *s,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Member key of g as a string; NULL if absent or not a string. */
const char *mashctl_case_string(const config_setting_t *g, const char *key);
/* Optional bool (absent: 0): MASH_OK, or MASH_ERR_INVAL if not a bool. */
int mashctl_case_bool(const config_setting_t *g, const char *key, int *out);
/* Optional integer in [min, max] (absent: *out unchanged): MASH_OK, or
 * MASH_ERR_INVAL. */
int mashctl_case_uint(const config_setting_t *g, const char *key, unsigned min,
                      unsigned max, unsigned *out);
/* Refuse any member of g not in the NULL-terminated keys (never silently
 * ignored). */
int mashctl_case_only_keys(const char *file, const config_setting_t *g,
                           const char *where, const char *const *keys);
/* A list of field patterns into a set; exact names in *exact, classes and
 * globs in *patterns; *given says whether the list was there. */
int mashctl_case_fieldset(const char *file, const config_setting_t *g,
                          const char *key, uint64_t *patterns, uint64_t *exact,
                          int *given);
/* Enum value by name: MASH_OK, MASH_ERR_INVAL (NULL), MASH_ERR_BAD_ENUM. */
int mashctl_case_enum(const ProtobufCEnumDescriptor *d, const char *name,
                      int *out);
/* The fields a test event carries when its 'fields' list is absent. */
uint64_t mashctl_case_default_present(const char *agency,
                                      const struct mash_pol_event *ev);

/*
 * The event group ev_g ({ agency; category; severity; consent;
 * classification; do_not_disclose_to_family; restrict_to_agencies; fields })
 * into *ev. Strings are borrowed from ev_g; restrict_to (room for
 * MASH_MAX_REPEATED) backs ev->restrict_to. name labels error messages.
 */
int mashctl_case_event(const char *file, const config_setting_t *ev_g,
                       const char *name, struct mash_pol_event *ev,
                       char **restrict_to);

/* mashctl policy eval ... (cmd_policy_eval.c); argv[0] is "eval". */
int mashctl_policy_eval(int argc, char **argv);

#endif
