/*
 * seal.c - X25519 + HKDF-SHA256 + AES-256-GCM sealing. See seal.h for the
 * construction. The ephemeral X25519 key is raw bytes for libsodium (an
 * EVP_PKEY per message cost more than the curve arithmetic, issue 22),
 * one per message or one per event (mash_seal_with);
 * HKDF, the nonce and GCM are OpenSSL's.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/aead.h"
#include "crypto/key.h"
#include "crypto/seal.h"

#define INFO     "mash.v1.seal"
#define MAX_NAME 256u

/* key = HKDF-SHA256(shared, salt = eph_pub || recipient_pub, INFO). */
static int
derive(const uint8_t shared[32], const uint8_t eph_pub[32],
       const uint8_t rcpt_pub[32], uint8_t key[32])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	uint8_t salt[64];
	OSSL_PARAM p[5];
	int ok;

	memcpy(salt, eph_pub, 32);
	memcpy(salt + 32, rcpt_pub, 32);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	                                        (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	                                         (void *)shared, 32);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt,
	                                         sizeof(salt));
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	                                         (void *)INFO, strlen(INFO));
	p[4] = OSSL_PARAM_construct_end();
	ok = ctx != NULL && EVP_KDF_derive(ctx, key, 32, p) == 1;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? MASH_OK : MASH_ERR_CRYPTO;
}

/* aad = INFO "\n" recipient "\n" payload_type, into buf. */
static int
aad_of(const char *recipient, const char *payload_type, char *buf, size_t n,
       size_t *len)
{
	size_t r, t;

	if (recipient == NULL || payload_type == NULL)
		return MASH_ERR_INVAL;
	r = strlen(recipient);
	t = strlen(payload_type);
	if (r == 0 || t == 0 || r > MAX_NAME || t > MAX_NAME ||
	    strlen(INFO) + r + t + 2 > n)
		return MASH_ERR_INVAL;
	*len = (size_t)snprintf(buf, n, "%s\n%s\n%s", INFO, recipient,
	                        payload_type);
	return MASH_OK;
}

int
mash_seal_eph_new(struct mash_seal_eph *e)
{
	if (e == NULL)
		return MASH_ERR_INVAL;
	/* libsodium clamps the scalar as RFC 7748 says. */
	if (sodium_init() < 0 || RAND_priv_bytes(e->sk, sizeof(e->sk)) != 1 ||
	    crypto_scalarmult_base(e->pub, e->sk) != 0) {
		mash_seal_eph_clear(e);
		return MASH_ERR_CRYPTO;
	}
	return MASH_OK;
}

void
mash_seal_eph_clear(struct mash_seal_eph *e)
{
	if (e != NULL)
		OPENSSL_cleanse(e, sizeof(*e));
}

int
mash_seal_to_derive(const struct mash_seal_eph *e,
                    const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
                    struct mash_seal_to *out)
{
	uint8_t shared[32];
	int rc;

	if (out == NULL)
		return MASH_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (e == NULL || recipient_pub == NULL)
		return MASH_ERR_INVAL;
	/* A low-order recipient key gives all zeros, refused. */
	rc = MASH_ERR_KEY_FORMAT;
	if (crypto_scalarmult(shared, e->sk, recipient_pub) != 0)
		goto out;
	memcpy(out->eph_pub, e->pub, MASH_SEAL_PUB_LEN);
	rc = derive(shared, e->pub, recipient_pub, out->key);
out:
	if (rc != MASH_OK)
		mash_seal_to_clear(out);
	OPENSSL_cleanse(shared, sizeof(shared));
	return rc;
}

void
mash_seal_to_clear(struct mash_seal_to *t)
{
	if (t != NULL)
		OPENSSL_cleanse(t, sizeof(*t));
}

int
mash_seal_with_to(const struct mash_seal_to *t, const char *recipient,
                  const char *payload_type, const uint8_t *msg, size_t len,
                  uint8_t **out, size_t *outlen)
{
	uint8_t *buf = NULL, *p;
	char aad[2 * MAX_NAME + 32];
	size_t aad_len = 0;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (t == NULL || out == NULL || outlen == NULL ||
	    (msg == NULL && len > 0))
		return MASH_ERR_INVAL;
	if (len > MASH_SEAL_MAX_MSG)
		return MASH_ERR_TOO_BIG;
	rc = aad_of(recipient, payload_type, aad, sizeof(aad), &aad_len);
	if (rc != MASH_OK)
		return rc;
	rc = MASH_ERR_NOMEM;
	buf = mash_malloc(len + MASH_SEAL_OVERHEAD);
	if (buf == NULL)
		goto out;
	buf[0] = MASH_SEAL_VERSION;
	p = buf + 1;
	memcpy(p, t->eph_pub, MASH_SEAL_PUB_LEN);
	p += MASH_SEAL_PUB_LEN;
	/* A fresh random nonce every message: the one key may seal many
	 * (seal.h: far below GCM's bound for random nonces). */
	rc = MASH_ERR_CRYPTO;
	if (RAND_bytes(p, MASH_SEAL_NONCE) != 1 ||
	    !mash_aead_gcm(1, t->key, p, aad, aad_len, msg, len,
	                   p + MASH_SEAL_NONCE, p + MASH_SEAL_NONCE + len))
		goto out;
	*out = buf;
	*outlen = len + MASH_SEAL_OVERHEAD;
	buf = NULL;
	rc = MASH_OK;
out:
	mash_free(buf);
	return rc;
}

