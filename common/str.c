#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/str.h"

int
mash_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t len, k;
		unsigned long cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		/* Reject overlong forms, surrogates and beyond U+10FFFF. */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += len;
	}
	return 1;
}

int
mash_str_check(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return MASH_OK;
	n = strnlen(s, max + 1);
	if (n > max)
		return MASH_ERR_FIELD_TOO_LONG;
	if (!mash_utf8_valid(s, n))
		return MASH_ERR_BAD_UTF8;
	return MASH_OK;
}

int
mash_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t n;

	if (dst == NULL || dstsz == 0)
		return MASH_ERR_INVAL;
	if (src == NULL)
		src = "";
	n = strnlen(src, dstsz);
	if (n >= dstsz) {
		memcpy(dst, src, dstsz - 1);
		dst[dstsz - 1] = '\0';
		return MASH_ERR_FIELD_TOO_LONG;
	}
	memcpy(dst, src, n + 1);
	return MASH_OK;
}

int
mash_snprintf(char *dst, size_t dstsz, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, dstsz, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MASH_ERR_INVAL;
	if ((size_t)n >= dstsz)
		return MASH_ERR_FIELD_TOO_LONG;
	return MASH_OK;
}

int
mash_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end = NULL;
	long long v;

	if (s == NULL || *s == '\0')
		return MASH_ERR_PARSE;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		return MASH_ERR_PARSE;
	if (errno == ERANGE || v < min || v > max)
		return MASH_ERR_INVAL;
	*out = (int64_t)v;
	return MASH_OK;
}

void
mash_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

int
mash_streq(const char *a, const char *b)
{
	if (a == NULL)
		a = "";
	if (b == NULL)
		b = "";
	return strcmp(a, b) == 0;
}

void
mash_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}
