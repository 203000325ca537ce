/* Unit tests for agents/receipt.h (issue 31): a receipt payload settles
 * something only when it decodes, names this agency and an event, carries
 * a final status and keeps every string within its bound; each refusal
 * has its own error code, and nothing is handed out on failure. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "agents/receipt.h"
#include "common/err.h"
#include "crypto/env.h"

static uint8_t g_buf[4096];
static char g_long[300];

/* Pack r into g_buf; its length. */
static size_t
pack(const Mash__V1__Receipt *r)
{
	size_t n = mash__v1__receipt__get_packed_size(r);

	ck_assert_uint_le(n, sizeof(g_buf));
	return mash__v1__receipt__pack(r, g_buf);
}

static int
decode(size_t n, Mash__V1__Receipt **out)
{
	char why[256];
	int rc;

	rc = mash_receipt_decode(g_buf, n, "police", out, why, sizeof(why));
	if (rc != MASH_OK) {
		ck_assert_ptr_null(*out);
		ck_assert_str_ne(why, "");
	}
	return rc;
}

static void
base(Mash__V1__Receipt *r)
{
	mash__v1__receipt__init(r);
	r->event_id = "6f1c2a7e-0000-4000-8000-000000000000";
	r->agency = "police";
	r->status = MASH__V1__RECEIPT__STATUS__ACCEPTED;
	r->case_id = "c-0001";
	r->audit_seq = 42;
}

START_TEST(accepted_receipt_for_this_agency_decodes)
{
	Mash__V1__Receipt r, *out = NULL;

	base(&r);
	ck_assert_int_eq(decode(pack(&r), &out), MASH_OK);
	ck_assert_str_eq(out->event_id, r.event_id);
	ck_assert_str_eq(out->case_id, "c-0001");
	ck_assert_uint_eq(out->audit_seq, 42);
	mash__v1__receipt__free_unpacked(out, mash_env_pb_allocator());
}
END_TEST

START_TEST(receipt_for_another_agency_is_refused)
{
	Mash__V1__Receipt r, *out = NULL;

	base(&r);
	r.agency = "health";
	ck_assert_int_eq(decode(pack(&r), &out), MASH_ERR_AGENCY_MISMATCH);
}
END_TEST

START_TEST(receipt_without_event_or_final_status_is_refused)
{
	Mash__V1__Receipt r, *out = NULL;

	base(&r);
	r.event_id = "";
	ck_assert_int_eq(decode(pack(&r), &out), MASH_ERR_MISSING_FIELD);
	base(&r);
	r.status = MASH__V1__RECEIPT__STATUS__RECEIPT_UNSPECIFIED;
	ck_assert_int_eq(decode(pack(&r), &out), MASH_ERR_BAD_ENUM);
	base(&r);
	r.status = (Mash__V1__Receipt__Status)77;
	ck_assert_int_eq(decode(pack(&r), &out), MASH_ERR_BAD_ENUM);
}
END_TEST

START_TEST(overlong_strings_are_refused_before_use)
{
	Mash__V1__Receipt r, *out = NULL;

	memset(g_long, 'a', sizeof(g_long) - 1);
	base(&r);
	r.reason = g_long; /* 299 > 256 */
	ck_assert_int_eq(decode(pack(&r), &out), MASH_ERR_FIELD_TOO_LONG);
	base(&r);
	g_long[129] = '\0';
	r.event_id = g_long; /* 129 > 128 */
	ck_assert_int_eq(decode(pack(&r), &out), MASH_ERR_FIELD_TOO_LONG);
}
END_TEST

START_TEST(bad_utf8_and_garbage_are_refused)
{
	static const uint8_t bad_utf8[] = {0x0a, 0x02, 0xc3, 0x28};
	static const uint8_t garbage[] = {0x0a, 0x7f, 0x01};
	Mash__V1__Receipt *out = NULL;
	char why[64];

	ck_assert_int_eq(mash_receipt_decode(bad_utf8, sizeof(bad_utf8),
	                                     "police", &out, why, sizeof(why)),
	                 MASH_ERR_BAD_UTF8);
	ck_assert_ptr_null(out);
	ck_assert_int_ne(mash_receipt_decode(garbage, sizeof(garbage), "police",
	                                     &out, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(
	    mash_receipt_decode(NULL, 0, NULL, &out, why, sizeof(why)),
	    MASH_ERR_INVAL);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("receipt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, accepted_receipt_for_this_agency_decodes);
	tcase_add_test(tc, receipt_for_another_agency_is_refused);
	tcase_add_test(tc, receipt_without_event_or_final_status_is_refused);
	tcase_add_test(tc, overlong_strings_are_refused_before_use);
	tcase_add_test(tc, bad_utf8_and_garbage_are_refused);
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
