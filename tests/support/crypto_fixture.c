#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "support/crypto_fixture.h"

char *
mash_test_tmpdir(char *buf, size_t bufsz)
{
	if (bufsz < 32) {
		fprintf(stderr, "mash_test_tmpdir: buffer too small\n");
		abort();
	}
	snprintf(buf, bufsz, "/tmp/mash-test-XXXXXX");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return buf;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == 0 ? 0 : 0;
	(void)unlink(path);
	return 0;
}

void
mash_test_rmtree(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return;
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
mash_test_signer(const char *store_dir, const char *signer, const char *key_id,
                 struct mash_key **priv)
{
	struct mash_key *k = NULL;
	int rc;

	*priv = NULL;
	rc = mash_key_generate(&k);
	if (rc != MASH_OK)
		return rc;
	rc = mash_trust_add_key(store_dir, signer, key_id, k, NULL, 0);
	if (rc != MASH_OK) {
		mash_key_free(k);
		return rc;
	}
	*priv = k;
	return MASH_OK;
}
