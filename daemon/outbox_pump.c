/*
 * outbox_pump.c - the outbox published on its own thread. See
 * outbox_pump.h.
 *
 * The mutex and condition variables hand a job over and back, and order
 * the memory: the core thread reads a job's results only after the pump
 * said it was done, and the pump reads the rows only after they were
 * handed over.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "daemon/outbox_pump.h"
#include "daemon/stages.h"
#include "store/store.h"

struct mashd_pump {
	mashd_outbox_send_many_fn send;
	void *ctx;
	struct mashd_outbox_retry retry; /* has_retry: the budget */
	int has_retry;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct mash_store_outbox_list *job; /* owned by the core thread */
	int rcs[MASHD_OUTBOX_MARK_MAX];     /* the job's results, per row */
	int failed_rc;                      /* what stopped it, or MASH_OK */
	int have_work, busy, stop;
	int efd; /* readable once a job is done (mashd_pump_fd) */
	struct mashd_stages *stages; /* the core thread's, or NULL */
};

static void *
worker(void *arg)
{
	struct mashd_pump *p = arg;
	struct mash_store_outbox_list *l;
	int failed_rc;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->have_work && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		p->have_work = 0;
		l = p->job;
		pthread_mutex_unlock(&p->mu);
		failed_rc = mashd_outbox_publish_rows(p->send, p->ctx, l->v,
		                                      l->n, p->rcs);
		pthread_mutex_lock(&p->mu);
		p->failed_rc = failed_rc;
		p->busy = 0;
		pthread_cond_signal(&p->done);
		if (p->efd >= 0) {
			uint64_t one = 1;

			/* Only a full counter (never) refuses; the core
			 * thread then finds the job done at its next flush. */
			(void)!write(p->efd, &one, sizeof(one));
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
mashd_pump_new(mashd_outbox_send_many_fn send, void *ctx,
               struct mashd_pump **out)
{
	struct mashd_pump *p;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (send == NULL)
		return MASH_ERR_INVAL;
	p = mash_calloc(1, sizeof(*p));
	if (p == NULL)
		return MASH_ERR_NOMEM;
	p->send = send;
	p->ctx = ctx;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		mash_free(p);
		return MASH_ERR_INTERNAL;
	}
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		(void)close(p->efd);
		mash_free(p);
		return MASH_ERR_INTERNAL;
	}
	if (pthread_cond_init(&p->work, NULL) != 0 ||
	    pthread_cond_init(&p->done, NULL) != 0 ||
	    pthread_create(&p->thread, NULL, worker, p) != 0) {
		/* (as in seal_pool.c: glibc's conds need no cleanup) */
		pthread_mutex_destroy(&p->mu);
		(void)close(p->efd);
		mash_free(p);
		return MASH_ERR_INTERNAL;
	}
	*out = p;
	return MASH_OK;
}

/* Wait for the job in flight; hand back its rows (NULL when none) and
 * what stopped it. Its results are in p->rcs until the next job. */
static struct mash_store_outbox_list *
wait_job(struct mashd_pump *p, int *failed_rc)
{
	struct mash_store_outbox_list *l;
	uint64_t t0 = mashd_stage_start();

	pthread_mutex_lock(&p->mu);
	if (p->busy) { /* only a real wait is counted */
		while (p->busy)
			pthread_cond_wait(&p->done, &p->mu);
		mashd_stage_add(p->stages, MASHD_STAGE_PUBACKS, t0);
	}
	l = p->job;
	p->job = NULL;
	*failed_rc = l != NULL ? p->failed_rc : MASH_OK;
	pthread_mutex_unlock(&p->mu);
	return l;
}

void
mashd_pump_set_stages(struct mashd_pump *p, struct mashd_stages *st)
{
	if (p != NULL)
		p->stages = st;
}

void
mashd_pump_set_retry(struct mashd_pump *p, const struct mashd_outbox_retry *r)
{
	if (p == NULL)
		return;
	/* No job is in flight while the core thread reads p->retry in
	 * settle, and only the core thread calls this. */
	p->has_retry = r != NULL;
	if (r != NULL)
		p->retry = *r;
}

int
mashd_pump_settle(struct mashd_pump *p, struct mash_store *st, size_t *n_done)
{
	struct mash_store_outbox_list *l;
	int rc, failed_rc;

	if (n_done != NULL)
		*n_done = 0;
	if (p == NULL || st == NULL)
		return MASH_ERR_INVAL;
	l = wait_job(p, &failed_rc);
	if (l == NULL)
		return MASH_OK;
	if (failed_rc != MASH_OK && failed_rc != MASH_ERR_REFUSED)
		mash_warn("outbox: publishing stopped (%s); the rest are kept "
		          "for the next flush",
		          mash_errname(failed_rc));
	rc = mashd_outbox_settle(st, p->has_retry ? &p->retry : NULL, l->v,
	                         p->rcs, l->n, n_done);
	mash_store_outbox_list_free(l);
	if (rc != MASH_OK)
		return rc;
	return failed_rc == MASH_ERR_REFUSED ? MASH_OK : failed_rc;
}

int
mashd_pump_flush(struct mashd_pump *p, struct mash_store *st, size_t *n_done)
{
	struct mash_store_outbox_list *l = NULL;
	int rc, src;

	rc = mashd_pump_settle(p, st, n_done);
	if (p == NULL || st == NULL)
		return rc;
	/* After a failure too: the failed row leads the new job, in order
	 * (a broker that refused it once may take it now; if not, the next
	 * flush says so again). */
	src = mash_store_outbox_pending(st, 0, MASHD_OUTBOX_MARK_MAX, &l);
	if (src != MASH_OK) {
		mash_warn("outbox: pending messages not read (%s); tried "
		          "again at the next flush",
		          mash_errname(src));
		return rc != MASH_OK ? rc : src;
	}
	if (l->n == 0) {
		mash_store_outbox_list_free(l);
		return rc;
	}
	pthread_mutex_lock(&p->mu);
	p->job = l;
	p->failed_rc = MASH_OK;
	p->have_work = 1;
	p->busy = 1;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void
mashd_pump_free(struct mashd_pump *p)
{
	struct mash_store_outbox_list *l;
	int failed_rc;

	if (p == NULL)
		return;
	l = wait_job(p, &failed_rc);
	mash_store_outbox_list_free(l);
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	(void)close(p->efd);
	mash_free(p);
}

int
mashd_pump_fd(const struct mashd_pump *p)
{
	return p != NULL ? p->efd : -1;
}

int
mashd_pump_flush_idle(struct mashd_pump *p, struct mash_store *st,
                      size_t *n_done, int *busy)
{
	uint64_t v;
	int in_flight;

	if (n_done != NULL)
		*n_done = 0;
	if (busy != NULL)
		*busy = 0;
	if (p == NULL || st == NULL)
		return MASH_ERR_INVAL;
	pthread_mutex_lock(&p->mu);
	in_flight = p->busy;
	pthread_mutex_unlock(&p->mu);
	if (in_flight) {
		if (busy != NULL)
			*busy = 1;
		return MASH_OK;
	}
	/* Read before the flush: a job the flush starts and that ends at
	 * once writes again, so no completion is lost. */
	(void)!read(p->efd, &v, sizeof(v));
	return mashd_pump_flush(p, st, n_done);
}
