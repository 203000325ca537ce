/*
 * agent.h - one run of an agency agent: read the feed, map each record to
 * an AgencyEvent, seal it with the agency's key, make it durable in the
 * outbox, publish it (QoS 1) to mash/v1/events/{agency}, settle it when a
 * verified Receipt arrives on mash/v1/receipts/{agency}, re-send what is
 * not receipted with backoff, and report.
 */
#ifndef MASH_AGENT_H
#define MASH_AGENT_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "agents/agent_cfg.h"
#include "agents/outbox.h"
#include "common/clock.h"

struct mash_agent_opts {
	const struct mash_agent_cfg *cfg; /* required */
	const char *input;                /* the feed file; required */
	int follow;                       /* tail the feed until *stop */
	const struct mash_clock *clock;   /* NULL: system clock */
	/* Set (by a signal handler) to end the run; NULL: never. */
	const volatile sig_atomic_t *stop;
	FILE *out; /* the summary; NULL: stdout. Bad lines go to stderr. */
	/* Stop after this many seconds from the start even if events are
	 * still without a receipt (they stay in the outbox); 0: none. */
	int64_t deadline_s;
};

struct mash_agent_result {
	size_t records;               /* records read from the feed */
	size_t rejected_by_agent;     /* bad records reported and skipped */
	struct mash_outbox_summary s; /* the run's events by state */
};

/*
 * Run the agent. Without follow: process the whole feed, then wait (at
 * most cfg->receipt_wait_ms) until every event of the run has a receipt,
 * print the summary and return. With follow: tail the feed until *stop.
 *
 * MASH_OK (the summary says what happened to each event; res filled);
 * otherwise a setup or input failure, already reported on stderr in one
 * line: MASH_ERR_IO / MASH_ERR_PARSE (feed unreadable or CSV header bad),
 * MASH_ERR_KEY_FORMAT / MASH_ERR_NOT_FOUND / MASH_ERR_CONFIG (signing key
 * or trust store), MASH_ERR_STORE (outbox), MASH_ERR_MQTT (broker refused
 * the connection), MASH_ERR_NOMEM, MASH_ERR_INVAL.
 */
int mash_agent_run(const struct mash_agent_opts *o,
                   struct mash_agent_result *res);

#endif
