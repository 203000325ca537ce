/*
 * hub_picture.c - a picture asked for as the link's principal, and its
 * answer routed back by correlation data. See hub.h.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli/picture_view.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/topics.h"
#include "console/hub.h"
#include "console/hub_int.h"
#include "crypto/env.h"

#define PICTURE_TOPIC      MASH_TOPIC_PICTURE_REQUESTS
#define PUBLISH_TIMEOUT_MS 5000

/* An answer to a picture request goes to the request waiting for it,
 * never to the inbox list; one whose request has given up is dropped.
 * 1 when msg was taken (or dropped), 0 for an ordinary delivery. */
int
con_hub_answer_taken(struct con_hub *h, struct mash_mq_msg *msg)
{
	size_t i;

	if (msg->correlation == NULL)
		return 0;
	pthread_mutex_lock(&h->mu);
	for (i = 0; i < CON_HUB_MAX_ASKS; i++) {
		struct ask *a = &h->asks[i];

		if (a->used && a->answer == NULL &&
		    msg->correlation_len == CORR_LEN &&
		    sodium_memcmp(a->corr, msg->correlation, CORR_LEN) == 0) {
			a->answer = msg;
			pthread_cond_broadcast(&h->cond);
			pthread_mutex_unlock(&h->mu);
			return 1;
		}
	}
	pthread_mutex_unlock(&h->mu);
	mash_info("console: %s: an answer nobody waits for any more, dropped",
	          h->principal);
	mash_mq_msg_free(msg);
	return 1;
}

int
con_hub_picture(struct con_hub *h, const struct mashctl_picture_ask *ask,
                int timeout_ms, json_t **out, char *why, size_t whylen)
{
	struct mashctl_view_opts vo;
	struct mash_mq_props props;
	struct mash_mq_msg *answer = NULL;
	Mash__V1__Picture *p = NULL;
	struct ask *a = NULL;
	struct timespec dl;
	uint8_t *env = NULL;
	size_t envlen = 0, i;
	char inbox[MASH_MAX_TOPIC];
	int rc;

	*out = NULL;
	rc = mashctl_picture_request(h->sign, h->principal, h->key_id, ask,
	                             &env, &envlen);
	if (rc != MASH_OK) {
		mash_why(why, whylen, "the request cannot be signed: %s",
		         mash_strerror(rc));
		return rc;
	}
	rc = mash_snprintf(inbox, sizeof(inbox), "%s%s", INBOX_PREFIX,
	                   h->principal);
	if (rc != MASH_OK)
		goto out;
	pthread_mutex_lock(&h->mu);
	for (i = 0; i < CON_HUB_MAX_ASKS && a == NULL; i++)
		if (!h->asks[i].used)
			a = &h->asks[i];
	if (a != NULL) {
		a->used = 1;
		randombytes_buf(a->corr, CORR_LEN);
	}
	pthread_mutex_unlock(&h->mu);
	if (a == NULL) {
		rc = MASH_ERR_TOO_BIG;
		mash_why(why, whylen, "too many requests at once");
		goto out;
	}
	memset(&props, 0, sizeof(props));
	props.response_topic = inbox;
	props.correlation = a->corr;
	props.correlation_len = CORR_LEN;
	rc = mash_mq_publish(h->mq, PICTURE_TOPIC, env, envlen, 0, &props,
	                     PUBLISH_TIMEOUT_MS);
	if (rc != MASH_OK) {
		mash_why(why, whylen, "the request was not published: %s",
		         mash_strerror(rc));
		goto out;
	}
	dl = mash_mono_deadline(timeout_ms);
	pthread_mutex_lock(&h->mu);
	while (a->answer == NULL && !h->closing &&
	       pthread_cond_timedwait(&h->cond, &h->mu, &dl) != ETIMEDOUT)
		;
	answer = a->answer;
	a->answer = NULL;
	pthread_mutex_unlock(&h->mu);
	if (answer == NULL) {
		rc = MASH_ERR_TIMEOUT;
		mash_why(why, whylen, "no answer from %s within %d ms",
		         h->cfg->daemon_signer, timeout_ms);
		goto out;
	}
	rc = answer->oversized
	         ? MASH_ERR_TOO_BIG
	         : mashctl_picture_answer(h->cfg->trust, h->cfg->daemon_signer,
	                                  h->principal, h->enc, answer->payload,
	                                  answer->len, &p, why, whylen);
	if (rc != MASH_OK)
		goto out;
	memset(&vo, 0, sizeof(vo));
	vo.principal = h->principal;
	vo.purpose = ask->purpose;
	vo.now_ms = mash_clock_now(mash_clock_system());
	vo.working_days = h->cfg->cal != NULL ? mashctl_working_days : NULL;
	vo.working_days_ctx = (void *)h->cfg->cal;
	*out = mashctl_picture_to_json(p, &vo);
	rc = *out != NULL ? MASH_OK : MASH_ERR_NOMEM;
out:
	if (a != NULL) {
		pthread_mutex_lock(&h->mu);
		a->used = 0;
		pthread_mutex_unlock(&h->mu);
	}
	if (p != NULL)
		mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
	mash_mq_msg_free(answer);
	mash_free(env);
	return rc;
}
