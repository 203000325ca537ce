/*
 * sq_identity.c - who a case is about, at rest (issue 28): with store
 * keys, the cases table holds the child's identity only as one sealed
 * blob (cases.identity) and the linkage index columns (nhs_number,
 * date_of_birth, family_norm, postcode_norm) only as keyed MACs, which
 * match as the clear values did (linkage compares for equality only) and
 * give nothing to a reader of the file. Without keys, nothing changes.
 *
 * The blob: for each of the SQ_ID_FIELDS fields in order, a 2-byte
 * big-endian length (0xffff: absent) and the bytes; sealed at the place
 * "cases.identity\n<case id>".
 */
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/atrest.h"
#include "store/sqlite/sq_int.h"

#define ABSENT 0xffffu

static const char *const mac_domain[] = {"nhs", "family", "dob", "postcode"};

int
sq_link_keyed(struct mash_store_be *be)
{
	if (be->atrest != NULL)
		return 1;
	if (be->sealed) {
		mash_err("store: encrypted at rest, and no key was given");
		return -1;
	}
	return 0;
}

int
sq_link_mac(struct mash_store_be *be, enum sq_mac_kind kind, char *val,
            size_t valsz)
{
	char mac[MASH_ATREST_MAC_HEX];
	int rc;

	if (be->atrest == NULL || val[0] == '\0')
		return MASH_OK;
	rc = mash_atrest_mac(be->atrest, mac_domain[kind], val, mac);
	if (rc == MASH_OK)
		rc = mash_strlcpy(val, mac, valsz);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

static int
where_of(const char *case_id, char *buf, size_t n)
{
	return mash_snprintf(buf, n, "cases.identity\n%s", case_id);
}

int
sq_identity_seal(struct mash_store_be *be, const char *case_id,
                 const char *const f[SQ_ID_FIELDS], uint8_t **out,
                 size_t *outlen)
{
	uint8_t buf[SQ_ID_FIELDS * (2 + MASH_MAX_SHORT)];
	const uint8_t *use;
	char where[SQ_WHERE_MAX];
	size_t i, n = 0, l;
	int rc;

	*out = NULL;
	*outlen = 0;
	for (i = 0; i < SQ_ID_FIELDS; i++) {
		l = f[i] != NULL ? strlen(f[i]) : ABSENT;
		if (l != ABSENT && l > MASH_MAX_SHORT)
			return MASH_ERR_FIELD_TOO_LONG;
		buf[n++] = (uint8_t)(l >> 8);
		buf[n++] = (uint8_t)(l & 0xff);
		if (l != ABSENT) {
			memcpy(buf + n, f[i], l);
			n += l;
		}
	}
	rc = where_of(case_id, where, sizeof(where));
	if (rc == MASH_OK)
		rc = sq_seal(be, where, buf, n, out, &use, outlen);
	OPENSSL_cleanse(buf, n);
	if (rc == MASH_OK && *out == NULL) /* no keys: never called so */
		rc = MASH_ERR_INTERNAL;
	return rc;
}

void
sq_identity_clear(char *f[SQ_ID_FIELDS])
{
	size_t i;

	for (i = 0; i < SQ_ID_FIELDS; i++) {
		mash_free_str(f[i]);
		f[i] = NULL;
	}
}

int
sq_identity_open(struct mash_store_be *be, const char *case_id,
                 const uint8_t *in, size_t len, char *f[SQ_ID_FIELDS])
{
	char where[SQ_WHERE_MAX];
	uint8_t *clear;
	size_t clen = 0, i, n = 0, l;
	int rc;

	memset(f, 0, SQ_ID_FIELDS * sizeof(f[0]));
	rc = where_of(case_id, where, sizeof(where));
	if (rc != MASH_OK)
		return rc;
	if (in == NULL)
		return MASH_ERR_TAMPERED;
	clear = mash_malloc(len);
	if (clear == NULL)
		return MASH_ERR_NOMEM;
	memcpy(clear, in, len);
	clen = len;
	rc = sq_unseal(be, where, &clear, &clen);
	if (rc != MASH_OK) {
		mash_free(clear);
		return rc;
	}
	rc = MASH_ERR_TAMPERED; /* opened, yet not our layout */
	for (i = 0; i < SQ_ID_FIELDS; i++) {
		if (clen - n < 2)
			goto out;
		l = ((size_t)clear[n] << 8) | clear[n + 1];
		n += 2;
		if (l == ABSENT)
			continue;
		if (l > MASH_MAX_SHORT || clen - n < l)
			goto out;
		f[i] = mash_strndup((const char *)clear + n, l);
		if (f[i] == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
		n += l;
	}
	rc = n == clen ? MASH_OK : MASH_ERR_TAMPERED;
out:
	mash_free_secret(clear, clen);
	if (rc != MASH_OK) {
		mash_err("store: identity of case %s is not readable", case_id);
		sq_identity_clear(f);
	}
	return rc;
}

int
sq_identity_fill(struct mash_store_be *be, const char *case_id,
                 const char *const add[SQ_ID_FIELDS])
{
	sqlite3_stmt *s = NULL, *u = NULL;
	char *f[SQ_ID_FIELDS] = {NULL};
	const char *merged[SQ_ID_FIELDS];
	uint8_t *blob = NULL;
	size_t i, blen = 0;
	int rc, src, changed = 0;

	rc = sq_prep(be, "SELECT identity FROM cases WHERE case_id = ?1", &s);
	if (rc != MASH_OK)
		return rc;
	sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
	src = sqlite3_step(s);
	if (src != SQLITE_ROW) {
		rc = src == SQLITE_DONE ? MASH_ERR_NOT_FOUND
		                        : sq_fail(be, src, "identity read");
		goto out;
	}
	rc = sq_identity_open(be, case_id, sqlite3_column_blob(s, 0),
	                      (size_t)sqlite3_column_bytes(s, 0), f);
	sq_stmt_done(s);
	s = NULL;
	if (rc != MASH_OK)
		goto out;
	/* Learn what the case did not know; never overwrite. */
	for (i = 0; i < SQ_ID_FIELDS; i++) {
		merged[i] = f[i];
		if (f[i] == NULL && add[i] != NULL && add[i][0] != '\0') {
			merged[i] = add[i];
			changed = 1;
		}
	}
	if (!changed)
		goto out;
	rc = sq_identity_seal(be, case_id, merged, &blob, &blen);
	if (rc == MASH_OK)
		rc = sq_prep(
		    be, "UPDATE cases SET identity = ?1 WHERE case_id = ?2",
		    &u);
	if (rc != MASH_OK)
		goto out;
	if (sq_bind_blob(u, 1, blob, blen) ||
	    sqlite3_bind_text(u, 2, case_id, -1, SQLITE_STATIC) ||
	    sqlite3_step(u) != SQLITE_DONE)
		rc = sq_fail(be, sqlite3_errcode(be->db), "identity write");
out:
	sq_stmt_done(s);
	sq_stmt_done(u);
	sq_identity_clear(f);
	mash_free(blob);
	return rc;
}
