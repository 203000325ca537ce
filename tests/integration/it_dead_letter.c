/*
 * it_dead_letter.c - issue 31's acceptance: one inbox whose deliveries
 * the broker refuses permanently does not delay the other inboxes; the
 * refused delivery ends in the dead letters, audited DELIVERY_FAILED;
 * `mashctl outbox retry` delivers it once the cause is fixed, audited
 * DELIVERY_RETRIED; `mashctl outbox drop` needs a reason.
 *
 * A real Mosquitto (mutual TLS, the ACL `mashctl acl generate` writes)
 * whose ACL is changed so that mashd may not publish to sw.sam's inbox,
 * as a mis-set ACL would; MQTT v5 gives mashd the refusal in the PUBACK.
 * A real mashd (retry budget: 2 attempts, no minimum age, 200 ms back-off)
 * and a real SQLite store; a broker-wide subscriber sees what arrives.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "mash/v1/mash.pb-c.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"

#define EV_ID    "e3100000-0000-4000-8000-000000000001"
#define REFUSED  "sw.sam"
#define ALLOWED  "analyst.amara"
#define ACL_LINE "topic write mash/v1/inbox/+\n"
#define MAX_ACL  (64 * 1024)

static struct mash_mashd_fx *fx;
static struct mash_mq *cap;
static char acl_path[700];
static char *acl_orig;

/* The hub ACL with mashd's inbox rights narrowed: every inbox but
 * REFUSED's, one line each. */
static void
refuse_inbox(void)
{
	static const char *const inboxes[] = {
	    "analyst.amara", "manager.morgan",   "swm.taylor",
	    "police.pp1",    "health.nurse1",    "school.dsl1",
	    "yot.worker1",   "housing.officer1", "auditor.ada"};
	char *text, *at, lines[1024];
	size_t i, off = 0;

	for (i = 0; i < sizeof(inboxes) / sizeof(inboxes[0]); i++)
		off += (size_t)snprintf(lines + off, sizeof(lines) - off,
		                        "topic write mash/v1/inbox/%s\n",
		                        inboxes[i]);
	at = strstr(acl_orig, ACL_LINE);
	ck_assert_ptr_nonnull(at); /* mashd's grant, as generated */
	text = malloc(strlen(acl_orig) + sizeof(lines));
	ck_assert_ptr_nonnull(text);
	snprintf(text, strlen(acl_orig) + sizeof(lines), "%.*s%s%s",
	         (int)(at - acl_orig), acl_orig, lines, at + strlen(ACL_LINE));
	ck_assert_int_eq(mash_test_write_file(acl_path, text, strlen(text)), 0);
	free(text);
	ck_assert_int_eq(mash_test_broker_reload(fx->broker), 0);
	mash_test_sleep_ms(500);
}

static void
restore_acl(void)
{
	ck_assert_int_eq(
	    mash_test_write_file(acl_path, acl_orig, strlen(acl_orig)), 0);
	ck_assert_int_eq(mash_test_broker_reload(fx->broker), 0);
	mash_test_sleep_ms(500);
}

static void
setup(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	struct mash_mq_opts o;
	struct mash_test_tls th;
	char extra[1024];
	size_t len = 0;

	ck_assert_ptr_nonnull(src);
	snprintf(extra, sizeof(extra),
	         "policy = \"%s/policy/default.cfg\";\n"
	         "directory = \"@DIRECTORY@\";\n"
	         "tick_ms = 200;\n"
	         "outbox = { max_attempts = 2; max_age_s = 0; "
	         "retry_ms = 200; };\n",
	         src);
	fx = mash_mashd_fx_new(extra);
	ck_assert_ptr_nonnull(fx);
	snprintf(acl_path, sizeof(acl_path), "%s/acl",
	         mash_test_broker_dir(fx->broker));
	acl_orig = mash_test_read_file(acl_path, MAX_ACL, &len);
	ck_assert_ptr_nonnull(acl_orig);
	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(fx->broker, MASH_TEST_HARNESS, &th, &o);
	o.client_id = "it-dead-capture";
	o.clean_start = 1;
	ck_assert_int_eq(mash_mq_new(&o, &cap), MASH_OK);
	ck_assert_int_eq(mash_mq_subscribe(cap, "mash/v1/inbox/#", 5000),
	                 MASH_OK);
	ck_assert_int_eq(mash_mq_connect(cap, 10000), MASH_OK);
}

