/*
 * it_audit_tamper.c - a real store (store/ + audit/ on one SQLite file,
 * checkpoints sealed with a real Ed25519 key and trust store), then copies
 * of it ALTERED, DELETED, INSERTED, SWAPPED with the sqlite3 CLI: `mashctl
 * audit verify` exits 1 naming the record each time, the untouched copy
 * verifies, and `mashctl audit prove` output checks with
 * tools/verify-proof.py.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "audit/aud.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "store/store.h"
#include "support/crypto_fixture.h"

static char dir[128];
static char db[256];
static char trust[256];
static char pub[256];
static const char *bin;
static const char *src;
/* Records written and the tree sizes of the checkpoints. */
#define EVENTS 20
static unsigned long long n_records, n_total;

/* Fixture steps run outside any Check test: fail loudly and stop. */
#define REQUIRE(x)                                                             \
	do {                                                                   \
		if (!(x)) {                                                    \
			fprintf(stderr, "fixture: %s failed (line %d)\n", #x,  \
			        __LINE__);                                     \
			exit(EXIT_FAILURE);                                    \
		}                                                              \
	} while (0)

static int
seal(void *ctx, const char *type, const unsigned char *payload, size_t len,
     unsigned char **env, size_t *env_len)
{
	return mash_env_seal(ctx, "mashd", "mashd-1", type, payload, len, env,
	                     env_len);
}

static void
append(struct mash_aud *aud, struct mash_aud_record *r)
{
	uint64_t seq;

	REQUIRE((mash_aud_append(aud, r, &seq)) == MASH_OK);
	n_records = seq;
}

/* The daemon's pattern: per event, one transaction holding the receive,
 * one decision per recipient and the deliveries; a checkpoint every 16
 * records after the commit. */
static void
build_store(void)
{
	static const char *const agencies[] = {"police", "health", "education",
	                                       "yot", "housing"};
	static const char *const shared[] = {"category", "severity",
	                                     "occurred_at"};
	static const char *const withheld[] = {"summary", "subject.nhs"};
	struct mash_aud_checkpoint_policy pol = {16, 0};
	struct mash_aud_signer signer;
	struct mash_store *st = NULL;
	struct mash_aud *aud = NULL;
	struct mash_key *key = NULL;
	struct mash_aud_record r;
	unsigned char *env;
	size_t len;
	char ev[64], cs[32];
	int i;

	REQUIRE((mash_test_signer(trust, "mashd", "mashd-1", &key)) == MASH_OK);
	REQUIRE((mash_key_save_public(key, pub)) == MASH_OK);
	signer.seal = seal;
	signer.ctx = key;
	REQUIRE((mash_store_open(db, &st)) == MASH_OK);
	REQUIRE((mash_aud_open(st, mash_clock_system(), "it-audit", &aud)) ==
	        MASH_OK);
	memset(&r, 0, sizeof(r));
	r.type = MASH_AUD_POLICY_LOAD;
	r.actor = "mashd";
	r.extra_json = "{\"sha256\":\"00ff\",\"file\":\"policy/default.cfg\"}";
	append(aud, &r);
	for (i = 0; i < EVENTS; i++) {
		snprintf(ev, sizeof(ev), "ev-%02d-0000-4000-8000-000000000000",
		         i);
		snprintf(cs, sizeof(cs), "C-00000000000%d", i % 3);
		REQUIRE((mash_store_begin(st)) == MASH_OK);
		memset(&r, 0, sizeof(r));
		r.type =
		    i == 7 ? MASH_AUD_EVENT_REJECTED : MASH_AUD_EVENT_RECEIVED;
		r.actor = agencies[i % 5];
		r.agency = agencies[i % 5];
		r.event_id = ev;
		r.case_id = i == 7 ? NULL : cs;
		r.reason = i == 7 ? "BAD_NHS" : NULL;
		append(aud, &r);
		if (i != 7) {
			memset(&r, 0, sizeof(r));
			r.type = MASH_AUD_DECISION;
			r.actor = "mashd";
			r.agency = agencies[i % 5];
			r.event_id = ev;
			r.case_id = cs;
			r.recipient = "analyst.amara";
			r.purpose = "mash-triage";
			r.rule_id = "triage-all";
			r.legal_basis = "children-act-2004-s11";
			r.shared = shared;
			r.n_shared = 3;
			r.withheld = withheld;
			r.n_withheld = i % 2 ? 2 : 0;
			append(aud, &r);
			r.type = MASH_AUD_DELIVERY;
			r.rule_id = NULL;
			r.legal_basis = NULL;
			r.shared = r.withheld = NULL;
			r.n_shared = r.n_withheld = 0;
			append(aud, &r);
		}
		REQUIRE((mash_store_commit(st)) == MASH_OK);
		if (mash_aud_checkpoint_due(aud, &pol) == 1) {
			REQUIRE((mash_aud_checkpoint(aud, &signer, &env,
			                             &len)) == MASH_OK);
			mash_free(env);
		}
	}
	memset(&r, 0, sizeof(r));
	r.type = MASH_AUD_PICTURE_DENIED;
	r.actor = "school.dsl1";
	r.recipient = "school.dsl1";
	r.case_id = "C-000000000001";
	r.purpose = "s47-enquiry";
	r.agency = "education";
	r.rule_id = "picture-roles";
	r.legal_basis = "children-act-1989-s47";
	r.reason = "DENIED";
	append(aud, &r);
	r.type = MASH_AUD_BREAK_GLASS;
	r.reason = "child missing tonight";
	append(aud, &r);
	REQUIRE((mash_aud_checkpoint(aud, &signer, &env, &len)) == MASH_OK);
	mash_free(env);
	/* The checkpoint covers n_records; its CHECKPOINT record follows. */
	n_total = n_records + 1;
	mash_aud_free(aud);
	mash_store_close(st);
	mash_key_free(key);
}

