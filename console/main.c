/*
 * main.c - mash-console --config FILE (issue 29): the web console's HTTPS
 * gateway. Part 2 serves sign-in, the signed-in page and sign-out; the
 * inbox and the case picture over MQTT follow (docs/internals/console.md).
 *
 * console = {
 *   listen = "127.0.0.1";  port = 8443;        (port 0: any free port)
 *   cert_file = "pki/console.pem";  key_file = "pki/console.key";
 *   accounts = "console-accounts.json";  idle_timeout_s = 900;
 *   # the hub, reached as each signed-in principal (all or none):
 *   mqtt_uri = "ssl://localhost:8883";  mqtt_ca_file = "pki/ca.pem";
 *   trust_store = "trust";  daemon_signer = "mashd";
 *   mqtt_insecure = false;   (tcp:// only when true: development)
 *   holidays = "s47/holidays.cfg";   (one-off bank holidays, optional)
 *   static_dir = "console/static";   (default: the source tree's)
 * };
 * Prints "mash-console: listening on https://ADDR:PORT/" on stderr when
 * ready; SIGTERM or SIGINT stops it (every session wiped). Exit 0 after a
 * signal, 2 for a bad config or an unreadable file, 1 otherwise.
 */
#include <libconfig.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "console/http.h"
#include "crypto/trust.h"
#include "s47/cal.h"

#define PEM_MAX (64u * 1024u)

static const char *const known[] = {
    "listen",        "port",           "cert_file",     "key_file",
    "accounts",      "idle_timeout_s", "mqtt_uri",      "mqtt_ca_file",
    "mqtt_insecure", "trust_store",    "daemon_signer", "holidays",
    "static_dir"};

/* The hub settings of the console group, when mqtt_uri is there. */
struct hub_settings {
	const char *trust_dir;
	struct con_hub_cfg cfg;
	int on;
};

static char *
read_pem(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = mash_malloc(PEM_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, PEM_MAX + 1, f);
	fclose(f);
	if (n == 0 || n > PEM_MAX) {
		mash_free_secret(buf, PEM_MAX + 1);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* The console group: every key known, the required ones present. */
static int
load_hub(config_setting_t *g, const char *path, struct hub_settings *hs)
{
	int insecure = 0;

	memset(hs, 0, sizeof(*hs));
	if (config_setting_lookup_string(g, "mqtt_uri", &hs->cfg.mqtt_uri) !=
	    CONFIG_TRUE) {
		if (config_setting_get_member(g, "trust_store") != NULL ||
		    config_setting_get_member(g, "mqtt_ca_file") != NULL) {
			fprintf(stderr,
			        "mash-console: %s: console.mqtt_uri is "
			        "required with the other mqtt settings\n",
			        path);
			return MASH_ERR_CONFIG;
		}
		return MASH_OK; /* sign-in only, no inbox */
	}
	(void)config_setting_lookup_string(g, "mqtt_ca_file", &hs->cfg.ca_file);
	(void)config_setting_lookup_bool(g, "mqtt_insecure", &insecure);
	hs->cfg.insecure = insecure;
	hs->cfg.daemon_signer = "mashd";
	(void)config_setting_lookup_string(g, "daemon_signer",
	                                   &hs->cfg.daemon_signer);
	if (config_setting_lookup_string(g, "trust_store", &hs->trust_dir) !=
	    CONFIG_TRUE) {
		fprintf(stderr,
		        "mash-console: %s: console.trust_store is required "
		        "with mqtt_uri (it verifies mashd's deliveries)\n",
		        path);
		return MASH_ERR_CONFIG;
	}
	if (strncmp(hs->cfg.mqtt_uri, "ssl://", 6) != 0 &&
	    !(insecure && strncmp(hs->cfg.mqtt_uri, "tcp://", 6) == 0)) {
		fprintf(stderr,
		        "mash-console: %s: console.mqtt_uri must be ssl:// "
		        "(tcp:// only with mqtt_insecure = true)\n",
		        path);
		return MASH_ERR_CONFIG;
	}
	hs->on = 1;
	return MASH_OK;
}

static int
load(config_t *cf, const char *path, struct con_http_cfg *c, const char **cert,
     const char **key, struct hub_settings *hs)
{
	config_setting_t *g, *s;
	int i, n, port = 8443, idle = 900;
	size_t k;

	if (config_read_file(cf, path) != CONFIG_TRUE) {
		fprintf(stderr, "mash-console: %s:%d: %s\n", path,
		        config_error_line(cf), config_error_text(cf));
		return MASH_ERR_CONFIG;
	}
	g = config_lookup(cf, "console");
	if (g == NULL || !config_setting_is_group(g)) {
		fprintf(stderr, "mash-console: %s: no console group\n", path);
		return MASH_ERR_CONFIG;
	}
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strcmp(config_setting_name(s), known[k]) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0])) {
			fprintf(stderr,
			        "mash-console: %s:%d: unknown setting "
			        "'console.%s'\n",
			        path, config_setting_source_line(s),
			        config_setting_name(s));
			return MASH_ERR_CONFIG;
		}
	}
	c->listen = "127.0.0.1";
	(void)config_setting_lookup_string(g, "listen", &c->listen);
	(void)config_setting_lookup_string(g, "static_dir", &c->static_dir);
	(void)config_setting_lookup_int(g, "port", &port);
	(void)config_setting_lookup_int(g, "idle_timeout_s", &idle);
	if (config_setting_lookup_string(g, "cert_file", cert) != CONFIG_TRUE ||
	    config_setting_lookup_string(g, "key_file", key) != CONFIG_TRUE ||
	    config_setting_lookup_string(g, "accounts", &c->accounts) !=
	        CONFIG_TRUE ||
	    port < 0 || port > 65535 || idle < 60 || idle > 86400) {
		fprintf(stderr,
		        "mash-console: %s: console.cert_file, key_file and "
		        "accounts are required; port 0..65535; "
		        "idle_timeout_s 60..86400\n",
		        path);
		return MASH_ERR_CONFIG;
	}
	c->port = (uint16_t)port;
	c->idle_ms = (int64_t)idle * 1000;
	return load_hub(g, path, hs);
}

