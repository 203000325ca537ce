/*
 * audit_deliveries.c - the deliveries part of `mashctl audit report`
 * (issue 31): per recipient, how many deliveries were queued and what
 * became of each, read from the trail alone.
 *
 * A delivery is queued by a DELIVERY_QUEUED (or TRIGGER_DELIVERY) record
 * committed with its outbox row; the DELIVERY record written when the
 * broker acknowledged it names that record's seq in extra.queued;
 * DELIVERY_FAILED, DELIVERY_RETRIED and DELIVERY_DROPPED name it in
 * extra.queued too (the last one read wins, but delivered stays). The
 * report's filters choose the queuing records; their outcomes are found
 * wherever they are in the trail (an acknowledgement carries no case or
 * agency of its own), so a filtered report never counts a delivery as
 * waiting because its acknowledgement fell outside the filter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/audit_deliveries.h"
#include "cli/cmds.h"
#include "cli/util.h"
#include "common/err.h"
#include "common/mem.h"
#include "store/store_aud.h"

#define G "audit"

enum { ST_QUEUED = 0, ST_DELIVERED = 1, ST_FAILED = 2, ST_DROPPED = 3 };

struct queued {
	int64_t seq;
	size_t who; /* index into recipients */
	int state;
};

struct tally {
	struct queued *q;
	size_t n, cap;
	char (*who)[MASH_AUD_MAX_ID + 1];
	size_t n_who, cap_who;
	int sorted;
};

static int
who_index(struct tally *t, const char *name, size_t *out)
{
	char(*nw)[MASH_AUD_MAX_ID + 1];
	size_t i;

	for (i = 0; i < t->n_who; i++)
		if (strcmp(t->who[i], name) == 0) {
			*out = i;
			return MASH_OK;
		}
	if (t->n_who == t->cap_who) {
		t->cap_who = t->cap_who == 0 ? 16 : t->cap_who * 2;
		nw = mash_realloc(t->who, t->cap_who * sizeof(*nw));
		if (nw == NULL)
			return MASH_ERR_NOMEM;
		t->who = nw;
	}
	(void)snprintf(t->who[t->n_who], sizeof(t->who[0]), "%s", name);
	*out = t->n_who++;
	return MASH_OK;
}

/* Pass 1: the queuing records the filters select. */
static int
collect(void *ctx, const struct mash_store_aud_raw *row)
{
	struct tally *t = ctx;
	struct queued *nq;
	size_t who;

	if (row->type == NULL || (strcmp(row->type, "DELIVERY_QUEUED") != 0 &&
	                          strcmp(row->type, "TRIGGER_DELIVERY") != 0))
		return MASH_OK;
	if (who_index(t, row->recipient != NULL ? row->recipient : "-", &who) !=
	    MASH_OK)
		return MASH_ERR_NOMEM;
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 256 : t->cap * 2;
		nq = mash_realloc(t->q, t->cap * sizeof(*nq));
		if (nq == NULL)
			return MASH_ERR_NOMEM;
		t->q = nq;
	}
	t->q[t->n].seq = (int64_t)row->seq;
	t->q[t->n].who = who;
	t->q[t->n].state = ST_QUEUED;
	t->n++;
	return MASH_OK;
}

static int
cmp_seq(const void *a, const void *b)
{
	int64_t x = ((const struct queued *)a)->seq;
	int64_t y = ((const struct queued *)b)->seq;

	return (x > y) - (x < y);
}

/* The outcome state for seq, if it was collected; a delivery, once
 * acknowledged, stays delivered (a retried dead letter that arrives). */
static void
mark(struct tally *t, json_int_t seq, int state)
{
	struct queued key, *q;

	if (t->n == 0)
		return;
	key.seq = (int64_t)seq;
	q = bsearch(&key, t->q, t->n, sizeof(*t->q), cmp_seq);
	if (q != NULL && q->state != ST_DELIVERED)
		q->state = state;
}

