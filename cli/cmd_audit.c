/*
 * cmd_audit.c - mashctl audit verify|query|export|report|prove --db FILE
 *
 * The auditor's tools over the audit tables of a daemon database
 * (audit/aud.h, audit/verify.h). The database is opened read-only: an
 * auditor's tool never writes to the trail it inspects.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "audit/aud.h"
#include "audit/merkle.h"
#include "audit/verify.h"
#include "cli/audit_int.h"
#include "cli/cmds.h"
#include "cli/util.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/env.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "mash/v1/mash.pb-c.h"

#define HLEN MASH_MERKLE_HASH_LEN

static void
help(FILE *f)
{
	fprintf(
	    f,
	    "usage: mashctl audit verify --db FILE [--trust DIR | --pub FILE] "
	    "[--json]\n"
	    "       mashctl audit query  --db FILE [filters] [--json]\n"
	    "       mashctl audit export --db FILE [filters]\n"
	    "       mashctl audit report --db FILE [filters] [--json | --csv]\n"
	    "       mashctl audit prove  --db FILE --seq N [--trust DIR | "
	    "--pub FILE]\n"
	    "       mashctl audit prove  --db FILE --consistency --from M "
	    "[--to N]\n"
	    "filters: --case ID --agency A --principal P (actor or "
	    "recipient)\n"
	    "         --type TYPE (EVENT_RECEIVED, DECISION, ...) --since T "
	    "--until T\n"
	    "T is unix milliseconds, YYYY-MM-DD (UTC; --until includes that "
	    "day) or\nYYYY-MM-DDTHH:MM:SSZ. verify recomputes every leaf hash "
	    "and the tree and\nchecks every checkpoint (signatures with "
	    "--trust DIR or the daemon's\n--pub FILE); it names the first bad "
	    "record or checkpoint. prove prints an\ninclusion proof against "
	    "the latest checkpoint as JSON; check it with\n"
	    "tools/verify-proof.py (Python hashlib only).\n"
	    "exit: 0 ok/intact, 1 failed check (tampered, no proof), 2 bad "
	    "usage or\nunreadable database\n");
}

/* Unix ms, a date (UTC) or an ISO 8601 date-time (common/datetime.h:
 * strict, 2026-02-30 is refused); end_of_day makes a bare date mean the
 * end of that day (for --until). */
static int
parse_time(const char *s, int end_of_day, int64_t *out)
{
	int64_t v;
	int has_time = 0;

	if (mash_parse_i64(s, 0, INT64_MAX / 2, &v) == MASH_OK) {
		*out = v;
		return MASH_OK;
	}
	if (mash_dt_parse(s, strlen(s), MASH_DT_DATE | MASH_DT_DATE_TIME, &v,
	                  &has_time) != MASH_OK ||
	    v < 0)
		return MASH_ERR_PARSE;
	*out = v + (end_of_day && !has_time ? MASH_DT_DAY_MS : 0);
	return MASH_OK;
}

static void
iso_time(int64_t ms, char *buf, size_t n)
{
	if (mash_dt_format_iso(ms, buf, n) != MASH_OK)
		(void)mash_snprintf(buf, n, "%lld", (long long)ms);
}

static int
open_db(const char *path, struct mash_store **st)
{
	int rc = mash_store_open_ro(path, st);

	if (rc != MASH_OK) {
		mashctl_die(G, "%s: cannot open database: %s", path,
		            mash_strerror(rc));
		return MASHCTL_EXIT_USAGE;
	}
	return MASHCTL_EXIT_OK;
}

/* ---- checkpoint signature checking ------------------------------- */

struct opener_ctx {
	struct mash_trust *trust; /* --trust DIR */
	struct mash_key *pub;     /* --pub FILE */
};

static int
copy_out(const uint8_t *p, size_t n, unsigned char **payload, size_t *plen)
{
	unsigned char *c = mash_malloc(n > 0 ? n : 1);

	if (c == NULL)
		return MASH_ERR_NOMEM;
	if (n > 0)
		memcpy(c, p, n);
	*payload = c;
	*plen = n;
	return MASH_OK;
}

/* Verify a checkpoint envelope with the trust store (signer "mashd") or
 * with the daemon's public key alone. */
