/*
 * verify.c - check an audit trail at rest (mashctl audit verify) and read
 * what proofs need (mashctl audit prove), read through the store
 * (store/store_aud.h) exactly as stored: nothing read is trusted.
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

#include "audit/aud.h"
#include "audit/verify.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "mash/v1/mash.pb-c.h"
#include "store/store.h"
#include "store/store_aud.h"

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

struct cp_load {
	const struct mash_aud_opener *op;
	const char *log_id;
	struct cplist *l;
	struct mash_aud_verify_result *res;
};

/* Check one checkpoint on its own (signature, columns equal to the
 * signed payload, log id). */
static int
load_one_checkpoint(void *ctx, const struct mash_store_aud_cp_raw *raw)
{
	struct cp_load *ld = ctx;
	struct cplist *l = ld->l;
	struct mash_aud_checkpoint_info ci;
	char why[MASH_AUD_WHY_LEN];
	struct cp *c, *nv;
	int orc;

	if (l->n == l->cap) {
		if (l->cap >= MAX_CHECKPOINTS) {
			set_why(ld->res, "more than %u checkpoints",
			        MAX_CHECKPOINTS);
			return MASH_ERR_TOO_BIG;
		}
		nv = mash_realloc(l->v,
		                  (l->cap ? 2 * l->cap : 16) * sizeof(*nv));
		if (nv == NULL)
			return MASH_ERR_NOMEM;
		l->v = nv;
		l->cap = l->cap ? 2 * l->cap : 16;
	}
	c = &l->v[l->n++];
	memset(c, 0, sizeof(*c));
	memset(&ci, 0, sizeof(ci));
	c->id = raw->id;
	c->pos = raw->tree_size > 0 ? (uint64_t)raw->tree_size : 0;
	why[0] = '\0';
	orc = open_checkpoint(ld->op, raw->env, raw->env_len, &ci, why,
	                      sizeof(why));
	if (orc != MASH_OK) {
		c->bad = 1;
		(void)mash_snprintf(c->why, sizeof(c->why),
		                    "checkpoint %lld (tree_size %lld): %s: %s",
		                    (long long)c->id, (long long)raw->tree_size,
		                    orc == MASH_ERR_BAD_SIGNATURE
		                        ? "signature does not verify"
		                        : "envelope does not open",
		                    why[0] ? why : mash_strerror(orc));
		return MASH_OK;
	}
	c->pos = ci.tree_size;
	memcpy(c->root, ci.root, HLEN);
	if ((uint64_t)raw->tree_size != ci.tree_size || raw->root_len != HLEN ||
	    memcmp(raw->root, ci.root, HLEN) != 0 ||
	    raw->timestamp != ci.timestamp || raw->log_id == NULL ||
	    strcmp(raw->log_id, ci.log_id) != 0) {
		c->bad = 1;
		(void)mash_snprintf(c->why, sizeof(c->why),
		                    "checkpoint %lld (tree_size %llu): stored "
		                    "columns differ from the signed checkpoint "
		                    "(altered)",
		                    (long long)c->id, U(ci.tree_size));
	} else if (strcmp(ci.log_id, ld->log_id) != 0) {
		c->bad = 1;
		(void)mash_snprintf(c->why, sizeof(c->why),
		                    "checkpoint %lld (tree_size %llu): signed "
		                    "for log \"%s\", this log is \"%s\"",
		                    (long long)c->id, U(ci.tree_size),
		                    ci.log_id, ld->log_id);
	}
	return MASH_OK;
}

/* Load and check every checkpoint; sorted by the tree size they cover. */
static int
load_checkpoints(struct mash_store *st, const struct mash_aud_opener *op,
                 const char *log_id, struct cplist *l,
                 struct mash_aud_verify_result *res)
{
	struct cp_load ld = {op, log_id, l, res};
	int rc;

