/*
 * watch.h - the soak's view from the recipients' side: one client (the
 * test harness identity, which may read every inbox) subscribed to
 * mash/v1/inbox/+ with a persistent session before the first event, kept
 * through mashd's crashes and the broker's restart. It counts, per inbox,
 * the distinct messages it received (a re-publish after a crash carries
 * the same sealed bytes: counted once, and as redelivered).
 */
#ifndef MASH_SOAK_WATCH_H
#define MASH_SOAK_WATCH_H

#include <stddef.h>

struct mash_test_broker;
struct soak_watch;

/* Connect and subscribe (waits for the SUBACK). 0 and *out, or -1. */
int soak_watch_start(struct mash_test_broker *b, struct soak_watch **out);

/* Distinct messages received on inbox/principal; total and redelivered
 * (same bytes again) when principal is NULL. */
long soak_watch_count(struct soak_watch *w, const char *principal);
long soak_watch_redelivered(struct soak_watch *w);

/* Wait until nothing new has come for quiet_ms (at most max_ms). */
void soak_watch_settle(struct soak_watch *w, int quiet_ms, int max_ms);

void soak_watch_free(struct soak_watch *w);

#endif
