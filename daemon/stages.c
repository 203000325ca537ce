/*
 * stages.c - per-stage time of mashd's core thread. See stages.h.
 */
#include <stdio.h>
#include <time.h>

#include "daemon/stages.h"

static const char *const names[MASHD_STAGE_COUNT] = {
    [MASHD_STAGE_VERIFY] = "verify", [MASHD_STAGE_DECODE] = "decode",
    [MASHD_STAGE_STORE] = "store",   [MASHD_STAGE_POLICY] = "policy",
    [MASHD_STAGE_SEAL] = "seal",     [MASHD_STAGE_S47] = "s47",
    [MASHD_STAGE_COMMIT] = "commit", [MASHD_STAGE_RECEIPTS] = "receipts",
    [MASHD_STAGE_OUTBOX] = "outbox", [MASHD_STAGE_PUBACKS] = "pubacks",
    [MASHD_STAGE_TICKS] = "ticks",
};

uint64_t
mashd_stage_start(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
mashd_stage_add(struct mashd_stages *st, enum mashd_stage s, uint64_t t0)
{
	uint64_t now;

	if (st == NULL || s < 0 || s >= MASHD_STAGE_COUNT)
		return;
	now = mashd_stage_start();
	now = now > t0 ? now - t0 : 0;
	st->ns[s] += now;
	st->n[s]++;
	if (now > st->max[s])
		st->max[s] = now;
}

const char *
mashd_stage_name(enum mashd_stage s)
{
	return s >= 0 && s < MASHD_STAGE_COUNT ? names[s] : NULL;
}

void
mashd_stages_format(const struct mashd_stages *st, char *buf, size_t n)
{
	size_t at = 0;
	int i, w;

	if (n == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < MASHD_STAGE_COUNT && at < n; i++) {
		w = snprintf(
		    buf + at, n - at, "%s%s %.3f s/%llu (%.1f us, max %.1f ms)",
		    i > 0 ? ", " : "", names[i], (double)st->ns[i] / 1e9,
		    (unsigned long long)st->n[i],
		    st->n[i] > 0 ? (double)st->ns[i] / 1e3 / (double)st->n[i]
		                 : 0.0,
		    (double)st->max[i] / 1e6);
		if (w < 0)
			break;
		at += (size_t)w;
	}
}
