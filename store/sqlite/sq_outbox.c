/*
 * sq_outbox.c - the outbox: messages to publish after COMMIT, and held
 * deliveries (store.h).
 */
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "store/sqlite/sq_int.h"

/* ------------------------------------------------------------------ */
/* Outbox                                                              */

/* Add a ready message (held_type NULL) or a held payload. */
static int
outbox_insert(struct mash_store_be *st, const char *topic,
              const char *held_type, const unsigned char *bytes, size_t len,
              int64_t audit_seq, int64_t *id_out)
{
	sqlite3_stmt *s = NULL;
	char where[SQ_WHERE_MAX];
	uint8_t *owned = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (id_out != NULL)
		*id_out = 0;
	if (st == NULL || (bytes == NULL && len > 0))
		goto out;
	rc = sq_check_id(topic, MASH_MAX_TOPIC);
	if (rc == MASH_OK && held_type != NULL)
		rc = sq_check_id(held_type, MASH_STORE_MAX_HELD_TYPE);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_TOO_BIG;
	if (len > MASH_STORE_MAX_OUTBOX_BYTES)
		goto out;
	/* A held payload waits in clear for its recipient's encryption key
	 * (issue 25): at rest it is sealed like an event. Ready messages
	 * are sealed to their recipient already. */
	if (held_type != NULL) {
		rc = sq_where(where, sizeof(where), "outbox.held", topic,
		              held_type);
		if (rc == MASH_OK)
			rc = sq_seal(st, where, bytes, len, &owned, &bytes,
			             &len);
		if (rc != MASH_OK)
			goto out;
	}
	rc = sq_stmt(st, held_type != NULL ? S_OUTBOX_HOLD : S_OUTBOX_ADD, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, topic, -1, SQLITE_STATIC) ||
	    sq_bind_blob(s, 2, bytes, len) ||
	    sqlite3_bind_int64(s, 3, mash_clock_now(st->clock)) ||
	    (held_type != NULL &&
	     sqlite3_bind_text(s, 4, held_type, -1, SQLITE_STATIC)) ||
	    (held_type == NULL && audit_seq > 0 &&
	     sqlite3_bind_int64(s, 5, audit_seq))) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "outbox bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "outbox add");
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

int
sq_outbox_add(struct mash_store_be *st, const char *topic,
              const unsigned char *bytes, size_t len, int64_t audit_seq,
              int64_t *id_out)
{
	return outbox_insert(st, topic, NULL, bytes, len, audit_seq, id_out);
}

int
sq_outbox_hold(struct mash_store_be *st, const char *topic,
               const char *payload_type, const unsigned char *bytes, size_t len,
               int64_t *id_out)
{
	if (payload_type == NULL)
		return MASH_ERR_INVAL;
	return outbox_insert(st, topic, payload_type, bytes, len, 0, id_out);
}

void
mash_store_outbox_list_free(struct mash_store_outbox_list *l)
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
sq_outbox_rows(struct mash_store_be *st, int which, const char *sql,
               int64_t after_id, size_t limit,
               struct mash_store_outbox_list **out)
{
	struct mash_store_outbox_list *l = NULL;
	struct mash_store_outbox_row *nv, *r;
	sqlite3_stmt *s = NULL;
	char where[SQ_WHERE_MAX];
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
	rc = which >= 0 ? sq_stmt(st, which, &s) : sq_prep(st, sql, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int64(s, 1, after_id) ||
	    sqlite3_bind_int64(s, 2, limit == 0 ? -1 : (int64_t)limit) ||
	    (sqlite3_bind_parameter_count(s) >= 3 &&
	     sqlite3_bind_int64(s, 3, mash_clock_now(st->clock)))) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "outbox bind");
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
		sq_col_text(s, 1, r->topic, sizeof(r->topic));
		r->created_at = sqlite3_column_int64(s, 3);
		sq_col_text(s, 4, r->held_type, sizeof(r->held_type));
		r->attempts = sqlite3_column_int64(s, 5);
		r->first_fail_at = sqlite3_column_int64(s, 6);
		sq_col_text(s, 7, r->last_error, sizeof(r->last_error));
		r->audit_seq = sqlite3_column_int64(s, 8);
		if (sqlite3_column_count(s) >= 11) {
			r->outbox_id = sqlite3_column_int64(s, 9);
			r->dead_at = sqlite3_column_int64(s, 10);
		}
		rc = sq_col_blob_dup(s, 2, &r->bytes, &r->len);
		if (rc != MASH_OK)
			goto out;
		l->n++;
		if (r->held_type[0] != '\0') {
			rc = sq_where(where, sizeof(where), "outbox.held",
			              r->topic, r->held_type);
			if (rc == MASH_OK)
				rc = sq_unseal(st, where, &r->bytes, &r->len);
			if (rc != MASH_OK)
				goto out;
		}
	}
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "outbox pending");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	mash_store_outbox_list_free(l);
	return rc;
}

int
sq_outbox_pending(struct mash_store_be *st, int64_t after_id, size_t limit,
                  struct mash_store_outbox_list **out)
{
	return sq_outbox_rows(st, S_OUTBOX_PENDING, NULL, after_id, limit, out);
}

int
sq_outbox_held(struct mash_store_be *st, int64_t after_id, size_t limit,
               struct mash_store_outbox_list **out)
{
	return sq_outbox_rows(st, S_OUTBOX_HELD, NULL, after_id, limit, out);
}

int
sq_outbox_release(struct mash_store_be *st, int64_t id,
                  const unsigned char *bytes, size_t len, int64_t audit_seq)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || bytes == NULL || len == 0)
		goto out;
	rc = MASH_ERR_TOO_BIG;
	if (len > MASH_STORE_MAX_OUTBOX_BYTES)
		goto out;
	rc = sq_stmt(st, S_OUTBOX_RELEASE, &s);
	if (rc != MASH_OK)
		goto out;
	if (sq_bind_blob(s, 1, bytes, len) || sqlite3_bind_int64(s, 2, id) ||
	    (audit_seq > 0 && sqlite3_bind_int64(s, 3, audit_seq))) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "outbox bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "outbox release");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	sq_stmt_done(s);
	return rc;
}

int
sq_outbox_done(struct mash_store_be *st, int64_t id)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL)
		goto out;
	rc = sq_stmt(st, S_OUTBOX_DONE, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int64(s, 1, id)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "outbox bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "outbox done");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	sq_stmt_done(s);
	return rc;
}
