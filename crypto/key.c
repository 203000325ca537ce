/*
 * key.c - Ed25519 and X25519 keys. PEM encoding is OpenSSL's own (PKCS#8 /
 * SubjectPublicKeyInfo), so the files interoperate with every other
 * implementation; file handling is ours, so that a private key is never
 * readable by anyone else, not even for a moment.
 *
 * The per-message operations (sign, verify, X25519) run on libsodium with
 * the raw key bytes kept beside the EVP_PKEY: the same RFC 8032 / RFC 7748
 * results, without OpenSSL 3's per-call context set-up and algorithm
 * fetches, which cost as much again as the arithmetic (issue 22: every
 * delivery is signed after an X25519 agreement; bench_env shows the rates).
 * libsodium's verify is also the stricter one: it refuses small-order
 * public keys and R values that OpenSSL lets through.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/key.h"

struct mash_key {
	EVP_PKEY *pkey;
	int is_private;
	enum mash_key_kind kind;
	uint8_t pub[MASH_KEY_PUB_LEN];
	/* Private keys only: libsodium's form (Ed25519: seed || public, 64
	 * bytes; X25519: the scalar, 32), wiped when the key is freed. */
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
};

static int
nid_of(enum mash_key_kind kind)
{
	return kind == MASH_KEY_X25519 ? EVP_PKEY_X25519 : EVP_PKEY_ED25519;
}

/* Never prompt for a passphrase: an encrypted key is a format error. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The raw bytes of pkey into k, checked against each other. */
static int
raw_of(EVP_PKEY *pkey, int is_private, enum mash_key_kind kind,
       struct mash_key *k)
{
	uint8_t seed[32], pub[crypto_sign_PUBLICKEYBYTES];
	size_t n = MASH_KEY_PUB_LEN;
	int rc = MASH_ERR_CRYPTO;

	if (sodium_init() < 0 ||
	    EVP_PKEY_get_raw_public_key(pkey, k->pub, &n) != 1 ||
	    n != MASH_KEY_PUB_LEN)
		goto out;
	if (!is_private) {
		rc = MASH_OK;
		goto out;
	}
	n = sizeof(seed);
	if (EVP_PKEY_get_raw_private_key(pkey, seed, &n) != 1 ||
	    n != sizeof(seed))
		goto out;
	if (kind == MASH_KEY_X25519) {
		memcpy(k->sk, seed, sizeof(seed));
		if (crypto_scalarmult_base(pub, seed) != 0)
			goto out;
	} else if (crypto_sign_seed_keypair(pub, k->sk, seed) != 0) {
		goto out;
	}
	/* Both libraries must agree on the public half, or neither is used. */
	if (sodium_memcmp(pub, k->pub, MASH_KEY_PUB_LEN) != 0)
		goto out;
	rc = MASH_OK;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	ERR_clear_error();
	return rc;
}

static int
wrap(EVP_PKEY *pkey, int is_private, enum mash_key_kind kind,
     struct mash_key **out)
{
	struct mash_key *k;
	int rc;

	k = mash_calloc(1, sizeof(*k));
	if (k == NULL)
		return MASH_ERR_NOMEM;
	rc = raw_of(pkey, is_private, kind, k);
	if (rc != MASH_OK) {
		mash_free_secret(k, sizeof(*k));
		return rc;
	}
	k->pkey = pkey;
	k->is_private = is_private;
	k->kind = kind;
	*out = k;
	return MASH_OK;
}

int
mash_key_generate(struct mash_key **out)
{
	return mash_key_generate_kind(MASH_KEY_ED25519, out);
}

int
mash_key_generate_kind(enum mash_key_kind kind, struct mash_key **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = MASH_ERR_CRYPTO;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (kind != MASH_KEY_ED25519 && kind != MASH_KEY_X25519)
		return MASH_ERR_INVAL;
	ctx = EVP_PKEY_CTX_new_id(nid_of(kind), NULL);
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, &pkey) != 1)
		goto out;
	rc = wrap(pkey, 1, kind, out);
	if (rc == MASH_OK)
		pkey = NULL; /* transferred */
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/*
 * Read a whole key file into a malloc'd, NUL-terminated buffer, refusing
 * symlinks, non-regular files and anything over MASH_KEY_MAX_FILE before
 * reading it. The caller wipes and frees the buffer.
 */
