/*
 * http_int.h - what the console's HTTP front shares between its files
 * (http.c: pages and sign-in; api.c: the JSON inbox and its live stream).
 * Not for other modules.
 */
#ifndef MASH_CONSOLE_HTTP_INT_H
#define MASH_CONSOLE_HTTP_INT_H

#include <pthread.h>
#include <stdint.h>

#include <microhttpd.h>

#include "common/clock.h"
#include "console/hub.h"
#include "console/sessions.h"

#define CON_COOKIE "mash_session"
/* Connections at once (each is a thread; a live stream holds one). */
#define CON_HTTP_MAX_CONNECTIONS 64u

struct con_http {
	struct MHD_Daemon *d;
	struct con_sessions *sessions;
	struct con_hubs *hubs; /* NULL: no hub configured */
	pthread_mutex_t lock;  /* sessions */
	char *accounts;
	const struct mash_clock *clock;
	uint16_t port;
};

/* Content-Type type, no caching, nosniff, a same-origin CSP. */
void con_http_secure_headers(struct MHD_Response *r, const char *type);

/* GET /api/inbox and GET /api/events (api.c). */
enum MHD_Result con_api_inbox(struct con_http *h, struct MHD_Connection *c);
enum MHD_Result con_api_events(struct con_http *h, struct MHD_Connection *c);

#endif
