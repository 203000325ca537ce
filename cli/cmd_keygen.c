/*
 * cmd_keygen.c - mashctl keygen [--kind ed25519|x25519] --signer S
 *                --key-id K --out DIR
 * Writes DIR/K.key.pem (PKCS#8, 0600) and DIR/K.pub.pem (SPKI): an
 * Ed25519 signing key (default) or an X25519 key for receiving sealed
 * deliveries (issue 25; its public half goes into the directory).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/str.h"
#include "crypto/key.h"
#include "crypto/trust.h"

#define G "keygen"

static void
help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mashctl keygen [--kind ed25519|x25519] --signer S --key-id "
	    "K --out DIR\n"
	    "Generate a key pair: DIR/K.key.pem (PKCS#8 PEM, mode "
	    "0600)\nand DIR/K.pub.pem (SubjectPublicKeyInfo PEM). DIR is "
	    "created (0700) if\nmissing; existing files are never "
	    "overwritten. S and K are [a-z0-9._-]{1,64}.\n"
	    "--kind ed25519 (default): a signing key, for the trust store.\n"
	    "--kind x25519: an encryption key of principal S; its public "
	    "half is the\nprincipal's enc_key in policy/directory.cfg.\n"
	    "exit: 0 ok, 1 failed (file exists, write error), 2 bad usage\n");
}

int
mashctl_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"signer", required_argument, NULL, 's'},
	    {"key-id", required_argument, NULL, 'k'},
	    {"out", required_argument, NULL, 'o'},
	    {"kind", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *signer = NULL, *key_id = NULL, *dir = NULL;
	char priv[4096], pub[4096];
	struct mash_key *k = NULL;
	enum mash_key_kind kind = MASH_KEY_ED25519;
	int c, rc, ex = MASHCTL_EXIT_USAGE, wrote_priv = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			signer = optarg;
			break;
		case 'k':
			key_id = optarg;
			break;
		case 'o':
			dir = optarg;
			break;
		case 'K':
			if (strcmp(optarg, "ed25519") == 0) {
				kind = MASH_KEY_ED25519;
			} else if (strcmp(optarg, "x25519") == 0) {
				kind = MASH_KEY_X25519;
			} else {
				mashctl_die(G, "--kind '%s': ed25519 or x25519",
				            optarg);
				return MASHCTL_EXIT_USAGE;
			}
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || signer == NULL || key_id == NULL || dir == NULL) {
		mashctl_die(G, "--signer, --key-id and --out are required "
		               "(mashctl keygen --help)");
		goto out;
	}
	if (!mash_trust_id_valid(signer) || !mash_trust_id_valid(key_id)) {
		mashctl_die(G, "--%s \"%s\" is not [a-z0-9._-]{1,64}",
		            mash_trust_id_valid(signer) ? "key-id" : "signer",
		            mash_trust_id_valid(signer) ? key_id : signer);
		goto out;
	}
	if (mash_snprintf(priv, sizeof(priv), "%s/%s.key.pem", dir, key_id) !=
	        MASH_OK ||
	    mash_snprintf(pub, sizeof(pub), "%s/%s.pub.pem", dir, key_id) !=
	        MASH_OK) {
		mashctl_die(G, "--out path too long");
		goto out;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		mashctl_die(G, "cannot create %s: %s", dir, strerror(errno));
		goto out;
	}
	ex = MASHCTL_EXIT_FAIL;
	rc = mash_key_generate_kind(kind, &k);
	if (rc != MASH_OK) {
		mashctl_die(G, "key generation failed: %s", mash_strerror(rc));
		goto out;
	}
	rc = mash_key_save_private(k, priv);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", priv, mash_strerror(rc));
		goto out;
	}
	wrote_priv = 1;
	rc = mash_key_save_public(k, pub);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", pub, mash_strerror(rc));
		goto out;
	}
	printf("%s\n%s\n", priv, pub);
	if (kind == MASH_KEY_X25519)
		fprintf(stderr,
		        "mashctl: keygen: encryption key %s/%s written; give "
		        "it to the principal with enc_key = \"%s\"; in "
		        "policy/directory.cfg\n",
		        signer, key_id, pub);
	else
		fprintf(
		    stderr,
		    "mashctl: keygen: key %s/%s written; trust it with: "
		    "mashctl trust add --store STORE --signer %s --key-id %s "
		    "--pub %s\n",
		    signer, key_id, signer, key_id, pub);
	ex = MASHCTL_EXIT_OK;
out:
	if (ex != MASHCTL_EXIT_OK && wrote_priv)
		unlink(priv); /* never leave half a key pair */
	mash_key_free(k);
	return ex;
}