/* Run a shell command; its exit status, stdout+stderr in out. */
static int run(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
run(char *out, size_t outsz, const char *fmt, ...)
{
	char cmd[2048], full[2300];
	va_list ap;
	FILE *p;
	size_t n = 0;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "(%s) 2>&1", cmd);
	p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	if (out != NULL && outsz > 0) {
		n = fread(out, 1, outsz - 1, p);
		out[n] = '\0';
	} else {
		char sink[4096];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Copy the pristine store to name and run sql on the copy. */
static void
tampered_copy(const char *name, const char *sql)
{
	char out[4096];

	ck_assert_int_eq(run(out, sizeof(out), "cp %s %s/%s", db, dir, name),
	                 0);
	ck_assert_msg(
	    run(out, sizeof(out), "sqlite3 %s/%s \"%s\"", dir, name, sql) == 0,
	    "sqlite3: %s", out);
}

static void
expect_verify_fails(const char *name, const char *needle)
{
	char out[4096];
	int rc;

	rc = run(out, sizeof(out),
	         "%s/mashctl audit verify --db %s/%s "
	         "--trust %s",
	         bin, dir, name, trust);
	ck_assert_msg(rc == 1, "verify %s exit %d: %s", name, rc, out);
	ck_assert_msg(strstr(out, needle) != NULL,
	              "verify %s: want \"%s\" in %s", name, needle, out);
	/* One line on stderr. */
	ck_assert_ptr_nonnull(strchr(out, '\n'));
	ck_assert_ptr_null(strchr(strchr(out, '\n') + 1, '\n'));
}

START_TEST(untouched_copy_verifies_with_trust_store_pub_key_or_neither)
{
	char out[4096];

	ck_assert_int_eq(run(out, sizeof(out), "cp %s %s/copy.db", db, dir), 0);
	ck_assert_msg(run(out, sizeof(out),
	                  "%s/mashctl audit verify --db %s/copy.db --trust %s",
	                  bin, dir, trust) == 0,
	              "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "audit trail intact"));
	ck_assert_ptr_nonnull(strstr(out, "signatures checked"));
	ck_assert_msg(run(out, sizeof(out),
	                  "%s/mashctl audit verify --db %s/copy.db --pub %s",
	                  bin, dir, pub) == 0,
	              "%s", out);
	ck_assert_msg(run(out, sizeof(out),
	                  "%s/mashctl audit verify --db %s/copy.db", bin,
	                  dir) == 0,
	              "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "signatures NOT checked"));
}
END_TEST

START_TEST(altered_record_is_named)
{
	tampered_copy("alter.db", "UPDATE audit_log SET record ="
	                          " replace(record, 'ev-02', 'ev-03')"
	                          " WHERE seq = 9");
	expect_verify_fails("alter.db",
	                    "seq 9: leaf hash mismatch (record altered)");
}
END_TEST

START_TEST(deleted_record_is_named)
{
	tampered_copy("delete.db", "DELETE FROM audit_log WHERE seq = 12");
	expect_verify_fails("delete.db", "seq 12 missing");
}
END_TEST

START_TEST(deleted_last_record_is_named)
{
	char want[64];

	tampered_copy("deltail.db", "DELETE FROM audit_log WHERE seq ="
	                            " (SELECT max(seq) FROM audit_log)");
	snprintf(want, sizeof(want), "seq %llu missing", n_total);
	expect_verify_fails("deltail.db", want);
}
END_TEST

START_TEST(record_inserted_at_the_end_is_named)
{
	char want[64];

	tampered_copy("insert.db",
	              "INSERT INTO audit_log SELECT seq + 1, type, time_ms,"
	              " actor, case_id, agency, event_id, recipient, record,"
	              " leaf_hash FROM audit_log ORDER BY seq DESC LIMIT 1");
	snprintf(want, sizeof(want), "seq %llu: extra record", n_total + 1);
	expect_verify_fails("insert.db", want);
}
END_TEST

START_TEST(record_inserted_in_the_middle_is_named)
{
	tampered_copy("insmid.db",
	              "UPDATE audit_log SET seq = -seq WHERE seq >= 6;"
	              " UPDATE audit_log SET seq = 1 - seq WHERE seq < 0;"
	              " INSERT INTO audit_log SELECT 6, type, time_ms, actor,"
	              " case_id, agency, event_id, recipient, record,"
	              " leaf_hash FROM audit_log WHERE seq = 5");
	expect_verify_fails("insmid.db", "seq 6: extra record");
}
END_TEST

START_TEST(swapped_records_are_named)
{
	tampered_copy("swap.db",
	              "UPDATE audit_log SET seq = -1 WHERE seq = 4;"
	              " UPDATE audit_log SET seq = 4 WHERE seq = 10;"
	              " UPDATE audit_log SET seq = 10 WHERE seq = -1");
	expect_verify_fails("swap.db",
	                    "seq 4: out of order: the record carries seq 10");
}
END_TEST

START_TEST(altered_checkpoint_is_named)
{
	tampered_copy("cp.db", "UPDATE audit_checkpoints SET envelope ="
	                       " substr(envelope, 1, length(envelope) - 1) ||"
	                       " x'ff' WHERE id = 1");
	expect_verify_fails("cp.db", "checkpoint 1 (tree_size 4): signature "
	                             "does not verify");
}
END_TEST

START_TEST(unreadable_database_exits_2)
{
	char out[4096];

	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit verify --db %s/nonexistent.db",
	                     bin, dir),
	                 2);
	ck_assert_int_eq(run(out, sizeof(out),
	                     "echo 'not a database at all, no' > %s/junk.db && "
	                     "%s/mashctl audit verify --db %s/junk.db",
	                     dir, bin, dir),
	                 2);
	ck_assert_ptr_nonnull(strstr(out, "junk.db"));
	ck_assert_int_eq(run(out, sizeof(out), "%s/mashctl audit verify", bin),
	                 2);
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit frobnicate --db %s", bin, db),
	                 2);
}
END_TEST

START_TEST(inclusion_proof_checks_with_python_hashlib_script)
{
	char out[8192];

	ck_assert_msg(run(out, sizeof(out),
	                  "%s/mashctl audit prove --db %s --seq 5 --trust %s "
	                  "> %s/proof.json",
	                  bin, db, trust, dir) == 0,
	              "%s", out);
	ck_assert_msg(run(out, sizeof(out),
	                  "python3 %s/tools/verify-proof.py %s/proof.json "
	                  "--pub %s",
	                  src, dir, pub) == 0,
	              "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "OK: seq 5 is in log it-audit"));
	ck_assert_ptr_nonnull(strstr(out, "signature verified"));
	/* A flipped digit in the record: the leaf no longer matches. */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "python3 -c \"import json,sys; p=json.load(open("
	                     "'%s/proof.json')); r=bytearray.fromhex("
	                     "p['record_hex']); r[3]^=1; p['record_hex']="
	                     "r.hex(); json.dump(p, open('%s/bad1.json','w'))"
	                     "\" && python3 %s/tools/verify-proof.py "
	                     "%s/bad1.json --pub %s",
	                     dir, dir, src, dir, pub),
	                 1);
	/* A flipped path hash: the root is not reached. */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "python3 -c \"import json; p=json.load(open("
	                     "'%s/proof.json')); h=p['inclusion_path'][0]; "
	                     "p['inclusion_path'][0]=('0' if h[0]!='0' else "
	                     "'1')+h[1:]; json.dump(p, open('%s/bad2.json','w'"
	                     "))\" && python3 %s/tools/verify-proof.py "
	                     "%s/bad2.json",
	                     dir, dir, src, dir),
	                 1);
	/* Every seq under the latest checkpoint proves. */
	ck_assert_msg(run(out, sizeof(out),
	                  "for s in 1 2 3 16 17 30 %llu; do %s/mashctl audit "
	                  "prove --db %s --seq $s --pub %s > %s/p.json && "
	                  "python3 %s/tools/verify-proof.py %s/p.json --pub %s "
	                  "|| exit 1; done",
	                  n_records - 3, bin, db, pub, dir, src, dir, pub) == 0,
	              "%s", out);
}
END_TEST

