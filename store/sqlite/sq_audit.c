/*
 * sq_audit.c - the audit trail in the SQLite store: log rows, tree state,
 * signed checkpoints (store/store_aud.h). The rows are kept exactly as the
 * audit module gives them; nothing here knows what a record means.
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/sqlite/sq_int.h"
#include "store/store_aud.h"

/* Created on the first open of a log; IF NOT EXISTS because stores made
 * before the audit moved here already have them (the schema is the same). */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS audit_log("
    " seq INTEGER PRIMARY KEY,"
    " type TEXT NOT NULL,"
    " time_ms INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " case_id TEXT, agency TEXT, event_id TEXT, recipient TEXT,"
    " record TEXT NOT NULL,"
    " leaf_hash BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_log_case ON audit_log(case_id);"
    "CREATE INDEX IF NOT EXISTS audit_log_agency ON audit_log(agency);"
    "CREATE INDEX IF NOT EXISTS audit_log_time ON audit_log(time_ms);"
    "CREATE TABLE IF NOT EXISTS audit_state("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " log_id TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " tree_size INTEGER NOT NULL,"
    " frontier BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_checkpoints("
    " id INTEGER PRIMARY KEY,"
    " tree_size INTEGER NOT NULL,"
    " root_hash BLOB NOT NULL,"
    " timestamp INTEGER NOT NULL,"
    " log_id TEXT NOT NULL,"
    " envelope BLOB NOT NULL);";

int
sq_aud_init(struct mash_store_be *st, const char *log_id, int version,
            const unsigned char *frontier, size_t frontier_len, char *out,
            size_t outsz)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *txt;
	int rc, src;

	if (out != NULL && outsz > 0)
		out[0] = '\0';
	if (st == NULL || log_id == NULL || frontier == NULL || out == NULL ||
	    outsz == 0)
		return MASH_ERR_INVAL;
	rc = sq_exec(st, schema_sql, "audit tables");
	if (rc != MASH_OK)
		return rc;
	src = sqlite3_prepare_v2(st->db,
	                         "INSERT OR IGNORE INTO audit_state(id, log_id,"
	                         " version, tree_size, frontier)"
	                         " VALUES (1, ?1, ?2, 0, ?3)",
	                         -1, &s, NULL);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, "audit state prepare");
		goto out;
	}
	if (sqlite3_bind_text(s, 1, log_id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(s, 2, version) != SQLITE_OK ||
	    sq_bind_blob(s, 3, frontier, frontier_len) != SQLITE_OK) {
		rc = MASH_ERR_STORE;
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "audit state insert");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	src = sqlite3_prepare_v2(st->db,
	                         "SELECT log_id FROM audit_state WHERE id = 1",
	                         -1, &s, NULL);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, "audit log id prepare");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "audit log id");
		goto out;
	}
	txt = sqlite3_column_text(s, 0);
	rc = txt != NULL ? mash_strlcpy(out, (const char *)txt, outsz)
	                 : MASH_ERR_STORE;
out:
	sqlite3_finalize(s);
	return rc;
}

int
sq_aud_state_get(struct mash_store_be *st, uint64_t *tree_size,
                 unsigned char *buf, size_t max, size_t *len)
{
	sqlite3_stmt *s = NULL;
	const void *blob;
	int n, rc, src;

	*tree_size = 0;
	*len = 0;
	rc = sq_stmt(st, S_AUD_STATE_GET, &s);
	if (rc != MASH_OK)
		return rc;
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		blob = sqlite3_column_blob(s, 1);
		n = sqlite3_column_bytes(s, 1);
		rc = MASH_ERR_TOO_BIG;
		if (n >= 0 && (size_t)n <= max) {
			if (n > 0)
				memcpy(buf, blob, (size_t)n);
			*len = (size_t)n;
			*tree_size = (uint64_t)sqlite3_column_int64(s, 0);
			rc = MASH_OK;
		}
	} else if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
	} else {
		rc = sq_fail(st, src, "audit state");
	}
	sq_stmt_done(s);
	return rc;
}

