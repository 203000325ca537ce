#define _GNU_SOURCE /* memmem */
/*
 * it_sealed_inbox.c - issue 25's acceptance: a compromised broker reads
 * nothing. A real Mosquitto (mutual TLS) and mashd with the hub's
 * directory, every principal holding an encryption key. A subscriber on
 * mash/v1/inbox/# with the broker-wide rights of the test harness (what a
 * broker operator, its logs or a mis-set ACL would see) captures every
 * delivery of a run and finds none of the child's name, NHS number or
 * summary; each recipient opens its own with its key, and `mashctl inbox
 * read` shows the analyst hers. A wrong key, a tampered message and one
 * sealed to another principal are each reported and never printed.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "crypto/env.h"
#include "crypto/trust.h"
#include "mash/v1/mash.pb-c.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"
#include "support/sealed_inbox.h"

#define MAX_CAP 64
#define EV_ID   "e5000000-0000-4000-8000-000000000001"

static struct mash_mashd_fx *fx;
static struct mash_trust *mashd_trust;
static struct mash_mq *cap;
static struct {
	char topic[128];
	unsigned char *buf;
	size_t len;
} got[MAX_CAP];
static size_t n_got;
static char client_cfg[700], enc_dir[700];

static void
setup(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	struct mash_mq_opts o;
	struct mash_test_tls t, th;
	char extra[1024], text[4096], why[256];

	ck_assert_ptr_nonnull(src);
	snprintf(extra, sizeof(extra),
	         "policy = \"%s/policy/default.cfg\";\n"
	         "directory = \"@DIRECTORY@\";\n",
	         src);
	fx = mash_mashd_fx_new(extra);
	ck_assert_ptr_nonnull(fx);
	ck_assert_int_eq(
	    mash_trust_load(fx->mashd_trust, &mashd_trust, why, sizeof(why)),
	    MASH_OK);
	mash_test_broker_enc_dir(fx->broker, enc_dir, sizeof(enc_dir));
	/* Each principal's own client: its certificate, its key. */
	mash_test_broker_files(fx->broker, "analyst.amara", &t);
	snprintf(client_cfg, sizeof(client_cfg), "%s/client.cfg", fx->dir);
	snprintf(text, sizeof(text),
	         "picture = {\n  mqtt_uri = \"%s\";\n  mqtt_ca_file = \"%s\";\n"
	         "  mqtt_cert_dir = \"%s/pki\";\n  enc_key_dir = \"%s\";\n"
	         "  trust_store = \"%s\";\n};\n",
	         mash_test_broker_uri(fx->broker), t.ca,
	         mash_test_broker_dir(fx->broker), enc_dir, fx->mashd_trust);
	ck_assert_int_eq(mash_test_write_file(client_cfg, text, strlen(text)),
	                 0);
	/* The broker-wide eye. */
	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(fx->broker, MASH_TEST_HARNESS, &th, &o);
	o.client_id = "it-capture";
	o.clean_start = 1;
	ck_assert_int_eq(mash_mq_new(&o, &cap), MASH_OK);
	ck_assert_int_eq(mash_mq_subscribe(cap, "mash/v1/inbox/#", 5000),
	                 MASH_OK);
	ck_assert_int_eq(mash_mq_connect(cap, 10000), MASH_OK);
	n_got = 0;
}

static void
teardown(void)
{
	size_t i;

	for (i = 0; i < n_got; i++)
		free(got[i].buf);
	mash_mq_free(cap);
	mash_trust_free(mashd_trust);
	mash_mashd_fx_free(fx);
}

/* mashctl inbox read as principal with args; stdout to out, stderr to
 * err (files under the fixture's dir); the exit status. */
