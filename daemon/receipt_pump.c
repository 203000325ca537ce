/*
 * receipt_pump.c - receipts published on their own thread. See
 * receipt_pump.h.
 *
 * The mutex and condition variables hand a job over and back and order
 * the memory: the pump reads the slots only after they were handed over,
 * and the core thread touches them again only after the pump said it
 * was done.
 */
#include <pthread.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "daemon/receipt_pump.h"

struct mashd_rpump {
	mashd_rpump_send_fn send;
	void *ctx;
	size_t max;
	struct mashd_rcpt *slots; /* max of them */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	size_t n;                        /* slots in the job */
	struct mashd_rpump_counts count; /* the job's, until collected */
	int have_work, busy, collected, stop;
};

/* Publish the job's slots in pipelines; log and count each one that the
 * broker did not take. Pump thread, no lock held. */
static void
publish_job(struct mashd_rpump *p, size_t n, struct mashd_rpump_counts *c)
{
	struct mash_mq_out out[MASH_MQ_MAX_PIPELINE];
	struct mash_mq_props props[MASH_MQ_MAX_PIPELINE];
	int rcs[MASH_MQ_MAX_PIPELINE];
	size_t i, k, m;

	for (i = 0; i < n; i += m) {
		m = n - i < MASH_MQ_MAX_PIPELINE ? n - i : MASH_MQ_MAX_PIPELINE;
		memset(out, 0, sizeof(out));
		memset(props, 0, sizeof(props));
		for (k = 0; k < m; k++) {
			const struct mashd_rcpt *r = &p->slots[i + k];

			props[k].correlation = r->corr_len > 0 ? r->corr : NULL;
			props[k].correlation_len = r->corr_len;
			out[k].topic = r->topic;
			out[k].buf = r->env;
			out[k].len = r->len;
			out[k].props = &props[k];
			rcs[k] = MASH_ERR_MQTT;
		}
		p->send(p->ctx, out, m, rcs);
		for (k = 0; k < m; k++) {
			const struct mashd_rcpt *r = &p->slots[i + k];

			if (rcs[k] == MASH_OK) {
				c->sent++;
				continue;
			}
			c->failed++;
			mash_warn(
			    "event %s/%s: receipt not published (%s); the "
			    "agent will re-send",
			    r->agency, r->event_id[0] ? r->event_id : "-",
			    mash_errname(rcs[k]));
		}
	}
}

static void *
worker(void *arg)
{
	struct mashd_rpump *p = arg;
	struct mashd_rpump_counts c;
	size_t n;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->have_work && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		p->have_work = 0;
		n = p->n;
		pthread_mutex_unlock(&p->mu);
		memset(&c, 0, sizeof(c));
		publish_job(p, n, &c);
		pthread_mutex_lock(&p->mu);
		p->count = c;
		p->busy = 0;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
mashd_rpump_new(mashd_rpump_send_fn send, void *ctx, size_t max,
                struct mashd_rpump **out)
{
	struct mashd_rpump *p;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (send == NULL || max == 0 || max > MASHD_RPUMP_MAX)
		return MASH_ERR_INVAL;
	p = mash_calloc(1, sizeof(*p));
	if (p == NULL)
		return MASH_ERR_NOMEM;
	p->slots = mash_calloc(max, sizeof(*p->slots));
	if (p->slots == NULL) {
		mash_free(p);
		return MASH_ERR_NOMEM;
	}
	p->send = send;
	p->ctx = ctx;
	p->max = max;
	p->collected = 1; /* nothing to collect yet */
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&p->work, NULL) != 0 ||
	    pthread_cond_init(&p->done, NULL) != 0 ||
	    pthread_create(&p->thread, NULL, worker, p) != 0) {
		/* (as in seal_pool.c: glibc's conds need no cleanup) */
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	*out = p;
	return MASH_OK;
fail:
	mash_free(p->slots);
	mash_free(p);
	return MASH_ERR_INTERNAL;
}

/* The finished job's counts into *c, its envelopes freed. Core thread,
 * no job in flight. */
static void
collect(struct mashd_rpump *p, struct mashd_rpump_counts *c)
{
	size_t i;

	if (p->collected)
		return;
	if (c != NULL) {
		c->sent += p->count.sent;
		c->failed += p->count.failed;
	}
	for (i = 0; i < p->n; i++) {
		mash_free_secret(p->slots[i].env, p->slots[i].len);
		p->slots[i].env = NULL;
	}
	p->n = 0;
	p->collected = 1;
}

void
mashd_rpump_settle(struct mashd_rpump *p, struct mashd_rpump_counts *c)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
	collect(p, c);
}

int
mashd_rpump_poll(struct mashd_rpump *p, struct mashd_rpump_counts *c)
{
	int busy;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	busy = p->busy;
	pthread_mutex_unlock(&p->mu);
	if (!busy)
		collect(p, c);
	return busy;
}

struct mashd_rcpt *
mashd_rpump_slots(struct mashd_rpump *p, struct mashd_rpump_counts *c)
{
	size_t i;

	if (p == NULL)
		return NULL;
	mashd_rpump_settle(p, c);
	/* Envelopes put in slots that were never started are freed here,
	 * not leaked. */
	for (i = 0; i < p->max; i++)
		mash_free_secret(p->slots[i].env, p->slots[i].len);
	memset(p->slots, 0, p->max * sizeof(*p->slots));
	return p->slots;
}

void
mashd_rpump_start(struct mashd_rpump *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
	if (n > p->max) {
		/* A caller's bug; never publish past the slots. */
		mash_err("receipts: %zu handed to a pump of %zu; the rest are "
		         "not published and their agents will re-send",
		         n, p->max);
		n = p->max;
	}
	pthread_mutex_lock(&p->mu);
	p->n = n;
	p->collected = 0;
	memset(&p->count, 0, sizeof(p->count));
	p->have_work = 1;
	p->busy = 1;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void
mashd_rpump_free(struct mashd_rpump *p)
{
	size_t i;

	if (p == NULL)
		return;
	mashd_rpump_settle(p, NULL);
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	for (i = 0; i < p->max; i++)
		mash_free_secret(p->slots[i].env, p->slots[i].len);
	mash_free_secret(p->slots, p->max * sizeof(*p->slots));
	mash_free(p);
}
