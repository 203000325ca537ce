/*
 * test_vcl.c - Northumberland risk matrix bands and the Risk Management
 * Group register rule.
 */
#include <check.h>
#include <stdlib.h>

#include "common/err.h"
#include "s47/vcl.h"

#define DAY 86400000LL

struct band_case {
	uint32_t scores[6];
	size_t n;
	enum mash_vcl_band want;
};

static const struct band_case bands[] = {
    {{0}, 0, MASH_VCL_LOW},          {{0, 0, 1}, 3, MASH_VCL_LOW},
    {{1, 2, 1}, 3, MASH_VCL_MEDIUM}, {{2, 2, 2, 2, 2, 2}, 6, MASH_VCL_MEDIUM},
    {{0, 3}, 2, MASH_VCL_HIGH},      {{3, 3, 2}, 3, MASH_VCL_HIGH},
    {{4}, 1, MASH_VCL_VERY_HIGH},    {{0, 1, 2, 3, 4}, 5, MASH_VCL_VERY_HIGH},
};

START_TEST(test_band_is_set_by_highest_factor)
{
	enum mash_vcl_band b = MASH_VCL_VERY_HIGH;

	ck_assert_int_eq(
	    mash_vcl_band_from_scores(bands[_i].scores, bands[_i].n, &b),
	    MASH_OK);
	ck_assert_int_eq(b, bands[_i].want);
}
END_TEST

START_TEST(test_score_above_four_is_rejected)
{
	uint32_t s[2] = {1, 5};
	enum mash_vcl_band b = MASH_VCL_HIGH;

	ck_assert_int_eq(mash_vcl_band_from_scores(s, 2, &b), MASH_ERR_INVAL);
	ck_assert_int_eq(b, MASH_VCL_LOW);
	ck_assert_int_eq(mash_vcl_band_from_scores(NULL, 1, &b),
	                 MASH_ERR_INVAL);
}
END_TEST

START_TEST(test_band_names_roundtrip)
{
	int i;
	enum mash_vcl_band b;

	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(
		    mash_vcl_band_parse(
		        mash_vcl_band_name((enum mash_vcl_band)i), &b),
		    MASH_OK);
		ck_assert_int_eq((int)b, i);
	}
	ck_assert_str_eq(mash_vcl_band_name(MASH_VCL_VERY_HIGH), "VERY_HIGH");
	ck_assert_int_eq(mash_vcl_band_parse("very_high", &b),
	                 MASH_ERR_BAD_ENUM);
	ck_assert_int_eq(mash_vcl_band_parse(NULL, &b), MASH_ERR_BAD_ENUM);
}
END_TEST

START_TEST(test_high_and_very_high_refer_to_rmg)
{
	ck_assert(!mash_vcl_band_refers_to_rmg(MASH_VCL_LOW));
	ck_assert(!mash_vcl_band_refers_to_rmg(MASH_VCL_MEDIUM));
	ck_assert(mash_vcl_band_refers_to_rmg(MASH_VCL_HIGH));
	ck_assert(mash_vcl_band_refers_to_rmg(MASH_VCL_VERY_HIGH));
}
END_TEST

START_TEST(test_register_on_high_reviewed_every_three_weeks)
{
	struct mash_vcl_assessment a[2] = {{10 * DAY, MASH_VCL_MEDIUM},
	                                   {20 * DAY, MASH_VCL_HIGH}};
	struct mash_vcl_register r;

	ck_assert_int_eq(mash_vcl_register_status(a, 2, &r), MASH_OK);
	ck_assert_int_eq(r.on_register, 1);
	ck_assert_int_eq(r.since_ms, 20 * DAY);
	ck_assert_int_eq(r.next_review_ms, 41 * DAY);
	ck_assert_int_eq(r.band, MASH_VCL_HIGH);
}
END_TEST

START_TEST(test_register_later_low_takes_off)
{
	struct mash_vcl_assessment a[3] = {{30 * DAY, MASH_VCL_LOW},
	                                   {10 * DAY, MASH_VCL_VERY_HIGH},
	                                   {20 * DAY, MASH_VCL_HIGH}};
	struct mash_vcl_register r;

	ck_assert_int_eq(mash_vcl_register_status(a, 3, &r), MASH_OK);
	ck_assert_int_eq(r.on_register, 0);
	ck_assert_int_eq(r.since_ms, 0);
	ck_assert_int_eq(r.band, MASH_VCL_LOW);
}
END_TEST

START_TEST(test_register_re_referral_starts_new_spell)
{
	struct mash_vcl_assessment a[4] = {{10 * DAY, MASH_VCL_HIGH},
	                                   {20 * DAY, MASH_VCL_MEDIUM},
	                                   {40 * DAY, MASH_VCL_VERY_HIGH},
	                                   {30 * DAY, MASH_VCL_HIGH}};
	struct mash_vcl_register r;

	ck_assert_int_eq(mash_vcl_register_status(a, 4, &r), MASH_OK);
	ck_assert_int_eq(r.on_register, 1);
	ck_assert_int_eq(r.since_ms, 30 * DAY);
	ck_assert_int_eq(r.next_review_ms, 61 * DAY);
	ck_assert_int_eq(r.band, MASH_VCL_VERY_HIGH);
}
END_TEST

START_TEST(test_register_same_time_later_entry_wins)
{
	struct mash_vcl_assessment a[2] = {{10 * DAY, MASH_VCL_HIGH},
	                                   {10 * DAY, MASH_VCL_MEDIUM}};
	struct mash_vcl_register r;

	ck_assert_int_eq(mash_vcl_register_status(a, 2, &r), MASH_OK);
	ck_assert_int_eq(r.on_register, 0);
}
END_TEST

START_TEST(test_register_empty_and_bad_input)
{
	struct mash_vcl_register r;

	ck_assert_int_eq(mash_vcl_register_status(NULL, 0, &r), MASH_OK);
	ck_assert_int_eq(r.on_register, 0);
	ck_assert_int_eq(r.band, MASH_VCL_LOW);
	ck_assert_int_eq(mash_vcl_register_status(NULL, 2, &r), MASH_ERR_INVAL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("vcl");
	TCase *tc = tcase_create("vcl");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_band_is_set_by_highest_factor, 0,
	                    (int)(sizeof(bands) / sizeof(bands[0])));
	tcase_add_test(tc, test_score_above_four_is_rejected);
	tcase_add_test(tc, test_band_names_roundtrip);
	tcase_add_test(tc, test_high_and_very_high_refer_to_rmg);
	tcase_add_test(tc, test_register_on_high_reviewed_every_three_weeks);
	tcase_add_test(tc, test_register_later_low_takes_off);
	tcase_add_test(tc, test_register_re_referral_starts_new_spell);
	tcase_add_test(tc, test_register_same_time_later_entry_wins);
	tcase_add_test(tc, test_register_empty_and_bad_input);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