START_TEST(consistency_proof_checks_with_python_script)
{
	char out[8192];

	ck_assert_msg(run(out, sizeof(out),
	                  "%s/mashctl audit prove --db %s --consistency "
	                  "--from 16 > %s/cons.json && python3 "
	                  "%s/tools/verify-proof.py %s/cons.json",
	                  bin, db, dir, src, dir) == 0,
	              "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "OK: consistency 16 -> "));
	ck_assert_msg(run(out, sizeof(out),
	                  "%s/mashctl audit prove --db %s --consistency "
	                  "--from 3 --to 11 > %s/cons.json && python3 "
	                  "%s/tools/verify-proof.py %s/cons.json",
	                  bin, db, dir, src, dir) == 0,
	              "%s", out);
}
END_TEST

START_TEST(prove_refuses_a_seq_after_the_latest_checkpoint)
{
	char out[4096];

	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit prove --db %s --seq %llu", bin,
	                     db, n_total),
	                 1);
	ck_assert_ptr_nonnull(strstr(out, "not covered by the latest"));
}
END_TEST

START_TEST(query_export_and_report_read_the_trail)
{
	char out[16384];

	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit export --db %s | wc -l", bin,
	                     db),
	                 0);
	{
		int64_t lines = -1;

		out[strcspn(out, " \n")] = '\0';
		ck_assert_int_eq(mash_parse_i64(out, 0, INT64_MAX, &lines),
		                 MASH_OK);
		ck_assert_int_eq(lines, (int64_t)n_total);
	}
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit query --db %s --case "
	                     "C-000000000001 --type DECISION --json",
	                     bin, db),
	                 0);
	ck_assert_ptr_nonnull(strstr(out, "\"case_id\":\"C-000000000001\""));
	ck_assert_ptr_null(strstr(out, "C-000000000002"));
	ck_assert_ptr_null(strstr(out, "\"DELIVERY\""));
	ck_assert_int_eq(
	    run(out, sizeof(out),
	        "%s/mashctl audit query --db %s --principal "
	        "school.dsl1 --since 2000-01-01 --until 2999-12-31",
	        bin, db),
	    0);
	ck_assert_ptr_nonnull(strstr(out, "PICTURE_DENIED"));
	ck_assert_ptr_nonnull(strstr(out, "BREAK_GLASS"));
	ck_assert_ptr_nonnull(strstr(out, "(2 records)"));
	ck_assert_int_eq(
	    run(out, sizeof(out),
	        "%s/mashctl audit query --db %s --since 2999-01-01", bin, db),
	    0);
	ck_assert_ptr_nonnull(strstr(out, "(0 records)"));
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --csv", bin, db),
	                 0);
	/* 19 decisions on police/health/... by triage-all; 16 of them in
	 * police+health+education+yot+housing, odd ones withheld. */
	ck_assert_ptr_nonnull(strstr(out, "agency,legal_basis,rule_id,"
	                                  "decisions,shared,withheld,denied,"
	                                  "break_glass"));
	ck_assert_ptr_nonnull(strstr(out, "\"education\",\"children-act-1989-"
	                                  "s47\",\"picture-roles\",0,0,0,1,1"));
	ck_assert_ptr_nonnull(strstr(out,
	                             "\"police\",\"children-act-2004-"
	                             "s11\",\"triage-all\",4,4,2,0,0,12,4"));
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit query --db %s --type nope", bin,
	                     db),
	                 2);
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit query --db %s --since yesterday",
	                     bin, db),
	                 2);
}
END_TEST

