/*
 * cmd_pki.c - mashctl pki init|issue: the hub's private PKI for mutual
 * TLS (crypto/pki.h, issue 24).
 *
 *   mashctl pki init  --dir DIR [--cn NAME] [--days N] [--force]
 *   mashctl pki issue --dir DIR --name ID [--server --host H...]
 *                     [--days N] [--force]
 *   mashctl pki issue --dir DIR --directory FILE [--days N] [--force]
 *
 * The last form issues every client identity the hub has: each agency's
 * agent (its agency name), mashd, and each principal of the directory.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/str.h"
#include "crypto/pki.h"
#include "event/evt.h"
#include "policy/acl.h"
#include "policy/dir.h"

#define G "pki"

static void
help(FILE *f)
{
	fprintf(f,
	        "usage: mashctl pki init --dir DIR [--cn NAME] [--days N] "
	        "[--force]\n"
	        "       mashctl pki issue --dir DIR --name ID [--server --host "
	        "H ...]\n"
	        "                         [--days N] [--force]\n"
	        "       mashctl pki issue --dir DIR --directory FILE [--days "
	        "N] [--force]\n"
	        "init makes DIR (0700) with a CA: DIR/ca.pem, DIR/ca.key "
	        "(0600), CN NAME\n(default mash-ca), valid N days (default "
	        "3650 for the CA).\n"
	        "issue makes DIR/ID.pem and DIR/ID.key (0600) signed by that "
	        "CA, CN = ID\n(the MQTT user under use_identity_as_username), "
	        "valid N days (default %d);\n--server makes a broker "
	        "certificate for the --host names and addresses.\n"
	        "--directory issues every client: each agency's agent, mashd, "
	        "and each\nprincipal of FILE (policy/directory.cfg). Nothing "
	        "is overwritten without\n--force.\n"
	        "exit: 0 ok, 1 failed (exists, write error), 2 bad usage or "
	        "unreadable input\n",
	        MASH_PKI_DEFAULT_DAYS);
}

static int
exit_for(int rc)
{
	return rc == MASH_ERR_EXISTS || rc == MASH_ERR_CRYPTO
	           ? MASHCTL_EXIT_FAIL
	           : mashctl_exit_for(rc);
}

static int
issue_one(const char *dir, const char *name,
          const struct mash_pki_issue_opts *o)
{
	char err[MASH_PKI_ERRLEN];
	int rc;

	err[0] = '\0';
	rc = mash_pki_issue(dir, name, o, err, sizeof(err));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s", err[0] ? err : mash_strerror(rc));
		return exit_for(rc);
	}
	printf("%s/%s.pem\n", dir, name);
	return MASHCTL_EXIT_OK;
}

/* Every client identity: agencies, mashd, the directory's principals.
 * A principal named as an agency or mashd would share its MQTT user
 * and so its rights: refused (mash_acl_check_identities). */
static int
issue_all(const char *dir, const char *directory,
          const struct mash_pki_issue_opts *o)
{
	struct mash_dir *d = NULL;
	struct mash_dir_entry e;
	char err[512];
	const char *a;
	size_t i;
	int rc, ex;

	err[0] = '\0';
	rc = mash_dir_load(directory, &d, err, sizeof(err));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s", err[0] ? err : mash_strerror(rc));
		return mashctl_exit_for(rc);
	}
	rc = mash_acl_check_identities(d, err, sizeof(err));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", directory, err);
		ex = MASHCTL_EXIT_USAGE;
		goto out;
	}
	for (i = 0; (a = mash_evt_agency_name(i)) != NULL; i++) {
		ex = issue_one(dir, a, o);
		if (ex != MASHCTL_EXIT_OK)
			goto out;
	}
	ex = issue_one(dir, MASH_ACL_DAEMON, o);
	for (i = 0; ex == MASHCTL_EXIT_OK && mash_dir_get(d, i, &e) == MASH_OK;
	     i++)
		ex = issue_one(dir, e.principal, o);
out:
	mash_dir_free(d);
	return ex;
}

int
mashctl_pki(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"cn", required_argument, NULL, 'c'},
	    {"name", required_argument, NULL, 'n'},
	    {"directory", required_argument, NULL, 'D'},
	    {"server", no_argument, NULL, 's'},
	    {"host", required_argument, NULL, 'H'},
	    {"days", required_argument, NULL, 'y'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *hosts[MASH_PKI_MAX_HOSTS];
	const char *verb, *dir = NULL, *cn = "mash-ca", *name = NULL;
	const char *directory = NULL;
	struct mash_pki_issue_opts o;
	char err[MASH_PKI_ERRLEN];
	int64_t days = -1;
	int c, rc, init, li = -1;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? MASHCTL_EXIT_USAGE : MASHCTL_EXIT_OK;
	}
	verb = argv[1];
	if (strcmp(verb, "init") != 0 && strcmp(verb, "issue") != 0) {
		mashctl_die(G, "unknown verb '%s' (init or issue)", verb);
		return MASHCTL_EXIT_USAGE;
	}
	init = strcmp(verb, "init") == 0;
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, &li)) != -1) {
		/* An option the verb does not take is refused, not ignored. */
		if ((init && (c == 'n' || c == 'D' || c == 's' || c == 'H')) ||
		    (!init && c == 'c')) {
			mashctl_die(G, "%s does not take --%s", verb,
			            li >= 0 ? opts[li].name : "?");
			return MASHCTL_EXIT_USAGE;
		}
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'c':
			cn = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'D':
			directory = optarg;
			break;
		case 's':
			o.server = 1;
			break;
		case 'H':
			if (o.n_hosts >= MASH_PKI_MAX_HOSTS) {
				mashctl_die(G, "at most %u --host",
				            MASH_PKI_MAX_HOSTS);
				return MASHCTL_EXIT_USAGE;
			}
			hosts[o.n_hosts++] = optarg;
			break;
		case 'y':
			if (mash_parse_i64(optarg, 1, MASH_PKI_MAX_DAYS,
			                   &days) != MASH_OK) {
				mashctl_die(G, "--days must be 1..%d",
				            MASH_PKI_MAX_DAYS);
				return MASHCTL_EXIT_USAGE;
			}
			break;
		case 'f':
			o.force = 1;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || dir == NULL) {
		mashctl_die(G, "--dir is required (mashctl pki --help)");
		return MASHCTL_EXIT_USAGE;
	}
	if (init) {
		err[0] = '\0';
		rc = mash_pki_init(dir, cn, days > 0 ? (int)days : 3650,
		                   o.force, err, sizeof(err));
		if (rc != MASH_OK) {
			mashctl_die(G, "%s", err[0] ? err : mash_strerror(rc));
			return exit_for(rc);
		}
		printf("%s/ca.pem\n", dir);
		return MASHCTL_EXIT_OK;
	}
	if ((name == NULL) == (directory == NULL) ||
	    (o.server && (directory != NULL || o.n_hosts == 0)) ||
	    (!o.server && o.n_hosts > 0)) {
		mashctl_die(G, "issue takes --name ID (with --server and "
		               "--host for a broker) or --directory FILE");
		return MASHCTL_EXIT_USAGE;
	}
	o.days = days > 0 ? (int)days : MASH_PKI_DEFAULT_DAYS;
	o.hosts = hosts;
	if (directory != NULL)
		return issue_all(dir, directory, &o);
	return issue_one(dir, name, &o);
}
