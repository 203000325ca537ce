/*
 * sq_events.c - events: insert, receipt state, reads (store.h).
 */
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "store/sqlite/sq_int.h"

/* ------------------------------------------------------------------ */
/* Events                                                              */

int
sq_event_insert(struct mash_store_be *st, const struct mash_store_event *ev,
                int64_t *seq_out)
{
	sqlite3_stmt *s = NULL;
	char where[SQ_WHERE_MAX];
	uint8_t *env_owned = NULL, *pay_owned = NULL;
	const uint8_t *env, *pay;
	size_t env_len, pay_len;
	int rc = MASH_ERR_INVAL;
	int src;

	if (seq_out != NULL)
		*seq_out = 0;
	if (st == NULL || ev == NULL || ev->severity > 4 ||
	    ev->case_id == NULL || ev->case_id[0] == '\0' ||
	    (ev->envelope == NULL && ev->envelope_len > 0) ||
	    (ev->payload == NULL && ev->payload_len > 0))
		goto out;
	rc = sq_check_id(ev->agency, MASH_MAX_AGENCY);
	if (rc != MASH_OK)
		goto out;
	rc = sq_check_id(ev->event_id, MASH_MAX_ID);
	if (rc != MASH_OK)
		goto out;
	rc = sq_check_id(ev->case_id, MASH_STORE_CASE_ID_LEN);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_TOO_BIG;
	if (ev->envelope_len > MASH_MAX_ENVELOPE ||
	    ev->payload_len > MASH_MAX_PAYLOAD)
		goto out;
	rc = sq_where(where, sizeof(where), "events.envelope", ev->agency,
	              ev->event_id);
	if (rc == MASH_OK)
		rc = sq_seal(st, where, ev->envelope, ev->envelope_len,
		             &env_owned, &env, &env_len);
	if (rc == MASH_OK)
		rc = sq_where(where, sizeof(where), "events.payload",
		              ev->agency, ev->event_id);
	if (rc == MASH_OK)
		rc = sq_seal(st, where, ev->payload, ev->payload_len,
		             &pay_owned, &pay, &pay_len);
	if (rc != MASH_OK)
		goto out;
	rc = sq_stmt(st, S_EVENT_INSERT, &s);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_STORE;
	if (sqlite3_bind_text(s, 1, ev->case_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, ev->agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, ev->event_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 4, ev->category) ||
	    sqlite3_bind_int(s, 5, (int)ev->severity) ||
	    sqlite3_bind_int(s, 6, ev->consent) ||
	    sqlite3_bind_int64(s, 7, ev->occurred_at) ||
	    sqlite3_bind_int64(s, 8, ev->recorded_at) ||
	    sqlite3_bind_int64(s, 9, ev->received_at) ||
	    sq_bind_blob(s, 10, env, env_len) ||
	    sq_bind_blob(s, 11, pay, pay_len)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "event bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_CONSTRAINT_UNIQUE) {
		rc = MASH_ERR_DUPLICATE;
		goto out;
	}
	if (src == SQLITE_CONSTRAINT_FOREIGNKEY) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "event insert");
		goto out;
	}
	if (seq_out != NULL)
		*seq_out = sqlite3_last_insert_rowid(st->db);
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	mash_free(env_owned);
	mash_free(pay_owned);
	return rc;
}

int
sq_event_lookup(struct mash_store_be *st, const char *agency,
                const char *event_id, struct mash_store_receipt *out)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (st == NULL || out == NULL || agency == NULL || event_id == NULL)
		goto out;
	rc = sq_stmt(st, S_EVENT_LOOKUP, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, event_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "lookup bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "event lookup");
		goto out;
	}
	out->seq = sqlite3_column_int64(s, 0);
	sq_col_text(s, 1, out->case_id, sizeof(out->case_id));
	out->status = sqlite3_column_int(s, 2);
	out->audit_seq = (uint64_t)sqlite3_column_int64(s, 3);
	out->received_at = sqlite3_column_int64(s, 4);
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}

