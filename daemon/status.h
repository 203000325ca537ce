/*
 * status.h - the daemon's liveness on mash/v1/status/daemon (issue 22).
 *
 * At start-up mashd draws a random incarnation and seals two retained
 * DaemonStatus messages with its key: online (published after every
 * connect) and offline (its MQTT will, published by the broker when the
 * connection ends without a DISCONNECT, and by mashd itself on a clean
 * stop). An agent that sees a new incarnation knows the daemon restarted
 * and lost what it held in memory, and re-sends its unreceipted events
 * at once rather than after its backoff (docs/internals/daemon.md).
 */
#ifndef MASHD_STATUS_H
#define MASHD_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"

#define MASHD_STATUS_TOPIC "mash/v1/status/daemon"
/* 16 random bytes in hex. */
#define MASHD_INCARNATION_LEN 32u

struct mashd_status;

/*
 * Draw an incarnation and seal both messages (signer, key_id, key as for
 * every mashd envelope). MASH_OK and *out (free with mashd_status_free);
 * MASH_ERR_NOMEM, MASH_ERR_INVAL, MASH_ERR_CRYPTO (no randomness) or the
 * sealing error.
 */
int mashd_status_new(const struct mash_key *key, const char *signer,
                     const char *key_id, int64_t started_ms,
                     struct mashd_status **out);

/* The sealed envelope for online (1) or offline (0), owned by st. */
const uint8_t *mashd_status_env(const struct mashd_status *st, int online,
                                size_t *len);

/* The incarnation (MASHD_INCARNATION_LEN hex digits), owned by st. */
const char *mashd_status_incarnation(const struct mashd_status *st);

void mashd_status_free(struct mashd_status *st);

#endif
