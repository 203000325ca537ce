/*
 * fuzz_picture_view - libFuzzer harness for what `mashctl picture` does
 * with the bytes of an answer once its signature verified: the UTF-8 check
 * on the wire, protobuf-c unpacking as a Picture, the terminal view and
 * the JSON document. A verified answer is still input we did not write
 * (agency free text travels in it), so the view must survive anything.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/picture_view.h"
#include "common/err.h"
#include "crypto/env.h"
#include "event/evt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A stand-in calendar: calendar days, bounded like the real one. */
static int
days(void *ctx, int64_t from_ms, int64_t to_ms, int64_t *out)
{
	(void)ctx;
	if (to_ms / 86400000 - from_ms / 86400000 > 2000 ||
	    from_ms / 86400000 - to_ms / 86400000 > 2000)
		return MASH_ERR_INVAL;
	*out = to_ms / 86400000 - from_ms / 86400000;
	return MASH_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mashctl_view_opts o = {"analyst.amara", "mash-triage",
	                              1795435200000LL, days, NULL};
	Mash__V1__Picture *p;
	json_t *j;
	FILE *out;

	if (size > MASH_ENV_MAX)
		return 0;
	if (!mash_evt_wire_strings_valid(&mash__v1__picture__descriptor, data,
	                                 size))
		return 0;
	p = mash__v1__picture__unpack(mash_env_pb_allocator(), size, data);
	if (p == NULL)
		return 0;
	out = fopen("/dev/null", "w");
	if (out != NULL) {
		(void)mashctl_picture_render(out, p, &o);
		fclose(out);
	}
	j = mashctl_picture_to_json(p, &o);
	json_decref(j);
	mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
	return 0;
}
