/*
 * test_sessions.c - the console's sessions (console/sessions.h, issue 29):
 * ids and CSRF tokens are 64 random hex digits and distinct; a session
 * idle past the timeout is gone (and its keys wiped); use restarts the
 * idle clock; sign-out ends it; the CSRF check wants the exact token;
 * five failures lock a name for the window, and only that name.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "console/sessions.h"

#define IDLE 900000LL

static struct mash_acct_session *
acct(const char *name)
{
	struct mash_acct_session *a = mash_calloc(1, sizeof(*a));

	ck_assert_ptr_nonnull(a);
	strcpy(a->name, name);
	strcpy(a->principal, "analyst.amara");
	return a;
}

START_TEST(idle_sessions_end_and_use_keeps_them_alive)
{
	struct con_sessions *t = NULL;
	const struct con_session *s = NULL, *s2 = NULL;
	char id[CON_SESS_ID_HEX + 1], id2[CON_SESS_ID_HEX + 1];

	ck_assert_int_eq(con_sessions_new(IDLE, NULL, NULL, &t), MASH_OK);
	ck_assert_int_eq(con_sessions_start(t, acct("amara"), NULL, 0, &s),
	                 MASH_OK);
	strcpy(id, s->id);
	ck_assert_uint_eq(strlen(id), CON_SESS_ID_HEX);
	ck_assert_str_ne(s->id, s->csrf);
	ck_assert_int_eq(con_sessions_start(t, acct("sam"), NULL, 0, &s2),
	                 MASH_OK);
	strcpy(id2, s2->id);
	ck_assert_str_ne(id, id2);
	/* Used just before the timeout: alive, and the clock restarts. */
	ck_assert_ptr_nonnull(con_sessions_get(t, id, IDLE));
	ck_assert_ptr_nonnull(con_sessions_get(t, id, 2 * IDLE));
	/* sam idled out. */
	ck_assert_ptr_null(con_sessions_get(t, id2, 2 * IDLE));
	ck_assert_ptr_null(con_sessions_get(t, id2, 0));
	/* Sign-out. */
	ck_assert_int_eq(con_sessions_end(t, id), MASH_OK);
	ck_assert_ptr_null(con_sessions_get(t, id, 2 * IDLE));
	ck_assert_int_eq(con_sessions_end(t, id), MASH_ERR_NOT_FOUND);
	ck_assert_ptr_null(con_sessions_get(t, "short", 0));
	ck_assert_ptr_null(con_sessions_get(t, NULL, 0));
	con_sessions_free(t);
}
END_TEST

START_TEST(csrf_check_wants_the_exact_token)
{
	struct con_sessions *t = NULL;
	const struct con_session *s = NULL;
	char bad[CON_SESS_ID_HEX + 1];

	ck_assert_int_eq(con_sessions_new(IDLE, NULL, NULL, &t), MASH_OK);
	ck_assert_int_eq(con_sessions_start(t, acct("amara"), NULL, 0, &s),
	                 MASH_OK);
	ck_assert_int_eq(con_sessions_csrf_ok(s, s->csrf), 1);
	strcpy(bad, s->csrf);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	ck_assert_int_eq(con_sessions_csrf_ok(s, bad), 0);
	ck_assert_int_eq(con_sessions_csrf_ok(s, s->id), 0);
	ck_assert_int_eq(con_sessions_csrf_ok(s, ""), 0);
	ck_assert_int_eq(con_sessions_csrf_ok(s, NULL), 0);
	con_sessions_free(t);
}
END_TEST

START_TEST(five_failures_lock_one_name_for_the_window)
{
	struct con_sessions *t = NULL;
	unsigned i;

	ck_assert_int_eq(con_sessions_new(IDLE, NULL, NULL, &t), MASH_OK);
	for (i = 0; i < CON_FAIL_LIMIT - 1; i++)
		con_sessions_failed(t, "brook", 1000 + i);
	ck_assert_int_eq(con_sessions_throttled(t, "brook", 2000), 0);
	con_sessions_failed(t, "brook", 2000);
	ck_assert_int_eq(con_sessions_throttled(t, "brook", 2001), 1);
	ck_assert_int_eq(con_sessions_throttled(t, "amara", 2001), 0);
	/* After the window: free again. */
	ck_assert_int_eq(
	    con_sessions_throttled(t, "brook", 1000 + CON_FAIL_WINDOW + 1), 0);
	/* A success clears the count. */
	con_sessions_failed(t, "amara", 0);
	con_sessions_succeeded(t, "amara");
	for (i = 0; i < CON_FAIL_LIMIT - 1; i++)
		con_sessions_failed(t, "amara", 10);
	ck_assert_int_eq(con_sessions_throttled(t, "amara", 11), 0);
	con_sessions_free(t);
}
END_TEST