int
sq_event_set_receipt(struct mash_store_be *st, const char *agency,
                     const char *event_id, int status, uint64_t audit_seq)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || agency == NULL || event_id == NULL ||
	    status < MASH_STORE_RECEIPT_ACCEPTED ||
	    status > MASH_STORE_RECEIPT_REJECTED || audit_seq > INT64_MAX)
		goto out;
	rc = sq_stmt(st, S_EVENT_SET_RECEIPT, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int(s, 1, status) ||
	    (audit_seq == 0 ? sqlite3_bind_null(s, 2)
	                    : sqlite3_bind_int64(s, 2, (int64_t)audit_seq)) ||
	    sqlite3_bind_text(s, 3, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, event_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "receipt bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "receipt update");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	sq_stmt_done(s);
	return rc;
}

static void event_row_clear(struct mash_store_event_row *r);

/* Fill r from a row of EVENT_COLS, opening what is sealed. */
static int
read_event_row(struct mash_store_be *st, sqlite3_stmt *s,
               struct mash_store_event_row *r)
{
	char where[SQ_WHERE_MAX];
	int rc;

	memset(r, 0, sizeof(*r));
	r->seq = sqlite3_column_int64(s, 0);
	sq_col_text(s, 1, r->case_id, sizeof(r->case_id));
	sq_col_text(s, 2, r->agency, sizeof(r->agency));
	sq_col_text(s, 3, r->event_id, sizeof(r->event_id));
	r->category = sqlite3_column_int(s, 4);
	r->severity = (unsigned)sqlite3_column_int(s, 5);
	r->consent = sqlite3_column_int(s, 6);
	r->occurred_at = sqlite3_column_int64(s, 7);
	r->recorded_at = sqlite3_column_int64(s, 8);
	r->received_at = sqlite3_column_int64(s, 9);
	r->receipt_status = sqlite3_column_int(s, 10);
	r->audit_seq = (uint64_t)sqlite3_column_int64(s, 11);
	rc = sq_col_blob_dup(s, 12, &r->envelope, &r->envelope_len);
	if (rc != MASH_OK)
		return rc;
	rc = sq_col_blob_dup(s, 13, &r->payload, &r->payload_len);
	if (rc == MASH_OK)
		rc = sq_where(where, sizeof(where), "events.envelope",
		              r->agency, r->event_id);
	if (rc == MASH_OK)
		rc = sq_unseal(st, where, &r->envelope, &r->envelope_len);
	if (rc == MASH_OK)
		rc = sq_where(where, sizeof(where), "events.payload", r->agency,
		              r->event_id);
	if (rc == MASH_OK)
		rc = sq_unseal(st, where, &r->payload, &r->payload_len);
	if (rc != MASH_OK)
		event_row_clear(r);
	return rc;
}

static void
event_row_clear(struct mash_store_event_row *r)
{
	mash_free_secret(r->envelope, r->envelope_len);
	mash_free_secret(r->payload, r->payload_len);
	r->envelope = NULL;
	r->payload = NULL;
}

void
mash_store_event_list_free(struct mash_store_event_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		event_row_clear(&l->v[i]);
	mash_free(l->v);
	mash_free(l);
}

void
mash_store_event_row_free(struct mash_store_event_row *r)
{
	if (r == NULL)
		return;
	event_row_clear(r);
	mash_free(r);
}

int
sq_case_events(struct mash_store_be *st, const char *case_id,
               struct mash_store_event_list **out)
{
	struct mash_store_event_list *l = NULL;
	struct mash_store_event_row *nv;
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || case_id == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = sq_stmt(st, S_CASE_EVENTS, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "events bind");
		goto out;
	}
	for (;;) {
		src = sqlite3_step(s);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = sq_fail(st, src, "case events");
			goto out;
		}
		if (l->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			rc = MASH_ERR_NOMEM;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		rc = read_event_row(st, s, &l->v[l->n]);
		if (rc != MASH_OK)
			goto out;
		l->n++;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	mash_store_event_list_free(l);
	return rc;
}

int
sq_event_get(struct mash_store_be *st, const char *agency, const char *event_id,
             struct mash_store_event_row **out)
{
	struct mash_store_event_row *r = NULL;
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || agency == NULL || event_id == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	r = mash_calloc(1, sizeof(*r));
	if (r == NULL)
		goto out;
	rc = sq_stmt(st, S_EVENT_GET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, event_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "event get bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "event get");
		goto out;
	}
	rc = read_event_row(st, s, r);
	if (rc != MASH_OK)
		goto out;
	*out = r;
	r = NULL; /* transferred */
out:
	sq_stmt_done(s);
	mash_store_event_row_free(r);
	return rc;
}
