/* Unit tests for agents/feed*: CSV (libcsv) and JSON lines (jansson)
 * readers: records, line numbers, quoting, bounds, bad lines reported and
 * skipped, follow mode and restart positions. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agents/feed.h"
#include "common/err.h"
#include "common/mem.h"

/* Read every record of a buffer; record what happened per call in a
 * compact trace: "OK@2 ERR@3 ..." and keep the last record's value of
 * `col` in out_val. */
struct trace {
	char text[4096];
	int ok, bad;
	unsigned long bad_lines[32];
	char last_msg[MASH_FEED_MAX_MSG];
	char last_field[MASH_FEED_MAX_NAME + 1];
	int fatal;
};

static void
run(const char *buf, size_t len, enum mash_feed_format fmt, struct trace *t)
{
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *rec;
	struct mash_feed_err err;
	int rc, guard = 0;
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(mash_feed_open_mem(buf, len, fmt, "t", &f), MASH_OK);
	for (;;) {
		ck_assert_int_lt(guard++, 100000);
		rc = mash_feed_next(f, 0, &rec, &err);
		if (rc == MASH_FEED_EOF)
			break;
		if (rc == MASH_OK) {
			t->ok++;
			n += (size_t)snprintf(t->text + n, sizeof(t->text) - n,
			                      "OK@%lu ", rec->line);
			continue;
		}
		ck_assert_int_lt(rc, 0);
		if (t->bad < 32)
			t->bad_lines[t->bad] = err.line;
		t->bad++;
		memcpy(t->last_msg, err.msg, sizeof(err.msg));
		memcpy(t->last_field, err.field, sizeof(err.field));
		n += (size_t)snprintf(t->text + n, sizeof(t->text) - n,
		                      "ERR@%lu ", err.line);
		if (err.fatal) {
			t->fatal = 1;
			break;
		}
	}
	mash_feed_free(f);
}

static const char *
val(const struct mash_feed_rec *r, const char *name)
{
	const struct mash_feed_field *f = mash_feed_get(r, name);

	return f != NULL ? f->value : NULL;
}

