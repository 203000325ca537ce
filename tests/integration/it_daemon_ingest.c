/*
 * it_daemon_ingest.c - the real mashd binary against a real mosquitto and
 * a real SQLite file: accepted, duplicate and every rejection reason, each
 * with its signed receipt and (for rejections) its quarantine row, the
 * daemon still running; a broker restart; SIGTERM in the middle of a
 * stream loses nothing that was receipted; SIGHUP reloads the trust store
 * and refuses a bad one; --check exit codes.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"
#include "support/store_sql.h"

static struct mash_mashd_fx *fx;

static void
setup(void)
{
	fx = mash_mashd_fx_new(NULL);
	ck_assert_ptr_nonnull(fx);
	ck_assert_int_eq(mash_mashd_fx_start(fx), 0);
}

static void
teardown(void)
{
	mash_mashd_fx_free(fx);
	fx = NULL;
}

static void
publish_event(const struct mash_key *key, const char *signer,
              const char *key_id, const char *topic,
              const Mash__V1__AgencyEvent *ev)
{
	uint8_t *env;
	size_t len;

	env = mash_mashd_fx_seal(key, signer, key_id, &ev->base, &len);
	ck_assert_ptr_nonnull(env);
	ck_assert_int_eq(mash_mashd_fx_publish(fx, topic, env, len), 0);
	free(env);
}

static Mash__V1__Receipt *
receipt(void)
{
	Mash__V1__Receipt *r = NULL;

	ck_assert_int_eq(mash_mashd_fx_receipt(fx, 15000, &r, NULL), 0);
	return r;
}

static int64_t
count(const char *sql)
{
	return mash_mashd_fx_sql_int(fx, sql);
}

START_TEST(accepted_event_gets_signed_receipt_and_is_stored_once)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event(
	    "police", "11111111-1111-4111-8111-111111111111");
	Mash__V1__Receipt *r;
	char topic[MASH_MAX_TOPIC + 1];

	publish_event(fx->police, "police", "k1", "mash/v1/events/police", ev);
	ck_assert_int_eq(mash_mashd_fx_receipt(fx, 15000, &r, topic), 0);
	ck_assert_str_eq(topic, "mash/v1/receipts/police");
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	ck_assert_str_eq(r->event_id, ev->event_id);
	ck_assert_str_eq(r->agency, "police");
	ck_assert_int_eq((int)strlen(r->case_id), 14);
	ck_assert_uint_gt(r->audit_seq, 0);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM quarantine"), 0);
	mash_mashd_fx_receipt_free(r);
	mash_mashd_fx_event_free(ev);
}
END_TEST

START_TEST(duplicate_is_receipted_twice_and_stored_once)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event(
	    "police", "22222222-2222-4222-8222-222222222222");
	Mash__V1__Receipt *a, *b;

	publish_event(fx->police, "police", "k1", "mash/v1/events/police", ev);
	a = receipt();
	publish_event(fx->police, "police", "k1", "mash/v1/events/police", ev);
	b = receipt();
	ck_assert_int_eq(a->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	ck_assert_int_eq(b->status, MASH__V1__RECEIPT__STATUS__DUPLICATE);
	ck_assert_str_eq(b->case_id, a->case_id);
	ck_assert_uint_eq(b->audit_seq, a->audit_seq);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), 1);
	mash_mashd_fx_receipt_free(a);
	mash_mashd_fx_receipt_free(b);
	mash_mashd_fx_event_free(ev);
}
END_TEST

/* ---- every rejection reason ---------------------------------------- */

enum mutation {
	M_BAD_SIGNATURE,
	M_UNKNOWN_KEY,
	M_REVOKED_KEY,
	M_SIGNER_TOPIC,
	M_EVENT_AGENCY,
	M_UNDECODABLE,
	M_NOT_AN_ENVELOPE,
	M_OVERSIZED,
	M_BAD_NHS,
	M_BAD_DATE,
	M_BAD_SEVERITY,
	M_UNKNOWN_CATEGORY,
	M_LONG_FIELD,
	M_WRONG_PAYLOAD_TYPE,
	M_RECORDED_AHEAD,
	M_RECORDED_LONG_AGO,
};

