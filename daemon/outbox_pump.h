/*
 * outbox_pump.h - publish the outbox on a thread of its own, so that the
 * daemon's core thread handles the next batch of events while the broker
 * acknowledges the last batch's deliveries (issue 22: waiting for those
 * PUBACKs was a quarter of the core thread's time with five agents).
 *
 * One job at a time: mashd_pump_flush first finishes the job in flight
 * (its acknowledged rows are marked done in one transaction), then hands
 * the pending rows, up to MASHD_OUTBOX_MARK_MAX, oldest first, to the
 * pump and returns without waiting for them. Since no job is in flight
 * when the rows are read, every pending row read is one not yet
 * published, or one whose publish failed: nothing is handed over twice.
 * The job runs mashd_outbox_publish_rows and the core thread settles it
 * (mashd_outbox_settle: a refused row waits with its topic, or becomes a
 * dead letter past the retry budget; issue 31); any other failure stops
 * the job and its rows are retried by the next flush, in order.
 *
 * The pump thread never touches the store: it only reads the job's rows,
 * which the core thread owns and frees. Delivery stays at-least-once: a
 * crash before the done marks commit publishes those rows again.
 *
 * mashd_pump_* are called from the core thread only.
 */
#ifndef MASHD_OUTBOX_PUMP_H
#define MASHD_OUTBOX_PUMP_H

#include <stddef.h>

#include "daemon/outbox.h"

struct mash_store;
struct mashd_pump;

/* A pump publishing through send (ctx passed through; called on the pump
 * thread, MASHD_OUTBOX_FLUSH_BATCH messages at most per call). MASH_OK,
 * MASH_ERR_INVAL, MASH_ERR_NOMEM, MASH_ERR_INTERNAL (no thread). */
int mashd_pump_new(mashd_outbox_send_many_fn send, void *ctx,
                   struct mashd_pump **out);

/*
 * Finish the job in flight (mashd_pump_settle), then start one with the
 * pending rows of st. Call outside a transaction. *n_done (may be NULL)
 * gets how many rows the finished job published. MASH_OK, or the
 * finished job's first send error (its rows from there stay pending), or
 * a store error.
 */
int mashd_pump_flush(struct mashd_pump *p, struct mash_store *st,
                     size_t *n_done);

/*
 * mashd_pump_flush if no job is in flight; otherwise nothing, *busy set
 * (may be NULL) and MASH_OK: the core thread goes on with the next batch
 * instead of waiting for the broker's PUBACKs (issue 32: up to 68 ms in
 * bench_e2e), and flushes when mashd_pump_fd says the job is done.
 */
int mashd_pump_flush_idle(struct mashd_pump *p, struct mash_store *st,
                          size_t *n_done, int *busy);

/* Readable (poll) once a job has finished since the last
 * mashd_pump_flush_idle; owned by the pump. -1 for NULL. */
int mashd_pump_fd(const struct mashd_pump *p);

/* Wait for the job in flight, if any, and mark what it published done;
 * starts nothing. Errors as mashd_pump_flush. */
int mashd_pump_settle(struct mashd_pump *p, struct mash_store *st,
                      size_t *n_done);

/* Count the time the core thread waits for a job in flight in st's
 * PUBACKS stage (daemon/stages.h; NULL: not counted). */
struct mashd_stages;
void mashd_pump_set_stages(struct mashd_pump *p, struct mashd_stages *st);

/* Give failed publishes r's retry budget from now on (a copy; NULL:
 * none, failures are only logged and retried at the next flush). */
void mashd_pump_set_retry(struct mashd_pump *p,
                          const struct mashd_outbox_retry *r);

/* Wait for the job in flight (its rows are not marked: a store may be
 * gone; they are published again at the next start), stop the thread,
 * free. NULL allowed. */
void mashd_pump_free(struct mashd_pump *p);

#endif
