/*
 * cmd_outbox.c - the deliveries mashd could not make, for an operator
 * (issue 31):
 *   mashctl outbox list  --db STORE
 *   mashctl outbox retry --db STORE --id N --as NAME
 *   mashctl outbox drop  --db STORE --id N --as NAME --reason TEXT
 * list shows the dead letters (a delivery the broker kept refusing, or
 * never acknowledged, past mashd's retry budget) and why, never their
 * bytes (sealed to the recipient in any case). retry puts one back at the
 * end of the outbox with a fresh budget: the running mashd publishes it
 * at its next tick. drop deletes it: that delivery will never be made.
 * Both are audited in the transaction that makes them (DELIVERY_RETRIED,
 * DELIVERY_DROPPED), so the trail says who did it and, for a drop, why.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit/aud.h"
#include "cli/cmds.h"
#include "cli/util.h"
#include "common/clock.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/trust.h"
#include "daemon/outbox.h"
#include "store/store.h"
#include "store/store_aud.h"

#define G "outbox"

struct args {
	const char *db, *as, *reason;
	int64_t id;
};

static void
help(FILE *f)
{
	fprintf(f,
	        "usage: mashctl outbox list  --db STORE\n"
	        "       mashctl outbox retry --db STORE --id N --as NAME\n"
	        "       mashctl outbox drop  --db STORE --id N --as NAME "
	        "--reason TEXT\n"
	        "list: the dead letters (deliveries the broker refused or "
	        "never acknowledged\npast mashd's retry budget: outbox.* keys) "
	        "and why, never their bytes.\nretry: put dead letter N back "
	        "in the outbox with a fresh budget (mashd\npublishes it at its "
	        "next tick), audited as DELIVERY_RETRIED naming NAME.\n"
	        "drop: delete dead letter N (never delivered), audited as "
	        "DELIVERY_DROPPED\nwith NAME and the reason.\n"
	        "exit: 0 ok, 1 failed (no such id, store error), 2 bad "
	        "usage\n");
}

static int
parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"as", required_argument, NULL, 'A'},
	    {"id", required_argument, NULL, 'i'},
	    {"reason", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->id = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->db = optarg;
			break;
		case 'A':
			a->as = optarg;
			break;
		case 'i':
			if (mash_parse_i64(optarg, 1, INT64_MAX, &a->id) !=
			    MASH_OK) {
				mashctl_die(G, "--id '%s': a dead letter id",
				            optarg);
				return -1;
			}
			break;
		case 'r':
			a->reason = optarg;
			break;
		case 'h':
			help(stdout);
			return 1;
		default:
			help(stderr);
			return -1;
		}
	}
	if (optind != argc || a->db == NULL) {
		mashctl_die(G,
		            "--db STORE is required (mashctl outbox --help)");
		return -1;
	}
	if (a->as != NULL && !mash_trust_id_valid(a->as)) {
		mashctl_die(G, "--as '%s' is not [a-z0-9._-]{1,64}", a->as);
		return -1;
	}
	if (a->reason != NULL &&
	    (a->reason[0] == '\0' || strlen(a->reason) > MASH_AUD_MAX_REASON ||
	     !mash_utf8_valid(a->reason, strlen(a->reason)))) {
		mashctl_die(G, "--reason: 1..%u bytes of UTF-8",
		            (unsigned)MASH_AUD_MAX_REASON);
		return -1;
	}
	return 0;
}

/* The recipient of an inbox topic, else the topic itself. */
static const char *
recipient_of(const char *topic)
{
	size_t n = strlen(MASHD_INBOX_PREFIX);

	return strncmp(topic, MASHD_INBOX_PREFIX, n) == 0 ? topic + n : topic;
}

/* The case, agency and event of the record that queued a dead letter
 * (its DELIVERY_QUEUED), copied into the DELIVERY_RETRIED or _DROPPED
 * record so that the case index finds them: a picture tells a dropped
 * delivery from an acknowledged one by them (issue 31). Empty strings
 * when the queuing record names none (a release from hold). */
