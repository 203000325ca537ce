/*
 * account.c - the console's local accounts: argon2id password hashes and
 * the principal's keys wrapped under the password. See account.h. Every
 * primitive is libsodium's; JSON is jansson's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "console/account.h"
#include "crypto/key.h"
#include "crypto/pki.h"
#include "crypto/trust.h"

#define AAD_PREFIX "mash.v1.console\n"
#define KEY_LEN    crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_LEN  crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SALT_LEN   crypto_pwhash_SALTBYTES
/* Two PEM private keys and the JSON around them. */
#define KEYS_MAX 8192u
#define FILE_MAX (MASH_ACCT_MAX_USERS * 12288u)

static int
init(void)
{
	return sodium_init() >= 0 ? MASH_OK : MASH_ERR_CRYPTO;
}

/* ---- the file -------------------------------------------------------- */

static int
load(const char *path, int must_exist, json_t **out, char *why, size_t n)
{
	json_error_t e;
	json_t *root, *users;
	struct stat sb;

	*out = NULL;
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT && !must_exist) {
			root = json_pack("{s:i,s:[]}", "v", 1, "users");
			*out = root;
			return root != NULL ? MASH_OK : MASH_ERR_NOMEM;
		}
		mash_why(why, n, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? MASH_ERR_NOT_FOUND : MASH_ERR_IO;
	}
	if ((sb.st_mode & 077) != 0) {
		mash_why(why, n, "%s: mode %04o lets group or others at it",
		         path, (unsigned)(sb.st_mode & 07777));
		return MASH_ERR_DENIED;
	}
	if (sb.st_size > (off_t)FILE_MAX) {
		mash_why(why, n, "%s: too big", path);
		return MASH_ERR_TOO_BIG;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
	users = root != NULL ? json_object_get(root, "users") : NULL;
	if (root == NULL ||
	    json_integer_value(json_object_get(root, "v")) != 1 ||
	    !json_is_array(users) ||
	    json_array_size(users) > MASH_ACCT_MAX_USERS) {
		mash_why(why, n, "%s:%d: not an accounts file (%s)", path,
		         e.line, root == NULL ? e.text : "version or users");
		json_decref(root);
		return MASH_ERR_PARSE;
	}
	*out = root;
	return MASH_OK;
}

/* Replace path by root: a temporary file (0600) beside it, fsync'd, then
 * renamed over it, so a crash leaves the old file or the new one. */
