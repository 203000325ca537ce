/*
 * main.c - mashd's command line (shared/spec/cli.md): --config FILE, the
 * named overrides, --set KEY=VALUE for any key, --check; then start-up and
 * the main loop in mashd.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "broker-adapters/mq.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "daemon/config.h"
#include "daemon/mashd.h"
#include "daemon/triggers.h"

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: mashd --config FILE [--check] [--mqtt URI] [--store PATH]\n"
	    "             [--trust DIR] [--key FILE] [--key-id ID]\n"
	    "             [--policy FILE] [--directory FILE]\n"
	    "             [--log-level error|warn|info|debug] [--set "
	    "KEY=VALUE]...\n"
	    "       mashd --version\n"
	    "  The MASH broker daemon: verifies, stores and receipts agency\n"
	    "  events from MQTT. Logs to stderr. Every config key can be set\n"
	    "  with --set (e.g. --set mqtt.client_id=mashd-2).\n"
	    "  --check validates config, key, trust store and policy, then "
	    "exits\n"
	    "  0 (ok), 1 (a check failed) or 2 (bad usage or unreadable "
	    "config).\n"
	    "  SIGUSR1 logs the time spent per stage of an event.\n"
	    "  SIGHUP reloads trust store, policy and directory; SIGTERM "
	    "drains\n"
	    "  the queue and exits 0.\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'C'},
	    {"mqtt", required_argument, NULL, 'm'},
	    {"store", required_argument, NULL, 's'},
	    {"trust", required_argument, NULL, 't'},
	    {"key", required_argument, NULL, 'k'},
	    {"key-id", required_argument, NULL, 'K'},
	    {"policy", required_argument, NULL, 'p'},
	    {"directory", required_argument, NULL, 'd'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"set", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	/* Overrides are applied after the file, in command-line order. */
	struct {
		const char *key;
		const char *value;
	} ov[64];
	size_t nov = 0, i;
	struct mashd *d = NULL;
	enum mash_log_level lvl;
	const char *config = NULL;
	char err[MASHD_CFG_ERR_LEN];
	sigset_t mask;
	int opt, do_check = 0, rc = MASHD_EXIT_USAGE, sfd = -1, src;

	if (mash_mq_global_init() != MASH_OK) {
		fprintf(stderr, "mashd: cannot initialise OpenSSL\n");
		return MASHD_EXIT_CHECK;
	}
	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		const char *key = NULL;

		switch (opt) {
		case 'c':
			config = optarg;
			continue;
		case 'C':
			do_check = 1;
			continue;
		case 'h':
			usage(stdout);
			return MASHD_EXIT_OK;
		case 'V':
			printf("mashd %s\n", MASH_VERSION);
			return MASHD_EXIT_OK;
		case 'm':
			key = "mqtt.uri";
			break;
		case 's':
			key = "store";
			break;
		case 't':
			key = "trust_store";
			break;
		case 'k':
			key = "key_file";
			break;
		case 'K':
			key = "key_id";
			break;
		case 'p':
			key = "policy";
			break;
		case 'd':
			key = "directory";
			break;
		case 'l':
			key = "log_level";
			break;
		case 'o':
			key = "";
			break;
		default:
			usage(stderr);
			return MASHD_EXIT_USAGE;
		}
		if (nov >= sizeof(ov) / sizeof(ov[0])) {
			fprintf(stderr, "mashd: too many overrides\n");
			return MASHD_EXIT_USAGE;
		}
		ov[nov].key = key;
		ov[nov].value = optarg;
		nov++;
	}
	if (optind != argc || config == NULL) {
		fprintf(stderr, "mashd: %s\n",
		        config == NULL ? "--config FILE is required"
		                       : "unexpected argument");
		usage(stderr);
		return MASHD_EXIT_USAGE;
	}
	d = mash_calloc(1, sizeof(*d));
	if (d == NULL) {
		fprintf(stderr, "mashd: out of memory\n");
		return MASHD_EXIT_CHECK;
	}
	d->config_path = config;
	mashd_config_defaults(&d->cfg);
	err[0] = '\0';
	if (mashd_config_read(&d->cfg, config, err, sizeof(err)) != MASH_OK) {
		fprintf(stderr, "mashd: %s\n", err);
		goto out;
	}
	for (i = 0; i < nov; i++) {
		int r =
		    ov[i].key[0] == '\0'
		        ? mashd_config_set(&d->cfg, ov[i].value, err,
		                           sizeof(err))
		        : mashd_config_set_kv(&d->cfg, ov[i].key, ov[i].value,
		                              err, sizeof(err));
		if (r != MASH_OK) {
			fprintf(stderr, "mashd: command line: %s\n", err);
			goto out;
		}
	}
	if (mashd_config_validate(&d->cfg, err, sizeof(err)) != MASH_OK) {
		fprintf(stderr, "mashd: %s: %s\n", config, err);
		goto out;
	}
	/* Statutory clocks fall on London working days (s47/cal.h): local
	 * time from tzdata, set here before any thread exists. */
	if (mash_dt_london_init() != MASH_OK) {
		fprintf(stderr, "mashd: no time zone data for Europe/London "
		                "(install Debian's tzdata)\n");
		rc = MASHD_EXIT_CHECK;
		goto out;
	}
	if (mash_log_parse_level(d->cfg.log_level, &lvl) == MASH_OK)
		mash_log_set_level(lvl);
	if (d->cfg.mqtt_insecure && strncmp(d->cfg.mqtt_uri, "tcp://", 6) == 0)
		mash_warn("mqtt: plaintext %s (mqtt.insecure = true): anyone "
		          "on the network can read and write the hub's "
		          "messages; development only",
		          d->cfg.mqtt_uri);
	if (mashd_test_clock_from_env(&d->test_clock, &d->clock) == 1)
		mash_warn("TEST CLOCK in effect (MASHD_TEST_CLOCK_*): never "
		          "in production");
	d->test_exit_after_commit = mashd_test_exit_from_env();
	if (d->test_exit_after_commit)
		mash_warn(
		    "TEST CRASH in effect (MASHD_TEST_EXIT_AFTER_COMMIT): "
		    "mashd exits after its first event commit; never in "
		    "production");
	if (do_check) {
		rc = mashd_check(d);
		goto out;
	}
	/* Block the signals before any thread exists (Paho's inherit the
	 * mask), then read them from a signalfd in the main loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
		fprintf(stderr, "mashd: sigprocmask: %s\n", strerror(errno));
		rc = MASHD_EXIT_CHECK;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "mashd: signalfd: %s\n", strerror(errno));
		rc = MASHD_EXIT_CHECK;
		goto out;
	}
	rc = MASHD_EXIT_CHECK;
	mash_info("mashd %s starting (config %s)", MASH_VERSION, config);
	src = mashd_start(d);
	if (src == MASH_OK)
		src = mashd_start_mq(d);
	if (src != MASH_OK) {
		/* A key, trust store, policy or directory that is missing or
		 * unreadable is bad input: exit 2 (cli.md), as for the
		 * config itself. */
		rc = mashd_exit_for(src);
		goto out;
	}
	rc = mashd_run(d, sfd);
	mash_info("mashd stopped: received %llu, accepted %llu, duplicate "
	          "%llu, rejected %llu, receipts %llu (failed %llu), internal "
	          "errors %llu, dead letters %llu",
	          (unsigned long long)d->stats.received,
	          (unsigned long long)d->stats.accepted,
	          (unsigned long long)d->stats.duplicates,
	          (unsigned long long)d->stats.rejected,
	          (unsigned long long)d->stats.receipts,
	          (unsigned long long)d->stats.receipt_failed,
	          (unsigned long long)d->stats.internal_errors,
	          (unsigned long long)d->stats.dead_letters);
	mashd_log_stages(d, "at stop");
out:
	if (sfd >= 0)
		close(sfd);
	if (d != NULL) {
		mashd_teardown(d);
		mash_free_secret(d, sizeof(*d));
	}
	return rc;
}
