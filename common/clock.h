/*
 * clock.h - injected time. Statutory clocks, checkpoints and retries read
 * time only through a struct mash_clock so that tests can move time without
 * sleeping.
 */
#ifndef MASH_CLOCK_H
#define MASH_CLOCK_H

#include <stdint.h>
#include <time.h>

struct mash_clock {
	/* Unix time in milliseconds. */
	int64_t (*now_ms)(void *ctx);
	void *ctx;
};

/* The system clock (CLOCK_REALTIME); static storage. */
const struct mash_clock *mash_clock_system(void);

/* A settable clock for tests: ctx points at an int64_t holding the time. */
void mash_clock_manual(struct mash_clock *c, int64_t *now_ms);

/* c->now_ms(c->ctx); c must not be NULL. */
int64_t mash_clock_now(const struct mash_clock *c);

/* CLOCK_MONOTONIC in milliseconds: for timeouts and deadlines only (it
 * never jumps with the wall clock), never for a record's time. */
int64_t mash_mono_ms(void);

/* The CLOCK_MONOTONIC time timeout_ms from now, for
 * pthread_cond_timedwait on a condition whose clock is CLOCK_MONOTONIC. */
struct timespec mash_mono_deadline(int timeout_ms);

#endif
