/*
 * sq_atrest.c - encryption at rest in the SQLite back-end (issue 28,
 * crypto/atrest.h): the wrapped store keys in meta, unlocking, sealing
 * the columns that carry a child's story (events.envelope,
 * events.payload, quarantine.bytes) and the one-time migration of a
 * store written before it had keys.
 *
 * Where a value sits is bound into its seal ("events.payload\n<agency>\n
 * <event id>"; quarantine rows by agency, time and length, their id being
 * known only after the insert), so rows cannot be swapped unnoticed.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/atrest.h"
#include "store/sqlite/sq_int.h"

#define META_KEYS "atrest.keys"

int
sq_atrest_detect(struct mash_store_be *be)
{
	char *v = NULL;
	int rc;

	rc = sq_meta_get(be, META_KEYS, &v);
	mash_free(v);
	if (rc == MASH_OK)
		be->sealed = 1;
	return rc == MASH_OK || rc == MASH_ERR_NOT_FOUND ? MASH_OK : rc;
}

int
sq_where(char *buf, size_t n, const char *col, const char *a, const char *b)
{
	return mash_snprintf(buf, n, "%s\n%s\n%s", col, a, b);
}

int
sq_seal(struct mash_store_be *be, const char *where, const uint8_t *in,
        size_t len, uint8_t **owned, const uint8_t **out, size_t *outlen)
{
	int rc;

	*owned = NULL;
	*out = in;
	*outlen = len;
	if (be->atrest == NULL) {
		if (!be->sealed)
			return MASH_OK;
		mash_err("store: encrypted at rest, and no key was given");
		return MASH_ERR_DENIED;
	}
	rc = mash_atrest_seal(be->atrest, where, in, len, owned, outlen);
	if (rc != MASH_OK) {
		mash_err("store: cannot seal a value: %s", mash_strerror(rc));
		return rc;
	}
	*out = *owned;
	return MASH_OK;
}

int
sq_unseal(struct mash_store_be *be, const char *where, uint8_t **val,
          size_t *len)
{
	uint8_t *clear = NULL;
	size_t clen = 0;
	int rc;

	if (be->atrest == NULL) {
		if (!be->sealed)
			return MASH_OK;
		mash_err("store: encrypted at rest, and no key was given");
		return MASH_ERR_DENIED;
	}
	rc = mash_atrest_open(be->atrest, where, *val, *len, &clear, &clen);
	if (rc != MASH_OK) {
		/* The place, never the content. */
		mash_err("store: a sealed %.*s does not open (%s)",
		         (int)strcspn(where, "\n"), where, mash_errname(rc));
		return MASH_ERR_TAMPERED;
	}
	mash_free(*val);
	*val = clear;
	*len = clen;
	return MASH_OK;
}

/* Re-write one blob column of every row of table from clear to sealed:
 * sel yields rowid, the blob, and the two parts of its place after col. */
static int
seal_column(struct mash_store_be *be, const char *sel, const char *upd,
            const char *col, uint64_t *count)
{
	sqlite3_stmt *s = NULL, *u = NULL;
	char where[SQ_WHERE_MAX], a[MASH_MAX_ID + 1], b[MASH_MAX_ID + 1];
	const uint8_t *v;
	uint8_t *owned = NULL;
	const uint8_t *sealed;
	size_t slen;
	int64_t last = 0;
	int rc, src;

	rc = sq_prep(be, sel, &s);
	if (rc == MASH_OK)
		rc = sq_prep(be, upd, &u);
	while (rc == MASH_OK) {
		sqlite3_bind_int64(s, 1, last);
		src = sqlite3_step(s);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = sq_fail(be, src, "atrest migration read");
			break;
		}
		last = sqlite3_column_int64(s, 0);
		v = sqlite3_column_blob(s, 1);
		sq_col_text(s, 2, a, sizeof(a));
		sq_col_text(s, 3, b, sizeof(b));
		rc = sq_where(where, sizeof(where), col, a, b);
		if (rc == MASH_OK)
			rc = sq_seal(be, where, v,
			             (size_t)sqlite3_column_bytes(s, 1), &owned,
			             &sealed, &slen);
		if (rc != MASH_OK)
			break;
		if (sq_bind_blob(u, 1, sealed, slen) ||
		    sqlite3_bind_int64(u, 2, last) ||
		    sqlite3_step(u) != SQLITE_DONE)
			rc = sq_fail(be, sqlite3_errcode(be->db),
			             "atrest migration write");
		sq_stmt_done(u);
		sq_stmt_done(s);
		mash_free(owned);
		owned = NULL;
		(*count)++;
	}
	sq_stmt_done(s);
	sq_stmt_done(u);
	return rc;
}

