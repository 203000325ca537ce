/*
 * fuzz_agent_cfg - libFuzzer harness for an agency agent's configuration
 * file (agents/agent_cfg.c, libconfig): arbitrary bytes as the file,
 * loaded for the agency the first byte picks. A load either succeeds or
 * fails with "file:line: what" and nothing half-built (issue 31).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "agents/agent_cfg.h"
#include "common/err.h"
#include "fuzz/fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const agencies[] = {
	    "police", "health", "education", "yot", "housing", "social-care"};
	char path[64];
	struct mash_agent_cfg *c = NULL;
	char why[512];
	int rc;

	if (size == 0)
		return 0;
	if (fuzz_file("agent", data + 1, size - 1, path, sizeof(path)) != 0)
		return 0;
	why[0] = '\0';
	rc = mash_agent_cfg_load(path, agencies[data[0] % 6], &c, why,
	                         sizeof(why));
	if (rc != MASH_OK) {
		if (c != NULL || why[0] == '\0')
			abort();
		return 0;
	}
	mash_agent_cfg_free(c);
	return 0;
}