/* The report of one child, one principal or one record type is that, not
 * everyone's (issue 23). */
START_TEST(report_applies_case_principal_and_type_filters)
{
	static const char police_all[] =
	    "\"police\",\"children-act-2004-s11\",\"triage-all\","
	    "4,4,2,0,0,12,4";
	static const char police_case1[] =
	    "\"police\",\"children-act-2004-s11\",\"triage-all\","
	    "1,1,0,0,0,3,0";
	static const char denied[] = "\"education\",\"children-act-1989-"
	                             "s47\",\"picture-roles\",0,0,0,1,1";
	static const char glass[] = "\"education\",\"children-act-1989-"
	                            "s47\",\"picture-roles\",0,0,0,0,1";
	char all[8192], out[8192];

	ck_assert_int_eq(run(all, sizeof(all),
	                     "%s/mashctl audit report --db %s --csv", bin, db),
	                 0);
	ck_assert_ptr_nonnull(strstr(all, police_all));
	/* One case: only its decisions (i % 3 == 1: one of them police). */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --csv --case "
	                     "C-000000000001",
	                     bin, db),
	                 0);
	ck_assert_ptr_nonnull(strstr(out, police_case1));
	ck_assert_ptr_null(strstr(out, police_all));
	ck_assert_ptr_nonnull(strstr(out, denied));
	/* A case nobody recorded: the header and nothing else. */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --csv --case "
	                     "C-nonexistent",
	                     bin, db),
	                 0);
	ck_assert_str_eq(out, "agency,legal_basis,rule_id,decisions,shared,"
	                      "withheld,denied,break_glass,fields_shared,"
	                      "fields_withheld,break_glass_refused\n");
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --case "
	                     "C-nonexistent",
	                     bin, db),
	                 0);
	ck_assert_ptr_nonnull(strstr(out, "(0 groups)"));
	/* One principal: school.dsl1 was only ever denied, then broke
	 * the glass. */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --csv "
	                     "--principal school.dsl1",
	                     bin, db),
	                 0);
	ck_assert_ptr_nonnull(strstr(out, denied));
	ck_assert_ptr_null(strstr(out, "triage-all"));
	/* One type. */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --csv --type "
	                     "BREAK_GLASS",
	                     bin, db),
	                 0);
	ck_assert_ptr_nonnull(strstr(out, glass));
	ck_assert_ptr_null(strstr(out, "triage-all"));
	ck_assert_str_ne(out, all);
	/* A type a report does not count is refused, not ignored. */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --type "
	                     "EVENT_RECEIVED",
	                     bin, db),
	                 2);
	ck_assert_ptr_nonnull(strstr(out,
	                             "DECISION, PICTURE_DENIED, "
	                             "BREAK_GLASS and BREAK_GLASS_REFUSED"));
}
END_TEST

