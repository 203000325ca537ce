/*
 * test_trigger_view.c - daemon/trigger_view.h (issue 26): a trigger's
 * reason and contributing events as one attendee may read them. A piece
 * about an agency whose record the attendee does not see becomes "that
 * agency contributed" when they may be signposted to it and is left out
 * when not; counts are kept; an agency seen for one event but not another
 * is not seen; a reason not in s47's form is told only to an attendee who
 * sees everything; a failing answer tells nothing.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "daemon/trigger_view.h"

static const char *const ids[] = {"s47.imminent", "s47.multi-agency",
                                  "s47.vcl-very-high", "s47.vcl"};
#define N_IDS (sizeof(ids) / sizeof(ids[0]))

static const char reason[] =
    "s47.multi-agency: 2 agencies reported severity 3+ concerns within 30 "
    "days. s47.vcl-very-high: police scored a Vulnerability Checklist "
    "factor 4 (VCL band VERY_HIGH): refer to the Risk Management Group. "
    "s47.imminent: health reported a severity 4 concern (harm may be "
    "imminent).";

static char events[3][MASH_S47_MAX_REF] = {"police/p-1", "health/h-1",
                                           "police/p-2"};

/* What the fake policy lets each recipient see, by event. */
struct seen {
	const char *recipient, *ref;
	int record, signpost, fail;
};
static const struct seen table[] = {
    {"sw.sam", "police/p-1", 1, 1, 0},
    {"sw.sam", "police/p-2", 1, 1, 0},
    {"sw.sam", "health/h-1", 1, 1, 0},
    {"housing.officer1", "police/p-1", 0, 1, 0},
    {"housing.officer1", "police/p-2", 0, 1, 0},
    {"housing.officer1", "health/h-1", 1, 1, 0},
    {"school.dsl1", "police/p-1", 0, 0, 0},
    {"school.dsl1", "police/p-2", 0, 0, 0},
    {"school.dsl1", "health/h-1", 0, 0, 0},
    {"yot.worker1", "police/p-1", 1, 1, 0},
    {"yot.worker1", "police/p-2", 0, 1, 0},
    {"yot.worker1", "health/h-1", 1, 1, 0},
    {"broken", "police/p-1", 1, 1, 1},
    {"broken", "police/p-2", 1, 1, 1},
    {"broken", "health/h-1", 1, 1, 1},
};

static unsigned last_n_agencies;

static int
fake_sees(void *ctx, const char *case_id, const char *recipient,
          const char *ref, unsigned level, unsigned n_agencies, int *record,
          int *signpost)
{
	size_t i;

	(void)ctx;
	ck_assert_str_eq(case_id, "C-1");
	ck_assert_uint_eq(level, 4);
	last_n_agencies = n_agencies;
	*record = *signpost = 0;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].recipient, recipient) == 0 &&
		    strcmp(table[i].ref, ref) == 0) {
			if (table[i].fail) {
				*record = *signpost = 1; /* must be ignored */
				return MASH_ERR_STORE;
			}
			*record = table[i].record;
			*signpost = table[i].signpost;
		}
	return MASH_OK;
}

static void
view(const char *recipient, const char *why, size_t n_events, char *out,
     size_t outsz, int *keep)
{
	ck_assert_int_eq(
	    mashd_trigger_view(ids, N_IDS, why,
	                       (const char(*)[MASH_S47_MAX_REF])events,
	                       n_events, "C-1", recipient, 4, fake_sees, NULL,
	                       out, outsz, keep),
	    MASH_OK);
}

START_TEST(an_attendee_who_sees_every_record_reads_the_whole_reason)
{
	char out[MASH_S47_MAX_REASON];
	int keep[3];

	view("sw.sam", reason, 3, out, sizeof(out), keep);
	ck_assert_str_eq(out, reason);
	ck_assert(keep[0] && keep[1] && keep[2]);
	ck_assert_uint_eq(last_n_agencies, 2);
}
END_TEST

START_TEST(no_vcl_score_for_an_attendee_who_may_not_see_police_record)
{
	char out[MASH_S47_MAX_REASON];
	int keep[3];

	view("housing.officer1", reason, 3, out, sizeof(out), keep);
	ck_assert_ptr_null(strstr(out, "Vulnerability Checklist"));
	ck_assert_ptr_null(strstr(out, "factor"));
	ck_assert_str_eq(
	    out, "s47.multi-agency: 2 agencies reported severity 3+ concerns "
	         "within 30 days. s47.vcl-very-high: police contributed. "
	         "s47.imminent: health reported a severity 4 concern (harm "
	         "may be imminent).");
	ck_assert_int_eq(keep[0], 0);
	ck_assert_int_eq(keep[1], 1);
	ck_assert_int_eq(keep[2], 0);
}
END_TEST

