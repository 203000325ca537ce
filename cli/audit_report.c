/*
 * audit_report.c - mashctl audit report: sharing decisions counted per
 * (agency the record is about, legal basis, rule), for a data-protection
 * officer or Caldicott guardian. Every filter the command line takes is
 * applied (--case, --agency, --principal, --type, --since, --until):
 * a report asked for one child must not count every child's.
 *
 * Since record version 2 (issue 26) a DECISION says which rule withheld
 * each field ("by_rule"); the report then also counts, per (agency, rule,
 * field), the decisions that withheld the field: the "withheld by rule"
 * view, after the table and under "withheld_by_rule" in --json (--csv
 * keeps the one table). Version 1 records have no such groups.
 *
 * Output: an aligned table, --csv (libcsv quoting, RFC 4180) or --json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "cli/audit_deliveries.h"
#include "cli/audit_int.h"
#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"

struct group {
	char *agency, *basis, *rule, *field; /* field: "" in the main table */
	uint64_t decisions, shared, withheld, denied, break_glass;
	uint64_t break_glass_refused; /* overrides refused (rule 8) */
	uint64_t fields_shared, fields_withheld;
};

struct groups {
	struct group *v;
	size_t n, cap;
};

static void
group_free(struct group *g)
{
	mash_free(g->agency);
	mash_free(g->basis);
	mash_free(g->rule);
	mash_free(g->field);
}

static struct group *
group_get(struct groups *gs, const char *agency, const char *basis,
          const char *rule, const char *field)
{
	struct group *g, *nv;
	size_t i;

	for (i = 0; i < gs->n; i++) {
		g = &gs->v[i];
		if (strcmp(g->agency, agency) == 0 &&
		    strcmp(g->basis, basis) == 0 &&
		    strcmp(g->rule, rule) == 0 && strcmp(g->field, field) == 0)
			return g;
	}
	if (gs->n == gs->cap) {
		nv = mash_realloc(gs->v,
		                  (gs->cap ? gs->cap * 2 : 16) * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		gs->v = nv;
		gs->cap = gs->cap ? gs->cap * 2 : 16;
	}
	g = &gs->v[gs->n];
	memset(g, 0, sizeof(*g));
	g->agency = mash_strdup(agency);
	g->basis = mash_strdup(basis);
	g->rule = mash_strdup(rule);
	g->field = mash_strdup(field);
	if (g->agency == NULL || g->basis == NULL || g->rule == NULL ||
	    g->field == NULL) {
		group_free(g);
		return NULL;
	}
	gs->n++;
	return g;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->agency, y->agency);

	if (c == 0)
		c = strcmp(x->basis, y->basis);
	if (c == 0)
		c = strcmp(x->rule, y->rule);
	if (c == 0)
		c = strcmp(x->field, y->field);
	return c;
}

/* The withheld view: by agency, rule, field. */
static int
withheld_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	int c = strcmp(x->agency, y->agency);

	if (c == 0)
		c = strcmp(x->rule, y->rule);
	if (c == 0)
		c = strcmp(x->field, y->field);
	return c;
}

/* max(w, strlen(s)) capped at 100 columns. */
static int
maxw(int w, const char *s)
{
	size_t n = strlen(s);

	if (n > 100)
		n = 100;
	return (int)n > w ? (int)n : w;
}

/* The record types a report counts. */
static int
report_type(const char *t)
{
	return strcmp(t, "DECISION") == 0 || strcmp(t, "PICTURE_DENIED") == 0 ||
	       strcmp(t, "BREAK_GLASS") == 0 ||
	       strcmp(t, "BREAK_GLASS_REFUSED") == 0;
}

/* Count the fields each rule of a version 2 DECISION withheld, per
 * (agency, rule, field). MASH_OK or MASH_ERR_NOMEM. */
