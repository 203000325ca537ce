/*
 * seal_pool.c - two cores for a batch of seals. See seal_pool.h.
 *
 * The caller and the worker take jobs from one atomic index, so neither
 * waits for the other while work remains; the mutex and condition
 * variables hand the batch over and back (and order the memory: the
 * worker's results are read only after it said it was done). The caller
 * waits only for a worker that picked the batch up: waiting for one
 * that had not yet been scheduled cost mashd's main thread 15 % of its
 * time in the five-agent benchmark (issue 22).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "common/err.h"
#include "common/mem.h"
#include "daemon/seal_pool.h"

struct mashd_seal_pool {
	mashd_seal_key_fn fn;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct mashd_seal_job *jobs; /* the batch being sealed */
	size_t n;
	atomic_size_t next;
	int have_work, busy, stop;
};

static void
take_jobs(struct mashd_seal_pool *p, struct mashd_seal_job *jobs, size_t n)
{
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < n) {
		struct mashd_seal_job *j = &jobs[i];

		j->env = NULL;
		j->env_len = 0;
		j->rc = p->fn(p->ctx, j->to, j->recipient, j->payload_type,
		              j->payload, j->len, &j->env, &j->env_len);
	}
}

static void *
worker(void *arg)
{
	struct mashd_seal_pool *p = arg;
	struct mashd_seal_job *jobs;
	size_t n;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->have_work && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		p->have_work = 0;
		jobs = p->jobs;
		n = p->n;
		pthread_mutex_unlock(&p->mu);
		take_jobs(p, jobs, n);
		pthread_mutex_lock(&p->mu);
		p->busy = 0;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
mashd_seal_pool_new(mashd_seal_key_fn fn, void *ctx,
                    struct mashd_seal_pool **out)
{
	struct mashd_seal_pool *p;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (fn == NULL)
		return MASH_ERR_INVAL;
	p = mash_calloc(1, sizeof(*p));
	if (p == NULL)
		return MASH_ERR_NOMEM;
	p->fn = fn;
	p->ctx = ctx;
	atomic_init(&p->next, 0);
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		mash_free(p);
		return MASH_ERR_INTERNAL;
	}
	if (pthread_cond_init(&p->work, NULL) != 0 ||
	    pthread_cond_init(&p->done, NULL) != 0 ||
	    pthread_create(&p->thread, NULL, worker, p) != 0) {
		/* (a cond that did init is not destroyed: nothing waits on
		 * it and glibc's need no cleanup) */
		pthread_mutex_destroy(&p->mu);
		mash_free(p);
		return MASH_ERR_INTERNAL;
	}
	*out = p;
	return MASH_OK;
}

void
mashd_seal_pool_run(struct mashd_seal_pool *p, struct mashd_seal_job *jobs,
                    size_t n)
{
	if (p == NULL || jobs == NULL || n == 0)
		return;
	atomic_store(&p->next, 0);
	if (n < 2) {
		take_jobs(p, jobs, n);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->jobs = jobs;
	p->n = n;
	p->have_work = 1;
	p->busy = 1;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	take_jobs(p, jobs, n);
	pthread_mutex_lock(&p->mu);
	/* Every job is taken. A worker that has not yet woken (the other
	 * core busy with the broker and the agents) is not waited for: it
	 * never saw this batch, so the batch is withdrawn. One that took it
	 * is finishing its last seal. */
	if (p->have_work) {
		p->have_work = 0;
		p->busy = 0;
	}
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	p->jobs = NULL;
	p->n = 0;
	pthread_mutex_unlock(&p->mu);
}

void
mashd_seal_pool_free(struct mashd_seal_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	mash_free(p);
}
