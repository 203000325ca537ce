/*
 * aud_json.c - the canonical encoding of an audit record. See aud_json.h.
 *
 * The record's own keys are known and few, so they are written in sorted
 * order straight into one buffer: building a jansson object per record
 * (a hash table, an allocation per value, a sort of the keys on dump) was
 * half of what an append cost, and mashd appends two or three records
 * for every delivery (issue 32's profile). "extra" is a caller's JSON
 * text and still goes through jansson: parsed, its strings masked, and
 * dumped with the same flags, so the leaf is byte for byte what
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) gives for the whole object
 * and what verify.c checks (test_aud: every record round-trips).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/aud_json.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

#define JB_FIRST 1024u

/*
 * Mask every run of exactly ten digits (single spaces or hyphens allowed
 * between digits, "943 476 5919") with '#': a ten-digit number in an audit
 * record could only be an NHS number that a caller passed by mistake, and
 * the trail must never hold one. UUIDs and millisecond times never form a
 * ten-digit run. A run inside a hex digest (a run of 32 or more hex
 * characters: a SHA-256, a key fingerprint) is part of the digest and
 * kept: one policy in three has a ten-digit run in its SHA-256, and the
 * POLICY_LOAD record's hash came out mangled ('#') for those.
 */
static int
in_hex_digest(const char *s, size_t i, size_t j)
{
	size_t a = i, b = j;

	while (a > 0 && isxdigit((unsigned char)s[a - 1]))
		a--;
	while (isxdigit((unsigned char)s[b]))
		b++;
	return b - a >= 32;
}

static void
mask_nhs_like(char *s)
{
	size_t i = 0, j, k, digits;
	int sep;

	while (s[i] != '\0') {
		if (!isdigit((unsigned char)s[i])) {
			i++;
			continue;
		}
		j = i;
		digits = 0;
		sep = 0;
		for (;;) {
			if (isdigit((unsigned char)s[j])) {
				digits++;
				j++;
			} else if ((s[j] == ' ' || s[j] == '-') &&
			           isdigit((unsigned char)s[j + 1])) {
				sep = 1;
				j++;
			} else {
				break;
			}
		}
		if (digits == 10 && (sep || !in_hex_digest(s, i, j))) {
			for (k = i; k < j; k++)
				if (isdigit((unsigned char)s[k]))
					s[k] = '#';
		}
		i = j;
	}
}

/* ---- the checks, in the record's field order ----------------------------- */

static int
check_str(const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0')
		return MASH_OK;
	return mash_str_check(s, max);
}

static int
check_names(const char *const *names, size_t n)
{
	size_t i;
	int rc;

	if (n == 0)
		return MASH_OK;
	if (names == NULL || n > MASH_AUD_MAX_FIELDS)
		return MASH_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (names[i] == NULL || names[i][0] == '\0')
			return MASH_ERR_INVAL;
		rc = mash_str_check(names[i], MASH_AUD_MAX_ID);
		if (rc != MASH_OK)
			return rc;
	}
	return MASH_OK;
}

static int
check_by_rule(const struct mash_aud_rule_fields *g, size_t n)
{
	size_t i;
	int rc;

	if (n == 0)
		return MASH_OK;
	if (g == NULL || n > MASH_AUD_MAX_FIELDS)
		return MASH_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (g[i].rule_id == NULL || g[i].rule_id[0] == '\0' ||
		    g[i].n_fields == 0)
			return MASH_ERR_INVAL;
		rc = check_str(g[i].rule_id, MASH_AUD_MAX_ID);
		if (rc == MASH_OK)
			rc = check_str(g[i].legal_basis, MASH_AUD_MAX_ID);
		if (rc == MASH_OK)
			rc = check_names(g[i].fields, g[i].n_fields);
		if (rc != MASH_OK)
			return rc;
	}
	return MASH_OK;
}

static int
check(const struct mash_aud_record *rec, uint64_t seq, int64_t time_ms)
{
	const char *ids[] = {rec->actor,    rec->case_id,    rec->agency,
	                     rec->event_id, rec->recipient,  rec->purpose,
	                     rec->rule_id,  rec->legal_basis};
	size_t i;
	int rc = MASH_OK;

	if (mash_aud_type_name(rec->type) == NULL || rec->actor == NULL ||
	    rec->actor[0] == '\0' || seq == 0 || seq > (uint64_t)INT64_MAX ||
	    time_ms < 0)
		return MASH_ERR_INVAL;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]) && rc == MASH_OK; i++)
		rc = check_str(ids[i], MASH_AUD_MAX_ID);
	if (rc == MASH_OK)
		rc = check_names(rec->shared, rec->n_shared);
	if (rc == MASH_OK)
		rc = check_names(rec->withheld, rec->n_withheld);
	if (rc == MASH_OK)
		rc = check_str(rec->reason, MASH_AUD_MAX_REASON);
	if (rc == MASH_OK)
		rc = check_by_rule(rec->by_rule, rec->n_by_rule);
	return rc;
}

