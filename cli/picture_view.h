/*
 * picture_view.h - how `mashctl picture` shows a child's combined agency
 * picture: a readable terminal view and a stable JSON document, both pure
 * functions of a decoded, already verified Mash__V1__Picture.
 *
 * Every string in a Picture came from an agency's free text; the terminal
 * view never writes control characters or terminal escape sequences from it
 * (they are replaced with '?'), and shows invalid UTF-8 as "[invalid text]".
 */
#ifndef MASHCTL_PICTURE_VIEW_H
#define MASHCTL_PICTURE_VIEW_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "mash/v1/mash.pb-c.h"

/*
 * Working days from from_ms to to_ms (negative when to_ms is earlier), on
 * the s47 working-day calendar. Returns MASH_OK and *out, or an error code
 * (the view then omits the count).
 */
typedef int (*mashctl_working_days_fn)(void *ctx, int64_t from_ms,
                                       int64_t to_ms, int64_t *out);

/* A mashctl_working_days_fn on the England and Wales calendar; ctx is a
 * const struct mash_cal * (s47/cal.h). Working days after the London day
 * of from_ms up to and including that of to_ms (0: due today), negative
 * once the due day has passed. */
int mashctl_working_days(void *ctx, int64_t from_ms, int64_t to_ms,
                         int64_t *out);

struct mashctl_view_opts {
	const char *principal; /* who asked (header only); NULL allowed */
	const char
	    *purpose;   /* the stated purpose (header only); NULL allowed */
	int64_t now_ms; /* "now" for working days remaining */
	mashctl_working_days_fn working_days; /* NULL: no count shown */
	void *working_days_ctx;
};

/* Longest single string the view prints from a Picture; longer text is cut
 * and marked with "...". */
#define MASHCTL_VIEW_MAX_TEXT 2048u

/*
 * Write the terminal view of p to out. p and out must not be NULL; opts may
 * be NULL (no header details, no working-day counts). A Picture with
 * denied_reason set prints the refusal and nothing else.
 * Returns MASH_OK, or MASH_ERR_IO if writing to out failed.
 */
int mashctl_picture_render(FILE *out, const Mash__V1__Picture *p,
                           const struct mashctl_view_opts *opts);

/*
 * The JSON document for p (stable field names, documented in
 * docs/internals/picture.md). Every key is always present; absent strings
 * are "", absent lists []. Returns a new reference the caller must
 * json_decref, or NULL on allocation failure. p must not be NULL; opts may be.
 */
json_t *mashctl_picture_to_json(const Mash__V1__Picture *p,
                                const struct mashctl_view_opts *opts);

/* One delivery on its own, as a timeline row of the picture shows it
 * (mashctl inbox read): MASH_OK or MASH_ERR_IO; the JSON objects have the
 * keys of the picture's "records" and "triggers" entries (new reference
 * or NULL on allocation failure). */
int mashctl_record_render(FILE *out, const Mash__V1__SharedRecord *r);
int mashctl_trigger_render(FILE *out,
                           const Mash__V1__StrategyDiscussionTrigger *t,
                           const struct mashctl_view_opts *opts);
json_t *mashctl_record_to_json(const Mash__V1__SharedRecord *r);
json_t *mashctl_trigger_to_json(const Mash__V1__StrategyDiscussionTrigger *t,
                                const struct mashctl_view_opts *opts);

/* One opened inbox delivery (crypto/inbox.h), decoded: a SharedRecord,
 * a StrategyDiscussionTrigger or a Picture. */
struct mashctl_delivery {
	const char *type; /* "mash.v1.SharedRecord", ... (static) */
	const char *key;  /* its JSON key: "record", "trigger", "picture" */
	ProtobufCMessage *msg;
};

/* Decode payload (payload_type) into *out. MASH_OK; MASH_ERR_DECODE (an
 * unknown type, or bytes that are not it) or MASH_ERR_BAD_UTF8, with why.
 * Release with mashctl_delivery_clear. */
int mashctl_delivery_decode(const char *payload_type, const uint8_t *payload,
                            size_t len, struct mashctl_delivery *out, char *why,
                            size_t whylen);
void mashctl_delivery_clear(struct mashctl_delivery *d);

/* The terminal view (MASH_OK or MASH_ERR_IO), and the JSON document
 * {"type", "recipient", "record"|"trigger"|"picture"} (new reference, NULL
 * on allocation failure) of a decoded delivery. vo may be NULL. */
int mashctl_delivery_render(FILE *out, const struct mashctl_delivery *d,
                            const struct mashctl_view_opts *vo);
json_t *mashctl_delivery_to_json(const struct mashctl_delivery *d,
                                 const char *recipient,
                                 const struct mashctl_view_opts *vo);

/* What a picture request asks: the case (case_id) or the child (nhs,
 * when case_id is NULL), the purpose, and a break-glass reason or NULL. */
struct mashctl_picture_ask {
	const char *case_id;
	const char *nhs;
	const char *purpose;
	const char *break_glass;
};

struct mash_key;
struct mash_trust;

/* The PictureRequest for ask, signed as (principal, key_id) with key:
 * *env (mash_free) to publish on mash/v1/requests/picture. MASH_OK or
 * mash_env_seal_msg's errors. */
int mashctl_picture_request(const struct mash_key *key, const char *principal,
                            const char *key_id,
                            const struct mashctl_picture_ask *ask,
                            uint8_t **env, size_t *envlen);

/* mashd's answer buf[0..len): verified against trust (signer
 * daemon_signer), opened with enc when sealed (a clear Picture is only
 * believed as a bare refusal), checked for UTF-8 and decoded into *out
 * (free with mash__v1__picture__free_unpacked and mash_env_pb_allocator).
 * MASH_OK, or a verification, decryption or decode error with why. */
int mashctl_picture_answer(const struct mash_trust *trust,
                           const char *daemon_signer, const char *principal,
                           const struct mash_key *enc, const uint8_t *buf,
                           size_t len, Mash__V1__Picture **out, char *why,
                           size_t whylen);

/* "MISSING_EPISODE" for a Category value; "UNKNOWN" if not in the enum.
 * Static storage. */
const char *mashctl_category_name(int category);

/* Text for a threshold level 1..4 ("L4 child protection (s47)"), or
 * "unknown" for anything else. Static storage. */
const char *mashctl_level_name(uint32_t level);

#endif