static int
save(const char *path, json_t *root, char *why, size_t n)
{
	char tmp[4096];
	char *text = NULL;
	size_t len, off = 0;
	ssize_t w;
	int fd = -1, rc = MASH_ERR_IO;

	if (mash_snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) != MASH_OK)
		return MASH_ERR_INVAL;
	text = json_dumps(root, JSON_SORT_KEYS | JSON_INDENT(1));
	if (text == NULL)
		return MASH_ERR_NOMEM;
	len = strlen(text);
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	if (fchmod(fd, 0600) != 0)
		goto out;
	while (off < len) {
		w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	rc = MASH_OK;
out:
	if (rc != MASH_OK) {
		mash_why(why, n, "%s: cannot write: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		(void)unlink(tmp);
	}
	mash_free_secret(text, len);
	return rc;
}

static json_t *
find(json_t *root, const char *name, size_t *index)
{
	json_t *users = json_object_get(root, "users"), *u;
	size_t i;

	json_array_foreach(users, i, u)
	{
		if (json_is_string(json_object_get(u, "name")) &&
		    strcmp(json_string_value(json_object_get(u, "name")),
		           name) == 0) {
			if (index != NULL)
				*index = i;
			return u;
		}
	}
	return NULL;
}

/* ---- wrapping -------------------------------------------------------- */

static int
b64(const unsigned char *bin, size_t len, json_t *u, const char *key)
{
	size_t n =
	    sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = mash_malloc(n);
	int rc;

	if (s == NULL)
		return MASH_ERR_NOMEM;
	sodium_bin2base64(s, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
	rc = json_object_set_new(u, key, json_string(s)) == 0 ? MASH_OK
	                                                      : MASH_ERR_NOMEM;
	mash_free(s);
	return rc;
}

static int
unb64(json_t *u, const char *key, unsigned char *bin, size_t max, size_t *len)
{
	const char *s = json_string_value(json_object_get(u, key));

	if (s == NULL ||
	    sodium_base642bin(bin, max, s, strlen(s), NULL, len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return MASH_ERR_PARSE;
	return MASH_OK;
}

static int
aad_of(const char *name, const char *principal, char *buf, size_t n)
{
	return mash_snprintf(buf, n, "%s%s\n%s", AAD_PREFIX, name, principal);
}

/* Derive the wrapping key from password and salt (argon2id). */
static int
derive(const char *password, const unsigned char *salt,
       unsigned char key[KEY_LEN])
{
	return crypto_pwhash(key, KEY_LEN, password, strlen(password), salt,
	                     crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                     crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                     crypto_pwhash_ALG_ARGON2ID13) == 0
	           ? MASH_OK
	           : MASH_ERR_NOMEM;
}

/* Set u's pwhash, salt, nonce and keys for password over clear keys. */
static int
wrap(json_t *u, const char *password, const unsigned char *clear, size_t len)
{
	unsigned char salt[SALT_LEN], nonce[NONCE_LEN], key[KEY_LEN];
	unsigned char *ct = NULL;
	char hash[crypto_pwhash_STRBYTES], aad[3 * MASH_ACCT_NAME_MAX];
	unsigned long long clen = 0;
	int rc;

	if (crypto_pwhash_str(hash, password, strlen(password),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return MASH_ERR_NOMEM;
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	rc = aad_of(json_string_value(json_object_get(u, "name")),
	            json_string_value(json_object_get(u, "principal")), aad,
	            sizeof(aad));
	if (rc == MASH_OK)
		rc = derive(password, salt, key);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_NOMEM;
	ct = mash_malloc(len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
	if (ct == NULL)
		goto out;
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    ct, &clen, clear, len, (const unsigned char *)aad, strlen(aad),
	    NULL, nonce, key);
	rc = json_object_set_new(u, "pwhash", json_string(hash)) == 0
	         ? MASH_OK
	         : MASH_ERR_NOMEM;
	if (rc == MASH_OK)
		rc = b64(salt, sizeof(salt), u, "salt");
	if (rc == MASH_OK)
		rc = b64(nonce, sizeof(nonce), u, "nonce");
	if (rc == MASH_OK)
		rc = b64(ct, (size_t)clen, u, "keys");
out:
	sodium_memzero(key, sizeof(key));
	mash_free(ct);
	return rc;
}

/* The clear keys JSON of u under password, into sodium_malloc'd memory
 * (*out, *len; sodium_free). MASH_ERR_TAMPERED if they do not open. */
static int
unwrap(json_t *u, const char *password, unsigned char **out, size_t *len)
{
	unsigned char salt[SALT_LEN], nonce[NONCE_LEN], key[KEY_LEN];
	unsigned char ct[KEYS_MAX + 64], *clear;
	char aad[3 * MASH_ACCT_NAME_MAX];
	size_t sl = 0, nl = 0, cl = 0;
	unsigned long long ml = 0;
	int rc;

	*out = NULL;
	*len = 0;
	if (unb64(u, "salt", salt, sizeof(salt), &sl) != MASH_OK ||
	    unb64(u, "nonce", nonce, sizeof(nonce), &nl) != MASH_OK ||
	    unb64(u, "keys", ct, sizeof(ct), &cl) != MASH_OK ||
	    sl != sizeof(salt) || nl != sizeof(nonce) ||
	    cl < crypto_aead_xchacha20poly1305_ietf_ABYTES)
		return MASH_ERR_TAMPERED;
	rc = aad_of(json_string_value(json_object_get(u, "name")),
	            json_string_value(json_object_get(u, "principal")), aad,
	            sizeof(aad));
	if (rc == MASH_OK)
		rc = derive(password, salt, key);
	if (rc != MASH_OK)
		return rc;
	clear = sodium_malloc(cl + 1);
	if (clear == NULL) {
		sodium_memzero(key, sizeof(key));
		return MASH_ERR_NOMEM;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        clear, &ml, NULL, ct, cl, (const unsigned char *)aad,
	        strlen(aad), nonce, key) != 0) {
		sodium_memzero(key, sizeof(key));
		sodium_free(clear);
		return MASH_ERR_TAMPERED;
	}
	sodium_memzero(key, sizeof(key));
	clear[ml] = '\0';
	*out = clear;
	*len = (size_t)ml;
	return MASH_OK;
}

/* The password's check against u (or, without u, the same work against
 * nothing, so timing does not tell a known name from an unknown one). */
static int
password_ok(json_t *u, const char *password)
{
	char dummy[crypto_pwhash_STRBYTES];
	const char *h =
	    u != NULL ? json_string_value(json_object_get(u, "pwhash")) : NULL;

	if (h == NULL) {
		if (crypto_pwhash_str(dummy, password, strlen(password),
		                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
		                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
			return 0;
		return 0;
	}
	return crypto_pwhash_str_verify(h, password, strlen(password)) == 0;
}

/* A new password's length: MASH_OK, or MASH_ERR_INVAL with why. */
static int
password_check(const char *pw, char *why, size_t whylen)
{
	size_t n = pw != NULL ? strnlen(pw, MASH_ACCT_PASS_MAX + 1) : 0;

	if (n >= MASH_ACCT_PASS_MIN && n <= MASH_ACCT_PASS_MAX)
		return MASH_OK;
	mash_why(why, whylen, "a password has %u to %u characters",
	         MASH_ACCT_PASS_MIN, MASH_ACCT_PASS_MAX);
	return MASH_ERR_INVAL;
}

/* ---- the operations -------------------------------------------------- */

/* o[field] = the text of the PEM file at path (checked already). */
static int
add_pem(json_t *o, const char *field, const char *path)
{
	char buf[4096];
	FILE *f = fopen(path, "r");
	size_t got = 0;
	int rc;

	if (f == NULL)
		return MASH_ERR_IO;
	got = fread(buf, 1, sizeof(buf) - 1, f);
	rc = ferror(f) || !feof(f) ? MASH_ERR_IO : MASH_OK;
	fclose(f);
	buf[got] = '\0';
	if (rc == MASH_OK &&
	    (got == 0 || json_object_set_new(o, field, json_string(buf)) != 0))
		rc = MASH_ERR_IO;
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* {"sign_key":PEM,"enc_key":PEM[,"tls_cert":..,"tls_key":..]} of the key
 * files, each checked to be what it claims. */
static int
keys_json(const struct mash_acct_keys *f, char **out, char *why, size_t n)
{
	static const struct {
		const char *field;
		enum mash_key_kind kind;
	} k[2] = {{"sign_key", MASH_KEY_ED25519}, {"enc_key", MASH_KEY_X25519}};
	const char *files[2] = {f->sign_key, f->enc_key};
	struct mash_key *key = NULL;
	json_t *o = json_object();
	size_t i;
	int rc = MASH_ERR_NOMEM;

	*out = NULL;
	for (i = 0; o != NULL && i < 2; i++) {
		rc = mash_key_load_kind(k[i].kind, 1, files[i], &key);
		mash_key_free(key);
		key = NULL;
		if (rc != MASH_OK) {
			mash_why(why, n, "%s: %s", files[i],
			         mash_file_strerror(rc));
			goto out;
		}
		rc = add_pem(o, k[i].field, files[i]);
		if (rc != MASH_OK) {
			mash_why(why, n, "%s: cannot read", files[i]);
			goto out;
		}
	}
	if (o != NULL && f->tls_cert != NULL) {
		rc = mash_pki_check_identity(NULL, f->tls_cert, f->tls_key, why,
		                             n);
		if (rc == MASH_OK &&
		    (add_pem(o, "tls_cert", f->tls_cert) != MASH_OK ||
		     add_pem(o, "tls_key", f->tls_key) != MASH_OK)) {
			mash_why(why, n, "%s: cannot read", f->tls_cert);
			rc = MASH_ERR_IO;
		}
		if (rc != MASH_OK)
			goto out;
	}
	*out = json_dumps(o, JSON_COMPACT);
	rc = *out != NULL ? MASH_OK : MASH_ERR_NOMEM;
out:
	json_decref(o);
	return rc;
}

int
mash_acct_add(const char *path, const char *name, const char *principal,
              const char *password, const struct mash_acct_keys *k, char *why,
              size_t whylen)
{
	json_t *root = NULL, *u = NULL;
	char *keys = NULL;
	int rc;

	mash_why(why, whylen, "%s", "");
	if (path == NULL || k == NULL || k->sign_key == NULL ||
	    k->enc_key == NULL)
		return MASH_ERR_INVAL;
	if ((k->tls_cert == NULL) != (k->tls_key == NULL)) {
		mash_why(why, whylen,
		         "a TLS certificate and its key go together");
		return MASH_ERR_INVAL;
	}
	if (!mash_trust_id_valid(name) || !mash_trust_id_valid(principal) ||
	    (k->key_id != NULL && !mash_trust_id_valid(k->key_id))) {
		mash_why(why, whylen,
		         "user, principal and key id are [a-z0-9._-]{1,64}");
		return MASH_ERR_BAD_ID;
	}
	rc = password_check(password, why, whylen);
	if (rc == MASH_OK)
		rc = init();
	if (rc == MASH_OK)
		rc = load(path, 0, &root, why, whylen);
	if (rc != MASH_OK)
		goto out;
	if (find(root, name, NULL) != NULL) {
		mash_why(why, whylen, "%s: user %s exists", path, name);
		rc = MASH_ERR_EXISTS;
		goto out;
	}
	rc = keys_json(k, &keys, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_NOMEM;
	u = json_pack("{s:s,s:s,s:s}", "name", name, "principal", principal,
	              "key_id", k->key_id != NULL ? k->key_id : "k1");
	if (u == NULL)
		goto out;
	rc = wrap(u, password, (const unsigned char *)keys, strlen(keys));
	if (rc == MASH_OK)
		rc = json_array_append(json_object_get(root, "users"), u) == 0
		         ? MASH_OK
		         : MASH_ERR_NOMEM;
	if (rc == MASH_OK)
		rc = save(path, root, why, whylen);
out:
	if (keys != NULL)
		mash_free_secret(keys, strlen(keys));
	json_decref(u);
	json_decref(root);
	return rc;
}

int
mash_acct_passwd(const char *path, const char *name, const char *old_pw,
                 const char *new_pw, char *why, size_t whylen)
{
	json_t *root = NULL, *u;
	unsigned char *clear = NULL;
	size_t len = 0;
	int rc;

	mash_why(why, whylen, "%s", "");
	if (path == NULL || name == NULL || old_pw == NULL)
		return MASH_ERR_INVAL;
	rc = password_check(new_pw, why, whylen);
	if (rc == MASH_OK)
		rc = init();
	if (rc == MASH_OK)
		rc = load(path, 1, &root, why, whylen);
	if (rc != MASH_OK)
		goto out;
	u = find(root, name, NULL);
	if (!password_ok(u, old_pw)) {
		mash_why(why, whylen, "wrong user name or password");
		rc = MASH_ERR_DENIED;
		goto out;
	}
	rc = unwrap(u, old_pw, &clear, &len);
	if (rc == MASH_OK)
		rc = wrap(u, new_pw, clear, len);
	if (rc == MASH_OK)
		rc = save(path, root, why, whylen);
out:
	if (clear != NULL)
		sodium_free(clear);
	json_decref(root);
	return rc;
}

int
mash_acct_remove(const char *path, const char *name, char *why, size_t whylen)
{
	json_t *root = NULL;
	size_t i;
	int rc;

	mash_why(why, whylen, "%s", "");
	if (path == NULL || name == NULL)
		return MASH_ERR_INVAL;
	rc = load(path, 1, &root, why, whylen);
	if (rc != MASH_OK)
		return rc;
	if (find(root, name, &i) == NULL) {
		mash_why(why, whylen, "%s: no user %s", path, name);
		rc = MASH_ERR_NOT_FOUND;
	} else {
		(void)json_array_remove(json_object_get(root, "users"), i);
		rc = save(path, root, why, whylen);
	}
	json_decref(root);
	return rc;
}

void
mash_acct_session_free(struct mash_acct_session *s)
{
	if (s == NULL)
		return;
	if (s->sign_key != NULL)
		sodium_free(s->sign_key);
	if (s->enc_key != NULL)
		sodium_free(s->enc_key);
	if (s->tls_cert != NULL)
		sodium_free(s->tls_cert);
	if (s->tls_key != NULL)
		sodium_free(s->tls_key);
	mash_free_secret(s, sizeof(*s));
}

/* A sodium_malloc'd copy of o's string field. */
static char *
locked_copy(json_t *o, const char *field)
{
	const char *v = json_string_value(json_object_get(o, field));
	size_t n;
	char *c;

	if (v == NULL)
		return NULL;
	n = strlen(v);
	c = sodium_malloc(n + 1);
	if (c != NULL)
		memcpy(c, v, n + 1);
	return c;
}

int
mash_acct_signin(const char *path, const char *name, const char *password,
                 struct mash_acct_session **out)
{
	struct mash_acct_session *s = NULL;
	json_t *root = NULL, *u, *keys = NULL;
	unsigned char *clear = NULL;
	size_t len = 0;
	int rc;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (path == NULL || name == NULL || password == NULL ||
	    strnlen(password, MASH_ACCT_PASS_MAX + 1) > MASH_ACCT_PASS_MAX)
		return MASH_ERR_DENIED;
	rc = init();
	if (rc == MASH_OK)
		rc = load(path, 1, &root, NULL, 0);
	if (rc != MASH_OK)
		return rc;
	u = find(root, name, NULL);
	if (!password_ok(u, password)) {
		rc = MASH_ERR_DENIED;
		goto out;
	}
	rc = unwrap(u, password, &clear, &len);
	if (rc != MASH_OK)
		goto out;
	keys =
	    json_loadb((const char *)clear, len, JSON_REJECT_DUPLICATES, NULL);
	rc = MASH_ERR_NOMEM;
	s = mash_calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	(void)mash_strlcpy(s->name, name, sizeof(s->name));
	(void)mash_strlcpy(s->principal,
	                   json_string_value(json_object_get(u, "principal")),
	                   sizeof(s->principal));
	/* Accounts written before key ids were kept: the demo's "k1". */
	(void)mash_strlcpy(s->key_id,
	                   json_is_string(json_object_get(u, "key_id"))
	                       ? json_string_value(json_object_get(u, "key_id"))
	                       : "k1",
	                   sizeof(s->key_id));
	s->sign_key = locked_copy(keys, "sign_key");
	s->enc_key = locked_copy(keys, "enc_key");
	s->tls_cert = locked_copy(keys, "tls_cert");
	s->tls_key = locked_copy(keys, "tls_key");
	rc = s->sign_key != NULL && s->enc_key != NULL &&
	             (s->tls_cert == NULL) == (s->tls_key == NULL)
	         ? MASH_OK
	         : MASH_ERR_TAMPERED;
	if (rc != MASH_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	mash_acct_session_free(s);
	if (keys != NULL) {
		/* jansson's copies of the PEMs: wiped before release. */
		json_t *v;
		const char *k;

		json_object_foreach(keys, k, v)
		{
			if (json_is_string(v))
				sodium_memzero((char *)json_string_value(v),
				               json_string_length(v));
		}
		json_decref(keys);
	}
	if (clear != NULL)
		sodium_free(clear);
	json_decref(root);
	return rc;
}
