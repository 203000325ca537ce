/*
 * bench_audit: audit records appended per second on the daemon's store
 * (SQLite WAL, synchronous=FULL, opened through store/), with one
 * transaction per record versus group commit of 32 records per
 * transaction, plus the cost of a signed checkpoint and of verifying the
 * whole trail. Each mode runs several times on a fresh database file and
 * the median is printed. First, the record encoder alone against a
 * jansson object of the same record dumped with the same flags (how
 * records were encoded before audit/aud_json.c, issue 32), in the same
 * run.
 *
 * usage: bench_audit [DIR] [RECORDS] [RUNS]   (DIR defaults to $TMPDIR or
 * /tmp; rates depend on how fast DIR's filesystem fsyncs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/aud.h"
#include "audit/verify.h"
#include "bench_util.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "store/store.h"

#define MAX_RUNS 15
#define BATCH    32
#define GROUP    8 /* one event's DECISIONs, about (divides BATCH) */

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

static int
seal(void *ctx, const char *type, const unsigned char *payload, size_t len,
     unsigned char **env, size_t *env_len)
{
	return mash_env_seal(ctx, "mashd", "bench-1", type, payload, len, env,
	                     env_len);
}

/* A DECISION record as the daemon writes one per recipient. */
static void
decision(struct mash_aud_record *r, long i, char *ev, size_t evsz)
{
	static const char *const shared[] = {"category", "severity",
	                                     "occurred_at", "agency"};
	static const char *const withheld[] = {"summary", "subject.nhs",
	                                       "subject.dob"};

	(void)mash_snprintf(ev, evsz, "00000000-0000-4000-8000-%012ld", i);
	memset(r, 0, sizeof(*r));
	r->type = MASH_AUD_DECISION;
	r->actor = "mashd";
	r->case_id = "C-0123456789ab";
	r->agency = "health";
	r->event_id = ev;
	r->recipient = "police.pp1";
	r->purpose = "strategy-discussion";
	r->rule_id = "health-to-police-strategy";
	r->legal_basis = "children-act-1989-s47";
	r->shared = shared;
	r->n_shared = 4;
	r->withheld = withheld;
	r->n_withheld = 3;
	r->extra_json = "{\"flags\":[\"s47-imminent\"],\"level\":3}";
}

/* r as a jansson object dumped as verify.c dumps it (without the masking
 * of ten-digit runs, which flatters this side); NULL on error. */
static char *
jansson_encode(const struct mash_aud_record *r, long seq, int64_t time_ms)
{
	json_t *o = json_object(), *sh = json_array(), *wh = json_array();
	json_t *extra = json_loads(r->extra_json, JSON_REJECT_DUPLICATES, NULL);
	char *text = NULL;
	size_t i;

	if (o == NULL || sh == NULL || wh == NULL || extra == NULL)
		goto out;
	for (i = 0; i < r->n_shared; i++)
		(void)json_array_append_new(sh, json_string(r->shared[i]));
	for (i = 0; i < r->n_withheld; i++)
		(void)json_array_append_new(wh, json_string(r->withheld[i]));
	if (json_object_set_new(o, "v", json_integer(MASH_AUD_VERSION)) ||
	    json_object_set_new(o, "seq", json_integer(seq)) ||
	    json_object_set_new(o, "type", json_string("DECISION")) ||
	    json_object_set_new(o, "time", json_integer(time_ms)) ||
	    json_object_set_new(o, "actor", json_string(r->actor)) ||
	    json_object_set_new(o, "case_id", json_string(r->case_id)) ||
	    json_object_set_new(o, "agency", json_string(r->agency)) ||
	    json_object_set_new(o, "event_id", json_string(r->event_id)) ||
	    json_object_set_new(o, "recipient", json_string(r->recipient)) ||
	    json_object_set_new(o, "purpose", json_string(r->purpose)) ||
	    json_object_set_new(o, "rule_id", json_string(r->rule_id)) ||
	    json_object_set_new(o, "legal_basis",
	                        json_string(r->legal_basis)) ||
	    json_object_set(o, "shared", sh) ||
	    json_object_set(o, "withheld", wh) ||
	    json_object_set(o, "extra", extra))
		goto out;
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(sh);
	json_decref(wh);
	json_decref(extra);
	json_decref(o);
	return text;
}

/* Records encoded per second: aud_json.c (direct) or jansson; < 0 on
 * error. */
static double
encode_rate(long n, int direct)
{
	struct mash_aud_record r;
	char ev[48], *out;
	size_t len;
	double t0;
	long i;

	t0 = bench_now_s();
	for (i = 0; i < n; i++) {
		decision(&r, i, ev, sizeof(ev));
		out = NULL;
		if (direct) {
			if (mash_aud_encode(&r, (uint64_t)i + 1, 1790000000000,
			                    &out, &len) != MASH_OK)
				return -1;
			mash_free(out);
		} else {
			out = jansson_encode(&r, i + 1, 1790000000000);
			if (out == NULL)
				return -1;
			free(out); /* jansson's allocator */
		}
	}
	return (double)n / (bench_now_s() - t0);
}

/* Append n records, batch per transaction, group per append (group
 * divides batch); seconds taken, or < 0. */
