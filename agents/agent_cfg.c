/*
 * agent_cfg.c - reading the agent's libconfig file. Every setting is
 * type-checked and bounded; errors name the file and line
 * (config_setting_source_line), never a secret value.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "agents/agent_cfg.h"
#include "agents/map.h"
#include "agents/outbox.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

#define PATH_MAX_CFG 4096u

struct loader {
	const char *path;
	char dir[PATH_MAX_CFG];
	char *why;
	size_t whylen;
};

static int fail(struct loader *l, const config_setting_t *s, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static int
fail(struct loader *l, const config_setting_t *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->why != NULL) {
		if (s != NULL && config_setting_source_line(s) > 0)
			(void)snprintf(l->why, l->whylen, "%s:%u: %s", l->path,
			               config_setting_source_line(s), msg);
		else
			(void)snprintf(l->why, l->whylen, "%s: %s", l->path,
			               msg);
	}
	return MASH_ERR_CONFIG;
}

/* A string setting at path (e.g. "agent.mqtt.uri"): *dst is a copy, or
 * NULL when absent and not required. */
static int
get_str(struct loader *l, const config_t *cf, const char *name, int required,
        size_t max, char **dst)
{
	const config_setting_t *s = config_lookup(cf, name);
	const char *v;

	*dst = NULL;
	if (s == NULL) {
		if (required)
			return fail(l, NULL, "%s: missing", name);
		return MASH_OK;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(l, s, "%s: expected a string", name);
	v = config_setting_get_string(s);
	if (v == NULL || v[0] == '\0') {
		if (required)
			return fail(l, s, "%s: empty", name);
		return MASH_OK;
	}
	if (mash_str_check(v, max) != MASH_OK)
		return fail(l, s, "%s: longer than %zu bytes or not UTF-8",
		            name, max);
	*dst = mash_strdup(v);
	return *dst != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

/* As get_str, for a file path: relative paths are taken from the config
 * file's directory. */
static int
get_path(struct loader *l, const config_t *cf, const char *name, int required,
         char **dst)
{
	char *v = NULL, buf[PATH_MAX_CFG];
	int rc;

	rc = get_str(l, cf, name, required, PATH_MAX_CFG - 1, &v);
	if (rc != MASH_OK || v == NULL || v[0] == '/') {
		*dst = v;
		return rc;
	}
	if (mash_snprintf(buf, sizeof(buf), "%s/%s", l->dir, v) != MASH_OK) {
		mash_free(v);
		*dst = NULL;
		return fail(l, config_lookup(cf, name), "%s: path too long",
		            name);
	}
	mash_free(v);
	*dst = mash_strdup(buf);
	return *dst != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

static int
get_int(struct loader *l, const config_t *cf, const char *name, long long min,
        long long max, long long def, long long *dst)
{
	const config_setting_t *s = config_lookup(cf, name);
	long long v;

	*dst = def;
	if (s == NULL)
		return MASH_OK;
	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else
		return fail(l, s, "%s: expected an integer", name);
	if (v < min || v > max)
		return fail(l, s, "%s: must be %lld..%lld", name, min, max);
	*dst = v;
	return MASH_OK;
}

static int
get_bool(struct loader *l, const config_t *cf, const char *name, int def,
         int *dst)
{
	const config_setting_t *s = config_lookup(cf, name);

	*dst = def;
	if (s == NULL)
		return MASH_OK;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(l, s, "%s: expected true or false", name);
	*dst = config_setting_get_bool(s);
	return MASH_OK;
}

void
mash_agent_cfg_free(struct mash_agent_cfg *c)
{
	if (c == NULL)
		return;
	mash_free(c->uri);
	mash_free(c->client_id);
	mash_free(c->username);
	mash_free_str(c->password);
	mash_free(c->ca_file);
	mash_free(c->cert_file);
	mash_free(c->key_file);
	mash_free(c->signer);
	mash_free(c->key_id);
	mash_free(c->sign_key);
	mash_free(c->trust_store);
	mash_free(c->daemon_pub);
	mash_free(c->daemon_key_id);
	mash_free(c->daemon_signer);
	mash_free(c->outbox);
	mash_free(c->outbox_key);
	mash_free(c->log_level);
	mash_free(c);
}

/* Every setting the agent reads (load below). Anything else is refused
 * with its file and line, as mashd does: a misspelt key (conect_ms) would
 * otherwise leave its default in force without a word (issue 23). */
static const char *const known_keys[] = {
    "agent",
    "agent.agency",
    "agent.log_level",
    "agent.mqtt",
    "agent.mqtt.uri",
    "agent.mqtt.client_id",
    "agent.mqtt.username",
    "agent.mqtt.password",
    "agent.mqtt.ca_file",
    "agent.mqtt.cert_file",
    "agent.mqtt.key_file",
    "agent.mqtt.verify_peer",
    "agent.mqtt.insecure",
    "agent.mqtt.keepalive_s",
    "agent.mqtt.reconnect_min_s",
    "agent.mqtt.reconnect_max_s",
    "agent.signer",
    "agent.signer.id",
    "agent.signer.key_id",
    "agent.signer.key_file",
    "agent.receipts",
    "agent.receipts.trust_store",
    "agent.receipts.daemon_public_key",
    "agent.receipts.daemon_key_id",
    "agent.receipts.signer",
    "agent.outbox",
    "agent.outbox.path",
    "agent.outbox.key_file",
    "agent.outbox.backoff_min_ms",
    "agent.outbox.backoff_max_ms",
    "agent.outbox.max_inflight",
    "agent.timeouts",
    "agent.timeouts.connect_ms",
    "agent.timeouts.publish_ms",
    "agent.timeouts.receipt_wait_ms",
    "agent.timeouts.follow_poll_ms",
};

static int
key_known(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (strcmp(known_keys[i], path) == 0)
			return 1;
	return 0;
}

/* Walk the settings under s (whose dotted path is prefix) and refuse the
 * first one not in known_keys. */
static int
check_keys(struct loader *l, const config_setting_t *s, const char *prefix)
{
	char path[256];
	const config_setting_t *e;
	const char *name;
	int i, rc;

	for (i = 0; (e = config_setting_get_elem(s, (unsigned)i)) != NULL;
	     i++) {
		name = config_setting_name(e);
		if (name == NULL)
			continue; /* an array or list element */
		if (snprintf(path, sizeof(path), "%s%s%s", prefix,
		             prefix[0] ? "." : "", name) >= (int)sizeof(path) ||
		    !key_known(path))
			return fail(l, e, "unknown setting '%s'", path);
		if (config_setting_is_group(e)) {
			rc = check_keys(l, e, path);
			if (rc != MASH_OK)
				return rc;
		}
	}
	return MASH_OK;
}

static int
load(struct loader *l, const config_t *cf, const char *agency,
     struct mash_agent_cfg *c)
{
	char *cfg_agency = NULL;
	long long v;
	int rc;

	rc = get_str(l, cf, "agent.agency", 0, MASH_MAX_AGENCY, &cfg_agency);
	if (rc != MASH_OK)
		goto out;
	if (cfg_agency != NULL && strcmp(cfg_agency, agency) != 0) {
		rc = fail(l, config_lookup(cf, "agent.agency"),
		          "agent.agency is '%s' but --agency is '%s'",
		          cfg_agency, agency);
		goto out;
	}
	(void)mash_strlcpy(c->agency, agency, sizeof(c->agency));
	if ((rc = get_str(l, cf, "agent.mqtt.uri", 1, 512, &c->uri)) !=
	        MASH_OK ||
	    (rc = get_str(l, cf, "agent.mqtt.client_id", 1, MASH_MAX_ID,
	                  &c->client_id)) != MASH_OK ||
	    (rc = get_str(l, cf, "agent.mqtt.username", 0, MASH_MAX_SHORT,
	                  &c->username)) != MASH_OK ||
	    (rc = get_str(l, cf, "agent.mqtt.password", 0, MASH_MAX_SHORT,
	                  &c->password)) != MASH_OK ||
	    (rc = get_path(l, cf, "agent.mqtt.ca_file", 0, &c->ca_file)) !=
	        MASH_OK ||
	    (rc = get_path(l, cf, "agent.mqtt.cert_file", 0, &c->cert_file)) !=
	        MASH_OK ||
	    (rc = get_path(l, cf, "agent.mqtt.key_file", 0, &c->key_file)) !=
	        MASH_OK ||
	    (rc = get_bool(l, cf, "agent.mqtt.verify_peer", 1,
	                   &c->verify_peer)) != MASH_OK ||
	    (rc = get_bool(l, cf, "agent.mqtt.insecure", 0, &c->insecure)) !=
	        MASH_OK)
		goto out;
	/* Plaintext reaches anyone on the network: only when asked for by
	 * name (issue 24; docs/internals/security.md). */
	if (strncmp(c->uri, "tcp://", 6) == 0 && !c->insecure) {
		rc = fail(l, config_lookup(cf, "agent.mqtt.uri"),
		          "agent.mqtt.uri: plaintext tcp:// lets anyone on the "
		          "network read the agency's records; use ssl:// with "
		          "ca_file, cert_file and key_file, or set "
		          "agent.mqtt.insecure = true (development only)");
		goto out;
	}
	rc = get_int(l, cf, "agent.mqtt.keepalive_s", 5, 3600, 30, &v);
	if (rc != MASH_OK)
		goto out;
	c->keepalive_s = (int)v;
	rc = get_int(l, cf, "agent.mqtt.reconnect_min_s", 1, 3600, 1, &v);
	if (rc != MASH_OK)
		goto out;
	c->reconnect_min_s = (int)v;
	rc = get_int(l, cf, "agent.mqtt.reconnect_max_s", 1, 3600, 30, &v);
	if (rc != MASH_OK)
		goto out;
	c->reconnect_max_s = (int)v;
	if (c->reconnect_max_s < c->reconnect_min_s) {
		rc =
		    fail(l, config_lookup(cf, "agent.mqtt.reconnect_max_s"),
		         "agent.mqtt.reconnect_max_s is below reconnect_min_s");
		goto out;
	}
	if ((rc = get_str(l, cf, "agent.signer.id", 0, MASH_MAX_ID,
	                  &c->signer)) != MASH_OK ||
	    (rc = get_str(l, cf, "agent.signer.key_id", 1, MASH_MAX_ID,
	                  &c->key_id)) != MASH_OK ||
	    (rc = get_path(l, cf, "agent.signer.key_file", 1, &c->sign_key)) !=
	        MASH_OK)
		goto out;
	if (c->signer == NULL) {
		c->signer = mash_strdup(agency);
		if (c->signer == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
	}
	/* The daemon refuses an envelope whose signer is not the topic's
	 * agency (wire-contract.md, SignedEnvelope): say so now. */
	if (strcmp(c->signer, agency) != 0) {
		rc = fail(l, config_lookup(cf, "agent.signer.id"),
		          "agent.signer.id must be the agency '%s'", agency);
		goto out;
	}
	if ((rc = get_path(l, cf, "agent.receipts.trust_store", 0,
	                   &c->trust_store)) != MASH_OK ||
	    (rc = get_path(l, cf, "agent.receipts.daemon_public_key", 0,
	                   &c->daemon_pub)) != MASH_OK ||
	    (rc = get_str(l, cf, "agent.receipts.daemon_key_id", 0, MASH_MAX_ID,
	                  &c->daemon_key_id)) != MASH_OK ||
	    (rc = get_str(l, cf, "agent.receipts.signer", 0, MASH_MAX_ID,
	                  &c->daemon_signer)) != MASH_OK)
		goto out;
	if ((c->trust_store == NULL) == (c->daemon_pub == NULL)) {
		rc = fail(l, config_lookup(cf, "agent.receipts"),
		          "agent.receipts: set exactly one of trust_store and "
		          "daemon_public_key");
		goto out;
	}
	if (c->daemon_pub != NULL && c->daemon_key_id == NULL) {
		rc = fail(l, config_lookup(cf, "agent.receipts"),
		          "agent.receipts.daemon_key_id: required with "
		          "daemon_public_key");
		goto out;
	}
	if (c->daemon_signer == NULL) {
		c->daemon_signer = mash_strdup("mashd");
		if (c->daemon_signer == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
	}
	rc = get_path(l, cf, "agent.outbox.path", 1, &c->outbox);
	if (rc != MASH_OK)
		goto out;
	rc = get_path(l, cf, "agent.outbox.key_file", 0, &c->outbox_key);
	if (rc != MASH_OK)
		goto out;
	rc = get_int(l, cf, "agent.outbox.backoff_min_ms", 10, 3600000,
	             MASH_OUTBOX_DEFAULT_BACKOFF_MIN_MS, &v);
	if (rc != MASH_OK)
		goto out;
	c->backoff_min_ms = v;
	rc = get_int(l, cf, "agent.outbox.backoff_max_ms", 10, 86400000,
	             MASH_OUTBOX_DEFAULT_BACKOFF_MAX_MS, &v);
	if (rc != MASH_OK)
		goto out;
	c->backoff_max_ms = v;
	if (c->backoff_max_ms < c->backoff_min_ms) {
		rc =
		    fail(l, config_lookup(cf, "agent.outbox.backoff_max_ms"),
		         "agent.outbox.backoff_max_ms is below backoff_min_ms");
		goto out;
	}
	/* 128: six agencies (768) stay below mashd's default queue of 1024, so
	 * its receive queue never fills (docs/internals/mq.md, sizing). */
	rc = get_int(l, cf, "agent.outbox.max_inflight", 1, 100000, 128, &v);
	if (rc != MASH_OK)
		goto out;
	c->max_inflight = (uint32_t)v;
	rc =
	    get_int(l, cf, "agent.timeouts.connect_ms", 100, 600000, 10000, &v);
	if (rc != MASH_OK)
		goto out;
	c->connect_timeout_ms = (int)v;
	rc = get_int(l, cf, "agent.timeouts.publish_ms", 100, 600000, 5000, &v);
	if (rc != MASH_OK)
		goto out;
	c->publish_timeout_ms = (int)v;
	rc = get_int(l, cf, "agent.timeouts.receipt_wait_ms", 0, 86400000,
	             60000, &v);
	if (rc != MASH_OK)
		goto out;
	c->receipt_wait_ms = (int)v;
	rc = get_int(l, cf, "agent.timeouts.follow_poll_ms", 10, 600000, 500,
	             &v);
	if (rc != MASH_OK)
		goto out;
	c->follow_poll_ms = (int)v;
	rc = get_str(l, cf, "agent.log_level", 0, 16, &c->log_level);
out:
	mash_free(cfg_agency);
	return rc;
}

int
mash_agent_cfg_load(const char *path, const char *agency,
                    struct mash_agent_cfg **out, char *why, size_t whylen)
{
	struct mash_agent_cfg *c = NULL;
	struct loader l;
	struct stat st;
	config_t cf;
	const char *slash;
	int rc = MASH_ERR_INVAL, cf_live = 0;

	if (out != NULL)
		*out = NULL;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (path == NULL || agency == NULL || out == NULL)
		goto out;
	memset(&l, 0, sizeof(l));
	l.path = path;
	l.why = why;
	l.whylen = whylen;
	slash = strrchr(path, '/');
	if (slash == NULL)
		(void)mash_strlcpy(l.dir, ".", sizeof(l.dir));
	else if (slash == path)
		(void)mash_strlcpy(l.dir, "/", sizeof(l.dir));
	else if ((size_t)(slash - path) < sizeof(l.dir))
		(void)snprintf(l.dir, sizeof(l.dir), "%.*s",
		               (int)(slash - path), path);
	else {
		rc = fail(&l, NULL, "path too long");
		goto out;
	}
	if (!mash_agent_agency_known(agency)) {
		rc = fail(&l, NULL, "unknown agency '%s'", agency);
		goto out;
	}
	if (stat(path, &st) != 0) {
		/* "no such file" with the path, not "input/output error". */
		if (why != NULL)
			(void)snprintf(why, whylen, "%s: %s", path,
			               errno == ENOENT ? "no such file"
			                               : strerror(errno));
		rc = errno == ENOENT ? MASH_ERR_NOT_FOUND : MASH_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (why != NULL)
			(void)snprintf(why, whylen, "%s: not a regular file",
			               path);
		rc = MASH_ERR_IO;
		goto out;
	}
	if ((uint64_t)st.st_size > MASH_MAX_CONFIG_FILE) {
		if (why != NULL)
			(void)snprintf(why, whylen, "%s: larger than %u bytes",
			               path, MASH_MAX_CONFIG_FILE);
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	config_init(&cf);
	cf_live = 1;
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (why != NULL)
			(void)snprintf(why, whylen, "%s:%d: %s",
			               config_error_file(&cf) != NULL
			                   ? config_error_file(&cf)
			                   : path,
			               config_error_line(&cf),
			               config_error_text(&cf));
		rc = config_error_type(&cf) == CONFIG_ERR_FILE_IO
		         ? MASH_ERR_IO
		         : MASH_ERR_CONFIG;
		goto out;
	}
	rc = check_keys(&l, config_root_setting(&cf), "");
	if (rc != MASH_OK)
		goto out;
	c = mash_calloc(1, sizeof(*c));
	if (c == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	rc = load(&l, &cf, agency, c);
	if (rc != MASH_OK)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	if (cf_live)
		config_destroy(&cf);
	mash_agent_cfg_free(c);
	return rc;
}
