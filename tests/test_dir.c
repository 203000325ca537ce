/* Unit tests for policy/dir: the directory of principals. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/key.h"
#include "policy/dir.h"

static char tmpdir[256];

static const char *
write_dir(const char *text)
{
	static char path[512];
	FILE *f;

	if (tmpdir[0] == '\0') {
		(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dir.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	}
	(void)snprintf(path, sizeof(path), "%s/directory.cfg", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void
setup(void)
{
	tmpdir[0] = '\0';
}

/* Remove the test's temp dir (fork mode: runs in the test's child). */
static void
teardown(void)
{
	char cmd[300];

	if (tmpdir[0] == '\0')
		return;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
	tmpdir[0] = '\0';
}

static const char *
default_dir(void)
{
	static char p[1024];
	const char *src = getenv("MASH_SOURCE_DIR");

	(void)snprintf(p, sizeof(p), "%s/policy/directory.cfg",
	               src != NULL ? src : ".");
	return p;
}

START_TEST(default_directory_has_the_ten_shared_principals)
{
	static const char *const expect[][3] = {
	    {"analyst.amara", "mash-analyst", "social-care"},
	    {"manager.morgan", "mash-manager", "social-care"},
	    {"sw.sam", "la-social-worker", "social-care"},
	    {"swm.taylor", "social-work-manager", "social-care"},
	    {"police.pp1", "police-public-protection", "police"},
	    {"health.nurse1", "health-safeguarding", "health"},
	    {"school.dsl1", "school-dsl", "education"},
	    {"yot.worker1", "yot-worker", "yot"},
	    {"housing.officer1", "housing-officer", "housing"},
	    {"auditor.ada", "auditor", "mash"},
	};
	struct mash_dir *dir = NULL;
	struct mash_dir_entry e;
	char eb[256];

	ck_assert_msg(mash_dir_load(default_dir(), &dir, eb, sizeof(eb)) ==
	                  MASH_OK,
	              "%s", eb);
	ck_assert_uint_eq(mash_dir_count(dir), 10);
	for (size_t i = 0; i < 10; i++) {
		ck_assert_int_eq(mash_dir_get(dir, i, &e), MASH_OK);
		ck_assert_str_eq(e.principal, expect[i][0]);
		ck_assert_str_eq(e.role, expect[i][1]);
		ck_assert_str_eq(e.agency, expect[i][2]);
		ck_assert_str_ne(e.contact, "");
	}
	ck_assert_int_eq(mash_dir_get(dir, 10, &e), MASH_ERR_NOT_FOUND);
	ck_assert_ptr_null(e.principal);
	ck_assert_ptr_nonnull(mash_dir_agency_contact(dir, "police"));
	ck_assert_ptr_null(mash_dir_agency_contact(dir, "mash"));
	mash_dir_free(dir);
}
END_TEST

START_TEST(lookup_finds_principal_and_refuses_unknown)
{
	struct mash_dir *dir = NULL;
	struct mash_dir_entry e;
	char eb[256];

	ck_assert_int_eq(mash_dir_load(default_dir(), &dir, eb, sizeof(eb)),
	                 MASH_OK);
	ck_assert_int_eq(mash_dir_lookup(dir, "health.nurse1", &e), MASH_OK);
	ck_assert_str_eq(e.role, "health-safeguarding");
	ck_assert_int_eq(mash_dir_lookup(dir, "health.nurse2", &e),
	                 MASH_ERR_UNKNOWN_PRINCIPAL);
	ck_assert_ptr_null(e.role);
	ck_assert_int_eq(mash_dir_lookup(NULL, "sw.sam", &e),
	                 MASH_ERR_UNKNOWN_PRINCIPAL);
	mash_dir_free(dir);
}
END_TEST

