/*
 * test_replay.c - the replay window (daemon/replay.h, issue 30) at its
 * boundaries: recorded_at exactly future_s ahead or past_days behind is
 * inside, one millisecond further is REPLAY_WINDOW with a reason naming
 * the setting; past_days 0 has no lower bound; future_s 0 allows nothing
 * ahead of the clock.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "daemon/replay.h"

#define NOW    1796601600000LL /* 2026-12-07T00:00:00Z */
#define DAY_MS 86400000LL

START_TEST(future_bound_is_inclusive)
{
	char why[160];

	ck_assert_int_eq(
	    mashd_replay_check(NOW, NOW, 300, 400, why, sizeof(why)), MASH_OK);
	ck_assert_int_eq(
	    mashd_replay_check(NOW, NOW + 300000, 300, 400, why, sizeof(why)),
	    MASH_OK);
	ck_assert_int_eq(
	    mashd_replay_check(NOW, NOW + 300001, 300, 400, why, sizeof(why)),
	    MASH_ERR_REPLAY_WINDOW);
	ck_assert_ptr_nonnull(strstr(why, "300001 ms ahead"));
	ck_assert_ptr_nonnull(strstr(why, "replay.future_s = 300"));
	/* future_s 0: not a millisecond ahead. */
	ck_assert_int_eq(mashd_replay_check(NOW, NOW, 0, 400, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_int_eq(
	    mashd_replay_check(NOW, NOW + 1, 0, 400, why, sizeof(why)),
	    MASH_ERR_REPLAY_WINDOW);
}
END_TEST

START_TEST(past_bound_is_inclusive_and_zero_means_none)
{
	char why[160];

	ck_assert_int_eq(mashd_replay_check(NOW, NOW - 400 * DAY_MS, 300, 400,
	                                    why, sizeof(why)),
	                 MASH_OK);
	ck_assert_int_eq(mashd_replay_check(NOW, NOW - 400 * DAY_MS - 1, 300,
	                                    400, why, sizeof(why)),
	                 MASH_ERR_REPLAY_WINDOW);
	ck_assert_ptr_nonnull(strstr(why, "400 days and 1 ms old"));
	ck_assert_ptr_nonnull(strstr(why, "replay.past_days = 400"));
	/* past_days 0: any age (the future bound still holds). */
	ck_assert_int_eq(mashd_replay_check(NOW, 1, 300, 0, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_int_eq(
	    mashd_replay_check(NOW, NOW + 300001, 300, 0, why, sizeof(why)),
	    MASH_ERR_REPLAY_WINDOW);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("window");

	tcase_add_test(tc, future_bound_is_inclusive);
	tcase_add_test(tc, past_bound_is_inclusive_and_zero_means_none);
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
