/* Integration: mash-agent over a real mosquitto and the receiving daemon
 * (support/agent_env.h): every agency's sample feed is receipted
 * ACCEPTED, a re-run is receipted DUPLICATE and stores nothing new, bad
 * lines are reported with line and reason while the rest goes through,
 * --follow tails a growing feed and resumes after a restart, and bad
 * usage or unreadable input exits 2. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "mash/v1/mash.pb-c.h"
#include "support/agent_env.h"
#include "support/broker.h"

static struct mash_test_agents *env;

static void
setup(void)
{
	ck_assert_int_eq(mash_test_agents_start(300, 2000, &env), 0);
}

static void
teardown(void)
{
	mash_test_agents_free(env);
	env = NULL;
}

static const char *
sample(const char *rel, char *buf, size_t bufsz)
{
	const char *src = getenv("MASH_SOURCE_DIR");

	(void)snprintf(buf, bufsz, "%s/agents/samples/%s",
	               src != NULL ? src : ".", rel);
	return buf;
}

static const struct {
	const char *agency;
	const char *file;
	long good;
} samples[] = {
    {"police", "police.csv", 2},   {"education", "education.csv", 1},
    {"housing", "housing.csv", 1}, {"health", "health.csv", 1},
    {"yot", "yot.csv", 1},         {"social-care", "social-care.jsonl", 1},
};

START_TEST(sample_feed_is_accepted_then_duplicate_on_rerun)
{
	struct mash_test_summary s;
	char path[1024], *out = NULL, *err = NULL;
	long distinct;
	int code;

	sample(samples[_i].file, path, sizeof(path));
	code = mash_test_agents_run(env, samples[_i].agency, path, 120000, &out,
	                            &err, &s);
	ck_assert_msg(code == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", code, out,
	              err);
	ck_assert_int_eq(s.records, samples[_i].good);
	ck_assert_int_eq(s.accepted, samples[_i].good);
	ck_assert_int_eq(s.duplicate, 0);
	ck_assert_int_eq(s.rejected_by_agent, 0);
	ck_assert_int_eq(s.rejected_by_daemon, 0);
	ck_assert_int_eq(s.pending, 0);
	ck_assert_int_eq(
	    mash_test_agents_count(env, samples[_i].agency, &distinct),
	    samples[_i].good);
	free(out);
	free(err);

	/* The same feed again: the same event ids, acknowledged again,
	 * stored once. */
	code = mash_test_agents_run(env, samples[_i].agency, path, 120000, &out,
	                            &err, &s);
	ck_assert_msg(code == 0, "exit %d\nstdout:\n%s\nstderr:\n%s", code, out,
	              err);
	ck_assert_int_eq(s.duplicate, samples[_i].good);
	ck_assert_int_eq(s.accepted, 0);
	ck_assert_int_eq(s.pending, 0);
	ck_assert_int_eq(
	    mash_test_agents_count(env, samples[_i].agency, &distinct),
	    samples[_i].good);
	ck_assert_int_eq(distinct, samples[_i].good);
	free(out);
	free(err);
}
END_TEST

static const struct {
	const char *agency;
	const char *file;
	long good, bad;
	const char *line; /* one expected stderr line */
} bad_feeds[] = {
    {"police", "bad/police-bad.csv", 2, 6,
     "police-bad.csv:4: occurred_at: not a date '2026-13-01'\n"},
    {"health", "bad/health-bad.csv", 1, 4,
     "health-bad.csv:6: nhs_number: Modulus 11 check digit does not "
     "match\n"},
    {"education", "bad/education-bad.csv", 1, 4,
     "education-bad.csv:4: category: unknown category 'TRUANCY'\n"},
    {"yot", "bad/yot-bad.csv", 1, 4,
     "yot-bad.csv:3: next_court_date: not a date '2026-02-30'\n"},
    {"housing", "bad/housing-bad.csv", 1, 4,
     "housing-bad.csv:6: landlord_concern: longer than 4096 bytes"},
    {"social-care", "bad/social-care-bad.jsonl", 1, 6,
     "social-care-bad.jsonl:2: severity: wrong type (string), expected an "
     "integer\n"},
};

