#define _GNU_SOURCE /* memmem */
/*
 * test_account.c - the web console's local accounts (console/account.h,
 * issue 29 part 1): the right password opens a session holding the
 * principal's own keys; a wrong password or an unknown user opens
 * nothing and says the same; the accounts file is 0600 and holds neither
 * the password nor a private key in clear; a new password re-wraps the
 * keys; a removed user cannot sign in; a tampered file does not open.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/log.h"
#include "console/account.h"
#include "crypto/key.h"
#include "crypto/pki.h"

#define PW  "correct horse battery"
#define PW2 "another long passphrase"

static char dir[64], path[128], sign[128], enc[128];

static char *
slurp(const char *p)
{
	FILE *f = fopen(p, "rb");
	static char buf[1 << 16];
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void
setup(void)
{
	struct mash_key *k = NULL;

	mash_log_set_level(MASH_LOG_ERROR);
	(void)snprintf(dir, sizeof(dir), "/tmp/test_account_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/accounts.json", dir);
	(void)snprintf(sign, sizeof(sign), "%s/sign.pem", dir);
	(void)snprintf(enc, sizeof(enc), "%s/enc.pem", dir);
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_ED25519, &k), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(k, sign), MASH_OK);
	mash_key_free(k);
	ck_assert_int_eq(mash_key_generate_kind(MASH_KEY_X25519, &k), MASH_OK);
	ck_assert_int_eq(mash_key_save_private(k, enc), MASH_OK);
	mash_key_free(k);
}

static void
teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static int
add(const char *name, const char *pw)
{
	struct mash_acct_keys k = {NULL, sign, enc, NULL, NULL};
	char why[512];

	return mash_acct_add(path, name, "analyst.amara", pw, &k, why,
	                     sizeof(why));
}

START_TEST(right_password_opens_the_principals_own_keys)
{
	struct mash_acct_session *s = NULL;
	char sign_pem[4096], enc_pem[4096];
	struct stat sb;

	(void)snprintf(sign_pem, sizeof(sign_pem), "%s", slurp(sign));
	(void)snprintf(enc_pem, sizeof(enc_pem), "%s", slurp(enc));
	ck_assert_int_eq(add("amara", PW), MASH_OK);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(mash_acct_signin(path, "amara", PW, &s), MASH_OK);
	ck_assert_str_eq(s->name, "amara");
	ck_assert_str_eq(s->principal, "analyst.amara");
	ck_assert_str_eq(s->sign_key, sign_pem);
	ck_assert_str_eq(s->enc_key, enc_pem);
	mash_acct_session_free(s);
	/* The file: no password, no private key. */
	ck_assert_ptr_null(strstr(slurp(path), PW));
	ck_assert_ptr_null(strstr(slurp(path), "PRIVATE KEY"));
	ck_assert_ptr_null(strstr(slurp(path), sign_pem + 40));
}
END_TEST

START_TEST(wrong_password_and_unknown_user_open_nothing_alike)
{
	struct mash_acct_session *s = NULL;

	ck_assert_int_eq(add("amara", PW), MASH_OK);
	ck_assert_int_eq(mash_acct_signin(path, "amara", PW "x", &s),
	                 MASH_ERR_DENIED);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(mash_acct_signin(path, "nobody", PW, &s),
	                 MASH_ERR_DENIED);
	ck_assert_int_eq(mash_acct_signin(path, "amara", "", &s),
	                 MASH_ERR_DENIED);
	ck_assert_ptr_null(s);
}
END_TEST

