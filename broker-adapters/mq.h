/*
 * mq.h - the MQTT v5 transport of the daemon, the agents and the picture
 * tool. One implementation (mq_paho.c) over the Eclipse Paho MQTT C
 * asynchronous API; nothing outside broker-adapters/ includes a Paho header.
 *
 * Threading: Paho runs its own threads. Received messages are COPIED into a
 * bounded queue on Paho's thread and consumed on the caller's thread with
 * mash_mq_next(); every other function is called from the caller's thread.
 *
 * Delivery: QoS 1 in both directions. Paho sends the PUBACK for a received
 * message once it is in the queue, before the application has done
 * anything with it, so the MQTT acknowledgement proves nothing about what
 * the application did; MASH's end-to-end acknowledgement is the signed
 * Receipt.
 *
 * Flow control: with receive_max set, the broker sends at most that many
 * unacknowledged messages; a full queue holds back the PUBACK, so the
 * broker keeps the rest in the session (docs/internals/mq.md, sizing).
 */
#ifndef MASH_MQ_H
#define MASH_MQ_H

#include <stddef.h>
#include <stdint.h>

struct mash_mq;

/* Hard limits. */
#define MASH_MQ_MAX_SUBS            16u /* subscriptions kept for resubscribe */
#define MASH_MQ_MAX_CORRELATION     256u /* v5 correlation data, bytes */
#define MASH_MQ_MAX_PIPELINE        128u /* messages per mash_mq_publish_many */
#define MASH_MQ_DEFAULT_QUEUE_MSGS  1024u /* receive queue, messages */
#define MASH_MQ_DEFAULT_QUEUE_BYTES (64u * 1024u * 1024u)
/* A received payload larger than this is not copied whole: the queued
 * message holds the first max_payload bytes and oversized = 1. */
#define MASH_MQ_DEFAULT_MAX_PAYLOAD (1024u * 1024u)

struct mash_mq_opts {
	const char *uri; /* tcp://host:port or ssl://host:port; required */
	const char *client_id; /* required, 1..23+ chars the broker accepts */
	const char *username;  /* NULL: none */
	const char *password;  /* NULL: none */
	const char *ca_file;   /* ssl://: PEM CA bundle; NULL: system store */
	const char *cert_file; /* ssl://: client certificate PEM; NULL: none */
	const char *key_file;  /* ssl://: client private key PEM; NULL: none */
	int verify_peer; /* ssl://: verify certificate + host; default 1 */
	int clean_start; /* default 0: resume the persistent session */
	uint32_t session_expiry_s; /* v5 session expiry; default 86400 */
	int keepalive_s;           /* default 30 */
	int reconnect_min_s;       /* automatic reconnect backoff; default 1 */
	int reconnect_max_s;       /* doubling stops here; default 30 */
	size_t queue_max_msgs;     /* default MASH_MQ_DEFAULT_QUEUE_MSGS */
	size_t queue_max_bytes;    /* default MASH_MQ_DEFAULT_QUEUE_BYTES */
	size_t max_payload;        /* default MASH_MQ_DEFAULT_MAX_PAYLOAD */
	/* MQTT v5 Receive Maximum: unacknowledged messages the broker may
	 * send us at once; 0: not sent (the broker's default, 65535). */
	uint16_t receive_max;
	/* MQTT will: published by the broker, QoS 1, when our connection
	 * ends without a DISCONNECT (a crash). will_topic NULL: none. */
	const char *will_topic;
	const void *will_payload; /* copied; at most MASH_MAX_ENVELOPE */
	size_t will_len;
	int will_retained;
};

/* MQTT v5 properties a publisher sets and a receiver sees. */
struct mash_mq_props {
	const char *response_topic;       /* NULL: none */
	const unsigned char *correlation; /* NULL: none */
	size_t correlation_len;           /* <= MASH_MQ_MAX_CORRELATION */
};

/* One received message, owned by the caller of mash_mq_next(). */
struct mash_mq_msg {
	char *topic;            /* NUL-terminated */
	unsigned char *payload; /* len bytes (NULL when len == 0) */
	size_t len;             /* bytes held in payload */
	size_t orig_len;        /* bytes the broker sent */
	int oversized;          /* 1: orig_len > max_payload, payload cut */
	int retained;
	int dup;
	char *response_topic;       /* NULL: none */
	unsigned char *correlation; /* NULL: none */
	size_t correlation_len;
};

/*
 * Once per process that uses this module, before anything else calls
 * OpenSSL: the first thing in main(). Keeps OpenSSL's own clean-up from
 * running at exit under Paho's unjoined threads (see mq_paho.c).
 * MASH_OK, or MASH_ERR_CRYPTO when OpenSSL cannot initialise.
 */
int mash_mq_global_init(void);

/* Defaults for every field (uri and client_id NULL). */
void mash_mq_opts_init(struct mash_mq_opts *o);

/*
 * Create a client (not yet connected). Copies every string in o.
 * MASH_OK and *out set; MASH_ERR_INVAL on a missing uri/client_id or a
 * scheme other than tcp:// or ssl://; MASH_ERR_NOMEM; MASH_ERR_MQTT when
 * Paho refuses the options. With ssl://, a CA and a client certificate,
 * the identity is checked first (crypto/pki.h mash_pki_check_identity):
 * MASH_ERR_NOT_FOUND / IO / KEY_FORMAT / EXPIRED, logged with the file.
 * *out is NULL on failure. Free with mash_mq_free().
 */
