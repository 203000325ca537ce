/*
 * replay.h - the replay window (issue 30): a new event's recorded_at must
 * lie within [now - past_days, now + future_s], both bounds inclusive
 * (mashd's replay.past_days, 0: no lower bound, and replay.future_s).
 * A signed event replayed long after it was recorded (from a captured
 * stream, or against a store restored from an old backup), or stamped
 * ahead of the hub's clock, is REJECTED with the token REPLAY_WINDOW.
 */
#ifndef MASHD_REPLAY_H
#define MASHD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

/* MASH_OK inside the window; MASH_ERR_REPLAY_WINDOW outside it, with why
 * saying by how much and which setting. Times in unix milliseconds. */
int mashd_replay_check(int64_t now_ms, int64_t recorded_at_ms, int64_t future_s,
                       int64_t past_days, char *why, size_t whylen);

#endif