int
sq_aud_state_put(struct mash_store_be *st, uint64_t tree_size,
                 const unsigned char *frontier, size_t len)
{
	sqlite3_stmt *s = NULL;
	int rc, src;

	rc = sq_stmt(st, S_AUD_STATE_PUT, &s);
	if (rc != MASH_OK)
		return rc;
	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)tree_size) != SQLITE_OK ||
	    sq_bind_blob(s, 2, frontier, len) != SQLITE_OK) {
		sq_stmt_done(s);
		return MASH_ERR_STORE;
	}
	src = sqlite3_step(s);
	rc = src == SQLITE_DONE ? MASH_OK : sq_fail(st, src, "audit state put");
	sq_stmt_done(s);
	return rc;
}

int
sq_aud_row_add(struct mash_store_be *st, const struct mash_store_aud_row *r)
{
	sqlite3_stmt *s = NULL;
	int rc, src;

	if (st == NULL || r == NULL || r->type == NULL || r->record == NULL ||
	    r->leaf_hash == NULL || r->record_len > INT32_MAX ||
	    r->seq > INT64_MAX)
		return MASH_ERR_INVAL;
	rc = sq_stmt(st, S_AUD_ROW_ADD, &s);
	if (rc != MASH_OK)
		return rc;
	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)r->seq) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, r->type, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, r->time_ms) != SQLITE_OK ||
	    sq_bind_text_or_null(s, 4, r->actor) != SQLITE_OK ||
	    sq_bind_text_or_null(s, 5, r->case_id) != SQLITE_OK ||
	    sq_bind_text_or_null(s, 6, r->agency) != SQLITE_OK ||
	    sq_bind_text_or_null(s, 7, r->event_id) != SQLITE_OK ||
	    sq_bind_text_or_null(s, 8, r->recipient) != SQLITE_OK ||
	    sqlite3_bind_text(s, 9, r->record, (int)r->record_len,
	                      SQLITE_STATIC) != SQLITE_OK ||
	    sq_bind_blob(s, 10, r->leaf_hash, r->leaf_len) != SQLITE_OK) {
		sq_stmt_done(s);
		return MASH_ERR_STORE;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		mash_err("audit: insert seq %llu failed",
		         (unsigned long long)r->seq);
		rc = sq_fail(st, src, "audit insert");
	}
	sq_stmt_done(s);
	return rc;
}

int
sq_aud_savepoint(struct mash_store_be *st)
{
	return sq_step_done(st, S_AUD_SP_BEGIN, "audit savepoint");
}

int
sq_aud_release(struct mash_store_be *st)
{
	return sq_step_done(st, S_AUD_SP_RELEASE, "audit release");
}

void
sq_aud_undo(struct mash_store_be *st)
{
	(void)sq_step_done(st, S_AUD_SP_ROLLBACK, "audit rollback");
	(void)sq_step_done(st, S_AUD_SP_RELEASE, "audit release");
}

int
sq_aud_checkpoint_last(struct mash_store_be *st, uint64_t *tree_size,
                       int64_t *time_ms, unsigned char **env, size_t *env_len)
{
	sqlite3_stmt *s = NULL;
	int rc, src;

	*tree_size = 0;
	*time_ms = 0;
	if (env != NULL)
		*env = NULL;
	if (env_len != NULL)
		*env_len = 0;
	rc = sq_stmt(st, S_AUD_CP_LAST, &s);
	if (rc != MASH_OK)
		return rc;
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		*tree_size = (uint64_t)sqlite3_column_int64(s, 0);
		*time_ms = sqlite3_column_int64(s, 1);
		rc = MASH_OK;
		if (env != NULL && env_len != NULL)
			rc = sq_col_blob_dup(s, 2, env, env_len);
	} else if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
	} else {
		rc = sq_fail(st, src, "audit last checkpoint");
	}
	sq_stmt_done(s);
	return rc;
}

