/*
 * fuzz_s47_load - libFuzzer harness for the s47 policy loader (groups
 * `triggers` and `clocks`) and the holidays file loader: arbitrary bytes as
 * a libconfig file. The first byte picks the loader. A load either
 * succeeds (then evaluation and working-day arithmetic run without
 * crashing) or fails with a located message and no half-built result.
 *
 * libconfig 1.5 leaks its scanner buffer on some syntax errors: run with
 *   ASAN_OPTIONS=detect_leaks=0 build-fuzz/bin/fuzz_s47_load \
 *     -max_total_time=60 fuzz/corpus/s47_load
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "fuzz/fuzz_file.h"
#include "s47/cal.h"
#include "s47/s47.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
use_policy(const struct mash_s47_policy *p)
{
	static struct mash_s47_fact h[3];
	static struct mash_s47_result r;
	static const char *const ag[3] = {"police", "health", "education"};
	size_t i;

	for (i = 0; i < 3; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		(void)snprintf(h[i].agency, sizeof(h[i].agency), "%s", ag[i]);
		(void)snprintf(h[i].event_id, sizeof(h[i].event_id), "e%zu", i);
		h[i].category = (int)(2 + i);
		h[i].severity = (uint32_t)(2 + i % 3);
		h[i].occurred_at = 1790000000000LL + (int64_t)i * 86400000LL;
		h[i].dob_day = 20000;
		h[i].vcl_max = (uint32_t)i;
	}
	if (mash_s47_evaluate(p, h, 3, 2, NULL, &r) != MASH_OK ||
	    (r.action != MASH_S47_NONE && r.action != MASH_S47_RAISE) ||
	    r.n_events > MASH_S47_MAX_CONTRIB || r.n_roles > MASH_S47_MAX_ROLES)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	char err[512];
	int rc;

	if (size == 0)
		return 0;
	if (fuzz_file("s47", data + 1, size - 1, path, sizeof(path)) != 0)
		return 0;
	err[0] = '\0';
	if (data[0] & 1) {
		struct mash_s47_policy *p = NULL;

		rc = mash_s47_policy_load(path, &p, err, sizeof(err));
		if (rc != MASH_OK) {
			if (p != NULL || err[0] == '\0')
				abort();
			return 0;
		}
		use_policy(p);
		mash_s47_policy_free(p);
	} else {
		struct mash_cal *cal = mash_cal_new();
		int32_t day = 0;

		if (cal == NULL)
			return 0;
		rc = mash_cal_load(cal, path, err, sizeof(err));
		if (rc != MASH_OK && err[0] == '\0')
			abort();
		if (mash_cal_add_working_days(cal, 20000, 45, &day) !=
		        MASH_OK ||
		    day <= 20000)
			abort();
		mash_cal_free(cal);
	}
	return 0;
}
