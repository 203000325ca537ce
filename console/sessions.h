/*
 * sessions.h - the console's signed-in sessions and its sign-in throttle
 * (issue 29). A session is a random 256-bit id (the cookie) bound to one
 * account session (console/account.h: the principal's unwrapped keys), a
 * CSRF token for state-changing requests, and the time it was last used:
 * idle longer than the timeout, it is wiped. Failed sign-ins are counted
 * per user name; past the limit the name is refused for a while, whatever
 * the password. Time is passed in (tests). Not thread-safe: the caller
 * holds a lock (the HTTP server's threads share one table).
 */
#ifndef MASH_CONSOLE_SESSIONS_H
#define MASH_CONSOLE_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "console/account.h"

#define CON_SESS_ID_HEX 64u /* 32 random bytes */
#define CON_SESS_MAX    256u
#define CON_FAIL_LIMIT  5u       /* failed sign-ins per name ... */
#define CON_FAIL_WINDOW 900000LL /* ... within 15 minutes */

struct con_sessions;

struct con_session {
	char id[CON_SESS_ID_HEX + 1];
	char csrf[CON_SESS_ID_HEX + 1];
	struct mash_acct_session *acct; /* owned */
	void *link; /* the session's link to the hub (console/hub.h), owned */
	int64_t last_ms;
};

/* Called with a session's link when the session ends (sign-out, idle,
 * table freed), under the caller's lock. */
typedef void (*con_link_end_fn)(void *ctx, void *link);

/* A table with idle timeout idle_ms; end_link (may be NULL) releases a
 * session's link. MASH_OK, MASH_ERR_NOMEM. */
int con_sessions_new(int64_t idle_ms, con_link_end_fn end_link, void *ctx,
                     struct con_sessions **out);
/* Wipe every session and free. NULL allowed. */
void con_sessions_free(struct con_sessions *t);

/* Start a session for acct with link (both taken over, also on failure;
 * link may be NULL). *out points into the table until the session ends.
 * MASH_OK, MASH_ERR_NOMEM, MASH_ERR_TOO_BIG (full), MASH_ERR_CRYPTO (no
 * randomness). */
int con_sessions_start(struct con_sessions *t, struct mash_acct_session *acct,
                       void *link, int64_t now_ms,
                       const struct con_session **out);

/* The live session with this id, its idle clock restarted; NULL if none
 * (or idle too long: then it is wiped now). */
const struct con_session *con_sessions_get(struct con_sessions *t,
                                           const char *id, int64_t now_ms);

/* As con_sessions_get, but the idle clock is not restarted: a page left
 * open on a live stream is not a person at the keyboard. */
const struct con_session *con_sessions_peek(struct con_sessions *t,
                                            const char *id, int64_t now_ms);

/* End the session id (sign-out). MASH_OK or MASH_ERR_NOT_FOUND. */
int con_sessions_end(struct con_sessions *t, const char *id);

/* 1 if csrf is s's token (constant time), else 0. */
int con_sessions_csrf_ok(const struct con_session *s, const char *csrf);

/* 1 if name has CON_FAIL_LIMIT failures within CON_FAIL_WINDOW. */
int con_sessions_throttled(struct con_sessions *t, const char *name,
                           int64_t now_ms);
/* Count a failed sign-in for name; a success clears its count. */
void con_sessions_failed(struct con_sessions *t, const char *name,
                         int64_t now_ms);
void con_sessions_succeeded(struct con_sessions *t, const char *name);

#endif