static int
open_signed(void *vctx, const unsigned char *env, size_t len,
            unsigned char **payload, size_t *plen, char *why, size_t whylen)
{
	struct opener_ctx *ctx = vctx;
	struct mash_env_opened *o = NULL;
	Mash__V1__SignedEnvelope *e = NULL;
	uint8_t *msg = NULL;
	size_t tl, mlen;
	int rc;

	*payload = NULL;
	*plen = 0;
	if (ctx->trust != NULL) {
		rc = mash_env_open(ctx->trust, env, len,
		                   MASH_AUD_CHECKPOINT_TYPE, "mashd", &o, why,
		                   whylen);
		if (rc == MASH_OK)
			rc =
			    copy_out(o->payload, o->payload_len, payload, plen);
		goto out;
	}
	rc = MASH_ERR_DECODE;
	if (len > MASH_ENV_MAX)
		goto out;
	e = mash__v1__signed_envelope__unpack(mash_env_pb_allocator(), len,
	                                      env);
	if (e == NULL || e->payload_type == NULL || e->signer == NULL) {
		(void)mash_snprintf(why, whylen, "not a SignedEnvelope");
		goto out;
	}
	rc = MASH_ERR_PAYLOAD_TYPE;
	if (strcmp(e->payload_type, MASH_AUD_CHECKPOINT_TYPE) != 0) {
		(void)mash_snprintf(why, whylen, "payload_type is not %s",
		                    MASH_AUD_CHECKPOINT_TYPE);
		goto out;
	}
	rc = MASH_ERR_SIGNER_MISMATCH;
	if (strcmp(e->signer, "mashd") != 0) {
		(void)mash_snprintf(why, whylen, "signer is not mashd");
		goto out;
	}
	tl = strlen(e->payload_type);
	mlen = strlen(MASH_ENV_CONTEXT) + tl + 1 + e->payload.len;
	rc = MASH_ERR_NOMEM;
	msg = mash_malloc(mlen);
	if (msg == NULL)
		goto out;
	memcpy(msg, MASH_ENV_CONTEXT, strlen(MASH_ENV_CONTEXT));
	memcpy(msg + strlen(MASH_ENV_CONTEXT), e->payload_type, tl);
	msg[strlen(MASH_ENV_CONTEXT) + tl] = '\n';
	if (e->payload.len > 0)
		memcpy(msg + strlen(MASH_ENV_CONTEXT) + tl + 1, e->payload.data,
		       e->payload.len);
	rc = mash_key_verify(ctx->pub, msg, mlen, e->signature.data,
	                     e->signature.len);
	if (rc != MASH_OK) {
		(void)mash_snprintf(why, whylen,
		                    "signature by mashd key %s does not "
		                    "verify with the given public key",
		                    e->key_id ? e->key_id : "?");
		goto out;
	}
	rc = copy_out(e->payload.data, e->payload.len, payload, plen);
out:
	mash_free(msg);
	if (e != NULL)
		mash__v1__signed_envelope__free_unpacked(
		    e, mash_env_pb_allocator());
	mash_env_opened_free(o);
	return rc;
}

/* Load --trust/--pub into ctx and op; *use is 0 when neither is given. */
static int
load_opener(const struct audit_opts *o, struct opener_ctx *ctx,
            struct mash_aud_opener *op, int *use)
{
	char why[512];
	int rc;

	memset(ctx, 0, sizeof(*ctx));
	op->open = open_signed;
	op->ctx = ctx;
	*use = 0;
	if (o->trust != NULL) {
		rc = mash_trust_load(o->trust, &ctx->trust, why, sizeof(why));
		if (rc != MASH_OK) {
			mashctl_die(G, "--trust %s: %s", o->trust,
			            why[0] ? why : mash_strerror(rc));
			return MASHCTL_EXIT_USAGE;
		}
		*use = 1;
	} else if (o->pub != NULL) {
		rc = mash_key_load_public(o->pub, &ctx->pub);
		if (rc != MASH_OK) {
			mashctl_die(G, "--pub %s: %s", o->pub,
			            mash_file_strerror(rc));
			return MASHCTL_EXIT_USAGE;
		}
		*use = 1;
	}
	return MASHCTL_EXIT_OK;
}

