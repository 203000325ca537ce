/*
 * mq_paho.c - struct mash_mq over the Eclipse Paho MQTT C asynchronous API
 * (libpaho-mqtt3as), MQTT v5.
 *
 * Paho calls us on its own threads: on_message() copies each message into
 * a bounded queue (count and bytes) guarded by mq->lock; the application
 * thread takes them with mash_mq_next(). While the queue is full,
 * on_message holds Paho's receive thread, and with it the PUBACK, so that
 * the broker keeps the rest (flow control, see on_message). The PUBACK
 * says only that the message reached this process's memory; MASH's
 * signed Receipt is the end-to-end acknowledgement
 * (shared/spec/audit.md).
 *
 * Reconnect: Paho's automaticReconnect with a doubling interval between
 * reconnect_min_s and reconnect_max_s. on_connected() runs after every
 * successful connect and re-subscribes every remembered filter, because a
 * broker that lost its persistence would otherwise leave us connected but
 * deaf.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>
#include <openssl/crypto.h>

#include "broker-adapters/mq.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "crypto/pki.h"

/*
 * Application threads waiting for a PUBACK, in ANY client of this process.
 * Process-wide on purpose: Paho runs one receive thread for all clients of
 * a process, so a callback holding it back (see on_message) would also
 * hold back another client's PUBACK.
 */
static _Atomic int publishing_any;

/* Completed publishes remembered for mash_mq_publish_wait: more than
 * MASH_MQ_MAX_PIPELINE, so that none of a pipeline's results is
 * overwritten before it is read. */
#define MQ_DONE_RING (4u * MASH_MQ_MAX_PIPELINE)

struct mq_node {
	struct mq_node *next;
	struct mash_mq_msg *msg;
	size_t bytes;
};

struct mash_mq {
	MQTTAsync client;
	int have_client;

	/* Copies of the options (strings owned here). */
	char *uri, *client_id, *username, *password;
	char *ca_file, *cert_file, *key_file;
	char *will_topic;
	unsigned char *will_payload;
	size_t will_len;
	int will_retained;
	int tls, verify_peer, clean_start, keepalive_s;
	uint32_t session_expiry_s;
	int reconnect_min_s, reconnect_max_s;
	size_t queue_max_msgs, queue_max_bytes, max_payload;

	/* Everything below is shared with Paho's threads: under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *subs[MASH_MQ_MAX_SUBS];
	size_t nsubs;
	int connected;       /* CONNACK seen, not lost since */
	int ready;           /* connected and every filter subscribed */
	int connect_failed;  /* last connect attempt failed */
	int connect_pending; /* an attempt of ours is still in progress */
	int connect_fatal;   /* ... with a refusal that retrying won't fix */
	int sub_failed;      /* last subscribe was refused */
	int disconnected;    /* disconnect completed */
	int closing;         /* mash_mq_disconnect called */
	uint64_t connect_count;
	uint64_t refused;
	uint64_t waited;      /* times on_message waited for room */
	uint64_t over;        /* messages taken over the soft bound */
	uint16_t receive_max; /* v5 Receive Maximum sent; 0: none */
	/* The broker's Receive Maximum (CONNACK): how many of our QoS 1
	 * publishes it takes unacknowledged. Paho holds any more in its
	 * command queue and sends them late (its send thread polls once a
	 * second), so a pipeline never runs deeper than this. */
	unsigned send_window;
	/* Recently completed publishes, by token (ring). Tokens, not
	 * pointers, so a caller that timed out leaves nothing dangling. */
	struct {
		int token;
		int rc; /* publish_done */
	} done[MQ_DONE_RING];
	unsigned done_next;
	struct mq_node *head, *tail;
	size_t qcount, qbytes;
	int efd;
};

/*
 * Paho's send and receive threads are not joined: after the last client
 * is destroyed they mark themselves stopped and then end, and OpenSSL's
 * thread-exit handler runs in each as it ends. If main() has returned by
 * then, OpenSSL's atexit clean-up (OPENSSL_cleanup) is freeing what that
 * handler reads, and the process dies with SIGSEGV inside libcrypto after
 * it has done its work (mashctl picture, 1 run in 150 under ASan; CI of
 * stop 25). Without the atexit clean-up the ending threads find OpenSSL
 * intact; the kernel reclaims everything at exit. OpenSSL decides this on
 * its first initialisation, hence "before anything else".
 */
int
mash_mq_global_init(void)
{
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) != 1)
		return MASH_ERR_CRYPTO;
	return MASH_OK;
}

void
mash_mq_opts_init(struct mash_mq_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->verify_peer = 1;
	o->clean_start = 0;
	o->session_expiry_s = 86400;
	o->keepalive_s = 30;
	o->reconnect_min_s = 1;
	o->reconnect_max_s = 30;
	o->queue_max_msgs = MASH_MQ_DEFAULT_QUEUE_MSGS;
	o->queue_max_bytes = MASH_MQ_DEFAULT_QUEUE_BYTES;
	o->max_payload = MASH_MQ_DEFAULT_MAX_PAYLOAD;
}

static int64_t
ms_left(const struct timespec *dl)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(dl->tv_sec - now.tv_sec) * 1000 +
	       (dl->tv_nsec - now.tv_nsec) / 1000000L;
}

/* Wait on mq->cond until the deadline; caller holds mq->lock. Returns 0,
 * or ETIMEDOUT. */
static int
cond_wait_until(struct mash_mq *mq, const struct timespec *dl)
{
	return pthread_cond_timedwait(&mq->cond, &mq->lock, dl);
}

