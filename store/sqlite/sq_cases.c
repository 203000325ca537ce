/*
 * sq_cases.c - cases and possible matches: reads and decisions (store.h).
 */
#include <string.h>

#include "common/err.h"
#include "common/mem.h"
#include "store/sqlite/sq_int.h"

void
mash_store_case_free(struct mash_store_case *c)
{
	if (c == NULL)
		return;
	mash_free_str(c->nhs_number);
	mash_free_str(c->given_name);
	mash_free_str(c->family_name);
	mash_free_str(c->date_of_birth);
	mash_free_str(c->postcode);
	mash_free_str(c->sex);
	mash_free(c);
}

int
sq_case_get(struct mash_store_be *st, const char *case_id,
            struct mash_store_case **out)
{
	struct mash_store_case *c = NULL;
	sqlite3_stmt *s = NULL;
	char *f[SQ_ID_FIELDS] = {NULL};
	int rc = MASH_ERR_INVAL;
	int src, k;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL || case_id == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	c = mash_calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	rc = sq_stmt(st, S_CASE_GET, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "case get bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "case get");
		goto out;
	}
	sq_col_text(s, 0, c->case_id, sizeof(c->case_id));
	c->created_at = sqlite3_column_int64(s, 7);
	k = sq_link_keyed(st);
	if (k != 0) {
		/* Sealed identity: the columns hold MACs and NULLs. */
		rc = k < 0 ? MASH_ERR_DENIED
		           : sq_identity_open(
		                 st, c->case_id, sqlite3_column_blob(s, 8),
		                 (size_t)sqlite3_column_bytes(s, 8), f);
		if (rc != MASH_OK)
			goto out;
		c->nhs_number = f[SQ_ID_NHS];
		c->given_name = f[SQ_ID_GIVEN];
		c->family_name = f[SQ_ID_FAMILY];
		c->date_of_birth = f[SQ_ID_DOB];
		c->postcode = f[SQ_ID_POSTCODE];
		c->sex = f[SQ_ID_SEX];
		*out = c;
		c = NULL; /* transferred, with f's strings */
		goto out;
	}
	rc = sq_col_text_dup(s, 1, &c->nhs_number);
	if (rc == MASH_OK)
		rc = sq_col_text_dup(s, 2, &c->given_name);
	if (rc == MASH_OK)
		rc = sq_col_text_dup(s, 3, &c->family_name);
	if (rc == MASH_OK)
		rc = sq_col_text_dup(s, 4, &c->date_of_birth);
	if (rc == MASH_OK)
		rc = sq_col_text_dup(s, 5, &c->postcode);
	if (rc == MASH_OK)
		rc = sq_col_text_dup(s, 6, &c->sex);
	if (rc != MASH_OK)
		goto out;
	*out = c;
	c = NULL; /* transferred */
out:
	sq_stmt_done(s);
	mash_store_case_free(c);
	return rc;
}

void
mash_store_strlist_free(struct mash_store_strlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		mash_free(l->v[i]);
	mash_free(l->v);
	mash_free(l);
}

int
sq_case_agencies(struct mash_store_be *st, const char *case_id,
                 struct mash_store_strlist **out)
{
	struct mash_store_strlist *l = NULL;
	sqlite3_stmt *s = NULL;
	char **nv;
	char *dup;
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
	rc = sq_stmt(st, S_CASE_AGENCIES, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "agencies bind");
		goto out;
	}
	while ((src = sqlite3_step(s)) == SQLITE_ROW) {
		rc = MASH_ERR_NOMEM;
		if (l->n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			nv = mash_realloc(l->v, cap * sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
		}
		rc = sq_col_text_dup(s, 0, &dup);
		if (rc != MASH_OK)
			goto out;
		if (dup == NULL) {
			rc = MASH_ERR_STORE;
			goto out;
		}
		l->v[l->n++] = dup;
	}
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "case agencies");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	mash_store_strlist_free(l);
	return rc;
}

void
mash_store_match_list_free(struct mash_store_match_list *l)
{
	if (l == NULL)
		return;
	mash_free(l->v);
	mash_free(l);
}

int
sq_possible_matches(struct mash_store_be *st, const char *case_id,
                    struct mash_store_match_list **out)
{
	struct mash_store_match_list *l = NULL;
	struct mash_store_match *nv, *m;
	sqlite3_stmt *s = NULL;
	size_t cap = 0;
	int rc = MASH_ERR_INVAL;
	int src;

	if (out != NULL)
		*out = NULL;
	if (st == NULL || out == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	l = mash_calloc(1, sizeof(*l));
	if (l == NULL)
		goto out;
	rc = sq_stmt(st, S_MATCH_LIST, &s);
	if (rc != MASH_OK)
		goto out;
	if (sq_bind_text_or_null(s, 1, case_id)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "matches bind");
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
		m = &l->v[l->n++];
		memset(m, 0, sizeof(*m));
		m->id = sqlite3_column_int64(s, 0);
		sq_col_text(s, 1, m->case_a, sizeof(m->case_a));
		sq_col_text(s, 2, m->case_b, sizeof(m->case_b));
		sq_col_text(s, 3, m->reason, sizeof(m->reason));
		m->status = sqlite3_column_int(s, 4);
		m->created_at = sqlite3_column_int64(s, 5);
	}
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "possible matches");
		goto out;
	}
	*out = l;
	l = NULL; /* transferred */
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	mash_store_match_list_free(l);
	return rc;
}

int
sq_possible_match_decide(struct mash_store_be *st, int64_t id, int status)
{
	sqlite3_stmt *s = NULL;
	int rc = MASH_ERR_INVAL;
	int src;

	if (st == NULL || (status != MASH_STORE_MATCH_CONFIRMED &&
	                   status != MASH_STORE_MATCH_REJECTED))
		goto out;
	rc = sq_stmt(st, S_MATCH_DECIDE, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_int(s, 1, status) ||
	    sqlite3_bind_int64(s, 2, mash_clock_now(st->clock)) ||
	    sqlite3_bind_int64(s, 3, id)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "decide bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "decide");
		goto out;
	}
	rc = sqlite3_changes(st->db) == 1 ? MASH_OK : MASH_ERR_NOT_FOUND;
out:
	sq_stmt_done(s);
	return rc;
}

/* Both from the events_case index's table rows; severity is a clear
 * column (sq_events.c), so an encrypted store decrypts nothing here. */
static const char sql_case_summary[] =
    "SELECT coalesce(max(severity), 0), count(DISTINCT agency) FROM events"
    " WHERE case_id = ?1";

int
sq_case_summary(struct mash_store_be *st, const char *case_id,
                unsigned *max_severity, unsigned *n_agencies)
{
	sqlite3_stmt *s = NULL;
	int rc, src;

	if (max_severity != NULL)
		*max_severity = 0;
	if (n_agencies != NULL)
		*n_agencies = 0;
	if (st == NULL || case_id == NULL || max_severity == NULL ||
	    n_agencies == NULL)
		return MASH_ERR_INVAL;
	rc = sq_prep(st, sql_case_summary, &s);
	if (rc != MASH_OK)
		return rc;
	if (sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "case summary");
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "case summary");
		goto out;
	}
	*max_severity = (unsigned)sqlite3_column_int(s, 0);
	*n_agencies = (unsigned)sqlite3_column_int(s, 1);
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}
