/*
 * sq_tx.c - the SQLite store's transactions, savepoints and read
 * snapshots, its integrity check and the meta table (store.h).
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/sqlite/sq_int.h"

int
sq_snapshot_begin(struct mash_store_be *st, int *began)
{
	int rc;

	*began = 0;
	if (st == NULL)
		return MASH_ERR_INVAL;
	if (st->in_tx || !sqlite3_get_autocommit(st->db))
		return MASH_OK; /* already inside one: it is the snapshot */
	rc = sq_exec(st, "BEGIN", "snapshot");
	if (rc == MASH_OK)
		*began = 1;
	return rc;
}

void
sq_snapshot_end(struct mash_store_be *st, int began)
{
	if (st != NULL && began)
		(void)sq_exec(st, "COMMIT", "snapshot end");
}

/* Step a cached statement that returns no rows. */
int
sq_step_done(struct mash_store_be *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc;
	int src;

	rc = sq_stmt(st, id, &s);
	if (rc != MASH_OK)
		return rc;
	src = sqlite3_step(s);
	rc = src == SQLITE_DONE ? MASH_OK : sq_fail(st, src, what);
	sq_stmt_done(s);
	return rc;
}

/* Back to synchronous=FULL after a lazy transaction; until that works no
 * transaction begins (a durable commit must never be a lazy one). */
static int
durable_again(struct mash_store_be *st)
{
	if (!st->lazy)
		return MASH_OK;
	if (sq_exec(st, "PRAGMA synchronous=FULL", "synchronous") != MASH_OK)
		return MASH_ERR_STORE;
	st->lazy = 0;
	return MASH_OK;
}

/* BEGIN IMMEDIATE, durable or lazy. SQLite refuses to change the safety
 * level inside a transaction: a lazy one sets it before BEGIN and the
 * transaction's end puts it back (durable_again). */
static int
begin(struct mash_store_be *st, int lazy)
{
	int rc;

	if (st == NULL)
		return MASH_ERR_INVAL;
	if (st->in_tx || !sqlite3_get_autocommit(st->db))
		return MASH_ERR_STATE;
	if (durable_again(st) != MASH_OK)
		return MASH_ERR_STORE;
	/* SQLite lets BEGIN IMMEDIATE through on a read-only connection;
	 * a write transaction on an auditor's copy is refused here. */
	if (st->read_only) {
		mash_err("store: opened read-only: no write transaction");
		return MASH_ERR_STATE;
	}
	if (lazy) {
		rc = sq_exec(st, "PRAGMA synchronous=NORMAL", "synchronous");
		if (rc != MASH_OK)
			return rc;
		st->lazy = 1;
	}
	rc = sq_step_done(st, S_BEGIN, "begin");
	if (rc == MASH_OK)
		st->in_tx = 1;
	else
		(void)durable_again(st);
	return rc;
}

int
sq_begin(struct mash_store_be *st)
{
	return begin(st, 0);
}

int
sq_begin_lazy(struct mash_store_be *st)
{
	return begin(st, 1);
}

int
sq_commit(struct mash_store_be *st)
{
	int rc;

	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_tx)
		return MASH_ERR_STATE;
	st->in_tx = 0;
	st->in_sp = 0;
	/* SQLite rolls a transaction back by itself after some errors
	 * (SQLITE_FULL, IOERR, NOMEM): then there is nothing to commit
	 * and the caller must not send a receipt. */
	if (sqlite3_get_autocommit(st->db)) {
		mash_err("store: transaction was rolled back by SQLite");
		return MASH_ERR_STORE;
	}
	rc = sq_step_done(st, S_COMMIT, "commit");
	if (rc != MASH_OK && !sqlite3_get_autocommit(st->db))
		(void)sq_step_done(st, S_ROLLBACK,
		                   "rollback after failed commit");
	(void)durable_again(st); /* else the next begin tries again */
	return rc;
}

int
sq_rollback(struct mash_store_be *st)
{
	int rc;

	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_tx)
		return MASH_ERR_STATE;
	st->in_tx = 0;
	st->in_sp = 0;
	if (sqlite3_get_autocommit(st->db)) {
		(void)durable_again(st);
		return MASH_OK; /* already rolled back by SQLite */
	}
	rc = sq_step_done(st, S_ROLLBACK, "rollback");
	(void)durable_again(st);
	return rc;
}

