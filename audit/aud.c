/*
 * aud.c - audit records appended to an RFC 9162 Merkle tree, and signed
 * checkpoints of that tree, kept in the daemon's store (store/store_aud.h:
 * the log rows, whose record is the canonical JSON leaf and whose other
 * columns are copies kept for indexed queries that verify checks agree;
 * the tree state, the compact range of merkle.h so appends are O(log n);
 * every signed AuditCheckpoint with its SignedEnvelope bytes).
 *
 * Nothing is cached between calls: each append reads the one-row state,
 * so a rolled-back caller transaction can never leave the in-memory tree
 * ahead of the database.
 */
#include <string.h>

#include "audit/aud.h"
#include "audit/aud_json.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "mash/v1/mash.pb-c.h"
#include "store/store_aud.h"

#define HLEN           MASH_MERKLE_HASH_LEN
#define DEFAULT_LOG_ID "mash-audit"

static const char *const type_names[] = {
    [MASH_AUD_EVENT_RECEIVED] = "EVENT_RECEIVED",
    [MASH_AUD_EVENT_REJECTED] = "EVENT_REJECTED",
    [MASH_AUD_EVENT_DUPLICATE] = "EVENT_DUPLICATE",
    [MASH_AUD_DECISION] = "DECISION",
    [MASH_AUD_DELIVERY] = "DELIVERY",
    [MASH_AUD_PICTURE_GRANTED] = "PICTURE_GRANTED",
    [MASH_AUD_PICTURE_DENIED] = "PICTURE_DENIED",
    [MASH_AUD_BREAK_GLASS] = "BREAK_GLASS",
    [MASH_AUD_BREAK_GLASS_REFUSED] = "BREAK_GLASS_REFUSED",
    [MASH_AUD_QUARANTINE_READ] = "QUARANTINE_READ",
    [MASH_AUD_TRIGGER_RAISED] = "TRIGGER_RAISED",
    [MASH_AUD_TRIGGER_UPDATED] = "TRIGGER_UPDATED",
    [MASH_AUD_TRIGGER_DELIVERY] = "TRIGGER_DELIVERY",
    [MASH_AUD_CLOCK_SET] = "CLOCK_SET",
    [MASH_AUD_ESCALATION] = "ESCALATION",
    [MASH_AUD_POLICY_LOAD] = "POLICY_LOAD",
    [MASH_AUD_KEY_CHANGE] = "KEY_CHANGE",
    [MASH_AUD_PURGE] = "PURGE",
    [MASH_AUD_CHECKPOINT] = "CHECKPOINT",
    [MASH_AUD_DELIVERY_HELD] = "DELIVERY_HELD",
    [MASH_AUD_DELIVERY_FAILED] = "DELIVERY_FAILED",
    [MASH_AUD_DELIVERY_RETRIED] = "DELIVERY_RETRIED",
    [MASH_AUD_DELIVERY_DROPPED] = "DELIVERY_DROPPED",
    [MASH_AUD_DELIVERY_QUEUED] = "DELIVERY_QUEUED",
};

struct mash_aud {
	struct mash_store *st; /* borrowed */
	const struct mash_clock *clock;
	char log_id[MASH_AUD_MAX_ID + 1];
};

const char *
mash_aud_type_name(enum mash_aud_type type)
{
	if ((int)type < MASH_AUD_TYPE_MIN || (int)type > MASH_AUD_TYPE_MAX)
		return NULL;
	return type_names[type];
}

int
mash_aud_type_parse(const char *name, enum mash_aud_type *out)
{
	int t;

	if (name == NULL)
		return MASH_ERR_BAD_ENUM;
	for (t = MASH_AUD_TYPE_MIN; t <= MASH_AUD_TYPE_MAX; t++) {
		if (strcmp(type_names[t], name) == 0) {
			*out = (enum mash_aud_type)t;
			return MASH_OK;
		}
	}
	return MASH_ERR_BAD_ENUM;
}

void
mash_aud_free(struct mash_aud *aud)
{
	mash_free(aud);
}

/* Read the tree state; a state that does not decode, or whose size
 * disagrees with its frontier, was altered outside this module. */
