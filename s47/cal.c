/*
 * cal.c - working days in England and Wales (see cal.h for the rules and
 * their sources). Dates and day numbers come from common/datetime.h
 * (integer-only), the London offset from tzdata through it.
 */
#include <libconfig.h>
#include <string.h>

#include "common/datetime.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "s47/cal.h"

#define NO_DAY  INT32_MIN
#define HOUR_MS 3600000LL
/* At most 8 computed bank holidays a year. */
#define MAX_COMPUTED 8

struct cal_extra {
	int32_t day;
	int32_t replaces; /* NO_DAY if the entry only adds a day */
	char name[MASH_CAL_MAX_NAME];
};

struct mash_cal {
	size_t n;
	struct cal_extra e[MASH_CAL_MAX_EXTRA];
};

struct computed {
	int32_t day;
	const char *name;
};

static int32_t
days_from_civil(int y, int m, int d)
{
	return (int32_t)mash_dt_day_from_ymd(y, m, d);
}

void
mash_cal_ymd_from_day(int32_t day, int *y, int *m, int *d)
{
	mash_dt_ymd_from_day(day, y, m, d);
}

int
mash_cal_day_from_ymd(int y, int m, int d, int32_t *out)
{
	if (y < MASH_CAL_MIN_YEAR || y > MASH_CAL_MAX_YEAR ||
	    !mash_dt_valid_ymd(y, m, d))
		return MASH_ERR_BAD_DATE;
	*out = days_from_civil(y, m, d);
	return MASH_OK;
}

int
mash_cal_parse_date(const char *s, int32_t *out)
{
	int64_t ms;
	int y, m, d;

	if (s == NULL ||
	    mash_dt_parse(s, strlen(s), MASH_DT_DATE, &ms, NULL) != MASH_OK)
		return MASH_ERR_BAD_DATE;
	mash_dt_ymd_from_day(mash_dt_utc_day(ms), &y, &m, &d);
	return mash_cal_day_from_ymd(y, m, d, out);
}

int
mash_cal_format_date(int32_t day, char *buf, size_t bufsz)
{
	return mash_dt_format_date(day, buf, bufsz);
}

int
mash_cal_weekday(int32_t day)
{
	/* 1970-01-01 was a Thursday (ISO 4). */
	int r = (int)(((int64_t)day % 7 + 7) % 7);

	return (r + 3) % 7 + 1;
}

int
mash_cal_easter(int y, int32_t *out)
{
	int a, b, c, d, e, f, g, h, i, k, l, m, month, dd;

	if (y < MASH_CAL_MIN_YEAR || y > MASH_CAL_MAX_YEAR)
		return MASH_ERR_BAD_DATE;
	/* Anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
	a = y % 19;
	b = y / 100;
	c = y % 100;
	d = b / 4;
	e = b % 4;
	f = (b + 8) / 25;
	g = (b - f + 1) / 3;
	h = (19 * a + b - d - g + 15) % 30;
	i = c / 4;
	k = c % 4;
	l = (32 + 2 * e + 2 * i - h - k) % 7;
	m = (a + 11 * h + 22 * l) / 451;
	month = (h + l - 7 * m + 114) / 31;
	dd = (h + l - 7 * m + 114) % 31 + 1;
	*out = days_from_civil(y, month, dd);
	return MASH_OK;
}

/* First Monday on or after day. */
static int32_t
monday_on_or_after(int32_t day)
{
	return day + (8 - mash_cal_weekday(day)) % 7;
}

/* Last weekday wd (1..7) of month m in year y. */
static int32_t
last_weekday_of(int y, int m, int wd)
{
	int32_t last = days_from_civil(y, m, mash_dt_days_in_month(y, m));

	return last - (mash_cal_weekday(last) - wd + 7) % 7;
}

static int
is_weekend(int32_t day)
{
	return mash_cal_weekday(day) >= 6;
}

static int
in_computed(const struct computed *c, size_t n, int32_t day)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i].day == day)
			return 1;
	return 0;
}

/*
 * The computed bank holidays of year y (in range). A fixed-date holiday on
 * a weekend is replaced by the next weekday that is not already a holiday:
 * the weekday holidays are placed first so that, with Christmas on a
 * Sunday, Boxing Day keeps Monday 26th and Christmas moves to Tuesday 27th.
 */
static size_t
computed_holidays(int y, struct computed *out)
{
	static const char *const fixed_name[3] = {
	    "New Year's Day", "Christmas Day", "Boxing Day"};
	int32_t fixed[3];
	int32_t easter = 0;
	size_t n = 0;
	int k, pass;

	fixed[0] = days_from_civil(y, 1, 1);
	fixed[1] = days_from_civil(y, 12, 25);
	fixed[2] = days_from_civil(y, 12, 26);
	(void)mash_cal_easter(y, &easter);

	out[n].day = easter - 2;
	out[n++].name = "Good Friday";
	out[n].day = easter + 1;
	out[n++].name = "Easter Monday";
	if (y >= 1978) {
		out[n].day = monday_on_or_after(days_from_civil(y, 5, 1));
		out[n++].name = "Early May bank holiday";
	}
	out[n].day = last_weekday_of(y, 5, 1);
	out[n++].name = "Spring bank holiday";
	out[n].day = last_weekday_of(y, 8, 1);
	out[n++].name = "Summer bank holiday";

	for (pass = 0; pass < 2; pass++) {
		for (k = 0; k < 3; k++) {
			int32_t day = fixed[k];

			if (pass == 0 && is_weekend(day)) {
				continue;
			} else if (pass == 1) {
				if (!is_weekend(day))
					continue;
				while (is_weekend(day) ||
				       in_computed(out, n, day))
					day++;
			}
			out[n].day = day;
			out[n++].name = fixed_name[k];
		}
	}
	return n;
}

