/*
 * test_seal_defer.c - daemon/seal_defer.h against a real SQLite store
 * (issue 32): queued deliveries are sealed by the worker while the caller
 * goes on, and their outbox rows are added in queue order, each naming
 * its audit record, inside the caller's transaction; the payloads pass
 * to the queue; an event rolled back to its mark takes its deliveries
 * with it, sealed or not; a failed seal fails the flush, which still
 * empties the queue (the caller rolls back); a full queue takes nothing;
 * bad arguments are refused.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "daemon/seal_defer.h"
#include "store/store.h"
#include "support/broker.h"

#define TYPE  "mash.v1.SharedRecord"
#define INBOX "mash/v1/inbox/"

static struct {
	char *dir;
	struct mash_store *st;
	struct mashd_sdq *q;
	pthread_t caller;
	pthread_mutex_t mu;
	size_t sealed, off_caller;
} fx;

/* "env:<recipient>:<payload>"; the recipient "bad" cannot be sealed. */
static int
fake_seal(void *ctx, const struct mash_seal_to *to, const char *recipient,
          const char *payload_type, const unsigned char *payload, size_t len,
          unsigned char **env, size_t *env_len)
{
	size_t n;

	(void)ctx;
	(void)to;
	ck_assert_str_eq(payload_type, TYPE);
	pthread_mutex_lock(&fx.mu);
	fx.sealed++;
	if (!pthread_equal(pthread_self(), fx.caller))
		fx.off_caller++;
	pthread_mutex_unlock(&fx.mu);
	if (strcmp(recipient, "bad") == 0)
		return MASH_ERR_CRYPTO;
	n = strlen(recipient) + len + 5;
	*env = mash_malloc(n);
	ck_assert_ptr_nonnull(*env);
	memcpy(*env, "env:", 4);
	memcpy(*env + 4, recipient, strlen(recipient));
	(*env)[4 + strlen(recipient)] = ':';
	memcpy(*env + 5 + strlen(recipient), payload, len);
	*env_len = n;
	return MASH_OK;
}

/* Queue n deliveries of event ev ("e<ev>") to r0, r1, ... with audit
 * seqs ev * 100 + i. */
static int
queue_event(int ev, size_t n, const char *only_to)
{
	struct mashd_seal_job jobs[8];
	char rcpt[8][16];
	char body[32];
	size_t i;
	int rc;

	ck_assert_uint_le(n, 8);
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < n; i++) {
		snprintf(rcpt[i], sizeof(rcpt[i]), "%s",
		         only_to != NULL ? only_to : "r");
		if (only_to == NULL)
			snprintf(rcpt[i], sizeof(rcpt[i]), "r%zu", i);
		snprintf(body, sizeof(body), "e%d", ev);
		jobs[i].recipient = rcpt[i];
		jobs[i].payload_type = TYPE;
		jobs[i].len = strlen(body);
		jobs[i].payload = (unsigned char *)mash_strdup(body);
		jobs[i].audit_seq = ev * 100 + (int64_t)i;
	}
	rc = mashd_sdq_add(fx.q, jobs, n);
	for (i = 0; i < n; i++) {
		if (rc == MASH_OK)
			ck_assert_ptr_null(jobs[i].payload); /* the queue's */
		mash_free((void *)jobs[i].payload);
	}
	return rc;
}

/* The outbox rows, "seq topic env" each, in id order. */
static void
outbox_is(const char *const *want, size_t n)
{
	struct mash_store_outbox_list *l = NULL;
	char got[512];
	size_t i;

	ck_assert_int_eq(mash_store_outbox_pending(fx.st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, n);
	for (i = 0; i < n; i++) {
		snprintf(got, sizeof(got), "%lld %s %.*s",
		         (long long)l->v[i].audit_seq, l->v[i].topic,
		         (int)l->v[i].len, (const char *)l->v[i].bytes);
		ck_assert_str_eq(got, want[i]);
	}
	mash_store_outbox_list_free(l);
}

static void
wait_sealed(size_t n)
{
	int i;

	for (i = 0; i < 10000; i++) {
		pthread_mutex_lock(&fx.mu);
		if (fx.sealed >= n) {
			pthread_mutex_unlock(&fx.mu);
			return;
		}
		pthread_mutex_unlock(&fx.mu);
		usleep(1000);
	}
	ck_abort_msg("the worker never sealed %zu", n);
}

static void
setup(void)
{
	char db[300];

	memset(&fx, 0, sizeof(fx));
	pthread_mutex_init(&fx.mu, NULL);
	fx.caller = pthread_self();
	fx.dir = mash_test_mkdtemp("sdq");
	ck_assert_ptr_nonnull(fx.dir);
	snprintf(db, sizeof(db), "%s/mash.db", fx.dir);
	ck_assert_int_eq(mash_store_open(db, &fx.st), MASH_OK);
	ck_assert_int_eq(mashd_sdq_new(fake_seal, NULL, &fx.q), MASH_OK);
}

static void
teardown(void)
{
	mashd_sdq_free(fx.q);
	mash_store_close(fx.st);
	mash_test_rmrf(fx.dir);
	free(fx.dir);
	pthread_mutex_destroy(&fx.mu);
}

START_TEST(queued_deliveries_are_sealed_beside_the_caller_and_added_in_order)
{
	static const char *const want[] = {
	    "100 " INBOX "r0 env:r0:e1", "101 " INBOX "r1 env:r1:e1",
	    "102 " INBOX "r2 env:r2:e1", "200 " INBOX "r0 env:r0:e2",
	    "201 " INBOX "r1 env:r1:e2",
	};
	size_t rows = 99;

	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(queue_event(1, 3, NULL), MASH_OK);
	ck_assert_int_eq(queue_event(2, 2, NULL), MASH_OK);
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), 5);
	wait_sealed(5); /* the caller did not wait for them */
	ck_assert_uint_eq(fx.off_caller, 5);
	outbox_is(NULL, 0); /* nothing in the outbox before the flush */
	ck_assert_int_eq(mashd_sdq_flush(fx.q, fx.st, &rows), MASH_OK);
	ck_assert_uint_eq(rows, 5);
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), 0);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	outbox_is(want, 5);
	/* An empty queue flushes to nothing. */
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(mashd_sdq_flush(fx.q, fx.st, &rows), MASH_OK);
	ck_assert_uint_eq(rows, 0);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
}
END_TEST

