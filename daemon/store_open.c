/*
 * store_open.c - mashd's store, opened and unlocked (issue 28). See
 * store_open.h.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/log.h"
#include "crypto/atrest.h"
#include "daemon/store_open.h"
#include "store/store.h"

/*
 * The store, unlocked with the store key file when one is configured
 * (issue 28). The key file is read before the store is opened, so a
 * missing, unreadable or too open key file leaves the disk untouched;
 * another store's key file is found by unwrapping, which writes nothing.
 * A key file problem is bad input (MASH_ERR_CONFIG, exit 2). check: a
 * store not yet encrypted is not encrypted now (--check writes nothing).
 */
int
mashd_store_open(const struct mashd_config *c, int check,
                 struct mash_store **out)
{
	uint8_t kek[MASH_ATREST_KEK_LEN];
	char why[MASHD_CFG_MAX_STR + 128];
	int rc, keyed = c->store_key_file[0] != '\0';

	*out = NULL;
	memset(kek, 0, sizeof(kek));
	if (keyed) {
		rc = mash_atrest_kek_load(c->store_key_file, kek, why,
		                          sizeof(why));
		if (rc != MASH_OK) {
			mash_err("store_key_file: %s", why);
			return MASH_ERR_CONFIG;
		}
	}
	rc = mash_store_open(c->store, out);
	if (rc != MASH_OK) {
		mash_err("store %s: %s", c->store, mash_strerror(rc));
		goto out;
	}
	rc = mash_store_set_cache_mib(*out, (unsigned)c->store_cache_mib);
	if (rc != MASH_OK) {
		mash_err("store %s: store_cache_mib %lld not applied: %s",
		         c->store, (long long)c->store_cache_mib,
		         mash_strerror(rc));
		goto out;
	}
	if (!keyed) {
		if (mash_store_is_sealed(*out)) {
			mash_err("store %s is encrypted at rest: set "
			         "store_key_file",
			         c->store);
			rc = MASH_ERR_CONFIG;
		} else {
			mash_warn("store %s is not encrypted at rest (no "
			          "store_key_file): a copy of the file shows "
			          "every record",
			          c->store);
		}
		goto out;
	}
	if (check && !mash_store_is_sealed(*out))
		goto out;
	rc = mash_store_unlock(*out, kek);
	if (rc == MASH_ERR_DECRYPT) {
		mash_err("store_key_file %s: not the key of store %s",
		         c->store_key_file, c->store);
		rc = MASH_ERR_CONFIG;
	} else if (rc != MASH_OK) {
		mash_err("store %s: cannot unlock: %s", c->store,
		         mash_strerror(rc));
	}
out:
	OPENSSL_cleanse(kek, sizeof(kek));
	if (rc != MASH_OK) {
		mash_store_close(*out);
		*out = NULL;
	}
	return rc;
}
