/*
 * store_sql.h - the white-box SQL tests and benchmarks run on a store's
 * SQLite file (counting what was stored, damaging it on purpose), in one
 * place (issue 27): a second back-end's tests know what to replace, and
 * no test repeats the prepare/step/finalize loop for a number.
 */
#ifndef MASH_TEST_STORE_SQL_H
#define MASH_TEST_STORE_SQL_H

#include <stdint.h>

struct mash_store;

/* The first column of the first row of sql, run on st's connection: 1 and
 * *out, or 0 and *out = -1 (no row, or an error). */
int mash_test_sql_i64(struct mash_store *st, const char *sql, int64_t *out);

/* Run sql (any number of statements, no rows) on st's connection, outside
 * the store's own bookkeeping (to alter a file as an attacker would).
 * MASH_OK or MASH_ERR_STORE. */
int mash_test_sql_exec(struct mash_store *st, const char *sql);

/* How many prepared statements st's connection holds now (the back-end
 * keeps its statements prepared between calls). */
int mash_test_sql_statements(struct mash_store *st);

/* Rows stepped through by full table scans, summed over the prepared
 * statements st's connection holds now, since the last call (each call
 * resets the counters): a lookup that should use an index reads 0. */
int64_t mash_test_sql_full_scans(struct mash_store *st);

/* mash_test_sql_i64 on the store file at path, opened read-only (as
 * found, nothing written); -1 if it cannot be read. */
int64_t mash_test_sql_file_i64(const char *path, const char *sql);

#endif
