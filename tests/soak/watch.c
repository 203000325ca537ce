/*
 * watch.c - the soak's inbox watcher. See watch.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "broker-adapters/mq.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "soak/watch.h"
#include "support/broker.h"

#define PREFIX      "mash/v1/inbox/"
#define MAX_INBOXES 64
#define SLOTS       (1u << 20) /* distinct deliveries held (power of 2) */

struct inbox {
	char principal[96];
	long n;
};

struct soak_watch {
	struct mash_mq *mq;
	pthread_t thread;
	pthread_mutex_t mu;
	int stop;
	unsigned char (*seen)[SHA256_DIGEST_LENGTH]; /* open addressing */
	unsigned char *used;
	struct inbox inbox[MAX_INBOXES];
	size_t n_inbox;
	long total, redelivered;
	int64_t last_ms; /* when the last message came */
};

/* 1 if digest d was new (now remembered). Under mu. */
static int
remember(struct soak_watch *w, const unsigned char *d)
{
	uint32_t i;

	memcpy(&i, d, sizeof(i));
	for (i &= SLOTS - 1;; i = (i + 1) & (SLOTS - 1)) {
		if (!w->used[i]) {
			w->used[i] = 1;
			memcpy(w->seen[i], d, SHA256_DIGEST_LENGTH);
			return 1;
		}
		if (memcmp(w->seen[i], d, SHA256_DIGEST_LENGTH) == 0)
			return 0;
	}
}

static void
take(struct soak_watch *w, const struct mash_mq_msg *m)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	const char *who;
	size_t i;

	if (strncmp(m->topic, PREFIX, strlen(PREFIX)) != 0)
		return;
	who = m->topic + strlen(PREFIX);
	SHA256(m->payload, m->len, d);
	pthread_mutex_lock(&w->mu);
	w->last_ms = mash_mono_ms();
	if (!remember(w, d)) {
		w->redelivered++;
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->total++;
	for (i = 0; i < w->n_inbox; i++)
		if (strcmp(w->inbox[i].principal, who) == 0)
			break;
	if (i == w->n_inbox && w->n_inbox < MAX_INBOXES) {
		strncpy(w->inbox[i].principal, who,
		        sizeof(w->inbox[i].principal) - 1);
		w->n_inbox++;
	}
	if (i < w->n_inbox)
		w->inbox[i].n++;
	pthread_mutex_unlock(&w->mu);
}

static void *
run(void *arg)
{
	struct soak_watch *w = arg;
	struct mash_mq_msg *m = NULL;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		pthread_mutex_unlock(&w->mu);
		if (mash_mq_next(w->mq, 200, &m) != MASH_OK)
			continue;
		take(w, m);
		mash_mq_msg_free(m);
		m = NULL;
	}
	return NULL;
}

int
soak_watch_start(struct mash_test_broker *b, struct soak_watch **out)
{
	struct mash_test_tls t;
	struct mash_mq_opts o;
	struct soak_watch *w;
	char id[64];

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	w->seen = calloc(SLOTS, SHA256_DIGEST_LENGTH);
	w->used = calloc(SLOTS, 1);
	pthread_mutex_init(&w->mu, NULL);
	mash_mq_opts_init(&o);
	mash_test_broker_mq_opts(b, MASH_TEST_HARNESS, &t, &o);
	/* A client id of this run's own: its first connect makes a new
	 * session, which the broker keeps (and persists) across its
	 * restart; every reconnect resumes it. */
	(void)snprintf(id, sizeof(id), "soak-watch-%ld", (long)getpid());
	o.client_id = id;
	o.clean_start = 0;
	o.session_expiry_s = 86400;
	o.queue_max_msgs = 100000;
	o.queue_max_bytes = 512LL * 1024 * 1024;
	o.max_payload = MASH_MAX_ENVELOPE;
	if (w->seen == NULL || w->used == NULL ||
	    mash_mq_new(&o, &w->mq) != MASH_OK ||
	    mash_mq_subscribe(w->mq, PREFIX "+", 10000) != MASH_OK ||
	    mash_mq_connect(w->mq, 10000) != MASH_OK ||
	    pthread_create(&w->thread, NULL, run, w) != 0) {
		mash_mq_free(w->mq);
		free(w->seen);
		free(w->used);
		free(w);
		return -1;
	}
	w->last_ms = mash_mono_ms();
	*out = w;
	return 0;
}

long
soak_watch_count(struct soak_watch *w, const char *principal)
{
	long n = 0;
	size_t i;

	pthread_mutex_lock(&w->mu);
	if (principal == NULL)
		n = w->total;
	for (i = 0; principal != NULL && i < w->n_inbox; i++)
		if (strcmp(w->inbox[i].principal, principal) == 0)
			n = w->inbox[i].n;
	pthread_mutex_unlock(&w->mu);
	return n;
}

long
soak_watch_redelivered(struct soak_watch *w)
{
	long n;

	pthread_mutex_lock(&w->mu);
	n = w->redelivered;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void
soak_watch_settle(struct soak_watch *w, int quiet_ms, int max_ms)
{
	int64_t end = mash_mono_ms() + max_ms, last;

	while (mash_mono_ms() < end) {
		pthread_mutex_lock(&w->mu);
		last = w->last_ms;
		pthread_mutex_unlock(&w->mu);
		if (mash_mono_ms() - last >= quiet_ms)
			return;
		mash_test_sleep_ms(100);
	}
}

void
soak_watch_free(struct soak_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	mash_mq_free(w->mq);
	pthread_mutex_destroy(&w->mu);
	free(w->seen);
	free(w->used);
	free(w);
}
