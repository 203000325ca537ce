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
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "daemon/outbox_pump.h"
#include "store/store.h"

struct mashd_pump {
	mashd_outbox_send_many_fn send;
	void *ctx;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	struct mash_store_outbox_list *job; /* owned by the core thread */
	size_t published;                   /* the job's acknowledged prefix */
	int failed_rc;                      /* its first failure, or MASH_OK */
	int have_work, busy, stop;
};

/* Publish the job's rows, a pipeline of MASHD_OUTBOX_FLUSH_BATCH at a
 * time, up to the first that the broker did not take. */
static void
run_job(struct mashd_pump *p, const struct mash_store_outbox_list *l,
        size_t *published, int *failed_rc)
{
	const char *topic[MASHD_OUTBOX_FLUSH_BATCH];
	const unsigned char *bytes[MASHD_OUTBOX_FLUSH_BATCH];
	size_t len[MASHD_OUTBOX_FLUSH_BATCH];
	int rcs[MASHD_OUTBOX_FLUSH_BATCH];
	size_t at = 0, n, i;

	*published = 0;
	*failed_rc = MASH_OK;
	while (at < l->n) {
		n = l->n - at;
		if (n > MASHD_OUTBOX_FLUSH_BATCH)
			n = MASHD_OUTBOX_FLUSH_BATCH;
		for (i = 0; i < n; i++) {
			topic[i] = l->v[at + i].topic;
			bytes[i] = l->v[at + i].bytes;
			len[i] = l->v[at + i].len;
			rcs[i] = MASH_ERR_STATE;
		}
		p->send(p->ctx, topic, bytes, len, n, rcs);
		for (i = 0; i < n && rcs[i] == MASH_OK; i++)
			;
		at += i;
		if (i < n) {
			*failed_rc = rcs[i];
			break;
		}
	}
	*published = at;
}

static void *
worker(void *arg)
{
	struct mashd_pump *p = arg;
	struct mash_store_outbox_list *l;
	size_t published;
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
		run_job(p, l, &published, &failed_rc);
		pthread_mutex_lock(&p->mu);
		p->published = published;
		p->failed_rc = failed_rc;
		p->busy = 0;
		pthread_cond_signal(&p->done);
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
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		mash_free(p);
		return MASH_ERR_INTERNAL;
	}
	if (pthread_cond_init(&p->work, NULL) != 0 ||
	    pthread_cond_init(&p->done, NULL) != 0 ||
	    pthread_create(&p->thread, NULL, worker, p) != 0) {
		/* (as in seal_pool.c: glibc's conds need no cleanup) */
		pthread_mutex_destroy(&p->mu);
		mash_free(p);
		return MASH_ERR_INTERNAL;
	}
	*out = p;
	return MASH_OK;
}

/* Wait for the job in flight; hand back its rows (NULL when none), how
 * many of them were published, and its first failure. */
static struct mash_store_outbox_list *
wait_job(struct mashd_pump *p, size_t *published, int *failed_rc)
{
	struct mash_store_outbox_list *l;

	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	l = p->job;
	p->job = NULL;
	*published = l != NULL ? p->published : 0;
	*failed_rc = l != NULL ? p->failed_rc : MASH_OK;
	pthread_mutex_unlock(&p->mu);
	return l;
}

int
mashd_pump_settle(struct mashd_pump *p, struct mash_store *st, size_t *n_done)
{
	struct mash_store_outbox_list *l;
	int64_t *ids = NULL;
	size_t published, i;
	int rc, failed_rc;

	if (n_done != NULL)
		*n_done = 0;
	if (p == NULL || st == NULL)
		return MASH_ERR_INVAL;
	l = wait_job(p, &published, &failed_rc);
	if (l == NULL)
		return MASH_OK;
	if (failed_rc != MASH_OK)
		mash_warn("outbox: message %lld to %s not published (%s); kept "
		          "for the next flush",
		          (long long)l->v[published].id, l->v[published].topic,
		          mash_errname(failed_rc));
	rc = MASH_OK;
	if (published > 0) {
		ids = mash_calloc(published, sizeof(*ids));
		if (ids == NULL) {
			rc = MASH_ERR_NOMEM;
			mash_warn("outbox: %zu published message(s) not marked "
			          "done (%s); they go again",
			          published, mash_errname(rc));
			goto out;
		}
		for (i = 0; i < published; i++)
			ids[i] = l->v[i].id;
		rc = mashd_outbox_mark_done(st, ids, published);
		if (rc != MASH_OK)
			mash_warn("outbox: %zu published message(s) not marked "
			          "done (%s); they go again",
			          published, mash_errname(rc));
	}
	if (rc == MASH_OK && n_done != NULL)
		*n_done = published;
out:
	mash_free(ids);
	mash_store_outbox_list_free(l);
	return rc != MASH_OK ? rc : failed_rc;
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
	p->published = 0;
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
	size_t published;
	int failed_rc;

	if (p == NULL)
		return;
	l = wait_job(p, &published, &failed_rc);
	mash_store_outbox_list_free(l);
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