/* --- Paho callbacks (Paho's threads) --------------------------------- */

static void on_subscribe_ok(void *ctx, MQTTAsync_successData5 *r);
static void on_subscribe_fail(void *ctx, MQTTAsync_failureData5 *r);

static void
on_connected(void *ctx, char *cause)
{
	struct mash_mq *mq = ctx;
	char *filters[MASH_MQ_MAX_SUBS];
	int qos[MASH_MQ_MAX_SUBS];
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	size_t i, n;
	int rc;

	pthread_mutex_lock(&mq->lock);
	mq->connected = 1;
	mq->connect_failed = 0;
	mq->connect_pending = 0;
	mq->connect_count++;
	n = mq->nsubs;
	for (i = 0; i < n; i++) {
		filters[i] = mq->subs[i];
		qos[i] = 1;
	}
	mq->ready = (n == 0);
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
	mash_info("mq: connected to %s (connection %llu)", mq->uri,
	          (unsigned long long)mash_mq_connect_count(mq));
	if (n == 0)
		return;
	/* Subscribe again on every connect: the broker may have lost our
	 * session (restart without persistence, expiry). */
	ro.onSuccess5 = on_subscribe_ok;
	ro.onFailure5 = on_subscribe_fail;
	ro.context = mq;
	rc = MQTTAsync_subscribeMany(mq->client, (int)n, filters, qos, &ro);
	if (rc != MQTTASYNC_SUCCESS)
		mash_err("mq: re-subscribe failed to start: %s",
		         MQTTAsync_strerror(rc));
	(void)cause;
}

static void
on_subscribe_ok(void *ctx, MQTTAsync_successData5 *r)
{
	struct mash_mq *mq = ctx;
	int i, bad = 0;

	/* v5 SUBACK carries one reason code per filter; >= 0x80 is a
	 * refusal (e.g. not authorised by the broker's ACL). */
	if (r != NULL) {
		/* Paho fills alt.sub only for more than one filter. */
		if (r->alt.sub.reasonCodeCount > 1 &&
		    r->alt.sub.reasonCodes != NULL) {
			for (i = 0; i < r->alt.sub.reasonCodeCount; i++)
				if (r->alt.sub.reasonCodes[i] >= 0x80)
					bad = 1;
		} else if (r->reasonCode >= 0x80) {
			bad = 1;
		}
	}
	pthread_mutex_lock(&mq->lock);
	if (bad) {
		mq->sub_failed = 1;
	} else {
		mq->sub_failed = 0;
		if (mq->connected)
			mq->ready = 1;
	}
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
	if (bad)
		mash_err(
		    "mq: broker refused a subscription (reason %d, count %d)",
		    r != NULL ? (int)r->reasonCode : -1,
		    r != NULL ? r->alt.sub.reasonCodeCount : -1);
}

static void
on_subscribe_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	struct mash_mq *mq = ctx;

	pthread_mutex_lock(&mq->lock);
	mq->sub_failed = 1;
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
	mash_err("mq: subscribe failed (code %d)", r != NULL ? r->code : 0);
}

static void
on_connect_ok(void *ctx, MQTTAsync_successData5 *r)
{
	struct mash_mq *mq = ctx;
	unsigned w = 65535; /* MQTT v5: absent means 65535 */

	if (r != NULL &&
	    MQTTProperties_hasProperty(&r->properties,
	                               MQTTPROPERTY_CODE_RECEIVE_MAXIMUM)) {
		int v = MQTTProperties_getNumericValue(
		    &r->properties, MQTTPROPERTY_CODE_RECEIVE_MAXIMUM);

		if (v > 0)
			w = (unsigned)v;
	}
	pthread_mutex_lock(&mq->lock);
	mq->send_window = w;
	pthread_mutex_unlock(&mq->lock);
}

static void
on_connect_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	struct mash_mq *mq = ctx;
	int fatal = 0;

	/* A CONNACK refusal (bad credentials, not authorised, banned) will
	 * not go away by retrying; a refused TCP connection might. */
	if (r != NULL && r->reasonCode >= 0x80 &&
	    r->reasonCode != MQTTREASONCODE_SERVER_UNAVAILABLE &&
	    r->reasonCode != MQTTREASONCODE_SERVER_BUSY)
		fatal = 1;
	pthread_mutex_lock(&mq->lock);
	mq->connect_failed = 1;
	mq->connect_pending = 0;
	mq->connect_fatal = fatal;
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
	mash_info("mq: connect to %s failed (code %d reason %d)", mq->uri,
	          r != NULL ? r->code : 0, r != NULL ? (int)r->reasonCode : 0);
}

/* rc: MASH_OK (acknowledged), MASH_ERR_REFUSED (a v5 PUBACK with a
 * reason code >= 0x80: the broker will not take it, e.g. not authorised;
 * issue 31), MASH_ERR_MQTT (the client gave up: connection lost). */
static void
publish_done(struct mash_mq *mq, int token, int rc)
{
	pthread_mutex_lock(&mq->lock);
	mq->done[mq->done_next % MQ_DONE_RING].token = token;
	mq->done[mq->done_next % MQ_DONE_RING].rc = rc;
	mq->done_next++;
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
}

static void
on_publish_ok(void *ctx, MQTTAsync_successData5 *r)
{
	/* A v5 PUBACK with a reason code >= 0x80 (e.g. not authorised) is
	 * a refusal, not a delivery. */
	publish_done(ctx, r->token,
	             r->reasonCode < 0x80 ? MASH_OK : MASH_ERR_REFUSED);
}

