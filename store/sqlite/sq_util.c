/*
 * sq_util.c - the cached statements of the SQLite store and the helpers its
 * files share (sq_int.h).
 */
#include <string.h>

#include <openssl/rand.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/sqlite/sq_int.h"

static const char *const stmt_sql[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT mash_msg",
    [S_RELEASE] = "RELEASE mash_msg",
    [S_ROLLBACK_TO] = "ROLLBACK TO mash_msg",
    [S_LINK_SAVEPOINT] = "SAVEPOINT mash_link",
    [S_LINK_RELEASE] = "RELEASE mash_link",
    [S_LINK_ROLLBACK_TO] = "ROLLBACK TO mash_link",
    [S_EVENT_INSERT] =
        "INSERT INTO events (case_id, agency, event_id, category,"
        " severity, consent, occurred_at, recorded_at, received_at,"
        " envelope, payload) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    [S_EVENT_LOOKUP] =
        "SELECT seq, case_id, receipt_status, audit_seq, received_at"
        " FROM events WHERE agency = ? AND event_id = ?",
    [S_EVENT_SET_RECEIPT] =
        "UPDATE events SET receipt_status = ?, audit_seq = ?"
        " WHERE agency = ? AND event_id = ?",
    [S_EVENT_GET] =
        "SELECT " EVENT_COLS " FROM events WHERE agency = ? AND event_id = ?",
    [S_CASE_EVENTS] = "SELECT " EVENT_COLS " FROM events WHERE case_id = ?"
                      " ORDER BY occurred_at, seq",
    [S_CASE_EXISTS] = "SELECT 1 FROM cases WHERE case_id = ?",
    [S_CASE_INSERT] = "INSERT INTO cases (case_id, nhs_number, given_name,"
                      " family_name, date_of_birth, postcode, sex, family_norm,"
                      " postcode_norm, created_at, identity)"
                      " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    [S_CASE_BY_NHS] = "SELECT case_id FROM cases WHERE nhs_number = ?",
    [S_CASE_BY_DEMOGRAPHICS] =
        "SELECT case_id, nhs_number FROM cases WHERE family_norm = ?"
        " AND date_of_birth = ? AND postcode_norm = ?"
        " ORDER BY created_at, rowid",
    [S_CASE_BY_FAMILY_DOB] =
        "SELECT case_id, postcode_norm FROM cases WHERE family_norm = ?"
        " AND date_of_birth = ? ORDER BY created_at, rowid LIMIT ?",
    [S_CASE_BY_DOB_POSTCODE] =
        "SELECT case_id, family_norm FROM cases WHERE date_of_birth = ?"
        " AND postcode_norm = ? ORDER BY created_at, rowid LIMIT ?",
    [S_CASE_FILL] = "UPDATE cases SET nhs_number = COALESCE(nhs_number, ?),"
                    " given_name = COALESCE(given_name, ?),"
                    " family_name = COALESCE(family_name, ?),"
                    " date_of_birth = COALESCE(date_of_birth, ?),"
                    " postcode = COALESCE(postcode, ?),"
                    " sex = COALESCE(sex, ?),"
                    " family_norm = COALESCE(family_norm, ?),"
                    " postcode_norm = COALESCE(postcode_norm, ?)"
                    " WHERE case_id = ?",
    [S_CASE_GET] = "SELECT case_id, nhs_number, given_name, family_name,"
                   " date_of_birth, postcode, sex, created_at, identity"
                   " FROM cases WHERE case_id = ?",
    [S_CASE_AGENCIES] = "SELECT DISTINCT agency FROM events"
                        " WHERE case_id = ? ORDER BY agency",
    [S_MATCH_INSERT] = "INSERT OR IGNORE INTO possible_matches (case_a, case_b,"
                       " reason, created_at) VALUES (?,?,?,?)",
    [S_MATCH_LIST] = "SELECT id, case_a, case_b, reason, status, created_at"
                     " FROM possible_matches WHERE ?1 IS NULL OR case_a = ?1"
                     " OR case_b = ?1 ORDER BY id",
    [S_MATCH_DECIDE] = "UPDATE possible_matches SET status = ?,"
                       " decided_at = ? WHERE id = ?",
    [S_QUARANTINE_INSERT] =
        "INSERT INTO quarantine (topic, agency, received_at, err,"
        " errname, reason, bytes, orig_len, truncated)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
    [S_QUARANTINE_LIST] =
        "SELECT id, topic, agency, received_at, err, errname, reason,"
        " bytes, orig_len, truncated FROM quarantine"
        " WHERE id > ?1 AND (?2 IS NULL OR agency = ?2)"
        " ORDER BY id LIMIT ?3",
    [S_META_SET] = "INSERT INTO meta (key, value) VALUES (?, ?)"
                   " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?",
    [S_OUTBOX_ADD] = "INSERT INTO outbox (topic, bytes, created_at,"
                     " audit_seq) VALUES (?1,?2,?3,?5)",
    /* A row waiting for its next try holds back its topic (issue 31);
     * outbox_retry, a partial index, is empty while nothing failed. */
    [S_OUTBOX_PENDING] =
        "SELECT id, topic, bytes, created_at, held_type, attempts,"
        " first_fail_at, last_error, audit_seq FROM outbox o"
        " WHERE id > ?1 AND held_type IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM outbox b WHERE b.next_try_at > 0"
        "  AND b.topic = o.topic AND b.id <= o.id AND b.next_try_at > ?3)"
        " ORDER BY id LIMIT ?2",
    [S_OUTBOX_DONE] = "DELETE FROM outbox WHERE id = ?",
    [S_OUTBOX_HOLD] = "INSERT INTO outbox (topic, bytes, created_at,"
                      " held_type) VALUES (?,?,?,?)",
    [S_OUTBOX_HELD] = "SELECT id, topic, bytes, created_at, held_type,"
                      " attempts, first_fail_at, last_error, audit_seq"
                      " FROM outbox"
                      " WHERE id > ?1 AND held_type IS NOT NULL"
                      " ORDER BY id LIMIT ?2",
    [S_OUTBOX_RELEASE] = "UPDATE outbox SET bytes = ?1, held_type = NULL,"
                         " audit_seq = ?3"
                         " WHERE id = ?2 AND held_type IS NOT NULL",
    [S_AUD_STATE_GET] = "SELECT tree_size, frontier FROM audit_state"
                        " WHERE id = 1",
    [S_AUD_STATE_PUT] = "UPDATE audit_state SET tree_size = ?1,"
                        " frontier = ?2 WHERE id = 1",
    [S_AUD_ROW_ADD] = "INSERT INTO audit_log(seq, type, time_ms, actor,"
                      " case_id, agency, event_id, recipient, record,"
                      " leaf_hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [S_AUD_SP_BEGIN] = "SAVEPOINT mash_aud",
    [S_AUD_SP_RELEASE] = "RELEASE mash_aud",
    [S_AUD_SP_ROLLBACK] = "ROLLBACK TO mash_aud",
    [S_AUD_CP_LAST] = "SELECT tree_size, timestamp, envelope FROM"
                      " audit_checkpoints ORDER BY id DESC LIMIT 1",
    [S_AUD_CP_ADD] = "INSERT INTO audit_checkpoints(tree_size, root_hash,"
                     " timestamp, log_id, envelope)"
                     " VALUES (?1,?2,?3,?4,?5)",
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

int
sq_default_random(void *ctx, unsigned char *buf, size_t n)
{
	(void)ctx;
	if (n > (size_t)0x7fffffff || RAND_bytes(buf, (int)n) != 1)
		return MASH_ERR_CRYPTO;
	return MASH_OK;
}

/* Map a SQLite result code to ours, logging the SQLite message (which
 * names tables and columns, never stored values). */
int
sq_fail(struct mash_store_be *st, int src, const char *what)
{
	mash_err("store: %s: %s (%d)", what, sqlite3_errmsg(st->db), src);
	if ((src & 0xff) == SQLITE_NOMEM)
		return MASH_ERR_NOMEM;
	/* another process held the lock for the whole busy timeout: worth
	 * retrying, unlike a broken database */
	if ((src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED)
		return MASH_ERR_TIMEOUT;
	return MASH_ERR_STORE;
}

/* The cached statement id, prepared on first use. */
int
sq_stmt(struct mash_store_be *st, enum stmt_id id, sqlite3_stmt **out)
{
	int src;

	*out = NULL;
	if (st->stmt[id] == NULL) {
		src = sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
		                         SQLITE_PREPARE_PERSISTENT,
		                         &st->stmt[id], NULL);
		if (src != SQLITE_OK) {
			st->stmt[id] = NULL;
			return sq_fail(st, src, "prepare");
		}
	}
	*out = st->stmt[id];
	return MASH_OK;
}

int
sq_prep(struct mash_store_be *st, const char *sql, sqlite3_stmt **out)
{
	size_t i;
	int src;

	*out = NULL;
	for (i = 0; i < st->nprep; i++) {
		if (st->prep[i].sql == sql) {
			*out = st->prep[i].s;
			return MASH_OK;
		}
	}
	if (st->nprep == SQ_PREP_MAX) {
		mash_err("store: more than %d cached statements", SQ_PREP_MAX);
		return MASH_ERR_STORE;
	}
	src = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	                         &st->prep[st->nprep].s, NULL);
	if (src != SQLITE_OK) {
		st->prep[st->nprep].s = NULL;
		return sq_fail(st, src, "prepare");
	}
	st->prep[st->nprep].sql = sql;
	*out = st->prep[st->nprep++].s;
	return MASH_OK;
}

