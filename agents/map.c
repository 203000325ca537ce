/*
 * map.c - the common part of the per-agency mapping: the columns every
 * agency shares (who the child is, what happened, when, how serious,
 * consent, handling, Vulnerability Checklist scores, related people), the
 * bounded column readers the agency files use, the stable event id, and
 * the final check against the daemon's own validator (event/evt.h) so
 * that the agent rejects what the daemon would reject.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "agents/map.h"
#include "agents/map_agency.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "event/evt.h"

/* Longest value quoted back in a reason. */
#define ECHO_MAX 40
/* Longest list column item kinds. */
#define MAP_MAX_FACTOR   64u
#define MAP_MAX_POSTCODE 16u

static const struct map__agency *const agencies[] = {
    &map__police, &map__health,  &map__education,
    &map__yot,    &map__housing, &map__social_care,
};

static const struct map__agency *
agency_find(const char *agency)
{
	size_t i;

	if (agency == NULL)
		return NULL;
	for (i = 0; i < sizeof(agencies) / sizeof(agencies[0]); i++) {
		if (strcmp(agencies[i]->agency, agency) == 0)
			return agencies[i];
	}
	return NULL;
}

int
mash_agent_agency_known(const char *agency)
{
	return agency_find(agency) != NULL;
}

const char *
mash_agent_ref_column(const char *agency)
{
	const struct map__agency *a = agency_find(agency);

	return a != NULL ? a->ref_col : NULL;
}

/* The MASH agent namespace for name-based event ids (RFC 4122 s4.3). */
static const unsigned char uuid_ns[16] = {
    0x6b, 0x1e, 0x3c, 0x52, 0x9a, 0x47, 0x4d, 0x0e,
    0x8f, 0x21, 0x5c, 0x7a, 0x30, 0xd4, 0x96, 0xe1,
};

int
mash_agent_event_id(const char *agency, const char *ref,
                    char out[MASH_AGENT_UUID_LEN])
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[33];
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		out[0] = '\0';
	if (agency == NULL || ref == NULL || out == NULL || agency[0] == '\0' ||
	    ref[0] == '\0')
		goto out;
	rc = MASH_ERR_CRYPTO;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, uuid_ns, sizeof(uuid_ns)) != 1 ||
	    EVP_DigestUpdate(ctx, agency, strlen(agency)) != 1 ||
	    EVP_DigestUpdate(ctx, "/", 1) != 1 ||
	    EVP_DigestUpdate(ctx, ref, strlen(ref)) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
		goto out;
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	mash_hex(md, 16, hex);
	(void)snprintf(out, MASH_AGENT_UUID_LEN, "%.8s-%.4s-%.4s-%.4s-%.12s",
	               hex, hex + 8, hex + 12, hex + 16, hex + 20);
	rc = MASH_OK;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
