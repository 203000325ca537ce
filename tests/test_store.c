/* Unit tests for store/: open and schema, transactions and durability
 * across close, events and deduplication, case linkage and possible
 * matches, quarantine, meta, allocation-failure injection. Each test runs
 * on a fresh SQLite file in its own temporary directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"
#include "store/store_test.h"

#define NHS_JORDAN "9434765919"
#define NHS_OTHER  "4010232137"
#define NHS_THIRD  "4857773457"

static char g_dir[256];
static char g_path[300];
static struct mash_store *g_st;
static int64_t g_now = 1790000000000;
static struct mash_clock g_clock;

static void
remove_db_files(void)
{
	char p[320];

	(void)unlink(g_path);
	(void)snprintf(p, sizeof(p), "%s-wal", g_path);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s-shm", g_path);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s-journal", g_path);
	(void)unlink(p);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	mash_log_set_level(MASH_LOG_ERROR);
	(void)snprintf(g_dir, sizeof(g_dir), "%s/mash-store-XXXXXX",
	               tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(g_dir));
	(void)snprintf(g_path, sizeof(g_path), "%s/mash.db", g_dir);
	mash_clock_manual(&g_clock, &g_now);
	g_st = NULL;
	ck_assert_int_eq(mash_store_open(g_path, &g_st), MASH_OK);
	mash_store_set_clock(g_st, &g_clock);
}

static void
teardown(void)
{
	mash_mem_fail_after(-1);
	mash_store_close(g_st);
	g_st = NULL;
	remove_db_files();
	(void)rmdir(g_dir);
}

static void
reopen(void)
{
	mash_store_close(g_st);
	g_st = NULL;
	ck_assert_int_eq(mash_store_open(g_path, &g_st), MASH_OK);
	mash_store_set_clock(g_st, &g_clock);
}

/* A random source that repeats each value once. */
static int
stutter_random(void *ctx, unsigned char *buf, size_t n)
{
	uint64_t *c = ctx;
	uint64_t v = (*c)++ / 2;
	size_t i;

	for (i = 0; i < n; i++)
		buf[n - 1 - i] = (unsigned char)(v >> (8 * i));
	return MASH_OK;
}

static struct mash_store_subject
jordan(void)
{
	struct mash_store_subject s = {
	    .nhs_number = NHS_JORDAN,
	    .given_name = "Jordan",
	    .family_name = "Reed",
	    .date_of_birth = "2011-05-14",
	    .postcode = "NE61 1AA",
	    .sex = "M",
	};
	return s;
}

static struct mash_store_subject
jordan_no_nhs(void)
{
	struct mash_store_subject s = jordan();

	s.nhs_number = NULL;
	return s;
}

static void
link_ok(const struct mash_store_subject *s, char *case_id, int *is_new)
{
	ck_assert_int_eq(mash_store_case_link(g_st, s, case_id, is_new),
	                 MASH_OK);
}

static void
fill_event(struct mash_store_event *ev, const char *case_id, const char *agency,
           const char *event_id, int64_t occurred)
{
	static const unsigned char env[] = {0x08, 0x01, 0x00, 0x12, 0x00};
	static const unsigned char pay[] = {0x0a, 0x00, 0xff, 0x00, 0x7f};

	memset(ev, 0, sizeof(*ev));
	ev->case_id = case_id;
	ev->agency = agency;
	ev->event_id = event_id;
	ev->category = 6;
	ev->severity = 2;
	ev->consent = 1;
	ev->occurred_at = occurred;
	ev->recorded_at = occurred + 1000;
	ev->received_at = occurred + 2000;
	ev->envelope = env;
	ev->envelope_len = sizeof(env);
	ev->payload = pay;
	ev->payload_len = sizeof(pay);
}

/* A case for Jordan and one event in it. */
static void
insert_jordan_event(const char *agency, const char *event_id, int64_t occurred,
                    char case_id[MASH_STORE_CASE_ID_SIZE])
{
	struct mash_store_subject s = jordan();
	struct mash_store_event ev;

	link_ok(&s, case_id, NULL);
	fill_event(&ev, case_id, agency, event_id, occurred);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
}

