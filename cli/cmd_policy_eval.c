/*
 * cmd_policy_eval.c - mashctl policy eval (issue 26): what one recipient
 * would receive of one event, and which rule decided each field, without
 * a daemon, a store or a broker (like `opa eval --explain`).
 *
 *   mashctl policy eval --policy FILE --event FILE --as PRINCIPAL
 *                       --purpose P [--directory FILE] [--level N]
 *                       [--agencies N] [--known-to-multiple]
 *                       [--break-glass] [--explain] [--json]
 *
 * The event file is either the event group of a policy test case
 * (`event = { agency = "police"; ... };`, docs/internals/policy.md) or a
 * serialized mash.v1.AgencyEvent (what `mashctl envelope verify
 * --payload-out` writes); the latter is first validated as mashd would,
 * and an event mashd would reject is reported as such (exit 1), since no
 * recipient would ever be decided for. The principal's role and agency
 * come from the directory (default: directory.cfg beside the policy).
 *
 * Exit: 0 decided (whether or not the recipient receives anything),
 * 1 the event would be rejected or the policy has semantic errors,
 * 2 bad usage or unreadable input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libconfig.h>

#include "cli/cmds.h"
#include "cli/policy_case.h"
#include "cli/util.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "event/evt.h"
#include "policy/dir.h"
#include "policy/pol.h"

#define G "policy"

struct eval_args {
	const char *policy, *event, *as, *purpose, *directory;
	unsigned level, agencies;
	int known_to_multiple, break_glass, explain, json;
};

static void
help(FILE *f)
{
	fprintf(f,
	        "usage: mashctl policy eval --policy FILE --event FILE --as "
	        "PRINCIPAL\n"
	        "         --purpose P [--directory FILE] [--level N] "
	        "[--agencies N]\n"
	        "         [--known-to-multiple] [--break-glass] [--explain] "
	        "[--json]\n"
	        "What PRINCIPAL would receive of the event for purpose P in a "
	        "case at\nlevel N (1-4, default 1) with N agencies reporting "
	        "(default 1): the\nrule in force, the fields shared and "
	        "withheld, the flags; --explain adds\nwhich rule and legal "
	        "basis decided each field. The event file is an\n'event = { "
	        "... };' group as in policy test cases, or a serialized\n"
	        "mash.v1.AgencyEvent (mashctl envelope verify --payload-out). "
	        "The\nprincipal's role and agency come from --directory "
	        "(default: directory.cfg\nbeside the policy file).\n"
	        "exit: 0 decided, 1 the event would be rejected by mashd or "
	        "the policy\nhas errors, 2 bad usage or unreadable input\n");
}

/* Only `event = { ... };` at the top level: anything else is refused,
 * never silently unused. */
static int
event_from_config(const char *path, config_t *cfg, struct mash_pol_event *ev,
                  char **restrict_to)
{
	config_setting_t *root = config_root_setting(cfg);
	static const char *const top_keys[] = {"event", NULL};
	int ex;

	ex = mashctl_case_only_keys(path, root, "the event file", top_keys);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	return mashctl_case_event(path, config_lookup(cfg, "event"), "event",
	                          ev, restrict_to);
}

/* Read the event file: a libconfig event group, else a serialized
 * AgencyEvent (decoded into *pb, which ev borrows from). */
static int
load_event(const char *path, config_t *cfg, Mash__V1__AgencyEvent **pb,
           struct mash_pol_event *ev, char **restrict_to)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[256], cerr[256];
	int rc, ex = MASHCTL_EXIT_USAGE;

	*pb = NULL;
	rc = mashctl_read_file(path, MASH_MAX_PAYLOAD, &buf, &len);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: cannot read the event: %s", path,
		            mash_strerror(rc));
		goto out;
	}
	cerr[0] = '\0';
	if (memchr(buf, '\0', len) == NULL &&
	    config_read_string(cfg, (const char *)buf) == CONFIG_TRUE) {
		if (config_lookup(cfg, "event") != NULL) {
			ex = event_from_config(path, cfg, ev, restrict_to);
			goto out;
		}
		(void)mash_snprintf(cerr, sizeof(cerr), "no 'event' group");
	} else if (memchr(buf, '\0', len) == NULL) {
		(void)mash_snprintf(cerr, sizeof(cerr), "line %d: %s",
		                    config_error_line(cfg),
		                    config_error_text(cfg));
	}
	why[0] = '\0';
	rc = mash_evt_decode(buf, len, pb, why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G,
		            "%s: neither an event group (%s) nor a "
		            "mash.v1.AgencyEvent (%s)",
		            path, cerr[0] != '\0' ? cerr : "binary",
		            why[0] != '\0' ? why : mash_strerror(rc));
		goto out;
	}
	rc = mash_evt_validate(*pb, NULL, mash_clock_now(mash_clock_system()),
	                       why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: mashd would reject this event: %s: %s",
		            path, mash_strerror(rc), why);
		ex = MASHCTL_EXIT_FAIL;
		goto out;
	}
	mash_pol_event_view(*pb, ev);
	ex = MASHCTL_EXIT_OK;
out:
	mash_free(buf);
	return ex;
}

