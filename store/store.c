/*
 * store.c - the SQLite (WAL) implementation of store.h.
 *
 * Durability: journal_mode=WAL with synchronous=FULL makes SQLite fsync
 * the write-ahead log at every COMMIT, so mash_store_commit() returns only
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

#include <openssl/rand.h>
#include <sqlite3.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "event/evt.h"
#include "store/store.h"

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
     * mashd seals them (mash_store_outbox_release); NULL = ready. */
    "ALTER TABLE outbox ADD COLUMN held_type TEXT;"
    "CREATE INDEX outbox_held ON outbox(id) WHERE held_type IS NOT NULL;",
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(N_MIGRATIONS == MASH_STORE_SCHEMA_VERSION,
               "one migration per schema version");

#define EVENT_COLS                                                             \
	"seq, case_id, agency, event_id, category, severity, consent,"         \
	" occurred_at, recorded_at, received_at, receipt_status, audit_seq,"   \
	" envelope, payload"

/* The cached statements. */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_LINK_SAVEPOINT,
	S_LINK_RELEASE,
	S_LINK_ROLLBACK_TO,
	S_EVENT_INSERT,
	S_EVENT_LOOKUP,
	S_EVENT_SET_RECEIPT,
	S_EVENT_GET,
	S_CASE_EVENTS,
	S_CASE_EXISTS,
	S_CASE_INSERT,
	S_CASE_BY_NHS,
	S_CASE_BY_DEMOGRAPHICS,
	S_CASE_BY_FAMILY_DOB,
	S_CASE_BY_DOB_POSTCODE,
	S_CASE_FILL,
	S_CASE_GET,
	S_CASE_AGENCIES,
	S_MATCH_INSERT,
	S_MATCH_LIST,
	S_MATCH_DECIDE,
	S_QUARANTINE_INSERT,
	S_QUARANTINE_LIST,
	S_META_SET,
	S_META_GET,
	S_OUTBOX_ADD,
	S_OUTBOX_PENDING,
	S_OUTBOX_DONE,
	S_OUTBOX_HOLD,
	S_OUTBOX_HELD,
	S_OUTBOX_RELEASE,
	S__COUNT
};

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
    [S_CASE_INSERT] =
        "INSERT INTO cases (case_id, nhs_number, given_name,"
        " family_name, date_of_birth, postcode, sex, family_norm,"
        " postcode_norm, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
                   " date_of_birth, postcode, sex, created_at FROM cases"
                   " WHERE case_id = ?",
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
    [S_OUTBOX_ADD] = "INSERT INTO outbox (topic, bytes, created_at)"
                     " VALUES (?,?,?)",
    [S_OUTBOX_PENDING] = "SELECT id, topic, bytes, created_at, held_type"
                         " FROM outbox WHERE id > ? AND held_type IS NULL"
                         " ORDER BY id LIMIT ?",
    [S_OUTBOX_DONE] = "DELETE FROM outbox WHERE id = ?",
    [S_OUTBOX_HOLD] = "INSERT INTO outbox (topic, bytes, created_at,"
                      " held_type) VALUES (?,?,?,?)",
    [S_OUTBOX_HELD] = "SELECT id, topic, bytes, created_at, held_type"
                      " FROM outbox WHERE id > ? AND held_type IS NOT NULL"
                      " ORDER BY id LIMIT ?",
    [S_OUTBOX_RELEASE] = "UPDATE outbox SET bytes = ?, held_type = NULL"
                         " WHERE id = ? AND held_type IS NOT NULL",
};

struct mash_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S__COUNT];
	int in_tx;
	int in_sp; /* a savepoint is open (inside in_tx) */
	mash_store_random_fn rnd;
	void *rnd_ctx;
	const struct mash_clock *clock;
};

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static int
default_random(void *ctx, unsigned char *buf, size_t n)
{
	(void)ctx;
	if (n > (size_t)0x7fffffff || RAND_bytes(buf, (int)n) != 1)
		return MASH_ERR_CRYPTO;
	return MASH_OK;
}

/* Map a SQLite result code to ours, logging the SQLite message (which
 * names tables and columns, never stored values). */
static int
sql_fail(struct mash_store *st, int src, const char *what)
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
static int
stmt_get(struct mash_store *st, enum stmt_id id, sqlite3_stmt **out)
{
	int src;

	*out = NULL;
	if (st->stmt[id] == NULL) {
		src = sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
		                         SQLITE_PREPARE_PERSISTENT,
		                         &st->stmt[id], NULL);
		if (src != SQLITE_OK) {
			st->stmt[id] = NULL;
			return sql_fail(st, src, "prepare");
		}
	}
	*out = st->stmt[id];
	return MASH_OK;
}