START_TEST(an_event_rolled_back_takes_its_queued_deliveries_with_it)
{
	static const char *const want[] = {
	    "100 " INBOX "r0 env:r0:e1",
	    "101 " INBOX "r1 env:r1:e1",
	    "300 " INBOX "r0 env:r0:e3",
	};
	size_t mark;

	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(queue_event(1, 2, NULL), MASH_OK);
	mark = mashd_sdq_mark(fx.q);
	ck_assert_int_eq(queue_event(2, 4, NULL), MASH_OK);
	wait_sealed(4); /* some of event 2 sealed: dropped all the same */
	mashd_sdq_drop_from(fx.q, mark);
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), 2);
	mashd_sdq_drop_from(fx.q, 7); /* past the end: nothing */
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), 2);
	ck_assert_int_eq(queue_event(3, 1, NULL), MASH_OK);
	ck_assert_int_eq(mashd_sdq_flush(fx.q, fx.st, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	outbox_is(want, 3);
}
END_TEST

START_TEST(a_failed_seal_fails_the_flush_and_still_empties_the_queue)
{
	static const char *const want[] = {"500 " INBOX "r0 env:r0:e5"};

	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(queue_event(3, 2, NULL), MASH_OK);
	ck_assert_int_eq(queue_event(4, 1, "bad"), MASH_OK);
	ck_assert_int_eq(mashd_sdq_flush(fx.q, fx.st, NULL), MASH_ERR_CRYPTO);
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), 0);
	ck_assert_int_eq(mash_store_rollback(fx.st), MASH_OK);
	outbox_is(NULL, 0);
	/* The next batch is not affected. */
	ck_assert_int_eq(mash_store_begin(fx.st), MASH_OK);
	ck_assert_int_eq(queue_event(5, 1, NULL), MASH_OK);
	ck_assert_int_eq(mashd_sdq_flush(fx.q, fx.st, NULL), MASH_OK);
	ck_assert_int_eq(mash_store_commit(fx.st), MASH_OK);
	outbox_is(want, 1);
}
END_TEST

START_TEST(a_full_queue_takes_nothing_and_bad_arguments_are_refused)
{
	size_t max = (size_t)MASHD_SDQ_CHUNK * MASHD_SDQ_CHUNKS, i;
	struct mashd_seal_job job;
	char long_name[200];

	for (i = 0; i < max / 8; i++)
		ck_assert_int_eq(queue_event((int)i, 8, NULL), MASH_OK);
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), max);
	ck_assert_int_eq(queue_event(1, 1, NULL), MASH_ERR_TOO_BIG);
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), max);
	mashd_sdq_drop_from(fx.q, 0);
	ck_assert_uint_eq(mashd_sdq_mark(fx.q), 0);
	memset(&job, 0, sizeof(job));
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	job.recipient = long_name;
	job.payload_type = TYPE;
	ck_assert_int_eq(mashd_sdq_add(fx.q, &job, 1), MASH_ERR_FIELD_TOO_LONG);
	ck_assert_int_eq(mashd_sdq_add(NULL, &job, 1), MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_sdq_add(fx.q, NULL, 1), MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_sdq_flush(NULL, fx.st, NULL), MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_sdq_flush(fx.q, NULL, NULL), MASH_ERR_INVAL);
	ck_assert_uint_eq(mashd_sdq_mark(NULL), 0);
	mashd_sdq_drop_from(NULL, 0);
	ck_assert_int_eq(mashd_sdq_new(NULL, NULL, &fx.q), MASH_ERR_INVAL);
	ck_assert_ptr_null(fx.q);
	ck_assert_int_eq(mashd_sdq_new(fake_seal, NULL, NULL), MASH_ERR_INVAL);
	/* A queue freed with jobs still queued wipes them (ASan: no leak). */
	ck_assert_int_eq(mashd_sdq_new(fake_seal, NULL, &fx.q), MASH_OK);
	ck_assert_int_eq(queue_event(6, 3, NULL), MASH_OK);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("seal_defer");
	TCase *tc = tcase_create("queue");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(
	    tc,
	    queued_deliveries_are_sealed_beside_the_caller_and_added_in_order);
	tcase_add_test(
	    tc, an_event_rolled_back_takes_its_queued_deliveries_with_it);
	tcase_add_test(
	    tc, a_failed_seal_fails_the_flush_and_still_empties_the_queue);
	tcase_add_test(
	    tc, a_full_queue_takes_nothing_and_bad_arguments_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
