/*
 * receipt_pump.h - a committed batch's receipts published on a thread of
 * their own, so that the daemon's core thread handles the next batch
 * while the broker acknowledges them (issues 22 and 32: with five agents
 * the core thread waited 16-18 ms a batch of 32 for those PUBACKs, a
 * fifth of its time, while the machine had a core's worth idle).
 *
 * What does not change: a receipt is sealed on the core thread after the
 * COMMIT that holds its event, and only then handed over, so none goes
 * out before its event is durable (shared/spec/audit.md, "durable before
 * acknowledgement"). A receipt that is not published is logged with its
 * agency and event id and counted; it is not retried: the agent keeps
 * the event and re-sends it, and the re-send is answered DUPLICATE
 * (handle_event.c).
 *
 * One job at a time, as the outbox pump (outbox_pump.h): taking the
 * slots for the next job first waits for the job in flight, so receipts
 * go out in batch order and a slow broker slows the core thread down
 * instead of piling receipts up. The counts of a finished job reach the
 * caller when it next takes the slots, settles, or polls.
 *
 * mashd_rpump_* are called from the core thread only; the pump thread
 * reads only its job and calls send.
 */
#ifndef MASHD_RECEIPT_PUMP_H
#define MASHD_RECEIPT_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "broker-adapters/mq.h"
#include "common/limits.h"

struct mashd_rpump;

/* Receipts a job at most: mashd's largest batch (daemon/config.h). */
#define MASHD_RPUMP_MAX 1024u

/* One sealed receipt. The pump owns env once the job starts and frees
 * it (wiped) when the job is collected. */
struct mashd_rcpt {
	char topic[MASH_MAX_TOPIC + 1];
	char agency[MASH_MAX_AGENCY + 1]; /* for the log line only */
	char event_id[MASH_MAX_ID + 1];   /* "" when unknown */
	uint8_t *env;
	size_t len;
	unsigned char corr[MASH_MQ_MAX_CORRELATION]; /* v5 correlation */
	size_t corr_len;
};

/* What finished jobs came to: receipts the broker took, and receipts
 * not published (refused, failed, timed out). */
struct mashd_rpump_counts {
	uint64_t sent, failed;
};

/* Publish n (<= MASH_MQ_MAX_PIPELINE) messages and wait for their
 * PUBACKs, as mash_mq_publish_many: rcs[i] per message. Called on the
 * pump thread. */
typedef void (*mashd_rpump_send_fn)(void *ctx, const struct mash_mq_out *msgs,
                                    size_t n, int *rcs);

/* A pump of at most max receipts a job, publishing through send (ctx
 * passed through). MASH_OK, MASH_ERR_INVAL, MASH_ERR_NOMEM,
 * MASH_ERR_INTERNAL (no thread). */
int mashd_rpump_new(mashd_rpump_send_fn send, void *ctx, size_t max,
                    struct mashd_rpump **out);

/* Wait for the job in flight, if any, add what it came to to *c (may be
 * NULL) and free its envelopes; then the max slots of the next job,
 * cleared. */
struct mashd_rcpt *mashd_rpump_slots(struct mashd_rpump *p,
                                     struct mashd_rpump_counts *c);

/* Start publishing the first n slots (n <= max; 0 starts nothing) and
 * return without waiting. Call after mashd_rpump_slots. */
void mashd_rpump_start(struct mashd_rpump *p, size_t n);

/* Wait for the job in flight, if any, and add its counts to *c. */
void mashd_rpump_settle(struct mashd_rpump *p, struct mashd_rpump_counts *c);

/* Add the counts of a job that has finished to *c without waiting; 1 if
 * a job is still in flight, else 0. */
int mashd_rpump_poll(struct mashd_rpump *p, struct mashd_rpump_counts *c);

/* Settle (the job in flight is published, its counts lost), stop the
 * thread, free. NULL allowed. */
void mashd_rpump_free(struct mashd_rpump *p);

#endif