static const struct {
	enum mutation m;
	const char *token;   /* receipt reason starts with it */
	int echoes_event_id; /* 1 if the receipt names the event */
} rejects[] = {
    {M_BAD_SIGNATURE, "BAD_SIGNATURE", 0},
    {M_UNKNOWN_KEY, "UNKNOWN_KEY", 0},
    {M_REVOKED_KEY, "REVOKED_KEY", 0},
    {M_SIGNER_TOPIC, "SIGNER_MISMATCH", 0},
    {M_EVENT_AGENCY, "AGENCY_MISMATCH", 1},
    {M_UNDECODABLE, "DECODE", 0},
    {M_NOT_AN_ENVELOPE, "DECODE", 0},
    {M_OVERSIZED, "TOO_BIG", 0},
    {M_BAD_NHS, "BAD_NHS", 1},
    {M_BAD_DATE, "BAD_DATE", 1},
    {M_BAD_SEVERITY, "BAD_SEVERITY", 1},
    {M_UNKNOWN_CATEGORY, "BAD_ENUM", 1},
    {M_LONG_FIELD, "FIELD_TOO_LONG", 1},
    {M_WRONG_PAYLOAD_TYPE, "PAYLOAD_TYPE", 0},
    /* The replay window (issue 30; defaults: 300 s ahead, 400 days). */
    {M_RECORDED_AHEAD, "REPLAY_WINDOW", 1},
    {M_RECORDED_LONG_AGO, "REPLAY_WINDOW", 1},
};

