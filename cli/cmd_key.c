/*
 * cmd_key.c - the store's key-encryption key (issue 28, crypto/atrest.h),
 * the file mashd's store_key_file names:
 *   mashctl key new --out FILE
 *   mashctl key rotate (--db STORE | --outbox FILE) --key FILE
 *                      --new-key FILE
 * Rotation re-wraps the keys under the new KEK (no row rewritten); for
 * the store it writes a KEY_CHANGE audit record in the same transaction
 * (an agent's outbox has no audit trail of its own).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "agents/outbox.h"
#include "audit/aud.h"
#include "cli/cmds.h"
#include "cli/util.h"
#include "common/clock.h"
#include "common/err.h"
#include "crypto/atrest.h"
#include "store/store.h"

#define G "key"

static void
help(FILE *f)
{
	fprintf(f,
	        "usage: mashctl key new --out FILE\n"
	        "       mashctl key rotate (--db STORE | --outbox FILE) --key "
	        "FILE --new-key FILE\n"
	        "new: write a new random key-encryption key for mashd's "
	        "store (store_key_file)\nor an agent's outbox "
	        "(agent.outbox.key_file): 64 hex digits, mode 0600.\nAn "
	        "existing file is never overwritten. Keep it off the disk "
	        "that holds the\nstore and its backups.\n"
	        "rotate: re-wrap the store's keys under --new-key (made with "
	        "key new) and\nrecord KEY_CHANGE in its audit trail; then "
	        "point store_key_file at the new\nfile. A running mashd "
	        "keeps working; it needs the new file when it restarts.\n"
	        "With --outbox, the same for an agent's outbox "
	        "(agent.outbox.key_file); stop\nthe agent first.\n"
	        "exit: 0 ok, 1 failed (file exists, store not encrypted, "
	        "write error),\n2 bad usage or a key file refused\n");
}

static int
cmd_new(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	char why[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || out == NULL || out[0] == '\0') {
		mashctl_die(G, "--out FILE is required (mashctl key --help)");
		return MASHCTL_EXIT_USAGE;
	}
	rc = mash_atrest_kek_create(out, why, sizeof(why));
	if (rc != MASH_OK) {
		mashctl_die(G, "%s", why[0] ? why : mash_strerror(rc));
		return MASHCTL_EXIT_FAIL;
	}
	printf("%s\n", out);
	fprintf(stderr,
	        "mashctl: key: key written; give it to mashd with "
	        "store_key_file = \"%s\"; (or to an agent as "
	        "agent.outbox.key_file)\n",
	        out);
	return MASHCTL_EXIT_OK;
}

/* Re-wrap and record, all or nothing. */
static int
rotate(struct mash_store *st, const uint8_t *new_kek)
{
	struct mash_aud *aud = NULL;
	struct mash_aud_record rec;
	uint64_t seq = 0;
	int rc;

	rc = mash_aud_open(st, mash_clock_system(), NULL, &aud);
	if (rc != MASH_OK)
		return rc;
	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.type = MASH_AUD_KEY_CHANGE;
	rec.actor = "mashctl";
	rec.reason = "store key-encryption key rotated";
	rec.extra_json = "{\"key\":\"store_key_file\",\"change\":\"rotated\"}";
	rc = mash_store_rekey(st, new_kek);
	if (rc == MASH_OK)
		rc = mash_aud_append(aud, &rec, &seq);
	if (rc == MASH_OK)
		rc = mash_store_commit(st);
	else
		(void)mash_store_rollback(st);
	if (rc == MASH_OK)
		fprintf(stderr,
		        "mashctl: key: rotated; audit record %llu "
		        "(KEY_CHANGE)\n",
		        (unsigned long long)seq);
out:
	mash_aud_free(aud);
	return rc;
}

