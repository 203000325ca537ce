#define _GNU_SOURCE /* memmem */
/*
 * test_store_atrest.c - the store encrypted at rest (issue 28, part 1):
 * with a key, a child's story (events' envelope and payload, quarantined
 * bytes) is nowhere in the file or its WAL, yet reads back; a store written
 * in clear is sealed in place on its first unlock; without the key or with
 * another one nothing is read or written; a sealed value moved to another
 * row does not open.
 */
#include <check.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "crypto/atrest.h"
#include "store/store.h"
#include "support/broker.h"
#include "support/store_sql.h"

#define STORY  "Jordan Reed was missing overnight; found at 0400"
#define ENVSTR "envelope signed by police for Jordan Reed"
#define RAW    "raw bytes naming Jordan Reed, rejected"

static char dir[64], path[128];
static uint8_t kek[MASH_ATREST_KEK_LEN], other_kek[MASH_ATREST_KEK_LEN];
static struct mash_store *st;

static void
setup(void)
{
	mash_log_set_level(MASH_LOG_ERROR);
	(void)snprintf(dir, sizeof(dir), "/tmp/test_store_atrest_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/mash.db", dir);
	memset(kek, 0x5a, sizeof(kek));
	memset(other_kek, 0xa5, sizeof(other_kek));
	st = NULL;
	ck_assert_int_eq(mash_store_open(path, &st), MASH_OK);
}

