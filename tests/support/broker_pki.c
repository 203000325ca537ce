/*
 * broker_pki.c - the test broker's mutual TLS (issue 24): a PKI made with
 * the product's own crypto/pki.h and the ACL that policy/acl.h generates
 * from the shipped directory, so that mashd and the agents in every
 * integration test run under the rights they have in production. Test
 * harness clients (publishing forged events, watching every inbox) use
 * MASH_TEST_HARNESS, which only the test broker's ACL knows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/mem.h"
#include "crypto/pki.h"
#include "event/evt.h"
#include "policy/acl.h"
#include "policy/dir.h"
#include "support/broker.h"
#include "support/sealed_inbox.h"

static int
issue(const char *pki, const char *name, int server)
{
	static const char *const hosts[] = {"localhost", "127.0.0.1"};
	struct mash_pki_issue_opts o;
	char err[MASH_PKI_ERRLEN];

	memset(&o, 0, sizeof(o));
	o.days = 30;
	o.server = server;
	o.hosts = server ? hosts : NULL;
	o.n_hosts = server ? 2 : 0;
	if (mash_pki_issue(pki, name, &o, err, sizeof(err)) != MASH_OK) {
		fprintf(stderr, "broker: pki %s: %s\n", name, err);
		return -1;
	}
	return 0;
}

int
mash_test_hub_pki(const char *dir)
{
	char pki[600], acl[600], dpath[600], err[512];
	const char *src = getenv("MASH_SOURCE_DIR"), *a;
	struct mash_dir *d = NULL;
	struct mash_dir_entry e;
	char *text = NULL, *all = NULL;
	size_t len = 0, i;
	int rc = -1;

	(void)snprintf(pki, sizeof(pki), "%s/pki", dir);
	(void)snprintf(acl, sizeof(acl), "%s/acl", dir);
	(void)snprintf(dpath, sizeof(dpath), "%s/policy/directory.cfg",
	               src != NULL ? src : ".");
	err[0] = '\0';
	if (mash_pki_init(pki, "it-ca", 30, 0, err, sizeof(err)) != MASH_OK ||
	    mash_dir_load(dpath, &d, err, sizeof(err)) != MASH_OK ||
	    mash_acl_generate(d, dpath, &text, &len, err, sizeof(err)) !=
	        MASH_OK) {
		fprintf(stderr, "broker: pki/acl: %s\n", err);
		goto out;
	}
	if (issue(pki, "broker", 1) != 0 ||
	    issue(pki, MASH_ACL_DAEMON, 0) != 0 ||
	    issue(pki, MASH_TEST_HARNESS, 0) != 0)
		goto out;
	for (i = 0; (a = mash_evt_agency_name(i)) != NULL; i++)
		if (issue(pki, a, 0) != 0)
			goto out;
	for (i = 0; mash_dir_get(d, i, &e) == MASH_OK; i++)
		if (issue(pki, e.principal, 0) != 0)
			goto out;
	all = malloc(len + 128);
	if (all == NULL)
		goto out;
	(void)snprintf(all, len + 128,
	               "%s# The test harness only: every topic.\n"
	               "user %s\ntopic readwrite #\n",
	               text, MASH_TEST_HARNESS);
	if (mash_test_write_file(acl, all, strlen(all)) != 0 ||
	    mash_test_hub_enc_keys(dir, dpath) != 0)
		goto out;
	rc = 0;
out:
	free(all);
	mash_free(text);
	mash_dir_free(d);
	return rc;
}

void
mash_test_broker_files(const struct mash_test_broker *b, const char *identity,
                       struct mash_test_tls *t)
{
	const char *dir = mash_test_broker_dir(b);

	(void)snprintf(t->ca, sizeof(t->ca), "%s/pki/ca.pem", dir);
	(void)snprintf(t->cert, sizeof(t->cert), "%s/pki/%s.pem", dir,
	               identity);
	(void)snprintf(t->key, sizeof(t->key), "%s/pki/%s.key", dir, identity);
}

void
mash_test_broker_mq_opts(const struct mash_test_broker *b, const char *identity,
                         struct mash_test_tls *t, struct mash_mq_opts *o)
{
	o->uri = mash_test_broker_uri(b);
	if (strncmp(o->uri, "ssl://", 6) != 0)
		return;
	mash_test_broker_files(b, identity, t);
	o->ca_file = t->ca;
	o->cert_file = t->cert;
	o->key_file = t->key;
}

const char *
mash_test_broker_mqtt_cfg(const struct mash_test_broker *b,
                          const char *identity, char *buf, size_t n)
{
	struct mash_test_tls t;
	const char *uri = mash_test_broker_uri(b);

	if (strncmp(uri, "ssl://", 6) != 0) {
		(void)snprintf(buf, n, "uri = \"%s\"; insecure = true;", uri);
		return buf;
	}
	mash_test_broker_files(b, identity, &t);
	(void)snprintf(buf, n,
	               "uri = \"%s\"; ca_file = \"%s\"; cert_file = \"%s\"; "
	               "key_file = \"%s\";",
	               uri, t.ca, t.cert, t.key);
	return buf;
}