/* Mask every string inside a parsed "extra" value, in place. Keys are
 * checked, not masked: a key with a ten-digit run is refused. */
static int
clean_extra(json_t *v)
{
	const char *key;
	json_t *child;
	size_t i;
	char probe[MASH_AUD_MAX_EXTRA + 1];
	int rc;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, key, child)
		{
			if (mash_strlcpy(probe, key, sizeof(probe)) != MASH_OK)
				return MASH_ERR_FIELD_TOO_LONG;
			mask_nhs_like(probe);
			if (strcmp(probe, key) != 0)
				return MASH_ERR_INVAL;
			rc = clean_extra(child);
			if (rc != MASH_OK)
				return rc;
		}
		return MASH_OK;
	case JSON_ARRAY:
		json_array_foreach(v, i, child)
		{
			rc = clean_extra(child);
			if (rc != MASH_OK)
				return rc;
		}
		return MASH_OK;
	case JSON_STRING:
		/* Parsed: at most the extra's length, valid UTF-8. */
		if (mash_strlcpy(probe, json_string_value(v), sizeof(probe)) !=
		    MASH_OK)
			return MASH_ERR_FIELD_TOO_LONG;
		mask_nhs_like(probe);
		return json_string_set(v, probe) == 0 ? MASH_OK
		                                      : MASH_ERR_NOMEM;
	case JSON_REAL:
		/* Floats have no canonical text form: not in records. */
		return MASH_ERR_INVAL;
	default:
		return MASH_OK;
	}
}

/* The caller's "extra" as canonical text (*out, jansson's allocator: free),
 * or NULL when there is none or it is an empty object. */
static int
extra_text(const char *extra_json, char **out)
{
	json_t *extra = NULL;
	json_error_t jerr;
	size_t n;
	int rc = MASH_OK;

	*out = NULL;
	if (extra_json == NULL || extra_json[0] == '\0')
		goto out;
	rc = MASH_ERR_FIELD_TOO_LONG;
	n = strlen(extra_json);
	if (n > MASH_AUD_MAX_EXTRA)
		goto out;
	rc = MASH_ERR_INVAL;
	extra = json_loadb(extra_json, n, JSON_REJECT_DUPLICATES, &jerr);
	if (extra == NULL || !json_is_object(extra))
		goto out;
	rc = clean_extra(extra);
	if (rc != MASH_OK || json_object_size(extra) == 0)
		goto out;
	rc = MASH_ERR_NOMEM;
	*out = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
	if (*out == NULL)
		goto out;
	rc = MASH_OK;
out:
	json_decref(extra);
	return rc;
}

/* ---- the writer ---------------------------------------------------------- */

struct jb {
	char *p;
	size_t len, cap;
	int rc;
};