START_TEST(each_rejection_is_receipted_quarantined_and_survived)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event(
	    "police", "33333333-3333-4333-8333-333333333333");
	const char *topic = "mash/v1/events/police";
	Mash__V1__Receipt *r;
	uint8_t *env = NULL;
	size_t len = 0;
	char *big = NULL;
	char sql[256];
	uint8_t junk[64];

	switch (rejects[_i].m) {
	case M_BAD_SIGNATURE:
		env = mash_mashd_fx_seal(fx->police, "police", "k1", &ev->base,
		                         &len);
		env[len - 1] ^= 0x01; /* the signature is the last field */
		break;
	case M_UNKNOWN_KEY:
		env = mash_mashd_fx_seal(fx->rogue, "police", "k9", &ev->base,
		                         &len);
		break;
	case M_REVOKED_KEY:
		env = mash_mashd_fx_seal(fx->police_revoked, "police", "k2",
		                         &ev->base, &len);
		break;
	case M_SIGNER_TOPIC:
		free(ev->agency);
		ev->agency = strdup("health");
		env = mash_mashd_fx_seal(fx->health, "health", "k1", &ev->base,
		                         &len);
		break;
	case M_EVENT_AGENCY:
		free(ev->agency);
		ev->agency = strdup("health");
		env = mash_mashd_fx_seal(fx->police, "police", "k1", &ev->base,
		                         &len);
		break;
	case M_UNDECODABLE: {
		uint8_t *sealed = NULL;

		memset(junk, 0xff, sizeof(junk));
		ck_assert_int_eq(mash_env_seal(fx->police, "police", "k1",
		                               "mash.v1.AgencyEvent", junk,
		                               sizeof(junk), &sealed, &len),
		                 MASH_OK);
		env = malloc(len);
		memcpy(env, sealed, len);
		mash_free(sealed);
		break;
	}
	case M_NOT_AN_ENVELOPE:
		len = 40;
		env = malloc(len);
		memset(env, 0xfe, len);
		break;
	case M_OVERSIZED:
		len = MASH_MAX_ENVELOPE + 4096;
		env = malloc(len);
		memset(env, 'x', len);
		break;
	case M_BAD_NHS:
		free(ev->subject->nhs_number);
		ev->subject->nhs_number = strdup("9434765918");
		break;
	case M_BAD_DATE:
		free(ev->subject->date_of_birth);
		ev->subject->date_of_birth = strdup("2011-02-30");
		break;
	case M_BAD_SEVERITY:
		ev->severity = 7;
		break;
	case M_UNKNOWN_CATEGORY:
		ev->category = (Mash__V1__Category)77;
		break;
	case M_LONG_FIELD:
		big = malloc(MASH_MAX_SUMMARY + 2);
		memset(big, 'a', MASH_MAX_SUMMARY + 1);
		big[MASH_MAX_SUMMARY + 1] = '\0';
		free(ev->summary);
		ev->summary = big;
		break;
	case M_RECORDED_AHEAD: /* ten minutes ahead of the hub's clock */
		ev->recorded_at =
		    mash_clock_now(mash_clock_system()) + 10 * 60 * 1000;
		break;
	case M_RECORDED_LONG_AGO: /* 401 days ago: a replayed old event */
		ev->occurred_at = ev->recorded_at =
		    mash_clock_now(mash_clock_system()) - 401LL * 86400000;
		break;
	case M_WRONG_PAYLOAD_TYPE: {
		Mash__V1__Receipt fake = MASH__V1__RECEIPT__INIT;

		fake.event_id = "x";
		env = mash_mashd_fx_seal(fx->police, "police", "k1", &fake.base,
		                         &len);
		break;
	}
	}
	if (env == NULL)
		env = mash_mashd_fx_seal(fx->police, "police", "k1", &ev->base,
		                         &len);
	ck_assert_ptr_nonnull(env);
	ck_assert_int_eq(mash_mashd_fx_publish(fx, topic, env, len), 0);
	r = receipt();
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__REJECTED);
	ck_assert_str_eq(r->agency, "police");
	ck_assert_msg(strncmp(r->reason, rejects[_i].token,
	                      strlen(rejects[_i].token)) == 0,
	              "reason '%s' does not start with %s", r->reason,
	              rejects[_i].token);
	ck_assert_str_eq(r->case_id, "");
	ck_assert_uint_gt(r->audit_seq, 0);
	if (rejects[_i].echoes_event_id)
		ck_assert_str_eq(r->event_id, ev->event_id);
	else
		ck_assert_str_eq(r->event_id, "");
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM quarantine WHERE errname = '%s' AND "
	         "agency = 'police'",
	         rejects[_i].token);
	ck_assert_int_eq(count(sql), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), 0);
	/* The raw bytes are kept for the agency (oversized: the first
	 * MASH_MAX_ENVELOPE bytes). */
	ck_assert_int_gt(count("SELECT length(bytes) FROM quarantine"), 0);
	mash_mashd_fx_receipt_free(r);
	free(env);
	/* Still running, still accepting. */
	ck_assert(mash_mashd_fx_alive(fx));
	mash_mashd_fx_event_free(ev);
	ev = mash_mashd_fx_event("police",
	                         "44444444-4444-4444-8444-444444444444");
	publish_event(fx->police, "police", "k1", topic, ev);
	r = receipt();
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	mash_mashd_fx_receipt_free(r);
	mash_mashd_fx_event_free(ev);
}
END_TEST

START_TEST(unknown_agency_topic_is_quarantined_without_receipt)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event(
	    "police", "55555555-5555-4555-8555-555555555555");
	Mash__V1__Receipt *r = NULL;
	uint8_t *env;
	size_t len;
	int i;

	env = mash_mashd_fx_seal(fx->police, "police", "k1", &ev->base, &len);
	ck_assert_int_eq(
	    mash_mashd_fx_publish(fx, "mash/v1/events/fire", env, len), 0);
	for (i = 0; i < 100 && count("SELECT count(*) FROM quarantine") < 1;
	     i++)
		mash_test_sleep_ms(50);
	ck_assert_int_eq(count("SELECT count(*) FROM quarantine WHERE errname "
	                       "= 'UNKNOWN_AGENCY'"),
	                 1);
	ck_assert_int_eq(mash_mashd_fx_receipt(fx, 1000, &r, NULL), -1);
	ck_assert(mash_mashd_fx_alive(fx));
	free(env);
	mash_mashd_fx_event_free(ev);
}
END_TEST

/* Publish ev until a receipt comes (the broker may still be coming
 * back); returns the receipt. */
