/*
 * store_test.h - the one white-box hook into the store, for tests only:
 * the SQLite connection under a store opened on the SQLite back-end, so a
 * test can read the file as stored or damage it the way an attacker with
 * the disk would (audit tamper tests). No module of the product includes
 * this header; store.h names no SQLite type.
 */
#ifndef MASH_STORE_TEST_H
#define MASH_STORE_TEST_H

struct mash_store;
struct sqlite3;

/* The underlying connection (borrowed: do not close), or NULL for a NULL
 * store or one on another back-end. */
struct sqlite3 *mash_store_sqlite(struct mash_store *st);

#endif
