/*
 * it_mq.c - the MQTT adapter (broker-adapters/mq.h) against a real
 * mosquitto: QoS 1 publish/receive, MQTT v5 response topic and correlation
 * data, retained messages, the bounded receive queue, persistent sessions
 * and reconnect + re-subscribe after the broker restarts.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "support/broker.h"

static struct mash_test_broker *broker;

static void
setup(void)
{
	ck_assert_int_eq(mash_test_broker_start(&broker), 0);
}

static void
teardown(void)
{
	mash_test_broker_free(broker);
	broker = NULL;
}

static struct mash_mq *
client(const char *id, int clean, size_t qmax, size_t max_payload)
{
	struct mash_mq_opts o;
	struct mash_test_tls t;
	struct mash_mq *mq = NULL;

	mash_mq_opts_init(&o);
	/* The transport under test, not the hub's rights: the harness. */
	mash_test_broker_mq_opts(broker, MASH_TEST_HARNESS, &t, &o);
	o.client_id = id;
	o.clean_start = clean;
	o.reconnect_min_s = 1;
	o.reconnect_max_s = 2;
	if (qmax)
		o.queue_max_msgs = qmax;
	if (max_payload)
		o.max_payload = max_payload;
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_OK);
	return mq;
}

static struct mash_mq *
connected(const char *id, const char *filter)
{
	struct mash_mq *mq = client(id, 1, 0, 0);

	if (filter != NULL)
		ck_assert_int_eq(mash_mq_subscribe(mq, filter, 5000), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(mq, 10000), MASH_OK);
	return mq;
}

static void
expect_msg(struct mash_mq *mq, const char *topic, const char *payload)
{
	struct mash_mq_msg *m = NULL;

	ck_assert_int_eq(mash_mq_next(mq, 10000, &m), MASH_OK);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->topic, topic);
	ck_assert_uint_eq(m->len, strlen(payload));
	ck_assert(memcmp(m->payload, payload, m->len) == 0);
	mash_mq_msg_free(m);
}

START_TEST(new_rejects_missing_uri_and_unknown_scheme)
{
	struct mash_mq_opts o;
	struct mash_mq *mq = (struct mash_mq *)1;

	mash_mq_opts_init(&o);
	o.client_id = "x";
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_ERR_INVAL);
	ck_assert_ptr_null(mq);
	o.uri = "ws://127.0.0.1:1";
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_ERR_INVAL);
	o.uri = "tcp://127.0.0.1:1";
	o.client_id = NULL;
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_ERR_INVAL);
}
END_TEST

START_TEST(publish_is_received_by_subscriber_at_qos1)
{
	struct mash_mq *sub = connected("it-sub", "mash/v1/events/+");
	struct mash_mq *pub = connected("it-pub", NULL);
	struct mash_mq_msg *m = NULL;

	ck_assert(mash_mq_is_connected(sub));
	ck_assert_int_eq(mash_mq_publish(pub, "mash/v1/events/police", "hello",
	                                 5, 0, NULL, 5000),
	                 MASH_OK);
	expect_msg(sub, "mash/v1/events/police", "hello");
	/* Not subscribed: nothing arrives. */
	ck_assert_int_eq(
	    mash_mq_publish(pub, "mash/v1/other", "x", 1, 0, NULL, 5000),
	    MASH_OK);
	ck_assert_int_eq(mash_mq_next(sub, 300, &m), MASH_ERR_TIMEOUT);
	ck_assert_ptr_null(m);
	mash_mq_free(pub);
	mash_mq_free(sub);
}
END_TEST

START_TEST(publish_when_not_connected_fails_without_blocking)
{
	struct mash_mq *mq = client("it-nc", 1, 0, 0);

	ck_assert_int_eq(mash_mq_publish(mq, "a/b", "x", 1, 0, NULL, 5000),
	                 MASH_ERR_MQTT);
	ck_assert_int_eq(mash_mq_publish(mq, "", "x", 1, 0, NULL, 5000),
	                 MASH_ERR_INVAL);
	mash_mq_free(mq);
}
END_TEST

