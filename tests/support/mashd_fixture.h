/*
 * mashd_fixture.h - integration-test harness for the daemon: a real
 * mosquitto, generated keys and trust store, a real mashd binary as a
 * subprocess, an "agent" MQTT client subscribed to receipts, and helpers
 * to build, seal and publish events and to read receipts and the store.
 *
 * Tests only (prefix mash_mashd_fx_). Every wait is bounded; free stops
 * mashd and the broker and removes the temp dir.
 */
#ifndef MASH_TEST_MASHD_FIXTURE_H
#define MASH_TEST_MASHD_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mash/v1/mash.pb-c.h"

struct mash_key;
struct mash_mq;
struct mash_test_broker;

struct mash_mashd_fx {
	char dir[512];
	char trust[600];
	char mashd_trust[600]; /* mashd's public key only (verifies receipts) */
	char cfg[600];
	char db[600];
	char log[600];
	char mashd_key[600];
	struct mash_test_broker *broker;
	pid_t mashd;
	struct mash_mq *agent;
	/* police/k1, health/k1 in the trust store; police/k2 revoked;
	 * rogue: a police key NOT in the trust store. */
	struct mash_key *police, *health, *police_revoked, *rogue;
	struct mash_key *education, *housing; /* education/k1, housing/k1 */
};

/* Temp dir, broker, keys, trust store, config; mashd NOT started.
 * NULL on failure (reason on stderr). extra_cfg is appended to the
 * config (NULL: none); "@DIRECTORY@" in it names the hub's directory
 * (every principal with an encryption key, support/sealed_inbox.h). */
struct mash_mashd_fx *mash_mashd_fx_new(const char *extra_cfg);

/* Start mashd and wait (<= 20 s) until its log says it is ready; connect
 * the agent client (subscribed to mash/v1/receipts/+) on first use.
 * 0 or -1. */
int mash_mashd_fx_start(struct mash_mashd_fx *f);

/* Start ANOTHER mashd on the same config with extra arguments (e.g.
 * "--set", "mqtt.client_id=mashd-2"), logging to log; wait until ready.
 * The pid, or -1. The caller stops it (mash_test_kill). */
pid_t mash_mashd_fx_spawn(struct mash_mashd_fx *f, const char *const extra[],
                          const char *log);

/* SIGTERM mashd and wait (<= 30 s); 0 and *status, -1 if it had to be
 * killed. status may be NULL. */
int mash_mashd_fx_stop(struct mash_mashd_fx *f, int *status);

/* 1 if mashd is still running. */
int mash_mashd_fx_alive(struct mash_mashd_fx *f);

/* Stop everything, remove the temp dir, free. NULL allowed. */
void mash_mashd_fx_free(struct mash_mashd_fx *f);

/* A valid event of agency (the demo child), event_id given, occurred a
 * day ago. Free with mash_mashd_fx_event_free. */
Mash__V1__AgencyEvent *mash_mashd_fx_event(const char *agency,
                                           const char *event_id);
void mash_mashd_fx_event_free(Mash__V1__AgencyEvent *ev);

/* Seal msg with key as (signer, key_id): malloc'd bytes (free()), NULL on
 * failure. */
uint8_t *mash_mashd_fx_seal(const struct mash_key *key, const char *signer,
                            const char *key_id, const ProtobufCMessage *msg,
                            size_t *len);

/* Seal ev with the fixture's k1 key of ev->agency and publish it on
 * mash/v1/events/{agency}. 0 or -1. */
int mash_mashd_fx_send(struct mash_mashd_fx *f,
                       const Mash__V1__AgencyEvent *ev);

/* Publish bytes on topic from the agent client (QoS 1, PUBACK awaited).
 * 0 or -1. */
int mash_mashd_fx_publish(struct mash_mashd_fx *f, const char *topic,
                          const void *buf, size_t len);

/* Wait up to timeout_ms for the next receipt (any agency), verified as
 * signed by mashd, decoded into *out (free with
 * mash_mashd_fx_receipt_free). 0, or -1 on timeout / bad receipt. topic
 * (may be NULL) gets the topic it came on (size MASH_MAX_TOPIC + 1). */
int mash_mashd_fx_receipt(struct mash_mashd_fx *f, int timeout_ms,
                          Mash__V1__Receipt **out, char *topic);
void mash_mashd_fx_receipt_free(Mash__V1__Receipt *r);

/* One integer from an SQL query on the store (a read-only connection);
 * -1 on error. */
int64_t mash_mashd_fx_sql_int(struct mash_mashd_fx *f, const char *sql);

#endif
