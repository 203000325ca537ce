/*
 * test_seal_pool.c - daemon/seal_pool.h: every job of a batch is sealed
 * exactly once, its result in its own slot, on both threads when the
 * batch is large enough; one job runs on the caller; errors are per job;
 * the pool is reusable and frees cleanly; a batch's ephemeral key reaches
 * each of its jobs.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/seal.h"
#include "daemon/seal_pool.h"

#define N 200

static atomic_int calls;
static pthread_t caller;
static atomic_int off_caller; /* jobs sealed on another thread */
static atomic_int with_eph;   /* jobs given their batch's key */
static const struct mash_seal_to *batch_eph;

/* "Seals" by prefixing the recipient; "fail.*" recipients fail. Slow
 * enough (~0.2 ms) that the worker gets a share. */
static int
fake_seal(void *ctx, const struct mash_seal_to *eph, const char *recipient,
          const char *type, const unsigned char *payload, size_t len,
          unsigned char **env, size_t *env_len)
{
	struct timespec ts = {0, 200000};
	char buf[128];
	int n;

	(void)ctx;
	(void)type;
	atomic_fetch_add(&calls, 1);
	if (eph != NULL && eph == batch_eph)
		atomic_fetch_add(&with_eph, 1);
	if (!pthread_equal(pthread_self(), caller))
		atomic_fetch_add(&off_caller, 1);
	nanosleep(&ts, NULL);
	if (strncmp(recipient, "fail.", 5) == 0)
		return MASH_ERR_CRYPTO;
	n = snprintf(buf, sizeof(buf), "%s:%.*s", recipient, (int)len,
	             (const char *)payload);
	*env = mash_malloc((size_t)n);
	if (*env == NULL)
		return MASH_ERR_NOMEM;
	memcpy(*env, buf, (size_t)n);
	*env_len = (size_t)n;
	return MASH_OK;
}

START_TEST(every_job_sealed_once_in_its_slot_on_both_threads)
{
	struct mashd_seal_pool *p = NULL;
	struct mashd_seal_job jobs[N];
	struct mash_seal_to eph; /* only its address matters here */
	char names[N][32], want[64];
	int round, i;

	caller = pthread_self();
	batch_eph = &eph;
	ck_assert_int_eq(mashd_seal_pool_new(fake_seal, NULL, &p), MASH_OK);
	for (round = 0; round < 3; round++) { /* reusable */
		atomic_store(&calls, 0);
		atomic_store(&off_caller, 0);
		atomic_store(&with_eph, 0);
		memset(jobs, 0, sizeof(jobs));
		for (i = 0; i < N; i++) {
			/* the event's key reaches every job of it, on
			 * either thread (round 1: none, each its own) */
			jobs[i].to = round == 1 ? NULL : &eph;
			snprintf(names[i], sizeof(names[i]), "%s.%d",
			         i % 50 == 7 ? "fail" : "p", i);
			jobs[i].recipient = names[i];
			jobs[i].payload_type = "mash.v1.SharedRecord";
			jobs[i].payload = (const unsigned char *)"rec";
			jobs[i].len = 3;
		}
		mashd_seal_pool_run(p, jobs, N);
		ck_assert_int_eq(atomic_load(&calls), N);
		ck_assert_int_eq(atomic_load(&with_eph), round == 1 ? 0 : N);
		ck_assert_int_gt(atomic_load(&off_caller), 0);
		ck_assert_int_lt(atomic_load(&off_caller), N);
		for (i = 0; i < N; i++) {
			if (i % 50 == 7) {
				ck_assert_int_eq(jobs[i].rc, MASH_ERR_CRYPTO);
				ck_assert_ptr_null(jobs[i].env);
				continue;
			}
			ck_assert_int_eq(jobs[i].rc, MASH_OK);
			snprintf(want, sizeof(want), "%.31s:rec", names[i]);
			ck_assert_uint_eq(jobs[i].env_len, strlen(want));
			ck_assert_mem_eq(jobs[i].env, want, strlen(want));
			mash_free(jobs[i].env);
		}
	}
	mashd_seal_pool_free(p);
}
END_TEST

