/*
 * picture_view.c - the terminal and JSON views of a Picture.
 *
 * The view is what a MASH analyst reads to decide whether a child needs a
 * strategy discussion (Working Together 2013 ch.1, "Strategy discussion"),
 * so it shows what the policy granted and, just as visibly, what it
 * withheld: a field the analyst cannot see is marked, never silently
 * dropped, so that nobody mistakes "withheld" for "not known".
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/picture_view.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

const char *
mashctl_category_name(int category)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(
	    &mash__v1__category__descriptor, category);
	if (v == NULL || v->name == NULL)
		return "UNKNOWN";
	return v->name;
}

const char *
mashctl_level_name(uint32_t level)
{
	/* Threshold levels of shared/spec/README.md "Terms". */
	switch (level) {
	case 1:
		return "L1 universal";
	case 2:
		return "L2 early help";
	case 3:
		return "L3 child in need (s17)";
	case 4:
		return "L4 child protection (s47)";
	default:
		return "unknown";
	}
}

static int
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/*
 * Write s for a terminal: valid UTF-8 only, C0/C1 controls and DEL (which
 * start terminal escape sequences) replaced with '?', newlines and tabs with
 * a space, cut at MASHCTL_VIEW_MAX_TEXT bytes.
 */
static void
put_safe(FILE *out, const char *s)
{
	const unsigned char *p;
	size_t n, i, lim;

	if (s == NULL)
		return;
	n = strlen(s);
	lim = n > MASHCTL_VIEW_MAX_TEXT ? MASHCTL_VIEW_MAX_TEXT : n;
	/* Back off to a character boundary before the cut. */
	while (lim < n && lim > 0 && (s[lim] & 0xc0) == 0x80)
		lim--;
	if (!mash_utf8_valid(s, lim)) {
		fputs("[invalid text]", out);
		return;
	}
	p = (const unsigned char *)s;
	for (i = 0; i < lim; i++) {
		unsigned char c = p[i];

		if (c == '\n' || c == '\r' || c == '\t') {
			fputc(' ', out);
		} else if (c < 0x20 || c == 0x7f) {
			fputc('?', out);
		} else if (c == 0xc2 && i + 1 < lim && p[i + 1] >= 0x80 &&
		           p[i + 1] <= 0x9f) {
			/* U+0080..U+009F: C1 controls, e.g. CSI. */
			fputc('?', out);
			i++;
		} else {
			fputc(c, out);
		}
	}
	if (lim < n)
		fputs("...", out);
}

/* "YYYY-MM-DD" (UTC) of a unix-ms time into buf[11]; "(bad date)" if out
 * of range. */
static void
fmt_date(int64_t ms, char buf[static 11])
{
	if (ms < 0 ||
	    mash_dt_format_date(mash_dt_utc_day(ms), buf, 11) != MASH_OK)
		(void)mash_strlcpy(buf, "(bad date)", 11);
}

/* "YYYY-MM-DD HH:MM UTC" into buf[21]. */
static void
fmt_datetime(int64_t ms, char buf[static 21])
{
	struct tm tm;
	time_t t;

	t = (time_t)(ms / 1000);
	if (ms < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 21, "%Y-%m-%d %H:%M UTC", &tm) != 20)
		(void)mash_strlcpy(buf, "(bad time)", 21);
}

static int
cmp_entry(const void *a, const void *b)
{
	const Mash__V1__SharedRecord__FieldsEntry *const *x = a;
	const Mash__V1__SharedRecord__FieldsEntry *const *y = b;

	return strcmp((*x)->key ? (*x)->key : "", (*y)->key ? (*y)->key : "");
}

/*
 * The record's granted fields sorted by name, so the view and the JSON are
 * stable whatever order the daemon serialized the map in. Returns a new
 * array of borrowed pointers (caller frees the array), or NULL if there are
 * none or allocation failed (*n then 0).
 */
static const Mash__V1__SharedRecord__FieldsEntry **
sorted_fields(const Mash__V1__SharedRecord *r, size_t *n)
{
	const Mash__V1__SharedRecord__FieldsEntry **v = NULL;
	size_t i;

	*n = 0;
	if (r->n_fields == 0)
		return NULL;
	v = mash_calloc(r->n_fields, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (i = 0; i < r->n_fields; i++)
		v[i] = r->fields[i];
	qsort(v, r->n_fields, sizeof(*v), cmp_entry);
	*n = r->n_fields;
	return v;
}

static void
put_list(FILE *out, char **items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", out);
		put_safe(out, items[i]);
	}
}

