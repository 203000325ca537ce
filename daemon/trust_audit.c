/*
 * trust_audit.c - KEY_CHANGE records for a trust store reload. See
 * trust_audit.h.
 */
#include <string.h>

#include "audit/aud.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"
#include "crypto/trust.h"
#include "daemon/trust_audit.h"

static int
record(struct mash_aud *aud, const struct mash_trust_info *k,
       const char *change, size_t *n)
{
	struct mash_aud_record rec;
	char extra[256];
	int rc;

	rc = mash_snprintf(extra, sizeof(extra),
	                   "{\"signer\":\"%s\",\"key_id\":\"%s\","
	                   "\"change\":\"%s\"}",
	                   k->signer, k->key_id, change);
	if (rc != MASH_OK)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.type = MASH_AUD_KEY_CHANGE;
	rec.actor = "mashd";
	rec.reason = "trust store reload";
	rec.extra_json = extra;
	rc = mash_aud_append(aud, &rec, NULL);
	if (rc == MASH_OK) {
		(*n)++;
		mash_info("trust: key %s/%s %s", k->signer, k->key_id, change);
	}
	return rc;
}

/* Order of mash_trust_get: by signer, then key id. */
static int
cmp(const struct mash_trust_info *a, const struct mash_trust_info *b)
{
	int c = strcmp(a->signer, b->signer);

	return c != 0 ? c : strcmp(a->key_id, b->key_id);
}

int
mashd_trust_audit(struct mash_aud *aud, const struct mash_trust *old,
                  const struct mash_trust *fresh, size_t *n)
{
	struct mash_trust_info a, b;
	size_t i = 0, j = 0, na, nb, cnt = 0;
	int rc = MASH_OK, c;

	if (n != NULL)
		*n = 0;
	if (aud == NULL || old == NULL || fresh == NULL)
		return MASH_OK;
	na = mash_trust_count(old);
	nb = mash_trust_count(fresh);
	while (rc == MASH_OK && (i < na || j < nb)) {
		if (i < na && mash_trust_get(old, i, &a) != MASH_OK)
			return MASH_ERR_INTERNAL;
		if (j < nb && mash_trust_get(fresh, j, &b) != MASH_OK)
			return MASH_ERR_INTERNAL;
		c = i == na ? 1 : j == nb ? -1 : cmp(&a, &b);
		if (c < 0) {
			rc = record(aud, &a, "removed", &cnt);
			i++;
		} else if (c > 0) {
			rc =
			    record(aud, &b,
			           b.revoked ? "added revoked" : "added", &cnt);
			j++;
		} else {
			if (b.revoked && !a.revoked)
				rc = record(aud, &b, "revoked", &cnt);
			else if (!b.revoked && a.revoked)
				rc = record(aud, &b, "reinstated", &cnt);
			i++;
			j++;
		}
	}
	if (n != NULL)
		*n = cnt;
	return rc;
}
