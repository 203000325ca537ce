/*
 * test_cal.c - the England and Wales working-day calendar: computed bank
 * holidays against the GOV.UK list, substitute days, the one-off file,
 * working-day arithmetic around Easter, Christmas and weekends, and the
 * Europe/London end-of-day rule.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/datetime.h"
#include "common/err.h"
#include "s47/cal.h"

static int32_t
D(const char *s)
{
	int32_t d = 0;

	ck_assert_int_eq(mash_cal_parse_date(s, &d), MASH_OK);
	return d;
}

static int64_t
utc_ms(const char *date, int h, int m)
{
	return (int64_t)D(date) * MASH_CAL_DAY_MS + (int64_t)h * 3600000 +
	       (int64_t)m * 60000;
}

static struct mash_cal *
default_cal(void)
{
	char path[4096], err[256];
	const char *src = getenv("MASH_SOURCE_DIR");
	struct mash_cal *cal = mash_cal_new();

	ck_assert_ptr_nonnull(cal);
	ck_assert_ptr_nonnull(src);
	snprintf(path, sizeof(path), "%s/s47/holidays.cfg", src);
	ck_assert_msg(mash_cal_load(cal, path, err, sizeof(err)) == MASH_OK,
	              "%s", err);
	return cal;
}

/* Every bank holiday of a year, in order (GOV.UK "UK bank holidays",
 * England and Wales). */
struct year_case {
	int year;
	const char *days[10];
};

static const struct year_case years[] = {
    {2020,
     {"2020-01-01", "2020-04-10", "2020-04-13", "2020-05-08", "2020-05-25",
      "2020-08-31", "2020-12-25", "2020-12-28", NULL}},
    {2022,
     {"2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02",
      "2022-06-03", "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27"}},
    {2023,
     {"2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08",
      "2023-05-29", "2023-08-28", "2023-12-25", "2023-12-26", NULL}},
    {2024,
     {"2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27",
      "2024-08-26", "2024-12-25", "2024-12-26", NULL}},
    {2025,
     {"2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26",
      "2025-08-25", "2025-12-25", "2025-12-26", NULL}},
    {2026,
     {"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25",
      "2026-08-31", "2026-12-25", "2026-12-28", NULL}},
    {2027,
     {"2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31",
      "2027-08-30", "2027-12-27", "2027-12-28", NULL}},
    {2028,
     {"2028-01-03", "2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29",
      "2028-08-28", "2028-12-25", "2028-12-26", NULL}},
};

START_TEST(test_bank_holidays_match_govuk_list_exactly)
{
	const struct year_case *yc = &years[_i];
	struct mash_cal *cal = default_cal();
	int32_t day, first, last;
	size_t k, found = 0, expected = 0;

	for (k = 0; k < 10 && yc->days[k] != NULL; k++) {
		const char *name = NULL;

		expected++;
		ck_assert_msg(mash_cal_is_holiday(cal, D(yc->days[k]), &name),
		              "%s should be a bank holiday", yc->days[k]);
		ck_assert_ptr_nonnull(name);
		ck_assert_msg(!mash_cal_is_working_day(cal, D(yc->days[k])),
		              "%s should not be a working day", yc->days[k]);
	}
	ck_assert_int_eq(mash_cal_day_from_ymd(yc->year, 1, 1, &first), 0);
	ck_assert_int_eq(mash_cal_day_from_ymd(yc->year, 12, 31, &last), 0);
	for (day = first; day <= last; day++)
		if (mash_cal_is_holiday(cal, day, NULL))
			found++;
	ck_assert_uint_eq(found, expected);
	mash_cal_free(cal);
}
END_TEST

START_TEST(test_easter_computus_matches_known_dates)
{
	static const struct {
		int y;
		const char *easter;
	} t[] = {{1981, "1981-04-19"}, {2000, "2000-04-23"},
	         {2008, "2008-03-23"}, {2011, "2011-04-24"},
	         {2019, "2019-04-21"}, {2025, "2025-04-20"},
	         {2026, "2026-04-05"}, {2027, "2027-03-28"},
	         {2038, "2038-04-25"}, {2100, "2100-03-28"}};
	size_t i;
	int32_t e;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_int_eq(mash_cal_easter(t[i].y, &e), MASH_OK);
		ck_assert_int_eq(e, D(t[i].easter));
	}
	ck_assert_int_eq(mash_cal_easter(1900, &e), MASH_ERR_BAD_DATE);
}
END_TEST

START_TEST(test_computed_rules_without_file_keep_moved_days)
{
	/* Without the data file 2020 keeps the statutory first Monday. */
	struct mash_cal *cal = mash_cal_new();

	ck_assert(mash_cal_is_holiday(cal, D("2020-05-04"), NULL));
	ck_assert(!mash_cal_is_holiday(cal, D("2020-05-08"), NULL));
	ck_assert(mash_cal_is_holiday(NULL, D("2025-12-25"), NULL));
	mash_cal_free(cal);
}
END_TEST