/* 1 if r says which rule withheld each withheld field (issue 26). */
static int
has_withheld_by(const Mash__V1__SharedRecord *r)
{
	size_t i;

	if (r->n_withheld_rule != r->n_withheld || r->n_withheld_rules == 0)
		return 0;
	for (i = 0; i < r->n_withheld_rule; i++)
		if (r->withheld_rule[i] >= r->n_withheld_rules)
			return 0;
	return 1;
}

/* "[withheld by RULE: a, b; by RULE2: c]", or "[withheld: a, b]" from a
 * hub that does not say which rule. */
static void
put_withheld(FILE *out, const Mash__V1__SharedRecord *r)
{
	size_t g, i;
	int first;

	if (!has_withheld_by(r)) {
		fputs("      [withheld: ", out);
		put_list(out, r->withheld, r->n_withheld);
		fputs("]\n", out);
		return;
	}
	fputs("      [withheld", out);
	for (g = 0; g < r->n_withheld_rules; g++) {
		fputs(g ? "; by " : " by ", out);
		put_safe(out, r->withheld_rules[g]);
		fputs(": ", out);
		first = 1;
		for (i = 0; i < r->n_withheld; i++) {
			if (r->withheld_rule[i] != g)
				continue;
			if (!first)
				fputs(", ", out);
			put_safe(out, r->withheld[i]);
			first = 0;
		}
	}
	fputs("]\n", out);
}

/* {"rule": [withheld fields]}: which rule withheld what (issue 26). NULL
 * on allocation failure. */
static json_t *
withheld_by_json(const Mash__V1__SharedRecord *r)
{
	json_t *by = json_object(), *a;
	size_t g, k;

	for (g = 0; by != NULL && g < r->n_withheld_rules; g++) {
		a = json_array();
		for (k = 0; a != NULL && k < r->n_withheld; k++)
			if (r->withheld_rule[k] == g &&
			    json_array_append_new(
			        a, json_string(r->withheld[k])) != 0) {
				json_decref(a);
				a = NULL;
			}
		if (a == NULL ||
		    json_object_set_new(by, r->withheld_rules[g], a) != 0) {
			json_decref(by);
			by = NULL;
		}
	}
	return by;
}

static void
render_subject(FILE *out, const Mash__V1__Subject *s)
{
	static const char *const names[] = {"name", "date_of_birth",
	                                    "nhs_number", "postcode", "sex"};
	const char *withheld[5];
	size_t nw = 0, i;
	int shown = 0;

	fputs("Child:      ", out);
	if (s != NULL &&
	    (nonempty(s->given_name) || nonempty(s->family_name))) {
		put_safe(out, s->given_name);
		if (nonempty(s->given_name) && nonempty(s->family_name))
			fputc(' ', out);
		put_safe(out, s->family_name);
		shown = 1;
	} else {
		withheld[nw++] = names[0];
	}
	if (s != NULL && nonempty(s->date_of_birth)) {
		fputs(shown ? ", born " : "born ", out);
		put_safe(out, s->date_of_birth);
		shown = 1;
	} else {
		withheld[nw++] = names[1];
	}
	if (s != NULL && nonempty(s->nhs_number)) {
		fputs(shown ? ", NHS " : "NHS ", out);
		put_safe(out, s->nhs_number);
		shown = 1;
	} else {
		withheld[nw++] = names[2];
	}
	if (s != NULL && nonempty(s->postcode)) {
		fputs(shown ? ", " : "", out);
		put_safe(out, s->postcode);
		shown = 1;
	} else {
		withheld[nw++] = names[3];
	}
	if (s != NULL && nonempty(s->sex)) {
		fputs(shown ? ", sex " : "sex ", out);
		put_safe(out, s->sex);
		shown = 1;
	} else {
		withheld[nw++] = names[4];
	}
	if (nw > 0) {
		fputs(shown ? "  [withheld: " : "[withheld: ", out);
		for (i = 0; i < nw; i++)
			fprintf(out, "%s%s", i ? ", " : "", withheld[i]);
		fputc(']', out);
	}
	fputc('\n', out);
}

/*
 * 1 if field e need not be printed under its timeline row: the row already
 * shows category, severity and date, and the header shows the child's
 * identity (printed again only where a record says something different).
 */
