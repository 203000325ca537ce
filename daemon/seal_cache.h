/*
 * seal_cache.h - one ephemeral X25519 key for a batch of deliveries and
 * each recipient's AES key derived from it once (crypto/seal.h
 * mash_seal_to says why that is sound; issue 32: the agreement was two
 * thirds of a seal, and a batch of 32 events sends each inbox many
 * messages). The core thread derives before the seal pool runs; workers
 * only read what it hands them. mashd ends the cache when its batch ends
 * (COMMIT or rollback) and after each tick, erasing every secret; a key
 * also retires after MASHD_SEAL_CACHE_USES seals.
 */
#ifndef MASHD_SEAL_CACHE_H
#define MASHD_SEAL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h"

/* Recipients one batch keeps derived keys for; more seal as before (an
 * ephemeral key of their own). */
#define MASHD_SEAL_CACHE_SLOTS 64
/* Seals under one ephemeral key before a new one is made. */
#define MASHD_SEAL_CACHE_USES 4096

struct mashd_seal_cache;

struct mashd_seal_cache_stats {
	uint64_t derived; /* X25519 agreements made */
	uint64_t reused;  /* seals that used a key already derived */
	uint64_t ended;   /* batches ended with secrets to erase */
};

/* MASH_OK and *out, or MASH_ERR_NOMEM. */
int mashd_seal_cache_new(struct mashd_seal_cache **out);

/* Before handing out keys for n seals: when they would pass
 * MASHD_SEAL_CACHE_USES under the current ephemeral key, end the cache
 * first (no key handed out before may still be in use then). */
void mashd_seal_cache_reserve(struct mashd_seal_cache *c, size_t n);

/*
 * The derived key for recipient, whose X25519 public key is pub, in this
 * batch: derived now if the batch has none for it (or had one for another
 * public key: a directory reload). NULL when the cache is full, the key
 * has sealed MASHD_SEAL_CACHE_USES, or a key cannot be made: the caller
 * seals with a fresh ephemeral key instead.
 * Valid until the next mashd_seal_cache_end or _free.
 */
const struct mash_seal_to *
mashd_seal_cache_get(struct mashd_seal_cache *c, const char *recipient,
                     const uint8_t pub[MASH_SEAL_PUB_LEN]);

/* The batch is done: erase the ephemeral key and every derived key. */
void mashd_seal_cache_end(struct mashd_seal_cache *c);

void mashd_seal_cache_stats(const struct mashd_seal_cache *c,
                            struct mashd_seal_cache_stats *out);

/* End and free. NULL allowed. */
void mashd_seal_cache_free(struct mashd_seal_cache *c);

#endif
