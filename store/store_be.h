/*
 * store_be.h - what a store back-end provides (issue 27): a table of
 * operations, one per function of the store's interface (store/store.h,
 * store/store_aud.h, s47/s47_store.h), on the back-end's own handle
 * (struct mash_store_be, defined by each back-end for itself, as curl's
 * vtls back-ends define their ssl_backend_data). store/store.c picks the
 * table from the store URL and forwards every call; a second back-end is
 * one new folder and one line in store.c. Generated members keep the
 * interface's order; see store.h for what each does.
 */
#ifndef MASH_STORE_BE_H
#define MASH_STORE_BE_H

#include <stddef.h>
#include <stdint.h>

#include "s47/s47_store.h"
#include "store/store.h"
#include "store/store_aud.h"

struct mash_store_be;

struct mash_store_ops {
	const char *name; /* "sqlite" */
	int (*open)(const char *path, struct mash_store_be **out);
	int (*open_ro)(const char *path, struct mash_store_be **out);
	int (*snapshot_begin)(struct mash_store_be *be, int *began);
	void (*snapshot_end)(struct mash_store_be *be, int began);
	void (*close)(struct mash_store_be *be);
	void (*set_random)(struct mash_store_be *be, mash_store_random_fn fn,
	                   void *ctx);
	void (*set_clock)(struct mash_store_be *be, const struct mash_clock *c);
	int (*set_cache_mib)(struct mash_store_be *be, unsigned mib);
	int (*cache_mib)(struct mash_store_be *be, unsigned *mib);
	int (*begin)(struct mash_store_be *be);
	int (*commit)(struct mash_store_be *be);
	int (*begin_lazy)(struct mash_store_be *be);
	int (*bg_checkpoint)(struct mash_store_be *be, int interval_ms);
	int (*rollback)(struct mash_store_be *be);
	int (*in_tx)(const struct mash_store_be *be);
	int (*savepoint)(struct mash_store_be *be);
	int (*release)(struct mash_store_be *be);
	int (*rollback_to)(struct mash_store_be *be);
	int (*in_savepoint)(const struct mash_store_be *be);
	int (*check)(struct mash_store_be *be);
	const char *(*errmsg)(struct mash_store_be *be);
	int (*event_insert)(struct mash_store_be *be,
	                    const struct mash_store_event *ev,
	                    int64_t *seq_out);
	int (*event_lookup)(struct mash_store_be *be, const char *agency,
	                    const char *event_id,
	                    struct mash_store_receipt *out);
	int (*event_set_receipt)(struct mash_store_be *be, const char *agency,
	                         const char *event_id, int status,
	                         uint64_t audit_seq);
	int (*case_events)(struct mash_store_be *be, const char *case_id,
	                   struct mash_store_event_list **out);
	int (*event_get)(struct mash_store_be *be, const char *agency,
	                 const char *event_id,
	                 struct mash_store_event_row **out);
	int (*case_link)(struct mash_store_be *be,
	                 const struct mash_store_subject *s,
	                 char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new);
	int (*case_get)(struct mash_store_be *be, const char *case_id,
	                struct mash_store_case **out);
	int (*case_find_nhs)(struct mash_store_be *be, const char *nhs,
	                     char case_id[MASH_STORE_CASE_ID_SIZE]);
	int (*case_agencies)(struct mash_store_be *be, const char *case_id,
	                     struct mash_store_strlist **out);
	int (*case_summary)(struct mash_store_be *be, const char *case_id,
	                    unsigned *max_severity, unsigned *n_agencies);
	int (*possible_matches)(struct mash_store_be *be, const char *case_id,
	                        struct mash_store_match_list **out);
	int (*possible_match_decide)(struct mash_store_be *be, int64_t id,
	                             int status);
	int (*quarantine_add)(struct mash_store_be *be,
	                      const struct mash_store_quarantine *q,
	                      int64_t *id_out);
	int (*quarantine_purge)(struct mash_store_be *be, int64_t before_ms,
	                        size_t limit, struct mash_store_purge *out);
	int (*quarantine_list)(struct mash_store_be *be, const char *agency,
	                       int64_t after_id, size_t limit,
	                       struct mash_store_quarantine_list **out);
	int (*outbox_add)(struct mash_store_be *be, const char *topic,
	                  const unsigned char *bytes, size_t len,
	                  int64_t audit_seq, int64_t *id_out);
	int (*outbox_hold)(struct mash_store_be *be, const char *topic,
	                   const char *payload_type, const unsigned char *bytes,
	                   size_t len, int64_t *id_out);
	int (*outbox_pending)(struct mash_store_be *be, int64_t after_id,
	                      size_t limit,
	                      struct mash_store_outbox_list **out);
	int (*outbox_held)(struct mash_store_be *be, int64_t after_id,
	                   size_t limit, struct mash_store_outbox_list **out);
	int (*outbox_release)(struct mash_store_be *be, int64_t id,
	                      const unsigned char *bytes, size_t len,
	                      int64_t audit_seq);
	int (*outbox_done)(struct mash_store_be *be, int64_t id);
	int (*outbox_failed)(struct mash_store_be *be, int64_t id,
	                     const char *error, int64_t next_try_at);
	int (*outbox_kill)(struct mash_store_be *be, int64_t id,
	                   const char *error, int64_t *dead_id);
	int (*outbox_dead)(struct mash_store_be *be, int64_t after_id,
	                   size_t limit, struct mash_store_outbox_list **out);
	int (*outbox_dead_retry)(struct mash_store_be *be, int64_t id,
	                         int64_t *new_id);
	int (*outbox_dead_drop)(struct mash_store_be *be, int64_t id);
	int (*outbox_where)(struct mash_store_be *be, int64_t audit_seq,
	                    int64_t outbox_id, int *where, int64_t *attempts);
	int (*meta_set)(struct mash_store_be *be, const char *key,
	                const char *value);
	int (*meta_get)(struct mash_store_be *be, const char *key, char **out);
	int (*unlock)(struct mash_store_be *be, const uint8_t *kek);
	int (*rekey)(struct mash_store_be *be, const uint8_t *new_kek);
	int (*is_sealed)(struct mash_store_be *be);
	int (*aud_init)(struct mash_store_be *be, const char *log_id,
	                int version, const unsigned char *frontier,
	                size_t frontier_len, char *out, size_t outsz);
	int (*aud_state_get)(struct mash_store_be *be, uint64_t *tree_size,
	                     unsigned char *buf, size_t max, size_t *len);
	int (*aud_state_put)(struct mash_store_be *be, uint64_t tree_size,
	                     const unsigned char *frontier, size_t len);
	int (*aud_row_add)(struct mash_store_be *be,
	                   const struct mash_store_aud_row *row);
	int (*aud_savepoint)(struct mash_store_be *be);
	int (*aud_release)(struct mash_store_be *be);
	void (*aud_undo)(struct mash_store_be *be);
	int (*aud_checkpoint_last)(struct mash_store_be *be,
	                           uint64_t *tree_size, int64_t *time_ms,
	                           unsigned char **env, size_t *env_len);
	int (*aud_checkpoint_add)(struct mash_store_be *be, uint64_t tree_size,
	                          const unsigned char *root, size_t root_len,
	                          int64_t time_ms, const char *log_id,
	                          const unsigned char *env, size_t env_len);
	int (*aud_rows)(struct mash_store_be *be,
	                const struct mash_store_aud_filter *f,
	                mash_store_aud_row_fn fn, void *ctx);
	int (*aud_checkpoints)(struct mash_store_be *be, int latest,
	                       mash_store_aud_cp_fn fn, void *ctx);
	int (*aud_log_id)(struct mash_store_be *be, char *out, size_t outsz);
	int (*aud_record)(struct mash_store_be *be, uint64_t seq, char **record,
	                  size_t *len);
	int (*s47_init)(struct mash_store_be *be);
	int (*s47_load_open)(struct mash_store_be *be, const char *case_id,
	                     struct mash_s47_open *out);
	int (*s47_apply)(struct mash_store_be *be,
	                 const struct mash_s47_policy *p,
	                 const struct mash_cal *cal, const char *case_id,
	                 const struct mash_s47_fact *hist, size_t n, size_t cur,
	                 int64_t now_ms, struct mash_s47_outcome *out);
	int (*s47_escalate_due)(struct mash_store_be *be, int64_t now_ms,
	                        struct mash_s47_clock *out, size_t max,
	                        size_t *n);
	int (*s47_list_clocks)(struct mash_store_be *be, const char *case_id,
	                       int open_only, struct mash_s47_clock *out,
	                       size_t max, size_t *n);
	int (*s47_next_due)(struct mash_store_be *be, int64_t *due_at);
};

/* The embedded SQLite (WAL) back-end, store/sqlite/; and its connection,
 * for mash_store_sqlite() (white-box tests only). */
extern const struct mash_store_ops mash_store_sqlite_ops;
struct sqlite3;
struct sqlite3 *mash_store_sqlite_be(struct mash_store_be *be);

#endif