static void
on_publish_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	/* Paho reports a refusing PUBACK here too (with its reason code);
	 * without one the client itself failed. */
	publish_done(ctx, r->token,
	             r->reasonCode >= 0x80 ? MASH_ERR_REFUSED : MASH_ERR_MQTT);
}

/* Where the ring will record the next PUBACK: a waiter looks only at
 * entries from here on, so each PUBACK is examined once per waiter
 * (scanning the whole ring for every token at every wake-up held the
 * lock Paho's receive thread needs, and cost mashd a tenth of its core
 * with five agents, issue 22). */
static unsigned
done_cursor(struct mash_mq *mq)
{
	unsigned c;

	pthread_mutex_lock(&mq->lock);
	c = mq->done_next;
	pthread_mutex_unlock(&mq->lock);
	return c;
}

static void
on_connection_lost(void *ctx, char *cause)
{
	struct mash_mq *mq = ctx;

	pthread_mutex_lock(&mq->lock);
	mq->connected = 0;
	mq->ready = 0;
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
	/* Paho's cause text is about the socket, never message content. */
	mash_warn("mq: connection to %s lost (%s); reconnecting", mq->uri,
	          cause != NULL ? cause : "no cause given");
}

static void
on_disconnect_done(void *ctx, MQTTAsync_successData5 *r)
{
	struct mash_mq *mq = ctx;

	(void)r;
	pthread_mutex_lock(&mq->lock);
	mq->disconnected = 1;
	mq->connected = 0;
	mq->ready = 0;
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
}

static void
on_disconnect_fail(void *ctx, MQTTAsync_failureData5 *r)
{
	on_disconnect_done(ctx, NULL);
	(void)r;
}

/* Copy a string/binary property value; NULL if absent. */
static int
copy_prop(MQTTProperties *props, enum MQTTPropertyCodes id, size_t max,
          unsigned char **out, size_t *outlen)
{
	MQTTProperty *p;
	unsigned char *b;

	*out = NULL;
	*outlen = 0;
	p = MQTTProperties_getProperty(props, id);
	if (p == NULL || p->value.data.len <= 0)
		return MASH_OK;
	if ((size_t)p->value.data.len > max)
		return MASH_ERR_TOO_BIG;
	b = mash_malloc((size_t)p->value.data.len + 1);
	if (b == NULL)
		return MASH_ERR_NOMEM;
	memcpy(b, p->value.data.data, (size_t)p->value.data.len);
	b[p->value.data.len] = '\0';
	*out = b;
	*outlen = (size_t)p->value.data.len;
	return MASH_OK;
}

static int
copy_message(struct mash_mq *mq, const char *topic, size_t topiclen,
             MQTTAsync_message *m, struct mash_mq_msg **out, size_t *bytes)
{
	struct mash_mq_msg *msg = NULL;
	unsigned char *rt = NULL;
	size_t rtlen = 0, n;
	int rc = MASH_ERR_NOMEM;

	*out = NULL;
	*bytes = 0;
	msg = mash_calloc(1, sizeof(*msg));
	if (msg == NULL)
		goto out;
	msg->topic = mash_strndup(topic, topiclen);
	if (msg->topic == NULL)
		goto out;
	msg->orig_len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	n = msg->orig_len;
	if (n > mq->max_payload) {
		n = mq->max_payload;
		msg->oversized = 1;
	}
	if (n > 0) {
		msg->payload = mash_malloc(n);
		if (msg->payload == NULL)
			goto out;
		memcpy(msg->payload, m->payload, n);
	}
	msg->len = n;
	msg->retained = m->retained;
	msg->dup = m->dup;
	/* An over-long response topic or correlation is dropped, not the
	 * message: the payload is what the application must see. */
	rc = copy_prop(&m->properties, MQTTPROPERTY_CODE_RESPONSE_TOPIC,
	               MASH_MAX_TOPIC, &rt, &rtlen);
	if (rc == MASH_ERR_NOMEM)
		goto out;
	msg->response_topic = (char *)rt;
	rt = NULL;
	rc = copy_prop(&m->properties, MQTTPROPERTY_CODE_CORRELATION_DATA,
	               MASH_MQ_MAX_CORRELATION, &msg->correlation,
	               &msg->correlation_len);
	if (rc == MASH_ERR_NOMEM)
		goto out;
	*bytes = sizeof(*msg) + topiclen + n + rtlen + msg->correlation_len;
	*out = msg;
	msg = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_mq_msg_free(msg);
	return rc;
}

