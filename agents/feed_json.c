/*
 * feed_json.c - JSON lines back-end: one JSON object per physical line,
 * parsed with jansson's json_loadb bounded by MASH_MAX_FEED_LINE. Members
 * become fields; strings, numbers, booleans and null keep their type,
 * arrays and objects are recorded as such (with no value) so that the
 * mapping can reject them with a clear "wrong type" reason.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "agents/feed.h"
#include "agents/feed_fmt.h"
#include "common/err.h"
#include "common/str.h"

static int
is_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	}
	return 1;
}

static int
add_member(struct mash_feed *f, const char *key, json_t *v,
           struct mash_feed_err *err, unsigned long line)
{
	char num[64];
	const char *val = "";
	size_t len = 0;
	enum mash_feed_type type;
	int rc;

	switch (json_typeof(v)) {
	case JSON_STRING:
		type = MASH_FEED_T_STRING;
		val = json_string_value(v);
		len = json_string_length(v);
		break;
	case JSON_INTEGER:
		type = MASH_FEED_T_INTEGER;
		(void)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		               json_integer_value(v));
		val = num;
		len = strlen(num);
		break;
	case JSON_REAL:
		type = MASH_FEED_T_REAL;
		(void)snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		val = num;
		len = strlen(num);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		type = MASH_FEED_T_BOOL;
		val = json_is_true(v) ? "true" : "false";
		len = strlen(val);
		break;
	case JSON_NULL:
		type = MASH_FEED_T_NULL;
		break;
	case JSON_ARRAY:
		type = MASH_FEED_T_ARRAY;
		break;
	case JSON_OBJECT:
	default:
		type = MASH_FEED_T_OBJECT;
		break;
	}
	rc = feed__rec_add(f, key, val, len, type);
	if (rc != MASH_OK)
		feed__err(err, line, NULL, 0, "record too big");
	return rc;
}

int
feed__json_next(struct mash_feed *f, int follow, struct mash_feed_err *err)
{
	json_t *root = NULL;
	json_error_t jerr;
	const char *buf, *key;
	json_t *v;
	size_t len;
	uint64_t start_pos;
	unsigned long start_lines, line;
	int toolong, rc = MASH_ERR_PARSE;
	enum feed__line_st st;

	for (;;) {
		feed__pos(f, &start_pos, &start_lines);
		line = start_lines + 1;
		st = feed__read_line(f, &buf, &len, &toolong);
		if (st == FEED__LINE_IOERR) {
			feed__err(err, line, NULL, 1, "read error");
			rc = MASH_ERR_IO;
			goto out;
		}
		if (st == FEED__LINE_EOF) {
			rc = MASH_FEED_EOF;
			goto out;
		}
		if (st == FEED__LINE_PARTIAL && follow) {
			/* The writer has not finished this line yet. */
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
		if (!is_blank(buf, len))
			break;
	}
	feed__rec_reset(f, line);
	/* JSON_REJECT_DUPLICATES: a member given twice is ambiguous. NULs
	 * (\u0000) are refused because JSON_ALLOW_NUL is not set. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	                  &jerr);
	if (root == NULL) {
		feed__err(err, line, NULL, 0, "not valid JSON at column %d: %s",
		          jerr.column, jerr.text);
		rc = MASH_ERR_PARSE;
		goto out;
	}
	if (!json_is_object(root)) {
		feed__err(err, line, NULL, 0, "line is not a JSON object");
		rc = MASH_ERR_PARSE;
		goto out;
	}
	if (json_object_size(root) > MASH_FEED_MAX_FIELDS) {
		feed__err(err, line, NULL, 0, "more than %u members",
		          MASH_FEED_MAX_FIELDS);
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (key[0] == '\0' || strlen(key) > MASH_FEED_MAX_NAME) {
			feed__err(err, line, NULL, 0,
			          "member name empty or over %u bytes",
			          MASH_FEED_MAX_NAME);
			rc = MASH_ERR_FIELD_TOO_LONG;
			goto out;
		}
		rc = add_member(f, key, v, err, line);
		if (rc != MASH_OK)
			goto out;
	}
	rc = MASH_OK;
out:
	json_decref(root);
	return rc;
}
