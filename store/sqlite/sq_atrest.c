/*
 * sq_atrest.c - encryption at rest in the SQLite back-end (issue 28,
 * crypto/atrest.h): the wrapped store keys in meta, unlocking, sealing
 * the columns that carry a child's story (events.envelope,
 * events.payload, quarantine.bytes, the payloads held in the outbox for a
 * recipient without an encryption key; a case's identity: sq_identity.c)
 * and the one-time migration of a store written before it had keys.
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
int
sq_seal_column(struct mash_store_be *be, const char *sel, const char *upd,
               const char *col, uint64_t *count)
{
	sqlite3_stmt *s = NULL, *u = NULL;
	char where[SQ_WHERE_MAX], a[MASH_MAX_TOPIC + 1], b[MASH_MAX_ID + 1];
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

/* One clear case: its identity sealed, its linkage values as MACs. */
static int
seal_case(struct mash_store_be *be, sqlite3_stmt *s, sqlite3_stmt *u,
          const char *case_id)
{
	static const int col[SQ_ID_FIELDS] = {1, 2, 3, 4, 5, 6};
	static const struct {
		int col;
		enum sq_mac_kind kind;
	} ix[] = {{1, SQ_MAC_NHS},
	          {4, SQ_MAC_DOB},
	          {7, SQ_MAC_FAMILY},
	          {8, SQ_MAC_POSTCODE}};
	char *f[SQ_ID_FIELDS] = {NULL}, mac[4][MASH_MAX_SHORT + 1];
	uint8_t *blob = NULL;
	size_t i, blen = 0;
	int rc = MASH_OK;

	for (i = 0; i < SQ_ID_FIELDS && rc == MASH_OK; i++)
		rc = sq_col_text_dup(s, col[i], &f[i]);
	for (i = 0; i < 4 && rc == MASH_OK; i++) {
		sq_col_text(s, ix[i].col, mac[i], sizeof(mac[i]));
		rc = sq_link_mac(be, ix[i].kind, mac[i], sizeof(mac[i]));
	}
	if (rc == MASH_OK)
		rc = sq_identity_seal(be, case_id, (const char *const *)f,
		                      &blob, &blen);
	if (rc != MASH_OK)
		goto out;
	for (i = 0; i < 4 && rc == MASH_OK; i++)
		if (sq_bind_text_or_null(u, (int)i + 2, mac[i]))
			rc = MASH_ERR_STORE;
	if (rc != MASH_OK || sq_bind_blob(u, 6, blob, blen) ||
	    sqlite3_bind_text(u, 1, case_id, -1, SQLITE_STATIC) ||
	    sqlite3_step(u) != SQLITE_DONE)
		rc = sq_fail(be, sqlite3_errcode(be->db),
		             "atrest migration of a case");
out:
	sq_stmt_done(u);
	sq_identity_clear(f);
	mash_free(blob);
	return rc;
}

static int
seal_cases(struct mash_store_be *be, uint64_t *count)
{
	sqlite3_stmt *s = NULL, *u = NULL;
	char last[MASH_STORE_CASE_ID_SIZE] = "", id[MASH_STORE_CASE_ID_SIZE];
	int rc, src;

	rc = sq_prep(be,
	             "SELECT case_id, nhs_number, given_name, family_name,"
	             " date_of_birth, postcode, sex, family_norm,"
	             " postcode_norm FROM cases WHERE case_id > ?1"
	             " ORDER BY case_id LIMIT 1",
	             &s);
	if (rc == MASH_OK)
		rc = sq_prep(be,
		             "UPDATE cases SET nhs_number = ?2,"
		             " date_of_birth = ?3, family_norm = ?4,"
		             " postcode_norm = ?5, identity = ?6,"
		             " given_name = NULL, family_name = NULL,"
		             " postcode = NULL, sex = NULL WHERE case_id = ?1",
		             &u);
	while (rc == MASH_OK) {
		sqlite3_bind_text(s, 1, last, -1, SQLITE_STATIC);
		src = sqlite3_step(s);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = sq_fail(be, src, "atrest migration read");
			break;
		}
		sq_col_text(s, 0, id, sizeof(id));
		rc = seal_case(be, s, u, id);
		sq_stmt_done(s);
		(void)mash_strlcpy(last, id, sizeof(last));
		(*count)++;
	}
	sq_stmt_done(s);
	return rc;
}

