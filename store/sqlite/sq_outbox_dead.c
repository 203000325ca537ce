/*
 * sq_outbox_dead.c - the outbox's retry budget and dead letters
 * (store.h "Dead letters", issue 31).
 *
 * A dead letter keeps the sealed envelope exactly as it was queued (it
 * is sealed to its recipient, so nothing here is in clear) with its
 * outbox id, attempts and last error, so that an operator can see what
 * was not delivered and why, and retry it once the cause is fixed.
 */
#include "common/err.h"
#include "store/sqlite/sq_int.h"

static const char sql_failed[] =
    "UPDATE outbox SET attempts = attempts + 1,"
    " first_fail_at = COALESCE(first_fail_at, ?2), next_try_at = ?3,"
    " last_error = ?4 WHERE id = ?1 AND held_type IS NULL";

static const char sql_kill[] =
    "INSERT INTO outbox_dead (outbox_id, topic, bytes, created_at,"
    " attempts, first_fail_at, error, dead_at, audit_seq)"
    " SELECT id, topic, bytes, created_at, attempts + 1,"
    " COALESCE(first_fail_at, ?2), ?4, ?2, audit_seq FROM outbox"
    " WHERE id = ?1 AND held_type IS NULL";

static const char sql_dead[] =
    "SELECT id, topic, bytes, created_at, NULL, attempts, first_fail_at,"
    " error, audit_seq, outbox_id, dead_at FROM outbox_dead WHERE id > ?1"
    " ORDER BY id LIMIT ?2";

static const char sql_retry[] =
    "INSERT INTO outbox (topic, bytes, created_at, audit_seq)"
    " SELECT topic, bytes, ?2, audit_seq FROM outbox_dead WHERE id = ?1";

static const char sql_drop[] = "DELETE FROM outbox_dead WHERE id = ?1";

/* Run sql (no rows) with ?1 = id, ?2 = i2, ?3 = i3, ?4 = text (NULL: left
 * unbound); MASH_OK and *changes, or MASH_ERR_STORE. */
static int
run(struct mash_store_be *st, const char *sql, int64_t id, int64_t i2,
    int64_t i3, const char *text, const char *what, int *changes)
{
	sqlite3_stmt *s = NULL;
	int n, rc, src;

	*changes = 0;
	rc = sq_prep(st, sql, &s);
	if (rc != MASH_OK)
		return rc;
	n = sqlite3_bind_parameter_count(s);
	if (sqlite3_bind_int64(s, 1, id) ||
	    (n >= 2 && sqlite3_bind_int64(s, 2, i2)) ||
	    (n >= 3 && sqlite3_bind_int64(s, 3, i3)) ||
	    (n >= 4 && sqlite3_bind_text(s, 4, text, -1, SQLITE_STATIC))) {
		rc = sq_fail(st, sqlite3_errcode(st->db), what);
		goto out;
	}
	src = sqlite3_step(s);
	if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, what);
		goto out;
	}
	*changes = sqlite3_changes(st->db);
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}

/* An error token (mash_errname: "REFUSED", "TIMEOUT"): a name, never
 * data, so [A-Z0-9_]{1,MASH_STORE_MAX_OUTBOX_ERROR}. */
static int
check_error(const char *error)
{
	size_t i;

	if (error == NULL || error[0] == '\0')
		return MASH_ERR_INVAL;
	for (i = 0; error[i] != '\0'; i++) {
		if (i == MASH_STORE_MAX_OUTBOX_ERROR)
			return MASH_ERR_FIELD_TOO_LONG;
		if (!((error[i] >= 'A' && error[i] <= 'Z') ||
		      (error[i] >= '0' && error[i] <= '9') || error[i] == '_'))
			return MASH_ERR_BAD_ID;
	}
	return MASH_OK;
}

int
sq_outbox_failed(struct mash_store_be *st, int64_t id, const char *error,
                 int64_t next_try_at)
{
	int changes, rc;

	if (st == NULL || next_try_at < 1)
		return MASH_ERR_INVAL;
	rc = check_error(error);
	if (rc == MASH_OK)
		rc = run(st, sql_failed, id, mash_clock_now(st->clock),
		         next_try_at, error, "outbox failed", &changes);
	if (rc == MASH_OK && changes != 1)
		rc = MASH_ERR_NOT_FOUND;
	return rc;
}

