/*
 * env.h - SignedEnvelope seal and open (shared/spec/wire-contract.md).
 *
 * The signature is Ed25519 over the bytes
 *     "mash.v1.envelope\n" + payload_type + "\n" + payload
 * and the payload is verified exactly as received, never re-serialized.
 *
 * mash_env_open checks, in this order, and rejects with its own code:
 *   TOO_BIG          more than MASH_ENV_MAX bytes (before unpacking)
 *   DECODE           not a SignedEnvelope; payload_type empty, longer than
 *                    MASH_ENV_MAX_TYPE or not [A-Za-z0-9._]; payload empty
 *   BAD_VERSION      version != MASH_ENV_VERSION
 *   BAD_ID           signer or key_id not [a-z0-9._-]{1,64}
 *   BAD_SIGNATURE    signature not exactly 64 bytes
 *   PAYLOAD_TYPE     payload_type != the expected type
 *   SIGNER_MISMATCH  signer != the expected signer (the topic's agency)
 *   UNKNOWN_KEY      (signer, key_id) not in the trust store
 *   REVOKED_KEY      the key is revoked
 *   BAD_SIGNATURE    the signature does not verify
 * with a one-line reason in why (signer, key id and type are named; no
 * payload content ever is).
 */
#ifndef MASH_ENV_H
#define MASH_ENV_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/limits.h"
#include "crypto/key.h"
#include "crypto/trust.h"

/* Largest serialized envelope sealed or opened. */
#define MASH_ENV_MAX MASH_MAX_ENVELOPE
/* The only envelope version. */
#define MASH_ENV_VERSION 1u
/* Longest payload_type ("mash.v1.StrategyDiscussionTrigger" is 33). */
#define MASH_ENV_MAX_TYPE 128u
/* The signing context prefix. */
#define MASH_ENV_CONTEXT "mash.v1.envelope\n"
/* A good size for a why buffer. */
#define MASH_ENV_WHY_LEN 256u

/* An opened envelope (heap; free with mash_env_opened_free). */
struct mash_env_opened {
	char signer[MASH_TRUST_ID_MAX + 1];
	char key_id[MASH_TRUST_ID_MAX + 1];
	char payload_type[MASH_ENV_MAX_TYPE + 1];
	uint8_t *payload; /* the verified bytes as received */
	size_t payload_len;
};

/*
 * Seal payload[0..len) of type payload_type, signed by key (private) as
 * (signer, key_id): a malloc'd serialized SignedEnvelope in *out (caller
 * frees with mash_free), its length in *outlen. INVAL for a NULL or
 * public-only key, BAD_ID for a bad signer/key id, DECODE for a bad
 * payload_type, TOO_BIG if the envelope would exceed MASH_ENV_MAX (what
 * we seal, we would open). *out NULL / *outlen 0 on failure.
 */
int mash_env_seal(const struct mash_key *key, const char *signer,
                  const char *key_id, const char *payload_type,
                  const uint8_t *payload, size_t len, uint8_t **out,
                  size_t *outlen);

/* Pack msg and seal it with payload_type = its descriptor's full name
 * (e.g. "mash.v1.AgencyEvent"). Same contract as mash_env_seal. */
int mash_env_seal_msg(const struct mash_key *key, const char *signer,
                      const char *key_id, const ProtobufCMessage *msg,
                      uint8_t **out, size_t *outlen);

/*
 * Open and verify buf[0..len) against trust. expect_type and
 * expect_signer may be NULL (not checked). MASH_OK with *out set (caller
 * frees with mash_env_opened_free), or one of the codes listed above with
 * *out NULL and the reason in why[0..whylen) (why may be NULL).
 */
int mash_env_open(const struct mash_trust *trust, const uint8_t *buf,
                  size_t len, const char *expect_type,
                  const char *expect_signer, struct mash_env_opened **out,
                  char *why, size_t whylen);

/* 1 if t is a plausible fully qualified message name: 1 to
 * MASH_ENV_MAX_TYPE of [A-Za-z0-9._]. */
int mash_env_type_valid(const char *t);

/* Wipe and free an opened envelope. NULL allowed. */
void mash_env_opened_free(struct mash_env_opened *o);

/* The protobuf-c allocator over common/mem.h (so unpacking obeys
 * mash_mem_fail_after). Static storage; pass it to *__unpack(). */
ProtobufCAllocator *mash_env_pb_allocator(void);

#endif