static Mash__V1__Receipt *
send_until_receipted(const Mash__V1__AgencyEvent *ev, int tries)
{
	Mash__V1__Receipt *r = NULL;
	uint8_t *env;
	size_t len;
	int i;

	env = mash_mashd_fx_seal(fx->police, "police", "k1", &ev->base, &len);
	ck_assert_ptr_nonnull(env);
	for (i = 0; i < tries && r == NULL; i++) {
		if (mash_mashd_fx_publish(fx, "mash/v1/events/police", env,
		                          len) != 0) {
			mash_test_sleep_ms(500);
			continue;
		}
		/* Delivery is at least once: an earlier receipt may come
		 * again after the broker restarts. Wait for ours. */
		while (mash_mashd_fx_receipt(fx, 3000, &r, NULL) == 0 &&
		       strcmp(r->event_id, ev->event_id) != 0) {
			mash_mashd_fx_receipt_free(r);
			r = NULL;
		}
	}
	free(env);
	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(daemon_survives_broker_restart_and_resubscribes)
{
	Mash__V1__AgencyEvent *a = mash_mashd_fx_event(
	    "police", "66666666-6666-4666-8666-666666666666");
	Mash__V1__AgencyEvent *b = mash_mashd_fx_event(
	    "police", "77777777-7777-4777-8777-777777777777");
	Mash__V1__Receipt *r;

	r = send_until_receipted(a, 3);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	mash_mashd_fx_receipt_free(r);
	ck_assert_int_eq(mash_test_broker_restart(fx->broker), 0);
	ck_assert(mash_mashd_fx_alive(fx));
	r = send_until_receipted(b, 20);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	ck_assert_str_eq(r->event_id, b->event_id);
	mash_mashd_fx_receipt_free(r);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), 2);
	ck_assert(mash_mashd_fx_alive(fx));
	mash_mashd_fx_event_free(a);
	mash_mashd_fx_event_free(b);
}
END_TEST

#define STREAM 40

START_TEST(sigterm_mid_stream_loses_nothing_receipted)
{
	Mash__V1__AgencyEvent *ev[STREAM];
	uint8_t *env[STREAM];
	size_t len[STREAM];
	int receipted[STREAM], i, j, st = 0, n_rcpt = 0, pending;
	char id[64], sql[256];
	Mash__V1__Receipt *r = NULL;

	for (i = 0; i < STREAM; i++) {
		snprintf(id, sizeof(id), "a0000000-0000-4000-8000-%012d", i);
		ev[i] = mash_mashd_fx_event("police", id);
		env[i] = mash_mashd_fx_seal(fx->police, "police", "k1",
		                            &ev[i]->base, &len[i]);
		ck_assert_ptr_nonnull(env[i]);
		receipted[i] = 0;
	}
	for (i = 0; i < STREAM; i++) {
		ck_assert_int_eq(mash_mashd_fx_publish(fx,
		                                       "mash/v1/events/police",
		                                       env[i], len[i]),
		                 0);
		if (i == STREAM / 4) {
			/* Mid-stream: once the daemon is visibly working. */
			ck_assert_int_eq(
			    mash_mashd_fx_receipt(fx, 15000, &r, NULL), 0);
			for (j = 0; j < STREAM; j++)
				if (strcmp(r->event_id, ev[j]->event_id) == 0)
					receipted[j] = 1;
			n_rcpt++;
			mash_mashd_fx_receipt_free(r);
			r = NULL;
			kill(fx->mashd, SIGTERM);
		}
	}
	ck_assert_int_eq(mash_mashd_fx_stop(fx, &st), 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* Every receipt that came out names an event stored exactly once. */
	while (mash_mashd_fx_receipt(fx, 500, &r, NULL) == 0) {
		for (j = 0; j < STREAM; j++)
			if (strcmp(r->event_id, ev[j]->event_id) == 0)
				receipted[j] = 1;
		ck_assert_int_eq(r->status,
		                 MASH__V1__RECEIPT__STATUS__ACCEPTED);
		n_rcpt++;
		mash_mashd_fx_receipt_free(r);
		r = NULL;
	}
	ck_assert_int_gt(n_rcpt, 0);
	for (j = 0; j < STREAM; j++) {
		if (!receipted[j])
			continue;
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM events WHERE event_id = '%s'",
		         ev[j]->event_id);
		ck_assert_int_eq(count(sql), 1);
	}
	/* Restart: what the broker kept for our session is processed, and
	 * the agent re-sends whatever has no receipt yet. */
	ck_assert_int_eq(mash_mashd_fx_start(fx), 0);
	for (i = 0; i < 3; i++) {
		pending = 0;
		for (j = 0; j < STREAM; j++) {
			if (receipted[j])
				continue;
			pending++;
			ck_assert_int_eq(
			    mash_mashd_fx_publish(fx, "mash/v1/events/police",
			                          env[j], len[j]),
			    0);
		}
		if (pending == 0)
			break;
		while (mash_mashd_fx_receipt(fx, 3000, &r, NULL) == 0) {
			ck_assert(
			    r->status == MASH__V1__RECEIPT__STATUS__ACCEPTED ||
			    r->status == MASH__V1__RECEIPT__STATUS__DUPLICATE);
			for (j = 0; j < STREAM; j++)
				if (strcmp(r->event_id, ev[j]->event_id) == 0)
					receipted[j] = 1;
			mash_mashd_fx_receipt_free(r);
			r = NULL;
		}
	}
	for (j = 0; j < STREAM; j++)
		ck_assert_msg(receipted[j], "event %d never receipted", j);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), STREAM);
	ck_assert_int_eq(count("SELECT count(DISTINCT event_id) FROM events"),
	                 STREAM);
	for (i = 0; i < STREAM; i++) {
		free(env[i]);
		mash_mashd_fx_event_free(ev[i]);
	}
}
END_TEST

