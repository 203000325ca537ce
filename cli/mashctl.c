/*
 * mashctl - the operator's command-line tool (shared/spec/cli.md). A
 * dispatch table of subcommand groups; each group lives in its own file
 * (cli/cmd_<group>.c) and parses its own options.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "broker-adapters/mq.h"
#include "cli/cmds.h"
#include "common/err.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} groups[] = {
    {"keygen", mashctl_keygen, "keygen --signer S --key-id K --out DIR"},
    {"console", mashctl_console,
     "console user add|passwd|remove --accounts FILE --name N ..."},
    {"quarantine", mashctl_quarantine,
     "quarantine list|show|purge --db STORE [--key FILE] ..."},
    {"outbox", mashctl_outbox, "outbox list|retry|drop --db STORE ..."},
    {"key", mashctl_key, "key new|rotate ... (the store's key-encryption key)"},
    {"trust", mashctl_trust,
     "trust add|revoke|list --store DIR [--signer S --key-id K --pub FILE]"},
    {"envelope", mashctl_envelope,
     "envelope seal|verify ... (diagnostics: sign or check one envelope)"},
    {"policy", mashctl_policy, "policy lint FILE | policy test FILE CASES"},
    {"audit", mashctl_audit,
     "audit verify|query|export|report|prove --db FILE [filters]"},
    {"picture", mashctl_picture,
     "picture --config FILE --as PRINCIPAL (--case ID | --nhs N) "
     "--purpose P [--break-glass REASON] [--json]"},
    {"inbox", mashctl_inbox,
     "inbox read --config FILE --as PRINCIPAL [--key FILE] [--follow] "
     "[--json]"},
    {"pki", mashctl_pki,
     "pki init|issue --dir DIR [--name ID | --directory FILE] (mutual TLS)"},
    {"acl", mashctl_acl,
     "acl generate --directory FILE [--out FILE] (the broker's ACL)"},
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	        "usage: mashctl COMMAND [OPTIONS]   (mashctl COMMAND --help)\n"
	        "       mashctl --version\n"
	        "commands:\n");
	for (i = 0; i < NGROUPS; i++)
		fprintf(f, "  mashctl %s\n", groups[i].usage);
	fprintf(f, "exit: 0 ok, 1 failed check, 2 bad usage or unreadable "
	           "input\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	if (mash_mq_global_init() != MASH_OK) {
		fprintf(stderr, "mashctl: cannot initialise OpenSSL\n");
		return MASHCTL_EXIT_FAIL;
	}
	if (argc < 2) {
		usage(stderr);
		return MASHCTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("mashctl %s\n", MASH_VERSION);
		return MASHCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return MASHCTL_EXIT_OK;
	}
	for (i = 0; i < NGROUPS; i++) {
		if (strcmp(argv[1], groups[i].name) == 0) {
			optind = 0; /* GNU: full getopt reset */
			return groups[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr,
	        "mashctl: unknown command \"%s\" (try mashctl --help)\n",
	        argv[1]);
	return MASHCTL_EXIT_USAGE;
}
