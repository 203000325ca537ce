/*
 * store.c - the store's interface (store.h, store_aud.h, s47_store.h)
 * forwarded to the back-end chosen when the store was opened (issue 27):
 * "sqlite:PATH" or a bare PATH, the embedded default. Every function is
 * one line; what each does is the back-end's (store/sqlite/). A store URL
 * with a scheme this build has no back-end for is refused, never taken as
 * a file name.
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/store_be.h"
#include "store/store_test.h"

struct mash_store {
	const struct mash_store_ops *ops;
	struct mash_store_be *be;
};

/* A NULL store goes to the default back-end with a NULL handle, which
 * answers as the interface says for NULL (MASH_ERR_INVAL, 0, nothing). */
#define OPS(st) ((st) != NULL ? (st)->ops : &mash_store_sqlite_ops)
#define BE(st)  ((st) != NULL ? (st)->be : NULL)

const char *
mash_store_url_file(const char *url)
{
	if (url == NULL)
		return NULL;
	if (strncmp(url, "sqlite:", 7) == 0)
		return url + 7;
	return strstr(url, "://") != NULL ? NULL : url;
}

static int
open_with(const char *url, int ro, struct mash_store **out)
{
	const struct mash_store_ops *ops;
	struct mash_store *st;
	const char *path;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (url == NULL || url[0] == '\0' || out == NULL)
		return MASH_ERR_INVAL;
	/* SQLite is the only back-end built; a server URL is refused, never
	 * opened as a file of that name. */
	path = mash_store_url_file(url);
	if (path == NULL) {
		mash_err("store: no back-end for this store URL scheme in this "
		         "build (sqlite:PATH or a path)");
		return MASH_ERR_INVAL;
	}
	ops = &mash_store_sqlite_ops;
	st = mash_calloc(1, sizeof(*st));
	if (st == NULL)
		return MASH_ERR_NOMEM;
	st->ops = ops;
	rc = ro ? ops->open_ro(path, &st->be) : ops->open(path, &st->be);
	if (rc != MASH_OK) {
		mash_free(st);
		return rc;
	}
	*out = st;
	return MASH_OK;
}

int
mash_store_open(const char *path, struct mash_store **out)
{
	return open_with(path, 0, out);
}

int
mash_store_open_ro(const char *path, struct mash_store **out)
{
	return open_with(path, 1, out);
}

void
mash_store_close(struct mash_store *st)
{
	if (st == NULL)
		return;
	st->ops->close(st->be);
	mash_free(st);
}

struct sqlite3 *
mash_store_sqlite(struct mash_store *st)
{
	if (st == NULL || st->ops != &mash_store_sqlite_ops)
		return NULL;
	return mash_store_sqlite_be(st->be);
}

int
mash_store_snapshot_begin(struct mash_store *st, int *began)
{
	return OPS(st)->snapshot_begin(BE(st), began);
}

void
mash_store_snapshot_end(struct mash_store *st, int began)
{
	OPS(st)->snapshot_end(BE(st), began);
}

void
mash_store_set_random(struct mash_store *st, mash_store_random_fn fn, void *ctx)
{
	OPS(st)->set_random(BE(st), fn, ctx);
}

void
mash_store_set_clock(struct mash_store *st, const struct mash_clock *c)
{
	OPS(st)->set_clock(BE(st), c);
}

int
mash_store_set_cache_mib(struct mash_store *st, unsigned mib)
{
	if (st == NULL || mib == 0 || mib > MASH_STORE_CACHE_MIB_MAX)
		return MASH_ERR_INVAL;
	return OPS(st)->set_cache_mib(BE(st), mib);
}

int
mash_store_cache_mib(struct mash_store *st, unsigned *mib)
{
	if (st == NULL || mib == NULL)
		return MASH_ERR_INVAL;
	return OPS(st)->cache_mib(BE(st), mib);
}

int
mash_store_begin(struct mash_store *st)
{
	return OPS(st)->begin(BE(st));
}

int
mash_store_begin_lazy(struct mash_store *st)
{
	return OPS(st)->begin_lazy(BE(st));
}

