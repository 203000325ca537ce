/*
 * fuzz_evt_validate - libFuzzer harness for mash_evt_decode +
 * mash_evt_validate: arbitrary bytes as an AgencyEvent payload, validated
 * against the topic agency chosen by the first byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "event/evt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const topics[] = {
	    "police",  "health",      "education", "yot",
	    "housing", "social-care", NULL,        "mi5",
	};
	Mash__V1__AgencyEvent *ev = NULL;
	char why[MASH_EVT_WHY_LEN];
	const char *topic;
	int rc;

	if (size < 1)
		return 0;
	topic = topics[data[0] & 7];
	rc = mash_evt_decode(data + 1, size - 1, &ev, why, sizeof(why));
	if (rc != MASH_OK) {
		if (ev != NULL || why[0] == '\0')
			abort();
		return 0;
	}
	rc = mash_evt_validate(ev, topic, 1795435200000LL, why, sizeof(why));
	if (rc != MASH_OK && why[0] == '\0')
		abort(); /* every rejection names its field */
	mash_evt_free(ev);
	return 0;
}
