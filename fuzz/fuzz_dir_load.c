/*
 * fuzz_dir_load - libFuzzer harness for the directory of principals
 * (policy/dir.c: names, roles, agencies, inline enc_key PEM): arbitrary
 * bytes as the directory file. A load either succeeds, and every entry
 * can be read back and looked up, or fails with a located message and
 * no half-built directory (issue 31).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/err.h"
#include "fuzz/fuzz_file.h"
#include "policy/dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct mash_dir *d = NULL;
	struct mash_dir_entry e, again;
	char err[512];
	size_t i;
	int rc;

	if (fuzz_file("dir", data, size, path, sizeof(path)) != 0)
		return 0;
	err[0] = '\0';
	rc = mash_dir_load(path, &d, err, sizeof(err));
	if (rc != MASH_OK) {
		if (d != NULL || err[0] == '\0')
			abort(); /* no half-built directory, always a reason */
		return 0;
	}
	for (i = 0; i < mash_dir_count(d); i++) {
		if (mash_dir_get(d, i, &e) != MASH_OK ||
		    mash_dir_lookup(d, e.principal, &again) != MASH_OK)
			abort();
	}
	mash_dir_free(d);
	return 0;
}