/* Pass 2: the outcomes, anywhere in the trail. */
static int
outcome(void *ctx, const struct mash_store_aud_raw *row)
{
	struct tally *t = ctx;
	json_t *r, *qd, *v;
	size_t i;
	int state;

	if (row->type == NULL)
		return MASH_OK;
	if (strcmp(row->type, "DELIVERY") == 0)
		state = ST_DELIVERED;
	else if (strcmp(row->type, "DELIVERY_FAILED") == 0)
		state = ST_FAILED;
	else if (strcmp(row->type, "DELIVERY_DROPPED") == 0)
		state = ST_DROPPED;
	else if (strcmp(row->type, "DELIVERY_RETRIED") == 0)
		state = ST_QUEUED; /* back in the outbox */
	else
		return MASH_OK;
	r = json_loadb(row->record, row->record_len, 0, NULL);
	if (r == NULL)
		return MASH_ERR_PARSE;
	qd = json_object_get(json_object_get(r, "extra"), "queued");
	if (json_is_integer(qd))
		mark(t, json_integer_value(qd), state);
	json_array_foreach(qd, i, v)
	{
		if (json_is_integer(v))
			mark(t, json_integer_value(v), state);
	}
	json_decref(r);
	return MASH_OK;
}

static void
tally_free(struct tally *t)
{
	mash_free(t->q);
	mash_free(t->who);
}

/* counts[who][state] */
static uint64_t (*counts(const struct tally *t))[4]
{
	uint64_t(*c)[4] = mash_calloc(t->n_who > 0 ? t->n_who : 1, sizeof(*c));
	size_t i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < t->n; i++)
		c[t->q[i].who][t->q[i].state]++;
	return c;
}

static const char *const state_names[4] = {"awaiting_ack", "delivered",
                                           "failed", "dropped"};

int
audit_deliveries(const struct mash_store_aud_filter *f, struct mash_store *db,
                 const char *dbname, int json, json_t **out)
{
	struct mash_store_aud_filter all;
	struct tally t;
	uint64_t(*c)[4] = NULL, queued;
	json_t *arr = NULL, *g;
	size_t i, k;
	int rc, ex = MASHCTL_EXIT_FAIL;

	if (out != NULL)
		*out = NULL;
	memset(&t, 0, sizeof(t));
	rc = mash_store_aud_rows(db, f, collect, &t);
	if (rc == MASH_OK && t.n > 0) {
		qsort(t.q, t.n, sizeof(*t.q), cmp_seq);
		memset(&all, 0, sizeof(all));
		all.since = -1;
		all.until = -1;
		rc = mash_store_aud_rows(db, &all, outcome, &t);
	}
	if (rc != MASH_OK) {
		mashctl_die(
		    G, "%s: deliveries: %s%s", dbname, mash_strerror(rc),
		    rc == MASH_ERR_PARSE ? " (run mashctl audit verify)" : "");
		goto out;
	}
	c = counts(&t);
	if (c == NULL)
		goto nomem;
	if (json) {
		arr = json_array();
		if (arr == NULL)
			goto nomem;
		for (i = 0; i < t.n_who; i++) {
			queued = c[i][0] + c[i][1] + c[i][2] + c[i][3];
			g = json_pack("{s:s, s:I}", "recipient", t.who[i],
			              "queued", (json_int_t)queued);
			if (g == NULL || json_array_append_new(arr, g) != 0)
				goto nomem;
			for (k = 0; k < 4; k++)
				if (json_object_set_new(
				        g, state_names[k],
				        json_integer((json_int_t)c[i][k])) != 0)
					goto nomem;
		}
		*out = arr;
		arr = NULL;
	} else if (t.n_who > 0) {
		printf("\ndeliveries by recipient (queued: committed to the "
		       "outbox; delivered: the broker acknowledged it):\n");
		printf("%-20s %8s %10s %12s %7s %8s\n", "recipient", "queued",
		       "delivered", "awaiting_ack", "failed", "dropped");
		for (i = 0; i < t.n_who; i++) {
			queued = c[i][0] + c[i][1] + c[i][2] + c[i][3];
			printf("%-20s %8llu %10llu %12llu %7llu %8llu\n",
			       t.who[i], (unsigned long long)queued,
			       (unsigned long long)c[i][ST_DELIVERED],
			       (unsigned long long)c[i][ST_QUEUED],
			       (unsigned long long)c[i][ST_FAILED],
			       (unsigned long long)c[i][ST_DROPPED]);
		}
	}
	ex = MASHCTL_EXIT_OK;
	goto out;
nomem:
	mashctl_die(G, "out of memory");
out:
	json_decref(arr);
	mash_free(c);
	tally_free(&t);
	return ex;
}
