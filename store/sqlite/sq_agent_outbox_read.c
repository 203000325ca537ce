/*
 * sq_agent_outbox_read.c - an agent's outbox: counts, resend scheduling,
 * run summaries, rejections and followed-feed positions (agents/outbox.h).
 */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "store/sqlite/sq_agent_outbox_int.h"

static int
count_query(struct mash_outbox *ob, const char *sql, int64_t arg, int bind,
            size_t *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	rc = sq_ob_prepare(ob, sql, &st);
	if (rc != MASH_OK)
		goto out;
	if (bind)
		sqlite3_bind_int64(st, 1, arg);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = MASH_ERR_STORE;
		goto out;
	}
	*n = (size_t)sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_pending(struct mash_outbox *ob, size_t *n)
{
	if (ob == NULL || n == NULL)
		return MASH_ERR_INVAL;
	return count_query(ob,
	                   "SELECT count(*) FROM mash_outbox_events"
	                   " WHERE state = 0;",
	                   0, 0, n);
}

int
mash_outbox_inflight(struct mash_outbox *ob, size_t *n)
{
	if (ob == NULL || n == NULL)
		return MASH_ERR_INVAL;
	return count_query(ob,
	                   "SELECT count(*) FROM mash_outbox_events"
	                   " WHERE state = 0 AND attempts > 0;",
	                   0, 0, n);
}

