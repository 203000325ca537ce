/*
 * Two daemons on one database (a shared MQTT subscription splits the load,
 * and a re-send may reach the other daemon): two processes ingest the same
 * 300 events in different orders, concurrently, each through the daemon's
 * sequence (BEGIN IMMEDIATE, duplicate lookup, link, insert, commit).
 * Afterwards every event is stored exactly once, each child has exactly
 * one case (no race creates two cases for one NHS number or one set of
 * demographics), and every event is answered ACCEPTED by exactly one
 * process and DUPLICATE by the other. Exit 0 on success.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "store/store.h"
#include "store/store_test.h"
#include "support/store_sql.h"

#define N_EVENTS 300

static const char *const nhs_pool[] = {"9434765919", "4010232137", "4857773457",
                                       "1111111111"};
static const char *const families[] = {"Reed", "Smith", "Khan", "Jones",
                                       "Taylor"};

static int
fail(const char *what)
{
	fprintf(stderr, "it_store_two_writers: FAIL: %s\n", what);
	return 1;
}

/* Event i: a subject with an NHS number (i % 3 != 0) or demographics
 * only, chosen so that both kinds of linkage race. */
static void
subject_for(int i, struct mash_store_subject *s)
{
	memset(s, 0, sizeof(*s));
	if (i % 3 != 0)
		s->nhs_number = nhs_pool[i % 4];
	s->family_name = families[i % 5];
	s->date_of_birth = "2011-05-14";
	s->postcode = "NE61 1AA";
}

/* 1 accepted, 2 duplicate, < 0 error. */
static int
ingest(struct mash_store *st, int i)
{
	char event_id[32], case_id[MASH_STORE_CASE_ID_SIZE];
	unsigned char bytes[64];
	struct mash_store_receipt r;
	struct mash_store_subject s;
	struct mash_store_event ev = {0};
	int rc;

	(void)mash_snprintf(event_id, sizeof(event_id), "ev-%d", i);
	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		return rc;
	rc = mash_store_event_lookup(st, "health", event_id, &r);
	if (rc == MASH_OK) {
		(void)mash_store_rollback(st);
		return 2;
	}
	if (rc != MASH_ERR_NOT_FOUND)
		goto fail;
	subject_for(i, &s);
	rc = mash_store_case_link(st, &s, case_id, NULL);
	if (rc != MASH_OK)
		goto fail;
	memset(bytes, i & 0xff, sizeof(bytes));
	ev.case_id = case_id;
	ev.agency = "health";
	ev.event_id = event_id;
	ev.category = 9;
	ev.severity = 3;
	ev.consent = 3;
	ev.occurred_at = i;
	ev.recorded_at = i;
	ev.received_at = i;
	ev.envelope = bytes;
	ev.envelope_len = sizeof(bytes);
	ev.payload = bytes;
	ev.payload_len = sizeof(bytes);
	rc = mash_store_event_insert(st, &ev, NULL);
	if (rc != MASH_OK)
		goto fail;
	rc = mash_store_commit(st);
	return rc == MASH_OK ? 1 : rc;
fail:
	(void)mash_store_rollback(st);
	return rc;
}

/* Ingest all events, forwards (stride > 0) or backwards, and report how
 * many this process accepted through the pipe. */
static void
writer(const char *path, int stride, int wfd, int gofd)
{
	struct mash_store *st = NULL;
	int order[N_EVENTS];
	int accepted = 0, i, rc;
	char go;

	mash_log_set_level(MASH_LOG_ERROR);
	if (mash_store_open(path, &st) != MASH_OK)
		_exit(3);
	/* start together */
	if (read(gofd, &go, 1) != 1)
		_exit(6);
	for (i = 0; i < N_EVENTS; i++)
		order[i] = stride > 0 ? i : N_EVENTS - 1 - i;
	for (i = 0; i < N_EVENTS; i++) {
		rc = ingest(st, order[i]);
		/* the lock stayed with the other writer for the whole busy
		 * timeout: nothing was written, try again (as the agent's
		 * re-send would) */
		if (rc == MASH_ERR_TIMEOUT) {
			i--;
			continue;
		}
		if (rc < 0)
			_exit(4);
		if (rc == 1)
			accepted++;
		/* SQLite's busy handler is not fair: a writer that commits
		 * and begins again at once can starve the other. A daemon
		 * waits for its next message; so does this one. */
		(void)usleep(1000);
	}
	mash_store_close(st);
	if (write(wfd, &accepted, sizeof(accepted)) !=
	    (ssize_t)sizeof(accepted))
		_exit(5);
	_exit(0);
}

