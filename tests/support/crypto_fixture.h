/*
 * crypto_fixture.h - test helpers for anything that needs keys, a trust
 * store or sealed envelopes (any module's tests may use them).
 */
#ifndef MASH_TEST_CRYPTO_FIXTURE_H
#define MASH_TEST_CRYPTO_FIXTURE_H

#include <stddef.h>

struct mash_key;

/* mkdtemp("/tmp/mash-test-XXXXXX") into buf[bufsz]; aborts the test
 * process on failure. Returns buf. */
char *mash_test_tmpdir(char *buf, size_t bufsz);

/* rm -rf dir (nftw, no symlink following). NULL allowed. */
void mash_test_rmtree(const char *dir);

/* Generate a key, add its public half to the trust store directory
 * store_dir as (signer, key_id), and return the private key in *priv
 * (caller frees with mash_key_free). MASH_OK or the failing code. */
int mash_test_signer(const char *store_dir, const char *signer,
                     const char *key_id, struct mash_key **priv);

#endif
