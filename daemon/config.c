/*
 * config.c - mashd's configuration, one table of keys. libconfig parses
 * the file and reports file and line for every error; we walk every
 * setting in the file and refuse the ones the table does not know, so a
 * misspelt key ("trust_stor") is an error rather than a silent default.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/str.h"
#include "common/topics.h"
#include "daemon/config.h"
#include "store/store.h"

enum key_type { K_STR, K_INT, K_BOOL };

struct key {
	const char *name; /* dotted path */
	enum key_type type;
	size_t off;
	int64_t min, max; /* K_INT range */
};

#define S(n, f)                                                                \
	{                                                                      \
		n, K_STR, offsetof(struct mashd_config, f), 0, 0               \
	}
#define I(n, f, lo, hi)                                                        \
	{                                                                      \
		n, K_INT, offsetof(struct mashd_config, f), lo, hi             \
	}
#define B(n, f)                                                                \
	{                                                                      \
		n, K_BOOL, offsetof(struct mashd_config, f), 0, 1              \
	}

static const struct key keys[] = {
    S("mqtt.uri", mqtt_uri),
    S("mqtt.client_id", mqtt_client_id),
    S("mqtt.username", mqtt_username),
    S("mqtt.password", mqtt_password),
    S("mqtt.ca_file", mqtt_ca_file),
    S("mqtt.cert_file", mqtt_cert_file),
    S("mqtt.key_file", mqtt_key_file),
    B("mqtt.verify_peer", mqtt_verify_peer),
    B("mqtt.insecure", mqtt_insecure),
    B("mqtt.clean_start", mqtt_clean_start),
    I("mqtt.keepalive", mqtt_keepalive, 5, 3600),
    I("mqtt.session_expiry", mqtt_session_expiry, 0, 4294967295LL),
    I("mqtt.reconnect_min", mqtt_reconnect_min, 1, 3600),
    I("mqtt.reconnect_max", mqtt_reconnect_max, 1, 3600),
    S("mqtt.subscribe", mqtt_subscribe),
    S("mqtt.picture_subscribe", mqtt_picture_subscribe),
    I("mqtt.queue_max_messages", mqtt_queue_max_messages, 1, 1000000),
    I("mqtt.queue_max_bytes", mqtt_queue_max_bytes, 1024,
      4LL * 1024 * 1024 * 1024),
    I("mqtt.publish_timeout_ms", mqtt_publish_timeout_ms, 100, 600000),
    S("signer", signer),
    S("key_id", key_id),
    S("key_file", key_file),
    S("trust_store", trust_store),
    S("store", store),
    S("store_key_file", store_key_file),
    I("store_cache_mib", store_cache_mib, 1, MASH_STORE_CACHE_MIB_MAX),
    S("policy", policy),
    S("directory", directory),
    S("calendar", calendar),
    S("log_level", log_level),
    I("max_message", max_message, 1024, MASH_MAX_ENVELOPE),
    I("tick_ms", tick_ms, 50, 60000),
    I("drain_timeout_ms", drain_timeout_ms, 0, 600000),
    I("ingest.batch_max", ingest_batch_max, 1, MASHD_BATCH_MAX),
    S("audit.log_id", audit_log_id),
    I("audit.checkpoint_every_records", audit_checkpoint_every_records, 0,
      1000000000),
    I("quarantine.retention_days", quarantine_retention_days, 0, 36500),
    I("replay.future_s", replay_future_s, 0, 86400),
    I("replay.past_days", replay_past_days, 0, 36500),
    I("outbox.max_attempts", outbox_max_attempts, 1, 1000),
    I("outbox.max_age_s", outbox_max_age_s, 0, 86400LL * 31),
    I("outbox.retry_ms", outbox_retry_ms, 1, 60000),
    I("audit.checkpoint_every_ms", audit_checkpoint_every_ms, 0,
      86400000LL * 31),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void
mashd_config_defaults(struct mashd_config *c)
{
	memset(c, 0, sizeof(*c));
	mash_strlcpy(c->mqtt_client_id, "mashd", sizeof(c->mqtt_client_id));
	c->mqtt_verify_peer = 1;
	c->mqtt_clean_start = 0;
	c->mqtt_keepalive = 30;
	c->mqtt_session_expiry = 7 * 86400;
	c->mqtt_reconnect_min = 1;
	c->mqtt_reconnect_max = 30;
	mash_strlcpy(c->mqtt_subscribe, "mash/v1/events/+",
	             sizeof(c->mqtt_subscribe));
	mash_strlcpy(c->mqtt_picture_subscribe, MASH_TOPIC_PICTURE_REQUESTS,
	             sizeof(c->mqtt_picture_subscribe));
	c->mqtt_queue_max_messages = 1024;
	c->mqtt_queue_max_bytes = 64LL * 1024 * 1024;
	c->mqtt_publish_timeout_ms = 5000;
	mash_strlcpy(c->signer, "mashd", sizeof(c->signer));
	mash_strlcpy(c->log_level, "info", sizeof(c->log_level));
	c->max_message = MASH_MAX_ENVELOPE;
	c->tick_ms = 1000;
	c->drain_timeout_ms = 10000;
	c->ingest_batch_max = 32;
	/* The audit trail's and the events' indexes of a busy day, not a
	 * whole store: past 2 MiB (SQLite's default) each insert re-read its
	 * index pages from the file (issue 22: 9.5 % of the core thread with
	 * five agencies interleaved). */
	c->store_cache_mib = 64;
	mash_strlcpy(c->audit_log_id, "mash-audit", sizeof(c->audit_log_id));
	c->audit_checkpoint_every_records = 1000;
	c->audit_checkpoint_every_ms = 60000;
	c->quarantine_retention_days = 30;
	/* Five minutes of clock skew; agencies re-send after outages of up to
	 * a year (their outboxes keep records until receipted). */
	c->replay_future_s = 300;
	c->replay_past_days = 400;
	/* A refused delivery holds up its own inbox only, and for at most
	 * about ten minutes before an operator sees it as a dead letter. */
	c->outbox_max_attempts = 5;
	c->outbox_max_age_s = 600;
	c->outbox_retry_ms = 1000;
}

static const struct key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* 1 if name is a group some key lives in ("mqtt", "audit"). */
static int
is_group(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < NKEYS; i++)
		if (strncmp(keys[i].name, name, n) == 0 &&
		    keys[i].name[n] == '.')
			return 1;
	return 0;
}

