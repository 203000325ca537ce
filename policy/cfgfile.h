/*
 * cfgfile.h - internal to policy/: read a libconfig file with a hard size
 * bound, from bytes we have read ourselves (so that what is hashed is what
 * is parsed), and format located errors. Shared by pol.c and dir.c.
 */
#ifndef MASH_POL_CFGFILE_H
#define MASH_POL_CFGFILE_H

#include <stddef.h>

#include <libconfig.h>

/*
 * Read path (at most max bytes) into a new NUL-terminated buffer *out
 * (caller frees with mash_free), length in *len. MASH_OK, MASH_ERR_IO,
 * MASH_ERR_TOO_BIG, MASH_ERR_PARSE (embedded NUL byte), MASH_ERR_NOMEM;
 * on failure errbuf holds "path: message".
 */
int policy__read_file(const char *path, size_t max, char **out, size_t *len,
                      char *errbuf, size_t errlen);

/*
 * Parse text (read from path) into cfg (config_init'ed by the caller),
 * with @include resolved relative to path's directory. MASH_OK, or
 * MASH_ERR_PARSE with errbuf "file:line: syntax error: text".
 */
int policy__parse(config_t *cfg, const char *path, const char *text,
                  char *errbuf, size_t errlen);

/* The directory part of path into buf ("." if none). MASH_OK or
 * MASH_ERR_FIELD_TOO_LONG. */
int policy__dirname(const char *path, char *buf, size_t len);

#endif