START_TEST(response_topic_and_correlation_round_trip)
{
	struct mash_mq *server =
	    connected("it-server", "mash/v1/requests/picture");
	struct mash_mq *requester =
	    connected("it-requester", "mash/v1/inbox/analyst.amara");
	const unsigned char corr[] = {0x00, 0x01, 0xfe, 0xff, 0x42};
	struct mash_mq_props p = {"mash/v1/inbox/analyst.amara", corr,
	                          sizeof(corr)};
	struct mash_mq_props reply;
	struct mash_mq_msg *m = NULL;

	ck_assert_int_eq(mash_mq_publish(requester, "mash/v1/requests/picture",
	                                 "req", 3, 0, &p, 5000),
	                 MASH_OK);
	ck_assert_int_eq(mash_mq_next(server, 10000, &m), MASH_OK);
	ck_assert_str_eq(m->response_topic, "mash/v1/inbox/analyst.amara");
	ck_assert_uint_eq(m->correlation_len, sizeof(corr));
	ck_assert(memcmp(m->correlation, corr, sizeof(corr)) == 0);
	/* The server answers on the response topic, echoing correlation. */
	reply.response_topic = NULL;
	reply.correlation = m->correlation;
	reply.correlation_len = m->correlation_len;
	ck_assert_int_eq(mash_mq_publish(server, m->response_topic, "pic", 3, 0,
	                                 &reply, 5000),
	                 MASH_OK);
	mash_mq_msg_free(m);
	m = NULL;
	ck_assert_int_eq(mash_mq_next(requester, 10000, &m), MASH_OK);
	ck_assert_str_eq(m->topic, "mash/v1/inbox/analyst.amara");
	ck_assert_ptr_null(m->response_topic);
	ck_assert_uint_eq(m->correlation_len, sizeof(corr));
	ck_assert(memcmp(m->correlation, corr, sizeof(corr)) == 0);
	mash_mq_msg_free(m);
	mash_mq_free(requester);
	mash_mq_free(server);
}
END_TEST

START_TEST(correlation_longer_than_limit_is_refused)
{
	struct mash_mq *pub = connected("it-pub", NULL);
	unsigned char big[MASH_MQ_MAX_CORRELATION + 1];
	struct mash_mq_props p = {NULL, big, sizeof(big)};

	memset(big, 7, sizeof(big));
	ck_assert_int_eq(mash_mq_publish(pub, "a/b", "x", 1, 0, &p, 5000),
	                 MASH_ERR_INVAL);
	mash_mq_free(pub);
}
END_TEST

START_TEST(publish_many_sends_all_in_order_and_waits_once)
{
	struct mash_mq *sub = connected("it-sub-many", "mash/v1/inbox/+");
	struct mash_mq *pub = connected("it-pub-many", NULL);
	struct mash_mq_out out[MASH_MQ_MAX_PIPELINE + 1];
	char body[MASH_MQ_MAX_PIPELINE][16];
	int rcs[MASH_MQ_MAX_PIPELINE + 1];
	size_t i, n = MASH_MQ_MAX_PIPELINE;

	memset(out, 0, sizeof(out));
	for (i = 0; i < n; i++) {
		(void)snprintf(body[i], sizeof(body[i]), "m%03zu", i);
		out[i].topic = "mash/v1/inbox/analyst.amara";
		out[i].buf = body[i];
		out[i].len = strlen(body[i]);
	}
	ck_assert_int_eq(mash_mq_publish_many(pub, out, n, 10000, rcs),
	                 MASH_OK);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(rcs[i], MASH_OK);
	for (i = 0; i < n; i++)
		expect_msg(sub, "mash/v1/inbox/analyst.amara", body[i]);
	/* More than one pipeline holds is refused, not cut short. */
	out[n] = out[0];
	ck_assert_int_eq(mash_mq_publish_many(pub, out, n + 1, 10000, rcs),
	                 MASH_ERR_INVAL);
	/* A message that cannot be sent fails, and so does what follows. */
	out[1].topic = "";
	ck_assert_int_eq(mash_mq_publish_many(pub, out, 3, 10000, rcs),
	                 MASH_ERR_INVAL);
	ck_assert_int_eq(rcs[0], MASH_OK);
	ck_assert_int_eq(rcs[1], MASH_ERR_INVAL);
	ck_assert_int_eq(rcs[2], MASH_ERR_MQTT);
	mash_mq_free(pub);
	mash_mq_free(sub);
}
END_TEST

