/*
 * sq_agent_outbox.c - an agency agent's durable outbox (agents/outbox.h)
 * in the SQLite back-end. The file is the agent's own (never the daemon's
 * store) but is opened by the same code as the store (sq_open_file):
 * created 0600, WAL so that readers never block the writer,
 * synchronous=FULL so that a COMMIT is on disk when sqlite3_step returns
 * (the "durable before published" invariant rests on this), secure_delete
 * so that wiped envelopes do not linger in free pages, statement journals
 * in memory.
 */
#include <stdio.h>
#include <string.h>

#include "agents/outbox.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/sqlite/sq_agent_outbox_int.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS mash_outbox_meta("
    " k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO mash_outbox_meta(k, v) VALUES"
    " ('schema', 1), ('run', 0);"
    "CREATE TABLE IF NOT EXISTS mash_outbox_events("
    " agency TEXT NOT NULL,"
    " event_id TEXT NOT NULL,"
    " agency_ref TEXT NOT NULL,"
    " feed_line INTEGER NOT NULL DEFAULT 0,"
    " envelope BLOB,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_send_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " last_sent_ms INTEGER,"
    " receipt_ms INTEGER,"
    " reason TEXT,"
    " case_id TEXT,"
    " audit_seq INTEGER,"
    " run_id INTEGER NOT NULL,"
    " PRIMARY KEY (agency, event_id));"
    "CREATE INDEX IF NOT EXISTS mash_outbox_events_due"
    " ON mash_outbox_events(state, next_send_ms);"
    "CREATE INDEX IF NOT EXISTS mash_outbox_events_run"
    " ON mash_outbox_events(run_id);"
    "CREATE TABLE IF NOT EXISTS mash_outbox_keys("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " wrapped BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS mash_outbox_feeds("
    " feed TEXT PRIMARY KEY,"
    " offset INTEGER NOT NULL,"
    " lines INTEGER NOT NULL,"
    " inode INTEGER NOT NULL,"
    " updated_ms INTEGER NOT NULL);";

int64_t
sq_ob_now_ms(const struct mash_outbox *ob)
{
	return mash_clock_now(ob->cfg.clock);
}

static int
sq_ob_exec(struct mash_outbox *ob, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(ob->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mash_err("outbox: %s", msg != NULL ? msg : "sqlite error");
		sqlite3_free(msg);
		return MASH_ERR_STORE;
	}
	return MASH_OK;
}

int
sq_ob_prepare(struct mash_outbox *ob, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(ob->db, sql, -1, st, NULL) != SQLITE_OK) {
		mash_err("outbox: prepare: %s", sqlite3_errmsg(ob->db));
		*st = NULL;
		return MASH_ERR_STORE;
	}
	return MASH_OK;
}

/* A write transaction of its own, unless the caller holds a batch. */
static int
sq_ob_tx_begin(struct mash_outbox *ob)
{
	return ob->in_batch ? MASH_OK : sq_ob_exec(ob, "BEGIN IMMEDIATE;");
}

static int
sq_ob_tx_commit(struct mash_outbox *ob)
{
	return ob->in_batch ? MASH_OK : sq_ob_exec(ob, "COMMIT;");
}

static void
sq_ob_tx_rollback(struct mash_outbox *ob)
{
	if (!ob->in_batch)
		(void)sq_ob_exec(ob, "ROLLBACK;");
}

int
mash_outbox_batch_begin(struct mash_outbox *ob)
{
	int rc;

	if (ob == NULL || ob->in_batch)
		return MASH_ERR_STATE;
	rc = sq_ob_exec(ob, "BEGIN IMMEDIATE;");
	if (rc == MASH_OK)
		ob->in_batch = 1;
	return rc;
}

int
mash_outbox_batch_commit(struct mash_outbox *ob)
{
	int rc;

	if (ob == NULL || !ob->in_batch)
		return MASH_ERR_STATE;
	ob->in_batch = 0;
	rc = sq_ob_exec(ob, "COMMIT;");
	if (rc != MASH_OK)
		(void)sq_ob_exec(ob, "ROLLBACK;");
	return rc;
}

void
mash_outbox_batch_rollback(struct mash_outbox *ob)
{
	if (ob == NULL || !ob->in_batch)
		return;
	ob->in_batch = 0;
	(void)sq_ob_exec(ob, "ROLLBACK;");
}

