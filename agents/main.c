/*
 * main.c - mash-agent --config FILE --agency AGENCY --input FEED [--follow]
 * [--deadline SECONDS] (shared/spec/cli.md). Exit 0 when every record was
 * receipted and none was rejected; 1 if any record was rejected (by the
 * agent or by the daemon's receipt) or is still without a receipt when
 * the agent stops; 2 on bad usage or unreadable input (config, key, feed).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/agent.h"
#include "agents/agent_cfg.h"
#include "agents/map.h"
#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/log.h"
#include "common/str.h"

/* Written by the signal handler only; the one piece of process-wide
 * mutable state, as a signal handler cannot be given a context. */
static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(FILE *f)
{
	fprintf(
	    f, "usage: mash-agent --config FILE --agency AGENCY --input FEED "
	       "[--follow] [--deadline SECONDS]\n"
	       "  --config FILE    agent configuration (libconfig; see "
	       "agents/README.md)\n"
	       "  --agency AGENCY  police | health | education | yot | housing "
	       "| social-care\n"
	       "  --input FEED     the agency's feed: *.csv (header row) or "
	       "*.jsonl (JSON lines)\n"
	       "  --follow         keep reading the feed as it grows, until "
	       "SIGINT/SIGTERM\n"
	       "  --deadline S     stop after S seconds even if receipts are "
	       "missing (they\n"
	       "                   stay in the outbox for the next run)\n"
	       "  --version        print the version and exit\n"
	       "  --log-level L    error | warn | info | debug (default: "
	       "config, else warn)\n"
	       "Reads the feed, signs and publishes each record to "
	       "mash/v1/events/AGENCY,\n"
	       "keeps it in a durable outbox until its signed receipt arrives, "
	       "and reports\n"
	       "rejected lines (file:line: field: reason) on stderr.\n"
	       "Exit: 0 every record receipted, 1 a record rejected (by the "
	       "agent or the\n"
	       "daemon) or still without a receipt, 2 bad usage or unreadable "
	       "input.\n");
}

/* Codes that mean: the input (config, key, trust, feed) is unusable. */
static int
is_input_error(int rc)
{
	return rc == MASH_ERR_IO || rc == MASH_ERR_PARSE ||
	       rc == MASH_ERR_CONFIG || rc == MASH_ERR_KEY_FORMAT ||
	       rc == MASH_ERR_NOT_FOUND || rc == MASH_ERR_TOO_BIG ||
	       rc == MASH_ERR_INVAL || rc == MASH_ERR_BAD_UTF8;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"agency", required_argument, NULL, 'a'},
	    {"input", required_argument, NULL, 'i'},
	    {"follow", no_argument, NULL, 'f'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"deadline", required_argument, NULL, 'd'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *agency = NULL, *input = NULL, *level = NULL;
	struct mash_agent_cfg *cfg = NULL;
	struct mash_agent_opts o;
	struct mash_agent_result res;
	struct sigaction sa;
	enum mash_log_level lvl = MASH_LOG_WARN;
	char why[512];
	int64_t deadline = 0;
	int follow = 0, c, rc, code = 2;

	if (mash_mq_global_init() != MASH_OK) {
		fprintf(stderr, "mash-agent: cannot initialise OpenSSL\n");
		return 2;
	}
	while ((c = getopt_long(argc, argv, "c:a:i:fl:d:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'a':
			agency = optarg;
			break;
		case 'i':
			input = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		case 'l':
			level = optarg;
			break;
		case 'd':
			/* A week at most: beyond that it is a typo. */
			if (mash_parse_i64(optarg, 1, 7 * 86400, &deadline) !=
			    MASH_OK) {
				fprintf(stderr,
				        "mash-agent: --deadline: '%s' is not a "
				        "number of seconds from 1 to 604800\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("mash-agent %s\n", MASH_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || config == NULL || agency == NULL ||
	    input == NULL) {
		fprintf(stderr,
		        "mash-agent: --config, --agency and --input are "
		        "required (see --help)\n");
		return 2;
	}
	if (!mash_agent_agency_known(agency)) {
		fprintf(stderr, "mash-agent: --agency: unknown agency '%s'\n",
		        agency);
		return 2;
	}
	rc = mash_agent_cfg_load(config, agency, &cfg, why, sizeof(why));
	if (rc != MASH_OK) {
		fprintf(stderr, "mash-agent: %s\n",
		        why[0] ? why : mash_strerror(rc));
		goto out;
	}
	if (level == NULL)
		level = cfg->log_level;
	if (level != NULL && mash_log_parse_level(level, &lvl) != MASH_OK) {
		fprintf(stderr,
		        "mash-agent: log level '%s' is not "
		        "error|warn|info|debug\n",
		        level);
		goto out;
	}
	mash_log_set_level(lvl);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);

	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.input = input;
	o.follow = follow;
	o.stop = &stop_flag;
	o.deadline_s = deadline;
	rc = mash_agent_run(&o, &res);
	if (rc != MASH_OK) {
		code = is_input_error(rc) ? 2 : 1;
		goto out;
	}
	code =
	    res.rejected_by_agent > 0 || res.s.rejected > 0 || res.s.pending > 0
	        ? 1
	        : 0;
out:
	mash_agent_cfg_free(cfg);
	return code;
}
