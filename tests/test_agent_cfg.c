/* Unit tests for agents/agent_cfg: the shipped example configs load;
 * every refusal names the file, line and setting; relative paths are
 * taken from the config file's directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/agent_cfg.h"
#include "common/err.h"

static char dir[64];
static char path[128];

static void
setup(void)
{
	(void)snprintf(dir, sizeof(dir), "/tmp/mash-agentcfg-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/agent.cfg", dir);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

static int
load_text(const char *text, const char *agency, struct mash_agent_cfg **c,
          char *why, size_t whylen)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return mash_agent_cfg_load(path, agency, c, why, whylen);
}

START_TEST(shipped_example_configs_load)
{
	static const char *const agencies[] = {
	    "police", "health", "education", "yot", "housing", "social-care"};
	const char *src = getenv("MASH_SOURCE_DIR");
	struct mash_agent_cfg *c = NULL;
	char p[1024], why[512];

	(void)snprintf(p, sizeof(p), "%s/agents/agent-%s.cfg",
	               src != NULL ? src : ".", agencies[_i]);
	ck_assert_msg(mash_agent_cfg_load(p, agencies[_i], &c, why,
	                                  sizeof(why)) == MASH_OK,
	              "%s", why);
	ck_assert_str_eq(c->agency, agencies[_i]);
	ck_assert_str_eq(c->signer, agencies[_i]);
	ck_assert_str_eq(c->daemon_signer, "mashd");
	ck_assert_ptr_nonnull(c->trust_store);
	ck_assert_ptr_null(c->daemon_pub);
	ck_assert_int_eq(c->backoff_min_ms, 30000);
	ck_assert_int_eq(c->backoff_max_ms, 300000);
	ck_assert_ptr_nonnull(strstr(c->outbox, "/agents/../run/outbox-"));
	mash_agent_cfg_free(c);
}
END_TEST

#define GOOD_MQTT                                                              \
	"mqtt = { uri = \"tcp://127.0.0.1:1883\"; client_id = \"a\";"          \
	" insecure = true; };\n"
#define GOOD_SIGN "signer = { key_id = \"k1\"; key_file = \"k.pem\"; };\n"
#define GOOD_RCPT "receipts = { trust_store = \"trust\"; };\n"
#define GOOD_OUT  "outbox = { path = \"ob.db\"; };\n"

START_TEST(defaults_and_relative_paths)
{
	struct mash_agent_cfg *c = NULL;
	char why[512], want[256];

	ck_assert_int_eq(
	    load_text("agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT GOOD_OUT
	              "};\n",
	              "yot", &c, why, sizeof(why)),
	    MASH_OK);
	(void)snprintf(want, sizeof(want), "%s/k.pem", dir);
	ck_assert_str_eq(c->sign_key, want);
	(void)snprintf(want, sizeof(want), "%s/ob.db", dir);
	ck_assert_str_eq(c->outbox, want);
	ck_assert_str_eq(c->signer, "yot");
	ck_assert_int_eq(c->max_inflight, 128);
	ck_assert_int_eq(c->receipt_wait_ms, 60000);
	ck_assert_int_eq(c->verify_peer, 1);
	ck_assert_ptr_null(c->password);
	mash_agent_cfg_free(c);
}
END_TEST

static const struct {
	const char *text;
	const char *why;
} bad[] = {
    {"agent = {\n" GOOD_SIGN GOOD_RCPT GOOD_OUT "};\n",
     "agent.mqtt.uri: missing"},
    {"agent = {\n" GOOD_MQTT GOOD_RCPT GOOD_OUT "};\n",
     "agent.signer.key_id: missing"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_OUT "};\n",
     "set exactly one of trust_store and daemon_public_key"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN
     "receipts = { trust_store = \"t\"; daemon_public_key = \"p\"; "
     "};\n" GOOD_OUT "};\n",
     "set exactly one of"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN
     "receipts = { daemon_public_key = \"p\"; };\n" GOOD_OUT "};\n",
     "daemon_key_id: required"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT "};\n",
     "agent.outbox.path: missing"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT
     "outbox = { path = \"o\";\n backoff_min_ms = \"fast\"; };\n};\n",
     "agent.cfg:6: agent.outbox.backoff_min_ms: expected an integer"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT
     "outbox = { path = \"o\"; backoff_min_ms = 5000;\n"
     " backoff_max_ms = 1000; };\n};\n",
     "backoff_max_ms is below backoff_min_ms"},
    {"agent = {\n agency = \"health\";\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT GOOD_OUT
     "};\n",
     "agent.cfg:2: agent.agency is 'health' but --agency is 'police'"},
    {"agent = {\n" GOOD_MQTT "signer = { id = \"health\"; key_id = \"k\"; "
     "key_file = \"k\"; };\n" GOOD_RCPT GOOD_OUT "};\n",
     "agent.signer.id must be the agency 'police'"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT GOOD_OUT
     "timeouts = { publish_ms = 5; };\n};\n",
     "agent.timeouts.publish_ms: must be 100..600000"},
    {"agent = { mqtt = ", "agent.cfg:1: syntax error"},
    /* A misspelt key is refused, never left at its default (issue 23). */
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT GOOD_OUT
     "timeouts = {\n conect_ms = 500; };\n};\n",
     "agent.cfg:7: unknown setting 'agent.timeouts.conect_ms'"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT GOOD_OUT "};\nagnet = 1;\n",
     "agent.cfg:7: unknown setting 'agnet'"},
    {"agent = {\n" GOOD_MQTT GOOD_SIGN GOOD_RCPT GOOD_OUT "outbx = {};\n};\n",
     "agent.cfg:6: unknown setting 'agent.outbx'"},
    /* Plaintext only when asked for by name (issue 24). */
    {"agent = {\nmqtt = { uri = \"tcp://127.0.0.1:1883\";\n"
     "client_id = \"a\"; };\n" GOOD_SIGN GOOD_RCPT GOOD_OUT "};\n",
     "agent.cfg:2: agent.mqtt.uri: plaintext tcp://"},
};

START_TEST(bad_config_is_refused_naming_file_line_and_setting)
{
	struct mash_agent_cfg *c = (struct mash_agent_cfg *)1;
	char why[512];
	int rc;

	rc = load_text(bad[_i].text, "police", &c, why, sizeof(why));
	ck_assert_int_ne(rc, MASH_OK);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(why, bad[_i].why) != NULL,
	              "case %d: '%s' lacks '%s'", _i, why, bad[_i].why);
}
END_TEST

START_TEST(unreadable_or_unknown_is_refused)
{
	struct mash_agent_cfg *c = NULL;
	char why[512];

	ck_assert_int_eq(mash_agent_cfg_load("/nonexistent/agent.cfg", "police",
	                                     &c, why, sizeof(why)),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_str_eq(why, "/nonexistent/agent.cfg: no such file");
	ck_assert_int_eq(mash_agent_cfg_load(path, "mi5", &c, why, sizeof(why)),
	                 MASH_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(why, "unknown agency 'mi5'"));
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite *s = suite_create("agent_cfg");
	TCase *tc = tcase_create("cfg");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, shipped_example_configs_load, 0, 6);
	tcase_add_test(tc, defaults_and_relative_paths);
	tcase_add_loop_test(tc,
	                    bad_config_is_refused_naming_file_line_and_setting,
	                    0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, unreadable_or_unknown_is_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cfg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