int
sq_aud_checkpoint_add(struct mash_store_be *st, uint64_t tree_size,
                      const unsigned char *root, size_t root_len,
                      int64_t time_ms, const char *log_id,
                      const unsigned char *env, size_t env_len)
{
	sqlite3_stmt *s = NULL;
	int rc, src;

	if (st == NULL || root == NULL || log_id == NULL || env == NULL ||
	    env_len == 0 || env_len > INT32_MAX || tree_size > INT64_MAX)
		return MASH_ERR_INVAL;
	rc = sq_stmt(st, S_AUD_CP_ADD, &s);
	if (rc != MASH_OK)
		return rc;
	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)tree_size) != SQLITE_OK ||
	    sq_bind_blob(s, 2, root, root_len) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, time_ms) != SQLITE_OK ||
	    sqlite3_bind_text(s, 4, log_id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sq_bind_blob(s, 5, env, env_len) != SQLITE_OK) {
		sq_stmt_done(s);
		return MASH_ERR_STORE;
	}
	src = sqlite3_step(s);
	rc = src == SQLITE_DONE ? MASH_OK
	                        : sq_fail(st, src, "audit checkpoint insert");
	sq_stmt_done(s);
	return rc;
}

/* ---- reading back ---------------------------------------------------- */

static const char *
col_str(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return NULL;
	return (const char *)sqlite3_column_text(s, i);
}

int
sq_aud_rows(struct mash_store_be *st, const struct mash_store_aud_filter *f,
            mash_store_aud_row_fn fn, void *ctx)
{
#define AUD_ROWS(case_where)                                                   \
	"SELECT seq, type, time_ms, actor, case_id, agency, event_id,"         \
	" recipient, record, leaf_hash FROM audit_log WHERE " case_where       \
	" AND (?2 IS NULL OR agency = ?2) AND"                                 \
	" (?3 IS NULL OR actor = ?3 OR recipient = ?3) AND"                    \
	" (?4 IS NULL OR type = ?4) AND (?5 IS NULL OR time_ms >= ?5) AND"     \
	" (?6 IS NULL OR time_ms < ?6) AND (?7 IS NULL OR seq <= ?7)"          \
	" ORDER BY seq"
	static const char sql[] = AUD_ROWS("(?1 IS NULL OR case_id = ?1)");
	/* The same with the case named outright: "?1 IS NULL OR" keeps
	 * SQLite off the case index (a whole-trail scan for every picture's
	 * delivery states and every audit report --case). */
	static const char sql_case[] = AUD_ROWS("case_id = ?1");
#undef AUD_ROWS
	struct mash_store_aud_raw r;
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_STORE, src, b = SQLITE_OK;

	if (st == NULL || fn == NULL)
		return MASH_ERR_INVAL;
	src = sqlite3_prepare_v2(
	    st->db, f != NULL && f->case_id != NULL ? sql_case : sql, -1, &s,
	    NULL);
	if (src != SQLITE_OK)
		return sq_fail(st, src, "audit_log read");
	if (f != NULL) {
		if (f->case_id != NULL)
			b |= sqlite3_bind_text(s, 1, f->case_id, -1,
			                       SQLITE_STATIC);
		if (f->agency != NULL)
			b |= sqlite3_bind_text(s, 2, f->agency, -1,
			                       SQLITE_STATIC);
		if (f->principal != NULL)
			b |= sqlite3_bind_text(s, 3, f->principal, -1,
			                       SQLITE_STATIC);
		if (f->type != NULL)
			b |=
			    sqlite3_bind_text(s, 4, f->type, -1, SQLITE_STATIC);
		if (f->since >= 0)
			b |= sqlite3_bind_int64(s, 5, f->since);
		if (f->until >= 0)
			b |= sqlite3_bind_int64(s, 6, f->until);
		if (f->max_seq > 0 && f->max_seq <= INT64_MAX)
			b |=
			    sqlite3_bind_int64(s, 7, (sqlite3_int64)f->max_seq);
	}
	if (b != SQLITE_OK)
		goto out;
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.seq = sqlite3_column_int64(s, 0);
		r.type = col_str(s, 1);
		r.time_ms = sqlite3_column_int64(s, 2);
		r.actor = col_str(s, 3);
		r.case_id = col_str(s, 4);
		r.agency = col_str(s, 5);
		r.event_id = col_str(s, 6);
		r.recipient = col_str(s, 7);
		/* blob, then bytes: the stored bytes whatever their type */
		r.record = (const char *)sqlite3_column_blob(s, 8);
		r.record_len = (size_t)sqlite3_column_bytes(s, 8);
		r.leaf_hash = sqlite3_column_blob(s, 9);
		r.leaf_len = (size_t)sqlite3_column_bytes(s, 9);
		if (r.record == NULL)
			r.record = "";
		rc = fn(ctx, &r);
		if (rc != MASH_OK)
			goto out;
	}
	rc = src == SQLITE_DONE ? MASH_OK : sq_fail(st, src, "audit_log read");
