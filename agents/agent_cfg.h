/*
 * agent_cfg.h - the mash-agent configuration file (libconfig), one per
 * agency agent: MQTT connection, signing key, how receipts are verified,
 * the outbox file, resend backoff and timeouts. The format is documented
 * in agents/README.md; agents/agent-<agency>.cfg are working examples.
 *
 * Relative paths in the file are resolved against the directory of the
 * configuration file, so a deployment directory can be moved whole.
 */
#ifndef MASH_AGENT_CFG_H
#define MASH_AGENT_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

struct mash_agent_cfg {
	char agency[MASH_MAX_AGENCY + 1];
	/* mqtt */
	char *uri;
	char *client_id;
	char *username;  /* NULL: none */
	char *password;  /* NULL: none */
	char *ca_file;   /* NULL: none */
	char *cert_file; /* NULL: none */
	char *key_file;  /* NULL: none (TLS client key, not the signing key) */
	int verify_peer;
	int insecure; /* agent.mqtt.insecure: tcp:// allowed, warned */
	int keepalive_s;
	int reconnect_min_s;
	int reconnect_max_s;
	/* signing */
	char *signer; /* = agency */
	char *key_id;
	char *sign_key; /* PKCS#8 PEM private key path */
	/* receipts: a trust store directory, or the daemon's public key */
	char *trust_store;   /* NULL if daemon_pub is used */
	char *daemon_pub;    /* NULL if trust_store is used */
	char *daemon_key_id; /* key id of daemon_pub */
	char *daemon_signer; /* "mashd" */
	/* outbox */
	char *outbox;
	char *outbox_key; /* agent.outbox.key_file; NULL: kept in clear */
	int64_t backoff_min_ms;
	int64_t backoff_max_ms;
	uint32_t max_inflight;
	/* timeouts (ms) */
	int connect_timeout_ms;
	int publish_timeout_ms;
	int receipt_wait_ms;
	int follow_poll_ms;
	/* logging: error|warn|info|debug */
	char *log_level;
};

/*
 * Load path for agency (the --agency value). MASH_OK and *out (free with
 * mash_agent_cfg_free); MASH_ERR_CONFIG with "file:line: what" in why
 * (missing or ill-typed setting, agency or signer mismatch, neither or
 * both of trust_store and daemon_public_key); MASH_ERR_IO (unreadable),
 * MASH_ERR_TOO_BIG (over MASH_MAX_CONFIG_FILE), MASH_ERR_NOMEM,
 * MASH_ERR_INVAL. *out NULL on failure.
 */
int mash_agent_cfg_load(const char *path, const char *agency,
                        struct mash_agent_cfg **out, char *why, size_t whylen);

/* Free a configuration (the password is wiped); NULL allowed. */
void mash_agent_cfg_free(struct mash_agent_cfg *c);

#endif