START_TEST(report_json_and_csv_parse_with_python)
{
	char out[8192];

	ck_assert_int_eq(
	    run(out, sizeof(out),
	        "%s/mashctl audit report --db %s --json --case C-000000000001 "
	        "| python3 -c 'import json,sys; d=json.load(sys.stdin); "
	        "g=d[\"groups\"]; assert d[\"filters\"][\"case\"] == "
	        "\"C-000000000001\"; assert sum(x[\"decisions\"] for x in g) "
	        "== 6, g; assert sum(x[\"break_glass\"] for x in g) == 1; "
	        "print(\"json ok\")'",
	        bin, db),
	    0);
	ck_assert_ptr_nonnull(strstr(out, "json ok"));
	ck_assert_int_eq(
	    run(out, sizeof(out),
	        "%s/mashctl audit report --db %s --csv | python3 -c 'import "
	        "csv,sys; r=list(csv.reader(sys.stdin)); assert r[0][:3] == "
	        "[\"agency\", \"legal_basis\", \"rule_id\"]; assert "
	        "all(len(x) == 11 for x in r); assert sum(int(x[3]) for x in "
	        "r[1:]) == 19; print(\"csv ok\")'",
	        bin, db),
	    0);
	ck_assert_ptr_nonnull(strstr(out, "csv ok"));
}
END_TEST

