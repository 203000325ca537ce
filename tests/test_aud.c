/* Unit tests for audit/aud: appending records to a real SQLite file,
 * canonical encoding, no sensitive data, tree state across reopen and
 * rollback, group commit, checkpoints. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sqlite3.h>

#include "audit/aud.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
#include "mash/v1/mash.pb-c.h"
#include "store/store.h"
#include "store/store_test.h"

#define H MASH_MERKLE_HASH_LEN

static char dbpath[256];
static char tmpdir[128];
static struct mash_store *store;
static sqlite3 *db; /* store's connection, for checks of what is stored */
static int64_t now_ms;
static struct mash_clock clk;

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_aud.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/mash.db", tmpdir);
	ck_assert_int_eq(mash_store_open(dbpath, &store), MASH_OK);
	db = mash_store_sqlite(store);
	now_ms = 1790000000000;
	mash_clock_manual(&clk, &now_ms);
}

static void
teardown(void)
{
	char cmd[512];

	mash_store_close(store);
	store = NULL;
	db = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "teardown: could not remove %s\n", tmpdir);
}

static struct mash_aud *
open_log(void)
{
	struct mash_aud *aud = NULL;

	ck_assert_int_eq(mash_aud_open(store, &clk, "test-log", &aud), MASH_OK);
	ck_assert_ptr_nonnull(aud);
	return aud;
}

static void
received(struct mash_aud_record *r, const char *event_id)
{
	memset(r, 0, sizeof(*r));
	r->type = MASH_AUD_EVENT_RECEIVED;
	r->actor = "police";
	r->agency = "police";
	r->case_id = "case-1";
	r->event_id = event_id;
}

/* All stored leaf hashes, in seq order, recomputed from the stored bytes;
 * checks each against the stored hash. Returns the count. */
static size_t
stored_leaves(unsigned char (*out)[H], size_t max)
{
	sqlite3_stmt *st;
	size_t n = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "SELECT seq, record, leaf_hash FROM"
	                                    " audit_log ORDER BY seq",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < max) {
		ck_assert_int_eq(sqlite3_column_int64(st, 0), (int64_t)n + 1);
		ck_assert_int_eq(
		    mash_merkle_leaf_hash(sqlite3_column_blob(st, 1),
		                          (size_t)sqlite3_column_bytes(st, 1),
		                          out[n]),
		    MASH_OK);
		ck_assert_int_eq(sqlite3_column_bytes(st, 2), H);
		ck_assert_mem_eq(sqlite3_column_blob(st, 2), out[n], H);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

START_TEST(open_creates_tables_and_an_empty_tree)
{
	struct mash_aud *aud = open_log();
	unsigned char root[H], empty[H];
	uint64_t size = 99;

	ck_assert_int_eq(mash_aud_tree(aud, &size, root), MASH_OK);
	ck_assert_uint_eq(size, 0);
	SHA256((const unsigned char *)"", 0, empty);
	ck_assert_mem_eq(root, empty, H);
	ck_assert_str_eq(mash_aud_log_id(aud), "test-log");
	mash_aud_free(aud);
}
END_TEST

START_TEST(append_assigns_contiguous_seq_from_one)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	uint64_t seq, i;

	for (i = 1; i <= 5; i++) {
		received(&r, "e-1");
		ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
		ck_assert_uint_eq(seq, i);
	}
	mash_aud_free(aud);
}
END_TEST

START_TEST(encoding_is_compact_sorted_and_versioned)
{
	static const char *const shared[] = {"category", "severity"};
	static const char *const withheld[] = {"summary", "subject.nhs"};
	struct mash_aud_record r;
	char *out = NULL;
	size_t len = 0;

	memset(&r, 0, sizeof(r));
	r.type = MASH_AUD_DECISION;
	r.actor = "mashd";
	r.case_id = "c-42";
	r.agency = "health";
	r.event_id = "2f1c0a6e-0d0b-4c5e-9a0e-1b2c3d4e5f60";
	r.recipient = "police.pp1";
	r.purpose = "strategy-discussion";
	r.rule_id = "health-to-police-s47";
	r.legal_basis = "children-act-1989-s47";
	r.shared = shared;
	r.n_shared = 2;
	r.withheld = withheld;
	r.n_withheld = 2;
	r.extra_json = "{\"z\":1,\"a\":\"b\"}";
	ck_assert_int_eq(mash_aud_encode(&r, 7, 1234, &out, &len), MASH_OK);
	ck_assert_str_eq(
	    out,
	    "{\"actor\":\"mashd\",\"agency\":\"health\",\"case_id\":\"c-42\","
	    "\"event_id\":\"2f1c0a6e-0d0b-4c5e-9a0e-1b2c3d4e5f60\","
	    "\"extra\":{\"a\":\"b\",\"z\":1},"
	    "\"legal_basis\":\"children-act-1989-s47\","
	    "\"purpose\":\"strategy-discussion\","
	    "\"recipient\":\"police.pp1\",\"rule_id\":\"health-to-police-s47\","
	    "\"seq\":7,\"shared\":[\"category\",\"severity\"],\"time\":1234,"
	    "\"type\":\"DECISION\",\"v\":2,"
	    "\"withheld\":[\"summary\",\"subject.nhs\"]}");
	ck_assert_uint_eq(len, strlen(out));
	mash_free(out);
}
END_TEST

/* A small deterministic generator for the round-trip test. */
static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A string of tokens chosen to stress the encoder: JSON specials, control
 * characters, DEL, slashes, multi-byte UTF-8 (U+2028 included), ten-digit
 * runs that are masked and hex digests that are not. */
