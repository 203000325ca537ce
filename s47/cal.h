/*
 * cal.h - the working-day calendar of England and Wales, for the statutory
 * clocks of Working Together 2013 (seed 003: "within one working day",
 * "15 working days", "45 working days").
 *
 * Days are "epoch days": whole days since 1970-01-01 in the proleptic
 * Gregorian calendar (1970-01-01 = 0). A working day is a Monday to Friday
 * that is not a bank holiday in England and Wales. Bank holidays are
 * computed (Banking and Financial Dealings Act 1971 schedule 1 and the
 * royal proclamations that have fixed the same days every year since 1978):
 *   New Year's Day (1 Jan, or the next Monday when it falls on a weekend),
 *   Good Friday and Easter Monday (Gregorian computus),
 *   early May (first Monday of May, from 1978),
 *   spring (last Monday of May), summer (last Monday of August),
 *   Christmas Day and Boxing Day, each moved to the next weekday that is
 *   not already a holiday when it falls on a weekend.
 * One-off holidays and moved days (jubilees, a coronation, a state funeral,
 * the 2020 VE-day move) come from a libconfig data file (s47/holidays.cfg):
 *
 *   holidays = (
 *     { date = "2020-05-08"; name = "Early May (VE Day)"; replaces =
 * "2020-05-04"; }, { date = "2022-09-19"; name = "State funeral of Queen
 * Elizabeth II"; }
 *   );
 *
 * Local time is Europe/London from the system's tzdata
 * (common/datetime.h, mash_dt_london_init: TZ=Europe/London, localtime_r),
 * so a change to summer time is a tzdata update, not a code change. A
 * clock is due at the END of its working day: 23:59:59.999 local time.
 */
#ifndef MASH_CAL_H
#define MASH_CAL_H

#include <stddef.h>
#include <stdint.h>

/* Years the calendar accepts (computed rules are those in force since
 * 1978; earlier or later dates are rejected, not guessed). */
#define MASH_CAL_MIN_YEAR 1978
#define MASH_CAL_MAX_YEAR 2199
/* Most one-off entries a holidays file may hold. */
#define MASH_CAL_MAX_EXTRA 256u
/* Longest holiday name kept (bytes, including NUL). */
#define MASH_CAL_MAX_NAME 96u
/* Longest clock the calendar will count (working days). */
#define MASH_CAL_MAX_WORKING_DAYS 1000
#define MASH_CAL_DAY_MS           86400000LL

struct mash_cal;

/* A calendar with only the computed rules. Makes the process's local
 * time Europe/London (mash_dt_london_init; call from the main thread
 * first). NULL on allocation failure or if tzdata has no Europe/London.
 * Free with mash_cal_free. */
struct mash_cal *mash_cal_new(void);

/*
 * Load one-off holidays and moves from the libconfig file at path into cal,
 * replacing any loaded before. MASH_OK; MASH_ERR_IO if the file cannot be
 * read; MASH_ERR_CONFIG on a syntax error, unknown key, bad date, duplicate
 * or too many entries, with "file:line: reason" in err[errsz] (err may be
 * NULL). On failure cal keeps its previous entries.
 */
int mash_cal_load(struct mash_cal *cal, const char *path, char *err,
                  size_t errsz);

/* Free cal; NULL allowed. */
void mash_cal_free(struct mash_cal *cal);

/* Number of one-off entries loaded (additions, not counting replaced days). */
size_t mash_cal_extra_count(const struct mash_cal *cal);

/* Epoch day of y-m-d: MASH_OK, or MASH_ERR_BAD_DATE if it is not a real
 * date in [MASH_CAL_MIN_YEAR, MASH_CAL_MAX_YEAR]. *out untouched on error. */
int mash_cal_day_from_ymd(int y, int m, int d, int32_t *out);

/* The civil date of an epoch day; never fails for any int32 day. */
void mash_cal_ymd_from_day(int32_t day, int *y, int *m, int *d);

/* Parse "YYYY-MM-DD" exactly (10 chars): MASH_OK or MASH_ERR_BAD_DATE. */
int mash_cal_parse_date(const char *s, int32_t *out);

/* Format day as "YYYY-MM-DD" into buf[11+]; MASH_OK or MASH_ERR_INVAL. */
int mash_cal_format_date(int32_t day, char *buf, size_t bufsz);

/* ISO weekday of an epoch day: 1 = Monday .. 7 = Sunday. */
int mash_cal_weekday(int32_t day);

/* Easter Sunday of year y as an epoch day (anonymous Gregorian computus);
 * MASH_OK or MASH_ERR_BAD_DATE if y is out of range. */
int mash_cal_easter(int y, int32_t *out);

/*
 * 1 if day is a bank holiday in England and Wales under cal (computed rules
 * plus the loaded file), 0 otherwise (including out-of-range days). If name
 * is not NULL it receives a static or cal-owned string naming the holiday
 * (NULL when not a holiday); valid until cal is freed or reloaded.
 */
int mash_cal_is_holiday(const struct mash_cal *cal, int32_t day,
                        const char **name);

/* 1 if day is a Monday-Friday that is not a bank holiday, else 0. */
int mash_cal_is_working_day(const struct mash_cal *cal, int32_t day);

/*
 * The n-th working day after start (n >= 1), counting forward day by day
 * and skipping weekends and bank holidays; with n == 0, start itself when it
 * is a working day, else the next working day ("the same working day").
 * MASH_OK; MASH_ERR_INVAL if n < 0 or n > MASH_CAL_MAX_WORKING_DAYS;
 * MASH_ERR_BAD_DATE if the result would leave the supported years.
 */
int mash_cal_add_working_days(const struct mash_cal *cal, int32_t start, int n,
                              int32_t *out);

/* Offset of Europe/London from UTC at instant unix_ms, in ms (0 or 3600000
 * today), from tzdata; a calendar must have been made first. */
int64_t mash_cal_london_offset_ms(int64_t unix_ms);

/* The Europe/London local date of instant unix_ms, as an epoch day. */
int32_t mash_cal_local_day(int64_t unix_ms);

/* Unix ms of 23:59:59.999 Europe/London time on local date day. */
int64_t mash_cal_end_of_day_ms(int32_t day);

/*
 * "Due by": the end (23:59:59.999 London time) of the n-th working day
 * after the London date of from_ms (n == 0: the end of the same working
 * day, or of the next working day if from_ms falls on a weekend or bank
 * holiday). MASH_OK, or an error from mash_cal_add_working_days.
 */
int mash_cal_due_by_ms(const struct mash_cal *cal, int64_t from_ms, int n,
                       int64_t *out);

#endif