/* Two daemons share the load through a shared subscription
 * ($share/mashd/...) and one store: every event receipted once, stored
 * once, and both daemons did some of the work. */
START_TEST(two_daemons_split_a_shared_subscription_without_duplicates)
{
	/* A new client id: the old session's plain subscription would
	 * otherwise stay in the broker and deliver everything twice. */
	static const char *const share[] = {
	    "--set", "mqtt.subscribe=$share/mashd/mash/v1/events/+", "--set",
	    "mqtt.client_id=mashd-it-1", NULL};
	static const char *const second[] = {
	    "--set", "mqtt.subscribe=$share/mashd/mash/v1/events/+", "--set",
	    "mqtt.client_id=mashd-it-2", NULL};
	Mash__V1__AgencyEvent *ev;
	Mash__V1__Receipt *r = NULL;
	char id[64], log2[700], *l1, *l2;
	int i, got = 0, st = 0;
	pid_t other;

	/* Restart the fixture's daemon on the shared filter, add a second. */
	ck_assert_int_eq(mash_mashd_fx_stop(fx, &st), 0);
	fx->mashd = mash_mashd_fx_spawn(fx, share, fx->log);
	ck_assert_int_gt(fx->mashd, 0);
	snprintf(log2, sizeof(log2), "%s/mashd-2.log", fx->dir);
	other = mash_mashd_fx_spawn(fx, second, log2);
	ck_assert_int_gt(other, 0);
	for (i = 0; i < STREAM; i++) {
		snprintf(id, sizeof(id), "f0000000-0000-4000-8000-%012d", i);
		ev = mash_mashd_fx_event("police", id);
		ck_assert_int_eq(mash_mashd_fx_send(fx, ev), 0);
		mash_mashd_fx_event_free(ev);
	}
	while (got < STREAM &&
	       mash_mashd_fx_receipt(fx, 15000, &r, NULL) == 0) {
		ck_assert_int_eq(r->status,
		                 MASH__V1__RECEIPT__STATUS__ACCEPTED);
		got++;
		mash_mashd_fx_receipt_free(r);
		r = NULL;
	}
	ck_assert_int_eq(got, STREAM);
	ck_assert_int_eq(count("SELECT count(DISTINCT event_id) FROM events"),
	                 STREAM);
	ck_assert_int_eq(count("SELECT count(*) FROM events"), STREAM);
	ck_assert_int_eq(mash_test_kill(other, SIGTERM, 30000, &st), 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	l1 = mash_test_read_file(fx->log, 4u << 20, NULL);
	l2 = mash_test_read_file(log2, 4u << 20, NULL);
	ck_assert_ptr_nonnull(l1);
	ck_assert_ptr_nonnull(l2);
	ck_assert_msg(strstr(l1, ": ACCEPTED") != NULL &&
	                  strstr(l2, ": ACCEPTED") != NULL,
	              "one daemon did all the work");
	free(l1);
	free(l2);
}
END_TEST

/* KEY_CHANGE records in mashd's audit trail for signer's key and change. */
static int64_t
key_changes(const char *signer, const char *change)
{
	char sql[512];

	(void)snprintf(sql, sizeof(sql),
	               "SELECT count(*) FROM audit_log WHERE type ="
	               " 'KEY_CHANGE' AND actor = 'mashd' AND"
	               " json_extract(record, '$.extra.signer') = '%s' AND"
	               " json_extract(record, '$.extra.change') = '%s'",
	               signer, change);
	return mash_test_sql_file_i64(fx->db, sql);
}

START_TEST(sighup_reloads_trust_store_and_refuses_a_bad_one)
{
	Mash__V1__AgencyEvent *ev;
	Mash__V1__Receipt *r;
	struct mash_key *k = NULL;
	char bad[700];
	uint8_t *env;
	size_t len;

	/* yot is not trusted yet: rejected. */
	ck_assert_int_eq(mash_key_generate(&k), MASH_OK);
	ev = mash_mashd_fx_event("yot", "88888888-8888-4888-8888-888888888888");
	env = mash_mashd_fx_seal(k, "yot", "k1", &ev->base, &len);
	ck_assert_int_eq(
	    mash_mashd_fx_publish(fx, "mash/v1/events/yot", env, len), 0);
	r = receipt();
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__REJECTED);
	mash_mashd_fx_receipt_free(r);
	/* Trust it and reload: accepted, and the change is audited. */
	ck_assert_int_eq(mash_trust_add_key(fx->trust, "yot", "k1", k, NULL, 0),
	                 MASH_OK);
	kill(fx->mashd, SIGHUP);
	mash_test_sleep_ms(500);
	ck_assert_int_eq(
	    mash_mashd_fx_publish(fx, "mash/v1/events/yot", env, len), 0);
	r = receipt();
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	mash_mashd_fx_receipt_free(r);
	ck_assert_int_eq(key_changes("yot", "added"), 1);
	/* A malformed store is refused; the loaded one stays in force. */
	snprintf(bad, sizeof(bad), "%s/police/broken.pub.pem", fx->trust);
	ck_assert_int_eq(mash_test_write_file(bad, "not a key", 9), 0);
	kill(fx->mashd, SIGHUP);
	mash_test_sleep_ms(500);
	ck_assert(mash_mashd_fx_alive(fx));
	ck_assert_int_eq(
	    mash_mashd_fx_publish(fx, "mash/v1/events/yot", env, len), 0);
	r = receipt();
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__DUPLICATE);
	mash_mashd_fx_receipt_free(r);
	ck_assert_int_eq(key_changes("yot", "added"), 1);
	free(env);
	mash_mashd_fx_event_free(ev);
	/* Revoked while mashd runs: after SIGHUP a new event signed with
	 * that key is refused, and the revocation is audited. */
	ck_assert_int_eq(unlink(bad), 0);
	ck_assert_int_eq(mash_trust_revoke(fx->trust, "yot", "k1",
	                                   mash_clock_system(), NULL, 0),
	                 MASH_OK);
	kill(fx->mashd, SIGHUP);
	mash_test_sleep_ms(500);
	ev = mash_mashd_fx_event("yot", "99999999-9999-4999-8999-999999999999");
	env = mash_mashd_fx_seal(k, "yot", "k1", &ev->base, &len);
	ck_assert_int_eq(
	    mash_mashd_fx_publish(fx, "mash/v1/events/yot", env, len), 0);
	r = receipt();
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__REJECTED);
	mash_mashd_fx_receipt_free(r);
	ck_assert_int_eq(key_changes("yot", "revoked"), 1);
	free(env);
	mash_key_free(k);
	mash_mashd_fx_event_free(ev);
}
END_TEST