/* Return a cached statement to a clean state. NULL allowed. */
static void
stmt_done(sqlite3_stmt *s)
{
	if (s == NULL)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Bind text; NULL or "" binds SQL NULL. */
static int
bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Bind a blob; a zero-length blob is bound as an empty blob, not NULL. */
static int
bind_blob(sqlite3_stmt *s, int i, const unsigned char *p, size_t n)
{
	if (n == 0)
		return sqlite3_bind_zeroblob(s, i, 0);
	return sqlite3_bind_blob64(s, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
}

/* Copy a text column into dst[dstsz] ("" for NULL). */
static void
col_text(sqlite3_stmt *s, int i, char *dst, size_t dstsz)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	dst[0] = '\0';
	if (t != NULL)
		(void)mash_strlcpy(dst, (const char *)t, dstsz);
}

/* A new copy of a text column, *out NULL for SQL NULL. */
static int
col_text_dup(sqlite3_stmt *s, int i, char **out)
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
static int
col_blob_dup(sqlite3_stmt *s, int i, unsigned char **out, size_t *len)
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
static int
check_id(const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0')
		return MASH_ERR_INVAL;
	return mash_str_check(s, max);
}

/* Run a statement that returns no rows. */
static int
exec_sql(struct mash_store *st, const char *sql, const char *what)
{
	int src = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (src != SQLITE_OK)
		return sql_fail(st, src, what);
	return MASH_OK;
}

/* Run a one-row PRAGMA query and return its integer result. */
static int
pragma_int(struct mash_store *st, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_STORE;
	int src;

	*out = 0;
	src = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (src != SQLITE_OK) {
		rc = sql_fail(st, src, sql);
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_ROW) {
		rc = sql_fail(st, src, sql);
		goto out;
	}
	*out = sqlite3_column_int64(s, 0);
	rc = MASH_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Open, close, transactions                                           */

/* Set journal_mode=WAL and check that it took (an in-memory or
 * read-only database silently keeps another mode). */
static int
set_wal(struct mash_store *st)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *mode;
	int rc = MASH_ERR_STORE;
	int src;

	src =
	    sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (src != SQLITE_OK) {
		rc = sql_fail(st, src, "journal_mode");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_ROW) {
		rc = sql_fail(st, src, "journal_mode");
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
migrate(struct mash_store *st)
{
	int64_t v = 0;
	char sql[64];
	int rc;

	for (;;) {
		rc = exec_sql(st, "BEGIN IMMEDIATE", "migrate begin");
		if (rc != MASH_OK)
			return rc;
		rc = pragma_int(st, "PRAGMA user_version", &v);
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
			return exec_sql(st, "COMMIT", "migrate commit");
		rc = exec_sql(st, migrations[v], "migrate");
		if (rc != MASH_OK)
			goto fail;
		rc = mash_snprintf(sql, sizeof(sql),
		                   "PRAGMA user_version = %lld",
		                   (long long)(v + 1));
		if (rc != MASH_OK)
			goto fail;
		rc = exec_sql(st, sql, "set user_version");
		if (rc != MASH_OK)
			goto fail;
		rc = exec_sql(st, "COMMIT", "migrate commit");
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
mash_store_open(const char *path, struct mash_store **out)
{
	struct mash_store *st = NULL;
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
	st->rnd = default_random;
	st->clock = mash_clock_system();
	rc = precreate(path);
	if (rc != MASH_OK)
		goto out;
	src = sqlite3_open_v2(path, &st->db,
	                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                          SQLITE_OPEN_NOMUTEX,
	                      NULL);
	if (src != SQLITE_OK) {
		rc =
		    st->db != NULL ? sql_fail(st, src, "open") : MASH_ERR_NOMEM;
		goto out;
	}
	(void)sqlite3_extended_result_codes(st->db, 1);
	src = sqlite3_busy_timeout(st->db, MASH_STORE_BUSY_TIMEOUT_MS);
	if (src != SQLITE_OK) {
		rc = sql_fail(st, src, "busy_timeout");
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
	rc = exec_sql(st,
	              "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
	              " PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY;"
	              " PRAGMA trusted_schema=OFF;",
	              "pragmas");
	if (rc != MASH_OK)
		goto out;
	rc = pragma_int(st, "PRAGMA foreign_keys", &fk);
	if (rc != MASH_OK)
		goto out;
	if (fk != 1) {
		mash_err("store: SQLite built without foreign keys");
		rc = MASH_ERR_STORE;
		goto out;
	}
	rc = migrate(st);
	if (rc != MASH_OK)
		goto out;
	*out = st;
	st = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_store_close(st);
	return rc;
}

void
mash_store_close(struct mash_store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
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
mash_store_set_random(struct mash_store *st, mash_store_random_fn fn, void *ctx)
{
	if (st == NULL)
		return;
	st->rnd = fn != NULL ? fn : default_random;
	st->rnd_ctx = fn != NULL ? ctx : NULL;
}

void
mash_store_set_clock(struct mash_store *st, const struct mash_clock *c)
{
	if (st == NULL)
		return;
	st->clock = c != NULL ? c : mash_clock_system();
}

/* Step a cached statement that returns no rows. */
static int
step_done(struct mash_store *st, enum stmt_id id, const char *what)
{
	sqlite3_stmt *s = NULL;
	int rc;
	int src;

	rc = stmt_get(st, id, &s);
	if (rc != MASH_OK)
		return rc;
	src = sqlite3_step(s);
	rc = src == SQLITE_DONE ? MASH_OK : sql_fail(st, src, what);
	stmt_done(s);
	return rc;
}

int
mash_store_begin(struct mash_store *st)
{
	int rc;

	if (st == NULL)
		return MASH_ERR_INVAL;
	if (st->in_tx || !sqlite3_get_autocommit(st->db))
		return MASH_ERR_STATE;
	rc = step_done(st, S_BEGIN, "begin");
	if (rc == MASH_OK)
		st->in_tx = 1;
	return rc;
}

int
mash_store_commit(struct mash_store *st)
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
	rc = step_done(st, S_COMMIT, "commit");
	if (rc != MASH_OK && !sqlite3_get_autocommit(st->db))
		(void)step_done(st, S_ROLLBACK, "rollback after failed commit");
	return rc;
}

int
mash_store_rollback(struct mash_store *st)
{
	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_tx)
		return MASH_ERR_STATE;
	st->in_tx = 0;
	st->in_sp = 0;
	if (sqlite3_get_autocommit(st->db))
		return MASH_OK; /* already rolled back by SQLite */
	return step_done(st, S_ROLLBACK, "rollback");
}

int
mash_store_savepoint(struct mash_store *st)
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
	rc = step_done(st, S_SAVEPOINT, "savepoint");
	if (rc == MASH_OK)
		st->in_sp = 1;
	return rc;
}

int
mash_store_release(struct mash_store *st)
{
	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_sp)
		return MASH_ERR_STATE;
	st->in_sp = 0;
	return step_done(st, S_RELEASE, "release");
}

int
mash_store_rollback_to(struct mash_store *st)
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
	rc = step_done(st, S_ROLLBACK_TO, "rollback to savepoint");
	if (rc == MASH_OK)
		rc = step_done(st, S_RELEASE, "release after rollback");
	return rc;
}

int
mash_store_in_savepoint(const struct mash_store *st)
{
	return st != NULL && st->in_sp;
}

int
mash_store_in_tx(const struct mash_store *st)
{
	return st != NULL && st->in_tx;
}

struct sqlite3 *
mash_store_sqlite(struct mash_store *st)
{
	return st != NULL ? st->db : NULL;
}

int
mash_store_check(struct mash_store *st)
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
		rc = sql_fail(st, src, "quick_check");
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
		rc = sql_fail(st, src, "foreign_key_check");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		mash_err("store: foreign key violation in table %s",
		         (const char *)sqlite3_column_text(s, 0));
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "foreign_key_check");
		goto out;
	}
	rc = MASH_OK;
out:
	sqlite3_finalize(s);
	return rc;
}

