/*
 * cmd_picture.c - `mashctl picture`: the analyst's request for a child's
 * combined agency picture (wire-contract.md "PictureRequest / Picture",
 * cli.md). See cmd_picture.h for the options, config and exit codes.
 *
 * The request is signed with the requester's own key so that the daemon
 * knows who asks (and audits it under that name); the answer is believed
 * only when it is signed by the daemon's key from the local trust store and
 * carries our random correlation data, so nobody else on the broker can
 * hand the analyst a forged or stale picture.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libconfig.h>
#include <openssl/rand.h>

#include "broker-adapters/mq.h"
#include "cli/client_cfg.h"
#include "cli/cmd_picture.h"
#include "cli/cmds.h"
#include "cli/picture_view.h"
#include "common/clock.h"
#include "common/datetime.h"
#include "common/err.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "common/topics.h"
#include "crypto/env.h"
#include "crypto/inbox.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "event/evt.h"
#include "policy/pol.h"
#include "s47/cal.h"

#define PICTURE_TOPIC      MASH_TOPIC_PICTURE_REQUESTS
#define INBOX_PREFIX       MASH_TOPIC_INBOX_PREFIX
#define PICTURE_TYPE       "mash.v1.Picture"
#define DEFAULT_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 5000
#define PUBLISH_TIMEOUT_MS 5000
#define PATH_MAX_LEN       4096u

struct picture_args {
	const char *config;
	const char *principal;
	const char *case_id;
	const char *nhs;
	const char *purpose;
	const char *break_glass;
	int json;
	int timeout_ms; /* 0: from config */
};

static void
usage(FILE *out)
{
	fputs(
	    "usage: mashctl picture --config FILE --as PRINCIPAL "
	    "(--case ID | --nhs N) --purpose P\n"
	    "                       [--break-glass REASON] [--json] "
	    "[--timeout SECONDS]\n"
	    "Ask mashd for a child's combined agency picture, redacted to "
	    "what PRINCIPAL's\nrole and purpose P justify, and show it.\n"
	    "  --config FILE        client config (see docs/internals/"
	    "picture.md)\n"
	    "  --as PRINCIPAL       who asks; signs with PRINCIPAL's key\n"
	    "  --case ID            the case id, or\n"
	    "  --nhs N              the child's NHS number (10 digits)\n"
	    "  --purpose P          mash-triage, early-help, s17-assessment,\n"
	    "                       strategy-discussion, s47-enquiry, audit\n"
	    "  --break-glass REASON override a denial (roles the policy "
	    "gives it to; audited, auditors told)\n"
	    "  --json               one JSON document instead of the view\n"
	    "  --timeout SECONDS    wait at most this long for the answer\n"
	    "exit: 0 shown, 1 denied, break-glass refused or answer failed "
	    "verification, "
	    "2 bad usage/unreadable/timeout\n",
	    out);
}