static int
count_withheld(struct groups *ws, json_t *r)
{
	json_t *by = json_object_get(r, "by_rule"), *e, *f;
	struct group *g;
	size_t i, k;

	json_array_foreach(by, i, e)
	{
		if (strcmp(audit_jstr(e, "decision"), "withheld") != 0)
			continue;
		json_array_foreach(json_object_get(e, "fields"), k, f)
		{
			if (!json_is_string(f))
				continue;
			g = group_get(
			    ws, audit_jstr(r, "agency"), audit_jstr(e, "basis"),
			    audit_jstr(e, "rule"), json_string_value(f));
			if (g == NULL)
				return MASH_ERR_NOMEM;
			g->decisions++;
		}
	}
	return MASH_OK;
}

struct counting {
	const struct audit_opts *o;
	struct groups *gs, *ws;
	int ex;
};

/* The record types a sharing report counts. */
static int
counted_type(const char *t)
{
	return t != NULL && (strcmp(t, "DECISION") == 0 ||
	                     strcmp(t, "PICTURE_DENIED") == 0 ||
	                     strcmp(t, "BREAK_GLASS") == 0 ||
	                     strcmp(t, "BREAK_GLASS_REFUSED") == 0);
}

static int
count_row(void *ctx, const struct mash_store_aud_raw *row)
{
	struct counting *c = ctx;
	struct group *g;
	const char *type;
	json_t *r;
	size_t ns, nw;

	if (!counted_type(row->type))
		return MASH_OK;
	r = json_loadb(row->record, row->record_len, 0, NULL);
	if (r == NULL) {
		/* verify names the bad record; a report must not silently
		 * count around it. */
		mashctl_die(G,
		            "%s: an audit record is not JSON (run mashctl "
		            "audit verify)",
		            c->o->db);
		c->ex = MASHCTL_EXIT_FAIL;
		return MASH_ERR_PARSE;
	}
	g = group_get(c->gs, audit_jstr(r, "agency"),
	              audit_jstr(r, "legal_basis"), audit_jstr(r, "rule_id"),
	              "");
	type = audit_jstr(r, "type");
	if (g != NULL && strcmp(type, "DECISION") == 0 &&
	    count_withheld(c->ws, r) != MASH_OK)
		g = NULL;
	if (g == NULL) {
		json_decref(r);
		mashctl_die(G, "out of memory");
		c->ex = MASHCTL_EXIT_FAIL;
		return MASH_ERR_NOMEM;
	}
	ns = json_array_size(json_object_get(r, "shared"));
	nw = json_array_size(json_object_get(r, "withheld"));
	if (strcmp(type, "DECISION") == 0) {
		g->decisions++;
		g->shared += ns > 0;
		g->withheld += nw > 0;
		g->denied += ns == 0;
		g->fields_shared += ns;
		g->fields_withheld += nw;
	} else if (strcmp(type, "PICTURE_DENIED") == 0) {
		g->denied++;
	} else if (strcmp(type, "BREAK_GLASS_REFUSED") == 0) {
		g->break_glass_refused++;
	} else {
		g->break_glass++;
	}
	json_decref(r);
	return MASH_OK;
}

static int
count(const struct audit_opts *o, struct mash_store *db, struct groups *gs,
      struct groups *ws)
{
	struct mash_store_aud_filter f;
	struct counting c = {o, gs, ws, MASHCTL_EXIT_USAGE};
	int rc, ex = MASHCTL_EXIT_USAGE;

	audit_filter(o, &f);
	rc = mash_store_aud_rows(db, &f, count_row, &c);
	if (rc == MASH_ERR_PARSE || rc == MASH_ERR_NOMEM)
		return c.ex;
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: cannot read audit_log: %s", o->db,
		            mash_strerror(rc));
		goto out;
	}
	if (gs->n > 1)
		qsort(gs->v, gs->n, sizeof(*gs->v), group_cmp);
	if (ws->n > 1)
		qsort(ws->v, ws->n, sizeof(*ws->v), withheld_cmp);
	ex = MASHCTL_EXIT_OK;
out:
	return ex;
}

#define N_COUNTS 8

static void
counts_of(const struct group *g, uint64_t c[N_COUNTS])
{
	c[0] = g->decisions;
	c[1] = g->shared;
	c[2] = g->withheld;
	c[3] = g->denied;
	c[4] = g->break_glass;
	c[5] = g->fields_shared;
	c[6] = g->fields_withheld;
	c[7] = g->break_glass_refused;
}

