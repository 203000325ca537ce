/* Integration (issue 22): five agency agents at once against a daemon
 * whose receive queue is smaller than their combined in-flight windows.
 * Every record is receipted and stored exactly once, nobody re-sends
 * while the daemon is healthy, the daemon never hands a message back to
 * Paho; mashd SIGKILLed twice under the backlog still loses nothing, the
 * agents re-sending at once on its new incarnation (daemon/status.h); and
 * an agent stopped at its --deadline with records pending says so in its
 * exit status. Real mosquitto, real mashd, real SQLite files. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "support/agent_env.h"
#include "support/broker.h"

static const char *const agencies[] = {"police", "health", "education", "yot",
                                       "housing"};
#define N_AG 5

static struct mash_test_agents *env;

static void
start(int bmin, int bmax)
{
	struct mash_test_agents_opts o;

	memset(&o, 0, sizeof(o));
	o.backoff_min_ms = bmin;
	o.backoff_max_ms = bmax;
	o.max_inflight = 48; /* 5 x 48 = 240 in flight ... */
	o.mashd_queue = 32;  /* ... against a queue of 32 */
	o.mashd_batch = 8;
	ck_assert_int_eq(mash_test_agents_start_opts(&o, &env), 0);
	ck_assert_msg(mash_test_agents_real_daemon(env),
	              "this test needs the real mashd");
}

static void
teardown(void)
{
	mash_test_agents_free(env);
	env = NULL;
}

/* A feed of n distinct records for agency: the first record of the
 * agency's sample feed with a fresh reference and no event id (derived
 * from the reference), so every line is valid and distinct. */
static void
write_feed(const char *agency, int n, char *path, size_t pathsz)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char sample[600], *text, *l1, *l2, *rest;
	FILE *f;
	int i;

	(void)snprintf(sample, sizeof(sample), "%s/agents/samples/%s.csv",
	               src != NULL ? src : ".", agency);
	text = mash_test_read_file(sample, 1 << 20, NULL);
	ck_assert_ptr_nonnull(text);
	l1 = strchr(text, '\n');
	ck_assert_ptr_nonnull(l1);
	*l1++ = '\0';
	l2 = strchr(l1, '\n');
	if (l2 != NULL)
		*l2 = '\0';
	rest = strchr(l1, ',');
	ck_assert_ptr_nonnull(rest);
	rest = strchr(rest + 1, ','); /* after record ref and event id */
	ck_assert_ptr_nonnull(rest);
	(void)snprintf(path, pathsz, "%s/load-%s.csv",
	               mash_test_agents_dir(env), agency);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", text);
	for (i = 0; i < n; i++)
		fprintf(f, "LOAD-%s-%05d,%s\n", agency, i, rest);
	fclose(f);
	free(text);
}

static void
dump(const char *tag)
{
	mash_test_agents_dump(env, tag);
}

static void
spawn_all(int n, const char *deadline_s, pid_t *pids)
{
	const char *const dl[] = {"--deadline", deadline_s, NULL};
	char feed[600];
	int i;

	for (i = 0; i < N_AG; i++) {
		write_feed(agencies[i], n, feed, sizeof(feed));
		pids[i] = mash_test_agents_spawn_args(env, agencies[i], feed,
		                                      dl, agencies[i]);
		ck_assert_int_gt(pids[i], 0);
	}
}

/* Wait for every agent; each must exit 0 with n receipted, none pending;
 * the re-sends of all agents summed into *resent. */
static void
wait_all(int n, long *resent)
{
	struct mash_test_summary s;
	char p[600], *out;
	int i;

	*resent = 0;
	for (i = 0; i < N_AG; i++) {
		(void)snprintf(p, sizeof(p), "%s/%s.out",
		               mash_test_agents_dir(env), agencies[i]);
		out = mash_test_read_file(p, 1 << 20, NULL);
		mash_test_agents_parse_summary(out, &s);
		if (s.pending != 0 || s.accepted + s.duplicate != n)
			dump(agencies[i]);
		ck_assert_msg(s.records == n && s.accepted + s.duplicate == n &&
		                  s.pending == 0 && s.rejected_by_daemon == 0,
		              "%s: %s", agencies[i], out != NULL ? out : "");
		*resent += s.resent;
		free(out);
	}
}