static json_t *
fields_json(uint64_t set)
{
	json_t *a = json_array();

	for (unsigned f = 0; a != NULL && f < MASH_POL_F_COUNT; f++)
		if (set & ((uint64_t)1 << f))
			(void)json_array_append_new(
			    a, json_string(mash_pol_field_name(f)));
	return a;
}

static json_t *
flags_json(unsigned flags)
{
	json_t *a = json_array();

	for (unsigned b = 0; a != NULL && b < MASH_POL_FLAG_COUNT_; b++)
		if (flags & (1u << b))
			(void)json_array_append_new(
			    a, json_string(mash_pol_flag_name(1u << b)));
	return a;
}

static int
print_json(const struct eval_args *a, const struct mash_pol_recipient *rec,
           const struct mash_pol_decision *d,
           const struct mash_pol_rule_group *gr, size_t ng)
{
	json_t *root, *by;
	int ex = MASHCTL_EXIT_FAIL;

	root = json_pack(
	    "{s:s, s:s, s:s, s:s, s:i, s:b, s:s, s:s, s:s, "
	    "s:o, s:o, s:o, s:b}",
	    "principal", rec->principal, "role", rec->role, "agency",
	    rec->agency, "purpose", a->purpose, "level", (int)d->level,
	    "receives", d->receives, "rule", d->rule_id, "legal_basis",
	    d->legal_basis, "reason", d->reason != NULL ? d->reason : "",
	    "shared", fields_json(d->shared), "withheld",
	    fields_json(d->withheld), "flags", flags_json(d->flags),
	    "break_glass_refused", d->break_glass_refused);
	if (root == NULL)
		goto out;
	if (a->explain) {
		by = json_array();
		for (size_t i = 0; by != NULL && i < ng; i++)
			(void)json_array_append_new(
			    by, json_pack("{s:s, s:s, s:s, s:o}", "rule",
			                  gr[i].rule_id, "basis",
			                  gr[i].legal_basis, "decision",
			                  gr[i].shared ? "shared" : "withheld",
			                  "fields", fields_json(gr[i].fields)));
		if (by == NULL || json_object_set_new(root, "by_rule", by) != 0)
			goto out;
	}
	if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		goto out;
	printf("\n");
	ex = MASHCTL_EXIT_OK;
out:
	json_decref(root);
	if (ex != MASHCTL_EXIT_OK)
		mashctl_die(G, "cannot write the JSON");
	return ex;
}

static void
print_text(const struct eval_args *a, const struct mash_pol_recipient *rec,
           const struct mash_pol_decision *d,
           const struct mash_pol_rule_group *gr, size_t ng)
{
	char list[4096];

	printf("recipient: %s (%s, %s), purpose %s, case level %u\n",
	       rec->principal, rec->role, rec->agency, a->purpose, d->level);
	if (d->receives)
		printf("decision: receives, rule %s (%s)\n", d->rule_id,
		       d->legal_basis);
	else
		printf("decision: receives nothing, rule %s\n", d->rule_id);
	if (d->reason != NULL && d->reason[0] != '\0')
		printf("reason: %s\n", d->reason);
	(void)mash_pol_fields_join(d->shared, list, sizeof(list));
	printf("shared: %s\n", list[0] != '\0' ? list : "(nothing)");
	(void)mash_pol_fields_join(d->withheld, list, sizeof(list));
	printf("withheld: %s\n", list[0] != '\0' ? list : "(nothing)");
	(void)mash_pol_flags_join(d->flags, ", ", list, sizeof(list));
	printf("flags: %s\n", list[0] != '\0' ? list : "(none)");
	if (d->break_glass_refused)
		printf("break-glass: refused, the policy does not give it to "
		       "role %s (the ordinary view above)\n",
		       rec->role);
	if (!a->explain)
		return;
	printf("by rule:\n");
	for (size_t i = 0; i < ng; i++) {
		(void)mash_pol_fields_join(gr[i].fields, list, sizeof(list));
		printf("  %-8s by %s%s%s%s: %s\n",
		       gr[i].shared ? "shared" : "withheld", gr[i].rule_id,
		       gr[i].legal_basis[0] != '\0' ? " (" : "",
		       gr[i].legal_basis,
		       gr[i].legal_basis[0] != '\0' ? ")" : "", list);
	}
}