static void
opener_free(struct opener_ctx *ctx)
{
	mash_trust_free(ctx->trust);
	mash_key_free(ctx->pub);
}

/* ---- verify -------------------------------------------------------- */

static int
do_verify(const struct audit_opts *o, struct mash_store *db)
{
	struct mash_aud_verify_result res;
	struct mash_aud_opener op;
	struct opener_ctx ctx;
	char root[2 * HLEN + 1];
	json_t *j;
	int use, rc, ex;

	ex = load_opener(o, &ctx, &op, &use);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	rc = mash_aud_verify(db, use ? &op : NULL, &res);
	opener_free(&ctx);
	if (rc == MASH_ERR_TAMPERED) {
		mashctl_die(G, "verify %s: FAILED: %s", o->db, res.why);
		ex = MASHCTL_EXIT_FAIL;
	} else if (rc != MASH_OK) {
		mashctl_die(G, "verify %s: unreadable: %s", o->db,
		            res.why[0] ? res.why : mash_strerror(rc));
		return MASHCTL_EXIT_USAGE;
	} else {
		ex = MASHCTL_EXIT_OK;
	}
	mash_hex(res.root, HLEN, root);
	if (o->json) {
		j = json_pack("{s:b, s:I, s:I, s:b, s:s?, s:I, s:I, s:s}",
		              "intact", rc == MASH_OK, "records",
		              (json_int_t)res.records, "checkpoints",
		              (json_int_t)res.checkpoints, "signatures_checked",
		              res.signatures_checked, "root_hash",
		              rc == MASH_OK ? root : NULL, "bad_seq",
		              (json_int_t)res.bad_seq, "bad_checkpoint",
		              (json_int_t)res.bad_checkpoint, "why", res.why);
		if (j != NULL) {
			json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);
			putchar('\n');
			json_decref(j);
		}
	} else if (rc == MASH_OK) {
		printf("audit trail intact: %llu records, root %s, %zu "
		       "checkpoints verified (%s)\n",
		       (unsigned long long)res.tree_size, root, res.checkpoints,
		       res.signatures_checked
		           ? "signatures checked"
		           : "signatures NOT checked: give --trust DIR or "
		             "--pub FILE");
	}
	return ex;
}

/* ---- query / export ------------------------------------------------ */

void
audit_filter(const struct audit_opts *o, struct mash_store_aud_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->case_id = o->case_id;
	f->agency = o->agency;
	f->principal = o->principal;
	f->type = o->type;
	f->since = o->since;
	f->until = o->until;
}

const char *
audit_jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "-";
}

static void
print_names(json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	    printf("%s%s", i ? "," : "", json_string_value(v));
}

/* rule:shared(f1,f2);rule2:withheld(f3) - which rule decided which
 * fields (record version 2, issue 26). */
static void
print_by_rule(json_t *arr)
{
	json_t *g;
	size_t i;

	json_array_foreach(arr, i, g)
	{
		printf("%s%s:%s(", i ? ";" : "", audit_jstr(g, "rule"),
		       audit_jstr(g, "decision"));
		print_names(json_object_get(g, "fields"));
		putchar(')');
	}
}

/* One readable line per record: the fixed columns, then what applies. */
static void
print_row(json_t *r)
{
	char when[32];
	json_t *a;

	iso_time(json_integer_value(json_object_get(r, "time")), when,
	         sizeof(when));
	printf("%-6lld %-20s %-17s %-16s %-11s %-14s %-38s %-16s",
	       (long long)json_integer_value(json_object_get(r, "seq")), when,
	       audit_jstr(r, "type"), audit_jstr(r, "actor"),
	       audit_jstr(r, "agency"), audit_jstr(r, "case_id"),
	       audit_jstr(r, "event_id"), audit_jstr(r, "recipient"));
	if (json_object_get(r, "purpose"))
		printf(" purpose=%s", audit_jstr(r, "purpose"));
	if (json_object_get(r, "rule_id"))
		printf(" rule=%s", audit_jstr(r, "rule_id"));
	if (json_object_get(r, "legal_basis"))
		printf(" basis=%s", audit_jstr(r, "legal_basis"));
	a = json_object_get(r, "shared");
	if (a != NULL) {
		printf(" shared=");
		print_names(a);
	}
	a = json_object_get(r, "withheld");
	if (a != NULL) {
		printf(" withheld=");
		print_names(a);
	}
	a = json_object_get(r, "by_rule");
	if (a != NULL) {
		printf(" by_rule=");
		print_by_rule(a);
	}
	if (json_object_get(r, "reason"))
		printf(" reason=\"%s\"", audit_jstr(r, "reason"));
	a = json_object_get(r, "extra");
	if (a != NULL) {
		printf(" extra=");
		json_dumpf(a, stdout, JSON_COMPACT | JSON_SORT_KEYS);
	}
	putchar('\n');
}

