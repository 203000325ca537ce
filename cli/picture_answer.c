/*
 * picture_answer.c - asking mashd for a picture and believing its answer:
 * the signed PictureRequest, and the verified, opened, decoded Picture.
 * Shared by `mashctl picture` and the web console (picture_view.h).
 */
#include <string.h>

#include "cli/picture_view.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/inbox.h"
#include "event/evt.h"

#define PICTURE_TYPE "mash.v1.Picture"

int
mashctl_picture_request(const struct mash_key *key, const char *principal,
                        const char *key_id,
                        const struct mashctl_picture_ask *ask, uint8_t **env,
                        size_t *envlen)
{
	Mash__V1__PictureRequest req;
	Mash__V1__Subject subj;

	mash__v1__picture_request__init(&req);
	mash__v1__subject__init(&subj);
	/* protobuf-c takes char *; these strings are only read by pack. */
	if (ask->case_id != NULL) {
		req.case_id = (char *)ask->case_id;
	} else {
		subj.nhs_number = (char *)ask->nhs;
		req.subject = &subj;
	}
	req.purpose = (char *)ask->purpose;
	if (ask->break_glass != NULL)
		req.break_glass_reason = (char *)ask->break_glass;
	return mash_env_seal_msg(key, principal, key_id, &req.base, env,
	                         envlen);
}

/*
 * The verified Picture bytes of an answer: opened with our X25519 key
 * when sealed (crypto/inbox.h, issue 25); a clear Picture is believed
 * only as a bare refusal (it names nothing of a child), checked by the
 * caller once decoded (*sealed = 0). *out / *outlen: mash_free_secret.
 */
static int
answer_bytes(const struct mash_trust *trust, const char *daemon_signer,
             const char *principal, const struct mash_key *enc,
             const uint8_t *buf, size_t len, uint8_t **out, size_t *outlen,
             int *sealed, char *why, size_t whylen)
{
	struct mash_env_opened *o = NULL;
	struct mash_inbox_msg *im = NULL;
	int rc;

	*out = NULL;
	*outlen = 0;
	*sealed = 0;
	rc = mash_env_open(trust, buf, len, NULL, daemon_signer, &o, why,
	                   whylen);
	if (rc != MASH_OK)
		goto out;
	if (strcmp(o->payload_type, MASH_INBOX_SEALED_TYPE) == 0) {
		if (enc == NULL) {
			rc = MASH_ERR_NO_ENC_KEY;
			mash_why(why, whylen,
			         "the answer is sealed and no encryption key "
			         "is configured (picture.enc_key_dir or "
			         "enc_key_file)");
			goto out;
		}
		rc = mash_inbox_open(trust, daemon_signer, principal, enc, buf,
		                     len, &im, why, whylen);
		if (rc != MASH_OK)
			goto out;
		if (strcmp(im->payload_type, PICTURE_TYPE) != 0) {
			rc = MASH_ERR_PAYLOAD_TYPE;
			mash_why(why, whylen, "sealed %s, not a %s",
			         im->payload_type, PICTURE_TYPE);
			goto out;
		}
		*out = im->payload;
		*outlen = im->payload_len;
		im->payload = NULL;
		im->payload_len = 0;
		*sealed = 1;
	} else if (strcmp(o->payload_type, PICTURE_TYPE) == 0) {
		*out = o->payload;
		*outlen = o->payload_len;
		o->payload = NULL;
		o->payload_len = 0;
	} else {
		rc = MASH_ERR_PAYLOAD_TYPE;
		mash_why(why, whylen, "answer is a %s", o->payload_type);
	}
out:
	mash_inbox_msg_free(im);
	mash_env_opened_free(o);
	return rc;
}

int
mashctl_picture_answer(const struct mash_trust *trust,
                       const char *daemon_signer, const char *principal,
                       const struct mash_key *enc, const uint8_t *buf,
                       size_t len, Mash__V1__Picture **out, char *why,
                       size_t whylen)
{
	Mash__V1__Picture *p = NULL;
	uint8_t *bytes = NULL;
	size_t nbytes = 0;
	int rc, sealed = 0;

	*out = NULL;
	rc = answer_bytes(trust, daemon_signer, principal, enc, buf, len,
	                  &bytes, &nbytes, &sealed, why, whylen);
	if (rc != MASH_OK)
		goto out;
	if (!mash_evt_wire_strings_valid(&mash__v1__picture__descriptor, bytes,
	                                 nbytes)) {
		mash_why(why, whylen, "Picture has a string that is not UTF-8");
		rc = MASH_ERR_BAD_UTF8;
		goto out;
	}
	p = mash__v1__picture__unpack(mash_env_pb_allocator(), nbytes, bytes);
	if (p == NULL) {
		mash_why(why, whylen, "Picture does not decode");
		rc = MASH_ERR_DECODE;
		goto out;
	}
	if (!sealed &&
	    (p->denied_reason == NULL || p->denied_reason[0] == '\0' ||
	     p->n_records > 0 || p->subject != NULL)) {
		mash_why(why, whylen,
		         "a clear Picture with content: mashd seals every "
		         "picture");
		rc = MASH_ERR_PAYLOAD_TYPE;
		goto out;
	}
	*out = p;
	p = NULL; /* transferred */
out:
	if (p != NULL)
		mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
	mash_free_secret(bytes, nbytes);
	return rc;
}
