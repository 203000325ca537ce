/*
 * util.h - small helpers shared by the mashctl subcommands.
 */
#ifndef MASHCTL_UTIL_H
#define MASHCTL_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read the whole regular file at path (at most max bytes) into a malloc'd
 * buffer with a NUL appended (not counted in *len); caller frees with
 * mash_free. MASH_OK, MASH_ERR_IO (cannot open/read, not a regular file),
 * MASH_ERR_TOO_BIG (over max; checked before reading), MASH_ERR_NOMEM.
 */
int mashctl_read_file(const char *path, size_t max, uint8_t **buf, size_t *len);

/* Write buf[0..len) to path, created 0644 (replacing a regular file;
 * symlinks refused), fsync'd. MASH_OK or MASH_ERR_IO. */
int mashctl_write_file(const char *path, const uint8_t *buf, size_t len);

/* The exit code for a library error from reading or parsing the user's
 * input: MASHCTL_EXIT_USAGE for INVAL/IO/NOT_FOUND/PARSE/KEY_FORMAT/
 * BAD_ID/TOO_BIG/CONFIG, MASHCTL_EXIT_FAIL for everything else. */
int mashctl_exit_for(int rc);

struct mash_store;

/*
 * Open the existing store db for an operator's command (never create
 * one; ro: read-only). With kek (read from keyfile, named in messages),
 * unlock it; a store that is not encrypted yet is refused rather than
 * encrypted as a side effect. MASHCTL_EXIT_OK and *st, or the exit code
 * with the reason printed under group: USAGE for no such store or another
 * store's key, FAIL otherwise.
 */
int mashctl_store_open(const char *group, const char *db, const uint8_t *kek,
                       const char *keyfile, int ro, struct mash_store **st);

/* "mashctl: <group>: <message>" on stderr, one line. */
void mashctl_die(const char *group, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
