/*
 * test_stages.c - the core thread's per-stage times (daemon/stages.h,
 * issue 32): each stage adds its time and a count, keeps its longest
 * one (a stall the mean hides: the events queued behind it wait for all
 * of it), and the line an operator reads names every stage with its
 * total, count, mean and longest.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/stages.h"

#define MS 1000000ull /* ns */

START_TEST(each_stage_keeps_its_total_count_and_longest)
{
	struct mashd_stages st;
	uint64_t now;

	memset(&st, 0, sizeof(st));
	now = mashd_stage_start();
	mashd_stage_add(&st, MASHD_STAGE_TICKS, now - 2 * MS);
	mashd_stage_add(&st, MASHD_STAGE_TICKS, now - 600 * MS);
	mashd_stage_add(&st, MASHD_STAGE_TICKS, now - 3 * MS);
	mashd_stage_add(&st, MASHD_STAGE_COMMIT, now - 9 * MS);
	ck_assert_uint_eq(st.n[MASHD_STAGE_TICKS], 3);
	ck_assert_uint_ge(st.ns[MASHD_STAGE_TICKS], 605 * MS);
	ck_assert_uint_ge(st.max[MASHD_STAGE_TICKS], 600 * MS);
	ck_assert_uint_lt(st.max[MASHD_STAGE_TICKS], 602 * MS + MS);
	ck_assert_uint_ge(st.max[MASHD_STAGE_COMMIT], 9 * MS);
	ck_assert_uint_lt(st.max[MASHD_STAGE_COMMIT], 600 * MS);
	ck_assert_uint_eq(st.n[MASHD_STAGE_VERIFY], 0);
	ck_assert_uint_eq(st.max[MASHD_STAGE_VERIFY], 0);
	/* A start in the future (a clock read on another CPU) adds 0. */
	mashd_stage_add(&st, MASHD_STAGE_VERIFY, mashd_stage_start() + MS);
	ck_assert_uint_eq(st.ns[MASHD_STAGE_VERIFY], 0);
	ck_assert_uint_eq(st.n[MASHD_STAGE_VERIFY], 1);
	mashd_stage_add(NULL, MASHD_STAGE_VERIFY, now);
	mashd_stage_add(&st, MASHD_STAGE_COUNT, now);
	ck_assert_uint_eq(st.n[MASHD_STAGE_VERIFY], 1);
}
END_TEST

START_TEST(the_line_names_every_stage_with_its_mean_and_longest)
{
	struct mashd_stages st;
	char line[1400];
	int s;

	memset(&st, 0, sizeof(st));
	st.ns[MASHD_STAGE_TICKS] = 640 * MS;
	st.n[MASHD_STAGE_TICKS] = 4;
	st.max[MASHD_STAGE_TICKS] = 600 * MS;
	mashd_stages_format(&st, line, sizeof(line));
	ck_assert_msg(strstr(line, "ticks 0.640 s/4 (160000.0 us, max "
	                           "600.0 ms)") != NULL,
	              "%s", line);
	ck_assert_msg(strstr(line, "verify 0.000 s/0 (0.0 us, max 0.0 ms)") ==
	                  line,
	              "%s", line);
	for (s = 0; s < MASHD_STAGE_COUNT; s++)
		ck_assert_msg(strstr(line, mashd_stage_name(s)) != NULL,
		              "%s missing: %s", mashd_stage_name(s), line);
	ck_assert_ptr_null(mashd_stage_name(MASHD_STAGE_COUNT));
	/* A short buffer is cut, never overrun. */
	memset(line, 'x', sizeof(line));
	mashd_stages_format(&st, line, 16);
	ck_assert_uint_eq(strlen(line), 15);
	ck_assert_int_eq(line[16], 'x');
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("stages");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, each_stage_keeps_its_total_count_and_longest);
	tcase_add_test(tc,
	               the_line_names_every_stage_with_its_mean_and_longest);
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
