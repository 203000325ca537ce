/*
 * cmd_envelope.c - diagnostics for SignedEnvelopes (interop and shell
 * tests):
 *   mashctl envelope seal --key FILE --signer S --key-id K --type T
 *                         --in PAYLOAD --out F
 *   mashctl envelope verify --trust DIR --file F [--signer S] [--type T]
 *                           [--payload-out FILE]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"

#define G "envelope"

static void
help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mashctl envelope seal --key FILE --signer S --key-id K "
	    "--type T\n"
	    "                             --in PAYLOAD --out F\n"
	    "       mashctl envelope verify --trust DIR --file F [--signer S] "
	    "[--type T]\n"
	    "                             [--payload-out FILE]\n"
	    "seal signs the payload bytes of PAYLOAD (a serialized message "
	    "of type T,\ne.g. mash.v1.AgencyEvent) into a SignedEnvelope in "
	    "F. verify opens F\nagainst the trust store DIR and prints "
	    "\"ok signer=.. key_id=.. type=..\n"
	    "payload_bytes=..\"; --signer/--type are required to match.\n"
	    "exit: 0 ok, 1 envelope rejected (reason on stderr), 2 bad usage "
	    "or unreadable input\n");
}

struct args {
	const char *key, *signer, *key_id, *type, *in, *out, *trust, *file,
	    *payload_out;
};

static int
seal(const struct args *a)
{
	struct mash_key *k = NULL;
	uint8_t *payload = NULL, *env = NULL;
	size_t plen = 0, elen = 0;
	int rc, ex = MASHCTL_EXIT_USAGE;

	if (a->key == NULL || a->signer == NULL || a->key_id == NULL ||
	    a->type == NULL || a->in == NULL || a->out == NULL) {
		mashctl_die(G, "seal: --key, --signer, --key-id, --type, --in "
		               "and --out are required");
		goto out;
	}
	rc = mash_key_load_private(a->key, &k);
	if (rc != MASH_OK) {
		mashctl_die(G, "seal: %s: %s", a->key, mash_file_strerror(rc));
		goto out;
	}
	rc = mashctl_read_file(a->in, MASH_MAX_PAYLOAD, &payload, &plen);
	if (rc != MASH_OK) {
		mashctl_die(G, "seal: %s: %s", a->in, mash_strerror(rc));
		goto out;
	}
	rc = mash_env_seal(k, a->signer, a->key_id, a->type, payload, plen,
	                   &env, &elen);
	if (rc != MASH_OK) {
		mashctl_die(G, "seal: %s (signer, key id or type malformed?)",
		            mash_strerror(rc));
		ex = mashctl_exit_for(rc);
		goto out;
	}
	rc = mashctl_write_file(a->out, env, elen);
	if (rc != MASH_OK) {
		mashctl_die(G, "seal: cannot write %s", a->out);
		ex = MASHCTL_EXIT_FAIL;
		goto out;
	}
	ex = MASHCTL_EXIT_OK;
out:
	mash_free(env);
	mash_free_secret(payload, plen);
	mash_key_free(k);
	return ex;
}

static int
verify(const struct args *a)
{
	struct mash_trust *t = NULL;
	struct mash_env_opened *o = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[512];
	int rc, ex = MASHCTL_EXIT_USAGE;

	if (a->trust == NULL || a->file == NULL) {
		mashctl_die(G, "verify: --trust and --file are required");
		goto out;
	}
	rc = mash_trust_load(a->trust, &t, why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "verify: %s", why[0] ? why : mash_strerror(rc));
		goto out;
	}
	/* Read one byte more than the maximum so that the envelope check,
	 * not the file reader, reports an oversized envelope. */
	rc = mashctl_read_file(a->file, MASH_ENV_MAX + 1, &buf, &len);
	if (rc == MASH_ERR_TOO_BIG) {
		/* Readable, and fails the envelope's size check. */
		ex = MASHCTL_EXIT_FAIL;
		mashctl_die(G,
		            "verify: %s: TOO_BIG: envelope exceeds the "
		            "maximum %u bytes",
		            a->file, MASH_ENV_MAX);
		goto out;
	}
	if (rc != MASH_OK) {
		mashctl_die(G, "verify: %s: %s", a->file, mash_strerror(rc));
		goto out;
	}
	ex = MASHCTL_EXIT_FAIL;
	rc = mash_env_open(t, buf, len, a->type, a->signer, &o, why,
	                   sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "verify: %s: %s: %s", a->file, mash_errname(rc),
		            why);
		goto out;
	}
	if (a->payload_out != NULL &&
	    mashctl_write_file(a->payload_out, o->payload, o->payload_len) !=
	        MASH_OK) {
		mashctl_die(G, "verify: cannot write %s", a->payload_out);
		goto out;
	}
	printf("ok signer=%s key_id=%s type=%s payload_bytes=%zu\n", o->signer,
	       o->key_id, o->payload_type, o->payload_len);
	ex = MASHCTL_EXIT_OK;
out:
	mash_env_opened_free(o);
	mash_free(buf);
	mash_trust_free(t);
	return ex;
}

int
mashctl_envelope(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'K'},
	    {"signer", required_argument, NULL, 's'},
	    {"key-id", required_argument, NULL, 'k'},
	    {"type", required_argument, NULL, 't'},
	    {"in", required_argument, NULL, 'i'},
	    {"out", required_argument, NULL, 'o'},
	    {"trust", required_argument, NULL, 'T'},
	    {"file", required_argument, NULL, 'f'},
	    {"payload-out", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct args a;
	const char *verb;
	int c;

	memset(&a, 0, sizeof(a));
	if (argc < 2) {
		help(stderr);
		return MASHCTL_EXIT_USAGE;
	}
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		help(stdout);
		return MASHCTL_EXIT_OK;
	}
	if (strcmp(verb, "seal") != 0 && strcmp(verb, "verify") != 0) {
		mashctl_die(G, "unknown verb \"%s\" (seal or verify)", verb);
		return MASHCTL_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'K':
			a.key = optarg;
			break;
		case 's':
			a.signer = optarg;
			break;
		case 'k':
			a.key_id = optarg;
			break;
		case 't':
			a.type = optarg;
			break;
		case 'i':
			a.in = optarg;
			break;
		case 'o':
			a.out = optarg;
			break;
		case 'T':
			a.trust = optarg;
			break;
		case 'f':
			a.file = optarg;
			break;
		case 'p':
			a.payload_out = optarg;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		mashctl_die(G, "unexpected argument \"%s\"", argv[optind]);
		return MASHCTL_EXIT_USAGE;
	}
	return strcmp(verb, "seal") == 0 ? seal(&a) : verify(&a);
}