static double
run_once(const char *path, long n, int batch, int group, struct mash_key *key,
         double *cp_ms, double *verify_ms)
{
	struct mash_aud_verify_result res;
	struct mash_aud_signer signer = {seal, key};
	struct mash_store *st = NULL;
	struct mash_aud *aud = NULL;
	struct mash_aud_record r[GROUP];
	unsigned char *env = NULL;
	size_t len;
	char ev[GROUP][48];
	double t0, t = -1;
	long i, k, g;

	remove_db(path);
	if (mash_store_open(path, &st) != MASH_OK ||
	    mash_aud_open(st, mash_clock_system(), "bench", &aud) != MASH_OK)
		goto out;
	t0 = bench_now_s();
	for (i = 0; i < n; i += g) {
		g = n - i < group ? n - i : group;
		if (i % batch == 0 && mash_store_begin(st) != MASH_OK)
			goto out;
		for (k = 0; k < g; k++)
			decision(&r[k], i + k, ev[k], sizeof(ev[k]));
		if (g == 1 ? mash_aud_append(aud, r, NULL) != MASH_OK
		           : mash_aud_append_many(aud, r, (size_t)g, NULL) !=
		                 MASH_OK)
			goto out;
		if (((i + g) % batch == 0 || i + g == n) &&
		    mash_store_commit(st) != MASH_OK)
			goto out;
	}
	t = bench_now_s() - t0;
	t0 = bench_now_s();
	if (mash_aud_checkpoint(aud, &signer, &env, &len) != MASH_OK) {
		t = -1;
		goto out;
	}
	*cp_ms = (bench_now_s() - t0) * 1e3;
	t0 = bench_now_s();
	if (mash_aud_verify(st, NULL, &res) != MASH_OK) {
		fprintf(stderr, "bench_audit: verify: %s\n", res.why);
		t = -1;
		goto out;
	}
	*verify_ms = (bench_now_s() - t0) * 1e3;
out:
	mash_free(env);
	mash_aud_free(aud);
	mash_store_close(st);
	remove_db(path);
	return t;
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR");
	double single[MAX_RUNS], batched[MAX_RUNS], grouped[MAX_RUNS],
	    cp[MAX_RUNS], ver[MAX_RUNS], direct[MAX_RUNS], obj[MAX_RUNS],
	    unused;
	struct mash_key *key = NULL;
	char path[512];
	int64_t v;
	long n = 2000;
	int runs = 5, i;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	if (argc > 1)
		dir = argv[1];
	if (argc > 2) {
		if (mash_parse_i64(argv[2], 32, 10000000, &v) != MASH_OK) {
			fprintf(stderr,
			        "bench_audit: RECORDS must be 32..1e7\n");
			return 2;
		}
		n = (long)v;
	}
	if (argc > 3) {
		if (mash_parse_i64(argv[3], 1, MAX_RUNS, &v) != MASH_OK) {
			fprintf(stderr, "bench_audit: RUNS must be 1..%d\n",
			        MAX_RUNS);
			return 2;
		}
		runs = (int)v;
	}
	mash_log_set_level(MASH_LOG_WARN);
	if (mash_key_generate(&key) != MASH_OK) {
		fprintf(stderr, "bench_audit: cannot generate a key\n");
		return 1;
	}
	(void)snprintf(path, sizeof(path), "%s/bench_audit.%ld.db", dir,
	               (long)getpid());
	for (i = 0; i < runs; i++) {
		direct[i] = encode_rate(n * 10, 1);
		obj[i] = encode_rate(n * 10, 0);
		if (direct[i] < 0 || obj[i] < 0) {
			fprintf(stderr, "bench_audit: encoding failed\n");
			mash_key_free(key);
			return 1;
		}
	}
	printf("audit record encoding (DECISION records), median of %d "
	       "runs:\n",
	       runs);
	printf("  aud_json.c (direct)        : %10.0f records/s\n",
	       bench_median(direct, (size_t)runs));
	printf("  a jansson object, dumped   : %10.0f records/s (%.2fx)\n",
	       bench_median(obj, (size_t)runs),
	       bench_median(direct, (size_t)runs) /
	           bench_median(obj, (size_t)runs));
	for (i = 0; i < runs; i++) {
		/* Single-record transactions are fsync-bound: fewer records. */
		single[i] = run_once(path, n / 8 > 32 ? n / 8 : 32, 1, 1, key,
		                     &unused, &unused);
		batched[i] = run_once(path, n, BATCH, 1, key, &cp[i], &ver[i]);
		grouped[i] =
		    run_once(path, n, BATCH, GROUP, key, &unused, &unused);
		if (single[i] < 0 || batched[i] < 0 || grouped[i] < 0) {
			fprintf(stderr, "bench_audit: run %d failed\n", i);
			mash_key_free(key);
			return 1;
		}
		single[i] = (double)(n / 8 > 32 ? n / 8 : 32) / single[i];
		batched[i] = (double)n / batched[i];
		grouped[i] = (double)n / grouped[i];
	}
	printf("audit appends (DECISION records, SQLite WAL synchronous=FULL "
	       "in %s), median of %d runs:\n",
	       dir, runs);
	printf("  one transaction per record : %10.0f records/s\n",
	       bench_median(single, (size_t)runs));
	printf("  group commit of %d         : %10.0f records/s\n", BATCH,
	       bench_median(batched, (size_t)runs));
	printf("  the same, %d an append     : %10.0f records/s (%.2fx)\n",
	       GROUP, bench_median(grouped, (size_t)runs),
	       bench_median(grouped, (size_t)runs) /
	           bench_median(batched, (size_t)runs));
	printf("  signed checkpoint          : %10.2f ms\n",
	       bench_median(cp, (size_t)runs));
	printf("  verify %ld records        : %10.2f ms\n", n,
	       bench_median(ver, (size_t)runs));
	mash_key_free(key);
	return 0;
}
