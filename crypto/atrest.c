/*
 * atrest.c - the store keys, their KEK file, column sealing and linkage
 * MACs. See atrest.h for the formats; every primitive is OpenSSL's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/aead.h"
#include "crypto/atrest.h"

#define VERSION   0x01u
#define WRAP_AAD  "mash.v1.atrest.keys"
#define SEAL_AAD  "mash.v1.atrest\n"
#define MAX_WHERE 512u
/* 64 hex digits, a newline, and room to notice more. */
#define KEK_FILE_MAX 80u

struct mash_atrest {
	uint8_t data[32];
	uint8_t link[32];
};

/* why = "key file PATH: DETAIL"; returns rc. */
static int
fail(char *why, size_t whylen, int rc, const char *path, const char *detail)
{
	mash_why(why, whylen, "key file %s: %s", path, detail);
	return rc;
}

int
mash_atrest_kek_load(const char *path, uint8_t kek[MASH_ATREST_KEK_LEN],
                     char *why, size_t whylen)
{
	char buf[KEK_FILE_MAX + 1];
	struct stat sb;
	ssize_t n;
	size_t len = 0, got = 0;
	int fd = -1, rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (path == NULL || path[0] == '\0' || kek == NULL)
		return MASH_ERR_INVAL;
	/* O_NOFOLLOW|O_NONBLOCK: a link or a FIFO planted in the key's
	 * place is refused, not followed or waited on. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		rc = errno == ENOENT ? MASH_ERR_NOT_FOUND : MASH_ERR_IO;
		return fail(why, whylen, rc, path, strerror(errno));
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = fail(why, whylen, MASH_ERR_IO, path, "not a regular file");
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		mash_why(why, whylen,
		         "key file %s: mode %04o lets group or others at it; "
		         "chmod 600 it",
		         path, (unsigned)(sb.st_mode & 07777));
		rc = MASH_ERR_DENIED;
		goto out;
	}
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
		buf[--got] = '\0';
	rc = MASH_ERR_KEY_FORMAT;
	if (got != 2 * MASH_ATREST_KEK_LEN ||
	    OPENSSL_hexstr2buf_ex(kek, MASH_ATREST_KEK_LEN, &len, buf, '\0') !=
	        1 ||
	    len != MASH_ATREST_KEK_LEN) {
		ERR_clear_error();
		OPENSSL_cleanse(kek, MASH_ATREST_KEK_LEN);
		(void)fail(why, whylen, rc, path, "not 64 hex digits");
		goto out;
	}
	rc = MASH_OK;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
mash_atrest_kek_create(const char *path, char *why, size_t whylen)
{
	uint8_t kek[MASH_ATREST_KEK_LEN];
	char hex[2 * MASH_ATREST_KEK_LEN + 2];
	size_t len;
	int fd, rc = MASH_OK;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (path == NULL || path[0] == '\0')
		return MASH_ERR_INVAL;
	if (RAND_bytes(kek, (int)sizeof(kek)) != 1)
		return MASH_ERR_CRYPTO;
	mash_hex(kek, sizeof(kek), hex);
	OPENSSL_cleanse(kek, sizeof(kek));
	len = strlen(hex);
	hex[len++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	          0600);
	if (fd < 0) {
		rc = errno == EEXIST ? MASH_ERR_EXISTS : MASH_ERR_IO;
		(void)fail(why, whylen, rc, path, strerror(errno));
		goto out;
	}
	/* The mode given to open() passed through the umask; say it. */
	if (fchmod(fd, 0600) != 0 || write(fd, hex, len) != (ssize_t)len ||
	    fsync(fd) != 0) {
		rc = fail(why, whylen, MASH_ERR_IO, path, strerror(errno));
		(void)unlink(path);
	}
	close(fd);
out:
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

int
mash_atrest_new(struct mash_atrest **out)
{
	struct mash_atrest *k;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	k = mash_calloc(1, sizeof(*k));
	if (k == NULL)
		return MASH_ERR_NOMEM;
	if (RAND_bytes(k->data, (int)sizeof(k->data)) != 1 ||
	    RAND_bytes(k->link, (int)sizeof(k->link)) != 1) {
		mash_atrest_free(k);
		return MASH_ERR_CRYPTO;
	}
	*out = k;
	return MASH_OK;
}

void
mash_atrest_free(struct mash_atrest *k)
{
	mash_free_secret(k, sizeof(*k));
}

int
mash_atrest_wrap(const struct mash_atrest *k,
                 const uint8_t kek[MASH_ATREST_KEK_LEN],
                 uint8_t out[MASH_ATREST_WRAPPED])
{
	uint8_t keys[64];
	int ok;

	if (k == NULL || kek == NULL || out == NULL)
		return MASH_ERR_INVAL;
	out[0] = VERSION;
	if (RAND_bytes(out + 1, (int)MASH_AEAD_NONCE) != 1)
		return MASH_ERR_CRYPTO;
	memcpy(keys, k->data, 32);
	memcpy(keys + 32, k->link, 32);
	ok = mash_aead_gcm(1, kek, out + 1, WRAP_AAD, strlen(WRAP_AAD), keys,
	                   sizeof(keys), out + 1 + MASH_AEAD_NONCE,
	                   out + 1 + MASH_AEAD_NONCE + sizeof(keys));
	OPENSSL_cleanse(keys, sizeof(keys));
	return ok ? MASH_OK : MASH_ERR_CRYPTO;
}

int
mash_atrest_unwrap(const uint8_t kek[MASH_ATREST_KEK_LEN], const uint8_t *in,
                   size_t len, struct mash_atrest **out)
{
	struct mash_atrest *k;
	uint8_t keys[64], tag[MASH_AEAD_TAG];
	int ok;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (kek == NULL || in == NULL)
		return MASH_ERR_INVAL;
	if (len != MASH_ATREST_WRAPPED || in[0] != VERSION)
		return MASH_ERR_DECODE;
	k = mash_calloc(1, sizeof(*k));
	if (k == NULL)
		return MASH_ERR_NOMEM;
	memcpy(tag, in + 1 + MASH_AEAD_NONCE + sizeof(keys), sizeof(tag));
	ok = mash_aead_gcm(0, kek, in + 1, WRAP_AAD, strlen(WRAP_AAD),
	                   in + 1 + MASH_AEAD_NONCE, sizeof(keys), keys, tag);
	if (ok) {
		memcpy(k->data, keys, 32);
		memcpy(k->link, keys + 32, 32);
		*out = k;
	} else {
		mash_atrest_free(k);
	}
	OPENSSL_cleanse(keys, sizeof(keys));
	return ok ? MASH_OK : MASH_ERR_DECRYPT;
}

/* SEAL_AAD || where, into buf. */
static int
aad_of(const char *where, char *buf, size_t n, size_t *len)
{
	if (where == NULL || where[0] == '\0' ||
	    strnlen(where, MAX_WHERE + 1) > MAX_WHERE)
		return MASH_ERR_INVAL;
	if (mash_snprintf(buf, n, "%s%s", SEAL_AAD, where) != MASH_OK)
		return MASH_ERR_INVAL;
	*len = strlen(buf);
	return MASH_OK;
}

int
mash_atrest_seal(const struct mash_atrest *k, const char *where,
                 const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	char aad[sizeof(SEAL_AAD) + MAX_WHERE];
	uint8_t *p;
	size_t aad_len;
	int rc;

	if (out == NULL || outlen == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	*outlen = 0;
	if (k == NULL || (in == NULL && len > 0))
		return MASH_ERR_INVAL;
	if (len > MASH_ATREST_MAX)
		return MASH_ERR_TOO_BIG;
	rc = aad_of(where, aad, sizeof(aad), &aad_len);
	if (rc != MASH_OK)
		return rc;
	p = mash_malloc(len + MASH_ATREST_OVERHEAD);
	if (p == NULL)
		return MASH_ERR_NOMEM;
	p[0] = VERSION;
	if (RAND_bytes(p + 1, (int)MASH_AEAD_NONCE) != 1 ||
	    !mash_aead_gcm(1, k->data, p + 1, aad, aad_len, in, len,
	                   p + 1 + MASH_AEAD_NONCE,
	                   p + 1 + MASH_AEAD_NONCE + len)) {
		mash_free(p);
		return MASH_ERR_CRYPTO;
	}
	*out = p;
	*outlen = len + MASH_ATREST_OVERHEAD;
	return MASH_OK;
}

int
mash_atrest_open(const struct mash_atrest *k, const char *where,
                 const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	char aad[sizeof(SEAL_AAD) + MAX_WHERE];
	uint8_t tag[MASH_AEAD_TAG], *p;
	size_t aad_len, n;
	int rc;

	if (out == NULL || outlen == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	*outlen = 0;
	if (k == NULL || in == NULL)
		return MASH_ERR_INVAL;
	rc = aad_of(where, aad, sizeof(aad), &aad_len);
	if (rc != MASH_OK)
		return rc;
	if (len < MASH_ATREST_OVERHEAD || in[0] != VERSION)
		return MASH_ERR_DECODE;
	n = len - MASH_ATREST_OVERHEAD;
	if (n > MASH_ATREST_MAX)
		return MASH_ERR_TOO_BIG;
	/* One byte more than the value, so that an empty value is still a
	 * non-NULL buffer. */
	p = mash_malloc(n + 1);
	if (p == NULL)
		return MASH_ERR_NOMEM;
	memcpy(tag, in + 1 + MASH_AEAD_NONCE + n, sizeof(tag));
	if (!mash_aead_gcm(0, k->data, in + 1, aad, aad_len,
	                   in + 1 + MASH_AEAD_NONCE, n, p, tag)) {
		mash_free_secret(p, n + 1);
		return MASH_ERR_DECRYPT;
	}
	p[n] = 0;
	*out = p;
	*outlen = n;
	return MASH_OK;
}

int
mash_atrest_mac(const struct mash_atrest *k, const char *domain,
                const char *value, char out[MASH_ATREST_MAC_HEX])
{
	uint8_t mac[32];
	size_t dl, vl, maclen = 0;
	char *msg;
	int ok;

	if (out != NULL)
		out[0] = '\0';
	if (k == NULL || domain == NULL || value == NULL || out == NULL)
		return MASH_ERR_INVAL;
	dl = strlen(domain);
	vl = strlen(value);
	if (dl > MAX_WHERE || vl > MASH_ATREST_MAX)
		return MASH_ERR_TOO_BIG;
	msg = mash_malloc(dl + 1 + vl);
	if (msg == NULL)
		return MASH_ERR_NOMEM;
	memcpy(msg, domain, dl);
	msg[dl] = '\n';
	memcpy(msg + dl + 1, value, vl);
	ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, k->link,
	               sizeof(k->link), (const unsigned char *)msg, dl + 1 + vl,
	               mac, sizeof(mac), &maclen) != NULL &&
	     maclen == sizeof(mac);
	mash_free_secret(msg, dl + 1 + vl);
	ERR_clear_error();
	if (!ok)
		return MASH_ERR_CRYPTO;
	mash_hex(mac, sizeof(mac), out);
	return MASH_OK;
}
