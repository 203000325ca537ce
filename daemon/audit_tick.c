/*
 * audit_tick.c - a final audit checkpoint when mashd stops (audit.md:
 * "prove nobody changed or removed a line" needs every line under a
 * signed checkpoint, including the last ones before a shutdown).
 */
#include <stddef.h>

#include "audit/aud.h"
#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "daemon/audit_tick.h"
#include "daemon/mashd.h"

int
mashd_audit_checkpoint_now(struct mashd *d)
{
	struct mash_aud_signer signer;
	unsigned char *env = NULL;
	size_t len = 0;
	int rc;

	if (d == NULL || d->aud == NULL)
		return MASH_ERR_INVAL;
	/* Checkpoints switched off in the config: none at shutdown either. */
	if (d->cfg.audit_checkpoint_every_records == 0 &&
	    d->cfg.audit_checkpoint_every_ms == 0)
		return MASH_OK;
	signer.seal = mashd_seal;
	signer.ctx = d;
	rc = mash_aud_checkpoint(d->aud, &signer, &env, &len);
	if (rc != MASH_OK) {
		mash_err("final audit checkpoint: %s", mash_errname(rc));
		goto out;
	}
	if (env == NULL)
		goto out; /* nothing new since the last checkpoint */
	if (d->mq != NULL) {
		rc = mash_mq_publish(d->mq, MASH_AUD_CHECKPOINT_TOPIC, env, len,
		                     1, NULL,
		                     (int)d->cfg.mqtt_publish_timeout_ms);
		if (rc != MASH_OK)
			mash_warn("final checkpoint stored but not published "
			          "(%s)",
			          mash_errname(rc));
	}
	mash_info("audit checkpoint signed at shutdown");
	rc = MASH_OK;
out:
	mash_free(env);
	return rc;
}