struct mash_cal *
mash_cal_new(void)
{
	/* A calendar places clocks in London working days: without tzdata
	 * for Europe/London it would place them in UTC, silently. */
	if (mash_dt_london_init() != MASH_OK)
		return NULL;
	return mash_calloc(1, sizeof(struct mash_cal));
}

void
mash_cal_free(struct mash_cal *cal)
{
	mash_free(cal);
}

size_t
mash_cal_extra_count(const struct mash_cal *cal)
{
	return cal == NULL ? 0 : cal->n;
}

static void
set_err(char *err, size_t errsz, const char *file, int line, const char *msg)
{
	if (err == NULL || errsz == 0)
		return;
	(void)mash_snprintf(err, errsz, "%s:%d: %s", file, line, msg);
}

static int
load_entry(config_setting_t *s, const char *path, struct cal_extra *e,
           char *err, size_t errsz)
{
	int line = (int)config_setting_source_line(s);
	const char *date = NULL, *name = NULL, *repl = NULL;
	int i, n;

	if (!config_setting_is_group(s)) {
		set_err(err, errsz, path, line,
		        "holiday entry must be a group { date = ...; }");
		return MASH_ERR_CONFIG;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *key = config_setting_name(m);
		int ml = (int)config_setting_source_line(m);

		if (key == NULL ||
		    (strcmp(key, "date") != 0 && strcmp(key, "name") != 0 &&
		     strcmp(key, "replaces") != 0)) {
			set_err(err, errsz, path, ml,
			        "unknown key in holiday entry (date, name, "
			        "replaces)");
			return MASH_ERR_CONFIG;
		}
		if (config_setting_type(m) != CONFIG_TYPE_STRING) {
			set_err(err, errsz, path, ml, "value must be a string");
			return MASH_ERR_CONFIG;
		}
	}
	(void)config_setting_lookup_string(s, "date", &date);
	(void)config_setting_lookup_string(s, "name", &name);
	(void)config_setting_lookup_string(s, "replaces", &repl);
	if (date == NULL) {
		set_err(err, errsz, path, line, "holiday entry without date");
		return MASH_ERR_CONFIG;
	}
	if (mash_cal_parse_date(date, &e->day) != MASH_OK) {
		set_err(err, errsz, path, line,
		        "date is not a valid YYYY-MM-DD in 1978..2199");
		return MASH_ERR_CONFIG;
	}
	e->replaces = NO_DAY;
	if (repl != NULL &&
	    mash_cal_parse_date(repl, &e->replaces) != MASH_OK) {
		set_err(err, errsz, path, line,
		        "replaces is not a valid YYYY-MM-DD in 1978..2199");
		return MASH_ERR_CONFIG;
	}
	if (name == NULL)
		name = "Bank holiday";
	if (mash_str_check(name, MASH_CAL_MAX_NAME - 1) != MASH_OK) {
		set_err(err, errsz, path, line,
		        "name is not UTF-8 or longer than 95 bytes");
		return MASH_ERR_CONFIG;
	}
	(void)mash_strlcpy(e->name, name, sizeof(e->name));
	return MASH_OK;
}

