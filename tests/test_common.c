/* Unit tests for common/: error table, allocation wrappers, bounded
 * strings, injected clock. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

START_TEST(strerror_gives_message_for_every_code)
{
	ck_assert_str_eq(mash_strerror(MASH_OK), "success");
	ck_assert_str_eq(mash_errname(MASH_ERR_BAD_SIGNATURE), "BAD_SIGNATURE");
	ck_assert_str_eq(mash_strerror(MASH_ERR_REVOKED_KEY),
	                 "signer key is revoked");
	for (int rc = 0; rc >= MASH_ERR_INTERNAL; rc--)
		ck_assert_str_ne(mash_strerror(rc), "unknown error");
}
END_TEST

START_TEST(strerror_unknown_code_is_not_null)
{
	ck_assert_str_eq(mash_strerror(-9999), "unknown error");
	ck_assert_str_eq(mash_errname(12345), "UNKNOWN");
}
END_TEST

static const struct {
	const char *s;
	size_t n;
	int ok;
} utf8_cases[] = {
    {"plain ascii", 11, 1},
    {"caf\xc3\xa9", 5, 1},
    {"\xe2\x82\xac", 3, 1},     /* euro sign */
    {"\xf0\x9f\x98\x80", 4, 1}, /* emoji */
    {"a\0b", 3, 0},             /* embedded NUL */
    {"\xc0\xaf", 2, 0},         /* overlong slash */
    {"\xe0\x80\xaf", 3, 0},     /* overlong 3-byte */
    {"\xed\xa0\x80", 3, 0},     /* surrogate */
    {"\xf4\x90\x80\x80", 4, 0}, /* beyond U+10FFFF */
    {"\xc3", 1, 0},             /* truncated sequence */
    {"\x80", 1, 0},             /* lone continuation */
    {"\xff", 1, 0},
};

START_TEST(utf8_valid_accepts_good_and_rejects_bad)
{
	ck_assert_int_eq(mash_utf8_valid(utf8_cases[_i].s, utf8_cases[_i].n),
	                 utf8_cases[_i].ok);
}
END_TEST

START_TEST(str_check_bounds_length_exactly)
{
	char buf[17];

	memset(buf, 'x', 16);
	buf[16] = '\0';
	ck_assert_int_eq(mash_str_check(buf, 16), MASH_OK);
	ck_assert_int_eq(mash_str_check(buf, 15), MASH_ERR_FIELD_TOO_LONG);
	ck_assert_int_eq(mash_str_check(NULL, 0), MASH_OK);
	ck_assert_int_eq(mash_str_check("\xff", 4), MASH_ERR_BAD_UTF8);
}
END_TEST

START_TEST(strlcpy_truncates_and_says_so)
{
	char buf[4];

	ck_assert_int_eq(mash_strlcpy(buf, "abc", sizeof(buf)), MASH_OK);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(mash_strlcpy(buf, "abcd", sizeof(buf)),
	                 MASH_ERR_FIELD_TOO_LONG);
	ck_assert_str_eq(buf, "abc");
}
END_TEST

START_TEST(snprintf_reports_truncation)
{
	char buf[6];

	ck_assert_int_eq(mash_snprintf(buf, sizeof(buf), "%d", 12345), MASH_OK);
	ck_assert_int_eq(mash_snprintf(buf, sizeof(buf), "%d", 123456),
	                 MASH_ERR_FIELD_TOO_LONG);
}
END_TEST

START_TEST(parse_i64_rejects_junk_and_range)
{
	int64_t v = 7;

	ck_assert_int_eq(mash_parse_i64("42", 0, 100, &v), MASH_OK);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(mash_parse_i64("42x", 0, 100, &v), MASH_ERR_PARSE);
	ck_assert_int_eq(mash_parse_i64("", 0, 100, &v), MASH_ERR_PARSE);
	ck_assert_int_eq(mash_parse_i64("101", 0, 100, &v), MASH_ERR_INVAL);
	ck_assert_int_eq(mash_parse_i64("99999999999999999999", 0, 100, &v),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(mem_fail_after_fails_the_nth_allocation)
{
	void *a, *b;

	mash_mem_fail_after(1);
	a = mash_malloc(8);
	b = mash_malloc(8);
	mash_mem_fail_after(-1);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_null(b);
	mash_free(a);
	b = mash_strdup("still works");
	ck_assert_str_eq(b, "still works");
	mash_free_str(b);
}
END_TEST

START_TEST(hex_encodes_lowercase)
{
	const unsigned char in[] = {0x00, 0xab, 0xff};
	char out[7];

	mash_hex(in, 3, out);
	ck_assert_str_eq(out, "00abff");
}
END_TEST

START_TEST(manual_clock_moves_only_when_told)
{
	struct mash_clock c;
	int64_t now = 1000;

	mash_clock_manual(&c, &now);
	ck_assert_int_eq(mash_clock_now(&c), 1000);
	now += 86400000;
	ck_assert_int_eq(mash_clock_now(&c), 86401000);
	ck_assert_int_gt(mash_clock_now(mash_clock_system()), 1700000000000LL);
}
END_TEST

static Suite *
common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, strerror_gives_message_for_every_code);
	tcase_add_test(tc, strerror_unknown_code_is_not_null);
	tcase_add_loop_test(tc, utf8_valid_accepts_good_and_rejects_bad, 0,
	                    sizeof(utf8_cases) / sizeof(utf8_cases[0]));
	tcase_add_test(tc, str_check_bounds_length_exactly);
	tcase_add_test(tc, strlcpy_truncates_and_says_so);
	tcase_add_test(tc, snprintf_reports_truncation);
	tcase_add_test(tc, parse_i64_rejects_junk_and_range);
	tcase_add_test(tc, mem_fail_after_fails_the_nth_allocation);
	tcase_add_test(tc, hex_encodes_lowercase);
	tcase_add_test(tc, manual_clock_moves_only_when_told);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(common_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