START_TEST(csv_header_names_columns_of_each_record)
{
	static const char in[] = "occurrence_ref,category,severity\n"
	                         "OCC-1,MISSING_EPISODE,2\n"
	                         "OCC-2,SEXUAL_EXPLOITATION,3\n";
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;

	ck_assert_int_eq(
	    mash_feed_open_mem(in, strlen(in), MASH_FEED_CSV, "police.csv", &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_uint_eq(r->line, 2);
	ck_assert_uint_eq(r->nfields, 3);
	ck_assert_str_eq(val(r, "occurrence_ref"), "OCC-1");
	ck_assert_str_eq(val(r, "category"), "MISSING_EPISODE");
	ck_assert_int_eq(mash_feed_get(r, "severity")->type, MASH_FEED_T_TEXT);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_uint_eq(r->line, 3);
	ck_assert_str_eq(val(r, "severity"), "3");
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_FEED_EOF);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(mash_feed_name(f), "police.csv");
	mash_feed_free(f);
}
END_TEST

START_TEST(csv_quoted_field_with_embedded_newline_keeps_start_line)
{
	static const char in[] = "ref,summary\n"
	                         "A,\"line one\nline two, with comma\nthree\"\n"
	                         "B,plain\n";
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;

	ck_assert_int_eq(
	    mash_feed_open_mem(in, strlen(in), MASH_FEED_CSV, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_uint_eq(r->line, 2);
	ck_assert_str_eq(val(r, "summary"),
	                 "line one\nline two, with comma\nthree");
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_uint_eq(r->line, 5);
	ck_assert_str_eq(val(r, "ref"), "B");
	mash_feed_free(f);
}
END_TEST

START_TEST(csv_doubled_quotes_and_crlf_are_rfc4180)
{
	static const char in[] = "ref,summary\r\n"
	                         "A,\"said \"\"leave me\"\" and ran\"\r\n"
	                         "B,  spaced  \r\n";
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;

	ck_assert_int_eq(
	    mash_feed_open_mem(in, strlen(in), MASH_FEED_CSV, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "summary"), "said \"leave me\" and ran");
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "summary"), "spaced");
	ck_assert_uint_eq(r->line, 3);
	mash_feed_free(f);
}
END_TEST

START_TEST(csv_blank_lines_are_skipped_and_counted)
{
	static const char in[] = "ref,x\n\nA,1\n   \n\nB,2\n";
	struct trace t;

	run(in, strlen(in), MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "OK@3 OK@6 ");
}
END_TEST

START_TEST(csv_wrong_field_count_is_reported_and_feed_goes_on)
{
	static const char in[] = "ref,a,b\nA,1,2\nB,1\nC,1,2,3\nD,1,2\n";
	struct trace t;

	run(in, strlen(in), MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "OK@2 ERR@3 ERR@4 OK@5 ");
	ck_assert_str_eq(t.last_msg, "record has 4 fields, header has 3");
}
END_TEST

START_TEST(csv_malformed_quote_is_reported_and_feed_goes_on)
{
	static const char in[] = "ref,a\nA,ab\"c\nB,\"x\"y\nC,ok\n";
	struct trace t;

	run(in, strlen(in), MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "ERR@2 ERR@3 OK@4 ");
	ck_assert_ptr_nonnull(strstr(t.last_msg, "malformed CSV quoting"));
}
END_TEST

START_TEST(csv_overlong_line_is_rejected_and_next_line_read)
{
	size_t big = MASH_MAX_FEED_LINE + 10, n;
	char *in = malloc(big + 64);
	struct trace t;

	ck_assert_ptr_nonnull(in);
	n = (size_t)snprintf(in, 64, "ref,a\nA,");
	memset(in + n, 'x', big);
	n += big;
	memcpy(in + n, "\nB,1\n", 5);
	n += 5;
	run(in, n, MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "ERR@2 OK@3 ");
	ck_assert_ptr_nonnull(strstr(t.last_msg, "line exceeds 65536 bytes"));
	free(in);
}
END_TEST

START_TEST(csv_line_of_exactly_max_bytes_is_read)
{
	size_t n;
	char *in = malloc(MASH_MAX_FEED_LINE + 64);
	struct trace t;

	ck_assert_ptr_nonnull(in);
	n = (size_t)snprintf(in, 64, "ref,a\n");
	memcpy(in + n, "A,", 2);
	memset(in + n + 2, 'x', MASH_MAX_FEED_LINE - 3);
	n += MASH_MAX_FEED_LINE - 1;
	in[n++] = '\n';
	run(in, n, MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "OK@2 ");
	free(in);
}
END_TEST

START_TEST(csv_unterminated_quote_cannot_swallow_the_file)
{
	/* Many lines after an opening quote: the record bound stops it. */
	size_t cap = 3 * MASH_MAX_FEED_LINE, n, i;
	char *in = malloc(cap);
	struct trace t;

	ck_assert_ptr_nonnull(in);
	n = (size_t)snprintf(in, cap, "ref,a\nA,\"open\n");
	for (i = 0; n + 1100 < 2 * MASH_MAX_FEED_LINE; i++) {
		memset(in + n, 'y', 1000);
		n += 1000;
		in[n++] = '\n';
	}
	memcpy(in + n, "B,1\n", 4);
	n += 4;
	run(in, n, MASH_FEED_CSV, &t);
	ck_assert_int_ge(t.bad, 1);
	ck_assert_uint_eq(t.bad_lines[0], 2);
	ck_assert_int_eq(t.ok >= 1, 1); /* B,1 still read */
	free(in);
}
END_TEST

START_TEST(csv_unterminated_quote_at_end_of_file_is_reported)
{
	static const char in[] = "ref,a\nA,1\nB,\"never closed\n";
	struct trace t;

	run(in, strlen(in), MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "OK@2 ERR@3 ");
	ck_assert_ptr_nonnull(strstr(t.last_msg, "unterminated"));
}
END_TEST

START_TEST(csv_last_record_without_newline_is_read)
{
	static const char in[] = "ref,a\nA,1\nB,2";
	struct trace t;

	run(in, strlen(in), MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "OK@2 OK@3 ");
}
END_TEST

static const struct {
	const char *in;
	const char *why;
} bad_headers[] = {
    {"", "no header row"},
    {"ref,a,ref\nA,1,2\n", "appears twice"},
    {"ref,,a\n", "name empty"},
    {"ref,a$b\n", "character other than"},
};

START_TEST(csv_bad_header_is_fatal)
{
	struct trace t;

	run(bad_headers[_i].in, strlen(bad_headers[_i].in), MASH_FEED_CSV, &t);
	ck_assert_int_eq(t.fatal, 1);
	ck_assert_int_eq(t.ok, 0);
	ck_assert_uint_eq(t.bad_lines[0], 1);
	ck_assert_ptr_nonnull(strstr(t.last_msg, bad_headers[_i].why));
}
END_TEST

START_TEST(csv_header_is_normalised_and_bom_stripped)
{
	static const char in[] = "\xef\xbb\xbfOccurrence Ref,NHS-Number\nA,1\n";
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;

	ck_assert_int_eq(
	    mash_feed_open_mem(in, strlen(in), MASH_FEED_CSV, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "occurrence_ref"), "A");
	ck_assert_str_eq(val(r, "nhs_number"), "1");
	mash_feed_free(f);
}
END_TEST

START_TEST(csv_invalid_utf8_cell_is_rejected_naming_the_column)
{
	static const char in[] = "ref,summary\nA,caf\xc3\nB,caf\xc3\xa9\n";
	struct trace t;

	run(in, strlen(in), MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "ERR@2 OK@3 ");
	ck_assert_str_eq(t.last_field, "summary");
}
END_TEST

START_TEST(csv_embedded_nul_is_rejected)
{
	static const char in[] = "ref,summary\nA,a\0b\nB,c\n";
	struct trace t;

	run(in, sizeof(in) - 1, MASH_FEED_CSV, &t);
	ck_assert_str_eq(t.text, "ERR@2 OK@3 ");
}
END_TEST

START_TEST(csv_too_many_columns_in_header_is_fatal)
{
	char in[4096];
	size_t n = 0, i;
	struct trace t;

	for (i = 0; i < MASH_FEED_MAX_FIELDS + 1; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "c%zu,", i);
	in[n - 1] = '\n';
	run(in, n, MASH_FEED_CSV, &t);
	ck_assert_int_eq(t.fatal, 1);
	ck_assert_ptr_nonnull(strstr(t.last_msg, "more than 64 columns"));
}
END_TEST

/* Write, read, append, read again: follow mode over a real file. */
START_TEST(csv_follow_waits_for_a_record_to_be_complete)
{
	char path[] = "/tmp/mash-feed-XXXXXX";
	int fd = mkstemp(path);
	FILE *w;
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;

	ck_assert_int_ge(fd, 0);
	w = fdopen(fd, "w");
	fputs("ref,summary\nA,1\nB,\"half", w);
	fflush(w);
	ck_assert_int_eq(mash_feed_open(path, MASH_FEED_CSV, NULL, &f),
	                 MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "ref"), "A");
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_FEED_AGAIN);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_FEED_AGAIN);
	fputs(" done\"\nC,3", w);
	fflush(w);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "summary"), "half done");
	ck_assert_uint_eq(r->line, 3);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_FEED_AGAIN);
	fputs("\n", w);
	fflush(w);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "ref"), "C");
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_FEED_EOF);
	mash_feed_free(f);
	fclose(w);
	unlink(path);
}
END_TEST

