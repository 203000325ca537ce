/*
 * datetime.c - dates, times and Europe/London. See datetime.h.
 *
 * Calendar arithmetic is integer-only (H. Hinnant, "chrono-compatible
 * low-level date algorithms"), so parsing and day numbers depend on
 * neither TZ nor locale; only the London offset asks the C library.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/datetime.h"
#include "common/err.h"
#include "common/str.h"

#define LONDON "Europe/London"

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int
mash_dt_days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12)
		return 0;
	return m == 2 ? 28 + leap : dim[m - 1];
}

int
mash_dt_valid_ymd(int y, int m, int d)
{
	return y >= MASH_DT_MIN_YEAR && y <= MASH_DT_MAX_YEAR && m >= 1 &&
	       m <= 12 && d >= 1 && d <= mash_dt_days_in_month(y, m);
}

int64_t
mash_dt_day_from_ymd(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
mash_dt_ymd_from_day(int64_t day, int *y, int *m, int *d)
{
	int64_t z = day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t dd = doy - (153 * mp + 2) / 5 + 1;
	int64_t mm = mp < 10 ? mp + 3 : mp - 9;

	*y = (int)(yoe + era * 400 + (mm <= 2));
	*m = (int)mm;
	*d = (int)dd;
}

int64_t
mash_dt_utc_day(int64_t unix_ms)
{
	return floor_div(unix_ms, MASH_DT_DAY_MS);
}

/* n decimal digits at s into *out: 1, or 0 if any is not a digit. */
static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

/* The date at the start of s[0..n): bytes used (10), or 0. */
static size_t
parse_ymd(const char *s, size_t n, unsigned flags, int *y, int *m, int *d)
{
	if (n < 10)
		return 0;
	if (s[4] == '-' && s[7] == '-') {
		if (!digits(s, 4, y) || !digits(s + 5, 2, m) ||
		    !digits(s + 8, 2, d))
			return 0;
	} else if ((flags & MASH_DT_UK_DATE) && s[2] == '/' && s[5] == '/') {
		if (!digits(s, 2, d) || !digits(s + 3, 2, m) ||
		    !digits(s + 6, 4, y))
			return 0;
	} else {
		return 0;
	}
	return mash_dt_valid_ymd(*y, *m, *d) ? 10 : 0;
}

/* "[Z|+-HH:MM|+-HHMM]" at s[0..n): bytes used, or (size_t)-1. */
static size_t
parse_zone(const char *s, size_t n, int *offset_s)
{
	int zh, zm, sign;

	*offset_s = 0;
	if (n == 0)
		return 0;
	if (s[0] == 'Z' || s[0] == 'z')
		return 1;
	if (s[0] != '+' && s[0] != '-')
		return (size_t)-1;
	sign = s[0] == '+' ? 1 : -1;
	if (n >= 6 && s[3] == ':' && digits(s + 1, 2, &zh) &&
	    digits(s + 4, 2, &zm)) {
		n = 6;
	} else if (n >= 5 && digits(s + 1, 2, &zh) && digits(s + 3, 2, &zm)) {
		n = 5;
	} else {
		return (size_t)-1;
	}
	if (zh > 14 || zm > 59 || (zh == 14 && zm > 0))
		return (size_t)-1;
	*offset_s = sign * (zh * 3600 + zm * 60);
	return n;
}

