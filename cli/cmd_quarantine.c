/*
 * cmd_quarantine.c - the messages mashd rejected, for an operator
 * (issue 28):
 *   mashctl quarantine list  --db STORE [--key FILE] [--agency A]
 *   mashctl quarantine show  --db STORE [--key FILE] --id N --as NAME
 *   mashctl quarantine purge --db STORE --older-than DAYS --as NAME
 * list shows what was rejected and why, never the bytes; show prints the
 * bytes in hex after writing a QUARANTINE_READ audit record (the access is
 * audited before it happens); purge deletes what is older than DAYS with
 * PURGE records, as mashd's hourly retention does.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "audit/aud.h"
#include "cli/cmds.h"
#include "cli/util.h"
#include "common/clock.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/str.h"
#include "crypto/atrest.h"
#include "crypto/trust.h"
#include "daemon/retention.h"
#include "store/store.h"

#define G "quarantine"

struct args {
	const char *db, *key, *agency, *as;
	int64_t id, days;
};

static void
help(FILE *f)
{
	fprintf(f,
	        "usage: mashctl quarantine list  --db STORE [--key FILE] "
	        "[--agency A]\n"
	        "       mashctl quarantine show  --db STORE [--key FILE] --id "
	        "N --as NAME\n"
	        "       mashctl quarantine purge --db STORE --older-than DAYS "
	        "--as NAME\n"
	        "list: what mashd rejected and why (id, time, agency, error, "
	        "length), never\nthe bytes. show: one message's bytes in hex, "
	        "after a QUARANTINE_READ audit\nrecord naming NAME. purge: "
	        "delete what was received more than DAYS days ago,\nwith PURGE "
	        "audit records (mashd does this hourly for "
	        "quarantine.retention_days).\n--key: the store's key file "
	        "(store_key_file), needed when the store is\nencrypted at "
	        "rest.\n"
	        "exit: 0 ok, 1 failed (no such id, store error), 2 bad usage "
	        "or a key refused\n");
}

static int
parse(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"key", required_argument, NULL, 'k'},
	    {"agency", required_argument, NULL, 'a'},
	    {"as", required_argument, NULL, 'A'},
	    {"id", required_argument, NULL, 'i'},
	    {"older-than", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->id = -1;
	a->days = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->db = optarg;
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'a':
			a->agency = optarg;
			break;
		case 'A':
			a->as = optarg;
			break;
		case 'i':
			if (mash_parse_i64(optarg, 1, INT64_MAX, &a->id) !=
			    MASH_OK) {
				mashctl_die(G, "--id '%s': a message id",
				            optarg);
				return -1;
			}
			break;
		case 'o':
			if (mash_parse_i64(optarg, 0, 36500, &a->days) !=
			    MASH_OK) {
				mashctl_die(G,
				            "--older-than '%s': days, 0..36500",
				            optarg);
				return -1;
			}
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
		mashctl_die(G, "--db STORE is required (mashctl quarantine "
		               "--help)");
		return -1;
	}
	if (a->as != NULL && !mash_trust_id_valid(a->as)) {
		mashctl_die(G, "--as '%s' is not [a-z0-9._-]{1,64}", a->as);
		return -1;
	}
	return 0;
}

/* Open an existing store (never create one), unlocked with --key;
 * need_key: refuse an encrypted store without it (purge reads nothing
 * sealed and works without). */
static int
open_store(const struct args *a, int ro, int need_key, struct mash_store **st)
{
	uint8_t kek[MASH_ATREST_KEK_LEN];
	char why[512];
	int ex;

	*st = NULL;
	if (a->key != NULL &&
	    mash_atrest_kek_load(a->key, kek, why, sizeof(why)) != MASH_OK) {
		mashctl_die(G, "%s", why);
		return MASHCTL_EXIT_USAGE;
	}
	ex = mashctl_store_open(G, a->db, a->key != NULL ? kek : NULL, a->key,
	                        ro, st);
	if (a->key != NULL)
		OPENSSL_cleanse(kek, sizeof(kek));
	if (ex == MASHCTL_EXIT_OK && need_key && a->key == NULL &&
	    mash_store_is_sealed(*st)) {
		mashctl_die(G,
		            "%s is encrypted at rest: give its key file "
		            "with --key",
		            a->db);
		mash_store_close(*st);
		*st = NULL;
		ex = MASHCTL_EXIT_USAGE;
	}
	return ex;
}

static void
print_row(const struct mash_store_quarantine_row *r)
{
	char when[40];

	if (mash_dt_format_iso(r->received_at, when, sizeof(when)) != MASH_OK)
		(void)mash_snprintf(when, sizeof(when), "%lld",
		                    (long long)r->received_at);
	printf("%lld\t%s\t%s\t%s\t%zu%s\t%s\n", (long long)r->id, when,
	       r->agency[0] ? r->agency : "-", r->errname, r->orig_len,
	       r->truncated ? " (cut)" : "", r->reason);
}

