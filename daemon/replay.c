/*
 * replay.c - the replay window. See replay.h.
 */
#include "daemon/replay.h"
#include "common/err.h"
#include "common/str.h"

#define DAY_MS 86400000LL

int
mashd_replay_check(int64_t now_ms, int64_t recorded_at_ms, int64_t future_s,
                   int64_t past_days, char *why, size_t whylen)
{
	const int64_t ahead = future_s * 1000;
	const int64_t behind = past_days * DAY_MS;

	if (recorded_at_ms > now_ms + ahead) {
		mash_why(why, whylen,
		         "recorded_at is %lld ms ahead of the hub's clock "
		         "(replay.future_s = %lld)",
		         (long long)(recorded_at_ms - now_ms),
		         (long long)future_s);
		return MASH_ERR_REPLAY_WINDOW;
	}
	if (behind > 0 && recorded_at_ms < now_ms - behind) {
		mash_why(why, whylen,
		         "recorded_at is %lld days and %lld ms old "
		         "(replay.past_days = %lld)",
		         (long long)((now_ms - recorded_at_ms) / DAY_MS),
		         (long long)((now_ms - recorded_at_ms) % DAY_MS),
		         (long long)past_days);
		return MASH_ERR_REPLAY_WINDOW;
	}
	return MASH_OK;
}
