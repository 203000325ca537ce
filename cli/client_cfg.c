/*
 * client_cfg.c - the principal's client config (see client_cfg.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libconfig.h>

#include "cli/client_cfg.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/trust.h"

#define DEFAULT_TIMEOUT_MS 10000
#define PATH_MAX_LEN       4096u

void
mashctl_client_cfg_clear(struct mashctl_client_cfg *c)
{
	mash_free(c->mqtt_uri);
	mash_free(c->key_file);
	mash_free(c->key_id);
	mash_free(c->enc_key_file);
	mash_free(c->trust_store);
	mash_free(c->daemon_signer);
	mash_free(c->holidays);
	mash_free(c->username);
	mash_free_str(c->password);
	mash_free(c->ca_file);
	mash_free(c->cert_file);
	mash_free(c->mqtt_key_file);
	memset(c, 0, sizeof(*c));
}

/* path resolved against the directory of the config file cfgpath (an
 * absolute path is kept as is). A new string or NULL (NOMEM/too long). */
static char *
resolve_path(const char *cfgpath, const char *path)
{
	char buf[PATH_MAX_LEN];
	const char *slash;
	int dirlen;

	if (path[0] == '/')
		return mash_strdup(path);
	slash = strrchr(cfgpath, '/');
	if (slash == NULL)
		return mash_strdup(path);
	dirlen = (int)(slash - cfgpath);
	if (mash_snprintf(buf, sizeof(buf), "%.*s/%s", dirlen, cfgpath, path) !=
	    MASH_OK)
		return NULL;
	return mash_strdup(buf);
}

/* Read an optional string setting of group g: MASH_OK (*out NULL when
 * absent), MASH_ERR_CONFIG (wrong type / too long / not UTF-8, reported),
 * MASH_ERR_NOMEM. If is_path, resolve it against the config's directory. */
static int
cfg_string(const char *cmd, const config_setting_t *g, const char *cfgpath,
           const char *name, int is_path, char **out)
{
	config_setting_t *s;
	const char *v;

	*out = NULL;
	s = config_setting_get_member(g, name);
	if (s == NULL)
		return MASH_OK;
	v = config_setting_get_string(s);
	if (v == NULL || v[0] == '\0' ||
	    mash_str_check(v, PATH_MAX_LEN - 1) != MASH_OK) {
		fprintf(stderr,
		        "%s: %s:%d: picture.%s must be a "
		        "non-empty string\n",
		        cmd, cfgpath, config_setting_source_line(s), name);
		return MASH_ERR_CONFIG;
	}
	*out = is_path ? resolve_path(cfgpath, v) : mash_strdup(v);
	return *out == NULL ? MASH_ERR_NOMEM : MASH_OK;
}

int
mashctl_client_cfg_load(const char *cmd, const char *path,
                        const char *principal, int need_signing_key,
                        struct mashctl_client_cfg *c)
{
	config_t lc;
	config_setting_t *g, *s;
	struct stat st;
	static const char *const known[] = {
	    "mqtt_uri",      "key_dir",       "key_file",       "key_id",
	    "trust_store",   "daemon_signer", "holidays",       "mqtt_username",
	    "mqtt_password", "mqtt_ca_file",  "mqtt_cert_file", "mqtt_key_file",
	    "mqtt_cert_dir", "mqtt_insecure", "timeout_ms",     "enc_key_dir",
	    "enc_key_id",    "enc_key_file"};
	char *key_dir = NULL, *cert_dir = NULL, *enc_dir = NULL;
	char *enc_id = NULL;
	unsigned i;
	char buf[PATH_MAX_LEN];
	int rc = MASH_ERR_CONFIG;
	int v;

