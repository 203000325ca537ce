/*
 * bench_agents.c - five agency agents at once, end to end (issue 22):
 * real mosquitto, real mashd with the shipped policy and directory (each
 * principal with an encryption key: every delivery sealed, issue 25),
 * SQLite with synchronous=FULL, the agents' real outboxes, over realistic
 * generated feeds (bench/gen-feeds: N records about a pool of children,
 * split 25/20/20/15/20 % across police, health, education, yot, housing).
 *
 * Three kinds of run over the same feeds, each on a fresh broker, store
 * and outboxes (the first two RUNS times each, alternating, compared by
 * their medians):
 *   1. one agent at a time: each agency's agent alone, one after the
 *      other, the machine's own baseline for the same work (the same
 *      records, the same growth of the store and of the cases);
 *   2. the five agents started together, as after an outage;
 *   3. the same with mashd SIGKILLed KILLS times during the run and
 *      restarted at once.
 * For each: records stored (distinct) against records fed, wall time,
 * events/s, the agents' re-sends, the agents' and mashd's CPU (share of
 * one core), and mashd's hand-backs to Paho (must be 0).
 *
 * Usage: bench_agents [N [KILLS [WINDOW [RUNS]]]] (default 10000 3 128 3;
 * WINDOW is the agents' max_inflight: 5 x WINDOW against mashd's queue
 * of 1024 decides whether its receive queue ever fills; needs MASH_BIN_DIR
 * and MASH_SOURCE_DIR, which scripts/bench.sh sets). Exits 1 if a run
 * lost or duplicated a record or an agent failed. Not a test.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "common/err.h"
#include "common/str.h"
#include "support/agent_env.h"
#include "support/broker.h"
#include "support/crypto_fixture.h"

#define N_AG     5
#define MAX_RUNS 9

static const char *const agencies[N_AG] = {"police", "health", "education",
                                           "yot", "housing"};

struct result {
	long fed, stored, distinct, resent, pending;
	long audits, deliveries, triggers; /* the work mashd did */
	double wall_s, agents_cpu_s, mashd_cpu_s;
	int agents_ok, handed_back, kills;
	char stages[1024]; /* mashd's core thread per stage (SIGUSR1) */
};

