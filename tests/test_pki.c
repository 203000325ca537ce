/*
 * test_pki.c - the hub's private PKI (issue 24): a CA, identities with
 * their name as CN, keys 0600, nothing overwritten without force, server
 * names in subjectAltName, and the start-up check of an identity that
 * refuses a missing file, a key of another certificate, a file that is
 * not PEM and an expired certificate, naming the file.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/err.h"
#include "crypto/pki.h"
#include "support/crypto_fixture.h"

static char dir[256], other[256], err[MASH_PKI_ERRLEN];

static void
setup(void)
{
	ck_assert_ptr_nonnull(mash_test_tmpdir(dir, sizeof(dir)));
	ck_assert_ptr_nonnull(mash_test_tmpdir(other, sizeof(other)));
	strcat(dir, "/pki");
	strcat(other, "/pki");
	err[0] = '\0';
}

static void
teardown(void)
{
	char *slash;

	slash = strrchr(dir, '/');
	*slash = '\0';
	mash_test_rmtree(dir);
	slash = strrchr(other, '/');
	*slash = '\0';
	mash_test_rmtree(other);
}

static const char *
path(const char *d, const char *file)
{
	static char p[4][600];
	static int i;

	i = (i + 1) % 4;
	(void)snprintf(p[i], sizeof(p[i]), "%s/%s", d, file);
	return p[i];
}

static X509 *
load_cert(const char *p)
{
	FILE *f = fopen(p, "r");
	X509 *x;

	ck_assert_ptr_nonnull(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

static int
mode_of(const char *p)
{
	struct stat sb;

	ck_assert_int_eq(stat(p, &sb), 0);
	return (int)(sb.st_mode & 0777);
}

static void
issue(const char *d, const char *name, int server, int force, int want)
{
	static const char *const hosts[] = {"localhost", "127.0.0.1",
	                                    "broker.mash.example"};
	struct mash_pki_issue_opts o;

	memset(&o, 0, sizeof(o));
	o.days = 30;
	o.server = server;
	o.hosts = server ? hosts : NULL;
	o.n_hosts = server ? 3 : 0;
	o.force = force;
	ck_assert_msg(mash_pki_issue(d, name, &o, err, sizeof(err)) == want,
	              "issue %s: %s", name, err);
}

START_TEST(init_makes_a_ca_with_a_private_key_and_never_replaces_it)
{
	X509 *ca;

	ck_assert_int_eq(
	    mash_pki_init(dir, "mash-ca", 365, 0, err, sizeof(err)), MASH_OK);
	ck_assert_int_eq(mode_of(path(dir, "ca.key")), 0600);
	ck_assert_int_eq(mode_of(dir), 0700);
	ca = load_cert(path(dir, "ca.pem"));
	ck_assert_int_eq(X509_check_ca(ca), 1);
	X509_free(ca);
	ck_assert_int_eq(
	    mash_pki_init(dir, "mash-ca", 365, 0, err, sizeof(err)),
	    MASH_ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(err, "--force"));
	ck_assert_int_eq(
	    mash_pki_init(dir, "mash-ca", 365, 1, err, sizeof(err)), MASH_OK);
	ck_assert_int_eq(
	    mash_pki_init(dir, "Bad Name", 365, 0, err, sizeof(err)),
	    MASH_ERR_INVAL);
	ck_assert_int_eq(mash_pki_init(dir, "ca", 0, 1, err, sizeof(err)),
	                 MASH_ERR_INVAL);
}
END_TEST

START_TEST(issued_identity_has_its_name_as_cn_and_checks_out)
{
	char cn[128];
	X509 *x;

	ck_assert_int_eq(
	    mash_pki_init(dir, "mash-ca", 365, 0, err, sizeof(err)), MASH_OK);
	issue(dir, "police", 0, 0, MASH_OK);
	ck_assert_int_eq(mode_of(path(dir, "police.key")), 0600);
	x = load_cert(path(dir, "police.pem"));
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	                                           NID_commonName, cn,
	                                           sizeof(cn)),
	                 0);
	ck_assert_str_eq(cn, "police");
	ck_assert_int_eq(X509_check_ca(x), 0);
	ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	ck_assert(!(X509_get_extended_key_usage(x) & XKU_SSL_SERVER));
	X509_free(x);
	ck_assert_msg(mash_pki_check_identity(
	                  path(dir, "ca.pem"), path(dir, "police.pem"),
	                  path(dir, "police.key"), err, sizeof(err)) == MASH_OK,
	              "%s", err);
	/* Never replaced without force. */
	issue(dir, "police", 0, 0, MASH_ERR_EXISTS);
	issue(dir, "police", 0, 1, MASH_OK);
	/* Names that could not be an MQTT user or a file name. */
	issue(dir, "../police", 0, 0, MASH_ERR_INVAL);
	issue(dir, "ca", 0, 1, MASH_ERR_INVAL);
}
END_TEST