static void
rnd_str(uint64_t *x, char *buf, size_t max)
{
	static const char *const tok[] = {
	    "a",
	    "Z",
	    "0",
	    "-",
	    "_",
	    ".",
	    "/",
	    " ",
	    "\"",
	    "\\",
	    "\t",
	    "\n",
	    "\r",
	    "\b",
	    "\f",
	    "\x01",
	    "\x1f",
	    "\x7f",
	    "\xc3\xa9",
	    "\xe2\x80\xa8",
	    "\xf0\x9f\x98\x80",
	    "9434765919",
	    "943 476 5919",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
	size_t n = 1 + rnd(x) % 8, len = 0, t;

	buf[0] = '\0';
	while (n-- > 0) {
		const char *s = tok[rnd(x) % (sizeof(tok) / sizeof(tok[0]))];

		t = strlen(s);
		if (len + t >= max)
			break;
		memcpy(buf + len, s, t + 1);
		len += t;
	}
	if (len == 0)
		memcpy(buf, "x", 2);
}

/* verify.c holds every stored record to jansson's own canonical dump of
 * it: whatever the values, the encoder must produce exactly that. */
START_TEST(every_record_is_jansson_canonical)
{
	char ids[8][MASH_AUD_MAX_ID], names[6][40], rules[2][40], basis[2][40];
	char reason[MASH_AUD_MAX_REASON], xs[2][32];
	const char *nv[6], *fv[2][3];
	struct mash_aud_rule_fields g[2];
	struct mash_aud_record r;
	uint64_t x = 0x9e3779b97f4a7c15u;
	int i, k;

	for (i = 0; i < 3000; i++) {
		json_t *parsed, *ex = NULL;
		char *out = NULL, *canon, *extra = NULL;
		size_t len = 0, n;

		memset(&r, 0, sizeof(r));
		r.type = (enum mash_aud_type)(
		    MASH_AUD_TYPE_MIN +
		    (int)(rnd(&x) %
		          (MASH_AUD_TYPE_MAX - MASH_AUD_TYPE_MIN + 1)));
		for (k = 0; k < 8; k++)
			rnd_str(&x, ids[k], sizeof(ids[k]));
		r.actor = ids[0];
		r.case_id = rnd(&x) % 2 ? ids[1] : NULL;
		r.agency = rnd(&x) % 2 ? ids[2] : "";
		r.event_id = rnd(&x) % 2 ? ids[3] : NULL;
		r.recipient = rnd(&x) % 2 ? ids[4] : NULL;
		r.purpose = rnd(&x) % 2 ? ids[5] : NULL;
		r.rule_id = rnd(&x) % 2 ? ids[6] : NULL;
		r.legal_basis = rnd(&x) % 2 ? ids[7] : NULL;
		for (k = 0; k < 6; k++) {
			rnd_str(&x, names[k], sizeof(names[k]));
			nv[k] = names[k];
		}
		r.shared = nv;
		r.n_shared = rnd(&x) % 4;
		r.withheld = nv + 3;
		r.n_withheld = rnd(&x) % 4;
		if (rnd(&x) % 2) {
			rnd_str(&x, reason, sizeof(reason));
			r.reason = reason;
		}
		r.n_by_rule = r.type == MASH_AUD_DECISION ? rnd(&x) % 3 : 0;
		for (k = 0; k < 2; k++) {
			rnd_str(&x, rules[k], sizeof(rules[k]));
			rnd_str(&x, basis[k], sizeof(basis[k]));
			fv[k][0] = names[k];
			fv[k][1] = names[k + 2];
			fv[k][2] = names[k + 4];
			g[k].rule_id = rules[k];
			g[k].legal_basis = rnd(&x) % 2 ? basis[k] : NULL;
			g[k].shared = (int)(rnd(&x) % 2);
			g[k].fields = fv[k];
			g[k].n_fields = 1 + rnd(&x) % 3;
		}
		r.by_rule = g;
		if (rnd(&x) % 2) {
			rnd_str(&x, xs[0], sizeof(xs[0]));
			rnd_str(&x, xs[1], sizeof(xs[1]));
			ex = json_pack("{s:s, s:I, s:[s, i, {s:s}], s:{}}",
			               "zk", xs[0], "count",
			               (json_int_t)(rnd(&x) % 99999), "list",
			               xs[1], -7, "in", xs[0], "a", NULL);
			ck_assert_ptr_nonnull(ex);
			extra = json_dumps(ex, JSON_COMPACT);
			ck_assert_ptr_nonnull(extra);
			r.extra_json = extra;
		}
		ck_assert_int_eq(mash_aud_encode(&r, 1 + (uint64_t)i,
		                                 (int64_t)(rnd(&x) % 1000000),
		                                 &out, &len),
		                 MASH_OK);
		ck_assert_uint_eq(len, strlen(out));
		parsed = json_loadb(out, len, JSON_REJECT_DUPLICATES, NULL);
		ck_assert_msg(parsed != NULL, "record %d does not parse: %s", i,
		              out);
		n = 5 + (r.case_id != NULL) + (r.agency[0] != '\0') +
		    (r.event_id != NULL) + (r.recipient != NULL) +
		    (r.purpose != NULL) + (r.rule_id != NULL) +
		    (r.legal_basis != NULL) + (r.n_shared > 0) +
		    (r.n_withheld > 0) + (r.reason != NULL) +
		    (r.n_by_rule > 0) + (ex != NULL);
		ck_assert_uint_eq(json_object_size(parsed), n);
		canon = json_dumps(parsed, JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_ptr_nonnull(canon);
		ck_assert_str_eq(out, canon);
		free(canon);
		free(extra);
		json_decref(ex);
		json_decref(parsed);
		mash_free(out);
	}
}
END_TEST

START_TEST(encoding_omits_unset_fields_and_is_stable)
{
	struct mash_aud_record r;
	char *a = NULL, *b = NULL;
	size_t la, lb;

	received(&r, "e-9");
	r.reason = "";
	ck_assert_int_eq(mash_aud_encode(&r, 1, 5, &a, &la), MASH_OK);
	ck_assert_int_eq(mash_aud_encode(&r, 1, 5, &b, &lb), MASH_OK);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, "{\"actor\":\"police\",\"agency\":\"police\","
	                    "\"case_id\":\"case-1\",\"event_id\":\"e-9\","
	                    "\"seq\":1,\"time\":5,"
	                    "\"type\":\"EVENT_RECEIVED\",\"v\":2}");
	mash_free(a);
	mash_free(b);
}
END_TEST

START_TEST(nhs_numbers_are_masked_everywhere)
{
	static const char *const names[] = {"x9434765919"};
	struct mash_aud_record r;
	char *out = NULL;
	size_t len;

	received(&r, "e-1");
	r.reason = "BAD_NHS 9434765919 and 943 476 5919 and 943-476-5919";
	r.shared = names;
	r.n_shared = 1;
	r.extra_json = "{\"nhs\":\"9434765919\",\"list\":[\"4010232137\"]}";
	ck_assert_int_eq(mash_aud_encode(&r, 1, 5, &out, &len), MASH_OK);
	ck_assert_ptr_null(strstr(out, "9434765919"));
	ck_assert_ptr_null(strstr(out, "943 476 5919"));
	ck_assert_ptr_null(strstr(out, "943-476-5919"));
	ck_assert_ptr_null(strstr(out, "4010232137"));
	ck_assert_ptr_nonnull(strstr(out, "BAD_NHS ########## and"));
	mash_free(out);
}
END_TEST

START_TEST(ids_uuids_and_times_are_not_masked)
{
	struct mash_aud_record r;
	char *out = NULL;
	size_t len;

	received(&r, "11111111-2222-3333-4444-555555555555");
	r.reason = "due 1790000000000";
	ck_assert_int_eq(mash_aud_encode(&r, 1, 5, &out, &len), MASH_OK);
	ck_assert_ptr_nonnull(
	    strstr(out, "11111111-2222-3333-4444-555555555555"));
	ck_assert_ptr_nonnull(strstr(out, "due 1790000000000"));
	mash_free(out);
}
END_TEST

START_TEST(record_holds_only_whitelisted_keys)
{
	static const char *const allowed[] = {
	    "v",       "seq",         "type",     "time",      "actor",
	    "case_id", "agency",      "event_id", "recipient", "purpose",
	    "rule_id", "legal_basis", "shared",   "withheld",  "reason",
	    "extra",   "by_rule"};
	static const char *const f[] = {"category"};
	struct mash_aud_record r;
	char *out = NULL, *p, key[64];
	size_t len, i, depth = 0, k;
	int ok;

	memset(&r, 0, sizeof(r));
	r.type = MASH_AUD_PICTURE_GRANTED;
	r.actor = "analyst.amara";
	r.case_id = "c1";
	r.agency = "social-care";
	r.event_id = "e";
	r.recipient = "analyst.amara";
	r.purpose = "mash-triage";
	r.rule_id = "r";
	r.legal_basis = "lb";
	r.shared = f;
	r.n_shared = 1;
	r.withheld = f;
	r.n_withheld = 1;
	r.reason = "x";
	r.extra_json = "{\"k\":1}";
	{
		static const struct mash_aud_rule_fields g[] = {
		    {"r", "lb", 1, f, 1}};

		r.by_rule = g;
		r.n_by_rule = 1;
	}
	ck_assert_int_eq(mash_aud_encode(&r, 3, 5, &out, &len), MASH_OK);
	/* Walk the top-level keys of the compact JSON. */
	for (p = out; *p != '\0'; p++) {
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']')
			depth--;
		else if (*p == '"' && depth == 1 &&
		         (p[-1] == '{' || p[-1] == ',')) {
			for (k = 0; p[1 + k] != '"' && k < sizeof(key) - 1; k++)
				key[k] = p[1 + k];
			key[k] = '\0';
			ok = 0;
			for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]);
			     i++)
				if (strcmp(key, allowed[i]) == 0)
					ok = 1;
			ck_assert_msg(ok, "unexpected key %s", key);
			p += k + 1;
		}
	}
	mash_free(out);
}
END_TEST

