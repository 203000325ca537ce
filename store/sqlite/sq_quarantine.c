/*
 * sq_quarantine.c - the quarantine of rejected messages (store.h).
 */
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/sqlite/sq_int.h"

/* ------------------------------------------------------------------ */
/* Quarantine                                                          */

/* Length of the valid UTF-8 sequence starting at s[0..n), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t want;

	if (n == 0 || s[0] == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		want = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		want = 3;
	else if ((s[0] & 0xf8) == 0xf0)
		want = 4;
	else
		return 0;
	if (want > n || !mash_utf8_valid((const char *)s, want))
		return 0;
	return want;
}

/* Copy at most max bytes of s[0..n) into out (size >= max + 1) as valid
 * UTF-8: invalid bytes and NULs become '?', a sequence that would cross
 * max is dropped. Returns the length written. */
static size_t
sanitize_utf8(const unsigned char *s, size_t n, char *out, size_t max)
{
	size_t i = 0, o = 0, k;

	while (i < n && o < max) {
		k = utf8_seq(s + i, n - i);
		if (k == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + k > max)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
	return o;
}

/* The agency segment of "mash/v1/events/{agency}" if it is a plausible
 * name ([a-z0-9._-], bounded), "" otherwise. */
static void
agency_from_topic(const char *topic, size_t tlen, char *out, size_t outsz)
{
	static const char prefix[] = "mash/v1/events/";
	size_t plen = sizeof(prefix) - 1;
	size_t i, n;
	char c;

	out[0] = '\0';
	if (tlen <= plen || memcmp(topic, prefix, plen) != 0)
		return;
	n = tlen - plen;
	if (n >= outsz)
		return;
	for (i = 0; i < n; i++) {
		c = topic[plen + i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return;
	}
	memcpy(out, topic + plen, n);
	out[n] = '\0';
}

int
sq_quarantine_add(struct mash_store_be *st,
                  const struct mash_store_quarantine *q, int64_t *id_out)
{
	char agency[MASH_MAX_AGENCY + 1];
	char reason[MASH_STORE_MAX_REASON + 1];
	sqlite3_stmt *s = NULL;
	char where[SQ_WHERE_MAX], when[48];
	uint8_t *owned = NULL;
	const uint8_t *bytes;
	size_t tlen = 0, blen, slen;
	int rc = MASH_ERR_INVAL;
	int src;

	if (id_out != NULL)
		*id_out = 0;
	if (st == NULL || q == NULL || (q->bytes == NULL && q->len > 0))
		goto out;
	if (q->topic != NULL)
		tlen = strnlen(q->topic, MASH_MAX_TOPIC);
	if (q->agency != NULL)
		(void)sanitize_utf8((const unsigned char *)q->agency,
		                    strnlen(q->agency, MASH_MAX_AGENCY), agency,
		                    MASH_MAX_AGENCY);
	else if (q->topic != NULL)
		agency_from_topic(q->topic, tlen, agency, sizeof(agency));
	else
		agency[0] = '\0';
	reason[0] = '\0';
	if (q->reason != NULL)
		(void)sanitize_utf8((const unsigned char *)q->reason,
		                    strnlen(q->reason, MASH_STORE_MAX_REASON),
		                    reason, MASH_STORE_MAX_REASON);
	blen = q->len > MASH_STORE_MAX_QUARANTINE_BYTES
	           ? MASH_STORE_MAX_QUARANTINE_BYTES
	           : q->len;
	/* The place of a quarantined payload: its id is known only after
	 * the insert, so agency, time and length (as the migration of
	 * sq_atrest.c writes them). */
	(void)mash_snprintf(when, sizeof(when), "%lld.%lld",
	                    (long long)q->received_at, (long long)q->len);
	rc = sq_where(where, sizeof(where), "quarantine.bytes", agency, when);
	if (rc == MASH_OK)
		rc = sq_seal(st, where, q->bytes, blen, &owned, &bytes, &slen);
	if (rc != MASH_OK)
		goto out;
	rc = sq_stmt(st, S_QUARANTINE_INSERT, &s);
	if (rc != MASH_OK)
		goto out;
	if (sq_bind_blob(s, 1, (const unsigned char *)q->topic, tlen) ||
	    sqlite3_bind_text(s, 2, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 3, q->received_at) ||
	    sqlite3_bind_int(s, 4, q->err) ||
	    sqlite3_bind_text(s, 5, mash_errname(q->err), -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 6, reason, -1, SQLITE_STATIC) ||
	    sq_bind_blob(s, 7, bytes, slen) ||
	    sqlite3_bind_int64(s, 8, (int64_t)q->len) ||
	    sqlite3_bind_int(s, 9, blen < q->len)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "quarantine bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "quarantine insert");
		goto out;
	}
	if (id_out != NULL)
		*id_out = sqlite3_last_insert_rowid(st->db);
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	mash_free(owned);
	return rc;
}

void
mash_store_quarantine_list_free(struct mash_store_quarantine_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		mash_free_secret(l->v[i].bytes, l->v[i].len);
	mash_free(l->v);
	mash_free(l);
}

int
sq_quarantine_list(struct mash_store_be *st, const char *agency,
                   int64_t after_id, size_t limit,
                   struct mash_store_quarantine_list **out)
{
	struct mash_store_quarantine_list *l = NULL;
	struct mash_store_quarantine_row *nv, *r;
	sqlite3_stmt *s = NULL;
	const void *topic;
	char where[SQ_WHERE_MAX], when[48];
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || limit > INT64_MAX)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = sq_stmt(st, S_QUARANTINE_LIST, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int64(s, 1, after_id) ||
	    (agency == NULL
	         ? sqlite3_bind_null(s, 2)
	         : sqlite3_bind_text(s, 2, agency, -1, SQLITE_STATIC)) ||
	    sqlite3_bind_int64(s, 3, limit == 0 ? -1 : (int64_t)limit)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "quarantine bind");
		goto out;
	}
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		if (l->n == cap) {
			rc = MASH_ERR_NOMEM;
			cap = cap == 0 ? 8 : cap * 2;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		r = &l->v[l->n];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(s, 0);
		topic = sqlite3_column_blob(s, 1);
		(void)sanitize_utf8(topic, (size_t)sqlite3_column_bytes(s, 1),
		                    r->topic, MASH_MAX_TOPIC);
		sq_col_text(s, 2, r->agency, sizeof(r->agency));
		r->received_at = sqlite3_column_int64(s, 3);
		r->err = sqlite3_column_int(s, 4);
		sq_col_text(s, 5, r->errname, sizeof(r->errname));
		sq_col_text(s, 6, r->reason, sizeof(r->reason));
		rc = sq_col_blob_dup(s, 7, &r->bytes, &r->len);
		if (rc != MASH_OK)
			goto out;
		l->n++;
		r->orig_len = (size_t)sqlite3_column_int64(s, 8);
		r->truncated = sqlite3_column_int(s, 9);
		(void)mash_snprintf(when, sizeof(when), "%lld.%lld",
		                    (long long)r->received_at,
		                    (long long)sqlite3_column_int64(s, 8));
		rc = sq_where(where, sizeof(where), "quarantine.bytes",
		              r->agency, when);
		if (rc == MASH_OK)
			rc = sq_unseal(st, where, &r->bytes, &r->len);
		if (rc != MASH_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "quarantine list");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	mash_store_quarantine_list_free(l);
	return rc;
}

int
sq_quarantine_purge(struct mash_store_be *st, int64_t before_ms, size_t limit,
                    struct mash_store_purge *out)
{
	sqlite3_stmt *s = NULL, *d = NULL;
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (st == NULL || out == NULL || limit == 0 || limit > 10000)
		goto out;
	rc = sq_prep(st,
	             "SELECT count(*), min(id), max(id) FROM (SELECT id FROM"
	             " quarantine WHERE received_at < ?1 ORDER BY id"
	             " LIMIT ?2)",
	             &s);
	if (rc == MASH_OK)
		rc = sq_prep(st,
		             "DELETE FROM quarantine WHERE id >= ?1 AND"
		             " id <= ?2 AND received_at < ?3",
		             &d);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int64(s, 1, before_ms) ||
	    sqlite3_bind_int64(s, 2, (int64_t)limit) ||
	    sqlite3_step(s) != SQLITE_ROW) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "quarantine purge");
		goto out;
	}
	out->n = (size_t)sqlite3_column_int64(s, 0);
	out->first_id = sqlite3_column_int64(s, 1);
	out->last_id = sqlite3_column_int64(s, 2);
	if (out->n == 0)
		goto out;
	/* Ids grow with time: the range holds exactly the rows counted. */
	if (sqlite3_bind_int64(d, 1, out->first_id) ||
	    sqlite3_bind_int64(d, 2, out->last_id) ||
	    sqlite3_bind_int64(d, 3, before_ms) ||
	    sqlite3_step(d) != SQLITE_DONE) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "quarantine purge");
		memset(out, 0, sizeof(*out));
		goto out;
	}
	out->n = (size_t)sqlite3_changes(st->db);
out:
	sq_stmt_done(s);
	sq_stmt_done(d);
	return rc;
}
