/*
 * picture_stack.c - see picture_stack.h. Tests only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "support/broker.h"
#include "support/picture_stack.h"
#include "support/sealed_inbox.h"
#include "support/story.h"

#define PS_PATH       4096
#define PS_KEY_ID     "k1"
#define PS_START_MS   30000
#define PS_RECEIPT_MS 15000
#define PS_INGEST_MS  120000 /* the whole story, each receipt in time */

struct mash_picture_stack {
	struct mash_test_broker *broker;
	char *dir;
	char trust[PS_PATH];
	char keys[PS_PATH];
	char db[PS_PATH];
	char cfg[PS_PATH];
	char piccfg[PS_PATH];
	char policy[PS_PATH];
	char directory[PS_PATH];
	char log[PS_PATH];
	pid_t mashd;
	unsigned seq; /* client ids */
};

static const char *const signers[] = {
    "mashd",       "police",        "health",
    "education",   "yot",           "housing",
    "social-care", "analyst.amara", "housing.officer1",
    "auditor.ada", "sw.sam",
};

static void
ps_err(const char *fmt, ...)
{
	va_list ap;

	fputs("picture_stack: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int64_t
ps_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ps_path(char *buf, const char *a, const char *b)
{
	return mash_snprintf(buf, PS_PATH, "%s/%s", a, b) == MASH_OK ? 0 : -1;
}

static int
load_key(const struct mash_picture_stack *s, const char *signer,
         struct mash_key **k)
{
	char p[PS_PATH];

	if (mash_snprintf(p, sizeof(p), "%s/%s/%s.key.pem", s->keys, signer,
	                  PS_KEY_ID) != MASH_OK)
		return MASH_ERR_INVAL;
	return mash_key_load_private(p, k);
}

static int
make_keys(struct mash_picture_stack *s)
{
	char d[PS_PATH], p[PS_PATH], why[256];
	struct mash_key *k = NULL;
	size_t i;
	int rc;

	if (mkdir(s->keys, 0700) != 0)
		return -1;
	for (i = 0; i < sizeof(signers) / sizeof(signers[0]); i++) {
		if (ps_path(d, s->keys, signers[i]) || mkdir(d, 0700) != 0 ||
		    mash_snprintf(p, sizeof(p), "%s/%s.key.pem", d,
		                  PS_KEY_ID) != MASH_OK)
			return -1;
		rc = mash_key_generate(&k);
		if (rc == MASH_OK)
			rc = mash_key_save_private(k, p);
		if (rc == MASH_OK)
			rc = mash_trust_add_key(s->trust, signers[i], PS_KEY_ID,
			                        k, why, sizeof(why));
		mash_key_free(k);
		k = NULL;
		if (rc != MASH_OK) {
			ps_err("key for %s: %s %s", signers[i],
			       mash_strerror(rc), why);
			return -1;
		}
	}
	return 0;
}

static int
write_text(const char *path, const char *text)
{
	return mash_test_write_file(path, text, strlen(text));
}

static int
write_configs(struct mash_picture_stack *s)
{
	char buf[8192], mqtt[2200], enc[PS_PATH];
	struct mash_test_tls t;

	if (mash_snprintf(
	        buf, sizeof(buf),
	        "# mashd for it_picture (tests/support/picture_stack.c)\n"
	        "mqtt = { %s client_id = \"mashd-%d\"; };\n"
	        "signer = \"mashd\";\n"
	        "key_id = \"%s\";\n"
	        "key_file = \"%s/mashd/%s.key.pem\";\n"
	        "trust_store = \"%s\";\n"
	        "policy = \"%s\";\n"
	        "directory = \"%s\";\n"
	        "store = \"%s\";\n"
	        "calendar = \"%s/s47/holidays.cfg\";\n"
	        "log_level = \"info\";\n",
	        mash_test_broker_mqtt_cfg(s->broker, "mashd", mqtt,
	                                  sizeof(mqtt)),
	        (int)getpid(), PS_KEY_ID, s->keys, PS_KEY_ID, s->trust,
	        s->policy, s->directory, s->db,
	        getenv("MASH_SOURCE_DIR")) != MASH_OK ||
	    write_text(s->cfg, buf) != 0)
		return -1;
	/* The picture client as the harness: the tests also ask as
	 * principals that have no certificate (refused by mashd, not by the
	 * broker); the demo and it_tls_acl use each principal's own. */
	mash_test_broker_files(s->broker, MASH_TEST_HARNESS, &t);
	if (mash_snprintf(buf, sizeof(buf),
	                  "picture = {\n"
	                  "  mqtt_uri = \"%s\";\n"
	                  "  mqtt_ca_file = \"%s\";\n"
	                  "  mqtt_cert_file = \"%s\";\n"
	                  "  mqtt_key_file = \"%s\";\n"
	                  "  key_dir = \"%s\";\n"
	                  "  key_id = \"%s\";\n"
	                  "  enc_key_dir = \"%s\";\n"
	                  "  trust_store = \"%s\";\n"
	                  "  timeout_ms = 15000;\n"
	                  "};\n",
	                  mash_test_broker_uri(s->broker), t.ca, t.cert, t.key,
	                  s->keys, PS_KEY_ID,
	                  mash_test_broker_enc_dir(s->broker, enc, sizeof(enc)),
	                  s->trust) != MASH_OK ||
	    write_text(s->piccfg, buf) != 0)
		return -1;
	return 0;
}

/* Copy the repository's policy files (or policy_text) into the stack. */
static int
write_policy(struct mash_picture_stack *s, const char *policy_text)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	const char *names[] = {"default.cfg", "s47.cfg", "directory.cfg"};
	char from[PS_PATH], to[PS_PATH];
	char *text;
	size_t i, len = 0;

	if (src == NULL) {
		ps_err("MASH_SOURCE_DIR is not set");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		if (mash_snprintf(from, sizeof(from), "%s/policy/%s", src,
		                  names[i]) != MASH_OK ||
		    ps_path(to, s->dir, names[i]))
			return -1;
		/* The hub's directory: every principal with its encryption
		 * key (support/sealed_inbox.h). */
		if (i == 2)
			(void)mash_test_broker_directory(s->broker, from,
			                                 sizeof(from));
		text = mash_test_read_file(from, 1u << 20, &len);
		if (text == NULL) {
			ps_err("cannot read %s", from);
			return -1;
		}
		if (i == 0 && policy_text != NULL) {
			free(text);
			text = strdup(policy_text);
			if (text == NULL)
				return -1;
			len = strlen(text);
		}
		if (mash_test_write_file(to, text, len) != 0) {
			free(text);
			return -1;
		}
		free(text);
	}
	if (ps_path(s->policy, s->dir, "default.cfg") ||
	    ps_path(s->directory, s->dir, "directory.cfg"))
		return -1;
	return 0;
}

/* A delivery as its recipient reads it: sealed to a principal of the
 * hub's directory (its key under the broker's enc/); a principal with no
 * key gets only clear refusals. */
static int
ps_open(struct mash_picture_stack *s, const struct mash_trust *trust,
        const struct mash_mq_msg *m, const char *type,
        struct mash_env_opened **o, char *why, size_t whylen)
{
	char enc[PS_PATH], key[PS_PATH + 160];
	struct stat st;

	(void)mash_test_broker_enc_dir(s->broker, enc, sizeof(enc));
	(void)mash_snprintf(key, sizeof(key), "%s/%s/e1.key.pem", enc,
	                    m->topic + strlen("mash/v1/inbox/"));
	if (strncmp(m->topic, "mash/v1/inbox/", 14) == 0 && stat(key, &st) == 0)
		return mash_test_open_delivery(enc, trust, m, type, o, why,
		                               whylen);
	return mash_env_open(trust, m->payload, m->len, type, "mashd", o, why,
	                     whylen);
}

static struct mash_mq *
ps_client(struct mash_picture_stack *s, const char *const *topics, size_t n)
{
	struct mash_mq_opts o;
	struct mash_mq *mq = NULL;
	char id[40];
	size_t i;

	(void)mash_snprintf(id, sizeof(id), "it-%d-%u", (int)getpid(),
	                    ++s->seq);
	struct mash_test_tls t;

	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(s->broker, MASH_TEST_HARNESS, &t, &o);
	o.client_id = id;
	o.clean_start = 1;
	o.session_expiry_s = 0;
	if (mash_mq_new(&o, &mq) != MASH_OK)
		return NULL;
	for (i = 0; i < n; i++) {
		if (mash_mq_subscribe(mq, topics[i], 5000) != MASH_OK)
			goto fail;
	}
	if (mash_mq_connect(mq, 10000) != MASH_OK)
		goto fail;
	return mq;
fail:
	mash_mq_free(mq);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The story (SHARED-DEFS.md)                                           */

/* Publish every story event in order, each after the previous one's
 * receipt, and require ACCEPTED (or DUPLICATE on a re-run). */
static int
ingest(struct mash_picture_stack *s)
{
	const char *topics[] = {"mash/v1/receipts/+"};
	struct mash_trust *trust = NULL;
	struct mash_mq *mq = NULL;
	struct mash_mq_msg *m = NULL;
	struct mash_env_opened *o = NULL;
	Mash__V1__Receipt *r = NULL;
	char topic[128], why[256];
	uint8_t *env = NULL;
	size_t len = 0, i;
	int64_t deadline;
	int rc = -1, got;

	if (mash_trust_load(s->trust, &trust, why, sizeof(why)) != MASH_OK)
		goto out;
	mq = ps_client(s, topics, 1);
	if (mq == NULL)
		goto out;
	for (i = 0; i < mash_test_story_count(); i++) {
		const struct mash_test_story_event *e = mash_test_story_get(i);
		struct mash_key *k = NULL;
		int krc;

		krc = load_key(s, e->agency, &k);
		if (krc == MASH_OK)
			krc = mash_test_story_seal(i, k, PS_KEY_ID, &env, &len);
		mash_key_free(k);
		if (krc != MASH_OK) {
			ps_err("cannot seal story event %zu", i);
			goto out;
		}
		(void)mash_snprintf(topic, sizeof(topic), "mash/v1/events/%s",
		                    e->agency);
		if (mash_mq_publish(mq, topic, env, len, 0, NULL, 5000) !=
		    MASH_OK) {
			ps_err("cannot publish story event %zu", i);
			goto out;
		}
		mash_free(env);
		env = NULL;
		got = 0;
		deadline = ps_now_ms() + PS_RECEIPT_MS;
		while (!got && ps_now_ms() < deadline) {
			mash_mq_msg_free(m);
			m = NULL;
			if (mash_mq_next(mq, 500, &m) != MASH_OK)
				continue;
			mash_env_opened_free(o);
			o = NULL;
			if (mash_env_open(trust, m->payload, m->len,
			                  "mash.v1.Receipt", "mashd", &o, why,
			                  sizeof(why)) != MASH_OK)
				continue;
			if (r != NULL)
				mash__v1__receipt__free_unpacked(r, NULL);
			r = mash__v1__receipt__unpack(NULL, o->payload_len,
			                              o->payload);
			if (r == NULL || strcmp(r->event_id, e->event_id))
				continue;
			if (r->status != MASH__V1__RECEIPT__STATUS__ACCEPTED &&
			    r->status != MASH__V1__RECEIPT__STATUS__DUPLICATE) {
				ps_err("story event %zu rejected: %s", i,
				       r->reason);
				goto out;
			}
			got = 1;
		}
		if (!got) {
			ps_err("no receipt for story event %zu (%s)", i,
			       e->agency);
			goto out;
		}
	}
	rc = 0;
out:
	if (r != NULL)
		mash__v1__receipt__free_unpacked(r, NULL);
	mash_env_opened_free(o);
	mash_mq_msg_free(m);
	mash_free(env);
	mash_mq_free(mq);
	mash_trust_free(trust);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */

static int
seal_request(struct mash_picture_stack *s, const struct mash_picture_ask *a,
             const struct mash_key *forged, uint8_t **env, size_t *len)
{
	Mash__V1__PictureRequest req;
	Mash__V1__Subject subj;
	struct mash_key *k = NULL;
	int rc;

	mash__v1__picture_request__init(&req);
	mash__v1__subject__init(&subj);
	if (a->case_id != NULL) {
		req.case_id = (char *)a->case_id;
	} else {
		subj.nhs_number = (char *)a->nhs;
		req.subject = &subj;
	}
	req.purpose = (char *)a->purpose;
	if (a->break_glass != NULL)
		req.break_glass_reason = (char *)a->break_glass;
	if (forged != NULL)
		return mash_env_seal_msg(forged, a->principal, PS_KEY_ID,
		                         &req.base, env, len);
	rc = load_key(s, a->principal, &k);
	if (rc == MASH_OK)
		rc = mash_env_seal_msg(k, a->principal, PS_KEY_ID, &req.base,
		                       env, len);
	mash_key_free(k);
	return rc;
}

/* The general request: see ask / ask_with_notice / ask_forged. */
static int
do_ask(struct mash_picture_stack *s, const struct mash_picture_ask *a,
       const struct mash_key *forged, Mash__V1__Picture **out, int *stray,
       const char *notified, Mash__V1__SharedRecord **note, int timeout_ms)
{
	const char *topics[3];
	char inbox[128], ninbox[128], why[256];
	unsigned char corr[16];
	struct mash_trust *trust = NULL;
	struct mash_mq *mq = NULL;
	struct mash_mq_msg *m = NULL;
	struct mash_env_opened *o = NULL;
	struct mash_mq_props props;
	Mash__V1__Picture *p = NULL;
	Mash__V1__SharedRecord *n = NULL;
	uint8_t *env = NULL;
	size_t len = 0, nt = 0;
	int64_t deadline, grace = 0;
	int rc = MASH_ERR_INTERNAL, strays = 0, want_note;

	if (out != NULL)
		*out = NULL;
	if (stray != NULL)
		*stray = 0;
	if (note != NULL)
		*note = NULL;
	want_note = notified != NULL && note != NULL;
	if (mash_trust_load(s->trust, &trust, why, sizeof(why)) != MASH_OK)
		goto out;
	(void)mash_snprintf(inbox, sizeof(inbox), "mash/v1/inbox/%s",
	                    a->principal);
	topics[nt++] = inbox;
	if (a->watch_topic != NULL)
		topics[nt++] = a->watch_topic;
	if (want_note) {
		(void)mash_snprintf(ninbox, sizeof(ninbox), "mash/v1/inbox/%s",
		                    notified);
		topics[nt++] = ninbox;
	}
	mq = ps_client(s, topics, nt);
	if (mq == NULL) {
		rc = MASH_ERR_MQTT;
		goto out;
	}
	rc = seal_request(s, a, forged, &env, &len);
	if (rc != MASH_OK)
		goto out;
	if (RAND_bytes(corr, sizeof(corr)) != 1) {
		rc = MASH_ERR_CRYPTO;
		goto out;
	}
	memset(&props, 0, sizeof(props));
	props.response_topic = a->response_topic ? a->response_topic : inbox;
	props.correlation = corr;
	props.correlation_len = sizeof(corr);
	rc = mash_mq_publish(mq, "mash/v1/requests/picture", env, len, 0,
	                     &props, 5000);
	if (rc != MASH_OK)
		goto out;
	deadline = ps_now_ms() + timeout_ms;
	rc = MASH_ERR_TIMEOUT;
	for (;;) {
		int64_t now = ps_now_ms();
		int64_t end = grace ? grace : deadline;

		if (now >= end)
			break;
		mash_mq_msg_free(m);
		m = NULL;
		if (mash_mq_next(mq, (int)(end - now), &m) != MASH_OK)
			continue;
		if (a->watch_topic != NULL &&
		    strcmp(m->topic, a->watch_topic) == 0 &&
		    m->correlation_len == sizeof(corr) &&
		    memcmp(m->correlation, corr, sizeof(corr)) == 0)
			strays++;
		if (want_note && n == NULL && strcmp(m->topic, ninbox) == 0) {
			mash_env_opened_free(o);
			o = NULL;
			if (ps_open(s, trust, m, "mash.v1.SharedRecord", &o,
			            why, sizeof(why)) == MASH_OK) {
				n = mash__v1__shared_record__unpack(
				    mash_env_pb_allocator(), o->payload_len,
				    o->payload);
				if (n != NULL &&
				    !mash_streq(n->rule_id, "break-glass")) {
					mash__v1__shared_record__free_unpacked(
					    n, mash_env_pb_allocator());
					n = NULL;
				}
			}
		}
		if (p == NULL && strcmp(m->topic, inbox) == 0 &&
		    m->correlation_len == sizeof(corr) &&
		    memcmp(m->correlation, corr, sizeof(corr)) == 0) {
			mash_env_opened_free(o);
			o = NULL;
			rc = ps_open(s, trust, m, "mash.v1.Picture", &o, why,
			             sizeof(why));
			if (rc != MASH_OK)
				goto out;
			p = mash__v1__picture__unpack(mash_env_pb_allocator(),
			                              o->payload_len,
			                              o->payload);
			if (p == NULL) {
				rc = MASH_ERR_DECODE;
				goto out;
			}
			rc = MASH_OK;
		}
		/* Done when everything awaited is here; then a short grace
		 * for strays on the watched topic. */
		if (p != NULL &&
		    (!want_note || n != NULL || p->break_glass == 0)) {
			if (a->watch_topic == NULL)
				break;
			if (grace == 0)
				grace = ps_now_ms() + 500;
		}
	}
	if (p == NULL)
		rc = MASH_ERR_TIMEOUT;
out:
	if (stray != NULL)
		*stray = strays;
	if (rc == MASH_OK && out != NULL) {
		*out = p;
		p = NULL; /* transferred */
	}
	if (note != NULL) {
		*note = n;
		n = NULL; /* transferred */
	}
	if (n != NULL)
		mash__v1__shared_record__free_unpacked(n,
		                                       mash_env_pb_allocator());
	if (p != NULL)
		mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
	mash_env_opened_free(o);
	mash_mq_msg_free(m);
	mash_free(env);
	mash_mq_free(mq);
	mash_trust_free(trust);
	return rc;
}

int
mash_picture_stack_ask(struct mash_picture_stack *s,
                       const struct mash_picture_ask *a,
                       Mash__V1__Picture **out, int *stray, int timeout_ms)
{
	return do_ask(s, a, NULL, out, stray, NULL, NULL, timeout_ms);
}

int
mash_picture_stack_ask_with_notice(struct mash_picture_stack *s,
                                   const struct mash_picture_ask *a,
                                   Mash__V1__Picture **out,
                                   const char *notified,
                                   Mash__V1__SharedRecord **note,
                                   int timeout_ms)
{
	return do_ask(s, a, NULL, out, NULL, notified, note, timeout_ms);
}

int
mash_picture_stack_ask_forged(struct mash_picture_stack *s,
                              const char *principal, int timeout_ms)
{
	struct mash_picture_ask a;
	struct mash_key *k = NULL;
	Mash__V1__Picture *p = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	a.principal = principal;
	a.purpose = "mash-triage";
	a.nhs = "9434765919";
	rc = mash_key_generate(&k);
	if (rc != MASH_OK)
		return rc;
	rc = do_ask(s, &a, k, &p, NULL, NULL, NULL, timeout_ms);
	if (p != NULL)
		mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
	mash_key_free(k);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Audit trail                                                          */

int64_t
mash_picture_stack_audit_count(struct mash_picture_stack *s, const char *type,
                               const char *principal)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_open_v2(s->db, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM audit_log WHERE type = ?1 "
	                       "AND (?2 IS NULL OR recipient = ?2)",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	if (principal != NULL)
		sqlite3_bind_text(st, 2, principal, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

char *
mash_picture_stack_audit_record(struct mash_picture_stack *s, uint64_t seq)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *rec = NULL;

	if (sqlite3_open_v2(s->db, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db,
	                       "SELECT record FROM audit_log WHERE seq = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		rec = strdup((const char *)sqlite3_column_text(st, 0));
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rec;
}

/* ------------------------------------------------------------------ */
/* mashctl                                                              */

int
mash_picture_stack_mashctl(struct mash_picture_stack *s, char **out, ...)
{
	const char *argv[32];
	char bin[PS_PATH], outp[PS_PATH];
	const char *bindir = getenv("MASH_BIN_DIR");
	const char *arg;
	va_list ap;
	size_t n = 0;
	pid_t pid;
	int status = 0;

	*out = NULL;
	if (bindir == NULL ||
	    mash_snprintf(bin, sizeof(bin), "%s/mashctl", bindir) != MASH_OK ||
	    mash_snprintf(outp, sizeof(outp), "%s/mashctl.%u.out", s->dir,
	                  ++s->seq) != MASH_OK)
		return -1;
	argv[n++] = bin;
	argv[n++] = "picture";
	argv[n++] = "--config";
	argv[n++] = s->piccfg;
	va_start(ap, out);
	while ((arg = va_arg(ap, const char *)) != NULL && n < 30)
		argv[n++] = arg;
	va_end(ap);
	argv[n] = NULL;
	pid = mash_test_spawn(argv, NULL, outp, outp);
	if (pid < 0)
		return -1;
	if (mash_test_wait(pid, 30000, &status) != 0) {
		(void)mash_test_kill(pid, SIGKILL, 1000, NULL);
		return -1;
	}
	*out = mash_test_read_file(outp, 1u << 20, NULL);
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                       */

/* mashd is ready when it answers a picture request (any answer). */
static int
wait_ready(struct mash_picture_stack *s)
{
	struct mash_picture_ask a;
	Mash__V1__Picture *p = NULL;
	int64_t deadline = ps_now_ms() + PS_START_MS;
	int rc;

	memset(&a, 0, sizeof(a));
	a.principal = "auditor.ada";
	a.purpose = "audit";
	a.case_id = "C-000000000000";
	while (ps_now_ms() < deadline) {
		rc = do_ask(s, &a, NULL, &p, NULL, NULL, NULL, 1000);
		if (rc == MASH_OK) {
			mash__v1__picture__free_unpacked(
			    p, mash_env_pb_allocator());
			return 0;
		}
	}
	ps_err("mashd did not answer within %d ms; see %s", PS_START_MS,
	       s->log);
	return -1;
}

/*
 * wait_ready and ingest, in a child of their own. The caller is the parent
 * of Check's forked tests, and Paho's threads and its library mutexes do
 * not survive fork(): a test child forked while one of them was held hangs
 * in its first Paho call (CI of c50f299: it_picture's first test sat 120 s
 * without connecting). So the parent never runs Paho; it watches mashd,
 * which only it can reap, while the helper works.
 */
static int
ready_and_ingest(struct mash_picture_stack *s)
{
	int64_t deadline = ps_now_ms() + PS_START_MS + PS_INGEST_MS;
	int status = 0;
	pid_t pid;

	(void)fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ps_err("cannot fork the start-up helper: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(wait_ready(s) == 0 && ingest(s) == 0 ? 0 : 1);
	for (;;) {
		if (mash_test_wait(pid, 100, &status) == 0)
			break;
		if (mash_test_wait(s->mashd, 0, NULL) == 0) {
			s->mashd = -1;
			ps_err("mashd exited at start; see %s", s->log);
			goto kill;
		}
		if (ps_now_ms() >= deadline) {
			ps_err("start-up helper still running after %d ms",
			       PS_START_MS + PS_INGEST_MS);
			goto kill;
		}
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
kill:
	(void)mash_test_kill(pid, SIGKILL, 1000, NULL);
	return -1;
}

struct mash_picture_stack *
mash_picture_stack_start(const char *tag, const char *policy_text)
{
	struct mash_picture_stack *s;
	const char *bindir = getenv("MASH_BIN_DIR");
	char bin[PS_PATH];
	const char *argv[4];

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->mashd = -1;
	s->dir = mash_test_mkdtemp(tag);
	if (s->dir == NULL || bindir == NULL ||
	    ps_path(s->trust, s->dir, "trust") ||
	    ps_path(s->keys, s->dir, "keys") ||
	    ps_path(s->db, s->dir, "mash.db") ||
	    ps_path(s->cfg, s->dir, "mashd.cfg") ||
	    ps_path(s->piccfg, s->dir, "picture.cfg") ||
	    ps_path(s->log, s->dir, "mashd.log") ||
	    mash_snprintf(bin, sizeof(bin), "%s/mashd", bindir) != MASH_OK)
		goto fail;
	if (mash_test_broker_start(&s->broker) != 0)
		goto fail;
	if (make_keys(s) != 0 || write_policy(s, policy_text) != 0 ||
	    write_configs(s) != 0) {
		ps_err("cannot prepare keys, policy or configs in %s", s->dir);
		goto fail;
	}
	argv[0] = bin;
	argv[1] = "--config";
	argv[2] = s->cfg;
	argv[3] = NULL;
	s->mashd = mash_test_spawn(argv, NULL, s->log, s->log);
	if (s->mashd < 0) {
		ps_err("cannot start %s", bin);
		goto fail;
	}
	if (ready_and_ingest(s) != 0)
		goto fail;
	return s;
fail:
	mash_picture_stack_free(s);
	return NULL;
}

void
mash_picture_stack_free(struct mash_picture_stack *s)
{
	if (s == NULL)
		return;
	if (s->mashd > 0) {
		if (mash_test_kill(s->mashd, SIGTERM, 10000, NULL) != 0)
			ps_err("mashd had to be killed");
	}
	mash_test_broker_free(s->broker);
	if (s->dir != NULL) {
		if (getenv("MASH_KEEP_TMP") == NULL)
			(void)mash_test_rmrf(s->dir);
		else
			ps_err("kept %s", s->dir);
		free(s->dir);
	}
	free(s);
}

const char *
mash_picture_stack_dir(const struct mash_picture_stack *s)
{
	return s->dir;
}

const char *
mash_picture_stack_db(const struct mash_picture_stack *s)
{
	return s->db;
}