START_TEST(test_file_moves_early_may_2020_to_ve_day)
{
	struct mash_cal *cal = default_cal();

	ck_assert(!mash_cal_is_holiday(cal, D("2020-05-04"), NULL));
	ck_assert(mash_cal_is_working_day(cal, D("2020-05-04")));
	ck_assert(mash_cal_is_holiday(cal, D("2020-05-08"), NULL));
	ck_assert(mash_cal_is_holiday(cal, D("2022-09-19"), NULL));
	ck_assert(!mash_cal_is_holiday(cal, D("2022-05-30"), NULL));
	ck_assert_uint_eq(mash_cal_extra_count(cal), 12);
	mash_cal_free(cal);
}
END_TEST

/* Christmas and New Year on each weekday pattern: substitutes. */
START_TEST(test_christmas_substitutes_for_every_weekday_pattern)
{
	static const struct {
		const char *holiday;
		int is;
	} t[] = {
	    {"2021-12-27", 1}, {"2021-12-28", 1}, /* Sat+Sun */
	    {"2022-12-26", 1}, {"2022-12-27", 1}, /* Sun+Mon */
	    {"2026-12-28", 1}, {"2026-12-29", 0}, /* Fri+Sat */
	    {"2027-12-27", 1}, {"2027-12-28", 1}, /* Sat+Sun */
	    {"2021-12-24", 0}, {"2022-01-03", 1}, /* NY Sat -> Mon */
	    {"2023-01-02", 1},                    /* NY Sun -> Mon */
	    {"2028-01-03", 1},                    /* NY Sat -> Mon */
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(
		    mash_cal_is_holiday(NULL, D(t[i].holiday), NULL) == t[i].is,
		    "%s", t[i].holiday);
}
END_TEST

struct add_case {
	const char *start;
	int n;
	const char *want;
	const char *why;
};

static const struct add_case adds[] = {
    {"2026-04-02", 1, "2026-04-07",
     "Maundy Thursday + 1: skips Good Friday, weekend, Easter Monday"},
    {"2026-04-03", 1, "2026-04-07", "trigger on Good Friday"},
    {"2026-04-03", 0, "2026-04-07", "same working day from Good Friday"},
    {"2025-04-17", 1, "2025-04-22", "Maundy Thursday 2025"},
    {"2027-03-25", 1, "2027-03-30", "Maundy Thursday 2027"},
    {"2026-12-24", 1, "2026-12-29", "Christmas Eve 2026 (Thursday)"},
    {"2026-12-23", 1, "2026-12-24", "Wednesday of Christmas week"},
    {"2027-12-24", 1, "2027-12-29", "Christmas Eve 2027 (Friday)"},
    {"2025-12-24", 1, "2025-12-29", "Christmas Eve 2025 (Wednesday)"},
    {"2026-11-20", 1, "2026-11-23", "Friday -> Monday"},
    {"2026-11-21", 1, "2026-11-23", "Saturday -> Monday"},
    {"2026-11-22", 0, "2026-11-23", "same working day from Sunday"},
    {"2026-11-23", 0, "2026-11-23", "same working day on a Monday"},
    {"2026-11-23", 1, "2026-11-24", "Monday -> Tuesday"},
    {"2026-11-23", 15, "2026-12-14", "ICPC 15 working days"},
    {"2026-12-01", 15, "2026-12-22", "ICPC over no holiday"},
    {"2026-12-10", 15, "2027-01-05", "ICPC over Christmas and New Year"},
    {"2026-10-20", 45, "2026-12-22", "assessment 45 working days"},
    {"2026-11-23", 45, "2027-01-28", "assessment 45 over Christmas"},
};

START_TEST(test_add_working_days_table)
{
	const struct add_case *c = &adds[_i];
	struct mash_cal *cal = default_cal();
	int32_t out = 0;
	char got[16];

	ck_assert_int_eq(
	    mash_cal_add_working_days(cal, D(c->start), c->n, &out), MASH_OK);
	ck_assert_int_eq(mash_cal_format_date(out, got, sizeof(got)), 0);
	ck_assert_msg(out == D(c->want), "%s: %s +%d = %s, want %s", c->why,
	              c->start, c->n, got, c->want);
	mash_cal_free(cal);
}
END_TEST

START_TEST(test_add_working_days_rejects_bad_counts_and_range)
{
	int32_t out = 7;

	ck_assert_int_eq(
	    mash_cal_add_working_days(NULL, D("2026-01-05"), -1, &out),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mash_cal_add_working_days(NULL, D("2026-01-05"),
	                              MASH_CAL_MAX_WORKING_DAYS + 1, &out),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mash_cal_add_working_days(NULL, D("2199-12-30"), 5, &out),
	    MASH_ERR_BAD_DATE);
	ck_assert_int_eq(out, 7);
}
END_TEST

START_TEST(test_weekends_are_not_working_days)
{
	ck_assert_int_eq(mash_cal_weekday(D("2026-11-21")), 6);
	ck_assert_int_eq(mash_cal_weekday(D("2026-11-22")), 7);
	ck_assert_int_eq(mash_cal_weekday(0), 4); /* 1970-01-01 */
	ck_assert(!mash_cal_is_working_day(NULL, D("2026-11-21")));
	ck_assert(!mash_cal_is_working_day(NULL, D("2026-11-22")));
	ck_assert(mash_cal_is_working_day(NULL, D("2026-11-20")));
	ck_assert(!mash_cal_is_holiday(NULL, D("2026-11-21"), NULL));
}
END_TEST

START_TEST(test_parse_date_rejects_malformed)
{
	static const char *bad[] = {"",           "2026-02-29", "2026-13-01",
	                            "2026-00-10", "2026-1-01",  "2026/01/01",
	                            "20260101",   "2026-01-1x", "1977-12-31",
	                            "2200-01-01", "2026-04-31", "2026-01-01 "};
	size_t i;
	int32_t d = 99;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mash_cal_parse_date(bad[i], &d) ==
		                  MASH_ERR_BAD_DATE,
		              "'%s'", bad[i]);
	ck_assert_int_eq(mash_cal_parse_date(NULL, &d), MASH_ERR_BAD_DATE);
	ck_assert_int_eq(d, 99);
	ck_assert_int_eq(mash_cal_parse_date("2028-02-29", &d), MASH_OK);
}
END_TEST