START_TEST(csv_follow_on_empty_file_waits_for_header)
{
	char path[] = "/tmp/mash-feed-XXXXXX";
	int fd = mkstemp(path);
	FILE *w;
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;

	ck_assert_int_ge(fd, 0);
	w = fdopen(fd, "w");
	ck_assert_int_eq(mash_feed_open(path, MASH_FEED_CSV, NULL, &f),
	                 MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_FEED_EOF);
	fputs("ref,a\nA,1\n", w);
	fflush(w);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "a"), "1");
	mash_feed_free(f);
	fclose(w);
	unlink(path);
}
END_TEST

START_TEST(tell_and_seek_resume_after_a_restart)
{
	static const char csv[] =
	    "ref,a\nA,1\n\"B\",\"two\nlines\"\nC,3\nD,4\n";
	static const char js[] = "{\"a\":1}\n{\"a\":2}\n\n{\"a\":3}\n";
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;
	uint64_t off;
	unsigned long lines;

	ck_assert_int_eq(
	    mash_feed_open_mem(csv, strlen(csv), MASH_FEED_CSV, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	mash_feed_tell(f, &off, &lines);
	ck_assert_uint_eq(lines, 4);
	mash_feed_free(f);
	ck_assert_int_eq(
	    mash_feed_open_mem(csv, strlen(csv), MASH_FEED_CSV, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_seek(f, off, lines), MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "ref"), "C");
	ck_assert_uint_eq(r->line, 5);
	ck_assert_int_eq(mash_feed_seek(f, 100000, 1), MASH_ERR_IO);
	mash_feed_free(f);

	ck_assert_int_eq(
	    mash_feed_open_mem(js, strlen(js), MASH_FEED_JSONL, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	mash_feed_tell(f, &off, &lines);
	mash_feed_free(f);
	ck_assert_int_eq(
	    mash_feed_open_mem(js, strlen(js), MASH_FEED_JSONL, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_seek(f, off, lines), MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "a"), "2");
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_uint_eq(r->line, 4);
	mash_feed_free(f);
}
END_TEST

START_TEST(json_members_keep_their_types)
{
	static const char in[] =
	    "{\"s\":\"x\",\"i\":42,\"r\":1.5,\"b\":true,\"n\":null,"
	    "\"a\":[1],\"o\":{\"k\":1}}\n";
	static const struct {
		const char *name;
		enum mash_feed_type type;
		const char *value;
	} want[] = {
	    {"s", MASH_FEED_T_STRING, "x"}, {"i", MASH_FEED_T_INTEGER, "42"},
	    {"r", MASH_FEED_T_REAL, "1.5"}, {"b", MASH_FEED_T_BOOL, "true"},
	    {"n", MASH_FEED_T_NULL, ""},    {"a", MASH_FEED_T_ARRAY, ""},
	    {"o", MASH_FEED_T_OBJECT, ""},
	};
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;
	size_t i;

	ck_assert_int_eq(
	    mash_feed_open_mem(in, strlen(in), MASH_FEED_JSONL, NULL, &f),
	    MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 0, &r, &err), MASH_OK);
	ck_assert_uint_eq(r->line, 1);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct mash_feed_field *fld =
		    mash_feed_get(r, want[i].name);

		ck_assert_ptr_nonnull(fld);
		ck_assert_int_eq(fld->type, want[i].type);
		ck_assert_str_eq(fld->value, want[i].value);
	}
	mash_feed_free(f);
}
END_TEST

static const struct {
	const char *in;
	size_t len;
	const char *trace;
	const char *why;
} json_bad[] = {
    {"{\"a\":1}\n{\"a\":\n{\"a\":3}\n", 0, "OK@1 ERR@2 OK@3 ",
     "not valid JSON"},
    {"[1,2]\n{\"a\":1}\n", 0, "ERR@1 OK@2 ", "not a JSON object"},
    {"\"str\"\n", 0, "ERR@1 ", "not a JSON object"},
    {"{\"a\":1,\"a\":2}\n", 0, "ERR@1 ", "duplicate"},
    {"{\"a\":\"x\\u0000y\"}\n{\"a\":1}\n", 0, "ERR@1 OK@2 ", "not valid JSON"},
    {"{\"a\":\"\xff\"}\n", 0, "ERR@1 ", "not valid JSON"},
    {"\n\n  \n{\"a\":1}\n\n", 0, "OK@4 ", ""},
    {"{\"a\":1} trailing\n", 0, "ERR@1 ", "not valid JSON"},
    {"{\"a\":1}", 0, "OK@1 ", ""},
};

START_TEST(json_bad_lines_are_reported_with_line_and_skipped)
{
	struct trace t;

	run(json_bad[_i].in, strlen(json_bad[_i].in), MASH_FEED_JSONL, &t);
	ck_assert_str_eq(t.text, json_bad[_i].trace);
	ck_assert_ptr_nonnull(strstr(t.last_msg, json_bad[_i].why));
	ck_assert_int_eq(t.fatal, 0);
}
END_TEST

START_TEST(json_overlong_line_is_rejected_and_next_line_read)
{
	size_t big = MASH_MAX_FEED_LINE + 1, n;
	char *in = malloc(big + 64);
	struct trace t;

	ck_assert_ptr_nonnull(in);
	n = (size_t)snprintf(in, 64, "{\"a\":\"");
	memset(in + n, 'x', big);
	n += big;
	memcpy(in + n, "\"}\n{\"a\":1}\n", 11);
	n += 11;
	run(in, n, MASH_FEED_JSONL, &t);
	ck_assert_str_eq(t.text, "ERR@1 OK@2 ");
	free(in);
}
END_TEST

START_TEST(json_too_many_members_is_rejected)
{
	char in[8192];
	size_t n = 0, i;
	struct trace t;

	n += (size_t)snprintf(in + n, sizeof(in) - n, "{");
	for (i = 0; i < MASH_FEED_MAX_FIELDS + 1; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, "%s\"k%zu\":1",
		                      i ? "," : "", i);
	n += (size_t)snprintf(in + n, sizeof(in) - n, "}\n");
	run(in, n, MASH_FEED_JSONL, &t);
	ck_assert_str_eq(t.text, "ERR@1 ");
	ck_assert_ptr_nonnull(strstr(t.last_msg, "more than 64 members"));
}
END_TEST

START_TEST(json_follow_waits_for_the_newline)
{
	char path[] = "/tmp/mash-feed-XXXXXX";
	int fd = mkstemp(path);
	FILE *w;
	struct mash_feed *f = NULL;
	const struct mash_feed_rec *r;
	struct mash_feed_err err;

	ck_assert_int_ge(fd, 0);
	w = fdopen(fd, "w");
	fputs("{\"a\":1}\n{\"a\":", w);
	fflush(w);
	ck_assert_int_eq(mash_feed_open(path, MASH_FEED_JSONL, NULL, &f),
	                 MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_OK);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_FEED_AGAIN);
	fputs("2}\n", w);
	fflush(w);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_OK);
	ck_assert_str_eq(val(r, "a"), "2");
	ck_assert_uint_eq(r->line, 2);
	ck_assert_int_eq(mash_feed_next(f, 1, &r, &err), MASH_FEED_EOF);
	mash_feed_free(f);
	fclose(w);
	unlink(path);
}
END_TEST

