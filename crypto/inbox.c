/*
 * inbox.c - sealed deliveries: seal then sign, verify then open. See
 * inbox.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/inbox.h"
#include "mash/v1/mash.pb-c.h"

int
mash_inbox_seal(const struct mash_key *key, const char *signer,
                const char *key_id, const char *recipient,
                const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
                const char *payload_type, const uint8_t *payload, size_t len,
                uint8_t **out, size_t *outlen)
{
	return mash_inbox_seal_with(NULL, key, signer, key_id, recipient,
	                            recipient_pub, payload_type, payload, len,
	                            out, outlen);
}

/* Seal with to (derived for recipient_pub) or, when to is NULL, with
 * eph (NULL: a fresh one); then the SealedMessage signed. */
static int
seal_signed(const struct mash_seal_eph *eph, const struct mash_seal_to *to,
            const struct mash_key *key, const char *signer, const char *key_id,
            const char *recipient, const uint8_t *recipient_pub,
            const char *payload_type, const uint8_t *payload, size_t len,
            uint8_t **out, size_t *outlen)
{
	Mash__V1__SealedMessage sm = MASH__V1__SEALED_MESSAGE__INIT;
	uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int rc = MASH_ERR_INVAL;

	if (out == NULL || outlen == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	*outlen = 0;
	if ((to == NULL && recipient_pub == NULL) || payload_type == NULL)
		goto out;
	rc = MASH_ERR_BAD_ID;
	if (!mash_trust_id_valid(recipient))
		goto out;
	rc = MASH_ERR_DECODE;
	if (!mash_env_type_valid(payload_type))
		goto out;
	if (to != NULL)
		rc = mash_seal_with_to(to, recipient, payload_type, payload,
		                       len, &sealed, &sealed_len);
	else
		rc = mash_seal_with(eph, recipient_pub, recipient, payload_type,
		                    payload, len, &sealed, &sealed_len);
	if (rc != MASH_OK)
		goto out;
	sm.version = MASH_INBOX_VERSION;
	sm.recipient = (char *)recipient;
	sm.payload_type = (char *)payload_type;
	sm.sealed.data = sealed;
	sm.sealed.len = sealed_len;
	rc = mash_env_seal_msg(key, signer, key_id, &sm.base, out, outlen);
out:
	mash_free(sealed); /* ciphertext */
	return rc;
}

int
mash_inbox_seal_with(const struct mash_seal_eph *eph,
                     const struct mash_key *key, const char *signer,
                     const char *key_id, const char *recipient,
                     const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
                     const char *payload_type, const uint8_t *payload,
                     size_t len, uint8_t **out, size_t *outlen)
{
	return seal_signed(eph, NULL, key, signer, key_id, recipient,
	                   recipient_pub, payload_type, payload, len, out,
	                   outlen);
}

int
mash_inbox_seal_to(const struct mash_seal_to *to, const struct mash_key *key,
                   const char *signer, const char *key_id,
                   const char *recipient, const char *payload_type,
                   const uint8_t *payload, size_t len, uint8_t **out,
                   size_t *outlen)
{
	/* to NULL: seal_signed has no key either way, MASH_ERR_INVAL. */
	return seal_signed(NULL, to, key, signer, key_id, recipient, NULL,
	                   payload_type, payload, len, out, outlen);
}

void
mash_inbox_msg_free(struct mash_inbox_msg *m)
{
	if (m == NULL)
		return;
	mash_free_secret(m->payload, m->payload_len);
	mash_free_secret(m, sizeof(*m));
}

int
mash_inbox_open(const struct mash_trust *trust, const char *expect_signer,
                const char *recipient, const struct mash_key *enc_priv,
                const uint8_t *buf, size_t len, struct mash_inbox_msg **out,
                char *why, size_t whylen)
{
	struct mash_env_opened *env = NULL;
	Mash__V1__SealedMessage *sm = NULL;
	struct mash_inbox_msg *m = NULL;
	int rc = MASH_ERR_INVAL;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (trust == NULL || enc_priv == NULL || buf == NULL ||
	    !mash_trust_id_valid(recipient)) {
		mash_why(why, whylen, "inbox: no trust store, key or reader");
		goto out;
	}
	rc = mash_env_open(trust, buf, len, MASH_INBOX_SEALED_TYPE,
	                   expect_signer, &env, why, whylen);
	if (rc != MASH_OK)
		goto out;
	sm = mash__v1__sealed_message__unpack(mash_env_pb_allocator(),
	                                      env->payload_len, env->payload);
	rc = MASH_ERR_DECODE;
	if (sm == NULL) {
		mash_why(why, whylen,
		         "inbox: %zu verified bytes do not decode as "
		         "mash.v1.SealedMessage",
		         env->payload_len);
		goto out;
	}
	if (sm->version != MASH_INBOX_VERSION) {
		rc = MASH_ERR_BAD_VERSION;
		mash_why(why, whylen,
		         "inbox: sealed message version %u, expected %u",
		         sm->version, MASH_INBOX_VERSION);
		goto out;
	}
	if (!mash_env_type_valid(sm->payload_type) ||
	    !mash_trust_id_valid(sm->recipient)) {
		mash_why(
		    why, whylen,
		    "inbox: sealed message names no valid type or recipient");
		goto out;
	}
	if (strcmp(sm->recipient, recipient) != 0) {
		rc = MASH_ERR_WRONG_RECIPIENT;
		mash_why(why, whylen, "inbox: sealed to %s, not to %s",
		         sm->recipient, recipient);
		goto out;
	}
	rc = MASH_ERR_NOMEM;
	m = mash_calloc(1, sizeof(*m));
	if (m == NULL)
		goto out;
	(void)mash_strlcpy(m->signer, env->signer, sizeof(m->signer));
	(void)mash_strlcpy(m->key_id, env->key_id, sizeof(m->key_id));
	(void)mash_strlcpy(m->recipient, sm->recipient, sizeof(m->recipient));
	(void)mash_strlcpy(m->payload_type, sm->payload_type,
	                   sizeof(m->payload_type));
	rc = mash_seal_open(enc_priv, recipient, sm->payload_type,
	                    sm->sealed.data, sm->sealed.len, &m->payload,
	                    &m->payload_len);
	if (rc != MASH_OK) {
		mash_why(why, whylen,
		         "inbox: %s from %s (%s) does not open: %s",
		         sm->payload_type, env->signer, env->key_id,
		         mash_strerror(rc));
		goto out;
	}
	*out = m;
	m = NULL;
out:
	mash_inbox_msg_free(m);
	if (sm != NULL)
		mash__v1__sealed_message__free_unpacked(
		    sm, mash_env_pb_allocator());
	mash_env_opened_free(env);
	return rc;
}