/* An agent's outbox: it must exist and be encrypted already. */
static int
rotate_outbox(const char *path, const char *key, const uint8_t *old_kek,
              const uint8_t *new_kek)
{
	struct mash_outbox_cfg cfg;
	struct stat sb;
	struct mash_outbox *ob = NULL;
	int rc;

	if (stat(path, &sb) != 0) {
		mashctl_die(G, "%s: no such outbox", path);
		return MASHCTL_EXIT_USAGE;
	}
	memset(&cfg, 0, sizeof(cfg));
	/* Without a key an encrypted outbox does not open (and a clear one
	 * would, untouched): the way to ask which it is. */
	rc = mash_outbox_open(path, &cfg, &ob);
	mash_outbox_close(ob);
	ob = NULL;
	if (rc == MASH_OK) {
		mashctl_die(G,
		            "%s is not encrypted at rest: run the agent "
		            "with agent.outbox.key_file first",
		            path);
		return MASHCTL_EXIT_FAIL;
	}
	cfg.kek = old_kek;
	rc = mash_outbox_open(path, &cfg, &ob);
	if (rc == MASH_ERR_DECRYPT) {
		mashctl_die(G, "%s is not the key of outbox %s", key, path);
		return MASHCTL_EXIT_USAGE;
	}
	if (rc == MASH_OK)
		rc = mash_outbox_rekey(ob, new_kek);
	mash_outbox_close(ob);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s (nothing changed)", path,
		            mash_strerror(rc));
		return MASHCTL_EXIT_FAIL;
	}
	fprintf(stderr,
	        "mashctl: key: outbox %s rotated; set "
	        "agent.outbox.key_file to the new file\n",
	        path);
	return MASHCTL_EXIT_OK;
}

static int
cmd_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"outbox", required_argument, NULL, 'o'},
	    {"key", required_argument, NULL, 'k'},
	    {"new-key", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *db = NULL, *outbox = NULL, *key = NULL, *nkey = NULL;
	uint8_t old_kek[MASH_ATREST_KEK_LEN], new_kek[MASH_ATREST_KEK_LEN];
	struct mash_store *st = NULL;
	char why[512];
	int c, rc, ex = MASHCTL_EXIT_USAGE;

	memset(old_kek, 0, sizeof(old_kek));
	memset(new_kek, 0, sizeof(new_kek));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'o':
			outbox = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'n':
			nkey = optarg;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind != argc || (db == NULL) == (outbox == NULL) || key == NULL ||
	    nkey == NULL) {
		mashctl_die(G, "--db or --outbox, --key and --new-key are "
		               "required (mashctl key --help)");
		goto out;
	}
	if (mash_atrest_kek_load(key, old_kek, why, sizeof(why)) != MASH_OK ||
	    mash_atrest_kek_load(nkey, new_kek, why, sizeof(why)) != MASH_OK) {
		mashctl_die(G, "%s", why);
		goto out;
	}
	if (CRYPTO_memcmp(old_kek, new_kek, sizeof(old_kek)) == 0) {
		mashctl_die(G,
		            "%s holds the same key as %s: make a new one "
		            "with mashctl key new",
		            nkey, key);
		goto out;
	}
	if (outbox != NULL) {
		ex = rotate_outbox(outbox, key, old_kek, new_kek);
		if (ex == MASHCTL_EXIT_OK)
			printf("%s\n", nkey);
		goto out;
	}
	/* An existing, encrypted store only: rotation never creates one,
	 * nor encrypts one. */
	ex = mashctl_store_open(G, db, old_kek, key, 0, &st);
	if (ex != MASHCTL_EXIT_OK)
		goto out;
	ex = MASHCTL_EXIT_FAIL;
	rc = rotate(st, new_kek);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: %s (nothing changed)", db,
		            mash_strerror(rc));
		goto out;
	}
	printf("%s\n", nkey);
	ex = MASHCTL_EXIT_OK;
out:
	OPENSSL_cleanse(old_kek, sizeof(old_kek));
	OPENSSL_cleanse(new_kek, sizeof(new_kek));
	mash_store_close(st);
	return ex;
}

int
mashctl_key(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		help(argc < 2 ? stderr : stdout);
		return argc < 2 ? MASHCTL_EXIT_USAGE : MASHCTL_EXIT_OK;
	}
	if (strcmp(argv[1], "new") == 0)
		return cmd_new(argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return cmd_rotate(argc - 1, argv + 1);
	mashctl_die(G, "unknown command '%s' (mashctl key --help)", argv[1]);
	return MASHCTL_EXIT_USAGE;
}