const char *
mash_store_errmsg(struct mash_store *st)
{
	if (st == NULL || st->db == NULL)
		return "no store";
	return sqlite3_errmsg(st->db);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */

int
mash_store_event_insert(struct mash_store *st,
                        const struct mash_store_event *ev, int64_t *seq_out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (seq_out != NULL)
		*seq_out = 0;
	if (st == NULL || ev == NULL || ev->severity > 4 ||
	    ev->case_id == NULL || ev->case_id[0] == '\0' ||
	    (ev->envelope == NULL && ev->envelope_len > 0) ||
	    (ev->payload == NULL && ev->payload_len > 0))
		goto out;
	rc = check_id(ev->agency, MASH_MAX_AGENCY);
	if (rc != MASH_OK)
		goto out;
	rc = check_id(ev->event_id, MASH_MAX_ID);
	if (rc != MASH_OK)
		goto out;
	rc = check_id(ev->case_id, MASH_STORE_CASE_ID_LEN);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_TOO_BIG;
	if (ev->envelope_len > MASH_MAX_ENVELOPE ||
	    ev->payload_len > MASH_MAX_PAYLOAD)
		goto out;
	rc = stmt_get(st, S_EVENT_INSERT, &s);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_STORE;
	if (sqlite3_bind_text(s, 1, ev->case_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, ev->agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, ev->event_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 4, ev->category) ||
	    sqlite3_bind_int(s, 5, (int)ev->severity) ||
	    sqlite3_bind_int(s, 6, ev->consent) ||
	    sqlite3_bind_int64(s, 7, ev->occurred_at) ||
	    sqlite3_bind_int64(s, 8, ev->recorded_at) ||
	    sqlite3_bind_int64(s, 9, ev->received_at) ||
	    bind_blob(s, 10, ev->envelope, ev->envelope_len) ||
	    bind_blob(s, 11, ev->payload, ev->payload_len)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "event bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_CONSTRAINT_UNIQUE) {
		rc = MASH_ERR_DUPLICATE;
		goto out;
	}
	if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "event insert");
		goto out;
	}
	if (seq_out != NULL)
		*seq_out = sqlite3_last_insert_rowid(st->db);
	rc = MASH_OK;
out:
	stmt_done(s);
	return rc;
}

int
mash_store_event_lookup(struct mash_store *st, const char *agency,
                        const char *event_id, struct mash_store_receipt *out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (st == NULL || out == NULL || agency == NULL || event_id == NULL)
		goto out;
	rc = stmt_get(st, S_EVENT_LOOKUP, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, event_id, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "lookup bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sql_fail(st, src, "event lookup");
		goto out;
	}
	out->seq = sqlite3_column_int64(s, 0);
	col_text(s, 1, out->case_id, sizeof(out->case_id));
	out->status = sqlite3_column_int(s, 2);
	out->audit_seq = (uint64_t)sqlite3_column_int64(s, 3);
	out->received_at = sqlite3_column_int64(s, 4);
	rc = MASH_OK;
out:
	stmt_done(s);
	return rc;
}

int
mash_store_event_set_receipt(struct mash_store *st, const char *agency,
                             const char *event_id, int status,
                             uint64_t audit_seq)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || agency == NULL || event_id == NULL ||
	    status < MASH_STORE_RECEIPT_ACCEPTED ||
	    status > MASH_STORE_RECEIPT_REJECTED || audit_seq > INT64_MAX)
		goto out;
	rc = stmt_get(st, S_EVENT_SET_RECEIPT, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int(s, 1, status) ||
	    (audit_seq == 0 ? sqlite3_bind_null(s, 2)
	                    : sqlite3_bind_int64(s, 2, (int64_t)audit_seq)) ||
	    sqlite3_bind_text(s, 3, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, event_id, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "receipt bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "receipt update");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	stmt_done(s);
	return rc;
}

/* Fill r from a row of EVENT_COLS. */
static int
read_event_row(sqlite3_stmt *s, struct mash_store_event_row *r)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->seq = sqlite3_column_int64(s, 0);
	col_text(s, 1, r->case_id, sizeof(r->case_id));
	col_text(s, 2, r->agency, sizeof(r->agency));
	col_text(s, 3, r->event_id, sizeof(r->event_id));
	r->category = sqlite3_column_int(s, 4);
	r->severity = (unsigned)sqlite3_column_int(s, 5);
	r->consent = sqlite3_column_int(s, 6);
	r->occurred_at = sqlite3_column_int64(s, 7);
	r->recorded_at = sqlite3_column_int64(s, 8);
	r->received_at = sqlite3_column_int64(s, 9);
	r->receipt_status = sqlite3_column_int(s, 10);
	r->audit_seq = (uint64_t)sqlite3_column_int64(s, 11);
	rc = col_blob_dup(s, 12, &r->envelope, &r->envelope_len);
	if (rc != MASH_OK)
		return rc;
	rc = col_blob_dup(s, 13, &r->payload, &r->payload_len);
	if (rc != MASH_OK) {
		mash_free_secret(r->envelope, r->envelope_len);
		r->envelope = NULL;
		r->envelope_len = 0;
	}
	return rc;
}

static void
event_row_clear(struct mash_store_event_row *r)
{
	mash_free_secret(r->envelope, r->envelope_len);
	mash_free_secret(r->payload, r->payload_len);
	r->envelope = NULL;
	r->payload = NULL;
}

void
mash_store_event_list_free(struct mash_store_event_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		event_row_clear(&l->v[i]);
	mash_free(l->v);
	mash_free(l);
}

void
mash_store_event_row_free(struct mash_store_event_row *r)
{
	if (r == NULL)
		return;
	event_row_clear(r);
	mash_free(r);
}

int
mash_store_case_events(struct mash_store *st, const char *case_id,
                       struct mash_store_event_list **out)
{
	struct mash_store_event_list *l = NULL;
	struct mash_store_event_row *nv;
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || case_id == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = stmt_get(st, S_CASE_EVENTS, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "events bind");
		goto out;
	}
	for (;;) {
		src = sqlite3_step(s);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = sql_fail(st, src, "case events");
			goto out;
		}
		if (l->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			rc = MASH_ERR_NOMEM;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		rc = read_event_row(s, &l->v[l->n]);
		if (rc != MASH_OK)
			goto out;
		l->n++;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	stmt_done(s);
	mash_store_event_list_free(l);
	return rc;
}