START_TEST(one_job_runs_on_the_caller_and_empty_batches_do_nothing)
{
	struct mashd_seal_pool *p = NULL;
	struct mashd_seal_job job;

	caller = pthread_self();
	atomic_store(&calls, 0);
	atomic_store(&off_caller, 0);
	ck_assert_int_eq(mashd_seal_pool_new(fake_seal, NULL, &p), MASH_OK);
	mashd_seal_pool_run(p, NULL, 0);
	mashd_seal_pool_run(p, &job, 0);
	ck_assert_int_eq(atomic_load(&calls), 0);
	memset(&job, 0, sizeof(job));
	job.recipient = "sw.sam";
	job.payload_type = "mash.v1.SharedRecord";
	job.payload = (const unsigned char *)"x";
	job.len = 1;
	mashd_seal_pool_run(p, &job, 1);
	ck_assert_int_eq(atomic_load(&calls), 1);
	ck_assert_int_eq(atomic_load(&off_caller), 0);
	ck_assert_int_eq(job.rc, MASH_OK);
	mash_free(job.env);
	mashd_seal_pool_free(p);
	mashd_seal_pool_free(NULL);
	ck_assert_int_eq(mashd_seal_pool_new(NULL, NULL, &p), MASH_ERR_INVAL);
	ck_assert_ptr_null(p);
}
END_TEST

static int
fast_seal(void *ctx, const struct mash_seal_to *eph, const char *recipient,
          const char *type, const unsigned char *payload, size_t len,
          unsigned char **env, size_t *env_len)
{
	(void)ctx;
	(void)eph;
	(void)recipient;
	(void)type;
	(void)payload;
	(void)len;
	atomic_fetch_add(&calls, 1);
	*env = mash_malloc(1);
	if (*env == NULL)
		return MASH_ERR_NOMEM;
	**env = 'x';
	*env_len = 1;
	return MASH_OK;
}

/* Small, fast batches: the caller often takes every job before the
 * worker wakes and withdraws the batch; a worker waking late must find
 * nothing of it, and a batch it did pick up must be finished before the
 * caller returns. Every job sealed exactly once, across the races. */
START_TEST(small_fast_batches_are_sealed_once_whoever_takes_them)
{
	struct mashd_seal_pool *p = NULL;
	struct mashd_seal_job jobs[3];
	int round, i, n;

	ck_assert_int_eq(mashd_seal_pool_new(fast_seal, NULL, &p), MASH_OK);
	atomic_store(&calls, 0);
	for (round = 0; round < 5000; round++) {
		n = 2 + round % 2;
		memset(jobs, 0, sizeof(jobs));
		for (i = 0; i < n; i++) {
			jobs[i].recipient = "p";
			jobs[i].payload_type = "t";
			jobs[i].rc = -1;
		}
		mashd_seal_pool_run(p, jobs, (size_t)n);
		for (i = 0; i < n; i++) {
			ck_assert_int_eq(jobs[i].rc, MASH_OK);
			ck_assert_uint_eq(jobs[i].env_len, 1);
			mash_free(jobs[i].env);
		}
		ck_assert_int_eq(atomic_load(&calls),
		                 5 * (round / 2) + (round % 2 ? 5 : 2));
	}
	mashd_seal_pool_free(p);
}
END_TEST

static Suite *
pool_suite(void)
{
	Suite *s = suite_create("seal_pool");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_job_sealed_once_in_its_slot_on_both_threads);
	tcase_add_test(tc,
	               one_job_runs_on_the_caller_and_empty_batches_do_nothing);
	tcase_add_test(tc,
	               small_fast_batches_are_sealed_once_whoever_takes_them);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pool_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
