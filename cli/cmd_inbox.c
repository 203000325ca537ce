/*
 * cmd_inbox.c - `mashctl inbox read`: a principal reads its own inbox
 * (issue 25; cli.md addition documented in docs/internals/crypto.md).
 *
 *   mashctl inbox read --config FILE --as PRINCIPAL [--key FILE]
 *                      [--follow] [--json] [--timeout SECONDS]
 *
 * Every delivery on mash/v1/inbox/PRINCIPAL is verified (mashd's key from
 * the trust store) and opened with the principal's X25519 key
 * (crypto/inbox.h) before anything of it is printed; a message that fails
 * either is reported on stderr by topic and reason, never shown. The
 * session is persistent (client id mashctl-inbox-PRINCIPAL, kept by the
 * broker for a week), so deliveries made while nobody was reading wait
 * for the next read. Without --follow the command stops once the inbox
 * has been quiet for --timeout seconds (default 2); with it, on SIGINT or
 * SIGTERM.
 *
 * Exit: 0 every message opened, 1 a message was refused, 2 bad usage,
 * unreadable config or key, broker unreachable.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "broker-adapters/mq.h"
#include "cli/client_cfg.h"
#include "cli/cmds.h"
#include "cli/picture_view.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/topics.h"
#include "crypto/inbox.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "event/evt.h"
#include "mash/v1/mash.pb-c.h"

#define G                  "mashctl inbox"
#define INBOX_PREFIX       MASH_TOPIC_INBOX_PREFIX
#define CONNECT_TIMEOUT_MS 5000
#define DEFAULT_QUIET_S    2
#define SESSION_EXPIRY_S   (7u * 24u * 3600u)
#define POLL_MS            250

struct inbox_args {
	const char *config;
	const char *principal;
	const char *key;
	int follow;
	int json;
	int quiet_s;
};

static void
usage(FILE *out)
{
	fprintf(out,
	        "usage: mashctl inbox read --config FILE --as PRINCIPAL "
	        "[--key FILE]\n"
	        "                          [--follow] [--json] [--timeout "
	        "SECONDS]\n"
	        "Read PRINCIPAL's sealed deliveries (SharedRecord, "
	        "StrategyDiscussionTrigger,\nPicture): each is verified "
	        "against mashd's key and opened with PRINCIPAL's\nX25519 key "
	        "(--key, or the config's enc_key_dir / enc_key_file). A "
	        "message\nthat does not verify or open is reported, never "
	        "printed.\n"
	        "  --follow       keep reading until interrupted\n"
	        "  --json         one JSON object per line\n"
	        "  --timeout S    without --follow: stop after S quiet "
	        "seconds (default %d)\n"
	        "exit: 0 all opened, 1 a message refused, 2 bad usage or "
	        "unreachable broker\n",
	        DEFAULT_QUIET_S);
}

static int
parse_args(int argc, char **argv, struct inbox_args *a)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"as", required_argument, NULL, 'a'},
	    {"key", required_argument, NULL, 'k'},
	    {"follow", no_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int64_t secs;
	int ch;

	memset(a, 0, sizeof(*a));
	a->quiet_s = DEFAULT_QUIET_S;
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? MASH_ERR_INVAL : 1;
	}
	if (strcmp(argv[1], "read") != 0) {
		fprintf(stderr, G ": unknown subcommand '%s' (read)\n",
		        argv[1]);
		return MASH_ERR_INVAL;
	}
	optind = 2;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a->config = optarg;
			break;
		case 'a':
			a->principal = optarg;
			break;
		case 'k':
			a->key = optarg;
			break;
		case 'f':
			a->follow = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		case 't':
			if (mash_parse_i64(optarg, 1,
			                   MASHCTL_CLIENT_MAX_TIMEOUT_S,
			                   &secs) != MASH_OK) {
				fprintf(stderr,
				        G ": --timeout must be 1..%d "
				          "seconds\n",
				        MASHCTL_CLIENT_MAX_TIMEOUT_S);
				return MASH_ERR_INVAL;
			}
			a->quiet_s = (int)secs;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr,
			        G ": unknown option or missing argument: %s "
			          "(see --help)\n",
			        argv[optind - 1]);
			return MASH_ERR_INVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, G ": unexpected argument '%s'\n", argv[optind]);
		return MASH_ERR_INVAL;
	}
	if (a->config == NULL || a->principal == NULL) {
		fprintf(stderr, G ": --config and --as are required (see "
		                  "--help)\n");
		return MASH_ERR_INVAL;
	}
	if (!mash_trust_id_valid(a->principal)) {
		fprintf(stderr,
		        G ": --as: principal must be [a-z0-9._-]{1,64}\n");
		return MASH_ERR_INVAL;
	}
	return MASH_OK;
}

/* Print one opened delivery; MASH_OK, MASH_ERR_DECODE / BAD_UTF8 (why
 * set: the opened bytes are not the type they claim), MASH_ERR_IO,
 * MASH_ERR_NOMEM. */
