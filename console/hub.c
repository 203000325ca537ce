#define _GNU_SOURCE /* memfd_create */
/*
 * hub.c - one principal's link to the hub. See hub.h.
 *
 * The principal's broker certificate and key exist unwrapped only in the
 * signed-in session's memory; Paho (OpenSSL underneath) reads a key from
 * a file name, so each is handed over as an anonymous memory file
 * (memfd_create: never on a disk, gone when closed) named by
 * /proc/self/fd/N, readable by this process only. Paho re-reads them at
 * every reconnect, so they stay open for the link's life.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "cli/picture_view.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "console/hub.h"
#include "console/hub_int.h"
#include "crypto/inbox.h"
#include "crypto/key.h"

#define CONNECT_TIMEOUT_MS 5000
#define POLL_MS            200
/* A week, as `mashctl inbox read`: deliveries wait that long for a
 * sign-in, then the broker drops the session. */
#define SESSION_EXPIRY_S (7u * 86400u)

struct con_hubs {
	const struct con_hub_cfg *cfg;
	pthread_mutex_t mu;
	struct con_hub *list;
};

/* ---- one delivery ----------------------------------------------------- */

static void
keep(struct con_hub *h, const struct mash_mq_msg *msg)
{
	struct mash_inbox_msg *m = NULL;
	struct mashctl_delivery d;
	struct mashctl_view_opts vo;
	json_t *doc = NULL;
	char why[MASH_ENV_WHY_LEN];
	int64_t now = mash_clock_now(mash_clock_system());
	int rc;

	memset(&d, 0, sizeof(d));
	why[0] = '\0';
	if (msg->oversized) {
		rc = MASH_ERR_TOO_BIG;
		mash_why(why, sizeof(why), "%zu bytes, over the limit",
		         msg->orig_len);
		goto out;
	}
	rc = mash_inbox_open(h->cfg->trust, h->cfg->daemon_signer, h->principal,
	                     h->enc, msg->payload, msg->len, &m, why,
	                     sizeof(why));
	if (rc == MASH_OK)
		rc = mashctl_delivery_decode(m->payload_type, m->payload,
		                             m->payload_len, &d, why,
		                             sizeof(why));
	if (rc != MASH_OK)
		goto out;
	memset(&vo, 0, sizeof(vo));
	vo.principal = h->principal;
	vo.now_ms = now;
	vo.working_days = h->cfg->cal != NULL ? mashctl_working_days : NULL;
	vo.working_days_ctx = (void *)h->cfg->cal;
	rc = MASH_ERR_NOMEM;
	doc = mashctl_delivery_to_json(&d, m->recipient, &vo);
	if (doc == NULL)
		goto out;
	pthread_mutex_lock(&h->mu);
	if (json_object_set_new(doc, "id",
	                        json_integer((json_int_t)(h->last + 1))) == 0 &&
	    json_object_set_new(doc, "received_ms", json_integer(now)) == 0 &&
	    json_array_append(h->items, doc) == 0) {
		h->last++;
		while (json_array_size(h->items) > CON_HUB_MAX_ITEMS)
			json_array_remove(h->items, 0);
		pthread_cond_broadcast(&h->cond);
		rc = MASH_OK;
	}
	pthread_mutex_unlock(&h->mu);
out:
	if (rc != MASH_OK) {
		pthread_mutex_lock(&h->mu);
		h->refused++;
		pthread_mutex_unlock(&h->mu);
		/* Topic and reason only: never a word of the content. */
		mash_warn("console: %s: delivery on %s refused, not shown: "
		          "%s (%s)",
		          h->principal, msg->topic,
		          why[0] ? why : mash_strerror(rc), mash_errname(rc));
	}
	json_decref(doc);
	mashctl_delivery_clear(&d);
	mash_inbox_msg_free(m);
}