START_TEST(without_a_signpost_the_piece_is_left_out)
{
	char out[MASH_S47_MAX_REASON];
	int keep[3];

	view("school.dsl1", reason, 3, out, sizeof(out), keep);
	ck_assert_str_eq(out, "s47.multi-agency: 2 agencies reported severity "
	                      "3+ concerns within 30 days.");
	ck_assert(!keep[0] && !keep[1] && !keep[2]);
}
END_TEST

START_TEST(an_agency_seen_for_one_event_but_not_another_is_not_seen)
{
	char out[MASH_S47_MAX_REASON];
	int keep[3];

	view("yot.worker1", reason, 3, out, sizeof(out), keep);
	ck_assert_ptr_nonnull(strstr(out, "s47.vcl-very-high: police "
	                                  "contributed."));
	ck_assert_ptr_null(strstr(out, "factor 4"));
	ck_assert_int_eq(keep[0], 1);
	ck_assert_int_eq(keep[2], 0);
}
END_TEST

START_TEST(a_failing_answer_tells_nothing)
{
	char out[MASH_S47_MAX_REASON];
	int keep[3];

	view("broken", reason, 3, out, sizeof(out), keep);
	ck_assert_str_eq(out, "s47.multi-agency: 2 agencies reported severity "
	                      "3+ concerns within 30 days.");
	ck_assert(!keep[0] && !keep[1] && !keep[2]);
}
END_TEST

START_TEST(a_reason_not_in_s47_form_is_told_only_to_who_sees_everything)
{
	char out[MASH_S47_MAX_REASON];
	int keep[3];

	view("sw.sam", "manual: police and health concerns.", 3, out,
	     sizeof(out), keep);
	ck_assert_str_eq(out, "manual: police and health concerns.");
	view("housing.officer1", "manual: police and health concerns.", 3, out,
	     sizeof(out), keep);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(a_longer_rule_id_is_not_cut_at_a_shorter_one)
{
	char out[MASH_S47_MAX_REASON];
	int keep[3];

	/* "s47.vcl" is a prefix of "s47.vcl-very-high". */
	view("housing.officer1",
	     "s47.vcl: police scored a Vulnerability Checklist factor 3.", 3,
	     out, sizeof(out), keep);
	ck_assert_str_eq(out, "s47.vcl: police contributed.");
}
END_TEST

START_TEST(a_short_buffer_ends_at_a_piece_boundary)
{
	char out[80];
	int keep[3];

	view("sw.sam", reason, 3, out, sizeof(out), keep);
	ck_assert_str_eq(out, "s47.multi-agency: 2 agencies reported severity "
	                      "3+ concerns within 30 days.");
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
	char out[64];
	int keep[3];

	ck_assert_int_eq(
	    mashd_trigger_view(
	        ids, N_IDS, NULL, (const char(*)[MASH_S47_MAX_REF])events, 3,
	        "C-1", "sw.sam", 4, fake_sees, NULL, out, sizeof(out), keep),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_trigger_view(
	                     ids, N_IDS, reason,
	                     (const char(*)[MASH_S47_MAX_REF])events, 3, "C-1",
	                     "sw.sam", 4, NULL, NULL, out, sizeof(out), keep),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mashd_trigger_view(
	                     ids, N_IDS, reason,
	                     (const char(*)[MASH_S47_MAX_REF])events, 3, "C-1",
	                     "sw.sam", 4, fake_sees, NULL, out, 0, keep),
	                 MASH_ERR_INVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("trigger_view");
	TCase *tc = tcase_create("view");

	tcase_add_test(
	    tc, an_attendee_who_sees_every_record_reads_the_whole_reason);
	tcase_add_test(
	    tc, no_vcl_score_for_an_attendee_who_may_not_see_police_record);
	tcase_add_test(tc, without_a_signpost_the_piece_is_left_out);
	tcase_add_test(
	    tc, an_agency_seen_for_one_event_but_not_another_is_not_seen);
	tcase_add_test(tc, a_failing_answer_tells_nothing);
	tcase_add_test(
	    tc, a_reason_not_in_s47_form_is_told_only_to_who_sees_everything);
	tcase_add_test(tc, a_longer_rule_id_is_not_cut_at_a_shorter_one);
	tcase_add_test(tc, a_short_buffer_ends_at_a_piece_boundary);
	tcase_add_test(tc, bad_arguments_are_refused);
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
