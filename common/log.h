/*
 * log.h - logging to stderr. Sensitive data never goes into logs: callers
 * log event ids, case ids, agencies and error tokens, never names, dates of
 * birth, NHS numbers or summaries.
 */
#ifndef MASH_LOG_H
#define MASH_LOG_H

enum mash_log_level {
	MASH_LOG_ERROR = 0,
	MASH_LOG_WARN = 1,
	MASH_LOG_INFO = 2,
	MASH_LOG_DEBUG = 3,
};

/* Set the most verbose level printed; main() calls it once. */
void mash_log_set_level(enum mash_log_level level);
/* Parse "error|warn|info|debug"; MASH_OK or MASH_ERR_INVAL. */
int mash_log_parse_level(const char *s, enum mash_log_level *out);
/* printf-style line to stderr with an ISO timestamp and level. */
void mash_log(enum mash_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define mash_err(...)   mash_log(MASH_LOG_ERROR, __VA_ARGS__)
#define mash_warn(...)  mash_log(MASH_LOG_WARN, __VA_ARGS__)
#define mash_info(...)  mash_log(MASH_LOG_INFO, __VA_ARGS__)
#define mash_debug(...) mash_log(MASH_LOG_DEBUG, __VA_ARGS__)

#endif