static int
store_str(struct mashd_config *c, const struct key *k, const char *v, char *err,
          size_t errlen)
{
	char *dst = (char *)c + k->off;

	if (mash_str_check(v, MASHD_CFG_MAX_STR - 1) != MASH_OK) {
		mash_snprintf(err, errlen,
		              "%s: not UTF-8 or longer than %u bytes", k->name,
		              MASHD_CFG_MAX_STR - 1);
		return MASH_ERR_CONFIG;
	}
	mash_strlcpy(dst, v, MASHD_CFG_MAX_STR);
	return MASH_OK;
}

static int
store_int(struct mashd_config *c, const struct key *k, int64_t v, char *err,
          size_t errlen)
{
	if (v < k->min || v > k->max) {
		mash_snprintf(err, errlen, "%s: %lld is outside %lld..%lld",
		              k->name, (long long)v, (long long)k->min,
		              (long long)k->max);
		return MASH_ERR_CONFIG;
	}
	if (k->type == K_BOOL)
		*(int *)((char *)c + k->off) = (int)v;
	else
		*(int64_t *)((char *)c + k->off) = v;
	return MASH_OK;
}

/* Walk group g (path prefix pre) and store every setting. */
static int
walk(struct mashd_config *c, config_setting_t *g, const char *pre,
     const char *path, char *err, size_t errlen)
{
	config_setting_t *s;
	const struct key *k;
	char name[256];
	int i, n, type, rc;
	const char *file;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		file = config_setting_source_file(s);
		if (file == NULL)
			file = path;
		if (mash_snprintf(name, sizeof(name), "%s%s%s", pre,
		                  pre[0] ? "." : "",
		                  config_setting_name(s)) != MASH_OK) {
			mash_snprintf(err, errlen,
			              "%s:%d: setting name too long", file,
			              config_setting_source_line(s));
			return MASH_ERR_CONFIG;
		}
		type = config_setting_type(s);
		if (type == CONFIG_TYPE_GROUP && pre[0] == '\0' &&
		    is_group(name)) {
			rc = walk(c, s, name, path, err, errlen);
			if (rc != MASH_OK)
				return rc;
			continue;
		}
		k = find_key(name);
		if (k == NULL) {
			mash_snprintf(err, errlen,
			              "%s:%d: unknown setting '%s'", file,
			              config_setting_source_line(s), name);
			return MASH_ERR_CONFIG;
		}
		rc = MASH_ERR_CONFIG;
		if (k->type == K_STR && type == CONFIG_TYPE_STRING) {
			rc = store_str(c, k, config_setting_get_string(s), err,
			               errlen);
		} else if (k->type == K_INT && (type == CONFIG_TYPE_INT ||
		                                type == CONFIG_TYPE_INT64)) {
			rc = store_int(c, k, config_setting_get_int64(s), err,
			               errlen);
		} else if (k->type == K_BOOL && type == CONFIG_TYPE_BOOL) {
			rc = store_int(c, k, config_setting_get_bool(s), err,
			               errlen);
		} else {
			mash_snprintf(err, errlen, "%s:%d: '%s' must be %s",
			              file, config_setting_source_line(s), name,
			              k->type == K_STR   ? "a string"
			              : k->type == K_INT ? "an integer"
			                                 : "true or false");
			return MASH_ERR_CONFIG;
		}
		if (rc != MASH_OK) {
			/* Prefix the location to the range message. */
			char tmp[MASHD_CFG_ERR_LEN];

			mash_strlcpy(tmp, err, sizeof(tmp));
			mash_snprintf(err, errlen, "%s:%d: %s", file,
			              config_setting_source_line(s), tmp);
			return rc;
		}
	}
	return MASH_OK;
}

