/*
 * sealed_inbox.c - the test hub's encryption keys and a delivery opener.
 * See sealed_inbox.h.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/inbox.h"
#include "crypto/key.h"
#include "support/broker.h"
#include "support/sealed_inbox.h"

#define INBOX_PREFIX "mash/v1/inbox/"

static int
make_key(const char *enc, const char *principal, char *pub, size_t publen)
{
	struct mash_key *k = NULL;
	char d[700], priv[800];
	int rc = -1;

	(void)snprintf(d, sizeof(d), "%s/%s", enc, principal);
	(void)snprintf(priv, sizeof(priv), "%s/e1.key.pem", d);
	(void)snprintf(pub, publen, "%s/e1.pub.pem", d);
	if (mkdir(d, 0700) != 0 ||
	    mash_key_generate_kind(MASH_KEY_X25519, &k) != MASH_OK ||
	    mash_key_save_private(k, priv) != MASH_OK ||
	    mash_key_save_public(k, pub) != MASH_OK) {
		fprintf(stderr, "sealed_inbox: cannot make %s's key in %s\n",
		        principal, d);
		goto out;
	}
	rc = 0;
out:
	mash_key_free(k);
	return rc;
}

int
mash_test_hub_enc_keys(const char *dir, const char *src_dir_cfg)
{
	config_t c;
	config_setting_t *ps, *p, *s;
	const char *name;
	char enc[600], out[600], pub[900];
	int i, rc = -1;

	config_init(&c);
	(void)snprintf(enc, sizeof(enc), "%s/enc", dir);
	(void)snprintf(out, sizeof(out), "%s/directory.cfg", dir);
	if (mkdir(enc, 0700) != 0 ||
	    config_read_file(&c, src_dir_cfg) != CONFIG_TRUE) {
		fprintf(stderr, "sealed_inbox: %s: %s\n", src_dir_cfg,
		        config_error_text(&c) ? config_error_text(&c)
		                              : "cannot make enc/");
		goto out;
	}
	ps = config_lookup(&c, "principals");
	for (i = 0; ps != NULL &&
	            (p = config_setting_get_elem(ps, (unsigned)i)) != NULL;
	     i++) {
		if (config_setting_lookup_string(p, "name", &name) !=
		        CONFIG_TRUE ||
		    make_key(enc, name, pub, sizeof(pub)) != 0)
			goto out;
		s = config_setting_add(p, "enc_key", CONFIG_TYPE_STRING);
		if (s == NULL ||
		    config_setting_set_string(s, pub) != CONFIG_TRUE)
			goto out;
	}
	if (config_write_file(&c, out) != CONFIG_TRUE) {
		fprintf(stderr, "sealed_inbox: cannot write %s\n", out);
		goto out;
	}
	rc = 0;
out:
	config_destroy(&c);
	return rc;
}

const char *
mash_test_broker_directory(const struct mash_test_broker *b, char *buf,
                           size_t n)
{
	(void)snprintf(buf, n, "%s/directory.cfg", mash_test_broker_dir(b));
	return buf;
}

const char *
mash_test_broker_enc_dir(const struct mash_test_broker *b, char *buf, size_t n)
{
	(void)snprintf(buf, n, "%s/enc", mash_test_broker_dir(b));
	return buf;
}

int
mash_test_subst_directory(const struct mash_test_broker *b, char *text,
                          size_t n)
{
	static const char tag[] = "@DIRECTORY@";
	char dir[700], *at, *rest;
	size_t dl, tl = sizeof(tag) - 1;

	mash_test_broker_directory(b, dir, sizeof(dir));
	dl = strlen(dir);
	while ((at = strstr(text, tag)) != NULL) {
		if (strlen(text) - tl + dl >= n)
			return -1;
		rest = at + tl;
		memmove(at + dl, rest, strlen(rest) + 1);
		memcpy(at, dir, dl);
	}
	return 0;
}

int
mash_test_open_delivery(const char *enc_dir, const struct mash_trust *trust,
                        const struct mash_mq_msg *m, const char *expect_type,
                        struct mash_env_opened **out, char *why, size_t whylen)
{
	struct mash_inbox_msg *im = NULL;
	struct mash_env_opened *o = NULL;
	struct mash_key *k = NULL;
	const char *principal;
	char path[900];
	int rc = MASH_ERR_INVAL;

	*out = NULL;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (strncmp(m->topic, INBOX_PREFIX, strlen(INBOX_PREFIX)) != 0)
		goto out;
	principal = m->topic + strlen(INBOX_PREFIX);
	(void)snprintf(path, sizeof(path), "%s/%s/e1.key.pem", enc_dir,
	               principal);
	rc = mash_key_load_kind(MASH_KEY_X25519, 1, path, &k);
	if (rc != MASH_OK) {
		(void)snprintf(why, whylen, "no key %s", path);
		goto out;
	}
	rc = mash_inbox_open(trust, "mashd", principal, k, m->payload, m->len,
	                     &im, why, whylen);
	if (rc != MASH_OK)
		goto out;
	if (expect_type != NULL && strcmp(im->payload_type, expect_type) != 0) {
		rc = MASH_ERR_PAYLOAD_TYPE;
		(void)snprintf(why, whylen, "sealed %s, expected %s",
		               im->payload_type, expect_type);
		goto out;
	}
	rc = MASH_ERR_NOMEM;
	o = mash_calloc(1, sizeof(*o));
	if (o == NULL)
		goto out;
	(void)mash_strlcpy(o->signer, im->signer, sizeof(o->signer));
	(void)mash_strlcpy(o->key_id, im->key_id, sizeof(o->key_id));
	(void)mash_strlcpy(o->payload_type, im->payload_type,
	                   sizeof(o->payload_type));
	o->payload = im->payload;
	o->payload_len = im->payload_len;
	im->payload = NULL; /* transferred */
	im->payload_len = 0;
	*out = o;
	rc = MASH_OK;
out:
	mash_inbox_msg_free(im);
	mash_key_free(k);
	return rc;
}