int
main(int argc, char **argv)
{
	struct con_http_cfg c;
	struct con_http *h = NULL;
	struct hub_settings hs;
	struct mash_trust *trust = NULL;
	struct mash_cal *cal = NULL;
	const char *holidays = NULL;
	char why[512];
	const char *cert = NULL, *key = NULL;
	char *cert_pem = NULL, *key_pem = NULL;
	config_t cf;
	sigset_t set;
	int sig, ex = 2;

	if (mash_mq_global_init() != MASH_OK)
		return 1;
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("mash-console %s\n", MASH_VERSION);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--config") != 0) {
		fprintf(stderr, "usage: mash-console --config FILE\n");
		return 2;
	}
	memset(&c, 0, sizeof(c));
	config_init(&cf);
	memset(&hs, 0, sizeof(hs));
	if (load(&cf, argv[2], &c, &cert, &key, &hs) != MASH_OK)
		goto out;
	if (hs.on) {
		if (mash_trust_load(hs.trust_dir, &trust, why, sizeof(why)) !=
		    MASH_OK) {
			fprintf(stderr, "mash-console: %s\n", why);
			goto out;
		}
		hs.cfg.trust = trust;
		/* Strategy-discussion clocks in working days (s47/cal.h). */
		cal = mash_cal_new();
		if (cal == NULL)
			goto out;
		(void)config_lookup_string(&cf, "console.holidays", &holidays);
		if (holidays != NULL &&
		    mash_cal_load(cal, holidays, why, sizeof(why)) != MASH_OK) {
			fprintf(stderr, "mash-console: %s\n", why);
			goto out;
		}
		hs.cfg.cal = cal;
		c.hub = &hs.cfg;
	}
	cert_pem = read_pem(cert);
	key_pem = read_pem(key);
	if (cert_pem == NULL || key_pem == NULL) {
		fprintf(stderr, "mash-console: %s: cannot read\n",
		        cert_pem == NULL ? cert : key);
		goto out;
	}
	/* Signals blocked before libmicrohttpd starts its thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c.cert_pem = cert_pem;
	c.key_pem = key_pem;
	ex = 1;
	if (con_http_start(&c, &h) != MASH_OK)
		goto out;
	fprintf(stderr, "mash-console: listening on https://%s:%u/ (%s%s)\n",
	        c.listen, (unsigned)con_http_port(h),
	        hs.on ? "inboxes from " : "sign-in only: no mqtt_uri",
	        hs.on ? hs.cfg.mqtt_uri : "");
	if (sigwait(&set, &sig) == 0)
		ex = 0;
out:
	con_http_stop(h);
	mash_trust_free(trust);
	mash_cal_free(cal);
	if (key_pem != NULL)
		mash_free_secret(key_pem, strlen(key_pem));
	mash_free(cert_pem);
	config_destroy(&cf);
	return ex;
}