START_TEST(bad_lines_are_reported_and_the_rest_is_sent)
{
	struct mash_test_summary s;
	char path[1024], *out = NULL, *err = NULL;
	int code;

	sample(bad_feeds[_i].file, path, sizeof(path));
	code = mash_test_agents_run(env, bad_feeds[_i].agency, path, 120000,
	                            &out, &err, &s);
	ck_assert_msg(code == 1, "exit %d\nstdout:\n%s\nstderr:\n%s", code, out,
	              err);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, bad_feeds[_i].line) != NULL,
	              "stderr lacks '%s':\n%s", bad_feeds[_i].line, err);
	ck_assert_int_eq(s.rejected_by_agent, bad_feeds[_i].bad);
	ck_assert_int_eq(s.accepted, bad_feeds[_i].good);
	ck_assert_int_eq(s.pending, 0);
	ck_assert_int_eq(
	    mash_test_agents_count(env, bad_feeds[_i].agency, NULL),
	    bad_feeds[_i].good);
	free(out);
	free(err);
}
END_TEST

static int
run_argv(const char *const argv[], char **err)
{
	char errp[600];
	pid_t pid;
	int status = 0;

	(void)snprintf(errp, sizeof(errp), "%s/usage.err",
	               mash_test_agents_dir(env));
	unlink(errp);
	pid = mash_test_spawn(argv, NULL, NULL, errp);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(mash_test_wait(pid, 30000, &status), 0);
	*err = mash_test_read_file(errp, 1 << 16, NULL);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(bad_usage_or_unreadable_input_exits_2)
{
	const char *bindir = getenv("MASH_BIN_DIR");
	const char *cfg = mash_test_agents_config(env, "police");
	char bin[512], empty[600], feed[1024], badcfg[600], *err = NULL;

	(void)snprintf(bin, sizeof(bin), "%s/mash-agent",
	               bindir != NULL ? bindir : "build/bin");
	sample("police.csv", feed, sizeof(feed));
	(void)snprintf(empty, sizeof(empty), "%s/empty.csv",
	               mash_test_agents_dir(env));
	ck_assert_int_eq(mash_test_write_file(empty, "", 0), 0);
	(void)snprintf(badcfg, sizeof(badcfg), "%s/bad.cfg",
	               mash_test_agents_dir(env));
	ck_assert_int_eq(mash_test_write_file(badcfg, "agent = { mqtt = ", 17),
	                 0);
	{
		const char *a[] = {bin,        "--config", cfg,
		                   "--agency", "police",   NULL};
		ck_assert_int_eq(run_argv(a, &err), 2);
		ck_assert_ptr_nonnull(strstr(err, "--input"));
		free(err);
	}
	{
		const char *a[] = {bin,   "--config", cfg,  "--agency",
		                   "mi5", "--input",  feed, NULL};
		ck_assert_int_eq(run_argv(a, &err), 2);
		ck_assert_ptr_nonnull(strstr(err, "unknown agency 'mi5'"));
		free(err);
	}
	{
		const char *a[] = {bin,
		                   "--config",
		                   cfg,
		                   "--agency",
		                   "police",
		                   "--input",
		                   "/nonexistent/police.csv",
		                   NULL};
		ck_assert_int_eq(run_argv(a, &err), 2);
		ck_assert_ptr_nonnull(strstr(err, "/nonexistent/police.csv"));
		free(err);
	}
	{
		const char *a[] = {bin,      "--config", badcfg, "--agency",
		                   "police", "--input",  feed,   NULL};
		ck_assert_int_eq(run_argv(a, &err), 2);
		ck_assert_ptr_nonnull(strstr(err, "bad.cfg:"));
		free(err);
	}
	{
		const char *a[] = {bin,      "--config", cfg,   "--agency",
		                   "police", "--input",  empty, NULL};
		ck_assert_int_eq(run_argv(a, &err), 2);
		ck_assert_ptr_nonnull(
		    strstr(err, "empty.csv:1: no header row"));
		free(err);
	}
	{
		/* The config's agency must be the one asked for. */
		const char *a[] = {bin,      "--config", cfg,  "--agency",
		                   "health", "--input",  feed, NULL};
		ck_assert_int_eq(run_argv(a, &err), 2);
		ck_assert_ptr_nonnull(strstr(err, "--agency is 'health'"));
		free(err);
	}
}
END_TEST

static void
append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const char follow_header[] =
    "occurrence_ref,category,occurred_at,nhs_number,severity,consent\n";

static char *
follow_line(int n)
{
	static char buf[128];

	(void)snprintf(buf, sizeof(buf),
	               "FOL-%04d,MISSING_EPISODE,2026-09-%02dT10:00:00Z,"
	               "4010230002,1,NOT_SOUGHT\n",
	               n, 1 + n % 28);
	return buf;
}

static void
stop_agent(pid_t pid, const char *tag, struct mash_test_summary *s)
{
	char p[600], *out;
	int status = 0;

	ck_assert_int_eq(mash_test_kill(pid, SIGTERM, 30000, &status), 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	(void)snprintf(p, sizeof(p), "%s/%s.out", mash_test_agents_dir(env),
	               tag);
	out = mash_test_read_file(p, 1 << 20, NULL);
	mash_test_agents_parse_summary(out, s);
	free(out);
}

START_TEST(follow_tails_a_growing_feed_and_resumes_after_restart)
{
	struct mash_test_summary s;
	char feed[600];
	pid_t pid;

	(void)snprintf(feed, sizeof(feed), "%s/police-live.csv",
	               mash_test_agents_dir(env));
	ck_assert_int_eq(
	    mash_test_write_file(feed, follow_header, strlen(follow_header)),
	    0);
	append(feed, follow_line(1));
	pid = mash_test_agents_spawn(env, "police", feed, 1, "follow-1");
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(mash_test_agents_wait_count(env, "police", 1, 30000),
	                 0);
	/* A line written in two pieces is taken only once it is whole. */
	append(feed, "FOL-0002,MISSING_EPISODE,2026-09-03");
	mash_test_sleep_ms(500);
	append(feed, "T10:00:00Z,4010230002,1,NOT_SOUGHT\n");
	append(feed, follow_line(3));
	ck_assert_int_eq(mash_test_agents_wait_count(env, "police", 3, 30000),
	                 0);
	mash_test_sleep_ms(300); /* let the receipts arrive */
	stop_agent(pid, "follow-1", &s);
	ck_assert_int_eq(s.records, 3);
	ck_assert_int_eq(s.rejected_by_agent, 0);

	/* Restart: lines already taken are not read again. */
	pid = mash_test_agents_spawn(env, "police", feed, 1, "follow-2");
	ck_assert_int_gt(pid, 0);
	mash_test_sleep_ms(1000);
	append(feed, follow_line(4));
	ck_assert_int_eq(mash_test_agents_wait_count(env, "police", 4, 30000),
	                 0);
	mash_test_sleep_ms(300);
	stop_agent(pid, "follow-2", &s);
	ck_assert_int_eq(s.records, 1);
	ck_assert_int_eq(s.accepted, 1);
	ck_assert_int_eq(s.duplicate, 0);
	ck_assert_int_eq(mash_test_agents_count(env, "police", NULL), 4);
}
END_TEST

static long
outbox_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long v = -1;

	if (sqlite3_open_v2(mash_test_agents_outbox(env, "police"), &db,
	                    SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Publish an ACCEPTED receipt for event_id signed by key as (signer,
 * key_id) on police's receipts topic. */
static void
forge(struct mash_mq *mq, const struct mash_key *key, const char *signer,
      const char *key_id, const char *event_id)
{
	Mash__V1__Receipt r = MASH__V1__RECEIPT__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;

	r.event_id = (char *)event_id;
	r.agency = (char *)"police";
	r.status = MASH__V1__RECEIPT__STATUS__ACCEPTED;
	ck_assert_int_eq(mash_env_seal_msg(key, signer, key_id,
	                                   (const ProtobufCMessage *)&r, &buf,
	                                   &len),
	                 MASH_OK);
	ck_assert_int_eq(mash_mq_publish(mq, "mash/v1/receipts/police", buf,
	                                 len, 0, NULL, 5000),
	                 MASH_OK);
	free(buf);
}

START_TEST(forged_receipts_settle_nothing)
{
	static const char *const ids[] = {
	    "18cad656-2dd0-5c02-8756-ee8c41f6de13",
	    "0c728316-d13f-5b23-85f0-316b55f0a880"};
	struct mash_mq_opts o;
	struct mash_test_tls tls_h;
	struct mash_mq *mq = NULL;
	struct mash_key *rogue = NULL;
	struct mash_test_summary s;
	char feed[1024], p[600], *out, *err;
	pid_t pid;
	int i, status = 0;

	sample("police.csv", feed, sizeof(feed));
	mash_test_agents_pause(env, 1);
	pid = mash_test_agents_spawn(env, "police", feed, 0, "forged");
	ck_assert_int_gt(pid, 0);
	for (i = 0;
	     i < 600 && outbox_int("SELECT count(*) FROM "
	                           "mash_outbox_events WHERE attempts > 0") < 2;
	     i++)
		mash_test_sleep_ms(50);
	ck_assert_int_lt(i, 600);

	ck_assert_int_eq(mash_key_generate(&rogue), MASH_OK);
	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(mash_test_agents_broker(env),
	                         MASH_TEST_HARNESS, &tls_h, &o);
	o.client_id = "it-forger";
	o.clean_start = 1;
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(mq, 10000), MASH_OK);
	for (i = 0; i < 2; i++) {
		/* Right names, wrong key; and a key id nobody trusts. */
		forge(mq, rogue, "mashd", "mashd-1", ids[i]);
		forge(mq, rogue, "mashd", "mashd-9", ids[i]);
		forge(mq, rogue, "police", "police-1", ids[i]);
	}
	mash_test_sleep_ms(1500);
	ck_assert_int_eq(outbox_int("SELECT count(*) FROM mash_outbox_events"
	                            " WHERE state = 0"),
	                 2);
	(void)mash_mq_disconnect(mq, 1000);
	mash_mq_free(mq);
	mash_key_free(rogue);

	/* The real receipts settle them. */
	mash_test_agents_pause(env, 0);
	ck_assert_int_eq(mash_test_wait(pid, 120000, &status), 0);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	(void)snprintf(p, sizeof(p), "%s/forged.out",
	               mash_test_agents_dir(env));
	out = mash_test_read_file(p, 1 << 20, NULL);
	mash_test_agents_parse_summary(out, &s);
	ck_assert_int_eq(s.accepted, 2);
	ck_assert_int_eq(s.pending, 0);
	(void)snprintf(p, sizeof(p), "%s/forged.err",
	               mash_test_agents_dir(env));
	err = mash_test_read_file(p, 1 << 20, NULL);
	ck_assert_ptr_nonnull(strstr(err, "refused a receipt: BAD_SIGNATURE"));
	ck_assert_ptr_nonnull(strstr(err, "refused a receipt: UNKNOWN_KEY"));
	ck_assert_ptr_nonnull(
	    strstr(err, "refused a receipt: SIGNER_MISMATCH"));
	free(out);
	free(err);
}
END_TEST

START_TEST(receipts_verify_with_the_daemon_public_key_alone)
{
	const char *cfg = mash_test_agents_config(env, "police");
	struct mash_test_summary s;
	char feed[1024], *text, *at, *out = NULL, *err = NULL, *neu;
	const char *old = "receipts = { trust_store = \"trust-agents\"; };";
	const char *rep = "receipts = { daemon_public_key = "
	                  "\"keys/mashd/mashd-1.pub.pem\"; daemon_key_id = "
	                  "\"mashd-1\"; };";
	size_t len, nlen;
	int code;

	text = mash_test_read_file(cfg, 1 << 16, &len);
	ck_assert_ptr_nonnull(text);
	at = strstr(text, old);
	ck_assert_ptr_nonnull(at);
	nlen = len - strlen(old) + strlen(rep);
	neu = malloc(nlen + 1);
	ck_assert_ptr_nonnull(neu);
	memcpy(neu, text, (size_t)(at - text));
	memcpy(neu + (at - text), rep, strlen(rep));
	memcpy(neu + (at - text) + strlen(rep), at + strlen(old),
	       len - (size_t)(at - text) - strlen(old));
	ck_assert_int_eq(mash_test_write_file(cfg, neu, nlen), 0);
	free(text);
	free(neu);

	sample("police.csv", feed, sizeof(feed));
	code =
	    mash_test_agents_run(env, "police", feed, 120000, &out, &err, &s);
	ck_assert_msg(code == 0, "exit %d\n%s\n%s", code, out, err);
	ck_assert_int_eq(s.accepted, 2);
	ck_assert_int_eq(s.pending, 0);
	free(out);
	free(err);
}
END_TEST

static Suite *
agents_suite(void)
{
	Suite *s = suite_create("it_agents");
	TCase *tc = tcase_create("agents");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, sample_feed_is_accepted_then_duplicate_on_rerun,
	                    0, sizeof(samples) / sizeof(samples[0]));
	tcase_add_loop_test(tc, bad_lines_are_reported_and_the_rest_is_sent, 0,
	                    sizeof(bad_feeds) / sizeof(bad_feeds[0]));
	tcase_add_test(tc, bad_usage_or_unreadable_input_exits_2);
	tcase_add_test(tc,
	               follow_tails_a_growing_feed_and_resumes_after_restart);
	tcase_add_test(tc, forged_receipts_settle_nothing);
	tcase_add_test(tc, receipts_verify_with_the_daemon_public_key_alone);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(agents_suite());
	int failed;

	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
