/*
 * seal_defer.c - a batch's deliveries sealed beside the core thread. See
 * seal_defer.h.
 *
 * Jobs live in fixed chunks that never move, so the worker reads a job
 * while the core thread queues more. The mutex orders everything: a job
 * is taken (next), sealed outside the lock, and counted done under it;
 * the core thread reads results or frees jobs only when no job is being
 * sealed (busy == 0) and none is left to take.
 */
#include <pthread.h>
#include <string.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/seal.h"
#include "daemon/outbox.h"
#include "daemon/seal_defer.h"

struct sdq_job {
	struct mashd_seal_job job;
	struct mash_seal_to to; /* a copy: the batch's key may be renewed */
	char recipient[MASH_MAX_ID + 1];
};

struct mashd_sdq {
	mashd_seal_key_fn fn;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	struct sdq_job *chunk[MASHD_SDQ_CHUNKS];
	size_t n, next; /* queued; the next to take */
	unsigned busy;  /* jobs being sealed outside the lock */
	int stop;
};

static struct sdq_job *
job_at(struct mashd_sdq *q, size_t i)
{
	return &q->chunk[i / MASHD_SDQ_CHUNK][i % MASHD_SDQ_CHUNK];
}

/* Seal the next job, if any, with q->mu held on entry and on return.
 * 1 if one was sealed. */
static int
seal_one(struct mashd_sdq *q)
{
	struct sdq_job *j;

	if (q->next >= q->n)
		return 0;
	j = job_at(q, q->next++);
	q->busy++;
	pthread_mutex_unlock(&q->mu);
	j->job.env = NULL;
	j->job.env_len = 0;
	j->job.rc =
	    q->fn(q->ctx, j->job.to, j->job.recipient, j->job.payload_type,
	          j->job.payload, j->job.len, &j->job.env, &j->job.env_len);
	pthread_mutex_lock(&q->mu);
	if (--q->busy == 0 && q->next >= q->n)
		pthread_cond_broadcast(&q->idle);
	return 1;
}