int
mash_seal_with(const struct mash_seal_eph *e,
               const uint8_t recipient_pub[MASH_SEAL_PUB_LEN],
               const char *recipient, const char *payload_type,
               const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen)
{
	struct mash_seal_eph fresh;
	struct mash_seal_to t;
	char aad[2 * MAX_NAME + 32];
	size_t aad_len = 0;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	memset(&fresh, 0, sizeof(fresh));
	memset(&t, 0, sizeof(t));
	if (recipient_pub == NULL || out == NULL || outlen == NULL ||
	    (msg == NULL && len > 0))
		return MASH_ERR_INVAL;
	if (len > MASH_SEAL_MAX_MSG)
		return MASH_ERR_TOO_BIG;
	/* The names before any curve arithmetic. */
	rc = aad_of(recipient, payload_type, aad, sizeof(aad), &aad_len);
	if (rc != MASH_OK)
		return rc;
	if (e == NULL) {
		rc = mash_seal_eph_new(&fresh);
		if (rc != MASH_OK)
			goto out;
		e = &fresh;
	}
	rc = mash_seal_to_derive(e, recipient_pub, &t);
	if (rc == MASH_OK)
		rc = mash_seal_with_to(&t, recipient, payload_type, msg, len,
		                       out, outlen);
out:
	mash_seal_eph_clear(&fresh);
	mash_seal_to_clear(&t);
	return rc;
}

int
mash_seal(const uint8_t recipient_pub[MASH_SEAL_PUB_LEN], const char *recipient,
          const char *payload_type, const uint8_t *msg, size_t len,
          uint8_t **out, size_t *outlen)
{
	return mash_seal_with(NULL, recipient_pub, recipient, payload_type, msg,
	                      len, out, outlen);
}

int
mash_seal_open(const struct mash_key *priv, const char *recipient,
               const char *payload_type, const uint8_t *sealed, size_t len,
               uint8_t **out, size_t *outlen)
{
	uint8_t shared[32], key[32], rcpt_pub[32], tag[16], *buf = NULL;
	const uint8_t *eph, *nonce, *ct;
	char aad[2 * MAX_NAME + 32];
	size_t aad_len = 0, n;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (priv == NULL || sealed == NULL || out == NULL || outlen == NULL)
		return MASH_ERR_INVAL;
	rc = aad_of(recipient, payload_type, aad, sizeof(aad), &aad_len);
	if (rc != MASH_OK)
		return rc;
	if (len < MASH_SEAL_OVERHEAD || sealed[0] != MASH_SEAL_VERSION ||
	    len - MASH_SEAL_OVERHEAD > MASH_SEAL_MAX_MSG)
		return MASH_ERR_DECODE;
	n = len - MASH_SEAL_OVERHEAD;
	eph = sealed + 1;
	nonce = eph + MASH_SEAL_PUB_LEN;
	ct = nonce + MASH_SEAL_NONCE;
	memcpy(tag, ct + n, sizeof(tag));
	rc = mash_key_public_raw(priv, rcpt_pub);
	if (rc == MASH_OK)
		rc = mash_key_x25519(priv, eph, shared);
	if (rc == MASH_ERR_KEY_FORMAT && mash_key_kind(priv) == MASH_KEY_X25519)
		rc = MASH_ERR_DECRYPT; /* our key is fine: eph was not */
	if (rc == MASH_OK)
		rc = derive(shared, eph, rcpt_pub, key);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_NOMEM;
	buf = mash_malloc(n > 0 ? n : 1);
	if (buf == NULL)
		goto out;
	if (!mash_aead_gcm(0, key, nonce, aad, aad_len, ct, n, buf, tag)) {
		rc = MASH_ERR_DECRYPT;
		goto out;
	}
	*out = buf;
	*outlen = n;
	buf = NULL;
	rc = MASH_OK;
out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(key, sizeof(key));
	mash_free_secret(buf, n);
	return rc;
}
