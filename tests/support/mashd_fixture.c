/*
 * mashd_fixture.c - a real mashd against a real mosquitto for integration
 * tests (see mashd_fixture.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"
#include "support/sealed_inbox.h"

static int
add_key(const char *trust, const char *signer, const char *key_id,
        struct mash_key **out)
{
	*out = NULL;
	if (mash_key_generate(out) != MASH_OK)
		return -1;
	if (trust == NULL)
		return 0;
	return mash_trust_add_key(trust, signer, key_id, *out, NULL, 0) ==
	               MASH_OK
	           ? 0
	           : -1;
}

struct mash_mashd_fx *
mash_mashd_fx_new(const char *extra_cfg)
{
	struct mash_mashd_fx *f;
	struct mash_key *mk = NULL;
	char *tmp, text[8192], mqtt[2200];
	int n;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->mashd = -1;
	tmp = mash_test_mkdtemp("mashd");
	if (tmp == NULL)
		goto fail;
	snprintf(f->dir, sizeof(f->dir), "%s", tmp);
	free(tmp);
	snprintf(f->trust, sizeof(f->trust), "%s/trust", f->dir);
	snprintf(f->mashd_trust, sizeof(f->mashd_trust), "%s/mashd-trust",
	         f->dir);
	snprintf(f->cfg, sizeof(f->cfg), "%s/mashd.cfg", f->dir);
	snprintf(f->db, sizeof(f->db), "%s/mash.db", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/mashd.log", f->dir);
	snprintf(f->mashd_key, sizeof(f->mashd_key), "%s/mashd.key.pem",
	         f->dir);
	if (mash_test_broker_start(&f->broker) != 0)
		goto fail;
	if (add_key(f->trust, "mashd", "k1", &mk) != 0 ||
	    mash_key_save_private(mk, f->mashd_key) != MASH_OK ||
	    mash_trust_add_key(f->mashd_trust, "mashd", "k1", mk, NULL, 0) !=
	        MASH_OK ||
	    add_key(f->trust, "police", "k1", &f->police) != 0 ||
	    add_key(f->trust, "health", "k1", &f->health) != 0 ||
	    add_key(f->trust, "education", "k1", &f->education) != 0 ||
	    add_key(f->trust, "housing", "k1", &f->housing) != 0 ||
	    add_key(f->trust, "police", "k2", &f->police_revoked) != 0 ||
	    mash_trust_revoke(f->trust, "police", "k2", mash_clock_system(),
	                      NULL, 0) != MASH_OK ||
	    add_key(NULL, "police", "k9", &f->rogue) != 0) {
		fprintf(stderr, "fixture: cannot make keys\n");
		goto fail;
	}
	mash_key_free(mk);
	mk = NULL;
	n = snprintf(
	    text, sizeof(text),
	    "# mashd for an integration test (mashd_fixture.c)\n"
	    "mqtt = {\n"
	    "  %s\n"
	    "  client_id = \"mashd-it\";\n"
	    "  reconnect_min = 1;\n"
	    "  reconnect_max = 2;\n"
	    "};\n"
	    "signer = \"mashd\";\n"
	    "key_id = \"k1\";\n"
	    "key_file = \"%s\";\n"
	    "trust_store = \"%s\";\n"
	    "store = \"%s\";\n"
	    "log_level = \"info\";\n"
	    "%s",
	    mash_test_broker_mqtt_cfg(f->broker, "mashd", mqtt, sizeof(mqtt)),
	    f->mashd_key, f->trust, f->db, extra_cfg != NULL ? extra_cfg : "");
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    mash_test_subst_directory(f->broker, text, sizeof(text)) != 0 ||
	    mash_test_write_file(f->cfg, text, strlen(text)) != 0)
		goto fail;
	return f;
fail:
	mash_key_free(mk);
	mash_mashd_fx_free(f);
	return NULL;
}

static int
agent_connect(struct mash_mashd_fx *f)
{
	struct mash_mq_opts o;
	struct mash_test_tls t;

	if (f->agent != NULL)
		return 0;
	mash_mq_opts_init(&o);
	/* The harness: it also forges events on other agencies' topics. */
	mash_test_broker_mq_opts(f->broker, MASH_TEST_HARNESS, &t, &o);
	o.client_id = "it-agent";
	o.clean_start = 0; /* keep receipts across broker restarts */
	o.reconnect_min_s = 1;
	o.reconnect_max_s = 2;
	if (mash_mq_new(&o, &f->agent) != MASH_OK)
		return -1;
	if (mash_mq_subscribe(f->agent, "mash/v1/receipts/+", 5000) !=
	        MASH_OK ||
	    mash_mq_connect(f->agent, 10000) != MASH_OK) {
		mash_mq_free(f->agent);
		f->agent = NULL;
		return -1;
	}
	return 0;
}

