/*
 * feed.c - the feed reader core: bounded physical-line reading with a
 * position that survives restarts, the record arena shared by both formats,
 * and the dispatch to the JSON-lines and CSV back-ends.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "agents/feed.h"
#include "agents/feed_fmt.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

/* Arena for one record: names and values of at most MASH_MAX_FEED_LINE
 * bytes of input, plus the decimal text of JSON numbers and NULs. */
#define FEED_ARENA (2u * MASH_MAX_FEED_LINE + MASH_FEED_MAX_FIELDS * 64u)

struct mash_feed {
	FILE *fp;
	char *name;
	enum mash_feed_format fmt;
	uint64_t pos;        /* byte offset of the next unread byte */
	unsigned long lines; /* physical lines consumed */
	char *line;          /* MASH_MAX_FEED_LINE + 1 */
	char *arena;         /* FEED_ARENA */
	size_t arena_used;
	struct mash_feed_rec rec;
	struct feed_csv *csv;
	int seek_pending;
	uint64_t seek_pos;
	unsigned long seek_lines;
};

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static int
feed_new(FILE *fp, enum mash_feed_format fmt, const char *name,
         struct mash_feed **out)
{
	struct mash_feed *f = NULL;
	int rc = MASH_ERR_NOMEM;

	f = mash_calloc(1, sizeof(*f));
	if (f == NULL)
		goto out;
	f->fmt = fmt;
	f->name = mash_strdup(name);
	f->line = mash_malloc(MASH_MAX_FEED_LINE + 1);
	f->arena = mash_malloc(FEED_ARENA);
	if (f->name == NULL || f->line == NULL || f->arena == NULL)
		goto out;
	if (fmt == MASH_FEED_CSV) {
		rc = feed__csv_new(&f->csv);
		if (rc != MASH_OK)
			goto out;
	}
	f->fp = fp;
	*out = f;
	f = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_feed_free(f);
	return rc;
}

int
mash_feed_open(const char *path, enum mash_feed_format fmt, const char *name,
               struct mash_feed **out)
{
	FILE *fp = NULL;
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL ||
	    (fmt != MASH_FEED_JSONL && fmt != MASH_FEED_CSV))
		goto out;
	fp = fopen(path, "rb");
	if (fp == NULL) {
		rc = MASH_ERR_IO;
		goto out;
	}
	rc = feed_new(fp, fmt, name != NULL ? name : base_name(path), out);
	if (rc == MASH_OK)
		fp = NULL; /* transferred */
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}

int
mash_feed_open_mem(const void *buf, size_t len, enum mash_feed_format fmt,
                   const char *name, struct mash_feed **out)
{
	FILE *fp = NULL;
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		*out = NULL;
	if ((buf == NULL && len > 0) || out == NULL ||
	    (fmt != MASH_FEED_JSONL && fmt != MASH_FEED_CSV))
		goto out;
	/* A temporary file rather than fmemopen: the copy is ours and
	 * fseeko behaves like on a real feed file. */
	fp = tmpfile();
	if (fp == NULL) {
		rc = MASH_ERR_IO;
		goto out;
	}
	if ((len > 0 && fwrite(buf, 1, len, fp) != len) || fflush(fp) != 0 ||
	    fseeko(fp, 0, SEEK_SET) != 0) {
		rc = MASH_ERR_IO;
		goto out;
	}
	rc = feed_new(fp, fmt, name != NULL ? name : "feed", out);
	if (rc == MASH_OK)
		fp = NULL; /* transferred */
out:
	if (fp != NULL)
		fclose(fp);
	return rc;
}

void
mash_feed_free(struct mash_feed *f)
{
	if (f == NULL)
		return;
	if (f->fp != NULL)
		fclose(f->fp);
	feed__csv_free(f->csv);
	mash_free(f->name);
	mash_free_secret(f->line, MASH_MAX_FEED_LINE + 1);
	mash_free_secret(f->arena, FEED_ARENA);
	mash_free(f);
}

