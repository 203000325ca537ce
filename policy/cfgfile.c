/*
 * cfgfile.c - bounded reading and parsing of libconfig files for the
 * policy and directory loaders. Policy files are untrusted input in the
 * sense of style rule 10: a size bound before anything is allocated, no
 * embedded NUL, and every error located by file and line.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "policy/cfgfile.h"

int
policy__read_file(const char *path, size_t max, char **out, size_t *len,
                  char *errbuf, size_t errlen)
{
	int rc = MASH_ERR_IO;
	int fd = -1;
	struct stat st;
	char *buf = NULL;
	size_t n = 0;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (path == NULL || out == NULL || len == NULL) {
		rc = MASH_ERR_INVAL;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errbuf != NULL)
			(void)mash_snprintf(errbuf, errlen,
			                    "%s: cannot open: %s", path,
			                    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (errbuf != NULL)
			(void)mash_snprintf(errbuf, errlen,
			                    "%s: not a regular file", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > max) {
		rc = MASH_ERR_TOO_BIG;
		if (errbuf != NULL)
			(void)mash_snprintf(errbuf, errlen,
			                    "%s: file is larger than %zu bytes",
			                    path, max);
		goto out;
	}
	buf = mash_malloc(max + 1);
	if (buf == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	/* Read until EOF even if the file grew after fstat, but never past
	 * max: a file that grows beyond the bound is still too big. */
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errbuf != NULL)
				(void)mash_snprintf(errbuf, errlen,
				                    "%s: read error: %s", path,
				                    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			rc = MASH_ERR_TOO_BIG;
			if (errbuf != NULL)
				(void)mash_snprintf(
				    errbuf, errlen,
				    "%s: file is larger than %zu bytes", path,
				    max);
			goto out;
		}
	}
	if (memchr(buf, '\0', n) != NULL) {
		rc = MASH_ERR_PARSE;
		if (errbuf != NULL)
			(void)mash_snprintf(errbuf, errlen,
			                    "%s: file contains a NUL byte",
			                    path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL; /* transferred */
	*len = n;
	rc = MASH_OK;
out:
	if (fd >= 0)
		(void)close(fd);
	mash_free(buf);
	return rc;
}

int
policy__dirname(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return mash_strlcpy(buf, ".", len);
	n = (size_t)(slash - path);
	if (n == 0)
		return mash_strlcpy(buf, "/", len);
	if (n + 1 > len)
		return MASH_ERR_FIELD_TOO_LONG;
	memcpy(buf, path, n);
	buf[n] = '\0';
	return MASH_OK;
}

int
policy__parse(config_t *cfg, const char *path, const char *text, char *errbuf,
              size_t errlen)
{
	char dir[4096];
	const char *efile;

	if (policy__dirname(path, dir, sizeof(dir)) != MASH_OK) {
		if (errbuf != NULL)
			(void)mash_snprintf(errbuf, errlen, "%s: path too long",
			                    path);
		return MASH_ERR_PARSE;
	}
	config_set_include_dir(cfg, dir);
	if (config_read_string(cfg, text) == CONFIG_TRUE)
		return MASH_OK;
	/* An error inside an @include'd file names that file; an error in
	 * the text itself has no file name (it was read from memory). */
	efile = config_error_file(cfg);
	if (errbuf != NULL)
		(void)mash_snprintf(
		    errbuf, errlen, "%s:%d: syntax error: %s",
		    efile != NULL ? efile : path, config_error_line(cfg),
		    config_error_text(cfg) != NULL ? config_error_text(cfg)
		                                   : "unreadable");
	return MASH_ERR_PARSE;
}