struct query {
	int raw;
	size_t n;
};

static int
query_row(void *ctx, const struct mash_store_aud_raw *row)
{
	struct query *q = ctx;
	json_t *r;

	if (q->raw) {
		/* The canonical bytes as stored: the Merkle leaf. */
		fwrite(row->record, 1, row->record_len, stdout);
		putchar('\n');
	} else {
		r = json_loadb(row->record, row->record_len, 0, NULL);
		if (r == NULL) {
			printf("%-6lld (record does not parse: run mashctl "
			       "audit verify)\n",
			       (long long)row->seq);
		} else {
			print_row(r);
			json_decref(r);
		}
	}
	q->n++;
	return MASH_OK;
}

static int
do_query(const struct audit_opts *o, struct mash_store *db, int raw)
{
	struct mash_store_aud_filter f;
	struct query q = {raw, 0};
	int rc;

	audit_filter(o, &f);
	if (!raw)
		printf("%-6s %-20s %-17s %-16s %-11s %-14s %-38s %-16s "
		       "details\n",
		       "seq", "time", "type", "actor", "agency", "case",
		       "event", "recipient");
	rc = mash_store_aud_rows(db, &f, query_row, &q);
	if (rc != MASH_OK) {
		mashctl_die(G, "%s: cannot read audit_log: %s", o->db,
		            mash_strerror(rc));
		return MASHCTL_EXIT_USAGE;
	}
	if (!raw)
		printf("(%zu records)\n", q.n);
	return MASHCTL_EXIT_OK;
}

/* ---- prove --------------------------------------------------------- */

static json_t *
hex_json(const unsigned char *b, size_t n)
{
	char *h = mash_malloc(2 * n + 1);
	json_t *j;

	if (h == NULL)
		return NULL;
	mash_hex(b, n, h);
	j = json_string(h);
	mash_free(h);
	return j;
}

static json_t *
path_json(const unsigned char (*p)[HLEN], size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, hex_json(p[i], HLEN)) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* The checkpoint as the proof carries it: the envelope (so a third party
 * can check the signature itself) and what it signs. */
static json_t *
checkpoint_json(const struct mash_aud_checkpoint_info *ci)
{
	Mash__V1__SignedEnvelope *e;
	json_t *j;

	e = mash__v1__signed_envelope__unpack(NULL, ci->envelope_len,
	                                      ci->envelope);
	j = json_pack("{s:I, s:s, s:I, s:o, s:I, s:o, s:s?, s:s?}", "id",
	              (json_int_t)ci->id, "log_id", ci->log_id, "tree_size",
	              (json_int_t)ci->tree_size, "root_hash",
	              hex_json(ci->root, HLEN), "timestamp",
	              (json_int_t)ci->timestamp, "envelope",
	              hex_json(ci->envelope, ci->envelope_len), "signer",
	              e ? e->signer : NULL, "key_id", e ? e->key_id : NULL);
	if (e != NULL)
		mash__v1__signed_envelope__free_unpacked(e, NULL);
	return j;
}

static int
print_json(json_t *j)
{
	if (j == NULL) {
		mashctl_die(G, "out of memory");
		return MASHCTL_EXIT_FAIL;
	}
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
	json_decref(j);
	return MASHCTL_EXIT_OK;
}

