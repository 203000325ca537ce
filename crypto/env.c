/*
 * env.c - SignedEnvelope seal/open. Every check on the untrusted bytes
 * happens in a fixed order (env.h), size first, before anything is
 * allocated for them; the signature is verified over the payload bytes as
 * they arrived (wire-contract.md: "signed as transmitted, never
 * re-serialized before verifying").
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "mash/v1/mash.pb-c.h"

static void *
pb_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return mash_malloc(n);
}

static void
pb_free(void *ctx, void *p)
{
	(void)ctx;
	mash_free(p);
}

ProtobufCAllocator *
mash_env_pb_allocator(void)
{
	/* Constant after initialisation: no mutable state. */
	static ProtobufCAllocator a = {pb_alloc, pb_free, NULL};

	return &a;
}

int
mash_env_type_valid(const char *t)
{
	size_t i;

	if (t == NULL || t[0] == '\0')
		return 0;
	for (i = 0; t[i] != '\0'; i++) {
		char c = t[i];

		if (i >= MASH_ENV_MAX_TYPE)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

/* The signed bytes: context + type + "\n" + payload, malloc'd. */
static int
signed_bytes(const char *type, const uint8_t *payload, size_t len,
             uint8_t **out, size_t *outlen)
{
	size_t cl = sizeof(MASH_ENV_CONTEXT) - 1, tl = strlen(type), n;
	uint8_t *b;

	*out = NULL;
	*outlen = 0;
	if (len > MASH_ENV_MAX)
		return MASH_ERR_TOO_BIG;
	n = cl + tl + 1 + len;
	b = mash_malloc(n);
	if (b == NULL)
		return MASH_ERR_NOMEM;
	memcpy(b, MASH_ENV_CONTEXT, cl);
	memcpy(b + cl, type, tl);
	b[cl + tl] = '\n';
	if (len > 0)
		memcpy(b + cl + tl + 1, payload, len);
	*out = b;
	*outlen = n;
	return MASH_OK;
}

int
mash_env_seal(const struct mash_key *key, const char *signer,
              const char *key_id, const char *payload_type,
              const uint8_t *payload, size_t len, uint8_t **out, size_t *outlen)
{
	Mash__V1__SignedEnvelope env = MASH__V1__SIGNED_ENVELOPE__INIT;
	uint8_t sig[MASH_KEY_SIG_LEN], *tbs = NULL, *buf = NULL;
	size_t tbslen = 0, n;
	int rc = MASH_ERR_INVAL;

	if (out == NULL || outlen == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	*outlen = 0;
	if (!mash_key_is_private(key) || (payload == NULL && len != 0))
		goto out;
	rc = MASH_ERR_BAD_ID;
	if (!mash_trust_id_valid(signer) || !mash_trust_id_valid(key_id))
		goto out;
	rc = MASH_ERR_DECODE;
	if (!mash_env_type_valid(payload_type))
		goto out;
	rc = MASH_ERR_TOO_BIG;
	if (len > MASH_MAX_PAYLOAD)
		goto out;
	rc = signed_bytes(payload_type, payload, len, &tbs, &tbslen);
	if (rc != MASH_OK)
		goto out;
	rc = mash_key_sign(key, tbs, tbslen, sig);
	if (rc != MASH_OK)
		goto out;
	env.version = MASH_ENV_VERSION;
	env.signer = (char *)signer;
	env.key_id = (char *)key_id;
	env.payload_type = (char *)payload_type;
	env.payload.data = (uint8_t *)payload;
	env.payload.len = len;
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	n = mash__v1__signed_envelope__get_packed_size(&env);
	rc = MASH_ERR_TOO_BIG;
	if (n > MASH_ENV_MAX)
		goto out;
	rc = MASH_ERR_NOMEM;
	buf = mash_malloc(n);
	if (buf == NULL)
		goto out;
	rc = MASH_ERR_INTERNAL;
	if (mash__v1__signed_envelope__pack(&env, buf) != n)
		goto out;
	*out = buf;
	*outlen = n;
	buf = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_free(buf);
	mash_free_secret(tbs, tbslen);
	return rc;
}

int
mash_env_seal_msg(const struct mash_key *key, const char *signer,
                  const char *key_id, const ProtobufCMessage *msg,
                  uint8_t **out, size_t *outlen)
{
	uint8_t *payload = NULL;
	size_t n = 0;
	int rc = MASH_ERR_INVAL;

	if (out == NULL || outlen == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	*outlen = 0;
	if (msg == NULL || msg->descriptor == NULL)
		goto out;
	n = protobuf_c_message_get_packed_size(msg);
	rc = MASH_ERR_TOO_BIG;
	if (n > MASH_MAX_PAYLOAD)
		goto out;
	rc = MASH_ERR_NOMEM;
	payload = mash_malloc(n);
	if (payload == NULL)
		goto out;
	rc = MASH_ERR_INTERNAL;
	if (protobuf_c_message_pack(msg, payload) != n)
		goto out;
	rc = mash_env_seal(key, signer, key_id, msg->descriptor->name, payload,
	                   n, out, outlen);
out:
	mash_free_secret(payload, n);
	return rc;
}

int
mash_env_open(const struct mash_trust *trust, const uint8_t *buf, size_t len,
              const char *expect_type, const char *expect_signer,
              struct mash_env_opened **out, char *why, size_t whylen)
{
	Mash__V1__SignedEnvelope *env = NULL;
	struct mash_env_opened *o = NULL;
	const struct mash_key *key = NULL;
	uint8_t *tbs = NULL;
	size_t tbslen = 0;
	int rc = MASH_ERR_INVAL;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (trust == NULL || (buf == NULL && len != 0)) {
		mash_why(why, whylen, "envelope: invalid argument");
		goto out;
	}
	if (len > MASH_ENV_MAX) {
		rc = MASH_ERR_TOO_BIG;
		mash_why(why, whylen,
		         "envelope: %zu bytes exceeds the maximum %u", len,
		         MASH_ENV_MAX);
		goto out;
	}
	env = mash__v1__signed_envelope__unpack(mash_env_pb_allocator(), len,
	                                        buf);
	if (env == NULL) {
		rc = MASH_ERR_DECODE;
		mash_why(why, whylen,
		         "envelope: %zu bytes do not decode as "
		         "mash.v1.SignedEnvelope (or out of memory)",
		         len);
		goto out;
	}
	if (env->version != MASH_ENV_VERSION) {
		rc = MASH_ERR_BAD_VERSION;
		mash_why(why, whylen, "envelope: version %u, expected %u",
		         env->version, MASH_ENV_VERSION);
		goto out;
	}
	if (!mash_env_type_valid(env->payload_type)) {
		rc = MASH_ERR_DECODE;
		mash_why(why, whylen,
		         "envelope.payload_type: empty, longer than "
		         "%u or not [A-Za-z0-9._]",
		         MASH_ENV_MAX_TYPE);
		goto out;
	}
	if (!mash_trust_id_valid(env->signer)) {
		rc = MASH_ERR_BAD_ID;
		mash_why(why, whylen, "envelope.signer: not [a-z0-9._-]{1,64}");
		goto out;
	}
	if (!mash_trust_id_valid(env->key_id)) {
		rc = MASH_ERR_BAD_ID;
		mash_why(why, whylen,
		         "envelope.key_id: not [a-z0-9._-]{1,64} "
		         "(signer %s)",
		         env->signer);
		goto out;
	}
	if (env->payload.len == 0) {
		rc = MASH_ERR_DECODE;
		mash_why(why, whylen, "envelope.payload: empty (signer %s)",
		         env->signer);
		goto out;
	}
	if (env->signature.len != MASH_KEY_SIG_LEN) {
		rc = MASH_ERR_BAD_SIGNATURE;
		mash_why(why, whylen,
		         "envelope.signature: %zu bytes, expected %u "
		         "(signer %s, key %s)",
		         env->signature.len, MASH_KEY_SIG_LEN, env->signer,
		         env->key_id);
		goto out;
	}
	if (expect_type != NULL &&
	    strcmp(env->payload_type, expect_type) != 0) {
		rc = MASH_ERR_PAYLOAD_TYPE;
		mash_why(why, whylen,
		         "envelope.payload_type: %s, expected %s "
		         "(signer %s)",
		         env->payload_type, expect_type, env->signer);
		goto out;
	}
	if (expect_signer != NULL && strcmp(env->signer, expect_signer) != 0) {
		rc = MASH_ERR_SIGNER_MISMATCH;
		mash_why(why, whylen, "envelope.signer: %s, expected %.64s",
		         env->signer, expect_signer);
		goto out;
	}
	rc = mash_trust_lookup(trust, env->signer, env->key_id, &key);
	if (rc != MASH_OK) {
		mash_why(why, whylen, "envelope: key %s/%s is %s", env->signer,
		         env->key_id,
		         rc == MASH_ERR_REVOKED_KEY ? "revoked"
		                                    : "not trusted");
		goto out;
	}
	rc = signed_bytes(env->payload_type, env->payload.data,
	                  env->payload.len, &tbs, &tbslen);
	if (rc != MASH_OK) {
		mash_why(why, whylen, "envelope: %s", mash_strerror(rc));
		goto out;
	}
	rc = mash_key_verify(key, tbs, tbslen, env->signature.data,
	                     env->signature.len);
	if (rc != MASH_OK) {
		mash_why(why, whylen,
		         "envelope: signature does not verify "
		         "(signer %s, key %s, type %s)",
		         env->signer, env->key_id, env->payload_type);
		goto out;
	}
	rc = MASH_ERR_NOMEM;
	o = mash_calloc(1, sizeof(*o));
	if (o == NULL)
		goto out;
	o->payload = mash_malloc(env->payload.len);
	if (o->payload == NULL)
		goto out;
	memcpy(o->payload, env->payload.data, env->payload.len);
	o->payload_len = env->payload.len;
	(void)mash_strlcpy(o->signer, env->signer, sizeof(o->signer));
	(void)mash_strlcpy(o->key_id, env->key_id, sizeof(o->key_id));
	(void)mash_strlcpy(o->payload_type, env->payload_type,
	                   sizeof(o->payload_type));
	*out = o;
	o = NULL; /* transferred */
	rc = MASH_OK;
out:
	if (rc == MASH_ERR_NOMEM && why != NULL && why[0] == '\0')
		mash_why(why, whylen, "envelope: out of memory");
	mash_env_opened_free(o);
	mash_free_secret(tbs, tbslen);
	if (env != NULL) {
		OPENSSL_cleanse(env->payload.data, env->payload.len);
		mash__v1__signed_envelope__free_unpacked(
		    env, mash_env_pb_allocator());
	}
	return rc;
}

void
mash_env_opened_free(struct mash_env_opened *o)
{
	if (o == NULL)
		return;
	mash_free_secret(o->payload, o->payload_len);
	mash_free_secret(o, sizeof(*o));
}
