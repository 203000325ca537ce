/*
 * sq_s47_clock.c - the statutory clocks of section 47 (table s47_clock)
 * in the SQLite store: started, moved and closed as triggers and social
 * care's events require (sq_s47.c), escalated exactly once when overdue
 * (escalated_at is set in the same statement that selects the clock),
 * listed for a case. See s47/s47_store.h.
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "s47/cal.h"
#include "s47/s47_store.h"
#include "store/sqlite/sq_int.h"
#include "store/sqlite/sq_s47_int.h"

static void
sq_s47_read_clock(sqlite3_stmt *st, struct mash_s47_clock *c)
{
	memset(c, 0, sizeof(*c));
	c->clock_id = sqlite3_column_int64(st, 0);
	c->kind = sqlite3_column_int(st, 1);
	sq_s47_col_text(st, 2, c->case_id, sizeof(c->case_id));
	sq_s47_col_text(st, 3, c->trigger_id, sizeof(c->trigger_id));
	c->started_at = sqlite3_column_int64(st, 4);
	c->due_at = sqlite3_column_int64(st, 5);
	c->open = strcmp((const char *)sqlite3_column_text(st, 6), "open") == 0;
	c->closed_at = sqlite3_column_int64(st, 7);
	c->escalated_at = sqlite3_column_int64(st, 8);
}

#define CLOCK_COLS                                                             \
	"clock_id, kind, case_id, trigger_id, started_at, due_at,"             \
	" status, closed_at, escalated_at"

static int
sq_s47_get_clock(struct mash_store_be *db, int64_t clock_id,
                 struct mash_s47_clock *c)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_STORE;

	if (sq_prep(db,
	            "SELECT " CLOCK_COLS " FROM s47_clock WHERE clock_id = ?1",
	            &st) != MASH_OK)
		goto out;
	sqlite3_bind_int64(st, 1, clock_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	sq_s47_read_clock(st, c);
	rc = MASH_OK;
out:
	sq_stmt_done(st);
	return rc;
}

int
sq_s47_note_clock(struct mash_store_be *db, struct mash_s47_outcome *out,
                  enum mash_s47_clock_op op, int64_t clock_id)
{
	struct mash_s47_clock_change *ch;

	if (out->n_clocks >= MASH_S47_MAX_CLOCK_CHANGES)
		return MASH_ERR_INTERNAL;
	ch = &out->clocks[out->n_clocks];
	ch->op = op;
	if (sq_s47_get_clock(db, clock_id, &ch->clock) != MASH_OK)
		return MASH_ERR_STORE;
	out->n_clocks++;
	return MASH_OK;
}

/* Id of the open clock of this kind for the case, 0 if none, -1 on error. */
int64_t
sq_s47_open_clock(struct mash_store_be *db, const char *case_id, int kind)
{
	sqlite3_stmt *st = NULL;
	int64_t id = -1;
	int s;

	if (sq_prep(db,
	            "SELECT clock_id FROM s47_clock WHERE case_id = ?1 AND"
	            " kind = ?2 AND status = 'open' ORDER BY clock_id LIMIT 1",
	            &st) != MASH_OK)
		return -1;
	sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, kind);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (s == SQLITE_DONE)
		id = 0;
	sq_stmt_done(st);
	return id;
}

