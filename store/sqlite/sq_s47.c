/*
 * sq_s47.c - section 47 triggers and statutory clocks in the SQLite store
 * (tables s47_trigger, s47_trigger_event, s47_clock). See s47/s47_store.h.
 *
 * Invariants kept by the schema, not only by this code: at most one open
 * trigger per case (a partial unique index), a contributing event listed
 * once per trigger (primary key), a clock escalated at most once
 * (escalated_at is set in the same statement that selects it).
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

#define ROLES_TEXT (MASH_S47_MAX_ROLES * MASH_S47_MAX_ROLE)

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS s47_trigger("
    " trigger_id TEXT PRIMARY KEY,"
    " case_id TEXT NOT NULL,"
    " rule_id TEXT NOT NULL,"
    " reason TEXT NOT NULL,"
    " level INTEGER NOT NULL,"
    " raised_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " due_by INTEGER NOT NULL,"
    " roles TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('open','closed')),"
    " closed_at INTEGER,"
    " closed_by TEXT,"
    " updates INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX IF NOT EXISTS s47_trigger_one_open"
    " ON s47_trigger(case_id) WHERE status = 'open';"
    /* Trigger numbers count a case's triggers (next_trigger_id); the
     * partial index above cannot answer for closed ones. */
    "CREATE INDEX IF NOT EXISTS s47_trigger_case ON s47_trigger(case_id);"
    "CREATE TABLE IF NOT EXISTS s47_trigger_event("
    " trigger_id TEXT NOT NULL REFERENCES s47_trigger(trigger_id),"
    " seq INTEGER NOT NULL,"
    " ref TEXT NOT NULL,"
    " added_at INTEGER NOT NULL,"
    " PRIMARY KEY (trigger_id, ref));"
    "CREATE TABLE IF NOT EXISTS s47_clock("
    " clock_id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " case_id TEXT NOT NULL,"
    " kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 3),"
    " trigger_id TEXT NOT NULL DEFAULT '',"
    " started_at INTEGER NOT NULL,"
    " due_at INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('open','closed')),"
    " closed_at INTEGER,"
    " closed_by TEXT,"
    " escalated_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS s47_clock_due"
    " ON s47_clock(status, escalated_at, due_at);"
    "CREATE INDEX IF NOT EXISTS s47_clock_case"
    " ON s47_clock(case_id, kind, status);";

/* 1 if s47_trigger has the column, 0 if not, -1 on error. */
static int
has_column(struct mash_store_be *db, const char *column)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *name;
	int s, found = 0;

	if (sqlite3_prepare_v2(db->db, "PRAGMA table_info(s47_trigger)", -1,
	                       &st, NULL) != SQLITE_OK)
		return -1;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		name = sqlite3_column_text(st, 1);
		if (name != NULL && strcmp((const char *)name, column) == 0)
			found = 1;
	}
	sqlite3_finalize(st);
	return s == SQLITE_DONE ? found : -1;
}

int
sq_s47_init(struct mash_store_be *store)
{
	struct mash_store_be *db = store;
	char *msg = NULL;
	int rc, have;

	if (db == NULL)
		return MASH_ERR_INVAL;
	rc = sqlite3_exec(db->db, schema, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto fail;
	/* Databases made before the update counter existed gain it; the
	 * counter tells a picture whether a trigger was "updated" since it
	 * was "raised" (wire contract, StrategyDiscussionTrigger.kind). */
	have = has_column(db, "updates");
	if (have < 0) {
		rc = SQLITE_ERROR;
		goto fail;
	}
	if (have == 0) {
		rc = sqlite3_exec(db->db,
		                  "ALTER TABLE s47_trigger ADD COLUMN"
		                  " updates INTEGER NOT NULL DEFAULT 0",
		                  NULL, NULL, &msg);
		if (rc != SQLITE_OK)
			goto fail;
	}
	return MASH_OK;
fail:
	mash_err("s47: schema: %s", msg != NULL ? msg : sqlite3_errmsg(db->db));
	sqlite3_free(msg);
	return MASH_ERR_STORE;
}

void
sq_s47_col_text(sqlite3_stmt *st, int col, char *dst, size_t dstsz)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	(void)mash_strlcpy(dst, t != NULL ? (const char *)t : "", dstsz);
}

