/*
 * Crash safety of the store: a child process ingests events the way the
 * daemon does (begin, duplicate lookup, link, insert, a quarantine row and
 * a meta counter in the same transaction, commit; alternate children
 * group-commit up to 8 events per transaction) and reports each
 * committed event id on a pipe *after* mash_store_commit returns, which is
 * when the daemon would publish the receipt. The parent SIGKILLs it at a
 * random instant, reopens the database and checks:
 *   - PRAGMA integrity_check is "ok";
 *   - every event the child reported committed is there, exactly once;
 *   - no partial transaction: events, their quarantine rows and the meta
 *     counter agree, and event ids are contiguous from 1;
 * then starts the next child on the same file. Exit 0 on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/store.h"
#include "store/store_test.h"
#include "support/store_sql.h"

#define ROUNDS 25

static const char *const nhs_pool[] = {"9434765919", "4010232137", "4857773457",
                                       "1111111111"};

static int
fail(const char *what)
{
	fprintf(stderr, "it_store_crash: FAIL: %s\n", what);
	return 1;
}

/* The next event id to write: one past the meta counter. */
static int64_t
next_id(struct mash_store *st)
{
	char *v = NULL;
	int64_t n = 0;

	if (mash_store_meta_get(st, "crash.last", &v) == MASH_OK)
		(void)mash_parse_i64(v, 0, INT64_MAX, &n);
	mash_free(v);
	return n + 1;
}

/* Ingest event id inside the open transaction (the daemon's sequence). */
static int
ingest_one(struct mash_store *st, int64_t id)
{
	unsigned char payload[512];
	char event_id[32], case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_receipt r;
	struct mash_store_subject s = {0};
	struct mash_store_event ev = {0};
	struct mash_store_quarantine q = {0};
	int rc;

	(void)mash_snprintf(event_id, sizeof(event_id), "ev-%lld",
	                    (long long)id);
	rc = mash_store_event_lookup(st, "police", event_id, &r);
	if (rc != MASH_ERR_NOT_FOUND)
		return rc == MASH_OK ? MASH_ERR_DUPLICATE : rc;
	s.nhs_number = nhs_pool[id % 4];
	rc = mash_store_case_link(st, &s, case_id, NULL);
	if (rc != MASH_OK)
		return rc;
	memset(payload, (int)(id & 0xff), sizeof(payload));
	ev.case_id = case_id;
	ev.agency = "police";
	ev.event_id = event_id;
	ev.category = 6;
	ev.severity = (unsigned)(id % 5);
	ev.consent = 1;
	ev.occurred_at = id * 1000;
	ev.recorded_at = id * 1000;
	ev.received_at = id * 1000;
	ev.envelope = payload;
	ev.envelope_len = sizeof(payload);
	ev.payload = payload;
	ev.payload_len = sizeof(payload) / 2;
	rc = mash_store_event_insert(st, &ev, NULL);
	if (rc != MASH_OK)
		return rc;
	q.topic = "mash/v1/events/police";
	q.err = MASH_ERR_DECODE;
	q.reason = event_id;
	q.bytes = payload;
	q.len = 16;
	return mash_store_quarantine_add(st, &q, NULL);
}

/*
 * One transaction: events first..first+k-1 (group commit when k > 1),
 * or with resend a duplicate lookup of an old event that writes nothing
 * (returns 1). MASH_OK once committed.
 */
static int
ingest_tx(struct mash_store *st, int64_t first, int k, int resend)
{
	struct mash_store_receipt r;
	char event_id[32], val[32];
	int64_t id;
	int rc;

	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		return rc;
	if (resend && first > 1) {
		(void)mash_snprintf(event_id, sizeof(event_id), "ev-%lld",
		                    (long long)(first - 1));
		rc = mash_store_event_lookup(st, "police", event_id, &r);
		(void)mash_store_rollback(st);
		return rc == MASH_OK ? 1 : MASH_ERR_INTERNAL;
	}
	for (id = first; id < first + k; id++) {
		rc = ingest_one(st, id);
		if (rc != MASH_OK)
			goto fail;
	}
	(void)mash_snprintf(val, sizeof(val), "%lld",
	                    (long long)(first + k - 1));
	rc = mash_store_meta_set(st, "crash.last", val);
	if (rc != MASH_OK)
		goto fail;
	return mash_store_commit(st);
fail:
	(void)mash_store_rollback(st);
	return rc;
}

static void
child(const char *path, int wfd, unsigned seed)
{
	struct mash_store *st = NULL;
	int64_t id, j;
	int rc, k;

	mash_log_set_level(MASH_LOG_ERROR);
	srand(seed);
	if (mash_store_open(path, &st) != MASH_OK)
		_exit(3);
	id = next_id(st);
	for (;;) {
		/* half the rounds group-commit up to 8 events */
		k = seed % 2 == 0 ? 1 : 1 + rand() % 8;
		rc = ingest_tx(st, id, k, rand() % 5 == 0);
		if (rc == 1)
			continue; /* duplicate answered */
		if (rc != MASH_OK)
			_exit(4);
		/* the "receipts": only after commit returned */
		for (j = id; j < id + k; j++)
			if (write(wfd, &j, sizeof(j)) != (ssize_t)sizeof(j))
				_exit(5);
		id += k;
	}
}