static int
inbox_read(const char *principal, const char *args, char *out, char *err)
{
	const char *bin = getenv("MASH_BIN_DIR");
	char cmd[3000];
	int st;

	ck_assert_ptr_nonnull(bin);
	snprintf(out, 700, "%s/read-%s.out", fx->dir, principal);
	snprintf(err, 700, "%s/read-%s.err", fx->dir, principal);
	snprintf(cmd, sizeof(cmd),
	         "timeout 60 '%s/mashctl' inbox read --config '%s' --as %s %s "
	         ">'%s' 2>'%s'",
	         bin, client_cfg, principal, args, out, err);
	st = system(cmd);
	ck_assert_int_ne(st, -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *
slurp(const char *path)
{
	size_t len = 0;
	char *s = mash_test_read_file(path, 1u << 20, &len);

	ck_assert_ptr_nonnull(s);
	return s;
}

/* Make each principal's persistent inbox session (what arrives later
 * waits for its next read). */
static void
open_session(const char *principal)
{
	char out[700], err[700];

	ck_assert_int_eq(inbox_read(principal, "--timeout 1", out, err), 0);
}

/* One police event about the child, receipted; then every delivery the
 * capture sees until the inboxes are quiet for 1.5 s. */
static void
run_event(void)
{
	Mash__V1__AgencyEvent *ev = mash_mashd_fx_event("police", EV_ID);
	Mash__V1__Receipt *r = NULL;
	struct mash_mq_msg *m = NULL;
	int quiet = 0;

	ck_assert_int_eq(mash_mashd_fx_start(fx), 0);
	ck_assert_int_eq(mash_mashd_fx_send(fx, ev), 0);
	ck_assert_int_eq(mash_mashd_fx_receipt(fx, 20000, &r, NULL), 0);
	ck_assert_int_eq(r->status, MASH__V1__RECEIPT__STATUS__ACCEPTED);
	mash_mashd_fx_receipt_free(r);
	mash_mashd_fx_event_free(ev);
	while (quiet < 1500 || n_got == 0) {
		ck_assert_int_lt(quiet, 20000);
		if (mash_mq_next(cap, 100, &m) != MASH_OK) {
			quiet += 100;
			continue;
		}
		quiet = 0;
		ck_assert_uint_lt(n_got, MAX_CAP);
		snprintf(got[n_got].topic, sizeof(got[n_got].topic), "%s",
		         m->topic);
		got[n_got].buf = malloc(m->len);
		ck_assert_ptr_nonnull(got[n_got].buf);
		memcpy(got[n_got].buf, m->payload, m->len);
		got[n_got].len = m->len;
		n_got++;
		mash_mq_msg_free(m);
		m = NULL;
	}
}

static int
holds(const unsigned char *b, size_t n, const char *needle)
{
	return memmem(b, n, needle, strlen(needle)) != NULL;
}

START_TEST(broker_sees_no_name_and_each_recipient_reads_its_own)
{
	static const char *const everyone[] = {
	    "analyst.amara",    "manager.morgan", "sw.sam",      "swm.taylor",
	    "police.pp1",       "health.nurse1",  "school.dsl1", "yot.worker1",
	    "housing.officer1", "auditor.ada"};
	static const char *const secrets[] = {"Jordan", "Reed", "9434765919",
	                                      "missing overnight"};
	struct mash_env_opened *o = NULL;
	struct mash_mq_msg m;
	size_t i, k, n_amara = 0, named = 0, lines = 0;
	char out[700], err[700], why[256];
	char *text, *p;

	for (k = 0; k < sizeof(everyone) / sizeof(everyone[0]); k++)
		open_session(everyone[k]);
	run_event();
	ck_assert_uint_ge(n_got, 4); /* analyst, manager, sw, swm, pp, nurse */
	for (i = 0; i < n_got; i++) {
		for (k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
			ck_assert_msg(
			    !holds(got[i].buf, got[i].len, secrets[k]),
			    "'%s' crossed the broker in clear to %s",
			    secrets[k], got[i].topic);
		memset(&m, 0, sizeof(m));
		m.topic = got[i].topic;
		m.payload = got[i].buf;
		m.len = got[i].len;
		ck_assert_msg(mash_test_open_delivery(enc_dir, mashd_trust, &m,
		                                      "mash.v1.SharedRecord",
		                                      &o, why,
		                                      sizeof(why)) == MASH_OK,
		              "%s: %s", got[i].topic, why);
		named += holds(o->payload, o->payload_len, "Jordan");
		mash_env_opened_free(o);
		o = NULL;
		n_amara +=
		    strcmp(got[i].topic, "mash/v1/inbox/analyst.amara") == 0;
	}
	/* Sealed, not lost: the recipients do read the child's name. */
	ck_assert_uint_gt(named, 0);
	ck_assert_uint_eq(n_amara, 1);
	/* Every principal reads exactly its own with the product's reader:
	 * what the capture saw for it, all opened, nothing else. */
	for (k = 0; k < sizeof(everyone) / sizeof(everyone[0]); k++) {
		size_t want = 0;
		char topic[128];

		snprintf(topic, sizeof(topic), "mash/v1/inbox/%s", everyone[k]);
		for (i = 0; i < n_got; i++)
			want += strcmp(got[i].topic, topic) == 0;
		ck_assert_int_eq(
		    inbox_read(everyone[k], "--json --timeout 2", out, err), 0);
		text = slurp(out);
		lines = 0;
		for (p = text;
		     (p = strstr(p, "\"type\":\"mash.v1.SharedRecord\"")) !=
		     NULL;
		     p++)
			lines++;
		ck_assert_msg(lines == want,
		              "%s read %zu, the broker carried %zu",
		              everyone[k], lines, want);
		if (strcmp(everyone[k], "analyst.amara") == 0) {
			ck_assert_uint_eq(lines, n_amara);
			ck_assert_ptr_nonnull(
			    strstr(text, "\"recipient\":\"analyst.amara\""));
			ck_assert_ptr_nonnull(strstr(text, "Jordan"));
		}
		free(text);
	}
}
END_TEST

START_TEST(wrong_key_tampered_and_misaddressed_are_reported_not_printed)
{
	char out[700], err[700], args[900];
	char *text;
	size_t i, sam = MAX_CAP, amara = MAX_CAP;
	unsigned char *bad;

	open_session("analyst.amara");
	run_event();
	for (i = 0; i < n_got; i++) {
		if (strcmp(got[i].topic, "mash/v1/inbox/sw.sam") == 0)
			sam = i;
		if (strcmp(got[i].topic, "mash/v1/inbox/analyst.amara") == 0)
			amara = i;
	}
	ck_assert_uint_lt(sam, MAX_CAP);
	ck_assert_uint_lt(amara, MAX_CAP);
	/* Sam's delivery put into Amara's inbox, and Amara's with one byte
	 * of its ciphertext changed. */
	ck_assert_int_eq(mash_mashd_fx_publish(fx,
	                                       "mash/v1/inbox/analyst.amara",
	                                       got[sam].buf, got[sam].len),
	                 0);
	bad = malloc(got[amara].len);
	ck_assert_ptr_nonnull(bad);
	memcpy(bad, got[amara].buf, got[amara].len);
	bad[got[amara].len / 2] ^= 0x01;
	ck_assert_int_eq(mash_mashd_fx_publish(fx,
	                                       "mash/v1/inbox/analyst.amara",
	                                       bad, got[amara].len),
	                 0);
	free(bad);
	/* And Sam's key instead of Amara's: the genuine one does not open. */
	snprintf(args, sizeof(args),
	         "--json --timeout 2 --key '%s/sw.sam/e1.key.pem'", enc_dir);
	ck_assert_int_eq(inbox_read("analyst.amara", args, out, err), 1);
	text = slurp(out);
	ck_assert_str_eq(text, ""); /* nothing printed */
	free(text);
	text = slurp(err);
	ck_assert_ptr_nonnull(strstr(text, "(DECRYPT)"));
	ck_assert_ptr_nonnull(strstr(text, "(WRONG_RECIPIENT)"));
	ck_assert_ptr_nonnull(strstr(text, "(BAD_SIGNATURE)"));
	ck_assert_ptr_nonnull(strstr(text, "0 message(s) shown, 3 refused"));
	ck_assert_ptr_null(strstr(text, "Jordan"));
	free(text);
}
END_TEST

/* Wait until the capture has a message for topic; 1 if one came. */
static int
await_topic(const char *topic, int ms)
{
	struct mash_mq_msg *m = NULL;
	int waited = 0, found = 0;

	while (!found && waited < ms) {
		if (mash_mq_next(cap, 100, &m) != MASH_OK) {
			waited += 100;
			continue;
		}
		found = strcmp(m->topic, topic) == 0 &&
		        !holds(m->payload, m->len, "Jordan");
		mash_mq_msg_free(m);
		m = NULL;
	}
	return found;
}

/* No clear fallback: a principal the directory gives no key is sent
 * nothing, the delivery is held and audited; the SIGHUP that brings the
 * key delivers it, sealed, and audits that. */
START_TEST(held_without_key_then_delivered_sealed_after_sighup)
{
	char path[700], *orig, *cut, *line, *end, *log;
	size_t len = 0, loglen = 0, i;
	int sam = 0;

	mash_test_broker_directory(fx->broker, path, sizeof(path));
	orig = mash_test_read_file(path, 1u << 20, &len);
	ck_assert_ptr_nonnull(orig);
	ck_assert_uint_gt(len, 0);
	cut = strdup(orig);
	ck_assert_ptr_nonnull(cut);
	line = strstr(cut, "/enc/sw.sam/");
	ck_assert_ptr_nonnull(line);
	while (line > cut && line[-1] != '\n')
		line--;
	end = strchr(line, '\n');
	ck_assert_ptr_nonnull(end);
	memmove(line, end + 1, strlen(end + 1) + 1);
	ck_assert_int_eq(mash_test_write_file(path, cut, strlen(cut)), 0);
	run_event();
	for (i = 0; i < n_got; i++)
		sam += strcmp(got[i].topic, "mash/v1/inbox/sw.sam") == 0;
	ck_assert_int_eq(sam, 0);
	/* Said at start-up, not discovered later. */
	log = mash_test_read_file(fx->log, 1u << 22, &loglen);
	ck_assert_ptr_nonnull(log);
	ck_assert_ptr_nonnull(strstr(log, "sw.sam has no enc_key"));
	free(log);
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM audit_log WHERE type = "
	                         "'DELIVERY_HELD' AND recipient = 'sw.sam'"),
	                 1);
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(fx, "SELECT count(*) FROM outbox WHERE "
	                              "held_type IS NOT NULL"),
	    1);
	/* The key arrives. */
	ck_assert_int_eq(mash_test_write_file(path, orig, len), 0);
	ck_assert_int_eq(kill(fx->mashd, SIGHUP), 0);
	ck_assert(await_topic("mash/v1/inbox/sw.sam", 15000));
	ck_assert_int_eq(mash_mashd_fx_sql_int(
	                     fx, "SELECT count(*) FROM audit_log WHERE type = "
	                         "'DELIVERY_QUEUED' AND recipient = 'sw.sam' "
	                         "AND record LIKE '%held_as%'"),
	                 1);
	ck_assert_int_eq(
	    mash_mashd_fx_sql_int(fx, "SELECT count(*) FROM outbox WHERE "
	                              "held_type IS NOT NULL"),
	    0);
	free(cut);
	free(orig);
}
END_TEST