static int
parse_args(int argc, char **argv, struct picture_args *a)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"as", required_argument, NULL, 'a'},
	    {"case", required_argument, NULL, 'k'},
	    {"nhs", required_argument, NULL, 'n'},
	    {"purpose", required_argument, NULL, 'p'},
	    {"break-glass", required_argument, NULL, 'b'},
	    {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int64_t secs;
	int ch;

	memset(a, 0, sizeof(*a));
	optind = 1;
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
			a->case_id = optarg;
			break;
		case 'n':
			a->nhs = optarg;
			break;
		case 'p':
			a->purpose = optarg;
			break;
		case 'b':
			a->break_glass = optarg;
			break;
		case 'j':
			a->json = 1;
			break;
		case 't':
			if (mash_parse_i64(optarg, 1,
			                   MASHCTL_CLIENT_MAX_TIMEOUT_S,
			                   &secs) != MASH_OK) {
				fprintf(stderr,
				        "mashctl picture: --timeout "
				        "must be 1..%d seconds\n",
				        MASHCTL_CLIENT_MAX_TIMEOUT_S);
				return MASH_ERR_INVAL;
			}
			a->timeout_ms = (int)secs * 1000;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr,
			        "mashctl picture: unknown option or "
			        "missing argument: %s (see --help)\n",
			        argv[optind - 1]);
			return MASH_ERR_INVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mashctl picture: unexpected argument '%s'\n",
		        argv[optind]);
		return MASH_ERR_INVAL;
	}
	if (a->config == NULL || a->principal == NULL || a->purpose == NULL) {
		fprintf(stderr, "mashctl picture: --config, --as and --purpose "
		                "are required (see --help)\n");
		return MASH_ERR_INVAL;
	}
	if ((a->case_id == NULL) == (a->nhs == NULL)) {
		fprintf(stderr, "mashctl picture: give exactly one of --case "
		                "and --nhs\n");
		return MASH_ERR_INVAL;
	}
	if (!mash_trust_id_valid(a->principal)) {
		fprintf(stderr, "mashctl picture: --as: principal must be "
		                "[a-z0-9._-]{1,64}\n");
		return MASH_ERR_INVAL;
	}
	if (!mash_pol_purpose_valid(a->purpose)) {
		fprintf(stderr,
		        "mashctl picture: --purpose: unknown purpose "
		        "'%s'\n",
		        a->purpose);
		return MASH_ERR_INVAL;
	}
	if (a->case_id != NULL &&
	    (a->case_id[0] == '\0' ||
	     mash_str_check(a->case_id, MASH_MAX_ID) != MASH_OK)) {
		fprintf(stderr, "mashctl picture: --case: not a case id\n");
		return MASH_ERR_INVAL;
	}
	/* Never echo an NHS number back: it is identifying. */
	if (a->nhs != NULL && !mash_evt_nhs_valid(a->nhs)) {
		fprintf(stderr, "mashctl picture: --nhs: not 10 digits with a "
		                "valid Modulus 11 check digit\n");
		return MASH_ERR_INVAL;
	}
	if (a->break_glass != NULL &&
	    (a->break_glass[0] == '\0' ||
	     mash_str_check(a->break_glass, MASH_MAX_SHORT) != MASH_OK)) {
		fprintf(stderr,
		        "mashctl picture: --break-glass: reason must be "
		        "1..%u bytes of UTF-8\n",
		        MASH_MAX_SHORT);
		return MASH_ERR_INVAL;
	}
	return MASH_OK;
}

/* Build and seal the request: *env / *envlen (caller frees *env). */
static int
seal_request(const struct picture_args *a, const struct mashctl_client_cfg *c,
             const struct mash_key *key, uint8_t **env, size_t *envlen)
{
	struct mashctl_picture_ask ask = {a->case_id, a->nhs, a->purpose,
	                                  a->break_glass};

	return mashctl_picture_request(key, a->principal, c->key_id, &ask, env,
	                               envlen);
}

/*
 * Wait until deadline for the answer to our correlation data on inbox.
 * Messages for other requests (or other deliveries to the same inbox) are
 * skipped. *out gets the verified, decoded Picture (free with
 * mash__v1__picture__free_unpacked and mash_env_pb_allocator()).
 * MASH_OK; MASH_ERR_TIMEOUT; a verification error (BAD_SIGNATURE,
 * UNKNOWN_KEY, SIGNER_MISMATCH, PAYLOAD_TYPE, DECODE, DECRYPT, ...) with
 * why set.
 */
static int
await_picture(struct mash_mq *mq, const struct mash_trust *trust,
              const char *daemon_signer, const char *principal,
              const struct mash_key *enc, const char *inbox,
              const unsigned char *corr, size_t corrlen, int64_t deadline,
              Mash__V1__Picture **out, char *why, size_t whylen)
{
	struct mash_mq_msg *m = NULL;
	Mash__V1__Picture *p = NULL;
	int64_t left;
	int rc = MASH_ERR_TIMEOUT;

	*out = NULL;
	for (;;) {
		left = deadline - mash_mono_ms();
		if (left <= 0) {
			rc = MASH_ERR_TIMEOUT;
			goto out;
		}
		mash_mq_msg_free(m);
		m = NULL;
		if (mash_mq_next(mq, (int)left, &m) != MASH_OK)
			continue;
		if (strcmp(m->topic, inbox) != 0 || m->correlation == NULL ||
		    m->correlation_len != corrlen ||
		    memcmp(m->correlation, corr, corrlen) != 0)
			continue; /* a delivery or someone else's answer */
		if (m->oversized) {
			(void)mash_snprintf(why, whylen,
			                    "answer larger than "
			                    "%zu bytes",
			                    m->len);
			rc = MASH_ERR_TOO_BIG;
			goto out;
		}
		rc =
		    mashctl_picture_answer(trust, daemon_signer, principal, enc,
		                           m->payload, m->len, &p, why, whylen);
		if (rc != MASH_OK)
			goto out;
		*out = p;
		p = NULL; /* transferred */
		rc = MASH_OK;
		goto out;
	}
out:
	if (p != NULL)
		mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
	mash_mq_msg_free(m);
	return rc;
}