/* Spawn mashd --config cfg EXTRA... logging to log and wait for "mashd
 * ready" in the part of log written after the spawn. */
static pid_t
spawn_ready(struct mash_mashd_fx *f, const char *const extra[],
            const char *logpath)
{
	const char *bindir = getenv("MASH_BIN_DIR");
	char bin[600], *log;
	const char *argv[16];
	size_t before = 0, n = 0;
	pid_t pid;
	int i, st;

	if (bindir == NULL)
		bindir = "build/bin";
	snprintf(bin, sizeof(bin), "%s/mashd", bindir);
	log = mash_test_read_file(logpath, 4u << 20, &before);
	free(log);
	argv[n++] = bin;
	argv[n++] = "--config";
	argv[n++] = f->cfg;
	for (i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	pid = mash_test_spawn(argv, NULL, logpath, logpath);
	if (pid < 0)
		return -1;
	for (i = 0; i < 400; i++) {
		size_t len = 0;

		log = mash_test_read_file(logpath, 4u << 20, &len);
		if (log != NULL && len > before &&
		    strstr(log + before, "mashd ready") != NULL) {
			free(log);
			return pid;
		}
		free(log);
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "fixture: mashd exited; log %s\n",
			        logpath);
			return -1;
		}
		mash_test_sleep_ms(50);
	}
	fprintf(stderr, "fixture: mashd not ready in 20 s; log %s\n", logpath);
	(void)mash_test_kill(pid, SIGKILL, 2000, NULL);
	return -1;
}

int
mash_mashd_fx_start(struct mash_mashd_fx *f)
{
	f->mashd = spawn_ready(f, NULL, f->log);
	if (f->mashd < 0)
		return -1;
	return agent_connect(f);
}

pid_t
mash_mashd_fx_spawn(struct mash_mashd_fx *f, const char *const extra[],
                    const char *log)
{
	return spawn_ready(f, extra, log);
}

int
mash_mashd_fx_alive(struct mash_mashd_fx *f)
{
	int st;

	if (f->mashd <= 0)
		return 0;
	if (waitpid(f->mashd, &st, WNOHANG) == f->mashd) {
		f->mashd = -1;
		return 0;
	}
	return 1;
}

int
mash_mashd_fx_stop(struct mash_mashd_fx *f, int *status)
{
	int rc;

	if (status != NULL)
		*status = 0;
	if (f->mashd <= 0)
		return -1;
	rc = mash_test_kill(f->mashd, SIGTERM, 30000, status);
	f->mashd = -1;
	return rc;
}

void
mash_mashd_fx_free(struct mash_mashd_fx *f)
{
	if (f == NULL)
		return;
	if (f->mashd > 0)
		(void)mash_mashd_fx_stop(f, NULL);
	mash_mq_free(f->agent);
	mash_test_broker_free(f->broker);
	mash_key_free(f->police);
	mash_key_free(f->health);
	mash_key_free(f->police_revoked);
	mash_key_free(f->rogue);
	mash_key_free(f->education);
	mash_key_free(f->housing);
	if (f->dir[0] != '\0' && getenv("MASH_KEEP_TMP") == NULL)
		(void)mash_test_rmrf(f->dir);
	free(f);
}

Mash__V1__AgencyEvent *
mash_mashd_fx_event(const char *agency, const char *event_id)
{
	Mash__V1__AgencyEvent *ev;
	Mash__V1__Subject *s;
	Mash__V1__Handling *h;
	int64_t now = mash_clock_now(mash_clock_system());

	ev = calloc(1, sizeof(*ev));
	s = calloc(1, sizeof(*s));
	h = calloc(1, sizeof(*h));
	if (ev == NULL || s == NULL || h == NULL) {
		free(ev);
		free(s);
		free(h);
		return NULL;
	}
	mash__v1__agency_event__init(ev);
	mash__v1__subject__init(s);
	mash__v1__handling__init(h);
	s->nhs_number = strdup("9434765919");
	s->given_name = strdup("Jordan");
	s->family_name = strdup("Reed");
	s->date_of_birth = strdup("2011-05-14");
	s->postcode = strdup("NE61 1AA");
	s->sex = strdup("M");
	h->classification = strdup("OFFICIAL");
	ev->event_id = strdup(event_id);
	ev->agency = strdup(agency);
	ev->occurred_at = now - 86400000;
	ev->recorded_at = now - 3600000;
	ev->subject = s;
	ev->category = MASH__V1__CATEGORY__MISSING_EPISODE;
	ev->severity = 2;
	ev->summary = strdup("Reported missing overnight; found next day.");
	ev->consent = MASH__V1__CONSENT__NOT_SOUGHT;
	ev->handling = h;
	ev->reporter = strdup("PC 1234");
	ev->agency_ref = strdup("REF-1");
	return ev;
}

