/*
 * agent_env.h - integration-test environment for mash-agent: a real
 * mosquitto (support/broker.h), agency and daemon keys with their trust
 * stores, agent configuration files, and the receiving side: the real
 * mashd when it has been built ($MASH_BIN_DIR/mashd), otherwise a
 * receipt responder thread that does what the daemon does for ingest
 * (verify the envelope against the agencies' keys, decode and validate
 * the event, store it once per (agency, event_id) in an SQLite `events`
 * table, answer a receipt signed by "mashd"): ACCEPTED, DUPLICATE or
 * REJECTED with the reason.
 *
 * Either way the test reads the stored events from the SQLite file at
 * mash_test_agents_store().
 */
#ifndef MASH_TEST_AGENT_ENV_H
#define MASH_TEST_AGENT_ENV_H

#include <stddef.h>
#include <sys/types.h>

struct mash_test_agents;

/* Parsed "summary:" line of mash-agent's stdout (-1: not found). */
struct mash_test_summary {
	long records, sent, accepted, duplicate;
	long rejected_by_agent, rejected_by_daemon, pending, resent;
};

/* Knobs for a load test; 0 keeps the default. */
struct mash_test_agents_opts {
	int backoff_min_ms, backoff_max_ms; /* every agent's re-send backoff */
	int max_inflight;                   /* every agent's window */
	int mashd_queue;                    /* mashd mqtt.queue_max_messages */
	int mashd_batch;                    /* mashd ingest.batch_max */
	const char *mashd_extra;     /* appended to mashd.cfg; NULL: none */
	const char *agent_log_level; /* NULL: "info" */
};

/*
 * Start broker, keys, trust stores and the receiving side in a new temp
 * directory. backoff_min_ms/backoff_max_ms go into every agent config.
 * 0 and *out, or -1 (reason on stderr). Free with mash_test_agents_free.
 */
int mash_test_agents_start(int backoff_min_ms, int backoff_max_ms,
                           struct mash_test_agents **out);

/* The same with the knobs of o. */
int mash_test_agents_start_opts(const struct mash_test_agents_opts *o,
                                struct mash_test_agents **out);

/* SIGKILL the real mashd (a crash) and start it again on the same store,
 * waiting until it is ready: 0 or -1. Its logs are mashd.log, mashd.1.log
 * and so on. */
int mash_test_agents_crash_mashd(struct mash_test_agents *e);

/* The running mashd's pid, or -1. */
pid_t mash_test_agents_mashd_pid(const struct mash_test_agents *e);

/* On a failure: the tail of TAG.err, TAG.out and mashd.log on stderr. */
void mash_test_agents_dump(const struct mash_test_agents *e, const char *tag);

/* Start mash-agent with extra arguments (NULL-terminated, may be NULL). */
pid_t mash_test_agents_spawn_args(struct mash_test_agents *e,
                                  const char *agency, const char *feed,
                                  const char *const *extra, const char *tag);

/* Stop everything it started, remove the temp dir; NULL allowed. */
void mash_test_agents_free(struct mash_test_agents *e);

/* Pause (1) or resume (0) the receiving side: events wait in the broker
 * and are answered on resume (mashd: SIGSTOP / SIGCONT). */
void mash_test_agents_pause(struct mash_test_agents *e, int paused);

/* 1 if the real mashd receives, 0 if the responder thread does. */
int mash_test_agents_real_daemon(const struct mash_test_agents *e);

/* The broker (to stop / restart it). */
struct mash_test_broker *mash_test_agents_broker(struct mash_test_agents *e);

/* The temp directory (owned by e). */
const char *mash_test_agents_dir(const struct mash_test_agents *e);

/* The SQLite file holding the received events. */
const char *mash_test_agents_store(const struct mash_test_agents *e);

/* One number read from mashd's store file by a white-box query (sql
 * returns one integer), the file opened read-only; -1 if it cannot be
 * read. For tests and benchmarks counting what was stored. */
long mash_test_agents_store_scalar(const struct mash_test_agents *e,
                                   const char *sql);

/* Path of the agent config for agency (written at start), owned by e. */
const char *mash_test_agents_config(const struct mash_test_agents *e,
                                    const char *agency);

/* Path of the agency's outbox database, owned by e. */
const char *mash_test_agents_outbox(const struct mash_test_agents *e,
                                    const char *agency);

/*
 * Start mash-agent --config <agency cfg> --agency agency --input feed
 * [--follow], stdout/stderr to tag.out / tag.err in the temp dir.
 * Returns the pid or -1.
 */
pid_t mash_test_agents_spawn(struct mash_test_agents *e, const char *agency,
                             const char *feed, int follow, const char *tag);

/*
 * Run mash-agent to the end (at most timeout_ms) and return its exit code
 * (-1 if it had to be killed); its stdout and stderr are in *out / *err
 * (malloc'd, caller frees; may be NULL) and its summary in *s.
 */
int mash_test_agents_run(struct mash_test_agents *e, const char *agency,
                         const char *feed, int timeout_ms, char **out,
                         char **err, struct mash_test_summary *s);

/* Parse the "summary:" line of text into *s (fields -1 if absent). */
void mash_test_agents_parse_summary(const char *text,
                                    struct mash_test_summary *s);

/* Events stored for agency (NULL: all), and distinct (agency, event_id)
 * pairs among them; -1 on error. */
long mash_test_agents_count(const struct mash_test_agents *e,
                            const char *agency, long *distinct);

/* Wait until count(agency) >= n (at most timeout_ms): 0 or -1. */
int mash_test_agents_wait_count(const struct mash_test_agents *e,
                                const char *agency, long n, int timeout_ms);

#endif