int
mash_outbox_open(const char *path, const struct mash_outbox_cfg *cfg,
                 struct mash_outbox **out)
{
	struct mash_outbox *ob = NULL;
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	ob = mash_calloc(1, sizeof(*ob));
	if (ob == NULL)
		goto out;
	if (cfg != NULL)
		ob->cfg = *cfg;
	sq_ob_cfg_fix(&ob->cfg);
	rc = sq_open_file(path, &ob->be);
	if (rc != MASH_OK) {
		mash_err("outbox: cannot open %s", path);
		goto out;
	}
	ob->db = ob->be->db;
	rc = sq_ob_exec(ob, schema);
	if (rc == MASH_OK)
		rc = sq_ob_unlock(ob, path);
	if (rc != MASH_OK)
		goto out;
	ob->cfg.kek = NULL; /* the caller's buffer; the keys are in be */
	*out = ob;
	ob = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_outbox_close(ob);
	return rc;
}

void
mash_outbox_close(struct mash_outbox *ob)
{
	if (ob == NULL)
		return;
	sq_close(ob->be);
	mash_free(ob);
}

int
mash_outbox_begin_run(struct mash_outbox *ob, int64_t *run_id)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_INVAL;

	if (run_id != NULL)
		*run_id = 0;
	if (ob == NULL || run_id == NULL)
		goto out;
	rc = sq_ob_exec(ob, "BEGIN IMMEDIATE;");
	if (rc != MASH_OK)
		goto out;
	rc = sq_ob_exec(
	    ob, "UPDATE mash_outbox_meta SET v = v + 1 WHERE k = 'run';");
	if (rc != MASH_OK)
		goto rollback;
	rc = sq_ob_prepare(
	    ob, "SELECT v FROM mash_outbox_meta WHERE k = 'run';", &st);
	if (rc != MASH_OK)
		goto rollback;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = MASH_ERR_STORE;
		goto rollback;
	}
	ob->run_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	rc = sq_ob_prepare(ob,
	                   "UPDATE mash_outbox_events SET run_id = ?1,"
	                   " next_send_ms = ?2 WHERE state = 0;",
	                   &st);
	if (rc != MASH_OK)
		goto rollback;
	sqlite3_bind_int64(st, 1, ob->run_id);
	sqlite3_bind_int64(st, 2, sq_ob_now_ms(ob));
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = MASH_ERR_STORE;
		goto rollback;
	}
	rc = sq_ob_exec(ob, "COMMIT;");
	if (rc != MASH_OK)
		goto rollback;
	*run_id = ob->run_id;
	goto out;
rollback:
	(void)sq_ob_exec(ob, "ROLLBACK;");
out:
	sqlite3_finalize(st);
	return rc;
}

int
sq_ob_feed_save(struct mash_outbox *ob, const char *feed_key,
                const struct mash_outbox_feedpos *pos)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sq_ob_prepare(
	    ob,
	    "INSERT INTO mash_outbox_feeds(feed, offset, lines, inode,"
	    " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT(feed) DO UPDATE SET offset = ?2, lines = ?3,"
	    " inode = ?4, updated_ms = ?5;",
	    &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, feed_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)pos->offset);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)pos->lines);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)pos->inode);
	sqlite3_bind_int64(st, 5, sq_ob_now_ms(ob));
	rc = sqlite3_step(st) == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}

static int
id_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= max;
}

int
mash_outbox_put(struct mash_outbox *ob, const char *agency,
                const char *event_id, const char *agency_ref,
                unsigned long feed_line, const uint8_t *env, size_t len,
                const char *feed_key, const struct mash_outbox_feedpos *pos)
{
	sqlite3_stmt *st = NULL;
	char where[SQ_WHERE_MAX];
	uint8_t *owned = NULL;
	const uint8_t *sealed = NULL;
	size_t slen = 0;
	int64_t now;
	int rc = MASH_ERR_INVAL;

	if (ob == NULL || !id_ok(agency, MASH_MAX_AGENCY) ||
	    !id_ok(event_id, MASH_MAX_ID) || agency_ref == NULL ||
	    env == NULL || len == 0 || len > MASH_MAX_ENVELOPE ||
	    (feed_key == NULL) != (pos == NULL))
		goto out;
	rc =
	    sq_where(where, sizeof(where), "outbox.envelope", agency, event_id);
	if (rc == MASH_OK)
		rc = sq_seal(ob->be, where, env, len, &owned, &sealed, &slen);
	if (rc != MASH_OK)
		goto out;
	now = sq_ob_now_ms(ob);
	rc = sq_ob_tx_begin(ob);
	if (rc != MASH_OK)
		goto out;
	rc = sq_ob_prepare(
	    ob,
	    "INSERT INTO mash_outbox_events(agency, event_id,"
	    " agency_ref, feed_line, envelope, state, attempts,"
	    " next_send_ms, created_ms, run_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6, ?6, ?7)"
	    " ON CONFLICT(agency, event_id) DO UPDATE SET"
	    " agency_ref = ?3, feed_line = ?4, envelope = ?5,"
	    " state = 0, attempts = 0, next_send_ms = ?6,"
	    " last_sent_ms = NULL, receipt_ms = NULL, reason = NULL,"
	    " case_id = NULL, audit_seq = NULL, run_id = ?7;",
	    &st);
	if (rc != MASH_OK)
		goto rollback;
	sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, agency_ref, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)feed_line);
	sqlite3_bind_blob(st, 5, sealed, (int)slen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, ob->run_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		mash_err("outbox: put %s/%s: %s", agency, event_id,
		         sqlite3_errmsg(ob->db));
		rc = MASH_ERR_STORE;
		goto rollback;
	}
	if (feed_key != NULL) {
		rc = sq_ob_feed_save(ob, feed_key, pos);
		if (rc != MASH_OK)
			goto rollback;
	}
	/* synchronous=FULL: the WAL is fsync'ed before COMMIT returns (in
	 * a batch: before mash_outbox_batch_commit returns). */
	rc = sq_ob_tx_commit(ob);
	if (rc != MASH_OK)
		goto rollback;
	goto out;