static void *
worker(void *arg)
{
	struct mashd_sdq *q = arg;

	pthread_mutex_lock(&q->mu);
	while (!q->stop) {
		if (!seal_one(q))
			pthread_cond_wait(&q->work, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int
mashd_sdq_new(mashd_seal_key_fn fn, void *ctx, struct mashd_sdq **out)
{
	struct mashd_sdq *q;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (fn == NULL)
		return MASH_ERR_INVAL;
	q = mash_calloc(1, sizeof(*q));
	if (q == NULL)
		return MASH_ERR_NOMEM;
	q->fn = fn;
	q->ctx = ctx;
	if (pthread_mutex_init(&q->mu, NULL) != 0) {
		mash_free(q);
		return MASH_ERR_INTERNAL;
	}
	if (pthread_cond_init(&q->work, NULL) != 0 ||
	    pthread_cond_init(&q->idle, NULL) != 0 ||
	    pthread_create(&q->thread, NULL, worker, q) != 0) {
		/* (as in seal_pool.c: glibc's conds need no cleanup) */
		pthread_mutex_destroy(&q->mu);
		mash_free(q);
		return MASH_ERR_INTERNAL;
	}
	*out = q;
	return MASH_OK;
}

/* Wait until no job is left to take or being sealed, sealing what is
 * left here too. q->mu held. */
static void
settle(struct mashd_sdq *q)
{
	while (seal_one(q))
		;
	while (q->busy > 0)
		pthread_cond_wait(&q->idle, &q->mu);
}

/* Wipe and free jobs [from, q->n); the caller settled the queue. */
static void
forget(struct mashd_sdq *q, size_t from)
{
	size_t i;

	for (i = from; i < q->n; i++) {
		struct sdq_job *j = job_at(q, i);

		mash_free_secret((void *)j->job.payload, j->job.len);
		mash_free(j->job.env);
		mash_seal_to_clear(&j->to);
		memset(j, 0, sizeof(*j));
	}
	q->n = from;
	if (q->next > from)
		q->next = from;
}

int
mashd_sdq_add(struct mashd_sdq *q, struct mashd_seal_job *jobs, size_t n)
{
	size_t i, c;

	if (q == NULL || (jobs == NULL && n > 0))
		return MASH_ERR_INVAL;
	for (i = 0; i < n; i++)
		if (strlen(jobs[i].recipient) > MASH_MAX_ID)
			return MASH_ERR_FIELD_TOO_LONG;
	pthread_mutex_lock(&q->mu);
	if (q->n + n > (size_t)MASHD_SDQ_CHUNK * MASHD_SDQ_CHUNKS) {
		pthread_mutex_unlock(&q->mu);
		return MASH_ERR_TOO_BIG;
	}
	for (c = q->n / MASHD_SDQ_CHUNK;
	     c <= (q->n + n) / MASHD_SDQ_CHUNK && c < MASHD_SDQ_CHUNKS; c++) {
		if (q->chunk[c] != NULL)
			continue;
		q->chunk[c] = mash_calloc(MASHD_SDQ_CHUNK, sizeof(**q->chunk));
		if (q->chunk[c] == NULL) {
			pthread_mutex_unlock(&q->mu);
			return MASH_ERR_NOMEM;
		}
	}
	for (i = 0; i < n; i++) {
		struct sdq_job *j = job_at(q, q->n + i);

		j->job = jobs[i];
		(void)mash_strlcpy(j->recipient, jobs[i].recipient,
		                   sizeof(j->recipient));
		j->job.recipient = j->recipient;
		if (jobs[i].to != NULL) {
			j->to = *jobs[i].to;
			j->job.to = &j->to;
		}
		j->job.env = NULL;
		j->job.env_len = 0;
		jobs[i].payload = NULL; /* the queue's */
		jobs[i].len = 0;
	}
	q->n += n;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	return MASH_OK;
}

size_t
mashd_sdq_mark(const struct mashd_sdq *q)
{
	/* Only the core thread changes n. */
	return q != NULL ? q->n : 0;
}

void
mashd_sdq_drop_from(struct mashd_sdq *q, size_t mark)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	if (mark < q->n) {
		/* Nothing may be sealing a job about to be freed: settle
		 * (the jobs before mark are sealed too, and kept). */
		settle(q);
		forget(q, mark);
	}
	pthread_mutex_unlock(&q->mu);
}

int
mashd_sdq_flush(struct mashd_sdq *q, struct mash_store *st, size_t *n_rows)
{
	size_t i, n, rows = 0;
	int rc = MASH_OK;

	if (n_rows != NULL)
		*n_rows = 0;
	if (q == NULL || st == NULL)
		return MASH_ERR_INVAL;
	pthread_mutex_lock(&q->mu);
	settle(q);
	n = q->n;
	pthread_mutex_unlock(&q->mu);
	/* Settled, and only this thread queues: the worker waits. */
	for (i = 0; i < n && rc == MASH_OK; i++) {
		const struct mashd_seal_job *j = &job_at(q, i)->job;

		rc = j->rc;
		if (rc == MASH_OK)
			rc = mashd_outbox_add_sealed(st, j->recipient, j->env,
			                             j->env_len, j->audit_seq);
		if (rc == MASH_OK)
			rows++;
	}
	pthread_mutex_lock(&q->mu);
	forget(q, 0);
	pthread_mutex_unlock(&q->mu);
	if (n_rows != NULL)
		*n_rows = rows;
	return rc;
}

void
mashd_sdq_free(struct mashd_sdq *q)
{
	size_t c;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	settle(q);
	forget(q, 0);
	q->stop = 1;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	for (c = 0; c < MASHD_SDQ_CHUNKS; c++)
		mash_free(q->chunk[c]);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->idle);
	pthread_mutex_destroy(&q->mu);
	mash_free(q);
}
