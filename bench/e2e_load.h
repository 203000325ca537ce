/*
 * e2e_load.h - bench_e2e's load generator and recipients (issue 32): the
 * five agencies' events from generated realistic feeds (bench/gen-feeds,
 * mapped by the agent's own code), signed as each agency at the moment
 * they are published, over one MQTT connection; and a second connection
 * that reads every receipt and the deliveries to a few recipient inboxes,
 * verifies each (signed by mashd; a delivery opened with the recipient's
 * key) and times it against the event's publication.
 *
 * Bench only (prefix e2e_). Single-threaded: the caller alternates
 * e2e_load_publish and e2e_load_poll.
 */
#ifndef MASH_BENCH_E2E_LOAD_H
#define MASH_BENCH_E2E_LOAD_H

#include <stddef.h>
#include <stdint.h>

struct mash_key;
struct mash_mq;
struct mash_test_broker;
struct mash_test_tls;

#define E2E_AGENCIES 5
#define E2E_INBOXES  5

/* A harness client of broker b (clean start, a queue that never
 * back-pressures: recipients read as fast as they can), its TLS file
 * names in t, which must outlive it. 0 and *out, or -1. */
int e2e_client(struct mash_test_broker *b, const char *id,
               struct mash_test_tls *t, struct mash_mq **out);

/* Events mapped from gen-feeds CSVs, packed, in publication order (the
 * agencies interleaved as their shares of the feed). */
struct e2e_pool;

/* Read DIR/{police,health,education,yot,housing}.csv (at most n records
 * in all): 0 and *out, or -1 (reason on stderr). */
int e2e_pool_new(const char *dir, size_t n, struct e2e_pool **out);
size_t e2e_pool_size(const struct e2e_pool *p);
void e2e_pool_free(struct e2e_pool *p);

struct e2e_load_opts {
	struct mash_test_broker *broker;
	const char *trust_dir; /* verifies mashd's receipts and deliveries */
	const char *enc_dir;   /* the recipients' X25519 keys (enc/NAME/) */
	/* Each agency's signing key ("k1"), in e2e agency order: police,
	 * health, education, yot, housing. Borrowed. */
	struct mash_key *keys[E2E_AGENCIES];
	const char *inboxes[E2E_INBOXES]; /* principals whose inbox is read */
};

/* What came back, so far. */
struct e2e_counts {
	uint64_t published, accepted, duplicate, rejected, bad_receipts;
	uint64_t deliveries, delivery_dups, bad_deliveries, triggers;
	uint64_t per_inbox[E2E_INBOXES]; /* distinct deliveries */
};

struct e2e_load;

/* Connect both clients; 0 and *out or -1. pool is borrowed. */
int e2e_load_new(const struct e2e_load_opts *o, const struct e2e_pool *pool,
                 struct e2e_load **out);
void e2e_load_free(struct e2e_load *l);

/* Publish the next n events of the pool (fewer at its end) as one
 * pipeline, each signed now; returns how many, -1 on an MQTT failure. */
int e2e_load_publish(struct e2e_load *l, size_t n);

/* Read what arrived: wait up to timeout_ms for the first message, then
 * take every message already queued. Returns messages read. */
size_t e2e_load_poll(struct e2e_load *l, int timeout_ms);

/* Events published and not yet receipted. */
uint64_t e2e_load_in_flight(const struct e2e_load *l);

void e2e_load_counts(const struct e2e_load *l, struct e2e_counts *c);

/* Latency percentiles (ms) of events [from, to) of the pool, publish to
 * receipt (which 0) or publish to the last delivery seen to one of the
 * inboxes (which 1; events with none are left out): q in [0,1]. -1 when
 * no event has one. */
double e2e_load_latency_ms(const struct e2e_load *l, size_t from, size_t to,
                           int which, double q);

/* Index of the next event to publish. */
size_t e2e_load_next(const struct e2e_load *l);

#endif