START_TEST(test_date_roundtrip_over_supported_range)
{
	int32_t first, last, day;
	char buf[16];

	ck_assert_int_eq(mash_cal_day_from_ymd(1978, 1, 1, &first), 0);
	ck_assert_int_eq(mash_cal_day_from_ymd(2199, 12, 31, &last), 0);
	for (day = first; day <= last; day += 13) {
		int32_t back;

		ck_assert_int_eq(mash_cal_format_date(day, buf, sizeof(buf)),
		                 0);
		ck_assert_int_eq(mash_cal_parse_date(buf, &back), 0);
		ck_assert_int_eq(back, day);
	}
}
END_TEST

START_TEST(test_london_local_day_follows_bst)
{
	/* 2026: BST from 29 March 01:00 UTC to 25 October 01:00 UTC. */
	ck_assert_int_eq(mash_cal_london_offset_ms(utc_ms("2026-03-29", 0, 59)),
	                 0);
	ck_assert_int_eq(mash_cal_london_offset_ms(utc_ms("2026-03-29", 1, 0)),
	                 3600000);
	ck_assert_int_eq(mash_cal_london_offset_ms(utc_ms("2026-10-25", 0, 59)),
	                 3600000);
	ck_assert_int_eq(mash_cal_london_offset_ms(utc_ms("2026-10-25", 1, 0)),
	                 0);
	/* 23:30 UTC on 1 June is 00:30 BST on 2 June. */
	ck_assert_int_eq(mash_cal_local_day(utc_ms("2026-06-01", 23, 30)),
	                 D("2026-06-02"));
	ck_assert_int_eq(mash_cal_local_day(utc_ms("2026-12-01", 23, 30)),
	                 D("2026-12-01"));
}
END_TEST

START_TEST(test_due_by_is_end_of_working_day_london_time)
{
	struct mash_cal *cal = default_cal();
	int64_t due = 0;

	/* Winter: 23:59:59.999 GMT. */
	ck_assert_int_eq(
	    mash_cal_due_by_ms(cal, utc_ms("2026-11-20", 10, 0), 1, &due), 0);
	ck_assert_int_eq(due, utc_ms("2026-11-23", 23, 59) + 59999);
	/* Summer: 23:59:59.999 BST = 22:59:59.999 UTC. */
	ck_assert_int_eq(
	    mash_cal_due_by_ms(cal, utc_ms("2026-07-01", 10, 0), 0, &due), 0);
	ck_assert_int_eq(due, utc_ms("2026-07-01", 22, 59) + 59999);
	/* 23:30 UTC Friday in BST is already Saturday in London. */
	ck_assert_int_eq(
	    mash_cal_due_by_ms(cal, utc_ms("2026-06-05", 23, 30), 0, &due), 0);
	ck_assert_int_eq(due, utc_ms("2026-06-08", 22, 59) + 59999);
	mash_cal_free(cal);
}
END_TEST