static int
state_read(struct mash_aud *aud, struct mash_merkle_frontier *f)
{
	unsigned char buf[MASH_MERKLE_FRONTIER_MAX_BYTES];
	uint64_t size;
	size_t len;
	int rc;

	mash_merkle_frontier_init(f);
	rc = mash_store_aud_state_get(aud->st, &size, buf, sizeof(buf), &len);
	if (rc == MASH_ERR_TOO_BIG)
		return MASH_ERR_TAMPERED;
	if (rc != MASH_OK)
		return MASH_ERR_STORE;
	rc = mash_merkle_frontier_decode(buf, len, f);
	if (rc != MASH_OK || size != f->size)
		return MASH_ERR_TAMPERED;
	return MASH_OK;
}

static int
state_write(struct mash_aud *aud, const struct mash_merkle_frontier *f)
{
	unsigned char buf[MASH_MERKLE_FRONTIER_MAX_BYTES];
	size_t len;
	int rc;

	rc = mash_merkle_frontier_encode(f, buf, sizeof(buf), &len);
	if (rc != MASH_OK)
		return rc;
	return mash_store_aud_state_put(aud->st, f->size, buf, len);
}

int
mash_aud_open(struct mash_store *st, const struct mash_clock *clock,
              const char *log_id, struct mash_aud **out)
{
	struct mash_aud *aud = NULL;
	struct mash_merkle_frontier f;
	unsigned char buf[MASH_MERKLE_FRONTIER_MAX_BYTES];
	size_t len;
	int rc = MASH_ERR_INVAL;

	*out = NULL;
	if (st == NULL || clock == NULL)
		goto out;
	if (log_id == NULL)
		log_id = DEFAULT_LOG_ID;
	rc = mash_str_check(log_id, MASH_AUD_MAX_ID);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_NOMEM;
	aud = mash_calloc(1, sizeof(*aud));
	if (aud == NULL)
		goto out;
	aud->st = st;
	aud->clock = clock;
	/* First open of this store: the empty tree under log_id. */
	mash_merkle_frontier_init(&f);
	(void)mash_merkle_frontier_encode(&f, buf, sizeof(buf), &len);
	rc = mash_store_aud_init(st, log_id, MASH_AUD_VERSION, buf, len,
	                         aud->log_id, sizeof(aud->log_id));
	if (rc != MASH_OK) {
		mash_err("audit: cannot open the log in the store (%s)",
		         mash_errname(rc));
		rc = MASH_ERR_STORE;
		goto out;
	}
	rc = state_read(aud, &f);
	if (rc != MASH_OK) {
		mash_err("audit: stored tree state is unreadable (%s)",
		         mash_errname(rc));
		goto out;
	}
	*out = aud;
	aud = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_aud_free(aud);
	return rc;
}

const char *
mash_aud_log_id(const struct mash_aud *aud)
{
	return aud->log_id;
}

int
mash_aud_tree(struct mash_aud *aud, uint64_t *size, unsigned char root[HLEN])
{
	struct mash_merkle_frontier f;
	int rc;

	*size = 0;
	memset(root, 0, HLEN);
	rc = state_read(aud, &f);
	if (rc == MASH_OK)
		rc = mash_merkle_frontier_root(&f, root);
	if (rc == MASH_OK)
		*size = f.size;
	return rc;
}

/* The indexed copy of a string field, masked exactly like the leaf; NULL
 * when the record has none. */
static const char *
col(const char *v)
{
	return v[0] != '\0' ? v : NULL;
}