START_TEST(bad_records_are_refused_and_nothing_is_appended)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	char longreason[MASH_AUD_MAX_REASON + 2];
	unsigned char root[H];
	uint64_t seq = 77, size;

	received(&r, "e");
	r.actor = NULL;
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_ERR_INVAL);
	ck_assert_uint_eq(seq, 0);
	received(&r, "e");
	r.type = (enum mash_aud_type)99;
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_ERR_INVAL);
	received(&r, "e");
	memset(longreason, 'a', sizeof(longreason) - 1);
	longreason[sizeof(longreason) - 1] = '\0';
	r.reason = longreason;
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq),
	                 MASH_ERR_FIELD_TOO_LONG);
	received(&r, "bad\xc3");
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_ERR_BAD_UTF8);
	received(&r, "e");
	r.extra_json = "[1,2]";
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_ERR_INVAL);
	r.extra_json = "{\"x\":1.5}";
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_ERR_INVAL);
	r.extra_json = "{\"9434765919\":1}";
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_ERR_INVAL);
	r.extra_json = "{\"a\":1,\"a\":2}";
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_ERR_INVAL);
	ck_assert_int_eq(mash_aud_tree(aud, &size, root), MASH_OK);
	ck_assert_uint_eq(size, 0);
	mash_aud_free(aud);
}
END_TEST