static int64_t
count_rows(const char *table)
{
	char sql[128];
	sqlite3_stmt *s = NULL;
	int64_t n;

	(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(mash_store_sqlite(g_st), sql, -1, &s, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static int64_t
pragma(const char *sql)
{
	sqlite3_stmt *s = NULL;
	int64_t n;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(mash_store_sqlite(g_st), sql, -1, &s, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* ------------------------------------------------------------------ */
/* Open, schema, transactions                                          */

START_TEST(open_sets_schema_version_wal_fk_and_full_sync)
{
	sqlite3_stmt *s = NULL;

	ck_assert_int_eq(pragma("PRAGMA user_version"),
	                 MASH_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(pragma("PRAGMA foreign_keys"), 1);
	ck_assert_int_eq(pragma("PRAGMA synchronous"), 2); /* FULL */
	ck_assert_int_eq(sqlite3_prepare_v2(mash_store_sqlite(g_st),
	                                    "PRAGMA journal_mode", -1, &s,
	                                    NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
}
END_TEST

/* Statement journals and sorts hold page images of records: never a
 * temp file on disk (store.md). */
START_TEST(open_keeps_temporary_data_in_memory_and_deletes_securely)
{
	ck_assert_int_eq(pragma("PRAGMA temp_store"), 2); /* MEMORY */
	ck_assert_int_eq(pragma("PRAGMA secure_delete"), 1);
}
END_TEST

/* The page cache is a size in KiB whatever the page size, and a size
 * out of bounds changes nothing (issue 22). */
START_TEST(page_cache_is_the_size_given_and_bounded)
{
	unsigned mib = 0;

	ck_assert_int_eq(mash_store_set_cache_mib(g_st, 48), MASH_OK);
	ck_assert_int_eq(pragma("PRAGMA cache_size"), -48 * 1024);
	ck_assert_int_eq(mash_store_cache_mib(g_st, &mib), MASH_OK);
	ck_assert_uint_eq(mib, 48);
	ck_assert_int_eq(mash_store_set_cache_mib(g_st, 0), MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mash_store_set_cache_mib(g_st, MASH_STORE_CACHE_MIB_MAX + 1),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_set_cache_mib(NULL, 8), MASH_ERR_INVAL);
	ck_assert_int_eq(pragma("PRAGMA cache_size"), -48 * 1024);
	/* SQLite's own form, a number of pages, is read back in MiB. */
	ck_assert_int_eq(mash_store_set_cache_mib(g_st, 1), MASH_OK);
	ck_assert_int_eq(pragma("PRAGMA page_size"), 4096);
	ck_assert_int_eq(sqlite3_exec(mash_store_sqlite(g_st),
	                              "PRAGMA cache_size=2048", NULL, NULL,
	                              NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(mash_store_cache_mib(g_st, &mib), MASH_OK);
	ck_assert_uint_eq(mib, 8);
}
END_TEST

START_TEST(open_rejects_null_and_empty_path)
{
	struct mash_store *st = (struct mash_store *)1;

	ck_assert_int_eq(mash_store_open(NULL, &st), MASH_ERR_INVAL);
	ck_assert_ptr_null(st);
	ck_assert_int_eq(mash_store_open("", &st), MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_open(g_path, NULL), MASH_ERR_INVAL);
}
END_TEST

START_TEST(open_fails_in_missing_directory)
{
	struct mash_store *st = NULL;
	char p[400];

	(void)snprintf(p, sizeof(p), "%s/no/such/dir/x.db", g_dir);
	ck_assert_int_eq(mash_store_open(p, &st), MASH_ERR_IO);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(open_refuses_schema_newer_than_build)
{
	struct mash_store *st = NULL;

	ck_assert_int_eq(sqlite3_exec(mash_store_sqlite(g_st),
	                              "PRAGMA user_version = 99", NULL, NULL,
	                              NULL),
	                 SQLITE_OK);
	mash_store_close(g_st);
	g_st = NULL;
	ck_assert_int_eq(mash_store_open(g_path, &st), MASH_ERR_STORE);
	ck_assert_ptr_null(st);
}
END_TEST

START_TEST(database_file_is_readable_by_owner_only)
{
	struct stat sb;

	ck_assert_int_eq(stat(g_path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 077, 0);
}
END_TEST

START_TEST(reopen_keeps_schema_without_remigrating)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];

	insert_jordan_event("police", "e1", 1000, case_id);
	reopen();
	ck_assert_int_eq(pragma("PRAGMA user_version"),
	                 MASH_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(count_rows("events"), 1);
}
END_TEST

START_TEST(transaction_state_errors)
{
	ck_assert_int_eq(mash_store_in_tx(g_st), 0);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_rollback(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_in_tx(g_st), 1);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_in_tx(g_st), 0);
}
END_TEST

/* A lazy transaction (outbox acknowledgements) commits without the
 * fsync, and whatever ends it, the next transaction is durable again. */
START_TEST(lazy_transaction_commits_and_the_next_one_is_durable_again)
{
	struct mash_store *ro = NULL;
	char *v = NULL;

	ck_assert_int_eq(mash_store_begin_lazy(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_in_tx(g_st), 1);
	ck_assert_int_eq(pragma("PRAGMA synchronous"), 1); /* NORMAL */
	ck_assert_int_eq(mash_store_begin_lazy(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_meta_set(g_st, "k", "v"), MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(pragma("PRAGMA synchronous"), 2); /* FULL */
	ck_assert_int_eq(mash_store_meta_get(g_st, "k", &v), MASH_OK);
	ck_assert_str_eq(v, "v");
	mash_free(v);
	/* Rolled back: nothing kept, durable again. */
	ck_assert_int_eq(mash_store_begin_lazy(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_meta_set(g_st, "k", "w"), MASH_OK);
	ck_assert_int_eq(mash_store_rollback(g_st), MASH_OK);
	ck_assert_int_eq(pragma("PRAGMA synchronous"), 2);
	ck_assert_int_eq(mash_store_meta_get(g_st, "k", &v), MASH_OK);
	ck_assert_str_eq(v, "v");
	mash_free(v);
	/* Inside a transaction, or on an auditor's copy: refused. */
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_begin_lazy(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(pragma("PRAGMA synchronous"), 2);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_open_ro(g_path, &ro), MASH_OK);
	ck_assert_int_ne(mash_store_begin_lazy(ro), MASH_OK);
	ck_assert_int_eq(mash_store_in_tx(ro), 0);
	mash_store_close(ro);
}
END_TEST

/* mashd's commits append to the WAL; the store's own thread copies it
 * into the database file, which grows with no checkpoint from the writer
 * (its own waits for 4,096 frames); and the writer's rare one, after the
 * thread's, rewinds the WAL, which stays bounded. */
START_TEST(checkpoints_run_on_their_own_thread)
{
	struct mash_store *ro = NULL;
	struct stat sb;
	char wal[340];
	off_t before;
	int i, waited;

	ck_assert_int_eq(mash_store_checkpoint_in_background(g_st, 0),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_checkpoint_in_background(g_st, 20),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_checkpoint_in_background(g_st, 20),
	                 MASH_ERR_STATE);
	ck_assert_int_eq(pragma("PRAGMA wal_autocheckpoint"), 4096);
	ck_assert_int_eq(stat(g_path, &sb), 0);
	before = sb.st_size;
	ck_assert_int_eq(sqlite3_exec(mash_store_sqlite(g_st),
	                              "CREATE TABLE bulk(b BLOB)", NULL, NULL,
	                              NULL),
	                 SQLITE_OK);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(
		    sqlite3_exec(mash_store_sqlite(g_st),
		                 "INSERT INTO bulk VALUES (randomblob(8000))",
		                 NULL, NULL, NULL),
		    SQLITE_OK);
	for (waited = 0; waited < 10000; waited += 10) {
		ck_assert_int_eq(stat(g_path, &sb), 0);
		if (sb.st_size > before + 50 * 8000)
			break;
		usleep(10000);
	}
	ck_assert_int_gt(sb.st_size, before + 50 * 8000);
	/* A steady writer (mashd commits, then waits a few ms for its
	 * receipts' PUBACKs) gets its WAL copied and rewound: 48 MiB
	 * written leave a WAL far smaller. */
	for (i = 0; i < 48; i++) {
		ck_assert_int_eq(
		    sqlite3_exec(
		        mash_store_sqlite(g_st),
		        "INSERT INTO bulk VALUES (randomblob(1048576))", NULL,
		        NULL, NULL),
		    SQLITE_OK);
		usleep(5000);
	}
	(void)snprintf(wal, sizeof(wal), "%s-wal", g_path);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_lt(sb.st_size, 40 * 1048576);
	/* An auditor's read-only copy never writes: no checkpoints. */
	ck_assert_int_eq(mash_store_open_ro(g_path, &ro), MASH_OK);
	ck_assert_int_eq(mash_store_checkpoint_in_background(ro, 20),
	                 MASH_ERR_STATE);
	mash_store_close(ro);
	/* teardown closes g_st: the thread stops and is joined. */
}
END_TEST

START_TEST(rollback_leaves_nothing)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_receipt r;
	struct mash_store_quarantine q = {.topic = "mash/v1/events/police",
	                                  .err = MASH_ERR_DECODE};

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, case_id);
	ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_meta_set(g_st, "k", "v"), MASH_OK);
	ck_assert_int_eq(mash_store_rollback(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_event_lookup(g_st, "police", "e1", &r),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(count_rows("events"), 0);
	ck_assert_int_eq(count_rows("cases"), 0);
	ck_assert_int_eq(count_rows("quarantine"), 0);
	ck_assert_int_eq(count_rows("meta"), 0);
}
END_TEST

START_TEST(committed_data_survives_close_and_reopen)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_receipt r;
	struct mash_store_event_list *l = NULL;
	char *v = NULL;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, case_id);
	ck_assert_int_eq(
	    mash_store_event_set_receipt(g_st, "police", "e1",
	                                 MASH_STORE_RECEIPT_ACCEPTED, 42),
	    MASH_OK);
	ck_assert_int_eq(mash_store_meta_set(g_st, "audit.log_id", "L1"),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	reopen();
	ck_assert_int_eq(mash_store_event_lookup(g_st, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_str_eq(r.case_id, case_id);
	ck_assert_uint_eq(r.audit_seq, 42);
	ck_assert_int_eq(mash_store_case_events(g_st, case_id, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	mash_store_event_list_free(l);
	ck_assert_int_eq(mash_store_meta_get(g_st, "audit.log_id", &v),
	                 MASH_OK);
	ck_assert_str_eq(v, "L1");
	mash_free(v);
}
END_TEST

START_TEST(close_with_open_transaction_rolls_back)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, case_id);
	reopen();
	ck_assert_int_eq(count_rows("events"), 0);
	ck_assert_int_eq(count_rows("cases"), 0);
}
END_TEST

START_TEST(second_connection_sees_only_committed_data)
{
	struct mash_store *other = NULL;
	struct mash_store_receipt r;
	char case_id[MASH_STORE_CASE_ID_SIZE];

	ck_assert_int_eq(mash_store_open(g_path, &other), MASH_OK);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, case_id);
	ck_assert_int_eq(mash_store_event_lookup(other, "police", "e1", &r),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_event_lookup(other, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_str_eq(r.case_id, case_id);
	mash_store_close(other);
}
END_TEST

START_TEST(sqlite_url_opens_the_same_store_as_its_path)
{
	struct mash_store *other = NULL;
	struct mash_store_receipt r;
	char case_id[MASH_STORE_CASE_ID_SIZE], url[320];

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, case_id);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	(void)snprintf(url, sizeof(url), "sqlite:%s", g_path);
	ck_assert_int_eq(mash_store_open(url, &other), MASH_OK);
	ck_assert_int_eq(mash_store_event_lookup(other, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_str_eq(r.case_id, case_id);
	ck_assert_ptr_nonnull(mash_store_sqlite(other));
	mash_store_close(other);
}
END_TEST

START_TEST(url_of_a_back_end_not_built_is_refused_and_creates_nothing)
{
	struct mash_store *other = (struct mash_store *)&other;
	char cwd_file[64];

	ck_assert_int_eq(
	    mash_store_open("postgresql://mash@localhost/mash", &other),
	    MASH_ERR_INVAL);
	ck_assert_ptr_null(other);
	ck_assert_int_eq(mash_store_open_ro("postgresql://x/y", &other),
	                 MASH_ERR_INVAL);
	(void)snprintf(cwd_file, sizeof(cwd_file), "postgresql:");
	ck_assert_int_ne(access(cwd_file, F_OK), 0);
}
END_TEST

START_TEST(read_only_open_reads_but_never_writes)
{
	struct mash_store *ro = NULL;
	struct mash_store_receipt r;
	char case_id[MASH_STORE_CASE_ID_SIZE], missing[320];
	int began = 0;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, case_id);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_open_ro(g_path, &ro), MASH_OK);
	ck_assert_int_eq(mash_store_snapshot_begin(ro, &began), MASH_OK);
	ck_assert_int_eq(began, 1);
	ck_assert_int_eq(mash_store_event_lookup(ro, "police", "e1", &r),
	                 MASH_OK);
	mash_store_snapshot_end(ro, began);
	ck_assert_int_ne(mash_store_begin(ro), MASH_OK);
	ck_assert_int_ne(mash_store_meta_set(ro, "k", "v"), MASH_OK);
	mash_store_close(ro);
	/* An auditor's path that does not exist is not created. */
	(void)snprintf(missing, sizeof(missing), "%s/none.db", g_dir);
	ck_assert_int_eq(mash_store_open_ro(missing, &ro), MASH_ERR_IO);
	ck_assert_int_ne(access(missing, F_OK), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Events                                                              */

START_TEST(insert_then_lookup_returns_case_and_receipt)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_subject s = jordan();
	struct mash_store_event ev;
	struct mash_store_receipt r;
	int64_t seq = 0;

	link_ok(&s, case_id, NULL);
	fill_event(&ev, case_id, "police", "e1", 5000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, &seq), MASH_OK);
	ck_assert_int_gt(seq, 0);
	ck_assert_int_eq(mash_store_event_lookup(g_st, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_int_eq(r.seq, seq);
	ck_assert_str_eq(r.case_id, case_id);
	ck_assert_int_eq(r.status, MASH_STORE_RECEIPT_ACCEPTED);
	ck_assert_uint_eq(r.audit_seq, 0);
	ck_assert_int_eq(r.received_at, 7000);
}
END_TEST

START_TEST(same_event_twice_is_duplicate_with_original_case)
{
	char case1[MASH_STORE_CASE_ID_SIZE], case2[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_subject other = {.nhs_number = NHS_OTHER};
	struct mash_store_event ev;
	struct mash_store_receipt r;
	int64_t seq = 99;

	insert_jordan_event("police", "e1", 1000, case1);
	/* A re-send, even if it now names another child, is the same
	 * event: the first case stands. */
	link_ok(&other, case2, NULL);
	fill_event(&ev, case2, "police", "e1", 1000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, &seq),
	                 MASH_ERR_DUPLICATE);
	ck_assert_int_eq(seq, 0);
	ck_assert_int_eq(mash_store_event_lookup(g_st, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_str_eq(r.case_id, case1);
	ck_assert_int_eq(count_rows("events"), 1);
}
END_TEST

START_TEST(same_event_id_from_another_agency_is_not_duplicate)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_event ev;

	insert_jordan_event("police", "e1", 1000, case_id);
	fill_event(&ev, case_id, "health", "e1", 1000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	ck_assert_int_eq(count_rows("events"), 2);
}
END_TEST

START_TEST(insert_into_unknown_case_is_not_found)
{
	struct mash_store_event ev;

	fill_event(&ev, "C-000000000000", "police", "e1", 1000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(count_rows("events"), 0);
}
END_TEST

/* Boundary cases: exactly at each limit is accepted, one past it is not. */
enum bfield {
	B_AGENCY,
	B_EVENT_ID,
	B_ENVELOPE,
	B_PAYLOAD,
	B_SEVERITY,
	B_EMPTY_ID,
	B_NULL_AGENCY,
	B_BAD_UTF8,
	B_NULL_BYTES
};
static const struct {
	enum bfield field;
	size_t n;
	int rc;
} insert_bounds[] = {
    {B_AGENCY, MASH_MAX_AGENCY, MASH_OK},
    {B_AGENCY, MASH_MAX_AGENCY + 1, MASH_ERR_FIELD_TOO_LONG},
    {B_EVENT_ID, MASH_MAX_ID, MASH_OK},
    {B_EVENT_ID, MASH_MAX_ID + 1, MASH_ERR_FIELD_TOO_LONG},
    {B_ENVELOPE, MASH_MAX_ENVELOPE, MASH_OK},
    {B_ENVELOPE, MASH_MAX_ENVELOPE + 1, MASH_ERR_TOO_BIG},
    {B_ENVELOPE, 0, MASH_OK},
    {B_PAYLOAD, MASH_MAX_PAYLOAD, MASH_OK},
    {B_PAYLOAD, MASH_MAX_PAYLOAD + 1, MASH_ERR_TOO_BIG},
    {B_SEVERITY, 4, MASH_OK},
    {B_SEVERITY, 5, MASH_ERR_INVAL},
    {B_EMPTY_ID, 0, MASH_ERR_INVAL},
    {B_NULL_AGENCY, 0, MASH_ERR_INVAL},
    {B_BAD_UTF8, 0, MASH_ERR_BAD_UTF8},
    {B_NULL_BYTES, 1, MASH_ERR_INVAL},
};

START_TEST(insert_enforces_limits_exactly)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_subject s = jordan();
	struct mash_store_event ev;
	unsigned char *big = NULL;
	char *str = NULL;
	size_t n = insert_bounds[_i].n;
	int64_t seq = 0;

	link_ok(&s, case_id, NULL);
	fill_event(&ev, case_id, "police", "e1", 1000);
	switch (insert_bounds[_i].field) {
	case B_AGENCY:
	case B_EVENT_ID:
		str = malloc(n + 1);
		ck_assert_ptr_nonnull(str);
		memset(str, 'a', n);
		str[n] = '\0';
		if (insert_bounds[_i].field == B_AGENCY)
			ev.agency = str;
		else
			ev.event_id = str;
		break;
	case B_ENVELOPE:
	case B_PAYLOAD:
		big = calloc(1, n + 1);
		ck_assert_ptr_nonnull(big);
		if (insert_bounds[_i].field == B_ENVELOPE) {
			ev.envelope = big;
			ev.envelope_len = n;
		} else {
			ev.payload = big;
			ev.payload_len = n;
		}
		break;
	case B_SEVERITY:
		ev.severity = (unsigned)n;
		break;
	case B_EMPTY_ID:
		ev.event_id = "";
		break;
	case B_NULL_AGENCY:
		ev.agency = NULL;
		break;
	case B_BAD_UTF8:
		ev.event_id = "e\xff";
		break;
	case B_NULL_BYTES:
		ev.payload = NULL;
		ev.payload_len = n;
		break;
	}
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, &seq),
	                 insert_bounds[_i].rc);
	ck_assert_int_eq(count_rows("events"),
	                 insert_bounds[_i].rc == MASH_OK ? 1 : 0);
	if (insert_bounds[_i].rc != MASH_OK)
		ck_assert_int_eq(seq, 0);
	free(big);
	free(str);
}
END_TEST

START_TEST(set_receipt_records_status_and_audit_seq)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_receipt r;

	insert_jordan_event("police", "e1", 1000, case_id);
	ck_assert_int_eq(
	    mash_store_event_set_receipt(g_st, "police", "e1",
	                                 MASH_STORE_RECEIPT_ACCEPTED, 7),
	    MASH_OK);
	ck_assert_int_eq(mash_store_event_lookup(g_st, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_uint_eq(r.audit_seq, 7);
	ck_assert_int_eq(
	    mash_store_event_set_receipt(g_st, "police", "nope",
	                                 MASH_STORE_RECEIPT_ACCEPTED, 7),
	    MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(
	    mash_store_event_set_receipt(g_st, "police", "e1", 9, 7),
	    MASH_ERR_INVAL);
}
END_TEST

START_TEST(case_events_are_in_occurred_order_with_exact_bytes)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_event ev;
	struct mash_store_event_list *l = NULL;
	static const unsigned char pay[] = {0x00, 0x01, 0x00, 0xfe, 0x00};

	insert_jordan_event("police", "late", 3000, case_id);
	fill_event(&ev, case_id, "health", "early", 1000);
	ev.payload = pay;
	ev.payload_len = sizeof(pay);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	fill_event(&ev, case_id, "education", "middle", 2000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_case_events(g_st, case_id, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 3);
	ck_assert_str_eq(l->v[0].event_id, "early");
	ck_assert_str_eq(l->v[1].event_id, "middle");
	ck_assert_str_eq(l->v[2].event_id, "late");
	ck_assert_str_eq(l->v[0].agency, "health");
	ck_assert_str_eq(l->v[0].case_id, case_id);
	ck_assert_uint_eq(l->v[0].payload_len, sizeof(pay));
	ck_assert_mem_eq(l->v[0].payload, pay, sizeof(pay));
	ck_assert_uint_eq(l->v[0].envelope_len, 5);
	ck_assert_int_eq(l->v[0].occurred_at, 1000);
	ck_assert_int_eq(l->v[0].recorded_at, 2000);
	ck_assert_int_eq(l->v[0].category, 6);
	ck_assert_uint_eq(l->v[0].severity, 2);
	ck_assert_int_eq(l->v[0].consent, 1);
	mash_store_event_list_free(l);
	ck_assert_int_eq(mash_store_case_events(g_st, "C-ffffffffffff", &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 0);
	mash_store_event_list_free(l);
}
END_TEST

START_TEST(event_get_returns_row_or_not_found)
{
	char case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_event_row *r = NULL;

	insert_jordan_event("police", "e1", 1000, case_id);
	ck_assert_int_eq(mash_store_event_get(g_st, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_str_eq(r->event_id, "e1");
	ck_assert_uint_eq(r->payload_len, 5);
	ck_assert_uint_eq(r->payload[2], 0xff);
	mash_store_event_row_free(r);
	r = (struct mash_store_event_row *)1;
	ck_assert_int_eq(mash_store_event_get(g_st, "police", "e2", &r),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_ptr_null(r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Linkage                                                             */

START_TEST(link_exact_nhs_number_reuses_case)
{
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_subject a = jordan();
	struct mash_store_subject b = {.nhs_number = "943 476 5919",
	                               .family_name = "Someone-Else",
	                               .date_of_birth = "2001-01-01",
	                               .postcode = "ZZ1 1ZZ"};
	int is_new = -1;

	link_ok(&a, c1, &is_new);
	ck_assert_int_eq(is_new, 1);
	link_ok(&b, c2, &is_new);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c1, c2);
	ck_assert_int_eq(count_rows("cases"), 1);
	ck_assert_int_eq(count_rows("possible_matches"), 0);
}
END_TEST

START_TEST(case_id_has_documented_format)
{
	char c[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_subject a = jordan();
	size_t i;

	link_ok(&a, c, NULL);
	ck_assert_uint_eq(strlen(c), MASH_STORE_CASE_ID_LEN);
	ck_assert(c[0] == 'C' && c[1] == '-');
	for (i = 2; i < MASH_STORE_CASE_ID_LEN; i++)
		ck_assert(strchr("0123456789abcdef", c[i]) != NULL);
}
END_TEST

START_TEST(injected_random_gives_deterministic_ids_and_retries_collisions)
{
	char c[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_subject a = {.nhs_number = NHS_JORDAN};
	struct mash_store_subject b = {.nhs_number = NHS_OTHER};
	uint64_t ctr = 2;

	mash_store_set_random(g_st, stutter_random, &ctr);
	link_ok(&a, c, NULL);
	ck_assert_str_eq(c, "C-000000000001");
	/* The next draw repeats 1: the store must draw again. */
	link_ok(&b, c, NULL);
	ck_assert_str_eq(c, "C-000000000002");
}
END_TEST

static const struct {
	const char *nhs;
	int rc;
} nhs_cases[] = {
    {NHS_JORDAN, MASH_OK},
    {"943 476 5919", MASH_OK},
    {"9434765918", MASH_ERR_BAD_NHS},  /* wrong check digit */
    {"943476591", MASH_ERR_BAD_NHS},   /* 9 digits */
    {"94347659190", MASH_ERR_BAD_NHS}, /* 11 digits */
    {"1000000010", MASH_ERR_BAD_NHS},  /* check digit would be 10 */
    {"94347659l9", MASH_ERR_BAD_NHS},  /* letter */
    {"0000000000", MASH_OK},           /* sum 0: check digit 0 */
    {"", MASH_ERR_NO_IDENTITY},        /* absent and no demographics */
};

START_TEST(link_checks_nhs_number_modulus_11)
{
	struct mash_store_subject s = {.nhs_number = nhs_cases[_i].nhs};
	char c[MASH_STORE_CASE_ID_SIZE];

	ck_assert_int_eq(mash_store_case_link(g_st, &s, c, NULL),
	                 nhs_cases[_i].rc);
	if (nhs_cases[_i].rc != MASH_OK)
		ck_assert_str_eq(c, "");
}
END_TEST

static const struct {
	const char *dob;
	int rc;
} dob_cases[] = {
    {"2011-05-14", MASH_OK},           {"2012-02-29", MASH_OK},
    {"2000-02-29", MASH_OK},           {"1900-02-29", MASH_ERR_BAD_DATE},
    {"2011-02-29", MASH_ERR_BAD_DATE}, {"2011-04-31", MASH_ERR_BAD_DATE},
    {"2011-13-01", MASH_ERR_BAD_DATE}, {"2011-00-10", MASH_ERR_BAD_DATE},
    {"2011-5-14", MASH_ERR_BAD_DATE},  {"2011/05/14", MASH_ERR_BAD_DATE},
    {"14-05-2011", MASH_ERR_BAD_DATE},
};

START_TEST(link_checks_date_of_birth)
{
	struct mash_store_subject s = jordan_no_nhs();
	char c[MASH_STORE_CASE_ID_SIZE];

	s.date_of_birth = dob_cases[_i].dob;
	ck_assert_int_eq(mash_store_case_link(g_st, &s, c, NULL),
	                 dob_cases[_i].rc);
}
END_TEST

START_TEST(link_without_identity_is_refused)
{
	struct mash_store_subject s = jordan_no_nhs();
	char c[MASH_STORE_CASE_ID_SIZE];

	s.postcode = "";
	ck_assert_int_eq(mash_store_case_link(g_st, &s, c, NULL),
	                 MASH_ERR_NO_IDENTITY);
	s = jordan_no_nhs();
	s.family_name = " -' "; /* normalises to nothing */
	ck_assert_int_eq(mash_store_case_link(g_st, &s, c, NULL),
	                 MASH_ERR_NO_IDENTITY);
	ck_assert_int_eq(count_rows("cases"), 0);
}
END_TEST

START_TEST(link_rejects_overlong_and_bad_utf8_strings)
{
	struct mash_store_subject s = jordan();
	char c[MASH_STORE_CASE_ID_SIZE];
	char longname[MASH_MAX_SHORT + 2];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	s.given_name = longname;
	ck_assert_int_eq(mash_store_case_link(g_st, &s, c, NULL),
	                 MASH_ERR_FIELD_TOO_LONG);
	longname[MASH_MAX_SHORT] = '\0';
	ck_assert_int_eq(mash_store_case_link(g_st, &s, c, NULL), MASH_OK);
	s = jordan();
	s.family_name = "R\xc3";
	ck_assert_int_eq(mash_store_case_link(g_st, &s, c, NULL),
	                 MASH_ERR_BAD_UTF8);
}
END_TEST

/* Spellings that must normalise to the same family name and postcode. */
static const struct {
	const char *fam1, *pc1, *fam2, *pc2;
} norm_cases[] = {
    {"Reed", "NE61 1AA", "REED", "ne611aa"},
    {"O'Neil-Smith", "NE61 1AA", "oneil smith", " NE61  1AA "},
    {"St. John", "ne61 1aa", "stjohn", "NE611AA"},
    {"Ó Briain", "NE61 1AA", "Ó-BRIAIN", "NE61-1AA"},
};

START_TEST(link_demographics_match_after_normalisation)
{
	struct mash_store_subject a = jordan_no_nhs(), b = jordan_no_nhs();
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	int is_new = -1;

	a.family_name = norm_cases[_i].fam1;
	a.postcode = norm_cases[_i].pc1;
	b.family_name = norm_cases[_i].fam2;
	b.postcode = norm_cases[_i].pc2;
	b.given_name = "J";
	link_ok(&a, c1, &is_new);
	ck_assert_int_eq(is_new, 1);
	link_ok(&b, c2, &is_new);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c1, c2);
	ck_assert_int_eq(count_rows("possible_matches"), 0);
}
END_TEST

/* Partial matches: new case, a possible-match row, never merged. */
static const struct {
	const char *nhs, *fam, *dob, *pc;
	const char *reason; /* NULL: no match row, and distinct case */
} partial_cases[] = {
    {NULL, "Reed", "2011-05-14", "NE61 2BB", "family-dob"},
    {NULL, "Reid", "2011-05-14", "NE61 1AA", "dob-postcode"},
    {NHS_OTHER, "Reed", "2011-05-14", "NE61 1AA", "demographics-nhs-differs"},
    {NHS_OTHER, "Reed", "2011-05-14", NULL, "family-dob"},
    {NULL, "Reed", "2011-05-15", "NE61 1AA", NULL},
    {NULL, "Smith", "2011-05-14", "NE61 2BB", NULL},
};

START_TEST(link_partial_match_creates_new_case_and_possible_match)
{
	struct mash_store_subject a = jordan();
	struct mash_store_subject b = {.nhs_number = partial_cases[_i].nhs,
	                               .family_name = partial_cases[_i].fam,
	                               .date_of_birth = partial_cases[_i].dob,
	                               .postcode = partial_cases[_i].pc};
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_match_list *l = NULL;
	int is_new = -1;

	link_ok(&a, c1, NULL);
	link_ok(&b, c2, &is_new);
	ck_assert_int_eq(is_new, 1);
	ck_assert_str_ne(c1, c2);
	ck_assert_int_eq(mash_store_possible_matches(g_st, c2, &l), MASH_OK);
	if (partial_cases[_i].reason == NULL) {
		ck_assert_uint_eq(l->n, 0);
	} else {
		ck_assert_uint_eq(l->n, 1);
		ck_assert_str_eq(l->v[0].case_a, c1);
		ck_assert_str_eq(l->v[0].case_b, c2);
		ck_assert_str_eq(l->v[0].reason, partial_cases[_i].reason);
		ck_assert_int_eq(l->v[0].status, MASH_STORE_MATCH_OPEN);
		ck_assert_int_eq(l->v[0].created_at, g_now);
	}
	mash_store_match_list_free(l);
	ck_assert_int_eq(count_rows("cases"), 2);
}
END_TEST

START_TEST(case_learns_nhs_number_from_later_event)
{
	struct mash_store_subject a = jordan_no_nhs(), b = jordan();
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	char c3[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_case *cs = NULL;
	int is_new = -1;

	link_ok(&a, c1, NULL);
	ck_assert_int_eq(mash_store_case_find_nhs(g_st, NHS_JORDAN, c3),
	                 MASH_ERR_NOT_FOUND);
	link_ok(&b, c2, &is_new);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c1, c2);
	ck_assert_int_eq(mash_store_case_find_nhs(g_st, "943 476 5919", c3),
	                 MASH_OK);
	ck_assert_str_eq(c3, c1);
	ck_assert_int_eq(mash_store_case_get(g_st, c1, &cs), MASH_OK);
	ck_assert_str_eq(cs->nhs_number, NHS_JORDAN);
	mash_store_case_free(cs);
}
END_TEST

START_TEST(subject_without_nhs_links_to_case_with_nhs_by_demographics)
{
	struct mash_store_subject a = jordan(), b = jordan_no_nhs();
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];

	link_ok(&a, c1, NULL);
	link_ok(&b, c2, NULL);
	ck_assert_str_eq(c1, c2);
}
END_TEST

START_TEST(case_get_returns_demographics_as_first_seen)
{
	struct mash_store_subject a = jordan_no_nhs(), b = jordan();
	char c[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_case *cs = (struct mash_store_case *)1;

	a.sex = NULL;
	link_ok(&a, c, NULL);
	b.given_name = "Jordy"; /* known name is kept, unknown sex learnt */
	link_ok(&b, c, NULL);
	ck_assert_int_eq(mash_store_case_get(g_st, c, &cs), MASH_OK);
	ck_assert_str_eq(cs->case_id, c);
	ck_assert_str_eq(cs->given_name, "Jordan");
	ck_assert_str_eq(cs->family_name, "Reed");
	ck_assert_str_eq(cs->date_of_birth, "2011-05-14");
	ck_assert_str_eq(cs->postcode, "NE61 1AA");
	ck_assert_str_eq(cs->sex, "M");
	ck_assert_int_eq(cs->created_at, g_now);
	mash_store_case_free(cs);
	ck_assert_int_eq(mash_store_case_get(g_st, "C-nope", &cs),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_ptr_null(cs);
}
END_TEST

START_TEST(case_agencies_are_distinct_and_sorted)
{
	char c[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_event ev;
	struct mash_store_strlist *l = NULL;

	insert_jordan_event("police", "e1", 1000, c);
	fill_event(&ev, c, "health", "e2", 2000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	fill_event(&ev, c, "police", "e3", 3000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_case_agencies(g_st, c, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_str_eq(l->v[0], "health");
	ck_assert_str_eq(l->v[1], "police");
	mash_store_strlist_free(l);
}
END_TEST

/* The level's facts in one aggregate (issue 32): highest severity and
 * distinct agencies, without reading the events. */
START_TEST(case_summary_gives_highest_severity_and_agencies)
{
	char c[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_event ev;
	unsigned sev = 9, n = 9;

	ck_assert_int_eq(mash_store_case_summary(g_st, "C-none", &sev, &n),
	                 MASH_OK);
	ck_assert_uint_eq(sev, 0);
	ck_assert_uint_eq(n, 0);
	insert_jordan_event("police", "e1", 1000, c);
	fill_event(&ev, c, "health", "e2", 2000);
	ev.severity = 4;
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	fill_event(&ev, c, "police", "e3", 3000);
	ev.severity = 1;
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_case_summary(g_st, c, &sev, &n), MASH_OK);
	ck_assert_uint_eq(sev, 4);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(mash_store_case_summary(g_st, NULL, &sev, &n),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_case_summary(g_st, c, NULL, &n),
	                 MASH_ERR_INVAL);
}
END_TEST

START_TEST(possible_match_decision_is_recorded_and_cases_stay_separate)
{
	struct mash_store_subject a = jordan_no_nhs(), b = jordan_no_nhs();
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_match_list *l = NULL;
	struct mash_store_event ev;
	struct mash_store_event_list *evs = NULL;

	b.postcode = "NE61 9ZZ";
	link_ok(&a, c1, NULL);
	link_ok(&b, c2, NULL);
	fill_event(&ev, c2, "health", "h1", 1000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_possible_matches(g_st, NULL, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(mash_store_possible_match_decide(
	                     g_st, l->v[0].id, MASH_STORE_MATCH_CONFIRMED),
	                 MASH_OK);
	ck_assert_int_eq(
	    mash_store_possible_match_decide(g_st, l->v[0].id + 100,
	                                     MASH_STORE_MATCH_CONFIRMED),
	    MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_store_possible_match_decide(
	                     g_st, l->v[0].id, MASH_STORE_MATCH_OPEN),
	                 MASH_ERR_INVAL);
	mash_store_match_list_free(l);
	ck_assert_int_eq(mash_store_possible_matches(g_st, c1, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].status, MASH_STORE_MATCH_CONFIRMED);
	mash_store_match_list_free(l);
	/* never merged: the event stays on the second case */
	ck_assert_int_eq(mash_store_case_events(g_st, c1, &evs), MASH_OK);
	ck_assert_uint_eq(evs->n, 0);
	mash_store_event_list_free(evs);
	ck_assert_int_eq(count_rows("cases"), 2);
}
END_TEST

START_TEST(relinking_same_partial_subject_links_to_its_own_case)
{
	struct mash_store_subject a = jordan_no_nhs(), b = jordan_no_nhs();
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	char c3[MASH_STORE_CASE_ID_SIZE];
	int is_new = -1;

	b.postcode = "NE61 9ZZ";
	link_ok(&a, c1, NULL);
	link_ok(&b, c2, NULL);
	link_ok(&b, c3, &is_new);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c2, c3);
	ck_assert_int_eq(count_rows("possible_matches"), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Quarantine                                                          */

START_TEST(quarantine_round_trip_keeps_binary_bytes)
{
	static const unsigned char raw[] = {0x00, 0xff, 0x00, 0x0a, 0x80, 0x00};
	struct mash_store_quarantine q = {
	    .topic = "mash/v1/events/health",
	    .received_at = 1234,
	    .err = MASH_ERR_BAD_SIGNATURE,
	    .reason = "signature does not verify (key health-2026)",
	    .bytes = raw,
	    .len = sizeof(raw),
	};
	struct mash_store_quarantine_list *l = NULL;
	int64_t id = 0;

	ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, &id), MASH_OK);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(mash_store_quarantine_list(g_st, "health", 0, 0, &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].id, id);
	ck_assert_str_eq(l->v[0].topic, "mash/v1/events/health");
	ck_assert_str_eq(l->v[0].agency, "health");
	ck_assert_int_eq(l->v[0].received_at, 1234);
	ck_assert_int_eq(l->v[0].err, MASH_ERR_BAD_SIGNATURE);
	ck_assert_str_eq(l->v[0].errname, "BAD_SIGNATURE");
	ck_assert_str_eq(l->v[0].reason, q.reason);
	ck_assert_uint_eq(l->v[0].len, sizeof(raw));
	ck_assert_mem_eq(l->v[0].bytes, raw, sizeof(raw));
	ck_assert_uint_eq(l->v[0].orig_len, sizeof(raw));
	ck_assert_int_eq(l->v[0].truncated, 0);
	mash_store_quarantine_list_free(l);
}
END_TEST

static const struct {
	size_t len;
	int truncated;
} quarantine_sizes[] = {
    {0, 0},
    {1, 0},
    {MASH_STORE_MAX_QUARANTINE_BYTES, 0},
    {MASH_STORE_MAX_QUARANTINE_BYTES + 1, 1},
    {4 * MASH_STORE_MAX_QUARANTINE_BYTES, 1},
};

START_TEST(quarantine_bounds_bytes_and_flags_truncation)
{
	size_t n = quarantine_sizes[_i].len;
	unsigned char *raw = malloc(n + 1);
	struct mash_store_quarantine q = {.topic = "mash/v1/events/police",
	                                  .err = MASH_ERR_TOO_BIG};
	struct mash_store_quarantine_list *l = NULL;
	size_t i;

	ck_assert_ptr_nonnull(raw);
	for (i = 0; i < n; i++)
		raw[i] = (unsigned char)(i * 7);
	q.bytes = raw;
	q.len = n;
	ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_quarantine_list(g_st, NULL, 0, 0, &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].truncated, quarantine_sizes[_i].truncated);
	ck_assert_uint_eq(l->v[0].orig_len, n);
	ck_assert_uint_eq(l->v[0].len, n > MASH_STORE_MAX_QUARANTINE_BYTES
	                                   ? MASH_STORE_MAX_QUARANTINE_BYTES
	                                   : n);
	if (l->v[0].len > 0)
		ck_assert_mem_eq(l->v[0].bytes, raw, l->v[0].len);
	mash_store_quarantine_list_free(l);
	free(raw);
}
END_TEST

static const struct {
	const char *topic;
	const char *agency;
} topic_agency[] = {
    {"mash/v1/events/police", "police"},
    {"mash/v1/events/social-care", "social-care"},
    {"mash/v1/events/", ""},
    {"mash/v1/events/Police", ""},
    {"mash/v1/events/a/b", ""},
    {"mash/v1/receipts/police", ""},
    {"garbage\xff", ""},
    {NULL, ""},
};

START_TEST(quarantine_derives_agency_from_topic)
{
	struct mash_store_quarantine q = {.topic = topic_agency[_i].topic,
	                                  .err = MASH_ERR_BAD_TOPIC,
	                                  .reason = "bad"};
	struct mash_store_quarantine_list *l = NULL;

	ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_quarantine_list(g_st, NULL, 0, 0, &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_str_eq(l->v[0].agency, topic_agency[_i].agency);
	mash_store_quarantine_list_free(l);
}
END_TEST

START_TEST(quarantine_keeps_invalid_utf8_topic_and_reason)
{
	struct mash_store_quarantine q = {.topic = "mash/v1/events/\xff\xfe",
	                                  .err = MASH_ERR_BAD_TOPIC,
	                                  .reason = "bad \xc3 byte"};
	struct mash_store_quarantine_list *l = NULL;

	ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_quarantine_list(g_st, NULL, 0, 0, &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_str_eq(l->v[0].topic, "mash/v1/events/??");
	ck_assert_str_eq(l->v[0].reason, "bad ? byte");
	mash_store_quarantine_list_free(l);
}
END_TEST

START_TEST(quarantine_list_filters_by_agency_and_pages)
{
	struct mash_store_quarantine q = {.err = MASH_ERR_DECODE};
	struct mash_store_quarantine_list *l = NULL;
	const char *topics[] = {
	    "mash/v1/events/police", "mash/v1/events/health",
	    "mash/v1/events/police", "mash/v1/events/police"};
	size_t i;

	for (i = 0; i < 4; i++) {
		q.topic = topics[i];
		q.received_at = (int64_t)i;
		ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, NULL),
		                 MASH_OK);
	}
	ck_assert_int_eq(mash_store_quarantine_list(g_st, "police", 0, 2, &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_int_eq(l->v[0].received_at, 0);
	ck_assert_int_eq(l->v[1].received_at, 2);
	i = (size_t)l->v[1].id;
	mash_store_quarantine_list_free(l);
	ck_assert_int_eq(
	    mash_store_quarantine_list(g_st, "police", (int64_t)i, 0, &l),
	    MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].received_at, 3);
	mash_store_quarantine_list_free(l);
	ck_assert_int_eq(mash_store_quarantine_list(g_st, "yot", 0, 0, &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 0);
	mash_store_quarantine_list_free(l);
}
END_TEST

START_TEST(quarantine_rejects_null_bytes_with_length)
{
	struct mash_store_quarantine q = {.topic = "t", .len = 3};

	ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, NULL),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_quarantine_add(g_st, NULL, NULL),
	                 MASH_ERR_INVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Meta                                                                */

START_TEST(meta_set_get_replace_and_missing)
{
	char *v = (char *)1;
	char key[MASH_STORE_MAX_META_KEY + 2];

	ck_assert_int_eq(mash_store_meta_get(g_st, "log_id", &v),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(mash_store_meta_set(g_st, "log_id", "a"), MASH_OK);
	ck_assert_int_eq(mash_store_meta_set(g_st, "log_id", "b"), MASH_OK);
	ck_assert_int_eq(mash_store_meta_get(g_st, "log_id", &v), MASH_OK);
	ck_assert_str_eq(v, "b");
	mash_free(v);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	ck_assert_int_eq(mash_store_meta_set(g_st, key, "x"),
	                 MASH_ERR_FIELD_TOO_LONG);
	ck_assert_int_eq(mash_store_meta_set(g_st, "", "x"), MASH_ERR_INVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Allocation failure                                                  */

START_TEST(open_fails_cleanly_when_allocation_fails)
{
	struct mash_store *st = (struct mash_store *)1;

	mash_mem_fail_after(0);
	ck_assert_int_eq(mash_store_open(g_path, &st), MASH_ERR_NOMEM);
	mash_mem_fail_after(-1);
	ck_assert_ptr_null(st);
}
END_TEST

/* Fail the Nth allocation of every reader for N = 0..: each returns
 * MASH_OK or MASH_ERR_NOMEM, never a half-filled output (leaks are caught
 * by LeakSanitizer in the sanitizer build). */
START_TEST(readers_fail_cleanly_at_every_allocation)
{
	char c[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_event ev;
	struct mash_store_event_list *el;
	struct mash_store_event_row *er;
	struct mash_store_case *cs;
	struct mash_store_strlist *sl;
	struct mash_store_match_list *ml;
	struct mash_store_quarantine_list *ql;
	struct mash_store_outbox_list *ol;
	struct mash_store_quarantine q = {.topic = "mash/v1/events/police",
	                                  .bytes = (const unsigned char *)"ab",
	                                  .len = 2};
	struct mash_store_subject b = jordan_no_nhs();
	char *mv;
	long n;
	int rc, all_ok;

	insert_jordan_event("police", "e1", 1000, c);
	fill_event(&ev, c, "health", "e2", 2000);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL), MASH_OK);
	b.postcode = "ZZ1 1ZZ";
	link_ok(&b, c, NULL);
	ck_assert_int_eq(mash_store_quarantine_add(g_st, &q, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_meta_set(g_st, "k", "v"), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_add(g_st, "t", q.bytes, 2, NULL),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_outbox_add(g_st, "u", q.bytes, 1, NULL),
	                 MASH_OK);
	insert_jordan_event("police", "e1x", 1000, c);
	for (n = 0; n < 64; n++) {
		all_ok = 1;
		mash_mem_fail_after(n);
		rc = mash_store_case_events(g_st, c, &el);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		ck_assert((rc == MASH_OK) == (el != NULL));
		all_ok &= rc == MASH_OK;
		mash_store_event_list_free(el);
		mash_mem_fail_after(n);
		rc = mash_store_event_get(g_st, "police", "e1", &er);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		ck_assert((rc == MASH_OK) == (er != NULL));
		all_ok &= rc == MASH_OK;
		mash_store_event_row_free(er);
		mash_mem_fail_after(n);
		rc = mash_store_case_get(g_st, c, &cs);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		ck_assert((rc == MASH_OK) == (cs != NULL));
		all_ok &= rc == MASH_OK;
		mash_store_case_free(cs);
		mash_mem_fail_after(n);
		rc = mash_store_case_agencies(g_st, c, &sl);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		all_ok &= rc == MASH_OK;
		mash_store_strlist_free(sl);
		mash_mem_fail_after(n);
		rc = mash_store_possible_matches(g_st, NULL, &ml);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		all_ok &= rc == MASH_OK;
		mash_store_match_list_free(ml);
		mash_mem_fail_after(n);
		rc = mash_store_quarantine_list(g_st, NULL, 0, 0, &ql);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		all_ok &= rc == MASH_OK;
		mash_store_quarantine_list_free(ql);
		mash_mem_fail_after(n);
		rc = mash_store_outbox_pending(g_st, 0, 0, &ol);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		ck_assert((rc == MASH_OK) == (ol != NULL));
		all_ok &= rc == MASH_OK;
		mash_store_outbox_list_free(ol);
		mash_mem_fail_after(n);
		rc = mash_store_meta_get(g_st, "k", &mv);
		ck_assert(rc == MASH_OK || rc == MASH_ERR_NOMEM);
		all_ok &= rc == MASH_OK;
		mash_free(mv);
		mash_mem_fail_after(-1);
		if (all_ok)
			break;
	}
	ck_assert_int_lt(n, 64);
	ck_assert_int_gt(n, 2); /* the loop really injected failures */
}
END_TEST

START_TEST(link_and_insert_do_not_depend_on_our_allocator)
{
	/* The hot path allocates nothing through mash_malloc: a failing
	 * allocator cannot make it lose an event. */
	char c[MASH_STORE_CASE_ID_SIZE];

	mash_mem_fail_after(0);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, c);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	mash_mem_fail_after(-1);
	ck_assert_int_eq(count_rows("events"), 1);
}
END_TEST

START_TEST(shared_connection_tables_commit_and_roll_back_with_the_event)
{
	sqlite3 *db = mash_store_sqlite(g_st);
	char c[MASH_STORE_CASE_ID_SIZE];

	ck_assert_int_eq(sqlite3_exec(db,
	                              "CREATE TABLE IF NOT EXISTS audit_x"
	                              " (seq INTEGER PRIMARY KEY, v TEXT)",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, c);
	ck_assert_int_eq(sqlite3_exec(db,
	                              "INSERT INTO audit_x (v) VALUES"
	                              " ('EVENT_RECEIVED')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(mash_store_rollback(g_st), MASH_OK);
	ck_assert_int_eq(count_rows("audit_x"), 0);
	ck_assert_int_eq(count_rows("events"), 0);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, c);
	ck_assert_int_eq(sqlite3_exec(db,
	                              "INSERT INTO audit_x (v) VALUES"
	                              " ('EVENT_RECEIVED')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	reopen();
	ck_assert_int_eq(count_rows("audit_x"), 1);
	ck_assert_int_eq(count_rows("events"), 1);
}
END_TEST

START_TEST(commit_fails_when_sqlite_already_rolled_back)
{
	char c[MASH_STORE_CASE_ID_SIZE];

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, c);
	/* what SQLite does by itself after IOERR/FULL/NOMEM */
	ck_assert_int_eq(
	    sqlite3_exec(mash_store_sqlite(g_st), "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_ERR_STORE);
	ck_assert_int_eq(mash_store_in_tx(g_st), 0);
	ck_assert_int_eq(count_rows("events"), 0);
	/* the store is usable again */
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
}
END_TEST

START_TEST(failed_link_leaves_callers_transaction_usable)
{
	char c[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_subject bad = {.nhs_number = "9434765918"};

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	insert_jordan_event("police", "e1", 1000, c);
	ck_assert_int_eq(mash_store_case_link(g_st, &bad, c2, NULL),
	                 MASH_ERR_BAD_NHS);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(count_rows("events"), 1);
	ck_assert_int_eq(count_rows("cases"), 1);
}
END_TEST

static int
failing_random(void *ctx, unsigned char *buf, size_t n)
{
	(void)ctx;
	memset(buf, 0, n);
	return MASH_ERR_CRYPTO;
}

START_TEST(link_fails_cleanly_when_random_source_fails)
{
	struct mash_store_subject a = jordan(), b = jordan_no_nhs();
	char c[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	int is_new = -1;

	link_ok(&a, c, NULL);
	b.postcode = "NE61 9ZZ"; /* a possible match would be recorded */
	mash_store_set_random(g_st, failing_random, NULL);
	ck_assert_int_eq(mash_store_case_link(g_st, &b, c2, &is_new),
	                 MASH_ERR_CRYPTO);
	ck_assert_str_eq(c2, "");
	ck_assert_int_eq(is_new, 0);
	ck_assert_int_eq(count_rows("cases"), 1);
	ck_assert_int_eq(count_rows("possible_matches"), 0);
	mash_store_set_random(g_st, NULL, NULL);
	link_ok(&b, c2, &is_new);
	ck_assert_int_eq(is_new, 1);
}
END_TEST

START_TEST(demo_story_links_all_six_events_to_one_case)
{
	/* SHARED-DEFS demo: six agencies' events about Jordan Reed, spelt
	 * the way each agency's system spells him. */
	static const struct mash_store_subject subjects[] = {
	    {NHS_JORDAN, "Jordan", "Reed", "2011-05-14", "NE61 1AA", "M"},
	    {NULL, "Jordan", "REED", "2011-05-14", "ne61 1aa", NULL},
	    {NULL, "J", "Reed", "2011-05-14", "NE611AA", "M"},
	    {"943 476 5919", "Jordan", "Reed", "2011-05-14", NULL, "M"},
	    {NHS_JORDAN, NULL, NULL, NULL, NULL, NULL},
	    {NHS_JORDAN, "Jordan", "Reed", "2011-05-14", "NE61 1AA", "M"},
	};
	char first[MASH_STORE_CASE_ID_SIZE], c[MASH_STORE_CASE_ID_SIZE];
	size_t i;

	link_ok(&subjects[0], first, NULL);
	for (i = 1; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		link_ok(&subjects[i], c, NULL);
		ck_assert_str_eq(c, first);
	}
	ck_assert_int_eq(count_rows("cases"), 1);
	ck_assert_int_eq(count_rows("possible_matches"), 0);
}
END_TEST

START_TEST(check_passes_on_good_file_and_finds_broken_foreign_key)
{
	char c[MASH_STORE_CASE_ID_SIZE];
	sqlite3 *db = mash_store_sqlite(g_st);

	insert_jordan_event("police", "e1", 1000, c);
	ck_assert_int_eq(mash_store_check(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_check(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_rollback(g_st), MASH_OK);
	/* an orphaned event, written with foreign keys off */
	ck_assert_int_eq(sqlite3_exec(db,
	                              "PRAGMA foreign_keys=OFF;"
	                              " DELETE FROM cases;"
	                              " PRAGMA foreign_keys=ON;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(mash_store_check(g_st), MASH_ERR_STORE);
}
END_TEST

START_TEST(outbox_keeps_messages_until_done_in_order)
{
	static const unsigned char m1[] = {0x0a, 0x00, 0x01};
	static const unsigned char m2[] = {0x00};
	struct mash_store_outbox_list *l = NULL;
	int64_t id1 = 0, id2 = 0;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_add(g_st, "mash/v1/inbox/sw.sam", m1,
	                                       sizeof(m1), &id1),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_outbox_add(g_st, "mash/v1/receipts/police",
	                                       m2, sizeof(m2), &id2),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_gt(id2, id1);
	reopen(); /* as after a crash between commit and publish */
	ck_assert_int_eq(mash_store_outbox_pending(g_st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_int_eq(l->v[0].id, id1);
	ck_assert_str_eq(l->v[0].topic, "mash/v1/inbox/sw.sam");
	ck_assert_uint_eq(l->v[0].len, sizeof(m1));
	ck_assert_mem_eq(l->v[0].bytes, m1, sizeof(m1));
	ck_assert_int_eq(l->v[0].created_at, g_now);
	ck_assert_str_eq(l->v[1].topic, "mash/v1/receipts/police");
	mash_store_outbox_list_free(l);
	ck_assert_int_eq(mash_store_outbox_pending(g_st, id1, 1, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].id, id2);
	mash_store_outbox_list_free(l);
	ck_assert_int_eq(mash_store_outbox_done(g_st, id1), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_done(g_st, id1), MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_store_outbox_pending(g_st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_int_eq(l->v[0].id, id2);
	mash_store_outbox_list_free(l);
}
END_TEST

START_TEST(outbox_rolls_back_with_the_transaction)
{
	int64_t id = 0;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_add(
	                     g_st, "t", (const unsigned char *)"x", 1, &id),
	                 MASH_OK);
	ck_assert_int_eq(mash_store_rollback(g_st), MASH_OK);
	ck_assert_int_eq(count_rows("outbox"), 0);
}
END_TEST

static void
sp_add(const char *topic)
{
	ck_assert_int_eq(mash_store_outbox_add(
	                     g_st, topic, (const unsigned char *)"x", 1, NULL),
	                 MASH_OK);
}

/* Group commit: one message's failure (rolled back to its savepoint)
 * does not lose its neighbours in the same transaction. */
START_TEST(savepoint_rollback_keeps_the_neighbours)
{
	struct mash_store_outbox_list *l = NULL;

	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_in_savepoint(g_st), 1);
	sp_add("a");
	ck_assert_int_eq(mash_store_release(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_in_savepoint(g_st), 0);
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_OK);
	sp_add("b");
	ck_assert_int_eq(mash_store_rollback_to(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_in_tx(g_st), 1);
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_OK);
	sp_add("c");
	ck_assert_int_eq(mash_store_release(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_outbox_pending(g_st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 2);
	ck_assert_str_eq(l->v[0].topic, "a");
	ck_assert_str_eq(l->v[1].topic, "c");
	mash_store_outbox_list_free(l);
}
END_TEST

START_TEST(savepoint_work_is_lost_with_the_transaction)
{
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_OK);
	sp_add("a");
	ck_assert_int_eq(mash_store_release(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_rollback(g_st), MASH_OK);
	ck_assert_int_eq(count_rows("outbox"), 0);
	/* A savepoint left open is closed by the commit with its work. */
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_OK);
	sp_add("b");
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_in_savepoint(g_st), 0);
	ck_assert_int_eq(count_rows("outbox"), 1);
}
END_TEST

START_TEST(savepoint_misuse_is_a_state_error)
{
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_release(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_rollback_to(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_release(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_rollback_to(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_savepoint(g_st), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_rollback_to(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	ck_assert_int_eq(mash_store_savepoint(NULL), MASH_ERR_INVAL);
}
END_TEST

static const struct {
	size_t topic_len;
	size_t len;
	int rc;
} outbox_bounds[] = {
    {MASH_MAX_TOPIC, 1, MASH_OK},
    {MASH_MAX_TOPIC + 1, 1, MASH_ERR_FIELD_TOO_LONG},
    {0, 1, MASH_ERR_INVAL},
    {5, 0, MASH_OK},
    {5, MASH_STORE_MAX_OUTBOX_BYTES, MASH_OK},
    {5, MASH_STORE_MAX_OUTBOX_BYTES + 1, MASH_ERR_TOO_BIG},
};

START_TEST(outbox_enforces_limits_exactly)
{
	size_t tl = outbox_bounds[_i].topic_len, n = outbox_bounds[_i].len;
	char *topic = malloc(tl + 1);
	unsigned char *b = calloc(1, n + 1);

	ck_assert_ptr_nonnull(topic);
	ck_assert_ptr_nonnull(b);
	memset(topic, 't', tl);
	topic[tl] = '\0';
	ck_assert_int_eq(mash_store_outbox_add(g_st, topic, b, n, NULL),
	                 outbox_bounds[_i].rc);
	ck_assert_int_eq(count_rows("outbox"),
	                 outbox_bounds[_i].rc == MASH_OK ? 1 : 0);
	free(topic);
	free(b);
}
END_TEST

START_TEST(open_migrates_version_1_file_and_keeps_data)
{
	char c[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_receipt r;

	insert_jordan_event("police", "e1", 1000, c);
	/* make it look like a file written by schema version 1 */
	ck_assert_int_eq(sqlite3_exec(mash_store_sqlite(g_st),
	                              "DROP TABLE outbox;"
	                              " DROP TABLE outbox_dead;"
	                              " ALTER TABLE cases DROP COLUMN identity;"
	                              " PRAGMA user_version = 1;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	reopen();
	ck_assert_int_eq(pragma("PRAGMA user_version"),
	                 MASH_STORE_SCHEMA_VERSION);
	ck_assert_int_eq(count_rows("outbox"), 0);
	ck_assert_int_eq(count_rows("outbox_dead"), 0);
	ck_assert_int_eq(mash_store_event_lookup(g_st, "police", "e1", &r),
	                 MASH_OK);
	ck_assert_str_eq(r.case_id, c);
}
END_TEST

static int
count_statements(void)
{
	sqlite3 *db = mash_store_sqlite(g_st);
	sqlite3_stmt *p = NULL;
	int n = 0;

	while ((p = sqlite3_next_stmt(db, p)) != NULL)
		n++;
	return n;
}

START_TEST(hot_path_reuses_prepared_statements)
{
	char c[MASH_STORE_CASE_ID_SIZE], id[32];
	struct mash_store_event ev;
	struct mash_store_receipt r;
	int before = 0, i;

	for (i = -2; i < 50; i++) {
		if (i == 0) /* warmed up: every statement used once */
			before = count_statements();
		(void)snprintf(id, sizeof(id), "e%d", i);
		ck_assert_int_eq(mash_store_begin(g_st), MASH_OK);
		ck_assert_int_eq(
		    mash_store_event_lookup(g_st, "police", id, &r),
		    MASH_ERR_NOT_FOUND);
		insert_jordan_event("police", id, 1000 + i, c);
		ck_assert_int_eq(
		    mash_store_event_set_receipt(
		        g_st, "police", id, MASH_STORE_RECEIPT_ACCEPTED, 1),
		    MASH_OK);
		ck_assert_int_eq(mash_store_commit(g_st), MASH_OK);
	}
	ck_assert_int_gt(before, 0);
	ck_assert_int_eq(count_statements(), before);
	fill_event(&ev, c, "police", "e0", 1);
	ck_assert_int_eq(mash_store_event_insert(g_st, &ev, NULL),
	                 MASH_ERR_DUPLICATE);
	ck_assert_int_eq(count_statements(), before);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, open_sets_schema_version_wal_fk_and_full_sync);
	tcase_add_test(
	    tc, open_keeps_temporary_data_in_memory_and_deletes_securely);
	tcase_add_test(tc, page_cache_is_the_size_given_and_bounded);
	tcase_add_test(tc, open_rejects_null_and_empty_path);
	tcase_add_test(tc, open_fails_in_missing_directory);
	tcase_add_test(tc, open_refuses_schema_newer_than_build);
	tcase_add_test(tc, database_file_is_readable_by_owner_only);
	tcase_add_test(tc, reopen_keeps_schema_without_remigrating);
	tcase_add_test(tc, transaction_state_errors);
	tcase_add_test(
	    tc, lazy_transaction_commits_and_the_next_one_is_durable_again);
	tcase_add_test(tc, checkpoints_run_on_their_own_thread);
	tcase_add_test(tc, rollback_leaves_nothing);
	tcase_add_test(tc, committed_data_survives_close_and_reopen);
	tcase_add_test(tc, sqlite_url_opens_the_same_store_as_its_path);
	tcase_add_test(
	    tc, url_of_a_back_end_not_built_is_refused_and_creates_nothing);
	tcase_add_test(tc, read_only_open_reads_but_never_writes);
	tcase_add_test(tc, close_with_open_transaction_rolls_back);
	tcase_add_test(tc, second_connection_sees_only_committed_data);
	tcase_add_test(tc, insert_then_lookup_returns_case_and_receipt);
	tcase_add_test(tc, same_event_twice_is_duplicate_with_original_case);
	tcase_add_test(tc, same_event_id_from_another_agency_is_not_duplicate);
	tcase_add_test(tc, insert_into_unknown_case_is_not_found);
	tcase_add_loop_test(
	    tc, insert_enforces_limits_exactly, 0,
	    (int)(sizeof(insert_bounds) / sizeof(insert_bounds[0])));
	tcase_add_test(tc, set_receipt_records_status_and_audit_seq);
	tcase_add_test(tc, case_events_are_in_occurred_order_with_exact_bytes);
	tcase_add_test(tc, event_get_returns_row_or_not_found);
	tcase_add_test(tc, link_exact_nhs_number_reuses_case);
	tcase_add_test(tc, case_id_has_documented_format);
	tcase_add_test(
	    tc, injected_random_gives_deterministic_ids_and_retries_collisions);
	tcase_add_loop_test(tc, link_checks_nhs_number_modulus_11, 0,
	                    (int)(sizeof(nhs_cases) / sizeof(nhs_cases[0])));
	tcase_add_loop_test(tc, link_checks_date_of_birth, 0,
	                    (int)(sizeof(dob_cases) / sizeof(dob_cases[0])));
	tcase_add_test(tc, link_without_identity_is_refused);
	tcase_add_test(tc, link_rejects_overlong_and_bad_utf8_strings);
	tcase_add_loop_test(tc, link_demographics_match_after_normalisation, 0,
	                    (int)(sizeof(norm_cases) / sizeof(norm_cases[0])));
	tcase_add_loop_test(
	    tc, link_partial_match_creates_new_case_and_possible_match, 0,
	    (int)(sizeof(partial_cases) / sizeof(partial_cases[0])));
	tcase_add_test(tc, case_learns_nhs_number_from_later_event);
	tcase_add_test(
	    tc, subject_without_nhs_links_to_case_with_nhs_by_demographics);
	tcase_add_test(tc, case_get_returns_demographics_as_first_seen);
	tcase_add_test(tc, case_agencies_are_distinct_and_sorted);
	tcase_add_test(tc, case_summary_gives_highest_severity_and_agencies);
	tcase_add_test(
	    tc, possible_match_decision_is_recorded_and_cases_stay_separate);
	tcase_add_test(tc,
	               relinking_same_partial_subject_links_to_its_own_case);
	tcase_add_test(tc, quarantine_round_trip_keeps_binary_bytes);
	tcase_add_loop_test(
	    tc, quarantine_bounds_bytes_and_flags_truncation, 0,
	    (int)(sizeof(quarantine_sizes) / sizeof(quarantine_sizes[0])));
	tcase_add_loop_test(
	    tc, quarantine_derives_agency_from_topic, 0,
	    (int)(sizeof(topic_agency) / sizeof(topic_agency[0])));
	tcase_add_test(tc, quarantine_keeps_invalid_utf8_topic_and_reason);
	tcase_add_test(tc, quarantine_list_filters_by_agency_and_pages);
	tcase_add_test(tc, quarantine_rejects_null_bytes_with_length);
	tcase_add_test(tc, meta_set_get_replace_and_missing);
	tcase_add_test(tc, open_fails_cleanly_when_allocation_fails);
	tcase_add_test(tc, readers_fail_cleanly_at_every_allocation);
	tcase_add_test(tc, link_and_insert_do_not_depend_on_our_allocator);
	tcase_add_test(
	    tc, shared_connection_tables_commit_and_roll_back_with_the_event);
	tcase_add_test(tc, commit_fails_when_sqlite_already_rolled_back);
	tcase_add_test(tc, failed_link_leaves_callers_transaction_usable);
	tcase_add_test(tc, link_fails_cleanly_when_random_source_fails);
	tcase_add_test(tc, demo_story_links_all_six_events_to_one_case);
	tcase_add_test(tc,
	               check_passes_on_good_file_and_finds_broken_foreign_key);
	tcase_add_test(tc, outbox_keeps_messages_until_done_in_order);
	tcase_add_test(tc, outbox_rolls_back_with_the_transaction);
	tcase_add_test(tc, savepoint_rollback_keeps_the_neighbours);
	tcase_add_test(tc, savepoint_work_is_lost_with_the_transaction);
	tcase_add_test(tc, savepoint_misuse_is_a_state_error);
	tcase_add_loop_test(
	    tc, outbox_enforces_limits_exactly, 0,
	    (int)(sizeof(outbox_bounds) / sizeof(outbox_bounds[0])));
	tcase_add_test(tc, open_migrates_version_1_file_and_keeps_data);
	tcase_add_test(tc, hot_path_reuses_prepared_statements);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
