/*
 * e2e_load.c - bench_e2e's five agencies and recipients (e2e_load.h).
 *
 * The events are the agents' own: gen-feeds CSV rows mapped by
 * mash_agent_map, so sizes, details and the pool of children are what an
 * agency system would send. Each is signed when it is published, as an
 * agent does. Receipts and deliveries are verified as a recipient would
 * (mash_env_open against the trust store, a delivery opened with the
 * recipient's X25519 key), so a delivery counted is one that arrived
 * intact and signed by mashd.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agents/feed.h"
#include "agents/map.h"
#include "bench_util.h"
#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/topics.h"
#include "crypto/env.h"
#include "crypto/inbox.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "e2e_load.h"
#include "mash/v1/mash.pb-c.h"
#include "support/broker.h"

static const char *const agencies[E2E_AGENCIES] = {
    "police", "health", "education", "yot", "housing"};

struct pool_ev {
	int agency;
	char event_id[MASH_AGENT_UUID_LEN];
	uint8_t *bytes; /* packed AgencyEvent */
	size_t len;
};

struct e2e_pool {
	struct pool_ev *ev;
	size_t n;
	size_t *by_id; /* indexes sorted by event_id */
};

/* Per event: when it went out and came back (ns, CLOCK_MONOTONIC; 0:
 * not yet). */
struct times {
	int64_t pub, rcpt, dlv;
};

/* Delivery keys seen per inbox (a QoS 1 duplicate is counted once). */
struct seen {
	uint64_t *v;
	size_t n, cap; /* open addressing; 0 = empty */
};

struct e2e_load {
	const struct e2e_pool *pool;
	struct e2e_load_opts o;
	struct mash_mq *pub, *sub;
	struct mash_test_tls tls_pub, tls_sub;
	struct mash_trust *trust;
	struct times *t;
	size_t next;
	struct e2e_counts c;
	struct seen seen[E2E_INBOXES];
	struct mash_key *enc[E2E_INBOXES]; /* each inbox's X25519 key */
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the pool -------------------------------------------------------- */

static int
read_feed(const char *dir, int agency, size_t max, struct pool_ev **out,
          size_t *nout)
{
	char path[600];
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *rec;
	struct mash_feed_err err;
	Mash__V1__AgencyEvent *ev;
	struct pool_ev *v = NULL, *nv;
	size_t n = 0, cap = 0;
	int64_t now = (int64_t)time(NULL) * 1000;
	int rc;

	(void)snprintf(path, sizeof(path), "%s/%s.csv", dir, agencies[agency]);
	if (mash_feed_open(path, MASH_FEED_CSV, NULL, &f) != MASH_OK) {
		fprintf(stderr, "bench_e2e: cannot read %s\n", path);
		return -1;
	}
	while (n < max &&
	       (rc = mash_feed_next(f, 0, &rec, &err)) != MASH_FEED_EOF) {
		if (rc != MASH_OK || mash_agent_map(agencies[agency], rec, now,
		                                    &ev, &err) != MASH_OK) {
			fprintf(stderr, "bench_e2e: %s line %lu: %s: %s\n",
			        path, err.line, err.field, err.msg);
			if (err.fatal)
				break;
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
		}
		v[n].agency = agency;
		(void)snprintf(v[n].event_id, sizeof(v[n].event_id), "%s",
		               ev->event_id);
		v[n].len = mash__v1__agency_event__get_packed_size(ev);
		v[n].bytes = malloc(v[n].len);
		if (v[n].bytes == NULL) {
			mash_agent_event_free(ev);
			break;
		}
		(void)mash__v1__agency_event__pack(ev, v[n].bytes);
		mash_agent_event_free(ev);
		n++;
	}
	mash_feed_free(f);
	*out = v;
	*nout = n;
	return n > 0 ? 0 : -1;
}

static int
cmp_id(const void *a, const void *b, void *ctx)
{
	const struct e2e_pool *p = ctx;

	return strcmp(p->ev[*(const size_t *)a].event_id,
	              p->ev[*(const size_t *)b].event_id);
}

int
e2e_pool_new(const char *dir, size_t max, struct e2e_pool **out)
{
	struct pool_ev *each[E2E_AGENCIES] = {NULL};
	size_t n[E2E_AGENCIES] = {0}, at[E2E_AGENCIES] = {0}, total = 0, i, k;
	struct e2e_pool *p;
	int a, best, rc = -1;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	for (a = 0; a < E2E_AGENCIES; a++) {
		if (read_feed(dir, a, max, &each[a], &n[a]) != 0)
			goto out;
		total += n[a];
	}
	if (total > max)
		total = max;
	p->ev = calloc(total, sizeof(*p->ev));
	p->by_id = calloc(total, sizeof(*p->by_id));
	if (p->ev == NULL || p->by_id == NULL)
		goto out;
	/* Interleave as the agencies' shares: next, the agency furthest
	 * behind its share of what has gone so far. */
	for (k = 0; k < total; k++) {
		best = -1;
		for (a = 0; a < E2E_AGENCIES; a++)
			if (at[a] < n[a] &&
			    (best < 0 ||
			     (double)at[a] / (double)n[a] <
			         (double)at[best] / (double)n[best]))
				best = a;
		p->ev[k] = each[best][at[best]];
		each[best][at[best]++].bytes = NULL; /* moved */
		p->by_id[k] = k;
	}
	p->n = total;
	qsort_r(p->by_id, p->n, sizeof(*p->by_id), cmp_id, p);
	*out = p;
	p = NULL;
	rc = 0;
out:
	for (a = 0; a < E2E_AGENCIES; a++) {
		for (i = 0; i < n[a]; i++)
			free(each[a] != NULL ? each[a][i].bytes : NULL);
		free(each[a]);
	}
	e2e_pool_free(p);
	return rc;
}

size_t
e2e_pool_size(const struct e2e_pool *p)
{
	return p != NULL ? p->n : 0;
}

void
e2e_pool_free(struct e2e_pool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->ev[i].bytes);
	free(p->ev);
	free(p->by_id);
	free(p);
}

