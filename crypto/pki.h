/*
 * pki.h - the hub's private PKI for mutual TLS (issue 24): one CA, the
 * broker's server certificate, and one client certificate per identity
 * (each agency's agent, each principal of policy/directory.cfg, mashd),
 * the identity as the certificate's CN so that Mosquitto's
 * use_identity_as_username makes it the ACL user.
 *
 * Layout of a PKI directory (created 0700):
 *   ca.pem, ca.key              the CA (key 0600)
 *   NAME.pem, NAME.key          an identity's certificate and key (0600)
 * Keys are ECDSA P-256 (every TLS stack Mosquitto and Paho use speaks
 * it); certificates X.509 v3, SHA-256, with basicConstraints, keyUsage,
 * extendedKeyUsage (serverAuth or clientAuth) and, for a server, the
 * host names and addresses as subjectAltName. Built with OpenSSL's X509
 * API; nothing shells out to the openssl command.
 *
 * Nothing is overwritten unless force is set: a reissued CA would cut off
 * every identity holding a certificate from the old one.
 */
#ifndef MASH_PKI_H
#define MASH_PKI_H

#include <stddef.h>

#define MASH_PKI_MAX_HOSTS    16u
#define MASH_PKI_MAX_DAYS     3650 /* ten years */
#define MASH_PKI_DEFAULT_DAYS 397  /* the CA/Browser Forum's ceiling */
#define MASH_PKI_ERRLEN       512u

struct mash_pki_issue_opts {
	int days;   /* validity from now; 1..MASH_PKI_MAX_DAYS */
	int server; /* 1: serverAuth + SAN from hosts; 0: clientAuth */
	const char *const *hosts; /* DNS names or IP addresses (server) */
	size_t n_hosts;
	int force; /* replace an existing NAME.pem / NAME.key */
};

/*
 * Make dir (0700 if missing) and a CA in it, CN = cn, valid for days.
 * MASH_OK; MASH_ERR_INVAL (bad cn or days); MASH_ERR_EXISTS (ca.pem or
 * ca.key there and !force); MASH_ERR_IO; MASH_ERR_CRYPTO. err[errlen]
 * says what and which file.
 */
int mash_pki_init(const char *dir, const char *cn, int days, int force,
                  char *err, size_t errlen);

/*
 * Issue dir/NAME.pem and dir/NAME.key (0600) for identity name
 * ([a-z0-9._-]{1,64}), signed by dir's CA. MASH_OK; MASH_ERR_INVAL (bad
 * name, days or host); MASH_ERR_NOT_FOUND (no CA in dir); MASH_ERR_EXISTS;
 * MASH_ERR_KEY_FORMAT (CA files unreadable or not a pair); MASH_ERR_IO;
 * MASH_ERR_CRYPTO. err[errlen] says what and which file.
 */
int mash_pki_issue(const char *dir, const char *name,
                   const struct mash_pki_issue_opts *o, char *err,
                   size_t errlen);

/*
 * Check a TLS identity before connecting: ca_file (NULL: not checked),
 * cert_file and key_file readable PEM; the key is the certificate's; the
 * certificate is valid now (not expired, not yet valid). Whether the broker
 * trusts its issuer is the broker's to decide at the handshake. MASH_OK, or
 * MASH_ERR_NOT_FOUND / MASH_ERR_IO (a file missing or unreadable),
 * MASH_ERR_KEY_FORMAT (not PEM, or key and certificate differ),
 * MASH_ERR_EXPIRED (outside its validity), with one line naming the file
 * in err.
 */
int mash_pki_check_identity(const char *ca_file, const char *cert_file,
                            const char *key_file, char *err, size_t errlen);

#endif