START_TEST(format_is_guessed_from_the_file_name)
{
	enum mash_feed_format fmt;

	ck_assert_int_eq(mash_feed_format_from_name("a/police.csv", &fmt),
	                 MASH_OK);
	ck_assert_int_eq(fmt, MASH_FEED_CSV);
	ck_assert_int_eq(mash_feed_format_from_name("sc.jsonl", &fmt), MASH_OK);
	ck_assert_int_eq(fmt, MASH_FEED_JSONL);
	ck_assert_int_eq(mash_feed_format_from_name("x.ndjson", &fmt), MASH_OK);
	ck_assert_int_eq(mash_feed_format_from_name("x.txt", &fmt),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(mash_feed_open("/nonexistent/x.csv", MASH_FEED_CSV,
	                                NULL, &(struct mash_feed *){NULL}),
	                 MASH_ERR_IO);
}
END_TEST

/* Bit flips and truncations of a good feed: the reader always
 * terminates, never crashes, and every call is OK, EOF or a reported
 * error with a line number inside the input. */
START_TEST(bit_flips_and_truncations_never_crash)
{
	static const char good_csv[] =
	    "occurrence_ref,category,summary\n"
	    "OCC-1,MISSING_EPISODE,\"ran away, found\nnext day\"\n"
	    "OCC-2,SEXUAL_EXPLOITATION,plain\n";
	static const char good_json[] =
	    "{\"occurrence_ref\":\"OCC-1\",\"severity\":2,\"x\":[1]}\n"
	    "{\"occurrence_ref\":\"OCC-2\",\"severity\":3}\n";
	const char *src = _i == 0 ? good_csv : good_json;
	enum mash_feed_format fmt = _i == 0 ? MASH_FEED_CSV : MASH_FEED_JSONL;
	size_t len = strlen(src), pos, bit;
	char buf[256];
	struct trace t;

	for (pos = 0; pos < len; pos++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(buf, src, len);
			buf[pos] = (char)(buf[pos] ^ (1 << bit));
			run(buf, len, fmt, &t);
			ck_assert_int_le(t.ok + t.bad, 8);
		}
		run(src, pos, fmt, &t);
	}
}
END_TEST

