/*
 * cmd_trust.c - mashctl trust add|revoke|list --store DIR
 *                 [--signer S --key-id K --pub FILE] [--db STORE]
 * With --db, add and revoke also write a KEY_CHANGE audit record to that
 * store at once (issue 28); mashd writes its own when a SIGHUP puts the
 * change in force (daemon/trust_audit.c).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit/aud.h"
#include "cli/cmds.h"
#include "cli/util.h"
#include "common/clock.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/str.h"
#include "crypto/trust.h"
#include "store/store.h"

#define G "trust"

static void
help(FILE *f)
{
	fprintf(
	    f, "usage: mashctl trust add    --store DIR --signer S --key-id K "
	       "--pub FILE\n"
	       "       mashctl trust revoke --store DIR --signer S --key-id K\n"
	       "       mashctl trust list   --store DIR\n"
	       "The trust store is a directory: DIR/<signer>/<key_id>.pub.pem "
	       "and, once\nrevoked, DIR/<signer>/<key_id>.revoked. Key ids are "
	       "never reused.\nlist prints one line per key: signer, key id, "
	       "active|revoked, revocation time.\n"
	       "--db STORE (add, revoke): record the change as KEY_CHANGE in "
	       "that store's\naudit trail now; mashd records it again when "
	       "a SIGHUP puts it in force.\n"
	       "exit: 0 ok, 1 failed (exists, unknown key, not recorded), 2 "
	       "bad usage or\nunreadable input\n");
}

/* KEY_CHANGE for what mashctl just did to the trust store dir. */
static int
record(struct mash_store *st, const char *dir, const char *verb,
       const char *signer, const char *key_id)
{
	struct mash_aud *aud = NULL;
	struct mash_aud_record rec;
	char extra[512];
	uint64_t seq = 0;
	int rc;

	rc = mash_snprintf(extra, sizeof(extra),
	                   "{\"signer\":\"%s\",\"key_id\":\"%s\","
	                   "\"change\":\"%s\",\"by\":\"mashctl trust\"}",
	                   signer, key_id,
	                   strcmp(verb, "add") == 0 ? "added" : "revoked");
	if (rc == MASH_OK)
		rc = mash_aud_open(st, mash_clock_system(), NULL, &aud);
	if (rc != MASH_OK)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.type = MASH_AUD_KEY_CHANGE;
	rec.actor = "mashctl";
	rec.reason = "trust store changed";
	rec.extra_json = extra;
	rc = mash_store_begin(st);
	if (rc == MASH_OK) {
		rc = mash_aud_append(aud, &rec, &seq);
		if (rc == MASH_OK)
			rc = mash_store_commit(st);
		else
			(void)mash_store_rollback(st);
	}
	if (rc == MASH_OK)
		fprintf(stderr,
		        "mashctl: trust: recorded as audit record %llu "
		        "(KEY_CHANGE)\n",
		        (unsigned long long)seq);
	mash_aud_free(aud);
	(void)dir;
	return rc;
}

static int
list(const char *store)
{
	struct mash_trust *t = NULL;
	struct mash_trust_info info;
	char why[512], when[32];
	size_t i;
	int rc;

	rc = mash_trust_load(store, &t, why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s", why[0] ? why : mash_strerror(rc));
		return MASHCTL_EXIT_USAGE;
	}
	for (i = 0; i < mash_trust_count(t); i++) {
		(void)mash_trust_get(t, i, &info);
		if (info.revoked) {
			if (mash_dt_format_iso(info.revoked_at_ms, when,
			                       sizeof(when)) != MASH_OK)
				when[0] = '\0';
			printf("%s\t%s\trevoked\t%s\n", info.signer,
			       info.key_id, when);
		} else {
			printf("%s\t%s\tactive\n", info.signer, info.key_id);
		}
	}
	mash_trust_free(t);
	return MASHCTL_EXIT_OK;
}

int
mashctl_trust(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"store", required_argument, NULL, 'd'},
	    {"signer", required_argument, NULL, 's'},
	    {"key-id", required_argument, NULL, 'k'},
	    {"pub", required_argument, NULL, 'p'},
	    {"db", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *verb, *store = NULL, *signer = NULL, *key_id = NULL,
	                  *pub = NULL, *db = NULL;
	struct mash_store *st = NULL;
	struct stat sb;
	char why[512];
	int c, rc, ex;

	if (argc < 2) {
		help(stderr);
		return MASHCTL_EXIT_USAGE;
	}
	verb = argv[1];
	if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		help(stdout);
		return MASHCTL_EXIT_OK;
	}
	if (strcmp(verb, "add") != 0 && strcmp(verb, "revoke") != 0 &&
	    strcmp(verb, "list") != 0) {
		mashctl_die(G, "unknown verb \"%s\" (add, revoke or list)",
		            verb);
		return MASHCTL_EXIT_USAGE;
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			store = optarg;
			break;
		case 's':
			signer = optarg;
			break;
		case 'k':
			key_id = optarg;
			break;
		case 'p':
			pub = optarg;
			break;
		case 'D':
			db = optarg;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || store == NULL) {
		mashctl_die(G,
		            "%s: --store DIR is required (mashctl trust "
		            "--help)",
		            verb);
		return MASHCTL_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0)
		return list(store);
	if (signer == NULL || key_id == NULL ||
	    (strcmp(verb, "add") == 0) != (pub != NULL)) {
		mashctl_die(G, "%s: needs --signer and --key-id%s", verb,
		            strcmp(verb, "add") == 0 ? " and --pub FILE"
		                                     : " (and no --pub)");
		return MASHCTL_EXIT_USAGE;
	}
	/* The audit store first: a change that would not be recorded as
	 * asked is not made. Recording needs no key (no sealed column). */
	if (db != NULL) {
		const char *file = mash_store_url_file(db);

		if ((file != NULL && stat(file, &sb) != 0) ||
		    mash_store_open(db, &st) != MASH_OK) {
			mashctl_die(G,
			            "%s: --db %s: no such store (nothing "
			            "changed)",
			            verb, db);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (strcmp(verb, "add") == 0)
		rc = mash_trust_add(store, signer, key_id, pub, why,
		                    sizeof(why));
	else
		rc = mash_trust_revoke(store, signer, key_id,
		                       mash_clock_system(), why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s", verb,
		            why[0] ? why : mash_strerror(rc));
		ex = mashctl_exit_for(rc);
		goto out;
	}
	fprintf(stderr, "mashctl: trust: %s %s/%s in %s\n",
	        strcmp(verb, "add") == 0 ? "added" : "revoked", signer, key_id,
	        store);
	ex = MASHCTL_EXIT_OK;
	if (st != NULL) {
		rc = record(st, store, verb, signer, key_id);
		if (rc != MASH_OK) {
			mashctl_die(G,
			            "%s: done, but not recorded in %s (%s); "
			            "mashd records it at its next SIGHUP",
			            verb, db, mash_strerror(rc));
			ex = MASHCTL_EXIT_FAIL;
		}
	} else {
		fprintf(stderr,
		        "mashctl: trust: mashd records the change "
		        "(KEY_CHANGE) when a SIGHUP puts it in force\n");
	}
out:
	mash_store_close(st);
	return ex;
}