int
mash_store_event_get(struct mash_store *st, const char *agency,
                     const char *event_id, struct mash_store_event_row **out)
{
	struct mash_store_event_row *r = NULL;
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || agency == NULL || event_id == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	r = mash_calloc(1, sizeof(*r));
	if (r == NULL)
		goto out;
	rc = stmt_get(st, S_EVENT_GET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, event_id, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "event get bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sql_fail(st, src, "event get");
		goto out;
	}
	rc = read_event_row(s, r);
	if (rc != MASH_OK)
		goto out;
	*out = r;
	r = NULL; /* transferred */
out:
	stmt_done(s);
	mash_store_event_row_free(r);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Cases and linkage                                                   */

/*
 * The NHS number, spaces ignored (numbers are printed 3-3-4), checked
 * with event/'s Modulus 11 rule so that linkage and validation agree.
 * Writes the 10 digits to out[11]; MASH_OK, or MASH_ERR_BAD_NHS.
 */
static int
norm_nhs(const char *s, char out[11])
{
	size_t n = 0;

	out[0] = '\0';
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (n == 10)
			return MASH_ERR_BAD_NHS;
		out[n++] = *s;
	}
	out[n] = '\0';
	if (!mash_evt_nhs_valid(out)) {
		out[0] = '\0';
		return MASH_ERR_BAD_NHS;
	}
	return MASH_OK;
}

/* The subject after checking and normalising. Empty string = absent. */
struct norm_subject {
	char nhs[11];
	char family[MASH_MAX_SHORT + 1];
	char postcode[MASH_MAX_SHORT + 1];
	const char *dob;
};

static int
present(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static int
normalise_subject(const struct mash_store_subject *s, struct norm_subject *n)
{
	const char *fields[6];
	struct mash_date dob;
	size_t i;
	int rc;

	memset(n, 0, sizeof(*n));
	fields[0] = s->nhs_number;
	fields[1] = s->given_name;
	fields[2] = s->family_name;
	fields[3] = s->date_of_birth;
	fields[4] = s->postcode;
	fields[5] = s->sex;
	for (i = 0; i < 6; i++) {
		rc = mash_str_check(fields[i], MASH_MAX_SHORT);
		if (rc != MASH_OK)
			return rc;
	}
	if (present(s->nhs_number)) {
		rc = norm_nhs(s->nhs_number, n->nhs);
		if (rc != MASH_OK)
			return rc;
	}
	if (present(s->date_of_birth)) {
		if (mash_evt_date_parse(s->date_of_birth, &dob) != MASH_OK)
			return MASH_ERR_BAD_DATE;
		n->dob = s->date_of_birth;
	}
	/* event/'s normalisers, the ones validation used to decide the
	 * subject has full demographics. Inputs are at most MASH_MAX_SHORT
	 * bytes, so the buffers cannot truncate. */
	if (present(s->family_name))
		(void)mash_evt_norm_family(s->family_name, n->family,
		                           sizeof(n->family));
	if (present(s->postcode))
		(void)mash_evt_norm_postcode(s->postcode, n->postcode,
		                             sizeof(n->postcode));
	if (n->nhs[0] == '\0' &&
	    (n->family[0] == '\0' || n->dob == NULL || n->postcode[0] == '\0'))
		return MASH_ERR_NO_IDENTITY;
	return MASH_OK;
}

/* Look up one case id by a single text key (S_CASE_BY_NHS). */
static int
case_by_key(struct mash_store *st, enum stmt_id id, const char *key,
            char case_id[MASH_STORE_CASE_ID_SIZE])
{
	sqlite3_stmt *s = NULL;
	int rc;
	int src;

	case_id[0] = '\0';
	rc = stmt_get(st, id, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "case bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sql_fail(st, src, "case lookup");
		goto out;
	}
	col_text(s, 0, case_id, MASH_STORE_CASE_ID_SIZE);
	rc = MASH_OK;
out:
	stmt_done(s);
	return rc;
}

/* Fill the case's unknown demographics (and NHS number) from s. */
static int
case_fill(struct mash_store *st, const char *case_id,
          const struct mash_store_subject *s, const struct norm_subject *n)
{
	sqlite3_stmt *q = NULL;
	int rc;
	int src;

	rc = stmt_get(st, S_CASE_FILL, &q);
	if (rc != MASH_OK)
		goto out;
	if (bind_text_or_null(q, 1, n->nhs) ||
	    bind_text_or_null(q, 2, s->given_name) ||
	    bind_text_or_null(q, 3, s->family_name) ||
	    bind_text_or_null(q, 4, n->dob) ||
	    bind_text_or_null(q, 5, s->postcode) ||
	    bind_text_or_null(q, 6, s->sex) ||
	    bind_text_or_null(q, 7, n->family) ||
	    bind_text_or_null(q, 8, n->postcode) ||
	    sqlite3_bind_text(q, 9, case_id, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "case fill bind");
		goto out;
	}
	src = sqlite3_step(q);
	rc = src == SQLITE_DONE ? MASH_OK : sql_fail(st, src, "case fill");
out:
	stmt_done(q);
	return rc;
}

/* Candidates for possible-match rows. */
struct candidates {
	char case_id[MASH_STORE_MAX_CANDIDATES][MASH_STORE_CASE_ID_SIZE];
	const char *reason[MASH_STORE_MAX_CANDIDATES];
	size_t n;
};

static void
cand_add(struct candidates *c, const char *case_id, const char *reason)
{
	if (c->n == MASH_STORE_MAX_CANDIDATES)
		return;
	(void)mash_strlcpy(c->case_id[c->n], case_id, MASH_STORE_CASE_ID_SIZE);
	c->reason[c->n] = reason;
	c->n++;
}

/*
 * Exact demographic match: the first case (oldest) that has no NHS number,
 * or any case if the subject has none, goes to found[]; a case whose NHS
 * number differs from the subject's is a candidate.
 */
static int
match_demographics(struct mash_store *st, const struct norm_subject *n,
                   char found[MASH_STORE_CASE_ID_SIZE], struct candidates *c)
{
	sqlite3_stmt *s = NULL;
	char id[MASH_STORE_CASE_ID_SIZE];
	int rc;
	int src;

	found[0] = '\0';
	rc = stmt_get(st, S_CASE_BY_DEMOGRAPHICS, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, n->family, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, n->dob, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, n->postcode, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "demo bind");
		goto out;
	}
	for (;;) {
		src = sqlite3_step(s);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = sql_fail(st, src, "demographic match");
			goto out;
		}
		col_text(s, 0, id, sizeof(id));
		if (n->nhs[0] == '\0' ||
		    sqlite3_column_type(s, 1) == SQLITE_NULL) {
			if (found[0] == '\0')
				(void)mash_strlcpy(found, id,
				                   MASH_STORE_CASE_ID_SIZE);
		} else {
			cand_add(c, id, "demographics-nhs-differs");
		}
	}
	rc = MASH_OK;
