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

#include "audit/aud.h"
#include "common/clock.h"
#include "common/limits.h"
#include "console/hub.h"
#include "console/sessions.h"

#define CON_COOKIE "mash_session"
/* Connections at once (each is a thread; a live stream holds one). */
#define CON_HTTP_MAX_CONNECTIONS 64u

/* The console's own style and script (console/static/), served from
 * memory; nothing else is ever read from that directory. */
#define CON_STATIC_FILES 2u
#define CON_STATIC_MAX   (256u * 1024u)

struct con_static {
	const char *name, *type;
	char *body;
	size_t len;
};

struct con_http {
	struct MHD_Daemon *d;
	struct con_sessions *sessions;
	struct con_hubs *hubs; /* NULL: no hub configured */
	pthread_mutex_t lock;  /* sessions */
	char *accounts;
	const struct mash_clock *clock;
	uint16_t port;
	struct con_static files[CON_STATIC_FILES];
};

/* Content-Type type, no caching, nosniff, a same-origin CSP. */
void con_http_secure_headers(struct MHD_Response *r, const char *type);

/* A picture request's form (POST /api/picture), bounded field by field. */
struct con_picture_form {
	char csrf[CON_SESS_ID_HEX + 1];
	char nhs[16];
	char case_id[MASH_MAX_ID + 1];
	char purpose[32];
	char reason[MASH_AUD_MAX_REASON + 1];
};

/* GET /api/inbox, GET /api/events and POST /api/picture (api.c). */
enum MHD_Result con_api_inbox(struct con_http *h, struct MHD_Connection *c);
enum MHD_Result con_api_events(struct con_http *h, struct MHD_Connection *c);
enum MHD_Result con_api_picture(struct con_http *h, struct MHD_Connection *c,
                                const struct con_picture_form *f);

#endif