int
mash_cal_load(struct mash_cal *cal, const char *path, char *err, size_t errsz)
{
	config_t cfg;
	config_setting_t *root, *list;
	struct mash_cal *tmp = NULL;
	int rc = MASH_ERR_CONFIG;
	int i, n;
	size_t j;

	if (err != NULL && errsz > 0)
		err[0] = '\0';
	config_init(&cfg);
	if (cal == NULL || path == NULL) {
		rc = MASH_ERR_INVAL;
		goto out;
	}
	if (!config_read_file(&cfg, path)) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO) {
			set_err(err, errsz, path, 0, "cannot read file");
			rc = MASH_ERR_IO;
		} else {
			set_err(err, errsz,
			        config_error_file(&cfg) != NULL
			            ? config_error_file(&cfg)
			            : path,
			        config_error_line(&cfg),
			        config_error_text(&cfg));
		}
		goto out;
	}
	tmp = mash_cal_new();
	if (tmp == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	root = config_root_setting(&cfg);
	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		config_setting_t *s =
		    config_setting_get_elem(root, (unsigned)i);

		if (strcmp(config_setting_name(s), "holidays") != 0) {
			set_err(err, errsz, path,
			        (int)config_setting_source_line(s),
			        "unknown top-level key (expected holidays)");
			goto out;
		}
	}
	list = config_lookup(&cfg, "holidays");
	if (list == NULL) {
		rc = MASH_OK; /* an empty file: computed rules only */
		goto swap;
	}
	if (!config_setting_is_list(list)) {
		set_err(err, errsz, path, (int)config_setting_source_line(list),
		        "holidays must be a list ( {...}, ... )");
		goto out;
	}
	n = config_setting_length(list);
	if (n < 0 || (size_t)n > MASH_CAL_MAX_EXTRA) {
		set_err(err, errsz, path, (int)config_setting_source_line(list),
		        "too many holiday entries (max 256)");
		goto out;
	}
	for (i = 0; i < n; i++) {
		config_setting_t *s =
		    config_setting_get_elem(list, (unsigned)i);
		struct cal_extra *e = &tmp->e[tmp->n];

		rc = load_entry(s, path, e, err, errsz);
		if (rc != MASH_OK)
			goto out;
		rc = MASH_ERR_CONFIG;
		for (j = 0; j < tmp->n; j++) {
			if (tmp->e[j].day == e->day) {
				set_err(err, errsz, path,
				        (int)config_setting_source_line(s),
				        "duplicate holiday date");
				goto out;
			}
		}
		tmp->n++;
	}
	rc = MASH_OK;
swap:
	memcpy(cal, tmp, sizeof(*cal));
out:
	mash_cal_free(tmp);
	config_destroy(&cfg);
	return rc;
}

static int
day_in_range(int32_t day)
{
	int y, m, d;

	mash_cal_ymd_from_day(day, &y, &m, &d);
	return y >= MASH_CAL_MIN_YEAR && y <= MASH_CAL_MAX_YEAR;
}

int
mash_cal_is_holiday(const struct mash_cal *cal, int32_t day, const char **name)
{
	struct computed c[MAX_COMPUTED];
	size_t n, i;
	int y, m, d, replaced = 0;

	if (name != NULL)
		*name = NULL;
	if (!day_in_range(day))
		return 0;
	if (cal != NULL) {
		for (i = 0; i < cal->n; i++) {
			if (cal->e[i].day == day) {
				if (name != NULL)
					*name = cal->e[i].name;
				return 1;
			}
			if (cal->e[i].replaces == day)
				replaced = 1;
		}
	}
	if (replaced)
		return 0;
	mash_cal_ymd_from_day(day, &y, &m, &d);
	n = computed_holidays(y, c);
	for (i = 0; i < n; i++) {
		if (c[i].day == day) {
			if (name != NULL)
				*name = c[i].name;
			return 1;
		}
	}
	return 0;
}

int
mash_cal_is_working_day(const struct mash_cal *cal, int32_t day)
{
	return day_in_range(day) && !is_weekend(day) &&
	       !mash_cal_is_holiday(cal, day, NULL);
}

int
mash_cal_add_working_days(const struct mash_cal *cal, int32_t start, int n,
                          int32_t *out)
{
	int32_t day = start;
	int counted = 0;

	if (n < 0 || n > MASH_CAL_MAX_WORKING_DAYS)
		return MASH_ERR_INVAL;
	if (!day_in_range(start))
		return MASH_ERR_BAD_DATE;
	if (n == 0) {
		while (!mash_cal_is_working_day(cal, day)) {
			day++;
			if (!day_in_range(day))
				return MASH_ERR_BAD_DATE;
		}
		*out = day;
		return MASH_OK;
	}
	while (counted < n) {
		day++;
		if (!day_in_range(day))
			return MASH_ERR_BAD_DATE;
		if (mash_cal_is_working_day(cal, day))
			counted++;
	}
	*out = day;
	return MASH_OK;
}

int64_t
mash_cal_london_offset_ms(int64_t unix_ms)
{
	return mash_dt_london_offset_ms(unix_ms);
}

int32_t
mash_cal_local_day(int64_t unix_ms)
{
	return (int32_t)mash_dt_utc_day(unix_ms +
	                                mash_cal_london_offset_ms(unix_ms));
}

int64_t
mash_cal_end_of_day_ms(int32_t day)
{
	/* 23:59:59.999 local is that instant in UTC less the offset in force
	 * then; the offset at noon UTC of the date is a first guess (the
	 * clocks change at night), checked at the guess itself. */
	int64_t end = (int64_t)day * MASH_CAL_DAY_MS + MASH_CAL_DAY_MS - 1;
	int64_t noon = (int64_t)day * MASH_CAL_DAY_MS + 12 * HOUR_MS;

	return end -
	       mash_cal_london_offset_ms(end - mash_cal_london_offset_ms(noon));
}

int
mash_cal_due_by_ms(const struct mash_cal *cal, int64_t from_ms, int n,
                   int64_t *out)
{
	int32_t due;
	int rc;

	rc = mash_cal_add_working_days(cal, mash_cal_local_day(from_ms), n,
	                               &due);
	if (rc != MASH_OK)
		return rc;
	*out = mash_cal_end_of_day_ms(due);
	return MASH_OK;
}
