/*
 * cmd_policy.c - mashctl policy lint FILE / mashctl policy test FILE CASES
 * (shared/spec/cli.md, sharing-policy.md "The policy file").
 *
 * lint: every problem on stderr as "file:line: rule 'id': message";
 *   exit 0 clean, 1 problems, 2 unreadable or syntax error.
 * eval: one event, one recipient, one purpose (cmd_policy_eval.c).
 * test: table-driven cases (the .cfg files under policy/tests/, format in
 *   docs/internals/policy.md): each failure on stdout with the case name,
 *   and `N passed, N failed` as the last line; exit 0 all passed, 1 any
 *   failed (or the policy has semantic errors), 2 unreadable input.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "cli/cmds.h"
#include "cli/policy_case.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "policy/pol.h"

#define G "policy"
/* Bounds on test input: files in a CASES directory, cases per file. */
#define MAX_CASE_FILES 256u
#define MAX_CASES      4096u

#define FB(f) ((uint64_t)1 << (f))

static void
help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mashctl policy lint FILE\n"
	    "       mashctl policy test FILE CASES\n"
	    "       mashctl policy eval --policy FILE --event FILE --as "
	    "PRINCIPAL\n"
	    "                           --purpose P [...] (see policy eval "
	    "--help)\n"
	    "lint: check a sharing-policy file (libconfig): unknown role,\n"
	    "  unknown field, rule without legal basis or reason, unreachable\n"
	    "  rule; one 'file:line: rule 'id': message' line per problem.\n"
	    "test: run table-driven cases (CASES: a .cfg file, or a directory\n"
	    "  whose *.cfg files are read in name order) against FILE; prints\n"
	    "  each failure and 'N passed, N failed' last.\n"
	    "exit: 0 ok, 1 problems / failed cases, 2 bad usage or unreadable "
	    "input\n");
}

