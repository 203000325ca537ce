/*
 * stages.h - where mashd's core thread spends its time, per stage of an
 * event (issue 32: the per-stage breakdown an operator and the
 * benchmarks read).
 *
 * Each stage adds its wall time (CLOCK_MONOTONIC) and a count. The core
 * thread alone writes them, so no lock; they are read on that thread too
 * (the stop line, SIGUSR1). Nested stages are said so: SEAL runs inside
 * POLICY (an event's deliveries given their keys and queued to the
 * seal_defer worker, or sealed on both cores while the core thread
 * waits), so POLICY includes it, except the wait at a batch's end for
 * the worker's last seals and the outbox rows then added
 * (daemon/seal_defer.h), which is SEAL's alone; S47 (the case's history read
 * and the trigger rules evaluated, issue 32) runs inside POLICY too;
 * PUBACKS (the outbox pump's job in flight, waited for before the next
 * starts) inside OUTBOX or TICKS.
 */
#ifndef MASHD_STAGES_H
#define MASHD_STAGES_H

#include <stddef.h>
#include <stdint.h>

enum mashd_stage {
	MASHD_STAGE_VERIFY = 0, /* envelope signature (mash_env_open) */
	MASHD_STAGE_DECODE,     /* protobuf decode and validation */
	MASHD_STAGE_STORE,      /* dedup, replay window, link, insert, audit */
	MASHD_STAGE_POLICY,     /* decisions, records, sealing, s47 triggers */
	MASHD_STAGE_SEAL,       /* ...of which: sealing the deliveries */
	MASHD_STAGE_S47,        /* ...of which: the s47 triggers' evaluation */
	MASHD_STAGE_COMMIT,     /* the batch's COMMIT (fsync) */
	MASHD_STAGE_RECEIPTS,   /* receipts sealed, handed to their pump */
	MASHD_STAGE_OUTBOX,     /* the outbox settled and handed on */
	MASHD_STAGE_PUBACKS,    /* ...of which: waiting for the pump's job */
	MASHD_STAGE_TICKS,      /* timed work between batches (a run) */
	MASHD_STAGE_COUNT
};

struct mashd_stages {
	uint64_t ns[MASHD_STAGE_COUNT];
	uint64_t n[MASHD_STAGE_COUNT];
	uint64_t max[MASHD_STAGE_COUNT]; /* the longest one: a stall */
};

/* Now, in ns of CLOCK_MONOTONIC: a stage's start. */
uint64_t mashd_stage_start(void);

/* Add the time since t0 to stage s. st may be NULL. */
void mashd_stage_add(struct mashd_stages *st, enum mashd_stage s, uint64_t t0);

/* One line "verify 1.2 s/10000 (120 us, max 0.9 ms), ..." into buf[n]:
 * every stage with its total, count, mean and longest (the events queued
 * behind a long one wait for all of it: issue 32's p99). */
void mashd_stages_format(const struct mashd_stages *st, char *buf, size_t n);

/* The stage's name ("verify"...), NULL past the last. */
const char *mashd_stage_name(enum mashd_stage s);

#endif