out:
	sqlite3_finalize(s);
	return rc;
}

int
sq_aud_checkpoints(struct mash_store_be *st, int latest,
                   mash_store_aud_cp_fn fn, void *ctx)
{
	struct mash_store_aud_cp_raw c;
	sqlite3_stmt *s = NULL;
	int rc, src;

	if (st == NULL || fn == NULL)
		return MASH_ERR_INVAL;
	src = sqlite3_prepare_v2(
	    st->db,
	    latest ? "SELECT id, tree_size, root_hash, timestamp, log_id,"
	             " envelope FROM audit_checkpoints"
	             " ORDER BY tree_size DESC, id DESC LIMIT 1"
	           : "SELECT id, tree_size, root_hash, timestamp, log_id,"
	             " envelope FROM audit_checkpoints ORDER BY id",
	    -1, &s, NULL);
	if (src != SQLITE_OK)
		return sq_fail(st, src, "audit_checkpoints read");
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		c.id = sqlite3_column_int64(s, 0);
		c.tree_size = sqlite3_column_int64(s, 1);
		c.root = sqlite3_column_blob(s, 2);
		c.root_len = (size_t)sqlite3_column_bytes(s, 2);
		c.timestamp = sqlite3_column_int64(s, 3);
		c.log_id = col_str(s, 4);
		c.env = sqlite3_column_blob(s, 5);
		c.env_len = (size_t)sqlite3_column_bytes(s, 5);
		rc = fn(ctx, &c);
		if (rc != MASH_OK)
			goto out;
	}
	rc = src == SQLITE_DONE ? MASH_OK
	                        : sq_fail(st, src, "audit_checkpoints read");
out:
	sqlite3_finalize(s);
	return rc;
}

int
sq_aud_log_id(struct mash_store_be *st, char *out, size_t outsz)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int rc = MASH_OK, src;

	if (st == NULL || out == NULL || outsz == 0)
		return MASH_ERR_INVAL;
	out[0] = '\0';
	rc = sq_prep(st, "SELECT log_id FROM audit_state WHERE id = 1", &s);
	if (rc != MASH_OK)
		return rc;
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		t = sqlite3_column_text(s, 0);
		if (t != NULL)
			(void)mash_strlcpy(out, (const char *)t, outsz);
	} else if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "audit_state read");
	}
	sq_stmt_done(s);
	return rc;
}

int
sq_aud_record(struct mash_store_be *st, uint64_t seq, char **record,
              size_t *len)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_STORE, src, n;

	*record = NULL;
	*len = 0;
	if (st == NULL || seq > INT64_MAX)
		return MASH_ERR_INVAL;
	rc = sq_prep(st, "SELECT record FROM audit_log WHERE seq = ?1", &s);
	if (rc != MASH_OK)
		return rc;
	rc = MASH_ERR_STORE;
	if (sqlite3_bind_int64(s, 1, (sqlite3_int64)seq) != SQLITE_OK)
		goto out;
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "audit_log read");
		goto out;
	}
	n = sqlite3_column_bytes(s, 0);
	rc = MASH_ERR_NOMEM;
	*record =
	    mash_strndup((const char *)sqlite3_column_blob(s, 0), (size_t)n);
	if (*record == NULL)
		goto out;
	*len = (size_t)n;
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}
