/*
 * outbox.h - the daemon's durable delivery: publish what the store's
 * outbox holds (store/store.h "Outbox"), in id order, and remove each
 * message once the broker acknowledged it.
 *
 * Deliveries (SharedRecords, StrategyDiscussionTriggers) are sealed and
 * added to the outbox INSIDE the transaction that audits them, so the
 * DELIVERY records and the message commit (or roll back) together. The
 * daemon flushes after every commit, at start-up and on every tick, so a
 * crash or a broker outage delays a delivery but never loses it. Delivery
 * is at-least-once: a crash between the PUBACK and mash_store_outbox_done
 * sends the message again; receivers de-duplicate by audit_seq.
 *
 * Single-threaded: the daemon's core thread only.
 */
#ifndef MASHD_OUTBOX_H
#define MASHD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "common/topics.h"

struct mash_store;

/* Inbox topic prefix (wire-contract.md): mash/v1/inbox/{principal}. */
#define MASHD_INBOX_PREFIX MASH_TOPIC_INBOX_PREFIX

/* Outbox rows read per query while flushing. */
#define MASHD_OUTBOX_FLUSH_BATCH 64u

/* Published rows marked done per transaction while flushing (a multiple
 * of MASHD_OUTBOX_FLUSH_BATCH). */
#define MASHD_OUTBOX_MARK_MAX 1024u

/*
 * Publish bytes[0..len) (an already sealed envelope) to topic at QoS 1;
 * MASH_OK once the broker acknowledged it, an error otherwise.
 */
typedef int (*mashd_outbox_send_fn)(void *ctx, const char *topic,
                                    const unsigned char *bytes, size_t len);

/*
 * Publish every pending outbox message of st, oldest first, through send
 * (ctx passed through), removing each one the broker took. A refused
 * message holds back the later ones to its topic only; any other failed
 * send stops the flush (the message and those after it stay pending, so
 * order is kept) and its error is returned. Call outside a
 * transaction. *n_sent (may be NULL) gets how many were published.
 * MASH_OK when the outbox is empty; MASH_ERR_INVAL (NULL st or send),
 * the send's error, MASH_ERR_STORE / MASH_ERR_NOMEM.
 */
int mashd_outbox_flush(struct mash_store *st, mashd_outbox_send_fn send,
                       void *ctx, size_t *n_sent);

/*
 * Publish topic[i] / bytes[i] / len[i] for i < n (n <= 64) at QoS 1 in
 * this order, without waiting between them, then wait for all: rcs[i] =
 * MASH_OK once the broker acknowledged message i, an error otherwise.
 */
typedef void (*mashd_outbox_send_many_fn)(void *ctx, const char *const *topic,
                                          const unsigned char *const *bytes,
                                          const size_t *len, size_t n,
                                          int *rcs);

/*
 * As mashd_outbox_flush, publishing each list of up to
 * MASHD_OUTBOX_FLUSH_BATCH messages in one pipeline (one round trip to
 * the broker, not one each; issue 22). After a failure the messages of
 * that list behind it may have been published too; they stay pending
 * and go again (receivers de-duplicate by audit_seq).
 */
int mashd_outbox_flush_many(struct mash_store *st,
                            mashd_outbox_send_many_fn send, void *ctx,
                            size_t *n_sent);

/*
 * The retry budget (issue 31; mashd's outbox.* keys). A publish the
 * broker refused (MASH_ERR_REFUSED) or did not acknowledge in time
 * (MASH_ERR_TIMEOUT) counts an attempt; the row, and its topic behind it,
 * waits retry_ms, doubling with each attempt up to
 * MASHD_OUTBOX_RETRY_MAX_MS. Once it has had max_attempts attempts AND
 * its first failure is max_age_ms old, it becomes a dead letter
 * (mash_store_outbox_kill) with dead() called in that transaction (its
 * DELIVERY_FAILED record; an error there keeps the row where it was).
 * A transport failure (MASH_ERR_MQTT: not connected) is no attempt: the
 * broker never saw the message.
 */
#define MASHD_OUTBOX_RETRY_MAX_MS 60000

struct mash_clock;
struct mash_store_outbox_row;

typedef int (*mashd_outbox_dead_fn)(void *ctx,
                                    const struct mash_store_outbox_row *r,
                                    const char *error, int64_t dead_id);

/* The broker acknowledged the messages to topic queued by audit records
 * seqs[0..n) (n <= MASHD_OUTBOX_ACK_MAX): write the DELIVERY record, in
 * the transaction that marks them done (issue 31). */
#define MASHD_OUTBOX_ACK_MAX 40
typedef int (*mashd_outbox_acked_fn)(void *ctx, const char *topic,
                                     const int64_t *seqs, size_t n);