out:
	stmt_done(s);
	return rc;
}

/*
 * Partial matches (never merged, Working Together 2013: identity must be
 * confirmed by a practitioner, not inferred): same family name and DOB
 * with another postcode; same DOB and postcode with another family name.
 */
static int
match_partial(struct mash_store *st, const struct norm_subject *n,
              struct candidates *c)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *other;
	char id[MASH_STORE_CASE_ID_SIZE];
	int rc = MASH_OK;
	int src;

	if (n->family[0] != '\0' && n->dob != NULL) {
		rc = stmt_get(st, S_CASE_BY_FAMILY_DOB, &s);
		if (rc != MASH_OK)
			goto out;
		if (sqlite3_bind_text(s, 1, n->family, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(s, 2, n->dob, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int(s, 3, (int)MASH_STORE_MAX_CANDIDATES)) {
			rc = sql_fail(st, sqlite3_errcode(st->db), "fd bind");
			goto out;
		}
		while ((src = sqlite3_step(s)) == SQLITE_ROW) {
			other = sqlite3_column_text(s, 1);
			/* Same postcode too: handled as an exact match. */
			if (n->postcode[0] != '\0' && other != NULL &&
			    strcmp((const char *)other, n->postcode) == 0)
				continue;
			col_text(s, 0, id, sizeof(id));
			cand_add(c, id, "family-dob");
		}
		if (src != SQLITE_DONE) {
			rc = sql_fail(st, src, "family-dob match");
			goto out;
		}
		stmt_done(s);
		s = NULL;
	}
	if (n->dob != NULL && n->postcode[0] != '\0') {
		rc = stmt_get(st, S_CASE_BY_DOB_POSTCODE, &s);
		if (rc != MASH_OK)
			goto out;
		if (sqlite3_bind_text(s, 1, n->dob, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(s, 2, n->postcode, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int(s, 3, (int)MASH_STORE_MAX_CANDIDATES)) {
			rc = sql_fail(st, sqlite3_errcode(st->db), "dp bind");
			goto out;
		}
		while ((src = sqlite3_step(s)) == SQLITE_ROW) {
			other = sqlite3_column_text(s, 1);
			if (n->family[0] != '\0' && other != NULL &&
			    strcmp((const char *)other, n->family) == 0)
				continue;
			col_text(s, 0, id, sizeof(id));
			cand_add(c, id, "dob-postcode");
		}
		if (src != SQLITE_DONE) {
			rc = sql_fail(st, src, "dob-postcode match");
			goto out;
		}
	}
	rc = MASH_OK;
out:
	stmt_done(s);
	return rc;
}

/* A fresh, unused case id "C-" + 12 hex digits from the random source. */
static int
new_case_id(struct mash_store *st, char case_id[MASH_STORE_CASE_ID_SIZE])
{
	unsigned char rnd[6];
	char hex[13];
	char tmp[MASH_STORE_CASE_ID_SIZE];
	int attempt;
	int rc;

	case_id[0] = '\0';
	for (attempt = 0; attempt < 16; attempt++) {
		rc = st->rnd(st->rnd_ctx, rnd, sizeof(rnd));
		if (rc != MASH_OK)
			return rc;
		mash_hex(rnd, sizeof(rnd), hex);
		rc = mash_snprintf(case_id, MASH_STORE_CASE_ID_SIZE, "C-%s",
		                   hex);
		if (rc != MASH_OK)
			return rc;
		rc = case_by_key(st, S_CASE_EXISTS, case_id, tmp);
		if (rc == MASH_ERR_NOT_FOUND)
			return MASH_OK;
		if (rc != MASH_OK)
			return rc;
	}
	case_id[0] = '\0';
	mash_err("store: random source keeps repeating case ids");
	return MASH_ERR_INTERNAL;
}

static int
case_insert(struct mash_store *st, const char *case_id,
            const struct mash_store_subject *s, const struct norm_subject *n)
{
	sqlite3_stmt *q = NULL;
	int rc;
	int src;

	rc = stmt_get(st, S_CASE_INSERT, &q);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(q, 1, case_id, -1, SQLITE_STATIC) ||
	    bind_text_or_null(q, 2, n->nhs) ||
	    bind_text_or_null(q, 3, s->given_name) ||
	    bind_text_or_null(q, 4, s->family_name) ||
	    bind_text_or_null(q, 5, n->dob) ||
	    bind_text_or_null(q, 6, s->postcode) ||
	    bind_text_or_null(q, 7, s->sex) ||
	    bind_text_or_null(q, 8, n->family) ||
	    bind_text_or_null(q, 9, n->postcode) ||
	    sqlite3_bind_int64(q, 10, mash_clock_now(st->clock))) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "case bind");
		goto out;
	}
	src = sqlite3_step(q);
	rc = src == SQLITE_DONE ? MASH_OK : sql_fail(st, src, "case insert");
out:
	stmt_done(q);
	return rc;
}

static int
match_insert(struct mash_store *st, const char *a, const char *b,
             const char *reason)
{
	sqlite3_stmt *q = NULL;
	int rc;
	int src;

	rc = stmt_get(st, S_MATCH_INSERT, &q);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(q, 3, reason, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(q, 4, mash_clock_now(st->clock))) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "match bind");
		goto out;
	}
	src = sqlite3_step(q);
	rc = src == SQLITE_DONE ? MASH_OK : sql_fail(st, src, "match insert");
out:
	stmt_done(q);
	return rc;
}