static void
teardown(void)
{
	mash_mq_free(cap);
	free(acl_orig);
	mash_mashd_fx_free(fx);
}

/* Wait up to ms for a message on inbox; 1 if one came. Messages to other
 * inboxes are counted in *others (may be NULL). */
static int
wait_inbox(const char *inbox, int ms, int *others)
{
	char topic[128];
	struct mash_mq_msg *m = NULL;
	int waited = 0, hit = 0;

	snprintf(topic, sizeof(topic), "mash/v1/inbox/%s", inbox);
	while (!hit && waited < ms) {
		if (mash_mq_next(cap, 100, &m) != MASH_OK) {
			waited += 100;
			continue;
		}
		if (strcmp(m->topic, topic) == 0)
			hit = 1;
		else if (others != NULL)
			(*others)++;
		mash_mq_msg_free(m);
		m = NULL;
	}
	return hit;
}

/* Poll sql (one integer) until it reaches want, up to 15 s. */
static int64_t
wait_sql(const char *sql, int64_t want)
{
	int64_t v = -1;
	int i;

	for (i = 0; i < 150; i++) {
		v = mash_mashd_fx_sql_int(fx, sql);
		if (v >= want)
			break;
		mash_test_sleep_ms(100);
	}
	return v;
}

/* mashctl outbox ARGS --db STORE; stdout to out (under the fixture's
 * dir); the exit status. */
