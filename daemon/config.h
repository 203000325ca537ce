/*
 * config.h - mashd's configuration: a libconfig file (every key documented
 * in docs/internals/daemon.md, example in docker/mashd.cfg), every key
 * overridable on the command line (--set KEY=VALUE, and the named options
 * of cli.md such as --mqtt and --store).
 *
 * The keys live in one table in config.c (name, type, default, required),
 * so parsing, overriding, unknown-key detection and the documentation
 * agree.
 */
#ifndef MASHD_CONFIG_H
#define MASHD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Longest path or string value in the config. */
#define MASHD_CFG_MAX_STR 1024u
/* A good size for an error buffer ("file:line: reason"). */
#define MASHD_CFG_ERR_LEN 512u

/* Largest ingest.batch_max (messages held until one group COMMIT). */
#define MASHD_BATCH_MAX 1024

struct mashd_config {
	/* mqtt group */
	char mqtt_uri[MASHD_CFG_MAX_STR];
	char mqtt_client_id[MASHD_CFG_MAX_STR];
	char mqtt_username[MASHD_CFG_MAX_STR];
	char mqtt_password[MASHD_CFG_MAX_STR];
	char mqtt_ca_file[MASHD_CFG_MAX_STR];
	char mqtt_cert_file[MASHD_CFG_MAX_STR];
	char mqtt_key_file[MASHD_CFG_MAX_STR];
	int mqtt_verify_peer;
	int mqtt_insecure; /* 1: tcp:// allowed (logged as a warning) */
	int mqtt_clean_start;
	int64_t mqtt_keepalive;
	int64_t mqtt_session_expiry;
	int64_t mqtt_reconnect_min;
	int64_t mqtt_reconnect_max;
	char mqtt_subscribe[MASHD_CFG_MAX_STR];
	char mqtt_picture_subscribe[MASHD_CFG_MAX_STR];
	int64_t mqtt_queue_max_messages;
	int64_t mqtt_queue_max_bytes;
	int64_t mqtt_publish_timeout_ms;
	/* identity */
	char signer[MASHD_CFG_MAX_STR];
	char key_id[MASHD_CFG_MAX_STR];
	char key_file[MASHD_CFG_MAX_STR];
	/* files */
	char trust_store[MASHD_CFG_MAX_STR];
	char store[MASHD_CFG_MAX_STR];
	/* Key-encryption key of the store (issue 28); "": not encrypted. */
	char store_key_file[MASHD_CFG_MAX_STR];
	/* MiB of the store's pages kept in memory (issue 22) */
	int64_t store_cache_mib;
	char policy[MASHD_CFG_MAX_STR];
	char directory[MASHD_CFG_MAX_STR];
	char calendar[MASHD_CFG_MAX_STR];
	/* behaviour */
	char log_level[MASHD_CFG_MAX_STR];
	int64_t max_message;
	int64_t tick_ms;
	int64_t drain_timeout_ms;
	/* ingest group: events per group commit (1: one COMMIT each) */
	int64_t ingest_batch_max;
	/* audit group */
	char audit_log_id[MASHD_CFG_MAX_STR];
	int64_t audit_checkpoint_every_records;
	int64_t audit_checkpoint_every_ms;
	/* quarantine group: days a rejected message is kept (0: forever) */
	int64_t quarantine_retention_days;
	/* replay group: a new event's recorded_at must lie within
	 * [now - past_days, now + future_s] (past_days 0: no lower bound) */
	int64_t replay_future_s;
	int64_t replay_past_days;
	/* outbox group: a delivery refused or unacknowledged this many
	 * times AND first failed this long ago becomes a dead letter; the
	 * back-off starts at retry_ms (daemon/outbox.h, issue 31) */
	int64_t outbox_max_attempts;
	int64_t outbox_max_age_s;
	int64_t outbox_retry_ms;
};

/* Every key at its default (required strings empty). */
void mashd_config_defaults(struct mashd_config *c);

/*
 * Read the libconfig file at path over *c (keys absent from the file keep
 * their current value). MASH_OK; MASH_ERR_IO if the file cannot be read;
 * MASH_ERR_PARSE on a syntax error; MASH_ERR_CONFIG on an unknown key, a
 * value of the wrong type or out of range. err gets "file:line: reason".
 */
int mashd_config_read(struct mashd_config *c, const char *path, char *err,
                      size_t errlen);

/*
 * Apply one override "key=value" (key as in the file, dotted for groups:
 * "mqtt.uri=tcp://..."). MASH_OK, or MASH_ERR_CONFIG (unknown key, bad
 * value) with the reason in err.
 */
int mashd_config_set(struct mashd_config *c, const char *kv, char *err,
                     size_t errlen);

/* Set key to value (same rules as mashd_config_set). */
int mashd_config_set_kv(struct mashd_config *c, const char *key,
                        const char *value, char *err, size_t errlen);

/*
 * Check the final configuration: required keys present, ranges coherent.
 * MASH_OK or MASH_ERR_CONFIG with "key: reason" in err.
 */
int mashd_config_validate(const struct mashd_config *c, char *err,
                          size_t errlen);

#endif
