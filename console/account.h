/*
 * account.h - the web console's local accounts (issue 29, part 1: sign-in).
 *
 * An account maps a person's user name to one directory principal
 * (policy/directory.cfg). The console acts as that principal only while
 * the person is signed in: the principal's private keys (its Ed25519
 * signing key and X25519 encryption key, PEM) are kept wrapped under a key
 * derived from the password, and are unwrapped in memory for a session
 * only. Nothing else can open them, the console operator included.
 *
 * The accounts file (JSON, 0600, replaced atomically):
 *   {"v":1,"users":[{"name":..,"principal":..,"key_id":..,"pwhash":..,
 *                    "salt":..,"nonce":..,"keys":..}]}
 * key_id     the signing key's id in the hub's trust store (default k1)
 * pwhash     crypto_pwhash_str (argon2id, libsodium's interactive limits)
 * keys       XChaCha20-Poly1305(key = argon2id(password, salt),
 *                               aad = "mash.v1.console\n" name "\n" principal,
 *                               {"sign_key":PEM,"enc_key":PEM
 *                                [,"tls_cert":PEM,"tls_key":PEM]})
 * salt, nonce, keys in base64. A user name is [a-z0-9._-]{1,64}.
 */
#ifndef MASH_CONSOLE_ACCOUNT_H
#define MASH_CONSOLE_ACCOUNT_H

#include <stddef.h>

#define MASH_ACCT_NAME_MAX 64u
/* Passwords: at least this long, at most MASH_ACCT_PASS_MAX bytes. */
#define MASH_ACCT_PASS_MIN 12u
#define MASH_ACCT_PASS_MAX 1024u
/* Most accounts in one file (bounds a load). */
#define MASH_ACCT_MAX_USERS 10000u

/* A signed-in person: who, as whom, and the principal's keys (PEM, in
 * locked memory, wiped by mash_acct_session_free). */
struct mash_acct_session {
	char name[MASH_ACCT_NAME_MAX + 1];
	char principal[MASH_ACCT_NAME_MAX + 1];
	char *sign_key;                      /* PKCS#8 PEM, Ed25519 */
	char *enc_key;                       /* PKCS#8 PEM, X25519 */
	char key_id[MASH_ACCT_NAME_MAX + 1]; /* the signing key's trust id */
	char *tls_cert; /* the broker identity: certificate PEM, or NULL */
	char *tls_key;  /* and its private key PEM (NULL with tls_cert) */
};

/* The principal's key files an account keeps (paths to PEM files): its
 * signing and encryption keys, and optionally the client certificate and
 * key it reaches the broker with (mutual TLS, issue 24), both or none. */
struct mash_acct_keys {
	const char *key_id; /* the signing key's id in the trust store; NULL:
	                       "k1" */
	const char *sign_key;
	const char *enc_key;
	const char *tls_cert;
	const char *tls_key;
};

/*
 * Add user name as principal, wrapping the private keys read from the PEM
 * files keys->sign_key (Ed25519) and keys->enc_key (X25519), and the TLS
 * identity when given (MASH_ERR_INVAL if only one half is; the key must be
 * the certificate's and the certificate valid now), under password. The file
 * is created (0600) when missing. MASH_OK; MASH_ERR_EXISTS (the name is
 * taken), MASH_ERR_BAD_ID (name or principal), MASH_ERR_INVAL (a password
 * shorter than MASH_ACCT_PASS_MIN), MASH_ERR_KEY_FORMAT (a key file that
 * is not a private key of its kind), MASH_ERR_NOT_FOUND / MASH_ERR_IO,
 * MASH_ERR_PARSE (a damaged accounts file), MASH_ERR_CRYPTO. why names the
 * file and the fault.
 */
int mash_acct_add(const char *path, const char *name, const char *principal,
                  const char *password, const struct mash_acct_keys *keys,
                  char *why, size_t whylen);

/* Replace name's password: the keys are re-wrapped under the new one.
 * The old password must be right: MASH_ERR_DENIED otherwise (and for an
 * unknown name, so that the answer does not say which). */
int mash_acct_passwd(const char *path, const char *name, const char *old_pw,
                     const char *new_pw, char *why, size_t whylen);

/* Remove name: MASH_OK or MASH_ERR_NOT_FOUND. */
int mash_acct_remove(const char *path, const char *name, char *why,
                     size_t whylen);

/*
 * Sign in: *out gets a session with the unwrapped keys. MASH_ERR_DENIED
 * for an unknown name or a wrong password alike (same work either way);
 * MASH_ERR_TAMPERED when the password is right but the wrapped keys do
 * not open. Free with mash_acct_session_free.
 */
int mash_acct_signin(const char *path, const char *name, const char *password,
                     struct mash_acct_session **out);

/* Wipe and free. NULL allowed. */
void mash_acct_session_free(struct mash_acct_session *s);

#endif
