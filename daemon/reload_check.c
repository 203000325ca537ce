/*
 * reload_check.c - a SIGHUP's files parsed in a child first. See
 * reload_check.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "daemon/reload_check.h"
#include "policy/dir.h"
#include "policy/pol.h"
#include "s47/cal.h"
#include "s47/s47.h"

int
mashd_load_side_files(const struct mashd_config *c,
                      struct mash_s47_policy **s47, struct mash_cal **cal,
                      struct mash_dir **dir)
{
	const char *hol;
	char err[512];
	int rc = MASH_OK;

	*s47 = NULL;
	*cal = NULL;
	*dir = NULL;
	err[0] = '\0';
	if (c->policy[0] != '\0') {
		rc = mash_s47_policy_load(c->policy, s47, err, sizeof(err));
		if (rc != MASH_OK) {
			mash_err("policy %s (s47): %s", c->policy, err);
			goto out;
		}
	}
	*cal = mash_cal_new();
	if (*cal == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	/* The calendar key wins; otherwise the s47 policy's
	 * clocks.holidays_file (resolved against the policy's directory). */
	hol = c->calendar[0] != '\0' ? c->calendar
	                             : mash_s47_policy_holidays_file(*s47);
	if (hol != NULL && hol[0] != '\0') {
		rc = mash_cal_load(*cal, hol, err, sizeof(err));
		if (rc != MASH_OK) {
			mash_err("calendar %s: %s", hol, err);
			goto out;
		}
	}
	if (c->directory[0] != '\0') {
		rc = mash_dir_load(c->directory, dir, err, sizeof(err));
		if (rc != MASH_OK) {
			mash_err("directory %s: %s", c->directory, err);
			goto out;
		}
	}
out:
	if (rc != MASH_OK) {
		mash_s47_policy_free(*s47);
		mash_cal_free(*cal);
		mash_dir_free(*dir);
		*s47 = NULL;
		*cal = NULL;
		*dir = NULL;
	}
	return rc;
}

static int
ms_left(const struct timespec *dl)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(dl->tv_sec - now.tv_sec) * 1000 +
	     (dl->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 600000 ? 600000 : (int)ms;
}

/* In the child: load everything as a reload would, free it, write the
 * verdict ("1 message" / "2 message") to fd, and exit. Never returns. */
static void
child(const struct mashd_config *c, int fd)
{
	struct mash_policy *pol = NULL;
	struct mash_s47_policy *s47 = NULL;
	struct mash_cal *cal = NULL;
	struct mash_dir *dir = NULL;
	char msg[600], err[512];
	size_t off = 0, n;
	ssize_t w;
	int bad = MASHD_RELOAD_OK, rc = MASH_OK;

	/* The daemon logs the verdict; the child says only errors. */
	mash_log_set_level(MASH_LOG_ERROR);
	err[0] = '\0';
	if (c->policy[0] != '\0' &&
	    (rc = mash_pol_load(c->policy, &pol, err, sizeof(err))) != MASH_OK)
		bad = MASHD_RELOAD_BAD_POLICY;
	mash_pol_free(pol);
	if (bad == MASHD_RELOAD_OK &&
	    (rc = mashd_load_side_files(c, &s47, &cal, &dir)) != MASH_OK) {
		bad = MASHD_RELOAD_BAD_SIDE;
		(void)mash_strlcpy(err, "see the log", sizeof(err));
	}
	mash_s47_policy_free(s47);
	mash_cal_free(cal);
	mash_dir_free(dir);
	/* "BAD RC MESSAGE": which file, its error code, the loader's text. */
	(void)mash_snprintf(msg, sizeof(msg), "%d %d %s", bad, rc, err);
	n = strlen(msg);
	while (off < n) {
		w = write(fd, msg + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	_exit(bad == MASHD_RELOAD_OK ? 0 : 1);
}

int
mashd_reload_check(const struct mashd_config *c, int timeout_ms,
                   enum mashd_reload_bad *bad, char *err, size_t errlen)
{
	struct timespec dl = mash_mono_deadline(timeout_ms);
	char buf[640], *end;
	size_t got = 0;
	long code;
	struct pollfd p;
	int fds[2], st = 0, rc = MASH_ERR_INTERNAL, left, eof = 0;
	ssize_t r;
	pid_t pid;

	*bad = MASHD_RELOAD_OK;
	if (errlen > 0)
		err[0] = '\0';
	if (pipe(fds) != 0)
		return MASH_ERR_INTERNAL;
	pid = fork();
	if (pid < 0) {
		(void)close(fds[0]);
		(void)close(fds[1]);
		return MASH_ERR_INTERNAL;
	}
	if (pid == 0) {
		(void)close(fds[0]);
		child(c, fds[1]);
	}
	(void)close(fds[1]);
	p.fd = fds[0];
	p.events = POLLIN;
	for (;;) {
		left = ms_left(&dl);
		if (left <= 0)
			break;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			break;
		r = read(fds[0], buf + got, sizeof(buf) - 1 - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == 0)
			eof = 1; /* the child is done (or nearly) */
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(buf) - 1)
			break;
	}
	(void)close(fds[0]);
	buf[got] = '\0';
	/* At EOF the child is exiting: wait for it. Otherwise it goes. */
	if (!eof || waitpid(pid, &st, 0) != pid) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &st, 0);
		(void)mash_snprintf(err, errlen,
		                    "the check took longer than %d ms",
		                    timeout_ms);
		return MASH_ERR_INTERNAL;
	}
	if (!WIFEXITED(st) || got < 4 || buf[1] != ' ' || buf[0] < '0' ||
	    buf[0] > '2') {
		(void)mash_snprintf(err, errlen, "the check died (status %d)",
		                    st);
		return MASH_ERR_INTERNAL;
	}
	*bad = (enum mashd_reload_bad)(buf[0] - '0');
	errno = 0;
	code = strtol(buf + 2, &end, 10);
	if (errno != 0 || end == buf + 2 || *end != ' ' || code > 0 ||
	    code < -1000) {
		*bad = MASHD_RELOAD_OK;
		(void)mash_snprintf(err, errlen, "the check said nonsense");
		return MASH_ERR_INTERNAL;
	}
	(void)mash_strlcpy(err, end + 1, errlen);
	if (*bad == MASHD_RELOAD_OK)
		return MASH_OK;
	rc = code != MASH_OK ? (int)code : MASH_ERR_PARSE;
	return rc == MASH_ERR_INTERNAL ? MASH_ERR_PARSE : rc;
}
