/*
 * bench_store: events inserted per second through the daemon's ingest
 * sequence (begin, duplicate lookup, link, insert, set receipt, commit),
 * with one transaction per event versus group commit of 32 events per
 * transaction. Each mode runs several times on a fresh database file and
 * the median rate is printed.
 *
 * usage: bench_store [DIR] [EVENTS] [RUNS]   (DIR defaults to $TMPDIR or
 * /tmp; the numbers depend on how fast DIR's filesystem fsyncs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "store/store.h"

#define MAX_RUNS 15

static const char *const nhs_pool[] = {"9434765919", "4010232137", "4857773457",
                                       "1111111111"};

static void
remove_db(const char *path)
{
	char p[600];

	(void)unlink(path);
	(void)snprintf(p, sizeof(p), "%s-wal", path);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s-shm", path);
	(void)unlink(p);
}

/* One event through the ingest sequence, inside an open transaction. */
static int
ingest_one(struct mash_store *st, long i, const unsigned char *env,
           size_t envlen)
{
	char event_id[40], case_id[MASH_STORE_CASE_ID_SIZE];
	struct mash_store_receipt r;
	struct mash_store_subject s = {.nhs_number = nhs_pool[i % 4]};
	struct mash_store_event ev = {0};
	int rc;

	(void)mash_snprintf(event_id, sizeof(event_id),
	                    "00000000-0000-4000-8000-%012ld", i);
	rc = mash_store_event_lookup(st, "police", event_id, &r);
	if (rc != MASH_ERR_NOT_FOUND)
		return rc == MASH_OK ? MASH_ERR_DUPLICATE : rc;
	rc = mash_store_case_link(st, &s, case_id, NULL);
	if (rc != MASH_OK)
		return rc;
	ev.case_id = case_id;
	ev.agency = "police";
	ev.event_id = event_id;
	ev.category = 6;
	ev.severity = 2;
	ev.consent = 1;
	ev.occurred_at = 1790000000000 + i;
	ev.recorded_at = ev.occurred_at;
	ev.received_at = ev.occurred_at;
	ev.envelope = env;
	ev.envelope_len = envlen;
	ev.payload = env + 100;
	ev.payload_len = envlen - 100;
	rc = mash_store_event_insert(st, &ev, NULL);
	if (rc != MASH_OK)
		return rc;
	return mash_store_event_set_receipt(st, "police", event_id,
	                                    MASH_STORE_RECEIPT_ACCEPTED,
	                                    (uint64_t)i + 1);
}

/* Events per second for n events, batch events per transaction. */
static int
run(const char *path, long n, long batch, double *rate)
{
	struct mash_store *st = NULL;
	unsigned char env[1200];
	double t0;
	long i;
	int rc;

	*rate = 0;
	remove_db(path);
	memset(env, 0xa5, sizeof(env));
	rc = mash_store_open(path, &st);
	if (rc != MASH_OK)
		return rc;
	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		if (i % batch == 0) {
			rc = mash_store_begin(st);
			if (rc != MASH_OK)
				goto out;
		}
		rc = ingest_one(st, i, env, sizeof(env));
		if (rc != MASH_OK)
			goto out;
		if (i % batch == batch - 1 || i == n - 1) {
			rc = mash_store_commit(st);
			if (rc != MASH_OK)
				goto out;
		}
	}
	*rate = (double)n / (bench_now_s() - t0);
out:
	if (rc != MASH_OK && mash_store_in_tx(st))
		(void)mash_store_rollback(st);
	mash_store_close(st);
	remove_db(path);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR");
	char path[512];
	double rates[MAX_RUNS];
	int64_t n = 2000, runs = 5;
	long batches[2] = {1, 32};
	int b, r, rc;

	mash_log_set_level(MASH_LOG_ERROR);
	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	if ((argc > 2 &&
	     mash_parse_i64(argv[2], 32, 10000000, &n) != MASH_OK) ||
	    (argc > 3 &&
	     mash_parse_i64(argv[3], 1, MAX_RUNS, &runs) != MASH_OK)) {
		fprintf(stderr,
		        "usage: bench_store [DIR] [EVENTS 32..] "
		        "[RUNS 1..%d]\n",
		        MAX_RUNS);
		return 2;
	}
	if (mash_snprintf(path, sizeof(path), "%s/bench_store.%ld.db", dir,
	                  (long)getpid()) != MASH_OK) {
		fprintf(stderr, "bench_store: directory name too long\n");
		return 2;
	}
	printf("bench_store: %lld events per run, %lld runs, db in %s\n",
	       (long long)n, (long long)runs, dir);
	for (b = 0; b < 2; b++) {
		for (r = 0; r < runs; r++) {
			rc = run(path, (long)n, batches[b], &rates[r]);
			if (rc != MASH_OK) {
				fprintf(stderr, "bench_store: %s: %s\n", path,
				        mash_strerror(rc));
				return 1;
			}
		}
		qsort(rates, (size_t)runs, sizeof(rates[0]), bench_cmp_double);
		printf("  %2ld event(s)/transaction: median %9.0f events/s"
		       " (min %.0f, max %.0f)\n",
		       batches[b], rates[runs / 2], rates[0], rates[runs - 1]);
	}
	return 0;
}
