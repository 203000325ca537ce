/*
 * http.c - mash-console's HTTPS front. See http.h.
 *
 * libmicrohttpd runs the connections on its own thread; the session table
 * is shared and guarded by one mutex. A form field is bounded (names 64,
 * passwords MASH_ACCT_PASS_MAX, tokens 64 hex) and a request body beyond
 * MAX_BODY is refused; the password buffer is wiped when the request
 * completes.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <sodium.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "console/account.h"
#include "console/http.h"
#include "console/http_int.h"
#include "console/hub.h"
#include "console/sessions.h"
#include "crypto/trust.h"

#define COOKIE   CON_COOKIE
#define MAX_BODY 4096u

/* One request's form, filled by the post processor. */
struct req {
	struct MHD_PostProcessor *pp;
	size_t body;
	int too_big;
	char user[MASH_ACCT_NAME_MAX + 1];
	char password[MASH_ACCT_PASS_MAX + 1];
	struct con_picture_form pic; /* its csrf is every form's */
};

/* The pages: markup here, style and behaviour in console/static/. */
#define PAGE_HEAD                                                              \
	"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"      \
	"<meta name=\"viewport\" content=\"width=device-width, "               \
	"initial-scale=1\"><title>MASH console</title>"                        \
	"<link rel=\"stylesheet\" href=\"/static/console.css\">"               \
	"<script src=\"/static/console.js\" defer></script></head><body>"
#define PAGE_TAIL "</body></html>"
#define PAGE_SIGNIN                                                            \
	"<main><h1>MASH console</h1>%s%s%s"                                    \
	"<form method=\"post\" action=\"/signin\">"                            \
	"<p><label for=\"user\">User name</label> "                            \
	"<input id=\"user\" name=\"user\" autocomplete=\"username\" "          \
	"required></p><p><label for=\"password\">Password</label> "            \
	"<input id=\"password\" name=\"password\" type=\"password\" "          \
	"autocomplete=\"current-password\" required></p>"                      \
	"<p><button type=\"submit\">Sign in</button></p></form></main>"
/* The signed-in pages: one header (who, as whom, where to go, sign-out)
 * and the page's own main part. */
#define PAGE_SIGNED_IN                                                         \
	"<a class=\"skip\" href=\"#main\">Skip to the content</a>"             \
	"<header><h1>MASH console</h1><nav aria-label=\"Pages\">"              \
	"<a href=\"/inbox\"%s>Inbox</a> <a href=\"/picture\"%s>Case "          \
	"picture</a></nav><p id=\"who\">Signed in as %s, acting as "           \
	"<strong>%s</strong>.</p>"                                             \
	"<form method=\"post\" action=\"/signout\">"                           \
	"<input type=\"hidden\" name=\"csrf\" value=\"%s\">"                   \
	"<button type=\"submit\">Sign out</button></form></header>%s"
#define MAIN_INBOX                                                             \
	"<main id=\"main\"><h2 id=\"inbox-h\">Inbox</h2>"                      \
	"<p id=\"status\" role=\"status\" aria-live=\"polite\">Loading...</p>" \
	"<ol id=\"items\" class=\"items\" aria-labelledby=\"inbox-h\"></ol>"   \
	"</main>"
/* Break-glass (sharing policy rule 8): the script opens it only when the
 * hub says the role has the override; a reason is required. */
#define DIALOG_BREAK_GLASS                                                     \
	"<dialog id=\"bg-dialog\" aria-labelledby=\"bg-title\"><form "         \
	"method=\"dialog\"><h3 id=\"bg-title\">Break glass</h3><p>Only when "  \
	"a child may be at risk of significant harm and the ordinary view is " \
	"not enough (sharing policy rule 8). Your reason goes into the audit " \
	"trail, the auditors are told at once, and the picture shows that it " \
	"was opened this way.</p><p><label for=\"bg-reason\">Reason</label>"   \
	"<textarea id=\"bg-reason\" rows=\"3\" maxlength=\"256\" required>"    \
	"</textarea></p><p><button value=\"override\" class=\"danger\">"       \
	"Override and show</button> <button value=\"cancel\" "                 \
	"formnovalidate>Cancel</button></p></form></dialog>"
