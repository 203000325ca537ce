/*
 * retention.c - purging quarantined messages, audited. See retention.h.
 */
#include <string.h>

#include "audit/aud.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "daemon/retention.h"
#include "store/store.h"

static int
purge_batch(struct mash_store *st, struct mash_aud *aud, int64_t before_ms,
            const char *actor, size_t *n)
{
	struct mash_store_purge p;
	struct mash_aud_record rec;
	char extra[256];
	int rc;

	*n = 0;
	rc = mash_store_begin(st);
	if (rc != MASH_OK)
		return rc;
	rc = mash_store_quarantine_purge(st, before_ms, MASHD_PURGE_BATCH, &p);
	if (rc != MASH_OK || p.n == 0)
		goto done;
	rc = mash_snprintf(extra, sizeof(extra),
	                   "{\"what\":\"quarantine\",\"rows\":%zu,"
	                   "\"first_id\":%lld,\"last_id\":%lld,"
	                   "\"received_before\":%lld}",
	                   p.n, (long long)p.first_id, (long long)p.last_id,
	                   (long long)before_ms);
	if (rc == MASH_OK) {
		memset(&rec, 0, sizeof(rec));
		rec.type = MASH_AUD_PURGE;
		rec.actor = actor;
		rec.reason = "quarantine retention";
		rec.extra_json = extra;
		rc = mash_aud_append(aud, &rec, NULL);
	}
done:
	if (rc == MASH_OK)
		rc = mash_store_commit(st);
	else
		(void)mash_store_rollback(st);
	if (rc == MASH_OK)
		*n = p.n;
	return rc;
}

int
mashd_quarantine_purge(struct mash_store *st, struct mash_aud *aud,
                       int64_t before_ms, const char *actor, size_t *purged)
{
	size_t n = 0, total = 0;
	int rc;

	if (purged != NULL)
		*purged = 0;
	if (st == NULL || aud == NULL || actor == NULL)
		return MASH_ERR_INVAL;
	do {
		rc = purge_batch(st, aud, before_ms, actor, &n);
		total += n;
	} while (rc == MASH_OK && n == MASHD_PURGE_BATCH);
	if (purged != NULL)
		*purged = total;
	if (rc != MASH_OK)
		mash_err("quarantine purge: %s (%zu purged before the error)",
		         mash_strerror(rc), total);
	else if (total > 0)
		mash_info("quarantine: %zu message(s) purged (PURGE recorded)",
		          total);
	return rc;
}
