/*
 * agent_env.c - see agent_env.h. The responder thread stands in for
 * mashd's ingest until the daemon binary exists; it follows the wire
 * contract's rules (verify the envelope as transmitted, signer = topic
 * agency, validate, idempotent on (agency, event_id)) with the project's
 * own crypto/ and event/ modules.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "broker-adapters/mq.h"
#include "common/clock.h"
#include "common/err.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "event/evt.h"
#include "mash/v1/mash.pb-c.h"
#include "support/agent_env.h"
#include "support/broker.h"
#include "support/crypto_fixture.h"
#include "support/sealed_inbox.h"
#include "support/store_sql.h"

static const char *const agencies[] = {"police", "health",  "education",
                                       "yot",    "housing", "social-care"};
#define N_AGENCIES (sizeof(agencies) / sizeof(agencies[0]))

struct mash_test_agents {
	struct mash_test_broker *broker;
	char dir[256];
	char store[512];
	char cfg[N_AGENCIES][512];
	char outbox[N_AGENCIES][512];
	char bin[512];
	int real;
	pid_t mashd;
	int mashd_starts;
	char mashd_bin[600];
	struct mash_test_agents_opts opts;
	/* responder */
	pthread_t thread;
	int thread_live;
	atomic_int stop;
	atomic_int paused;
	struct mash_key *mashd_key;
	struct mash_trust *trust;
	sqlite3 *db;
	int seq;
};

static int
agency_index(const char *agency)
{
	size_t i;

	for (i = 0; i < N_AGENCIES; i++)
		if (strcmp(agencies[i], agency) == 0)
			return (int)i;
	return -1;
}

