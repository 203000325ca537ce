/*
 * api.c - the console's JSON inbox and its live stream (issue 29, part 3).
 *
 *   GET /api/inbox   {"principal", "last", "refused", "items": [...]}: the
 *                    deliveries the principal's link has opened (hub.h)
 *   GET /api/events?after=N
 *                    text/event-stream: each delivery numbered above N
 *                    (or above the Last-Event-ID a resuming browser sends) as
 *                    "id: K", "event: delivery", "data: <item JSON>", and
 *                    a comment line every few seconds while nothing comes;
 *                    the stream ends when the session does
 *   POST /api/picture  csrf, nhs | case_id, purpose [, break_glass_reason]:
 *                    the child's picture, asked for as the principal
 *                    (mashctl picture's JSON); 400 bad input, 403 a stale
 *                    form, 502/504 no usable answer from the hub
 * The GETs want the session cookie (401 otherwise) and change nothing, so no
 * CSRF token; a read does not restart the session's idle clock for the
 * stream (a page left open is not a person at the keyboard).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "console/http_int.h"
#include "console/hub.h"
#include "event/evt.h"
#include "policy/pol.h"

/* How long a stream waits for a delivery before a keep-alive line, and
 * how often it looks whether its session is still alive. */
#define STREAM_WAIT_MS 5000