/* Encode, hash and insert one record as the leaf after *f (advanced). */
static int
append_one(struct mash_aud *aud, struct mash_merkle_frontier *f,
           const struct mash_aud_record *rec)
{
	struct mash_store_aud_row row;
	struct mash_aud_cols cols;
	unsigned char leaf[HLEN];
	char *bytes = NULL;
	size_t len = 0;
	int64_t now;
	int rc;

	now = rec->time_ms != 0 ? rec->time_ms : mash_clock_now(aud->clock);
	rc = mash_aud_json(rec, f->size + 1, now, &bytes, &len, &cols);
	if (rc != MASH_OK)
		goto out;
	rc = mash_merkle_leaf_hash(bytes, len, leaf);
	if (rc == MASH_OK)
		rc = mash_merkle_frontier_append(f, leaf);
	if (rc != MASH_OK)
		goto out;
	memset(&row, 0, sizeof(row));
	row.seq = f->size;
	row.type = mash_aud_type_name(rec->type);
	row.time_ms = now;
	row.actor = col(cols.actor);
	row.case_id = col(cols.case_id);
	row.agency = col(cols.agency);
	row.event_id = col(cols.event_id);
	row.recipient = col(cols.recipient);
	row.record = bytes;
	row.record_len = len;
	row.leaf_hash = leaf;
	row.leaf_len = HLEN;
	rc = mash_store_aud_row_add(aud->st, &row) == MASH_OK ? MASH_OK
	                                                      : MASH_ERR_STORE;
out:
	mash_free(bytes);
	return rc;
}

int
mash_aud_append_many(struct mash_aud *aud, const struct mash_aud_record *recs,
                     size_t n, uint64_t *seqs)
{
	struct mash_merkle_frontier f;
	size_t i;
	int rc = MASH_ERR_INVAL, in_sp = 0;

	for (i = 0; seqs != NULL && i < n; i++)
		seqs[i] = 0;
	if (aud == NULL || (recs == NULL && n > 0))
		goto out;
	rc = MASH_OK;
	if (n == 0)
		goto out;
	/* One savepoint and one read and write of the tree state for the
	 * lot, not one each (a DECISION for every principal in the
	 * directory, every event). */
	rc = MASH_ERR_STORE;
	if (mash_store_aud_savepoint(aud->st) != MASH_OK)
		goto out;
	in_sp = 1;
	rc = state_read(aud, &f);
	if (rc != MASH_OK)
		goto out;
	for (i = 0; i < n; i++) {
		rc = append_one(aud, &f, &recs[i]);
		if (rc != MASH_OK)
			goto out;
	}
	rc = MASH_ERR_STORE;
	if (state_write(aud, &f) != MASH_OK)
		goto out;
	if (mash_store_aud_release(aud->st) != MASH_OK)
		goto out;
	in_sp = 0;
	for (i = 0; seqs != NULL && i < n; i++)
		seqs[i] = f.size - n + 1 + i;
	rc = MASH_OK;
out:
	if (in_sp)
		mash_store_aud_undo(aud->st);
	return rc;
}

int
mash_aud_append(struct mash_aud *aud, const struct mash_aud_record *rec,
                uint64_t *seq)
{
	if (seq != NULL)
		*seq = 0;
	if (rec == NULL)
		return MASH_ERR_INVAL;
	return mash_aud_append_many(aud, rec, 1, seq);
}

/* The last checkpoint's tree size and time; *found 0 if there is none. */
static int
last_checkpoint(struct mash_aud *aud, uint64_t *size, int64_t *ts, int *found)
{
	int rc = mash_store_aud_checkpoint_last(aud->st, size, ts, NULL, NULL);

	*found = rc == MASH_OK;
	if (rc == MASH_ERR_NOT_FOUND)
		rc = MASH_OK;
	return rc == MASH_OK ? MASH_OK : MASH_ERR_STORE;
}

int
mash_aud_checkpoint_due(struct mash_aud *aud,
                        const struct mash_aud_checkpoint_policy *pol)
{
	struct mash_merkle_frontier f;
	uint64_t cp_size, fresh;
	int64_t cp_ts, now;
	int found, rc;

	rc = state_read(aud, &f);
	if (rc != MASH_OK)
		return rc;
	rc = last_checkpoint(aud, &cp_size, &cp_ts, &found);
	if (rc != MASH_OK)
		return rc;
	if (!found)
		return f.size > 0;
	/* The CHECKPOINT record written right after a checkpoint does not
	 * by itself call for another one. */
	fresh = f.size > cp_size + 1 ? f.size - cp_size - 1 : 0;
	if (fresh == 0)
		return 0;
	if (pol->every_records > 0 && fresh >= pol->every_records)
		return 1;
	now = mash_clock_now(aud->clock);
	if (pol->every_ms > 0 && now - cp_ts >= pol->every_ms)
		return 1;
	return 0;
}

