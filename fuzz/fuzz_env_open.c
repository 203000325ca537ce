/*
 * fuzz_env_open - libFuzzer harness for mash_env_open: arbitrary bytes as
 * a SignedEnvelope against a trust store with one fixed, fuzzing-only key
 * (police/p1; its private half is in make_corpus.py, which seals the seed
 * corpus so the fuzzer starts from envelopes that verify). The expected
 * type and signer come from the input's length so every check is reached.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's one piece of process state (fuzzing only). */
static struct mash_trust *trust;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char pub[] =
	    "-----BEGIN PUBLIC KEY-----\n"
	    "MCowBQYDK2VwAyEAMWVjZtH+ZM1Dvdj/xqmuJMFlIBcUB9z4Ihwg432aC0c=\n"
	    "-----END PUBLIC KEY-----\n";
	char dir[] = "/tmp/mash-fuzz-XXXXXX", path[64];
	struct mash_key *k = NULL;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL ||
	    mash_key_parse_public(pub, sizeof(pub) - 1, &k) != MASH_OK ||
	    mash_trust_add_key(dir, "police", "p1", k, NULL, 0) != MASH_OK ||
	    mash_trust_load(dir, &trust, NULL, 0) != MASH_OK) {
		fprintf(stderr, "fuzz_env_open: setup failed\n");
		abort();
	}
	mash_key_free(k);
	/* The snapshot is in memory: leave nothing behind in /tmp. */
	snprintf(path, sizeof(path), "%s/police/p1.pub.pem", dir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/police", dir);
	(void)rmdir(path);
	(void)rmdir(dir);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mash_env_opened *o = NULL;
	char why[MASH_ENV_WHY_LEN];
	const char *type = NULL, *signer = NULL;
	int rc;

	/* Not the first byte: that is the envelope's first tag. */
	if (size & 1)
		type = "mash.v1.AgencyEvent";
	if (size & 2)
		signer = "police";
	rc = mash_env_open(trust, data, size, type, signer, &o, why,
	                   sizeof(why));
	if (rc == MASH_OK && (o == NULL || o->payload_len == 0))
		abort();
	if (rc != MASH_OK && (o != NULL || why[0] == '\0'))
		abort(); /* every rejection has a reason */
	mash_env_opened_free(o);
	return 0;
}
