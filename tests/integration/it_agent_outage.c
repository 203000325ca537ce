/* Integration: the agent never loses a concern. The broker is stopped
 * while an agent sends 1,000 events and started again on the same port:
 * every event ends up receipted, stored exactly once. And an agent killed
 * (SIGKILL) half-way through its feed and started again loses nothing
 * and stores nothing twice. Real mosquitto, real SQLite files. */
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

static struct mash_test_agents *env;

static void
setup(void)
{
	ck_assert_int_eq(mash_test_agents_start(500, 3000, &env), 0);
}

static void
teardown(void)
{
	mash_test_agents_free(env);
	env = NULL;
}

/* A police feed of n distinct notifications about fictional children. */
static void
write_feed(const char *path, int n)
{
	static const char *const nhs[] = {"4010230002", "4857770008",
	                                  "4505570002", "9434760003"};
	FILE *f = fopen(path, "w");
	int i;

	ck_assert_ptr_nonnull(f);
	fputs("occurrence_ref,notification_type,category,occurred_at,"
	      "nhs_number,severity,consent,summary\n",
	      f);
	for (i = 0; i < n; i++)
		fprintf(f,
		        "LOAD-%05d,child-concern-notification,NEGLECT,"
		        "2026-%02d-%02dT%02d:%02d:00Z,%s,%d,NOT_SOUGHT,"
		        "\"Concern %d: child found alone at home, "
		        "no food in the house\"\n",
		        i, 1 + i % 9, 1 + i % 28, i % 24, i % 60, nhs[i % 4],
		        i % 4, i);
	fclose(f);
}

static void
dump(const char *tag)
{
	mash_test_agents_dump(env, tag);
}

static void
wait_stored(const char *tag, long n)
{
	if (mash_test_agents_wait_count(env, "police", n, 120000) != 0) {
		dump(tag);
		ck_abort_msg("fewer than %ld events stored after 120 s (%ld)",
		             n, mash_test_agents_count(env, "police", NULL));
	}
}

static void
read_summary(const char *tag, struct mash_test_summary *s, char **out)
{
	char p[600];

	(void)snprintf(p, sizeof(p), "%s/%s.out", mash_test_agents_dir(env),
	               tag);
	*out = mash_test_read_file(p, 1 << 20, NULL);
	mash_test_agents_parse_summary(*out, s);
}

START_TEST(broker_outage_loses_nothing_and_stores_nothing_twice)
{
	struct mash_test_summary s;
	char feed[600], *out = NULL;
	long distinct = 0;
	pid_t pid;
	int status = 0;

	(void)snprintf(feed, sizeof(feed), "%s/police-load.csv",
	               mash_test_agents_dir(env));
	write_feed(feed, 1000);
	pid = mash_test_agents_spawn(env, "police", feed, 0, "outage");
	ck_assert_int_gt(pid, 0);
	/* Mid-stream: some events stored, most still to come. */
	wait_stored("outage", 100);
	ck_assert_int_lt(mash_test_agents_count(env, "police", NULL), 1000);
	ck_assert_int_eq(mash_test_broker_stop(mash_test_agents_broker(env)),
	                 0);
	mash_test_sleep_ms(4000);
	ck_assert_int_eq(mash_test_broker_restart(mash_test_agents_broker(env)),
	                 0);
	if (mash_test_wait(pid, 300000, &status) != 0) {
		dump("outage");
		ck_abort_msg("agent still running after 300 s");
	}
	read_summary("outage", &s, &out);
	if (s.pending != 0 || s.accepted + s.duplicate != 1000)
		dump("outage");
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "agent status %d\n%s", status, out);
	ck_assert_int_eq(s.records, 1000);
	ck_assert_int_eq(s.accepted + s.duplicate, 1000);
	ck_assert_int_eq(s.pending, 0);
	ck_assert_int_eq(s.rejected_by_daemon, 0);
	ck_assert_int_eq(mash_test_agents_count(env, "police", &distinct),
	                 1000);
	ck_assert_int_eq(distinct, 1000);
	free(out);
}
END_TEST

START_TEST(agent_killed_half_way_resends_from_its_outbox)
{
	struct mash_test_summary s;
	char feed[600], *out = NULL, *err = NULL;
	long distinct = 0, before;
	pid_t pid;
	int code;

	(void)snprintf(feed, sizeof(feed), "%s/police-load.csv",
	               mash_test_agents_dir(env));
	write_feed(feed, 300);
	pid = mash_test_agents_spawn(env, "police", feed, 0, "killed");
	ck_assert_int_gt(pid, 0);
	wait_stored("killed", 30);
	(void)mash_test_kill(pid, SIGKILL, 1000, NULL);
	before = mash_test_agents_count(env, "police", NULL);
	ck_assert_int_lt(before, 300);

	code =
	    mash_test_agents_run(env, "police", feed, 300000, &out, &err, &s);
	ck_assert_msg(code == 0, "exit %d\n%s\n%s", code, out, err);
	/* Events stored before the kill come back DUPLICATE, or ACCEPTED when
	 * the receipt of the first send was waiting in the agent's MQTT
	 * session: either way each is settled once and stored once. */
	ck_assert_int_eq(s.records, 300);
	ck_assert_int_eq(s.accepted + s.duplicate, 300);
	ck_assert_int_eq(s.pending, 0);
	ck_assert_int_eq(mash_test_agents_count(env, "police", &distinct), 300);
	ck_assert_int_eq(distinct, 300);
	free(out);
	free(err);
}
END_TEST

static Suite *
outage_suite(void)
{
	Suite *s = suite_create("it_agent_outage");
	TCase *tc = tcase_create("outage");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 500);
	tcase_add_test(tc,
	               broker_outage_loses_nothing_and_stores_nothing_twice);
	tcase_add_test(tc, agent_killed_half_way_resends_from_its_outbox);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(outage_suite());
	int failed;

	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
