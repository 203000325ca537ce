/*
 * sq_open.c - the SQLite (WAL) store: open (read-write with migrations,
 * or read-only as found), schema and migrations, close (store.h).
 *
 * Durability: journal_mode=WAL with synchronous=FULL makes SQLite fsync
 * the write-ahead log at every COMMIT, so sq_commit() returns only
 * once the transaction is on disk. That is what lets the daemon publish a
 * Receipt straight after it (audit.md: "durable before acknowledgement").
 *
 * Hot-path statements are prepared once (SQLITE_PREPARE_PERSISTENT) and
 * cached in the store; each use resets and clears its bindings.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/sqlite/sq_int.h"

/* Schema migrations: migrations[i] moves user_version i to i + 1. Append
 * new ones; never edit a released one. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE cases ("
    "  case_id TEXT PRIMARY KEY NOT NULL,"
    "  nhs_number TEXT UNIQUE,"
    "  given_name TEXT, family_name TEXT, date_of_birth TEXT,"
    "  postcode TEXT, sex TEXT,"
    "  family_norm TEXT, postcode_norm TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX cases_demographics"
    "  ON cases(family_norm, date_of_birth, postcode_norm);"
    "CREATE INDEX cases_dob_postcode ON cases(date_of_birth, postcode_norm);"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  case_id TEXT NOT NULL REFERENCES cases(case_id),"
    "  agency TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  category INTEGER NOT NULL,"
    "  severity INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 4),"
    "  consent INTEGER NOT NULL,"
    "  occurred_at INTEGER NOT NULL,"
    "  recorded_at INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  receipt_status INTEGER NOT NULL DEFAULT 1,"
    "  audit_seq INTEGER,"
    "  envelope BLOB NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  UNIQUE (agency, event_id));"
    "CREATE INDEX events_case ON events(case_id, occurred_at, seq);"
    "CREATE TABLE possible_matches ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  case_a TEXT NOT NULL REFERENCES cases(case_id),"
    "  case_b TEXT NOT NULL REFERENCES cases(case_id),"
    "  reason TEXT NOT NULL,"
    "  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),"
    "  created_at INTEGER NOT NULL,"
    "  decided_at INTEGER,"
    "  UNIQUE (case_a, case_b, reason));"
    "CREATE INDEX possible_matches_b ON possible_matches(case_b);"
    "CREATE TABLE quarantine ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  topic BLOB NOT NULL,"
    "  agency TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  err INTEGER NOT NULL,"
    "  errname TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  bytes BLOB NOT NULL,"
    "  orig_len INTEGER NOT NULL,"
    "  truncated INTEGER NOT NULL);"
    "CREATE INDEX quarantine_agency ON quarantine(agency, id);"
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value TEXT NOT NULL);",
    /* 1 -> 2: messages to publish after commit */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  topic TEXT NOT NULL,"
    "  bytes BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL);",
    /* 2 -> 3: deliveries held for a recipient without an encryption key
     * (issue 25): bytes are the clear payload of type held_type until
     * mashd seals them (sq_outbox_release); NULL = ready. */
    ("ALTER TABLE outbox ADD COLUMN held_type TEXT;"
     "CREATE INDEX outbox_held ON outbox(id) WHERE held_type IS NOT NULL;"),
    /* 3 -> 4: a case's identity sealed in one blob when the store is
     * encrypted at rest (issue 28, sq_identity.c); NULL in clear stores. */
    "ALTER TABLE cases ADD COLUMN identity BLOB;",
    /* 4 -> 5: a retry budget and dead letters (issue 31,
     * sq_outbox_dead.c): a refused or unacknowledged publish counts an
     * attempt and sets next_try_at; until then the row, and every later
     * row to its topic, waits (order per destination, not global); past
     * the budget it moves to outbox_dead, where an operator retries or
     * drops it (mashctl outbox). */
    ("ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE outbox ADD COLUMN first_fail_at INTEGER;"
     "ALTER TABLE outbox ADD COLUMN next_try_at INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE outbox ADD COLUMN last_error TEXT;"
     "CREATE INDEX outbox_retry ON outbox(topic, id) WHERE next_try_at > 0;"
     "CREATE TABLE outbox_dead ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  outbox_id INTEGER NOT NULL,"
     "  topic TEXT NOT NULL,"
     "  bytes BLOB NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  attempts INTEGER NOT NULL,"
     "  first_fail_at INTEGER NOT NULL,"
     "  error TEXT NOT NULL,"
     "  dead_at INTEGER NOT NULL);"),
    /* 5 -> 6: the audit record that queued a message (issue 31): when
     * the broker acknowledges it, mashd's DELIVERY record names that
     * sequence number, so "queued" and "delivered" are told apart. */
    ("ALTER TABLE outbox ADD COLUMN audit_seq INTEGER;"
     "ALTER TABLE outbox_dead ADD COLUMN audit_seq INTEGER;"),
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == MASH_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* ------------------------------------------------------------------ */
/* Open, close                                                         */