struct queued_of {
	char case_id[MASH_AUD_MAX_ID + 1];
	char agency[MASH_AUD_MAX_ID + 1];
	char event_id[MASH_AUD_MAX_ID + 1];
};

static void
copy_key(json_t *root, const char *key, char *out, size_t n)
{
	const char *v = json_string_value(json_object_get(root, key));

	out[0] = '\0';
	if (v != NULL && strlen(v) < n)
		(void)mash_strlcpy(out, v, n);
}

static int
queued_of(struct mash_store *st, int64_t seq, struct queued_of *q)
{
	char *record = NULL;
	size_t len = 0;
	json_t *root;
	int rc;

	memset(q, 0, sizeof(*q));
	if (seq <= 0)
		return MASH_OK;
	rc = mash_store_aud_record(st, (uint64_t)seq, &record, &len);
	if (rc == MASH_ERR_NOT_FOUND)
		return MASH_OK; /* a trail pruned below it: nothing to copy */
	if (rc != MASH_OK)
		return rc;
	root = json_loadb(record, len, 0, NULL);
	mash_free(record);
	if (root == NULL)
		return MASH_ERR_DECODE;
	copy_key(root, "case_id", q->case_id, sizeof(q->case_id));
	copy_key(root, "agency", q->agency, sizeof(q->agency));
	copy_key(root, "event_id", q->event_id, sizeof(q->event_id));
	json_decref(root);
	return MASH_OK;
}

static const char *
or_null(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

static void
print_row(const struct mash_store_outbox_row *r)
{
	char when[40];

	if (mash_dt_format_iso(r->dead_at, when, sizeof(when)) != MASH_OK)
		(void)mash_snprintf(when, sizeof(when), "%lld",
		                    (long long)r->dead_at);
	printf("%lld\t%s\t%s\t%lld\t%s\t%lld\t%zu\n", (long long)r->id, when,
	       recipient_of(r->topic), (long long)r->attempts, r->last_error,
	       (long long)r->outbox_id, r->len);
}

static int
cmd_list(const struct args *a)
{
	struct mash_store_outbox_list *l = NULL;
	struct mash_store *st = NULL;
	size_t i;
	int ex, rc;

	ex = mashctl_store_open(G, a->db, NULL, NULL, 1, &st);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	rc = mash_store_outbox_dead(st, 0, 0, &l);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", a->db, mash_strerror(rc));
		ex = MASHCTL_EXIT_FAIL;
		goto out;
	}
	printf("id\tdead_at\trecipient\tattempts\terror\toutbox_id\tbytes\n");
	for (i = 0; i < l->n; i++)
		print_row(&l->v[i]);
	fprintf(stderr, "mashctl: outbox: %zu dead letter(s)\n", l->n);
out:
	mash_store_outbox_list_free(l);
	mash_store_close(st);
	return ex;
}

/* Dead letter a->id into *row (its bytes not kept), or exit 1. */
static int
find(struct mash_store *st, const struct args *a,
     struct mash_store_outbox_row *row)
{
	struct mash_store_outbox_list *l = NULL;
	int rc;

	rc = mash_store_outbox_dead(st, a->id - 1, 1, &l);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", a->db, mash_strerror(rc));
		mash_store_outbox_list_free(l);
		return MASHCTL_EXIT_FAIL;
	}
	if (l->n != 1 || l->v[0].id != a->id) {
		mashctl_die(G, "%s: no dead letter %lld", a->db,
		            (long long)a->id);
		mash_store_outbox_list_free(l);
		return MASHCTL_EXIT_FAIL;
	}
	*row = l->v[0];
	row->bytes = NULL;
	row->len = 0;
	mash_store_outbox_list_free(l);
	return MASHCTL_EXIT_OK;
}

/* Retry (drop = 0) or drop dead letter a->id with its audit record, in
 * one transaction. */