int
mashd_config_read(struct mashd_config *c, const char *path, char *err,
                  size_t errlen)
{
	config_t cf;
	struct stat st;
	FILE *f = NULL;
	int rc = MASH_ERR_IO;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	config_init(&cf);
	if (c == NULL || path == NULL) {
		rc = MASH_ERR_INVAL;
		goto out;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		mash_snprintf(err, errlen, "%s: cannot read: %s", path,
		              strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)MASH_MAX_CONFIG_FILE) {
		mash_snprintf(err, errlen,
		              "%s: not a regular file of at most "
		              "%u bytes",
		              path, MASH_MAX_CONFIG_FILE);
		goto out;
	}
	if (config_read(&cf, f) != CONFIG_TRUE) {
		mash_snprintf(err, errlen, "%s:%d: %s", path,
		              config_error_line(&cf), config_error_text(&cf));
		rc = MASH_ERR_PARSE;
		goto out;
	}
	rc = walk(c, config_root_setting(&cf), "", path, err, errlen);
out:
	if (f != NULL)
		fclose(f);
	config_destroy(&cf);
	return rc;
}

int
mashd_config_set_kv(struct mashd_config *c, const char *key, const char *value,
                    char *err, size_t errlen)
{
	const struct key *k;
	int64_t v;

	k = find_key(key);
	if (k == NULL) {
		mash_snprintf(err, errlen, "unknown setting '%s'", key);
		return MASH_ERR_CONFIG;
	}
	if (k->type == K_STR)
		return store_str(c, k, value, err, errlen);
	if (k->type == K_BOOL) {
		if (strcmp(value, "true") == 0)
			return store_int(c, k, 1, err, errlen);
		if (strcmp(value, "false") == 0)
			return store_int(c, k, 0, err, errlen);
		mash_snprintf(err, errlen, "%s: must be true or false", key);
		return MASH_ERR_CONFIG;
	}
	if (mash_parse_i64(value, k->min, k->max, &v) != MASH_OK) {
		mash_snprintf(err, errlen, "%s: not an integer in %lld..%lld",
		              key, (long long)k->min, (long long)k->max);
		return MASH_ERR_CONFIG;
	}
	return store_int(c, k, v, err, errlen);
}

