/*
 * inbox.h - a delivery sealed to its principal, inside mashd's signed
 * envelope (issue 25; docs/internals/crypto.md "Sealed deliveries").
 *
 * On mash/v1/inbox/{principal} mashd publishes a SignedEnvelope whose
 * payload_type is "mash.v1.SealedMessage": the SealedMessage names the
 * recipient and the inner type (SharedRecord, StrategyDiscussionTrigger,
 * Picture) and carries mash_seal's ciphertext (crypto/seal.h), bound to
 * both by the associated data. Sign after sealing: anyone may check that
 * mashd sent it; only the principal reads it.
 *
 * mash_inbox_open checks, in this order, and stops at the first failure:
 * mash_env_open's checks (mashd's key, type mash.v1.SealedMessage), then
 *   DECODE           not a SealedMessage, bad inner type
 *   BAD_VERSION      SealedMessage.version != 1
 *   WRONG_RECIPIENT  sealed to another principal than the reader
 *   DECRYPT          another key, relabelled, tampered (crypto/seal.h)
 * with a one-line reason in why that names ids and types, never content.
 */
#ifndef MASH_INBOX_H
#define MASH_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/env.h"
#include "crypto/seal.h"

#define MASH_INBOX_SEALED_TYPE "mash.v1.SealedMessage"
#define MASH_INBOX_VERSION     1u

/* An opened delivery (heap; mash_inbox_msg_free wipes the clear bytes). */
struct mash_inbox_msg {
	char signer[MASH_TRUST_ID_MAX + 1];
	char key_id[MASH_TRUST_ID_MAX + 1];
	char recipient[MASH_TRUST_ID_MAX + 1];
	char payload_type[MASH_ENV_MAX_TYPE + 1]; /* the inner type */
	uint8_t *payload;                         /* the inner message */
	size_t payload_len;
};

/*
 * Seal payload[0..len) (payload_type) to recipient's X25519 public key,
 * wrap it in a SealedMessage and sign that as (signer, key_id) with key:
 * *out (mash_free) is the envelope to publish. MASH_OK; MASH_ERR_INVAL,
 * MASH_ERR_BAD_ID (recipient), MASH_ERR_DECODE (payload_type),
 * MASH_ERR_TOO_BIG, mash_seal's and mash_env_seal's errors.
 */
int mash_inbox_seal(const struct mash_key *key, const char *signer,
                    const char *key_id, const char *recipient,
                    const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
                    const char *payload_type, const uint8_t *payload,
                    size_t len, uint8_t **out, size_t *outlen);

/* As mash_inbox_seal, sealed with the ephemeral key eph (crypto/seal.h;
 * NULL: a fresh one): one per event for its recipients. */
int mash_inbox_seal_with(const struct mash_seal_eph *eph,
                         const struct mash_key *key, const char *signer,
                         const char *key_id, const char *recipient,
                         const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
                         const char *payload_type, const uint8_t *payload,
                         size_t len, uint8_t **out, size_t *outlen);

/* As mash_inbox_seal, sealed with to, derived for the recipient's key
 * (crypto/seal.h mash_seal_to: one per recipient for a batch). */
int mash_inbox_seal_to(const struct mash_seal_to *to,
                       const struct mash_key *key, const char *signer,
                       const char *key_id, const char *recipient,
                       const char *payload_type, const uint8_t *payload,
                       size_t len, uint8_t **out, size_t *outlen);

/*
 * Verify buf[0..len) against trust (expect_signer may be NULL) and open
 * it as recipient with its X25519 private key enc_priv. MASH_OK and *out;
 * otherwise one of the codes above, *out NULL, the reason in why.
 */
int mash_inbox_open(const struct mash_trust *trust, const char *expect_signer,
                    const char *recipient, const struct mash_key *enc_priv,
                    const uint8_t *buf, size_t len, struct mash_inbox_msg **out,
                    char *why, size_t whylen);

void mash_inbox_msg_free(struct mash_inbox_msg *m);

#endif
