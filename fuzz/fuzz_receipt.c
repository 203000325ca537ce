/*
 * fuzz_receipt - libFuzzer harness for what mash-agent does with a
 * receipt's payload once its envelope verified as the daemon's
 * (agents/receipt.h): the wire UTF-8 check, protobuf-c unpacking and the
 * field checks, for the agency the agent runs as.
 */
#include <stdint.h>
#include <stdlib.h>

#include "agents/receipt.h"
#include "common/err.h"
#include "crypto/env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Mash__V1__Receipt *r = NULL;
	char why[256];

	if (size > MASH_ENV_MAX)
		return 0;
	if (mash_receipt_decode(data, size, "police", &r, why, sizeof(why)) ==
	    MASH_OK) {
		/* What the agent then reads: all bounded, all present. */
		if (r->event_id[0] == '\0' || r->reason == NULL ||
		    r->case_id == NULL)
			abort();
		mash__v1__receipt__free_unpacked(r, mash_env_pb_allocator());
	} else if (r != NULL) {
		abort(); /* nothing handed out on failure */
	}
	return 0;
}