int mash_mq_new(const struct mash_mq_opts *o, struct mash_mq **out);

/*
 * Add a subscription filter (QoS 1), e.g. "mash/v1/events/+" or
 * "$share/mashd/mash/v1/events/+". Remembered and re-subscribed on every
 * (re)connect. If connected, subscribes now and waits up to timeout_ms for
 * the SUBACK. MASH_OK; MASH_ERR_INVAL (bad filter, too many);
 * MASH_ERR_MQTT (broker refused); MASH_ERR_TIMEOUT.
 */
int mash_mq_subscribe(struct mash_mq *mq, const char *filter, int timeout_ms);

/*
 * Connect and wait up to timeout_ms for the first successful connection
 * (and the subscriptions added so far). Afterwards Paho reconnects on its
 * own with backoff and the adapter re-subscribes. Until the first
 * success, a failed attempt is retried here with the same backoff.
 * MASH_OK; MASH_ERR_TIMEOUT (no connection by the deadline; call again);
 * MASH_ERR_MQTT (refused: bad credentials, not authorised, refused
 * subscription).
 */
int mash_mq_connect(struct mash_mq *mq, int timeout_ms);

/* 1 if connected and subscribed now, else 0. */
int mash_mq_is_connected(struct mash_mq *mq);

/* How many times a connection completed (1 after the first connect, +1
 * per reconnect); for logs and tests. */
uint64_t mash_mq_connect_count(struct mash_mq *mq);

/*
 * Publish len bytes at QoS 1 and wait up to timeout_ms for the broker's
 * PUBACK. props may be NULL. MASH_OK when the broker has the message;
 * MASH_ERR_REFUSED when the broker refused it (v5 PUBACK reason code
 * >= 0x80); MASH_ERR_MQTT if not connected or Paho refused; MASH_ERR_TIMEOUT;
 * MASH_ERR_INVAL on bad arguments (correlation too long).
 */
int mash_mq_publish(struct mash_mq *mq, const char *topic, const void *buf,
                    size_t len, int retained, const struct mash_mq_props *props,
                    int timeout_ms);

/*
 * Take the oldest received message, waiting up to timeout_ms (0: poll,
 * <0: forever). MASH_OK and *out set (free with mash_mq_msg_free());
 * MASH_ERR_TIMEOUT when none arrived; *out NULL then.
 */
int mash_mq_next(struct mash_mq *mq, int timeout_ms, struct mash_mq_msg **out);

/* A file descriptor that is readable while the receive queue is not
 * empty, for poll() in a main loop; owned by mq, do not close. */
int mash_mq_fd(struct mash_mq *mq);

/* Messages currently queued. */
size_t mash_mq_queued(struct mash_mq *mq);

/* How many received messages found the queue full and waited for room
 * (back-pressure: Paho's receive thread stops reading the socket, the
 * broker keeps the rest in the session). */
uint64_t mash_mq_waited_count(struct mash_mq *mq);

/* How many messages were taken over the queue's bound on messages (up
 * to twice its bound on bytes) because the receive thread could not be held: an
 * application thread waited for a PUBACK, a shutdown, or the start-up
 * subscription. */
uint64_t mash_mq_over_count(struct mash_mq *mq);

/* How many times a message was handed back to Paho instead (the queue at
 * twice its byte bound); Paho offers it again with its next packet, which can
 * take long: raise the queue. Never a loss. */
uint64_t mash_mq_refused_count(struct mash_mq *mq);

/* One message of mash_mq_publish_many. */
struct mash_mq_out {
	const char *topic;
	const void *buf;
	size_t len;
	int retained;
	const struct mash_mq_props *props; /* NULL: none */
};

/*
 * Publish n (at most MASH_MQ_MAX_PIPELINE) QoS 1 messages in this order
 * without waiting between them, then wait up to timeout_ms for all their
 * PUBACKs: one round trip for the lot instead of one each. rcs[i] is
 * MASH_OK (acknowledged), MASH_ERR_REFUSED (the broker answered with a
 * refusing PUBACK: an ACL denial, a quota; the messages after it are
 * still sent), MASH_ERR_MQTT (failed, or not sent because an earlier one
 * failed) or MASH_ERR_TIMEOUT. Returns
 * MASH_OK when all are, else the first failure; MASH_ERR_INVAL for bad
 * arguments (rcs untouched).
 */
int mash_mq_publish_many(struct mash_mq *mq, const struct mash_mq_out *msgs,
                         size_t n, int timeout_ms, int *rcs);

/* Free a message; NULL allowed. Payload bytes are wiped first. */
void mash_mq_msg_free(struct mash_mq_msg *m);

/*
 * Disconnect, waiting up to timeout_ms for in-flight messages. Stops
 * automatic reconnect. Messages still queued stay readable with
 * mash_mq_next(). MASH_OK or MASH_ERR_MQTT (already down).
 */
int mash_mq_disconnect(struct mash_mq *mq, int timeout_ms);

/* Disconnect if needed, destroy the client, free queued messages. NULL
 * allowed. */
void mash_mq_free(struct mash_mq *mq);

#endif