map__fail(struct map__ctx *m, const char *col, int code, const char *fmt, ...)
{
	va_list ap;

	memset(m->err, 0, sizeof(*m->err));
	m->err->line = m->rec->line;
	if (col != NULL)
		(void)mash_strlcpy(m->err->field, col, sizeof(m->err->field));
	va_start(ap, fmt);
	(void)vsnprintf(m->err->msg, sizeof(m->err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* The column if it was given (not absent, empty or null). */
static const struct mash_feed_field *
given(struct map__ctx *m, const char *col)
{
	const struct mash_feed_field *f = mash_feed_get(m->rec, col);

	if (f == NULL || f->type == MASH_FEED_T_NULL)
		return NULL;
	if ((f->type == MASH_FEED_T_TEXT || f->type == MASH_FEED_T_STRING) &&
	    f->len == 0)
		return NULL;
	return f;
}

static int
want_text(struct map__ctx *m, const struct mash_feed_field *f,
          const char *expected)
{
	if (f->type == MASH_FEED_T_TEXT || f->type == MASH_FEED_T_STRING)
		return MASH_OK;
	return map__fail(m, f->name, MASH_ERR_INVAL,
	                 "wrong type (%s), expected %s",
	                 mash_feed_type_name(f->type), expected);
}

static int
check_text(struct map__ctx *m, const struct mash_feed_field *f, size_t max)
{
	int rc = want_text(m, f, "a string");

	if (rc != MASH_OK)
		return rc;
	if (f->len > max)
		return map__fail(m, f->name, MASH_ERR_FIELD_TOO_LONG,
		                 "longer than %zu bytes (%zu)", max, f->len);
	if (!mash_utf8_valid(f->value, f->len))
		return map__fail(m, f->name, MASH_ERR_BAD_UTF8,
		                 "not valid UTF-8 or contains NUL");
	return MASH_OK;
}

static void
str_free(char *s)
{
	if (s != NULL && s != protobuf_c_empty_string)
		mash_free_str(s);
}

static int
set_str(struct map__ctx *m, const char *col, const char *v, size_t n,
        char **dst)
{
	char *s = mash_strndup(v, n);

	if (s == NULL)
		return map__fail(m, col, MASH_ERR_NOMEM, "out of memory");
	str_free(*dst);
	*dst = s;
	return MASH_OK;
}

int
map__str(struct map__ctx *m, const char *col, size_t max, char **dst)
{
	const struct mash_feed_field *f = given(m, col);
	int rc;

	if (f == NULL)
		return MASH_OK;
	rc = check_text(m, f, max);
	if (rc != MASH_OK)
		return rc;
	return set_str(m, col, f->value, f->len, dst);
}

int
map__req_str(struct map__ctx *m, const char *col, size_t max, char **dst)
{
	if (given(m, col) == NULL)
		return map__fail(m, col, MASH_ERR_MISSING_FIELD, "missing");
	return map__str(m, col, max, dst);
}

/* Quote a value back only when short; the caller decides it is not
 * sensitive. */
static const char *
echo(const struct mash_feed_field *f, char *buf, size_t bufsz)
{
	size_t i, n = 0;

	for (i = 0; i < f->len && n + 1 < bufsz && i < ECHO_MAX; i++) {
		unsigned char c = (unsigned char)f->value[i];

		buf[n++] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
	}
	buf[n] = '\0';
	return buf;
}

int
map__uint(struct map__ctx *m, const char *col, uint32_t min, uint32_t max,
          uint32_t *dst, int *present)
{
	const struct mash_feed_field *f = given(m, col);
	char eb[ECHO_MAX + 1];
	int64_t v;
	int rc;

	if (present != NULL)
		*present = 0;
	if (f == NULL)
		return MASH_OK;
	if (f->type != MASH_FEED_T_TEXT && f->type != MASH_FEED_T_INTEGER)
		return map__fail(m, col, MASH_ERR_INVAL,
		                 "wrong type (%s), expected an integer",
		                 mash_feed_type_name(f->type));
	rc = mash_parse_i64(f->value, min, max, &v);
	if (rc != MASH_OK)
		return map__fail(m, col,
		                 strcmp(col, "severity") == 0
		                     ? MASH_ERR_BAD_SEVERITY
		                     : MASH_ERR_INVAL,
		                 "not a whole number %u-%u '%s'", min, max,
		                 echo(f, eb, sizeof(eb)));
	*dst = (uint32_t)v;
	if (present != NULL)
		*present = 1;
	return MASH_OK;
}

static int
ci_word_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (alen != strlen(b))
		return 0;
	for (i = 0; i < alen; i++) {
		int x = tolower((unsigned char)a[i]);
		int y = tolower((unsigned char)b[i]);

		if (x == '_' || x == ' ')
			x = '-';
		if (y == '_' || y == ' ')
			y = '-';
		if (x != y)
			return 0;
	}
	return 1;
}

int
map__bool(struct map__ctx *m, const char *col, protobuf_c_boolean *dst)
{
	static const char *const yes[] = {"true", "yes", "y", "1"};
	static const char *const no[] = {"false", "no", "n", "0"};
	const struct mash_feed_field *f = given(m, col);
	char eb[ECHO_MAX + 1];
	size_t i;

	if (f == NULL)
		return MASH_OK;
	if (f->type != MASH_FEED_T_TEXT && f->type != MASH_FEED_T_BOOL)
		return map__fail(m, col, MASH_ERR_INVAL,
		                 "wrong type (%s), expected a boolean",
		                 mash_feed_type_name(f->type));
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (ci_word_eq(f->value, f->len, yes[i])) {
			*dst = 1;
			return MASH_OK;
		}
		if (ci_word_eq(f->value, f->len, no[i])) {
			*dst = 0;
			return MASH_OK;
		}
	}
	return map__fail(m, col, MASH_ERR_INVAL, "not true/false '%s'",
	                 echo(f, eb, sizeof(eb)));
}

/* A feed's date, "YYYY-MM-DD" or "DD/MM/YYYY" (common/datetime.h), in
 * 1900..2999: exactly s[0..n). 10 (the bytes used) or 0. */
static size_t
parse_date(const char *s, size_t n, int *y, int *mo, int *d)
{
	int64_t ms;

	if (n != 10 || mash_dt_parse(s, n, MASH_DT_DATE | MASH_DT_UK_DATE, &ms,
	                             NULL) != MASH_OK)
		return 0;
	mash_dt_ymd_from_day(mash_dt_utc_day(ms), y, mo, d);
	return *y >= 1900 && *y <= 2999 ? 10 : 0;
}

/*
 * A date or a date-time into unix ms: DATE, DATE[T| ]HH:MM[:SS[.f+]]
 * [Z|+HH:MM|-HH:MM|+HHMM]; no zone means UTC. MASH_OK or MASH_ERR_BAD_DATE.
 */
static int
parse_time(const char *s, size_t n, int64_t *out)
{
	int y, mo, d;

	if (n < 10 || parse_date(s, 10, &y, &mo, &d) != 10)
		return MASH_ERR_BAD_DATE;
	return mash_dt_parse(s, n,
	                     MASH_DT_DATE | MASH_DT_DATE_TIME | MASH_DT_UK_DATE,
	                     out, NULL);
}

int
map__date(struct map__ctx *m, const char *col, int echo_value, char **dst)
{
	const struct mash_feed_field *f = given(m, col);
	char eb[ECHO_MAX + 1], buf[11];
	int y, mo, d, rc;

	if (f == NULL)
		return MASH_OK;
	rc = want_text(m, f, "a date string");
	if (rc != MASH_OK)
		return rc;
	if (f->len != 10 || parse_date(f->value, f->len, &y, &mo, &d) != 10) {
		if (echo_value)
			return map__fail(m, col, MASH_ERR_BAD_DATE,
			                 "not a date '%s'",
			                 echo(f, eb, sizeof(eb)));
		return map__fail(m, col, MASH_ERR_BAD_DATE,
		                 "not a date (YYYY-MM-DD)");
	}
	(void)snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, mo, d);
	return set_str(m, col, buf, 10, dst);
}

