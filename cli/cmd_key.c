/*
 * cmd_key.c - mashctl key new --out FILE: the store's key-encryption key
 * (issue 28, crypto/atrest.h), the file mashd's store_key_file names.
 * Rotation (key rotate) is the next part of issue 28.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "crypto/atrest.h"

#define G "key"

static void
help(FILE *f)
{
	fprintf(f, "usage: mashctl key new --out FILE\n"
	           "Write a new random key-encryption key for mashd's store "
	           "(store_key_file):\n64 hex digits, mode 0600. An existing "
	           "file is never overwritten.\nKeep it off the disk that "
	           "holds the store and its backups.\n"
	           "exit: 0 ok, 1 failed (file exists, write error), 2 bad "
	           "usage\n");
}

int
mashctl_key(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	char why[512];
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? MASHCTL_EXIT_USAGE : MASHCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "new") != 0) {
		mashctl_die(G, "unknown command '%s' (mashctl key --help)",
		            argv[1]);
		return MASHCTL_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || out == NULL || out[0] == '\0') {
		mashctl_die(G, "--out FILE is required (mashctl key --help)");
		return MASHCTL_EXIT_USAGE;
	}
	rc = mash_atrest_kek_create(out, why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s", why[0] ? why : mash_strerror(rc));
		return MASHCTL_EXIT_FAIL;
	}
	printf("%s\n", out);
	fprintf(stderr,
	        "mashctl: key: store key written; give it to mashd with "
	        "store_key_file = \"%s\";\n",
	        out);
	return MASHCTL_EXIT_OK;
}
