/*
 * trust.h - the trust store: which public keys may sign for which signer,
 * and which of them are revoked.
 *
 * On disk it is a directory (layout documented in
 * docs/internals/crypto.md):
 *
 *   DIR/<signer>/<key_id>.pub.pem   SubjectPublicKeyInfo PEM, the key
 *   DIR/<signer>/<key_id>.revoked   revocation record: "revoked_at_ms=N\n"
 *
 * Signers (agency ids, principals, "mashd") and key ids are
 * [a-z0-9._-]{1,64}, not "." or "..": safe as MQTT topic segments and as
 * path components. A revoked key stays revoked: revocation is a separate
 * record, never a deletion, so a key id is never silently reused.
 *
 * An in-memory struct mash_trust is an immutable snapshot of the
 * directory; load builds a new one (cheap: one small PEM per key), so the
 * daemon reloads on SIGHUP by loading a new snapshot and swapping it in,
 * keeping the old one if the load fails.
 */
#ifndef MASH_TRUST_H
#define MASH_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"

struct mash_key;
struct mash_trust;

/* Longest signer or key id. */
#define MASH_TRUST_ID_MAX 64u
/* Most keys one store may hold (bounds a load). */
#define MASH_TRUST_MAX_KEYS 4096u

/* One entry as listed. Strings point into the snapshot (valid until
 * mash_trust_free). */
struct mash_trust_info {
	const char *signer;
	const char *key_id;
	int revoked;           /* 1 if revoked */
	int64_t revoked_at_ms; /* unix ms of the revocation, 0 if not revoked */
};

/* 1 if s is a valid signer / key id ([a-z0-9._-]{1,64}, not "." or
 * ".."), else 0. NULL is invalid. */
int mash_trust_id_valid(const char *s);

/*
 * Load a snapshot of the store at dir into *out (caller frees with
 * mash_trust_free). A missing dir is NOT_FOUND (never "trust nobody"
 * silently); an existing empty dir is an empty store. Any malformed entry
 * fails the whole load (KEY_FORMAT, BAD_ID, CONFIG, TOO_BIG, IO) with the
 * path named in why[0..whylen) (why may be NULL), so a reload keeps the
 * previous snapshot. A revocation record revokes by existing: its time is
 * informational. Hidden entries (".*") and plain files at the top level
 * are ignored. *out NULL on failure.
 */
int mash_trust_load(const char *dir, struct mash_trust **out, char *why,
                    size_t whylen);

/*
 * Find the key of (signer, key_id): MASH_OK with *key borrowed from the
 * snapshot (valid until mash_trust_free; do not free it);
 * MASH_ERR_UNKNOWN_KEY if not in the store (or ids invalid);
 * MASH_ERR_REVOKED_KEY if revoked (*key NULL). key may be NULL to test
 * only.
 */
int mash_trust_lookup(const struct mash_trust *t, const char *signer,
                      const char *key_id, const struct mash_key **key);

/* Number of keys (revoked included) in the snapshot. */
size_t mash_trust_count(const struct mash_trust *t);

/* Entry i (0 <= i < count; sorted by signer, then key id) into *out:
 * MASH_OK or MASH_ERR_INVAL if out of range. */
int mash_trust_get(const struct mash_trust *t, size_t i,
                   struct mash_trust_info *out);

/*
 * Add the public key in pubfile as (signer, key_id) to the store at dir,
 * creating dir and dir/<signer> (0755) when missing. BAD_ID for an invalid
 * signer/key id, KEY_FORMAT if pubfile is not an Ed25519 public key PEM,
 * EXISTS if that key id is already present (revoked or not; key ids are
 * never reused). Reason in why (may be NULL).
 */
int mash_trust_add(const char *dir, const char *signer, const char *key_id,
                   const char *pubfile, char *why, size_t whylen);

/* As mash_trust_add, from a key object (its public half is stored). */
int mash_trust_add_key(const char *dir, const char *signer, const char *key_id,
                       const struct mash_key *key, char *why, size_t whylen);

/*
 * Revoke (signer, key_id) in the store at dir, recording the clock's time.
 * UNKNOWN_KEY if the store has no such key; revoking an already revoked
 * key succeeds and keeps the first revocation time.
 */
int mash_trust_revoke(const char *dir, const char *signer, const char *key_id,
                      const struct mash_clock *clock, char *why, size_t whylen);

/* Free a snapshot and its keys. NULL allowed. */
void mash_trust_free(struct mash_trust *t);

#endif