/* The linkage rules of mash_store_case_link, without the savepoint. */
static int
case_link(struct mash_store *st, const struct mash_store_subject *s,
          char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new)
{
	struct norm_subject n;
	struct candidates cand;
	char id[MASH_STORE_CASE_ID_SIZE];
	size_t i;
	int rc = MASH_ERR_INVAL;

	if (case_id != NULL)
		case_id[0] = '\0';
	if (is_new != NULL)
		*is_new = 0;
	memset(&cand, 0, sizeof(cand));
	id[0] = '\0';
	if (st == NULL || s == NULL || case_id == NULL)
		goto out;
	rc = normalise_subject(s, &n);
	if (rc != MASH_OK)
		goto out;
	/* 1. exact on a valid NHS number */
	if (n.nhs[0] != '\0') {
		rc = case_by_key(st, S_CASE_BY_NHS, n.nhs, id);
		if (rc == MASH_OK) {
			rc = case_fill(st, id, s, &n);
			if (rc != MASH_OK)
				goto out;
			goto found;
		}
		if (rc != MASH_ERR_NOT_FOUND)
			goto out;
	}
	/* 2. exact on normalised family name + DOB + postcode */
	if (n.family[0] != '\0' && n.dob != NULL && n.postcode[0] != '\0') {
		rc = match_demographics(st, &n, id, &cand);
		if (rc != MASH_OK)
			goto out;
		if (id[0] != '\0') {
			/* learns the NHS number if it had none */
			rc = case_fill(st, id, s, &n);
			if (rc != MASH_OK)
				goto out;
			goto found;
		}
	}
	/* 3. a new case, with any partial matches for an analyst */
	rc = match_partial(st, &n, &cand);
	if (rc != MASH_OK)
		goto out;
	rc = new_case_id(st, id);
	if (rc != MASH_OK)
		goto out;
	rc = case_insert(st, id, s, &n);
	if (rc != MASH_OK)
		goto out;
	for (i = 0; i < cand.n; i++) {
		rc = match_insert(st, cand.case_id[i], id, cand.reason[i]);
		if (rc != MASH_OK)
			goto out;
	}
	if (cand.n > 0)
		mash_info("store: case %s has %zu possible match(es)", id,
		          cand.n);
	if (is_new != NULL)
		*is_new = 1;
found:
	(void)mash_strlcpy(case_id, id, MASH_STORE_CASE_ID_SIZE);
	rc = MASH_OK;
out:
	return rc;
}

/*
 * Linkage writes up to three kinds of row (a case, its possible matches,
 * learnt fields); a savepoint makes it all-or-nothing even when the
 * caller forgot the transaction, and leaves the caller's transaction
 * usable when linkage fails.
 */
int
mash_store_case_link(struct mash_store *st, const struct mash_store_subject *s,
                     char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new)
{
	int rc;

	if (case_id != NULL)
		case_id[0] = '\0';
	if (is_new != NULL)
		*is_new = 0;
	if (st == NULL || s == NULL || case_id == NULL)
		return MASH_ERR_INVAL;
	rc = step_done(st, S_LINK_SAVEPOINT, "link savepoint");
	if (rc != MASH_OK)
		return rc;
	rc = case_link(st, s, case_id, is_new);
	if (rc == MASH_OK) {
		rc = step_done(st, S_LINK_RELEASE, "link release");
		if (rc == MASH_OK)
			return MASH_OK;
	}
	case_id[0] = '\0';
	if (is_new != NULL)
		*is_new = 0;
	(void)step_done(st, S_LINK_ROLLBACK_TO, "link rollback");
	(void)step_done(st, S_LINK_RELEASE, "link release");
	return rc;
}

void
mash_store_case_free(struct mash_store_case *c)
{
	if (c == NULL)
		return;
	mash_free_str(c->nhs_number);
	mash_free_str(c->given_name);
	mash_free_str(c->family_name);
	mash_free_str(c->date_of_birth);
	mash_free_str(c->postcode);
	mash_free_str(c->sex);
	mash_free(c);
}

int
mash_store_case_get(struct mash_store *st, const char *case_id,
                    struct mash_store_case **out)
{
	struct mash_store_case *c = NULL;
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || case_id == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	c = mash_calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	rc = stmt_get(st, S_CASE_GET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "case get bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sql_fail(st, src, "case get");
		goto out;
	}
	col_text(s, 0, c->case_id, sizeof(c->case_id));
	c->created_at = sqlite3_column_int64(s, 7);
	rc = col_text_dup(s, 1, &c->nhs_number);
	if (rc == MASH_OK)
		rc = col_text_dup(s, 2, &c->given_name);
	if (rc == MASH_OK)
		rc = col_text_dup(s, 3, &c->family_name);
	if (rc == MASH_OK)
		rc = col_text_dup(s, 4, &c->date_of_birth);
	if (rc == MASH_OK)
		rc = col_text_dup(s, 5, &c->postcode);
	if (rc == MASH_OK)
		rc = col_text_dup(s, 6, &c->sex);
	if (rc != MASH_OK)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	stmt_done(s);
	mash_store_case_free(c);
	return rc;
}

int
mash_store_case_find_nhs(struct mash_store *st, const char *nhs,
                         char case_id[MASH_STORE_CASE_ID_SIZE])
{
	char n[11];
	int rc;

	if (case_id != NULL)
		case_id[0] = '\0';
	if (st == NULL || nhs == NULL || case_id == NULL)
		return MASH_ERR_INVAL;
	rc = norm_nhs(nhs, n);
	if (rc != MASH_OK)
		return rc;
	return case_by_key(st, S_CASE_BY_NHS, n, case_id);
}

void
mash_store_strlist_free(struct mash_store_strlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		mash_free(l->v[i]);
	mash_free(l->v);
	mash_free(l);
}

int
mash_store_case_agencies(struct mash_store *st, const char *case_id,
                         struct mash_store_strlist **out)
{
	struct mash_store_strlist *l = NULL;
	sqlite3_stmt *s = NULL;
	char **nv;
	char *dup;
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || case_id == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = stmt_get(st, S_CASE_AGENCIES, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "agencies bind");
		goto out;
	}
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		rc = MASH_ERR_NOMEM;
		if (l->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		rc = col_text_dup(s, 0, &dup);
		if (rc != MASH_OK)
			goto out;
		if (dup == NULL) {
			rc = MASH_ERR_STORE;
			goto out;
		}
		l->v[l->n++] = dup;
	}
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "case agencies");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	stmt_done(s);
	mash_store_strlist_free(l);
	return rc;
}

void
mash_store_match_list_free(struct mash_store_match_list *l)
{
	if (l == NULL)
		return;
	mash_free(l->v);
	mash_free(l);
}