static int
show(const struct mash_inbox_msg *m, const struct inbox_args *a, char *why,
     size_t whylen)
{
	struct mashctl_delivery d;
	struct mashctl_view_opts vo;
	json_t *doc = NULL;
	int rc;

	rc = mashctl_delivery_decode(m->payload_type, m->payload,
	                             m->payload_len, &d, why, whylen);
	if (rc != MASH_OK)
		return rc;
	memset(&vo, 0, sizeof(vo));
	vo.principal = a->principal;
	vo.now_ms = mash_clock_now(mash_clock_system());
	if (a->json) {
		rc = MASH_ERR_NOMEM;
		doc = mashctl_delivery_to_json(&d, m->recipient, &vo);
		if (doc == NULL)
			goto out;
		rc = MASH_ERR_IO;
		if (json_dumpf(doc, stdout, JSON_COMPACT | JSON_SORT_KEYS) != 0)
			goto out;
		fputc('\n', stdout);
	} else {
		printf("== %s for %s (signed by %s, key %s)\n",
		       m->payload_type + strlen("mash.v1."), m->recipient,
		       m->signer, m->key_id);
		rc = mashctl_delivery_render(stdout, &d, &vo);
		if (rc != MASH_OK)
			goto out;
	}
	rc = fflush(stdout) == 0 ? MASH_OK : MASH_ERR_IO;
out:
	json_decref(doc);
	mashctl_delivery_clear(&d);
	return rc;
}

/* 1 once SIGINT or SIGTERM arrived (they are blocked while reading and
 * taken here, so no handler, no global flag, and the exit status stays
 * ours). */
static int
interrupted(const sigset_t *stop)
{
	struct timespec zero = {0, 0};

	return sigtimedwait(stop, NULL, &zero) > 0;
}