int
map__time(struct map__ctx *m, const char *col, int required, int64_t *dst,
          int *present)
{
	const struct mash_feed_field *f = given(m, col);
	char eb[ECHO_MAX + 1];
	int rc;

	if (present != NULL)
		*present = 0;
	if (f == NULL) {
		if (required)
			return map__fail(m, col, MASH_ERR_MISSING_FIELD,
			                 "missing");
		return MASH_OK;
	}
	rc = want_text(m, f, "a date-time string");
	if (rc != MASH_OK)
		return rc;
	if (f->len > 64 || parse_time(f->value, f->len, dst) != MASH_OK)
		return map__fail(m, col, MASH_ERR_BAD_DATE, "not a date '%s'",
		                 echo(f, eb, sizeof(eb)));
	if (present != NULL)
		*present = 1;
	return MASH_OK;
}

int
map__word(struct map__ctx *m, const char *col, const char *const *vocab,
          char **dst)
{
	const struct mash_feed_field *f = given(m, col);
	char eb[ECHO_MAX + 1];
	size_t i;
	int rc;

	if (f == NULL)
		return MASH_OK;
	rc = want_text(m, f, "a string");
	if (rc != MASH_OK)
		return rc;
	for (i = 0; vocab[i] != NULL; i++) {
		if (ci_word_eq(f->value, f->len, vocab[i]))
			return set_str(m, col, vocab[i], strlen(vocab[i]), dst);
	}
	return map__fail(m, col, MASH_ERR_BAD_ENUM, "unknown value '%s'",
	                 echo(f, eb, sizeof(eb)));
}

static void
list_free(char **items, size_t n)
{
	size_t i;

	if (items == NULL)
		return;
	for (i = 0; i < n; i++)
		mash_free_str(items[i]);
	mash_free(items);
}