static enum MHD_Result
json_reply(struct MHD_Connection *c, unsigned status, json_t *doc)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (text == NULL)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text,
	                                    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	con_http_secure_headers(r, "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
error_reply(struct MHD_Connection *c, unsigned status, const char *what)
{
	json_t *doc = json_pack("{s:s}", "error", what);
	enum MHD_Result ret = json_reply(c, status, doc);

	json_decref(doc);
	return ret;
}

static enum MHD_Result
not_signed_in(struct MHD_Connection *c)
{
	return error_reply(c, MHD_HTTP_UNAUTHORIZED, "not signed in");
}

/* The session's link, held (give it back with con_hub_put), and its
 * principal; NULL without a live session or a link. restart: a request
 * by the person (restarts the idle clock). */
static struct con_hub *
hold_link(struct con_http *h, struct MHD_Connection *c, int restart,
          char *principal, size_t n)
{
	const char *id =
	    MHD_lookup_connection_value(c, MHD_COOKIE_KIND, CON_COOKIE);
	const struct con_session *s;
	struct con_hub *hub = NULL;
	int64_t now = mash_clock_now(h->clock);

	pthread_mutex_lock(&h->lock);
	s = restart ? con_sessions_get(h->sessions, id, now)
	            : con_sessions_peek(h->sessions, id, now);
	if (s != NULL && s->link != NULL) {
		hub = s->link;
		con_hub_hold(h->hubs, hub);
		if (principal != NULL)
			(void)mash_strlcpy(principal, s->acct->principal, n);
	}
	pthread_mutex_unlock(&h->lock);
	return hub;
}

/* 1 while the session that opened a stream lives (it may have signed out
 * or idled out in another tab). */
static int
still_signed_in(struct con_http *h, const char *id)
{
	int alive;

	pthread_mutex_lock(&h->lock);
	alive = con_sessions_peek(h->sessions, id, mash_clock_now(h->clock)) !=
	        NULL;
	pthread_mutex_unlock(&h->lock);
	return alive;
}

enum MHD_Result
con_api_inbox(struct con_http *h, struct MHD_Connection *c)
{
	char principal[MASH_ACCT_NAME_MAX + 1];
	struct con_hub *hub;
	json_t *items = NULL, *doc = NULL;
	uint64_t last = 0;
	enum MHD_Result ret = MHD_NO;

	hub = hold_link(h, c, 1, principal, sizeof(principal));
	if (hub == NULL)
		return not_signed_in(c);
	if (con_hub_items(hub, 0, &items, &last) == MASH_OK)
		doc =
		    json_pack("{s:s,s:I,s:I,s:o}", "principal", principal,
		              "last", (json_int_t)last, "refused",
		              (json_int_t)con_hub_refused(hub), "items", items);
	con_hub_put(h->hubs, hub);
	if (doc != NULL)
		ret = json_reply(c, MHD_HTTP_OK, doc);
	json_decref(doc);
	return ret;
}

/* ---- the live stream ---------------------------------------------------- */

struct stream {
	struct con_http *h;
	struct con_hub *hub;
	char id[CON_SESS_ID_HEX + 1];
	uint64_t after;
	char *buf; /* what is ready to send: buf[off..len) */
	size_t len, off;
};

/* The next lines of the stream into st->buf. MASH_OK, or MASH_ERR_STATE
 * when it ends. */
static int
fill(struct stream *st)
{
	json_t *items = NULL, *v;
	uint64_t last = 0;
	size_t i, need = 0;
	char *text;
	int rc;

	mash_free(st->buf);
	st->buf = NULL;
	st->len = st->off = 0;
	if (!still_signed_in(st->h, st->id))
		return MASH_ERR_STATE;
	rc = con_hub_wait(st->hub, st->after, STREAM_WAIT_MS);
	if (rc == MASH_ERR_TIMEOUT) {
		st->buf = mash_strdup(": still here\n\n");
		st->len = st->buf != NULL ? strlen(st->buf) : 0;
		return st->buf != NULL ? MASH_OK : MASH_ERR_STATE;
	}
	if (rc != MASH_OK ||
	    con_hub_items(st->hub, st->after, &items, &last) != MASH_OK)
		return MASH_ERR_STATE;
	/* One event per delivery; JSON text has no newline (compact). */
	json_array_foreach(items, i, v)
	{
		json_int_t k = json_integer_value(json_object_get(v, "id"));

		text = json_dumps(v, JSON_COMPACT);
		if (text == NULL)
			break;
		need = st->len + strlen(text) + 64;
		char *grown = mash_realloc(st->buf, need);

		if (grown == NULL) {
			free(text);
			break;
		}
		st->buf = grown;
		st->len += (size_t)snprintf(st->buf + st->len, need - st->len,
		                            "id: %" PRId64
		                            "\nevent: delivery\ndata: %s\n\n",
		                            (int64_t)k, text);
		free(text);
	}
	json_decref(items);
	st->after = last;
	return st->len > 0 ? MASH_OK : MASH_ERR_STATE;
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct stream *st = cls;
	size_t n;

	(void)pos;
	if (st->off >= st->len && fill(st) != MASH_OK)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = st->len - st->off;
	if (n > max)
		n = max;
	memcpy(out, st->buf + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void
stream_free(void *cls)
{
	struct stream *st = cls;

	con_hub_put(st->h->hubs, st->hub);
	mash_free(st->buf);
	mash_free(st);
}

enum MHD_Result
con_api_events(struct con_http *h, struct MHD_Connection *c)
{
	const char *id =
	    MHD_lookup_connection_value(c, MHD_COOKIE_KIND, CON_COOKIE);
	const char *resumed =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	const char *after =
	    resumed != NULL
	        ? resumed /* a browser resuming a stream says where */
	        : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	                                      "after");
	struct MHD_Response *r;
	struct stream *st;
	enum MHD_Result ret;
	char *end = NULL;
	unsigned long long a = 0;

	if (after != NULL) {
		a = strtoull(after, &end, 10);
		if (after[0] < '0' || after[0] > '9' || *end != '\0' ||
		    strlen(after) > 19)
			return error_reply(c, MHD_HTTP_BAD_REQUEST,
			                   "after is a delivery number");
	}
	st = mash_calloc(1, sizeof(*st));
	if (st == NULL)
		return MHD_NO;
	st->h = h;
	st->after = a;
	st->hub = hold_link(h, c, 1, NULL, 0);
	if (st->hub == NULL || id == NULL) {
		mash_free(st);
		return not_signed_in(c);
	}
	(void)mash_strlcpy(st->id, id, sizeof(st->id));
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
	                                      stream_read, st, stream_free);
	if (r == NULL) {
		stream_free(st);
		return MHD_NO;
	}
	con_http_secure_headers(r, "text/event-stream");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- a picture, asked for as the signed-in principal -------------------- */

/* How long a picture request waits for mashd (mashctl picture's default). */
#define PICTURE_WAIT_MS 15000

/* f->nhs without spaces into out (10 digits and a valid check digit), or
 * 0. */
static int
nhs_of(const char *in, char out[11])
{
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (*in == ' ')
			continue;
		if (n == 10)
			return 0;
		out[n++] = *in;
	}
	out[n] = '\0';
	return n == 10 && mash_evt_nhs_valid(out);
}

enum MHD_Result
con_api_picture(struct con_http *h, struct MHD_Connection *c,
                const struct con_picture_form *f)
{
	const char *id =
	    MHD_lookup_connection_value(c, MHD_COOKIE_KIND, CON_COOKIE);
	const struct con_session *s;
	struct mashctl_picture_ask ask;
	struct con_hub *hub = NULL;
	json_t *doc = NULL;
	char nhs[11], why[512];
	enum MHD_Result ret;
	int csrf_ok = 0, rc;

	pthread_mutex_lock(&h->lock);
	s = con_sessions_get(h->sessions, id, mash_clock_now(h->clock));
	if (s != NULL && s->link != NULL) {
		csrf_ok = con_sessions_csrf_ok(s, f->csrf);
		if (csrf_ok) {
			hub = s->link;
			con_hub_hold(h->hubs, hub);
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (s == NULL)
		return not_signed_in(c);
	if (!csrf_ok)
		return error_reply(c, MHD_HTTP_FORBIDDEN,
		                   "refused: the form is stale (reload the "
		                   "page)");
	memset(&ask, 0, sizeof(ask));
	ask.purpose = f->purpose;
	ask.break_glass = f->reason[0] != '\0' ? f->reason : NULL;
	if ((f->nhs[0] != '\0') == (f->case_id[0] != '\0')) {
		ret = error_reply(c, MHD_HTTP_BAD_REQUEST,
		                  "give an NHS number or a case id");
		goto out;
	}
	if (f->nhs[0] != '\0' && !nhs_of(f->nhs, nhs)) {
		ret = error_reply(c, MHD_HTTP_BAD_REQUEST,
		                  "not an NHS number (10 digits with a valid "
		                  "check digit)");
		goto out;
	}
	if (f->case_id[0] != '\0' &&
	    mash_str_check(f->case_id, MASH_MAX_ID) != MASH_OK) {
		ret = error_reply(c, MHD_HTTP_BAD_REQUEST, "not a case id");
		goto out;
	}
	if (!mash_pol_purpose_valid(f->purpose)) {
		ret = error_reply(c, MHD_HTTP_BAD_REQUEST, "unknown purpose");
		goto out;
	}
	if (f->nhs[0] != '\0')
		ask.nhs = nhs;
	else
		ask.case_id = f->case_id;
	rc =
	    con_hub_picture(hub, &ask, PICTURE_WAIT_MS, &doc, why, sizeof(why));
	if (rc != MASH_OK) {
		/* Ids and reasons only: never the NHS number asked about. */
		mash_warn("console: picture request failed: %s (%s)", why,
		          mash_errname(rc));
		ret = error_reply(c,
		                  rc == MASH_ERR_TIMEOUT
		                      ? MHD_HTTP_GATEWAY_TIMEOUT
		                      : MHD_HTTP_BAD_GATEWAY,
		                  rc == MASH_ERR_TIMEOUT
		                      ? "the hub did not answer in time"
		                      : "the hub's answer could not be used");
		goto out;
	}
	ret = json_reply(c, MHD_HTTP_OK, doc);
out:
	json_decref(doc);
	con_hub_put(h->hubs, hub);
	return ret;
}