/* Return a cached statement to a clean state. NULL allowed. */
void
sq_stmt_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Bind text; NULL or "" binds SQL NULL. */
int
sq_bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Bind a blob; a zero-length blob is bound as an empty blob, not NULL. */
int
sq_bind_blob(sqlite3_stmt *s, int i, const unsigned char *p, size_t n)
{
	if (n == 0)
		return sqlite3_bind_zeroblob(s, i, 0);
	return sqlite3_bind_blob64(s, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
}

/* Copy a text column into dst[dstsz] ("" for NULL). */
void
sq_col_text(sqlite3_stmt *s, int i, char *dst, size_t dstsz)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	dst[0] = '\0';
	if (t != NULL)
		(void)mash_strlcpy(dst, (const char *)t, dstsz);
}

/* A new copy of a text column, *out NULL for SQL NULL. */
int
sq_col_text_dup(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *t;

	*out = NULL;
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return MASH_OK;
	t = sqlite3_column_text(s, i);
	if (t == NULL)
		return MASH_ERR_NOMEM;
	*out = mash_strdup((const char *)t);
	return *out == NULL ? MASH_ERR_NOMEM : MASH_OK;
}

/* A new copy of a blob column. */
int
sq_col_blob_dup(sqlite3_stmt *s, int i, unsigned char **out, size_t *len)
{
	const void *p;
	int n;

	*out = NULL;
	*len = 0;
	p = sqlite3_column_blob(s, i);
	n = sqlite3_column_bytes(s, i);
	if (n < 0 || (p == NULL && n > 0))
		return MASH_ERR_NOMEM;
	*out = mash_malloc((size_t)n);
	if (*out == NULL)
		return MASH_ERR_NOMEM;
	if (n > 0)
		memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	return MASH_OK;
}

/* Check a caller-supplied identifier: present, UTF-8, at most max. */
int
sq_check_id(const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0')
		return MASH_ERR_INVAL;
	return mash_str_check(s, max);
}

/* Run a statement that returns no rows. */
int
sq_exec(struct mash_store_be *st, const char *sql, const char *what)
{
	int src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (src != SQLITE_OK)
		return sq_fail(st, src, what);
	return MASH_OK;
}

/* Run a one-row PRAGMA query and return its integer result. */
int
sq_pragma_int(struct mash_store_be *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_STORE;
	int src;

	*out = 0;
	src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, sql);
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, sql);
		goto out;
	}
	*out = sqlite3_column_int64(s, 0);
	rc = MASH_OK;
out:
	sqlite3_finalize(s);
	return rc;
}
