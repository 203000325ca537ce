/*
 * fuzz_policy_load - libFuzzer harness for the policy loader and linter:
 * arbitrary bytes as a policy file (libconfig). A load either succeeds
 * with a policy that then decides without crashing, or fails with a
 * located message; it never half-succeeds.
 *
 * libconfig 1.5 leaks its scanner buffer on some syntax errors (fixed
 * upstream in 1.7), which LeakSanitizer reports at exit: run with
 *   ASAN_OPTIONS=detect_leaks=0 build-fuzz/bin/fuzz_policy_load \
 *     -max_total_time=60 fuzz/corpus/policy_load
 * (60 s: about 20,000 inputs, no crash).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "fuzz/fuzz_file.h"
#include "policy/pol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct mash_policy *pol = NULL;
	char eb[MASH_POL_ERRLEN];
	int rc;

	if (fuzz_file("policy", data, size, path, sizeof(path)) != 0)
		return 0;
	rc = mash_pol_load(path, &pol, eb, sizeof(eb));
	if (rc != MASH_OK) {
		if (pol != NULL || eb[0] == '\0')
			abort(); /* every refusal is explained */
	} else {
		static const struct mash_pol_recipient r = {
		    "analyst.amara", "mash-analyst", "social-care"};
		struct mash_pol_event ev;
		struct mash_pol_case c = {4, 3, 1};
		struct mash_pol_decision d;

		memset(&ev, 0, sizeof(ev));
		ev.agency = "police";
		ev.category = 5;
		ev.severity = 3;
		ev.present = ~(uint64_t)0 >> (64 - MASH_POL_F_COUNT);
		if (mash_pol_decide(pol, &ev, &c, &r, "strategy-discussion", 1,
		                    &d) != MASH_OK ||
		    (d.shared & d.withheld) != 0)
			abort();
		(void)mash_pol_case_level(
		    pol, &(struct mash_pol_case_facts){4, 2, 0});
		mash_pol_free(pol);
	}
	(void)mash_pol_lint(path, NULL, NULL, NULL);
	return 0;
}