static int
is_trim(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
map__list(struct map__ctx *m, const char *col, size_t max_items, size_t max_len,
          char ***items, size_t *n)
{
	const struct mash_feed_field *f = given(m, col);
	char **v = NULL;
	size_t cnt = 0, start, end;
	int rc;

	if (f == NULL)
		return MASH_OK;
	rc = check_text(m, f, MASH_MAX_TEXT);
	if (rc != MASH_OK)
		goto out;
	rc = map__fail(m, col, MASH_ERR_NOMEM, "out of memory");
	v = mash_calloc(max_items, sizeof(*v));
	if (v == NULL)
		goto out;
	for (start = 0; start <= f->len; start = end + 1) {
		size_t a, b;

		for (end = start;
		     end < f->len && f->value[end] != MASH_AGENT_LIST_SEP;
		     end++)
			;
		for (a = start; a < end && is_trim(f->value[a]); a++)
			;
		for (b = end; b > a && is_trim(f->value[b - 1]); b--)
			;
		if (a == b)
			continue;
		if (cnt == max_items) {
			rc = map__fail(m, col, MASH_ERR_FIELD_TOO_LONG,
			               "more than %zu items", max_items);
			goto out;
		}
		if (b - a > max_len) {
			rc = map__fail(m, col, MASH_ERR_FIELD_TOO_LONG,
			               "item %zu longer than %zu bytes",
			               cnt + 1, max_len);
			goto out;
		}
		v[cnt] = mash_strndup(f->value + a, b - a);
		if (v[cnt] == NULL) {
			rc = map__fail(m, col, MASH_ERR_NOMEM, "out of memory");
			goto out;
		}
		cnt++;
	}
	*items = v;
	*n = cnt;
	v = NULL; /* transferred */
	rc = MASH_OK;
out:
	list_free(v, cnt);
	return rc;
}

/* Upper-case, '-' and ' ' to '_' for enum names. */
static int
enum_name(const struct mash_feed_field *f, char *buf, size_t bufsz)
{
	size_t i;

	if (f->len >= bufsz)
		return 0;
	for (i = 0; i < f->len; i++) {
		char c = f->value[i];

		if (c == '-' || c == ' ')
			c = '_';
		buf[i] = (char)toupper((unsigned char)c);
	}
	buf[f->len] = '\0';
	return 1;
}

static int
map_enum(struct map__ctx *m, const char *col,
         const ProtobufCEnumDescriptor *desc, const char *what, int *out)
{
	const struct mash_feed_field *f = given(m, col);
	const ProtobufCEnumValue *ev = NULL;
	char name[64], eb[ECHO_MAX + 1];
	int rc;

	if (f == NULL)
		return map__fail(m, col, MASH_ERR_MISSING_FIELD, "missing");
	rc = want_text(m, f, "a string");
	if (rc != MASH_OK)
		return rc;
	if (enum_name(f, name, sizeof(name)))
		ev = protobuf_c_enum_descriptor_get_value_by_name(desc, name);
	if (ev == NULL || ev->value == 0)
		return map__fail(m, col, MASH_ERR_BAD_ENUM, "unknown %s '%s'",
		                 what, echo(f, eb, sizeof(eb)));
	*out = ev->value;
	return MASH_OK;
}

/* NHS numbers are often printed "943 476 5919"; spaces and hyphens are
 * layout, not data. */
static int
map_nhs(struct map__ctx *m, const char *col, char **dst)
{
	const struct mash_feed_field *f = given(m, col);
	char buf[11];
	size_t i, n = 0;
	int rc;

	if (f == NULL)
		return MASH_OK;
	if (f->type == MASH_FEED_T_INTEGER)
		return map__fail(m, col, MASH_ERR_INVAL,
		                 "wrong type (integer), expected a string "
		                 "(leading zeros matter)");
	rc = check_text(m, f, 32);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < f->len; i++) {
		char c = f->value[i];

		if (c == ' ' || c == '-')
			continue;
		if (c < '0' || c > '9' || n == 10)
			return map__fail(m, col, MASH_ERR_BAD_NHS,
			                 "not 10 digits");
		buf[n++] = c;
	}
	buf[n] = '\0';
	if (n != 10)
		return map__fail(m, col, MASH_ERR_BAD_NHS, "not 10 digits");
	if (!mash_evt_nhs_valid(buf))
		return map__fail(m, col, MASH_ERR_BAD_NHS,
		                 "Modulus 11 check digit does not match");
	return set_str(m, col, buf, 10, dst);
}