static int
read_key_file(const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = -1, rc = MASH_ERR_IO;

	*out = NULL;
	*outlen = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		/* A missing key is a wrong path in a config, and says so. */
		if (errno == ENOENT)
			rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if (st.st_size < 0 || (uint64_t)st.st_size > MASH_KEY_MAX_FILE) {
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	buf = mash_malloc(MASH_KEY_MAX_FILE + 1);
	if (buf == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	/* Read to EOF (the file may change under us): still bounded. */
	for (;;) {
		ssize_t n = read(fd, buf + got, MASH_KEY_MAX_FILE + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > MASH_KEY_MAX_FILE) {
			rc = MASH_ERR_TOO_BIG;
			goto out;
		}
	}
	buf[got] = '\0';
	*out = buf;
	*outlen = got;
	buf = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_free_secret(buf, MASH_KEY_MAX_FILE + 1);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * An Ed25519 SubjectPublicKeyInfo is always these 12 DER bytes followed by
 * the 32-byte key (RFC 8410 section 4: no algorithm parameters, and DER
 * has one encoding). Matching it directly is strict and ~100x faster than
 * OpenSSL 3's generic decoder (~1 ms per key), which keeps a trust store
 * reload cheap.
 */
static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                        0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
/* The same for X25519 (OID 1.3.101.110, RFC 8410). */
static const uint8_t spki_prefix_x[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                          0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00};

static int from_raw(enum mash_key_kind kind,
                    const uint8_t raw[MASH_KEY_PUB_LEN], struct mash_key **out);

static int
parse_public_pem(BIO *bio, enum mash_key_kind kind, struct mash_key **out)
{
	const uint8_t *prefix =
	    kind == MASH_KEY_X25519 ? spki_prefix_x : spki_prefix;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long n = 0;
	int rc = MASH_ERR_KEY_FORMAT;

	if (PEM_read_bio(bio, &name, &header, &der, &n) != 1)
		goto out;
	if (strcmp(name, "PUBLIC KEY") != 0 || header[0] != '\0' ||
	    n != (long)(sizeof(spki_prefix) + MASH_KEY_PUB_LEN) ||
	    memcmp(der, prefix, sizeof(spki_prefix)) != 0)
		goto out;
	rc = from_raw(kind, der + sizeof(spki_prefix), out);
out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	return rc;
}

static int
parse_pem(const char *pem, size_t len, int want_private,
          enum mash_key_kind kind, struct mash_key **out)
{
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = MASH_ERR_KEY_FORMAT;

	if (len > MASH_KEY_MAX_FILE) {
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	if (!want_private) {
		rc = parse_public_pem(bio, kind, out);
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL || EVP_PKEY_get_id(pkey) != nid_of(kind))
		goto out;
	rc = wrap(pkey, want_private, kind, out);
	if (rc == MASH_OK)
		pkey = NULL; /* transferred */
out:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

static int
load(const char *path, int want_private, enum mash_key_kind kind,
     struct mash_key **out)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (path == NULL)
		return MASH_ERR_INVAL;
	rc = read_key_file(path, &buf, &len);
	if (rc != MASH_OK)
		goto out;
	rc = parse_pem(buf, len, want_private, kind, out);
out:
	mash_free_secret(buf, len);
	return rc;
}

int
mash_key_load_private(const char *path, struct mash_key **out)
{
	return load(path, 1, MASH_KEY_ED25519, out);
}

int
mash_key_load_public(const char *path, struct mash_key **out)
{
	return load(path, 0, MASH_KEY_ED25519, out);
}

int
mash_key_load_kind(enum mash_key_kind kind, int want_private, const char *path,
                   struct mash_key **out)
{
	return load(path, want_private != 0, kind, out);
}

int
mash_key_parse_public_kind(enum mash_key_kind kind, const char *pem, size_t len,
                           struct mash_key **out)
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (pem == NULL)
		return MASH_ERR_INVAL;
	return parse_pem(pem, len, 0, kind, out);
}

int
mash_key_parse_private_kind(enum mash_key_kind kind, const char *pem,
                            size_t len, struct mash_key **out)
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (pem == NULL)
		return MASH_ERR_INVAL;
	return parse_pem(pem, len, 1, kind, out);
}

int
mash_key_parse_public(const char *pem, size_t len, struct mash_key **out)
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (pem == NULL)
		return MASH_ERR_INVAL;
	return parse_pem(pem, len, 0, MASH_KEY_ED25519, out);
}

int
mash_key_from_raw_public(const uint8_t raw[MASH_KEY_PUB_LEN],
                         struct mash_key **out)
{
	return from_raw(MASH_KEY_ED25519, raw, out);
}

static int
from_raw(enum mash_key_kind kind, const uint8_t raw[MASH_KEY_PUB_LEN],
         struct mash_key **out)
{
	EVP_PKEY *pkey = NULL;
	int rc = MASH_ERR_KEY_FORMAT;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (raw == NULL)
		return MASH_ERR_INVAL;
	pkey = EVP_PKEY_new_raw_public_key(nid_of(kind), NULL, raw,
	                                   MASH_KEY_PUB_LEN);
	if (pkey == NULL)
		goto out;
	rc = wrap(pkey, 0, kind, out);
	if (rc == MASH_OK)
		pkey = NULL; /* transferred */
out:
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return rc;
}

/* PEM-encode k into a memory BIO; secure heap for private keys so that
 * the BIO's pages are wiped when freed. */
static int
encode(const struct mash_key *k, int private_part, BIO **out)
{
	BIO *bio = NULL;
	int rc = MASH_ERR_CRYPTO, ok;

	*out = NULL;
	bio = BIO_new(private_part ? BIO_s_secmem() : BIO_s_mem());
	if (bio == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	if (private_part)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0,
		                                   NULL, NULL);
	else
		ok = PEM_write_bio_PUBKEY(bio, k->pkey);
	if (ok != 1)
		goto out;
	*out = bio;
	bio = NULL; /* transferred */
	rc = MASH_OK;
out:
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MASH_ERR_IO;
		p += w;
		n -= (size_t)w;
	}
	return MASH_OK;
}