int
mash_store_checkpoint_in_background(struct mash_store *st, int interval_ms)
{
	return OPS(st)->bg_checkpoint(BE(st), interval_ms);
}

int
mash_store_commit(struct mash_store *st)
{
	return OPS(st)->commit(BE(st));
}

int
mash_store_rollback(struct mash_store *st)
{
	return OPS(st)->rollback(BE(st));
}

int
mash_store_in_tx(const struct mash_store *st)
{
	return OPS(st)->in_tx(BE(st));
}

int
mash_store_savepoint(struct mash_store *st)
{
	return OPS(st)->savepoint(BE(st));
}

int
mash_store_release(struct mash_store *st)
{
	return OPS(st)->release(BE(st));
}

int
mash_store_rollback_to(struct mash_store *st)
{
	return OPS(st)->rollback_to(BE(st));
}

int
mash_store_in_savepoint(const struct mash_store *st)
{
	return OPS(st)->in_savepoint(BE(st));
}

int
mash_store_check(struct mash_store *st)
{
	return OPS(st)->check(BE(st));
}

const char *
mash_store_errmsg(struct mash_store *st)
{
	return OPS(st)->errmsg(BE(st));
}

int
mash_store_event_insert(struct mash_store *st,
                        const struct mash_store_event *ev, int64_t *seq_out)
{
	return OPS(st)->event_insert(BE(st), ev, seq_out);
}

int
mash_store_event_lookup(struct mash_store *st, const char *agency,
                        const char *event_id, struct mash_store_receipt *out)
{
	return OPS(st)->event_lookup(BE(st), agency, event_id, out);
}

int
mash_store_event_set_receipt(struct mash_store *st, const char *agency,
                             const char *event_id, int status,
                             uint64_t audit_seq)
{
	return OPS(st)->event_set_receipt(BE(st), agency, event_id, status,
	                                  audit_seq);
}

int
mash_store_case_events(struct mash_store *st, const char *case_id,
                       struct mash_store_event_list **out)
{
	return OPS(st)->case_events(BE(st), case_id, out);
}

int
mash_store_event_get(struct mash_store *st, const char *agency,
                     const char *event_id, struct mash_store_event_row **out)
{
	return OPS(st)->event_get(BE(st), agency, event_id, out);
}

int
mash_store_case_link(struct mash_store *st, const struct mash_store_subject *s,
                     char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new)
{
	return OPS(st)->case_link(BE(st), s, case_id, is_new);
}

int
mash_store_case_get(struct mash_store *st, const char *case_id,
                    struct mash_store_case **out)
{
	return OPS(st)->case_get(BE(st), case_id, out);
}

int
mash_store_case_find_nhs(struct mash_store *st, const char *nhs,
                         char case_id[MASH_STORE_CASE_ID_SIZE])
{
	return OPS(st)->case_find_nhs(BE(st), nhs, case_id);
}

int
mash_store_case_agencies(struct mash_store *st, const char *case_id,
                         struct mash_store_strlist **out)
{
	return OPS(st)->case_agencies(BE(st), case_id, out);
}

int
mash_store_case_summary(struct mash_store *st, const char *case_id,
                        unsigned *max_severity, unsigned *n_agencies)
{
	return OPS(st)->case_summary(BE(st), case_id, max_severity, n_agencies);
}

int
mash_store_possible_matches(struct mash_store *st, const char *case_id,
                            struct mash_store_match_list **out)
{
	return OPS(st)->possible_matches(BE(st), case_id, out);
}

int
mash_store_possible_match_decide(struct mash_store *st, int64_t id, int status)
{
	return OPS(st)->possible_match_decide(BE(st), id, status);
}

int
mash_store_quarantine_add(struct mash_store *st,
                          const struct mash_store_quarantine *q,
                          int64_t *id_out)
{
	return OPS(st)->quarantine_add(BE(st), q, id_out);
}

int
mash_store_quarantine_purge(struct mash_store *st, int64_t before_ms,
                            size_t limit, struct mash_store_purge *out)
{
	return OPS(st)->quarantine_purge(BE(st), before_ms, limit, out);
}

