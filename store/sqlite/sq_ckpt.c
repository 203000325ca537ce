/*
 * sq_ckpt.c - WAL checkpoints on a thread of their own (store.h
 * mash_store_checkpoint_in_background; issue 32).
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000
 * WAL pages: the writer copies pages into the database file and fsyncs
 * it, and mashd's core thread spent 6 % of its time there, with its
 * receipts waiting behind. Here a second connection to the same file,
 * owned by one thread, runs a PASSIVE checkpoint every interval: it
 * copies what no reader still needs and never waits for the writer,
 * which appends to the WAL meanwhile. The WAL is rewound only by a
 * writer that begins a transaction with every frame copied, which a busy
 * writer never finds after PASSIVE checkpoints alone (the WAL grew by
 * 14 MB/s under load), and a RESTART checkpoint from this thread, which
 * holds the writer's lock while it copies and syncs, put 0.6 s stalls
 * into mashd's p99. So the writer keeps SQLite's own checkpoint, at
 * CKPT_WRITER_FRAMES instead of 1,000: when it runs, inside a COMMIT,
 * this thread has already copied and synced nearly all of the WAL, the
 * writer copies the last frames and its next transaction starts the WAL
 * from the top. Durability is unchanged: a COMMIT is durable in the WAL
 * (synchronous=FULL), and a checkpoint syncs the WAL before it copies
 * and the database after (synchronous=FULL on this connection too).
 *
 * The thread touches only its own connection; it logs a failing
 * checkpoint once a minute at most (the commits then do all the work
 * again, which the operator must hear of).
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/sqlite/sq_int.h"

#define WARN_EVERY_S 60
/* The writer's own checkpoint: 16 MiB of 4 KiB pages (SQLite's is
 * 1,000), about a second of mashd at full load. */
#define CKPT_WRITER_FRAMES 4096

struct sq_ckpt {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db; /* the thread's own connection */
	int interval_ms;
	int stop;
};

static void
deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
ckpt_main(void *arg)
{
	struct sq_ckpt *c = arg;
	struct timespec ts;
	time_t warned = 0, now;
	int nlog, ncopied, src;

	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		deadline(&ts, c->interval_ms);
		while (!c->stop &&
		       pthread_cond_timedwait(&c->cv, &c->mu, &ts) != ETIMEDOUT)
			;
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->mu);
		src = sqlite3_wal_checkpoint_v2(
		    c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ncopied);
		/* BUSY: another checkpoint runs (the writer's, a rekey's). */
		now = time(NULL);
		if (src != SQLITE_OK && src != SQLITE_BUSY &&
		    now - warned >= WARN_EVERY_S) {
			warned = now;
			mash_warn("store: background checkpoint failed (%s); "
			          "the commits copy the WAL alone",
			          sqlite3_errstr(src));
		}
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void
ckpt_free(struct sq_ckpt *c)
{
	if (c == NULL)
		return;
	(void)sqlite3_close_v2(c->db);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	mash_free(c);
}

int
sq_ckpt_start(struct mash_store_be *st, int interval_ms)
{
	struct sq_ckpt *c = NULL;
	pthread_condattr_t ca;
	const char *path;
	int rc = MASH_ERR_INVAL, src;

	if (st == NULL || interval_ms < 1 || interval_ms > 60000)
		goto out;
	rc = MASH_ERR_STATE;
	if (st->ckpt != NULL || st->read_only)
		goto out;
	path = sqlite3_db_filename(st->db, "main");
	if (path == NULL || path[0] == '\0')
		goto out; /* in memory: nothing to checkpoint */
	rc = MASH_ERR_NOMEM;
	c = mash_calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	c->interval_ms = interval_ms;
	rc = MASH_ERR_INTERNAL;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		mash_free(c);
		c = NULL;
		goto out;
	}
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&c->cv, &ca) != 0) {
		pthread_mutex_destroy(&c->mu);
		mash_free(c);
		c = NULL;
		goto out;
	}
	pthread_condattr_destroy(&ca);
	src = sqlite3_open_v2(
	    path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL,
		                   NULL);
	if (src != SQLITE_OK) {
		mash_err("store: cannot open the checkpoint connection (%s)",
		         sqlite3_errstr(src));
		rc = MASH_ERR_STORE;
		goto out;
	}
	/* The writer checkpoints less often only once the thread runs;
	 * should that fail, it goes on as before. */
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0)
		goto out;
	st->ckpt = c;
	c = NULL; /* transferred */
	src = sqlite3_wal_autocheckpoint(st->db, CKPT_WRITER_FRAMES);
	rc =
	    src == SQLITE_OK ? MASH_OK : sq_fail(st, src, "wal_autocheckpoint");
out:
	ckpt_free(c);
	return rc;
}

void
sq_ckpt_stop(struct mash_store_be *st)
{
	struct sq_ckpt *c;

	if (st == NULL || st->ckpt == NULL)
		return;
	c = st->ckpt;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	ckpt_free(c);
	st->ckpt = NULL;
}