static int
on_message(void *ctx, char *topic, int topiclen, MQTTAsync_message *m)
{
	struct mash_mq *mq = ctx;
	struct mash_mq_msg *msg = NULL;
	struct mq_node *node = NULL;
	struct timespec dl;
	size_t tl, plen, bytes = 0;
	uint64_t refused = 0;
	int full, rc, waited = 0;

	tl = topiclen > 0 ? (size_t)topiclen : strlen(topic);
	plen = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	if (plen > mq->max_payload)
		plen = mq->max_payload;
	/*
	 * Flow control (issue 22). Paho sends the QoS 1 PUBACK only after
	 * this callback returns 1, and the broker sends no more than our
	 * Receive Maximum unacknowledged messages, so holding this thread
	 * while the queue is full leaves the rest with the broker: the queue
	 * stays bounded and nothing is handed back.
	 *
	 * Holding it is not always safe. This thread also reads the PUBACKs
	 * an application thread may be waiting for (in any client of the
	 * process: Paho runs one receive thread), must let a shutdown
	 * through, and at start-up must reach the SUBACK that
	 * mash_mq_connect waits for on the very thread that drains the
	 * queue (a restarted daemon's session backlog arrives first). In
	 * those cases the message is taken over the bound on messages, up
	 * to twice the bound on bytes (the hard bound: the broker's backlog
	 * for us is finite, the agents' windows bound it). Returning 0, Paho's
	 * alternative, is the stall of issue 22: Paho acknowledges the
	 * message anyway, queues it and every message after it, and offers
	 * one of them again only when another packet arrives.
	 */
	pthread_mutex_lock(&mq->lock);
	for (;;) {
		full =
		    mq->qcount > 0 && (mq->qcount >= mq->queue_max_msgs ||
		                       mq->qbytes + plen > mq->queue_max_bytes);
		if (!full)
			break;
		if (atomic_load(&publishing_any) > 0 || mq->closing ||
		    !mq->ready) {
			full = mq->qbytes + plen > 2 * mq->queue_max_bytes;
			if (!full)
				mq->over++;
			break;
		}
		if (!waited) {
			mq->waited++;
			waited = 1;
		}
		dl = mash_mono_deadline(100);
		(void)cond_wait_until(mq, &dl);
	}
	if (full)
		refused = ++mq->refused;
	pthread_mutex_unlock(&mq->lock);
	if (full) {
		if (refused == 1 || refused % 1000 == 0)
			mash_warn("mq: receive queue at twice its byte bound "
			          "(%zu bytes): message handed back to Paho "
			          "(%llu times so far); raise "
			          "mqtt.queue_max_bytes",
			          mq->queue_max_bytes * 2,
			          (unsigned long long)refused);
		return 0;
	}
	rc = copy_message(mq, topic, tl, m, &msg, &bytes);
	if (rc == MASH_OK)
		node = mash_calloc(1, sizeof(*node));
	if (node == NULL) {
		mash_mq_msg_free(msg);
		mash_err("mq: out of memory copying a message; handed back");
		return 0;
	}
	node->msg = msg;
	node->bytes = bytes;
	pthread_mutex_lock(&mq->lock);
	if (mq->tail != NULL)
		mq->tail->next = node;
	else
		mq->head = node;
	mq->tail = node;
	if (mq->qcount++ == 0) {
		uint64_t one = 1;
		ssize_t w = write(mq->efd, &one, sizeof(one));
		(void)w; /* eventfd write cannot fail below 2^64-1 */
	}
	mq->qbytes += bytes;
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

/* --- public API ------------------------------------------------------- */

static int
dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return MASH_OK;
	*out = mash_strdup(s);
	return *out != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

int
mash_mq_new(const struct mash_mq_opts *o, struct mash_mq **out)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer5;
	struct mash_mq *mq = NULL;
	int rc = MASH_ERR_INVAL, prc;
	pthread_condattr_t ca;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (o == NULL || o->uri == NULL || o->client_id == NULL ||
	    o->client_id[0] == '\0')
		goto out;
	if (strncmp(o->uri, "tcp://", 6) != 0 &&
	    strncmp(o->uri, "ssl://", 6) != 0)
		goto out;
	/* A TLS identity that cannot work (a file missing or not PEM, a key
	 * of another certificate, outside its validity) is refused here,
	 * naming the file, not left to a handshake failure on every
	 * reconnect. Whether the broker trusts its issuer is the broker's. */
	if (strncmp(o->uri, "ssl://", 6) == 0 && o->cert_file != NULL &&
	    o->cert_file[0] != '\0' && o->ca_file != NULL &&
	    o->ca_file[0] != '\0') {
		char why[MASH_PKI_ERRLEN];

		why[0] = '\0';
		rc = mash_pki_check_identity(o->ca_file, o->cert_file,
		                             o->key_file, why, sizeof(why));
		if (rc != MASH_OK) {
			mash_err("mq: TLS identity refused: %s", why);
			goto out;
		}
	}
	/* Paho refuses a publish while this many wait in its command queue
	 * (default 100): a pipeline of MASH_MQ_MAX_PIPELINE to a broker with
	 * a deep Receive Maximum queues them all at once. */
	co.maxBufferedMessages = (int)(4u * MASH_MQ_MAX_PIPELINE);
	rc = MASH_ERR_NOMEM;
	mq = mash_calloc(1, sizeof(*mq));
	if (mq == NULL)
		goto out;
	mq->efd = -1;
	pthread_mutex_init(&mq->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mq->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (dup_opt(o->uri, &mq->uri) != MASH_OK ||
	    dup_opt(o->client_id, &mq->client_id) != MASH_OK ||
	    dup_opt(o->username, &mq->username) != MASH_OK ||
	    dup_opt(o->password, &mq->password) != MASH_OK ||
	    dup_opt(o->ca_file, &mq->ca_file) != MASH_OK ||
	    dup_opt(o->cert_file, &mq->cert_file) != MASH_OK ||
	    dup_opt(o->key_file, &mq->key_file) != MASH_OK)
		goto out;
	if (o->will_topic != NULL) {
		if (o->will_len == 0 || o->will_payload == NULL ||
		    o->will_len > MASH_MAX_ENVELOPE ||
		    strlen(o->will_topic) > MASH_MAX_TOPIC) {
			rc = MASH_ERR_INVAL;
			goto out;
		}
		if (dup_opt(o->will_topic, &mq->will_topic) != MASH_OK)
			goto out;
		mq->will_payload = mash_malloc(o->will_len);
		if (mq->will_payload == NULL)
			goto out;
		memcpy(mq->will_payload, o->will_payload, o->will_len);
		mq->will_len = o->will_len;
		mq->will_retained = o->will_retained;
	}
	mq->tls = strncmp(o->uri, "ssl://", 6) == 0;
	mq->verify_peer = o->verify_peer;
	mq->clean_start = o->clean_start;
	mq->session_expiry_s = o->session_expiry_s;
	mq->keepalive_s = o->keepalive_s > 0 ? o->keepalive_s : 30;
	mq->reconnect_min_s = o->reconnect_min_s > 0 ? o->reconnect_min_s : 1;
	mq->reconnect_max_s = o->reconnect_max_s >= mq->reconnect_min_s
	                          ? o->reconnect_max_s
	                          : mq->reconnect_min_s;
	mq->queue_max_msgs =
	    o->queue_max_msgs ? o->queue_max_msgs : MASH_MQ_DEFAULT_QUEUE_MSGS;
	mq->queue_max_bytes = o->queue_max_bytes ? o->queue_max_bytes
	                                         : MASH_MQ_DEFAULT_QUEUE_BYTES;
	mq->max_payload =
	    o->max_payload ? o->max_payload : MASH_MQ_DEFAULT_MAX_PAYLOAD;
	mq->receive_max = o->receive_max;
	mq->send_window = 20; /* until a CONNACK says (Mosquitto's default) */
	mq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mq->efd < 0) {
		rc = MASH_ERR_IO;
		goto out;
	}
	/* No client-side persistence: QoS 1 state lives in memory and in
	 * the broker's persistent session; the daemon's durability is the
	 * store, the agents' is their outbox. */
	co.sendWhileDisconnected = 0;
	rc = MASH_ERR_MQTT;
	prc =
	    MQTTAsync_createWithOptions(&mq->client, mq->uri, mq->client_id,
	                                MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
	if (prc != MQTTASYNC_SUCCESS) {
		mash_err("mq: cannot create client for %s: %s", mq->uri,
		         MQTTAsync_strerror(prc));
		goto out;
	}
	mq->have_client = 1;
	if (MQTTAsync_setCallbacks(mq->client, mq, on_connection_lost,
	                           on_message, NULL) != MQTTASYNC_SUCCESS ||
	    MQTTAsync_setConnected(mq->client, mq, on_connected) !=
	        MQTTASYNC_SUCCESS)
		goto out;
	*out = mq;
	mq = NULL; /* transferred */
	rc = MASH_OK;
out:
	mash_mq_free(mq);
	return rc;
}

int
mash_mq_subscribe(struct mash_mq *mq, const char *filter, int timeout_ms)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	struct timespec dl;
	char *copy = NULL;
	int rc = MASH_ERR_INVAL, connected, prc;
	size_t fl;

	if (mq == NULL || filter == NULL)
		goto out;
	fl = strlen(filter);
	if (fl == 0 || fl > MASH_MAX_TOPIC)
		goto out;
	copy = mash_strdup(filter);
	if (copy == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	pthread_mutex_lock(&mq->lock);
	if (mq->nsubs >= MASH_MQ_MAX_SUBS) {
		pthread_mutex_unlock(&mq->lock);
		goto out;
	}
	mq->subs[mq->nsubs++] = copy;
	copy = NULL; /* transferred */
	connected = mq->connected;
	mq->ready = 0;
	mq->sub_failed = 0;
	pthread_mutex_unlock(&mq->lock);
	rc = MASH_OK;
	if (!connected)
		goto out; /* on_connected() will subscribe */
	ro.onSuccess5 = on_subscribe_ok;
	ro.onFailure5 = on_subscribe_fail;
	ro.context = mq;
	prc = MQTTAsync_subscribe(mq->client, filter, 1, &ro);
	if (prc != MQTTASYNC_SUCCESS) {
		mash_err("mq: subscribe failed to start: %s",
		         MQTTAsync_strerror(prc));
		rc = MASH_ERR_MQTT;
		goto out;
	}
	dl = mash_mono_deadline(timeout_ms);
	pthread_mutex_lock(&mq->lock);
	while (!mq->ready && !mq->sub_failed) {
		if (cond_wait_until(mq, &dl) == ETIMEDOUT)
			break;
	}
	rc = mq->ready ? MASH_OK
	               : (mq->sub_failed ? MASH_ERR_MQTT : MASH_ERR_TIMEOUT);
	pthread_mutex_unlock(&mq->lock);
out:
	mash_free(copy);
	return rc;
}

int
mash_mq_connect(struct mash_mq *mq, int timeout_ms)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTProperty p;
	struct timespec dl;
	int rc = MASH_ERR_INVAL, prc, backoff_ms, pending;
	int64_t left;

	if (mq == NULL)
		goto out;
	p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
	p.value.integer4 = mq->session_expiry_s;
	if (MQTTProperties_add(&props, &p) != 0) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	if (mq->receive_max > 0) {
		p.identifier = MQTTPROPERTY_CODE_RECEIVE_MAXIMUM;
		p.value.integer2 = mq->receive_max;
		if (MQTTProperties_add(&props, &p) != 0) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
	}
	co.keepAliveInterval = mq->keepalive_s;
	co.cleanstart = mq->clean_start;
	co.username = mq->username;
	co.password = mq->password;
	co.connectTimeout = 10;
	co.automaticReconnect = 1;
	co.minRetryInterval = mq->reconnect_min_s;
	co.maxRetryInterval = mq->reconnect_max_s;
	co.connectProperties = &props;
	if (mq->will_topic != NULL) {
		will.topicName = mq->will_topic;
		will.payload.data = mq->will_payload;
		will.payload.len = (int)mq->will_len;
		will.retained = mq->will_retained;
		will.qos = 1;
		co.will = &will;
	}
	co.onSuccess5 = on_connect_ok;
	co.onFailure5 = on_connect_fail;
	co.context = mq;
	if (mq->tls) {
		ssl.trustStore = mq->ca_file;
		ssl.keyStore = mq->cert_file;
		ssl.privateKey = mq->key_file;
		ssl.enableServerCertAuth = mq->verify_peer;
		ssl.verify = mq->verify_peer;
		ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2;
		co.ssl = &ssl;
	}
	dl = mash_mono_deadline(timeout_ms);
	backoff_ms = mq->reconnect_min_s * 1000;
	/* Paho's automaticReconnect only covers a connection that was up
	 * once; the first connection is retried here, with backoff, until
	 * the deadline. */
	for (;;) {
		/* An attempt from an earlier call that timed out may still be
		 * in progress (an unreachable host takes connectTimeout):
		 * wait for it rather than start a second one. */
		pthread_mutex_lock(&mq->lock);
		if (mq->ready) { /* connected by an earlier call */
			pthread_mutex_unlock(&mq->lock);
			rc = MASH_OK;
			break;
		}
		pending = mq->connect_pending;
		if (!pending) {
			mq->connect_failed = 0;
			mq->connect_fatal = 0;
			mq->closing = 0;
			mq->disconnected = 0;
			mq->connect_pending = 1;
		}
		pthread_mutex_unlock(&mq->lock);
		prc = pending ? MQTTASYNC_SUCCESS
		              : MQTTAsync_connect(mq->client, &co);
		if (prc != MQTTASYNC_SUCCESS) {
			pthread_mutex_lock(&mq->lock);
			mq->connect_pending = 0;
			pthread_mutex_unlock(&mq->lock);
			mash_err("mq: connect to %s failed to start: %s",
			         mq->uri, MQTTAsync_strerror(prc));
			rc = MASH_ERR_MQTT;
			goto out;
		}
		pthread_mutex_lock(&mq->lock);
		while (!mq->ready && !mq->connect_failed && !mq->sub_failed) {
			if (cond_wait_until(mq, &dl) == ETIMEDOUT)
				break;
		}
		if (mq->ready) {
			rc = MASH_OK;
		} else if (mq->connect_fatal || mq->sub_failed) {
			rc = MASH_ERR_MQTT;
		} else {
			rc = MASH_ERR_TIMEOUT;
		}
		prc = mq->connect_failed;
		pthread_mutex_unlock(&mq->lock);
		if (rc != MASH_ERR_TIMEOUT || !prc)
			break;
		left = ms_left(&dl);
		if (left <= 0)
			break;
		usleep((useconds_t)(left < backoff_ms ? left : backoff_ms) *
		       1000u);
		if (ms_left(&dl) <= 0)
			break;
		if (backoff_ms < mq->reconnect_max_s * 1000)
			backoff_ms *= 2;
	}
	if (rc == MASH_ERR_MQTT)
		mash_err("mq: %s refused the connection or subscription",
		         mq->uri);
out:
	MQTTProperties_free(&props);
	return rc;
}