START_TEST(reason_at_exact_maximum_is_accepted)
{
	struct mash_aud_record r;
	char reason[MASH_AUD_MAX_REASON + 1];
	char *out = NULL;
	size_t len;

	memset(reason, 'r', MASH_AUD_MAX_REASON);
	reason[MASH_AUD_MAX_REASON] = '\0';
	received(&r, "e");
	r.reason = reason;
	ck_assert_int_eq(mash_aud_encode(&r, 1, 1, &out, &len), MASH_OK);
	mash_free(out);
}
END_TEST

START_TEST(stored_leaf_is_the_canonical_bytes_and_root_matches_mth)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	unsigned char leaves[40][H], want[H], got[H];
	char id[16];
	uint64_t size;
	size_t n, i;

	for (i = 0; i < 37; i++) {
		snprintf(id, sizeof(id), "e-%zu", i);
		received(&r, id);
		ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	}
	n = stored_leaves(leaves, 40);
	ck_assert_uint_eq(n, 37);
	ck_assert_int_eq(
	    mash_merkle_root((const unsigned char(*)[H])leaves, n, want),
	    MASH_OK);
	ck_assert_int_eq(mash_aud_tree(aud, &size, got), MASH_OK);
	ck_assert_uint_eq(size, 37);
	ck_assert_mem_eq(got, want, H);
	mash_aud_free(aud);
}
END_TEST

START_TEST(time_comes_from_injected_clock_unless_given)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	sqlite3_stmt *st;

	received(&r, "e");
	now_ms = 1800000000123;
	ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	r.time_ms = 42;
	ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "SELECT time_ms FROM audit_log"
	                                    " ORDER BY seq",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(st, 0), 1800000000123);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(st, 0), 42);
	sqlite3_finalize(st);
	mash_aud_free(aud);
}
END_TEST

START_TEST(tree_state_survives_reopen)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	unsigned char leaves[20][H], want[H], got[H];
	uint64_t seq, size;
	size_t i, n;

	received(&r, "e");
	for (i = 0; i < 11; i++)
		ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	mash_aud_free(aud);
	mash_store_close(store);
	ck_assert_int_eq(mash_store_open(dbpath, &store), MASH_OK);
	db = mash_store_sqlite(store);
	/* The stored id wins over a new one on reopen. */
	ck_assert_int_eq(mash_aud_open(store, &clk, "other", &aud), MASH_OK);
	ck_assert_str_eq(mash_aud_log_id(aud), "test-log");
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_uint_eq(seq, 12);
	n = stored_leaves(leaves, 20);
	ck_assert_uint_eq(n, 12);
	ck_assert_int_eq(
	    mash_merkle_root((const unsigned char(*)[H])leaves, n, want),
	    MASH_OK);
	ck_assert_int_eq(mash_aud_tree(aud, &size, got), MASH_OK);
	ck_assert_mem_eq(got, want, H);
	mash_aud_free(aud);
}
END_TEST

START_TEST(rolled_back_transaction_leaves_no_trace)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	uint64_t seq;

	received(&r, "e");
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_uint_eq(seq, 2);
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_uint_eq(seq, 3);
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	                 SQLITE_OK);
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_uint_eq(seq, 2);
	mash_aud_free(aud);
}
END_TEST

START_TEST(group_commit_of_32_appends_in_one_transaction)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	unsigned char leaves[70][H], want[H], got[H];
	uint64_t seq, size;
	int b, i;

	received(&r, "e");
	for (b = 0; b < 2; b++) {
		ck_assert_int_eq(
		    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
		    SQLITE_OK);
		for (i = 0; i < 32; i++) {
			ck_assert_int_eq(mash_aud_append(aud, &r, &seq),
			                 MASH_OK);
			ck_assert_uint_eq(seq, (uint64_t)(b * 32 + i + 1));
		}
		ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
		                 SQLITE_OK);
	}
	ck_assert_uint_eq(stored_leaves(leaves, 70), 64);
	ck_assert_int_eq(
	    mash_merkle_root((const unsigned char(*)[H])leaves, 64, want),
	    MASH_OK);
	ck_assert_int_eq(mash_aud_tree(aud, &size, got), MASH_OK);
	ck_assert_mem_eq(got, want, H);
	mash_aud_free(aud);
}
END_TEST

START_TEST(type_names_round_trip_for_every_type)
{
	enum mash_aud_type t;
	int i;

	for (i = MASH_AUD_TYPE_MIN; i <= MASH_AUD_TYPE_MAX; i++) {
		ck_assert_ptr_nonnull(
		    mash_aud_type_name((enum mash_aud_type)i));
		ck_assert_int_eq(
		    mash_aud_type_parse(
		        mash_aud_type_name((enum mash_aud_type)i), &t),
		    MASH_OK);
		ck_assert_int_eq((int)t, i);
	}
	ck_assert_ptr_null(mash_aud_type_name((enum mash_aud_type)0));
	ck_assert_int_eq(mash_aud_type_parse("decision", &t),
	                 MASH_ERR_BAD_ENUM);
	ck_assert_str_eq(mash_aud_type_name(MASH_AUD_BREAK_GLASS),
	                 "BREAK_GLASS");
}
END_TEST