static const struct {
	const char *name;
	int ok;
} names[] = {
    {"a", 1},
    {"sw.sam", 1},
    {"x-y_z.0", 1},
    {"", 0},
    {"Sam", 0},
    {"a/b", 0},
    {"a+b", 0},
    {"a#", 0},
    {"a b", 0},
    {"1234567890123456789012345678901234567890123456789012345678901234", 1},
    {"12345678901234567890123456789012345678901234567890123456789012345", 0},
};

START_TEST(principal_names_are_topic_safe)
{
	ck_assert_int_eq(mash_dir_name_valid(names[_i].name), names[_i].ok);
}
END_TEST

static const struct {
	const char *label;
	const char *text;
	int rc;
	const char *msg;
} bad[] = {
    {"unknown-role",
     "principals = (\n  { name = \"a.b\"; role = \"mash-analyst\"; agency = "
     "\"police\"; },\n"
     "  { name = \"c.d\";\n    role = \"wizard\"; agency = \"police\"; }\n);\n",
     MASH_ERR_CONFIG, ":4: principal 'c.d': unknown role 'wizard'"},
    {"bad-name",
     "principals = (\n  { name = \"Bad/Name\"; role = \"auditor\"; agency = "
     "\"mash\"; }\n);\n",
     MASH_ERR_CONFIG, ":2: principal 'Bad/Name': name must be"},
    {"duplicate",
     "principals = (\n  { name = \"a\"; role = \"auditor\"; agency = \"mash\"; "
     "},\n"
     "  { name = \"a\"; role = \"auditor\"; agency = \"mash\"; }\n);\n",
     MASH_ERR_CONFIG, ":3: principal 'a': duplicate principal"},
    {"unknown-key",
     "principals = (\n  { name = \"a\"; role = \"auditor\"; agency = "
     "\"mash\";\n    shoe = \"9\"; }\n);\n",
     MASH_ERR_CONFIG, ":3: principal 'a': unknown key 'shoe'"},
    {"missing-role",
     "principals = (\n  { name = \"a\"; agency = \"mash\"; }\n);\n",
     MASH_ERR_CONFIG, ":2: principal 'a': missing 'role'"},
    {"unknown-agency",
     "principals = (\n  { name = \"a\"; role = \"auditor\"; agency = \"fire\"; "
     "}\n);\n",
     MASH_ERR_CONFIG, ":2: principal 'a': unknown agency 'fire'"},
    {"unknown-top-level", "principals = ();\nrooms = 3;\n", MASH_ERR_CONFIG,
     ":2: unknown key 'rooms'"},
    {"syntax", "principals = ( { name = \"a\" \n", MASH_ERR_PARSE,
     "syntax error"},
    {"no-principals", "agencies = ();\n", MASH_ERR_CONFIG,
     "'principals' must be a list"},
};

START_TEST(bad_directory_rejected_with_line)
{
	const char *path = write_dir(bad[_i].text);
	struct mash_dir *dir = (struct mash_dir *)1;
	char eb[256];
	int rc = mash_dir_load(path, &dir, eb, sizeof(eb));

	ck_assert_msg(rc == bad[_i].rc, "%s: rc %d %s", bad[_i].label, rc, eb);
	ck_assert_ptr_null(dir);
	ck_assert_msg(strstr(eb, bad[_i].msg) != NULL && strstr(eb, path) == eb,
	              "%s: expected '%s' in '%s'", bad[_i].label, bad[_i].msg,
	              eb);
}
END_TEST