static void *
reader(void *arg)
{
	struct con_hub *h = arg;
	struct mash_mq_msg *msg = NULL;
	int closing;

	for (;;) {
		pthread_mutex_lock(&h->mu);
		closing = h->closing;
		pthread_mutex_unlock(&h->mu);
		if (closing)
			break;
		if (mash_mq_next(h->mq, POLL_MS, &msg) != MASH_OK)
			continue;
		if (con_hub_answer_taken(h, msg)) {
			msg = NULL;
			continue;
		}
		keep(h, msg);
		mash_mq_msg_free(msg);
		msg = NULL;
	}
	return NULL;
}

/* ---- opening and closing ---------------------------------------------- */

/* An anonymous memory file holding text; its /proc/self/fd name. */
static int
memfile(const char *text, int *fd, char *path, size_t n)
{
	size_t len = strlen(text), done = 0;

	*fd = memfd_create("mash-console-tls", MFD_CLOEXEC);
	if (*fd < 0)
		return MASH_ERR_IO;
	while (done < len) {
		ssize_t w = write(*fd, text + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return MASH_ERR_IO;
		done += (size_t)w;
	}
	return mash_snprintf(path, n, "/proc/self/fd/%d", *fd);
}

static void
memfile_close(int fd)
{
	if (fd < 0)
		return;
	/* The pages go now; if not, they go at close all the same. */
	if (ftruncate(fd, 0) != 0)
		mash_debug("console: memory file not truncated");
	close(fd);
}

static void
hub_close(struct con_hub *h)
{
	if (h == NULL)
		return;
	if (h->reader_started) {
		pthread_mutex_lock(&h->mu);
		h->closing = 1;
		pthread_cond_broadcast(&h->cond);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->reader, NULL);
	}
	mash_mq_free(h->mq);
	for (size_t i = 0; i < CON_HUB_MAX_ASKS; i++)
		mash_mq_msg_free(h->asks[i].answer);
	mash_key_free(h->enc);
	mash_key_free(h->sign);
	memfile_close(h->fd_cert);
	memfile_close(h->fd_key);
	json_decref(h->items);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	mash_free_secret(h, sizeof(*h));
}

static int
hub_open(const struct con_hub_cfg *cfg, const struct mash_acct_session *acct,
         struct con_hub **out, char *why, size_t whylen)
{
	struct con_hub *h;
	struct mash_mq_opts mo;
	pthread_condattr_t ca;
	char cert[64], key[64], client_id[96], inbox[MASH_MAX_TOPIC];
	int rc, tls = strncmp(cfg->mqtt_uri, "ssl://", 6) == 0;

