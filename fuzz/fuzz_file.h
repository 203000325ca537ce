/*
 * fuzz_file.h - for the harnesses whose parser reads a file (policy, s47,
 * directory, agent config): the input written to one private temp file
 * per process, named after the harness. Header-only: each harness is one
 * translation unit (fuzz/CMakeLists.txt).
 */
#ifndef MASH_FUZZ_FILE_H
#define MASH_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

/* Write data[0..size) to /tmp/fuzz_TAG.PID.cfg; its path in path[n].
 * 0, or -1 when it could not be written (the input is then skipped). */
static inline int
fuzz_file(const char *tag, const uint8_t *data, size_t size, char *path,
          size_t n)
{
	FILE *f;
	int ok;

	(void)snprintf(path, n, "/tmp/fuzz_%s.%ld.cfg", tag, (long)getpid());
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	ok = size == 0 || fwrite(data, 1, size, f) == size;
	return fclose(f) == 0 && ok ? 0 : -1;
}

#endif