static int
write_tmp(char *path, size_t n, const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, n, "/tmp/test_cal_XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return 0;
}

struct bad_file {
	const char *text;
	const char *want;
};

static const struct bad_file bad_files[] = {
    {"holidays = ( { date = \"2026-13-01\"; } );\n", ":1: date"},
    {"holidays = (\n { date = \"2026-06-01\"; colour = \"red\"; } );\n",
     ":2: unknown key"},
    {"holiday = ();\n", ":1: unknown top-level"},
    {"holidays = ( { name = \"x\"; } );\n", ":1: holiday entry without date"},
    {"holidays = ( { date = \"2026-06-01\"; },\n { date = \"2026-06-01\"; } "
     ");\n",
     ":2: duplicate"},
    {"holidays = ( { date = 20260601; } );\n", "must be a string"},
    {"holidays = ( { date = \"2026-06-01\"; replaces = \"x\"; } );\n",
     "replaces"},
    {"holidays = ( { date = \"2026-06-01\" } ;\n", "syntax"},
};

START_TEST(test_holiday_file_errors_name_file_and_line)
{
	char path[64], err[256];
	struct mash_cal *cal = default_cal();

	ck_assert_int_eq(write_tmp(path, sizeof(path), bad_files[_i].text), 0);
	ck_assert_int_eq(mash_cal_load(cal, path, err, sizeof(err)),
	                 MASH_ERR_CONFIG);
	ck_assert_msg(strstr(err, bad_files[_i].want) != NULL, "%s", err);
	ck_assert_msg(strstr(err, path) != NULL || strstr(err, "syntax"), "%s",
	              err);
	/* The previous entries stay in force. */
	ck_assert(mash_cal_is_holiday(cal, D("2022-09-19"), NULL));
	unlink(path);
	mash_cal_free(cal);
}
END_TEST

START_TEST(test_holiday_file_missing_is_io_error)
{
	char err[256];
	struct mash_cal *cal = mash_cal_new();

	ck_assert_int_eq(
	    mash_cal_load(cal, "/nonexistent/holidays.cfg", err, sizeof(err)),
	    MASH_ERR_IO);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/holidays.cfg"));
	mash_cal_free(cal);
}
END_TEST

START_TEST(test_holiday_file_adds_one_off_working_day_changes)
{
	char path[64], err[256];
	struct mash_cal *cal = mash_cal_new();
	int32_t out;

	ck_assert_int_eq(write_tmp(path, sizeof(path),
	                           "holidays = ( { date = \"2026-11-24\"; name "
	                           "= \"Test day\"; } );\n"),
	                 0);
	ck_assert_int_eq(mash_cal_load(cal, path, err, sizeof(err)), MASH_OK);
	ck_assert_int_eq(
	    mash_cal_add_working_days(cal, D("2026-11-23"), 1, &out), 0);
	ck_assert_int_eq(out, D("2026-11-25"));
	unlink(path);
	mash_cal_free(cal);
}
END_TEST

static Suite *
cal_suite(void)
{
	Suite *s = suite_create("cal");
	TCase *tc = tcase_create("cal");

	tcase_add_loop_test(tc, test_bank_holidays_match_govuk_list_exactly, 0,
	                    (int)(sizeof(years) / sizeof(years[0])));
	tcase_add_test(tc, test_easter_computus_matches_known_dates);
	tcase_add_test(tc, test_computed_rules_without_file_keep_moved_days);
	tcase_add_test(tc, test_file_moves_early_may_2020_to_ve_day);
	tcase_add_test(tc,
	               test_christmas_substitutes_for_every_weekday_pattern);
	tcase_add_loop_test(tc, test_add_working_days_table, 0,
	                    (int)(sizeof(adds) / sizeof(adds[0])));
	tcase_add_test(tc, test_add_working_days_rejects_bad_counts_and_range);
	tcase_add_test(tc, test_weekends_are_not_working_days);
	tcase_add_test(tc, test_parse_date_rejects_malformed);
	tcase_add_test(tc, test_date_roundtrip_over_supported_range);
	tcase_add_test(tc, test_london_local_day_follows_bst);
	tcase_add_test(tc, test_due_by_is_end_of_working_day_london_time);
	tcase_add_loop_test(tc, test_holiday_file_errors_name_file_and_line, 0,
	                    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, test_holiday_file_missing_is_io_error);
	tcase_add_test(tc, test_holiday_file_adds_one_off_working_day_changes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cal_suite());
	int failed;

	/* Local time from tzdata, as mashd's start-up makes it. */
	if (mash_dt_london_init() != MASH_OK) {
		fprintf(stderr, "test_cal: no tzdata for Europe/London\n");
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
