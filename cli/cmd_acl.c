/*
 * cmd_acl.c - mashctl acl generate --directory FILE [--out FILE]: the
 * broker's ACL from the directory of principals (policy/acl.h, issue
 * 24). Written to FILE (0644, replaced) or standard output.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/mem.h"
#include "policy/acl.h"
#include "policy/dir.h"

#define G "acl"

static void
help(FILE *f)
{
	fprintf(f, "usage: mashctl acl generate --directory FILE [--out FILE]\n"
	           "Write Mosquitto's acl_file for the hub: mashd, each "
	           "agency's agent and\neach principal of the directory, users "
	           "being certificate CNs (mashctl pki).\nEach agency may "
	           "publish only its events and read only its receipts; each\n"
	           "principal may read only its own inbox and publish only "
	           "picture requests.\n"
	           "exit: 0 ok, 1 write error, 2 bad usage or unreadable "
	           "directory\n");
}

int
mashctl_acl(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"directory", required_argument, NULL, 'D'},
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *directory = NULL, *outp = NULL;
	struct mash_dir *d = NULL;
	char err[512], *text = NULL;
	size_t len = 0;
	int c, rc, ex = MASHCTL_EXIT_USAGE;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? MASHCTL_EXIT_USAGE : MASHCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "generate") != 0) {
		mashctl_die(G, "unknown verb '%s' (generate)", argv[1]);
		return MASHCTL_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			directory = optarg;
			break;
		case 'o':
			outp = optarg;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || directory == NULL) {
		mashctl_die(G, "--directory FILE is required");
		return MASHCTL_EXIT_USAGE;
	}
	err[0] = '\0';
	rc = mash_dir_load(directory, &d, err, sizeof(err));
	if (rc == MASH_OK) {
		err[0] = '\0';
		rc = mash_acl_generate(d, directory, &text, &len, err,
		                       sizeof(err));
	}
	if (rc != MASH_OK) {
		mashctl_die(G, "%s%s%s", rc == MASH_ERR_CONFIG ? directory : "",
		            rc == MASH_ERR_CONFIG ? ": " : "",
		            err[0] ? err : mash_strerror(rc));
		ex = mashctl_exit_for(rc);
		goto out;
	}
	ex = MASHCTL_EXIT_FAIL;
	if (outp == NULL) {
		if (fwrite(text, 1, len, stdout) != len ||
		    fflush(stdout) != 0) {
			mashctl_die(G, "cannot write standard output");
			goto out;
		}
	} else if (mashctl_write_file(outp, (const uint8_t *)text, len) !=
	           MASH_OK) {
		mashctl_die(G, "%s: cannot write", outp);
		goto out;
	}
	ex = MASHCTL_EXIT_OK;
out:
	mash_free(text);
	mash_dir_free(d);
	return ex;
}