int
mash_mq_is_connected(struct mash_mq *mq)
{
	int r;

	pthread_mutex_lock(&mq->lock);
	r = mq->ready;
	pthread_mutex_unlock(&mq->lock);
	return r;
}

uint64_t
mash_mq_connect_count(struct mash_mq *mq)
{
	uint64_t n;

	pthread_mutex_lock(&mq->lock);
	n = mq->connect_count;
	pthread_mutex_unlock(&mq->lock);
	return n;
}

uint64_t
mash_mq_waited_count(struct mash_mq *mq)
{
	uint64_t n;

	pthread_mutex_lock(&mq->lock);
	n = mq->waited;
	pthread_mutex_unlock(&mq->lock);
	return n;
}

uint64_t
mash_mq_over_count(struct mash_mq *mq)
{
	uint64_t n;

	pthread_mutex_lock(&mq->lock);
	n = mq->over;
	pthread_mutex_unlock(&mq->lock);
	return n;
}

uint64_t
mash_mq_refused_count(struct mash_mq *mq)
{
	uint64_t n;

	pthread_mutex_lock(&mq->lock);
	n = mq->refused;
	pthread_mutex_unlock(&mq->lock);
	return n;
}

size_t
mash_mq_queued(struct mash_mq *mq)
{
	size_t n;

	pthread_mutex_lock(&mq->lock);
	n = mq->qcount;
	pthread_mutex_unlock(&mq->lock);
	return n;
}