/* Check the reopened database against the acknowledged ids. */
static int
verify(const char *path, int64_t max_acked, int64_t *stored)
{
	struct mash_store *st = NULL;
	sqlite3 *db;
	sqlite3_stmt *s = NULL;
	const unsigned char *ic;
	int64_t events, quarantine, last, maxn, distinct;
	char sql[128];
	int rc = 1;

	if (mash_store_open(path, &st) != MASH_OK)
		return fail("reopen after kill");
	db = mash_store_sqlite(st);
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) !=
	        SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = fail("integrity_check did not run");
		goto out;
	}
	ic = sqlite3_column_text(s, 0);
	if (ic == NULL || strcmp((const char *)ic, "ok") != 0) {
		rc = fail("integrity_check is not ok");
		goto out;
	}
	if (!mash_test_sql_i64(st, "SELECT count(*) FROM events", &events) ||
	    !mash_test_sql_i64(st, "SELECT count(*) FROM quarantine",
	                       &quarantine) ||
	    !mash_test_sql_i64(
	        st, "SELECT count(DISTINCT event_id) FROM events", &distinct) ||
	    !mash_test_sql_i64(st,
	                       "SELECT coalesce(max(CAST(substr(event_id, 4) AS"
	                       " INTEGER)), 0) FROM events",
	                       &maxn) ||
	    !mash_test_sql_i64(st,
	                       "SELECT coalesce((SELECT CAST(value AS INTEGER)"
	                       " FROM meta WHERE key = 'crash.last'), 0)",
	                       &last)) {
		rc = fail("count queries");
		goto out;
	}
	if (events != quarantine || events != last || events != maxn ||
	    events != distinct) {
		fprintf(stderr,
		        "events %lld quarantine %lld last %lld max %lld "
		        "distinct %lld\n",
		        (long long)events, (long long)quarantine,
		        (long long)last, (long long)maxn, (long long)distinct);
		rc = fail("partial transaction visible after crash");
		goto out;
	}
	if (events < max_acked) {
		fprintf(stderr, "stored %lld < acknowledged %lld\n",
		        (long long)events, (long long)max_acked);
		rc = fail("an acknowledged event was lost");
		goto out;
	}
	(void)snprintf(sql, sizeof(sql),
	               "SELECT count(*) FROM events e JOIN cases c USING"
	               " (case_id)");
	if (!mash_test_sql_i64(st, sql, &distinct) || distinct != events) {
		rc = fail("event without its case");
		goto out;
	}
	*stored = events;
	rc = 0;
out:
	sqlite3_finalize(s);
	mash_store_close(st);
	return rc;
}

int
main(void)
{
	char dir[] = "/tmp/mash-crash-XXXXXX";
	char path[128], p2[160];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int64_t max_acked = 0, stored = 0, id, prev, expect;
	int round, status, fds[2], rc = 1;
	pid_t pid;
	ssize_t n;

	alarm(300); /* bound the whole test */
	mash_log_set_level(MASH_LOG_ERROR);
	fprintf(stderr, "it_store_crash: seed %u\n", seed);
	srand(seed);
	if (mkdtemp(dir) == NULL)
		return fail("mkdtemp");
	(void)snprintf(path, sizeof(path), "%s/crash.db", dir);
	for (round = 0; round < ROUNDS; round++) {
		if (pipe(fds) != 0)
			return fail("pipe");
		pid = fork();
		if (pid < 0)
			return fail("fork");
		if (pid == 0) {
			close(fds[0]);
			child(path, fds[1], seed + (unsigned)round);
		}
		close(fds[1]);
		/* kill at a random instant: sometimes before open finishes,
		 * mostly mid-stream */
		(void)usleep((useconds_t)(rand() % 150000));
		(void)kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) != pid)
			return fail("waitpid");
		if (WIFEXITED(status)) {
			fprintf(stderr, "child exited %d\n",
			        WEXITSTATUS(status));
			return fail("child failed before it was killed");
		}
		/* a new child continues after what is stored, which may
		 * be past the last id its predecessor acknowledged */
		prev = max_acked;
		expect = stored + 1;
		while ((n = read(fds[0], &id, sizeof(id))) == sizeof(id)) {
			if (id != expect)
				return fail("child acknowledged out of order");
			max_acked = id;
			expect++;
		}
		close(fds[0]);
		if (verify(path, max_acked, &stored) != 0)
			goto out;
		fprintf(stderr,
		        "round %d: %lld acknowledged this round, "
		        "%lld in total\n",
		        round, (long long)(max_acked - prev),
		        (long long)max_acked);
	}
	if (max_acked == 0) {
		(void)fail("no event was ever committed");
		goto out;
	}
	rc = 0;
	fprintf(stderr, "it_store_crash: ok, %lld events over %d kills\n",
	        (long long)max_acked, ROUNDS);
out:
	(void)unlink(path);
	(void)snprintf(p2, sizeof(p2), "%s-wal", path);
	(void)unlink(p2);
	(void)snprintf(p2, sizeof(p2), "%s-shm", path);
	(void)unlink(p2);
	(void)rmdir(dir);
	return rc;
}
