/*
 * seal_defer.h - a batch's deliveries sealed on a worker thread while the
 * core thread goes on with the batch's next events (issue 32).
 *
 * Sealing and signing a delivery was a third of the core thread's policy
 * stage (bench_e2e: 0.4-0.5 ms an event, ~11 deliveries each) even with
 * the seal pool, which the core thread waits for at every event. Here an
 * event's sealed deliveries are only queued: a worker seals them in
 * order while the core thread verifies, stores and decides the next
 * events, and mashd_sdq_flush adds their outbox rows (each naming its
 * DELIVERY_QUEUED record) at the end of the batch, BEFORE its COMMIT: the
 * rows commit with the audit records that name them or not at all, as
 * before (deliver.c, audit.md "durable before acknowledgement").
 *
 * An event rolled back to its savepoint takes its queued deliveries with
 * it (mashd_sdq_mark at the savepoint, mashd_sdq_drop_from on the
 * rollback). The rows of deferred deliveries follow the batch's other
 * outbox rows (held records, trigger messages), each inbox's in the
 * order its events were handled.
 *
 * Only sealing runs on the worker: no store, no audit, no MQTT, no
 * logging; the seal function must be safe beside the core thread and the
 * seal pool (read-only state: the directory and mashd's key, never
 * changed while a batch is open). mashd_sdq_* are called from the core
 * thread only.
 */
#ifndef MASHD_SEAL_DEFER_H
#define MASHD_SEAL_DEFER_H

#include <stddef.h>

#include "daemon/seal_pool.h"

struct mash_store;
struct mashd_sdq;

/* Deliveries a batch may queue; more are sealed at once by the caller. */
#define MASHD_SDQ_CHUNK  256u
#define MASHD_SDQ_CHUNKS 64u

/* A queue whose worker seals with fn(ctx, ...). MASH_OK and *out,
 * MASH_ERR_INVAL, MASH_ERR_NOMEM, MASH_ERR_INTERNAL (no thread). */
int mashd_sdq_new(mashd_seal_key_fn fn, void *ctx, struct mashd_sdq **out);

/*
 * Queue jobs[0..n): each job's recipient and key (to) are copied, its
 * payload passes to the queue (jobs[i].payload set NULL). MASH_OK, or
 * MASH_ERR_TOO_BIG when the batch's queue is full (nothing taken: seal
 * them at once).
 */
int mashd_sdq_add(struct mashd_sdq *q, struct mashd_seal_job *jobs, size_t n);

/* Deliveries queued so far: the mark of a savepoint. */
size_t mashd_sdq_mark(const struct mashd_sdq *q);

/* Forget every delivery queued since mark (sealed or not): its event
 * was rolled back. */
void mashd_sdq_drop_from(struct mashd_sdq *q, size_t mark);

/*
 * Seal what is left (the caller helps the worker), then add every
 * delivery's outbox row in queue order, inside the caller's open
 * transaction; the queue is empty afterwards in every case. MASH_OK, or
 * the first seal or store error (some rows may be added: the caller
 * rolls the transaction back). *n_rows (may be NULL): rows added.
 */
int mashd_sdq_flush(struct mashd_sdq *q, struct mash_store *st, size_t *n_rows);

/* Stop and join the worker, wiping what is queued. NULL allowed. */
void mashd_sdq_free(struct mashd_sdq *q);

#endif
