/*
 * atrest.h - encryption at rest (issue 28): what a stolen disk or backup
 * of the store must not give away.
 *
 * Two keys, both random, kept together as "the store keys":
 *   data key   AES-256-GCM key that seals a column value
 *   link key   HMAC-SHA256 key for the linkage index values (an NHS number
 *              matched without being stored; a later part of issue 28)
 * The store keys live in the store itself, wrapped by a key-encryption
 * key (KEK) read from a key file that never enters the store. Rotating
 * the KEK re-wraps 64 bytes, not every row.
 *
 * Formats (version 1), every primitive OpenSSL's (crypto/aead.h):
 *   KEK file  64 hex digits, an optional newline; a regular file that
 *             only its owner may read or write (mode & 077 == 0)
 *   wrapped   0x01 || nonce (12) || AES-256-GCM(KEK, nonce,
 *             aad = "mash.v1.atrest.keys", data key || link key) || tag
 *   sealed    0x01 || nonce (12) || AES-256-GCM(data key, nonce,
 *             aad = "mash.v1.atrest\n" || where, value) || tag (16)
 * "where" names the table, column and row (e.g. "events.payload\npolice\n
 * E-1"), so a value copied to another row or column does not open.
 */
#ifndef MASH_ATREST_H
#define MASH_ATREST_H

#include <stddef.h>
#include <stdint.h>

#define MASH_ATREST_KEK_LEN  32u
#define MASH_ATREST_OVERHEAD (1u + 12u + 16u)
#define MASH_ATREST_WRAPPED  (MASH_ATREST_OVERHEAD + 64u)
/* HMAC-SHA256 in hex and its NUL. */
#define MASH_ATREST_MAC_HEX 65u
/* Largest value sealed or opened. */
#define MASH_ATREST_MAX (16u * 1024u * 1024u)

struct mash_atrest;

/*
 * Read a KEK from path. MASH_OK and kek; otherwise why (the file and the
 * fault, one line) and MASH_ERR_NOT_FOUND (missing), MASH_ERR_DENIED
 * (group or others may read or write it: the mode is named), MASH_ERR_IO
 * (not a regular file, unreadable), MASH_ERR_KEY_FORMAT (not 64 hex
 * digits), MASH_ERR_INVAL.
 */
int mash_atrest_kek_load(const char *path, uint8_t kek[MASH_ATREST_KEK_LEN],
                         char *why, size_t whylen);

/* Write a fresh random KEK to path, created 0600; an existing file is
 * never replaced (MASH_ERR_EXISTS). MASH_ERR_IO, MASH_ERR_CRYPTO (no
 * randomness), MASH_ERR_INVAL; why as above. */
int mash_atrest_kek_create(const char *path, char *why, size_t whylen);

/* Fresh random store keys. MASH_OK, MASH_ERR_NOMEM, MASH_ERR_CRYPTO. */
int mash_atrest_new(struct mash_atrest **out);

/* out (MASH_ATREST_WRAPPED bytes) = the store keys wrapped by kek. */
int mash_atrest_wrap(const struct mash_atrest *k,
                     const uint8_t kek[MASH_ATREST_KEK_LEN],
                     uint8_t out[MASH_ATREST_WRAPPED]);

/* The store keys from in[0..len) and kek. MASH_ERR_DECRYPT: another KEK
 * or altered bytes; MASH_ERR_DECODE: not a version 1 wrapping. */
int mash_atrest_unwrap(const uint8_t kek[MASH_ATREST_KEK_LEN],
                       const uint8_t *in, size_t len, struct mash_atrest **out);

/* Free, wiping the keys. NULL allowed. */
void mash_atrest_free(struct mash_atrest *k);

/*
 * Seal in[0..len) for the place named by where (NUL-terminated, not
 * empty). *out (mash_free) holds len + MASH_ATREST_OVERHEAD bytes.
 * MASH_OK, MASH_ERR_INVAL, MASH_ERR_TOO_BIG, MASH_ERR_NOMEM,
 * MASH_ERR_CRYPTO.
 */
int mash_atrest_seal(const struct mash_atrest *k, const char *where,
                     const uint8_t *in, size_t len, uint8_t **out,
                     size_t *outlen);

/* Open what mash_atrest_seal made for the same where. *out
 * (mash_free_secret) holds the value. MASH_ERR_DECODE (too short, not
 * version 1), MASH_ERR_DECRYPT (another key or place, altered). */
int mash_atrest_open(const struct mash_atrest *k, const char *where,
                     const uint8_t *in, size_t len, uint8_t **out,
                     size_t *outlen);

/* HMAC-SHA256(link key, domain || "\n" || value) in lower-case hex: an
 * index value that matches equal inputs and reveals nothing else. */
int mash_atrest_mac(const struct mash_atrest *k, const char *domain,
                    const char *value, char out[MASH_ATREST_MAC_HEX]);

#endif