/* Split space-separated roles into out->roles. */
static void
parse_roles(const char *text, struct mash_s47_open *out)
{
	const char *p = text;

	out->n_roles = 0;
	while (*p != '\0' && out->n_roles < MASH_S47_MAX_ROLES) {
		size_t len = strcspn(p, " ");

		if (len > 0 && len < MASH_S47_MAX_ROLE) {
			memcpy(out->roles[out->n_roles], p, len);
			out->roles[out->n_roles][len] = '\0';
			out->n_roles++;
		}
		p += len;
		while (*p == ' ')
			p++;
	}
}

static int
join_roles(char (*roles)[MASH_S47_MAX_ROLE], size_t n, char *buf, size_t bufsz)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (mash_snprintf(buf + len, bufsz - len, "%s%s",
		                  i > 0 ? " " : "", roles[i]) != MASH_OK)
			return MASH_ERR_FIELD_TOO_LONG;
		len += strlen(buf + len);
	}
	return MASH_OK;
}

int
sq_s47_load_open(struct mash_store_be *store, const char *case_id,
                 struct mash_s47_open *out)
{
	struct mash_store_be *db = store;
	sqlite3_stmt *st = NULL;
	char roles[ROLES_TEXT];
	int rc = MASH_ERR_STORE, s;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (db == NULL || case_id == NULL || out == NULL)
		return MASH_ERR_INVAL;
	if (sq_prep(
	        db,
	        "SELECT trigger_id, rule_id, reason, level, raised_at,"
	        " due_by, roles, updates FROM s47_trigger WHERE case_id = ?1 "
	        "AND"
	        " status = 'open'",
	        &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
	s = sqlite3_step(st);
	if (s == SQLITE_DONE) {
		rc = MASH_OK;
		goto out;
	}
	if (s != SQLITE_ROW)
		goto out;
	out->open = 1;
	sq_s47_col_text(st, 0, out->trigger_id, sizeof(out->trigger_id));
	sq_s47_col_text(st, 1, out->rule_id, sizeof(out->rule_id));
	sq_s47_col_text(st, 2, out->reason, sizeof(out->reason));
	out->level = (uint32_t)sqlite3_column_int(st, 3);
	out->raised_at = sqlite3_column_int64(st, 4);
	out->due_by = sqlite3_column_int64(st, 5);
	sq_s47_col_text(st, 6, roles, sizeof(roles));
	parse_roles(roles, out);
	out->updates = (uint32_t)sqlite3_column_int(st, 7);
	sq_stmt_done(st);
	st = NULL;
	if (sq_prep(db,
	            "SELECT ref FROM s47_trigger_event WHERE trigger_id = ?1"
	            " ORDER BY seq",
	            &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, out->trigger_id, -1, SQLITE_STATIC);
	while ((s = sqlite3_step(st)) == SQLITE_ROW &&
	       out->n_events < MASH_S47_MAX_CONTRIB)
		sq_s47_col_text(st, 0, out->events[out->n_events++],
		                MASH_S47_MAX_REF);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		goto out;
	rc = MASH_OK;
out:
	if (rc != MASH_OK && out != NULL)
		memset(out, 0, sizeof(*out));
	sq_stmt_done(st);
	return rc;
}

static int
add_events(struct mash_store_be *db, const char *trigger_id, size_t first_seq,
           char (*refs)[MASH_S47_MAX_REF], size_t n, int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_STORE;
	size_t i;

	if (sq_prep(db,
	            "INSERT OR IGNORE INTO s47_trigger_event(trigger_id, seq,"
	            " ref, added_at) VALUES (?1, ?2, ?3, ?4)",
	            &st) != MASH_OK)
		goto out;
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, trigger_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)(first_seq + i));
		sqlite3_bind_text(st, 3, refs[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now_ms);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	rc = MASH_OK;
out:
	sq_stmt_done(st);
	return rc;
}

static int
next_trigger_id(struct mash_store_be *db, const char *case_id, char *buf,
                size_t bufsz)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int rc = MASH_ERR_STORE;

	if (sq_prep(db, "SELECT count(*) FROM s47_trigger WHERE case_id = ?1",
	            &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	n = sqlite3_column_int64(st, 0);
	rc = mash_snprintf(buf, bufsz, "%s-s47-%lld", case_id,
	                   (long long)(n + 1));
out:
	sq_stmt_done(st);
	return rc;
}

static int
raise_trigger(struct mash_store_be *db, const struct mash_s47_policy *p,
              const struct mash_cal *cal, const char *case_id,
              const struct mash_s47_result *res, int64_t now_ms,
              struct mash_s47_outcome *out)
{
	struct mash_s47_open *t = &out->trigger;
	sqlite3_stmt *st = NULL;
	char roles[ROLES_TEXT];
	int days, rc;

	memset(t, 0, sizeof(*t));
	rc = next_trigger_id(db, case_id, t->trigger_id, sizeof(t->trigger_id));
	if (rc != MASH_OK)
		goto out;
	/* Strategy discussion: "the same working day for s47.imminent, else
	 * 1 working day from the trigger" (s47-triggers.md). */
	days = res->same_day
	           ? 0
	           : mash_s47_policy_clock_days(p, MASH_S47_CLOCK_STRATEGY);
	rc = mash_cal_due_by_ms(cal, now_ms, days, &t->due_by);
	if (rc != MASH_OK)
		goto out;
	t->open = 1;
	(void)mash_strlcpy(t->rule_id, res->rule_id, sizeof(t->rule_id));
	(void)mash_strlcpy(t->reason, res->reason, sizeof(t->reason));
	t->level = res->level;
	t->raised_at = now_ms;
	memcpy(t->events, res->events, sizeof(t->events));
	t->n_events = res->n_events;
	memcpy(t->roles, res->roles, sizeof(t->roles));
	t->n_roles = res->n_roles;
	rc = join_roles(t->roles, t->n_roles, roles, sizeof(roles));
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_STORE;
	if (sq_prep(
	        db,
	        "INSERT INTO s47_trigger(trigger_id, case_id, rule_id,"
	        " reason, level, raised_at, updated_at, due_by, roles, status)"
	        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, 'open')",
	        &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, t->trigger_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, case_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, t->rule_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, (int)t->level);
	sqlite3_bind_int64(st, 6, now_ms);
	sqlite3_bind_int64(st, 7, t->due_by);
	sqlite3_bind_text(st, 8, roles, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		mash_err("s47: raise: %s", sqlite3_errmsg(db->db));
		goto out;
	}
	rc = add_events(db, t->trigger_id, 0, t->events, t->n_events, now_ms);
	if (rc != MASH_OK)
		goto out;
	rc = sq_s47_start_clock(db, cal, case_id, MASH_S47_CLOCK_STRATEGY,
	                        t->trigger_id, now_ms, days, out);
out:
	sq_stmt_done(st);
	return rc;
}

static int
update_trigger(struct mash_store_be *db, const struct mash_cal *cal,
               const char *case_id, const struct mash_s47_result *res,
               int64_t now_ms, struct mash_s47_outcome *out)
{
	struct mash_s47_open *t = &out->trigger;
	sqlite3_stmt *st = NULL;
	char roles[ROLES_TEXT];
	size_t old_n = t->n_events;
	int64_t due = t->due_by;
	int rc;

	if (res->same_day) {
		int64_t sd = 0;

		rc = mash_cal_due_by_ms(cal, now_ms, 0, &sd);
		if (rc != MASH_OK)
			goto out;
		if (sd < due)
			due = sd;
	}
	/* The trigger keeps the rule that raised it; the reason now says what
	 * the latest event added. */
	(void)mash_strlcpy(t->reason, res->reason, sizeof(t->reason));
	memcpy(t->events, res->events, sizeof(t->events));
	t->n_events = res->n_events;
	memcpy(t->roles, res->roles, sizeof(t->roles));
	t->n_roles = res->n_roles;
	t->updates++;
	rc = join_roles(t->roles, t->n_roles, roles, sizeof(roles));
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_STORE;
	if (sq_prep(
	        db,
	        "UPDATE s47_trigger SET reason = ?2, updated_at = ?3, updates "
	        "= updates + 1,"
	        " due_by = ?4, roles = ?5 WHERE trigger_id = ?1 AND status = "
	        "'open'",
	        &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, t->trigger_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	sqlite3_bind_int64(st, 4, due);
	sqlite3_bind_text(st, 5, roles, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db->db) != 1)
		goto out;
	rc = add_events(db, t->trigger_id, old_n,
	                (char(*)[MASH_S47_MAX_REF])res->new_events, res->n_new,
	                now_ms);
	if (rc != MASH_OK)
		goto out;
	if (due < t->due_by) {
		int64_t id =
		    sq_s47_open_clock(db, case_id, MASH_S47_CLOCK_STRATEGY);

		sq_stmt_done(st);
		st = NULL;
		rc = MASH_ERR_STORE;
		if (id < 0)
			goto out;
		if (id > 0) {
			if (sq_prep(
			        db,
			        "UPDATE s47_clock SET due_at = ?2 WHERE"
			        " clock_id = ?1 AND escalated_at IS NULL AND"
			        " due_at > ?2",
			        &st) != MASH_OK)
				goto out;
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, due);
			if (sqlite3_step(st) != SQLITE_DONE)
				goto out;
			if (sqlite3_changes(db->db) == 1) {
				rc = sq_s47_note_clock(
				    db, out, MASH_S47_CLOCK_MOVED, id);
				if (rc != MASH_OK)
					goto out;
			}
		}
		t->due_by = due;
	}
	rc = MASH_OK;
out:
	sq_stmt_done(st);
	return rc;
}

static int
close_trigger(struct mash_store_be *db, const char *by, int64_t now_ms,
              struct mash_s47_outcome *out)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_STORE;

	if (sq_prep(db,
	            "UPDATE s47_trigger SET status = 'closed', closed_at = ?2,"
	            " closed_by = ?3, updated_at = ?2 WHERE trigger_id = ?1 AND"
	            " status = 'open'",
	            &st) != MASH_OK)
		goto out;
	sqlite3_bind_text(st, 1, out->trigger.trigger_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now_ms);
	sqlite3_bind_text(st, 3, by, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(db->db) != 1)
		goto out;
	out->trigger.open = 0;
	rc = MASH_OK;
out:
	sq_stmt_done(st);
	return rc;
}

/* Social care's closing events move the statutory clocks. */
static int
apply_closing(struct mash_store_be *db, const struct mash_s47_policy *p,
              const struct mash_cal *cal, const char *case_id,
              const struct mash_s47_fact *c, const char *ref, int64_t now_ms,
              struct mash_s47_outcome *out)
{
	int rc = MASH_OK;

	if (strcmp(c->agency, "social-care") != 0)
		return MASH_OK;
	switch (c->category) {
	case MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD:
		rc = sq_s47_close_clocks(db, case_id, MASH_S47_CLOCK_STRATEGY,
		                         now_ms, ref, out);
		/* "The initial child protection conference should take place
		 * within 15 working days of a strategy discussion" (WT 2013).
		 */
		if (rc == MASH_OK)
			rc = sq_s47_start_clock(
			    db, cal, case_id, MASH_S47_CLOCK_ICPC,
			    out->trigger.trigger_id,
			    c->held_at > 0 ? c->held_at : c->occurred_at,
			    mash_s47_policy_clock_days(p, MASH_S47_CLOCK_ICPC),
			    out);
		break;
	case MASH__V1__CATEGORY__S47_OUTCOME:
		rc = sq_s47_close_clocks(db, case_id, MASH_S47_CLOCK_ICPC,
		                         now_ms, ref, out);
		if (rc == MASH_OK)
			rc = sq_s47_close_clocks(db, case_id,
			                         MASH_S47_CLOCK_ASSESSMENT,
			                         now_ms, ref, out);
		break;
	case MASH__V1__CATEGORY__REFERRAL_DECISION:
		rc = sq_s47_close_clocks(db, case_id, MASH_S47_CLOCK_REFERRAL,
		                         now_ms, ref, out);
		break;
	default:
		break;
	}
	return rc;
}

int
sq_s47_apply(struct mash_store_be *store, const struct mash_s47_policy *p,
             const struct mash_cal *cal, const char *case_id,
             const struct mash_s47_fact *hist, size_t n, size_t cur,
             int64_t now_ms, struct mash_s47_outcome *out)
{
	struct mash_store_be *db = store;
	struct mash_s47_result *res = NULL;
	const struct mash_s47_fact *c;
	char ref[MASH_S47_MAX_REF];
	int64_t id;
	int rc = MASH_ERR_INVAL;

	if (out == NULL)
		return MASH_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (db == NULL || p == NULL || case_id == NULL || hist == NULL ||
	    cur >= n || mash_str_check(case_id, MASH_MAX_ID - 1) != MASH_OK)
		goto out;
	c = &hist[cur];
	rc = mash_snprintf(ref, sizeof(ref), "%s/%s", c->agency, c->event_id);
	if (rc != MASH_OK)
		goto out;
	res = mash_calloc(1, sizeof(*res));
	if (res == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	rc = sq_s47_load_open(store, case_id, &out->trigger);
	if (rc != MASH_OK)
		goto out;
	rc = mash_s47_evaluate(p, hist, n, cur, &out->trigger, res);
	if (rc != MASH_OK)
		goto out;

	/* Referral decision within one working day and assessment within 45
	 * working days of the referral (WT 2013 paras 55, 57). */
	if (!mash_s47_is_closing_category(c->category) &&
	    c->severity >= mash_s47_policy_referral_min_severity(p)) {
		id = sq_s47_open_clock(db, case_id, MASH_S47_CLOCK_REFERRAL);
		rc = MASH_ERR_STORE;
		if (id < 0)
			goto out;
		if (id == 0) {
			rc = sq_s47_start_clock(db, cal, case_id,
			                        MASH_S47_CLOCK_REFERRAL, NULL,
			                        now_ms,
			                        mash_s47_policy_clock_days(
			                            p, MASH_S47_CLOCK_REFERRAL),
			                        out);
			if (rc != MASH_OK)
				goto out;
			id = sq_s47_open_clock(db, case_id,
			                       MASH_S47_CLOCK_ASSESSMENT);
			rc = MASH_ERR_STORE;
			if (id < 0)
				goto out;
			if (id == 0) {
				rc = sq_s47_start_clock(
				    db, cal, case_id, MASH_S47_CLOCK_ASSESSMENT,
				    NULL, now_ms,
				    mash_s47_policy_clock_days(
				        p, MASH_S47_CLOCK_ASSESSMENT),
				    out);
				if (rc != MASH_OK)
					goto out;
			}
		}
	}

	out->action = res->action;
	switch (res->action) {
	case MASH_S47_RAISE:
		rc = raise_trigger(db, p, cal, case_id, res, now_ms, out);
		break;
	case MASH_S47_UPDATE:
		rc = update_trigger(db, cal, case_id, res, now_ms, out);
		break;
	case MASH_S47_CLOSE:
		rc = close_trigger(db, ref, now_ms, out);
		break;
	case MASH_S47_NONE:
		rc = MASH_OK;
		break;
	}
	if (rc != MASH_OK)
		goto out;
	if (res->action == MASH_S47_RAISE || res->action == MASH_S47_UPDATE) {
		memcpy(out->new_events, res->new_events,
		       sizeof(out->new_events));
		out->n_new = res->n_new;
	}
	if (mash_s47_is_closing_category(c->category))
		rc = apply_closing(db, p, cal, case_id, c, ref, now_ms, out);
out:
	if (rc != MASH_OK && out != NULL) {
		memset(out, 0, sizeof(*out));
	}
	mash_free(res);
	return rc;
}