/* The pool index of event_id, or -1. */
static long
find_event(const struct e2e_pool *p, const char *event_id)
{
	size_t lo = 0, hi = p->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(p->ev[p->by_id[mid]].event_id, event_id);
		if (c == 0)
			return (long)p->by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- seen sets --------------------------------------------------------- */

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* 1 if key was new (and is now in s), 0 if seen, -1 out of memory. */
static int
seen_add(struct seen *s, uint64_t key)
{
	struct seen g;
	size_t i, j;

	if (key == 0)
		return 1;
	if (2 * (s->n + 1) > s->cap) {
		g.cap = s->cap == 0 ? 1024 : s->cap * 2;
		g.n = 0;
		g.v = calloc(g.cap, sizeof(*g.v));
		if (g.v == NULL)
			return -1;
		for (i = 0; i < s->cap; i++)
			if (s->v[i] != 0)
				(void)seen_add(&g, s->v[i]);
		free(s->v);
		*s = g;
	}
	for (j = mix(key) & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
		if (s->v[j] == key)
			return 0;
		if (s->v[j] == 0) {
			s->v[j] = key;
			s->n++;
			return 1;
		}
	}
}

/* ---- clients ----------------------------------------------------------- */

int
e2e_client(struct mash_test_broker *b, const char *id, struct mash_test_tls *t,
           struct mash_mq **out)
{
	struct mash_mq_opts o;

	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(b, MASH_TEST_HARNESS, t, &o);
	o.client_id = id;
	o.clean_start = 1;
	/* The recipients read as fast as they can: never back-pressure
	 * mashd's deliveries from here. */
	o.queue_max_msgs = 1u << 20;
	o.queue_max_bytes = (size_t)1 << 31;
	return mash_mq_new(&o, out) == MASH_OK ? 0 : -1;
}

int
e2e_load_new(const struct e2e_load_opts *o, const struct e2e_pool *pool,
             struct e2e_load **out)
{
	struct e2e_load *l;
	char topic[MASH_MAX_TOPIC + 1], why[256];
	int i;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -1;
	l->o = *o;
	l->pool = pool;
	l->t = calloc(pool->n, sizeof(*l->t));
	if (l->t == NULL ||
	    mash_trust_load(o->trust_dir, &l->trust, why, sizeof(why)) !=
	        MASH_OK ||
	    e2e_client(o->broker, "bench-e2e-pub", &l->tls_pub, &l->pub) != 0 ||
	    e2e_client(o->broker, "bench-e2e-sub", &l->tls_sub, &l->sub) != 0 ||
	    mash_mq_subscribe(l->sub, MASH_TOPIC_RECEIPTS_PREFIX "+", 5000) !=
	        MASH_OK)
		goto fail;
	for (i = 0; i < E2E_INBOXES; i++) {
		(void)snprintf(topic, sizeof(topic),
		               MASH_TOPIC_INBOX_PREFIX "%s", o->inboxes[i]);
		if (mash_mq_subscribe(l->sub, topic, 5000) != MASH_OK)
			goto fail;
		/* Loaded once: a recipient keeps its key open. */
		(void)snprintf(topic, sizeof(topic), "%s/%s/e1.key.pem",
		               o->enc_dir, o->inboxes[i]);
		if (mash_key_load_kind(MASH_KEY_X25519, 1, topic, &l->enc[i]) !=
		    MASH_OK)
			goto fail;
	}
	if (mash_mq_connect(l->sub, 10000) != MASH_OK ||
	    mash_mq_connect(l->pub, 10000) != MASH_OK)
		goto fail;
	*out = l;
	return 0;
fail:
	fprintf(stderr, "bench_e2e: load clients not ready\n");
	e2e_load_free(l);
	return -1;
}

void
e2e_load_free(struct e2e_load *l)
{
	int i;

	if (l == NULL)
		return;
	mash_mq_free(l->pub);
	mash_mq_free(l->sub);
	mash_trust_free(l->trust);
	for (i = 0; i < E2E_INBOXES; i++) {
		free(l->seen[i].v);
		mash_key_free(l->enc[i]);
	}
	free(l->t);
	free(l);
}

int
e2e_load_publish(struct e2e_load *l, size_t n)
{
	struct mash_mq_out out[MASH_MQ_MAX_PIPELINE];
	uint8_t *env[MASH_MQ_MAX_PIPELINE];
	char topics[MASH_MQ_MAX_PIPELINE][48];
	int rcs[MASH_MQ_MAX_PIPELINE];
	size_t i, k = 0, envlen;
	int64_t t;
	int rc = -1;

	if (n > MASH_MQ_MAX_PIPELINE)
		n = MASH_MQ_MAX_PIPELINE;
	if (n > l->pool->n - l->next)
		n = l->pool->n - l->next;
	if (n == 0)
		return 0;
	memset(env, 0, sizeof(env));
	t = now_ns();
	for (k = 0; k < n; k++) {
		const struct pool_ev *e = &l->pool->ev[l->next + k];
		int a = e->agency;

		if (mash_env_seal(l->o.keys[a], agencies[a], "k1",
		                  "mash.v1.AgencyEvent", e->bytes, e->len,
		                  &env[k], &envlen) != MASH_OK)
			goto out;
		(void)snprintf(topics[k], sizeof(topics[k]),
		               MASH_TOPIC_EVENTS_PREFIX "%s", agencies[a]);
		memset(&out[k], 0, sizeof(out[k]));
		out[k].topic = topics[k];
		out[k].buf = env[k];
		out[k].len = envlen;
	}
	for (i = 0; i < n; i++)
		l->t[l->next + i].pub = t;
	if (mash_mq_publish_many(l->pub, out, n, 10000, rcs) != MASH_OK)
		goto out;
	l->next += n;
	l->c.published += n;
	rc = (int)n;
out:
	for (i = 0; i < k; i++)
		mash_free(env[i]);
	return rc;
}

static void
on_receipt(struct e2e_load *l, const struct mash_mq_msg *m, int64_t t)
{
	struct mash_env_opened *o = NULL;
	Mash__V1__Receipt *r = NULL;
	long i;

	if (mash_env_open(l->trust, m->payload, m->len, "mash.v1.Receipt",
	                  "mashd", &o, NULL, 0) != MASH_OK ||
	    (r = mash__v1__receipt__unpack(NULL, o->payload_len, o->payload)) ==
	        NULL) {
		l->c.bad_receipts++;
		goto out;
	}
	i = find_event(l->pool, r->event_id);
	if (i < 0) {
		l->c.bad_receipts++;
		goto out;
	}
	if (l->t[i].rcpt != 0)
		goto out; /* a second receipt (a re-send's) */
	l->t[i].rcpt = t;
	if (r->status == MASH__V1__RECEIPT__STATUS__ACCEPTED)
		l->c.accepted++;
	else if (r->status == MASH__V1__RECEIPT__STATUS__DUPLICATE)
		l->c.duplicate++;
	else
		l->c.rejected++;
out:
	if (r != NULL)
		mash__v1__receipt__free_unpacked(r, NULL);
	mash_env_opened_free(o);
}

static void
on_delivery(struct e2e_load *l, int inbox, const struct mash_mq_msg *m,
            int64_t t)
{
	struct mash_inbox_msg *o = NULL;
	Mash__V1__SharedRecord *r = NULL;
	Mash__V1__StrategyDiscussionTrigger *tr = NULL;
	uint64_t key = 0;
	long i = -1;
	int fresh;

	/* Verified as signed by mashd and opened as the recipient. */
	if (mash_inbox_open(l->trust, "mashd", l->o.inboxes[inbox],
	                    l->enc[inbox], m->payload, m->len, &o, NULL,
	                    0) != MASH_OK) {
		l->c.bad_deliveries++;
		return;
	}
	if (strcmp(o->payload_type, "mash.v1.SharedRecord") == 0 &&
	    (r = mash__v1__shared_record__unpack(NULL, o->payload_len,
	                                         o->payload)) != NULL) {
		key = r->audit_seq << 1;
		i = find_event(l->pool, r->event_id);
	} else if (strcmp(o->payload_type,
	                  "mash.v1.StrategyDiscussionTrigger") == 0 &&
	           (tr = mash__v1__strategy_discussion_trigger__unpack(
	                NULL, o->payload_len, o->payload)) != NULL) {
		key = (tr->audit_seq << 1) | 1;
	} else {
		l->c.bad_deliveries++;
		goto out;
	}
	fresh = seen_add(&l->seen[inbox], key);
	if (fresh == 0) {
		l->c.delivery_dups++;
		goto out;
	}
	l->c.per_inbox[inbox]++;
	if (tr != NULL) {
		l->c.triggers++;
		goto out;
	}
	l->c.deliveries++;
	if (i >= 0 && t > l->t[i].dlv)
		l->t[i].dlv = t;
out:
	if (r != NULL)
		mash__v1__shared_record__free_unpacked(r, NULL);
	if (tr != NULL)
		mash__v1__strategy_discussion_trigger__free_unpacked(tr, NULL);
	mash_inbox_msg_free(o);
}

size_t
e2e_load_poll(struct e2e_load *l, int timeout_ms)
{
	struct mash_mq_msg *m = NULL;
	size_t n = 0, plen = strlen(MASH_TOPIC_INBOX_PREFIX);
	size_t rlen = strlen(MASH_TOPIC_RECEIPTS_PREFIX);
	int i;

	while (mash_mq_next(l->sub, n == 0 ? timeout_ms : 0, &m) == MASH_OK) {
		int64_t t = now_ns();

		n++;
		if (strncmp(m->topic, MASH_TOPIC_RECEIPTS_PREFIX, rlen) == 0) {
			on_receipt(l, m, t);
		} else if (strncmp(m->topic, MASH_TOPIC_INBOX_PREFIX, plen) ==
		           0) {
			for (i = 0; i < E2E_INBOXES; i++)
				if (strcmp(m->topic + plen, l->o.inboxes[i]) ==
				    0)
					break;
			if (i < E2E_INBOXES)
				on_delivery(l, i, m, t);
		}
		mash_mq_msg_free(m);
		m = NULL;
	}
	return n;
}

uint64_t
e2e_load_in_flight(const struct e2e_load *l)
{
	uint64_t back = l->c.accepted + l->c.duplicate + l->c.rejected;

	return l->c.published > back ? l->c.published - back : 0;
}

void
e2e_load_counts(const struct e2e_load *l, struct e2e_counts *c)
{
	*c = l->c;
}

size_t
e2e_load_next(const struct e2e_load *l)
{
	return l->next;
}

double
e2e_load_latency_ms(const struct e2e_load *l, size_t from, size_t to, int which,
                    double q)
{
	double *v, out = -1;
	size_t i, n = 0, k;
	int64_t end;

	if (to > l->pool->n)
		to = l->pool->n;
	if (from >= to)
		return -1;
	v = malloc((to - from) * sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = from; i < to; i++) {
		end = which == 0 ? l->t[i].rcpt : l->t[i].dlv;
		if (l->t[i].pub != 0 && end != 0)
			v[n++] = (double)(end - l->t[i].pub) / 1e6;
	}
	if (n > 0) {
		qsort(v, n, sizeof(*v), bench_cmp_double);
		k = (size_t)(q * (double)(n - 1) + 0.5);
		out = v[k < n ? k : n - 1];
	}
	free(v);
	return out;
}