static void
teardown(void)
{
	char cmd[128];

	mash_store_close(st);
	st = NULL;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static void
reopen(void)
{
	mash_store_close(st);
	st = NULL;
	ck_assert_int_eq(mash_store_open(path, &st), MASH_OK);
}

/* An event of agency/id about a new case, in its own transaction. */
static int
add_event(const char *agency, const char *id)
{
	struct mash_store_subject s = {.nhs_number = "9434765919",
	                               .given_name = "Jordan",
	                               .family_name = "Reed",
	                               .date_of_birth = "2011-05-14"};
	struct mash_store_event ev;
	char case_id[MASH_STORE_CASE_ID_SIZE];
	int is_new, rc;

	ck_assert_int_eq(mash_store_begin(st), MASH_OK);
	rc = mash_store_case_link(st, &s, case_id, &is_new);
	if (rc != MASH_OK) {
		ck_assert_int_eq(mash_store_rollback(st), MASH_OK);
		return rc;
	}
	memset(&ev, 0, sizeof(ev));
	ev.case_id = case_id;
	ev.agency = agency;
	ev.event_id = id;
	ev.category = 6;
	ev.severity = 2;
	ev.consent = 1;
	ev.occurred_at = 1790000000000;
	ev.recorded_at = ev.occurred_at;
	ev.received_at = ev.occurred_at;
	ev.envelope = (const unsigned char *)ENVSTR;
	ev.envelope_len = strlen(ENVSTR);
	ev.payload = (const unsigned char *)STORY;
	ev.payload_len = strlen(STORY);
	rc = mash_store_event_insert(st, &ev, NULL);
	if (rc == MASH_OK)
		ck_assert_int_eq(mash_store_commit(st), MASH_OK);
	else
		ck_assert_int_eq(mash_store_rollback(st), MASH_OK);
	return rc;
}

static int
add_quarantined(void)
{
	struct mash_store_quarantine q = {
	    .topic = "mash/v1/events/police",
	    .received_at = 1790000000123,
	    .err = MASH_ERR_DECODE,
	    .reason = "not a signed envelope",
	    .bytes = (const unsigned char *)RAW,
	    .len = strlen(RAW),
	};

	return mash_store_quarantine_add(st, &q, NULL);
}

/* Is needle anywhere in the file at p (absent file: no)? */
static int
file_has(const char *p, const char *needle)
{
	FILE *f = fopen(p, "rb");
	char *buf;
	long n;
	int found;

	if (f == NULL)
		return 0;
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	found = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

/* Is needle in the store file or its WAL? */
static int
store_files_have(const char *needle)
{
	char wal[160];

	(void)snprintf(wal, sizeof(wal), "%s-wal", path);
	return file_has(path, needle) || file_has(wal, needle);
}

#define INBOX "mash/v1/inbox/housing.officer1"
#define HELD  "mash.v1.SharedRecord"

/* A delivery held for a recipient without an encryption key. */
static int
add_held(void)
{
	int rc;

	ck_assert_int_eq(mash_store_begin(st), MASH_OK);
	rc = mash_store_outbox_hold(
	    st, INBOX, HELD, (const unsigned char *)STORY, strlen(STORY), NULL);
	ck_assert_int_eq(mash_store_commit(st), MASH_OK);
	return rc;
}

static void
assert_held_reads_back(void)
{
	struct mash_store_outbox_list *l = NULL;

	ck_assert_int_eq(mash_store_outbox_held(st, 0, 0, &l), MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_str_eq(l->v[0].held_type, HELD);
	ck_assert_uint_eq(l->v[0].len, strlen(STORY));
	ck_assert_mem_eq(l->v[0].bytes, STORY, l->v[0].len);
	mash_store_outbox_list_free(l);
}

static void
assert_reads_back(const char *agency, const char *id)
{
	struct mash_store_event_row *r = NULL;

	ck_assert_int_eq(mash_store_event_get(st, agency, id, &r), MASH_OK);
	ck_assert_uint_eq(r->payload_len, strlen(STORY));
	ck_assert_mem_eq(r->payload, STORY, r->payload_len);
	ck_assert_uint_eq(r->envelope_len, strlen(ENVSTR));
	ck_assert_mem_eq(r->envelope, ENVSTR, r->envelope_len);
	mash_store_event_row_free(r);
}

static void
assert_quarantine_reads_back(void)
{
	struct mash_store_quarantine_list *l = NULL;

	ck_assert_int_eq(mash_store_quarantine_list(st, NULL, 0, 0, &l),
	                 MASH_OK);
	ck_assert_uint_eq(l->n, 1);
	ck_assert_uint_eq(l->v[0].len, strlen(RAW));
	ck_assert_mem_eq(l->v[0].bytes, RAW, l->v[0].len);
	mash_store_quarantine_list_free(l);
}

START_TEST(sealed_store_has_no_story_on_disk_and_reads_it_back)
{
	ck_assert_int_eq(mash_store_is_sealed(st), 0);
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	ck_assert_int_eq(mash_store_is_sealed(st), 1);
	ck_assert_int_eq(add_event("police", "E-1"), MASH_OK);
	ck_assert_int_eq(add_quarantined(), MASH_OK);
	ck_assert_int_eq(add_held(), MASH_OK);
	assert_reads_back("police", "E-1");
	assert_quarantine_reads_back();
	assert_held_reads_back();
	ck_assert_int_eq(store_files_have("missing overnight"), 0);
	ck_assert_int_eq(store_files_have("signed by police"), 0);
	ck_assert_int_eq(store_files_have("rejected"), 0);
	/* The same file, the same key file, another process. */
	reopen();
	ck_assert_int_eq(mash_store_is_sealed(st), 1);
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	assert_reads_back("police", "E-1");
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_ERR_STATE);
}
END_TEST

START_TEST(first_unlock_seals_what_was_written_in_clear)
{
	int64_t n = -1;

	ck_assert_int_eq(add_event("police", "E-1"), MASH_OK);
	ck_assert_int_eq(add_event("health", "H-1"), MASH_OK);
	ck_assert_int_eq(add_quarantined(), MASH_OK);
	ck_assert_int_eq(add_held(), MASH_OK);
	ck_assert_int_eq(
	    mash_test_sql_i64(st,
	                      "SELECT count(*) FROM events WHERE"
	                      " instr(payload, 'missing overnight') > 0",
	                      &n),
	    1);
	ck_assert_int_eq(n, 2); /* the test sees what it then sees gone */
	reopen();
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	ck_assert_int_eq(
	    mash_test_sql_i64(st,
	                      "SELECT count(*) FROM events WHERE"
	                      " instr(payload, 'missing overnight') > 0"
	                      " OR instr(envelope, 'signed by') > 0",
	                      &n),
	    1);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_files_have("missing overnight"), 0);
	ck_assert_int_eq(store_files_have("rejected"), 0);
	assert_reads_back("police", "E-1");
	assert_reads_back("health", "H-1");
	assert_quarantine_reads_back();
	assert_held_reads_back();
}
END_TEST

/* A reader holding a snapshot from before the migration keeps the clear
 * pages in the database file (the checkpoint cannot copy the sealed ones
 * over them): the unlock still succeeds and says so; once the reader lets
 * go, the next checkpoint (here the close) removes them. */
START_TEST(a_reader_that_keeps_clear_pages_on_disk_is_reported)
{
	sqlite3 *rd = NULL;
	char logp[160], *log;
	int fd, saved, rc;

	ck_assert_int_eq(add_event("police", "E-1"), MASH_OK);
	reopen();
	ck_assert_int_eq(sqlite3_open(path, &rd), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM events;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	(void)snprintf(logp, sizeof(logp), "%s/stderr.log", dir);
	(void)fflush(stderr);
	saved = dup(2);
	fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, 2), 0);
	close(fd);
	mash_log_set_level(MASH_LOG_WARN);
	rc = mash_store_unlock(st, kek);
	mash_log_set_level(MASH_LOG_ERROR);
	(void)fflush(stderr);
	ck_assert_int_ge(dup2(saved, 2), 0);
	close(saved);
	ck_assert_int_eq(rc, MASH_OK);
	log = mash_test_read_file(logp, 1u << 16, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_msg(strstr(log, "pages written in clear before encryption "
	                          "stay in the database file") != NULL,
	              "%s", log);
	free(log);
	ck_assert_int_eq(file_has(path, "missing overnight"), 1);
	ck_assert_int_eq(sqlite3_exec(rd, "COMMIT;", NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(rd);
	reopen();
	ck_assert_int_eq(store_files_have("missing overnight"), 0);
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	assert_reads_back("police", "E-1");
}
END_TEST

START_TEST(without_the_key_or_with_another_nothing_is_read_or_written)
{
	struct mash_store_event_row *r = NULL;
	struct mash_store_quarantine_list *l = NULL;

	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	ck_assert_int_eq(add_event("police", "E-1"), MASH_OK);
	reopen();
	ck_assert_int_eq(mash_store_unlock(st, other_kek), MASH_ERR_DECRYPT);
	ck_assert_int_eq(mash_store_event_get(st, "police", "E-1", &r),
	                 MASH_ERR_DENIED);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(add_event("police", "E-2"), MASH_ERR_DENIED);
	ck_assert_int_eq(add_quarantined(), MASH_ERR_DENIED);
	ck_assert_int_eq(mash_store_quarantine_list(st, NULL, 0, 0, &l),
	                 MASH_OK); /* empty: nothing was kept */
	ck_assert_uint_eq(l->n, 0);
	mash_store_quarantine_list_free(l);
	/* The right key still opens it: nothing was changed. */
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	assert_reads_back("police", "E-1");
	ck_assert_int_eq(mash_store_event_get(st, "police", "E-2", &r),
	                 MASH_ERR_NOT_FOUND);
}
END_TEST

START_TEST(sealed_value_moved_to_another_row_is_tampering)
{
	struct mash_store_event_row *r = NULL;

	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	ck_assert_int_eq(add_event("police", "E-1"), MASH_OK);
	ck_assert_int_eq(add_event("police", "E-2"), MASH_OK);
	ck_assert_int_eq(
	    mash_test_sql_exec(st, "UPDATE events SET payload = (SELECT"
	                           " payload FROM events WHERE event_id ="
	                           " 'E-1') WHERE event_id = 'E-2'"),
	    MASH_OK);
	ck_assert_int_eq(mash_store_event_get(st, "police", "E-2", &r),
	                 MASH_ERR_TAMPERED);
	ck_assert_ptr_null(r);
	assert_reads_back("police", "E-1");
}
END_TEST

/* Link s in its own transaction. */
static int
link_subject(const struct mash_store_subject *s,
             char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new)
{
	int rc;

	ck_assert_int_eq(mash_store_begin(st), MASH_OK);
	rc = mash_store_case_link(st, s, case_id, is_new);
	ck_assert_int_eq(mash_store_commit(st), MASH_OK);
	return rc;
}

static void
assert_identity(const char *case_id, const char *postcode, const char *sex)
{
	struct mash_store_case *c = NULL;

	ck_assert_int_eq(mash_store_case_get(st, case_id, &c), MASH_OK);
	ck_assert_str_eq(c->nhs_number, "9434765919");
	ck_assert_str_eq(c->given_name, "Jordan");
	ck_assert_str_eq(c->family_name, "Reed");
	ck_assert_str_eq(c->date_of_birth, "2011-05-14");
	if (postcode == NULL)
		ck_assert_ptr_null(c->postcode);
	else
		ck_assert_str_eq(c->postcode, postcode);
	if (sex == NULL)
		ck_assert_ptr_null(c->sex);
	else
		ck_assert_str_eq(c->sex, sex);
	mash_store_case_free(c);
}

static void
assert_no_identity_on_disk(void)
{
	ck_assert_int_eq(store_files_have("Jordan"), 0);
	ck_assert_int_eq(store_files_have("Reed"), 0);
	ck_assert_int_eq(store_files_have("REED"), 0);
	ck_assert_int_eq(store_files_have("9434765919"), 0);
	ck_assert_int_eq(store_files_have("2011-05-14"), 0);
	ck_assert_int_eq(store_files_have("NE61"), 0);
}

/* Linkage runs on keyed MACs (NHS number; family name, date of birth and
 * postcode) and still finds the same child; the identity is read back
 * whole, learns what a later record adds, and is nowhere on disk. */
START_TEST(sealed_store_links_by_mac_and_keeps_identity_sealed)
{
	struct mash_store_subject full = {.nhs_number = "943 476 5919",
	                                  .given_name = "Jordan",
	                                  .family_name = "Reed",
	                                  .date_of_birth = "2011-05-14"};
	struct mash_store_subject demo = {.given_name = "Jordan",
	                                  .family_name = "REED",
	                                  .date_of_birth = "2011-05-14",
	                                  .postcode = "ne61 1aa",
	                                  .sex = "M"};
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	int is_new = -1;

	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	ck_assert_int_eq(link_subject(&full, c1, &is_new), MASH_OK);
	ck_assert_int_eq(is_new, 1);
	assert_identity(c1, NULL, NULL);
	/* The same NHS number: the same case, which learns the postcode. */
	full.postcode = "NE61 1AA";
	ck_assert_int_eq(link_subject(&full, c2, &is_new), MASH_OK);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c1, c2);
	assert_identity(c1, "NE61 1AA", NULL);
	/* No NHS number: normalised family name, date of birth and postcode
	 * match through their MACs; the case learns the sex. */
	ck_assert_int_eq(link_subject(&demo, c2, &is_new), MASH_OK);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c1, c2);
	assert_identity(c1, "NE61 1AA", "M");
	ck_assert_int_eq(mash_store_case_find_nhs(st, "9434765919", c2),
	                 MASH_OK);
	ck_assert_str_eq(c1, c2);
	assert_no_identity_on_disk();
	/* Without the key: nothing about who the case is. */
	reopen();
	{
		struct mash_store_case *c = NULL;

		ck_assert_int_eq(mash_store_case_get(st, c1, &c),
		                 MASH_ERR_DENIED);
		ck_assert_ptr_null(c);
		ck_assert_int_eq(mash_store_case_find_nhs(st, "9434765919", c2),
		                 MASH_ERR_DENIED);
		ck_assert_int_eq(link_subject(&full, c2, &is_new),
		                 MASH_ERR_DENIED);
	}
}
END_TEST

/* A clear store's cases are sealed on the first unlock, and records
 * that arrive afterwards still link to them. */
START_TEST(first_unlock_seals_cases_and_linkage_continues)
{
	struct mash_store_subject full = {.nhs_number = "9434765919",
	                                  .given_name = "Jordan",
	                                  .family_name = "Reed",
	                                  .date_of_birth = "2011-05-14",
	                                  .postcode = "NE61 1AA",
	                                  .sex = "M"};
	struct mash_store_subject demo = full;
	char c1[MASH_STORE_CASE_ID_SIZE], c2[MASH_STORE_CASE_ID_SIZE];
	int is_new = -1;

	ck_assert_int_eq(link_subject(&full, c1, &is_new), MASH_OK);
	ck_assert_int_eq(store_files_have("Jordan"), 1); /* before: in clear */
	reopen();
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	assert_identity(c1, "NE61 1AA", "M");
	assert_no_identity_on_disk();
	ck_assert_int_eq(link_subject(&full, c2, &is_new), MASH_OK);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c1, c2);
	demo.nhs_number = NULL;
	ck_assert_int_eq(link_subject(&demo, c2, &is_new), MASH_OK);
	ck_assert_int_eq(is_new, 0);
	ck_assert_str_eq(c1, c2);
}
END_TEST

