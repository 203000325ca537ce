/*
 * sq_agent_outbox_int.h - what the two files of an agent's outbox share:
 * sq_agent_outbox.c (open, runs, records and their states) and
 * sq_agent_outbox_read.c (counts, resend scheduling, summaries, feed
 * positions). Nothing else includes it.
 */
#ifndef MASH_STORE_SQ_AGENT_OUTBOX_INT_H
#define MASH_STORE_SQ_AGENT_OUTBOX_INT_H

#include <stdint.h>

#include <sqlite3.h>

#include "agents/outbox.h"
#include "store/sqlite/sq_int.h"

struct mash_outbox {
	struct mash_store_be *be; /* the file, opened as the store's are */
	sqlite3 *db;              /* be's connection */
	struct mash_outbox_cfg cfg;
	int64_t run_id;
	int in_batch; /* inside mash_outbox_batch_begin .. commit */
};

int64_t sq_ob_now_ms(const struct mash_outbox *ob);
/* Defaults for unset backoff, clock (sq_agent_outbox_read.c). */
void sq_ob_cfg_fix(struct mash_outbox_cfg *c);
/* The backoff after attempts sends, less up to a quarter of jitter. */
int64_t sq_ob_jittered(const struct mash_outbox *ob, uint32_t attempts);
int sq_ob_prepare(struct mash_outbox *ob, const char *sql, sqlite3_stmt **st);
/* Unlock with ob->cfg.kek, or refuse an encrypted outbox without one
 * (sq_agent_outbox_keys.c). Errors are logged naming path. */
int sq_ob_unlock(struct mash_outbox *ob, const char *path);
int sq_ob_feed_save(struct mash_outbox *ob, const char *feed_key,
                    const struct mash_outbox_feedpos *pos);

#endif
