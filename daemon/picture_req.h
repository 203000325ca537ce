/*
 * picture_req.h - a PictureRequest's payload as mashd reads it, once its
 * envelope verified (issue 31: fuzzed as fuzz_picture_req).
 *
 * The signer is known from here on, but the bytes are still the
 * requester's: strings are checked to be UTF-8 on the wire before
 * protobuf-c sees them, and every field mashd acts on is bounded before a
 * lookup, a log line or an audit record uses it.
 */
#ifndef MASHD_PICTURE_REQ_H
#define MASHD_PICTURE_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "mash/v1/mash.pb-c.h"

/*
 * Decode payload[0..len): MASH_OK and *out (free with
 * mash__v1__picture_request__free_unpacked(*out, mash_env_pb_allocator())),
 * or MASH_ERR_BAD_UTF8 / MASH_ERR_DECODE / MASH_ERR_INVAL with *out NULL.
 */
int mashd_picture_req_decode(const uint8_t *payload, size_t len,
                             Mash__V1__PictureRequest **out);

/*
 * The request's own fields: a known purpose, a break-glass reason and a
 * case id within their bounds. MASH_OK, or MASH_ERR_DENIED with *err the
 * reason's error code and why[whylen] the text the requester is told.
 */
int mashd_picture_req_check(const Mash__V1__PictureRequest *r, int *err,
                            char *why, size_t whylen);

#endif
