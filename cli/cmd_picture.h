/*
 * cmd_picture.h - `mashctl picture`: ask mashd for a child's combined
 * agency picture over MQTT v5 request/response and show it (cli.md).
 *
 *   mashctl picture --config FILE --as PRINCIPAL (--case ID | --nhs N)
 *                   --purpose P [--break-glass REASON] [--json]
 *                   [--timeout SECONDS]
 *
 * The request is a SignedEnvelope of mash.v1.PictureRequest signed with the
 * principal's own key, published on mash/v1/requests/picture with the MQTT
 * v5 response topic mash/v1/inbox/{PRINCIPAL} and random correlation data.
 * The answer is accepted only if its correlation data matches and it is a
 * mash.v1.Picture signed by the daemon's key in the trust store.
 *
 * Config file (libconfig; relative paths are relative to the file):
 *   picture = {
 *     mqtt_uri = "tcp://127.0.0.1:1883";  # required
 *     key_dir = "keys";      # private key key_dir/PRINCIPAL/KEY_ID.key.pem
 *     key_file = "...";      # or exactly this private key file
 *     key_id = "k1";         # required
 *     trust_store = "trust"; # required: verifies the daemon's signature
 *     daemon_signer = "mashd";          # default "mashd"
 *     timeout_ms = 10000;               # default 10000
 *     holidays = "s47/holidays.cfg";    # optional one-off bank holidays
 *     mqtt_username = "..."; mqtt_password = "...";          # optional
 *     mqtt_ca_file = "..."; mqtt_cert_file = "..."; mqtt_key_file = "...";
 *   };
 *
 * Exit codes: 0 picture shown, 1 denied (denied_reason printed, or the
 * answer failed verification), 2 bad usage, unreadable config or key,
 * broker unreachable, or no answer within the timeout.
 */
#ifndef MASHCTL_CMD_PICTURE_H
#define MASHCTL_CMD_PICTURE_H

/* Exit codes of the subcommand. */
#define MASHCTL_PICTURE_SHOWN  0 /* MASHCTL_EXIT_OK */
#define MASHCTL_PICTURE_DENIED 1 /* MASHCTL_EXIT_FAIL */
#define MASHCTL_PICTURE_USAGE  2 /* MASHCTL_EXIT_USAGE */

/* Longest wait for the answer that --timeout accepts (seconds). */
#define MASHCTL_PICTURE_MAX_TIMEOUT_S 600
/* Correlation data bytes sent with each request. */
#define MASHCTL_PICTURE_CORRELATION_LEN 16u

/* The subcommand itself is mashctl_picture() in cli/cmds.h: argv[0] =
 * "picture"; writes the view to stdout and one line to stderr on any
 * error; returns the exit code above. */

#endif
