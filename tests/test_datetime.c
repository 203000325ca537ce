/*
 * test_datetime.c - the one date/time module (issue 23): strict ISO 8601
 * dates and date-times (impossible dates refused, never normalised),
 * day numbers, formatting, and Europe/London from tzdata rather than a
 * hand-written rule.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/datetime.h"
#include "common/err.h"

static int
parse(const char *s, unsigned flags, int64_t *ms)
{
	int64_t dummy;

	return mash_dt_parse(s, strlen(s), flags, ms != NULL ? ms : &dummy,
	                     NULL);
}

#define ALL (MASH_DT_DATE | MASH_DT_DATE_TIME)

START_TEST(impossible_calendar_dates_are_refused_not_normalised)
{
	static const char *const bad[] = {
	    "2026-02-30", "2026-02-29", "2100-02-29", "2026-04-31",
	    "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-32",
	    "0000-01-01", "2026-1-01",  "2026-01-1",  "20260101",
	    "2026/01/01", "",           "2026-01-01x"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], ALL, NULL) == MASH_ERR_BAD_DATE,
		              "accepted '%s'", bad[i]);
	ck_assert_int_eq(parse("2024-02-29", ALL, NULL), MASH_OK);
	ck_assert_int_eq(parse("2000-02-29", ALL, NULL), MASH_OK);
}
END_TEST

START_TEST(bare_date_is_midnight_utc_and_only_when_allowed)
{
	int64_t ms = 0;
	int has_time = 1;

	ck_assert_int_eq(
	    mash_dt_parse("1970-01-02", 10, MASH_DT_DATE, &ms, &has_time),
	    MASH_OK);
	ck_assert_int_eq(ms, MASH_DT_DAY_MS);
	ck_assert_int_eq(has_time, 0);
	ck_assert_int_eq(parse("1970-01-02", MASH_DT_DATE_TIME, NULL),
	                 MASH_ERR_BAD_DATE);
	ck_assert_int_eq(parse("1970-01-02T00:00Z", MASH_DT_DATE, NULL),
	                 MASH_ERR_BAD_DATE);
}
END_TEST

START_TEST(date_times_with_zones_give_the_same_instant)
{
	static const char *const same[] = {
	    "2026-06-01T12:30:00Z",      "2026-06-01T12:30:00.000Z",
	    "2026-06-01 12:30:00Z",      "2026-06-01T12:30Z",
	    "2026-06-01T13:30:00+01:00", "2026-06-01T13:30:00+0100",
	    "2026-06-01T07:00:00-05:30", "2026-06-01T12:30:00"};
	int64_t want = 0, ms;
	size_t i;

	ck_assert_int_eq(parse(same[0], ALL, &want), MASH_OK);
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		ms = 0;
		ck_assert_msg(parse(same[i], ALL, &ms) == MASH_OK, "refused %s",
		              same[i]);
		ck_assert_msg(ms == want, "%s: %lld != %lld", same[i],
		              (long long)ms, (long long)want);
	}
	ck_assert_int_eq(parse("2026-06-01T12:30:00.25Z", ALL, &ms), MASH_OK);
	ck_assert_int_eq(ms, want + 250);
}
END_TEST

START_TEST(out_of_range_times_and_zones_are_refused)
{
	static const char *const bad[] = {"2026-06-01T24:00:00Z",
	                                  "2026-06-01T12:60:00Z",
	                                  "2026-06-01T12:00:61Z",
	                                  "2026-06-01T12:00:00+15:00",
	                                  "2026-06-01T12:00:00+14:30",
	                                  "2026-06-01T12:00:00+01:60",
	                                  "2026-06-01T12:00:00.Z",
	                                  "2026-06-01T12:00:00.1234567890Z",
	                                  "2026-06-01T12Z",
	                                  "2026-06-01T12:00:00ZZ",
	                                  "2026-06-01X12:00:00Z",
	                                  "2026-06-01T12:00:00 +01:00"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], ALL, NULL) == MASH_ERR_BAD_DATE,
		              "accepted '%s'", bad[i]);
	/* A leap second is a real time. */
	ck_assert_int_eq(parse("2016-12-31T23:59:60Z", ALL, NULL), MASH_OK);
}
END_TEST