	*out = NULL;
	if (!tls && !cfg->insecure) {
		mash_why(why, whylen,
		         "%s: plaintext tcp:// refused (mqtt_insecure is "
		         "for development only)",
		         cfg->mqtt_uri);
		return MASH_ERR_CONFIG;
	}
	if (tls && acct->tls_cert == NULL) {
		mash_why(why, whylen,
		         "%s's account has no broker certificate "
		         "(mashctl console user add --tls-cert --tls-key)",
		         acct->name);
		return MASH_ERR_CONFIG;
	}
	h = mash_calloc(1, sizeof(*h));
	if (h == NULL)
		return MASH_ERR_NOMEM;
	h->fd_cert = h->fd_key = -1;
	h->cfg = cfg;
	h->refs = 1;
	(void)mash_strlcpy(h->principal, acct->principal, sizeof(h->principal));
	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* waits ignore
	                                                    wall-clock jumps */
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	rc = MASH_ERR_NOMEM;
	h->items = json_array();
	if (h->items == NULL)
		goto out;
	rc = mash_key_parse_private_kind(MASH_KEY_X25519, acct->enc_key,
	                                 strlen(acct->enc_key), &h->enc);
	if (rc == MASH_OK)
		rc = mash_key_parse_private_kind(
		    MASH_KEY_ED25519, acct->sign_key, strlen(acct->sign_key),
		    &h->sign);
	if (rc != MASH_OK) {
		mash_why(why, whylen, "%s: the principal's keys do not load",
		         acct->name);
		goto out;
	}
	(void)mash_strlcpy(h->key_id, acct->key_id, sizeof(h->key_id));
	if (tls &&
	    (memfile(acct->tls_cert, &h->fd_cert, cert, sizeof(cert)) !=
	         MASH_OK ||
	     memfile(acct->tls_key, &h->fd_key, key, sizeof(key)) != MASH_OK)) {
		rc = MASH_ERR_IO;
		mash_why(why, whylen, "cannot hand the TLS identity over");
		goto out;
	}
	rc = MASH_ERR_INVAL;
	if (mash_snprintf(client_id, sizeof(client_id), "console-%s",
	                  h->principal) != MASH_OK ||
	    mash_snprintf(inbox, sizeof(inbox), "%s%s", INBOX_PREFIX,
	                  h->principal) != MASH_OK)
		goto out;
	mash_mq_opts_init(&mo);
	mo.uri = cfg->mqtt_uri;
	mo.client_id = client_id;
	mo.ca_file = cfg->ca_file;
	mo.cert_file = tls ? cert : NULL;
	mo.key_file = tls ? key : NULL;
	mo.clean_start = 0; /* what arrived while nobody was signed in */
	mo.session_expiry_s = SESSION_EXPIRY_S;
	mo.queue_max_msgs = 256;
	mo.max_payload = MASH_MAX_ENVELOPE;
	rc = mash_mq_new(&mo, &h->mq);
	if (rc == MASH_OK)
		rc = mash_mq_subscribe(h->mq, inbox, CONNECT_TIMEOUT_MS);
	if (rc == MASH_OK)
		rc = mash_mq_connect(h->mq, CONNECT_TIMEOUT_MS);
	if (rc != MASH_OK) {
		mash_why(why, whylen, "%s: cannot reach the hub as %s: %s",
		         cfg->mqtt_uri, h->principal, mash_strerror(rc));
		goto out;
	}
	rc = MASH_ERR_INTERNAL;
	if (pthread_create(&h->reader, NULL, reader, h) != 0)
		goto out;
	h->reader_started = 1;
	mash_info("console: %s: inbox link open", h->principal);
	*out = h;
	h = NULL;
	rc = MASH_OK;
out:
	hub_close(h);
	return rc;
}

/* ---- the registry ------------------------------------------------------ */

int
con_hubs_new(const struct con_hub_cfg *cfg, struct con_hubs **out)
{
	struct con_hubs *r;

	if (out == NULL || cfg == NULL || cfg->mqtt_uri == NULL ||
	    cfg->trust == NULL)
		return MASH_ERR_INVAL;
	r = mash_calloc(1, sizeof(*r));
	if (r == NULL)
		return MASH_ERR_NOMEM;
	r->cfg = cfg;
	pthread_mutex_init(&r->mu, NULL);
	*out = r;
	return MASH_OK;
}

void
con_hubs_free(struct con_hubs *r)
{
	struct con_hub *h, *next;

	if (r == NULL)
		return;
	for (h = r->list; h != NULL; h = next) {
		next = h->next;
		hub_close(h);
	}
	pthread_mutex_destroy(&r->mu);
	mash_free(r);
}

static struct con_hub *
find(struct con_hubs *r, const char *principal)
{
	struct con_hub *h;

	for (h = r->list; h != NULL; h = h->next)
		if (strcmp(h->principal, principal) == 0)
			return h;
	return NULL;
}