/* Set journal_mode=WAL and check that it took (an in-memory or
 * read-only database silently keeps another mode). */
static int
set_wal(struct mash_store_be *st)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int rc = MASH_ERR_STORE;
	int src;

	src =
	    sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, "journal_mode");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "journal_mode");
		goto out;
	}
	mode = sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		mash_err("store: database does not support WAL mode");
		goto out;
	}
	rc = MASH_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* Bring the schema to MASH_STORE_SCHEMA_VERSION, one migration per
 * transaction, re-reading the version under the write lock so two
 * processes opening a new file at once do not both migrate. */
static int
migrate(struct mash_store_be *st)
{
	int64_t v = 0;
	char sql[64];
	int rc;

	for (;;) {
		rc = sq_exec(st, "BEGIN IMMEDIATE", "migrate begin");
		if (rc != MASH_OK)
			return rc;
		rc = sq_pragma_int(st, "PRAGMA user_version", &v);
		if (rc != MASH_OK)
			goto fail;
		if (v > MASH_STORE_SCHEMA_VERSION || v < 0) {
			mash_err("store: schema version %lld is newer than "
			         "this build (%d)",
			         (long long)v, MASH_STORE_SCHEMA_VERSION);
			rc = MASH_ERR_STORE;
			goto fail;
		}
		if (v == MASH_STORE_SCHEMA_VERSION)
			return sq_exec(st, "COMMIT", "migrate commit");
		rc = sq_exec(st, migrations[v], "migrate");
		if (rc != MASH_OK)
			goto fail;
		rc = mash_snprintf(sql, sizeof(sql),
		                   "PRAGMA user_version = %lld",
		                   (long long)(v + 1));
		if (rc != MASH_OK)
			goto fail;
		rc = sq_exec(st, sql, "set user_version");
		if (rc != MASH_OK)
			goto fail;
		rc = sq_exec(st, "COMMIT", "migrate commit");
		if (rc != MASH_OK)
			goto fail;
		mash_info("store: schema migrated to version %lld",
		          (long long)(v + 1));
	}
fail:
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Create the database file readable by its owner only before SQLite
 * does (SQLite gives the -wal and -shm files the same mode): it holds
 * police intelligence and health records. A new file's directory entry is
 * fsynced so the database itself survives a power cut (SQLite syncs the
 * directory for its WAL, not for a main file it did not create). */
static int
precreate(const char *path)
{
	char dir[4096];
	const char *slash;
	size_t n;
	int fd, dfd, created = 1;
	int rc = MASH_ERR_IO;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		created = 0;
		fd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0) {
		mash_err("store: cannot open database file: %s",
		         strerror(errno));
		return MASH_ERR_IO;
	}
	if (!created) {
		rc = MASH_OK;
		goto out;
	}
	if (fsync(fd) != 0)
		goto fail;
	slash = strrchr(path, '/');
	if (slash == NULL) {
		(void)mash_strlcpy(dir, ".", sizeof(dir));
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir))
			goto fail;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto fail;
	if (fsync(dfd) != 0) {
		(void)close(dfd);
		goto fail;
	}
	(void)close(dfd);
	rc = MASH_OK;
	goto out;
fail:
	mash_err("store: cannot sync new database file: %s", strerror(errno));
out:
	(void)close(fd);
	return rc;
}

int
sq_open_file(const char *path, struct mash_store_be **out)
{
	struct mash_store_be *st = NULL;
	int64_t fk = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || path[0] == '\0' || out == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	st = mash_calloc(1, sizeof(*st));
	if (st == NULL)
		goto out;
	st->rnd = sq_default_random;
	st->clock = mash_clock_system();
	rc = precreate(path);
	if (rc != MASH_OK)
		goto out;
	src = sqlite3_open_v2(path, &st->db,
	                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                          SQLITE_OPEN_NOMUTEX,
	                      NULL);
	if (src != SQLITE_OK) {
		rc = st->db != NULL ? sq_fail(st, src, "open") : MASH_ERR_NOMEM;
		goto out;
	}
	(void)sqlite3_extended_result_codes(st->db, 1);
	src = sqlite3_busy_timeout(st->db, MASH_STORE_BUSY_TIMEOUT_MS);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, "busy_timeout");
		goto out;
	}
	rc = set_wal(st);
	if (rc != MASH_OK)
		goto out;
	/* FULL: fsync the WAL at every commit (durable before receipt).
	 * secure_delete: a purged record's bytes are overwritten.
	 * temp_store=MEMORY: statement journals (page images of the rows a
	 * statement changes inside the group commit) and sorts stay in
	 * memory: on disk they were an unlinked temp file holding children's
	 * records in clear, and 80 % of mashd's writes (2.0 GB for 3,000
	 * events, against 0.36 GB now; issue 22). */
	rc = sq_exec(st,
	             "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
	             " PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY;"
	             " PRAGMA trusted_schema=OFF;",
	             "pragmas");
	if (rc != MASH_OK)
		goto out;
	rc = sq_pragma_int(st, "PRAGMA foreign_keys", &fk);
	if (rc != MASH_OK)
		goto out;
	if (fk != 1) {
		mash_err("store: SQLite built without foreign keys");
		rc = MASH_ERR_STORE;
		goto out;
	}
	*out = st;
	st = NULL; /* transferred */
	rc = MASH_OK;