static int
do_prove(const struct audit_opts *o, struct mash_store *db)
{
	struct mash_aud_checkpoint_info ci;
	struct mash_aud_opener op;
	struct opener_ctx ctx;
	unsigned char(*leaves)[HLEN] = NULL;
	unsigned char proof[MASH_MERKLE_MAX_DEPTH][HLEN];
	unsigned char r1[HLEN], r2[HLEN];
	char why[MASH_AUD_WHY_LEN], *rec = NULL;
	size_t plen, rlen;
	uint64_t to;
	json_t *j = NULL;
	int use, rc, ex;

	memset(&ci, 0, sizeof(ci));
	ex = load_opener(o, &ctx, &op, &use);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	ex = MASHCTL_EXIT_FAIL;
	why[0] = '\0';
	rc =
	    mash_aud_latest_signed(db, use ? &op : NULL, &ci, why, sizeof(why));
	if (o->consistency && rc == MASH_ERR_NOT_FOUND && o->to > 0)
		rc = MASH_OK; /* sizes given: no checkpoint needed */
	if (rc != MASH_OK) {
		mashctl_die(G, "prove %s: latest checkpoint: %s", o->db,
		            why[0] ? why : mash_strerror(rc));
		ex = rc == MASH_ERR_STORE ? MASHCTL_EXIT_USAGE
		                          : MASHCTL_EXIT_FAIL;
		goto out;
	}
	to = o->consistency && o->to > 0 ? o->to : ci.tree_size;
	if (!o->consistency && (o->seq == 0 || o->seq > to)) {
		mashctl_die(
		    G,
		    "prove %s: seq %llu is not covered by the latest "
		    "checkpoint (tree_size %llu); wait for the next one",
		    o->db, (unsigned long long)o->seq, (unsigned long long)to);
		goto out;
	}
	if (o->consistency && (o->from == 0 || o->from > to)) {
		mashctl_die(G,
		            "prove %s: need 0 < --from (%llu) <= --to "
		            "(%llu)",
		            o->db, (unsigned long long)o->from,
		            (unsigned long long)to);
		ex = MASHCTL_EXIT_USAGE;
		goto out;
	}
	rc = mash_aud_leaves(db, to, &leaves);
	if (rc != MASH_OK) {
		mashctl_die(G,
		            "prove %s: records 1..%llu: %s (run mashctl "
		            "audit verify)",
		            o->db, (unsigned long long)to, mash_strerror(rc));
		goto out;
	}
	if (mash_merkle_root((const unsigned char(*)[HLEN])leaves, to, r2) !=
	    MASH_OK)
		goto out;
	if (ci.tree_size == to && memcmp(r2, ci.root, HLEN) != 0) {
		mashctl_die(G,
		            "prove %s: the records do not match checkpoint "
		            "%lld (run mashctl audit verify)",
		            o->db, (long long)ci.id);
		goto out;
	}
	if (o->consistency) {
		if (mash_merkle_root((const unsigned char(*)[HLEN])leaves,
		                     o->from, r1) != MASH_OK ||
		    mash_merkle_consistency_proof(
		        (const unsigned char(*)[HLEN])leaves, to, o->from,
		        proof, &plen) != MASH_OK)
			goto out;
		j = json_pack(
		    "{s:I, s:I, s:o, s:o, s:o}", "first", (json_int_t)o->from,
		    "second", (json_int_t)to, "first_root", hex_json(r1, HLEN),
		    "second_root", hex_json(r2, HLEN), "consistency_path",
		    path_json((const unsigned char(*)[HLEN])proof, plen));
		if (j != NULL && ci.tree_size == to)
			json_object_set_new(j, "checkpoint",
			                    checkpoint_json(&ci));
		ex = print_json(j);
		goto out;
	}
	if (mash_merkle_inclusion_proof((const unsigned char(*)[HLEN])leaves,
	                                to, o->seq - 1, proof,
	                                &plen) != MASH_OK ||
	    mash_aud_record_bytes(db, o->seq, &rec, &rlen) != MASH_OK)
		goto out;
	j = json_pack(
	    "{s:s, s:I, s:I, s:I, s:s%, s:o, s:o, s:o, s:o, s:o}", "log_id",
	    ci.log_id, "seq", (json_int_t)o->seq, "leaf_index",
	    (json_int_t)(o->seq - 1), "tree_size", (json_int_t)to, "record",
	    rec, rlen, "record_hex", hex_json((const unsigned char *)rec, rlen),
	    "leaf_hash", hex_json(leaves[o->seq - 1], HLEN), "inclusion_path",
	    path_json((const unsigned char(*)[HLEN])proof, plen), "root_hash",
	    hex_json(r2, HLEN), "checkpoint", checkpoint_json(&ci));
	ex = print_json(j);
out:
	mash_free(rec);
	mash_free(leaves);
	mash_aud_checkpoint_info_clear(&ci);
	opener_free(&ctx);
	return ex;
}

