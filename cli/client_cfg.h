/*
 * client_cfg.h - the principal's client config, shared by `mashctl
 * picture` and `mashctl inbox read` (cli.md; docs/internals/picture.md).
 *
 * Config file (libconfig; relative paths are relative to the file):
 *   picture = {
 *     mqtt_uri = "ssl://localhost:8883";  # required
 *     key_dir = "keys";      # signing key key_dir/PRINCIPAL/KEY_ID.key.pem
 *     key_file = "...";      # or exactly this private key file
 *     key_id = "k1";         # the signing key's id
 *     enc_key_dir = "keys";  # X25519 key enc_key_dir/PRINCIPAL/ENC_ID.key.pem
 *     enc_key_id = "e1";     # default "e1"
 *     enc_key_file = "...";  # or exactly this X25519 private key file
 *     trust_store = "trust"; # required: verifies the daemon's signature
 *     daemon_signer = "mashd";          # default "mashd"
 *     timeout_ms = 10000;               # default 10000
 *     holidays = "s47/holidays.cfg";    # optional one-off bank holidays
 *     mqtt_username = "..."; mqtt_password = "...";          # optional
 *     mqtt_ca_file = "..."; mqtt_cert_dir = "...";  # mutual TLS as --as
 *     mqtt_cert_file = "..."; mqtt_key_file = "...";  # or exactly these
 *     mqtt_insecure = false;  # tcp:// only when true (development)
 *   };
 * A setting not listed is refused with its line (never silently unused).
 * key_id and key_dir/key_file are required only by commands that sign
 * (picture); the encryption key only by commands that open deliveries.
 */
#ifndef MASHCTL_CLIENT_CFG_H
#define MASHCTL_CLIENT_CFG_H

/* Longest wait for an answer a config or --timeout may ask for. */
#define MASHCTL_CLIENT_MAX_TIMEOUT_S 600

struct mashctl_client_cfg {
	char *mqtt_uri;
	char *key_file; /* resolved; NULL when not needed and not given */
	char *key_id;
	char *enc_key_file; /* resolved; NULL when not configured */
	char *trust_store;
	char *daemon_signer;
	char *holidays; /* NULL: computed bank holidays only */
	char *username;
	char *password;
	char *ca_file;
	char *cert_file;
	char *mqtt_key_file;
	int timeout_ms;
};

/*
 * Load the config at path for principal (already validated). cmd names
 * the command in messages ("mashctl picture"). need_signing_key: key_id
 * and key_dir or key_file are required. One line on stderr for any error.
 * MASH_OK, MASH_ERR_IO / TOO_BIG (unreadable), MASH_ERR_PARSE,
 * MASH_ERR_CONFIG, MASH_ERR_NOMEM; c is cleared on failure.
 */
int mashctl_client_cfg_load(const char *cmd, const char *path,
                            const char *principal, int need_signing_key,
                            struct mashctl_client_cfg *c);

/* Free every string (the password wiped) and zero c. */
void mashctl_client_cfg_clear(struct mashctl_client_cfg *c);

#endif
