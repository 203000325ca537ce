/*
 * feed_csv.c - CSV back-end over libcsv (RFC 4180 quoting, strict mode).
 * The first record is the header row naming the columns. Records may span
 * physical lines inside quoted fields; the reader feeds libcsv one physical
 * line at a time so that it always knows which line a record started on,
 * and bounds the whole record to MASH_MAX_FEED_LINE bytes (an unterminated
 * quote cannot swallow the rest of the file).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <csv.h>

#include "agents/feed.h"
#include "agents/feed_fmt.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

struct feed_csv {
	struct csv_parser p;
	int p_live;
	int have_header;
	size_t ncols;
	char cols[MASH_FEED_MAX_FIELDS][MASH_FEED_MAX_NAME + 1];
	/* Per-record parse state, filled by the libcsv callbacks. */
	struct mash_feed *f;
	int in_header;
	int row_done;
	size_t nfields;
	int too_many;
	int bad_utf8; /* index + 1 of the first bad cell, 0 if none */
	int header_bad;
	char header_msg[MASH_FEED_MAX_MSG];
};

/* Only '\n' ends a record (a lone '\r' inside a line is data), and '\r'
 * before it is trimmed like a trailing space, so CRLF files read the same. */
static int
csv_is_term(unsigned char c)
{
	return c == '\n';
}

static int
csv_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
parser_reset(struct feed_csv *c)
{
	if (c->p_live) {
		csv_free(&c->p);
		c->p_live = 0;
	}
	if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) !=
	    0)
		return MASH_ERR_NOMEM;
	csv_set_term_func(&c->p, csv_is_term);
	csv_set_space_func(&c->p, csv_is_space);
	c->p_live = 1;
	return MASH_OK;
}

int
feed__csv_new(struct feed_csv **out)
{
	struct feed_csv *c;
	int rc = MASH_ERR_NOMEM;

	*out = NULL;
	c = mash_calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	rc = parser_reset(c);
	if (rc != MASH_OK) {
		mash_free(c);
		goto out;
	}
	*out = c;
out:
	return rc;
}

void
feed__csv_free(struct feed_csv *c)
{
	if (c == NULL)
		return;
	if (c->p_live)
		csv_free(&c->p);
	mash_free(c);
}

int
feed__csv_has_header(const struct feed_csv *c)
{
	return c->have_header;
}

static void
record_reset(struct feed_csv *c, struct mash_feed *f, unsigned long line)
{
	c->f = f;
	c->row_done = 0;
	c->nfields = 0;
	c->too_many = 0;
	c->bad_utf8 = 0;
	c->header_bad = 0;
	c->header_msg[0] = '\0';
	feed__rec_reset(f, line);
}

/* Header cell: a column name, normalised to lower case with '_' for
 * spaces and '-', so "NHS Number" and "nhs_number" name the same column. */
static void
header_cell(struct feed_csv *c, const char *s, size_t len)
{
	char name[MASH_FEED_MAX_NAME + 1];
	size_t i;

	if (c->header_bad)
		return;
	if (c->nfields >= MASH_FEED_MAX_FIELDS) {
		c->header_bad = 1;
		(void)snprintf(c->header_msg, sizeof(c->header_msg),
		               "header has more than %u columns",
		               MASH_FEED_MAX_FIELDS);
		return;
	}
	if (len == 0 || len > MASH_FEED_MAX_NAME) {
		c->header_bad = 1;
		(void)snprintf(c->header_msg, sizeof(c->header_msg),
		               "header column %zu: name empty or over %u bytes",
		               c->nfields + 1, MASH_FEED_MAX_NAME);
		return;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == ' ' || ch == '-')
			ch = '_';
		else if (isalpha(ch) && ch < 0x80)
			ch = (unsigned char)tolower(ch);
		else if (!(isdigit(ch) && ch < 0x80) && ch != '_') {
			c->header_bad = 1;
			(void)snprintf(
			    c->header_msg, sizeof(c->header_msg),
			    "header column %zu: name has a character "
			    "other than letters, digits, '_', '-', ' '",
			    c->nfields + 1);
			return;
		}
		name[i] = (char)ch;
	}
	name[len] = '\0';
	for (i = 0; i < c->nfields; i++) {
		if (strcmp(c->cols[i], name) == 0) {
			c->header_bad = 1;
			(void)snprintf(c->header_msg, sizeof(c->header_msg),
			               "header column '%s' appears twice",
			               name);
			return;
		}
	}
	memcpy(c->cols[c->nfields], name, len + 1);
	c->nfields++;
}

static void
cb_field(void *s, size_t len, void *data)
{
	struct feed_csv *c = data;
	const char *str = s != NULL ? s : "";

	if (s == NULL)
		len = 0;
	if (c->row_done)
		return;
	if (c->in_header) {
		header_cell(c, str, len);
		return;
	}
	if (c->nfields >= c->ncols || c->nfields >= MASH_FEED_MAX_FIELDS) {
		c->too_many = 1;
		c->nfields++;
		return;
	}
	if (!mash_utf8_valid(str, len) && c->bad_utf8 == 0)
		c->bad_utf8 = (int)c->nfields + 1;
	if (feed__rec_add(c->f, c->cols[c->nfields], str, len,
	                  MASH_FEED_T_TEXT) != MASH_OK)
		c->too_many = 1;
	c->nfields++;
}

static void
cb_row(int term, void *data)
{
	struct feed_csv *c = data;

	(void)term;
	c->row_done = 1;
}

