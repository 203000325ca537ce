/*
 * fuzz_picture_req - libFuzzer harness for what mashd does with a picture
 * request's payload once its envelope verified (daemon/picture_req.h):
 * the wire UTF-8 check, protobuf-c unpacking and the field checks that
 * come before any lookup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/env.h"
#include "daemon/picture_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Mash__V1__PictureRequest *r = NULL;
	char why[256];
	int err = 0, rc;

	if (size > MASH_ENV_MAX)
		return 0;
	if (mashd_picture_req_decode(data, size, &r) != MASH_OK) {
		if (r != NULL)
			abort(); /* nothing handed out on failure */
		return 0;
	}
	rc = mashd_picture_req_check(r, &err, why, sizeof(why));
	if ((rc == MASH_OK) != (err == MASH_OK) ||
	    memchr(why, '\0', sizeof(why)) == NULL)
		abort();
	mash__v1__picture_request__free_unpacked(r, mash_env_pb_allocator());
	return 0;
}
