#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"

/* Set once by main before any thread starts; read-only afterwards. */
static enum mash_log_level max_level = MASH_LOG_INFO;

void
mash_log_set_level(enum mash_log_level level)
{
	max_level = level;
}

int
mash_log_parse_level(const char *s, enum mash_log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	size_t i;

	if (s == NULL || out == NULL)
		return MASH_ERR_INVAL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum mash_log_level)i;
			return MASH_OK;
		}
	}
	return MASH_ERR_INVAL;
}

void
mash_log(enum mash_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"error", "warn", "info", "debug"};
	char stamp[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > max_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %s: ", stamp, ts.tv_nsec / 1000000L,
	        tags[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
