/*
 * status.c - the daemon's sealed liveness messages (status.h).
 */
#include <string.h>

#include <openssl/rand.h>

#include "common/err.h"
#include "common/mem.h"
#include "crypto/env.h"
#include "daemon/status.h"
#include "mash/v1/mash.pb-c.h"

struct mashd_status {
	char incarnation[MASHD_INCARNATION_LEN + 1];
	uint8_t *env[2]; /* [0] offline, [1] online */
	size_t len[2];
};

int
mashd_status_new(const struct mash_key *key, const char *signer,
                 const char *key_id, int64_t started_ms,
                 struct mashd_status **out)
{
	static const char hex[] = "0123456789abcdef";
	Mash__V1__DaemonStatus msg = MASH__V1__DAEMON_STATUS__INIT;
	struct mashd_status *st = NULL;
	unsigned char raw[MASHD_INCARNATION_LEN / 2];
	int rc = MASH_ERR_INVAL, i;

	if (out != NULL)
		*out = NULL;
	if (key == NULL || signer == NULL || key_id == NULL || out == NULL)
		goto out;
	rc = MASH_ERR_NOMEM;
	st = mash_calloc(1, sizeof(*st));
	if (st == NULL)
		goto out;
	rc = MASH_ERR_CRYPTO;
	if (RAND_bytes(raw, (int)sizeof(raw)) != 1)
		goto out;
	for (i = 0; i < (int)sizeof(raw); i++) {
		st->incarnation[2 * i] = hex[raw[i] >> 4];
		st->incarnation[2 * i + 1] = hex[raw[i] & 15];
	}
	msg.incarnation = st->incarnation;
	msg.started_at = started_ms;
	for (i = 0; i < 2; i++) {
		msg.online = i == 1;
		rc = mash_env_seal_msg(key, signer, key_id,
		                       (const ProtobufCMessage *)&msg,
		                       &st->env[i], &st->len[i]);
		if (rc != MASH_OK)
			goto out;
	}
	*out = st;
	st = NULL; /* transferred */
	rc = MASH_OK;
out:
	mashd_status_free(st);
	return rc;
}

const uint8_t *
mashd_status_env(const struct mashd_status *st, int online, size_t *len)
{
	*len = st->len[online ? 1 : 0];
	return st->env[online ? 1 : 0];
}

const char *
mashd_status_incarnation(const struct mashd_status *st)
{
	return st->incarnation;
}

void
mashd_status_free(struct mashd_status *st)
{
	if (st == NULL)
		return;
	mash_free(st->env[0]);
	mash_free(st->env[1]);
	mash_free(st);
}