static int
redundant(const Mash__V1__SharedRecord__FieldsEntry *e,
          const Mash__V1__Subject *subj)
{
	static const struct {
		const char *key;
		size_t off;
	} ids[] = {
	    {"subject.nhs_number", offsetof(Mash__V1__Subject, nhs_number)},
	    {"subject.given_name", offsetof(Mash__V1__Subject, given_name)},
	    {"subject.family_name", offsetof(Mash__V1__Subject, family_name)},
	    {"subject.date_of_birth",
	     offsetof(Mash__V1__Subject, date_of_birth)},
	    {"subject.postcode", offsetof(Mash__V1__Subject, postcode)},
	    {"subject.sex", offsetof(Mash__V1__Subject, sex)},
	};
	const char *v;
	size_t i;

	if (e->key == NULL)
		return 1;
	if (strcmp(e->key, "category") == 0 ||
	    strcmp(e->key, "severity") == 0 ||
	    strcmp(e->key, "occurred_at") == 0)
		return 1;
	if (subj == NULL)
		return 0;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		if (strcmp(e->key, ids[i].key) != 0)
			continue;
		v = *(char *const *)((const char *)subj + ids[i].off);
		return v != NULL && e->value != NULL &&
		       strcmp(v, e->value) == 0;
	}
	return 0;
}

/*
 * Fields shown on one line per group: the length of key's group prefix
 * ("detail.police" of "detail.police.dash_risk", "handling" of
 * "handling.classification"), or 0 if key is shown on a line of its own.
 * Only names made of printable ASCII are grouped (they are printed raw).
 */
