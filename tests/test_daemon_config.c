/* Unit tests for daemon/config.c: the mashd config key table (libconfig
 * file, overrides, validation), table-driven boundary cases. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "daemon/config.h"
#include "support/broker.h"

static char *dir;
static char path[600];

static void
setup(void)
{
	dir = mash_test_mkdtemp("cfg");
	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/mashd.cfg", dir);
}

static void
teardown(void)
{
	mash_test_rmrf(dir);
	free(dir);
}

static int
read_text(const char *text, struct mashd_config *c, char *err, size_t n)
{
	ck_assert_int_eq(mash_test_write_file(path, text, strlen(text)), 0);
	mashd_config_defaults(c);
	return mashd_config_read(c, path, err, n);
}

START_TEST(defaults_are_safe)
{
	struct mashd_config c;

	mashd_config_defaults(&c);
	ck_assert_int_eq(c.mqtt_clean_start, 0);
	ck_assert_int_eq(c.mqtt_verify_peer, 1);
	ck_assert_str_eq(c.mqtt_subscribe, "mash/v1/events/+");
	ck_assert_str_eq(c.signer, "mashd");
	ck_assert_int_eq(c.max_message, 256 * 1024);
	ck_assert_int_eq(c.store_cache_mib, 64);
}
END_TEST

START_TEST(full_file_is_read)
{
	struct mashd_config c;
	char err[MASHD_CFG_ERR_LEN];

	ck_assert_int_eq(
	    read_text("mqtt = { uri = \"tcp://b:1883\"; insecure = true; "
	              "client_id = \"m2\"; keepalive = 60; "
	              "verify_peer = false; "
	              "subscribe = \"$share/mashd/mash/v1/events/+\"; };\n"
	              "key_id = \"k1\"; key_file = \"/k\";\n"
	              "trust_store = \"/t\"; store = \"/s.db\";\n"
	              "audit = { checkpoint_every_records = 7; };\n",
	              &c, err, sizeof(err)),
	    MASH_OK);
	ck_assert_str_eq(c.mqtt_uri, "tcp://b:1883");
	ck_assert_str_eq(c.mqtt_client_id, "m2");
	ck_assert_int_eq(c.mqtt_keepalive, 60);
	ck_assert_int_eq(c.mqtt_verify_peer, 0);
	ck_assert_str_eq(c.mqtt_subscribe, "$share/mashd/mash/v1/events/+");
	ck_assert_int_eq(c.audit_checkpoint_every_records, 7);
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)), MASH_OK);
}
END_TEST

static const struct {
	const char *text;
	int rc;
	const char *in_err; /* substring of the error */
} bad_files[] = {
    {"trust_stor = \"/t\";\n", MASH_ERR_CONFIG,
     ":1: unknown setting 'trust_stor'"},
    {"\nmqtt = { urii = \"x\"; };\n", MASH_ERR_CONFIG,
     ":2: unknown setting 'mqtt.urii'"},
    {"mqtt = { keepalive = \"30\"; };\n", MASH_ERR_CONFIG,
     "must be an integer"},
    {"mqtt = { keepalive = 4; };\n", MASH_ERR_CONFIG, "outside 5..3600"},
    {"mqtt = { keepalive = 3601; };\n", MASH_ERR_CONFIG, "outside"},
    {"store = 5;\n", MASH_ERR_CONFIG, "must be a string"},
    {"mqtt = { verify_peer = 1; };\n", MASH_ERR_CONFIG, "true or false"},
    {"max_message = 262145;\n", MASH_ERR_CONFIG, "outside"},
    {"\nstore = = \"x\";\n", MASH_ERR_PARSE, ":2:"},
    {"policy = { x = 1; };\n", MASH_ERR_CONFIG, "must be a string"},
    {"store_cache_mib = 0;\n", MASH_ERR_CONFIG, "outside 1..4096"},
    {"store_cache_mib = 4097;\n", MASH_ERR_CONFIG, "outside 1..4096"},
};

START_TEST(bad_files_are_refused_with_file_and_line)
{
	struct mashd_config c;
	char err[MASHD_CFG_ERR_LEN];

	err[0] = '\0';
	ck_assert_int_eq(read_text(bad_files[_i].text, &c, err, sizeof(err)),
	                 bad_files[_i].rc);
	ck_assert_msg(strstr(err, bad_files[_i].in_err) != NULL, "error '%s'",
	              err);
	ck_assert_msg(strstr(err, path) != NULL ||
	                  bad_files[_i].rc != MASH_ERR_CONFIG,
	              "error '%s' does not name the file", err);
}
END_TEST

