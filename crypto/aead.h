/*
 * aead.h - AES-256-GCM in one call, OpenSSL's EVP underneath: the one
 * authenticated cipher of the product, shared by sealing to a recipient
 * (seal.c) and encryption at rest (atrest.c).
 */
#ifndef MASH_AEAD_H
#define MASH_AEAD_H

#include <stddef.h>
#include <stdint.h>

#define MASH_AEAD_KEY   32u
#define MASH_AEAD_NONCE 12u
#define MASH_AEAD_TAG   16u

/*
 * enc 1: encrypt in[0..len) to out[0..len) and write tag; enc 0: decrypt
 * and check tag. aad (aad_len bytes, may be 0) is authenticated, not
 * encrypted. len below INT_MAX. 1 on success, 0 on any failure (for
 * enc 0: the key, nonce, aad or tag does not match the ciphertext).
 */
int mash_aead_gcm(int enc, const uint8_t key[MASH_AEAD_KEY],
                  const uint8_t nonce[MASH_AEAD_NONCE], const void *aad,
                  size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                  uint8_t tag[MASH_AEAD_TAG]);

#endif