static size_t
group_prefix(const char *key)
{
	const char *dot, *p;

	if (key == NULL)
		return 0;
	for (p = key; *p != '\0'; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;
	if (strncmp(key, "handling.", 9) == 0)
		return 8;
	if (strncmp(key, "detail.", 7) != 0)
		return 0;
	dot = strchr(key + 7, '.');
	if (dot == NULL || dot[1] == '\0')
		return 0;
	return (size_t)(dot - key);
}

static void
render_field(FILE *out, const Mash__V1__SharedRecord__FieldsEntry *e)
{
	fputs("      ", out);
	put_safe(out, e->key);
	fputs(": ", out);
	put_safe(out, e->value);
	fputc('\n', out);
}

/* One timeline row, then its granted fields (the summary first),
 * withheld names and flags. */
static void
render_record(FILE *out, const Mash__V1__SharedRecord *r,
              const Mash__V1__Subject *subj)
{
	const Mash__V1__SharedRecord__FieldsEntry **f = NULL;
	char date[11];
	size_t nf = 0, i, j, alen;

	fmt_date(r->occurred_at, date);
	fprintf(out, "  %s  ", date);
	put_safe(out, r->agency);
	alen = r->agency ? strlen(r->agency) : 0;
	for (i = alen; i < 12; i++)
		fputc(' ', out);
	fprintf(out, "%-20s sev %" PRIu32, mashctl_category_name(r->category),
	        r->severity);
	if (nonempty(r->rule_id)) {
		fputs("   rule ", out);
		put_safe(out, r->rule_id);
	}
	/* Your own inbox copy of it (issue 31): "delivered" only once the
	 * broker acknowledged it, so "queued" and "failed" are told apart. */
	if (nonempty(r->delivery)) {
		fputs("   your inbox: ", out);
		put_safe(out, r->delivery);
	}
	fputc('\n', out);

	f = sorted_fields(r, &nf);
	for (i = 0; i < nf; i++)
		if (mash_streq(f[i]->key, "summary"))
			render_field(out, f[i]);
	for (i = 0; i < nf; i = j) {
		size_t plen = group_prefix(f[i]->key);

		j = i + 1;
		if (mash_streq(f[i]->key, "summary") || redundant(f[i], subj))
			continue;
		if (plen == 0) {
			render_field(out, f[i]);
			continue;
		}
		/* "detail.police: dash_risk=standard; incident_ref=..." */
		fputs("      ", out);
		fwrite(f[i]->key, 1, plen, out);
		fputs(": ", out);
		for (j = i; j < nf && group_prefix(f[j]->key) == plen &&
		            strncmp(f[j]->key, f[i]->key, plen) == 0;
		     j++) {
			if (j > i)
				fputs("; ", out);
			put_safe(out, f[j]->key + plen + 1);
			fputc('=', out);
			put_safe(out, f[j]->value);
		}
		fputc('\n', out);
	}
	if (r->n_fields > 0 && f == NULL)
		fputs("      [fields not shown: out of memory]\n", out);
	if (r->n_withheld > 0)
		put_withheld(out, r);
	if (r->n_flags > 0) {
		fputs("      flags: ", out);
		put_list(out, r->flags, r->n_flags);
		fputc('\n', out);
	}
	mash_free(f);
}

/* The rules the records were shared under, each with its legal basis,
 * once (in order of first use). */
static void
render_rules(FILE *out, const Mash__V1__Picture *p)
{
	size_t i, j;
	int seen, any = 0;

	for (i = 0; i < p->n_records; i++) {
		const Mash__V1__SharedRecord *r = p->records[i];

		if (r == NULL || !nonempty(r->rule_id))
			continue;
		seen = 0;
		for (j = 0; j < i && !seen; j++)
			seen = p->records[j] != NULL &&
			       mash_streq(p->records[j]->rule_id, r->rule_id);
		if (seen)
			continue;
		if (!any)
			fputs("\nRules applied\n", out);
		any = 1;
		fputs("  ", out);
		put_safe(out, r->rule_id);
		fputs(": ", out);
		put_safe(out, nonempty(r->legal_basis)
		                  ? r->legal_basis
		                  : "(no legal basis given)");
		fputc('\n', out);
	}
}

static void
render_trigger(FILE *out, const Mash__V1__StrategyDiscussionTrigger *t,
               const struct mashctl_view_opts *o)
{
	char raised[21], due[21];
	int64_t wd = 0;

	fmt_datetime(t->raised_at, raised);
	fmt_datetime(t->discussion_due_by, due);
	fputs("  ", out);
	put_safe(out, t->rule_id);
	if (nonempty(t->kind)) {
		fputs(" (", out);
		put_safe(out, t->kind);
		fputc(')', out);
	}
	fputs("  trigger ", out);
	put_safe(out, t->trigger_id);
	fputc('\n', out);
	fprintf(out, "      raised %s, strategy discussion due by %s", raised,
	        due);
	if (o != NULL && o->working_days != NULL && t->discussion_due_by > 0 &&
	    o->working_days(o->working_days_ctx, o->now_ms,
	                    t->discussion_due_by, &wd) == MASH_OK) {
		if (wd > 0)
			fprintf(out, " (%" PRId64 " working day%s left)", wd,
			        wd == 1 ? "" : "s");
		else if (wd == 0)
			fputs(" (due today)", out);
		else
			fprintf(out, " (OVERDUE by %" PRId64 " working day%s)",
			        -wd, wd == -1 ? "" : "s");
	}
	fputc('\n', out);
	if (nonempty(t->reason)) {
		fputs("      reason: ", out);
		put_safe(out, t->reason);
		fputc('\n', out);
	}
	if (t->n_contributing_events > 0) {
		fputs("      contributing: ", out);
		put_list(out, t->contributing_events, t->n_contributing_events);
		fputc('\n', out);
	}
	if (t->n_required_attendees > 0) {
		fputs("      attendees: ", out);
		put_list(out, t->required_attendees, t->n_required_attendees);
		fputc('\n', out);
	}
}

int
mashctl_picture_render(FILE *out, const Mash__V1__Picture *p,
                       const struct mashctl_view_opts *o)
{
	size_t i;

	fputs("MASH combined picture", out);
	if (nonempty(p->case_id)) {
		fputs(" - case ", out);
		put_safe(out, p->case_id);
	}
	fputc('\n', out);
	if (o != NULL && (nonempty(o->principal) || nonempty(o->purpose))) {
		fputs("Requested:  ", out);
		if (nonempty(o->principal)) {
			fputs("as ", out);
			put_safe(out, o->principal);
		}
		if (nonempty(o->purpose)) {
			fputs(nonempty(o->principal) ? ", purpose "
			                             : "purpose ",
			      out);
			put_safe(out, o->purpose);
		}
		fputc('\n', out);
	}
	if (nonempty(p->denied_reason)) {
		fputs("DENIED:     ", out);
		put_safe(out, p->denied_reason);
		fputc('\n', out);
		if (p->audit_seq > 0)
			fprintf(out, "Audit:      record %" PRIu64 "\n",
			        p->audit_seq);
		goto out;
	}
	if (p->break_glass)
		fputs("BREAK-GLASS: access by override; audited and reported "
		      "to the auditors\n",
		      out);
	if (nonempty(p->break_glass_refused)) {
		fputs("BREAK-GLASS REFUSED: ", out);
		put_safe(out, p->break_glass_refused);
		fputc('\n', out);
	}
	render_subject(out, p->subject);
	fprintf(out, "Level:      %s\n", mashctl_level_name(p->level));
	fputs("VCL band:   ", out);
	if (nonempty(p->vcl_band))
		put_safe(out, p->vcl_band);
	else
		fputs("not shown (no VCL score shared for this purpose)", out);
	if (p->rmg_register)
		fputs(" (on the Risk Management Group register)", out);
	fputc('\n', out);
	fputs("Agencies:   ", out);
	if (p->n_agencies_involved > 0)
		put_list(out, p->agencies_involved, p->n_agencies_involved);
	else
		fputs("none shown", out);
	fputc('\n', out);

	fprintf(out, "\nTimeline (%zu record%s)\n", p->n_records,
	        p->n_records == 1 ? "" : "s");
	if (p->n_records == 0)
		fputs("  (no records shared for this purpose)\n", out);
	for (i = 0; i < p->n_records; i++) {
		if (p->records[i] != NULL)
			render_record(out, p->records[i], p->subject);
	}

	render_rules(out, p);

	fprintf(out, "\nOpen s47 triggers (%zu)\n", p->n_open_triggers);
	if (p->n_open_triggers == 0)
		fputs("  none\n", out);
	for (i = 0; i < p->n_open_triggers; i++) {
		if (p->open_triggers[i] != NULL)
			render_trigger(out, p->open_triggers[i], o);
	}
	if (p->audit_seq > 0)
		fprintf(out,
		        "\nAudit:      this access is record %" PRIu64 "\n",
		        p->audit_seq);
out:
	if (ferror(out))
		return MASH_ERR_IO;
	return MASH_OK;
}

/* json_string of a possibly NULL or non-UTF-8 C string: "" for NULL, and
 * "[invalid text]" rather than failing the whole document. */
static json_t *
jstr(const char *s)
{
	json_t *j;

	if (s == NULL)
		return json_string("");
	j = json_string(s);
	if (j == NULL)
		j = json_string("[invalid text]");
	return j;
}

static json_t *
jstrlist(char **items, size_t n)
{
	json_t *a;
	size_t i;

	a = json_array();
	if (a == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (json_array_append_new(a, jstr(items[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
subject_json(const Mash__V1__Subject *s)
{
	if (s == NULL)
		return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "nhs_number", "",
		                 "given_name", "", "family_name", "",
		                 "date_of_birth", "", "postcode", "", "sex",
		                 "");
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "nhs_number",
	                 jstr(s->nhs_number), "given_name", jstr(s->given_name),
	                 "family_name", jstr(s->family_name), "date_of_birth",
	                 jstr(s->date_of_birth), "postcode", jstr(s->postcode),
	                 "sex", jstr(s->sex));
}

static json_t *
record_json(const Mash__V1__SharedRecord *r)
{
	json_t *fields = NULL, *j = NULL;
	size_t i;
	char date[11];

	fields = json_object();
	if (fields == NULL)
		goto out;
	for (i = 0; i < r->n_fields; i++) {
		const Mash__V1__SharedRecord__FieldsEntry *e = r->fields[i];

		if (e == NULL || e->key == NULL)
			continue;
		if (json_object_set_new(fields, e->key, jstr(e->value)) != 0)
			goto out;
	}
	fmt_date(r->occurred_at, date);
	j = json_pack(
	    "{s:o,s:o,s:o,s:s,s:i,s:I,s:s,s:O,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:I}",
	    "case_id", jstr(r->case_id), "event_id", jstr(r->event_id),
	    "agency", jstr(r->agency), "category",
	    mashctl_category_name(r->category), "severity", (int)r->severity,
	    "occurred_at", (json_int_t)r->occurred_at, "occurred_date", date,
	    "fields", fields, "withheld", jstrlist(r->withheld, r->n_withheld),
	    "flags", jstrlist(r->flags, r->n_flags), "rule_id",
	    jstr(r->rule_id), "legal_basis", jstr(r->legal_basis), "purpose",
	    jstr(r->purpose), "reason", jstr(r->reason), "audit_seq",
	    (json_int_t)r->audit_seq);
	if (j != NULL && nonempty(r->delivery) &&
	    json_object_set_new(j, "delivery", jstr(r->delivery)) != 0) {
		json_decref(j);
		j = NULL;
	}
	if (j != NULL && has_withheld_by(r) &&
	    json_object_set_new(j, "withheld_by", withheld_by_json(r)) != 0) {
		json_decref(j);
		j = NULL;
	}
out:
	json_decref(fields);
	return j;
}

static json_t *
trigger_json(const Mash__V1__StrategyDiscussionTrigger *t,
             const struct mashctl_view_opts *o)
{
	json_t *j, *wdj;
	int64_t wd = 0;

	if (o != NULL && o->working_days != NULL && t->discussion_due_by > 0 &&
	    o->working_days(o->working_days_ctx, o->now_ms,
	                    t->discussion_due_by, &wd) == MASH_OK)
		wdj = json_integer((json_int_t)wd);
	else
		wdj = json_null();
	j = json_pack(
	    "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I,s:i,s:I,s:o}", "case_id",
	    jstr(t->case_id), "trigger_id", jstr(t->trigger_id), "rule_id",
	    jstr(t->rule_id), "kind", jstr(t->kind), "reason", jstr(t->reason),
	    "contributing_events",
	    jstrlist(t->contributing_events, t->n_contributing_events),
	    "required_attendees",
	    jstrlist(t->required_attendees, t->n_required_attendees),
	    "raised_at", (json_int_t)t->raised_at, "discussion_due_by",
	    (json_int_t)t->discussion_due_by, "level", (int)t->level,
	    "audit_seq", (json_int_t)t->audit_seq, "working_days_remaining",
	    wdj);
	return j;
}

json_t *
mashctl_picture_to_json(const Mash__V1__Picture *p,
                        const struct mashctl_view_opts *o)
{
	json_t *records = NULL, *triggers = NULL, *doc = NULL, *res = NULL;
	size_t i;

	records = json_array();
	triggers = json_array();
	if (records == NULL || triggers == NULL)
		goto out;
	for (i = 0; i < p->n_records; i++) {
		if (p->records[i] == NULL)
			continue;
		if (json_array_append_new(records, record_json(p->records[i])))
			goto out;
	}
	for (i = 0; i < p->n_open_triggers; i++) {
		if (p->open_triggers[i] == NULL)
			continue;
		if (json_array_append_new(triggers,
		                          trigger_json(p->open_triggers[i], o)))
			goto out;
	}
	doc = json_pack(
	    "{s:s,s:o,s:o,s:o,s:o,s:o,s:i,s:o,s:b,s:o,s:O,s:O,"
	    "s:b,s:I}",
	    "status", nonempty(p->denied_reason) ? "denied" : "granted",
	    "denied_reason", jstr(p->denied_reason), "principal",
	    jstr(o ? o->principal : NULL), "purpose",
	    jstr(o ? o->purpose : NULL), "case_id", jstr(p->case_id), "subject",
	    subject_json(p->subject), "level", (int)p->level, "vcl_band",
	    jstr(p->vcl_band), "rmg_register", p->rmg_register ? 1 : 0,
	    "agencies_involved",
	    jstrlist(p->agencies_involved, p->n_agencies_involved), "records",
	    records, "open_triggers", triggers, "break_glass",
	    p->break_glass ? 1 : 0, "audit_seq", (json_int_t)p->audit_seq);
	if (doc == NULL)
		goto out;
	if (nonempty(p->break_glass_refused) &&
	    json_object_set_new(doc, "break_glass_refused",
	                        json_string(p->break_glass_refused)) != 0)
		goto out;
	if (json_object_set_new(doc, "break_glass_available",
	                        json_boolean(p->break_glass_available)) != 0)
		goto out;
	res = doc;
	doc = NULL; /* transferred */
out:
	json_decref(records);
	json_decref(triggers);
	json_decref(doc);
	return res;
}

/* ---- one delivery at a time (mashctl inbox read) --------------------- */

int
mashctl_record_render(FILE *out, const Mash__V1__SharedRecord *r)
{
	render_record(out, r, NULL);
	return ferror(out) ? MASH_ERR_IO : MASH_OK;
}

int
mashctl_trigger_render(FILE *out, const Mash__V1__StrategyDiscussionTrigger *t,
                       const struct mashctl_view_opts *opts)
{
	render_trigger(out, t, opts);
	return ferror(out) ? MASH_ERR_IO : MASH_OK;
}

json_t *
mashctl_record_to_json(const Mash__V1__SharedRecord *r)
{
	return record_json(r);
}

json_t *
mashctl_trigger_to_json(const Mash__V1__StrategyDiscussionTrigger *t,
                        const struct mashctl_view_opts *opts)
{
	return trigger_json(t, opts);
}