/*
 * Read one CSV record (header or data) starting at the current position.
 * MASH_OK when c->row_done, MASH_FEED_EOF, MASH_FEED_AGAIN, or an error for
 * a bad record (err filled, the bad lines consumed).
 */
static int
read_record(struct mash_feed *f, struct feed_csv *c, int follow,
            struct mash_feed_err *err)
{
	const char *buf;
	size_t len, total = 0;
	uint64_t start_pos;
	unsigned long start_lines, line;
	int toolong, started = 0, rc = MASH_ERR_PARSE;
	enum feed__line_st st;

	feed__pos(f, &start_pos, &start_lines);
	line = start_lines + 1;
	record_reset(c, f, line);
	rc = parser_reset(c);
	if (rc != MASH_OK)
		goto out;
	for (;;) {
		st = feed__read_line(f, &buf, &len, &toolong);
		if (st == FEED__LINE_IOERR) {
			feed__err(err, line, NULL, 1, "read error");
			rc = MASH_ERR_IO;
			goto out;
		}
		if (st == FEED__LINE_EOF && !started) {
			rc = MASH_FEED_EOF;
			goto out;
		}
		if (follow && st != FEED__LINE_OK) {
			/* Incomplete record at end of a growing file. */
			rc = feed__rewind(f, start_pos, start_lines);
			if (rc == MASH_OK)
				rc = MASH_FEED_AGAIN;
			goto out;
		}
		if (toolong) {
			feed__err(err, line, NULL, 0, "line exceeds %u bytes",
			          MASH_MAX_FEED_LINE);
			rc = MASH_ERR_TOO_BIG;
			goto out;
		}
		if (!started) {
			size_t i;

			for (i = 0;
			     i < len && csv_is_space((unsigned char)buf[i]);
			     i++)
				;
			if (i == len && st == FEED__LINE_OK) {
				/* Blank line between records: skip it. */
				feed__pos(f, &start_pos, &start_lines);
				line = start_lines + 1;
				record_reset(c, f, line);
				continue;
			}
			if (i == len) {
				rc = MASH_FEED_EOF;
				goto out;
			}
			started = 1;
		}
		total += len + 1;
		if (total > MASH_MAX_FEED_LINE) {
			feed__err(err, line, NULL, 0,
			          "record exceeds %u bytes (unterminated "
			          "quoted field?)",
			          MASH_MAX_FEED_LINE);
			rc = MASH_ERR_TOO_BIG;
			goto out;
		}
		if (csv_parse(&c->p, buf, len, cb_field, cb_row, c) != len) {
			feed__err(err, line, NULL, 0,
			          "malformed CSV quoting (%s)",
			          csv_strerror(csv_error(&c->p)));
			rc = MASH_ERR_PARSE;
			goto out;
		}
		if (st == FEED__LINE_OK) {
			if (csv_parse(&c->p, "\n", 1, cb_field, cb_row, c) !=
			    1) {
				feed__err(err, line, NULL, 0,
				          "malformed CSV quoting (%s)",
				          csv_strerror(csv_error(&c->p)));
				rc = MASH_ERR_PARSE;
				goto out;
			}
			if (c->row_done)
				break;
			continue;
		}
		/* End of file without a final newline (not follow mode). */
		if (csv_fini(&c->p, cb_field, cb_row, c) != 0) {
			feed__err(err, line, NULL, 0,
			          "unterminated quoted field at end of file");
			rc = MASH_ERR_PARSE;
			goto out;
		}
		if (!c->row_done) {
			rc = MASH_FEED_EOF;
			goto out;
		}
		break;
	}
	rc = MASH_OK;
out:
	return rc;
}

int
feed__csv_header(struct mash_feed *f, struct feed_csv *c, int follow,
                 struct mash_feed_err *err)
{
	int rc;

	c->in_header = 1;
	rc = read_record(f, c, follow, err);
	c->in_header = 0;
	if (rc == MASH_FEED_EOF && !follow) {
		feed__err(err, 1, NULL, 1, "no header row");
		rc = MASH_ERR_PARSE;
		goto out;
	}
	if (rc == MASH_FEED_EOF || rc == MASH_FEED_AGAIN)
		goto out;
	if (rc != MASH_OK) {
		err->fatal = 1;
		goto out;
	}
	if (c->header_bad) {
		feed__err(err, feed__rec(f)->line, NULL, 1, "%s",
		          c->header_msg);
		rc = MASH_ERR_PARSE;
		goto out;
	}
	c->ncols = c->nfields;
	c->have_header = 1;
	rc = MASH_OK;
out:
	return rc;
}

int
feed__csv_next(struct mash_feed *f, struct feed_csv *c, int follow,
               struct mash_feed_err *err)
{
	int rc;

	rc = read_record(f, c, follow, err);
	if (rc != MASH_OK)
		goto out;
	if (c->too_many || c->nfields != c->ncols) {
		feed__err(err, feed__rec(f)->line, NULL, 0,
		          "record has %zu fields, header has %zu", c->nfields,
		          c->ncols);
		rc = MASH_ERR_PARSE;
		goto out;
	}
	if (c->bad_utf8 != 0) {
		feed__err(err, feed__rec(f)->line, c->cols[c->bad_utf8 - 1], 0,
		          "not valid UTF-8 or contains NUL");
		rc = MASH_ERR_BAD_UTF8;
		goto out;
	}
out:
	return rc;
}