int
mash_aud_checkpoint(struct mash_aud *aud, const struct mash_aud_signer *signer,
                    unsigned char **env, size_t *len)
{
	Mash__V1__AuditCheckpoint cp = MASH__V1__AUDIT_CHECKPOINT__INIT;
	struct mash_aud_record rec;
	unsigned char root[HLEN];
	char root_hex[2 * HLEN + 1], extra[160];
	unsigned char *payload = NULL, *sealed = NULL, *copy = NULL;
	size_t payload_len, sealed_len = 0;
	uint64_t size, cp_size;
	int64_t now, cp_ts;
	int rc = MASH_ERR_INVAL, found, in_sp = 0;

	if (env != NULL)
		*env = NULL;
	if (len != NULL)
		*len = 0;
	if (aud == NULL || signer == NULL || signer->seal == NULL)
		goto out;
	rc = mash_aud_tree(aud, &size, root);
	if (rc != MASH_OK)
		goto out;
	rc = last_checkpoint(aud, &cp_size, &cp_ts, &found);
	if (rc != MASH_OK)
		goto out;
	/* Nothing new since the last checkpoint (its own CHECKPOINT record
	 * aside): the retained checkpoint is still the latest word. */
	if (size == 0 || (found && size <= cp_size + 1))
		goto out_ok;
	now = mash_clock_now(aud->clock);
	cp.log_id = aud->log_id;
	cp.tree_size = size;
	cp.root_hash.data = root;
	cp.root_hash.len = HLEN;
	cp.timestamp = now;
	rc = MASH_ERR_NOMEM;
	payload_len = mash__v1__audit_checkpoint__get_packed_size(&cp);
	payload = mash_malloc(payload_len);
	if (payload == NULL)
		goto out;
	if (mash__v1__audit_checkpoint__pack(&cp, payload) != payload_len) {
		rc = MASH_ERR_INTERNAL;
		goto out;
	}
	rc = signer->seal(signer->ctx, MASH_AUD_CHECKPOINT_TYPE, payload,
	                  payload_len, &sealed, &sealed_len);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_INVAL;
	if (sealed == NULL || sealed_len == 0 || sealed_len > INT32_MAX)
		goto out;
	rc = MASH_ERR_STORE;
	if (mash_store_aud_savepoint(aud->st) != MASH_OK)
		goto out;
	in_sp = 1;
	if (mash_store_aud_checkpoint_add(aud->st, size, root, HLEN, now,
	                                  aud->log_id, sealed,
	                                  sealed_len) != MASH_OK)
		goto out;
	mash_hex(root, HLEN, root_hex);
	rc = mash_snprintf(extra, sizeof(extra),
	                   "{\"tree_size\":%llu,\"root\":\"%s\"}",
	                   (unsigned long long)size, root_hex);
	if (rc != MASH_OK)
		goto out;
	memset(&rec, 0, sizeof(rec));
	rec.type = MASH_AUD_CHECKPOINT;
	rec.time_ms = now;
	rec.actor = "mashd";
	rec.extra_json = extra;
	rc = mash_aud_append(aud, &rec, NULL);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_STORE;
	if (mash_store_aud_release(aud->st) != MASH_OK)
		goto out;
	in_sp = 0;
	if (env != NULL) {
		rc = MASH_ERR_NOMEM;
		copy = mash_malloc(sealed_len);
		if (copy == NULL)
			goto out;
		memcpy(copy, sealed, sealed_len);
		*env = copy;
		copy = NULL; /* transferred */
		if (len != NULL)
			*len = sealed_len;
	}
out_ok:
	rc = MASH_OK;
out:
	if (in_sp)
		mash_store_aud_undo(aud->st);
	mash_free(payload);
	mash_free(sealed);
	return rc;
}

int
mash_aud_latest_checkpoint(struct mash_aud *aud, unsigned char **env,
                           size_t *len)
{
	uint64_t size;
	int64_t ts;
	int rc;

	*env = NULL;
	*len = 0;
	rc = mash_store_aud_checkpoint_last(aud->st, &size, &ts, env, len);
	if (rc != MASH_OK && rc != MASH_ERR_NOT_FOUND && rc != MASH_ERR_NOMEM)
		rc = MASH_ERR_STORE;
	return rc;
}
