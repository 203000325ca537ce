/*
 * seal_pool.h - sealing a batch of deliveries on two cores (issue 22).
 *
 * Each delivery costs an AES-GCM seal and an Ed25519 signature; its
 * recipient's key is derived once a batch on the caller's thread
 * (daemon/seal_cache.h, issue 32; an X25519 agreement a delivery before,
 * and a key pair a delivery before that): libcrypto was
 * 40 % of mashd's main thread, which bounds end-to-end throughput while
 * the machine's second core idles. A pool runs a batch's seals on one
 * worker thread and on the caller at once, then returns; the caller adds
 * the results to the outbox in order, inside its transaction, so
 * ordering, atomicity and audit are unchanged. Only sealing runs on the
 * worker: no store, no audit, no MQTT, no logging.
 *
 * The seal function must be safe to call from two threads at once on
 * read-only state (mashd_seal_to: the directory and mashd's key, neither
 * changed while a batch runs, since reloads run on the caller's thread).
 */
#ifndef MASHD_SEAL_POOL_H
#define MASHD_SEAL_POOL_H

#include <stddef.h>

#include "daemon/outbox.h"

struct mashd_seal_pool;

struct mash_seal_to;

/* seal_to (daemon/outbox.h) with to, the recipient's key derived for the
 * batch (NULL: a fresh ephemeral key): mashd_seal_to_with in the daemon. */
typedef int (*mashd_seal_key_fn)(void *ctx, const struct mash_seal_to *to,
                                 const char *recipient,
                                 const char *payload_type,
                                 const unsigned char *payload, size_t len,
                                 unsigned char **env, size_t *env_len);

/* One seal: inputs borrowed until mashd_seal_pool_run returns; env
 * (mash_malloc'd, the caller frees) and rc are the outputs. */
struct mashd_seal_job {
	const struct mash_seal_to *to; /* the batch's; NULL: its own */
	const char *recipient;
	const char *payload_type;
	const unsigned char *payload;
	size_t len;
	int64_t audit_seq; /* the record that queues it (outbox row) */
	unsigned char *env;
	size_t env_len;
	int rc;
};

/* A pool with one worker thread calling fn(ctx, ...). MASH_OK and *out,
 * MASH_ERR_NOMEM, or MASH_ERR_INTERNAL (no thread). */
int mashd_seal_pool_new(mashd_seal_key_fn fn, void *ctx,
                        struct mashd_seal_pool **out);

/* Seal jobs[0..n) (each gets env / rc); returns when all are done. Fewer
 * than two jobs run on the caller alone. */
void mashd_seal_pool_run(struct mashd_seal_pool *p, struct mashd_seal_job *jobs,
                         size_t n);

/* Stop and join the worker. NULL allowed. */
void mashd_seal_pool_free(struct mashd_seal_pool *p);

#endif