START_TEST(missing_file_is_io_error)
{
	struct mashd_config c;
	char err[MASHD_CFG_ERR_LEN];

	mashd_config_defaults(&c);
	ck_assert_int_eq(
	    mashd_config_read(&c, "/nonexistent/mashd.cfg", err, sizeof(err)),
	    MASH_ERR_IO);
	ck_assert(strstr(err, "/nonexistent/mashd.cfg") != NULL);
}
END_TEST

START_TEST(every_key_can_be_overridden)
{
	struct mashd_config c;
	char err[MASHD_CFG_ERR_LEN];

	mashd_config_defaults(&c);
	ck_assert_int_eq(
	    mashd_config_set(&c, "mqtt.uri=ssl://h:8883", err, sizeof(err)),
	    MASH_OK);
	ck_assert_str_eq(c.mqtt_uri, "ssl://h:8883");
	ck_assert_int_eq(
	    mashd_config_set(&c, "mqtt.clean_start=true", err, sizeof(err)),
	    MASH_OK);
	ck_assert_int_eq(c.mqtt_clean_start, 1);
	ck_assert_int_eq(mashd_config_set(&c, "audit.checkpoint_every_ms=0",
	                                  err, sizeof(err)),
	                 MASH_OK);
	ck_assert_int_eq(c.audit_checkpoint_every_ms, 0);
	ck_assert_int_eq(
	    mashd_config_set_kv(&c, "store", "/x.db", err, sizeof(err)),
	    MASH_OK);
	ck_assert_str_eq(c.store, "/x.db");
	ck_assert_int_eq(
	    mashd_config_set(&c, "store_cache_mib=8", err, sizeof(err)),
	    MASH_OK);
	ck_assert_int_eq(c.store_cache_mib, 8);
	ck_assert_int_eq(mashd_config_set(&c, "nosuch=1", err, sizeof(err)),
	                 MASH_ERR_CONFIG);
	ck_assert_int_eq(
	    mashd_config_set(&c, "mqtt.keepalive=abc", err, sizeof(err)),
	    MASH_ERR_CONFIG);
	ck_assert_int_eq(
	    mashd_config_set(&c, "mqtt.keepalive", err, sizeof(err)),
	    MASH_ERR_CONFIG);
	ck_assert_int_eq(
	    mashd_config_set(&c, "mqtt.verify_peer=yes", err, sizeof(err)),
	    MASH_ERR_CONFIG);
}
END_TEST

START_TEST(validate_requires_the_essentials)
{
	struct mashd_config c;
	char err[MASHD_CFG_ERR_LEN];

	mashd_config_defaults(&c);
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)),
	                 MASH_ERR_CONFIG);
	ck_assert(strstr(err, "mqtt.uri") != NULL);
	mashd_config_set(&c, "mqtt.uri=ws://x", err, sizeof(err));
	mashd_config_set(&c, "key_id=k1", err, sizeof(err));
	mashd_config_set(&c, "key_file=/k", err, sizeof(err));
	mashd_config_set(&c, "trust_store=/t", err, sizeof(err));
	mashd_config_set(&c, "store=/s", err, sizeof(err));
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)),
	                 MASH_ERR_CONFIG);
	ck_assert(strstr(err, "tcp://") != NULL);
	/* Plaintext only when asked for by name. */
	mashd_config_set(&c, "mqtt.uri=tcp://x:1", err, sizeof(err));
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)),
	                 MASH_ERR_CONFIG);
	ck_assert(strstr(err, "mqtt.insecure = true") != NULL);
	mashd_config_set(&c, "mqtt.insecure=true", err, sizeof(err));
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)), MASH_OK);
	mashd_config_set(&c, "mqtt.cert_file=/c", err, sizeof(err));
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)),
	                 MASH_ERR_CONFIG);
	mashd_config_set(&c, "mqtt.key_file=/k", err, sizeof(err));
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)), MASH_OK);
	mashd_config_set(&c, "log_level=loud", err, sizeof(err));
	ck_assert_int_eq(mashd_config_validate(&c, err, sizeof(err)),
	                 MASH_ERR_CONFIG);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("daemon_config");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, defaults_are_safe);
	tcase_add_test(tc, full_file_is_read);
	tcase_add_loop_test(tc, bad_files_are_refused_with_file_and_line, 0,
	                    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, missing_file_is_io_error);
	tcase_add_test(tc, every_key_can_be_overridden);
	tcase_add_test(tc, validate_requires_the_essentials);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
