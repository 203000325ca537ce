/*
 * test_aud_v2.c - audit record version 2 (issue 26): a DECISION record
 * names, per group of fields, the rule that shared or withheld them
 * ("by_rule"); a malformed group is refused; a log written with version 1
 * records (tests/data/audit-v1.sql, made by the code before version 2)
 * verifies with version 2 records appended after it; a version 1 record
 * carrying a version 2 key is named as altered.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "audit/aud.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/store.h"
#include "store/store_test.h"

static char tmpdir[128];
static struct mash_store *store;
static sqlite3 *db; /* store's connection */
static int64_t now_ms;
static struct mash_clock clk;

static const char *const shared_f[] = {"signpost", "category"};
static const char *const withheld_f[] = {"subject.nhs_number", "summary"};
static const char *const deny_f[] = {"detail.health.clinical_notes"};

static void
setup(void)
{
	char path[256];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_aud_v2.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/mash.db", tmpdir);
	ck_assert_int_eq(mash_store_open(path, &store), MASH_OK);
	db = mash_store_sqlite(store);
	now_ms = 1795000000000;
	mash_clock_manual(&clk, &now_ms);
}

static void
teardown(void)
{
	char cmd[256];

	mash_store_close(store);
	store = NULL;
	db = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "teardown: could not remove %s\n", tmpdir);
}

/* A DECISION with three groups: shared by one rule, withheld by another,
 * and the rest denied by default. */
static void
decision(struct mash_aud_record *r, struct mash_aud_rule_fields g[3])
{
	memset(r, 0, sizeof(*r));
	r->type = MASH_AUD_DECISION;
	r->actor = "mashd";
	r->case_id = "case-v2";
	r->agency = "health";
	r->event_id = "v2-event-1";
	r->recipient = "pp.police";
	r->purpose = "mash-triage";
	r->rule_id = "mash-triage";
	r->legal_basis = "Children Act 1989 s17";
	g[0] = (struct mash_aud_rule_fields){
	    "mash-triage", "Children Act 1989 s17", 1, shared_f, 2};
	g[1] = (struct mash_aud_rule_fields){"consent-refused-below-l3",
	                                     "Working Together 2013 ch.1", 0,
	                                     withheld_f, 2};
	g[2] =
	    (struct mash_aud_rule_fields){"default-deny", NULL, 0, deny_f, 1};
	r->by_rule = g;
	r->n_by_rule = 3;
}

START_TEST(decision_names_the_rule_that_shared_or_withheld_each_field)
{
	struct mash_aud_record r;
	struct mash_aud_rule_fields g[3];
	char *out = NULL;
	size_t len = 0;

	decision(&r, g);
	ck_assert_int_eq(mash_aud_encode(&r, 7, 5, &out, &len), MASH_OK);
	ck_assert_ptr_nonnull(strstr(out, "\"v\":2"));
	ck_assert_ptr_nonnull(strstr(
	    out, "\"by_rule\":[{\"basis\":\"Children Act 1989 s17\","
	         "\"decision\":\"shared\",\"fields\":[\"signpost\","
	         "\"category\"],\"rule\":\"mash-triage\"},"
	         "{\"basis\":\"Working Together 2013 ch.1\",\"decision\":"
	         "\"withheld\",\"fields\":[\"subject.nhs_number\","
	         "\"summary\"],\"rule\":\"consent-refused-below-l3\"},"
	         "{\"decision\":\"withheld\",\"fields\":["
	         "\"detail.health.clinical_notes\"],\"rule\":"
	         "\"default-deny\"}]"));
	mash_free(out);
}
END_TEST

/* A SHA-256 with a ten-digit run is a digest, not an NHS number: kept
 * whole (the default policy's hash came out masked in POLICY_LOAD); a
 * ten-digit number glued to a short word is still masked. */
START_TEST(a_digest_with_ten_digits_in_a_row_is_kept_whole)
{
	static const char sha[] = "2a8f3ca90c404f40e92f5b5f74df2e63a0cb64b0c0c4"
	                          "441692d7b9695816035e";
	struct mash_aud_record r;
	char *out = NULL, extra[128];
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	r.type = MASH_AUD_POLICY_LOAD;
	r.actor = "mashd";
	snprintf(extra, sizeof(extra), "{\"sha256\":\"%s\"}", sha);
	r.extra_json = extra;
	r.reason = "NHS9434765919 and 943 476 5919";
	ck_assert_int_eq(mash_aud_encode(&r, 1, 5, &out, &len), MASH_OK);
	ck_assert_ptr_nonnull(strstr(out, sha));
	ck_assert_ptr_null(strstr(out, "9434765919"));
	ck_assert_ptr_null(strstr(out, "943 476 5919"));
	mash_free(out);
}
END_TEST