/* A test signer: Ed25519 over the envelope signing context, packed as a
 * SignedEnvelope, with a key generated per test. */
struct test_signer {
	EVP_PKEY *pkey;
	int fail;
};

static int
test_seal(void *ctx, const char *type, const unsigned char *payload, size_t len,
          unsigned char **env, size_t *env_len)
{
	struct test_signer *ts = ctx;
	Mash__V1__SignedEnvelope e = MASH__V1__SIGNED_ENVELOPE__INIT;
	unsigned char sig[64], *msg, *out;
	size_t siglen = sizeof(sig), mlen, tl = strlen(type);
	EVP_MD_CTX *md;

	if (ts->fail)
		return MASH_ERR_CRYPTO;
	md = EVP_MD_CTX_new();
	mlen = 17 + tl + 1 + len;
	msg = malloc(mlen);
	memcpy(msg, "mash.v1.envelope\n", 17);
	memcpy(msg + 17, type, tl);
	msg[17 + tl] = '\n';
	memcpy(msg + 18 + tl, payload, len);
	ck_assert_int_eq(EVP_DigestSignInit(md, NULL, NULL, NULL, ts->pkey), 1);
	ck_assert_int_eq(EVP_DigestSign(md, sig, &siglen, msg, mlen), 1);
	EVP_MD_CTX_free(md);
	free(msg);
	e.version = 1;
	e.signer = "mashd";
	e.key_id = "mashd-1";
	e.payload_type = (char *)type;
	e.payload.data = (uint8_t *)payload;
	e.payload.len = len;
	e.signature.data = sig;
	e.signature.len = siglen;
	*env_len = mash__v1__signed_envelope__get_packed_size(&e);
	out = mash_malloc(*env_len);
	mash__v1__signed_envelope__pack(&e, out);
	*env = out;
	return MASH_OK;
}

static void
signer_init(struct test_signer *ts, struct mash_aud_signer *s)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

	memset(ts, 0, sizeof(*ts));
	ck_assert_int_eq(EVP_PKEY_keygen_init(pc), 1);
	ck_assert_int_eq(EVP_PKEY_keygen(pc, &ts->pkey), 1);
	EVP_PKEY_CTX_free(pc);
	s->seal = test_seal;
	s->ctx = ts;
}

START_TEST(checkpoint_signs_current_tree_and_records_it)
{
	struct mash_aud *aud = open_log();
	struct test_signer ts;
	struct mash_aud_signer s;
	struct mash_aud_record r;
	Mash__V1__SignedEnvelope *e;
	Mash__V1__AuditCheckpoint *cp;
	unsigned char root[H], *env = NULL, *latest = NULL;
	size_t len = 0, llen = 0;
	uint64_t size, seq;

	signer_init(&ts, &s);
	received(&r, "e");
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	ck_assert_int_eq(mash_aud_tree(aud, &size, root), MASH_OK);
	ck_assert_int_eq(mash_aud_checkpoint(aud, &s, &env, &len), MASH_OK);
	ck_assert_ptr_nonnull(env);
	e = mash__v1__signed_envelope__unpack(NULL, len, env);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->payload_type, "mash.v1.AuditCheckpoint");
	cp = mash__v1__audit_checkpoint__unpack(NULL, e->payload.len,
	                                        e->payload.data);
	ck_assert_ptr_nonnull(cp);
	ck_assert_str_eq(cp->log_id, "test-log");
	ck_assert_uint_eq(cp->tree_size, 5);
	ck_assert_uint_eq(cp->root_hash.len, H);
	ck_assert_mem_eq(cp->root_hash.data, root, H);
	ck_assert_int_eq(cp->timestamp, now_ms);
	mash__v1__audit_checkpoint__free_unpacked(cp, NULL);
	mash__v1__signed_envelope__free_unpacked(e, NULL);
	/* A CHECKPOINT record follows, outside the signed size. */
	ck_assert_int_eq(mash_aud_tree(aud, &size, root), MASH_OK);
	ck_assert_uint_eq(size, 6);
	ck_assert_int_eq(mash_aud_latest_checkpoint(aud, &latest, &llen),
	                 MASH_OK);
	ck_assert_uint_eq(llen, len);
	ck_assert_mem_eq(latest, env, len);
	mash_free(latest);
	mash_free(env);
	/* Nothing new: no second checkpoint. */
	ck_assert_int_eq(mash_aud_checkpoint(aud, &s, &env, &len), MASH_OK);
	ck_assert_ptr_null(env);
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_uint_eq(seq, 7);
	EVP_PKEY_free(ts.pkey);
	mash_aud_free(aud);
}
END_TEST

START_TEST(checkpoint_due_after_n_records_or_t_ms)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_checkpoint_policy pol = {4, 60000};
	struct test_signer ts;
	struct mash_aud_signer s;
	struct mash_aud_record r;
	unsigned char *env = NULL;
	size_t len;
	int i;

	signer_init(&ts, &s);
	ck_assert_int_eq(mash_aud_checkpoint_due(aud, &pol), 0);
	received(&r, "e");
	ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	/* Never checkpointed and not empty: due. */
	ck_assert_int_eq(mash_aud_checkpoint_due(aud, &pol), 1);
	ck_assert_int_eq(mash_aud_checkpoint(aud, &s, &env, &len), MASH_OK);
	mash_free(env);
	ck_assert_int_eq(mash_aud_checkpoint_due(aud, &pol), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	ck_assert_int_eq(mash_aud_checkpoint_due(aud, &pol), 0);
	ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	ck_assert_int_eq(mash_aud_checkpoint_due(aud, &pol), 1);
	ck_assert_int_eq(mash_aud_checkpoint(aud, &s, &env, &len), MASH_OK);
	mash_free(env);
	ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	ck_assert_int_eq(mash_aud_checkpoint_due(aud, &pol), 0);
	now_ms += 60000;
	ck_assert_int_eq(mash_aud_checkpoint_due(aud, &pol), 1);
	EVP_PKEY_free(ts.pkey);
	mash_aud_free(aud);
}
END_TEST