START_TEST(a_full_table_refuses_and_frees_the_account)
{
	struct con_sessions *t = NULL;
	const struct con_session *s = NULL;
	unsigned i;

	ck_assert_int_eq(con_sessions_new(IDLE, NULL, NULL, &t), MASH_OK);
	for (i = 0; i < CON_SESS_MAX; i++)
		ck_assert_int_eq(
		    con_sessions_start(t, acct("amara"), NULL, 0, &s), MASH_OK);
	ck_assert_int_eq(con_sessions_start(t, acct("amara"), NULL, 1, &s),
	                 MASH_ERR_TOO_BIG);
	ck_assert_ptr_null(s);
	/* Once they idle out, there is room again. */
	ck_assert_int_eq(
	    con_sessions_start(t, acct("amara"), NULL, IDLE + 1, &s), MASH_OK);
	con_sessions_free(t);
}
END_TEST

static int ended[8];

static void
count_end(void *ctx, void *link)
{
	ck_assert_ptr_eq(ctx, ended);
	ended[(int *)link - ended]++;
}

/* Every way a session ends releases its link exactly once: sign-out,
 * idling out (found on use or swept by a new sign-in), a full table
 * refusing the new one, and the table freed. A peek does not keep a
 * session alive. */
START_TEST(every_end_releases_the_link_once)
{
	struct con_sessions *t = NULL;
	const struct con_session *s = NULL;
	char a[CON_SESS_ID_HEX + 1], b[CON_SESS_ID_HEX + 1];
	unsigned i;

	memset(ended, 0, sizeof(ended));
	ck_assert_int_eq(con_sessions_new(IDLE, count_end, ended, &t), MASH_OK);
	ck_assert_int_eq(con_sessions_start(t, acct("amara"), &ended[0], 0, &s),
	                 MASH_OK);
	strcpy(a, s->id);
	ck_assert_ptr_eq(s->link, &ended[0]);
	ck_assert_int_eq(con_sessions_start(t, acct("sam"), &ended[1], 0, &s),
	                 MASH_OK);
	strcpy(b, s->id);
	ck_assert_int_eq(con_sessions_end(t, a), MASH_OK);
	ck_assert_int_eq(ended[0], 1);
	/* Peeks do not restart the clock: b idles out all the same. */
	ck_assert_ptr_nonnull(con_sessions_peek(t, b, IDLE));
	ck_assert_ptr_null(con_sessions_peek(t, b, IDLE + 1));
	ck_assert_int_eq(ended[1], 0);
	ck_assert_ptr_null(con_sessions_get(t, b, IDLE + 1));
	ck_assert_int_eq(ended[1], 1);
	/* Swept by a sign-in after the idle time. */
	ck_assert_int_eq(con_sessions_start(t, acct("kit"), &ended[2], 0, &s),
	                 MASH_OK);
	ck_assert_int_eq(
	    con_sessions_start(t, acct("lee"), &ended[3], IDLE + 1, &s),
	    MASH_OK);
	ck_assert_int_eq(ended[2], 1);
	/* A full table refuses, and releases what it was given. */
	for (i = 1; i < CON_SESS_MAX; i++)
		ck_assert_int_eq(
		    con_sessions_start(t, acct("amara"), NULL, IDLE + 1, &s),
		    MASH_OK);
	ck_assert_int_eq(
	    con_sessions_start(t, acct("amara"), &ended[4], IDLE + 1, &s),
	    MASH_ERR_TOO_BIG);
	ck_assert_int_eq(ended[4], 1);
	ck_assert_int_eq(ended[3], 0);
	con_sessions_free(t);
	ck_assert_int_eq(ended[3], 1);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(ended[i], 1);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("sessions");
	TCase *tc = tcase_create("sessions");

	tcase_add_test(tc, idle_sessions_end_and_use_keeps_them_alive);
	tcase_add_test(tc, csrf_check_wants_the_exact_token);
	tcase_add_test(tc, every_end_releases_the_link_once);
	tcase_add_test(tc, five_failures_lock_one_name_for_the_window);
	tcase_add_test(tc, a_full_table_refuses_and_frees_the_account);
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
