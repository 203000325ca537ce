/*
 * key.h - Ed25519 keys over OpenSSL 3 EVP (after OpenSSH sshkey.h: one
 * opaque handle, hard limits public).
 *
 * A struct mash_key holds either a private key (which can also verify and
 * give its public half) or a public key only. Files are standard PEM:
 * private keys PKCS#8 ("BEGIN PRIVATE KEY", unencrypted, mode 0600),
 * public keys SubjectPublicKeyInfo ("BEGIN PUBLIC KEY"), so any Ed25519
 * library (Python cryptography, Go crypto/ed25519, Java 15+) reads them.
 *
 * Errors: MASH_ERR_KEY_FORMAT (not PEM, garbled, not Ed25519, or the wrong
 * kind), MASH_ERR_IO (open/read/write), MASH_ERR_TOO_BIG (file larger than
 * MASH_KEY_MAX_FILE), MASH_ERR_EXISTS (save target exists), MASH_ERR_CRYPTO
 * (OpenSSL failure), MASH_ERR_NOMEM, MASH_ERR_INVAL (NULL argument).
 */
#ifndef MASH_KEY_H
#define MASH_KEY_H

#include <stddef.h>
#include <stdint.h>

/* Ed25519 signature and raw public key sizes (RFC 8032). */
#define MASH_KEY_SIG_LEN 64u
#define MASH_KEY_PUB_LEN 32u
/* Largest key file read (a PEM Ed25519 key is ~120 bytes). */
#define MASH_KEY_MAX_FILE (16u * 1024u)

struct mash_key;

/* What a key is for: signing (Ed25519, the default everywhere) or
 * receiving sealed deliveries (X25519, issue 25). An X25519 key never
 * signs or verifies (MASH_ERR_KEY_FORMAT). Files are PKCS#8 / SPKI PEM
 * for both, told apart by their algorithm. */
enum mash_key_kind { MASH_KEY_ED25519 = 0, MASH_KEY_X25519 = 1 };

/* A new random private key of kind in *out (mash_key_free). */
int mash_key_generate_kind(enum mash_key_kind kind, struct mash_key **out);

/* As mash_key_load_private / _public (want_private 1 / 0) for kind: a
 * key of the other kind is MASH_ERR_KEY_FORMAT. */
int mash_key_load_kind(enum mash_key_kind kind, int want_private,
                       const char *path, struct mash_key **out);

/* As mash_key_parse_public for kind. */
int mash_key_parse_public_kind(enum mash_key_kind kind, const char *pem,
                               size_t len, struct mash_key **out);

/* A private key of kind from PKCS#8 PEM text in memory (the console's
 * unwrapped keys, console/account.h): as mash_key_load_kind without the
 * file. */
int mash_key_parse_private_kind(enum mash_key_kind kind, const char *pem,
                                size_t len, struct mash_key **out);

/* X25519 (RFC 7748): shared = X25519(priv, peer) for an X25519 private
 * key; MASH_ERR_KEY_FORMAT for any other key, a bad peer, or an all-zero
 * result (a low-order peer). */
int mash_key_x25519(const struct mash_key *priv,
                    const uint8_t peer[MASH_KEY_PUB_LEN],
                    uint8_t shared[MASH_KEY_PUB_LEN]);

/* The kind of k (Ed25519 for NULL). */
enum mash_key_kind mash_key_kind(const struct mash_key *k);

/* A new random Ed25519 private key in *out (caller frees with
 * mash_key_free). *out is NULL on failure. */
int mash_key_generate(struct mash_key **out);

/* Load a PKCS#8 PEM Ed25519 private key from path (symlinks refused, size
 * bounded, the file buffer wiped). Encrypted keys are refused
 * (KEY_FORMAT), never prompted for. *out NULL on failure. */
int mash_key_load_private(const char *path, struct mash_key **out);

/* Load a SubjectPublicKeyInfo PEM Ed25519 public key from path. A private
 * key file is refused (KEY_FORMAT): public files must not hold secrets. */
int mash_key_load_public(const char *path, struct mash_key **out);

/* Parse a SubjectPublicKeyInfo PEM public key from pem[0..len). */
int mash_key_parse_public(const char *pem, size_t len, struct mash_key **out);

/* A public-only key from 32 raw bytes (RFC 8032 encoding). */
int mash_key_from_raw_public(const uint8_t raw[MASH_KEY_PUB_LEN],
                             struct mash_key **out);

/* Write k's private key as PKCS#8 PEM to path, created with O_EXCL |
 * O_NOFOLLOW and mode 0600 from the first byte (never world-readable);
 * EXISTS if path exists, INVAL if k is public-only. On failure nothing is
 * left at path. */
int mash_key_save_private(const struct mash_key *k, const char *path);

/* Write k's public key as SubjectPublicKeyInfo PEM to path (O_EXCL |
 * O_NOFOLLOW, mode 0644); EXISTS if path exists. */
int mash_key_save_public(const struct mash_key *k, const char *path);

/* k's public key as SubjectPublicKeyInfo PEM: a NUL-terminated malloc'd
 * string in *out (caller frees with mash_free), length in *outlen (may
 * be NULL). */
int mash_key_public_pem(const struct mash_key *k, char **out, size_t *outlen);

/* 1 if k holds a private key, 0 if public-only (or NULL). */
int mash_key_is_private(const struct mash_key *k);

/* Ed25519-sign msg[0..len) with k (private): 64 bytes into sig.
 * INVAL if k is public-only. msg may be NULL when len is 0. */
int mash_key_sign(const struct mash_key *k, const uint8_t *msg, size_t len,
                  uint8_t sig[MASH_KEY_SIG_LEN]);

/* Verify sig[0..siglen) over msg[0..len) with k (public or private):
 * MASH_OK if it verifies, MASH_ERR_BAD_SIGNATURE if not (including a
 * siglen other than 64), MASH_ERR_CRYPTO on a library failure. */
int mash_key_verify(const struct mash_key *k, const uint8_t *msg, size_t len,
                    const uint8_t *sig, size_t siglen);

/* The 32 raw public key bytes of k into out. */
int mash_key_public_raw(const struct mash_key *k,
                        uint8_t out[MASH_KEY_PUB_LEN]);

/* 1 if a and b have the same public key, else 0. */
int mash_key_same_public(const struct mash_key *a, const struct mash_key *b);

/* Free k (OpenSSL wipes the private key material). NULL allowed. */
void mash_key_free(struct mash_key *k);

#endif