START_TEST(failed_signature_stores_no_checkpoint)
{
	struct mash_aud *aud = open_log();
	struct test_signer ts;
	struct mash_aud_signer s;
	struct mash_aud_record r;
	unsigned char *env = NULL, root[H];
	size_t len = 5;
	uint64_t size;

	signer_init(&ts, &s);
	ts.fail = 1;
	received(&r, "e");
	ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	ck_assert_int_eq(mash_aud_checkpoint(aud, &s, &env, &len),
	                 MASH_ERR_CRYPTO);
	ck_assert_ptr_null(env);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(mash_aud_latest_checkpoint(aud, &env, &len),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_int_eq(mash_aud_tree(aud, &size, root), MASH_OK);
	ck_assert_uint_eq(size, 1);
	EVP_PKEY_free(ts.pkey);
	mash_aud_free(aud);
}
END_TEST

START_TEST(append_fails_cleanly_when_allocation_fails)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_record r;
	unsigned char root[H];
	uint64_t seq = 1, size;
	long n;
	int rc;

	received(&r, "e");
	/* Fail the Nth of our own allocations: append either succeeds or
	 * reports NOMEM and stores nothing. */
	for (n = 0; n < 6; n++) {
		ck_assert_int_eq(mash_aud_tree(aud, &size, root), MASH_OK);
		mash_mem_fail_after(n);
		rc = mash_aud_append(aud, &r, &seq);
		mash_mem_fail_after(-1);
		if (rc != MASH_OK) {
			ck_assert_int_eq(rc, MASH_ERR_NOMEM);
			ck_assert_uint_eq(seq, 0);
			ck_assert_int_eq(mash_aud_tree(aud, &size, root),
			                 MASH_OK);
		}
	}
	ck_assert_int_eq(mash_aud_tree(aud, &size, root), MASH_OK);
	ck_assert_int_eq(mash_aud_append(aud, &r, &seq), MASH_OK);
	ck_assert_uint_eq(seq, size + 1);
	mash_aud_free(aud);
}
END_TEST

/* ---- verify ------------------------------------------------------- */

static int
test_open(void *ctx, const unsigned char *env, size_t len,
          unsigned char **payload, size_t *plen, char *why, size_t whylen)
{
	struct test_signer *ts = ctx;
	Mash__V1__SignedEnvelope *e;
	EVP_MD_CTX *md;
	unsigned char *msg;
	size_t tl, mlen;
	int ok;

	*payload = NULL;
	*plen = 0;
	e = mash__v1__signed_envelope__unpack(NULL, len, env);
	if (e == NULL) {
		snprintf(why, whylen, "not an envelope");
		return MASH_ERR_DECODE;
	}
	tl = strlen(e->payload_type);
	mlen = 17 + tl + 1 + e->payload.len;
	msg = malloc(mlen);
	memcpy(msg, "mash.v1.envelope\n", 17);
	memcpy(msg + 17, e->payload_type, tl);
	msg[17 + tl] = '\n';
	memcpy(msg + 18 + tl, e->payload.data, e->payload.len);
	md = EVP_MD_CTX_new();
	ok = EVP_DigestVerifyInit(md, NULL, NULL, NULL, ts->pkey) == 1 &&
	     EVP_DigestVerify(md, e->signature.data, e->signature.len, msg,
	                      mlen) == 1;
	EVP_MD_CTX_free(md);
	free(msg);
	if (ok) {
		*payload = mash_malloc(e->payload.len);
		memcpy(*payload, e->payload.data, e->payload.len);
		*plen = e->payload.len;
	} else {
		snprintf(why, whylen, "signer mashd key mashd-1");
	}
	mash__v1__signed_envelope__free_unpacked(e, NULL);
	return ok ? MASH_OK : MASH_ERR_BAD_SIGNATURE;
}

/* 15 records; checkpoints at tree sizes 5 and 11 (records 6 and 12 are
 * their CHECKPOINT records). */
static void
build_log(struct test_signer *ts, struct mash_aud_opener *op)
{
	struct mash_aud *aud = open_log();
	struct mash_aud_signer s;
	struct mash_aud_record r;
	unsigned char *env;
	size_t len;
	char id[32], cs[32];
	int i;

	signer_init(ts, &s);
	op->open = test_open;
	op->ctx = ts;
	for (i = 1; i <= 15; i++) {
		if (i == 6 || i == 12) {
			ck_assert_int_eq(
			    mash_aud_checkpoint(aud, &s, &env, &len), MASH_OK);
			ck_assert_ptr_nonnull(env);
			mash_free(env);
			continue;
		}
		snprintf(id, sizeof(id), "event-%d", i);
		snprintf(cs, sizeof(cs), "case-%d", i % 3);
		received(&r, id);
		r.case_id = cs;
		now_ms += 1000;
		ck_assert_int_eq(mash_aud_append(aud, &r, NULL), MASH_OK);
	}
	mash_aud_free(aud);
}

