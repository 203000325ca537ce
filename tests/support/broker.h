/*
 * broker.h - integration-test harness: a real mosquitto on a free loopback
 * port, temp directories, and child processes with bounded waits.
 *
 * Every function here is for tests only (prefix mash_test_). Functions
 * that start something have a matching stop/free; tests must call them on
 * every path so that no process outlives the test.
 */
#ifndef MASH_TEST_BROKER_H
#define MASH_TEST_BROKER_H

#include <stddef.h>
#include <sys/types.h>

struct mash_test_broker;

/* Path of the broker binary; $MASH_MOSQUITTO overrides. */
#define MASH_TEST_MOSQUITTO "/usr/sbin/mosquitto"

/*
 * Start mosquitto on 127.0.0.1 and a free port, as the hub runs it (issue
 * 24): mutual TLS only (require_certificate, use_identity_as_username, no
 * anonymous access) with a PKI made by crypto/pki.h in the broker's
 * directory (pki/: the CA, the broker, mashd, every agency, every
 * principal of policy/directory.cfg and MASH_TEST_HARNESS) and the ACL
 * policy/acl.h generates, plus the harness. URI "ssl://localhost:PORT".
 * Persistence in a private temp dir (a restart keeps sessions and queued
 * QoS 1 messages). Waits up to 10 s until it accepts connections.
 * 0 and *out set; -1 on failure (reason printed to stderr), *out NULL.
 * Free with mash_test_broker_free().
 */
int mash_test_broker_start(struct mash_test_broker **out);

/* The identity of test harness clients (forged events, watchers of every
 * inbox): reads and writes every topic, on the test broker only. */
#define MASH_TEST_HARNESS "it-harness"

/* Make DIR/pki and DIR/acl as mash_test_broker_start does. 0 or -1. */
int mash_test_hub_pki(const char *dir);

/* Paths of an identity's certificate and key and of the CA. */
struct mash_test_tls {
	char ca[600], cert[600], key[600];
};
void mash_test_broker_files(const struct mash_test_broker *b,
                            const char *identity, struct mash_test_tls *t);

/* Point o (uri, and for an ssl:// broker ca_file, cert_file, key_file)
 * at b as identity; the strings live in t, which must outlive o. */
struct mash_mq_opts;
void mash_test_broker_mq_opts(const struct mash_test_broker *b,
                              const char *identity, struct mash_test_tls *t,
                              struct mash_mq_opts *o);

/* The settings of a libconfig mqtt group (mashd's or an agent's) for
 * identity on b: uri and the TLS files, or uri and insecure = true for a
 * plaintext broker. Returns buf. */
const char *mash_test_broker_mqtt_cfg(const struct mash_test_broker *b,
                                      const char *identity, char *buf,
                                      size_t n);

/*
 * As mash_test_broker_start, with a TLS listener instead: cafile, certfile
 * and keyfile (PEM paths) for the broker; require_client_cert 1 makes it
 * demand a client certificate signed by cafile. The URI is then
 * "ssl://127.0.0.1:PORT". 0 or -1.
 */
int mash_test_broker_start_tls(const char *cafile, const char *certfile,
                               const char *keyfile, int require_client_cert,
                               struct mash_test_broker **out);

/*
 * Make a test PKI in dir with the openssl command: ca.pem/ca.key (a CA),
 * server.pem/server.key (for 127.0.0.1, signed by the CA), client.pem/
 * client.key (CN "mashd", signed by the CA), and other-ca.pem (an
 * unrelated CA). 0 or -1.
 */
int mash_test_make_pki(const char *dir);

/* The broker's port and URI (owned by b). */
int mash_test_broker_port(const struct mash_test_broker *b);
const char *mash_test_broker_uri(const struct mash_test_broker *b);
/* The broker's private directory (config, persistence, log). */
const char *mash_test_broker_dir(const struct mash_test_broker *b);

/* Stop it (SIGTERM, wait up to 10 s, then SIGKILL). Persistence is
 * written on SIGTERM. 0, or -1 if it had to be killed. Idempotent. */
int mash_test_broker_stop(struct mash_test_broker *b);

/* Start it again on the same port with the same persistence; waits until
 * it accepts connections. 0 or -1. */
int mash_test_broker_restart(struct mash_test_broker *b);

/* SIGHUP the broker: Mosquitto re-reads its config and ACL file (DIR/acl
 * of a hub broker). 0 or -1. */
int mash_test_broker_reload(struct mash_test_broker *b);

/* Stop, remove its directory, free. NULL allowed. */
void mash_test_broker_free(struct mash_test_broker *b);

/* A new private directory $TMPDIR/mash-<tag>-XXXXXX (mode 0700); caller
 * frees the string and removes the tree with mash_test_rmrf(). NULL on
 * failure. */
char *mash_test_mkdtemp(const char *tag);

/* Remove path and everything under it (no symlink following). 0 or -1. */
int mash_test_rmrf(const char *path);

/* A TCP port on 127.0.0.1 that was free a moment ago (bind port 0). -1 on
 * failure. */
int mash_test_free_port(void);

/* Wait until 127.0.0.1:port accepts a TCP connection. 0 or -1 (timeout). */
int mash_test_wait_port(int port, int timeout_ms);

/*
 * Start argv[0] (a path) with argv, the current environment plus
 * env_extra ("K=V" strings, NULL-terminated; NULL allowed), stdout and
 * stderr appended to out_path / err_path (NULL: /dev/null), stdin from
 * /dev/null. Returns the pid, or -1.
 */
pid_t mash_test_spawn(const char *const argv[], const char *const env_extra[],
                      const char *out_path, const char *err_path);

/* Wait for pid up to timeout_ms. 0 and *status (waitpid status) when it
 * exited; -1 on timeout (still running) or error. status may be NULL. */
int mash_test_wait(pid_t pid, int timeout_ms, int *status);

/* Send sig, wait up to timeout_ms, then SIGKILL and reap. 0 and *status
 * if it exited after sig; -1 if it had to be killed. status may be NULL. */
int mash_test_kill(pid_t pid, int sig, int timeout_ms, int *status);

/* Sleep ms milliseconds. */
void mash_test_sleep_ms(int ms);

/* Read a whole file (at most max bytes) into a NUL-terminated buffer;
 * caller frees. NULL on failure. *len may be NULL. */
char *mash_test_read_file(const char *path, size_t max, size_t *len);

/* Write len bytes to path (created 0600, truncated). 0 or -1. */
int mash_test_write_file(const char *path, const void *buf, size_t len);

#endif