/* ---- dispatch ------------------------------------------------------ */

static int
parse_u64(const char *opt, const char *s, uint64_t *out)
{
	int64_t v;

	if (mash_parse_i64(s, 1, INT64_MAX, &v) != MASH_OK) {
		mashctl_die(G, "%s: \"%s\" is not a positive number", opt, s);
		return MASH_ERR_PARSE;
	}
	*out = (uint64_t)v;
	return MASH_OK;
}

/* ---- options per verb ------------------------------------------- */

/* One bit per option letter of mashctl_audit's table. */
static unsigned
opt_bit(int c)
{
	static const char letters[] = "dtpcaPTsunCfojv";
	const char *p = strchr(letters, c);

	return p != NULL && c != 0 ? 1u << (p - letters) : 0;
}

/* The options each verb takes; anything else is refused with exit 2,
 * never ignored (an auditor who asked for one case must not get all). */
static unsigned
verb_opts(const char *verb)
{
	const char *all = NULL;

	if (strcmp(verb, "verify") == 0)
		all = "dtpj";
	else if (strcmp(verb, "query") == 0)
		all = "dcaPTsuj";
	else if (strcmp(verb, "export") == 0)
		all = "dcaPTsu";
	else if (strcmp(verb, "report") == 0)
		all = "dcaPTsujv";
	else if (strcmp(verb, "prove") == 0)
		all = "dtpnCfo";
	{
		unsigned m = 0;

		for (; all != NULL && *all; all++)
			m |= opt_bit(*all);
		return m;
	}
}

static int
check_verb_opts(const char *verb, unsigned seen, const struct option *lopts)
{
	unsigned bad = seen & ~verb_opts(verb);
	size_t i;

	if (bad == 0)
		return MASH_OK;
	for (i = 0; lopts[i].name != NULL; i++)
		if (bad & opt_bit(lopts[i].val)) {
			mashctl_die(G,
			            "%s does not take --%s (mashctl audit "
			            "--help)",
			            verb, lopts[i].name);
			break;
		}
	return MASH_ERR_INVAL;
}