static int
verify_db(const struct mash_aud_opener *op, struct mash_aud_verify_result *res)
{
	return mash_aud_verify(store, op, res);
}

static void
exec_ok(const char *sql)
{
	char *err = NULL;

	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &err) == SQLITE_OK,
	              "%s: %s", sql, err ? err : "");
}

START_TEST(verify_passes_an_intact_log_and_checks_each_checkpoint)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;
	unsigned char leaves[20][H], want[H];

	build_log(&ts, &op);
	ck_assert_int_eq(verify_db(&op, &res), MASH_OK);
	ck_assert_uint_eq(res.records, 15);
	ck_assert_uint_eq(res.checkpoints, 2);
	ck_assert_int_eq(res.signatures_checked, 1);
	ck_assert_uint_eq(res.tree_size, 15);
	ck_assert_uint_eq(stored_leaves(leaves, 20), 15);
	mash_merkle_root((const unsigned char(*)[H])leaves, 15, want);
	ck_assert_mem_eq(res.root, want, H);
	/* Without an opener, roots are still checked. */
	ck_assert_int_eq(verify_db(NULL, &res), MASH_OK);
	ck_assert_int_eq(res.signatures_checked, 0);
	ck_assert_uint_eq(res.checkpoints, 2);
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_an_altered_record)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	exec_ok("UPDATE audit_log SET record = replace(record, 'event-4',"
	        " 'event-X') WHERE seq = 4");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 4);
	ck_assert_str_eq(res.why, "seq 4: leaf hash mismatch (record altered)");
	EVP_PKEY_free(ts.pkey);
}
END_TEST

/* An attacker who also recomputes the leaf hash and the indexed columns
 * is caught by the signed checkpoint covering the record. */
START_TEST(verify_catches_altered_record_with_recomputed_hash_by_checkpoint)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;
	sqlite3_stmt *st;
	char *rec = NULL;
	size_t len;
	unsigned char leaf[H];

	build_log(&ts, &op);
	ck_assert_int_eq(mash_aud_record_bytes(store, 8, &rec, &len), MASH_OK);
	ck_assert_ptr_nonnull(strstr(rec, "\"agency\":\"police\""));
	memcpy(strstr(rec, "\"agency\":\"police\"") + 10, "health", 6);
	mash_merkle_leaf_hash(rec, len, leaf);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
	                                    "UPDATE audit_log SET record = ?1,"
	                                    " leaf_hash = ?2, agency = 'health'"
	                                    " WHERE seq = 8",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, rec, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, leaf, H, SQLITE_STATIC);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	mash_free(rec);
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_int_eq(res.bad_checkpoint, 2);
	ck_assert_ptr_nonnull(strstr(res.why, "checkpoint 2 (tree_size 11) "
	                                      "does not match"));
	ck_assert_ptr_nonnull(strstr(res.why, "seq 6..11"));
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_an_altered_index_column)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	exec_ok("UPDATE audit_log SET case_id = 'case-hidden' WHERE seq = 9");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 9);
	ck_assert_str_eq(res.why,
	                 "seq 9: column case_id differs from the record "
	                 "(altered)");
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_a_deleted_record)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	exec_ok("DELETE FROM audit_log WHERE seq = 4");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 4);
	ck_assert_ptr_nonnull(strstr(res.why, "seq 4 missing"));
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_records_deleted_from_the_end)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	exec_ok("DELETE FROM audit_log WHERE seq >= 14");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 14);
	ck_assert_ptr_nonnull(strstr(res.why, "seq 14 missing: the log ends "
	                                      "at seq 13"));
	/* Deleting back past a checkpoint: the checkpoint says so. */
	exec_ok("DELETE FROM audit_log WHERE seq >= 10");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 10);
	ck_assert_ptr_nonnull(strstr(res.why, "checkpoint 2 covers 11"));
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_a_record_inserted_at_the_end)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	exec_ok("INSERT INTO audit_log SELECT 16, type, time_ms, actor,"
	        " case_id, agency, event_id, recipient,"
	        " replace(record, '\"seq\":15', '\"seq\":16'), leaf_hash"
	        " FROM audit_log WHERE seq = 15");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 16);
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_a_record_inserted_in_the_middle)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	/* Shift 8..15 up by one and insert a copy of 7 at 8, as an attacker
	 * with the sqlite3 CLI would (leaf hash copied along). */
	exec_ok("UPDATE audit_log SET seq = -seq WHERE seq >= 8");
	exec_ok("UPDATE audit_log SET seq = 1 - seq WHERE seq < 0");
	exec_ok("INSERT INTO audit_log SELECT 8, type, time_ms, actor,"
	        " case_id, agency, event_id, recipient, record, leaf_hash"
	        " FROM audit_log WHERE seq = 7");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 8);
	ck_assert_str_eq(res.why, "seq 8: extra record: seq 7 and seq 8 both "
	                          "claim seq 7 (a record was inserted there "
	                          "and later ones renumbered)");
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_swapped_records)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	exec_ok("UPDATE audit_log SET seq = -1 WHERE seq = 3");
	exec_ok("UPDATE audit_log SET seq = 3 WHERE seq = 9");
	exec_ok("UPDATE audit_log SET seq = 9 WHERE seq = -1");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_uint_eq(res.bad_seq, 3);
	ck_assert_str_eq(res.why,
	                 "seq 3: out of order: the record carries seq 9 "
	                 "(records reordered, swapped or renumbered)");
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_a_checkpoint_with_a_broken_signature)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	/* Set the last byte of the signature (the top of S, always < 0x20)
	 * to 0xff: S >= L never verifies. */
	exec_ok("UPDATE audit_checkpoints SET envelope = substr(envelope, 1,"
	        " length(envelope) - 1) || x'ff' WHERE id = 1");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_int_eq(res.bad_checkpoint, 1);
	ck_assert_ptr_nonnull(strstr(res.why, "checkpoint 1 (tree_size 5): "
	                                      "signature does not verify"));
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_names_a_checkpoint_whose_columns_were_changed)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_verify_result res;

	build_log(&ts, &op);
	exec_ok("UPDATE audit_checkpoints SET root_hash = zeroblob(32)"
	        " WHERE id = 2");
	ck_assert_int_eq(verify_db(&op, &res), MASH_ERR_TAMPERED);
	ck_assert_int_eq(res.bad_checkpoint, 2);
	ck_assert_ptr_nonnull(strstr(res.why, "stored columns differ"));
	EVP_PKEY_free(ts.pkey);
}
END_TEST

