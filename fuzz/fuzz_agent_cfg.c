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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const agencies[] = {"police", "health", "education",
	                                       "yot", "housing", "social-care"};
	static char path[64];
	struct mash_agent_cfg *c = NULL;
	char why[512];
	FILE *f;
	int rc;

	if (size == 0)
		return 0;
	if (path[0] == '\0')
		(void)snprintf(path, sizeof(path), "/tmp/fuzz_agent.%ld.cfg",
		               (long)getpid());
	f = fopen(path, "wb");
	if (f == NULL)
		return 0;
	if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1) {
		fclose(f);
		return 0;
	}
	fclose(f);
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
