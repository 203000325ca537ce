/*
 * aead.c - AES-256-GCM through OpenSSL's EVP. See aead.h.
 */
#include <limits.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/aead.h"

int
mash_aead_gcm(int enc, const uint8_t key[MASH_AEAD_KEY],
              const uint8_t nonce[MASH_AEAD_NONCE], const void *aad,
              size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
              uint8_t tag[MASH_AEAD_TAG])
{
	EVP_CIPHER_CTX *c;
	int n = 0, ok;

	if (len >= INT_MAX || aad_len >= INT_MAX)
		return 0;
	c = EVP_CIPHER_CTX_new();
	ok = c != NULL &&
	     EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) ==
	         1 &&
	     (aad_len == 0 ||
	      EVP_CipherUpdate(c, NULL, &n, aad, (int)aad_len) == 1) &&
	     (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
		                         (int)MASH_AEAD_TAG, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + (len ? (size_t)n : 0), &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
		                         (int)MASH_AEAD_TAG, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	return ok;
}
