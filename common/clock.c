#include <time.h>

#include "common/clock.h"

static int64_t
system_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec
mash_mono_deadline(int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int64_t
manual_now(void *ctx)
{
	return *(int64_t *)ctx;
}

const struct mash_clock *
mash_clock_system(void)
{
	static const struct mash_clock sys = {system_now, NULL};

	return &sys;
}

void
mash_clock_manual(struct mash_clock *c, int64_t *now_ms)
{
	c->now_ms = manual_now;
	c->ctx = now_ms;
}

int64_t
mash_clock_now(const struct mash_clock *c)
{
	return c->now_ms(c->ctx);
}

int64_t
mash_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