int
mash_mq_fd(struct mash_mq *mq)
{
	return mq->efd;
}

/* Send one QoS 1 message; *token identifies it to wait_tokens. */
static int
publish_start(struct mash_mq *mq, const char *topic, const void *buf,
              size_t len, int retained, const struct mash_mq_props *props,
              int *token)
{
	MQTTAsync_message m = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	MQTTProperty p;
	int rc = MASH_ERR_INVAL, prc;

	if (mq == NULL || topic == NULL || topic[0] == '\0' ||
	    strlen(topic) > MASH_MAX_TOPIC || (buf == NULL && len > 0) ||
	    len > (size_t)INT32_MAX || token == NULL)
		goto out;
	if (props != NULL && props->correlation_len > MASH_MQ_MAX_CORRELATION)
		goto out;
	if (props != NULL && props->response_topic != NULL &&
	    strlen(props->response_topic) > MASH_MAX_TOPIC)
		goto out;
	rc = MASH_ERR_NOMEM;
	if (props != NULL && props->response_topic != NULL &&
	    props->response_topic[0] != '\0') {
		p.identifier = MQTTPROPERTY_CODE_RESPONSE_TOPIC;
		p.value.data.data = (char *)props->response_topic;
		p.value.data.len = (int)strlen(props->response_topic);
		if (MQTTProperties_add(&m.properties, &p) != 0)
			goto out;
	}
	if (props != NULL && props->correlation != NULL &&
	    props->correlation_len > 0) {
		p.identifier = MQTTPROPERTY_CODE_CORRELATION_DATA;
		p.value.data.data = (char *)props->correlation;
		p.value.data.len = (int)props->correlation_len;
		if (MQTTProperties_add(&m.properties, &p) != 0)
			goto out;
	}
	m.payload = (void *)buf;
	m.payloadlen = (int)len;
	m.qos = 1;
	m.retained = retained ? 1 : 0;
	rc = MASH_ERR_MQTT;
	if (!mash_mq_is_connected(mq))
		goto out;
	ro.onSuccess5 = on_publish_ok;
	ro.onFailure5 = on_publish_fail;
	ro.context = mq;
	prc = MQTTAsync_sendMessage(mq->client, topic, &m, &ro);
	if (prc != MQTTASYNC_SUCCESS) {
		mash_warn("mq: publish refused by client: %s",
		          MQTTAsync_strerror(prc));
		goto out;
	}
	*token = ro.token;
	rc = MASH_OK;
out:
	MQTTProperties_free(&m.properties);
	return rc;
}

