/*
 * store_sql.c - white-box SQL on a store's SQLite file. See store_sql.h.
 */
#include <sqlite3.h>

#include "common/err.h"
#include "store/store.h"
#include "store/store_test.h"
#include "support/store_sql.h"

int
mash_test_sql_i64(struct mash_store *st, const char *sql, int64_t *out)
{
	sqlite3 *db = mash_store_sqlite(st);
	sqlite3_stmt *s = NULL;
	int ok;

	*out = -1;
	if (db == NULL ||
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return 0;
	ok = sqlite3_step(s) == SQLITE_ROW;
	if (ok)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return ok;
}

int
mash_test_sql_exec(struct mash_store *st, const char *sql)
{
	sqlite3 *db = mash_store_sqlite(st);

	if (db == NULL || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return MASH_ERR_STORE;
	return MASH_OK;
}

int
mash_test_sql_statements(struct mash_store *st)
{
	sqlite3 *db = mash_store_sqlite(st);
	sqlite3_stmt *p = NULL;
	int n = 0;

	while (db != NULL && (p = sqlite3_next_stmt(db, p)) != NULL)
		n++;
	return n;
}

int64_t
mash_test_sql_full_scans(struct mash_store *st)
{
	sqlite3 *db = mash_store_sqlite(st);
	sqlite3_stmt *p = NULL;
	int64_t n = 0;

	while (db != NULL && (p = sqlite3_next_stmt(db, p)) != NULL)
		n += sqlite3_stmt_status(p, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
	return n;
}

int64_t
mash_test_sql_file_i64(const char *path, const char *sql)
{
	struct mash_store *st = NULL;
	int64_t n = -1;

	if (mash_store_open_ro(path, &st) == MASH_OK)
		(void)mash_test_sql_i64(st, sql, &n);
	mash_store_close(st);
	return n;
}