int
sq_s47_start_clock(struct mash_store_be *db, const struct mash_cal *cal,
                   const char *case_id, int kind, const char *trigger_id,
                   int64_t from_ms, int days, struct mash_s47_outcome *out)
{
	sqlite3_stmt *st = NULL;
	int64_t due = 0;
	int rc;

	rc = mash_cal_due_by_ms(cal, from_ms, days, &due);
	if (rc != MASH_OK)
		return rc;
	rc = MASH_ERR_STORE;
	if (sq_prep(db,
	            "INSERT INTO s47_clock(case_id, kind, trigger_id,"
	            " started_at, due_at, status) VALUES (?1, ?2, ?3, ?4, ?5, "
	            "'open')",
	            &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_text(st, 3, trigger_id != NULL ? trigger_id : "", -1,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, from_ms);
	sqlite3_bind_int64(st, 5, due);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	rc = sq_s47_note_clock(db, out, MASH_S47_CLOCK_SET,
	                       sqlite3_last_insert_rowid(db->db));
out:
	if (rc == MASH_ERR_STORE)
		mash_err("s47: start clock: %s", sqlite3_errmsg(db->db));
	sq_stmt_done(st);
	return rc;
}

/* Close every open clock of kind for the case. */
int
sq_s47_close_clocks(struct mash_store_be *db, const char *case_id, int kind,
                    int64_t now_ms, const char *by,
                    struct mash_s47_outcome *out)
{
	int64_t id;
	sqlite3_stmt *st = NULL;
	int rc = MASH_OK;

	while ((id = sq_s47_open_clock(db, case_id, kind)) > 0) {
		rc = MASH_ERR_STORE;
		if (sq_prep(
		        db,
		        "UPDATE s47_clock SET status = 'closed',"
		        " closed_at = ?2, closed_by = ?3 WHERE clock_id = ?1",
		        &st) != MASH_OK)
			break;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, now_ms);
		sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			break;
		sq_stmt_done(st);
		st = NULL;
		rc = sq_s47_note_clock(db, out, MASH_S47_CLOCK_CLOSED, id);
		if (rc != MASH_OK)
			break;
	}
	if (id < 0)
		rc = MASH_ERR_STORE;
	sq_stmt_done(st);
	return rc;
}

int
sq_s47_escalate_due(struct mash_store_be *store, int64_t now_ms,
                    struct mash_s47_clock *out, size_t max, size_t *n)
{
	struct mash_store_be *db = store;
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc = MASH_ERR_STORE, s;
	size_t i;

	if (n != NULL)
		*n = 0;
	if (db == NULL || out == NULL || n == NULL || max == 0)
		return MASH_ERR_INVAL;
	if (sq_prep(db,
	            "SELECT " CLOCK_COLS " FROM s47_clock WHERE"
	            " status = 'open' AND escalated_at IS NULL AND due_at < ?1"
	            " ORDER BY due_at, clock_id LIMIT ?2",
	            &sel) != MASH_OK ||
	    sq_prep(db,
	            "UPDATE s47_clock SET escalated_at = ?2 WHERE"
	            " clock_id = ?1 AND escalated_at IS NULL",
	            &upd) != MASH_OK)
		goto out;
	sqlite3_bind_int64(sel, 1, now_ms);
	sqlite3_bind_int64(sel, 2, (int64_t)max);
	while ((s = sqlite3_step(sel)) == SQLITE_ROW && *n < max)
		sq_s47_read_clock(sel, &out[(*n)++]);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		goto out;
	for (i = 0; i < *n; i++) {
		sqlite3_reset(upd);
		sqlite3_bind_int64(upd, 1, out[i].clock_id);
		sqlite3_bind_int64(upd, 2, now_ms);
		if (sqlite3_step(upd) != SQLITE_DONE ||
		    sqlite3_changes(db->db) != 1)
			goto out;
		out[i].escalated_at = now_ms;
	}
	rc = MASH_OK;
out:
	if (rc != MASH_OK) {
		mash_err("s47: escalate: %s", sqlite3_errmsg(db->db));
		*n = 0;
	}
	sq_stmt_done(sel);
	sq_stmt_done(upd);
	return rc;
}

int
sq_s47_list_clocks(struct mash_store_be *store, const char *case_id,
                   int open_only, struct mash_s47_clock *out, size_t max,
                   size_t *n)
{
	struct mash_store_be *db = store;
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_STORE, s;

	if (n != NULL)
		*n = 0;
	if (db == NULL || case_id == NULL || out == NULL || n == NULL)
		return MASH_ERR_INVAL;
	if (sq_prep(db,
	            "SELECT " CLOCK_COLS " FROM s47_clock WHERE case_id = ?1"
	            " AND (?2 = 0 OR status = 'open') ORDER BY clock_id",
	            &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, open_only);
	while ((s = sqlite3_step(st)) == SQLITE_ROW && *n < max)
		sq_s47_read_clock(st, &out[(*n)++]);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		goto out;
	rc = MASH_OK;
out:
	sq_stmt_done(st);
	return rc;
}

int
sq_s47_next_due(struct mash_store_be *store, int64_t *due_at)
{
	struct mash_store_be *db = store;
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_STORE, s;

	if (db == NULL || due_at == NULL)
		return MASH_ERR_INVAL;
	if (sq_prep(db,
	            "SELECT min(due_at) FROM s47_clock WHERE status = 'open'"
	            " AND escalated_at IS NULL",
	            &st) != MASH_OK)
		goto out;
	s = sqlite3_step(st);
	if (s != SQLITE_ROW)
		goto out;
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	*due_at = sqlite3_column_int64(st, 0);
	rc = MASH_OK;
out:
	sq_stmt_done(st);
	return rc;
}
