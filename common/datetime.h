/*
 * datetime.h - the one place dates and times are parsed, formatted and
 * converted (issue 23): ISO 8601 dates and date-times, strictly (a date
 * that is not in the proleptic Gregorian calendar, 2026-02-30, is
 * refused, never normalised), days since 1970-01-01 for calendar
 * arithmetic, and local time in England and Wales from tzdata.
 *
 * Local time: Europe/London comes from the system's tzdata through the C
 * library (localtime_r with TZ), not from a hand-written clock-change
 * rule, so a future change to summer time is a tzdata update. TZ is
 * process-wide: mash_dt_london_init() sets it once, from the main thread
 * before any other thread starts (mashd, mashctl and the tests call it
 * when they load a working-day calendar); nothing else here touches
 * global state.
 */
#ifndef MASH_DATETIME_H
#define MASH_DATETIME_H

#include <stddef.h>
#include <stdint.h>

#define MASH_DT_DAY_MS 86400000LL
/* Years this module accepts (four-digit years only). */
#define MASH_DT_MIN_YEAR 1
#define MASH_DT_MAX_YEAR 9999
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" and its NUL. */
#define MASH_DT_ISO_LEN 25

/* Accept in mash_dt_parse: */
#define MASH_DT_DATE      0x1u /* a bare date, "YYYY-MM-DD" */
#define MASH_DT_DATE_TIME 0x2u /* DATE[T| ]HH:MM[:SS[.f{1,9}]][Z|+-HH[:]MM] */
#define MASH_DT_UK_DATE   0x4u /* also "DD/MM/YYYY" for the date */

/* 1 if y-m-d is a real date with MASH_DT_MIN_YEAR <= y <= MAX_YEAR. */
int mash_dt_valid_ymd(int y, int m, int d);

/* Days in month m (1..12) of year y. */
int mash_dt_days_in_month(int y, int m);

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil); the date must be valid (mash_dt_valid_ymd). */
int64_t mash_dt_day_from_ymd(int y, int m, int d);

/* The date of a day number (inverse of mash_dt_day_from_ymd). */
void mash_dt_ymd_from_day(int64_t day, int *y, int *m, int *d);

/* floor(ms / MASH_DT_DAY_MS): the UTC day of a unix time in ms. */
int64_t mash_dt_utc_day(int64_t unix_ms);

/*
 * Parse s[0..n) as one of the forms flags allow (MASH_DT_*). No zone
 * means UTC; a bare date is its 00:00 UTC. *unix_ms gets the instant;
 * *has_time (may be NULL) 1 if s had a time part. MASH_OK, or
 * MASH_ERR_BAD_DATE for anything else (trailing bytes, 24:00, a zone
 * beyond +-14:00, 2026-02-30), MASH_ERR_INVAL for NULL arguments.
 */
int mash_dt_parse(const char *s, size_t n, unsigned flags, int64_t *unix_ms,
                  int *has_time);

/* "YYYY-MM-DD" of day into buf (at least 11 bytes). */
int mash_dt_format_date(int64_t day, char *buf, size_t bufsz);

/* "YYYY-MM-DDTHH:MM:SSZ" of a unix time in ms (whole seconds, rounded
 * down) into buf (at least 21 bytes); MASH_ERR_INVAL out of range. */
int mash_dt_format_iso(int64_t unix_ms, char *buf, size_t bufsz);

/*
 * Make the process's local time Europe/London (TZ, tzset) and check that
 * tzdata knows it (BST in July, GMT in January). Idempotent; call from
 * the main thread before other threads start. MASH_OK, or
 * MASH_ERR_NOT_FOUND if tzdata for Europe/London is not installed.
 */
int mash_dt_london_init(void);

/* The offset of Europe/London from UTC at unix_ms, in ms (0 or 3600000
 * today), from tzdata. mash_dt_london_init() must have succeeded. */
int64_t mash_dt_london_offset_ms(int64_t unix_ms);

#endif