/* Seal what a store written without keys holds in clear. */
static int
migrate(struct mash_store_be *be, uint64_t *rows)
{
	int rc;

	rc = seal_cases(be, rows);
	if (rc != MASH_OK)
		return rc;

	rc = sq_seal_column(be,
	                    "SELECT seq, envelope, agency, event_id FROM events"
	                    " WHERE seq > ?1 ORDER BY seq LIMIT 1",
	                    "UPDATE events SET envelope = ?1 WHERE seq = ?2",
	                    "events.envelope", rows);
	if (rc == MASH_OK)
		rc = sq_seal_column(
		    be,
		    "SELECT seq, payload, agency, event_id FROM"
		    " events WHERE seq > ?1 ORDER BY seq LIMIT 1",
		    "UPDATE events SET payload = ?1 WHERE seq = ?2",
		    "events.payload", rows);
	if (rc == MASH_OK)
		rc = sq_seal_column(
		    be,
		    "SELECT id, bytes, agency,"
		    " received_at || '.' || orig_len FROM quarantine"
		    " WHERE id > ?1 ORDER BY id LIMIT 1",
		    "UPDATE quarantine SET bytes = ?1 WHERE id = ?2",
		    "quarantine.bytes", rows);
	if (rc == MASH_OK)
		rc = sq_seal_column(
		    be,
		    "SELECT id, bytes, topic, held_type FROM outbox"
		    " WHERE id > ?1 AND held_type IS NOT NULL"
		    " ORDER BY id LIMIT 1",
		    "UPDATE outbox SET bytes = ?1 WHERE id = ?2", "outbox.held",
		    rows);
	return rc;
}

/* The store keeps its wrapped keys in meta, in hex. */
static int
store_keys_get(struct mash_store_be *be, uint8_t *wrapped, size_t *len)
{
	char *stored = NULL;
	int rc;

	rc = sq_meta_get(be, META_KEYS, &stored);
	if (rc == MASH_OK && OPENSSL_hexstr2buf_ex(wrapped, MASH_ATREST_WRAPPED,
	                                           len, stored, '\0') != 1)
		rc = MASH_ERR_DECODE;
	mash_free(stored);
	return rc;
}

static int
store_keys_put(struct mash_store_be *be, const uint8_t *wrapped, size_t len)
{
	char hex[2 * MASH_ATREST_WRAPPED + 1];

	if (len != MASH_ATREST_WRAPPED)
		return MASH_ERR_INVAL;
	mash_hex(wrapped, len, hex);
	return sq_meta_set(be, META_KEYS, hex);
}

static const struct sq_keyring store_ring = {
    .what = "store",
    .get = store_keys_get,
    .put = store_keys_put,
    .migrate = migrate,
};

int
sq_unlock(struct mash_store_be *be, const uint8_t *kek)
{
	return sq_unlock_ring(be, kek, &store_ring);
}

/* The sealed pages copied over the clear ones, and the WAL emptied. A
 * reader holding an older snapshot past the busy timeout stops that:
 * said, not ignored (a later checkpoint, once it lets go, does it). */
static void
truncate_wal(struct mash_store_be *be, const char *what)
{
	int rc, log = -1, done = -1;

	rc = sqlite3_wal_checkpoint_v2(be->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	                               &log, &done);
	if (rc != SQLITE_OK)
		mash_warn("%s: pages written in clear before encryption stay "
		          "in the database file until a checkpoint copies the "
		          "sealed ones over them (checkpoint: %s; %d of %d WAL "
		          "frames copied)",
		          what, sqlite3_errstr(rc), done, log);
}

int
sq_unlock_ring(struct mash_store_be *be, const uint8_t *kek,
               const struct sq_keyring *ring)
{
	uint8_t wrapped[MASH_ATREST_WRAPPED];
	struct mash_atrest *k = NULL;
	uint64_t rows = 0;
	size_t len = 0;
	int rc;

	if (be == NULL || kek == NULL || ring == NULL)
		return MASH_ERR_INVAL;
	if (be->atrest != NULL || be->in_tx)
		return MASH_ERR_STATE;
	rc = ring->get(be, wrapped, &len);
	if (rc == MASH_OK) {
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
	rc = sq_begin(be);
	if (rc != MASH_OK)
		goto out;
	be->atrest = k;
	rc = ring->migrate(be, &rows);
	if (rc == MASH_OK)
		rc = ring->put(be, wrapped, sizeof(wrapped));
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
		truncate_wal(be, ring->what);
	mash_info("%s: encrypted at rest from now on (%llu values sealed "
	          "in place)",
	          ring->what, (unsigned long long)rows);
out:
	mash_atrest_free(k);
	return rc;
}

int
sq_rekey(struct mash_store_be *be, const uint8_t *new_kek)
{
	uint8_t wrapped[MASH_ATREST_WRAPPED];
	int rc;

	if (be == NULL || new_kek == NULL)
		return MASH_ERR_INVAL;
	/* Unlocked (the keys to re-wrap), inside the caller's transaction
	 * (with the KEY_CHANGE record that says so). */
	if (be->atrest == NULL || !be->in_tx)
		return MASH_ERR_STATE;
	rc = mash_atrest_wrap(be->atrest, new_kek, wrapped);
	if (rc == MASH_OK)
		rc = store_keys_put(be, wrapped, sizeof(wrapped));
	return rc;
}

int
sq_is_sealed(struct mash_store_be *be)
{
	return be != NULL ? be->sealed : 0;
}