/* Appended, never reordered: CSV consumers read columns by position. */
static const char *const count_names[N_COUNTS] = {
    "decisions",   "shared",        "withheld",        "denied",
    "break_glass", "fields_shared", "fields_withheld", "break_glass_refused"};

static void
print_csv(const struct groups *gs)
{
	static const char *const head[3] = {"agency", "legal_basis", "rule_id"};
	uint64_t c[N_COUNTS];
	size_t i, k;

	for (k = 0; k < 3; k++)
		printf("%s,", head[k]);
	for (k = 0; k < N_COUNTS; k++)
		printf("%s%c", count_names[k], k == N_COUNTS - 1 ? '\n' : ',');
	for (i = 0; i < gs->n; i++) {
		const struct group *g = &gs->v[i];
		const char *cell[3] = {g->agency, g->basis, g->rule};

		for (k = 0; k < 3; k++) {
			(void)csv_fwrite(stdout, cell[k], strlen(cell[k]));
			putchar(',');
		}
		counts_of(g, c);
		for (k = 0; k < N_COUNTS; k++)
			printf("%llu%c", (unsigned long long)c[k],
			       k == N_COUNTS - 1 ? '\n' : ',');
	}
}

/* [{"agency","rule_id","legal_basis","field","decisions"}, ...] */
static json_t *
withheld_json(const struct groups *ws)
{
	json_t *arr = json_array(), *g;
	size_t i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < ws->n; i++) {
		g = json_pack("{s:s, s:s, s:s, s:s, s:I}", "agency",
		              ws->v[i].agency, "rule_id", ws->v[i].rule,
		              "legal_basis", ws->v[i].basis, "field",
		              ws->v[i].field, "decisions",
		              (json_int_t)ws->v[i].decisions);
		if (g == NULL || json_array_append_new(arr, g) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int
print_json(const struct audit_opts *o, const struct groups *gs,
           const struct groups *ws, json_t *deliveries)
{
	json_t *root, *arr, *f, *g;
	uint64_t c[N_COUNTS];
	size_t i, k;
	int rc = -1;

	root = json_object();
	arr = json_array();
	f = json_pack("{s:s?, s:s?, s:s?, s:s?}", "case", o->case_id, "agency",
	              o->agency, "principal", o->principal, "type", o->type);
	if (root == NULL || arr == NULL || f == NULL)
		goto out;
	if (o->since >= 0)
		(void)json_object_set_new(f, "since_ms",
		                          json_integer((json_int_t)o->since));
	if (o->until >= 0)
		(void)json_object_set_new(f, "until_ms",
		                          json_integer((json_int_t)o->until));
	for (i = 0; i < gs->n; i++) {
		g = json_pack("{s:s, s:s, s:s}", "agency", gs->v[i].agency,
		              "legal_basis", gs->v[i].basis, "rule_id",
		              gs->v[i].rule);
		if (g == NULL || json_array_append_new(arr, g) != 0)
			goto out;
		counts_of(&gs->v[i], c);
		for (k = 0; k < N_COUNTS; k++)
			if (json_object_set_new(
			        g, count_names[k],
			        json_integer((json_int_t)c[k])) != 0)
				goto out;
	}
	if (json_object_set_new(root, "filters", f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (json_object_set_new(root, "groups", arr) != 0) {
		arr = NULL;
		goto out;
	}
	arr = NULL;
	if (json_object_set_new(root, "withheld_by_rule", withheld_json(ws)) !=
	    0)
		goto out;
	if (deliveries != NULL &&
	    json_object_set(root, "deliveries", deliveries) != 0)
		goto out;
	if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		goto out;
	putchar('\n');
	rc = 0;
out:
	json_decref(f);
	json_decref(arr);
	json_decref(root);
	return rc;
}

static void
print_table(const struct groups *gs)
{
	int wa = 6, wr = 7;
	size_t i;

	/* Column widths from the content (legal bases are long) so the
	 * counts stay aligned. */
	for (i = 0; i < gs->n; i++) {
		wa = maxw(wa, gs->v[i].agency);
		wr = maxw(wr, gs->v[i].rule);
	}
	/* Legal bases are long sentences: last, so a narrow terminal only
	 * trims them, never the counts. */
	printf("%-*s  %-*s  %9s %7s %8s %7s %11s %10s  %s\n", wa, "agency", wr,
	       "rule_id", "decisions", "shared", "withheld", "denied",
	       "break_glass", "bg_refused", "legal_basis");
	for (i = 0; i < gs->n; i++) {
		const struct group *g = &gs->v[i];

		printf("%-*s  %-*s  %9llu %7llu %8llu %7llu %11llu %10llu  "
		       "%s\n",
		       wa, g->agency, wr, g->rule,
		       (unsigned long long)g->decisions,
		       (unsigned long long)g->shared,
		       (unsigned long long)g->withheld,
		       (unsigned long long)g->denied,
		       (unsigned long long)g->break_glass,
		       (unsigned long long)g->break_glass_refused, g->basis);
	}
	printf("(%zu group%s)\n", gs->n, gs->n == 1 ? "" : "s");
}

/* The fields each rule withheld, and in how many decisions. */
static void
print_withheld_table(const struct groups *ws)
{
	int wa = 6, wr = 7, wf = 5;
	size_t i;

	if (ws->n == 0)
		return;
	for (i = 0; i < ws->n; i++) {
		wa = maxw(wa, ws->v[i].agency);
		wr = maxw(wr, ws->v[i].rule);
		wf = maxw(wf, ws->v[i].field);
	}
	printf("\nwithheld by rule:\n");
	printf("%-*s  %-*s  %-*s  %9s  %s\n", wa, "agency", wr, "rule_id", wf,
	       "field", "decisions", "legal_basis");
	for (i = 0; i < ws->n; i++)
		printf("%-*s  %-*s  %-*s  %9llu  %s\n", wa, ws->v[i].agency, wr,
		       ws->v[i].rule, wf, ws->v[i].field,
		       (unsigned long long)ws->v[i].decisions, ws->v[i].basis);
}

/*
 * Sharing decisions per (agency the record is about, legal basis, rule):
 *   decisions    DECISION records
 *   shared       decisions that shared at least one field
 *   withheld     decisions that withheld at least one field
 *   denied       decisions that shared nothing, and PICTURE_DENIED
 *   break_glass  BREAK_GLASS overrides
 *   bg_refused   BREAK_GLASS_REFUSED: overrides asked for by a role the
 *                policy does not give them to (rule 8, for review)
 * plus the number of field names shared and withheld.
 */
int
audit_report(const struct audit_opts *o, struct mash_store *db)
{
	struct groups gs = {NULL, 0, 0}, ws = {NULL, 0, 0};
	struct mash_store_aud_filter f;
	json_t *deliveries = NULL;
	size_t i;
	int ex;

	if (o->type != NULL && !report_type(o->type)) {
		mashctl_die(
		    G,
		    "report: --type %s: a report counts DECISION, "
		    "PICTURE_DENIED, BREAK_GLASS and BREAK_GLASS_REFUSED "
		    "records only",
		    o->type);
		return MASHCTL_EXIT_USAGE;
	}
	ex = count(o, db, &gs, &ws);
	/* Deliveries (issue 31): with the JSON and the table, not the CSV
	 * (one table, read by position); not under --type. */
	audit_filter(o, &f);
	if (ex == MASHCTL_EXIT_OK && o->json && o->type == NULL)
		ex = audit_deliveries(&f, db, o->db, 1, &deliveries);
	if (ex == MASHCTL_EXIT_OK) {
		if (o->csv)
			print_csv(&gs);
		else if (o->json) {
			if (print_json(o, &gs, &ws, deliveries) != 0) {
				mashctl_die(G, "out of memory");
				ex = MASHCTL_EXIT_FAIL;
			}
		} else {
			print_table(&gs);
			print_withheld_table(&ws);
			if (o->type == NULL)
				ex = audit_deliveries(&f, db, o->db, 0, NULL);
		}
	}
	json_decref(deliveries);
	for (i = 0; i < gs.n; i++)
		group_free(&gs.v[i]);
	for (i = 0; i < ws.n; i++)
		group_free(&ws.v[i]);
	mash_free(gs.v);
	mash_free(ws.v);
	return ex;
}