static int
cmd_list(const struct args *a)
{
	struct mash_store_quarantine_list *l = NULL;
	struct mash_store *st = NULL;
	size_t i;
	int ex, rc;

	ex = open_store(a, 1, 1, &st);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	rc = mash_store_quarantine_list(st, a->agency, 0, 0, &l);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", a->db, mash_strerror(rc));
		ex = MASHCTL_EXIT_FAIL;
		goto out;
	}
	printf("id\treceived\tagency\terror\tbytes\treason\n");
	for (i = 0; i < l->n; i++)
		print_row(&l->v[i]);
out:
	mash_store_quarantine_list_free(l);
	mash_store_close(st);
	return ex;
}

/* The QUARANTINE_READ record, committed before anything is shown. */
static int
audit_read(struct mash_store *st, const struct args *a,
           const struct mash_store_quarantine_row *r)
{
	struct mash_aud *aud = NULL;
	struct mash_aud_record rec;
	char extra[64];
	int rc;

	rc = mash_aud_open(st, mash_clock_system(), NULL, &aud);
	if (rc == MASH_OK)
		rc = mash_store_begin(st);
	if (rc != MASH_OK)
		goto out;
	(void)mash_snprintf(extra, sizeof(extra), "{\"id\":%lld}",
	                    (long long)r->id);
	memset(&rec, 0, sizeof(rec));
	rec.type = MASH_AUD_QUARANTINE_READ;
	rec.actor = a->as;
	rec.agency = r->agency[0] ? r->agency : NULL;
	rec.reason = "operator inspection";
	rec.extra_json = extra;
	rc = mash_aud_append(aud, &rec, NULL);
	if (rc == MASH_OK)
		rc = mash_store_commit(st);
	else
		(void)mash_store_rollback(st);
out:
	mash_aud_free(aud);
	return rc;
}

static int
cmd_show(const struct args *a)
{
	struct mash_store_quarantine_list *l = NULL;
	struct mash_store *st = NULL;
	size_t i;
	int ex, rc;

	if (a->id < 1 || a->as == NULL) {
		mashctl_die(G, "show needs --id N and --as NAME");
		return MASHCTL_EXIT_USAGE;
	}
	ex = open_store(a, 0, 1, &st);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	ex = MASHCTL_EXIT_FAIL;
	rc = mash_store_quarantine_list(st, NULL, a->id - 1, 1, &l);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", a->db, mash_strerror(rc));
		goto out;
	}
	if (l->n != 1 || l->v[0].id != a->id) {
		mashctl_die(G, "%s: no quarantined message %lld", a->db,
		            (long long)a->id);
		goto out;
	}
	rc = audit_read(st, a, &l->v[0]);
	if (rc != MASH_OK) {
		mashctl_die(G, "cannot audit the access (%s): nothing shown",
		            mash_strerror(rc));
		goto out;
	}
	print_row(&l->v[0]);
	for (i = 0; i < l->v[0].len; i++)
		printf("%02x%s", l->v[0].bytes[i],
		       (i + 1) % 32 == 0 || i + 1 == l->v[0].len ? "\n" : "");
	ex = MASHCTL_EXIT_OK;
out:
	mash_store_quarantine_list_free(l);
	mash_store_close(st);
	return ex;
}

static int
cmd_purge(const struct args *a)
{
	struct mash_store *st = NULL;
	struct mash_aud *aud = NULL;
	size_t n = 0;
	int64_t before;
	int ex, rc;

	if (a->days < 0 || a->as == NULL) {
		mashctl_die(G, "purge needs --older-than DAYS and --as NAME");
		return MASHCTL_EXIT_USAGE;
	}
	ex = open_store(a, 0, 0, &st);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	ex = MASHCTL_EXIT_FAIL;
	before = mash_clock_now(mash_clock_system()) - a->days * 86400000;
	rc = mash_aud_open(st, mash_clock_system(), NULL, &aud);
	if (rc == MASH_OK)
		rc = mashd_quarantine_purge(st, aud, before, a->as, &n);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s (%zu purged)", a->db, mash_strerror(rc),
		            n);
		goto out;
	}
	printf("%zu\n", n);
	fprintf(stderr, "mashctl: quarantine: %zu message(s) purged%s\n", n,
	        n > 0 ? " (PURGE recorded)" : "");
	ex = MASHCTL_EXIT_OK;
out:
	mash_aud_free(aud);
	mash_store_close(st);
	return ex;
}

int
mashctl_quarantine(int argc, char **argv)
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
	if (strcmp(argv[1], "show") == 0)
		return cmd_show(&a);
	if (strcmp(argv[1], "purge") == 0)
		return cmd_purge(&a);
	mashctl_die(G, "unknown command '%s' (mashctl quarantine --help)",
	            argv[1]);
	return MASHCTL_EXIT_USAGE;
}
