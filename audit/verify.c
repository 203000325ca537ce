/*
 * verify.c - check an audit trail at rest (mashctl audit verify) and read
 * what proofs need (mashctl audit prove).
 *
 * Verification streams the log once in seq order with a Merkle frontier,
 * so memory is O(log n) plus the checkpoint list; checkpoints are checked
 * at the position of their tree size, so the diagnosis names the first
 * problem in log order.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include "audit/aud.h"
#include "audit/verify.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "mash/v1/mash.pb-c.h"

#define HLEN MASH_MERKLE_HASH_LEN
#define U(x) ((unsigned long long)(x))

/* Most checkpoints verify loads (one per N records: a million-record log
 * checkpointed every 100 records stays far below). */
#define MAX_CHECKPOINTS 1000000u

struct cp {
	int64_t id;
	uint64_t pos; /* the tree size where it is checked */
	unsigned char root[HLEN];
	int bad; /* 1: it failed on its own; why says how */
	char why[MASH_AUD_WHY_LEN];
};

struct cplist {
	struct cp *v;
	size_t n, cap;
};

static void set_why(struct mash_aud_verify_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_why(struct mash_aud_verify_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

/* Without an opener: decode the envelope, check its type, take the
 * payload as is (no signature check). */
static int
open_unsigned(const unsigned char *env, size_t len, unsigned char **payload,
              size_t *plen, char *why, size_t whylen)
{
	Mash__V1__SignedEnvelope *e = NULL;
	unsigned char *copy = NULL;
	int rc = MASH_ERR_DECODE;

	*payload = NULL;
	*plen = 0;
	if (len > MASH_MAX_ENVELOPE) {
		(void)mash_snprintf(why, whylen, "envelope too big");
		goto out;
	}
	e = mash__v1__signed_envelope__unpack(NULL, len, env);
	if (e == NULL) {
		(void)mash_snprintf(why, whylen,
		                    "envelope is not a SignedEnvelope");
		goto out;
	}
	if (e->payload_type == NULL ||
	    strcmp(e->payload_type, MASH_AUD_CHECKPOINT_TYPE) != 0) {
		rc = MASH_ERR_PAYLOAD_TYPE;
		(void)mash_snprintf(why, whylen,
		                    "envelope payload_type is not %s",
		                    MASH_AUD_CHECKPOINT_TYPE);
		goto out;
	}
	rc = MASH_ERR_NOMEM;
	copy = mash_malloc(e->payload.len);
	if (copy == NULL)
		goto out;
	if (e->payload.len > 0)
		memcpy(copy, e->payload.data, e->payload.len);
	*payload = copy;
	*plen = e->payload.len;
	copy = NULL; /* transferred */
	rc = MASH_OK;
out:
	if (e != NULL)
		mash__v1__signed_envelope__free_unpacked(e, NULL);
	mash_free(copy);
	return rc;
}

/* Open and decode one checkpoint envelope into ci (fields from the signed
 * payload). */
static int
open_checkpoint(const struct mash_aud_opener *op, const unsigned char *env,
                size_t len, struct mash_aud_checkpoint_info *ci, char *why,
                size_t whylen)
{
	Mash__V1__AuditCheckpoint *cp = NULL;
	unsigned char *payload = NULL;
	size_t plen = 0;
	int rc;

	if (op != NULL && op->open != NULL)
		rc = op->open(op->ctx, env, len, &payload, &plen, why, whylen);
	else
		rc = open_unsigned(env, len, &payload, &plen, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_DECODE;
	cp = mash__v1__audit_checkpoint__unpack(NULL, plen, payload);
	if (cp == NULL) {
		(void)mash_snprintf(why, whylen,
		                    "payload is not an AuditCheckpoint");
		goto out;
	}
	if (cp->root_hash.len != HLEN || cp->log_id == NULL ||
	    mash_strlcpy(ci->log_id, cp->log_id, sizeof(ci->log_id)) !=
	        MASH_OK ||
	    cp->tree_size == 0 || cp->tree_size > (uint64_t)INT64_MAX) {
		(void)mash_snprintf(why, whylen,
		                    "AuditCheckpoint fields out of range");
		goto out;
	}
	ci->tree_size = cp->tree_size;
	memcpy(ci->root, cp->root_hash.data, HLEN);
	ci->timestamp = cp->timestamp;
	rc = MASH_OK;
out:
	if (cp != NULL)
		mash__v1__audit_checkpoint__free_unpacked(cp, NULL);
	mash_free(payload);
	return rc;
}

static int
cp_cmp(const void *a, const void *b)
{
	const struct cp *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id);
}

/* Read the log id of the state row (empty if none). */
static int
state_log_id(sqlite3 *db, char *out, size_t outsz)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc = MASH_ERR_STORE, src;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db,
	                       "SELECT log_id FROM audit_state"
	                       " WHERE id = 1",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		if (t != NULL)
			(void)mash_strlcpy(out, (const char *)t, outsz);
	} else if (src != SQLITE_DONE) {
		goto out;
	}
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Load and check every checkpoint on its own (signature, columns equal to
 * the signed payload, log id); sorted by the tree size they cover. */
static int
load_checkpoints(sqlite3 *db, const struct mash_aud_opener *op,
                 const char *log_id, struct cplist *l,
                 struct mash_aud_verify_result *res)
{
	struct mash_aud_checkpoint_info ci;
	sqlite3_stmt *st = NULL;
	struct cp *c, *nv;
	const void *env;
	const unsigned char *col_log;
	char why[MASH_AUD_WHY_LEN];
	int src, rc = MASH_ERR_STORE, orc;
	int64_t col_size;

	if (sqlite3_prepare_v2(db,
	                       "SELECT id, tree_size, root_hash, timestamp,"
	                       " log_id, envelope FROM audit_checkpoints"
	                       " ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		set_why(res, "cannot read audit_checkpoints: %s",
		        sqlite3_errmsg(db));
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (l->n == l->cap) {
			rc = MASH_ERR_TOO_BIG;
			if (l->cap >= MAX_CHECKPOINTS) {
				set_why(res, "more than %u checkpoints",
				        MAX_CHECKPOINTS);
				goto out;
			}
			rc = MASH_ERR_NOMEM;
			nv = mash_realloc(l->v, (l->cap ? 2 * l->cap : 16) *
			                            sizeof(*nv));
			if (nv == NULL)
				goto out;
			l->v = nv;
			l->cap = l->cap ? 2 * l->cap : 16;
		}
		c = &l->v[l->n++];
		memset(c, 0, sizeof(*c));
		memset(&ci, 0, sizeof(ci));
		c->id = sqlite3_column_int64(st, 0);
		col_size = sqlite3_column_int64(st, 1);
		c->pos = col_size > 0 ? (uint64_t)col_size : 0;
		env = sqlite3_column_blob(st, 5);
		why[0] = '\0';
		orc = open_checkpoint(op, env,
		                      (size_t)sqlite3_column_bytes(st, 5), &ci,
		                      why, sizeof(why));
		if (orc != MASH_OK) {
			c->bad = 1;
			(void)mash_snprintf(c->why, sizeof(c->why),
			                    "checkpoint %lld (tree_size %lld): "
			                    "%s: %s",
			                    (long long)c->id,
			                    (long long)col_size,
			                    orc == MASH_ERR_BAD_SIGNATURE
			                        ? "signature does not verify"
			                        : "envelope does not open",
			                    why[0] ? why : mash_strerror(orc));
			continue;
		}
		c->pos = ci.tree_size;
		memcpy(c->root, ci.root, HLEN);
		col_log = sqlite3_column_text(st, 4);
		if ((uint64_t)col_size != ci.tree_size ||
		    sqlite3_column_bytes(st, 2) != (int)HLEN ||
		    memcmp(sqlite3_column_blob(st, 2), ci.root, HLEN) != 0 ||
		    sqlite3_column_int64(st, 3) != ci.timestamp ||
		    col_log == NULL ||
		    strcmp((const char *)col_log, ci.log_id) != 0) {
			c->bad = 1;
			(void)mash_snprintf(c->why, sizeof(c->why),
			                    "checkpoint %lld (tree_size %llu): "
			                    "stored columns differ from the "
			                    "signed checkpoint (altered)",
			                    (long long)c->id, U(ci.tree_size));
		} else if (strcmp(ci.log_id, log_id) != 0) {
			c->bad = 1;
			(void)mash_snprintf(c->why, sizeof(c->why),
			                    "checkpoint %lld (tree_size %llu): "
			                    "signed for log \"%s\", this log is"
			                    " \"%s\"",
			                    (long long)c->id, U(ci.tree_size),
			                    ci.log_id, log_id);
		}
	}
	if (src != SQLITE_DONE) {
		set_why(res, "cannot read audit_checkpoints: %s",
		        sqlite3_errmsg(db));
		rc = MASH_ERR_STORE;
		goto out;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cp_cmp);
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

static const char *const col_names[] = {
    "type", NULL, "actor", "case_id", "agency", "event_id", "recipient"};

/* Check one record's bytes, version, own seq and indexed columns.
 * prev_claim is the seq the previous row claimed. */
static int
check_record(sqlite3_stmt *st, uint64_t seq, uint64_t prev_claim,
             uint64_t *claim, struct mash_aud_verify_result *res)
{
	const char *bytes = (const char *)sqlite3_column_blob(st, 8);
	size_t len = (size_t)sqlite3_column_bytes(st, 8);
	json_t *obj = NULL, *jseq, *jv;
	const unsigned char *col;
	const char *val;
	char *canon = NULL;
	json_int_t m;
	int rc = MASH_ERR_TAMPERED, i;

	*claim = 0;
	obj = json_loadb(bytes ? bytes : "", len, JSON_REJECT_DUPLICATES, NULL);
	if (obj == NULL || !json_is_object(obj)) {
		set_why(res, "seq %llu: record is not a JSON object (altered)",
		        U(seq));
		goto out;
	}
	canon = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (canon == NULL || strlen(canon) != len ||
	    memcmp(canon, bytes, len) != 0) {
		set_why(res,
		        "seq %llu: record is not in canonical form "
		        "(altered)",
		        U(seq));
		goto out;
	}
	jv = json_object_get(obj, "v");
	if (!json_is_integer(jv) ||
	    json_integer_value(jv) < MASH_AUD_VERSION_MIN ||
	    json_integer_value(jv) > MASH_AUD_VERSION) {
		set_why(res, "seq %llu: unsupported record version (altered)",
		        U(seq));
		goto out;
	}
	/* A key of a later version in an earlier one was not written so. */
	if (json_integer_value(jv) < 2 &&
	    json_object_get(obj, "by_rule") != NULL) {
		set_why(res,
		        "seq %llu: version 1 record with by_rule (altered)",
		        U(seq));
		goto out;
	}
	jseq = json_object_get(obj, "seq");
	m = json_is_integer(jseq) ? json_integer_value(jseq) : 0;
	if (m <= 0) {
		set_why(res, "seq %llu: record has no valid seq (altered)",
		        U(seq));
		goto out;
	}
	*claim = (uint64_t)m;
	if ((uint64_t)m != seq) {
		if ((uint64_t)m == prev_claim)
			set_why(res,
			        "seq %llu: extra record: seq %llu and seq %llu "
			        "both claim seq %llu (a record was inserted "
			        "there and later ones renumbered)",
			        U(seq), U(seq - 1), U(seq), U(m));
		else
			set_why(
			    res,
			    "seq %llu: out of order: the record carries seq "
			    "%llu (records reordered, swapped or "
			    "renumbered)",
			    U(seq), U(m));
		res->bad_seq = seq;
		goto out_set;
	}
	/* The indexed copies must say what the record says, or a query by
	 * case or agency could be made to miss a line. */
	for (i = 0; i < (int)(sizeof(col_names) / sizeof(col_names[0])); i++) {
		if (col_names[i] == NULL) {
			jv = json_object_get(obj, "time");
			if (!json_is_integer(jv) ||
			    json_integer_value(jv) !=
			        sqlite3_column_int64(st, 2)) {
				set_why(res,
				        "seq %llu: column time_ms differs from "
				        "the record (altered)",
				        U(seq));
				goto out;
			}
			continue;
		}
		col = sqlite3_column_text(st, 1 + i);
		val = json_string_value(json_object_get(obj, col_names[i]));
		if (!((col == NULL && val == NULL) ||
		      (col != NULL && val != NULL &&
		       strcmp((const char *)col, val) == 0))) {
			set_why(res,
			        "seq %llu: column %s differs from the record "
			        "(altered)",
			        U(seq), col_names[i]);
			goto out;
		}
	}
	rc = MASH_OK;
	goto out_ok;
out:
	res->bad_seq = seq;
out_set:
	rc = MASH_ERR_TAMPERED;
out_ok:
	free(canon); /* jansson's allocator */
	json_decref(obj);
	return rc;
}

/* Check every checkpoint placed at tree size `at` against root. */
static int
check_checkpoints_at(struct cplist *l, size_t *next, uint64_t at,
                     uint64_t prev_good, const unsigned char root[HLEN],
                     struct mash_aud_verify_result *res)
{
	struct cp *c;

	while (*next < l->n && l->v[*next].pos <= at) {
		c = &l->v[*next];
		if (c->bad) {
			set_why(res, "%s", c->why);
			res->bad_checkpoint = c->id;
			return MASH_ERR_TAMPERED;
		}
		if (c->pos < at) {
			/* Only a tree_size 0 can sort before the stream. */
			set_why(res,
			        "checkpoint %lld: tree_size %llu is "
			        "impossible",
			        (long long)c->id, U(c->pos));
			res->bad_checkpoint = c->id;
			return MASH_ERR_TAMPERED;
		}
		if (CRYPTO_memcmp(c->root, root, HLEN) != 0) {
			set_why(res,
			        "checkpoint %lld (tree_size %llu) does not "
			        "match the recomputed root: a record in seq "
			        "%llu..%llu was altered, deleted or inserted",
			        (long long)c->id, U(c->pos), U(prev_good + 1),
			        U(c->pos));
			res->bad_checkpoint = c->id;
			return MASH_ERR_TAMPERED;
		}
		res->checkpoints++;
		(*next)++;
	}
	return MASH_OK;
}

/* Compare the stored tree state with what the records give. */
static int
check_state(sqlite3 *db, const struct mash_merkle_frontier *f,
            struct mash_aud_verify_result *res)
{
	struct mash_merkle_frontier s;
	unsigned char a[HLEN], b[HLEN];
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_STORE, src;

	if (sqlite3_prepare_v2(db,
	                       "SELECT tree_size, frontier FROM"
	                       " audit_state WHERE id = 1",
	                       -1, &st, NULL) != SQLITE_OK) {
		set_why(res, "cannot read audit_state: %s", sqlite3_errmsg(db));
		goto out;
	}
	src = sqlite3_step(st);
	rc = MASH_ERR_TAMPERED;
	if (src != SQLITE_ROW) {
		set_why(res, "audit_state row is missing (deleted)");
		goto out;
	}
	if (mash_merkle_frontier_decode(sqlite3_column_blob(st, 1),
	                                (size_t)sqlite3_column_bytes(st, 1),
	                                &s) != MASH_OK ||
	    (uint64_t)sqlite3_column_int64(st, 0) != s.size) {
		set_why(res, "audit_state does not decode (altered)");
		goto out;
	}
	if (s.size > f->size) {
		set_why(res,
		        "seq %llu missing: the log ends at seq %llu but the "
		        "tree state holds %llu records (deleted from the end)",
		        U(f->size + 1), U(f->size), U(s.size));
		res->bad_seq = f->size + 1;
		goto out;
	}
	if (s.size < f->size) {
		set_why(res,
		        "extra record at seq %llu: beyond the %llu records of "
		        "the tree state (inserted)",
		        U(s.size + 1), U(s.size));
		res->bad_seq = s.size + 1;
		goto out;
	}
	if (mash_merkle_frontier_root(&s, a) != MASH_OK ||
	    mash_merkle_frontier_root(f, b) != MASH_OK ||
	    CRYPTO_memcmp(a, b, HLEN) != 0) {
		set_why(res, "tree state root differs from the root of the "
		             "records (state or records altered)");
		goto out;
	}
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	return rc;
}

int
mash_aud_verify(struct sqlite3 *db, const struct mash_aud_opener *opener,
                struct mash_aud_verify_result *res)
{
	struct mash_merkle_frontier f;
	struct cplist cps = {NULL, 0, 0};
	sqlite3_stmt *st = NULL;
	unsigned char leaf[HLEN], root[HLEN];
	char log_id[MASH_AUD_MAX_ID + 1];
	uint64_t expect = 1, seq, claim = 0, prev_good = 0;
	size_t next_cp = 0;
	const void *rec;
	int rc = MASH_ERR_STORE, src, in_tx = 0;
	sqlite3_int64 raw;

	memset(res, 0, sizeof(*res));
	res->signatures_checked = opener != NULL && opener->open != NULL;
	mash_merkle_frontier_init(&f);
	if (db == NULL) {
		rc = MASH_ERR_INVAL;
		goto out;
	}
	/* One read transaction: a snapshot (WAL), so a daemon appending
	 * meanwhile cannot make the state row look ahead of the log. */
	if (sqlite3_get_autocommit(db)) {
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
			set_why(res, "cannot read: %s", sqlite3_errmsg(db));
			goto out;
		}
		in_tx = 1;
	}
	if (state_log_id(db, log_id, sizeof(log_id)) != MASH_OK) {
		set_why(res, "no audit tables: %s", sqlite3_errmsg(db));
		goto out;
	}
	rc = load_checkpoints(db, opener, log_id, &cps, res);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_STORE;
	if (sqlite3_prepare_v2(db,
	                       "SELECT seq, type, time_ms, actor, case_id,"
	                       " agency, event_id, recipient, record,"
	                       " leaf_hash FROM audit_log ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK) {
		set_why(res, "cannot read audit_log: %s", sqlite3_errmsg(db));
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = MASH_ERR_TAMPERED;
		raw = sqlite3_column_int64(st, 0);
		seq = raw > 0 ? (uint64_t)raw : 0;
		if (seq != expect) {
			if (seq > expect)
				set_why(res,
				        "seq %llu missing: the log jumps from "
				        "seq %llu to seq %llu (record deleted)",
				        U(expect), U(expect - 1), U(seq));
			else
				set_why(res,
				        "seq %lld: invalid seq (record "
				        "inserted)",
				        (long long)raw);
			res->bad_seq = seq > expect ? expect : seq;
			goto out;
		}
		rec = sqlite3_column_blob(st, 8);
		if (mash_merkle_leaf_hash(rec,
		                          (size_t)sqlite3_column_bytes(st, 8),
		                          leaf) != MASH_OK) {
			rc = MASH_ERR_CRYPTO;
			goto out;
		}
		if (sqlite3_column_bytes(st, 9) != (int)HLEN ||
		    memcmp(sqlite3_column_blob(st, 9), leaf, HLEN) != 0) {
			set_why(res,
			        "seq %llu: leaf hash mismatch (record altered)",
			        U(seq));
			res->bad_seq = seq;
			goto out;
		}
		if (check_record(st, seq, claim, &claim, res) != MASH_OK)
			goto out;
		if (mash_merkle_frontier_append(&f, leaf) != MASH_OK) {
			rc = MASH_ERR_CRYPTO;
			goto out;
		}
		/* The root is only needed where a checkpoint sits. */
		if (next_cp < cps.n && cps.v[next_cp].pos <= seq &&
		    mash_merkle_frontier_root(&f, root) != MASH_OK) {
			rc = MASH_ERR_CRYPTO;
			goto out;
		}
		rc = check_checkpoints_at(&cps, &next_cp, seq, prev_good, root,
		                          res);
		if (rc != MASH_OK)
			goto out;
		if (next_cp > 0 && cps.v[next_cp - 1].pos == seq)
			prev_good = seq;
		res->records = seq;
		expect = seq + 1;
	}
	if (src != SQLITE_DONE) {
		set_why(res, "cannot read audit_log: %s", sqlite3_errmsg(db));
		rc = MASH_ERR_STORE;
		goto out;
	}
	rc = MASH_ERR_TAMPERED;
	if (next_cp < cps.n) {
		if (cps.v[next_cp].bad) {
			set_why(res, "%s", cps.v[next_cp].why);
		} else {
			set_why(
			    res,
			    "seq %llu missing: the log ends at seq %llu but "
			    "checkpoint %lld covers %llu records (deleted "
			    "from the end)",
			    U(f.size + 1), U(f.size),
			    (long long)cps.v[next_cp].id,
			    U(cps.v[next_cp].pos));
			res->bad_seq = f.size + 1;
		}
		res->bad_checkpoint = cps.v[next_cp].id;
		goto out;
	}
	rc = check_state(db, &f, res);
	if (rc != MASH_OK)
		goto out;
	res->tree_size = f.size;
	if (mash_merkle_frontier_root(&f, res->root) != MASH_OK) {
		rc = MASH_ERR_CRYPTO;
		goto out;
	}
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	if (in_tx)
		(void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	mash_free(cps.v);
	return rc;
}

int
mash_aud_leaves(struct sqlite3 *db, uint64_t n, unsigned char (**leaves)[HLEN])
{
	unsigned char(*v)[HLEN] = NULL;
	sqlite3_stmt *st = NULL;
	uint64_t i = 0;
	int rc = MASH_ERR_NOMEM, src;

	*leaves = NULL;
	if (n > SIZE_MAX / HLEN || n > (uint64_t)INT64_MAX) {
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	v = mash_malloc(n > 0 ? (size_t)n * HLEN : 1);
	if (v == NULL)
		goto out;
	rc = MASH_ERR_STORE;
	if (sqlite3_prepare_v2(db,
	                       "SELECT seq, record, leaf_hash FROM audit_log"
	                       " WHERE seq <= ?1 ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)n) != SQLITE_OK)
		goto out;
	while (i < n && (src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = MASH_ERR_TAMPERED;
		if (sqlite3_column_int64(st, 0) != (sqlite3_int64)(i + 1))
			goto out;
		if (mash_merkle_leaf_hash(sqlite3_column_blob(st, 1),
		                          (size_t)sqlite3_column_bytes(st, 1),
		                          v[i]) != MASH_OK) {
			rc = MASH_ERR_CRYPTO;
			goto out;
		}
		if (sqlite3_column_bytes(st, 2) != (int)HLEN ||
		    memcmp(sqlite3_column_blob(st, 2), v[i], HLEN) != 0)
			goto out;
		i++;
	}
	rc = MASH_ERR_NOT_FOUND;
	if (i < n)
		goto out;
	*leaves = v;
	v = NULL; /* transferred */
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	mash_free(v);
	return rc;
}

void
mash_aud_checkpoint_info_clear(struct mash_aud_checkpoint_info *ci)
{
	if (ci == NULL)
		return;
	mash_free(ci->envelope);
	memset(ci, 0, sizeof(*ci));
}

int
mash_aud_latest_signed(struct sqlite3 *db, const struct mash_aud_opener *opener,
                       struct mash_aud_checkpoint_info *out, char *why,
                       size_t whylen)
{
	struct mash_aud_checkpoint_info ci;
	sqlite3_stmt *st = NULL;
	const void *env;
	size_t len;
	int rc = MASH_ERR_STORE, src;

	memset(out, 0, sizeof(*out));
	memset(&ci, 0, sizeof(ci));
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, envelope FROM audit_checkpoints"
	                       " ORDER BY tree_size DESC, id DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK) {
		(void)mash_snprintf(why, whylen, "cannot read checkpoints: %s",
		                    sqlite3_errmsg(db));
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		(void)mash_snprintf(why, whylen, "no checkpoint yet");
		goto out;
	}
	if (src != SQLITE_ROW)
		goto out;
	ci.id = sqlite3_column_int64(st, 0);
	env = sqlite3_column_blob(st, 1);
	len = (size_t)sqlite3_column_bytes(st, 1);
	rc = open_checkpoint(opener, env, len, &ci, why, whylen);
	if (rc != MASH_OK) {
		rc = MASH_ERR_TAMPERED;
		goto out;
	}
	rc = MASH_ERR_NOMEM;
	ci.envelope = mash_malloc(len);
	if (ci.envelope == NULL)
		goto out;
	memcpy(ci.envelope, env, len);
	ci.envelope_len = len;
	*out = ci;
	memset(&ci, 0, sizeof(ci)); /* transferred */
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	mash_aud_checkpoint_info_clear(&ci);
	return rc;
}

int
mash_aud_record_bytes(struct sqlite3 *db, uint64_t seq, char **record,
                      size_t *len)
{
	sqlite3_stmt *st = NULL;
	int rc = MASH_ERR_STORE, src, n;

	*record = NULL;
	*len = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT record FROM audit_log WHERE seq = ?1",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq) != SQLITE_OK)
		goto out;
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW)
		goto out;
	n = sqlite3_column_bytes(st, 0);
	rc = MASH_ERR_NOMEM;
	*record =
	    mash_strndup((const char *)sqlite3_column_blob(st, 0), (size_t)n);
	if (*record == NULL)
		goto out;
	*len = (size_t)n;
	rc = MASH_OK;
out:
	sqlite3_finalize(st);
	return rc;
}
