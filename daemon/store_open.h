/*
 * store_open.h - mashd's store, opened and, when store_key_file is set,
 * unlocked for encryption at rest (issue 28, crypto/atrest.h).
 */
#ifndef MASHD_STORE_OPEN_H
#define MASHD_STORE_OPEN_H

#include "daemon/config.h"

struct mash_store;

/*
 * Open c->store into *out. With c->store_key_file: the key file is read
 * first (refused: one logged line naming it, nothing opened or written),
 * then the store is unlocked (encrypted in place the first time; another
 * store's key file is refused without a write). Without it: a store that
 * is encrypted is refused; one that is not is opened with a warning.
 * check: a store not yet encrypted is not encrypted now (--check writes
 * nothing). MASH_OK; MASH_ERR_CONFIG for every key file fault (exit 2);
 * the store's own errors otherwise (logged).
 */
int mashd_store_open(const struct mashd_config *c, int check,
                     struct mash_store **out);

#endif
