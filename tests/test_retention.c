/*
 * test_retention.c - quarantine retention (daemon/retention.h, issue 28):
 * what is older than the cut-off goes, in batches, each batch one PURGE
 * audit record saying how many and which ids; what is newer stays; a purge
 * with nothing due writes nothing; the audit trail still verifies.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/aud.h"
#include "audit/verify.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "daemon/retention.h"
#include "store/store.h"
#include "support/store_sql.h"

static char dir[64], path[128];
static struct mash_store *st;
static struct mash_aud *aud;
static int64_t now = 1800000000000LL;
static struct mash_clock clk;

static void
setup(void)
{
	mash_log_set_level(MASH_LOG_ERROR);
	(void)snprintf(dir, sizeof(dir), "/tmp/test_retention_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/mash.db", dir);
	mash_clock_manual(&clk, &now);
	ck_assert_int_eq(mash_store_open(path, &st), MASH_OK);
	ck_assert_int_eq(mash_aud_open(st, &clk, NULL, &aud), MASH_OK);
}

static void
teardown(void)
{
	char cmd[128];

	mash_aud_free(aud);
	mash_store_close(st);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static void
quarantine(int64_t at, size_t n)
{
	struct mash_store_quarantine q = {
	    .topic = "mash/v1/events/police",
	    .err = MASH_ERR_DECODE,
	    .reason = "not a signed envelope",
	    .bytes = (const unsigned char *)"xx",
	    .len = 2,
	};
	size_t i;

	q.received_at = at;
	ck_assert_int_eq(mash_store_begin(st), MASH_OK);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(mash_store_quarantine_add(st, &q, NULL),
		                 MASH_OK);
	ck_assert_int_eq(mash_store_commit(st), MASH_OK);
}

static int64_t
num(const char *sql)
{
	int64_t v = -1;

	ck_assert_int_eq(mash_test_sql_i64(st, sql, &v), 1);
	return v;
}

START_TEST(old_messages_go_in_audited_batches_and_new_ones_stay)
{
	size_t n = 0;

	quarantine(now - 40 * 86400000LL, MASHD_PURGE_BATCH + 1);
	quarantine(now - 86400000LL, 2);
	ck_assert_int_eq(
	    mashd_quarantine_purge(st, aud, now - 30 * 86400000LL, "mashd", &n),
	    MASH_OK);
	ck_assert_uint_eq(n, MASHD_PURGE_BATCH + 1);
	ck_assert_int_eq(num("SELECT count(*) FROM quarantine"), 2);
	ck_assert_int_eq(num("SELECT count(*) FROM audit_log WHERE type ="
	                     " 'PURGE'"),
	                 2);
	ck_assert_int_eq(num("SELECT sum(json_extract(record,"
	                     " '$.extra.rows')) FROM audit_log WHERE type ="
	                     " 'PURGE'"),
	                 MASHD_PURGE_BATCH + 1);
	ck_assert_int_eq(num("SELECT json_extract(record, '$.extra.first_id')"
	                     " FROM audit_log WHERE type = 'PURGE' ORDER BY"
	                     " seq LIMIT 1"),
	                 1);
	ck_assert_int_eq(num("SELECT json_extract(record, '$.extra.last_id')"
	                     " FROM audit_log WHERE type = 'PURGE' ORDER BY"
	                     " seq DESC LIMIT 1"),
	                 MASHD_PURGE_BATCH + 1);
	/* Nothing due: nothing deleted, nothing recorded. */
	ck_assert_int_eq(
	    mashd_quarantine_purge(st, aud, now - 30 * 86400000LL, "mashd", &n),
	    MASH_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(num("SELECT count(*) FROM audit_log"), 2);
	{
		struct mash_aud_verify_result res;

		ck_assert_int_eq(mash_aud_verify(st, NULL, &res), MASH_OK);
	}
}
END_TEST

START_TEST(purge_refuses_bad_arguments)
{
	struct mash_store_purge p;

	ck_assert_int_eq(mashd_quarantine_purge(NULL, aud, now, "x", NULL),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_quarantine_purge(st, aud, now, NULL, NULL),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_quarantine_purge(st, now, 0, &p),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_quarantine_purge(st, now, 10001, &p),
	                 MASH_ERR_INVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("retention");
	TCase *tc = tcase_create("retention");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc,
	               old_messages_go_in_audited_batches_and_new_ones_stay);
	tcase_add_test(tc, purge_refuses_bad_arguments);
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
