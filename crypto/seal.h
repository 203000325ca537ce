/*
 * seal.h - sealing a delivery to one principal (issue 25): only the
 * holder of the principal's X25519 private key opens it; the broker, its
 * operator and its logs see ciphertext.
 *
 * Construction (version 1), all from OpenSSL 3, no primitive of our own:
 *   eph            a fresh X25519 key pair per message, or per event for
 *                  the event's several recipients (mash_seal_with)
 *   shared         X25519(eph_priv, recipient_pub)            (RFC 7748)
 *   key            HKDF-SHA256(ikm = shared,
 *                              salt = eph_pub || recipient_pub,
 *                              info = "mash.v1.seal", L = 32) (RFC 5869)
 *   nonce          12 random bytes
 *   aad            "mash.v1.seal\n" || recipient || "\n" || payload_type
 *   sealed         0x01 || eph_pub (32) || nonce (12) ||
 *                  AES-256-GCM(key, nonce, aad, message) || tag (16)
 * The associated data binds the ciphertext to its recipient and its type:
 * a message for another principal, or relabelled as another type, does
 * not open. An all-zero shared secret (a low-order public key) is
 * refused. Python's `cryptography` has every piece (X25519PrivateKey,
 * HKDF, AESGCM), so a receiver needs none of our code.
 *
 * One ephemeral key for the several recipients of one event (issue 32:
 * the key pair was a third of a seal's cost, and an event goes to ten
 * inboxes): each recipient still gets its own secret and its own AES key
 * (the agreement is with its own public key, and HKDF's salt names it),
 * each message its own random nonce, and only the recipient's private key
 * opens it; the key is erased when the event's seals are done. What the
 * shared eph_pub tells an observer of several inboxes is that those
 * messages come from one event, which the time mashd publishes them at
 * already tells. The format does not change: a receiver cannot tell.
 *
 * One ephemeral key for a batch of events, and each recipient's AES key
 * derived once for the batch (mash_seal_to, issue 32: the X25519 was
 * two thirds of a seal, and a batch of 32 events sends each inbox many
 * messages): the messages to one inbox in that batch share a key, each
 * with its own random 96-bit nonce. GCM with random nonces is sound for
 * up to 2^32 messages under a key (NIST SP 800-38D 8.3); mashd seals at
 * most MASHD_SEAL_CACHE_USES under one. The ephemeral secret and the
 * derived keys are erased when the batch ends (its COMMIT, or a tick), so
 * a memory disclosure after that opens nothing, as before; what an
 * observer learns is that messages came from one batch, which their
 * publication together already tells.
 */
#ifndef MASH_SEAL_H
#define MASH_SEAL_H

#include <stddef.h>
#include <stdint.h>

struct mash_key;

#define MASH_SEAL_VERSION 1u
#define MASH_SEAL_PUB_LEN 32u
#define MASH_SEAL_NONCE   12u
#define MASH_SEAL_TAG     16u
#define MASH_SEAL_OVERHEAD                                                     \
	(1u + MASH_SEAL_PUB_LEN + MASH_SEAL_NONCE + MASH_SEAL_TAG)
/* Largest message sealed or opened (a Picture is the largest delivery). */
#define MASH_SEAL_MAX_MSG (4u * 1024u * 1024u)

/*
 * Seal msg[0..len) to recipient (its name, [a-z0-9._-]{1,64}) whose X25519
 * public key is recipient_pub, as payload_type. *out (mash_free) holds
 * len + MASH_SEAL_OVERHEAD bytes. MASH_OK, MASH_ERR_INVAL (NULL, empty
 * names), MASH_ERR_TOO_BIG, MASH_ERR_KEY_FORMAT (a public key that gives
 * no secret), MASH_ERR_CRYPTO, MASH_ERR_NOMEM.
 */
int mash_seal(const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
              const char *recipient, const char *payload_type,
              const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen);

/* An ephemeral X25519 key pair: sk from OpenSSL's private DRBG (as every
 * other secret here), pub = X25519(sk, 9). */
struct mash_seal_eph {
	uint8_t sk[32];
	uint8_t pub[MASH_SEAL_PUB_LEN];
};

/* A fresh ephemeral key. MASH_OK or MASH_ERR_CRYPTO (*e cleared). */
int mash_seal_eph_new(struct mash_seal_eph *e);

/* Erase *e (NULL allowed). */
void mash_seal_eph_clear(struct mash_seal_eph *e);

/* As mash_seal, with the ephemeral key e (NULL: a fresh one). */
int mash_seal_with(const struct mash_seal_eph *e,
                   const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
                   const char *recipient, const char *payload_type,
                   const uint8_t *msg, size_t len, uint8_t **out,
                   size_t *outlen);

/*
 * One recipient's part of a seal with an ephemeral key: that key's public
 * half and the AES key HKDF gives for the recipient. Derived once (one
 * X25519), it seals several messages to that recipient, each with its
 * own random nonce (mashd: a batch's deliveries to one inbox, issue 32).
 * Erase with mash_seal_to_clear.
 */
struct mash_seal_to {
	uint8_t eph_pub[MASH_SEAL_PUB_LEN];
	uint8_t key[32];
};

/* *out for recipient_pub under e. MASH_OK, MASH_ERR_INVAL,
 * MASH_ERR_KEY_FORMAT (no secret), MASH_ERR_CRYPTO (*out cleared). */
int mash_seal_to_derive(const struct mash_seal_eph *e,
                        const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
                        struct mash_seal_to *out);

/* Erase *t (NULL allowed). */
void mash_seal_to_clear(struct mash_seal_to *t);

/* As mash_seal, with t derived for this recipient's public key (the
 * caller's to keep straight: t names no recipient). */
int mash_seal_with_to(const struct mash_seal_to *t, const char *recipient,
                      const char *payload_type, const uint8_t *msg, size_t len,
                      uint8_t **out, size_t *outlen);

/*
 * Open sealed[0..len) with the recipient's X25519 private key, as
 * recipient and payload_type. *out (mash_free_secret) holds the message.
 * MASH_OK; MASH_ERR_DECODE (too short, not version 1); MASH_ERR_DECRYPT
 * (another key, another recipient or type, tampered); MASH_ERR_KEY_FORMAT
 * (priv is not an X25519 private key); MASH_ERR_INVAL; MASH_ERR_NOMEM.
 */
int mash_seal_open(const struct mash_key *priv, const char *recipient,
                   const char *payload_type, const uint8_t *sealed, size_t len,
                   uint8_t **out, size_t *outlen);

#endif