	memset(c, 0, sizeof(*c));
	config_init(&lc);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: %s: cannot read config: %s\n", cmd, path,
		        errno ? strerror(errno) : "not a regular file");
		rc = MASH_ERR_IO;
		goto out;
	}
	if ((unsigned long long)st.st_size > MASH_MAX_CONFIG_FILE) {
		fprintf(stderr,
		        "%s: %s: config larger than %u "
		        "bytes\n",
		        cmd, path, MASH_MAX_CONFIG_FILE);
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		fprintf(stderr, "%s: %s:%d: %s\n", cmd,
		        config_error_file(&lc) ? config_error_file(&lc) : path,
		        config_error_line(&lc), config_error_text(&lc));
		rc = MASH_ERR_PARSE;
		goto out;
	}
	g = config_lookup(&lc, "picture");
	if (g == NULL || !config_setting_is_group(g)) {
		fprintf(stderr, "%s: %s: no 'picture' group\n", cmd, path);
		goto out;
	}
	/* A misspelt setting is refused, never left at its default. */
	for (i = 0; (s = config_setting_get_elem(g, i)) != NULL; i++) {
		const char *k = config_setting_name(s);
		size_t j;

		for (j = 0; j < sizeof(known) / sizeof(known[0]); j++)
			if (k != NULL && strcmp(k, known[j]) == 0)
				break;
		if (j == sizeof(known) / sizeof(known[0])) {
			fprintf(stderr,
			        "%s: %s:%d: unknown setting "
			        "'picture.%s'\n",
			        cmd, path, config_setting_source_line(s),
			        k != NULL ? k : "?");
			goto out;
		}
	}
	if ((rc = cfg_string(cmd, g, path, "mqtt_uri", 0, &c->mqtt_uri)) ||
	    (rc = cfg_string(cmd, g, path, "key_dir", 1, &key_dir)) ||
	    (rc = cfg_string(cmd, g, path, "key_file", 1, &c->key_file)) ||
	    (rc = cfg_string(cmd, g, path, "key_id", 0, &c->key_id)) ||
	    (rc =
	         cfg_string(cmd, g, path, "trust_store", 1, &c->trust_store)) ||
	    (rc = cfg_string(cmd, g, path, "daemon_signer", 0,
	                     &c->daemon_signer)) ||
	    (rc = cfg_string(cmd, g, path, "holidays", 1, &c->holidays)) ||
	    (rc = cfg_string(cmd, g, path, "mqtt_username", 0, &c->username)) ||
	    (rc = cfg_string(cmd, g, path, "mqtt_password", 0, &c->password)) ||
	    (rc = cfg_string(cmd, g, path, "mqtt_ca_file", 1, &c->ca_file)) ||
	    (rc = cfg_string(cmd, g, path, "mqtt_cert_file", 1,
	                     &c->cert_file)) ||
	    (rc = cfg_string(cmd, g, path, "mqtt_key_file", 1,
	                     &c->mqtt_key_file)) ||
	    (rc = cfg_string(cmd, g, path, "mqtt_cert_dir", 1, &cert_dir)) ||
	    (rc = cfg_string(cmd, g, path, "enc_key_dir", 1, &enc_dir)) ||
	    (rc = cfg_string(cmd, g, path, "enc_key_id", 0, &enc_id)) ||
	    (rc =
	         cfg_string(cmd, g, path, "enc_key_file", 1, &c->enc_key_file)))
		goto out;
	rc = MASH_ERR_CONFIG;
	if (c->mqtt_uri == NULL || c->trust_store == NULL ||
	    (need_signing_key && c->key_id == NULL)) {
		fprintf(stderr,
		        "%s: %s: picture.mqtt_uri, picture.trust_store%s "
		        "are required\n",
		        cmd, path,
		        need_signing_key ? " and picture.key_id" : "");
		goto out;
	}
	/* Plaintext only when asked for by name (issue 24). */
	s = config_setting_get_member(g, "mqtt_insecure");
	if (s != NULL && config_setting_type(s) != CONFIG_TYPE_BOOL) {
		fprintf(stderr,
		        "%s: %s:%d: picture.mqtt_insecure must be "
		        "true or false\n",
		        cmd, path, config_setting_source_line(s));
		goto out;
	}
	if (strncmp(c->mqtt_uri, "tcp://", 6) == 0 &&
	    (s == NULL || !config_setting_get_bool(s))) {
		fprintf(
		    stderr,
		    "%s: %s: picture.mqtt_uri: plaintext "
		    "tcp:// lets anyone on the network read the picture; "
		    "use ssl:// with mqtt_ca_file and mqtt_cert_dir, or set "
		    "mqtt_insecure = true (development only)\n",
		    cmd, path);
		goto out;
	}

	if (c->key_id != NULL && !mash_trust_id_valid(c->key_id)) {
		fprintf(stderr,
		        "%s: %s: picture.key_id is not "
		        "[a-z0-9._-]{1,64}\n",
		        cmd, path);
		goto out;
	}
	if (c->key_file == NULL && (need_signing_key || key_dir != NULL)) {
		if (key_dir == NULL || c->key_id == NULL) {
			fprintf(
			    stderr,
			    "%s: %s: picture.key_dir "
			    "(with key_id) or picture.key_file is required\n",
			    cmd, path);
			goto out;
		}
		if (mash_snprintf(buf, sizeof(buf), "%s/%s/%s.key.pem", key_dir,
		                  principal, c->key_id) != MASH_OK) {
			fprintf(stderr,
			        "%s: %s: key path too "
			        "long\n",
			        cmd, path);
			goto out;
		}
		c->key_file = mash_strdup(buf);
		if (c->key_file == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
	}
	/* The X25519 key that opens this principal's sealed deliveries
	 * (crypto/inbox.h), beside its signing key by default. */
	if (enc_id != NULL && !mash_trust_id_valid(enc_id)) {
		fprintf(stderr,
		        "%s: %s: picture.enc_key_id is not [a-z0-9._-]{1,64}\n",
		        cmd, path);
		goto out;
	}
	if (c->enc_key_file != NULL && enc_dir != NULL) {
		fprintf(stderr,
		        "%s: %s: picture.enc_key_dir or picture.enc_key_file, "
		        "not both\n",
		        cmd, path);
		goto out;
	}
	if (enc_dir != NULL) {
		if (mash_snprintf(buf, sizeof(buf), "%s/%s/%s.key.pem", enc_dir,
		                  principal,
		                  enc_id != NULL ? enc_id : "e1") != MASH_OK ||
		    (c->enc_key_file = mash_strdup(buf)) == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
	}
	/* Mutual TLS as the principal itself (docs/internals/security.md):
	 * the broker's ACL lets each certificate read only its own inbox,
	 * so the client certificate follows --as, as the signing key does. */
	if (cert_dir != NULL) {
		if (c->cert_file != NULL || c->mqtt_key_file != NULL) {
			fprintf(stderr,
			        "%s: %s: picture.mqtt_cert_dir "
			        "or mqtt_cert_file/mqtt_key_file, not both\n",
			        cmd, path);
			goto out;
		}
		if (mash_snprintf(buf, sizeof(buf), "%s/%s.pem", cert_dir,
		                  principal) != MASH_OK ||
		    (c->cert_file = mash_strdup(buf)) == NULL ||
		    mash_snprintf(buf, sizeof(buf), "%s/%s.key", cert_dir,
		                  principal) != MASH_OK ||
		    (c->mqtt_key_file = mash_strdup(buf)) == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
	}
	if (c->daemon_signer == NULL) {
		c->daemon_signer = mash_strdup("mashd");
		if (c->daemon_signer == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
	}
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	s = config_setting_get_member(g, "timeout_ms");
	if (s != NULL) {
		v = config_setting_get_int(s);
		if (config_setting_type(s) != CONFIG_TYPE_INT || v <= 0 ||
		    v > MASHCTL_CLIENT_MAX_TIMEOUT_S * 1000) {
			fprintf(stderr,
			        "%s: %s:%d: "
			        "picture.timeout_ms must be 1..%d\n",
			        cmd, path, config_setting_source_line(s),
			        MASHCTL_CLIENT_MAX_TIMEOUT_S * 1000);
			goto out;
		}
		c->timeout_ms = v;
	}
	rc = MASH_OK;
out:
	mash_free(key_dir);
	mash_free(cert_dir);
	mash_free(enc_dir);
	mash_free(enc_id);
	config_destroy(&lc);
	if (rc != MASH_OK)
		mashctl_client_cfg_clear(c);
	return rc;
}
