#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/store.h"

int
mashctl_read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t got = 0;
	int fd = -1, rc = MASH_ERR_IO;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((uint64_t)st.st_size > max) {
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	rc = MASH_ERR_NOMEM;
	b = mash_malloc(max + 1);
	if (b == NULL)
		goto out;
	for (;;) {
		ssize_t n = read(fd, b + got, max + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = MASH_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			rc = MASH_ERR_TOO_BIG;
			goto out;
		}
	}
	b[got] = 0;
	*buf = b;
	*len = got;
	b = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_free(b);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
mashctl_write_file(const char *path, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int fd, rc = MASH_ERR_IO;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	          0644);
	if (fd < 0)
		return MASH_ERR_IO;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto out;
		off += (size_t)w;
	}
	if (fsync(fd) == 0)
		rc = MASH_OK;
out:
	if (close(fd) != 0)
		rc = MASH_ERR_IO;
	return rc;
}

int
mashctl_exit_for(int rc)
{
	switch (rc) {
	case MASH_OK:
		return MASHCTL_EXIT_OK;
	case MASH_ERR_INVAL:
	case MASH_ERR_IO:
	case MASH_ERR_NOT_FOUND:
	case MASH_ERR_PARSE:
	case MASH_ERR_KEY_FORMAT:
	case MASH_ERR_BAD_ID:
	case MASH_ERR_TOO_BIG:
	case MASH_ERR_CONFIG:
		return MASHCTL_EXIT_USAGE;
	default:
		return MASHCTL_EXIT_FAIL;
	}
}

void
mashctl_die(const char *group, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mashctl: %s: ", group);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
mashctl_store_open(const char *group, const char *db, const uint8_t *kek,
                   const char *keyfile, int ro, struct mash_store **st)
{
	const char *file = mash_store_url_file(db);
	struct stat sb;
	int rc, ex = MASHCTL_EXIT_FAIL;

	*st = NULL;
	if (file != NULL && stat(file, &sb) != 0) {
		mashctl_die(group, "%s: no such store", db);
		return MASHCTL_EXIT_USAGE;
	}
	rc = ro ? mash_store_open_ro(db, st) : mash_store_open(db, st);
	if (rc != MASH_OK) {
		mashctl_die(group, "%s: %s", db, mash_strerror(rc));
		return MASHCTL_EXIT_FAIL;
	}
	if (kek == NULL)
		return MASHCTL_EXIT_OK;
	if (!mash_store_is_sealed(*st)) {
		mashctl_die(group,
		            "%s is not encrypted at rest (start mashd with "
		            "store_key_file first); %s not used",
		            db, keyfile);
		goto fail;
	}
	rc = mash_store_unlock(*st, kek);
	if (rc == MASH_OK)
		return MASHCTL_EXIT_OK;
	if (rc == MASH_ERR_DECRYPT) {
		mashctl_die(group, "%s is not the key of store %s", keyfile,
		            db);
		ex = MASHCTL_EXIT_USAGE;
	} else {
		mashctl_die(group, "%s: %s", db, mash_strerror(rc));
	}
fail:
	mash_store_close(*st);
	*st = NULL;
	return ex;
}