START_TEST(server_certificate_names_its_hosts)
{
	X509 *x;

	ck_assert_int_eq(
	    mash_pki_init(dir, "mash-ca", 365, 0, err, sizeof(err)), MASH_OK);
	issue(dir, "broker", 1, 0, MASH_OK);
	x = load_cert(path(dir, "broker.pem"));
	ck_assert_int_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(x, "broker.mash.example", 0, 0, NULL),
	                 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	ck_assert_int_eq(X509_check_host(x, "evil.example", 0, 0, NULL), 0);
	ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	X509_free(x);
}
END_TEST

START_TEST(issue_without_a_ca_says_which_file_is_missing)
{
	issue(dir, "police", 0, 0, MASH_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err, "ca.key: no such file"));
}
END_TEST

START_TEST(identity_check_refuses_missing_mismatched_and_not_pem)
{
	ck_assert_int_eq(
	    mash_pki_init(dir, "mash-ca", 365, 0, err, sizeof(err)), MASH_OK);
	ck_assert_int_eq(
	    mash_pki_init(other, "rogue-ca", 365, 0, err, sizeof(err)),
	    MASH_OK);
	issue(dir, "police", 0, 0, MASH_OK);
	issue(dir, "health", 0, 0, MASH_OK);
	issue(other, "police", 0, 0, MASH_OK);
	/* A missing key, named. */
	ck_assert_int_eq(mash_pki_check_identity(
	                     path(dir, "ca.pem"), path(dir, "police.pem"),
	                     path(dir, "gone.key"), err, sizeof(err)),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_ptr_nonnull(strstr(err, "gone.key: no such file"));
	/* Health's key with police's certificate. */
	ck_assert_int_eq(mash_pki_check_identity(
	                     path(dir, "ca.pem"), path(dir, "police.pem"),
	                     path(dir, "health.key"), err, sizeof(err)),
	                 MASH_ERR_KEY_FORMAT);
	ck_assert_ptr_nonnull(strstr(err, "health.key"));
	/* A certificate from another CA is the broker's to refuse
	 * (it_tls_acl); its own pair checks out here. */
	ck_assert_int_eq(mash_pki_check_identity(
	                     path(dir, "ca.pem"), path(other, "police.pem"),
	                     path(other, "police.key"), err, sizeof(err)),
	                 MASH_OK);
	/* Not PEM at all. */
	ck_assert_int_eq(mash_pki_check_identity(
	                     path(dir, "police.key"), path(dir, "police.pem"),
	                     path(dir, "police.key"), err, sizeof(err)),
	                 MASH_ERR_KEY_FORMAT);
}
END_TEST

/* Re-sign dir/NAME.pem with its CA so that it expired yesterday. */
static void
make_expired(const char *name)
{
	char p[600];
	FILE *f;
	EVP_PKEY *cakey;
	X509 *x;

	f = fopen(path(dir, "ca.key"), "r");
	ck_assert_ptr_nonnull(f);
	cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(cakey);
	(void)snprintf(p, sizeof(p), "%s/%s.pem", dir, name);
	x = load_cert(p);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(x), -172800));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(x), -86400));
	ck_assert_int_gt(X509_sign(x, cakey, EVP_sha256()), 0);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(cakey);
}

START_TEST(identity_check_refuses_an_expired_certificate)
{
	ck_assert_int_eq(
	    mash_pki_init(dir, "mash-ca", 365, 0, err, sizeof(err)), MASH_OK);
	issue(dir, "yot", 0, 0, MASH_OK);
	make_expired("yot");
	ck_assert_int_eq(
	    mash_pki_check_identity(path(dir, "ca.pem"), path(dir, "yot.pem"),
	                            path(dir, "yot.key"), err, sizeof(err)),
	    MASH_ERR_EXPIRED);
	ck_assert_ptr_nonnull(strstr(err, "yot.pem"));
	ck_assert_ptr_nonnull(strstr(err, "expired"));
}
END_TEST

static Suite *
pki_suite(void)
{
	Suite *s = suite_create("pki");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(
	    tc, init_makes_a_ca_with_a_private_key_and_never_replaces_it);
	tcase_add_test(tc, issued_identity_has_its_name_as_cn_and_checks_out);
	tcase_add_test(tc, server_certificate_names_its_hosts);
	tcase_add_test(tc, issue_without_a_ca_says_which_file_is_missing);
	tcase_add_test(tc,
	               identity_check_refuses_missing_mismatched_and_not_pem);
	tcase_add_test(tc, identity_check_refuses_an_expired_certificate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pki_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