static int
mashctl_outbox(const char *args, char *out, size_t outsz)
{
	const char *bin = getenv("MASH_BIN_DIR");
	char cmd[2400];
	int st;

	ck_assert_ptr_nonnull(bin);
	snprintf(out, outsz, "%s/outbox.out", fx->dir);
	snprintf(cmd, sizeof(cmd),
	         "timeout 60 '%s/mashctl' outbox %s --db '%s' >'%s' "
	         "2>>'%s/outbox.err'",
	         bin, args, fx->db, out, fx->dir);
	st = system(cmd);
	ck_assert_int_ne(st, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* From `mashctl audit report --json`: recipient's count of state
 * (queued, delivered, awaiting_ack, failed, dropped). */
static long
report_count(const char *recipient, const char *state)
{
	const char *bin = getenv("MASH_BIN_DIR");
	char cmd[2400], out[800];
	json_t *root, *d;
	json_error_t err;
	long v = -1;
	size_t i;
	int st;

	snprintf(out, sizeof(out), "%s/report.json", fx->dir);
	snprintf(cmd, sizeof(cmd),
	         "timeout 60 '%s/mashctl' audit report --json --db '%s' >'%s'",
	         bin, fx->db, out);
	st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	root = json_load_file(out, 0, &err);
	ck_assert_msg(root != NULL, "report: %s", err.text);
	json_array_foreach(json_object_get(root, "deliveries"), i, d)
	{
		if (strcmp(json_string_value(json_object_get(d, "recipient")),
		           recipient) == 0)
			v = (long)json_integer_value(json_object_get(d, state));
	}
	json_decref(root);
	return v;
}

static void
send_event(void)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event("police", EV_ID);
	Mash__V1__Receipt *r = NULL;

	ck_assert_int_eq(mash_mashd_fx_send(fx, ev), 0);
	ck_assert_int_eq(mash_mashd_fx_receipt(fx, 20000, &r, NULL), 0);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	mash_mashd_fx_receipt_free(r);
	mash_mashd_fx_event_free(ev);
}

START_TEST(refused_inbox_becomes_a_dead_letter_and_retry_delivers_it)
{
	char out[800], args[200], sql[400], *text;
	int64_t dead_id, queued;
	size_t len = 0;
	int others = 0;

	refuse_inbox();
	ck_assert_int_eq(mash_mashd_fx_start(fx), 0);
	send_event();
	/* The other inboxes are not held up by the refused one. */
	ck_assert_msg(wait_inbox(ALLOWED, 10000, &others),
	              "no delivery to %s while %s is refused", ALLOWED,
	              REFUSED);
	/* Refused twice (the budget), then a dead letter, audited. */
	ck_assert_int_eq(wait_sql("SELECT count(*) FROM outbox_dead", 1), 1);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx,
	                     "SELECT count(*) FROM audit_log WHERE type = "
	                     "'DELIVERY_FAILED' AND recipient = '" REFUSED "'"),
	                 1);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM outbox WHERE topic = "
	                         "'mash/v1/inbox/" REFUSED "'"),
	                 0);
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(fx, "SELECT attempts FROM outbox_dead"), 2);
	dead_id = mash_mashd_fx_sql_int(fx, "SELECT id FROM outbox_dead");
	ck_assert_int_gt(dead_id, 0);
	queued = mash_mashd_fx_sql_int(fx, "SELECT audit_seq FROM outbox_dead");
	ck_assert_int_gt(queued, 0);
	/* Queued, never delivered: the trail says no more than it knows. */
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT type = 'DELIVERY_QUEUED' AND "
	                         "recipient = '" REFUSED "' FROM audit_log "
	                         "WHERE seq = (SELECT audit_seq FROM "
	                         "outbox_dead)"),
	                 1);
	ck_assert_int_eq(wait_sql("SELECT count(*) FROM audit_log WHERE type = "
	                          "'DELIVERY' AND recipient = '" ALLOWED "'",
	                          1),
	                 1);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM audit_log WHERE type = "
	                         "'DELIVERY' AND recipient = '" REFUSED "'"),
	                 0);
	/* The operator sees it, with the reason, and not its bytes. */
	ck_assert_int_eq(mashctl_outbox("list", out, sizeof(out)), 0);
	text = mash_test_read_file(out, 1u << 16, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, REFUSED));
	ck_assert_ptr_nonnull(strstr(text, "REFUSED"));
	free(text);
	/* The auditor's report tells the states apart. */
	ck_assert_int_eq(report_count(REFUSED, "failed"), 1);
	ck_assert_int_eq(report_count(REFUSED, "delivered"), 0);
	ck_assert_int_ge(report_count(ALLOWED, "delivered"), 1);
	/* Not yet fixed: nothing arrived for the refused inbox. */
	ck_assert_int_eq(wait_inbox(REFUSED, 500, NULL), 0);
	/* A drop needs a reason; an unknown id is an error. */
	snprintf(args, sizeof(args), "drop --id %lld --as ops.oliver",
	         (long long)dead_id);
	ck_assert_int_eq(mashctl_outbox(args, out, sizeof(out)), 2);
	ck_assert_int_eq(
	    mashctl_outbox("retry --id 999 --as ops.oliver", out, sizeof(out)),
	    1);
	/* The cause fixed, the operator retries: it is delivered. */
	restore_acl();
	snprintf(args, sizeof(args), "retry --id %lld --as ops.oliver",
	         (long long)dead_id);
	ck_assert_int_eq(mashctl_outbox(args, out, sizeof(out)), 0);
	ck_assert_msg(wait_inbox(REFUSED, 15000, NULL),
	              "the retried delivery to %s never arrived", REFUSED);
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(fx, "SELECT count(*) FROM outbox_dead"), 0);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM audit_log WHERE type = "
	                         "'DELIVERY_RETRIED' AND actor = 'ops.oliver'"),
	                 1);
	/* It names the case and event of the record that queued it, so the
	 * case index finds it (a picture's delivery states, issue 31). */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM audit_log r, audit_log q WHERE "
	         "r.type = 'DELIVERY_RETRIED' AND q.seq = %lld AND "
	         "r.case_id = q.case_id AND r.event_id = '" EV_ID "' AND "
	         "r.agency = 'police'",
	         (long long)queued);
	ck_assert_int_eq(mash_mashd_fx_sql_int(fx, sql), 1);
	ck_assert_int_eq(wait_sql("SELECT count(*) = 0 FROM outbox", 1), 1);
	/* Now the trail says delivered, naming the record that queued it. */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM audit_log d, json_each(d.record, "
	         "'$.extra.queued') j WHERE d.type = 'DELIVERY' AND "
	         "d.recipient = '" REFUSED "' AND j.value = %lld",
	         (long long)queued);
	ck_assert_int_eq(wait_sql(sql, 1), 1);
	ck_assert_int_eq(report_count(REFUSED, "delivered"), 1);
	ck_assert_int_eq(report_count(REFUSED, "failed"), 0);
	ck_assert_int_eq(report_count(REFUSED, "awaiting_ack"), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("it_dead_letter");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, refused_inbox_becomes_a_dead_letter_and_retry_delivers_it);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