static void
print_problem(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

static int
cmd_lint(const char *path)
{
	unsigned n = 0;
	int rc = mash_pol_lint(path, print_problem, NULL, &n);

	if (rc != MASH_OK)
		return MASHCTL_EXIT_USAGE; /* message already printed */
	if (n > 0) {
		printf("%s: %u problem%s\n", path, n, n == 1 ? "" : "s");
		return MASHCTL_EXIT_FAIL;
	}
	printf("%s: ok\n", path);
	return MASHCTL_EXIT_OK;
}

/* ---- test cases ----------------------------------------------------- */

struct runner {
	const struct mash_policy *pol;
	unsigned passed;
	unsigned failed;
	unsigned total;
	const char *file;
};

/* Run one case; MASHCTL_EXIT_OK (counted as passed or failed) or
 * MASHCTL_EXIT_USAGE for a malformed case. */
static int
run_case(struct runner *r, const config_setting_t *c)
{
	static const char *const case_keys[] = {
	    "name",    "event",       "case",   "recipient",
	    "purpose", "break_glass", "expect", NULL};
	static const char *const cs_keys[] = {"level", "agencies",
	                                      "known_to_multiple", NULL};
	static const char *const rec_keys[] = {"principal", "role", "agency",
	                                       NULL};
	static const char *const exp_keys[] = {
	    "receives",    "rule",  "shared", "withheld",
	    "only_shared", "flags", NULL};
	const config_setting_t *ev_g, *case_g, *rec_g, *exp_g, *s;
	const char *name, *purpose, *rule;
	struct mash_pol_event ev;
	struct mash_pol_case cs = {1, 1, 0};
	struct mash_pol_recipient rec;
	struct mash_pol_decision d;
	char *restrict_to[MASH_MAX_REPEATED];
	int bg = 0, ex;
	uint64_t pat, exact, want, have;
	int given;
	char why[4096];
	char list[2048];
	size_t wlen = 0;
	int ok = 1;

	memset(&ev, 0, sizeof(ev));
	memset(&rec, 0, sizeof(rec));
	why[0] = '\0';
	if (!config_setting_is_group(c))
		return mashctl_case_error(r->file, c,
		                          "a case must be a group { ... }");
	ex = mashctl_case_only_keys(r->file, c, "case", case_keys);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	name = mashctl_case_string(c, "name");
	if (name == NULL || mash_str_check(name, MASH_MAX_SHORT) != MASH_OK ||
	    name[0] == '\0')
		return mashctl_case_error(r->file, c, "case without a 'name'");
	ev_g = config_setting_get_member(c, "event");
	case_g = config_setting_get_member(c, "case");
	rec_g = config_setting_get_member(c, "recipient");
	exp_g = config_setting_get_member(c, "expect");
	purpose = mashctl_case_string(c, "purpose");
	if (ev_g == NULL || !config_setting_is_group(ev_g) || rec_g == NULL ||
	    !config_setting_is_group(rec_g) || exp_g == NULL ||
	    !config_setting_is_group(exp_g) || purpose == NULL)
		return mashctl_case_error(
		    r->file, c,
		    "case '%s': needs event, recipient, purpose "
		    "and expect",
		    name);
	ex = mashctl_case_only_keys(r->file, rec_g, "recipient", rec_keys);
	if (ex == MASHCTL_EXIT_OK)
		ex = mashctl_case_only_keys(r->file, exp_g, "expect", exp_keys);
	if (ex == MASHCTL_EXIT_OK && case_g != NULL)
		ex = mashctl_case_only_keys(r->file, case_g, "case", cs_keys);
	if (ex != MASHCTL_EXIT_OK)
		return ex;

	/* The event. */
	ex = mashctl_case_event(r->file, ev_g, name, &ev, restrict_to);
	if (ex != MASHCTL_EXIT_OK)
		return ex;

	/* The case and the recipient. */
	if (case_g != NULL) {
		int km = 0;

		if (mashctl_case_uint(case_g, "level", 1, 4, &cs.level) !=
		        MASH_OK ||
		    mashctl_case_uint(case_g, "agencies", 0, 64,
		                      &cs.n_agencies) != MASH_OK ||
		    mashctl_case_bool(case_g, "known_to_multiple", &km) !=
		        MASH_OK)
			return mashctl_case_error(
			    r->file, case_g,
			    "case '%s': level 1-4, agencies "
			    "0-64, known_to_multiple bool",
			    name);
		cs.known_to_multiple = km;
	}
	rec.principal = mashctl_case_string(rec_g, "principal");
	rec.role = mashctl_case_string(rec_g, "role");
	rec.agency = mashctl_case_string(rec_g, "agency");
	if (rec.role == NULL || !mash_pol_role_valid(rec.role) ||
	    rec.agency == NULL || !mash_pol_agency_valid(rec.agency))
		return mashctl_case_error(r->file, rec_g,
		                          "case '%s': recipient needs a known "
		                          "'role' and 'agency'",
		                          name);
	if (!mash_pol_purpose_valid(purpose))
		return mashctl_case_error(r->file, c,
		                          "case '%s': unknown purpose '%.64s'",
		                          name, purpose);
	if (mashctl_case_bool(c, "break_glass", &bg) != MASH_OK)
		return mashctl_case_error(r->file, c,
		                          "case '%s': break_glass must be true "
		                          "or false",
		                          name);

	(void)mash_pol_decide(r->pol, &ev, &cs, &rec, purpose, bg, &d);
	have = ev.present | (cs.level >= 3 ? FB(MASH_POL_F_LEAD) : 0);

#define WHY(...)                                                               \
	do {                                                                   \
		if (wlen < sizeof(why))                                        \
			wlen += (size_t)snprintf(                              \
			    why + wlen, sizeof(why) - wlen, __VA_ARGS__);      \
		ok = 0;                                                        \
	} while (0)

	/* The expectations. */
	s = config_setting_get_member(exp_g, "receives");
	if (s != NULL) {
		int want_r = 0;

		if (mashctl_case_bool(exp_g, "receives", &want_r) != MASH_OK)
			return mashctl_case_error(r->file, s,
			                          "case '%s': receives must be "
			                          "true or false",
			                          name);
		if (want_r != d.receives)
			WHY("    receives: expected %s, got %s\n",
			    want_r ? "true" : "false",
			    d.receives ? "true" : "false");
	}
	rule = mashctl_case_string(exp_g, "rule");
	if (config_setting_get_member(exp_g, "rule") != NULL && rule == NULL)
		return mashctl_case_error(
		    r->file, exp_g, "case '%s': rule must be a string", name);
	if (rule != NULL && strcmp(rule, d.rule_id) != 0)
		WHY("    rule: expected '%s', got '%s'\n", rule, d.rule_id);
	ex = mashctl_case_fieldset(r->file, exp_g, "shared", &pat, &exact,
	                           &given);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	want = (pat & have) | exact;
	if ((want & ~d.shared) != 0) {
		(void)mash_pol_fields_join(want & ~d.shared, list,
		                           sizeof(list));
		WHY("    expected shared, but withheld: %s\n", list);
	}
	ex = mashctl_case_fieldset(r->file, exp_g, "withheld", &pat, &exact,
	                           &given);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	want = (pat & have) | exact;
	if ((want & ~d.withheld) != 0) {
		(void)mash_pol_fields_join(want & ~d.withheld, list,
		                           sizeof(list));
		WHY("    expected withheld, but shared: %s\n", list);
	}
	ex = mashctl_case_fieldset(r->file, exp_g, "only_shared", &pat, &exact,
	                           &given);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	want = (pat & have) | exact;
	if (given && want != d.shared) {
		(void)mash_pol_fields_join(d.shared & ~want, list,
		                           sizeof(list));
		WHY("    only_shared: also shared: %s\n", list);
		(void)mash_pol_fields_join(want & ~d.shared, list,
		                           sizeof(list));
		WHY("    only_shared: not shared: %s\n", list);
	}
	s = config_setting_get_member(exp_g, "flags");
	if (s != NULL) {
		unsigned want_f = 0;

		if (!config_setting_is_array(s) && !config_setting_is_list(s))
			return mashctl_case_error(
			    r->file, s, "case '%s': flags must be a list",
			    name);
		for (int i = 0; i < config_setting_length(s); i++) {
			const char *f =
			    config_setting_get_string_elem(s, (unsigned)i);
			unsigned bit = 0;

			for (unsigned b = 0; b < MASH_POL_FLAG_COUNT_; b++)
				if (f != NULL &&
				    strcmp(mash_pol_flag_name(1u << b), f) == 0)
					bit = 1u << b;
			if (bit == 0)
				return mashctl_case_error(
				    r->file, s,
				    "case '%s': unknown flag "
				    "'%.64s'",
				    name, f != NULL ? f : "");
			want_f |= bit;
		}
		if (want_f != d.flags) {
			(void)mash_pol_flags_join(want_f, " ", list,
			                          sizeof(list));
			WHY("    flags: expected [%s], ", list);
			(void)mash_pol_flags_join(d.flags, " ", list,
			                          sizeof(list));
			WHY("got [%s]\n", list);
		}
	}
	if (!ok) {
		printf("FAIL %s:%u: case '%s'\n%s", r->file,
		       config_setting_source_line(c), name, why);
		(void)mash_pol_fields_join(d.shared, list, sizeof(list));
		printf("    decision: rule '%s', shared: %s\n", d.rule_id,
		       list[0] != '\0' ? list : "(nothing)");
	}
#undef WHY
	if (ok)
		r->passed++;
	else
		r->failed++;
	return MASHCTL_EXIT_OK;
}

static int
run_file(struct runner *r, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	config_t cfg;
	const config_setting_t *cases;
	int rc, ex = MASHCTL_EXIT_USAGE;

	config_init(&cfg);
	r->file = path;
	rc = mashctl_read_file(path, MASH_MAX_CONFIG_FILE, &buf, &len);
	if (rc != MASH_OK) {
		fprintf(stderr, "%s: cannot read: %s\n", path,
		        mash_strerror(rc));
		goto out;
	}
	if (memchr(buf, '\0', len) != NULL) {
		fprintf(stderr, "%s: contains a NUL byte\n", path);
		goto out;
	}
	if (config_read_string(&cfg, (const char *)buf) != CONFIG_TRUE) {
		fprintf(stderr, "%s:%d: syntax error: %s\n", path,
		        config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	cases = config_lookup(&cfg, "cases");
	if (cases == NULL || !config_setting_is_list(cases)) {
		fprintf(stderr, "%s: needs a list 'cases = ( {...}, ... );'\n",
		        path);
		goto out;
	}
	for (int i = 0; i < config_setting_length(cases); i++) {
		if (++r->total > MAX_CASES) {
			fprintf(stderr, "%s: more than %u cases\n", path,
			        MAX_CASES);
			goto out;
		}
		ex = run_case(r, config_setting_get_elem(cases, (unsigned)i));
		if (ex != MASHCTL_EXIT_OK)
			goto out;
	}
	ex = MASHCTL_EXIT_OK;
out:
	config_destroy(&cfg);
	mash_free(buf);
	return ex;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmd_test(const char *policy_path, const char *cases_path)
{
	struct mash_policy *pol = NULL;
	struct runner r;
	char eb[MASH_POL_ERRLEN];
	struct stat st;
	char *files[MAX_CASE_FILES];
	size_t nfiles = 0;
	int rc, ex = MASHCTL_EXIT_USAGE;
	DIR *d = NULL;

	memset(&r, 0, sizeof(r));
	rc = mash_pol_load(policy_path, &pol, eb, sizeof(eb));
	if (rc != MASH_OK) {
		fprintf(stderr, "%s\n", eb);
		/* A policy with semantic errors failed a check; one that
		 * cannot be read or parsed is bad input. */
		ex = rc == MASH_ERR_POLICY ? MASHCTL_EXIT_FAIL
		                           : MASHCTL_EXIT_USAGE;
		goto out;
	}
	r.pol = pol;
	if (stat(cases_path, &st) != 0) {
		fprintf(stderr, "mashctl: policy: %s: cannot read\n",
		        cases_path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		struct dirent *de;

		d = opendir(cases_path);
		if (d == NULL) {
			fprintf(stderr, "mashctl: policy: %s: cannot open\n",
			        cases_path);
			goto out;
		}
		while ((de = readdir(d)) != NULL) {
			size_t n = strlen(de->d_name);
			char p[4096];

			if (n < 5 || strcmp(de->d_name + n - 4, ".cfg") != 0 ||
			    de->d_name[0] == '.')
				continue;
			if (nfiles == MAX_CASE_FILES) {
				fprintf(stderr,
				        "mashctl: policy: %s: more than %u "
				        "case files\n",
				        cases_path, MAX_CASE_FILES);
				goto out;
			}
			if (mash_snprintf(p, sizeof(p), "%s/%s", cases_path,
			                  de->d_name) != MASH_OK)
				continue;
			files[nfiles] = mash_strdup(p);
			if (files[nfiles] == NULL)
				goto out;
			nfiles++;
		}
		qsort(files, nfiles, sizeof(files[0]), cmp_str);
	} else {
		files[0] = mash_strdup(cases_path);
		if (files[0] == NULL)
			goto out;
		nfiles = 1;
	}
	for (size_t i = 0; i < nfiles; i++) {
		ex = run_file(&r, files[i]);
		if (ex != MASHCTL_EXIT_OK)
			goto out;
	}
	if (r.passed + r.failed == 0) {
		fprintf(stderr, "mashctl: policy: %s: no test cases\n",
		        cases_path);
		ex = MASHCTL_EXIT_USAGE;
		goto out;
	}
	printf("%u passed, %u failed\n", r.passed, r.failed);
	ex = r.failed == 0 ? MASHCTL_EXIT_OK : MASHCTL_EXIT_FAIL;
out:
	if (d != NULL)
		closedir(d);
	for (size_t i = 0; i < nfiles; i++)
		mash_free(files[i]);
	mash_pol_free(pol);
	return ex;
}

int
mashctl_policy(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 2 && strcmp(argv[0], "lint") == 0)
		return cmd_lint(argv[1]);
	if (argc == 3 && strcmp(argv[0], "test") == 0)
		return cmd_test(argv[1], argv[2]);
	if (argc >= 1 && strcmp(argv[0], "eval") == 0)
		return mashctl_policy_eval(argc, argv);
	if (argc >= 1 &&
	    (strcmp(argv[0], "lint") == 0 || strcmp(argv[0], "test") == 0))
		mashctl_die(G, "usage: mashctl policy lint FILE | policy test "
		               "FILE CASES");
	else
		mashctl_die(
		    G, "unknown subcommand (lint, test, eval; try --help)");
	return MASHCTL_EXIT_USAGE;
}