static int
map_subject(struct map__ctx *m, const struct map__agency *a,
            Mash__V1__Subject *s)
{
	static const char *const sexes[] = {"M", "F", "X", "U", NULL};
	static const struct {
		const char *word;
		const char *code;
	} sex_words[] = {{"male", "M"},      {"female", "F"},
	                 {"other", "X"},     {"unknown", "U"},
	                 {"not-known", "U"}, {"indeterminate", "X"}};
	const struct mash_feed_field *f;
	Mash__V1__Subject__LocalIdsEntry *e = NULL;
	int rc;
	size_t i;

	rc = map_nhs(m, "nhs_number", &s->nhs_number);
	if (rc != MASH_OK)
		goto out;
	rc = map__str(m, "given_name", MASH_MAX_SHORT, &s->given_name);
	if (rc != MASH_OK)
		goto out;
	rc = map__str(m, "family_name", MASH_MAX_SHORT, &s->family_name);
	if (rc != MASH_OK)
		goto out;
	rc = map__date(m, "date_of_birth", 0, &s->date_of_birth);
	if (rc != MASH_OK)
		goto out;
	rc = map__str(m, "postcode", MAP_MAX_POSTCODE, &s->postcode);
	if (rc != MASH_OK)
		goto out;
	for (i = 0; s->postcode[i] != '\0'; i++)
		s->postcode[i] = (char)toupper((unsigned char)s->postcode[i]);
	f = given(m, "sex");
	for (i = 0; f != NULL && i < sizeof(sex_words) / sizeof(sex_words[0]);
	     i++) {
		if ((f->type == MASH_FEED_T_TEXT ||
		     f->type == MASH_FEED_T_STRING) &&
		    ci_word_eq(f->value, f->len, sex_words[i].word)) {
			rc = set_str(m, "sex", sex_words[i].code, 1, &s->sex);
			if (rc != MASH_OK)
				goto out;
			f = NULL;
		}
	}
	if (f != NULL) {
		rc = map__word(m, "sex", sexes, &s->sex);
		if (rc != MASH_OK)
			goto out;
	}
	/* Identity: a valid NHS number, or the demographics the daemon links
	 * on without one (event/evt.c: family name, date of birth,
	 * postcode). */
	if (s->nhs_number[0] == '\0' &&
	    (s->family_name[0] == '\0' || s->date_of_birth[0] == '\0' ||
	     s->postcode[0] == '\0')) {
		rc = map__fail(m, "nhs_number", MASH_ERR_NO_IDENTITY,
		               "missing, and no full demographics "
		               "(family_name, date_of_birth, postcode)");
		goto out;
	}
	if (a->local_id_col != NULL && given(m, a->local_id_col) != NULL) {
		rc = map__fail(m, a->local_id_col, MASH_ERR_NOMEM,
		               "out of memory");
		e = mash_malloc(sizeof(*e));
		s->local_ids = mash_calloc(1, sizeof(*s->local_ids));
		if (e == NULL || s->local_ids == NULL)
			goto out;
		mash__v1__subject__local_ids_entry__init(e);
		s->local_ids[0] = e;
		s->n_local_ids = 1;
		e = NULL; /* transferred */
		rc = set_str(m, a->local_id_col, a->agency, strlen(a->agency),
		             &s->local_ids[0]->key);
		if (rc != MASH_OK)
			goto out;
		rc = map__str(m, a->local_id_col, MASH_MAX_ID,
		              &s->local_ids[0]->value);
		if (rc != MASH_OK)
			goto out;
	}
	rc = MASH_OK;
out:
	mash_free(e);
	return rc;
}

static int
factor_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > MAP_MAX_FACTOR)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return 0;
	}
	return 1;
}

/* vcl: "factor=score[:evidence];..." (Northumberland Vulnerability
 * Checklist factors, scores 0-4 on its risk matrix). */