/* The child is named by NHS number (POSTed, never in a URL) or case id. */
#define MAIN_PICTURE                                                           \
	"<main id=\"main\"><h2>Case picture</h2>"                              \
	"<form id=\"picture-form\" method=\"post\" action=\"/api/picture\">"   \
	"<p><label for=\"nhs\">NHS number</label> <input id=\"nhs\" "          \
	"name=\"nhs\" inputmode=\"numeric\" autocomplete=\"off\" "             \
	"pattern=\"[0-9 ]{10,12}\" maxlength=\"12\"> or <label "               \
	"for=\"case_id\">case id</label> <input id=\"case_id\" "               \
	"name=\"case_id\" autocomplete=\"off\" maxlength=\"64\"></p>"          \
	"<p><label for=\"purpose\">Purpose</label> <select id=\"purpose\" "    \
	"name=\"purpose\" required><option value=\"mash-triage\">MASH "        \
	"triage</option><option value=\"early-help\">Early help</option>"      \
	"<option value=\"s17-assessment\">s17 assessment</option><option "     \
	"value=\"strategy-discussion\">Strategy discussion</option><option "   \
	"value=\"s47-enquiry\">s47 enquiry</option><option "                   \
	"value=\"audit\">Audit</option></select></p>"                          \
	"<input type=\"hidden\" name=\"csrf\" value=\"%s\">"                   \
	"<p><button type=\"submit\" class=\"primary\">Show the picture"        \
	"</button></p></form>"                                                 \
	"<p id=\"status\" role=\"status\" aria-live=\"polite\"></p>"           \
	"<div id=\"picture\"></div>" DIALOG_BREAK_GLASS "</main>"

void
con_http_secure_headers(struct MHD_Response *r, const char *type)
{
	(void)MHD_add_response_header(r, "Content-Type", type);
	(void)MHD_add_response_header(r, "Cache-Control", "no-store");
	(void)MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	(void)MHD_add_response_header(r, "Content-Security-Policy",
	                              "default-src 'self'; frame-ancestors "
	                              "'none'");
}

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, const char *body,
        const char *location, const char *cookie)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), (void *)body,
	                                    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	con_http_secure_headers(r, "text/html; charset=utf-8");
	if (location != NULL)
		(void)MHD_add_response_header(r, "Location", location);
	if (cookie != NULL)
		(void)MHD_add_response_header(r, "Set-Cookie", cookie);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* GET /static/NAME: only the files of the allow-list, from memory. */