struct mashd_outbox_retry {
	int64_t max_attempts; /* >= 1 */
	int64_t max_age_ms;   /* >= 0 */
	int64_t retry_ms;     /* >= 1 */
	const struct mash_clock *clock;
	mashd_outbox_dead_fn dead;   /* NULL: no audit */
	mashd_outbox_acked_fn acked; /* NULL: no DELIVERY records */
	void *ctx;
	uint64_t *n_dead; /* NULL, or a counter to add dead letters to */
};

/*
 * Publish rows[0..n) through send, MASHD_OUTBOX_FLUSH_BATCH per pipeline,
 * oldest first: rcs[i] gets row i's result. A row whose topic the broker
 * refused earlier in the call is not sent (MASH_ERR_STATE: order per
 * destination); after a failure other than a refusal nothing more is sent
 * (MASH_ERR_STATE) and that failure is returned; MASH_OK otherwise.
 * Touches no store (the pump runs it on its own thread).
 */
int mashd_outbox_publish_rows(mashd_outbox_send_many_fn send, void *ctx,
                              const struct mash_store_outbox_row *rows,
                              size_t n, int *rcs);

/*
 * After mashd_outbox_publish_rows: mark the acknowledged rows done, then
 * count an attempt on each refused or timed-out one, dead-lettering those
 * past r's budget (r NULL: failures are only logged). Call outside a
 * transaction. *n_done (may be NULL): rows marked done. MASH_OK or a
 * store / audit error (what was not recorded happens again).
 */
int mashd_outbox_settle(struct mash_store *st,
                        const struct mashd_outbox_retry *r,
                        const struct mash_store_outbox_row *rows,
                        const int *rcs, size_t n, size_t *n_done);

/* As mashd_outbox_flush_many, with r's budget (NULL: none). */
int mashd_outbox_flush_retry(struct mash_store *st,
                             mashd_outbox_send_many_fn send, void *ctx,
                             const struct mashd_outbox_retry *r,
                             size_t *n_sent);

/*
 * seal_to: seal payload (payload_type) to recipient and sign it as the
 * daemon (crypto/inbox.h) into *env (mash_malloc'd, the caller frees) and
 * *env_len. MASH_ERR_NO_ENC_KEY when the recipient has no encryption key;
 * another error when sealing failed. mashd_seal_to in the daemon.
 */
typedef int (*mashd_seal_to_fn)(void *ctx, const char *recipient,
                                const char *payload_type,
                                const unsigned char *payload, size_t len,
                                unsigned char **env, size_t *env_len);

/*
 * Seal payload for recipient: MASH_OK and *env / *env_len (mash_malloc'd,
 * the caller frees), *held_id 0. A recipient without an encryption key
 * gets no clear fallback: the payload is held in st's outbox
 * (mash_store_outbox_hold, inside the caller's transaction), *held_id =
 * its outbox id, *env NULL, MASH_OK; mashd_outbox_release delivers it once
 * a key is known. Else an error. The caller then writes the audit record
 * (DELIVERY_QUEUED / TRIGGER_DELIVERY, or DELIVERY_HELD naming held_id)
 * and adds a sealed env with mashd_outbox_add_sealed and that record's
 * sequence number (issue 31: the record the broker's PUBACK confirms).
 */
int mashd_outbox_seal_or_hold(struct mash_store *st, mashd_seal_to_fn seal_to,
                              void *ctx, const char *recipient,
                              const char *payload_type,
                              const unsigned char *payload, size_t len,
                              unsigned char **env, size_t *env_len,
                              int64_t *held_id);

/* The held half of mashd_outbox_seal_or_hold, for a caller that sealed
 * elsewhere and was told MASH_ERR_NO_ENC_KEY: payload held in st's
 * outbox for recipient, *held_id its id, said in the log by id. MASH_OK
 * or an error. */
int mashd_outbox_hold(struct mash_store *st, const char *recipient,
                      const char *payload_type, const unsigned char *payload,
                      size_t len, int64_t *held_id);

/* Add env (sealed for recipient) to the outbox of st on recipient's inbox
 * topic, inside the caller's transaction. mash_store_outbox_add's errors,
 * MASH_ERR_FIELD_TOO_LONG for a recipient too long for a topic. */
int mashd_outbox_add_sealed(struct mash_store *st, const char *recipient,
                            const unsigned char *env, size_t env_len,
                            int64_t audit_seq);

/*
 * Seal every held delivery whose recipient now has a key (after a
 * directory reload) and release it to the outbox, each in its own
 * transaction with its DELIVERY audit record through audit (ctx passed
 * through; NULL: none). *n_released / *n_still_held (may be NULL) count.
 * MASH_OK, or the first store / audit error.
 */
typedef int (*mashd_outbox_audit_fn)(void *ctx, const char *recipient,
                                     const char *payload_type, int64_t id,
                                     uint64_t *seq);
int mashd_outbox_release(struct mash_store *st, mashd_seal_to_fn seal_to,
                         mashd_outbox_audit_fn audit, void *ctx,
                         size_t *n_released, size_t *n_still_held);

#endif
