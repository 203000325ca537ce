/*
 * sq_agent_outbox_keys.c - an agent's outbox encrypted at rest (issue 28,
 * crypto/atrest.h): its keyring for sq_unlock_ring, and the refusal of an
 * encrypted outbox opened without its key file.
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "crypto/atrest.h"
#include "store/sqlite/sq_agent_outbox_int.h"

/* Encryption at rest (issue 28): the outbox's wrapped keys live in
 * mash_outbox_keys; its first unlock seals every envelope kept in clear.
 * An envelope's place is "outbox.envelope\n<agency>\n<event id>". */
static int
ob_keys_get(struct mash_store_be *be, uint8_t *wrapped, size_t *len)
{
	sqlite3_stmt *s = NULL;
	int rc, src, n;

	rc = sq_prep(be, "SELECT wrapped FROM mash_outbox_keys WHERE id = 1",
	             &s);
	if (rc != MASH_OK)
		return rc;
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
	} else if (src != SQLITE_ROW) {
		rc = sq_fail(be, src, "outbox keys");
	} else {
		n = sqlite3_column_bytes(s, 0);
		rc = MASH_ERR_DECODE;
		if (n == (int)MASH_ATREST_WRAPPED) {
			memcpy(wrapped, sqlite3_column_blob(s, 0), (size_t)n);
			*len = (size_t)n;
			rc = MASH_OK;
		}
	}
	sq_stmt_done(s);
	return rc;
}

static int
ob_keys_put(struct mash_store_be *be, const uint8_t *wrapped, size_t len)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sq_prep(
	    be, "INSERT INTO mash_outbox_keys(id, wrapped) VALUES (1, ?1)", &s);
	if (rc != MASH_OK)
		return rc;
	if (sq_bind_blob(s, 1, wrapped, len) || sqlite3_step(s) != SQLITE_DONE)
		rc = sq_fail(be, sqlite3_errcode(be->db), "outbox keys");
	sq_stmt_done(s);
	return rc;
}

static int
ob_migrate(struct mash_store_be *be, uint64_t *rows)
{
	return sq_seal_column(be,
	                      "SELECT rowid, envelope, agency, event_id FROM"
	                      " mash_outbox_events WHERE rowid > ?1 AND"
	                      " envelope IS NOT NULL ORDER BY rowid LIMIT 1",
	                      "UPDATE mash_outbox_events SET envelope = ?1"
	                      " WHERE rowid = ?2",
	                      "outbox.envelope", rows);
}

static const struct sq_keyring outbox_ring = {
    .what = "outbox",
    .get = ob_keys_get,
    .put = ob_keys_put,
    .migrate = ob_migrate,
};

int
sq_ob_unlock(struct mash_outbox *ob, const char *path)
{
	uint8_t wrapped[MASH_ATREST_WRAPPED];
	size_t len = 0;
	int rc;

	if (ob->cfg.kek != NULL) {
		rc = sq_unlock_ring(ob->be, ob->cfg.kek, &outbox_ring);
		if (rc == MASH_ERR_DECRYPT)
			mash_err("outbox %s: agent.outbox.key_file is not "
			         "its key",
			         path);
		return rc;
	}
	rc = ob_keys_get(ob->be, wrapped, &len);
	if (rc == MASH_ERR_NOT_FOUND)
		return MASH_OK;
	if (rc == MASH_OK) {
		mash_err("outbox %s is encrypted at rest: set "
		         "agent.outbox.key_file",
		         path);
		rc = MASH_ERR_DENIED;
	}
	return rc;
}

int
mash_outbox_rekey(struct mash_outbox *ob, const uint8_t *new_kek)
{
	uint8_t wrapped[MASH_ATREST_WRAPPED];
	sqlite3_stmt *s = NULL;
	int rc;

	if (ob == NULL || new_kek == NULL)
		return MASH_ERR_INVAL;
	if (ob->be->atrest == NULL || ob->in_batch)
		return MASH_ERR_STATE;
	rc = mash_atrest_wrap(ob->be->atrest, new_kek, wrapped);
	if (rc == MASH_OK)
		rc = sq_prep(ob->be,
		             "UPDATE mash_outbox_keys SET wrapped = ?1 WHERE"
		             " id = 1",
		             &s);
	if (rc != MASH_OK)
		return rc;
	if (sq_bind_blob(s, 1, wrapped, sizeof(wrapped)) ||
	    sqlite3_step(s) != SQLITE_DONE || sqlite3_changes(ob->db) != 1)
		rc = sq_fail(ob->be, sqlite3_errcode(ob->db), "outbox rekey");
	sq_stmt_done(s);
	return rc;
}