out:
	sq_close(st);
	return rc;
}

int
sq_open(const char *path, struct mash_store_be **out)
{
	int rc = sq_open_file(path, out);

	if (rc != MASH_OK)
		return rc;
	rc = migrate(*out);
	if (rc == MASH_OK)
		rc = sq_atrest_detect(*out);
	if (rc != MASH_OK) {
		sq_close(*out);
		*out = NULL;
	}
	return rc;
}

int
sq_open_ro(const char *path, struct mash_store_be **out)
{
	struct mash_store_be *st = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || path[0] == '\0' || out == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	st = mash_calloc(1, sizeof(*st));
	if (st == NULL)
		goto out;
	st->rnd = sq_default_random;
	st->clock = mash_clock_system();
	st->read_only = 1;
	/* Evidence is read as found: no file created, no pragma written, no
	 * migration run on an auditor's copy. */
	src = sqlite3_open_v2(path, &st->db,
	                      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (src != SQLITE_OK) {
		rc = st->db != NULL ? sq_fail(st, src, "open") : MASH_ERR_NOMEM;
		if (rc == MASH_ERR_STORE)
			rc = MASH_ERR_IO;
		goto out;
	}
	(void)sqlite3_extended_result_codes(st->db, 1);
	src = sqlite3_busy_timeout(st->db, MASH_STORE_BUSY_TIMEOUT_MS);
	if (src != SQLITE_OK) {
		rc = sq_fail(st, src, "busy_timeout");
		goto out;
	}
	/* An encrypted copy is not read as if it were clear. */
	rc = sq_atrest_detect(st);
	if (rc != MASH_OK)
		goto out;
	*out = st;
	st = NULL; /* transferred */
	rc = MASH_OK;
out:
	sq_close(st);
	return rc;
}

void
sq_close(struct mash_store_be *st)
{
	size_t i;

	if (st == NULL)
		return;
	sq_ckpt_stop(st);
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (i = 0; i < st->nprep; i++)
		sqlite3_finalize(st->prep[i].s);
	mash_atrest_free(st->atrest);
	if (st->db != NULL) {
		if (!sqlite3_get_autocommit(st->db))
			(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL,
			                   NULL);
		/* close_v2: a statement another module forgot to finalize
		 * delays the close instead of failing it. */
		(void)sqlite3_close_v2(st->db);
	}
	mash_free(st);
}

void
sq_set_random(struct mash_store_be *st, mash_store_random_fn fn, void *ctx)
{
	if (st == NULL)
		return;
	st->rnd = fn != NULL ? fn : sq_default_random;
	st->rnd_ctx = fn != NULL ? ctx : NULL;
}

void
sq_set_clock(struct mash_store_be *st, const struct mash_clock *c)
{
	if (st == NULL)
		return;
	st->clock = c != NULL ? c : mash_clock_system();
}

/* A negative cache_size is a size in KiB, not a number of pages, so the
 * limit holds whatever the page size. */
int
sq_set_cache_mib(struct mash_store_be *st, unsigned mib)
{
	char sql[64];

	(void)mash_snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%u",
	                    mib * 1024u);
	return sq_exec(st, sql, "cache_size");
}

int
sq_cache_mib(struct mash_store_be *st, unsigned *mib)
{
	int64_t v;
	int rc;

	*mib = 0;
	rc = sq_pragma_int(st, "PRAGMA cache_size", &v);
	if (rc != MASH_OK)
		return rc;
	/* Positive: pages (SQLite's own default form). */
	if (v > 0) {
		int64_t ps;

		rc = sq_pragma_int(st, "PRAGMA page_size", &ps);
		if (rc != MASH_OK)
			return rc;
		v = -(v * ps / 1024);
	}
	*mib = (unsigned)(-v / 1024);
	return MASH_OK;
}