/*
 * Around every publish: Paho's receive thread must not be held by
 * on_message for a full queue. It reads the PUBACKs we wait for, and it
 * holds Paho's own lock while it calls on_message, which
 * MQTTAsync_sendMessage needs too. So publishing_any is raised BEFORE
 * the first send, and on_message, if it is waiting, is woken at once
 * (its timed wait alone cost each publish up to 100 ms while five
 * agents kept the queue full, issue 22).
 */
static void
publishing_begin(struct mash_mq *mq)
{
	atomic_fetch_add(&publishing_any, 1);
	pthread_mutex_lock(&mq->lock);
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
}

static void
publishing_end(void)
{
	atomic_fetch_sub(&publishing_any, 1);
}

/* Wait until every token has its PUBACK or the deadline passes; rcs[i]
 * gets MASH_OK, MASH_ERR_REFUSED, MASH_ERR_MQTT (failed) or
 * MASH_ERR_TIMEOUT.
 * from is done_cursor() taken before the first of them was sent.
 * Between publishing_begin and publishing_end only. */
static void
wait_tokens(struct mash_mq *mq, const int *tokens, int *rcs, size_t n,
            int timeout_ms, unsigned from)
{
	struct timespec dl;
	size_t i, left = n;
	unsigned cur = from;
	int timed_out = 0;

	for (i = 0; i < n; i++)
		rcs[i] = 1; /* not yet known */
	dl = mash_mono_deadline(timeout_ms > 0 ? timeout_ms : 0);
	pthread_mutex_lock(&mq->lock);
	for (;;) {
		/* More than a ring behind: those entries are overwritten and
		 * their tokens time out, said so below, never guessed. */
		if (mq->done_next - cur > MQ_DONE_RING)
			cur = mq->done_next - MQ_DONE_RING;
		for (; cur != mq->done_next && left > 0; cur++) {
			const int tok = mq->done[cur % MQ_DONE_RING].token;

			for (i = 0; i < n; i++) {
				if (rcs[i] != 1 || tokens[i] != tok)
					continue;
				rcs[i] = mq->done[cur % MQ_DONE_RING].rc;
				left--;
				break;
			}
		}
		if (left == 0 || timed_out)
			break;
		if (cond_wait_until(mq, &dl) == ETIMEDOUT)
			timed_out = 1; /* one last look */
	}
	pthread_mutex_unlock(&mq->lock);
	for (i = 0; i < n; i++)
		if (rcs[i] == 1)
			rcs[i] = MASH_ERR_TIMEOUT;
}

int
mash_mq_publish(struct mash_mq *mq, const char *topic, const void *buf,
                size_t len, int retained, const struct mash_mq_props *props,
                int timeout_ms)
{
	int token = 0, rc;
	unsigned from;

	if (mq == NULL)
		return MASH_ERR_INVAL;
	publishing_begin(mq);
	from = done_cursor(mq);
	rc = publish_start(mq, topic, buf, len, retained, props, &token);
	if (rc == MASH_OK)
		wait_tokens(mq, &token, &rc, 1, timeout_ms, from);
	publishing_end();
	return rc;
}