static int
show(const Mash__V1__Picture *p, const struct picture_args *a,
     const struct mash_cal *cal)
{
	struct mashctl_view_opts vo;
	json_t *j = NULL;
	int rc = MASH_ERR_IO;

	memset(&vo, 0, sizeof(vo));
	vo.principal = a->principal;
	vo.purpose = a->purpose;
	vo.now_ms = mash_clock_now(mash_clock_system());
	vo.working_days = cal != NULL ? mashctl_working_days : NULL;
	vo.working_days_ctx = (void *)cal;
	if (a->json) {
		j = mashctl_picture_to_json(p, &vo);
		if (j == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
		if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
			goto out;
		fputc('\n', stdout);
	} else if (mashctl_picture_render(stdout, p, &vo) != MASH_OK) {
		goto out;
	}
	if (fflush(stdout) != 0)
		goto out;
	rc = MASH_OK;
out:
	json_decref(j);
	return rc;
}

int
mashctl_picture(int argc, char **argv)
{
	struct picture_args a;
	struct mashctl_client_cfg c;
	struct mash_key *key = NULL, *enc = NULL;
	struct mash_trust *trust = NULL;
	struct mash_cal *cal = NULL;
	struct mash_mq *mq = NULL;
	struct mash_mq_opts mo;
	struct mash_mq_props props;
	Mash__V1__Picture *p = NULL;
	uint8_t *env = NULL;
	size_t envlen = 0;
	unsigned char corr[MASHCTL_PICTURE_CORRELATION_LEN];
	char inbox[MASH_MAX_TOPIC];
	char client_id[32];
	char why[MASH_ENV_WHY_LEN] = "";
	char hex[9];
	int64_t deadline;
	int timeout_ms;
	int rc, ret = MASHCTL_PICTURE_USAGE;

	memset(&c, 0, sizeof(c));
	/* The view is the output; the adapter's connection chatter is not. */
	mash_log_set_level(MASH_LOG_WARN);
	rc = parse_args(argc, argv, &a);
	if (rc == 1) {
		ret = MASHCTL_PICTURE_SHOWN;
		goto out;
	}
	if (rc != MASH_OK)
		goto out;
	if (mashctl_client_cfg_load("mashctl picture", a.config, a.principal, 1,
	                            &c) != MASH_OK)
		goto out;
	timeout_ms = a.timeout_ms > 0 ? a.timeout_ms : c.timeout_ms;

	rc = mash_key_load_private(c.key_file, &key);
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mashctl picture: %s: cannot load %s's private "
		        "key: %s\n",
		        c.key_file, a.principal, mash_file_strerror(rc));
		goto out;
	}
	/* The X25519 key that opens the sealed answer (issue 25). */
	if (c.enc_key_file != NULL) {
		rc = mash_key_load_kind(MASH_KEY_X25519, 1, c.enc_key_file,
		                        &enc);
		if (rc != MASH_OK) {
			fprintf(stderr,
			        "mashctl picture: %s: cannot load %s's X25519 "
			        "private key: %s\n",
			        c.enc_key_file, a.principal,
			        mash_file_strerror(rc));
			goto out;
		}
	}
	rc = mash_trust_load(c.trust_store, &trust, why, sizeof(why));
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mashctl picture: %s: cannot load the trust "
		        "store: %s\n",
		        c.trust_store, why[0] ? why : mash_strerror(rc));
		goto out;
	}
	/* Clocks are shown in London working days (s47/cal.h). */
	if (mash_dt_london_init() != MASH_OK) {
		fprintf(stderr, "mashctl picture: no time zone data for "
		                "Europe/London (install Debian's tzdata)\n");
		goto out;
	}
	cal = mash_cal_new();
	if (cal == NULL) {
		fprintf(stderr, "mashctl picture: out of memory\n");
		goto out;
	}
	if (c.holidays != NULL) {
		rc = mash_cal_load(cal, c.holidays, why, sizeof(why));
		if (rc != MASH_OK) {
			fprintf(stderr, "mashctl picture: %s\n",
			        why[0] ? why : c.holidays);
			goto out;
		}
	}
	rc = seal_request(&a, &c, key, &env, &envlen);
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mashctl picture: cannot sign the request: "
		        "%s\n",
		        mash_strerror(rc));
		goto out;
	}
	if (mash_snprintf(inbox, sizeof(inbox), "%s%s", INBOX_PREFIX,
	                  a.principal) != MASH_OK ||
	    RAND_bytes(corr, (int)sizeof(corr)) != 1) {
		fprintf(stderr,
		        "mashctl picture: cannot prepare the request\n");
		goto out;
	}
	/* A fresh, random client id and a clean session: an interrupted
	 * earlier run must not hand us its queued answers. */
	mash_hex(corr, 4, hex);
	(void)mash_snprintf(client_id, sizeof(client_id), "mashctl-%s", hex);
	mash_mq_opts_init(&mo);
	mo.uri = c.mqtt_uri;
	mo.client_id = client_id;
	mo.username = c.username;
	mo.password = c.password;
	mo.ca_file = c.ca_file;
	mo.cert_file = c.cert_file;
	mo.key_file = c.mqtt_key_file;
	mo.clean_start = 1;
	mo.session_expiry_s = 0;
	mo.queue_max_msgs = 256;
	mo.max_payload = MASH_MAX_ENVELOPE;
	rc = mash_mq_new(&mo, &mq);
	if (rc == MASH_OK)
		rc = mash_mq_subscribe(mq, inbox, CONNECT_TIMEOUT_MS);
	if (rc == MASH_OK)
		rc = mash_mq_connect(mq, CONNECT_TIMEOUT_MS);
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mashctl picture: %s: cannot connect to the "
		        "broker: %s\n",
		        c.mqtt_uri, mash_strerror(rc));
		goto out;
	}
	memset(&props, 0, sizeof(props));
	props.response_topic = inbox;
	props.correlation = corr;
	props.correlation_len = sizeof(corr);
	deadline = mash_mono_ms() + timeout_ms;
	rc = mash_mq_publish(mq, PICTURE_TOPIC, env, envlen, 0, &props,
	                     PUBLISH_TIMEOUT_MS);
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mashctl picture: %s: cannot publish the "
		        "request on %s: %s\n",
		        c.mqtt_uri, PICTURE_TOPIC, mash_strerror(rc));
		goto out;
	}
	rc = await_picture(mq, trust, c.daemon_signer, a.principal, enc, inbox,
	                   corr, sizeof(corr), deadline, &p, why, sizeof(why));
	if (rc == MASH_ERR_TIMEOUT) {
		fprintf(stderr,
		        "mashctl picture: no answer from %s on %s "
		        "within %d ms\n",
		        c.daemon_signer, inbox, timeout_ms);
		goto out;
	}
	if (rc != MASH_OK) {
		fprintf(stderr,
		        "mashctl picture: answer on %s rejected: %s "
		        "(%s)\n",
		        inbox, why[0] ? why : mash_strerror(rc),
		        mash_errname(rc));
		ret = MASHCTL_PICTURE_DENIED;
		goto out;
	}
	if (show(p, &a, cal) != MASH_OK) {
		fprintf(stderr, "mashctl picture: cannot write the picture to "
		                "stdout\n");
		goto out;
	}
	if (p->denied_reason != NULL && p->denied_reason[0] != '\0') {
		fprintf(stderr, "mashctl picture: denied: %s\n",
		        p->denied_reason);
		ret = MASHCTL_PICTURE_DENIED;
		goto out;
	}
	/* Rule 8: an override the policy does not give this role is
	 * refused and said so; the ordinary view above is what they see. */
	if (p->break_glass_refused != NULL &&
	    p->break_glass_refused[0] != '\0') {
		fprintf(stderr, "mashctl picture: break-glass refused: %s\n",
		        p->break_glass_refused);
		ret = MASHCTL_PICTURE_DENIED;
		goto out;
	}
	ret = MASHCTL_PICTURE_SHOWN;
out:
	if (p != NULL)
		mash__v1__picture__free_unpacked(p, mash_env_pb_allocator());
	if (mq != NULL) {
		(void)mash_mq_disconnect(mq, 1000);
		mash_mq_free(mq);
	}
	if (env != NULL)
		mash_free_secret(env, envlen);
	mash_cal_free(cal);
	mash_trust_free(trust);
	mash_key_free(key);
	mash_key_free(enc);
	mashctl_client_cfg_clear(&c);
	return ret;
}