/* utime + stime of a live process, in seconds; 0 if unreadable. */
static double
proc_cpu_s(pid_t pid)
{
	char p[64], buf[1024], *s;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	(void)snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')'); /* the command name may hold spaces */
	if (s == NULL ||
	    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	           &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long
records_in(const char *path)
{
	char *text = mash_test_read_file(path, 256u << 20, NULL), *p;
	long n = -1; /* the header */

	if (text == NULL)
		return 0;
	for (p = text; *p != '\0'; p++)
		n += *p == '\n';
	free(text);
	return n;
}

static int
count_in_logs(const char *dir, const char *needle)
{
	char p[600], *text;
	int i, n = 0;

	for (i = 0; i < 16; i++) {
		if (i == 0)
			(void)snprintf(p, sizeof(p), "%s/mashd.log", dir);
		else
			(void)snprintf(p, sizeof(p), "%s/mashd.%d.log", dir, i);
		text = mash_test_read_file(p, 256u << 20, NULL);
		if (text != NULL && strstr(text, needle) != NULL)
			n++;
		free(text);
	}
	return n;
}

/* The running mashd's time per stage (issue 32): SIGUSR1, then its
 * "stages (SIGUSR1):" line from its log (the highest-numbered one is the
 * running incarnation's; after kills it covers that one only). */
static void
read_stages(struct mash_test_agents *e, char *out, size_t n)
{
	const char *tag = "stages (SIGUSR1): ";
	char p[600], *text = NULL, *at, *nl;
	int i, tries;

	(void)snprintf(out, n, "(not logged)");
	if (kill(mash_test_agents_mashd_pid(e), SIGUSR1) != 0)
		return;
	for (tries = 0; tries < 50; tries++) {
		for (i = 15; i >= 0; i--) {
			if (i == 0)
				(void)snprintf(p, sizeof(p), "%s/mashd.log",
				               mash_test_agents_dir(e));
			else
				(void)snprintf(p, sizeof(p), "%s/mashd.%d.log",
				               mash_test_agents_dir(e), i);
			text = mash_test_read_file(p, 256u << 20, NULL);
			if (text != NULL)
				break;
		}
		at = text != NULL ? strstr(text, tag) : NULL;
		nl = at != NULL ? strchr(at, '\n') : NULL;
		if (nl != NULL) {
			*nl = '\0';
			(void)snprintf(out, n, "%s", at + strlen(tag));
			free(text);
			return;
		}
		free(text);
		mash_test_sleep_ms(100);
	}
}

/* Wait for pid; its CPU time added to *cpu_s; 1 if it exited 0. */
static int
reap(pid_t pid, double *cpu_s)
{
	struct rusage ru;
	int status = 0;

	memset(&ru, 0, sizeof(ru));
	if (wait4(pid, &status, 0, &ru) != pid)
		return 0;
	*cpu_s +=
	    (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int
run(const char *feeds, int together, int kills, int window, struct result *r)
{
	static const char *const dl[] = {"--deadline", "900", NULL};
	struct mash_test_agents_opts o;
	struct mash_test_agents *e = NULL;
	char extra[2048], feed[600], tag[32];
	const char *src = getenv("MASH_SOURCE_DIR");
	pid_t pids[N_AG];
	double t0, mashd_cpu = 0;
	int i, k = 0, rc = -1;

	memset(r, 0, sizeof(*r));
	if (src == NULL)
		src = ".";
	(void)snprintf(extra, sizeof(extra),
	               "policy = \"%s/policy/default.cfg\";\n"
	               "directory = \"@DIRECTORY@\";\n"
	               "calendar = \"%s/s47/holidays.cfg\";\n",
	               src, src);
	memset(&o, 0, sizeof(o));
	/* The shipped defaults (agents/agent-*.cfg, daemon/config.c). */
	o.backoff_min_ms = 30000;
	o.backoff_max_ms = 300000;
	o.max_inflight = window;
	o.mashd_queue = 1024;
	o.mashd_batch = 32;
	o.mashd_extra = extra;
	o.agent_log_level = "warn";
	if (mash_test_agents_start_opts(&o, &e) != 0)
		return -1;
	r->agents_ok = 1;
	t0 = bench_now_s();
	for (i = 0; i < N_AG; i++) {
		(void)snprintf(feed, sizeof(feed), "%s/%s.csv", feeds,
		               agencies[i]);
		r->fed += records_in(feed);
		(void)snprintf(tag, sizeof(tag), "bench-%s", agencies[i]);
		pids[i] =
		    mash_test_agents_spawn_args(e, agencies[i], feed, dl, tag);
		if (pids[i] < 0)
			goto out;
		if (!together && !reap(pids[i], &r->agents_cpu_s))
			r->agents_ok = 0;
	}
	/* Kill mashd as the store passes each (k+1)/(kills+1) of the feed;
	 * its CPU is summed over its lives. */
	while (k < kills) {
		long n = mash_test_agents_count(e, NULL, NULL);

		if (n >= r->fed * (k + 1) / (kills + 1)) {
			mashd_cpu += proc_cpu_s(mash_test_agents_mashd_pid(e));
			if (mash_test_agents_crash_mashd(e) != 0)
				goto out;
			k++;
		}
		if (bench_now_s() - t0 > 900)
			break;
		mash_test_sleep_ms(100);
	}
	for (i = 0; together && i < N_AG; i++)
		if (!reap(pids[i], &r->agents_cpu_s))
			r->agents_ok = 0;
	r->wall_s = bench_now_s() - t0;
	r->mashd_cpu_s = mashd_cpu + proc_cpu_s(mash_test_agents_mashd_pid(e));
	r->kills = k;
	for (i = 0; i < N_AG; i++) {
		struct mash_test_summary s;
		char p[600], *out;

		(void)snprintf(p, sizeof(p), "%s/bench-%s.out",
		               mash_test_agents_dir(e), agencies[i]);
		out = mash_test_read_file(p, 1 << 20, NULL);
		mash_test_agents_parse_summary(out, &s);
		free(out);
		r->resent += s.resent > 0 ? s.resent : 0;
		r->pending += s.pending > 0 ? s.pending : 0;
	}
	r->stored = mash_test_agents_count(e, NULL, &r->distinct);
	r->audits =
	    mash_test_agents_store_scalar(e, "SELECT count(*) FROM audit_log;");
	r->deliveries = mash_test_agents_store_scalar(
	    e, "SELECT coalesce(max(seq), 0) FROM sqlite_sequence"
	       " WHERE name = 'outbox';");
	r->triggers = mash_test_agents_store_scalar(
	    e, "SELECT count(*) FROM s47_trigger;");
	r->handed_back = count_in_logs(mash_test_agents_dir(e), "handed back");
	read_stages(e, r->stages, sizeof(r->stages));
	rc = 0;
out:
	mash_test_agents_free(e);
	return rc;
}

static void
print(const char *what, const struct result *r, double baseline)
{
	double rate = r->wall_s > 0 ? (double)r->stored / r->wall_s : 0;

	printf("  %-30s %ld/%ld stored (%ld distinct) in %.1f s = %.1f "
	       "events/s",
	       what, r->stored, r->fed, r->distinct, r->wall_s, rate);
	if (baseline > 0)
		printf(" (%.2fx one agent)", rate / baseline);
	printf("\n  %-30s re-sends %ld, pending %ld, agents %s, agents' CPU "
	       "%.0f%% of a core together, mashd's %.0f%%, hand-backs %d",
	       "", r->resent, r->pending, r->agents_ok ? "exit 0" : "FAILED",
	       r->wall_s > 0 ? 100.0 * r->agents_cpu_s / r->wall_s : 0,
	       r->wall_s > 0 ? 100.0 * r->mashd_cpu_s / r->wall_s : 0,
	       r->handed_back);
	if (r->kills > 0)
		printf(", mashd killed %d times", r->kills);
	printf("\n  %-30s work: %ld audit records, %ld inbox deliveries, %ld "
	       "s47 triggers = %.0f deliveries/s\n",
	       "", r->audits, r->deliveries, r->triggers,
	       r->wall_s > 0 ? (double)r->deliveries / r->wall_s : 0);
	printf("  %-30s mashd's core thread: %s\n", "", r->stages);
}

static int
whole(const struct result *r)
{
	return r->agents_ok && r->stored == r->fed && r->distinct == r->fed &&
	       r->pending == 0;
}

static int
cmp_rate(const void *a, const void *b)
{
	const struct result *x = a, *y = b;
	double rx = x->wall_s > 0 ? (double)x->stored / x->wall_s : 0;
	double ry = y->wall_s > 0 ? (double)y->stored / y->wall_s : 0;

	return (rx > ry) - (rx < ry);
}

static double
rate_of(const struct result *r)
{
	return r->wall_s > 0 ? (double)r->stored / r->wall_s : 0;
}

/* Inbox deliveries per second: the same feeds make more of them when the
 * agencies interleave (an s47 trigger opens earlier, so later events are
 * shared at L4), so events/s alone under-rates the five-agent run. */
static double
work_rate_of(const struct result *r)
{
	return r->wall_s > 0 ? (double)r->deliveries / r->wall_s : 0;
}

static int
cmp_work_rate(const void *a, const void *b)
{
	double rx = work_rate_of(a), ry = work_rate_of(b);

	return (rx > ry) - (rx < ry);
}

int
main(int argc, char **argv)
{
	struct result one[MAX_RUNS], five[MAX_RUNS], crash;
	char dir[256], cmd[1024], what[64];
	const char *src = getenv("MASH_SOURCE_DIR");
	int64_t n = 10000, kills = 3, window = 128, runs = 3;
	double base;
	double wbase, wfive;
	int bad = 0, i;

	if ((argc > 1 && mash_parse_i64(argv[1], 10, 1000000, &n) != MASH_OK) ||
	    (argc > 2 && mash_parse_i64(argv[2], 0, 20, &kills) != MASH_OK) ||
	    (argc > 3 &&
	     mash_parse_i64(argv[3], 1, 100000, &window) != MASH_OK) ||
	    (argc > 4 &&
	     mash_parse_i64(argv[4], 1, MAX_RUNS, &runs) != MASH_OK) ||
	    argc > 5) {
		fprintf(stderr,
		        "usage: bench_agents [N [KILLS [WINDOW [RUNS]]]]\n");
		return 2;
	}
	(void)mash_test_tmpdir(dir, sizeof(dir));
	(void)snprintf(cmd, sizeof(cmd),
	               "python3 %s/bench/gen-feeds %s %lld 1000 22 B22 "
	               ">/dev/null",
	               src != NULL ? src : ".", dir, (long long)n);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_agents: gen-feeds failed\n");
		return 1;
	}
	printf("bench_agents: %lld records about 1000 children, policy on, "
	       "agents' window %lld, mashd queue 1024, batch 32, %lld runs "
	       "of each\n",
	       (long long)n, (long long)window, (long long)runs);
	fflush(stdout);
	/* Alternate the two so that a slow spell of the machine (another
	 * tenant, a disk flush) falls on both, then compare medians. */
	for (i = 0; i < runs; i++) {
		if (run(dir, 0, 0, (int)window, &one[i]) != 0 ||
		    run(dir, 1, 0, (int)window, &five[i]) != 0) {
			fprintf(stderr,
			        "bench_agents: a run could not start\n");
			bad = 1;
			goto out;
		}
		(void)snprintf(what, sizeof(what),
		               "one agent at a time (%d):", i + 1);
		print(what, &one[i], 0);
		(void)snprintf(what, sizeof(what),
		               "five agents together (%d):", i + 1);
		print(what, &five[i], rate_of(&one[i]));
		fflush(stdout);
		bad |= !whole(&one[i]) || !whole(&five[i]);
	}
	qsort(one, (size_t)runs, sizeof(one[0]), cmp_rate);
	qsort(five, (size_t)runs, sizeof(five[0]), cmp_rate);
	base = rate_of(&one[runs / 2]);
	printf("  medians: one agent at a time %.1f events/s, five together "
	       "%.1f events/s (%.2fx one agent)\n",
	       base, rate_of(&five[runs / 2]),
	       base > 0 ? rate_of(&five[runs / 2]) / base : 0);
	qsort(one, (size_t)runs, sizeof(one[0]), cmp_work_rate);
	qsort(five, (size_t)runs, sizeof(five[0]), cmp_work_rate);
	wbase = work_rate_of(&one[runs / 2]);
	wfive = work_rate_of(&five[runs / 2]);
	printf("  work medians: one agent at a time %.0f deliveries/s, five "
	       "together %.0f deliveries/s (%.2fx one agent)\n",
	       wbase, wfive, wbase > 0 ? wfive / wbase : 0);
	fflush(stdout);
	if (kills > 0) {
		if (run(dir, 1, (int)kills, (int)window, &crash) != 0) {
			bad = 1;
			goto out;
		}
		print("five agents, mashd killed:", &crash, base);
		bad |= !whole(&crash) || crash.kills != kills;
	}
out:
	mash_test_rmtree(dir);
	if (bad)
		printf("bench_agents: FAILED: a record was lost or duplicated, "
		       "or an agent failed\n");
	return bad ? 1 : 0;
}
