/*
 * retention.h - a rejected message is kept in quarantine for an operator
 * to inspect, then purged (issue 28): mashd every hour for what is older
 * than quarantine.retention_days, mashctl quarantine purge on demand. Each
 * purge is one PURGE audit record in the transaction that deletes the
 * rows (what, how many, which ids, received before when).
 */
#ifndef MASHD_RETENTION_H
#define MASHD_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct mash_aud;
struct mash_store;

/* Rows per transaction. */
#define MASHD_PURGE_BATCH 500u

/*
 * Purge every quarantined message received before before_ms, in batches
 * of MASHD_PURGE_BATCH, each with its PURGE record by actor. *purged (may
 * be NULL) gets the count. Outside any transaction of the caller. MASH_OK,
 * or the store / audit error (the batch is rolled back, earlier batches
 * stay purged and recorded).
 */
int mashd_quarantine_purge(struct mash_store *st, struct mash_aud *aud,
                           int64_t before_ms, const char *actor,
                           size_t *purged);

#endif