int
sq_savepoint(struct mash_store_be *st)
{
	int rc;

	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_tx || st->in_sp)
		return MASH_ERR_STATE;
	/* Outside a transaction SAVEPOINT would begin one (and RELEASE
	 * commit it): if SQLite rolled ours back, refuse instead. */
	if (sqlite3_get_autocommit(st->db))
		return MASH_ERR_STORE;
	rc = sq_step_done(st, S_SAVEPOINT, "savepoint");
	if (rc == MASH_OK)
		st->in_sp = 1;
	return rc;
}

int
sq_release(struct mash_store_be *st)
{
	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_sp)
		return MASH_ERR_STATE;
	st->in_sp = 0;
	return sq_step_done(st, S_RELEASE, "release");
}

int
sq_rollback_to(struct mash_store_be *st)
{
	int rc;

	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_sp)
		return MASH_ERR_STATE;
	st->in_sp = 0;
	/* SQLite may have rolled the whole transaction back by itself
	 * (SQLITE_FULL, IOERR): nothing left to undo; commit reports it. */
	if (sqlite3_get_autocommit(st->db))
		return MASH_ERR_STORE;
	rc = sq_step_done(st, S_ROLLBACK_TO, "rollback to savepoint");
	if (rc == MASH_OK)
		rc = sq_step_done(st, S_RELEASE, "release after rollback");
	return rc;
}

int
sq_in_savepoint(const struct mash_store_be *st)
{
	return st != NULL && st->in_sp;
}

int
sq_in_tx(const struct mash_store_be *st)
{
	return st != NULL && st->in_tx;
}

struct sqlite3 *
mash_store_sqlite_be(struct mash_store_be *st)
{
	return st != NULL ? st->db : NULL;
}

int
sq_check(struct mash_store_be *st)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *res;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL)
		goto out;
	rc = MASH_ERR_STATE;
	if (st->in_tx)
		goto out;
	rc = MASH_ERR_STORE;
	src = sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &s, NULL);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, "quick_check");
		goto out;
	}
	src = sqlite3_step(s);
	res = src == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
	if (res == NULL || strcmp((const char *)res, "ok") != 0) {
		mash_err("store: quick_check failed: %s",
		         res != NULL ? (const char *)res
		                     : sqlite3_errmsg(st->db));
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;
	src = sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s,
	                         NULL);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, "foreign_key_check");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		mash_err("store: foreign key violation in table %s",
		         (const char *)sqlite3_column_text(s, 0));
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "foreign_key_check");
		goto out;
	}
	rc = MASH_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

const char *
sq_errmsg(struct mash_store_be *st)
{
	if (st == NULL || st->db == NULL)
		return "no store";
	return sqlite3_errmsg(st->db);
}

/* ------------------------------------------------------------------ */
/* Meta                                                                */

int
sq_meta_set(struct mash_store_be *st, const char *key, const char *value)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || value == NULL)
		goto out;
	rc = sq_check_id(key, MASH_STORE_MAX_META_KEY);
	if (rc != MASH_OK)
		goto out;
	rc = mash_str_check(value, MASH_STORE_MAX_META_VALUE);
	if (rc != MASH_OK)
		goto out;
	rc = sq_stmt(st, S_META_SET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "meta bind");
		goto out;
	}
	src = sqlite3_step(s);
	rc = src == SQLITE_DONE ? MASH_OK : sq_fail(st, src, "meta set");
out:
	sq_stmt_done(s);
	return rc;
}

int
sq_meta_get(struct mash_store_be *st, const char *key, char **out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || key == NULL)
		goto out;
	rc = sq_stmt(st, S_META_GET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "meta bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "meta get");
		goto out;
	}
	rc = sq_col_text_dup(s, 0, out);
	if (rc == MASH_OK && *out == NULL)
		rc = MASH_ERR_STORE;
out:
	sq_stmt_done(s);
	return rc;
}