START_TEST(verify_reports_unreadable_database)
{
	struct mash_aud_verify_result res;

	/* No audit tables at all. */
	ck_assert_int_eq(verify_db(NULL, &res), MASH_ERR_STORE);
	ck_assert_ptr_nonnull(strstr(res.why, "no audit tables"));
}
END_TEST

START_TEST(leaves_and_latest_checkpoint_give_a_provable_inclusion)
{
	struct test_signer ts;
	struct mash_aud_opener op;
	struct mash_aud_checkpoint_info ci;
	unsigned char(*leaves)[H] = NULL;
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][H], root[H];
	char why[128];
	size_t plen;

	build_log(&ts, &op);
	ck_assert_int_eq(
	    mash_aud_latest_signed(store, &op, &ci, why, sizeof(why)), MASH_OK);
	ck_assert_uint_eq(ci.tree_size, 11);
	ck_assert_int_eq(mash_aud_leaves(store, ci.tree_size, &leaves),
	                 MASH_OK);
	mash_merkle_root((const unsigned char(*)[H])leaves, 11, root);
	ck_assert_mem_eq(root, ci.root, H);
	ck_assert_int_eq(
	    mash_merkle_inclusion_proof((const unsigned char(*)[H])leaves, 11,
	                                3, proof, &plen),
	    MASH_OK);
	ck_assert_int_eq(mash_merkle_inclusion_verify(
	                     leaves[3], 3, 11, (const unsigned char(*)[H])proof,
	                     plen, ci.root),
	                 MASH_OK);
	mash_free(leaves);
	ck_assert_int_eq(mash_aud_leaves(store, 16, &leaves),
	                 MASH_ERR_NOT_FOUND);
	ck_assert_ptr_null(leaves);
	mash_aud_checkpoint_info_clear(&ci);
	EVP_PKEY_free(ts.pkey);
}
END_TEST

static Suite *
aud_suite(void)
{
	Suite *s = suite_create("aud");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_creates_tables_and_an_empty_tree);
	tcase_add_test(tc, append_assigns_contiguous_seq_from_one);
	tcase_add_test(tc, encoding_is_compact_sorted_and_versioned);
	tcase_add_test(tc, encoding_omits_unset_fields_and_is_stable);
	tcase_add_test(tc, every_record_is_jansson_canonical);
	tcase_add_test(tc, nhs_numbers_are_masked_everywhere);
	tcase_add_test(tc, ids_uuids_and_times_are_not_masked);
	tcase_add_test(tc, record_holds_only_whitelisted_keys);
	tcase_add_test(tc, bad_records_are_refused_and_nothing_is_appended);
	tcase_add_test(tc, reason_at_exact_maximum_is_accepted);
	tcase_add_test(tc,
	               stored_leaf_is_the_canonical_bytes_and_root_matches_mth);
	tcase_add_test(tc, time_comes_from_injected_clock_unless_given);
	tcase_add_test(tc, tree_state_survives_reopen);
	tcase_add_test(tc, rolled_back_transaction_leaves_no_trace);
	tcase_add_test(tc, group_commit_of_32_appends_in_one_transaction);
	tcase_add_test(tc, type_names_round_trip_for_every_type);
	tcase_add_test(tc, checkpoint_signs_current_tree_and_records_it);
	tcase_add_test(tc, checkpoint_due_after_n_records_or_t_ms);
	tcase_add_test(tc, failed_signature_stores_no_checkpoint);
	tcase_add_test(tc, append_fails_cleanly_when_allocation_fails);
	tcase_add_test(tc,
	               verify_passes_an_intact_log_and_checks_each_checkpoint);
	tcase_add_test(tc, verify_names_an_altered_record);
	tcase_add_test(
	    tc,
	    verify_catches_altered_record_with_recomputed_hash_by_checkpoint);
	tcase_add_test(tc, verify_names_an_altered_index_column);
	tcase_add_test(tc, verify_names_a_deleted_record);
	tcase_add_test(tc, verify_names_records_deleted_from_the_end);
	tcase_add_test(tc, verify_names_a_record_inserted_at_the_end);
	tcase_add_test(tc, verify_names_a_record_inserted_in_the_middle);
	tcase_add_test(tc, verify_names_swapped_records);
	tcase_add_test(tc, verify_names_a_checkpoint_with_a_broken_signature);
	tcase_add_test(tc,
	               verify_names_a_checkpoint_whose_columns_were_changed);
	tcase_add_test(tc, verify_reports_unreadable_database);
	tcase_add_test(tc,
	               leaves_and_latest_checkpoint_give_a_provable_inclusion);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(aud_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
