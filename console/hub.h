/*
 * hub.h - the console's link to the hub for one principal (issue 29,
 * part 3): an MQTT client that is that principal, with its own broker
 * certificate (mutual TLS, issue 24) and keys, reading only its own
 * inbox. Every delivery is verified against mashd's key and opened with
 * the principal's X25519 key (crypto/inbox.h) before anything of it is
 * kept; what does not verify or open is counted and logged by topic and
 * reason, never shown. Nothing reaches the store but through mashd.
 *
 * The broker session is persistent (client id console-PRINCIPAL), so
 * deliveries made while nobody is signed in wait at the broker for the
 * next sign-in. Opened deliveries are kept in memory only, for the life
 * of the link, newest last, numbered from 1 (the SSE event ids).
 *
 * One link per principal, shared by that principal's sessions
 * (con_hubs_get / con_hub_put): two clients with one client id would
 * take the session from each other. The link closes, wiping its keys,
 * when its last session ends.
 */
#ifndef MASH_CONSOLE_HUB_H
#define MASH_CONSOLE_HUB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli/picture_view.h"
#include "console/account.h"
#include "crypto/trust.h"
#include "s47/cal.h"

/* Deliveries kept per principal; older ones are dropped from the view. */
#define CON_HUB_MAX_ITEMS 500u

struct con_hub_cfg {
	const char *mqtt_uri; /* ssl://host:port (tcp:// only if insecure) */
	const char *ca_file;  /* the broker's CA; NULL: the system store */
	int insecure;         /* allow tcp:// (development only) */
	const struct mash_trust *trust; /* verifies mashd's signature */
	const char *daemon_signer;      /* "mashd" */
	const struct mash_cal *cal;     /* s47 working days; NULL: not shown */
};

struct con_hub;
struct con_hubs;

/* A registry of links. cfg is borrowed for the registry's life. MASH_OK,
 * MASH_ERR_NOMEM. */
int con_hubs_new(const struct con_hub_cfg *cfg, struct con_hubs **out);
/* Close every link and free. NULL allowed. */
void con_hubs_free(struct con_hubs *r);

/*
 * The link for acct->principal: the open one (another reference to it),
 * or a new one connected with acct's keys. MASH_OK and *out; MASH_ERR_
 * KEY_FORMAT (keys that do not load), MASH_ERR_CONFIG (no TLS identity for
 * an ssl:// broker, or tcp:// not allowed), MASH_ERR_MQTT / TIMEOUT (the
 * broker unreachable), with why. Give it back with con_hub_put.
 */
int con_hubs_get(struct con_hubs *r, const struct mash_acct_session *acct,
                 struct con_hub **out, char *why, size_t whylen);
/* Another reference to h (a live stream reading it). */
void con_hub_hold(struct con_hubs *r, struct con_hub *h);
/* Give a reference back; the last one closes the link. NULL allowed. */
void con_hub_put(struct con_hubs *r, struct con_hub *h);

/*
 * Deliveries numbered above after, oldest first: *out a new JSON array of
 * {"id": N, "received_ms": T, "type", "recipient", "record"|"trigger"|
 * "picture"}, *last the newest number (0 when none). A trigger's
 * working_days_remaining is counted now (on cfg->cal). MASH_OK,
 * MASH_ERR_NOMEM.
 */
int con_hub_items(struct con_hub *h, uint64_t after, json_t **out,
                  uint64_t *last);

/* Wait up to timeout_ms for a delivery numbered above after. MASH_OK (one
 * is there), MASH_ERR_TIMEOUT, MASH_ERR_STATE (the link is closing). */
int con_hub_wait(struct con_hub *h, uint64_t after, int timeout_ms);

/* Requests waiting for their answers at once, per principal. */
#define CON_HUB_MAX_ASKS 8u

/*
 * Ask mashd for a picture as the link's principal (signed with its key,
 * its inbox as the response topic, fresh correlation data) and wait up to
 * timeout_ms for the answer, verified and opened as mashctl picture does
 * (cli/picture_view.h): *out is mashctl_picture_to_json's document
 * (purpose shown as given). MASH_OK; MASH_ERR_TIMEOUT; MASH_ERR_TOO_BIG
 * (too many asks at once); MASH_ERR_MQTT (not published); a verification
 * error with why.
 */
int con_hub_picture(struct con_hub *h, const struct mashctl_picture_ask *ask,
                    int timeout_ms, json_t **out, char *why, size_t whylen);

/* Deliveries refused (did not verify or open) since the link opened. */
uint64_t con_hub_refused(struct con_hub *h);

#endif
