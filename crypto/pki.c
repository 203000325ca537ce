/*
 * pki.c - the hub's private PKI with OpenSSL's X509 API. See pki.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "common/str.h"
#include "crypto/pki.h"

#define PATH_MAX_LEN 4096

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* [a-z0-9._-]{1,64}, the directory's and trust store's identifiers. */
static int
name_valid(const char *s)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1 && n <= 64;
}

/* A DNS name: [A-Za-z0-9.-]{1,253}, no leading dot or dash. */
static int
host_valid(const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0' || s[0] == '.' || s[0] == '-')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-'))
			return 0;
	}
	return n <= 253;
}

static int
is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

/* mkdir -p dir, each new level 0700. 0, or -1 with errno. */
static int
mkdirs(const char *dir)
{
	char p[PATH_MAX_LEN];
	size_t i;

	if (mash_strlcpy(p, dir, sizeof(p)) != MASH_OK) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 1; p[i] != '\0'; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return -1;
		p[i] = '/';
	}
	return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Open path for writing: O_EXCL unless force; mode applied even when
 * replacing (fchmod), never through a symlink. */
static FILE *
open_out(const char *path, mode_t mode, int force)
{
	int fd, flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	FILE *f;

	flags |= force ? O_TRUNC : O_EXCL;
	fd = open(path, flags, mode);
	if (fd < 0)
		return NULL;
	if (fchmod(fd, mode) != 0) {
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "w");
	if (f == NULL)
		close(fd);
	return f;
}

/* Write key (0600) then cert (0644); on any failure remove both. */
static int
write_pair(const char *key_path, const char *cert_path, EVP_PKEY *key,
           X509 *cert, int force, char *err, size_t errlen)
{
	FILE *f = NULL;
	const char *what = key_path;
	int ok;

	f = open_out(key_path, 0600, force);
	if (f == NULL)
		goto io;
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
	ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok &= fclose(f) == 0;
	f = NULL;
	if (!ok)
		goto io;
	what = cert_path;
	f = open_out(cert_path, 0644, force);
	if (f == NULL)
		goto io;
	ok = PEM_write_X509(f, cert) == 1;
	ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok &= fclose(f) == 0;
	f = NULL;
	if (!ok)
		goto io;
	return MASH_OK;
io:
	(void)fail(err, errlen, MASH_ERR_IO, "%s: cannot write: %s", what,
	           strerror(errno));
	if (f != NULL)
		fclose(f);
	unlink(key_path);
	unlink(cert_path);
	return MASH_ERR_IO;
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return 0;
	ok = X509_add_ext(cert, ex, -1) == 1;
	X509_EXTENSION_free(ex);
	return ok;
}

/* A certificate for key with subject CN = cn, O = MASH, valid for days,
 * a random 128-bit serial; issuer NULL: self-signed (the CA). */
static X509 *
new_cert(EVP_PKEY *key, const char *cn, int days, X509 *issuer)
{
	X509 *x = X509_new();
	X509_NAME *name = NULL;
	BIGNUM *serial = BN_new();
	int ok = x != NULL && serial != NULL;

	ok = ok && X509_set_version(x, 2) == 1;
	ok = ok && BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
	ok = ok && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x));
	/* Five minutes back: a peer whose clock is a little behind. */
	ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -300) != NULL;
	ok = ok && X509_gmtime_adj(X509_getm_notAfter(x),
	                           (long)days * 86400L) != NULL;
	ok = ok && X509_set_pubkey(x, key) == 1;
	if (ok) {
		name = X509_get_subject_name(x);
		ok = X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
		                                (const unsigned char *)"MASH",
		                                -1, -1, 0) == 1 &&
		     X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		                                (const unsigned char *)cn, -1,
		                                -1, 0) == 1;
	}
	ok = ok && X509_set_issuer_name(x, issuer != NULL
	                                       ? X509_get_subject_name(issuer)
	                                       : name) == 1;
	BN_free(serial);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int
paths(const char *dir, const char *stem, char *key, char *cert)
{
	return mash_snprintf(key, PATH_MAX_LEN, "%s/%s.key", dir, stem) ==
	           MASH_OK &&
	       mash_snprintf(cert, PATH_MAX_LEN, "%s/%s.pem", dir, stem) ==
	           MASH_OK;
}

