/*
 * str.h - bounded string helpers for untrusted input (style rule 10):
 * UTF-8 validation without embedded NULs, bounded copies, checked number
 * parsing (atoi/strtok/sprintf are banned).
 */
#ifndef MASH_STR_H
#define MASH_STR_H

#include <stddef.h>
#include <stdint.h>

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates) with no
 * NUL byte; 0 otherwise. s may be NULL only when n == 0. */
int mash_utf8_valid(const char *s, size_t n);

/* Check a string field from untrusted input: MASH_OK, MASH_ERR_BAD_UTF8,
 * or MASH_ERR_FIELD_TOO_LONG if strlen(s) > max. NULL counts as empty. */
int mash_str_check(const char *s, size_t max);

/* Copy src into dst[dstsz] always NUL-terminated; MASH_OK or
 * MASH_ERR_FIELD_TOO_LONG if it had to truncate (dst then holds the
 * truncated prefix). */
int mash_strlcpy(char *dst, const char *src, size_t dstsz);

/* snprintf that returns MASH_OK, or MASH_ERR_FIELD_TOO_LONG on truncation
 * or MASH_ERR_INVAL on an encoding error. */
int mash_snprintf(char *dst, size_t dstsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write the reason for a refusal into why[0..whylen), truncated; a NULL
 * why or a zero whylen (the caller wants no reason) writes nothing. */
void mash_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parse a whole decimal string into [min,max]: MASH_OK, MASH_ERR_PARSE on
 * junk or empty, MASH_ERR_INVAL if out of range. *out untouched on error. */
int mash_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Lower-case hex of n bytes into out[2n+1]. */
void mash_hex(const unsigned char *in, size_t n, char *out);

/* Compare two strings for equality; NULL equals only NULL or "". */
int mash_streq(const char *a, const char *b);

#endif
