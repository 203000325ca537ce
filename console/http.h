/*
 * http.h - mash-console's HTTPS front (issue 29, part 2): sign-in,
 * sign-out and the signed-in page, over libmicrohttpd with TLS.
 *
 *   GET  /          the sign-in form
 *   POST /signin    user, password (form): 303 to /inbox with the session
 *                   cookie, or 401 (wrong name or password, the same
 *                   answer) or 429 (too many failures for that name)
 *   GET  /inbox     the signed-in page (303 to / without a live session)
 *   POST /signout   csrf (form): ends the session, wipes its keys
 *   GET  /static/console.css, /static/console.js  the page's style, script
 *   GET  /api/inbox the signed-in principal's opened deliveries (JSON)
 *   GET  /api/events?after=N  the same, live: server-sent events
 * With a hub configured, sign-in also opens the principal's link to the
 * hub (console/hub.h); a hub that cannot be reached is a 503, no session.
 * The cookie is "mash_session=<64 hex>; HttpOnly; Secure; SameSite=Strict;
 * Path=/"; no personal data is ever in a URL; responses are never cached.
 */
#ifndef MASH_CONSOLE_HTTP_H
#define MASH_CONSOLE_HTTP_H

#include <stdint.h>

#include "common/clock.h"
#include "console/hub.h"

struct con_http;

struct con_http_cfg {
	const char *listen;     /* IPv4 address, e.g. "127.0.0.1" */
	uint16_t port;          /* 0: any free port (see con_http_port) */
	const char *cert_pem;   /* server certificate chain, PEM text */
	const char *key_pem;    /* its private key, PEM text */
	const char *accounts;   /* console/account.h file */
	const char *static_dir; /* console/static/; NULL: the source tree's */
	int64_t idle_ms;        /* session idle timeout */
	const struct mash_clock *clock;
	/* The hub, reached as each signed-in principal for its inbox; NULL:
	 * sign-in only (no inbox). Borrowed for the server's life. */
	const struct con_hub_cfg *hub;
};

/* Start serving on threads of libmicrohttpd. MASH_OK; MASH_ERR_INVAL,
 * MASH_ERR_IO (cannot listen, TLS refused the certificate or key),
 * MASH_ERR_NOMEM. */
int con_http_start(const struct con_http_cfg *cfg, struct con_http **out);

/* The port it listens on. */
uint16_t con_http_port(const struct con_http *h);

/* Stop, wiping every session. NULL allowed. */
void con_http_stop(struct con_http *h);

#endif
