/*
 * cmd_console.c - the web console's local accounts (issue 29, part 1):
 *   mashctl console user add    --accounts FILE --name N --principal P
 *                               --sign-key PEM --enc-key PEM
 *                               [--key-id ID] [--tls-cert PEM --tls-key PEM]
 *   mashctl console user passwd --accounts FILE --name N
 *   mashctl console user remove --accounts FILE --name N
 * Passwords are read from --password-file or standard input, one per line
 * (passwd: the old one, then the new one), never from the command line
 * (which other users can see in ps).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/mem.h"
#include "console/account.h"

#define G "console"

static void
help(FILE *f)
{
	fprintf(f,
	        "usage: mashctl console user add --accounts FILE --name N "
	        "--principal P\n"
	        "                                --sign-key PEM --enc-key PEM "
	        "[--password-file F]\n"
	        "                                [--key-id ID] [--tls-cert PEM "
	        "--tls-key PEM]\n"
	        "       mashctl console user passwd --accounts FILE --name N "
	        "[--password-file F]\n"
	        "       mashctl console user remove --accounts FILE --name N\n"
	        "Local accounts of the web console: user N acts as directory "
	        "principal P.\nP's private keys (Ed25519 signing, X25519 "
	        "encryption) are kept wrapped under\nthe password (argon2id); "
	        "--key-id is the signing key's id in the hub's trust store "
	        "(default k1);\nwith --tls-cert and --tls-key, also the client "
	        "certificate "
	        "and key P reaches\nthe broker with (mutual TLS). "
	        "The accounts file is 0600. Passwords (%u..%u\ncharacters) "
	        "come one per line from --password-file or standard input; "
	        "passwd\nreads the old one, then the new one.\n"
	        "exit: 0 ok, 1 failed (user exists or unknown, wrong "
	        "password, write error),\n2 bad usage or unreadable input\n",
	        MASH_ACCT_PASS_MIN, MASH_ACCT_PASS_MAX);
}

/* Read one line (without its newline) from f into a secret buffer. */
static int
read_line(FILE *f, char *buf, size_t n)
{
	size_t len;

	if (fgets(buf, (int)n, f) == NULL)
		return MASH_ERR_IO;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(f))
		return MASH_ERR_TOO_BIG;
	return MASH_OK;
}

int
mashctl_console(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"accounts", required_argument, NULL, 'a'},
	    {"name", required_argument, NULL, 'n'},
	    {"principal", required_argument, NULL, 'p'},
	    {"sign-key", required_argument, NULL, 's'},
	    {"enc-key", required_argument, NULL, 'e'},
	    {"tls-cert", required_argument, NULL, 'c'},
	    {"tls-key", required_argument, NULL, 'k'},
	    {"key-id", required_argument, NULL, 'i'},
	    {"password-file", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *accounts = NULL, *name = NULL, *principal = NULL;
	const char *sign = NULL, *enc = NULL, *pwfile = NULL, *cmd;
	const char *tls_cert = NULL, *tls_key = NULL, *key_id = NULL;
	struct mash_acct_keys keys;
	char pw[MASH_ACCT_PASS_MAX + 2], pw2[MASH_ACCT_PASS_MAX + 2];
	char why[1024];
	FILE *in = NULL;
	int c, rc, ex = MASHCTL_EXIT_USAGE;

	memset(pw, 0, sizeof(pw));
	memset(pw2, 0, sizeof(pw2));
	if (argc < 3 || strcmp(argv[1], "user") != 0) {
		help(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout
		                                                 : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0
		           ? MASHCTL_EXIT_OK
		           : MASHCTL_EXIT_USAGE;
	}
	cmd = argv[2];
	argc -= 2;
	argv += 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			accounts = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			principal = optarg;
			break;
		case 's':
			sign = optarg;
			break;
		case 'e':
			enc = optarg;
			break;
		case 'c':
			tls_cert = optarg;
			break;
		case 'k':
			tls_key = optarg;
			break;
		case 'i':
			key_id = optarg;
			break;
		case 'P':
			pwfile = optarg;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || accounts == NULL || name == NULL) {
		mashctl_die(G, "--accounts and --name are required (mashctl "
		               "console --help)");
		goto out;
	}
	if (strcmp(cmd, "remove") == 0) {
		rc = mash_acct_remove(accounts, name, why, sizeof(why));
		if (rc != MASH_OK)
			mashctl_die(G, "%s", why);
		ex = rc == MASH_OK              ? MASHCTL_EXIT_OK
		     : rc == MASH_ERR_NOT_FOUND ? MASHCTL_EXIT_FAIL
		                                : mashctl_exit_for(rc);
		goto out;
	}
	if (strcmp(cmd, "add") != 0 && strcmp(cmd, "passwd") != 0) {
		mashctl_die(G, "unknown command 'user %s'", cmd);
		goto out;
	}
	if (strcmp(cmd, "add") == 0 &&
	    (principal == NULL || sign == NULL || enc == NULL)) {
		mashctl_die(G, "user add needs --principal, --sign-key and "
		               "--enc-key");
		goto out;
	}
	if ((tls_cert == NULL) != (tls_key == NULL)) {
		mashctl_die(G, "--tls-cert and --tls-key go together");
		goto out;
	}
	in = pwfile != NULL ? fopen(pwfile, "r") : stdin;
	if (in == NULL) {
		mashctl_die(G, "%s: cannot read", pwfile);
		goto out;
	}
	if (read_line(in, pw, sizeof(pw)) != MASH_OK ||
	    (strcmp(cmd, "passwd") == 0 &&
	     read_line(in, pw2, sizeof(pw2)) != MASH_OK)) {
		mashctl_die(G,
		            "no password given (one per line, %u..%u "
		            "characters)",
		            MASH_ACCT_PASS_MIN, MASH_ACCT_PASS_MAX);
		goto out;
	}
	keys.key_id = key_id;
	keys.sign_key = sign;
	keys.enc_key = enc;
	keys.tls_cert = tls_cert;
	keys.tls_key = tls_key;
	if (strcmp(cmd, "add") == 0)
		rc = mash_acct_add(accounts, name, principal, pw, &keys, why,
		                   sizeof(why));
	else
		rc =
		    mash_acct_passwd(accounts, name, pw, pw2, why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s", why[0] ? why : mash_strerror(rc));
		ex = rc == MASH_ERR_DENIED || rc == MASH_ERR_EXISTS
		         ? MASHCTL_EXIT_FAIL
		         : mashctl_exit_for(rc);
		goto out;
	}
	fprintf(stderr, "mashctl: console: user %s %s\n", name,
	        strcmp(cmd, "add") == 0 ? "added" : "password changed");
	ex = MASHCTL_EXIT_OK;
out:
	if (in != NULL && in != stdin)
		fclose(in);
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(pw2, sizeof(pw2));
	return ex;
}