START_TEST(overlong_contact_rejected)
{
	char text[1024];
	char contact[MASH_DIR_MAX_TEXT + 2];
	struct mash_dir *dir = NULL;
	char eb[256];

	memset(contact, 'c', MASH_DIR_MAX_TEXT);
	contact[MASH_DIR_MAX_TEXT] = '\0';
	(void)snprintf(text, sizeof(text),
	               "principals = ( { name = \"a\"; role = \"auditor\"; "
	               "agency = \"mash\";\n contact = \"%s\"; } );\n",
	               contact);
	ck_assert_int_eq(mash_dir_load(write_dir(text), &dir, eb, sizeof(eb)),
	                 MASH_OK);
	mash_dir_free(dir);
	dir = NULL;
	contact[MASH_DIR_MAX_TEXT] = 'c';
	contact[MASH_DIR_MAX_TEXT + 1] = '\0';
	(void)snprintf(text, sizeof(text),
	               "principals = ( { name = \"a\"; role = \"auditor\"; "
	               "agency = \"mash\";\n contact = \"%s\"; } );\n",
	               contact);
	ck_assert_int_eq(mash_dir_load(write_dir(text), &dir, eb, sizeof(eb)),
	                 MASH_ERR_CONFIG);
	ck_assert_ptr_nonnull(
	    strstr(eb, ":2: principal 'a': 'contact' is not"));
}
END_TEST

/* Write a fresh key of kind into tmpdir/NAME.pub.pem; its raw public
 * half into raw. */
static void
key_file(enum mash_key_kind kind, const char *name,
         uint8_t raw[MASH_DIR_ENC_KEY_LEN])
{
	char p[600];
	struct mash_key *k = NULL;

	(void)write_dir(""); /* makes tmpdir */
	(void)snprintf(p, sizeof(p), "%s/%s.pub.pem", tmpdir, name);
	ck_assert_int_eq(mash_key_generate_kind(kind, &k), MASH_OK);
	ck_assert_int_eq(mash_key_save_public(k, p), MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(k, raw), MASH_OK);
	mash_key_free(k);
}

START_TEST(principal_enc_key_from_a_path_or_inline_pem)
{
	uint8_t raw[MASH_DIR_ENC_KEY_LEN], raw2[MASH_DIR_ENC_KEY_LEN];
	struct mash_dir *dir = NULL;
	struct mash_dir_entry e;
	struct mash_key *k = NULL;
	char text[2048], eb[256], *pem = NULL;

	key_file(MASH_KEY_X25519, "amara", raw);
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, &k), MASH_OK);
	ck_assert_int_eq(mash_key_public_pem(k, &pem, NULL), MASH_OK);
	ck_assert_int_eq(mash_key_public_raw(k, raw2), MASH_OK);
	(void)snprintf(text, sizeof(text),
	               "principals = (\n"
	               " { name = \"a\"; role = \"auditor\"; agency = "
	               "\"mash\"; enc_key = \"amara.pub.pem\"; },\n"
	               " { name = \"b\"; role = \"auditor\"; agency = "
	               "\"mash\"; enc_key = \"%s\"; },\n"
	               " { name = \"c\"; role = \"auditor\"; agency = "
	               "\"mash\"; } );\n",
	               pem);
	ck_assert_msg(mash_dir_load(write_dir(text), &dir, eb, sizeof(eb)) ==
	                  MASH_OK,
	              "%s", eb);
	ck_assert_int_eq(mash_dir_lookup(dir, "a", &e), MASH_OK);
	ck_assert_ptr_nonnull(e.enc_pub);
	ck_assert_mem_eq(e.enc_pub, raw, MASH_DIR_ENC_KEY_LEN);
	ck_assert_int_eq(mash_dir_lookup(dir, "b", &e), MASH_OK);
	ck_assert_mem_eq(e.enc_pub, raw2, MASH_DIR_ENC_KEY_LEN);
	/* No key: nothing can be sealed to c. */
	ck_assert_int_eq(mash_dir_lookup(dir, "c", &e), MASH_OK);
	ck_assert_ptr_null(e.enc_pub);
	mash_dir_free(dir);
	mash_free(pem);
	mash_key_free(k);
}
END_TEST