/* An option the verb does not use is refused with exit 2, never
 * silently ignored; a bad --type lists the valid ones. */
START_TEST(option_a_verb_does_not_take_exits_2)
{
	char out[4096];

	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --seq 3", bin,
	                     db),
	                 2);
	ck_assert_ptr_nonnull(strstr(out, "report does not take --seq"));
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit verify --db %s --case C-1", bin,
	                     db),
	                 2);
	ck_assert_ptr_nonnull(strstr(out, "verify does not take --case"));
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit export --db %s --json", bin, db),
	                 2);
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --json --csv",
	                     bin, db),
	                 2);
	/* A date that does not exist is refused, not moved to March. */
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --since "
	                     "2026-02-30",
	                     bin, db),
	                 2);
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit query --db %s --until "
	                     "2026-04-31T10:00:00Z",
	                     bin, db),
	                 2);
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit report --db %s --since "
	                     "2024-02-29",
	                     bin, db),
	                 0);
	ck_assert_int_eq(run(out, sizeof(out),
	                     "%s/mashctl audit query --db %s --type nope", bin,
	                     db),
	                 2);
	ck_assert_ptr_nonnull(strstr(out, "EVENT_RECEIVED"));
	ck_assert_ptr_nonnull(strstr(out, "BREAK_GLASS"));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("it_audit_tamper");
	TCase *tc = tcase_create("cli");
	SRunner *sr;
	int failed;

	bin = getenv("MASH_BIN_DIR");
	src = getenv("MASH_SOURCE_DIR");
	if (bin == NULL || src == NULL) {
		fprintf(stderr,
		        "MASH_BIN_DIR and MASH_SOURCE_DIR must be set\n");
		return EXIT_FAILURE;
	}
	mash_test_tmpdir(dir, sizeof(dir));
	snprintf(db, sizeof(db), "%s/mash.db", dir);
	snprintf(trust, sizeof(trust), "%s/trust", dir);
	snprintf(pub, sizeof(pub), "%s/mashd.pub.pem", dir);
	build_store();

	tcase_set_timeout(tc, 120);
	tcase_add_test(
	    tc, untouched_copy_verifies_with_trust_store_pub_key_or_neither);
	tcase_add_test(tc, altered_record_is_named);
	tcase_add_test(tc, deleted_record_is_named);
	tcase_add_test(tc, deleted_last_record_is_named);
	tcase_add_test(tc, record_inserted_at_the_end_is_named);
	tcase_add_test(tc, record_inserted_in_the_middle_is_named);
	tcase_add_test(tc, swapped_records_are_named);
	tcase_add_test(tc, altered_checkpoint_is_named);
	tcase_add_test(tc, unreadable_database_exits_2);
	tcase_add_test(tc, inclusion_proof_checks_with_python_hashlib_script);
	tcase_add_test(tc, consistency_proof_checks_with_python_script);
	tcase_add_test(tc, prove_refuses_a_seq_after_the_latest_checkpoint);
	tcase_add_test(tc, report_applies_case_principal_and_type_filters);
	tcase_add_test(tc, report_json_and_csv_parse_with_python);
	tcase_add_test(tc, option_a_verb_does_not_take_exits_2);
	tcase_add_test(tc, query_export_and_report_read_the_trail);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (getenv("MASH_KEEP_TMP") == NULL)
		mash_test_rmtree(dir);
	else
		fprintf(stderr, "kept %s\n", dir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