	rc = mash_store_aud_checkpoints(st, 0, load_one_checkpoint, &ld);
	if (rc == MASH_ERR_STORE)
		set_why(res, "cannot read audit_checkpoints");
	if (rc != MASH_OK)
		return rc;
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cp_cmp);
	return MASH_OK;
}

static const char *const col_names[] = {
    "type", NULL, "actor", "case_id", "agency", "event_id", "recipient"};

/* The indexed copy of the record's key i of col_names. */
static const char *
row_col(const struct mash_store_aud_raw *r, int i)
{
	switch (i) {
	case 0:
		return r->type;
	case 2:
		return r->actor;
	case 3:
		return r->case_id;
	case 4:
		return r->agency;
	case 5:
		return r->event_id;
	default:
		return r->recipient;
	}
}

/* Check one record's bytes, version, own seq and indexed columns.
 * prev_claim is the seq the previous row claimed. */
static int
check_record(const struct mash_store_aud_raw *row, uint64_t seq,
             uint64_t prev_claim, uint64_t *claim,
             struct mash_aud_verify_result *res)
{
	const char *bytes = row->record;
	size_t len = row->record_len;
	json_t *obj = NULL, *jseq, *jv;
	const char *col;
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
			    json_integer_value(jv) != row->time_ms) {
				set_why(res,
				        "seq %llu: column time_ms differs from "
				        "the record (altered)",
				        U(seq));
				goto out;
			}
			continue;
		}
		col = row_col(row, i);
		val = json_string_value(json_object_get(obj, col_names[i]));
		if (!((col == NULL && val == NULL) ||
		      (col != NULL && val != NULL && strcmp(col, val) == 0))) {
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
check_state(struct mash_store *st, const struct mash_merkle_frontier *f,
            struct mash_aud_verify_result *res)
{
	struct mash_merkle_frontier s;
	unsigned char a[HLEN], b[HLEN], buf[MASH_MERKLE_FRONTIER_MAX_BYTES];
	uint64_t size;
	size_t len;
	int rc;

	rc = mash_store_aud_state_get(st, &size, buf, sizeof(buf), &len);
	if (rc == MASH_ERR_STORE) {
		set_why(res, "cannot read audit_state");
		return rc;
	}
	if (rc == MASH_ERR_NOT_FOUND) {
		set_why(res, "audit_state row is missing (deleted)");
		return MASH_ERR_TAMPERED;
	}
	if (rc != MASH_OK ||
	    mash_merkle_frontier_decode(buf, len, &s) != MASH_OK ||
	    size != s.size) {
		set_why(res, "audit_state does not decode (altered)");
		return MASH_ERR_TAMPERED;
	}
	rc = MASH_ERR_TAMPERED;
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
	return rc;
}

/* The stream of records: the frontier and where each check stands. */
struct walk {
	struct mash_merkle_frontier f;
	struct cplist *cps;
	struct mash_aud_verify_result *res;
	uint64_t expect, claim, prev_good;
	size_t next_cp;
};

static int
walk_row(void *ctx, const struct mash_store_aud_raw *row)
{
	struct walk *w = ctx;
	struct mash_aud_verify_result *res = w->res;
	unsigned char leaf[HLEN], root[HLEN];
	uint64_t seq = row->seq > 0 ? (uint64_t)row->seq : 0;
	int rc;

	if (seq != w->expect) {
		if (seq > w->expect)
			set_why(res,
			        "seq %llu missing: the log jumps from seq %llu "
			        "to seq %llu (record deleted)",
			        U(w->expect), U(w->expect - 1), U(seq));
		else
			set_why(res, "seq %lld: invalid seq (record inserted)",
			        (long long)row->seq);
		res->bad_seq = seq > w->expect ? w->expect : seq;
		return MASH_ERR_TAMPERED;
	}
	if (mash_merkle_leaf_hash(row->record, row->record_len, leaf) !=
	    MASH_OK)
		return MASH_ERR_CRYPTO;
	if (row->leaf_len != HLEN || row->leaf_hash == NULL ||
	    memcmp(row->leaf_hash, leaf, HLEN) != 0) {
		set_why(res, "seq %llu: leaf hash mismatch (record altered)",
		        U(seq));
		res->bad_seq = seq;
		return MASH_ERR_TAMPERED;
	}
	if (check_record(row, seq, w->claim, &w->claim, res) != MASH_OK)
		return MASH_ERR_TAMPERED;
	if (mash_merkle_frontier_append(&w->f, leaf) != MASH_OK)
		return MASH_ERR_CRYPTO;
	/* The root is only needed where a checkpoint sits. */
	if (w->next_cp < w->cps->n && w->cps->v[w->next_cp].pos <= seq &&
	    mash_merkle_frontier_root(&w->f, root) != MASH_OK)
		return MASH_ERR_CRYPTO;
	rc = check_checkpoints_at(w->cps, &w->next_cp, seq, w->prev_good, root,
	                          res);
	if (rc != MASH_OK)
		return rc;
	if (w->next_cp > 0 && w->cps->v[w->next_cp - 1].pos == seq)
		w->prev_good = seq;
	res->records = seq;
	w->expect = seq + 1;
	return MASH_OK;
}

int
mash_aud_verify(struct mash_store *st, const struct mash_aud_opener *opener,
                struct mash_aud_verify_result *res)
{
	struct cplist cps = {NULL, 0, 0};
	struct walk w;
	char log_id[MASH_AUD_MAX_ID + 1];
	int rc = MASH_ERR_STORE, began = 0;

	memset(res, 0, sizeof(*res));
	memset(&w, 0, sizeof(w));
	res->signatures_checked = opener != NULL && opener->open != NULL;
	mash_merkle_frontier_init(&w.f);
	w.cps = &cps;
	w.res = res;
	w.expect = 1;
	if (st == NULL) {
		rc = MASH_ERR_INVAL;
		goto out;
	}
	/* One read transaction: a snapshot (WAL), so a daemon appending
	 * meanwhile cannot make the state row look ahead of the log. */
	if (mash_store_snapshot_begin(st, &began) != MASH_OK) {
		set_why(res, "cannot read the store");
		goto out;
	}
	if (mash_store_aud_log_id(st, log_id, sizeof(log_id)) != MASH_OK) {
		set_why(res, "no audit tables");
		goto out;
	}
	rc = load_checkpoints(st, opener, log_id, &cps, res);
	if (rc != MASH_OK)
		goto out;
	rc = mash_store_aud_rows(st, NULL, walk_row, &w);
	if (rc == MASH_ERR_STORE)
		set_why(res, "cannot read audit_log");
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_TAMPERED;
	if (w.next_cp < cps.n) {
		if (cps.v[w.next_cp].bad) {
			set_why(res, "%s", cps.v[w.next_cp].why);
		} else {
			set_why(
			    res,
			    "seq %llu missing: the log ends at seq %llu but "
			    "checkpoint %lld covers %llu records (deleted "
			    "from the end)",
			    U(w.f.size + 1), U(w.f.size),
			    (long long)cps.v[w.next_cp].id,
			    U(cps.v[w.next_cp].pos));
			res->bad_seq = w.f.size + 1;
		}
		res->bad_checkpoint = cps.v[w.next_cp].id;
		goto out;
	}
	rc = check_state(st, &w.f, res);
	if (rc != MASH_OK)
		goto out;
	res->tree_size = w.f.size;
	if (mash_merkle_frontier_root(&w.f, res->root) != MASH_OK) {
		rc = MASH_ERR_CRYPTO;
		goto out;
	}
	rc = MASH_OK;
out:
	mash_store_snapshot_end(st, began);
	mash_free(cps.v);
	return rc;
}

struct leaves {
	unsigned char (*v)[HLEN];
	uint64_t i, n;
};

static int
leaf_row(void *ctx, const struct mash_store_aud_raw *row)
{
	struct leaves *l = ctx;

	if (l->i >= l->n)
		return MASH_OK;
	if (row->seq != (int64_t)(l->i + 1))
		return MASH_ERR_TAMPERED;
	if (mash_merkle_leaf_hash(row->record, row->record_len, l->v[l->i]) !=
	    MASH_OK)
		return MASH_ERR_CRYPTO;
	if (row->leaf_len != HLEN || row->leaf_hash == NULL ||
	    memcmp(row->leaf_hash, l->v[l->i], HLEN) != 0)
		return MASH_ERR_TAMPERED;
	l->i++;
	return MASH_OK;
}

int
mash_aud_leaves(struct mash_store *st, uint64_t n,
                unsigned char (**leaves)[HLEN])
{
	struct mash_store_aud_filter f;
	struct leaves l = {NULL, 0, n};
	int rc = MASH_ERR_NOMEM;

	*leaves = NULL;
	if (n > SIZE_MAX / HLEN || n > (uint64_t)INT64_MAX) {
		rc = MASH_ERR_TOO_BIG;
		goto out;
	}
	l.v = mash_malloc(n > 0 ? (size_t)n * HLEN : 1);
	if (l.v == NULL)
		goto out;
	memset(&f, 0, sizeof(f));
	f.since = -1;
	f.until = -1;
	f.max_seq = n;
	rc = n > 0 ? mash_store_aud_rows(st, &f, leaf_row, &l) : MASH_OK;
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_NOT_FOUND;
	if (l.i < n)
		goto out;
	*leaves = l.v;
	l.v = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_free(l.v);
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

struct latest {
	const struct mash_aud_opener *op;
	struct mash_aud_checkpoint_info *ci;
	char *why;
	size_t whylen;
	int found;
};

static int
latest_cp(void *ctx, const struct mash_store_aud_cp_raw *raw)
{
	struct latest *lt = ctx;
	struct mash_aud_checkpoint_info *ci = lt->ci;

	lt->found = 1;
	ci->id = raw->id;
	if (open_checkpoint(lt->op, raw->env, raw->env_len, ci, lt->why,
	                    lt->whylen) != MASH_OK)
		return MASH_ERR_TAMPERED;
	ci->envelope = mash_malloc(raw->env_len > 0 ? raw->env_len : 1);
	if (ci->envelope == NULL)
		return MASH_ERR_NOMEM;
	if (raw->env_len > 0)
		memcpy(ci->envelope, raw->env, raw->env_len);
	ci->envelope_len = raw->env_len;
	return MASH_OK;
}

int
mash_aud_latest_signed(struct mash_store *st,
                       const struct mash_aud_opener *opener,
                       struct mash_aud_checkpoint_info *out, char *why,
                       size_t whylen)
{
	struct mash_aud_checkpoint_info ci;
	struct latest lt;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ci, 0, sizeof(ci));
	lt.op = opener;
	lt.ci = &ci;
	lt.why = why;
	lt.whylen = whylen;
	lt.found = 0;
	rc = mash_store_aud_checkpoints(st, 1, latest_cp, &lt);
	if (rc == MASH_ERR_STORE)
		(void)mash_snprintf(why, whylen, "cannot read checkpoints");
	if (rc == MASH_OK && !lt.found) {
		rc = MASH_ERR_NOT_FOUND;
		(void)mash_snprintf(why, whylen, "no checkpoint yet");
	}
	if (rc != MASH_OK)
		goto out;
	*out = ci;
	memset(&ci, 0, sizeof(ci)); /* transferred */
out:
	mash_aud_checkpoint_info_clear(&ci);
	return rc;
}

int
mash_aud_record_bytes(struct mash_store *st, uint64_t seq, char **record,
                      size_t *len)
{
	return mash_store_aud_record(st, seq, record, len);
}