int
mashctl_inbox(int argc, char **argv)
{
	struct inbox_args a;
	struct mashctl_client_cfg c;
	struct mash_key *enc = NULL;
	struct mash_trust *trust = NULL;
	struct mash_mq *mq = NULL;
	struct mash_mq_opts mo;
	struct mash_mq_msg *msg = NULL;
	struct mash_inbox_msg *m = NULL;
	char inbox[MASH_MAX_TOPIC], client_id[96], why[MASH_ENV_WHY_LEN];
	const char *keyfile;
	sigset_t stop, old;
	size_t shown = 0, refused = 0;
	int64_t quiet_until;
	int rc, ret = MASHCTL_EXIT_USAGE;

	memset(&c, 0, sizeof(c));
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	(void)sigprocmask(SIG_BLOCK, &stop, &old);
	mash_log_set_level(MASH_LOG_WARN);
	rc = parse_args(argc, argv, &a);
	if (rc == 1) {
		ret = MASHCTL_EXIT_OK;
		goto out;
	}
	if (rc != MASH_OK)
		goto out;
	if (mashctl_client_cfg_load(G, a.config, a.principal, 0, &c) != MASH_OK)
		goto out;
	keyfile = a.key != NULL ? a.key : c.enc_key_file;
	if (keyfile == NULL) {
		fprintf(stderr,
		        G ": %s: no encryption key: give --key or set "
		          "picture.enc_key_dir / enc_key_file\n",
		        a.config);
		goto out;
	}
	rc = mash_key_load_kind(MASH_KEY_X25519, 1, keyfile, &enc);
	if (rc != MASH_OK) {
		fprintf(stderr,
		        G ": %s: cannot load %s's X25519 private key: %s\n",
		        keyfile, a.principal, mash_file_strerror(rc));
		goto out;
	}
	why[0] = '\0';
	rc = mash_trust_load(c.trust_store, &trust, why, sizeof(why));
	if (rc != MASH_OK) {
		fprintf(stderr, G ": %s: cannot load the trust store: %s\n",
		        c.trust_store, why[0] ? why : mash_strerror(rc));
		goto out;
	}
	if (mash_snprintf(inbox, sizeof(inbox), "%s%s", INBOX_PREFIX,
	                  a.principal) != MASH_OK ||
	    mash_snprintf(client_id, sizeof(client_id), "mashctl-inbox-%s",
	                  a.principal) != MASH_OK)
		goto out;
	mash_mq_opts_init(&mo);
	mo.uri = c.mqtt_uri;
	mo.client_id = client_id;
	mo.username = c.username;
	mo.password = c.password;
	mo.ca_file = c.ca_file;
	mo.cert_file = c.cert_file;
	mo.key_file = c.mqtt_key_file;
	mo.clean_start = 0; /* what arrived while nobody read it */
	mo.session_expiry_s = SESSION_EXPIRY_S;
	mo.queue_max_msgs = 256;
	mo.max_payload = MASH_MAX_ENVELOPE;
	rc = mash_mq_new(&mo, &mq);
	if (rc == MASH_OK)
		rc = mash_mq_subscribe(mq, inbox, CONNECT_TIMEOUT_MS);
	if (rc == MASH_OK)
		rc = mash_mq_connect(mq, CONNECT_TIMEOUT_MS);
	if (rc != MASH_OK) {
		fprintf(stderr, G ": %s: cannot connect to the broker: %s\n",
		        c.mqtt_uri, mash_strerror(rc));
		goto out;
	}
	quiet_until = mash_mono_ms() + (int64_t)a.quiet_s * 1000;
	while (!interrupted(&stop) &&
	       (a.follow || mash_mono_ms() < quiet_until)) {
		mash_mq_msg_free(msg);
		msg = NULL;
		if (mash_mq_next(mq, POLL_MS, &msg) != MASH_OK)
			continue;
		quiet_until = mash_mono_ms() + (int64_t)a.quiet_s * 1000;
		why[0] = '\0';
		if (msg->oversized) {
			rc = MASH_ERR_TOO_BIG;
			(void)mash_snprintf(why, sizeof(why),
			                    "%zu bytes, over the limit",
			                    msg->orig_len);
		} else {
			rc = mash_inbox_open(trust, c.daemon_signer,
			                     a.principal, enc, msg->payload,
			                     msg->len, &m, why, sizeof(why));
			if (rc == MASH_OK)
				rc = show(m, &a, why, sizeof(why));
			mash_inbox_msg_free(m);
			m = NULL;
		}
		if (rc == MASH_ERR_IO) {
			fprintf(stderr, G ": cannot write to stdout\n");
			goto out;
		}
		if (rc != MASH_OK) {
			refused++;
			fprintf(stderr,
			        G ": message on %s refused, not shown: %s "
			          "(%s)\n",
			        msg->topic, why[0] ? why : mash_strerror(rc),
			        mash_errname(rc));
			continue;
		}
		shown++;
	}
	fprintf(stderr, G ": %zu message(s) shown, %zu refused\n", shown,
	        refused);
	ret = refused > 0 ? MASHCTL_EXIT_FAIL : MASHCTL_EXIT_OK;
out:
	mash_mq_msg_free(msg);
	if (mq != NULL) {
		(void)mash_mq_disconnect(mq, 1000);
		mash_mq_free(mq);
	}
	mash_trust_free(trust);
	mash_key_free(enc);
	mashctl_client_cfg_clear(&c);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}