static int
save(const struct mash_key *k, const char *path, int private_part, mode_t mode)
{
	BIO *bio = NULL;
	char *data = NULL;
	long n;
	int fd = -1, created = 0, rc = MASH_ERR_INVAL;

	if (k == NULL || path == NULL || (private_part && !k->is_private))
		goto out;
	rc = encode(k, private_part, &bio);
	if (rc != MASH_OK)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0) {
		rc = MASH_ERR_CRYPTO;
		goto out;
	}
	/* O_EXCL|O_NOFOLLOW: never follow a planted link, never truncate an
	 * existing key; the mode applies from creation (umask can only
	 * narrow it), and fchmod pins it against a permissive umask. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	          mode);
	if (fd < 0) {
		rc = errno == EEXIST ? MASH_ERR_EXISTS : MASH_ERR_IO;
		goto out;
	}
	created = 1;
	if (fchmod(fd, mode) != 0) {
		rc = MASH_ERR_IO;
		goto out;
	}
	rc = write_all(fd, data, (size_t)n);
	if (rc != MASH_OK)
		goto out;
	if (fsync(fd) != 0) {
		rc = MASH_ERR_IO;
		goto out;
	}
	rc = close(fd) == 0 ? MASH_OK : MASH_ERR_IO;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (rc != MASH_OK && created)
		unlink(path);
	BIO_free(bio);
	return rc;
}

int
mash_key_save_private(const struct mash_key *k, const char *path)
{
	return save(k, path, 1, 0600);
}

int
mash_key_save_public(const struct mash_key *k, const char *path)
{
	return save(k, path, 0, 0644);
}

int
mash_key_public_pem(const struct mash_key *k, char **out, size_t *outlen)
{
	BIO *bio = NULL;
	char *data = NULL, *copy = NULL;
	long n;
	int rc = MASH_ERR_INVAL;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (k == NULL)
		goto out;
	rc = encode(k, 0, &bio);
	if (rc != MASH_OK)
		goto out;
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0) {
		rc = MASH_ERR_CRYPTO;
		goto out;
	}
	copy = mash_strndup(data, (size_t)n);
	if (copy == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	*out = copy;
	if (outlen != NULL)
		*outlen = (size_t)n;
	rc = MASH_OK;
out:
	BIO_free(bio);
	return rc;
}

int
mash_key_is_private(const struct mash_key *k)
{
	return k != NULL && k->is_private;
}

int
mash_key_sign(const struct mash_key *k, const uint8_t *msg, size_t len,
              uint8_t sig[MASH_KEY_SIG_LEN])
{
	static const uint8_t empty[1];
	int rc = MASH_ERR_INVAL;

	if (sig == NULL)
		return MASH_ERR_INVAL;
	memset(sig, 0, MASH_KEY_SIG_LEN);
	if (k == NULL || !k->is_private || (msg == NULL && len != 0))
		goto out;
	if (k->kind != MASH_KEY_ED25519) {
		rc = MASH_ERR_KEY_FORMAT; /* an encryption key never signs */
		goto out;
	}
	if (msg == NULL)
		msg = empty;
	/* Ed25519 is one-shot (PureEdDSA): no digest, whole message. */
	if (crypto_sign_detached(sig, NULL, msg, len, k->sk) != 0) {
		OPENSSL_cleanse(sig, MASH_KEY_SIG_LEN);
		rc = MASH_ERR_CRYPTO;
		goto out;
	}
	rc = MASH_OK;
