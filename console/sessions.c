/*
 * sessions.c - the console's sessions and sign-in throttle. See
 * sessions.h.
 */
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "console/sessions.h"

/* Names whose failures are remembered at once (oldest forgotten). */
#define FAIL_NAMES 1024u

struct fail {
	char name[MASH_ACCT_NAME_MAX + 1];
	unsigned count;
	int64_t first_ms;
};

struct con_sessions {
	int64_t idle_ms;
	con_link_end_fn end_link;
	void *ctx;
	struct con_session s[CON_SESS_MAX];
	struct fail f[FAIL_NAMES];
	size_t next_fail;
};

int
con_sessions_new(int64_t idle_ms, con_link_end_fn end_link, void *ctx,
                 struct con_sessions **out)
{
	if (out == NULL || idle_ms <= 0)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (sodium_init() < 0)
		return MASH_ERR_CRYPTO;
	*out = mash_calloc(1, sizeof(**out));
	if (*out == NULL)
		return MASH_ERR_NOMEM;
	(*out)->idle_ms = idle_ms;
	(*out)->end_link = end_link;
	(*out)->ctx = ctx;
	return MASH_OK;
}

static void
end_link(struct con_sessions *t, void *link)
{
	if (link != NULL && t->end_link != NULL)
		t->end_link(t->ctx, link);
}

static void
wipe(struct con_sessions *t, struct con_session *s)
{
	end_link(t, s->link);
	mash_acct_session_free(s->acct);
	sodium_memzero(s, sizeof(*s));
}

void
con_sessions_free(struct con_sessions *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < CON_SESS_MAX; i++)
		wipe(t, &t->s[i]);
	mash_free_secret(t, sizeof(*t));
}

static void
random_hex(char out[CON_SESS_ID_HEX + 1])
{
	unsigned char b[CON_SESS_ID_HEX / 2];

	randombytes_buf(b, sizeof(b));
	mash_hex(b, sizeof(b), out);
	sodium_memzero(b, sizeof(b));
}

int
con_sessions_start(struct con_sessions *t, struct mash_acct_session *acct,
                   void *link, int64_t now_ms, const struct con_session **out)
{
	struct con_session *free_slot = NULL;
	size_t i;

	*out = NULL;
	if (t == NULL || acct == NULL) {
		if (t != NULL)
			end_link(t, link);
		mash_acct_session_free(acct);
		return MASH_ERR_INVAL;
	}
	for (i = 0; i < CON_SESS_MAX; i++) {
		struct con_session *s = &t->s[i];

		if (s->acct != NULL && now_ms - s->last_ms > t->idle_ms)
			wipe(t, s); /* idle: the keys go now, not at next use */
		if (s->acct == NULL && free_slot == NULL)
			free_slot = s;
	}
	if (free_slot == NULL) {
		end_link(t, link);
		mash_acct_session_free(acct);
		return MASH_ERR_TOO_BIG;
	}
	random_hex(free_slot->id);
	random_hex(free_slot->csrf);
	free_slot->acct = acct;
	free_slot->link = link;
	free_slot->last_ms = now_ms;
	*out = free_slot;
	return MASH_OK;
}

static struct con_session *
find(struct con_sessions *t, const char *id)
{
	size_t i;

	if (t == NULL || id == NULL || strlen(id) != CON_SESS_ID_HEX)
		return NULL;
	for (i = 0; i < CON_SESS_MAX; i++)
		if (t->s[i].acct != NULL &&
		    sodium_memcmp(t->s[i].id, id, CON_SESS_ID_HEX) == 0)
			return &t->s[i];
	return NULL;
}

const struct con_session *
con_sessions_get(struct con_sessions *t, const char *id, int64_t now_ms)
{
	struct con_session *s = find(t, id);

	if (s == NULL)
		return NULL;
	if (now_ms - s->last_ms > t->idle_ms) {
		wipe(t, s);
		return NULL;
	}
	s->last_ms = now_ms;
	return s;
}

const struct con_session *
con_sessions_peek(struct con_sessions *t, const char *id, int64_t now_ms)
{
	struct con_session *s = find(t, id);

	if (s == NULL || now_ms - s->last_ms > t->idle_ms)
		return NULL;
	return s;
}

int
con_sessions_end(struct con_sessions *t, const char *id)
{
	struct con_session *s = find(t, id);

	if (s == NULL)
		return MASH_ERR_NOT_FOUND;
	wipe(t, s);
	return MASH_OK;
}

int
con_sessions_csrf_ok(const struct con_session *s, const char *csrf)
{
	return s != NULL && csrf != NULL && strlen(csrf) == CON_SESS_ID_HEX &&
	       sodium_memcmp(s->csrf, csrf, CON_SESS_ID_HEX) == 0;
}

static struct fail *
fail_of(struct con_sessions *t, const char *name)
{
	size_t i;

	for (i = 0; i < FAIL_NAMES; i++)
		if (t->f[i].count > 0 && strcmp(t->f[i].name, name) == 0)
			return &t->f[i];
	return NULL;
}

int
con_sessions_throttled(struct con_sessions *t, const char *name, int64_t now_ms)
{
	struct fail *f = t != NULL && name != NULL ? fail_of(t, name) : NULL;

	if (f == NULL)
		return 0;
	if (now_ms - f->first_ms > CON_FAIL_WINDOW) {
		memset(f, 0, sizeof(*f));
		return 0;
	}
	return f->count >= CON_FAIL_LIMIT;
}

void
con_sessions_failed(struct con_sessions *t, const char *name, int64_t now_ms)
{
	struct fail *f;

	if (t == NULL || name == NULL)
		return;
	f = fail_of(t, name);
	if (f != NULL && now_ms - f->first_ms > CON_FAIL_WINDOW)
		memset(f, 0, sizeof(*f));
	if (f == NULL || f->count == 0) {
		f = &t->f[t->next_fail++ % FAIL_NAMES];
		memset(f, 0, sizeof(*f));
		(void)mash_strlcpy(f->name, name, sizeof(f->name));
		f->first_ms = now_ms;
	}
	f->count++;
}

void
con_sessions_succeeded(struct con_sessions *t, const char *name)
{
	struct fail *f = t != NULL && name != NULL ? fail_of(t, name) : NULL;

	if (f != NULL)
		memset(f, 0, sizeof(*f));
}