/* A client that dies without a DISCONNECT leaves its will, retained,
 * for whoever subscribes later (mashd's "offline" status). */
START_TEST(will_is_published_by_the_broker_when_a_client_dies)
{
	struct mash_mq *sub;
	struct mash_mq_msg *m = NULL;
	pid_t pid;
	int status = 0;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct mash_mq_opts o;
		struct mash_test_tls t;
		struct mash_mq *mq = NULL;

		mash_mq_opts_init(&o);
		mash_test_broker_mq_opts(broker, MASH_TEST_HARNESS, &t, &o);
		o.client_id = "it-will";
		o.will_topic = "mash/v1/status/daemon";
		o.will_payload = "gone";
		o.will_len = 4;
		o.will_retained = 1;
		if (mash_mq_new(&o, &mq) != MASH_OK ||
		    mash_mq_connect(mq, 10000) != MASH_OK)
			_exit(1);
		_exit(0); /* no DISCONNECT: the broker sees a dead socket */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sub = connected("it-will-watch", "mash/v1/status/daemon");
	ck_assert_int_eq(mash_mq_next(sub, 10000, &m), MASH_OK);
	ck_assert_uint_eq(m->len, 4);
	ck_assert(memcmp(m->payload, "gone", 4) == 0);
	ck_assert_int_eq(m->retained, 1);
	mash_mq_msg_free(m);
	mash_mq_free(sub);
}
END_TEST

START_TEST(retained_message_reaches_a_later_subscriber_flagged_retained)
{
	struct mash_mq *pub = connected("it-pub", NULL);
	struct mash_mq *sub;
	struct mash_mq_msg *m = NULL;

	ck_assert_int_eq(mash_mq_publish(pub, "mash/v1/audit/checkpoints", "cp",
	                                 2, 1, NULL, 5000),
	                 MASH_OK);
	sub = connected("it-late", "mash/v1/audit/checkpoints");
	ck_assert_int_eq(mash_mq_next(sub, 10000, &m), MASH_OK);
	ck_assert_int_eq(m->retained, 1);
	ck_assert_uint_eq(m->len, 2);
	mash_mq_msg_free(m);
	mash_mq_free(sub);
	mash_mq_free(pub);
}
END_TEST

/* Publish with mosquitto_pub from another process: Paho runs one receive
 * thread per process, which a full queue deliberately holds back. */
