/* libFuzzer harness: the CSV feed reader (agents/feed_csv.c, libcsv) and,
 * for every record it yields, every agency's mapping (agents/map*.c).
 * Input: arbitrary bytes as a CSV feed file. */
#include <stddef.h>
#include <stdint.h>

#include "agents/feed.h"
#include "agents/map.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const agencies[] = {
	    "police", "health", "education", "yot", "housing", "social-care"};
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *rec;
	struct mash_feed_err err;
	Mash__V1__AgencyEvent *ev;
	size_t i;
	int rc, guard;

	if (mash_feed_open_mem(data, size, MASH_FEED_CSV, "fuzz.csv", &f) !=
	    MASH_OK)
		return 0;
	for (guard = 0; guard < 10000; guard++) {
		rc = mash_feed_next(f, guard & 1, &rec, &err);
		if (rc == MASH_FEED_EOF || rc == MASH_FEED_AGAIN || err.fatal)
			break;
		if (rc != MASH_OK)
			continue;
		for (i = 0; i < sizeof(agencies) / sizeof(agencies[0]); i++) {
			ev = NULL;
			if (mash_agent_map(agencies[i], rec, 1798761600000LL,
			                   &ev, &err) == MASH_OK)
				mash_agent_event_free(ev);
		}
	}
	mash_feed_free(f);
	return 0;
}