int
mash_store_possible_matches(struct mash_store *st, const char *case_id,
                            struct mash_store_match_list **out)
{
	struct mash_store_match_list *l = NULL;
	struct mash_store_match *nv, *m;
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = stmt_get(st, S_MATCH_LIST, &s);
	if (rc != MASH_OK)
		goto out;
	if (bind_text_or_null(s, 1, case_id)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "matches bind");
		goto out;
	}
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (l->n == cap) {
			rc = MASH_ERR_NOMEM;
			cap = cap == 0 ? 8 : cap * 2;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		m = &l->v[l->n++];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(s, 0);
		col_text(s, 1, m->case_a, sizeof(m->case_a));
		col_text(s, 2, m->case_b, sizeof(m->case_b));
		col_text(s, 3, m->reason, sizeof(m->reason));
		m->status = sqlite3_column_int(s, 4);
		m->created_at = sqlite3_column_int64(s, 5);
	}
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "possible matches");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	stmt_done(s);
	mash_store_match_list_free(l);
	return rc;
}

int
mash_store_possible_match_decide(struct mash_store *st, int64_t id, int status)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || (status != MASH_STORE_MATCH_CONFIRMED &&
	                   status != MASH_STORE_MATCH_REJECTED))
		goto out;
	rc = stmt_get(st, S_MATCH_DECIDE, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int(s, 1, status) ||
	    sqlite3_bind_int64(s, 2, mash_clock_now(st->clock)) ||
	    sqlite3_bind_int64(s, 3, id)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "decide bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "decide");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	stmt_done(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Quarantine                                                          */

/* Length of the valid UTF-8 sequence starting at s[0..n), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t want;

	if (n == 0 || s[0] == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		want = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		want = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		want = 4;
	else
		return 0;
	if (want > n || !mash_utf8_valid((const char *)s, want))
		return 0;
	return want;
}

/* Copy at most max bytes of s[0..n) into out (size >= max + 1) as valid
 * UTF-8: invalid bytes and NULs become '?', a sequence that would cross
 * max is dropped. Returns the length written. */
static size_t
sanitize_utf8(const unsigned char *s, size_t n, char *out, size_t max)
{
	size_t i = 0, o = 0, k;

	while (i < n && o < max) {
		k = utf8_seq(s + i, n - i);
		if (k == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + k > max)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return o;
}

/* The agency segment of "mash/v1/events/{agency}" if it is a plausible
 * name ([a-z0-9._-], bounded), "" otherwise. */
static void
agency_from_topic(const char *topic, size_t tlen, char *out, size_t outsz)
{
	static const char prefix[] = "mash/v1/events/";
	size_t plen = sizeof(prefix) - 1;
	size_t i, n;
	char c;

	out[0] = '\0';
	if (tlen <= plen || memcmp(topic, prefix, plen) != 0)
		return;
	n = tlen - plen;
	if (n >= outsz)
		return;
	for (i = 0; i < n; i++) {
		c = topic[plen + i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return;
	}
	memcpy(out, topic + plen, n);
	out[n] = '\0';
}

int
mash_store_quarantine_add(struct mash_store *st,
                          const struct mash_store_quarantine *q,
                          int64_t *id_out)
{
	char agency[MASH_MAX_AGENCY + 1];
	char reason[MASH_STORE_MAX_REASON + 1];
	sqlite3_stmt *s = NULL;
	size_t tlen = 0, blen;
	int rc = MASH_ERR_INVAL;
	int src;

	if (id_out != NULL)
		*id_out = 0;
	if (st == NULL || q == NULL || (q->bytes == NULL && q->len > 0))
		goto out;
	if (q->topic != NULL)
		tlen = strnlen(q->topic, MASH_MAX_TOPIC);
	if (q->agency != NULL)
		(void)sanitize_utf8((const unsigned char *)q->agency,
		                    strnlen(q->agency, MASH_MAX_AGENCY), agency,
		                    MASH_MAX_AGENCY);
	else if (q->topic != NULL)
		agency_from_topic(q->topic, tlen, agency, sizeof(agency));
	else
		agency[0] = '\0';
	reason[0] = '\0';
	if (q->reason != NULL)
		(void)sanitize_utf8((const unsigned char *)q->reason,
		                    strnlen(q->reason, MASH_STORE_MAX_REASON),
		                    reason, MASH_STORE_MAX_REASON);
	blen = q->len > MASH_STORE_MAX_QUARANTINE_BYTES
	           ? MASH_STORE_MAX_QUARANTINE_BYTES
	           : q->len;
	rc = stmt_get(st, S_QUARANTINE_INSERT, &s);
	if (rc != MASH_OK)
		goto out;
	if (bind_blob(s, 1, (const unsigned char *)q->topic, tlen) ||
	    sqlite3_bind_text(s, 2, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 3, q->received_at) ||
	    sqlite3_bind_int(s, 4, q->err) ||
	    sqlite3_bind_text(s, 5, mash_errname(q->err), -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 6, reason, -1, SQLITE_STATIC) ||
	    bind_blob(s, 7, q->bytes, blen) ||
	    sqlite3_bind_int64(s, 8, (int64_t)q->len) ||
	    sqlite3_bind_int(s, 9, blen < q->len)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "quarantine bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "quarantine insert");
		goto out;
	}
	if (id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(st->db);
	rc = MASH_OK;
out:
	stmt_done(s);
	return rc;
}

void
mash_store_quarantine_list_free(struct mash_store_quarantine_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		mash_free_secret(l->v[i].bytes, l->v[i].len);
	mash_free(l->v);
	mash_free(l);
}

int
mash_store_quarantine_list(struct mash_store *st, const char *agency,
                           int64_t after_id, size_t limit,
                           struct mash_store_quarantine_list **out)
{
	struct mash_store_quarantine_list *l = NULL;
	struct mash_store_quarantine_row *nv, *r;
	sqlite3_stmt *s = NULL;
	const void *topic;
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || limit > INT64_MAX)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = stmt_get(st, S_QUARANTINE_LIST, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int64(s, 1, after_id) ||
	    (agency == NULL
	         ? sqlite3_bind_null(s, 2)
	         : sqlite3_bind_text(s, 2, agency, -1, SQLITE_STATIC)) ||
	    sqlite3_bind_int64(s, 3, limit == 0 ? -1 : (int64_t)limit)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "quarantine bind");
		goto out;
	}
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (l->n == cap) {
			rc = MASH_ERR_NOMEM;
			cap = cap == 0 ? 8 : cap * 2;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		r = &l->v[l->n];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		topic = sqlite3_column_blob(s, 1);
		(void)sanitize_utf8(topic, (size_t)sqlite3_column_bytes(s, 1),
		                    r->topic, MASH_MAX_TOPIC);
		col_text(s, 2, r->agency, sizeof(r->agency));
		r->received_at = sqlite3_column_int64(s, 3);
		r->err = sqlite3_column_int(s, 4);
		col_text(s, 5, r->errname, sizeof(r->errname));
		col_text(s, 6, r->reason, sizeof(r->reason));
		rc = col_blob_dup(s, 7, &r->bytes, &r->len);
		if (rc != MASH_OK)
			goto out;
		l->n++;
		r->orig_len = (size_t)sqlite3_column_int64(s, 8);
		r->truncated = sqlite3_column_int(s, 9);
	}
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "quarantine list");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	stmt_done(s);
	mash_store_quarantine_list_free(l);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Outbox                                                              */

/* Add a ready message (held_type NULL) or a held payload. */
static int
outbox_insert(struct mash_store *st, const char *topic, const char *held_type,
              const unsigned char *bytes, size_t len, int64_t *id_out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (id_out != NULL)
		*id_out = 0;
	if (st == NULL || (bytes == NULL && len > 0))
		goto out;
	rc = check_id(topic, MASH_MAX_TOPIC);
	if (rc == MASH_OK && held_type != NULL)
		rc = check_id(held_type, MASH_STORE_MAX_HELD_TYPE);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_TOO_BIG;
	if (len > MASH_STORE_MAX_OUTBOX_BYTES)
		goto out;
	rc = stmt_get(st, held_type != NULL ? S_OUTBOX_HOLD : S_OUTBOX_ADD, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, topic, -1, SQLITE_STATIC) ||
	    bind_blob(s, 2, bytes, len) ||
	    sqlite3_bind_int64(s, 3, mash_clock_now(st->clock)) ||
	    (held_type != NULL &&
	     sqlite3_bind_text(s, 4, held_type, -1, SQLITE_STATIC))) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "outbox bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "outbox add");
		goto out;
	}
	if (id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(st->db);
	rc = MASH_OK;
out:
	stmt_done(s);
	return rc;
}

int
mash_store_outbox_add(struct mash_store *st, const char *topic,
                      const unsigned char *bytes, size_t len, int64_t *id_out)
{
	return outbox_insert(st, topic, NULL, bytes, len, id_out);
}

int
mash_store_outbox_hold(struct mash_store *st, const char *topic,
                       const char *payload_type, const unsigned char *bytes,
                       size_t len, int64_t *id_out)
{
	if (payload_type == NULL)
		return MASH_ERR_INVAL;
	return outbox_insert(st, topic, payload_type, bytes, len, id_out);
}

void
mash_store_outbox_list_free(struct mash_store_outbox_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		mash_free_secret(l->v[i].bytes, l->v[i].len);
	mash_free(l->v);
	mash_free(l);
}

static int
outbox_list(struct mash_store *st, int which, int64_t after_id, size_t limit,
            struct mash_store_outbox_list **out)
{
	struct mash_store_outbox_list *l = NULL;
	struct mash_store_outbox_row *nv, *r;
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || limit > INT64_MAX)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = stmt_get(st, which, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int64(s, 1, after_id) ||
	    sqlite3_bind_int64(s, 2, limit == 0 ? -1 : (int64_t)limit)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "outbox bind");
		goto out;
	}
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (l->n == cap) {
			rc = MASH_ERR_NOMEM;
			cap = cap == 0 ? 8 : cap * 2;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		r = &l->v[l->n];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		col_text(s, 1, r->topic, sizeof(r->topic));
		r->created_at = sqlite3_column_int64(s, 3);
		col_text(s, 4, r->held_type, sizeof(r->held_type));
		rc = col_blob_dup(s, 2, &r->bytes, &r->len);
		if (rc != MASH_OK)
			goto out;
		l->n++;
	}
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "outbox pending");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	stmt_done(s);
	mash_store_outbox_list_free(l);
	return rc;
}