static int
mkdir_p2(const char *a, const char *b)
{
	char p[1024];

	if (snprintf(p, sizeof(p), "%s/%s", a, b) >= (int)sizeof(p))
		return -1;
	if (mkdir(p, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A key for signer: private PEM at DIR/keys/S/S-1.key.pem, public half
 * in the trust store at DIR/<store>. */
static int
make_key(struct mash_test_agents *e, const char *signer, const char *store,
         struct mash_key **keep)
{
	struct mash_key *k = NULL;
	char p[600], why[256], kid[80];
	int rc = -1;

	if (mash_key_generate(&k) != MASH_OK)
		goto out;
	(void)snprintf(p, sizeof(p), "keys/%s", signer);
	if (mkdir_p2(e->dir, p) != 0)
		goto out;
	(void)snprintf(p, sizeof(p), "%s/keys/%s/%s-1.key.pem", e->dir, signer,
	               signer);
	if (mash_key_save_private(k, p) != MASH_OK)
		goto out;
	(void)snprintf(p, sizeof(p), "%s/keys/%s/%s-1.pub.pem", e->dir, signer,
	               signer);
	if (mash_key_save_public(k, p) != MASH_OK)
		goto out;
	(void)snprintf(p, sizeof(p), "%s/%s", e->dir, store);
	(void)snprintf(kid, sizeof(kid), "%s-1", signer);
	if (mash_trust_add_key(p, signer, kid, k, why, sizeof(why)) !=
	    MASH_OK) {
		fprintf(stderr, "agent_env: trust add %s: %s\n", signer, why);
		goto out;
	}
	if (keep != NULL) {
		*keep = k;
		k = NULL;
	}
	rc = 0;
out:
	mash_key_free(k);
	return rc;
}

static int
write_agent_cfg(struct mash_test_agents *e, size_t i)
{
	const struct mash_test_agents_opts *o = &e->opts;
	char text[4096], mqtt[2200];
	int n;

	(void)snprintf(e->cfg[i], sizeof(e->cfg[i]), "%s/agent-%s.cfg", e->dir,
	               agencies[i]);
	(void)snprintf(e->outbox[i], sizeof(e->outbox[i]), "%s/outbox-%s.db",
	               e->dir, agencies[i]);
	n = snprintf(
	    text, sizeof(text),
	    "agent = {\n"
	    "  agency = \"%s\";\n"
	    "  log_level = \"%s\";\n"
	    "  mqtt = { %s client_id = \"it-agent-%s\";\n"
	    "           reconnect_min_s = 1; reconnect_max_s = 2; };\n"
	    "  signer = { key_id = \"%s-1\";\n"
	    "             key_file = \"keys/%s/%s-1.key.pem\"; };\n"
	    "  receipts = { trust_store = \"trust-agents\"; };\n"
	    "  outbox = { path = \"outbox-%s.db\"; backoff_min_ms = %d;\n"
	    "             backoff_max_ms = %d; max_inflight = %d; };\n"
	    "  timeouts = { connect_ms = 10000; publish_ms = 3000;\n"
	    "               receipt_wait_ms = 120000;\n"
	    "               follow_poll_ms = 100; };\n"
	    "};\n",
	    agencies[i],
	    o->agent_log_level != NULL ? o->agent_log_level : "info",
	    mash_test_broker_mqtt_cfg(e->broker, agencies[i], mqtt,
	                              sizeof(mqtt)),
	    agencies[i], agencies[i], agencies[i], agencies[i], agencies[i],
	    o->backoff_min_ms, o->backoff_max_ms,
	    o->max_inflight > 0 ? o->max_inflight : 256);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return mash_test_write_file(e->cfg[i], text, (size_t)n);
}

/* ---- the responder (mashd's ingest, as the wire contract states it) */

static void
send_receipt(struct mash_test_agents *e, struct mash_mq *mq, const char *agency,
             const char *event_id, Mash__V1__Receipt__Status status,
             const char *reason)
{
	Mash__V1__Receipt r = MASH__V1__RECEIPT__INIT;
	uint8_t *env = NULL;
	size_t len = 0;
	char topic[128];

	r.event_id = (char *)event_id;
	r.agency = (char *)agency;
	r.status = status;
	r.reason = (char *)reason;
	r.case_id = (char *)"case-standin";
	if (mash_env_seal_msg(e->mashd_key, "mashd", "mashd-1",
	                      (const ProtobufCMessage *)&r, &env,
	                      &len) != MASH_OK)
		return;
	(void)snprintf(topic, sizeof(topic), "mash/v1/receipts/%s", agency);
	/* While the broker is down this fails and the receipt is lost: the
	 * agent's re-send gets a DUPLICATE receipt later, as with mashd. */
	(void)mash_mq_publish(mq, topic, env, len, 0, NULL, 3000);
	free(env);
}

static void
respond(struct mash_test_agents *e, struct mash_mq *mq,
        const struct mash_mq_msg *m)
{
	const char *agency = strrchr(m->topic, '/');
	struct mash_env_opened *o = NULL;
	Mash__V1__AgencyEvent *ev = NULL;
	sqlite3_stmt *st = NULL;
	char why[256];
	int rc;

	if (agency == NULL)
		return;
	agency++;
	rc = mash_env_open(e->trust, m->payload, m->len, "mash.v1.AgencyEvent",
	                   agency, &o, why, sizeof(why));
	if (rc == MASH_OK)
		rc = mash_evt_decode(o->payload, o->payload_len, &ev, why,
		                     sizeof(why));
	if (rc == MASH_OK)
		rc = mash_evt_validate(ev, agency,
		                       mash_clock_now(mash_clock_system()), why,
		                       sizeof(why));
	if (rc != MASH_OK) {
		char reason[300];

		(void)snprintf(reason, sizeof(reason), "%s: %s",
		               mash_errname(rc), why);
		send_receipt(e, mq, agency, ev != NULL ? ev->event_id : "",
		             MASH__V1__RECEIPT__STATUS__REJECTED, reason);
		goto out;
	}
	if (sqlite3_prepare_v2(e->db,
	                       "INSERT OR IGNORE INTO events(agency, event_id)"
	                       " VALUES (?1, ?2);",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ev->event_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	send_receipt(e, mq, agency, ev->event_id,
	             sqlite3_changes(e->db) == 1
	                 ? MASH__V1__RECEIPT__STATUS__ACCEPTED
	                 : MASH__V1__RECEIPT__STATUS__DUPLICATE,
	             "");
out:
	sqlite3_finalize(st);
	mash_evt_free(ev);
	mash_env_opened_free(o);
}

static void *
responder(void *arg)
{
	struct mash_test_agents *e = arg;
	struct mash_mq *mq = (struct mash_mq *)NULL;
	struct mash_mq_opts o;
	struct mash_test_tls t;
	struct mash_mq_msg *m;

	mash_mq_opts_init(&o);
	/* It stands in for mashd: mashd's certificate and rights. */
	mash_test_broker_mq_opts(e->broker, "mashd", &t, &o);
	o.client_id = "it-mashd-standin";
	o.reconnect_min_s = 1;
	o.reconnect_max_s = 2;
	if (mash_mq_new(&o, &mq) != MASH_OK ||
	    mash_mq_subscribe(mq, "mash/v1/events/+", 5000) != MASH_OK ||
	    mash_mq_connect(mq, 10000) != MASH_OK) {
		fprintf(stderr, "agent_env: responder cannot connect\n");
		goto out;
	}
	while (!atomic_load(&e->stop)) {
		m = NULL;
		if (atomic_load(&e->paused)) {
			mash_test_sleep_ms(20);
			continue;
		}
		if (mash_mq_next(mq, 100, &m) != MASH_OK)
			continue;
		respond(e, mq, m);
		mash_mq_msg_free(m);
	}
out:
	if (mq != NULL) {
		(void)mash_mq_disconnect(mq, 1000);
		mash_mq_free(mq);
	}
	return NULL;
}

static int
start_responder(struct mash_test_agents *e)
{
	char p[600], why[256];

	(void)snprintf(p, sizeof(p), "%s/trust-daemon", e->dir);
	if (mash_trust_load(p, &e->trust, why, sizeof(why)) != MASH_OK) {
		fprintf(stderr, "agent_env: %s\n", why);
		return -1;
	}
	if (sqlite3_open(e->store, &e->db) != SQLITE_OK ||
	    sqlite3_exec(e->db,
	                 "PRAGMA journal_mode=WAL;"
	                 "CREATE TABLE events (seq INTEGER PRIMARY KEY,"
	                 " agency TEXT NOT NULL, event_id TEXT NOT NULL,"
	                 " UNIQUE (agency, event_id));",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	atomic_store(&e->stop, 0);
	if (pthread_create(&e->thread, NULL, responder, e) != 0)
		return -1;
	e->thread_live = 1;
	return 0;
}

/* The real daemon: mashd --config DIR/mashd.cfg, its store at e->store,
 * the agencies' keys in DIR/trust-daemon. Ready when its log says so. */
static int
start_mashd(struct mash_test_agents *e, const char *bin)
{
	char cfg[600], logp[600], text[8192], mqtt[2200];
	const char *argv[4];
	int n, i;

	(void)snprintf(cfg, sizeof(cfg), "%s/mashd.cfg", e->dir);
	if (e->mashd_starts++ == 0)
		(void)snprintf(logp, sizeof(logp), "%s/mashd.log", e->dir);
	else
		(void)snprintf(logp, sizeof(logp), "%s/mashd.%d.log", e->dir,
		               e->mashd_starts - 1);
	n = snprintf(
	    text, sizeof(text),
	    "mqtt = {\n"
	    "  %s\n"
	    "  client_id = \"mashd-it-agents\";\n"
	    "  reconnect_min = 1;\n"
	    "  reconnect_max = 2;\n"
	    "  queue_max_messages = %d;\n"
	    "};\n"
	    "ingest = { batch_max = %d; };\n"
	    "signer = \"mashd\";\n"
	    "key_id = \"mashd-1\";\n"
	    "key_file = \"%s/keys/mashd/mashd-1.key.pem\";\n"
	    "trust_store = \"%s/trust-daemon\";\n"
	    "store = \"%s\";\n"
	    "log_level = \"info\";\n%s",
	    mash_test_broker_mqtt_cfg(e->broker, "mashd", mqtt, sizeof(mqtt)),
	    e->opts.mashd_queue > 0 ? e->opts.mashd_queue : 1024,
	    e->opts.mashd_batch > 0 ? e->opts.mashd_batch : 32, e->dir, e->dir,
	    e->store, e->opts.mashd_extra != NULL ? e->opts.mashd_extra : "");
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    mash_test_subst_directory(e->broker, text, sizeof(text)) != 0 ||
	    mash_test_write_file(cfg, text, strlen(text)) != 0)
		return -1;
	argv[0] = bin;
	argv[1] = "--config";
	argv[2] = cfg;
	argv[3] = NULL;
	e->mashd = mash_test_spawn(argv, NULL, logp, logp);
	if (e->mashd < 0)
		return -1;
	for (i = 0; i < 400; i++) {
		char *log = mash_test_read_file(logp, 4u << 20, NULL);
		int ready = log != NULL && strstr(log, "mashd ready") != NULL;

		free(log);
		if (ready)
			return 0;
		if (mash_test_wait(e->mashd, 0, NULL) == 0) {
			e->mashd = -1;
			fprintf(stderr, "agent_env: mashd exited; log %s\n",
			        logp);
			return -1;
		}
		mash_test_sleep_ms(50);
	}
	fprintf(stderr, "agent_env: mashd not ready in 20 s; log %s\n", logp);
	return -1;
}

int
mash_test_agents_start(int bmin, int bmax, struct mash_test_agents **out)
{
	struct mash_test_agents_opts o;

	memset(&o, 0, sizeof(o));
	o.backoff_min_ms = bmin;
	o.backoff_max_ms = bmax;
	return mash_test_agents_start_opts(&o, out);
}

void
mash_test_agents_dump(const struct mash_test_agents *e, const char *tag)
{
	static const char *const suffix[] = {".err", ".out", NULL};
	char p[600], *text;
	size_t len, i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if (suffix[i] != NULL)
			(void)snprintf(p, sizeof(p), "%s/%s%s", e->dir, tag,
			               suffix[i]);
		else
			(void)snprintf(p, sizeof(p), "%s/mashd.log", e->dir);
		text = mash_test_read_file(p, 8u << 20, &len);
		if (text == NULL)
			continue;
		fprintf(stderr, "--- %s (last 3000 bytes)\n%s\n", p,
		        len > 3000 ? text + len - 3000 : text);
		free(text);
	}
}

pid_t
mash_test_agents_mashd_pid(const struct mash_test_agents *e)
{
	return e->real ? e->mashd : -1;
}

int
mash_test_agents_crash_mashd(struct mash_test_agents *e)
{
	if (!e->real || e->mashd <= 0)
		return -1;
	(void)kill(e->mashd, SIGCONT);
	(void)mash_test_kill(e->mashd, SIGKILL, 5000, NULL);
	e->mashd = -1;
	return start_mashd(e, e->mashd_bin);
}

int
mash_test_agents_start_opts(const struct mash_test_agents_opts *o,
                            struct mash_test_agents **out)
{
	struct mash_test_agents *e;
	const char *bindir = getenv("MASH_BIN_DIR");
	size_t i;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	e->mashd = -1;
	e->opts = *o;
	(void)mash_test_tmpdir(e->dir, sizeof(e->dir));
	if (mash_test_broker_start(&e->broker) != 0)
		goto fail;
	(void)snprintf(e->bin, sizeof(e->bin), "%s/mash-agent",
	               bindir != NULL ? bindir : "build/bin");
	(void)snprintf(e->store, sizeof(e->store), "%s/store.db", e->dir);
	if (mkdir_p2(e->dir, "keys") != 0)
		goto fail;
	for (i = 0; i < N_AGENCIES; i++) {
		if (make_key(e, agencies[i], "trust-daemon", NULL) != 0 ||
		    write_agent_cfg(e, i) != 0)
			goto fail;
	}
	if (make_key(e, "mashd", "trust-agents", &e->mashd_key) != 0)
		goto fail;
	{
		char *mashd_bin = e->mashd_bin;

		(void)snprintf(e->mashd_bin, sizeof(e->mashd_bin), "%s/mashd",
		               bindir != NULL ? bindir : "build/bin");
		e->real = access(mashd_bin, X_OK) == 0 &&
		          getenv("MASH_TEST_AGENTS_STANDIN") == NULL;
		if (e->real && start_mashd(e, mashd_bin) != 0)
			goto fail;
		if (!e->real && start_responder(e) != 0)
			goto fail;
		fprintf(stderr, "agent_env: receiving side: %s\n",
		        e->real ? "mashd" : "receipt responder (no mashd)");
	}
	*out = e;
	return 0;
fail:
	fprintf(stderr, "agent_env: setup failed\n");
	mash_test_agents_free(e);
	return -1;
}

void
mash_test_agents_free(struct mash_test_agents *e)
{
	if (e == NULL)
		return;
	if (e->thread_live) {
		atomic_store(&e->stop, 1);
		pthread_join(e->thread, NULL);
	}
	if (e->mashd > 0) {
		(void)kill(e->mashd, SIGCONT);
		(void)mash_test_kill(e->mashd, SIGTERM, 10000, NULL);
	}
	if (e->db != NULL)
		sqlite3_close(e->db);
	mash_trust_free(e->trust);
	mash_key_free(e->mashd_key);
	mash_test_broker_free(e->broker);
	if (e->dir[0] != '\0' && getenv("MASH_TEST_KEEP") == NULL)
		mash_test_rmtree(e->dir);
	free(e);
}

void
mash_test_agents_pause(struct mash_test_agents *e, int paused)
{
	if (e->real && e->mashd > 0)
		(void)kill(e->mashd, paused ? SIGSTOP : SIGCONT);
	else
		atomic_store(&e->paused, paused);
}

int
mash_test_agents_real_daemon(const struct mash_test_agents *e)
{
	return e->real;
}

struct mash_test_broker *
mash_test_agents_broker(struct mash_test_agents *e)
{
	return e->broker;
}

const char *
mash_test_agents_dir(const struct mash_test_agents *e)
{
	return e->dir;
}

const char *
mash_test_agents_store(const struct mash_test_agents *e)
{
	return e->store;
}

const char *
mash_test_agents_config(const struct mash_test_agents *e, const char *agency)
{
	int i = agency_index(agency);

	return i < 0 ? NULL : e->cfg[i];
}

const char *
mash_test_agents_outbox(const struct mash_test_agents *e, const char *agency)
{
	int i = agency_index(agency);

	return i < 0 ? NULL : e->outbox[i];
}

pid_t
mash_test_agents_spawn(struct mash_test_agents *e, const char *agency,
                       const char *feed, int follow, const char *tag)
{
	static const char *const fol[] = {"--follow", NULL};

	return mash_test_agents_spawn_args(e, agency, feed, follow ? fol : NULL,
	                                   tag);
}

pid_t
mash_test_agents_spawn_args(struct mash_test_agents *e, const char *agency,
                            const char *feed, const char *const *extra,
                            const char *tag)
{
	const char *argv[16];
	char outp[600], errp[600];
	int n = 0;

	if (mash_test_agents_config(e, agency) == NULL)
		return -1;
	argv[n++] = e->bin;
	argv[n++] = "--config";
	argv[n++] = mash_test_agents_config(e, agency);
	argv[n++] = "--agency";
	argv[n++] = agency;
	argv[n++] = "--input";
	argv[n++] = feed;
	for (; extra != NULL && *extra != NULL && n < 15; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	(void)snprintf(outp, sizeof(outp), "%s/%s.out", e->dir, tag);
	(void)snprintf(errp, sizeof(errp), "%s/%s.err", e->dir, tag);
	return mash_test_spawn(argv, NULL, outp, errp);
}

void
mash_test_agents_parse_summary(const char *text, struct mash_test_summary *s)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
	    {"records=", offsetof(struct mash_test_summary, records)},
	    {"sent=", offsetof(struct mash_test_summary, sent)},
	    {"accepted=", offsetof(struct mash_test_summary, accepted)},
	    {"duplicate=", offsetof(struct mash_test_summary, duplicate)},
	    {"rejected_by_agent=",
	     offsetof(struct mash_test_summary, rejected_by_agent)},
	    {"rejected_by_daemon=",
	     offsetof(struct mash_test_summary, rejected_by_daemon)},
	    {"pending=", offsetof(struct mash_test_summary, pending)},
	    {"resent=", offsetof(struct mash_test_summary, resent)},
	};
	const char *line = text != NULL ? strstr(text, "summary: ") : NULL;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long *dst = (long *)((char *)s + keys[i].off);
		const char *k = line != NULL ? strstr(line, keys[i].key) : NULL;

		*dst =
		    k != NULL ? strtol(k + strlen(keys[i].key), NULL, 10) : -1;
	}
}

int
mash_test_agents_run(struct mash_test_agents *e, const char *agency,
                     const char *feed, int timeout_ms, char **out, char **err,
                     struct mash_test_summary *s)
{
	char tag[64], p[600];
	char *o;
	pid_t pid;
	int status = 0, code = -1;

	(void)snprintf(tag, sizeof(tag), "run-%d-%s", ++e->seq, agency);
	pid = mash_test_agents_spawn(e, agency, feed, 0, tag);
	if (pid < 0)
		return -1;
	if (mash_test_wait(pid, timeout_ms, &status) != 0)
		(void)mash_test_kill(pid, SIGKILL, 1000, NULL);
	else if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	(void)snprintf(p, sizeof(p), "%s/%s.out", e->dir, tag);
	o = mash_test_read_file(p, 1 << 20, NULL);
	mash_test_agents_parse_summary(o, s);
	if (out != NULL)
		*out = o;
	else
		free(o);
	(void)snprintf(p, sizeof(p), "%s/%s.err", e->dir, tag);
	if (err != NULL)
		*err = mash_test_read_file(p, 1 << 20, NULL);
	return code;
}

long
mash_test_agents_count(const struct mash_test_agents *e, const char *agency,
                       long *distinct)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long n = -1;

	if (distinct != NULL)
		*distinct = -1;
	if (sqlite3_open_v2(e->store, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT count(*), count(DISTINCT agency || '/' ||"
	        " event_id) FROM events"
	        " WHERE ?1 IS NULL OR agency = ?1;",
	        -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (agency != NULL)
		sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	n = sqlite3_column_int64(st, 0);
	if (distinct != NULL)
		*distinct = sqlite3_column_int64(st, 1);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int
mash_test_agents_wait_count(const struct mash_test_agents *e,
                            const char *agency, long n, int timeout_ms)
{
	int waited = 0;

	while (mash_test_agents_count(e, agency, NULL) < n) {
		if (waited >= timeout_ms)
			return -1;
		mash_test_sleep_ms(50);
		waited += 50;
	}
	return 0;
}

long
mash_test_agents_store_scalar(const struct mash_test_agents *e, const char *sql)
{
	return (long)mash_test_sql_file_i64(mash_test_agents_store(e), sql);
}