out:
	return rc;
}

int
mash_key_verify(const struct mash_key *k, const uint8_t *msg, size_t len,
                const uint8_t *sig, size_t siglen)
{
	static const uint8_t empty[1];

	if (k == NULL || (msg == NULL && len != 0))
		return MASH_ERR_INVAL;
	if (k->kind != MASH_KEY_ED25519)
		return MASH_ERR_KEY_FORMAT;
	if (sig == NULL || siglen != MASH_KEY_SIG_LEN)
		return MASH_ERR_BAD_SIGNATURE;
	if (msg == NULL)
		msg = empty;
	/* A malformed signature (S not reduced, R or the key of small
	 * order) and a wrong one are alike a bad signature to the caller. */
	return crypto_sign_verify_detached(sig, msg, len, k->pub) == 0
	           ? MASH_OK
	           : MASH_ERR_BAD_SIGNATURE;
}

int
mash_key_public_raw(const struct mash_key *k, uint8_t out[MASH_KEY_PUB_LEN])
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	if (k == NULL) {
		memset(out, 0, MASH_KEY_PUB_LEN);
		return MASH_ERR_INVAL;
	}
	memcpy(out, k->pub, MASH_KEY_PUB_LEN);
	return MASH_OK;
}

int
mash_key_same_public(const struct mash_key *a, const struct mash_key *b)
{
	uint8_t ra[MASH_KEY_PUB_LEN], rb[MASH_KEY_PUB_LEN];

	if (mash_key_public_raw(a, ra) != MASH_OK ||
	    mash_key_public_raw(b, rb) != MASH_OK)
		return 0;
	return CRYPTO_memcmp(ra, rb, MASH_KEY_PUB_LEN) == 0;
}

int
mash_key_x25519(const struct mash_key *priv,
                const uint8_t peer[MASH_KEY_PUB_LEN],
                uint8_t shared[MASH_KEY_PUB_LEN])
{
	if (priv == NULL || peer == NULL || shared == NULL)
		return MASH_ERR_INVAL;
	memset(shared, 0, MASH_KEY_PUB_LEN);
	if (priv->kind != MASH_KEY_X25519 || !priv->is_private)
		return MASH_ERR_KEY_FORMAT;
	/* libsodium refuses a low-order peer key, whose result is all zeros
	 * (RFC 7748 section 6.1). */
	if (crypto_scalarmult(shared, priv->sk, peer) != 0) {
		OPENSSL_cleanse(shared, MASH_KEY_PUB_LEN);
		return MASH_ERR_KEY_FORMAT;
	}
	return MASH_OK;
}

enum mash_key_kind
mash_key_kind(const struct mash_key *k)
{
	return k != NULL ? k->kind : MASH_KEY_ED25519;
}

void
mash_key_free(struct mash_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	mash_free_secret(k, sizeof(*k));
}