static int
map_vcl(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	char **items = NULL;
	size_t n = 0, i;
	int rc;

	rc = map__list(m, "vcl", MASH_MAX_REPEATED, MASH_MAX_TEXT, &items, &n);
	if (rc != MASH_OK || n == 0)
		goto out;
	rc = map__fail(m, "vcl", MASH_ERR_NOMEM, "out of memory");
	ev->vcl = mash_calloc(n, sizeof(*ev->vcl));
	if (ev->vcl == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		Mash__V1__VclScore *v;
		char *eq = strchr(items[i], '=');
		char *colon;
		int64_t score;

		rc = map__fail(m, "vcl", MASH_ERR_NOMEM, "out of memory");
		v = mash_malloc(sizeof(*v));
		if (v == NULL)
			goto out;
		mash__v1__vcl_score__init(v);
		ev->vcl[ev->n_vcl++] = v;
		if (eq == NULL ||
		    !factor_valid(items[i], (size_t)(eq - items[i]))) {
			rc = map__fail(m, "vcl", MASH_ERR_INVAL,
			               "item %zu is not factor=score "
			               "(factor [a-z0-9_], at most %u bytes)",
			               i + 1, MAP_MAX_FACTOR);
			goto out;
		}
		colon = strchr(eq + 1, MASH_AGENT_PART_SEP);
		if (colon != NULL)
			*colon = '\0';
		if (mash_parse_i64(eq + 1, 0, 4, &score) != MASH_OK) {
			rc = map__fail(m, "vcl", MASH_ERR_BAD_SEVERITY,
			               "item %zu: score is not 0-4", i + 1);
			goto out;
		}
		v->score = (uint32_t)score;
		rc = set_str(m, "vcl", items[i], (size_t)(eq - items[i]),
		             &v->factor);
		if (rc == MASH_OK && colon != NULL)
			rc = set_str(m, "vcl", colon + 1, strlen(colon + 1),
			             &v->evidence);
		if (rc != MASH_OK)
			goto out;
	}
	rc = MASH_OK;
out:
	list_free(items, n);
	return rc;
}

/* related: "role:given:family[:dob];..." */
static int
map_related(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	char **items = NULL;
	size_t n = 0, i;
	int rc;

	rc = map__list(m, "related", MASH_MAX_REPEATED, MASH_MAX_TEXT, &items,
	               &n);
	if (rc != MASH_OK || n == 0)
		goto out;
	rc = map__fail(m, "related", MASH_ERR_NOMEM, "out of memory");
	ev->related = mash_calloc(n, sizeof(*ev->related));
	if (ev->related == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		Mash__V1__RelatedPerson *p;
		char *part[4] = {NULL, NULL, NULL, NULL};
		char **dst[4];
		size_t k = 0, j;
		char *s = items[i];

		rc = map__fail(m, "related", MASH_ERR_NOMEM, "out of memory");
		p = mash_malloc(sizeof(*p));
		if (p == NULL)
			goto out;
		mash__v1__related_person__init(p);
		ev->related[ev->n_related++] = p;
		dst[0] = &p->role;
		dst[1] = &p->given_name;
		dst[2] = &p->family_name;
		dst[3] = &p->date_of_birth;
		part[k++] = s;
		for (; *s != '\0'; s++) {
			if (*s == MASH_AGENT_PART_SEP) {
				*s = '\0';
				if (k == 4) {
					k = 5;
					break;
				}
				part[k++] = s + 1;
			}
		}
		if (k < 3 || k > 4 || part[0][0] == '\0') {
			rc = map__fail(
			    m, "related", MASH_ERR_INVAL,
			    "item %zu is not role:given:family[:dob]", i + 1);
			goto out;
		}
		for (j = 0; j < k; j++) {
			if (strlen(part[j]) > MASH_MAX_SHORT) {
				rc = map__fail(m, "related",
				               MASH_ERR_FIELD_TOO_LONG,
				               "item %zu: part %zu longer than "
				               "%u bytes",
				               i + 1, j + 1, MASH_MAX_SHORT);
				goto out;
			}
			rc = set_str(m, "related", part[j], strlen(part[j]),
			             dst[j]);
			if (rc != MASH_OK)
				goto out;
		}
		if (k == 4) {
			int y, mo, d;

			if (strlen(part[3]) != 10 ||
			    parse_date(part[3], 10, &y, &mo, &d) != 10) {
				rc = map__fail(m, "related", MASH_ERR_BAD_DATE,
				               "item %zu: date of birth is not "
				               "a date (YYYY-MM-DD)",
				               i + 1);
				goto out;
			}
		}
	}
	rc = MASH_OK;
out:
	list_free(items, n);
	return rc;
}

