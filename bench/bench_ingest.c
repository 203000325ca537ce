/*
 * bench_ingest.c - end-to-end ingest throughput of the real mashd binary
 * (real mosquitto, real SQLite with synchronous=FULL), with
 * ingest.batch_max 1 (one COMMIT per event) and 32 (group commit).
 *
 * Each run: start mashd once (persistent session), stop it, let the broker
 * queue N signed events, start mashd and time from the start until the
 * last receipt (so start-up, about 0.1 s, is included). Prints events/s
 * per run and the median of RUNS runs for each batch size.
 *
 * Usage: bench_ingest [N [RUNS]]  (needs MASH_BIN_DIR=build/bin, run from
 * the source tree; default N 1000, RUNS 3). Not a test: nothing asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "common/err.h"
#include "common/str.h"
#include "support/broker.h"
#include "support/mashd_fixture.h"

#define MAX_RUNS 9

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One run; events/s, or a negative number on failure. */
static double
run(int batch_max, int n)
{
	struct mash_mashd_fx *fx;
	char cfg[64], id[64];
	double t0, rate = -1;
	int i;

	snprintf(cfg, sizeof(cfg), "ingest = { batch_max = %d; };\n",
	         batch_max);
	fx = mash_mashd_fx_new(cfg);
	if (fx == NULL)
		return -1;
	if (mash_mashd_fx_start(fx) != 0 || mash_mashd_fx_stop(fx, NULL) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		Mash__V1__AgencyEvent *ev;

		snprintf(id, sizeof(id), "bbbbbbbb-%04d-4000-8000-%012d",
		         i % 10000, i);
		ev = mash_mashd_fx_event("police", id);
		if (ev == NULL || mash_mashd_fx_send(fx, ev) != 0) {
			mash_mashd_fx_event_free(ev);
			goto out;
		}
		mash_mashd_fx_event_free(ev);
	}
	t0 = bench_now_s();
	if (mash_mashd_fx_start(fx) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		Mash__V1__Receipt *r = NULL;

		if (mash_mashd_fx_receipt(fx, 60000, &r, NULL) != 0)
			goto out;
		mash_mashd_fx_receipt_free(r);
	}
	rate = (double)n / (bench_now_s() - t0);
out:
	if (rate < 0) {
		/* Keep the daemon's log for inspection. */
		char *log = mash_test_read_file(fx->log, 64u << 20, NULL);

		fprintf(stderr, "bench_ingest: run failed; mashd log in "
		                "/tmp/bench_ingest_failed.log\n");
		if (log != NULL)
			(void)mash_test_write_file(
			    "/tmp/bench_ingest_failed.log", log, strlen(log));
		free(log);
	}
	mash_mashd_fx_free(fx);
	return rate;
}

int
main(int argc, char **argv)
{
	static const int sizes[] = {1, 32};
	double r[MAX_RUNS];
	int64_t n = 1000, runs = 3;

	if ((argc > 1 && mash_parse_i64(argv[1], 1, 100000, &n) != MASH_OK) ||
	    (argc > 2 &&
	     mash_parse_i64(argv[2], 1, MAX_RUNS, &runs) != MASH_OK)) {
		fprintf(stderr,
		        "usage: bench_ingest [N 1..100000 [RUNS 1..%d]]\n",
		        MAX_RUNS);
		return 2;
	}
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int k = 0; k < runs; k++) {
			r[k] = run(sizes[s], (int)n);
			printf("batch_max %2d run %d: %.0f events/s\n",
			       sizes[s], k + 1, r[k]);
			fflush(stdout);
		}
		qsort(r, (size_t)runs, sizeof(r[0]), cmp);
		printf("batch_max %2d: median %.0f events/s (%d events, %d "
		       "runs)\n",
		       sizes[s], r[runs / 2], (int)n, (int)runs);
	}
	return 0;
}