int
con_hubs_get(struct con_hubs *r, const struct mash_acct_session *acct,
             struct con_hub **out, char *why, size_t whylen)
{
	struct con_hub *h, *fresh = NULL;
	int rc;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (r == NULL || acct == NULL)
		return MASH_ERR_INVAL;
	pthread_mutex_lock(&r->mu);
	h = find(r, acct->principal);
	if (h != NULL)
		h->refs++;
	pthread_mutex_unlock(&r->mu);
	if (h != NULL) {
		*out = h;
		return MASH_OK;
	}
	/* Connecting takes time: not under the lock. */
	rc = hub_open(r->cfg, acct, &fresh, why, whylen);
	if (rc != MASH_OK)
		return rc;
	pthread_mutex_lock(&r->mu);
	h = find(r, acct->principal);
	if (h != NULL) {
		h->refs++; /* another sign-in opened it meanwhile */
	} else {
		fresh->next = r->list;
		r->list = fresh;
		h = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&r->mu);
	hub_close(fresh);
	*out = h;
	return MASH_OK;
}

void
con_hub_hold(struct con_hubs *r, struct con_hub *h)
{
	pthread_mutex_lock(&r->mu);
	h->refs++;
	pthread_mutex_unlock(&r->mu);
}

void
con_hub_put(struct con_hubs *r, struct con_hub *h)
{
	struct con_hub **p;
	int last = 0;

	if (r == NULL || h == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	if (--h->refs == 0) {
		for (p = &r->list; *p != NULL; p = &(*p)->next)
			if (*p == h) {
				*p = h->next;
				break;
			}
		last = 1;
	}
	pthread_mutex_unlock(&r->mu);
	if (last) {
		mash_info("console: %s: inbox link closed", h->principal);
		hub_close(h);
	}
}

/* ---- reading ------------------------------------------------------------ */

/* A copy of a trigger item with its working days counted at now (the
 * kept item is shared with other readers: never changed in place). */
static json_t *
as_of_now(const struct con_hub *h, json_t *v)
{
	json_t *t = json_object_get(v, "trigger"), *c, *ct;
	json_int_t due;
	int64_t wd = 0;

	if (t == NULL || h->cfg->cal == NULL)
		return json_incref(v);
	c = json_deep_copy(v);
	ct = c != NULL ? json_object_get(c, "trigger") : NULL;
	due = json_integer_value(json_object_get(t, "discussion_due_by"));
	if (ct != NULL && due > 0 &&
	    mashctl_working_days((void *)h->cfg->cal,
	                         mash_clock_now(mash_clock_system()), due,
	                         &wd) == MASH_OK)
		(void)json_object_set_new(ct, "working_days_remaining",
		                          json_integer((json_int_t)wd));
	return c;
}

int
con_hub_items(struct con_hub *h, uint64_t after, json_t **out, uint64_t *last)
{
	json_t *a, *v;
	size_t i;
	int rc = MASH_OK;

	*out = NULL;
	*last = 0;
	a = json_array();
	if (a == NULL)
		return MASH_ERR_NOMEM;
	pthread_mutex_lock(&h->mu);
	json_array_foreach(h->items, i, v)
	{
		json_int_t id = json_integer_value(json_object_get(v, "id"));

		if ((uint64_t)id > after &&
		    json_array_append_new(a, as_of_now(h, v)) != 0) {
			rc = MASH_ERR_NOMEM;
			break;
		}
	}
	*last = h->last;
	pthread_mutex_unlock(&h->mu);
	if (rc != MASH_OK) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return MASH_OK;
}

int
con_hub_wait(struct con_hub *h, uint64_t after, int timeout_ms)
{
	struct timespec dl = mash_mono_deadline(timeout_ms);
	int rc = MASH_OK;

	pthread_mutex_lock(&h->mu);
	while (h->last <= after && !h->closing && rc == MASH_OK)
		if (pthread_cond_timedwait(&h->cond, &h->mu, &dl) == ETIMEDOUT)
			rc = MASH_ERR_TIMEOUT;
	if (h->closing)
		rc = MASH_ERR_STATE;
	else if (h->last > after)
		rc = MASH_OK;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

uint64_t
con_hub_refused(struct con_hub *h)
{
	uint64_t n;

	pthread_mutex_lock(&h->mu);
	n = h->refused;
	pthread_mutex_unlock(&h->mu);
	return n;
}