int
mash_pki_init(const char *dir, const char *cn, int days, int force, char *err,
              size_t errlen)
{
	char key_path[PATH_MAX_LEN], cert_path[PATH_MAX_LEN];
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	struct stat sb;
	int rc;

	if (dir == NULL || !name_valid(cn) || days < 1 ||
	    days > MASH_PKI_MAX_DAYS)
		return fail(err, errlen, MASH_ERR_INVAL,
		            "CA name must be [a-z0-9._-]{1,64} and days "
		            "1..%d",
		            MASH_PKI_MAX_DAYS);
	if (!paths(dir, "ca", key_path, cert_path))
		return fail(err, errlen, MASH_ERR_INVAL, "%s: path too long",
		            dir);
	if (mkdirs(dir) != 0)
		return fail(err, errlen, MASH_ERR_IO, "%s: cannot create: %s",
		            dir, strerror(errno));
	if (!force && (stat(key_path, &sb) == 0 || stat(cert_path, &sb) == 0))
		return fail(err, errlen, MASH_ERR_EXISTS,
		            "%s: a CA is already there (--force replaces it, "
		            "and every certificate it issued stops working)",
		            dir);
	rc = MASH_ERR_CRYPTO;
	key = EVP_EC_gen("P-256");
	if (key == NULL)
		goto out;
	x = new_cert(key, cn, days, NULL);
	if (x == NULL ||
	    !add_ext(x, x, NID_basic_constraints,
	             "critical,CA:TRUE,pathlen:0") ||
	    !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, x, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	rc = write_pair(key_path, cert_path, key, x, force, err, errlen);
	if (rc != MASH_OK)
		goto out;
out:
	if (rc == MASH_ERR_CRYPTO)
		(void)fail(err, errlen, rc, "making the CA failed in OpenSSL");
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* Read one PEM object; MASH_ERR_NOT_FOUND, MASH_ERR_IO or
 * MASH_ERR_KEY_FORMAT with err naming path. */
static int
read_pem(const char *path, int is_key, void **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	*out = NULL;
	if (f == NULL)
		return fail(err, errlen,
		            errno == ENOENT ? MASH_ERR_NOT_FOUND : MASH_ERR_IO,
		            "%s: %s", path,
		            errno == ENOENT ? "no such file" : strerror(errno));
	if (is_key)
		*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	else
		*out = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (*out == NULL)
		return fail(err, errlen, MASH_ERR_KEY_FORMAT,
		            "%s: not a PEM %s", path,
		            is_key ? "private key" : "certificate");
	return MASH_OK;
}

/* subjectAltName value from hosts: "DNS:a,IP:127.0.0.1". */
static int
san_value(const struct mash_pki_issue_opts *o, char *buf, size_t n, char *err,
          size_t errlen)
{
	size_t i, used = 0;
	int w;

	buf[0] = '\0';
	for (i = 0; i < o->n_hosts; i++) {
		const char *h = o->hosts[i];
		int ip = h != NULL && is_ip(h);

		if (!ip && !host_valid(h))
			return fail(err, errlen, MASH_ERR_INVAL,
			            "--host '%s' is neither a host name nor an "
			            "IP address",
			            h != NULL ? h : "");
		w = snprintf(buf + used, n - used, "%s%s:%s", i ? "," : "",
		             ip ? "IP" : "DNS", h);
		if (w < 0 || (size_t)w >= n - used)
			return fail(err, errlen, MASH_ERR_INVAL,
			            "too many or too long --host names");
		used += (size_t)w;
	}
	return MASH_OK;
}

int
mash_pki_issue(const char *dir, const char *name,
               const struct mash_pki_issue_opts *o, char *err, size_t errlen)
{
	char ca_key[PATH_MAX_LEN], ca_cert[PATH_MAX_LEN];
	char key_path[PATH_MAX_LEN], cert_path[PATH_MAX_LEN], san[4096];
	EVP_PKEY *key = NULL, *cakey = NULL;
	X509 *x = NULL, *ca = NULL;
	struct stat sb;
	void *p;
	int rc = MASH_ERR_INVAL;

	if (dir == NULL || o == NULL || !name_valid(name) || o->days < 1 ||
	    o->days > MASH_PKI_MAX_DAYS || o->n_hosts > MASH_PKI_MAX_HOSTS ||
	    (o->server && o->n_hosts == 0) || strcmp(name, "ca") == 0)
		return fail(err, errlen, MASH_ERR_INVAL,
		            "identity must be [a-z0-9._-]{1,64} and not 'ca', "
		            "days 1..%d, a server 1..%u --host",
		            MASH_PKI_MAX_DAYS, MASH_PKI_MAX_HOSTS);
	if (!paths(dir, "ca", ca_key, ca_cert) ||
	    !paths(dir, name, key_path, cert_path))
		return fail(err, errlen, MASH_ERR_INVAL, "%s: path too long",
		            dir);
	if (o->server) {
		rc = san_value(o, san, sizeof(san), err, errlen);
		if (rc != MASH_OK)
			return rc;
	}
	if (!o->force &&
	    (stat(key_path, &sb) == 0 || stat(cert_path, &sb) == 0))
		return fail(err, errlen, MASH_ERR_EXISTS,
		            "%s: already issued (--force replaces it)",
		            cert_path);
	rc = read_pem(ca_key, 1, &p, err, errlen);
	if (rc != MASH_OK)
		goto out;
	cakey = p;
	rc = read_pem(ca_cert, 0, &p, err, errlen);
	if (rc != MASH_OK)
		goto out;
	ca = p;
	if (X509_check_private_key(ca, cakey) != 1) {
		rc = fail(err, errlen, MASH_ERR_KEY_FORMAT,
		          "%s: not the key of %s", ca_key, ca_cert);
		goto out;
	}
	rc = MASH_ERR_CRYPTO;
	key = EVP_EC_gen("P-256");
	if (key == NULL)
		goto out;
	x = new_cert(key, name, o->days, ca);
	if (x == NULL ||
	    !add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(x, ca, NID_key_usage,
	             "critical,digitalSignature,keyAgreement") ||
	    !add_ext(x, ca, NID_ext_key_usage,
	             o->server ? "serverAuth" : "clientAuth") ||
	    !add_ext(x, ca, NID_subject_key_identifier, "hash") ||
	    !add_ext(x, ca, NID_authority_key_identifier, "keyid:always") ||
	    (o->server && !add_ext(x, ca, NID_subject_alt_name, san)) ||
	    X509_sign(x, cakey, EVP_sha256()) <= 0)
		goto out;
	rc = write_pair(key_path, cert_path, key, x, o->force, err, errlen);
out:
	if (rc == MASH_ERR_CRYPTO)
		(void)fail(err, errlen, rc, "issuing %s failed in OpenSSL",
		           name);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	return rc;
}

int
mash_pki_check_identity(const char *ca_file, const char *cert_file,
                        const char *key_file, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL, *ca = NULL;
	void *p;
	int rc;

	if (cert_file == NULL || key_file == NULL)
		return fail(err, errlen, MASH_ERR_INVAL,
		            "a certificate and a key are both needed");
	if (ca_file != NULL) {
		rc = read_pem(ca_file, 0, &p, err, errlen);
		if (rc != MASH_OK)
			goto out;
		ca = p;
	}
	rc = read_pem(cert_file, 0, &p, err, errlen);
	if (rc != MASH_OK)
		goto out;
	cert = p;
	rc = read_pem(key_file, 1, &p, err, errlen);
	if (rc != MASH_OK)
		goto out;
	key = p;
	if (X509_check_private_key(cert, key) != 1) {
		rc = fail(err, errlen, MASH_ERR_KEY_FORMAT,
		          "%s: not the key of the certificate %s", key_file,
		          cert_file);
		goto out;
	}
	/* The chain is the broker's to judge (the CA that vouches for the
	 * broker need not be the one that issued this certificate); the
	 * dates are ours to check before every reconnect fails. */
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
		rc = fail(err, errlen, MASH_ERR_EXPIRED,
		          "%s: certificate has expired", cert_file);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
		rc = fail(err, errlen, MASH_ERR_EXPIRED,
		          "%s: certificate is not yet valid", cert_file);
		goto out;
	}
	rc = MASH_OK;
out:
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	return rc;
}