int
sq_outbox_kill(struct mash_store_be *st, int64_t id, const char *error,
               int64_t *dead_id)
{
	int64_t now;
	int changes, rc;

	if (dead_id != NULL)
		*dead_id = 0;
	if (st == NULL)
		return MASH_ERR_INVAL;
	/* Two statements, one change: only the caller's transaction (which
	 * audits it) makes them atomic. */
	if (!st->in_tx)
		return MASH_ERR_STATE;
	rc = check_error(error);
	if (rc != MASH_OK)
		return rc;
	now = mash_clock_now(st->clock);
	rc = run(st, sql_kill, id, now, 0, error, "outbox kill", &changes);
	if (rc != MASH_OK)
		return rc;
	if (changes != 1)
		return MASH_ERR_NOT_FOUND;
	if (dead_id != NULL)
		*dead_id = sqlite3_last_insert_rowid(st->db);
	rc = sq_outbox_done(st, id);
	/* The row was there a statement ago: anything else is a fault. */
	return rc == MASH_ERR_NOT_FOUND ? MASH_ERR_INTERNAL : rc;
}

int
sq_outbox_dead(struct mash_store_be *st, int64_t after_id, size_t limit,
               struct mash_store_outbox_list **out)
{
	return sq_outbox_rows(st, -1, sql_dead, after_id, limit, out);
}

int
sq_outbox_dead_retry(struct mash_store_be *st, int64_t id, int64_t *new_id)
{
	int changes, rc;

	if (new_id != NULL)
		*new_id = 0;
	if (st == NULL)
		return MASH_ERR_INVAL;
	if (!st->in_tx)
		return MASH_ERR_STATE;
	rc = run(st, sql_retry, id, mash_clock_now(st->clock), 0, NULL,
	         "outbox retry", &changes);
	if (rc != MASH_OK)
		return rc;
	if (changes != 1)
		return MASH_ERR_NOT_FOUND;
	if (new_id != NULL)
		*new_id = sqlite3_last_insert_rowid(st->db);
	rc = run(st, sql_drop, id, 0, 0, NULL, "outbox retry", &changes);
	if (rc == MASH_OK && changes != 1)
		rc = MASH_ERR_INTERNAL;
	return rc;
}

int
sq_outbox_dead_drop(struct mash_store_be *st, int64_t id)
{
	int changes, rc;

	if (st == NULL)
		return MASH_ERR_INVAL;
	rc = run(st, sql_drop, id, 0, 0, NULL, "outbox drop", &changes);
	if (rc == MASH_OK && changes != 1)
		rc = MASH_ERR_NOT_FOUND;
	return rc;
}

/* One row at most: a key is an audit seq or an outbox id, each unique
 * while its message is in the table. */
static const char sql_where_ob[] =
    "SELECT attempts, held_type IS NOT NULL FROM outbox"
    " WHERE (?1 > 0 AND audit_seq = ?1) OR (?2 > 0 AND id = ?2) LIMIT 1";

static const char sql_where_dead[] =
    "SELECT attempts FROM outbox_dead"
    " WHERE (?1 > 0 AND audit_seq = ?1) OR (?2 > 0 AND outbox_id = ?2)"
    " LIMIT 1";

/* Step sql once: 1 and its columns 0 and 1 on a row, 0 on none. */
static int
where_in(struct mash_store_be *st, const char *sql, int64_t seq, int64_t id,
         int64_t *c0, int *c1, int *found)
{
	sqlite3_stmt *s = NULL;
	int rc, src;

	*found = 0;
	rc = sq_prep(st, sql, &s);
	if (rc != MASH_OK)
		return rc;
	if (sqlite3_bind_int64(s, 1, seq) || sqlite3_bind_int64(s, 2, id)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "outbox where");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_ROW) {
		*found = 1;
		*c0 = sqlite3_column_int64(s, 0);
		if (c1 != NULL)
			*c1 = sqlite3_column_int(s, 1);
	} else if (src != SQLITE_DONE) {
		rc = sq_fail(st, src, "outbox where");
		goto out;
	}
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}

int
sq_outbox_where(struct mash_store_be *st, int64_t audit_seq, int64_t outbox_id,
                int *where, int64_t *attempts)
{
	int64_t n = 0;
	int held = 0, found = 0, rc;

	if (where != NULL)
		*where = MASH_STORE_OB_GONE;
	if (attempts != NULL)
		*attempts = 0;
	if (st == NULL || where == NULL || (audit_seq <= 0 && outbox_id <= 0) ||
	    audit_seq < 0 || outbox_id < 0)
		return MASH_ERR_INVAL;
	rc =
	    where_in(st, sql_where_ob, audit_seq, outbox_id, &n, &held, &found);
	if (rc == MASH_OK && found)
		*where = held ? MASH_STORE_OB_HELD : MASH_STORE_OB_PENDING;
	if (rc == MASH_OK && !found) {
		rc = where_in(st, sql_where_dead, audit_seq, outbox_id, &n,
		              NULL, &found);
		if (rc == MASH_OK && found)
			*where = MASH_STORE_OB_DEAD;
	}
	if (rc == MASH_OK && found && attempts != NULL)
		*attempts = n;
	return rc;
}