static int
act(const struct args *a, int drop)
{
	struct mash_store_outbox_row row;
	struct mash_store *st = NULL;
	struct mash_aud *aud = NULL;
	struct mash_aud_record rec;
	struct queued_of q;
	char extra[160];
	int64_t new_id = 0;
	int ex, rc;

	if (a->id < 1 || a->as == NULL || (drop && a->reason == NULL)) {
		mashctl_die(G, drop ? "drop needs --id N, --as NAME and "
		                      "--reason TEXT"
		                    : "retry needs --id N and --as NAME");
		return MASHCTL_EXIT_USAGE;
	}
	ex = mashctl_store_open(G, a->db, NULL, NULL, 0, &st);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	ex = find(st, a, &row);
	if (ex != MASHCTL_EXIT_OK)
		goto out;
	ex = MASHCTL_EXIT_FAIL;
	rc = queued_of(st, row.audit_seq, &q);
	if (rc == MASH_OK)
		rc = mash_aud_open(st, mash_clock_system(), NULL, &aud);
	if (rc == MASH_OK)
		rc = mash_store_begin(st);
	if (rc != MASH_OK)
		goto fail;
	rc = drop ? mash_store_outbox_dead_drop(st, a->id)
	          : mash_store_outbox_dead_retry(st, a->id, &new_id);
	if (rc == MASH_OK) {
		(void)mash_snprintf(extra, sizeof(extra),
		                    drop ? "{\"dead_letter\":%lld,"
		                           "\"outbox_id\":%lld,\"queued\":%lld}"
		                         : "{\"dead_letter\":%lld,"
		                           "\"new_outbox_id\":%lld,"
		                           "\"queued\":%lld}",
		                    (long long)a->id,
		                    (long long)(drop ? row.outbox_id : new_id),
		                    (long long)row.audit_seq);
		memset(&rec, 0, sizeof(rec));
		rec.type = drop ? MASH_AUD_DELIVERY_DROPPED
		                : MASH_AUD_DELIVERY_RETRIED;
		rec.actor = a->as;
		rec.recipient = recipient_of(row.topic);
		rec.case_id = or_null(q.case_id);
		rec.agency = or_null(q.agency);
		rec.event_id = or_null(q.event_id);
		rec.reason = drop ? a->reason : "operator retry";
		rec.extra_json = extra;
		rc = mash_aud_append(aud, &rec, NULL);
	}
	if (rc == MASH_OK)
		rc = mash_store_commit(st);
	else
		(void)mash_store_rollback(st);
	if (rc != MASH_OK)
		goto fail;
	if (drop)
		fprintf(stderr,
		        "mashctl: outbox: dead letter %lld to %s dropped "
		        "(DELIVERY_DROPPED recorded)\n",
		        (long long)a->id, recipient_of(row.topic));
	else
		fprintf(stderr,
		        "mashctl: outbox: dead letter %lld to %s back in the "
		        "outbox as %lld (DELIVERY_RETRIED recorded); mashd "
		        "publishes it at its next tick\n",
		        (long long)a->id, recipient_of(row.topic),
		        (long long)new_id);
	ex = MASHCTL_EXIT_OK;
	goto out;
fail:
	mashctl_die(G, "%s: %s: nothing changed", a->db, mash_strerror(rc));
out:
	mash_aud_free(aud);
	mash_store_close(st);
	return ex;
}

int
mashctl_outbox(int argc, char **argv)
{
	struct args a;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? MASHCTL_EXIT_USAGE : MASHCTL_EXIT_OK;
	}
	rc = parse(argc - 1, argv + 1, &a);
	if (rc != 0)
		return rc > 0 ? MASHCTL_EXIT_OK : MASHCTL_EXIT_USAGE;
	if (strcmp(argv[1], "list") == 0)
		return cmd_list(&a);
	if (strcmp(argv[1], "retry") == 0)
		return act(&a, 0);
	if (strcmp(argv[1], "drop") == 0)
		return act(&a, 1);
	mashctl_die(G, "unknown command '%s' (mashctl outbox --help)", argv[1]);
	return MASHCTL_EXIT_USAGE;
}
