/*
 * broker.c - a real mosquitto for integration tests, plus process and
 * temp-dir helpers. Tests never mock MQTT (HELPERS.md): they start the
 * Debian mosquitto on 127.0.0.1 and a free port.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/broker.h"

extern char **environ;

struct mash_test_broker {
	char tls[1600]; /* TLS listener lines, or "" */
	int hub;        /* mutual TLS with the hub's PKI and ACL */
	char *dir;
	char conf[512];
	char log[512];
	char uri[64];
	int port;
	pid_t pid;
};

void
mash_test_sleep_ms(int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

char *
mash_test_mkdtemp(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	char *d;
	int n;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(tmpl, sizeof(tmpl), "%s/mash-%s-XXXXXX", base,
	             tag != NULL ? tag : "test");
	if (n < 0 || (size_t)n >= sizeof(tmpl))
		return NULL;
	if (mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmpl, strerror(errno));
		return NULL;
	}
	d = strdup(tmpl);
	return d;
}

int
mash_test_rmrf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[4096];
	int rc = 0, n;

	if (path == NULL)
		return 0;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : -1;
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(sub)) {
			rc = -1;
			continue;
		}
		if (mash_test_rmrf(sub) != 0)
			rc = -1;
	}
	closedir(d);
	if (rmdir(path) != 0)
		rc = -1;
	return rc;
}

int
mash_test_free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

int
mash_test_wait_port(int port, int timeout_ms)
{
	struct sockaddr_in a;
	long end = now_ms() + timeout_ms;
	int fd, ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	do {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return -1;
		ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (ok)
			return 0;
		mash_test_sleep_ms(20);
	} while (now_ms() < end);
	return -1;
}