/* "EVENT_RECEIVED, EVENT_REJECTED, ..." into buf. */
static void
type_names(char *buf, size_t n)
{
	int t;
	size_t len = 0;

	buf[0] = '\0';
	for (t = MASH_AUD_TYPE_MIN; t <= MASH_AUD_TYPE_MAX && len < n; t++) {
		int w = snprintf(buf + len, n - len, "%s%s",
		                 t == MASH_AUD_TYPE_MIN ? "" : ", ",
		                 mash_aud_type_name((enum mash_aud_type)t));

		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int
mashctl_audit(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"trust", required_argument, NULL, 't'},
	    {"pub", required_argument, NULL, 'p'},
	    {"case", required_argument, NULL, 'c'},
	    {"agency", required_argument, NULL, 'a'},
	    {"principal", required_argument, NULL, 'P'},
	    {"type", required_argument, NULL, 'T'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},
	    {"seq", required_argument, NULL, 'n'},
	    {"consistency", no_argument, NULL, 'C'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {"csv", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct audit_opts o;
	enum mash_aud_type t;
	struct mash_store *db = NULL;
	int began = 0;
	unsigned seen = 0;
	int c, li, ex = MASHCTL_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	o.since = o.until = -1;
	if (argc >= 2 && argv[1][0] != '-') {
		o.verb = argv[1];
		argc--;
		argv++;
	}
	while ((c = getopt_long(argc, argv, "h", lopts, &li)) != -1) {
		if (c != 'h' && c != '?' && c != ':')
			seen |= opt_bit(c);
		switch (c) {
		case 'd':
			o.db = optarg;
			break;
		case 't':
			o.trust = optarg;
			break;
		case 'p':
			o.pub = optarg;
			break;
		case 'c':
			o.case_id = optarg;
			break;
		case 'a':
			o.agency = optarg;
			break;
		case 'P':
			o.principal = optarg;
			break;
		case 'T':
			if (mash_aud_type_parse(optarg, &t) != MASH_OK) {
				char names[512];

				type_names(names, sizeof(names));
				mashctl_die(G,
				            "--type: unknown record type "
				            "\"%s\" (one of %s)",
				            optarg, names);
				return MASHCTL_EXIT_USAGE;
			}
			o.type = optarg;
			break;
		case 's':
		case 'u':
			if (parse_time(optarg, c == 'u',
			               c == 's' ? &o.since : &o.until) !=
			    MASH_OK) {
				mashctl_die(G,
				            "--%s: \"%s\" is not unix ms, "
				            "YYYY-MM-DD or "
				            "YYYY-MM-DDTHH:MM:SSZ",
				            c == 's' ? "since" : "until",
				            optarg);
				return MASHCTL_EXIT_USAGE;
			}
			break;
		case 'n':
			if (parse_u64("--seq", optarg, &o.seq) != MASH_OK)
				return MASHCTL_EXIT_USAGE;
			break;
		case 'C':
			o.consistency = 1;
			break;
		case 'f':
			if (parse_u64("--from", optarg, &o.from) != MASH_OK)
				return MASHCTL_EXIT_USAGE;
			break;
		case 'o':
			if (parse_u64("--to", optarg, &o.to) != MASH_OK)
				return MASHCTL_EXIT_USAGE;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'v':
			o.csv = 1;
			break;
		case 'h':
			help(stdout);
			return MASHCTL_EXIT_OK;
		default:
			help(stderr);
			return MASHCTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		mashctl_die(G, "unexpected argument \"%s\"", argv[optind]);
		return MASHCTL_EXIT_USAGE;
	}
	if (o.verb == NULL) {
		mashctl_die(G, "missing verb: verify, query, export, report or "
		               "prove (mashctl audit --help)");
		return MASHCTL_EXIT_USAGE;
	}
	if (o.db == NULL) {
		mashctl_die(G, "%s: --db FILE is required", o.verb);
		return MASHCTL_EXIT_USAGE;
	}
	if (o.trust != NULL && o.pub != NULL) {
		mashctl_die(G, "give --trust DIR or --pub FILE, not both");
		return MASHCTL_EXIT_USAGE;
	}
	if (strcmp(o.verb, "prove") == 0 && !o.consistency && o.seq == 0) {
		mashctl_die(G, "prove: --seq N (or --consistency --from M) is "
		               "required");
		return MASHCTL_EXIT_USAGE;
	}
	if (strcmp(o.verb, "verify") != 0 && strcmp(o.verb, "query") != 0 &&
	    strcmp(o.verb, "export") != 0 && strcmp(o.verb, "report") != 0 &&
	    strcmp(o.verb, "prove") != 0) {
		mashctl_die(G,
		            "unknown verb \"%s\" (verify, query, export, "
		            "report, prove)",
		            o.verb);
		return MASHCTL_EXIT_USAGE;
	}
	if (check_verb_opts(o.verb, seen, lopts) != MASH_OK)
		return MASHCTL_EXIT_USAGE;
	if (o.json && o.csv) {
		mashctl_die(G, "%s: give --json or --csv, not both", o.verb);
		return MASHCTL_EXIT_USAGE;
	}
	ex = open_db(o.db, &db);
	if (ex != MASHCTL_EXIT_OK)
		return ex;
	if (strcmp(o.verb, "verify") == 0)
		ex = do_verify(&o, db);
	else if (strcmp(o.verb, "query") == 0)
		ex = do_query(&o, db, o.json);
	else if (strcmp(o.verb, "export") == 0)
		ex = do_query(&o, db, 1);
	else if (strcmp(o.verb, "report") == 0)
		ex = audit_report(&o, db);
	else {
		/* The checkpoint, the leaves and the record from one snapshot,
		 * even while mashd appends. */
		(void)mash_store_snapshot_begin(db, &began);
		ex = do_prove(&o, db);
		mash_store_snapshot_end(db, began);
	}
	mash_store_close(db);
	return ex;
}