int
mash_dt_parse(const char *s, size_t n, unsigned flags, int64_t *unix_ms,
              int *has_time)
{
	int y, mo, d, hh = 0, mm = 0, ss = 0, ms = 0, off = 0;
	size_t i, z;

	if (has_time != NULL)
		*has_time = 0;
	if (s == NULL || unix_ms == NULL)
		return MASH_ERR_INVAL;
	i = parse_ymd(s, n, flags, &y, &mo, &d);
	if (i == 0)
		return MASH_ERR_BAD_DATE;
	if (i == n) {
		if (!(flags & MASH_DT_DATE))
			return MASH_ERR_BAD_DATE;
		*unix_ms = mash_dt_day_from_ymd(y, mo, d) * MASH_DT_DAY_MS;
		return MASH_OK;
	}
	if (!(flags & MASH_DT_DATE_TIME) || (s[i] != 'T' && s[i] != ' ') ||
	    n - i < 6 || !digits(s + i + 1, 2, &hh) || s[i + 3] != ':' ||
	    !digits(s + i + 4, 2, &mm))
		return MASH_ERR_BAD_DATE;
	i += 6;
	if (i < n && s[i] == ':') {
		if (n - i < 3 || !digits(s + i + 1, 2, &ss))
			return MASH_ERR_BAD_DATE;
		i += 3;
		if (i < n && s[i] == '.') {
			size_t k = 0;

			for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, k++)
				if (k < 3)
					ms = ms * 10 + (s[i] - '0');
			if (k == 0 || k > 9)
				return MASH_ERR_BAD_DATE;
			for (; k < 3; k++)
				ms *= 10;
		}
	}
	z = parse_zone(s + i, n - i, &off);
	/* 23:59:60 is a leap second; 24:00 is not accepted. */
	if (z == (size_t)-1 || i + z != n || hh > 23 || mm > 59 || ss > 60)
		return MASH_ERR_BAD_DATE;
	*unix_ms = (mash_dt_day_from_ymd(y, mo, d) * 86400 + hh * 3600 +
	            mm * 60 + ss - off) *
	               1000 +
	           ms;
	if (has_time != NULL)
		*has_time = 1;
	return MASH_OK;
}

int
mash_dt_format_date(int64_t day, char *buf, size_t bufsz)
{
	int y, m, d;

	if (buf == NULL || bufsz < 11)
		return MASH_ERR_INVAL;
	mash_dt_ymd_from_day(day, &y, &m, &d);
	if (y < 0 || y > MASH_DT_MAX_YEAR)
		return MASH_ERR_INVAL;
	return mash_snprintf(buf, bufsz, "%04d-%02d-%02d", y, m, d);
}

int
mash_dt_format_iso(int64_t unix_ms, char *buf, size_t bufsz)
{
	int64_t day, sec;
	int y, m, d;

	if (buf == NULL || bufsz < 21)
		return MASH_ERR_INVAL;
	day = mash_dt_utc_day(unix_ms);
	sec = floor_div(unix_ms, 1000) - day * 86400;
	mash_dt_ymd_from_day(day, &y, &m, &d);
	if (y < 0 || y > MASH_DT_MAX_YEAR)
		return MASH_ERR_INVAL;
	return mash_snprintf(buf, bufsz, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m,
	                     d, (int)(sec / 3600), (int)(sec / 60 % 60),
	                     (int)(sec % 60));
}

/* 1 if the process's local time at t is London's: zone name and offset
 * as tzdata gives them. */
static int
is_london(time_t t, long want_off, const char *want_zone)
{
	struct tm tm;

	return localtime_r(&t, &tm) != NULL && tm.tm_gmtoff == want_off &&
	       tm.tm_zone != NULL && strcmp(tm.tm_zone, want_zone) == 0;
}

int
mash_dt_london_init(void)
{
	/* 2026-07-01 and 2026-01-01, 12:00 UTC. */
	const time_t summer = 1782907200, winter = 1767268800;
	const char *tz = getenv("TZ");

	if (tz == NULL || strcmp(tz, LONDON) != 0) {
		if (setenv("TZ", LONDON, 1) != 0)
			return MASH_ERR_NOMEM;
	}
	tzset();
	/* Without tzdata the C library falls back to UTC silently. */
	if (!is_london(summer, 3600, "BST") || !is_london(winter, 0, "GMT"))
		return MASH_ERR_NOT_FOUND;
	return MASH_OK;
}

int64_t
mash_dt_london_offset_ms(int64_t unix_ms)
{
	time_t t = (time_t)floor_div(unix_ms, 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (int64_t)tm.tm_gmtoff * 1000;
}