static Suite *
feed_suite(void)
{
	Suite *s = suite_create("feed");
	TCase *tc = tcase_create("csv");
	TCase *tj = tcase_create("json");

	tcase_add_test(tc, csv_header_names_columns_of_each_record);
	tcase_add_test(tc,
	               csv_quoted_field_with_embedded_newline_keeps_start_line);
	tcase_add_test(tc, csv_doubled_quotes_and_crlf_are_rfc4180);
	tcase_add_test(tc, csv_blank_lines_are_skipped_and_counted);
	tcase_add_test(tc, csv_wrong_field_count_is_reported_and_feed_goes_on);
	tcase_add_test(tc, csv_malformed_quote_is_reported_and_feed_goes_on);
	tcase_add_test(tc, csv_overlong_line_is_rejected_and_next_line_read);
	tcase_add_test(tc, csv_line_of_exactly_max_bytes_is_read);
	tcase_add_test(tc, csv_unterminated_quote_cannot_swallow_the_file);
	tcase_add_test(tc, csv_unterminated_quote_at_end_of_file_is_reported);
	tcase_add_test(tc, csv_last_record_without_newline_is_read);
	tcase_add_loop_test(tc, csv_bad_header_is_fatal, 0,
	                    sizeof(bad_headers) / sizeof(bad_headers[0]));
	tcase_add_test(tc, csv_header_is_normalised_and_bom_stripped);
	tcase_add_test(tc, csv_invalid_utf8_cell_is_rejected_naming_the_column);
	tcase_add_test(tc, csv_embedded_nul_is_rejected);
	tcase_add_test(tc, csv_too_many_columns_in_header_is_fatal);
	tcase_add_test(tc, csv_follow_waits_for_a_record_to_be_complete);
	tcase_add_test(tc, csv_follow_on_empty_file_waits_for_header);
	tcase_add_test(tc, tell_and_seek_resume_after_a_restart);
	tcase_add_test(tc, format_is_guessed_from_the_file_name);
	tcase_add_loop_test(tc, bit_flips_and_truncations_never_crash, 0, 2);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tj, json_members_keep_their_types);
	tcase_add_loop_test(tj,
	                    json_bad_lines_are_reported_with_line_and_skipped,
	                    0, sizeof(json_bad) / sizeof(json_bad[0]));
	tcase_add_test(tj, json_overlong_line_is_rejected_and_next_line_read);
	tcase_add_test(tj, json_too_many_members_is_rejected);
	tcase_add_test(tj, json_follow_waits_for_the_newline);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tj);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(feed_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