static int
redirect(int target, const char *path, int flags)
{
	int fd;

	fd = open(path != NULL ? path : "/dev/null", flags, 0600);
	if (fd < 0)
		return -1;
	if (dup2(fd, target) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

pid_t
mash_test_spawn(const char *const argv[], const char *const env_extra[],
                const char *out_path, const char *err_path)
{
	pid_t pid, parent;
	size_t i;

	if (argv == NULL || argv[0] == NULL)
		return -1;
	fflush(stdout);
	fflush(stderr);
	parent = getpid();
	pid = fork();
	if (pid != 0)
		return pid; /* parent, or -1 */
	/* Child: its own process group so a kill reaches its children. */
	setpgid(0, 0);
	/* A test that dies (failed assertion in a Check fork, timeout) must
	 * not leave a broker or daemon behind: the child is sent SIGTERM
	 * when the test process goes away, even before it could clean up. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(127);
	if (redirect(0, "/dev/null", O_RDONLY) != 0 ||
	    redirect(1, out_path, O_WRONLY | O_CREAT | O_APPEND) != 0 ||
	    redirect(2, err_path, O_WRONLY | O_CREAT | O_APPEND) != 0)
		_exit(127);
	for (i = 0; env_extra != NULL && env_extra[i] != NULL; i++)
		putenv((char *)env_extra[i]);
	execve(argv[0], (char *const *)argv, environ);
	_exit(127);
}

int
mash_test_wait(pid_t pid, int timeout_ms, int *status)
{
	long end = now_ms() + timeout_ms;
	int st = 0;
	pid_t r;

	if (status != NULL)
		*status = 0;
	if (pid <= 0)
		return -1;
	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid) {
			if (status != NULL)
				*status = st;
			return 0;
		}
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= end)
			return -1;
		mash_test_sleep_ms(10);
	}
}

int
mash_test_kill(pid_t pid, int sig, int timeout_ms, int *status)
{
	if (pid <= 0)
		return -1;
	kill(pid, sig);
	if (mash_test_wait(pid, timeout_ms, status) == 0)
		return 0;
	kill(pid, SIGKILL);
	(void)mash_test_wait(pid, 5000, NULL);
	return -1;
}

char *
mash_test_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f;
	char *buf;
	size_t n;

	if (len != NULL)
		*len = 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

int
mash_test_write_file(const char *path, const void *buf, size_t len)
{
	int fd;
	ssize_t w;
	size_t off = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	while (off < len) {
		w = write(fd, (const char *)buf + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return close(fd) == 0 ? 0 : -1;
}

static int
write_conf(struct mash_test_broker *b)
{
	char text[2048];
	int n;

	/* Running as root, mosquitto would drop to the "mosquitto" user and
	 * then fail to write our private persistence directory. */
	n = snprintf(text, sizeof(text),
	             "listener %d 127.0.0.1\n"
	             "allow_anonymous %s\n"
	             "persistence true\n"
	             "persistence_location %s/\n"
	             "autosave_interval 1\n"
	             "max_queued_messages 100000\n"
	             "max_inflight_messages 256\n"
	             "set_tcp_nodelay true\n"
	             "log_dest stderr\n"
	             "log_type error\nlog_type warning\nlog_type notice\n"
	             "%s%s",
	             b->port, b->hub ? "false" : "true", b->dir,
	             geteuid() == 0 ? "user root\n" : "", b->tls);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return mash_test_write_file(b->conf, text, (size_t)n);
}

static int
launch(struct mash_test_broker *b)
{
	const char *bin = getenv("MASH_MOSQUITTO");
	const char *argv[4];

	if (bin == NULL || bin[0] == '\0')
		bin = MASH_TEST_MOSQUITTO;
	argv[0] = bin;
	argv[1] = "-c";
	argv[2] = b->conf;
	argv[3] = NULL;
	b->pid = mash_test_spawn(argv, NULL, b->log, b->log);
	if (b->pid < 0) {
		fprintf(stderr, "broker: cannot fork\n");
		return -1;
	}
	if (mash_test_wait_port(b->port, 10000) != 0) {
		fprintf(stderr,
		        "broker: mosquitto did not listen on %d "
		        "(log %s)\n",
		        b->port, b->log);
		(void)mash_test_kill(b->pid, SIGKILL, 2000, NULL);
		b->pid = -1;
		return -1;
	}
	return 0;
}

static int broker_start(const char *tls, int hub,
                        struct mash_test_broker **out);

int
mash_test_broker_start(struct mash_test_broker **out)
{
	return broker_start(NULL, 1, out);
}

int
mash_test_broker_start_tls(const char *cafile, const char *certfile,
                           const char *keyfile, int require_client_cert,
                           struct mash_test_broker **out)
{
	char tls[1600];
	int n;

	n = snprintf(tls, sizeof(tls),
	             "cafile %s\ncertfile %s\nkeyfile %s\n"
	             "require_certificate %s\n",
	             cafile, certfile, keyfile,
	             require_client_cert ? "true" : "false");
	if (n < 0 || (size_t)n >= sizeof(tls))
		return -1;
	return broker_start(tls, 0, out);
}

static int
run_cmd(const char *const argv[])
{
	int st = 0;
	pid_t pid = mash_test_spawn(argv, NULL, NULL, NULL);

	if (pid < 0 || mash_test_wait(pid, 30000, &st) != 0)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int
mash_test_make_pki(const char *dir)
{
	char ca[600], cak[600], ocak[600], oca[600], srv[600], srvk[600];
	char srvcsr[600], cli[600], clik[600], clicsr[600], ext[600];
	const char *ssl = "/usr/bin/openssl";
	static const char extt[] =
	    "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1,DNS:localhost\n";

	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cak, sizeof(cak), "%s/ca.key", dir);
	snprintf(oca, sizeof(oca), "%s/other-ca.pem", dir);
	snprintf(ocak, sizeof(ocak), "%s/other-ca.key", dir);
	snprintf(srv, sizeof(srv), "%s/server.pem", dir);
	snprintf(srvk, sizeof(srvk), "%s/server.key", dir);
	snprintf(srvcsr, sizeof(srvcsr), "%s/server.csr", dir);
	snprintf(cli, sizeof(cli), "%s/client.pem", dir);
	snprintf(clik, sizeof(clik), "%s/client.key", dir);
	snprintf(clicsr, sizeof(clicsr), "%s/client.csr", dir);
	snprintf(ext, sizeof(ext), "%s/san.ext", dir);
	if (mash_test_write_file(ext, extt, sizeof(extt) - 1) != 0)
		return -1;
	{
		const char *a1[] = {ssl,        "req",
		                    "-x509",    "-newkey",
		                    "rsa:2048", "-nodes",
		                    "-keyout",  cak,
		                    "-out",     ca,
		                    "-days",    "2",
		                    "-subj",    "/CN=mash-test-ca",
		                    NULL};
		const char *a2[] = {
		    ssl,      "req",     "-x509", "-newkey",      "rsa:2048",
		    "-nodes", "-keyout", ocak,    "-out",         oca,
		    "-days",  "2",       "-subj", "/CN=other-ca", NULL};
		const char *a3[] = {ssl,        "req",           "-newkey",
		                    "rsa:2048", "-nodes",        "-keyout",
		                    srvk,       "-out",          srvcsr,
		                    "-subj",    "/CN=127.0.0.1", NULL};
		const char *a4[] = {
		    ssl,    "x509", "-req",   "-in", srvcsr,
		    "-CA",  ca,     "-CAkey", cak,   "-CAcreateserial",
		    "-out", srv,    "-days",  "2",   "-extfile",
		    ext,    NULL};
		const char *a5[] = {
		    ssl,  "req",  "-newkey", "rsa:2048", "-nodes",    "-keyout",
		    clik, "-out", clicsr,    "-subj",    "/CN=mashd", NULL};
		const char *a6[] = {
		    ssl,    "x509", "-req",   "-in", clicsr,
		    "-CA",  ca,     "-CAkey", cak,   "-CAcreateserial",
		    "-out", cli,    "-days",  "2",   NULL};

		if (run_cmd(a1) || run_cmd(a2) || run_cmd(a3) || run_cmd(a4) ||
		    run_cmd(a5) || run_cmd(a6))
			return -1;
	}
	return 0;
}

static int
broker_start(const char *tls, int hub, struct mash_test_broker **out)
{
	struct mash_test_broker *b;
	int tries;

	*out = NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return -1;
	if (tls != NULL)
		snprintf(b->tls, sizeof(b->tls), "%s", tls);
	b->pid = -1;
	b->dir = mash_test_mkdtemp("broker");
	if (b->dir == NULL)
		goto fail;
	if (hub) {
		if (mash_test_hub_pki(b->dir) != 0)
			goto fail;
		b->hub = 1;
		snprintf(b->tls, sizeof(b->tls),
		         "cafile %s/pki/ca.pem\ncertfile %s/pki/broker.pem\n"
		         "keyfile %s/pki/broker.key\nrequire_certificate true\n"
		         "use_identity_as_username true\nacl_file %s/acl\n",
		         b->dir, b->dir, b->dir, b->dir);
	}
	snprintf(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir);
	snprintf(b->log, sizeof(b->log), "%s/mosquitto.log", b->dir);
	/* The port can be taken between probe and bind; try a few. */
	for (tries = 0; tries < 5; tries++) {
		b->port = mash_test_free_port();
		if (b->port <= 0)
			continue;
		/* The hub's broker certificate names localhost (Paho checks
		 * the host name as a DNS name). */
		snprintf(b->uri, sizeof(b->uri), "%s://%s:%d",
		         b->tls[0] ? "ssl" : "tcp",
		         b->hub ? "localhost" : "127.0.0.1", b->port);
		if (write_conf(b) == 0 && launch(b) == 0) {
			*out = b;
			return 0;
		}
	}
fail:
	mash_test_broker_free(b);
	return -1;
}

int
mash_test_broker_port(const struct mash_test_broker *b)
{
	return b->port;
}

const char *
mash_test_broker_uri(const struct mash_test_broker *b)
{
	return b->uri;
}

const char *
mash_test_broker_dir(const struct mash_test_broker *b)
{
	return b->dir;
}

int
mash_test_broker_stop(struct mash_test_broker *b)
{
	int rc;

	if (b == NULL || b->pid <= 0)
		return 0;
	rc = mash_test_kill(b->pid, SIGTERM, 10000, NULL);
	b->pid = -1;
	return rc;
}

int
mash_test_broker_reload(struct mash_test_broker *b)
{
	if (b == NULL || b->pid <= 0)
		return -1;
	return kill(b->pid, SIGHUP) == 0 ? 0 : -1;
}

int
mash_test_broker_restart(struct mash_test_broker *b)
{
	int tries;

	(void)mash_test_broker_stop(b);
	/* The old socket may linger briefly; retry the bind. */
	for (tries = 0; tries < 5; tries++) {
		if (launch(b) == 0)
			return 0;
		mash_test_sleep_ms(200);
	}
	return -1;
}

void
mash_test_broker_free(struct mash_test_broker *b)
{
	if (b == NULL)
		return;
	(void)mash_test_broker_stop(b);
	if (b->dir != NULL && getenv("MASH_KEEP_TMP") == NULL)
		(void)mash_test_rmrf(b->dir);
	free(b->dir);
	free(b);
}