rollback:
	sq_ob_tx_rollback(ob);
out:
	sqlite3_finalize(st);
	mash_free(owned);
	return rc;
}

void
mash_outbox_items_free(struct mash_outbox_item *items, size_t n)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++)
		mash_free_secret(items[i].env, items[i].len);
	mash_free(items);
}

/* Append up to limit rows of a due query (?1 = now, ?2 = limit) to v. */
static int
select_items(struct mash_outbox *ob, const char *sql, size_t limit,
             struct mash_outbox_item *v, size_t *cnt)
{
	sqlite3_stmt *st = NULL;
	char where[SQ_WHERE_MAX];
	int rc, step;

	if (limit == 0)
		return MASH_OK;
	rc = sq_ob_prepare(ob, sql, &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_int64(st, 1, sq_ob_now_ms(ob));
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct mash_outbox_item *it = &v[*cnt];
		const void *blob = sqlite3_column_blob(st, 2);
		int blen = sqlite3_column_bytes(st, 2);

		if (blob == NULL || blen <= 0 ||
		    (size_t)blen > MASH_MAX_ENVELOPE + MASH_ATREST_OVERHEAD) {
			rc = MASH_ERR_STORE;
			goto out;
		}
		if (mash_strlcpy(it->agency,
		                 (const char *)sqlite3_column_text(st, 0),
		                 sizeof(it->agency)) != MASH_OK ||
		    mash_strlcpy(it->event_id,
		                 (const char *)sqlite3_column_text(st, 1),
		                 sizeof(it->event_id)) != MASH_OK) {
			rc = MASH_ERR_STORE;
			goto out;
		}
		it->env = mash_malloc((size_t)blen);
		if (it->env == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
		memcpy(it->env, blob, (size_t)blen);
		it->len = (size_t)blen;
		it->attempts = (uint32_t)sqlite3_column_int64(st, 3);
		(*cnt)++;
		rc = sq_where(where, sizeof(where), "outbox.envelope",
		              it->agency, it->event_id);
		if (rc == MASH_OK)
			rc = sq_unseal(ob->be, where, &it->env, &it->len);
		if (rc != MASH_OK)
			goto out;
	}
	rc = step == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * The one place that decides what is sent next (issue 22). Overdue
 * re-sends of in-flight events come first, so that a lost receipt or a
 * daemon crash can never freeze the window behind never-sent events;
 * never-sent events follow, only as many as the window has room for.
 */
int
mash_outbox_next(struct mash_outbox *ob, size_t window, size_t max,
                 struct mash_outbox_item **items, size_t *n)
{
	struct mash_outbox_item *v = NULL;
	size_t cnt = 0, inflight = 0, room;
	int rc = MASH_ERR_INVAL;

	if (items != NULL)
		*items = NULL;
	if (n != NULL)
		*n = 0;
	if (ob == NULL || items == NULL || n == NULL || max == 0)
		goto out;
	rc = MASH_ERR_NOMEM;
	v = mash_calloc(max, sizeof(*v));
	if (v == NULL)
		goto out;
	rc = select_items(ob,
	                  "SELECT agency, event_id, envelope, attempts"
	                  " FROM mash_outbox_events WHERE state = 0"
	                  " AND attempts > 0 AND next_send_ms <= ?1"
	                  " ORDER BY next_send_ms, created_ms, rowid"
	                  " LIMIT ?2;",
	                  max, v, &cnt);
	if (rc != MASH_OK)
		goto out;
	rc = mash_outbox_inflight(ob, &inflight);
	if (rc != MASH_OK)
		goto out;
	room = window > inflight ? window - inflight : 0;
	if (room > max - cnt)
		room = max - cnt;
	rc = select_items(ob,
	                  "SELECT agency, event_id, envelope, attempts"
	                  " FROM mash_outbox_events WHERE state = 0"
	                  " AND attempts = 0 AND next_send_ms <= ?1"
	                  " ORDER BY next_send_ms, created_ms, rowid"
	                  " LIMIT ?2;",
	                  room, v, &cnt);
	if (rc != MASH_OK)
		goto out;
	*items = v;
	*n = cnt;
	v = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_outbox_items_free(v, cnt);
	return rc;
}

int
mash_outbox_sent(struct mash_outbox *ob, const char *agency,
                 const char *event_id)
{
	sqlite3_stmt *st = NULL;
	uint32_t attempts;
	enum mash_outbox_state state;
	int64_t now;
	int rc = MASH_ERR_INVAL;

	if (ob == NULL || agency == NULL || event_id == NULL)
		goto out;
	rc = mash_outbox_state(ob, agency, event_id, &state, &attempts);
	if (rc != MASH_OK)
		goto out;
	if (state != MASH_OUTBOX_PENDING) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	now = sq_ob_now_ms(ob);
	attempts++;
	rc =
	    sq_ob_prepare(ob,
	                  "UPDATE mash_outbox_events SET attempts = ?3,"
	                  " last_sent_ms = ?4, next_send_ms = ?5"
	                  " WHERE agency = ?1 AND event_id = ?2 AND state = 0;",
	                  &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, attempts);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now + sq_ob_jittered(ob, attempts));
	rc = sqlite3_step(st) == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_state(struct mash_outbox *ob, const char *agency,
                  const char *event_id, enum mash_outbox_state *state,
                  uint32_t *attempts)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_INVAL, step;

	if (state != NULL)
		*state = MASH_OUTBOX_PENDING;
	if (attempts != NULL)
		*attempts = 0;
	if (ob == NULL || agency == NULL || event_id == NULL || state == NULL)
		goto out;
	rc = sq_ob_prepare(ob,
	                   "SELECT state, attempts FROM mash_outbox_events"
	                   " WHERE agency = ?1 AND event_id = ?2;",
	                   &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = MASH_ERR_STORE;
		goto out;
	}
	*state = (enum mash_outbox_state)sqlite3_column_int(st, 0);
	if (attempts != NULL)
		*attempts = (uint32_t)sqlite3_column_int64(st, 1);
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_receipt(struct mash_outbox *ob, const char *agency,
                    const char *event_id, enum mash_outbox_state status,
                    const char *reason, const char *case_id, uint64_t audit_seq)
{
	sqlite3_stmt *st = NULL;
	enum mash_outbox_state cur;
	char why[MASH_OUTBOX_MAX_REASON + 1];
	int rc = MASH_ERR_INVAL;

	if (ob == NULL || agency == NULL || event_id == NULL ||
	    (status != MASH_OUTBOX_ACCEPTED &&
	     status != MASH_OUTBOX_DUPLICATE && status != MASH_OUTBOX_REJECTED))
		goto out;
	rc = mash_outbox_state(ob, agency, event_id, &cur, NULL);
	if (rc != MASH_OK)
		goto out;
	if (cur != MASH_OUTBOX_PENDING) {
		rc = MASH_ERR_STATE;
		goto out;
	}
	/* A long reason is cut, never refused: the receipt still settles. */
	(void)mash_strlcpy(why, reason != NULL ? reason : "", sizeof(why));
	rc = sq_ob_prepare(
	    ob,
	    "UPDATE mash_outbox_events SET state = ?3, receipt_ms = ?4,"
	    " reason = ?5, case_id = ?6, audit_seq = ?7,"
	    " envelope = CASE WHEN ?3 = 3 THEN envelope ELSE NULL END"
	    " WHERE agency = ?1 AND event_id = ?2 AND state = 0;",
	    &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)status);
	sqlite3_bind_int64(st, 4, sq_ob_now_ms(ob));
	sqlite3_bind_text(st, 5, why, -1, SQLITE_STATIC);
	if (case_id != NULL && case_id[0] != '\0')
		sqlite3_bind_text(st, 6, case_id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)audit_seq);
	rc = sqlite3_step(st) == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}
