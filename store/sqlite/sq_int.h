/*
 * sq_int.h - inside the SQLite back-end of the store (store/sqlite/): the
 * handle, its cached statements and the bind/step/column helpers every
 * file of the back-end shares. Nothing outside store/sqlite/ includes it.
 *
 * Files, one concern each: sq_util.c (statements, helpers), sq_open.c
 * (open, schema and migrations, transactions, meta), sq_events.c,
 * sq_link.c (linkage: which case an event is about), sq_cases.c (cases and
 * possible matches), sq_quarantine.c, sq_outbox.c, sq_s47.c (triggers and
 * statutory clocks), sq_audit.c (the audit log, tree state, checkpoints).
 */
#ifndef MASH_STORE_SQ_INT_H
#define MASH_STORE_SQ_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/clock.h"
#include "store/store.h"

#define EVENT_COLS                                                             \
	"seq, case_id, agency, event_id, category, severity, consent,"         \
	" occurred_at, recorded_at, received_at, receipt_status, audit_seq,"   \
	" envelope, payload"

/* The cached statements. */
enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_LINK_SAVEPOINT,
	S_LINK_RELEASE,
	S_LINK_ROLLBACK_TO,
	S_EVENT_INSERT,
	S_EVENT_LOOKUP,
	S_EVENT_SET_RECEIPT,
	S_EVENT_GET,
	S_CASE_EVENTS,
	S_CASE_EXISTS,
	S_CASE_INSERT,
	S_CASE_BY_NHS,
	S_CASE_BY_DEMOGRAPHICS,
	S_CASE_BY_FAMILY_DOB,
	S_CASE_BY_DOB_POSTCODE,
	S_CASE_FILL,
	S_CASE_GET,
	S_CASE_AGENCIES,
	S_MATCH_INSERT,
	S_MATCH_LIST,
	S_MATCH_DECIDE,
	S_QUARANTINE_INSERT,
	S_QUARANTINE_LIST,
	S_META_SET,
	S_META_GET,
	S_OUTBOX_ADD,
	S_OUTBOX_PENDING,
	S_OUTBOX_DONE,
	S_OUTBOX_HOLD,
	S_OUTBOX_HELD,
	S_OUTBOX_RELEASE,
	S_AUD_STATE_GET,
	S_AUD_STATE_PUT,
	S_AUD_ROW_ADD,
	S_AUD_SP_BEGIN,
	S_AUD_SP_RELEASE,
	S_AUD_SP_ROLLBACK,
	S_AUD_CP_LAST,
	S_AUD_CP_ADD,
	S__COUNT
};

struct mash_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S__COUNT];
	int in_tx;
	int in_sp; /* a savepoint is open (inside in_tx) */
	mash_store_random_fn rnd;
	void *rnd_ctx;
	const struct mash_clock *clock;
};

/* The default randomness: OpenSSL's RAND_bytes. */
int sq_default_random(void *ctx, unsigned char *buf, size_t n);
/* Map a SQLite result code to ours, logging SQLite's message (it names
 * tables and columns, never stored values). */
int sq_fail(struct mash_store *st, int src, const char *what);
/* The cached statement id, prepared on first use. */
int sq_stmt(struct mash_store *st, enum stmt_id id, sqlite3_stmt **out);
/* Return a cached statement to a clean state. NULL allowed. */
void sq_stmt_done(sqlite3_stmt *s);
/* Step a cached statement that returns no rows. */
int sq_step_done(struct mash_store *st, enum stmt_id id, const char *what);
/* Bind text; NULL or "" binds SQL NULL. */
int sq_bind_text_or_null(sqlite3_stmt *s, int i, const char *v);
/* Bind a blob; a zero-length blob is an empty blob, not NULL. */
int sq_bind_blob(sqlite3_stmt *s, int i, const unsigned char *p, size_t n);
/* Copy a text column into dst[dstsz] ("" for NULL). */
void sq_col_text(sqlite3_stmt *s, int i, char *dst, size_t dstsz);
/* A new copy of a text column, *out NULL for SQL NULL. */
int sq_col_text_dup(sqlite3_stmt *s, int i, char **out);
/* A new copy of a blob column. */
int sq_col_blob_dup(sqlite3_stmt *s, int i, unsigned char **out, size_t *len);
/* A caller-supplied identifier: present, UTF-8, at most max bytes. */
int sq_check_id(const char *s, size_t max);
/* Run SQL that returns no rows. */
int sq_exec(struct mash_store *st, const char *sql, const char *what);
/* A one-row PRAGMA query's integer result. */
int sq_pragma_int(struct mash_store *st, const char *sql, int64_t *out);

#endif