int
mash_store_quarantine_list(struct mash_store *st, const char *agency,
                           int64_t after_id, size_t limit,
                           struct mash_store_quarantine_list **out)
{
	return OPS(st)->quarantine_list(BE(st), agency, after_id, limit, out);
}

int
mash_store_outbox_add(struct mash_store *st, const char *topic,
                      const unsigned char *bytes, size_t len, int64_t *id_out)
{
	return OPS(st)->outbox_add(BE(st), topic, bytes, len, 0, id_out);
}

int
mash_store_outbox_add_seq(struct mash_store *st, const char *topic,
                          const unsigned char *bytes, size_t len,
                          int64_t audit_seq, int64_t *id_out)
{
	return OPS(st)->outbox_add(BE(st), topic, bytes, len, audit_seq,
	                           id_out);
}

int
mash_store_outbox_hold(struct mash_store *st, const char *topic,
                       const char *payload_type, const unsigned char *bytes,
                       size_t len, int64_t *id_out)
{
	return OPS(st)->outbox_hold(BE(st), topic, payload_type, bytes, len,
	                            id_out);
}

int
mash_store_outbox_pending(struct mash_store *st, int64_t after_id, size_t limit,
                          struct mash_store_outbox_list **out)
{
	return OPS(st)->outbox_pending(BE(st), after_id, limit, out);
}

int
mash_store_outbox_held(struct mash_store *st, int64_t after_id, size_t limit,
                       struct mash_store_outbox_list **out)
{
	return OPS(st)->outbox_held(BE(st), after_id, limit, out);
}

int
mash_store_outbox_release(struct mash_store *st, int64_t id,
                          const unsigned char *bytes, size_t len,
                          int64_t audit_seq)
{
	return OPS(st)->outbox_release(BE(st), id, bytes, len, audit_seq);
}

int
mash_store_outbox_done(struct mash_store *st, int64_t id)
{
	return OPS(st)->outbox_done(BE(st), id);
}

int
mash_store_outbox_failed(struct mash_store *st, int64_t id, const char *error,
                         int64_t next_try_at)
{
	return OPS(st)->outbox_failed(BE(st), id, error, next_try_at);
}

int
mash_store_outbox_kill(struct mash_store *st, int64_t id, const char *error,
                       int64_t *dead_id)
{
	return OPS(st)->outbox_kill(BE(st), id, error, dead_id);
}

int
mash_store_outbox_dead(struct mash_store *st, int64_t after_id, size_t limit,
                       struct mash_store_outbox_list **out)
{
	return OPS(st)->outbox_dead(BE(st), after_id, limit, out);
}

int
mash_store_outbox_dead_retry(struct mash_store *st, int64_t id, int64_t *new_id)
{
	return OPS(st)->outbox_dead_retry(BE(st), id, new_id);
}

int
mash_store_outbox_dead_drop(struct mash_store *st, int64_t id)
{
	return OPS(st)->outbox_dead_drop(BE(st), id);
}

int
mash_store_outbox_where(struct mash_store *st, int64_t audit_seq,
                        int64_t outbox_id, int *where, int64_t *attempts)
{
	return OPS(st)->outbox_where(BE(st), audit_seq, outbox_id, where,
	                             attempts);
}

int
mash_store_meta_set(struct mash_store *st, const char *key, const char *value)
{
	return OPS(st)->meta_set(BE(st), key, value);
}

int
mash_store_meta_get(struct mash_store *st, const char *key, char **out)
{
	return OPS(st)->meta_get(BE(st), key, out);
}

int
mash_store_unlock(struct mash_store *st, const uint8_t *kek)
{
	return OPS(st)->unlock(BE(st), kek);
}

int
mash_store_rekey(struct mash_store *st, const uint8_t *new_kek)
{
	return OPS(st)->rekey(BE(st), new_kek);
}

int
mash_store_is_sealed(struct mash_store *st)
{
	return OPS(st)->is_sealed(BE(st));
}

int
mash_store_aud_init(struct mash_store *st, const char *log_id, int version,
                    const unsigned char *frontier, size_t frontier_len,
                    char *out, size_t outsz)
{
	return OPS(st)->aud_init(BE(st), log_id, version, frontier,
	                         frontier_len, out, outsz);
}

