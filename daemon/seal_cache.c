/*
 * seal_cache.c - a batch's ephemeral key and derived recipient keys. See
 * seal_cache.h.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "daemon/seal_cache.h"

struct slot {
	char recipient[MASH_MAX_ID + 1];
	uint8_t pub[MASH_SEAL_PUB_LEN];
	struct mash_seal_to to;
};

struct mashd_seal_cache {
	struct mash_seal_eph eph;
	int have_eph;
	uint64_t uses; /* seals under eph */
	size_t n;
	struct slot slots[MASHD_SEAL_CACHE_SLOTS];
	struct mashd_seal_cache_stats stats;
};

int
mashd_seal_cache_new(struct mashd_seal_cache **out)
{
	*out = mash_calloc(1, sizeof(**out));
	return *out != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

void
mashd_seal_cache_end(struct mashd_seal_cache *c)
{
	if (c == NULL || (!c->have_eph && c->n == 0))
		return;
	c->stats.ended++;
	/* Every secret, not only the slots in use. */
	OPENSSL_cleanse(&c->eph, sizeof(c->eph));
	OPENSSL_cleanse(c->slots, sizeof(c->slots));
	c->have_eph = 0;
	c->uses = 0;
	c->n = 0;
}

void
mashd_seal_cache_reserve(struct mashd_seal_cache *c, size_t n)
{
	if (c != NULL && c->uses + n > MASHD_SEAL_CACHE_USES)
		mashd_seal_cache_end(c);
}

const struct mash_seal_to *
mashd_seal_cache_get(struct mashd_seal_cache *c, const char *recipient,
                     const uint8_t pub[MASH_SEAL_PUB_LEN])
{
	struct slot *s = NULL;
	size_t i, len;

	if (c == NULL || recipient == NULL || pub == NULL)
		return NULL;
	len = strlen(recipient);
	if (len == 0 || len > MASH_MAX_ID)
		return NULL;
	/* Never end here: keys handed out for this call are still to be
	 * used (mashd_seal_cache_reserve is the place). */
	if (c->uses >= MASHD_SEAL_CACHE_USES)
		return NULL;
	for (i = 0; i < c->n; i++) {
		if (strcmp(c->slots[i].recipient, recipient) == 0) {
			s = &c->slots[i];
			break;
		}
	}
	if (s != NULL && memcmp(s->pub, pub, MASH_SEAL_PUB_LEN) == 0) {
		c->uses++;
		c->stats.reused++;
		return &s->to;
	}
	if (s == NULL) {
		if (c->n == MASHD_SEAL_CACHE_SLOTS)
			return NULL;
		s = &c->slots[c->n];
	}
	if (!c->have_eph) {
		if (mash_seal_eph_new(&c->eph) != MASH_OK)
			return NULL;
		c->have_eph = 1;
	}
	/* A new slot, or the recipient's key changed under a reload. */
	if (mash_seal_to_derive(&c->eph, pub, &s->to) != MASH_OK) {
		OPENSSL_cleanse(s, sizeof(*s));
		return NULL;
	}
	if (s == &c->slots[c->n]) {
		memcpy(s->recipient, recipient, len + 1);
		c->n++;
	}
	memcpy(s->pub, pub, MASH_SEAL_PUB_LEN);
	c->uses++;
	c->stats.derived++;
	return &s->to;
}

void
mashd_seal_cache_stats(const struct mashd_seal_cache *c,
                       struct mashd_seal_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c != NULL)
		*out = c->stats;
}

void
mashd_seal_cache_free(struct mashd_seal_cache *c)
{
	if (c == NULL)
		return;
	mashd_seal_cache_end(c);
	mash_free(c);
}