int
mash_mq_publish_many(struct mash_mq *mq, const struct mash_mq_out *msgs,
                     size_t n, int timeout_ms, int *rcs)
{
	int tokens[MASH_MQ_MAX_PIPELINE], wrc[MASH_MQ_MAX_PIPELINE];
	size_t i, started = 0, waited = 0, window;
	int rc = MASH_OK, failed = 0, start_failed;
	unsigned from;

	if (mq == NULL || (msgs == NULL && n > 0) || rcs == NULL ||
	    n > MASH_MQ_MAX_PIPELINE)
		return MASH_ERR_INVAL;
	pthread_mutex_lock(&mq->lock);
	window = mq->send_window > 0 ? mq->send_window : 1;
	pthread_mutex_unlock(&mq->lock);
	publishing_begin(mq);
	/* Rounds of at most the broker's window: send, then wait. */
	while (waited < n && !failed) {
		start_failed = 0;
		from = done_cursor(mq);
		for (i = waited; i < n && i - waited < window; i++) {
			rcs[i] = publish_start(mq, msgs[i].topic, msgs[i].buf,
			                       msgs[i].len, msgs[i].retained,
			                       msgs[i].props, &tokens[i]);
			if (rcs[i] != MASH_OK) {
				failed = start_failed = 1;
				break;
			}
		}
		started = i;
		if (started > waited) {
			wait_tokens(mq, tokens + waited, wrc + waited,
			            started - waited, timeout_ms, from);
			/* A refusal is that message's alone (the broker
			 * answered, issue 31); anything else stops the rest. */
			for (i = waited; i < started; i++) {
				rcs[i] = wrc[i];
				if (rcs[i] != MASH_OK &&
				    rcs[i] != MASH_ERR_REFUSED)
					failed = 1;
			}
		}
		/* rcs[started] says why it could not be sent. */
		waited = start_failed ? started + 1 : started;
	}
	publishing_end();
	/* What follows a failure was not sent. */
	for (i = waited; i < n; i++)
		rcs[i] = MASH_ERR_MQTT;
	for (i = 0; i < n && rc == MASH_OK; i++)
		rc = rcs[i]; /* the first failure */
	return rc;
}

int
mash_mq_next(struct mash_mq *mq, int timeout_ms, struct mash_mq_msg **out)
{
	struct mq_node *node = NULL;
	struct timespec dl;
	int rc = MASH_ERR_TIMEOUT;

	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (mq == NULL)
		return MASH_ERR_INVAL;
	if (timeout_ms > 0)
		dl = mash_mono_deadline(timeout_ms);
	pthread_mutex_lock(&mq->lock);
	while (mq->head == NULL && timeout_ms != 0) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&mq->cond, &mq->lock);
		} else if (cond_wait_until(mq, &dl) == ETIMEDOUT) {
			break;
		}
	}
	if (mq->head != NULL) {
		node = mq->head;
		mq->head = node->next;
		if (mq->head == NULL)
			mq->tail = NULL;
		mq->qbytes -= node->bytes;
		if (--mq->qcount == 0) {
			uint64_t v;
			ssize_t r = read(mq->efd, &v, sizeof(v));
			(void)r; /* EAGAIN is fine: nothing to reset */
		}
		*out = node->msg;
		rc = MASH_OK;
		pthread_cond_broadcast(&mq->cond); /* room for on_message */
	}
	pthread_mutex_unlock(&mq->lock);
	mash_free(node);
	return rc;
}

void
mash_mq_msg_free(struct mash_mq_msg *m)
{
	if (m == NULL)
		return;
	mash_free(m->topic);
	/* Payloads carry safeguarding data: wipe before freeing. */
	mash_free_secret(m->payload, m->len);
	mash_free(m->response_topic);
	mash_free(m->correlation);
	mash_free(m);
}

int
mash_mq_disconnect(struct mash_mq *mq, int timeout_ms)
{
	MQTTAsync_disconnectOptions d =
	    MQTTAsync_disconnectOptions_initializer5;
	struct timespec dl;
	int rc = MASH_ERR_MQTT, prc;

	if (mq == NULL || !mq->have_client)
		return MASH_ERR_INVAL;
	pthread_mutex_lock(&mq->lock);
	mq->closing = 1;
	mq->disconnected = 0;
	pthread_cond_broadcast(&mq->cond);
	pthread_mutex_unlock(&mq->lock);
	d.timeout = timeout_ms;
	d.onSuccess5 = on_disconnect_done;
	d.onFailure5 = on_disconnect_fail;
	d.context = mq;
	prc = MQTTAsync_disconnect(mq->client, &d);
	if (prc != MQTTASYNC_SUCCESS)
		goto out;
	dl = mash_mono_deadline(timeout_ms + 1000);
	pthread_mutex_lock(&mq->lock);
	while (!mq->disconnected) {
		if (cond_wait_until(mq, &dl) == ETIMEDOUT)
			break;
	}
	rc = mq->disconnected ? MASH_OK : MASH_ERR_TIMEOUT;
	pthread_mutex_unlock(&mq->lock);
out:
	return rc;
}

void
mash_mq_free(struct mash_mq *mq)
{
	struct mq_node *n, *next;
	size_t i;

	if (mq == NULL)
		return;
	if (mq->have_client) {
		if (MQTTAsync_isConnected(mq->client))
			(void)mash_mq_disconnect(mq, 1000);
		MQTTAsync_destroy(&mq->client);
	}
	for (n = mq->head; n != NULL; n = next) {
		next = n->next;
		mash_mq_msg_free(n->msg);
		mash_free(n);
	}
	for (i = 0; i < mq->nsubs; i++)
		mash_free(mq->subs[i]);
	if (mq->efd >= 0)
		close(mq->efd);
	pthread_cond_destroy(&mq->cond);
	pthread_mutex_destroy(&mq->lock);
	mash_free(mq->uri);
	mash_free(mq->client_id);
	mash_free(mq->username);
	mash_free_str(mq->password);
	mash_free(mq->ca_file);
	mash_free(mq->cert_file);
	mash_free(mq->key_file);
	mash_free(mq->will_topic);
	mash_free(mq->will_payload);
	mash_free(mq);
}
