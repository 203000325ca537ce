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
 * Config file: cli/client_cfg.h (the "picture" group). The answer is
 * sealed to the principal (issue 25): enc_key_dir or enc_key_file names
 * the X25519 key that opens it; a clear Picture is believed only as a
 * bare refusal.
 *
 * Exit codes: 0 picture shown, 1 denied (denied_reason printed, the
 * policy refused the requested break-glass: the ordinary view is shown and
 * break_glass_refused printed, or the answer failed verification), 2 bad usage,
 * unreadable config or key, broker unreachable, or no answer within the
 * timeout.
 */
#ifndef MASHCTL_CMD_PICTURE_H
#define MASHCTL_CMD_PICTURE_H

/* Exit codes of the subcommand. */
#define MASHCTL_PICTURE_SHOWN  0 /* MASHCTL_EXIT_OK */
#define MASHCTL_PICTURE_DENIED 1 /* MASHCTL_EXIT_FAIL */
#define MASHCTL_PICTURE_USAGE  2 /* MASHCTL_EXIT_USAGE */

/* Longest wait for the answer that --timeout accepts (seconds). */
#define MASHCTL_PICTURE_MAX_TIMEOUT_S 600 /* = MASHCTL_CLIENT_MAX_TIMEOUT_S */
/* Correlation data bytes sent with each request. */
#define MASHCTL_PICTURE_CORRELATION_LEN 16u

/* The subcommand itself is mashctl_picture() in cli/cmds.h: argv[0] =
 * "picture"; writes the view to stdout and one line to stderr on any
 * error; returns the exit code above. */

#endif