int
mash_outbox_resend_now(struct mash_outbox *ob)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_INVAL;

	if (ob == NULL)
		goto out;
	rc = sq_ob_prepare(
	    ob,
	    "UPDATE mash_outbox_events SET next_send_ms = ?1"
	    " WHERE state = 0 AND attempts > 0 AND next_send_ms > ?1;",
	    &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_int64(st, 1, sq_ob_now_ms(ob));
	rc = sqlite3_step(st) == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_defer_resends(struct mash_outbox *ob, int64_t until_ms)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_INVAL;

	if (ob == NULL)
		goto out;
	rc = sq_ob_prepare(
	    ob,
	    "UPDATE mash_outbox_events SET next_send_ms = ?1"
	    " WHERE state = 0 AND attempts > 0 AND next_send_ms < ?1;",
	    &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_int64(st, 1, until_ms);
	rc = sqlite3_step(st) == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}

/*
 * When the loop next has something to send: the earliest re-send of an
 * in-flight event, and, only while the window has room, the earliest
 * never-sent event. With the window full the agent therefore sleeps
 * until a receipt arrives or a re-send falls due, instead of waking for
 * never-sent events it may not publish (issue 22: the busy spin).
 */
int
mash_outbox_wake_ms(struct mash_outbox *ob, size_t window, int64_t *ms)
{
	sqlite3_stmt *st = NULL;
	size_t inflight = 0;
	int rc = MASH_ERR_INVAL;

	if (ms != NULL)
		*ms = 0;
	if (ob == NULL || ms == NULL)
		goto out;
	rc = mash_outbox_inflight(ob, &inflight);
	if (rc != MASH_OK)
		goto out;
	rc = sq_ob_prepare(ob,
	                   "SELECT min(next_send_ms) FROM mash_outbox_events"
	                   " WHERE state = 0 AND (attempts > 0 OR ?1);",
	                   &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_int(st, 1, inflight < window);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = MASH_ERR_STORE;
		goto out;
	}
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	*ms = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_summary(struct mash_outbox *ob, int64_t run_id,
                    struct mash_outbox_summary *s)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_INVAL, step;

	if (s != NULL)
		memset(s, 0, sizeof(*s));
	if (ob == NULL || s == NULL)
		goto out;
	rc = sq_ob_prepare(
	    ob,
	    "SELECT state, count(*), sum(attempts > 0),"
	    " sum(CASE WHEN attempts > 1 THEN attempts - 1 ELSE 0 END)"
	    " FROM mash_outbox_events WHERE run_id = ?1"
	    " GROUP BY state;",
	    &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_int64(st, 1, run_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		size_t cnt = (size_t)sqlite3_column_int64(st, 1);

		s->total += cnt;
		s->sent += (size_t)sqlite3_column_int64(st, 2);
		s->resent += (size_t)sqlite3_column_int64(st, 3);
		switch (sqlite3_column_int(st, 0)) {
		case MASH_OUTBOX_PENDING:
			s->pending += cnt;
			break;
		case MASH_OUTBOX_ACCEPTED:
			s->accepted += cnt;
			break;
		case MASH_OUTBOX_DUPLICATE:
			s->duplicate += cnt;
			break;
		case MASH_OUTBOX_REJECTED:
			s->rejected += cnt;
			break;
		default:
			break;
		}
	}
	rc = step == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_rejections(struct mash_outbox *ob, int64_t run_id,
                       void (*cb)(void *ctx, const char *event_id,
                                  const char *agency_ref,
                                  unsigned long feed_line, const char *reason),
                       void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_INVAL, step;

	if (ob == NULL || cb == NULL)
		goto out;
	rc = sq_ob_prepare(
	    ob,
	    "SELECT event_id, agency_ref, feed_line, coalesce(reason, '')"
	    " FROM mash_outbox_events WHERE run_id = ?1 AND state = 3"
	    " ORDER BY feed_line, rowid;",
	    &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_int64(st, 1, run_id);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		cb(ctx, (const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1),
		   (unsigned long)sqlite3_column_int64(st, 2),
		   (const char *)sqlite3_column_text(st, 3));
	rc = step == SQLITE_DONE ? MASH_OK : MASH_ERR_STORE;
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_feed_get(struct mash_outbox *ob, const char *feed_key,
                     struct mash_outbox_feedpos *pos)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_INVAL, step;

	if (pos != NULL)
		memset(pos, 0, sizeof(*pos));
	if (ob == NULL || feed_key == NULL || pos == NULL)
		goto out;
	rc = sq_ob_prepare(ob,
	                   "SELECT offset, lines, inode FROM mash_outbox_feeds"
	                   " WHERE feed = ?1;",
	                   &st);
	if (rc != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, feed_key, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = MASH_ERR_STORE;
		goto out;
	}
	pos->offset = (uint64_t)sqlite3_column_int64(st, 0);
	pos->lines = (unsigned long)sqlite3_column_int64(st, 1);
	pos->inode = (uint64_t)sqlite3_column_int64(st, 2);
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_outbox_feed_set(struct mash_outbox *ob, const char *feed_key,
                     const struct mash_outbox_feedpos *pos)
{
	if (ob == NULL || feed_key == NULL || pos == NULL)
		return MASH_ERR_INVAL;
	return sq_ob_feed_save(ob, feed_key, pos);
}

/* Re-send scheduling: the backoff and its jitter. */

void
sq_ob_cfg_fix(struct mash_outbox_cfg *c)
{
	if (c->backoff_min_ms <= 0)
		c->backoff_min_ms = MASH_OUTBOX_DEFAULT_BACKOFF_MIN_MS;
	if (c->backoff_max_ms < c->backoff_min_ms)
		c->backoff_max_ms =
		    c->backoff_min_ms > MASH_OUTBOX_DEFAULT_BACKOFF_MAX_MS
		        ? c->backoff_min_ms
		        : MASH_OUTBOX_DEFAULT_BACKOFF_MAX_MS;
	if (c->clock == NULL)
		c->clock = mash_clock_system();
}

int64_t
mash_outbox_backoff(const struct mash_outbox_cfg *cfg, uint32_t attempts)
{
	struct mash_outbox_cfg c;
	int64_t d;
	uint32_t i;

	memset(&c, 0, sizeof(c));
	if (cfg != NULL)
		c = *cfg;
	sq_ob_cfg_fix(&c);
	if (attempts == 0)
		return 0;
	d = c.backoff_min_ms;
	/* Doubling stops at the cap, so d never exceeds max * 2 < INT64_MAX
	 * for any sane max. */
	for (i = 1; i < attempts && d < c.backoff_max_ms; i++)
		d = d > INT64_MAX / 2 ? INT64_MAX : d * 2;
	return d < c.backoff_max_ms ? d : c.backoff_max_ms;
}

/*
 * The backoff less up to a quarter of it, drawn from the injected random
 * source: agents that lost their receipts together (a daemon restart) do
 * not re-send in lock-step. Without a source the schedule is exact.
 */
int64_t
sq_ob_jittered(const struct mash_outbox *ob, uint32_t attempts)
{
	int64_t d = mash_outbox_backoff(&ob->cfg, attempts);
	uint32_t r;

	if (ob->cfg.random == NULL || d < 4)
		return d;
	r = ob->cfg.random(ob->cfg.random_ctx);
	return d - (int64_t)(((uint64_t)(d / 4) * r) / UINT32_MAX);
}
