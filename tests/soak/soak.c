/*
 * soak.c - nothing lost under repeated crashes (issue 30): `make soak`.
 *
 *   soak [N [KILLS [SEED]]]        (default 10000 3, seed from the clock)
 *
 * Five agency agents, each with its outbox, publish N realistic signed
 * events (bench/gen-feeds: 1,000 children, so that cases link and s47
 * triggers open) through a real Mosquitto over mutual TLS (persistence
 * on) to the real mashd with the shipped policy, directory and calendar,
 * group commit and sealed deliveries. A watcher subscribed to every inbox
 * (tests/soak/watch.h) counts what reaches each recipient. While they
 * run, mashd is SIGKILLed
 * at KILLS random moments and restarted at once on the same store, and the
 * broker is stopped and restarted once (its persistence keeps sessions
 * and queued messages). Then it counts, from the agents' summaries and
 * from the store: records fed, sent, receipted (ACCEPTED or DUPLICATE),
 * stored, stored twice, lost (fed but not stored), pending; per inbox,
 * the deliveries the policy decided (the store's DELIVERY_QUEUED and
 * TRIGGER_DELIVERY audit records for that recipient) against the distinct ones
 * the watcher received (missing, unexpected, and re-delivered copies of the
 * same sealed bytes, which QoS 1 allows after a crash); and runs `mashctl audit
 * verify` on the store against mashd's key. One last line:
 *
 *   soak: N sent, N receipted, N stored, M deliveries to R inboxes (X
 *         missing, Y unexpected, Z re-delivered), K kills, B broker
 *         restarts, L lost, D duplicated, audit verified
 *
 * Exit 0 only if no event was lost or duplicated, no delivery missing or
 * unexpected, every agent exited 0 with
 * nothing pending, every kill and the restart happened, and the audit
 * trail verifies; 1 otherwise; 2 bad usage. Every wait is bounded (the
 * agents' --deadline, 900 s). Needs MASH_BIN_DIR and MASH_SOURCE_DIR (the
 * Makefile and ctest set them). `make test` runs a short variant (1,000
 * events, one kill, one broker restart).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/str.h"
#include "soak/watch.h"
#include "support/agent_env.h"
#include "support/broker.h"
#include "support/crypto_fixture.h"

#define N_AG       5
#define MAX_KILLS  20
#define DEADLINE_S "900"

static const char *const agencies[N_AG] = {"police", "health", "education",
                                           "yot", "housing"};

static long
records_in(const char *path)
{
	char *text = mash_test_read_file(path, 256u << 20, NULL), *p;
	long n = -1; /* the header line */

	if (text == NULL)
		return 0;
	for (p = text; *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

/* Each principal of the shipped directory against what reached its
 * inbox: deliveries expected (DELIVERY_QUEUED and TRIGGER_DELIVERY audit
 * records), received,
 * missing and unexpected, summed; the number of inboxes with any. */
static void
compare_inboxes(struct mash_test_agents *e, struct soak_watch *w,
                const char *src, long *expected, long *missing,
                long *unexpected, int *inboxes)
{
	char path[600], sql[256], name[96], *text, *p, *q;
	long want, got;

	*expected = *missing = *unexpected = 0;
	*inboxes = 0;
	(void)snprintf(path, sizeof(path), "%s/policy/directory.cfg", src);
	text = mash_test_read_file(path, 1 << 20, NULL);
	for (p = text; p != NULL && (p = strstr(p, "name = \"")) != NULL;
	     p = q) {
		p += strlen("name = \"");
		q = strchr(p, '"');
		if (q == NULL || (size_t)(q - p) >= sizeof(name))
			break;
		memcpy(name, p, (size_t)(q - p));
		name[q - p] = '\0';
		(void)snprintf(sql, sizeof(sql),
		               "SELECT count(*) FROM audit_log WHERE type IN "
		               "('DELIVERY_QUEUED', 'TRIGGER_DELIVERY') AND "
		               "recipient = '%s';",
		               name);
		want = mash_test_agents_store_scalar(e, sql);
		got = soak_watch_count(w, name);
		if (want < 0)
			want = 0;
		*expected += want;
		*missing += want > got ? want - got : 0;
		*unexpected += got > want ? got - want : 0;
		*inboxes += want > 0 || got > 0;
		if (want != got)
			fprintf(stderr,
			        "soak: inbox %s: %ld expected, %ld "
			        "received\n",
			        name, want, got);
	}
	free(text);
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* mashctl audit verify on the store, checkpoints against mashd's key:
 * 1 if it verifies. */
static int
audit_verifies(struct mash_test_agents *e)
{
	char trust[600], log[600];
	const char *bin = getenv("MASH_BIN_DIR");
	char mashctl[600];
	int status = -1;
	pid_t pid;

	(void)snprintf(mashctl, sizeof(mashctl), "%s/mashctl",
	               bin != NULL ? bin : ".");
	(void)snprintf(trust, sizeof(trust), "%s/trust-agents",
	               mash_test_agents_dir(e));
	(void)snprintf(log, sizeof(log), "%s/audit-verify.log",
	               mash_test_agents_dir(e));
	{
		const char *argv[] = {mashctl,
		                      "audit",
		                      "verify",
		                      "--db",
		                      mash_test_agents_store(e),
		                      "--trust",
		                      trust,
		                      NULL};

		pid = mash_test_spawn(argv, NULL, log, log);
	}
	if (pid < 0 || mash_test_wait(pid, 300000, &status) != 0)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
main(int argc, char **argv)
{
	static const char *const dl[] = {"--deadline", DEADLINE_S, NULL};
	struct mash_test_agents_opts o;
	struct mash_test_agents *e = NULL;
	const char *src = getenv("MASH_SOURCE_DIR");
	char dir[256], cmd[1024], feed[600], extra[2048], tag[32];
	long fed = 0, at[MAX_KILLS], restart_at, sent = 0, receipted = 0;
	long pending = 0, stored, distinct = 0, lost, dup;
	long expected = 0, missing = 0, unexpected = 0, total_got;
	struct soak_watch *w = NULL;
	int inboxes = 0;
	int64_t n = 10000, kills = 3, seed = (int64_t)time(NULL);
	pid_t pids[N_AG];
	unsigned rs;
	int i, k = 0, restarts = 0, agents_ok = 1, audit_ok, ok;
	time_t t0;

	if ((argc > 1 && mash_parse_i64(argv[1], 10, 1000000, &n) != MASH_OK) ||
	    (argc > 2 &&
	     mash_parse_i64(argv[2], 0, MAX_KILLS, &kills) != MASH_OK) ||
	    (argc > 3 &&
	     mash_parse_i64(argv[3], 0, 2147483647, &seed) != MASH_OK) ||
	    argc > 4) {
		fprintf(stderr, "usage: soak [N [KILLS [SEED]]]\n");
		return 2;
	}
	if (src == NULL || getenv("MASH_BIN_DIR") == NULL) {
		fprintf(stderr,
		        "soak: MASH_SOURCE_DIR and MASH_BIN_DIR must be "
		        "set (make soak sets them)\n");
		return 2;
	}
	rs = (unsigned)seed;
	(void)mash_test_tmpdir(dir, sizeof(dir));
	(void)snprintf(cmd, sizeof(cmd),
	               "python3 %s/bench/gen-feeds %s %lld 1000 %lld S30 "
	               ">/dev/null",
	               src, dir, (long long)n, (long long)seed % 100000);
	if (system(cmd) != 0) {
		fprintf(stderr, "soak: gen-feeds failed\n");
		return 1;
	}
	for (i = 0; i < N_AG; i++) {
		(void)snprintf(feed, sizeof(feed), "%s/%s.csv", dir,
		               agencies[i]);
		fed += records_in(feed);
	}
	/* The moments, as shares of the feed stored: kills anywhere from a
	 * tenth to nine tenths, the broker restart around the middle. */
	for (i = 0; i < kills; i++)
		at[i] = fed / 10 +
		        (long)(rand_r(&rs) % (unsigned)(fed * 8 / 10 + 1));
	qsort(at, (size_t)kills, sizeof(at[0]), cmp_long);
	restart_at =
	    fed * 4 / 10 + (long)(rand_r(&rs) % (unsigned)(fed / 5 + 1));
	printf("soak: %ld records from %d agencies about 1000 children, seed "
	       "%lld, %lld kills, 1 broker restart\n",
	       fed, N_AG, (long long)seed, (long long)kills);
	fflush(stdout);

	(void)snprintf(extra, sizeof(extra),
	               "policy = \"%s/policy/default.cfg\";\n"
	               "directory = \"@DIRECTORY@\";\n"
	               "calendar = \"%s/s47/holidays.cfg\";\n",
	               src, src);
	memset(&o, 0, sizeof(o));
	/* The shipped defaults, but re-sends after a crash within seconds,
	 * so that the run stays short. */
	o.backoff_min_ms = 2000;
	o.backoff_max_ms = 10000;
	o.max_inflight = 128;
	o.mashd_queue = 1024;
	o.mashd_batch = 32;
	o.mashd_extra = extra;
	o.agent_log_level = "warn";
	if (mash_test_agents_start_opts(&o, &e) != 0) {
		fprintf(stderr, "soak: the hub did not start\n");
		mash_test_rmtree(dir);
		return 1;
	}
	if (soak_watch_start(mash_test_agents_broker(e), &w) != 0) {
		fprintf(stderr, "soak: the inbox watcher did not start\n");
		mash_test_agents_free(e);
		mash_test_rmtree(dir);
		return 1;
	}
	t0 = time(NULL);
	for (i = 0; i < N_AG; i++) {
		(void)snprintf(feed, sizeof(feed), "%s/%s.csv", dir,
		               agencies[i]);
		(void)snprintf(tag, sizeof(tag), "soak-%s", agencies[i]);
		pids[i] =
		    mash_test_agents_spawn_args(e, agencies[i], feed, dl, tag);
		if (pids[i] < 0)
			agents_ok = 0;
	}
	while ((k < kills || restarts == 0) && time(NULL) - t0 < 900) {
		long now_stored = mash_test_agents_count(e, NULL, NULL);

		if (k < kills && now_stored >= at[k]) {
			printf("soak: SIGKILL mashd at %ld stored\n",
			       now_stored);
			fflush(stdout);
			if (mash_test_agents_crash_mashd(e) != 0) {
				fprintf(stderr,
				        "soak: mashd did not restart\n");
				break;
			}
			k++;
		} else if (restarts == 0 && now_stored >= restart_at) {
			struct mash_test_broker *b = mash_test_agents_broker(e);

			printf("soak: broker restart at %ld stored\n",
			       now_stored);
			fflush(stdout);
			(void)mash_test_broker_stop(b);
			if (mash_test_broker_restart(b) != 0) {
				fprintf(stderr,
				        "soak: the broker did not restart\n");
				break;
			}
			restarts++;
		}
		mash_test_sleep_ms(50);
	}
	for (i = 0; i < N_AG; i++) {
		struct mash_test_summary s;
		char p[600], *out;
		int status = -1;

		if (pids[i] < 0 ||
		    mash_test_wait(pids[i], 960000, &status) != 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			agents_ok = 0;
		(void)snprintf(p, sizeof(p), "%s/soak-%s.out",
		               mash_test_agents_dir(e), agencies[i]);
		out = mash_test_read_file(p, 1 << 20, NULL);
		mash_test_agents_parse_summary(out, &s);
		free(out);
		sent += s.sent > 0 ? s.sent : 0;
		receipted += (s.accepted > 0 ? s.accepted : 0) +
		             (s.duplicate > 0 ? s.duplicate : 0);
		pending += s.pending > 0 ? s.pending : 0;
		if (s.pending != 0 || s.rejected_by_agent != 0 ||
		    s.rejected_by_daemon != 0)
			agents_ok = 0;
	}
	/* mashd flushes its outbox after the last receipt: wait until the
	 * inboxes have been quiet for 5 s (at most 2 minutes). */
	soak_watch_settle(w, 5000, 120000);
	compare_inboxes(e, w, src, &expected, &missing, &unexpected, &inboxes);
	total_got = soak_watch_count(w, NULL);
	stored = mash_test_agents_count(e, NULL, &distinct);
	lost = fed - distinct;
	dup = stored - distinct;
	audit_ok = audit_verifies(e);
	ok = agents_ok && lost == 0 && dup == 0 && audit_ok && k == kills &&
	     restarts == 1 && pending == 0 && missing == 0 && unexpected == 0 &&
	     expected > 0;
	if (!ok) {
		fprintf(stderr,
		        "soak: FAILED: agents %s, %ld pending, kills %d of "
		        "%lld, broker restarts %d, audit %s\n",
		        agents_ok ? "ok" : "failed", pending, k,
		        (long long)kills, restarts,
		        audit_ok ? "verified" : "NOT verified");
		mash_test_agents_dump(e, "soak-police");
	}
	printf(
	    "soak: %ld sent, %ld receipted, %ld stored, %ld deliveries to %d "
	    "inboxes (%ld missing, %ld unexpected, %ld re-delivered), %d "
	    "kills, %d broker restarts, %ld lost, %ld duplicated, audit "
	    "%s (%ld s)\n",
	    sent, receipted, distinct, total_got, inboxes, missing, unexpected,
	    soak_watch_redelivered(w), k, restarts, lost, dup,
	    audit_ok ? "verified" : "NOT verified", (long)(time(NULL) - t0));
	soak_watch_free(w);
	mash_test_agents_free(e);
	mash_test_rmtree(dir);
	return ok ? 0 : 1;
}