int
mash_store_aud_state_get(struct mash_store *st, uint64_t *tree_size,
                         unsigned char *buf, size_t max, size_t *len)
{
	return OPS(st)->aud_state_get(BE(st), tree_size, buf, max, len);
}

int
mash_store_aud_state_put(struct mash_store *st, uint64_t tree_size,
                         const unsigned char *frontier, size_t len)
{
	return OPS(st)->aud_state_put(BE(st), tree_size, frontier, len);
}

int
mash_store_aud_row_add(struct mash_store *st,
                       const struct mash_store_aud_row *row)
{
	return OPS(st)->aud_row_add(BE(st), row);
}

int
mash_store_aud_savepoint(struct mash_store *st)
{
	return OPS(st)->aud_savepoint(BE(st));
}

int
mash_store_aud_release(struct mash_store *st)
{
	return OPS(st)->aud_release(BE(st));
}

void
mash_store_aud_undo(struct mash_store *st)
{
	OPS(st)->aud_undo(BE(st));
}

int
mash_store_aud_checkpoint_last(struct mash_store *st, uint64_t *tree_size,
                               int64_t *time_ms, unsigned char **env,
                               size_t *env_len)
{
	return OPS(st)->aud_checkpoint_last(BE(st), tree_size, time_ms, env,
	                                    env_len);
}

int
mash_store_aud_checkpoint_add(struct mash_store *st, uint64_t tree_size,
                              const unsigned char *root, size_t root_len,
                              int64_t time_ms, const char *log_id,
                              const unsigned char *env, size_t env_len)
{
	return OPS(st)->aud_checkpoint_add(BE(st), tree_size, root, root_len,
	                                   time_ms, log_id, env, env_len);
}

int
mash_store_aud_rows(struct mash_store *st,
                    const struct mash_store_aud_filter *f,
                    mash_store_aud_row_fn fn, void *ctx)
{
	return OPS(st)->aud_rows(BE(st), f, fn, ctx);
}

int
mash_store_aud_checkpoints(struct mash_store *st, int latest,
                           mash_store_aud_cp_fn fn, void *ctx)
{
	return OPS(st)->aud_checkpoints(BE(st), latest, fn, ctx);
}

int
mash_store_aud_log_id(struct mash_store *st, char *out, size_t outsz)
{
	return OPS(st)->aud_log_id(BE(st), out, outsz);
}

int
mash_store_aud_record(struct mash_store *st, uint64_t seq, char **record,
                      size_t *len)
{
	return OPS(st)->aud_record(BE(st), seq, record, len);
}

int
mash_s47_store_init(struct mash_store *st)
{
	return OPS(st)->s47_init(BE(st));
}

int
mash_s47_store_load_open(struct mash_store *st, const char *case_id,
                         struct mash_s47_open *out)
{
	return OPS(st)->s47_load_open(BE(st), case_id, out);
}

int
mash_s47_store_apply(struct mash_store *st, const struct mash_s47_policy *p,
                     const struct mash_cal *cal, const char *case_id,
                     const struct mash_s47_fact *hist, size_t n, size_t cur,
                     int64_t now_ms, struct mash_s47_outcome *out)
{
	return OPS(st)->s47_apply(BE(st), p, cal, case_id, hist, n, cur, now_ms,
	                          out);
}

int
mash_s47_store_escalate_due(struct mash_store *st, int64_t now_ms,
                            struct mash_s47_clock *out, size_t max, size_t *n)
{
	return OPS(st)->s47_escalate_due(BE(st), now_ms, out, max, n);
}

int
mash_s47_store_list_clocks(struct mash_store *st, const char *case_id,
                           int open_only, struct mash_s47_clock *out,
                           size_t max, size_t *n)
{
	return OPS(st)->s47_list_clocks(BE(st), case_id, open_only, out, max,
	                                n);
}

int
mash_s47_store_next_due(struct mash_store *st, int64_t *due_at)
{
	return OPS(st)->s47_next_due(BE(st), due_at);
}
