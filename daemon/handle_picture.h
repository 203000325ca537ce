/*
 * handle_picture.h - mashd's handler for mash/v1/requests/picture: the
 * combined agency picture of one child, redacted to what the requester's
 * role and purpose justify (wire-contract.md "PictureRequest / Picture",
 * sharing-policy.md, docs/internals/picture.md).
 *
 * For each request the handler:
 *  1. opens the signed PictureRequest (signer = the requesting principal,
 *     key from the trust store); a request that does not verify is audited
 *     (PICTURE_DENIED, actor "mashd") and NOT answered: nothing about it can
 *     be trusted, not even where to answer;
 *  2. looks the signer up in the directory (role, agency);
 *  3. requires the MQTT v5 response topic to be exactly
 *     mash/v1/inbox/{signer}: otherwise denies, and sends the denial to the
 *     signer's own inbox, never to the topic asked for;
 *  4. finds the case by case_id or by the subject's NHS number;
 *  5. decides every event of the case for (role, purpose) with the policy
 *     engine and builds each SharedRecord with the policy's builder;
 *  6. with a break_glass_reason, re-decides with break_glass = 1: if the
 *     policy then shares more, the override is used (break_glass = true),
 *     audited as BREAK_GLASS and notified to every auditor-role principal;
 *  7. audits the access (DECISION per record shown, then PICTURE_GRANTED or
 *     PICTURE_DENIED with purpose, rule ids, shared and withheld field
 *     names) and COMMITS before anything is published;
 *  8. answers with a Picture signed by mashd on the response topic, with
 *     the correlation data echoed.
 */
#ifndef MASHD_HANDLE_PICTURE_H
#define MASHD_HANDLE_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/topics.h"
#include "daemon/outbox.h"
#include "daemon/trigger_view.h"

struct mashd;
struct mash_aud;
struct mash_dir;
struct mash_key;
struct mash_mq;
struct mash_mq_msg;
struct mash_mq_props;
struct mash_policy;
struct mash_store;
struct mash_trust;

/* The request topic. */
#define MASHD_PICTURE_TOPIC MASH_TOPIC_PICTURE_REQUESTS
/* The inbox prefix a response topic must have: MASHD_INBOX_PREFIX
 * (daemon/outbox.h). */
/* Records in one Picture at most (the newest are kept); a Picture must
 * also fit in one envelope (MASH_MAX_PAYLOAD), checked when built. */
#define MASHD_PICTURE_MAX_RECORDS 1024u
/* The role that is told about every break-glass override. */
#define MASHD_PICTURE_AUDITOR_ROLE "auditor"

/*
 * What the handler uses; every pointer is borrowed and must outlive the
 * call. The daemon fills one from its state for each message (pol and dir
 * may change on SIGHUP between messages, never during one).
 */
struct mashd_picture_env {
	struct mash_store *store;       /* open; no transaction open */
	struct mash_aud *aud;           /* kept in store */
	const struct mash_policy *pol;  /* NULL: deny everything */
	const struct mash_dir *dir;     /* NULL: every principal unknown */
	const struct mash_trust *trust; /* verifies requests */
	const struct mash_key *key;     /* mashd's private key */
	const char *signer;             /* "mashd" */
	const char *key_id;             /* mashd's key id */
	const struct mash_clock *clock;
	/*
	 * Publish buf[0..len) on topic at QoS 1 with props (may be NULL) and
	 * wait for the broker: MASH_OK or an error. The daemon passes
	 * mashd_picture_mq_publish with ctx = its struct mash_mq; tests may
	 * capture instead.
	 */
	int (*publish)(void *ctx, const char *topic, const uint8_t *buf,
	               size_t len, const struct mash_mq_props *props);
	void *publish_ctx;
	/* The open trigger as the requester may read it (issue 26,
	 * daemon/trigger_view.h): its s47 policy's rule ids and what the
	 * requester may learn of each contributing event. NULL sees: the
	 * reason is shown as stored. */
	const struct mash_s47_policy *s47;
	mashd_sees_fn sees;
	void *sees_ctx;
};

/* Publish with mash_mq_publish(ctx, ..., MASHD_PICTURE_PUBLISH_MS):
 * ctx is a connected struct mash_mq. */
#define MASHD_PICTURE_PUBLISH_MS 5000
int mashd_picture_mq_publish(void *ctx, const char *topic, const uint8_t *buf,
                             size_t len, const struct mash_mq_props *props);

/* What one request came to (for the daemon's log and for tests). */
struct mashd_picture_outcome {
	int granted;        /* 1 granted (possibly by break-glass) */
	int break_glass;    /* 1 if the override was used */
	int answered;       /* 1 if an answer was published */
	int err;            /* MASH_OK, or why it was denied */
	uint64_t audit_seq; /* PICTURE_GRANTED / PICTURE_DENIED record */
	size_t n_records;   /* records in the Picture */
	size_t n_notified;  /* auditors notified of a break-glass */
	char principal[65]; /* the verified signer ("" if none) */
	char case_id[32];   /* the case ("" if not found) */
};

/*
 * Handle one message received on MASHD_PICTURE_TOPIC. out may be NULL.
 * Returns MASH_OK when the request was handled (granted OR denied, audited,
 * and answered where an answer is due), or an error when the daemon could
 * not do its part: MASH_ERR_STORE (audit not committed: nothing was
 * published), MASH_ERR_MQTT / MASH_ERR_TIMEOUT (audited, publish failed),
 * MASH_ERR_NOMEM, MASH_ERR_INVAL (NULL env or msg).
 */
int mashd_handle_picture(const struct mashd_picture_env *env,
                         const struct mash_mq_msg *msg,
                         struct mashd_picture_outcome *out);

/*
 * mashd's dispatch entry for MASHD_PICTURE_TOPIC: fills a
 * mashd_picture_env from the daemon's state (store, audit log, policy and
 * directory in force, trust store, key, clock; publishing through d->mq
 * with cfg.mqtt_publish_timeout_ms) and calls mashd_handle_picture. Errors
 * are logged and counted in d->stats.internal_errors. Returns its rc.
 */
int mashd_handle_picture_msg(struct mashd *d, const struct mash_mq_msg *msg);

#endif