/* Seal what a store written without keys holds in clear. */
static int
migrate(struct mash_store_be *be, uint64_t *rows)
{
	int rc;

	rc = seal_column(be,
	                 "SELECT seq, envelope, agency, event_id FROM events"
	                 " WHERE seq > ?1 ORDER BY seq LIMIT 1",
	                 "UPDATE events SET envelope = ?1 WHERE seq = ?2",
	                 "events.envelope", rows);
	if (rc == MASH_OK)
		rc =
		    seal_column(be,
		                "SELECT seq, payload, agency, event_id FROM"
		                " events WHERE seq > ?1 ORDER BY seq LIMIT 1",
		                "UPDATE events SET payload = ?1 WHERE seq = ?2",
		                "events.payload", rows);
	if (rc == MASH_OK)
		rc = seal_column(
		    be,
		    "SELECT id, bytes, agency,"
		    " received_at || '.' || orig_len FROM quarantine"
		    " WHERE id > ?1 ORDER BY id LIMIT 1",
		    "UPDATE quarantine SET bytes = ?1 WHERE id = ?2",
		    "quarantine.bytes", rows);
	return rc;
}

int
sq_unlock(struct mash_store_be *be, const uint8_t *kek)
{
	uint8_t wrapped[MASH_ATREST_WRAPPED];
	char hex[2 * MASH_ATREST_WRAPPED + 1], *stored = NULL;
	struct mash_atrest *k = NULL;
	uint64_t rows = 0;
	size_t len = 0;
	int rc;

	if (be == NULL || kek == NULL)
		return MASH_ERR_INVAL;
	if (be->atrest != NULL || be->in_tx)
		return MASH_ERR_STATE;
	rc = sq_meta_get(be, META_KEYS, &stored);
	if (rc == MASH_OK) {
		rc = MASH_ERR_DECODE;
		if (OPENSSL_hexstr2buf_ex(wrapped, sizeof(wrapped), &len,
		                          stored, '\0') == 1)
			rc = mash_atrest_unwrap(kek, wrapped, len, &k);
		if (rc == MASH_OK) {
			be->atrest = k;
			be->sealed = 1;
			k = NULL; /* kept by be */
		}
		goto out;
	}
	if (rc != MASH_ERR_NOT_FOUND)
		goto out;
	/* First unlock: new keys, and every clear row sealed, in one
	 * transaction with the keys' record (all or nothing). */
	if (be->read_only) {
		rc = MASH_ERR_STATE;
		goto out;
	}
	rc = mash_atrest_new(&k);
	if (rc == MASH_OK)
		rc = mash_atrest_wrap(k, kek, wrapped);
	if (rc != MASH_OK)
		goto out;
	mash_hex(wrapped, sizeof(wrapped), hex);
	rc = sq_begin(be);
	if (rc != MASH_OK)
		goto out;
	be->atrest = k;
	rc = migrate(be, &rows);
	if (rc == MASH_OK)
		rc = sq_meta_set(be, META_KEYS, hex);
	if (rc == MASH_OK)
		rc = sq_commit(be);
	else
		(void)sq_rollback(be);
	if (rc != MASH_OK) {
		be->atrest = NULL;
		goto out;
	}
	k = NULL; /* kept by be */
	be->sealed = 1;
	/* The clear pages the migration replaced: zeroed in the file by
	 * secure_delete, out of the WAL by a truncating checkpoint. */
	if (rows > 0)
		(void)sq_exec(be, "PRAGMA wal_checkpoint(TRUNCATE);",
		              "atrest checkpoint");
	mash_info("store: encrypted at rest from now on (%llu values sealed "
	          "in place)",
	          (unsigned long long)rows);
out:
	mash_free(stored);
	mash_atrest_free(k);
	return rc;
}

int
sq_is_sealed(struct mash_store_be *be)
{
	return be != NULL ? be->sealed : 0;
}