START_TEST(new_password_rewraps_and_the_old_one_stops_working)
{
	struct mash_acct_session *s = NULL;
	char why[512];

	ck_assert_int_eq(add("amara", PW), MASH_OK);
	ck_assert_int_eq(
	    mash_acct_passwd(path, "amara", PW "x", PW2, why, sizeof(why)),
	    MASH_ERR_DENIED);
	ck_assert_int_eq(
	    mash_acct_passwd(path, "amara", PW, "short", why, sizeof(why)),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(
	    mash_acct_passwd(path, "amara", PW, PW2, why, sizeof(why)),
	    MASH_OK);
	ck_assert_int_eq(mash_acct_signin(path, "amara", PW, &s),
	                 MASH_ERR_DENIED);
	ck_assert_int_eq(mash_acct_signin(path, "amara", PW2, &s), MASH_OK);
	mash_acct_session_free(s);
}
END_TEST

START_TEST(names_passwords_and_keys_are_checked_on_add)
{
	char why[512];

	ck_assert_int_eq(add("amara", PW), MASH_OK);
	ck_assert_int_eq(add("amara", PW), MASH_ERR_EXISTS);
	ck_assert_int_eq(add("Amara Smith", PW), MASH_ERR_BAD_ID);
	ck_assert_int_eq(add("sam", "too short"), MASH_ERR_INVAL);
	/* The keys swapped: the signing key must be Ed25519. */
	struct mash_acct_keys swapped = {NULL, enc, sign, NULL, NULL};
	ck_assert_int_eq(mash_acct_add(path, "sam", "sw.sam", PW, &swapped, why,
	                               sizeof(why)),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_nonnull(strstr(why, enc));
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(add("sam", PW), MASH_ERR_DENIED);
}
END_TEST

/* The principal's broker identity (mutual TLS) is kept wrapped with its
 * keys and comes back at sign-in; half of one, or a key that is not the
 * certificate's, is refused on add. */
START_TEST(tls_identity_is_kept_with_the_keys_and_checked_on_add)
{
	struct mash_pki_issue_opts io = {30, 0, NULL, 0, 0};
	struct mash_acct_session *s = NULL;
	struct mash_acct_keys k = {"k7", sign, enc, NULL, NULL};
	char pki[128], cert[160], key[160], other[160], why[512];

	(void)snprintf(pki, sizeof(pki), "%s/pki", dir);
	ck_assert_int_eq(
	    mash_pki_init(pki, "mash-test-ca", 30, 0, why, sizeof(why)),
	    MASH_OK);
	ck_assert_int_eq(mash_pki_issue(pki, "sw.sam", &io, why, sizeof(why)),
	                 MASH_OK);
	ck_assert_int_eq(mash_pki_issue(pki, "sw.other", &io, why, sizeof(why)),
	                 MASH_OK);
	(void)snprintf(cert, sizeof(cert), "%s/sw.sam.pem", pki);
	(void)snprintf(key, sizeof(key), "%s/sw.sam.key", pki);
	(void)snprintf(other, sizeof(other), "%s/sw.other.key", pki);
	k.tls_cert = cert;
	ck_assert_int_eq(
	    mash_acct_add(path, "sam", "sw.sam", PW, &k, why, sizeof(why)),
	    MASH_ERR_INVAL);
	k.tls_key = other;
	ck_assert_int_eq(
	    mash_acct_add(path, "sam", "sw.sam", PW, &k, why, sizeof(why)),
	    MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_nonnull(strstr(why, other));
	k.tls_key = key;
	ck_assert_int_eq(
	    mash_acct_add(path, "sam", "sw.sam", PW, &k, why, sizeof(why)),
	    MASH_OK);
	/* Not in clear in the file. */
	ck_assert_ptr_null(strstr(slurp(path), "PRIVATE KEY"));
	ck_assert_int_eq(mash_acct_signin(path, "sam", PW, &s), MASH_OK);
	ck_assert_ptr_nonnull(s->tls_cert);
	ck_assert_ptr_nonnull(s->tls_key);
	ck_assert_str_eq(s->key_id, "k7");
	ck_assert_str_eq(s->tls_cert, slurp(cert));
	ck_assert_str_eq(s->tls_key, slurp(key));
	mash_acct_session_free(s);
	/* An account without one signs in with none. */
	ck_assert_int_eq(add("amara", PW), MASH_OK);
	ck_assert_int_eq(mash_acct_signin(path, "amara", PW, &s), MASH_OK);
	ck_assert_ptr_null(s->tls_cert);
	ck_assert_ptr_null(s->tls_key);
	ck_assert_str_eq(s->key_id, "k1");
	mash_acct_session_free(s);
}
END_TEST

START_TEST(removed_user_cannot_sign_in_and_others_still_can)
{
	struct mash_acct_session *s = NULL;
	char why[512];

	ck_assert_int_eq(add("amara", PW), MASH_OK);
	ck_assert_int_eq(add("sam", PW2), MASH_OK);
	ck_assert_int_eq(mash_acct_remove(path, "amara", why, sizeof(why)),
	                 MASH_OK);
	ck_assert_int_eq(mash_acct_remove(path, "amara", why, sizeof(why)),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_acct_signin(path, "amara", PW, &s),
	                 MASH_ERR_DENIED);
	ck_assert_int_eq(mash_acct_signin(path, "sam", PW2, &s), MASH_OK);
	mash_acct_session_free(s);
}
END_TEST

/* Keys moved from one account to another do not open (the name and
 * principal are bound into the wrapping). */
START_TEST(wrapped_keys_moved_to_another_account_do_not_open)
{
	struct mash_acct_session *s = NULL;
	char cmd[512];

	ck_assert_int_eq(add("amara", PW), MASH_OK);
	ck_assert_int_eq(add("sam", PW), MASH_OK);
	(void)snprintf(cmd, sizeof(cmd),
	               "/usr/bin/python3 -c 'import json,sys; p=sys.argv[1];"
	               " d=json.load(open(p)); u=d[\"users\"];"
	               " u[1][\"keys\"]=u[0][\"keys\"];"
	               " u[1][\"nonce\"]=u[0][\"nonce\"];"
	               " u[1][\"salt\"]=u[0][\"salt\"];"
	               " json.dump(d, open(p, \"w\"))' '%s'",
	               path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(mash_acct_signin(path, "sam", PW, &s),
	                 MASH_ERR_TAMPERED);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(mash_acct_signin(path, "amara", PW, &s), MASH_OK);
	mash_acct_session_free(s);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("account");
	TCase *tc = tcase_create("account");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, right_password_opens_the_principals_own_keys);
	tcase_add_test(tc, wrong_password_and_unknown_user_open_nothing_alike);
	tcase_add_test(tc, new_password_rewraps_and_the_old_one_stops_working);
	tcase_add_test(tc, names_passwords_and_keys_are_checked_on_add);
	tcase_add_test(tc, removed_user_cannot_sign_in_and_others_still_can);
	tcase_add_test(tc,
	               tls_identity_is_kept_with_the_keys_and_checked_on_add);
	tcase_add_test(tc, wrapped_keys_moved_to_another_account_do_not_open);
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