static enum MHD_Result
static_file(struct con_http *h, struct MHD_Connection *c, const char *name)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	for (i = 0; i < CON_STATIC_FILES; i++)
		if (h->files[i].body != NULL &&
		    strcmp(name, h->files[i].name) == 0)
			break;
	if (i == CON_STATIC_FILES)
		return respond(c, MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
	r = MHD_create_response_from_buffer(h->files[i].len, h->files[i].body,
	                                    MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	con_http_secure_headers(r, h->files[i].type);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Read the allow-listed files of dir into memory, once, at start. */
static int
load_static(struct con_http *h, const char *dir)
{
	static const struct {
		const char *name, *type;
	} allow[CON_STATIC_FILES] = {
	    {"console.css", "text/css; charset=utf-8"},
	    {"console.js", "text/javascript; charset=utf-8"},
	};
	char path[1024];
	size_t i, n;
	FILE *f;

	for (i = 0; i < CON_STATIC_FILES; i++) {
		h->files[i].name = allow[i].name;
		h->files[i].type = allow[i].type;
		if (mash_snprintf(path, sizeof(path), "%s/%s", dir,
		                  allow[i].name) != MASH_OK ||
		    (f = fopen(path, "rb")) == NULL) {
			mash_err("console: %s/%s: cannot read", dir,
			         allow[i].name);
			return MASH_ERR_NOT_FOUND;
		}
		h->files[i].body = mash_malloc(CON_STATIC_MAX + 1);
		n = h->files[i].body != NULL
		        ? fread(h->files[i].body, 1, CON_STATIC_MAX + 1, f)
		        : 0;
		fclose(f);
		if (n == 0 || n > CON_STATIC_MAX) {
			mash_err("console: %s: empty or over %u bytes", path,
			         CON_STATIC_MAX);
			return MASH_ERR_TOO_BIG;
		}
		h->files[i].len = n;
	}
	return MASH_OK;
}

static enum MHD_Result
signin_page(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char body[4096];

	(void)snprintf(body, sizeof(body), PAGE_HEAD PAGE_SIGNIN PAGE_TAIL,
	               msg != NULL ? "<p role=\"alert\">" : "",
	               msg != NULL ? msg : "", msg != NULL ? "</p>" : "");
	return respond(c, status, body, NULL, NULL);
}

static enum MHD_Result
field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
      const char *ctype, const char *enc, const char *data, uint64_t off,
      size_t size)
{
	struct req *q = cls;
	char *dst = NULL;
	size_t cap = 0, have;

	(void)kind;
	(void)filename;
	(void)ctype;
	(void)enc;
	if (strcmp(key, "user") == 0) {
		dst = q->user;
		cap = sizeof(q->user);
	} else if (strcmp(key, "password") == 0) {
		dst = q->password;
		cap = sizeof(q->password);
	} else if (strcmp(key, "csrf") == 0) {
		dst = q->pic.csrf;
		cap = sizeof(q->pic.csrf);
	} else if (strcmp(key, "nhs") == 0) {
		dst = q->pic.nhs;
		cap = sizeof(q->pic.nhs);
	} else if (strcmp(key, "case_id") == 0) {
		dst = q->pic.case_id;
		cap = sizeof(q->pic.case_id);
	} else if (strcmp(key, "purpose") == 0) {
		dst = q->pic.purpose;
		cap = sizeof(q->pic.purpose);
	} else if (strcmp(key, "break_glass_reason") == 0) {
		dst = q->pic.reason;
		cap = sizeof(q->pic.reason);
	}
	if (dst == NULL)
		return MHD_YES; /* other fields are ignored */
	have = strlen(dst);
	if (off != have || have + size >= cap) {
		q->too_big = 1;
		return MHD_YES;
	}
	memcpy(dst + have, data, size);
	dst[have + size] = '\0';
	return MHD_YES;
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
          enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (q == NULL)
		return;
	if (q->pp != NULL)
		(void)MHD_destroy_post_processor(q->pp);
	mash_free_secret(q, sizeof(*q));
	*con_cls = NULL;
}

static enum MHD_Result
do_signin(struct con_http *h, struct MHD_Connection *c, struct req *q)
{
	struct mash_acct_session *acct = NULL;
	const struct con_session *s = NULL;
	struct con_hub *hub = NULL;
	char cookie[160], why[512];
	int64_t now = mash_clock_now(h->clock);
	int rc, throttled;

	if (!mash_trust_id_valid(q->user))
		return signin_page(c, MHD_HTTP_UNAUTHORIZED,
		                   "Wrong user name or password.");
	pthread_mutex_lock(&h->lock);
	throttled = con_sessions_throttled(h->sessions, q->user, now);
	pthread_mutex_unlock(&h->lock);
	if (throttled) {
		mash_warn("console: sign-in refused for a throttled user name");
		return signin_page(c, MHD_HTTP_TOO_MANY_REQUESTS,
		                   "Too many failed attempts. Try again "
		                   "later.");
	}
	/* The slow part (argon2id) runs outside the lock. */
	rc = mash_acct_signin(h->accounts, q->user, q->password, &acct);
	pthread_mutex_lock(&h->lock);
	if (rc != MASH_OK) {
		con_sessions_failed(h->sessions, q->user, now);
		pthread_mutex_unlock(&h->lock);
		mash_info("console: failed sign-in (%s)", mash_errname(rc));
		return signin_page(c, MHD_HTTP_UNAUTHORIZED,
		                   "Wrong user name or password.");
	}
	con_sessions_succeeded(h->sessions, q->user);
	pthread_mutex_unlock(&h->lock);
	/* The principal's link to the hub, as that principal (connecting
	 * is slow: outside the lock). */
	if (h->hubs != NULL) {
		rc = con_hubs_get(h->hubs, acct, &hub, why, sizeof(why));
		if (rc != MASH_OK) {
			mash_warn("console: %s signed in, but no inbox: %s",
			          q->user, why);
			mash_acct_session_free(acct);
			return signin_page(
			    c, MHD_HTTP_SERVICE_UNAVAILABLE,
			    "Your password is right, but the hub "
			    "cannot be reached for your inbox. "
			    "Try again later or call the service "
			    "desk.");
		}
	}
	pthread_mutex_lock(&h->lock);
	rc = con_sessions_start(h->sessions, acct, hub, now, &s);
	if (rc == MASH_OK)
		(void)snprintf(cookie, sizeof(cookie),
		               COOKIE "=%s; HttpOnly; Secure; SameSite=Strict; "
		                      "Path=/",
		               s->id);
	pthread_mutex_unlock(&h->lock);
	if (rc != MASH_OK)
		return signin_page(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		                   "The console is full. Try again later.");
	mash_info("console: %s signed in", q->user);
	return respond(c, MHD_HTTP_SEE_OTHER, "", "/inbox", cookie);
}

/* GET /inbox and GET /picture: the signed-in pages (303 to / without a
 * session). name, principal and token are [a-z0-9._-]: nothing to
 * escape. */
static enum MHD_Result
do_page(struct con_http *h, struct MHD_Connection *c, int picture)
{
	const char *id =
	    MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
	const struct con_session *s;
	char name[MASH_ACCT_NAME_MAX + 1], principal[MASH_ACCT_NAME_MAX + 1];
	char csrf[CON_SESS_ID_HEX + 1], body[8192], main_part[4096];
	static const char current[] = " aria-current=\"page\"";

	pthread_mutex_lock(&h->lock);
	s = con_sessions_get(h->sessions, id, mash_clock_now(h->clock));
	if (s != NULL) {
		(void)mash_strlcpy(name, s->acct->name, sizeof(name));
		(void)mash_strlcpy(principal, s->acct->principal,
		                   sizeof(principal));
		(void)mash_strlcpy(csrf, s->csrf, sizeof(csrf));
	}
	pthread_mutex_unlock(&h->lock);
	if (s == NULL)
		return respond(c, MHD_HTTP_SEE_OTHER, "", "/", NULL);
	if (picture)
		(void)snprintf(main_part, sizeof(main_part), MAIN_PICTURE,
		               csrf);
	else
		(void)snprintf(main_part, sizeof(main_part), "%s", MAIN_INBOX);
	(void)snprintf(body, sizeof(body), PAGE_HEAD PAGE_SIGNED_IN PAGE_TAIL,
	               picture ? "" : current, picture ? current : "", name,
	               principal, csrf, main_part);
	return respond(c, MHD_HTTP_OK, body, NULL, NULL);
}

static enum MHD_Result
do_signout(struct con_http *h, struct MHD_Connection *c, struct req *q)
{
	const char *id =
	    MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE);
	const struct con_session *s;
	int ok = 0;

	pthread_mutex_lock(&h->lock);
	s = con_sessions_get(h->sessions, id, mash_clock_now(h->clock));
	if (s != NULL && con_sessions_csrf_ok(s, q->pic.csrf)) {
		(void)con_sessions_end(h->sessions, id);
		ok = 1;
	}
	pthread_mutex_unlock(&h->lock);
	if (!ok)
		return respond(c, MHD_HTTP_FORBIDDEN,
		               PAGE_HEAD "<main><p role=\"alert\">Refused: not "
		                         "signed in, or the form is stale.</p>"
		                         "</main>" PAGE_TAIL,
		               NULL, NULL);
	return respond(c, MHD_HTTP_SEE_OTHER, "", "/",
	               COOKIE "=; HttpOnly; Secure; SameSite=Strict; "
	                      "Path=/; Max-Age=0");
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *upload, size_t *upload_size,
       void **con_cls)
{
	struct con_http *h = cls;
	struct req *q = *con_cls;
	int post = strcmp(method, "POST") == 0;

	(void)version;
	if (q == NULL) { /* first call: headers only */
		q = mash_calloc(1, sizeof(*q));
		if (q == NULL)
			return MHD_NO;
		*con_cls = q;
		if (post) {
			q->pp = MHD_create_post_processor(c, 1024, field, q);
			if (q->pp == NULL)
				return respond(c, MHD_HTTP_BAD_REQUEST,
				               "bad form", NULL, NULL);
		}
		return MHD_YES;
	}
	if (post && *upload_size > 0) {
		q->body += *upload_size;
		if (q->body > MAX_BODY)
			q->too_big = 1;
		else if (MHD_post_process(q->pp, upload, *upload_size) !=
		         MHD_YES)
			q->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (post && q->too_big)
		return respond(c, 413, "too large", NULL, NULL);
	if (strcmp(url, "/") == 0 && !post)
		return signin_page(c, MHD_HTTP_OK, NULL);
	if (strcmp(url, "/signin") == 0 && post)
		return do_signin(h, c, q);
	if (strcmp(url, "/inbox") == 0 && !post)
		return do_page(h, c, 0);
	if (strcmp(url, "/signout") == 0 && post)
		return do_signout(h, c, q);
	if (strcmp(url, "/favicon.ico") == 0 && !post)
		return respond(c, MHD_HTTP_NO_CONTENT, "", NULL, NULL);
	if (strncmp(url, "/static/", 8) == 0 && !post)
		return static_file(h, c, url + 8);
	if (strcmp(url, "/api/inbox") == 0 && !post)
		return con_api_inbox(h, c);
	if (strcmp(url, "/api/events") == 0 && !post)
		return con_api_events(h, c);
	if (strcmp(url, "/api/picture") == 0 && post)
		return con_api_picture(h, c, &q->pic);
	if (strcmp(url, "/picture") == 0 && !post)
		return do_page(h, c, 1);
	return respond(c, MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
}

/* A session ended (sign-out, idle, shutdown): its reference to the
 * principal's link goes back; the last one closes it and wipes its keys. */
static void
end_link(void *ctx, void *link)
{
	struct con_http *h = ctx;

	con_hub_put(h->hubs, link);
}

int
con_http_start(const struct con_http_cfg *cfg, struct con_http **out)
{
	struct con_http *h = NULL;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	int rc = MASH_ERR_INVAL;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (cfg == NULL || cfg->cert_pem == NULL || cfg->key_pem == NULL ||
	    cfg->accounts == NULL || cfg->listen == NULL || cfg->idle_ms <= 0)
		return MASH_ERR_INVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(cfg->port);
	if (inet_pton(AF_INET, cfg->listen, &sa.sin_addr) != 1)
		return MASH_ERR_INVAL;
	rc = MASH_ERR_NOMEM;
	h = mash_calloc(1, sizeof(*h));
	if (h == NULL)
		return rc;
	pthread_mutex_init(&h->lock, NULL);
	h->clock = cfg->clock != NULL ? cfg->clock : mash_clock_system();
	h->accounts = mash_strdup(cfg->accounts);
	if (h->accounts == NULL)
		goto fail;
	rc = load_static(h, cfg->static_dir != NULL ? cfg->static_dir
	                                            : MASH_CONSOLE_STATIC_DIR);
	if (rc != MASH_OK)
		goto fail;
	rc = MASH_ERR_NOMEM;
	if (cfg->hub != NULL && con_hubs_new(cfg->hub, &h->hubs) != MASH_OK)
		goto fail;
	if (con_sessions_new(cfg->idle_ms, end_link, h, &h->sessions) !=
	    MASH_OK)
		goto fail;
	/* A thread per connection: a live event stream waits for the next
	 * delivery without holding up anyone else's request. */
	h->d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	        MHD_USE_TLS | MHD_USE_ERROR_LOG,
	    cfg->port, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_HTTPS_MEM_CERT, cfg->cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
	    cfg->key_pem, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CON_HTTP_MAX_CONNECTIONS,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		mash_err("console: cannot listen on %s:%u with that "
		         "certificate and key",
		         cfg->listen, (unsigned)cfg->port);
		rc = MASH_ERR_IO;
		goto fail;
	}
	info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info != NULL ? info->port : cfg->port;
	*out = h;
	return MASH_OK;
fail:
	con_http_stop(h);
	return rc;
}

uint16_t
con_http_port(const struct con_http *h)
{
	return h != NULL ? h->port : 0;
}

void
con_http_stop(struct con_http *h)
{
	if (h == NULL)
		return;
	if (h->d != NULL)
		MHD_stop_daemon(h->d);
	con_sessions_free(h->sessions); /* gives every link back */
	con_hubs_free(h->hubs);
	for (size_t i = 0; i < CON_STATIC_FILES; i++)
		mash_free(h->files[i].body);
	mash_free(h->accounts);
	pthread_mutex_destroy(&h->lock);
	mash_free(h);
}
