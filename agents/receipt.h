/*
 * receipt.h - a Receipt's payload as an agent reads it, once its envelope
 * verified as the daemon's (issue 31: fuzzed as fuzz_receipt).
 *
 * A verified receipt is still bytes the agent did not write: every string
 * is checked to be UTF-8 on the wire and bounded before anything (the
 * outbox, a log line) sees it, and a receipt that names another agency
 * or no event, or carries no final status, settles nothing.
 */
#ifndef MASH_AGENT_RECEIPT_H
#define MASH_AGENT_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "mash/v1/mash.pb-c.h"

/* Longest reason an agent keeps (the daemon's reasons are error tokens
 * and short texts). */
#define MASH_RECEIPT_MAX_REASON 256u

/*
 * Decode payload[0..len) as a Receipt for agency. MASH_OK and *out (free
 * with mash__v1__receipt__free_unpacked(*out, mash_env_pb_allocator()));
 * else *out NULL, why says what (ids only) and: MASH_ERR_BAD_UTF8,
 * MASH_ERR_DECODE, MASH_ERR_BAD_ENUM (no final status),
 * MASH_ERR_MISSING_FIELD (no event id), MASH_ERR_FIELD_TOO_LONG,
 * MASH_ERR_AGENCY_MISMATCH, MASH_ERR_INVAL (NULL arguments).
 */
int mash_receipt_decode(const uint8_t *payload, size_t len, const char *agency,
                        Mash__V1__Receipt **out, char *why, size_t whylen);

#endif