static void
external_pub(const char *topic, const char *payload)
{
	char port[16];
	struct mash_test_tls t;
	const char *argv[] = {"/usr/bin/mosquitto_pub",
	                      "-h",
	                      "localhost",
	                      "-p",
	                      port,
	                      "--cafile",
	                      t.ca,
	                      "--cert",
	                      t.cert,
	                      "--key",
	                      t.key,
	                      "-q",
	                      "1",
	                      "-V",
	                      "mqttv5",
	                      "-t",
	                      topic,
	                      "-m",
	                      payload,
	                      NULL};
	int st = 0;
	pid_t pid;

	/* Over the broker's mutual TLS, as the harness. */
	mash_test_broker_files(broker, MASH_TEST_HARNESS, &t);
	snprintf(port, sizeof(port), "%d", mash_test_broker_port(broker));
	pid = mash_test_spawn(argv, NULL, NULL, NULL);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(mash_test_wait(pid, 10000, &st), 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(full_queue_holds_back_the_broker_and_loses_none)
{
	struct mash_mq *sub = client("it-small", 1, 2, 0);
	struct mash_mq_msg *m = NULL;
	char buf[16];
	int i, n = 0, v;

	ck_assert_int_eq(mash_mq_subscribe(sub, "t/#", 5000), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(sub, 10000), MASH_OK);
	for (i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "%d", i);
		external_pub("t/x", buf);
	}
	/* The queue holds 2; the callback is holding the rest back. */
	for (i = 0; i < 100 && mash_mq_waited_count(sub) == 0; i++)
		mash_test_sleep_ms(20);
	ck_assert_uint_gt(mash_mq_waited_count(sub), 0);
	ck_assert_uint_le(mash_mq_queued(sub), 2);
	/* Everything arrives, once, in order. */
	while (n < 20 && mash_mq_next(sub, 10000, &m) == MASH_OK) {
		ck_assert_uint_le(mash_mq_queued(sub), 2);
		ck_assert_uint_lt(m->len, sizeof(buf));
		memcpy(buf, m->payload, m->len);
		buf[m->len] = '\0';
		v = (int)strtol(buf, NULL, 10);
		ck_assert_int_eq(v, n);
		n++;
		mash_mq_msg_free(m);
		m = NULL;
	}
	ck_assert_int_eq(n, 20);
	ck_assert_int_eq(mash_mq_next(sub, 300, &m), MASH_ERR_TIMEOUT);
	mash_mq_free(sub);
}
END_TEST

START_TEST(oversized_payload_is_cut_and_flagged)
{
	struct mash_mq *sub = client("it-cut", 1, 0, 100);
	struct mash_mq *pub = connected("it-pub", NULL);
	struct mash_mq_msg *m = NULL;
	char big[1000];

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(mash_mq_subscribe(sub, "big", 5000), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(sub, 10000), MASH_OK);
	ck_assert_int_eq(
	    mash_mq_publish(pub, "big", big, sizeof(big), 0, NULL, 5000),
	    MASH_OK);
	ck_assert_int_eq(mash_mq_next(sub, 10000, &m), MASH_OK);
	ck_assert_int_eq(m->oversized, 1);
	ck_assert_uint_eq(m->len, 100);
	ck_assert_uint_eq(m->orig_len, sizeof(big));
	mash_mq_msg_free(m);
	mash_mq_free(pub);
	mash_mq_free(sub);
}
END_TEST

START_TEST(queue_fd_is_readable_only_while_messages_wait)
{
	struct mash_mq *sub = connected("it-fd", "fd/t");
	struct mash_mq *pub = connected("it-pub", NULL);
	struct mash_mq_msg *m = NULL;
	struct pollfd pfd;

	pfd.fd = mash_mq_fd(sub);
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_int_eq(mash_mq_publish(pub, "fd/t", "1", 1, 0, NULL, 5000),
	                 MASH_OK);
	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	ck_assert_int_eq(mash_mq_next(sub, 0, &m), MASH_OK);
	mash_mq_msg_free(m);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	mash_mq_free(pub);
	mash_mq_free(sub);
}
END_TEST

START_TEST(persistent_session_receives_what_was_published_while_away)
{
	struct mash_mq *sub = client("it-persist", 0, 0, 0);
	struct mash_mq *pub = connected("it-pub", NULL);

	ck_assert_int_eq(mash_mq_subscribe(sub, "p/t", 5000), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(sub, 10000), MASH_OK);
	ck_assert_int_eq(mash_mq_disconnect(sub, 2000), MASH_OK);
	mash_mq_free(sub);
	ck_assert_int_eq(
	    mash_mq_publish(pub, "p/t", "while-away", 10, 0, NULL, 5000),
	    MASH_OK);
	/* And across a broker restart: mosquitto persists the session. */
	mash_mq_free(pub);
	ck_assert_int_eq(mash_test_broker_restart(broker), 0);
	sub = client("it-persist", 0, 0, 0);
	ck_assert_int_eq(mash_mq_subscribe(sub, "p/t", 5000), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(sub, 10000), MASH_OK);
	expect_msg(sub, "p/t", "while-away");
	mash_mq_free(sub);
}
END_TEST

static void
wait_reconnected(struct mash_mq *mq, uint64_t count)
{
	int i;

	for (i = 0; i < 1500; i++) {
		if (mash_mq_connect_count(mq) >= count &&
		    mash_mq_is_connected(mq))
			return;
		mash_test_sleep_ms(20);
	}
	ck_abort_msg("client did not reconnect within 30 s");
}

START_TEST(reconnects_and_resubscribes_after_broker_restart_without_state)
{
	struct mash_mq *sub = connected("it-re-sub", "mash/v1/events/+");
	struct mash_mq *pub = connected("it-re-pub", NULL);
	char db[600];

	ck_assert_uint_eq(mash_mq_connect_count(sub), 1);
	ck_assert_int_eq(mash_test_broker_stop(broker), 0);
	/* Throw away the broker's persistence: only our re-subscribe can
	 * bring the subscription back. */
	snprintf(db, sizeof(db), "%s/mosquitto.db",
	         mash_test_broker_dir(broker));
	unlink(db);
	mash_test_sleep_ms(500);
	ck_assert(!mash_mq_is_connected(sub));
	ck_assert_int_eq(mash_mq_publish(pub, "mash/v1/events/health", "lost",
	                                 4, 0, NULL, 1000),
	                 MASH_ERR_MQTT);
	ck_assert_int_eq(mash_test_broker_restart(broker), 0);
	wait_reconnected(sub, 2);
	wait_reconnected(pub, 2);
	ck_assert_int_eq(mash_mq_publish(pub, "mash/v1/events/health", "after",
	                                 5, 0, NULL, 5000),
	                 MASH_OK);
	expect_msg(sub, "mash/v1/events/health", "after");
	mash_mq_free(pub);
	mash_mq_free(sub);
}
END_TEST

START_TEST(shared_subscription_splits_messages_between_members)
{
	struct mash_mq *a = connected("it-a", "$share/mashd/s/+");
	struct mash_mq *b = connected("it-b", "$share/mashd/s/+");
	struct mash_mq *pub = connected("it-pub", NULL);
	struct mash_mq_msg *m = NULL;
	int i, na = 0, nb = 0;

	for (i = 0; i < 10; i++)
		ck_assert_int_eq(
		    mash_mq_publish(pub, "s/x", "m", 1, 0, NULL, 5000),
		    MASH_OK);
	mash_test_sleep_ms(500);
	while (mash_mq_next(a, 200, &m) == MASH_OK) {
		na++;
		mash_mq_msg_free(m);
	}
	while (mash_mq_next(b, 200, &m) == MASH_OK) {
		nb++;
		mash_mq_msg_free(m);
	}
	ck_assert_int_eq(na + nb, 10);
	ck_assert_int_gt(na, 0);
	ck_assert_int_gt(nb, 0);
	mash_mq_free(pub);
	mash_mq_free(b);
	mash_mq_free(a);
}
END_TEST

START_TEST(silent_server_times_out_and_a_retry_waits_for_the_same_attempt)
{
	struct mash_mq_opts o;
	struct mash_mq *mq = NULL;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	char uri[64];
	int fd;

	/* A server that completes TCP (kernel backlog) but never answers
	 * the MQTT CONNECT, like a host behind a dead proxy. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", ntohs(a.sin_port));
	mash_mq_opts_init(&o);
	o.uri = uri;
	o.client_id = "it-silent";
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(mq, 1000), MASH_ERR_TIMEOUT);
	/* The first attempt is still in progress: waiting again is a
	 * timeout, never a transport error. */
	ck_assert_int_eq(mash_mq_connect(mq, 1000), MASH_ERR_TIMEOUT);
	ck_assert(!mash_mq_is_connected(mq));
	mash_mq_free(mq);
	close(fd);
}
END_TEST

START_TEST(connect_to_closed_port_times_out)
{
	struct mash_mq_opts o;
	struct mash_mq *mq = NULL;
	char uri[64];

	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", mash_test_free_port());
	mash_mq_opts_init(&o);
	o.uri = uri;
	o.client_id = "it-closed";
	ck_assert_int_eq(mash_mq_new(&o, &mq), MASH_OK);
	ck_assert_int_eq(mash_mq_connect(mq, 1500), MASH_ERR_TIMEOUT);
	ck_assert(!mash_mq_is_connected(mq));
	mash_mq_free(mq);
}
END_TEST

/* ---- TLS (ssl://): CA, client certificate, peer verification -------- */

static char *pki;

static void
tls_setup(void)
{
	char ca[600], crt[600], key[600];

	pki = mash_test_mkdtemp("pki");
	ck_assert_ptr_nonnull(pki);
	ck_assert_int_eq(mash_test_make_pki(pki), 0);
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	snprintf(crt, sizeof(crt), "%s/server.pem", pki);
	snprintf(key, sizeof(key), "%s/server.key", pki);
	ck_assert_int_eq(mash_test_broker_start_tls(ca, crt, key, 1, &broker),
	                 0);
}

static void
tls_teardown(void)
{
	mash_test_broker_free(broker);
	broker = NULL;
	mash_test_rmrf(pki);
	free(pki);
}

/* A TLS client; ca: "ca" or "other-ca"; with_cert: present client.pem. */
static int
tls_connect(const char *ca, int with_cert, struct mash_mq **out)
{
	struct mash_mq_opts o;
	char caf[600], crt[600], key[600];
	int rc;

	snprintf(caf, sizeof(caf), "%s/%s.pem", pki, ca);
	snprintf(crt, sizeof(crt), "%s/client.pem", pki);
	snprintf(key, sizeof(key), "%s/client.key", pki);
	mash_mq_opts_init(&o);
	o.uri = mash_test_broker_uri(broker);
	o.client_id = "it-tls";
	o.clean_start = 1;
	o.ca_file = caf;
	if (with_cert) {
		o.cert_file = crt;
		o.key_file = key;
	}
	ck_assert_int_eq(mash_mq_new(&o, out), MASH_OK);
	ck_assert_int_eq(mash_mq_subscribe(*out, "tls/t", 5000), MASH_OK);
	rc = mash_mq_connect(*out, 4000);
	return rc;
}

START_TEST(tls_with_ca_and_client_certificate_connects_and_verifies_peer)
{
	struct mash_mq *mq = NULL;

	ck_assert(strncmp(mash_test_broker_uri(broker), "ssl://", 6) == 0);
	ck_assert_int_eq(tls_connect("ca", 1, &mq), MASH_OK);
	ck_assert_int_eq(
	    mash_mq_publish(mq, "tls/t", "secret", 6, 0, NULL, 5000), MASH_OK);
	expect_msg(mq, "tls/t", "secret");
	mash_mq_free(mq);
}
END_TEST

START_TEST(tls_refuses_a_broker_signed_by_another_ca)
{
	struct mash_mq *mq = NULL;

	ck_assert_int_ne(tls_connect("other-ca", 1, &mq), MASH_OK);
	ck_assert(!mash_mq_is_connected(mq));
	mash_mq_free(mq);
}
END_TEST

START_TEST(tls_without_client_certificate_is_refused_by_the_broker)
{
	struct mash_mq *mq = NULL;

	ck_assert_int_ne(tls_connect("ca", 0, &mq), MASH_OK);
	ck_assert(!mash_mq_is_connected(mq));
	mash_mq_free(mq);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("it_mq");
	TCase *tc = tcase_create("mq");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, new_rejects_missing_uri_and_unknown_scheme);
	tcase_add_test(tc, publish_is_received_by_subscriber_at_qos1);
	tcase_add_test(tc, publish_when_not_connected_fails_without_blocking);
	tcase_add_test(tc, response_topic_and_correlation_round_trip);
	tcase_add_test(tc, correlation_longer_than_limit_is_refused);
	tcase_add_test(
	    tc, retained_message_reaches_a_later_subscriber_flagged_retained);
	tcase_add_test(tc, publish_many_sends_all_in_order_and_waits_once);
	tcase_add_test(tc, will_is_published_by_the_broker_when_a_client_dies);
	tcase_add_test(tc, full_queue_holds_back_the_broker_and_loses_none);
	tcase_add_test(tc, oversized_payload_is_cut_and_flagged);
	tcase_add_test(tc, queue_fd_is_readable_only_while_messages_wait);
	tcase_add_test(
	    tc, persistent_session_receives_what_was_published_while_away);
	tcase_add_test(
	    tc, reconnects_and_resubscribes_after_broker_restart_without_state);
	tcase_add_test(tc, shared_subscription_splits_messages_between_members);
	tcase_add_test(tc, connect_to_closed_port_times_out);
	tcase_add_test(
	    tc, silent_server_times_out_and_a_retry_waits_for_the_same_attempt);
	suite_add_tcase(s, tc);
	tc = tcase_create("tls");
	tcase_add_checked_fixture(tc, tls_setup, tls_teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(
	    tc, tls_with_ca_and_client_certificate_connects_and_verifies_peer);
	tcase_add_test(tc, tls_refuses_a_broker_signed_by_another_ca);
	tcase_add_test(tc,
	               tls_without_client_certificate_is_refused_by_the_broker);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	if (mash_mq_global_init() != MASH_OK)
		return EXIT_FAILURE;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