/* Rotation re-wraps the keys: afterwards only the new key file opens the
 * store, and every sealed value still reads back. */
START_TEST(rekey_moves_the_store_to_the_new_key)
{
	ck_assert_int_eq(mash_store_rekey(st, other_kek), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	ck_assert_int_eq(add_event("police", "E-1"), MASH_OK);
	ck_assert_int_eq(mash_store_rekey(st, other_kek), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_begin(st), MASH_OK);
	ck_assert_int_eq(mash_store_rekey(st, other_kek), MASH_OK);
	ck_assert_int_eq(mash_store_rollback(st), MASH_OK);
	reopen(); /* rolled back: still the old key */
	ck_assert_int_eq(mash_store_unlock(st, other_kek), MASH_ERR_DECRYPT);
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_OK);
	ck_assert_int_eq(mash_store_begin(st), MASH_OK);
	ck_assert_int_eq(mash_store_rekey(st, other_kek), MASH_OK);
	ck_assert_int_eq(mash_store_commit(st), MASH_OK);
	assert_reads_back("police", "E-1"); /* the same data keys */
	reopen();
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_ERR_DECRYPT);
	ck_assert_int_eq(mash_store_unlock(st, other_kek), MASH_OK);
	assert_reads_back("police", "E-1");
}
END_TEST