static void
reap(pid_t *pids)
{
	int i, status;

	for (i = 0; i < N_AG; i++) {
		status = 0;
		if (mash_test_wait(pids[i], 360000, &status) != 0) {
			dump(agencies[i]);
			(void)mash_test_kill(pids[i], SIGKILL, 1000, NULL);
			ck_abort_msg("%s: agent still running after 360 s",
			             agencies[i]);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			dump(agencies[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "%s: agent status %d", agencies[i], status);
	}
}

static int
mashd_log_has(const char *needle)
{
	char p[600], *text;
	int found = 0, i;

	for (i = 0; i < 4; i++) {
		if (i == 0)
			(void)snprintf(p, sizeof(p), "%s/mashd.log",
			               mash_test_agents_dir(env));
		else
			(void)snprintf(p, sizeof(p), "%s/mashd.%d.log",
			               mash_test_agents_dir(env), i);
		text = mash_test_read_file(p, 64u << 20, NULL);
		if (text != NULL && strstr(text, needle) != NULL)
			found = 1;
		free(text);
	}
	return found;
}

static int
agents_err_has(const char *needle)
{
	char p[600], *text;
	int found = 0, i;

	for (i = 0; i < N_AG; i++) {
		(void)snprintf(p, sizeof(p), "%s/%s.err",
		               mash_test_agents_dir(env), agencies[i]);
		text = mash_test_read_file(p, 64u << 20, NULL);
		if (text != NULL && strstr(text, needle) != NULL)
			found = 1;
		free(text);
	}
	return found;
}

START_TEST(five_agents_over_a_small_queue_store_every_record_once)
{
	pid_t pids[N_AG];
	long distinct = 0, resent = 0;

	/* A re-send backoff far above a healthy daemon's receipt time:
	 * any re-send here is a needless one. */
	start(30000, 60000);
	spawn_all(200, "300", pids);
	reap(pids);
	wait_all(200, &resent);
	ck_assert_int_eq(resent, 0);
	ck_assert_int_eq(mash_test_agents_count(env, NULL, &distinct),
	                 N_AG * 200);
	ck_assert_int_eq(distinct, N_AG * 200);
	ck_assert_msg(!mashd_log_has("handed back"),
	              "mashd handed a message back to Paho");
}
END_TEST

START_TEST(mashd_killed_twice_under_a_backlog_loses_nothing)
{
	pid_t pids[N_AG];
	long distinct = 0, resent = 0, n;

	/* A backoff beyond the agents' deadline: only the daemon's status
	 * (a new incarnation after each restart) can make them re-send what
	 * each crash lost in time. */
	start(120000, 240000);
	spawn_all(300, "100", pids);
	ck_assert_int_eq(mash_test_agents_wait_count(env, NULL, 200, 120000),
	                 0);
	ck_assert_int_eq(mash_test_agents_crash_mashd(env), 0);
	n = mash_test_agents_count(env, NULL, NULL);
	ck_assert_int_eq(
	    mash_test_agents_wait_count(env, NULL, n + 300, 120000), 0);
	ck_assert_int_lt(mash_test_agents_count(env, NULL, NULL), N_AG * 300);
	ck_assert_int_eq(mash_test_agents_crash_mashd(env), 0);
	reap(pids);
	wait_all(300, &resent);
	ck_assert_int_eq(mash_test_agents_count(env, NULL, &distinct),
	                 N_AG * 300);
	ck_assert_int_eq(distinct, N_AG * 300);
	/* The events mashd had taken but not committed came back only
	 * through re-sends, forced by its new incarnation. */
	ck_assert_int_gt(resent, 0);
	ck_assert_msg(agents_err_has("daemon restarted"),
	              "no agent saw the daemon restart");
}
END_TEST

START_TEST(agent_stopped_at_its_deadline_with_records_pending_exits_1)
{
	static const char *const dl[] = {"--deadline", "3", NULL};
	struct mash_test_summary s;
	char feed[600], p[600], *out, *err;
	pid_t pid;
	int status = 0;

	start(1000, 4000);
	write_feed("police", 20, feed, sizeof(feed));
	mash_test_agents_pause(env, 1); /* the daemon stops answering */
	pid = mash_test_agents_spawn_args(env, "police", feed, dl, "late");
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(mash_test_wait(pid, 60000, &status), 0);
	mash_test_agents_pause(env, 0);
	(void)snprintf(p, sizeof(p), "%s/late.out", mash_test_agents_dir(env));
	out = mash_test_read_file(p, 1 << 20, NULL);
	(void)snprintf(p, sizeof(p), "%s/late.err", mash_test_agents_dir(env));
	err = mash_test_read_file(p, 1 << 20, NULL);
	mash_test_agents_parse_summary(out, &s);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	              "status %d\n%s\n%s", status, out, err);
	ck_assert_int_eq(s.records, 20);
	ck_assert_int_eq(s.sent, 20);
	ck_assert_int_eq(s.accepted, 0);
	ck_assert_int_eq(s.pending, 20);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "deadline reached with 20 events") != NULL,
	              "%s", err);
	free(out);
	free(err);
}
END_TEST

static Suite *
five_suite(void)
{
	Suite *s = suite_create("it_five_agents");
	TCase *tc = tcase_create("flow");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 500);
	tcase_add_test(tc,
	               five_agents_over_a_small_queue_store_every_record_once);
	tcase_add_test(tc, mashd_killed_twice_under_a_backlog_loses_nothing);
	tcase_add_test(
	    tc, agent_stopped_at_its_deadline_with_records_pending_exits_1);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(five_suite());
	int failed;

	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