const char *
mash_feed_name(const struct mash_feed *f)
{
	return f != NULL && f->name != NULL ? f->name : "feed";
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int
mash_feed_format_from_name(const char *path, enum mash_feed_format *out)
{
	if (path == NULL || out == NULL)
		return MASH_ERR_INVAL;
	if (has_suffix(path, ".csv") || has_suffix(path, ".CSV")) {
		*out = MASH_FEED_CSV;
		return MASH_OK;
	}
	if (has_suffix(path, ".jsonl") || has_suffix(path, ".json") ||
	    has_suffix(path, ".ndjson")) {
		*out = MASH_FEED_JSONL;
		return MASH_OK;
	}
	return MASH_ERR_INVAL;
}

enum feed__line_st
feed__read_line(struct mash_feed *f, const char **buf, size_t *len,
                int *toolong)
{
	size_t n = 0;
	uint64_t consumed = 0;
	int c, over = 0;

	*buf = f->line;
	*len = 0;
	*toolong = 0;
	clearerr(f->fp);
	for (;;) {
		c = getc(f->fp);
		if (c == EOF)
			break;
		consumed++;
		if (c == '\n')
			break;
		if (n < MASH_MAX_FEED_LINE)
			f->line[n++] = (char)c;
		else
			over = 1;
	}
	if (ferror(f->fp))
		return FEED__LINE_IOERR;
	f->line[n] = '\0';
	/* Spreadsheet exports often start with a UTF-8 byte order mark. */
	if (f->pos == 0 && n >= 3 && memcmp(f->line, "\xef\xbb\xbf", 3) == 0) {
		memmove(f->line, f->line + 3, n - 2);
		n -= 3;
	}
	f->pos += consumed;
	if (consumed == 0)
		return FEED__LINE_EOF;
	*toolong = over;
	*len = over ? 0 : n;
	if (over)
		f->line[0] = '\0';
	if (c != '\n')
		return FEED__LINE_PARTIAL;
	f->lines++;
	return FEED__LINE_OK;
}

void
feed__pos(const struct mash_feed *f, uint64_t *pos, unsigned long *lines)
{
	*pos = f->pos;
	*lines = f->lines;
}

int
feed__rewind(struct mash_feed *f, uint64_t pos, unsigned long lines)
{
	if (fseeko(f->fp, (off_t)pos, SEEK_SET) != 0)
		return MASH_ERR_IO;
	clearerr(f->fp);
	f->pos = pos;
	f->lines = lines;
	return MASH_OK;
}

void
feed__rec_reset(struct mash_feed *f, unsigned long line)
{
	f->rec.line = line;
	f->rec.nfields = 0;
	f->arena_used = 0;
}

static const char *
arena_copy(struct mash_feed *f, const char *s, size_t n)
{
	char *p;

	if (n >= FEED_ARENA - f->arena_used)
		return NULL;
	p = f->arena + f->arena_used;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	f->arena_used += n + 1;
	return p;
}

int
feed__rec_add(struct mash_feed *f, const char *name, const char *val,
              size_t len, enum mash_feed_type type)
{
	struct mash_feed_field *fld;
	const char *n, *v;

	if (f->rec.nfields >= MASH_FEED_MAX_FIELDS)
		return MASH_ERR_TOO_BIG;
	n = arena_copy(f, name, strlen(name));
	v = arena_copy(f, val != NULL ? val : "", val != NULL ? len : 0);
	if (n == NULL || v == NULL)
		return MASH_ERR_TOO_BIG;
	fld = &f->rec.fields[f->rec.nfields++];
	fld->name = n;
	fld->value = v;
	fld->len = val != NULL ? len : 0;
	fld->type = type;
	return MASH_OK;
}

size_t
feed__rec_nfields(const struct mash_feed *f)
{
	return f->rec.nfields;
}

const struct mash_feed_rec *
feed__rec(const struct mash_feed *f)
{
	return &f->rec;
}

void
feed__err(struct mash_feed_err *err, unsigned long line, const char *field,
          int fatal, const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	err->line = line;
	err->fatal = fatal;
	if (field != NULL)
		(void)mash_strlcpy(err->field, field, sizeof(err->field));
	va_start(ap, fmt);
	/* Truncation of a reason is harmless; the line number is kept. */
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

int
mash_feed_next(struct mash_feed *f, int follow,
               const struct mash_feed_rec **rec, struct mash_feed_err *err)
{
	int rc = MASH_ERR_INVAL;

	if (rec != NULL)
		*rec = NULL;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (f == NULL || rec == NULL || err == NULL)
		goto out;
	if (f->fmt == MASH_FEED_CSV && !feed__csv_has_header(f->csv)) {
		rc = feed__csv_header(f, f->csv, follow, err);
		if (rc != MASH_OK)
			goto out;
	}
	if (f->seek_pending) {
		uint64_t pos;
		unsigned long lines;

		f->seek_pending = 0;
		feed__pos(f, &pos, &lines);
		/* A saved position inside the header means: start after it. */
		if (f->seek_pos > pos) {
			rc = feed__rewind(f, f->seek_pos, f->seek_lines);
			if (rc != MASH_OK) {
				feed__err(err, 0, NULL, 1,
				          "cannot seek to %llu",
				          (unsigned long long)f->seek_pos);
				goto out;
			}
		}
	}
	if (f->fmt == MASH_FEED_CSV)
		rc = feed__csv_next(f, f->csv, follow, err);
	else
		rc = feed__json_next(f, follow, err);
	if (rc == MASH_OK)
		*rec = &f->rec;
out:
	return rc;
}

void
mash_feed_tell(const struct mash_feed *f, uint64_t *offset,
               unsigned long *lines)
{
	*offset = f->pos;
	*lines = f->lines;
}

int
mash_feed_seek(struct mash_feed *f, uint64_t offset, unsigned long lines)
{
	struct stat st;

	if (f == NULL)
		return MASH_ERR_INVAL;
	if (fstat(fileno(f->fp), &st) != 0)
		return MASH_ERR_IO;
	if ((uint64_t)st.st_size < offset)
		return MASH_ERR_IO;
	f->seek_pending = 1;
	f->seek_pos = offset;
	f->seek_lines = lines;
	if (f->fmt == MASH_FEED_JSONL) {
		f->seek_pending = 0;
		return feed__rewind(f, offset, lines);
	}
	return MASH_OK;
}

const struct mash_feed_field *
mash_feed_get(const struct mash_feed_rec *rec, const char *name)
{
	size_t i;

	if (rec == NULL || name == NULL)
		return NULL;
	for (i = 0; i < rec->nfields; i++) {
		if (strcmp(rec->fields[i].name, name) == 0)
			return &rec->fields[i];
	}
	return NULL;
}

const char *
mash_feed_type_name(enum mash_feed_type t)
{
	switch (t) {
	case MASH_FEED_T_TEXT:
		return "text";
	case MASH_FEED_T_STRING:
		return "string";
	case MASH_FEED_T_INTEGER:
		return "integer";
	case MASH_FEED_T_REAL:
		return "number";
	case MASH_FEED_T_BOOL:
		return "boolean";
	case MASH_FEED_T_NULL:
		return "null";
	case MASH_FEED_T_ARRAY:
		return "array";
	case MASH_FEED_T_OBJECT:
		return "object";
	}
	return "unknown";
}