START_TEST(unlock_refuses_misuse)
{
	ck_assert_int_eq(mash_store_unlock(st, NULL), MASH_ERR_INVAL);
	ck_assert_int_eq(mash_store_begin(st), MASH_OK);
	ck_assert_int_eq(mash_store_unlock(st, kek), MASH_ERR_STATE);
	ck_assert_int_eq(mash_store_rollback(st), MASH_OK);
	ck_assert_int_eq(mash_store_is_sealed(st), 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("store_atrest");
	TCase *tc = tcase_create("atrest");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sealed_store_has_no_story_on_disk_and_reads_it_back);
	tcase_add_test(tc, first_unlock_seals_what_was_written_in_clear);
	/* The checkpoint waits out the store's busy timeout (5 s). */
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_reader_that_keeps_clear_pages_on_disk_is_reported);
	tcase_add_test(
	    tc, without_the_key_or_with_another_nothing_is_read_or_written);
	tcase_add_test(tc, sealed_value_moved_to_another_row_is_tampering);
	tcase_add_test(tc, sealed_store_links_by_mac_and_keeps_identity_sealed);
	tcase_add_test(tc, first_unlock_seals_cases_and_linkage_continues);
	tcase_add_test(tc, rekey_moves_the_store_to_the_new_key);
	tcase_add_test(tc, unlock_refuses_misuse);
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