START_TEST(a_group_without_a_rule_or_without_fields_is_refused)
{
	struct mash_aud_record r;
	struct mash_aud_rule_fields g[3];
	char *out = NULL;
	size_t len = 0;

	decision(&r, g);
	g[1].rule_id = "";
	ck_assert_int_eq(mash_aud_encode(&r, 7, 5, &out, &len), MASH_ERR_INVAL);
	ck_assert_ptr_null(out);
	decision(&r, g);
	g[2].n_fields = 0;
	ck_assert_int_eq(mash_aud_encode(&r, 7, 5, &out, &len), MASH_ERR_INVAL);
	decision(&r, g);
	r.by_rule = NULL; /* a count without the groups */
	ck_assert_int_eq(mash_aud_encode(&r, 7, 5, &out, &len), MASH_ERR_INVAL);
	/* A ten-digit number in a rule's basis is masked like any other. */
	decision(&r, g);
	g[0].legal_basis = "ref 9434765919";
	ck_assert_int_eq(mash_aud_encode(&r, 7, 5, &out, &len), MASH_OK);
	ck_assert_ptr_null(strstr(out, "9434765919"));
	mash_free(out);
}
END_TEST

static void
load_v1_log(void)
{
	const char *src = getenv("MASH_SOURCE_DIR");
	char path[512], *sql, *err = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/data/audit-v1.sql",
	         src != NULL ? src : ".");
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	sql = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(sql);
	ck_assert_uint_eq(fread(sql, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK,
	              "%s", err ? err : "");
	free(sql);
}

START_TEST(version_1_and_version_2_records_verify_alike)
{
	struct mash_aud *aud = NULL;
	struct mash_aud_record r;
	struct mash_aud_rule_fields g[3];
	struct mash_aud_verify_result res;
	sqlite3_stmt *st = NULL;
	uint64_t seq = 0;

	load_v1_log();
	ck_assert_int_eq(mash_aud_verify(store, NULL, &res), MASH_OK);
	ck_assert_uint_eq(res.records, 6);
	/* The daemon of version 2 appends to the same log. */
	ck_assert_int_eq(mash_aud_open(store, &clk, NULL, &aud), MASH_OK);
	decision(&r, g);
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_uint_eq(seq, 7);
	mash_aud_free(aud);
	ck_assert_int_eq(mash_aud_verify(store, NULL, &res), MASH_OK);
	ck_assert_msg(res.records == 7, "%s", res.why);
	ck_assert_uint_eq(res.tree_size, 7);
	/* Each record keeps the version it was written with. */
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db,
	                       "SELECT json_extract(record, '$.v') FROM"
	                       " audit_log ORDER BY seq",
	                       -1, &st, NULL),
	    SQLITE_OK);
	for (int i = 1; i <= 7; i++) {
		ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
		ck_assert_int_eq(sqlite3_column_int(st, 0), i <= 6 ? 1 : 2);
	}
	sqlite3_finalize(st);
}
END_TEST

/* Recompute record seq's stored leaf hash from its bytes, as an attacker
 * who knows the format would. */
static void
rehash(int seq)
{
	unsigned char leaf[MASH_MERKLE_HASH_LEN];
	sqlite3_stmt *st = NULL;

	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "SELECT record FROM audit_log"
	                                    " WHERE seq = ?1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_int(st, 1, seq);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(
	    mash_merkle_leaf_hash(sqlite3_column_blob(st, 0),
	                          (size_t)sqlite3_column_bytes(st, 0), leaf),
	    MASH_OK);
	sqlite3_finalize(st);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "UPDATE audit_log SET leaf_hash ="
	                                    " ?1 WHERE seq = ?2",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_blob(st, 1, leaf, sizeof(leaf), SQLITE_STATIC);
	sqlite3_bind_int(st, 2, seq);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

START_TEST(a_version_1_record_with_by_rule_is_named_as_altered)
{
	struct mash_aud_verify_result res;
	char *err = NULL;

	load_v1_log();
	/* Still canonical (sorted keys), and the leaf hash recomputed:
	 * only the version check can tell, here without a checkpoint. */
	ck_assert_int_eq(
	    sqlite3_exec(db,
	                 "UPDATE audit_log SET record = replace(record,"
	                 " '\"case_id\":', '\"by_rule\":[],\"case_id\":')"
	                 " WHERE seq = 2",
	                 NULL, NULL, &err),
	    SQLITE_OK);
	rehash(2);
	ck_assert_int_eq(mash_aud_verify(store, NULL, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 2);
	ck_assert_str_eq(res.why,
	                 "seq 2: version 1 record with by_rule (altered)");
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("aud_v2");
	TCase *tc = tcase_create("v2");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(
	    tc, decision_names_the_rule_that_shared_or_withheld_each_field);
	tcase_add_test(tc, a_group_without_a_rule_or_without_fields_is_refused);
	tcase_add_test(tc, a_digest_with_ten_digits_in_a_row_is_kept_whole);
	tcase_add_test(tc, version_1_and_version_2_records_verify_alike);
	tcase_add_test(tc, a_version_1_record_with_by_rule_is_named_as_altered);
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