static int
map_handling(struct map__ctx *m, Mash__V1__AgencyEvent *ev)
{
	static const char *const classes[] = {"OFFICIAL", "OFFICIAL-SENSITIVE",
	                                      NULL};
	Mash__V1__Handling *h;
	size_t i;
	int rc;

	h = mash_malloc(sizeof(*h));
	if (h == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__handling__init(h);
	ev->handling = h;
	rc = set_str(m, "classification", "OFFICIAL", 8, &h->classification);
	if (rc != MASH_OK)
		return rc;
	rc = map__word(m, "classification", classes, &h->classification);
	if (rc != MASH_OK)
		return rc;
	rc = map__bool(m, "do_not_disclose_to_family",
	               &h->do_not_disclose_to_family);
	if (rc != MASH_OK)
		return rc;
	rc = map__list(m, "restrict_to_agencies", MASH_MAX_REPEATED,
	               MASH_MAX_AGENCY, &h->restrict_to_agencies,
	               &h->n_restrict_to_agencies);
	if (rc != MASH_OK)
		return rc;
	for (i = 0; i < h->n_restrict_to_agencies; i++) {
		if (!mash_agent_agency_known(h->restrict_to_agencies[i]))
			return map__fail(m, "restrict_to_agencies",
			                 MASH_ERR_UNKNOWN_AGENCY,
			                 "item %zu is not an agency", i + 1);
	}
	return MASH_OK;
}

static int
map_common(struct map__ctx *m, const struct map__agency *a, int64_t now_ms,
           Mash__V1__AgencyEvent *ev)
{
	const struct mash_feed_field *f;
	char id[MASH_AGENT_UUID_LEN];
	int present, rc, v;
	uint32_t sev = 0;

	rc = set_str(m, NULL, a->agency, strlen(a->agency), &ev->agency);
	if (rc != MASH_OK)
		return rc;
	rc = map__req_str(m, a->ref_col, MASH_MAX_ID, &ev->agency_ref);
	if (rc != MASH_OK)
		return rc;
	f = given(m, "event_id");
	if (f != NULL) {
		size_t i;

		rc = check_text(m, f, MASH_EVT_ID_MAX);
		if (rc != MASH_OK)
			return rc;
		for (i = 0; i < f->len; i++) {
			char c = f->value[i];

			if (!((c >= 'a' && c <= 'z') ||
			      (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-'))
				return map__fail(m, "event_id", MASH_ERR_INVAL,
				                 "not [A-Za-z0-9-] (a UUID)");
		}
		rc = set_str(m, "event_id", f->value, f->len, &ev->event_id);
	} else {
		if (mash_agent_event_id(a->agency, ev->agency_ref, id) !=
		    MASH_OK)
			return map__fail(m, a->ref_col, MASH_ERR_CRYPTO,
			                 "cannot derive the event id");
		rc = set_str(m, "event_id", id, strlen(id), &ev->event_id);
	}
	if (rc != MASH_OK)
		return rc;
	rc = map__time(m, "occurred_at", 1, &ev->occurred_at, NULL);
	if (rc != MASH_OK)
		return rc;
	if (ev->occurred_at > now_ms + MASH_EVT_MAX_FUTURE_MS)
		return map__fail(m, "occurred_at", MASH_ERR_BAD_TIME,
		                 "in the future");
	/* Without a recorded_at column the occurrence time stands in, so the
	 * same line always maps to the same event. */
	ev->recorded_at = ev->occurred_at;
	rc = map__time(m, "recorded_at", 0, &ev->recorded_at, &present);
	if (rc != MASH_OK)
		return rc;
	if (present && ev->recorded_at > now_ms + MASH_EVT_MAX_FUTURE_MS)
		return map__fail(m, "recorded_at", MASH_ERR_BAD_TIME,
		                 "in the future");
	ev->subject = mash_malloc(sizeof(*ev->subject));
	if (ev->subject == NULL)
		return map__fail(m, NULL, MASH_ERR_NOMEM, "out of memory");
	mash__v1__subject__init(ev->subject);
	rc = map_subject(m, a, ev->subject);
	if (rc != MASH_OK)
		return rc;
	rc = map_enum(m, "category", &mash__v1__category__descriptor,
	              "category", &v);
	if (rc != MASH_OK)
		return rc;
	ev->category = (Mash__V1__Category)v;
	/* Categories 30-32 move statutory clocks; only children's social
	 * care may publish them (wire-contract.md, Category). */
	if (v >= MASH__V1__CATEGORY__STRATEGY_DISCUSSION_HELD &&
	    v <= MASH__V1__CATEGORY__REFERRAL_DECISION &&
	    strcmp(a->agency, "social-care") != 0)
		return map__fail(m, "category", MASH_ERR_AGENCY_MISMATCH,
		                 "%s is published by social-care only",
		                 mash_evt_category_name(v));
	if (given(m, "severity") == NULL)
		return map__fail(m, "severity", MASH_ERR_MISSING_FIELD,
		                 "missing");
	rc = map__uint(m, "severity", 0, 4, &sev, NULL);
	if (rc != MASH_OK)
		return rc;
	ev->severity = sev;
	rc = map__str(m, "summary", MASH_MAX_SUMMARY, &ev->summary);
	if (rc != MASH_OK)
		return rc;
	rc = map_enum(m, "consent", &mash__v1__consent__descriptor, "consent",
	              &v);
	if (rc != MASH_OK)
		return rc;
	ev->consent = (Mash__V1__Consent)v;
	rc = map_handling(m, ev);
	if (rc != MASH_OK)
		return rc;
	rc = map__str(m, "reporter", MASH_MAX_SHORT, &ev->reporter);
	if (rc != MASH_OK)
		return rc;
	rc = map_vcl(m, ev);
	if (rc != MASH_OK)
		return rc;
	return map_related(m, ev);
}

int
mash_agent_map(const char *agency, const struct mash_feed_rec *rec,
               int64_t now_ms, Mash__V1__AgencyEvent **out,
               struct mash_feed_err *err)
{
	const struct map__agency *a = agency_find(agency);
	Mash__V1__AgencyEvent *ev = NULL;
	struct map__ctx m;
	char why[MASH_EVT_WHY_LEN];
	int rc = MASH_ERR_INVAL;

	if (out != NULL)
		*out = NULL;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (rec == NULL || out == NULL || err == NULL)
		goto out;
	m.rec = rec;
	m.err = err;
	m.agency = agency;
	if (a == NULL) {
		rc = map__fail(&m, NULL, MASH_ERR_UNKNOWN_AGENCY,
		               "unknown agency");
		goto out;
	}
	ev = mash_malloc(sizeof(*ev));
	if (ev == NULL) {
		rc = map__fail(&m, NULL, MASH_ERR_NOMEM, "out of memory");
		goto out;
	}
	mash__v1__agency_event__init(ev);
	rc = map_common(&m, a, now_ms, ev);
	if (rc != MASH_OK)
		goto out;
	rc = a->detail(&m, ev);
	if (rc != MASH_OK)
		goto out;
	/* The daemon's own rules last: whatever it would reject, we reject
	 * here, with its reason (which never contains values). */
	rc = mash_evt_validate(ev, a->agency, now_ms, why, sizeof(why));
	if (rc != MASH_OK) {
		const char *colon = strstr(why, ": ");

		if (colon != NULL &&
		    (size_t)(colon - why) < sizeof(err->field)) {
			char field[MASH_FEED_MAX_NAME + 1];

			memcpy(field, why, (size_t)(colon - why));
			field[colon - why] = '\0';
			rc = map__fail(&m, field, rc, "%s", colon + 2);
		} else {
			rc = map__fail(&m, NULL, rc, "%s", why);
		}
		goto out;
	}
	*out = ev;
	ev = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_agent_event_free(ev);
	return rc;
}

/* Free a message built by this module, wiping every string and bytes
 * field first: events carry safeguarding data (style rule 9). Walks the
 * descriptor so that new fields are never forgotten. */
static void
msg_free(ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d;
	unsigned i;

	if (msg == NULL)
		return;
	d = msg->descriptor;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		char *base = (char *)msg + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
			    *(size_t *)((char *)msg + fd->quantifier_offset);
			void **arr = *(void ***)base;
			size_t j;

			if (arr == NULL)
				continue;
			for (j = 0; j < n; j++) {
				if (fd->type == PROTOBUF_C_TYPE_STRING)
					str_free(arr[j]);
				else if (fd->type == PROTOBUF_C_TYPE_MESSAGE)
					msg_free(arr[j]);
				else
					break; /* scalar array: one block */
			}
			mash_free(arr);
			continue;
		}
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *)((char *)msg + fd->quantifier_offset) !=
		        fd->id)
			continue;
		if (fd->type == PROTOBUF_C_TYPE_STRING) {
			char *s = *(char **)base;

			if (s != fd->default_value)
				str_free(s);
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			msg_free(*(ProtobufCMessage **)base);
		} else if (fd->type == PROTOBUF_C_TYPE_BYTES) {
			ProtobufCBinaryData *b = (ProtobufCBinaryData *)base;

			if (b->data != NULL)
				mash_free_secret(b->data, b->len);
		}
	}
	mash_free(msg);
}

void
mash_agent_event_free(Mash__V1__AgencyEvent *ev)
{
	msg_free((ProtobufCMessage *)ev);
}