static void
jb_put(struct jb *b, const char *s, size_t n)
{
	size_t cap;
	char *np;

	if (b->rc != MASH_OK)
		return;
	if (n > MASH_AUD_MAX_RECORD - b->len) {
		b->rc = MASH_ERR_TOO_BIG;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap > 0 ? b->cap : JB_FIRST;
		while (cap < b->len + n + 1)
			cap *= 2;
		np = mash_realloc(b->p, cap);
		if (np == NULL) {
			b->rc = MASH_ERR_NOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* s (valid UTF-8) as a JSON string, escaped as jansson escapes: the two
 * JSON specials and control characters only, short forms where JSON has
 * them, else \u with upper-case hex. */
static void
jb_str(struct jb *b, const char *s)
{
	const char *run = s;
	char esc[8];

	jb_put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		const char *e = esc;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jb_put(b, run, (size_t)(s - run));
		switch (c) {
		case '"':
			e = "\\\"";
			break;
		case '\\':
			e = "\\\\";
			break;
		case '\b':
			e = "\\b";
			break;
		case '\f':
			e = "\\f";
			break;
		case '\n':
			e = "\\n";
			break;
		case '\r':
			e = "\\r";
			break;
		case '\t':
			e = "\\t";
			break;
		default:
			(void)snprintf(esc, sizeof(esc), "\\u%04X", c);
			break;
		}
		jb_put(b, e, strlen(e));
		run = s + 1;
	}
	jb_put(b, run, (size_t)(s - run));
	jb_put(b, "\"", 1);
}

/* ,"key": (the record always starts with "actor", so only it has no
 * comma). */
static void
jb_key(struct jb *b, const char *key)
{
	if (b->len > 1)
		jb_put(b, ",", 1);
	jb_str(b, key);
	jb_put(b, ":", 1);
}

/* A checked value, masked; keep (MASH_AUD_MAX_ID + 1 bytes, may be NULL)
 * receives the masked copy for the row's column. */
static void
jb_masked(struct jb *b, const char *s, char *keep)
{
	char tmp[MASH_AUD_MAX_REASON + 1];

	if (mash_strlcpy(tmp, s, sizeof(tmp)) != MASH_OK) {
		b->rc = MASH_ERR_FIELD_TOO_LONG; /* check() let it by */
		return;
	}
	mask_nhs_like(tmp);
	if (keep != NULL)
		(void)mash_strlcpy(keep, tmp, MASH_AUD_MAX_ID + 1);
	jb_str(b, tmp);
}

static void
jb_opt(struct jb *b, const char *key, const char *s, char *keep)
{
	if (s == NULL || s[0] == '\0')
		return;
	jb_key(b, key);
	jb_masked(b, s, keep);
}

static void
jb_int(struct jb *b, const char *key, int64_t v)
{
	char num[24];

	jb_key(b, key);
	(void)snprintf(num, sizeof(num), "%lld", (long long)v);
	jb_put(b, num, strlen(num));
}

static void
jb_names(struct jb *b, const char *key, const char *const *names, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	if (key != NULL)
		jb_key(b, key);
	jb_put(b, "[", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			jb_put(b, ",", 1);
		jb_masked(b, names[i], NULL);
	}
	jb_put(b, "]", 1);
}

/* "by_rule": [{"basis":..,"decision":..,"fields":[..],"rule":..}, ...] in
 * the caller's order (docs/internals/audit.md). */
static void
jb_by_rule(struct jb *b, const struct mash_aud_rule_fields *g, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	jb_key(b, "by_rule");
	jb_put(b, "[", 1);
	for (i = 0; i < n; i++) {
		jb_put(b, i > 0 ? ",{" : "{", i > 0 ? 2 : 1);
		if (g[i].legal_basis != NULL && g[i].legal_basis[0] != '\0') {
			jb_put(b, "\"basis\":", 8);
			jb_masked(b, g[i].legal_basis, NULL);
			jb_put(b, ",", 1);
		}
		jb_put(b, "\"decision\":", 11);
		jb_str(b, g[i].shared ? "shared" : "withheld");
		jb_put(b, ",\"fields\":", 10);
		jb_names(b, NULL, g[i].fields, g[i].n_fields);
		jb_put(b, ",\"rule\":", 8);
		jb_masked(b, g[i].rule_id, NULL);
		jb_put(b, "}", 1);
	}
	jb_put(b, "]", 1);
}

int
mash_aud_json(const struct mash_aud_record *rec, uint64_t seq, int64_t time_ms,
              char **out, size_t *len, struct mash_aud_cols *cols)
{
	struct mash_aud_cols none;
	struct jb b = {NULL, 0, 0, MASH_OK};
	char *extra = NULL;
	int rc = MASH_ERR_INVAL;

	*out = NULL;
	*len = 0;
	if (cols == NULL)
		cols = &none;
	memset(cols, 0, sizeof(*cols));
	if (rec == NULL)
		goto out;
	rc = check(rec, seq, time_ms);
	if (rc == MASH_OK)
		rc = extra_text(rec->extra_json, &extra);
	if (rc != MASH_OK)
		goto out;
	/* Keys in strcmp order, as JSON_SORT_KEYS sorts them. */
	jb_put(&b, "{", 1);
	jb_key(&b, "actor");
	jb_masked(&b, rec->actor, cols->actor);
	jb_opt(&b, "agency", rec->agency, cols->agency);
	jb_by_rule(&b, rec->by_rule, rec->n_by_rule);
	jb_opt(&b, "case_id", rec->case_id, cols->case_id);
	jb_opt(&b, "event_id", rec->event_id, cols->event_id);
	if (extra != NULL) {
		jb_key(&b, "extra");
		jb_put(&b, extra, strlen(extra));
	}
	jb_opt(&b, "legal_basis", rec->legal_basis, NULL);
	jb_opt(&b, "purpose", rec->purpose, NULL);
	jb_opt(&b, "reason", rec->reason, NULL);
	jb_opt(&b, "recipient", rec->recipient, cols->recipient);
	jb_opt(&b, "rule_id", rec->rule_id, NULL);
	jb_int(&b, "seq", (int64_t)seq);
	jb_names(&b, "shared", rec->shared, rec->n_shared);
	jb_int(&b, "time", time_ms);
	jb_key(&b, "type");
	jb_str(&b, mash_aud_type_name(rec->type));
	jb_int(&b, "v", MASH_AUD_VERSION);
	jb_names(&b, "withheld", rec->withheld, rec->n_withheld);
	jb_put(&b, "}", 1);
	rc = b.rc;
	if (rc != MASH_OK)
		goto out;
	*out = b.p;
	*len = b.len;
	b.p = NULL; /* transferred */
out:
	if (rc != MASH_OK)
		memset(cols, 0, sizeof(*cols));
	free(extra); /* jansson's allocator */
	mash_free(b.p);
	return rc;
}

int
mash_aud_encode(const struct mash_aud_record *rec, uint64_t seq,
                int64_t time_ms, char **out, size_t *len)
{
	return mash_aud_json(rec, seq, time_ms, out, len, NULL);
}