void
mash_mashd_fx_event_free(Mash__V1__AgencyEvent *ev)
{
	/* Built with calloc/strdup above: the system allocator frees it. */
	if (ev != NULL)
		mash__v1__agency_event__free_unpacked(ev, NULL);
}

uint8_t *
mash_mashd_fx_seal(const struct mash_key *key, const char *signer,
                   const char *key_id, const ProtobufCMessage *msg, size_t *len)
{
	uint8_t *env = NULL, *copy;

	*len = 0;
	if (mash_env_seal_msg(key, signer, key_id, msg, &env, len) != MASH_OK)
		return NULL;
	copy = malloc(*len);
	if (copy != NULL)
		memcpy(copy, env, *len);
	mash_free(env);
	return copy;
}

int
mash_mashd_fx_publish(struct mash_mashd_fx *f, const char *topic,
                      const void *buf, size_t len)
{
	if (agent_connect(f) != 0)
		return -1;
	return mash_mq_publish(f->agent, topic, buf, len, 0, NULL, 10000) ==
	               MASH_OK
	           ? 0
	           : -1;
}

int
mash_mashd_fx_send(struct mash_mashd_fx *f, const Mash__V1__AgencyEvent *ev)
{
	const struct mash_key *k = NULL;
	char topic[128];
	uint8_t *env;
	size_t len;
	int rc;

	if (strcmp(ev->agency, "police") == 0)
		k = f->police;
	else if (strcmp(ev->agency, "health") == 0)
		k = f->health;
	else if (strcmp(ev->agency, "education") == 0)
		k = f->education;
	else if (strcmp(ev->agency, "housing") == 0)
		k = f->housing;
	if (k == NULL)
		return -1;
	env = mash_mashd_fx_seal(k, ev->agency, "k1", &ev->base, &len);
	if (env == NULL)
		return -1;
	snprintf(topic, sizeof(topic), "mash/v1/events/%s", ev->agency);
	rc = mash_mashd_fx_publish(f, topic, env, len);
	free(env);
	return rc;
}

int
mash_mashd_fx_receipt(struct mash_mashd_fx *f, int timeout_ms,
                      Mash__V1__Receipt **out, char *topic)
{
	struct mash_trust *t = NULL;
	struct mash_mq_msg *m = NULL;
	struct mash_env_opened *o = NULL;
	char why[256];
	int rc = -1;

	*out = NULL;
	if (agent_connect(f) != 0)
		return -1;
	if (mash_mq_next(f->agent, timeout_ms, &m) != MASH_OK)
		goto out;
	if (topic != NULL)
		snprintf(topic, MASH_MAX_TOPIC + 1, "%s", m->topic);
	/* A test may break the trust store on purpose (SIGHUP refusal):
	 * mashd's key sits alone in a store of its own. */
	if (mash_trust_load(f->mashd_trust, &t, why, sizeof(why)) != MASH_OK ||
	    mash_env_open(t, m->payload, m->len, "mash.v1.Receipt", "mashd", &o,
	                  why, sizeof(why)) != MASH_OK) {
		fprintf(stderr, "fixture: receipt does not verify: %s\n", why);
		goto out;
	}
	*out = mash__v1__receipt__unpack(NULL, o->payload_len, o->payload);
	rc = *out != NULL ? 0 : -1;
out:
	mash_env_opened_free(o);
	mash_trust_free(t);
	mash_mq_msg_free(m);
	return rc;
}

void
mash_mashd_fx_receipt_free(Mash__V1__Receipt *r)
{
	if (r != NULL)
		mash__v1__receipt__free_unpacked(r, NULL);
}

int64_t
mash_mashd_fx_sql_int(struct mash_mashd_fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "fixture: %s: %s\n", sql, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}