/* The construction is not private to our C code: Python's protobuf and
 * cryptography verify mashd's signature and open a real delivery by
 * docs/internals/crypto.md alone. */
START_TEST(python_verifies_and_opens_a_real_delivery)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char path[800], py[800], cmd[9000], out[4096] = "";
	size_t i, amara = MAX_CAP, r;
	FILE *f;

	run_event();
	for (i = 0; i < n_got; i++)
		if (strcmp(got[i].topic, "mash/v1/inbox/analyst.amara") == 0)
			amara = i;
	ck_assert_uint_lt(amara, MAX_CAP);
	snprintf(path, sizeof(path), "%s/delivery.bin", fx->dir);
	ck_assert_int_eq(
	    mash_test_write_file(path, got[amara].buf, got[amara].len), 0);
	snprintf(py, sizeof(py), "%s/py", fx->dir);
	snprintf(
	    cmd, sizeof(cmd),
	    "mkdir -p '%s' && /usr/bin/protoc -I '%s/proto' --python_out='%s' "
	    "mash/v1/mash.proto && /usr/bin/python3 - '%s' '%s' "
	    "'%s/analyst.amara/e1.key.pem' '%s' <<'PY'\n"
	    "import sys\n"
	    "sys.path.insert(0, sys.argv[1])\n"
	    "from mash.v1 import mash_pb2\n"
	    "from cryptography.hazmat.primitives import hashes, serialization\n"
	    "from cryptography.hazmat.primitives.asymmetric.x25519 import "
	    "X25519PublicKey\n"
	    "from cryptography.hazmat.primitives.kdf.hkdf import HKDF\n"
	    "from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n"
	    "load = lambda p: serialization.load_pem_private_key("
	    "open(p, 'rb').read(), None)\n"
	    "env = mash_pb2.SignedEnvelope()\n"
	    "env.ParseFromString(open(sys.argv[4], 'rb').read())\n"
	    "assert env.payload_type == 'mash.v1.SealedMessage'\n"
	    "load(sys.argv[2]).public_key().verify(env.signature, "
	    "b'mash.v1.envelope\\n' + env.payload_type.encode() + b'\\n' "
	    "+ env.payload)\n"
	    "sm = mash_pb2.SealedMessage()\n"
	    "sm.ParseFromString(env.payload)\n"
	    "assert sm.version == 1 and sm.recipient == 'analyst.amara'\n"
	    "b = sm.sealed\n"
	    "assert b[0] == 1\n"
	    "eph, nonce, ct = b[1:33], b[33:45], b[45:]\n"
	    "key = load(sys.argv[3])\n"
	    "me = key.public_key().public_bytes(serialization.Encoding.Raw, "
	    "serialization.PublicFormat.Raw)\n"
	    "shared = key.exchange(X25519PublicKey.from_public_bytes(eph))\n"
	    "k = HKDF(hashes.SHA256(), 32, eph + me, "
	    "b'mash.v1.seal').derive(shared)\n"
	    "aad = b'mash.v1.seal\\n' + sm.recipient.encode() + b'\\n' + "
	    "sm.payload_type.encode()\n"
	    "rec = mash_pb2.SharedRecord()\n"
	    "rec.ParseFromString(AESGCM(k).decrypt(nonce, ct, aad))\n"
	    "sys.stdout.write(sm.payload_type + ' ' + rec.case_id + ' ' + "
	    "rec.fields['subject.given_name'])\n"
	    "PY\n",
	    py, src, py, py, fx->mashd_key, enc_dir, path);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	r = fread(out, 1, sizeof(out) - 1, f);
	out[r] = '\0';
	ck_assert_int_eq(pclose(f), 0);
	ck_assert_msg(strncmp(out, "mash.v1.SharedRecord C-", 23) == 0, "%s",
	              out);
	ck_assert_ptr_nonnull(strstr(out, " Jordan"));
}
END_TEST

static Suite *
sealed_suite(void)
{
	Suite *s = suite_create("it_sealed_inbox");
	TCase *tc = tcase_create("sealed");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc,
	               broker_sees_no_name_and_each_recipient_reads_its_own);
	tcase_add_test(
	    tc, wrong_key_tampered_and_misaddressed_are_reported_not_printed);
	tcase_add_test(tc, python_verifies_and_opens_a_real_delivery);
	tcase_add_test(tc, held_without_key_then_delivered_sealed_after_sighup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sealed_suite());
	int failed;

	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