static int
parse_args(int argc, char **argv, struct eval_args *a)
{
	static const struct option opts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"event", required_argument, NULL, 'e'},
	    {"as", required_argument, NULL, 'a'},
	    {"purpose", required_argument, NULL, 'P'},
	    {"directory", required_argument, NULL, 'D'},
	    {"level", required_argument, NULL, 'l'},
	    {"agencies", required_argument, NULL, 'n'},
	    {"known-to-multiple", no_argument, NULL, 'k'},
	    {"break-glass", no_argument, NULL, 'b'},
	    {"explain", no_argument, NULL, 'x'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	a->level = 1;
	a->agencies = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->policy = optarg;
			break;
		case 'e':
			a->event = optarg;
			break;
		case 'a':
			a->as = optarg;
			break;
		case 'P':
			a->purpose = optarg;
			break;
		case 'D':
			a->directory = optarg;
			break;
		case 'l':
			if (mash_parse_i64(optarg, 1, 4, &v) != MASH_OK) {
				mashctl_die(G, "eval: --level must be 1-4");
				return MASHCTL_EXIT_USAGE;
			}
			a->level = (unsigned)v;
			break;
		case 'n':
			if (mash_parse_i64(optarg, 0, 64, &v) != MASH_OK) {
				mashctl_die(G, "eval: --agencies must be 0-64");
				return MASHCTL_EXIT_USAGE;
			}
			a->agencies = (unsigned)v;
			break;
		case 'k':
			a->known_to_multiple = 1;
			break;
		case 'b':
			a->break_glass = 1;
			break;
		case 'x':
			a->explain = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'h':
			help(stdout);
			return -1;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		mashctl_die(G, "eval: unexpected argument '%.64s'",
		            argv[optind]);
		return MASHCTL_EXIT_USAGE;
	}
	if (a->policy == NULL || a->event == NULL || a->as == NULL ||
	    a->purpose == NULL) {
		mashctl_die(G,
		            "eval: --policy, --event, --as and --purpose are "
		            "required");
		return MASHCTL_EXIT_USAGE;
	}
	if (!mash_pol_purpose_valid(a->purpose)) {
		mashctl_die(G, "eval: unknown purpose '%.64s'", a->purpose);
		return MASHCTL_EXIT_USAGE;
	}
	return MASHCTL_EXIT_OK;
}

/* directory.cfg in the policy file's directory. */
static int
default_directory(const char *policy, char *buf, size_t len)
{
	const char *slash = strrchr(policy, '/');

	if (slash == NULL)
		return mash_snprintf(buf, len, "directory.cfg");
	return mash_snprintf(buf, len, "%.*s/directory.cfg",
	                     (int)(slash - policy), policy);
}

int
mashctl_policy_eval(int argc, char **argv)
{
	struct eval_args a;
	struct mash_policy *pol = NULL;
	struct mash_dir *dir = NULL;
	struct mash_dir_entry who;
	Mash__V1__AgencyEvent *pb = NULL;
	struct mash_pol_event ev;
	struct mash_pol_case cs;
	struct mash_pol_recipient rec;
	struct mash_pol_decision d;
	struct mash_pol_rule_group gr[MASH_POL_F_COUNT + 1];
	char *restrict_to[MASH_MAX_REPEATED];
	char eb[MASH_POL_ERRLEN], dpath[4096];
	config_t cfg;
	size_t ng;
	int rc, ex;

	config_init(&cfg);
	ex = parse_args(argc, argv, &a);
	if (ex != MASHCTL_EXIT_OK) {
		ex = ex < 0 ? MASHCTL_EXIT_OK : ex;
		goto out;
	}
	ex = MASHCTL_EXIT_USAGE;
	rc = mash_pol_load(a.policy, &pol, eb, sizeof(eb));
	if (rc != MASH_OK) {
		fprintf(stderr, "%s\n", eb);
		ex = rc == MASH_ERR_POLICY ? MASHCTL_EXIT_FAIL
		                           : MASHCTL_EXIT_USAGE;
		goto out;
	}
	if (a.directory == NULL) {
		if (default_directory(a.policy, dpath, sizeof(dpath)) !=
		    MASH_OK) {
			mashctl_die(G, "eval: policy path too long");
			goto out;
		}
		a.directory = dpath;
	}
	rc = mash_dir_load(a.directory, &dir, eb, sizeof(eb));
	if (rc != MASH_OK) {
		mashctl_die(G, "eval: %s", eb);
		goto out;
	}
	if (mash_dir_lookup(dir, a.as, &who) != MASH_OK) {
		mashctl_die(G, "eval: principal '%.64s' is not in %s", a.as,
		            a.directory);
		goto out;
	}
	ex = load_event(a.event, &cfg, &pb, &ev, restrict_to);
	if (ex != MASHCTL_EXIT_OK)
		goto out;
	ex = MASHCTL_EXIT_USAGE;
	rec.principal = who.principal;
	rec.role = who.role;
	rec.agency = who.agency;
	cs.level = a.level;
	cs.n_agencies = a.agencies;
	cs.known_to_multiple = a.known_to_multiple;
	rc = mash_pol_decide(pol, &ev, &cs, &rec, a.purpose, a.break_glass, &d);
	if (rc != MASH_OK) {
		mashctl_die(G, "eval: cannot decide: %s", mash_strerror(rc));
		goto out;
	}
	ng = mash_pol_decision_groups(pol, &d, gr, MASH_POL_F_COUNT + 1);
	if (ng > MASH_POL_F_COUNT + 1)
		ng = MASH_POL_F_COUNT + 1;
	if (a.json)
		ex = print_json(&a, &rec, &d, gr, ng);
	else {
		print_text(&a, &rec, &d, gr, ng);
		ex = MASHCTL_EXIT_OK;
	}
out:
	mash_evt_free(pb);
	config_destroy(&cfg);
	mash_dir_free(dir);
	mash_pol_free(pol);
	return ex;
}
