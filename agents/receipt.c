/*
 * receipt.c - a Receipt's payload checked and decoded. See receipt.h.
 */
#include <string.h>

#include "agents/receipt.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/str.h"
#include "crypto/env.h"
#include "event/evt.h"

int
mash_receipt_decode(const uint8_t *payload, size_t len, const char *agency,
                    Mash__V1__Receipt **out, char *why, size_t whylen)
{
	Mash__V1__Receipt *r = NULL;
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		*out = NULL;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((payload == NULL && len > 0) || agency == NULL || out == NULL ||
	    why == NULL)
		return MASH_ERR_INVAL;
	if (!mash_evt_wire_strings_valid(&mash__v1__receipt__descriptor,
	                                 payload, len)) {
		(void)mash_snprintf(why, whylen, "a string is not UTF-8");
		return MASH_ERR_BAD_UTF8;
	}
	r = mash__v1__receipt__unpack(mash_env_pb_allocator(), len, payload);
	if (r == NULL) {
		(void)mash_snprintf(why, whylen, "payload does not decode");
		return MASH_ERR_DECODE;
	}
	if (mash_str_check(r->event_id, MASH_MAX_ID) != MASH_OK ||
	    mash_str_check(r->agency, MASH_MAX_AGENCY) != MASH_OK ||
	    mash_str_check(r->case_id, MASH_MAX_ID) != MASH_OK ||
	    mash_str_check(r->reason, MASH_RECEIPT_MAX_REASON) != MASH_OK) {
		(void)mash_snprintf(why, whylen, "a field is too long");
		rc = MASH_ERR_FIELD_TOO_LONG;
		goto out;
	}
	if (r->event_id[0] == '\0') {
		(void)mash_snprintf(why, whylen, "no event id");
		rc = MASH_ERR_MISSING_FIELD;
		goto out;
	}
	if (strcmp(r->agency, agency) != 0) {
		(void)mash_snprintf(why, whylen,
		                    "for agency '%s' (event %s), not %s",
		                    r->agency, r->event_id, agency);
		rc = MASH_ERR_AGENCY_MISMATCH;
		goto out;
	}
	if (r->status != MASH__V1__RECEIPT__STATUS__ACCEPTED &&
	    r->status != MASH__V1__RECEIPT__STATUS__DUPLICATE &&
	    r->status != MASH__V1__RECEIPT__STATUS__REJECTED) {
		(void)mash_snprintf(why, whylen, "event %s: status %d",
		                    r->event_id, (int)r->status);
		rc = MASH_ERR_BAD_ENUM;
		goto out;
	}
	*out = r;
	r = NULL; /* transferred */
	rc = MASH_OK;
out:
	if (r != NULL)
		mash__v1__receipt__free_unpacked(r, mash_env_pb_allocator());
	return rc;
}