START_TEST(uk_day_month_year_only_when_asked)
{
	int64_t a = 0, b = 0;

	ck_assert_int_eq(parse("31/12/2025", ALL, NULL), MASH_ERR_BAD_DATE);
	ck_assert_int_eq(parse("31/12/2025", ALL | MASH_DT_UK_DATE, &a),
	                 MASH_OK);
	ck_assert_int_eq(parse("2025-12-31", ALL, &b), MASH_OK);
	ck_assert_int_eq(a, b);
	ck_assert_int_eq(parse("31/02/2025", ALL | MASH_DT_UK_DATE, NULL),
	                 MASH_ERR_BAD_DATE);
}
END_TEST

START_TEST(day_numbers_round_trip_across_the_calendar)
{
	int64_t day;
	int y, m, d;

	for (day = mash_dt_day_from_ymd(1, 1, 1);
	     day <= mash_dt_day_from_ymd(9999, 12, 31); day += 97) {
		mash_dt_ymd_from_day(day, &y, &m, &d);
		ck_assert(mash_dt_valid_ymd(y, m, d));
		ck_assert_int_eq(mash_dt_day_from_ymd(y, m, d), day);
	}
	ck_assert_int_eq(mash_dt_day_from_ymd(1970, 1, 1), 0);
	ck_assert_int_eq(mash_dt_utc_day(-1), -1);
}
END_TEST

START_TEST(formatting_is_iso_utc_and_refuses_small_buffers)
{
	char buf[32], small[20];
	int64_t ms = 0;

	ck_assert_int_eq(parse("2026-02-28T23:59:59.999Z", ALL, &ms), MASH_OK);
	ck_assert_int_eq(mash_dt_format_iso(ms, buf, sizeof(buf)), MASH_OK);
	ck_assert_str_eq(buf, "2026-02-28T23:59:59Z");
	ck_assert_int_eq(mash_dt_format_iso(-1, buf, sizeof(buf)), MASH_OK);
	ck_assert_str_eq(buf, "1969-12-31T23:59:59Z");
	ck_assert_int_eq(mash_dt_format_iso(ms, small, sizeof(small)),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_dt_format_date(mash_dt_utc_day(ms), buf, 11),
	                 MASH_OK);
	ck_assert_str_eq(buf, "2026-02-28");
}
END_TEST

static int64_t
at(const char *iso)
{
	int64_t ms = 0;

	ck_assert_int_eq(parse(iso, ALL, &ms), MASH_OK);
	return ms;
}

START_TEST(london_offset_follows_the_clock_change)
{
	ck_assert_int_eq(mash_dt_london_init(), MASH_OK);
	ck_assert_int_eq(mash_dt_london_offset_ms(at("2026-03-29T00:59:59Z")),
	                 0);
	ck_assert_int_eq(mash_dt_london_offset_ms(at("2026-03-29T01:00:00Z")),
	                 3600000);
	ck_assert_int_eq(mash_dt_london_offset_ms(at("2026-10-25T00:59:59Z")),
	                 3600000);
	ck_assert_int_eq(mash_dt_london_offset_ms(at("2026-10-25T01:00:00Z")),
	                 0);
}
END_TEST

START_TEST(london_offset_comes_from_tzdata_not_a_fixed_rule)
{
	/* No rule of "last Sunday in March / October" gives these: British
	 * Standard Time kept UTC+1 all winter 1968-71, and 1947 had double
	 * summer time. tzdata knows both. */
	ck_assert_int_eq(mash_dt_london_init(), MASH_OK);
	ck_assert_int_eq(mash_dt_london_offset_ms(at("1970-01-15T12:00:00Z")),
	                 3600000);
	ck_assert_int_eq(mash_dt_london_offset_ms(at("1947-06-15T12:00:00Z")),
	                 7200000);
	/* Idempotent. */
	ck_assert_int_eq(mash_dt_london_init(), MASH_OK);
	ck_assert_str_eq(getenv("TZ"), "Europe/London");
}
END_TEST

static Suite *
datetime_suite(void)
{
	Suite *s = suite_create("datetime");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc,
	               impossible_calendar_dates_are_refused_not_normalised);
	tcase_add_test(tc, bare_date_is_midnight_utc_and_only_when_allowed);
	tcase_add_test(tc, date_times_with_zones_give_the_same_instant);
	tcase_add_test(tc, out_of_range_times_and_zones_are_refused);
	tcase_add_test(tc, uk_day_month_year_only_when_asked);
	tcase_add_test(tc, day_numbers_round_trip_across_the_calendar);
	tcase_add_test(tc, formatting_is_iso_utc_and_refuses_small_buffers);
	tcase_add_test(tc, london_offset_follows_the_clock_change);
	tcase_add_test(tc, london_offset_comes_from_tzdata_not_a_fixed_rule);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(datetime_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