/* ---- --check (no mashd running) ------------------------------------- */

static int
run_check(struct mash_mashd_fx *f, const char *const extra[])
{
	const char *bindir = getenv("MASH_BIN_DIR");
	char bin[600];
	const char *argv[12];
	int n = 0, st = 0, i;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/mashd", bindir ? bindir : "build/bin");
	argv[n++] = bin;
	argv[n++] = "--config";
	argv[n++] = f->cfg;
	argv[n++] = "--check";
	for (i = 0; extra != NULL && extra[i] != NULL && n < 11; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = mash_test_spawn(argv, NULL, NULL, f->log);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(mash_test_wait(pid, 20000, &st), 0);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

#define JUNK "not a database at all, just bytes that SQLite refuses"
#define BAD_DIR                                                                \
	"principals = ( { name = \"a\"; role = \"auditor\"; agency = "         \
	"\"mash\"; enc_key = \"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END "  \
	"PUBLIC KEY-----\"; } );\n"

START_TEST(check_exits_0_ok_1_failed_check_2_bad_input)
{
	struct mash_mashd_fx *f = mash_mashd_fx_new(NULL);
	struct mash_mashd_fx *g = mash_mashd_fx_new("trust_stor = \"x\";\n");
	const char *missing_key[] = {"--key", "/nonexistent/k.pem", NULL};
	const char *bad_set[] = {"--set", "mqtt.keepalive=abc", NULL};
	const char *bad_store[] = {"--store", NULL, NULL};
	const char *bad_dir[] = {"--directory", NULL, NULL};
	char junk[700];

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(g);
	ck_assert_int_eq(run_check(f, NULL), 0);
	/* A missing file is unreadable input (cli.md: 2), as at start-up. */
	ck_assert_int_eq(run_check(f, missing_key), 2);
	ck_assert_int_eq(run_check(f, bad_set), 2);
	ck_assert_int_eq(run_check(g, NULL), 2); /* unknown key */
	/* A store that is not a database fails its check: 1. */
	(void)snprintf(junk, sizeof(junk), "%s/junk.db", f->dir);
	ck_assert_int_eq(mash_test_write_file(junk, JUNK, strlen(JUNK)), 0);
	bad_store[1] = junk;
	ck_assert_int_eq(run_check(f, bad_store), 1);
	/* A directory entry whose encryption key is malformed (issue 25). */
	(void)snprintf(junk, sizeof(junk), "%s/directory.cfg", f->dir);
	ck_assert_int_eq(mash_test_write_file(junk, BAD_DIR, strlen(BAD_DIR)),
	                 0);
	bad_dir[1] = junk;
	ck_assert_int_eq(run_check(f, bad_dir), 2);
	mash_mashd_fx_free(g);
	mash_mashd_fx_free(f);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("it_daemon_ingest");
	TCase *tc = tcase_create("ingest");
	TCase *tcc = tcase_create("check");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc,
	               accepted_event_gets_signed_receipt_and_is_stored_once);
	tcase_add_test(tc, duplicate_is_receipted_twice_and_stored_once);
	tcase_add_loop_test(
	    tc, each_rejection_is_receipted_quarantined_and_survived, 0,
	    (int)(sizeof(rejects) / sizeof(rejects[0])));
	tcase_add_test(tc, unknown_agency_topic_is_quarantined_without_receipt);
	tcase_add_test(tc, daemon_survives_broker_restart_and_resubscribes);
	tcase_add_test(tc, sigterm_mid_stream_loses_nothing_receipted);
	tcase_add_test(tc, sighup_reloads_trust_store_and_refuses_a_bad_one);
	tcase_add_test(
	    tc, two_daemons_split_a_shared_subscription_without_duplicates);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tcc, 120);
	tcase_add_test(tcc, check_exits_0_ok_1_failed_check_2_bad_input);
	suite_add_tcase(s, tcc);
	sr = srunner_create(s);
	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
