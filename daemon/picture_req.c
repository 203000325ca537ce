/*
 * picture_req.c - a PictureRequest decoded and its fields checked. See
 * picture_req.h.
 */
#include "daemon/picture_req.h"
#include "audit/aud.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/str.h"
#include "crypto/env.h"
#include "event/evt.h"
#include "policy/pol.h"

int
mashd_picture_req_decode(const uint8_t *payload, size_t len,
                         Mash__V1__PictureRequest **out)
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (payload == NULL && len > 0)
		return MASH_ERR_INVAL;
	if (!mash_evt_wire_strings_valid(&mash__v1__picture_request__descriptor,
	                                 payload, len))
		return MASH_ERR_BAD_UTF8;
	*out = mash__v1__picture_request__unpack(mash_env_pb_allocator(), len,
	                                         payload);
	return *out != NULL ? MASH_OK : MASH_ERR_DECODE;
}

int
mashd_picture_req_check(const Mash__V1__PictureRequest *r, int *err, char *why,
                        size_t whylen)
{
	*err = MASH_OK;
	if (!mash_pol_purpose_valid(r->purpose)) {
		*err = MASH_ERR_INVAL;
		(void)mash_snprintf(why, whylen, "unknown purpose '%s'",
		                    mash_str_check(r->purpose, 32) == MASH_OK
		                        ? r->purpose
		                        : "?");
		return MASH_ERR_DENIED;
	}
	if (mash_str_check(r->break_glass_reason, MASH_AUD_MAX_REASON) !=
	    MASH_OK) {
		*err = MASH_ERR_FIELD_TOO_LONG;
		(void)mash_snprintf(why, whylen,
		                    "break_glass_reason longer than %u bytes",
		                    MASH_AUD_MAX_REASON);
		return MASH_ERR_DENIED;
	}
	if (mash_str_check(r->case_id, MASH_MAX_ID) != MASH_OK) {
		*err = MASH_ERR_FIELD_TOO_LONG;
		(void)mash_snprintf(why, whylen, "case_id too long");
		return MASH_ERR_DENIED;
	}
	return MASH_OK;
}