int
mash_store_outbox_pending(struct mash_store *st, int64_t after_id, size_t limit,
                          struct mash_store_outbox_list **out)
{
	return outbox_list(st, S_OUTBOX_PENDING, after_id, limit, out);
}

int
mash_store_outbox_held(struct mash_store *st, int64_t after_id, size_t limit,
                       struct mash_store_outbox_list **out)
{
	return outbox_list(st, S_OUTBOX_HELD, after_id, limit, out);
}

int
mash_store_outbox_release(struct mash_store *st, int64_t id,
                          const unsigned char *bytes, size_t len)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || bytes == NULL || len == 0)
		goto out;
	rc = MASH_ERR_TOO_BIG;
	if (len > MASH_STORE_MAX_OUTBOX_BYTES)
		goto out;
	rc = stmt_get(st, S_OUTBOX_RELEASE, &s);
	if (rc != MASH_OK)
		goto out;
	if (bind_blob(s, 1, bytes, len) || sqlite3_bind_int64(s, 2, id)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "outbox bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "outbox release");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	stmt_done(s);
	return rc;
}

int
mash_store_outbox_done(struct mash_store *st, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL)
		goto out;
	rc = stmt_get(st, S_OUTBOX_DONE, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int64(s, 1, id)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "outbox bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sql_fail(st, src, "outbox done");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	stmt_done(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Meta                                                                */

int
mash_store_meta_set(struct mash_store *st, const char *key, const char *value)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || value == NULL)
		goto out;
	rc = check_id(key, MASH_STORE_MAX_META_KEY);
	if (rc != MASH_OK)
		goto out;
	rc = mash_str_check(value, MASH_STORE_MAX_META_VALUE);
	if (rc != MASH_OK)
		goto out;
	rc = stmt_get(st, S_META_SET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "meta bind");
		goto out;
	}
	src = sqlite3_step(s);
	rc = src == SQLITE_DONE ? MASH_OK : sql_fail(st, src, "meta set");
out:
	stmt_done(s);
	return rc;
}

int
mash_store_meta_get(struct mash_store *st, const char *key, char **out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || key == NULL)
		goto out;
	rc = stmt_get(st, S_META_GET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC)) {
		rc = sql_fail(st, sqlite3_errcode(st->db), "meta bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sql_fail(st, src, "meta get");
		goto out;
	}
	rc = col_text_dup(s, 0, out);
	if (rc == MASH_OK && *out == NULL)
		rc = MASH_ERR_STORE;
out:
	stmt_done(s);
	return rc;
}
