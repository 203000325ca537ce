/*
 * reload_check.h - the files a SIGHUP reloads, parsed first in a child
 * process (issue 31), and the loader of the side files.
 *
 * libconfig 1.5 (Debian 12) leaks the string token it discards on some
 * syntax errors: a string where a setting's name belongs costs 80 bytes a
 * parse (fixed upstream in 1.7; tests/lsan.supp). mashd reloads on every
 * SIGHUP for as long as it runs, so a file left broken would grow it a
 * little with each attempt. mashd_reload_check parses the files in a
 * forked child that only reports its verdict; the daemon then parses only
 * files that parsed there, so a bad file's leak dies with the child. A
 * parser crash stays there too (OpenSSH parses what it must not trust in
 * a child for the same reasons).
 */
#ifndef MASHD_RELOAD_CHECK_H
#define MASHD_RELOAD_CHECK_H

#include <stddef.h>

#include "daemon/config.h"

struct mash_s47_policy;
struct mash_cal;
struct mash_dir;

/* Which file a check refused. */
enum mashd_reload_bad {
	MASHD_RELOAD_OK = 0,
	MASHD_RELOAD_BAD_POLICY = 1, /* the sharing policy (c->policy) */
	MASHD_RELOAD_BAD_SIDE = 2,   /* s47 policy, calendar or directory */
};

/*
 * Parse c's policy, s47 policy, calendar and directory in a child
 * process, touching nothing of the caller's. MASH_OK and *bad
 * MASHD_RELOAD_OK when all load; the loader's error (MASH_ERR_PARSE,
 * MASH_ERR_POLICY, MASH_ERR_IO...) with *bad naming the first refused and
 * err[errlen] its message;
 * MASH_ERR_INTERNAL (no child, or it died or took longer than timeout_ms)
 * with *bad MASHD_RELOAD_OK.
 */
int mashd_reload_check(const struct mashd_config *c, int timeout_ms,
                       enum mashd_reload_bad *bad, char *err, size_t errlen);

/* The s47 policy, calendar and directory (not the sharing policy, which
 * mashd_policy_load audits). Fills the out pointers; NULL when the file
 * is not configured. MASH_OK or the first loader's error (logged). */
int mashd_load_side_files(const struct mashd_config *c,
                          struct mash_s47_policy **s47, struct mash_cal **cal,
                          struct mash_dir **dir);

#endif