START_TEST(malformed_enc_key_is_refused_with_its_line)
{
	uint8_t raw[MASH_DIR_ENC_KEY_LEN];
	struct mash_dir *dir = NULL;
	char eb[512];

	/* A signing key is not an encryption key. */
	key_file(MASH_KEY_ED25519, "signing", raw);
	ck_assert_int_eq(
	    mash_dir_load(write_dir("principals = (\n { name = \"a\"; role "
	                            "= \"auditor\"; agency = \"mash\";\n"
	                            "   enc_key = \"signing.pub.pem\"; } );\n"),
	                  &dir, eb, sizeof(eb)),
	    MASH_ERR_CONFIG);
	ck_assert_ptr_null(dir);
	ck_assert_msg(strstr(eb, ":3: principal 'a': enc_key is not an X25519 "
	                         "public key") != NULL,
	              "%s", eb);
	ck_assert_int_eq(
	    mash_dir_load(write_dir("principals = (\n { name = \"a\"; role "
	                            "= \"auditor\"; agency = \"mash\";\n"
	                            "   enc_key = \"-----BEGIN PUBLIC KEY-----"
	                            "\\nAAAA\\n-----END PUBLIC KEY-----\"; "
	                            "} );\n"),
	                  &dir, eb, sizeof(eb)),
	    MASH_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(eb, "enc_key is not an X25519"));
	ck_assert_int_eq(
	    mash_dir_load(write_dir("principals = (\n { name = \"a\"; role "
	                            "= \"auditor\"; agency = \"mash\";\n"
	                            "   enc_key = \"gone.pub.pem\"; } );\n"),
	                  &dir, eb, sizeof(eb)),
	    MASH_ERR_CONFIG);
	ck_assert_msg(strstr(eb, "gone.pub.pem: no such file") != NULL, "%s",
	              eb);
}
END_TEST

START_TEST(too_many_principals_rejected)
{
	size_t cap = 80 * (MASH_DIR_MAX_PRINCIPALS + 4);
	char *text = malloc(cap);
	size_t pos;
	struct mash_dir *dir = NULL;
	char eb[256];

	pos = (size_t)snprintf(text, cap, "principals = (\n");
	for (unsigned i = 0; i <= MASH_DIR_MAX_PRINCIPALS; i++)
		pos += (size_t)snprintf(text + pos, cap - pos,
		                        "%s{ name = \"p%u\"; role = "
		                        "\"auditor\"; agency = \"mash\"; }\n",
		                        i > 0 ? "," : "", i);
	(void)snprintf(text + pos, cap - pos, ");\n");
	ck_assert_int_eq(mash_dir_load(write_dir(text), &dir, eb, sizeof(eb)),
	                 MASH_ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(eb, "more than 1024 principals"));
	free(text);
}
END_TEST

START_TEST(load_survives_allocation_failures)
{
	struct mash_dir *dir = NULL;
	char eb[256];
	int rc = MASH_ERR_NOMEM;

	for (long n = 0; n < 500 && rc != MASH_OK; n++) {
		mash_mem_fail_after(n);
		rc = mash_dir_load(default_dir(), &dir, eb, sizeof(eb));
		mash_mem_fail_after(-1);
		if (rc != MASH_OK) {
			ck_assert_int_eq(rc, MASH_ERR_NOMEM);
			ck_assert_ptr_null(dir);
		}
	}
	ck_assert_int_eq(rc, MASH_OK);
	mash_dir_free(dir);
}
END_TEST

static Suite *
dir_suite(void)
{
	Suite *s = suite_create("dir");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, default_directory_has_the_ten_shared_principals);
	tcase_add_test(tc, lookup_finds_principal_and_refuses_unknown);
	tcase_add_loop_test(tc, principal_names_are_topic_safe, 0,
	                    sizeof(names) / sizeof(names[0]));
	tcase_add_loop_test(tc, bad_directory_rejected_with_line, 0,
	                    sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, overlong_contact_rejected);
	tcase_add_test(tc, principal_enc_key_from_a_path_or_inline_pem);
	tcase_add_test(tc, malformed_enc_key_is_refused_with_its_line);
	tcase_add_test(tc, too_many_principals_rejected);
	tcase_add_test(tc, load_survives_allocation_failures);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dir_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