int
main(void)
{
	char dir[] = "/tmp/mash-2w-XXXXXX";
	char path[128], p2[160];
	struct mash_store *st = NULL;
	int fds[2], go[2], status, w, accepted[2] = {0, 0}, rc = 1;
	int64_t events = 0, distinct = 0, cases = 0;
	pid_t pid[2];

	alarm(300);
	mash_log_set_level(MASH_LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		return fail("mkdtemp");
	(void)snprintf(path, sizeof(path), "%s/two.db", dir);
	/* create the schema first so both writers start on the same file */
	if (mash_store_open(path, &st) != MASH_OK)
		return fail("open");
	mash_store_close(st);
	st = NULL;
	if (pipe(fds) != 0 || pipe(go) != 0)
		return fail("pipe");
	for (w = 0; w < 2; w++) {
		pid[w] = fork();
		if (pid[w] < 0)
			return fail("fork");
		if (pid[w] == 0) {
			close(fds[0]);
			close(go[1]);
			writer(path, w == 0 ? 1 : -1, fds[1], go[0]);
		}
	}
	close(fds[1]);
	close(go[0]);
	if (write(go[1], "gg", 2) != 2)
		return fail("start");
	close(go[1]);
	for (w = 0; w < 2; w++) {
		if (waitpid(pid[w], &status, 0) != pid[w] ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			(void)fail("a writer failed");
			goto out;
		}
		if (read(fds[0], &accepted[w], sizeof(int)) != sizeof(int)) {
			(void)fail("writer report");
			goto out;
		}
	}
	close(fds[0]);
	if (accepted[0] + accepted[1] != N_EVENTS || accepted[0] == 0 ||
	    accepted[1] == 0) {
		fprintf(stderr, "accepted %d + %d\n", accepted[0], accepted[1]);
		(void)fail("an event was accepted twice or never, or the"
		           " writers did not interleave");
		goto out;
	}
	if (mash_store_open(path, &st) != MASH_OK) {
		(void)fail("reopen");
		goto out;
	}
	if (mash_store_check(st) != MASH_OK ||
	    !mash_test_sql_i64(st, "SELECT count(*) FROM events", &events) ||
	    !mash_test_sql_i64(
	        st, "SELECT count(DISTINCT event_id) FROM events", &distinct) ||
	    !mash_test_sql_i64(st, "SELECT count(*) FROM cases", &cases)) {
		(void)fail("check or count");
		goto out;
	}
	/* 4 NHS numbers; the NHS-less subjects match one of the NHS cases
	 * by demographics or form their own: at most 4 + 5 cases, and no
	 * NHS number or demographic key twice (UNIQUE / link rules). */
	if (events != N_EVENTS || distinct != N_EVENTS) {
		fprintf(stderr, "events %lld distinct %lld\n",
		        (long long)events, (long long)distinct);
		(void)fail("events not stored exactly once");
		goto out;
	}
	if (!mash_test_sql_i64(
	        st,
	        "SELECT count(*) FROM (SELECT family_norm, date_of_birth,"
	        " postcode_norm, count(*) AS n FROM cases WHERE"
	        " nhs_number IS NULL GROUP BY 1, 2, 3 HAVING n > 1)",
	        &distinct) ||
	    distinct != 0) {
		(void)fail("a race created two cases for one child");
		goto out;
	}
	fprintf(stderr,
	        "it_store_two_writers: ok, accepted %d + %d, %lld cases\n",
	        accepted[0], accepted[1], (long long)cases);
	rc = 0;
out:
	mash_store_close(st);
	(void)unlink(path);
	(void)snprintf(p2, sizeof(p2), "%s-wal", path);
	(void)unlink(p2);
	(void)snprintf(p2, sizeof(p2), "%s-shm", path);
	(void)unlink(p2);
	(void)rmdir(dir);
	return rc;
}