int
mashd_config_set(struct mashd_config *c, const char *kv, char *err,
                 size_t errlen)
{
	char key[128];
	const char *eq;

	eq = kv != NULL ? strchr(kv, '=') : NULL;
	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
		mash_snprintf(err, errlen, "'%s': expected KEY=VALUE",
		              kv != NULL ? kv : "");
		return MASH_ERR_CONFIG;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	return mashd_config_set_kv(c, key, eq + 1, err, errlen);
}

int
mashd_config_validate(const struct mashd_config *c, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} required[] = {
	    {"mqtt.uri", offsetof(struct mashd_config, mqtt_uri)},
	    {"mqtt.client_id", offsetof(struct mashd_config, mqtt_client_id)},
	    {"signer", offsetof(struct mashd_config, signer)},
	    {"key_id", offsetof(struct mashd_config, key_id)},
	    {"key_file", offsetof(struct mashd_config, key_file)},
	    {"trust_store", offsetof(struct mashd_config, trust_store)},
	    {"store", offsetof(struct mashd_config, store)},
	    {"mqtt.subscribe", offsetof(struct mashd_config, mqtt_subscribe)},
	};
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (((const char *)c + required[i].off)[0] == '\0') {
			mash_snprintf(err, errlen, "%s: required but not set",
			              required[i].name);
			return MASH_ERR_CONFIG;
		}
	}
	if (strncmp(c->mqtt_uri, "tcp://", 6) != 0 &&
	    strncmp(c->mqtt_uri, "ssl://", 6) != 0) {
		mash_snprintf(err, errlen,
		              "mqtt.uri: must start with tcp:// or ssl://");
		return MASH_ERR_CONFIG;
	}
	/* Plaintext reaches anyone on the network: only when asked for by
	 * name (issue 24; docs/internals/security.md). */
	if (strncmp(c->mqtt_uri, "tcp://", 6) == 0 && !c->mqtt_insecure) {
		mash_snprintf(
		    err, errlen,
		    "mqtt.uri: plaintext tcp:// lets anyone on the "
		    "network read and write the hub's messages; use "
		    "ssl:// with mqtt.ca_file, cert_file and key_file, "
		    "or set mqtt.insecure = true (development only)");
		return MASH_ERR_CONFIG;
	}
	if (c->mqtt_reconnect_max < c->mqtt_reconnect_min) {
		mash_snprintf(
		    err, errlen,
		    "mqtt.reconnect_max: less than mqtt.reconnect_min");
		return MASH_ERR_CONFIG;
	}
	if (strcmp(c->log_level, "error") != 0 &&
	    strcmp(c->log_level, "warn") != 0 &&
	    strcmp(c->log_level, "info") != 0 &&
	    strcmp(c->log_level, "debug") != 0) {
		mash_snprintf(err, errlen,
		              "log_level: must be error, warn, info or debug");
		return MASH_ERR_CONFIG;
	}
	if ((c->mqtt_cert_file[0] != '\0') != (c->mqtt_key_file[0] != '\0')) {
		mash_snprintf(err, errlen,
		              "mqtt.cert_file and mqtt.key_file "
		              "must be set together");
		return MASH_ERR_CONFIG;
	}
	return MASH_OK;
}
