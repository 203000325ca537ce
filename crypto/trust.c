/*
 * trust.c - the trust store directory (layout in trust.h and
 * docs/internals/crypto.md). A snapshot is a sorted array of entries;
 * lookups are a binary search. Load is strict: one bad file fails the
 * whole load, so a reload on SIGHUP never half-applies a store.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/key.h"
#include "crypto/trust.h"

#define PUB_SUFFIX ".pub.pem"
#define REV_SUFFIX ".revoked"
#define REV_MAX    128u
#define PATH_BUF   4096u

struct entry {
	char signer[MASH_TRUST_ID_MAX + 1];
	char key_id[MASH_TRUST_ID_MAX + 1];
	struct mash_key *key;
	int revoked;
	int64_t revoked_at_ms;
};

struct mash_trust {
	struct entry *e;
	size_t n, cap;
};

int
mash_trust_id_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= MASH_TRUST_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->signer, y->signer);

	return c != 0 ? c : strcmp(x->key_id, y->key_id);
}

static struct entry *
find(const struct mash_trust *t, const char *signer, const char *key_id)
{
	struct entry probe;

	if (t == NULL || t->n == 0 || !mash_trust_id_valid(signer) ||
	    !mash_trust_id_valid(key_id))
		return NULL;
	memset(&probe, 0, sizeof(probe));
	(void)mash_strlcpy(probe.signer, signer, sizeof(probe.signer));
	(void)mash_strlcpy(probe.key_id, key_id, sizeof(probe.key_id));
	return bsearch(&probe, t->e, t->n, sizeof(*t->e), entry_cmp);
}

/* If name ends with suffix and its stem is a valid id, copy the stem into
 * stem[MASH_TRUST_ID_MAX + 1] and return 1. */
static int
stem_of(const char *name, const char *suffix, char *stem)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n <= s || strcmp(name + n - s, suffix) != 0 ||
	    n - s > MASH_TRUST_ID_MAX)
		return 0;
	memcpy(stem, name, n - s);
	stem[n - s] = '\0';
	return 1;
}

/* The revocation time in a record; 0 if unreadable or garbled (the
 * record's existence alone revokes: fail safe). */
static int64_t
read_revocation_time(const char *path)
{
	char buf[REV_MAX + 1], *nl;
	int64_t v = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, REV_MAX);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	if (strncmp(buf, "revoked_at_ms=", 14) != 0 ||
	    mash_parse_i64(buf + 14, 0, INT64_MAX, &v) != MASH_OK)
		return 0;
	return v;
}

static int
grow(struct mash_trust *t)
{
	struct entry *ne;
	size_t cap;

	if (t->n < t->cap)
		return MASH_OK;
	if (t->cap >= MASH_TRUST_MAX_KEYS)
		return MASH_ERR_TOO_BIG;
	cap = t->cap == 0 ? 16 : t->cap * 2;
	if (cap > MASH_TRUST_MAX_KEYS)
		cap = MASH_TRUST_MAX_KEYS;
	ne = mash_realloc(t->e, cap * sizeof(*ne));
	if (ne == NULL)
		return MASH_ERR_NOMEM;
	t->e = ne;
	t->cap = cap;
	return MASH_OK;
}

struct revocation {
	char signer[MASH_TRUST_ID_MAX + 1];
	char key_id[MASH_TRUST_ID_MAX + 1];
	int64_t at;
};

/* Read one signer directory: keys into t, revocations into *revs. */
static int
load_signer(struct mash_trust *t, const char *dir, const char *signer,
            struct revocation **revs, size_t *nrev, char *why, size_t whylen)
{
	char sdir[PATH_BUF], path[PATH_BUF], stem[MASH_TRUST_ID_MAX + 1];
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int rc = MASH_ERR_IO;

	if (mash_snprintf(sdir, sizeof(sdir), "%s/%s", dir, signer) !=
	    MASH_OK) {
		rc = MASH_ERR_INVAL;
		mash_why(why, whylen, "trust store: path too long: %s", dir);
		goto out;
	}
	d = opendir(sdir);
	if (d == NULL) {
		mash_why(why, whylen, "trust store: cannot open %s: %s", sdir,
		         strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (mash_snprintf(path, sizeof(path), "%s/%s", sdir,
		                  de->d_name) != MASH_OK) {
			rc = MASH_ERR_INVAL;
			mash_why(why, whylen,
			         "trust store: path too long in %s", sdir);
			goto out;
		}
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			rc = MASH_ERR_CONFIG;
			mash_why(why, whylen,
			         "trust store: %s is not a regular file", path);
			goto out;
		}
		if (stem_of(de->d_name, PUB_SUFFIX, stem)) {
			struct entry *e;

			if (!mash_trust_id_valid(stem)) {
				rc = MASH_ERR_BAD_ID;
				mash_why(why, whylen,
				         "trust store: %s: key id is not "
				         "[a-z0-9._-]{1,64}",
				         path);
				goto out;
			}
			rc = grow(t);
			if (rc != MASH_OK) {
				mash_why(
				    why, whylen, "trust store: %s: %s", path,
				    rc == MASH_ERR_TOO_BIG
				        ? "more keys than MASH_TRUST_MAX_KEYS"
				        : mash_strerror(rc));
				goto out;
			}
			e = &t->e[t->n];
			memset(e, 0, sizeof(*e));
			rc = mash_key_load_public(path, &e->key);
			if (rc != MASH_OK) {
				mash_why(why, whylen, "trust store: %s: %s",
				         path, mash_strerror(rc));
				goto out;
			}
			(void)mash_strlcpy(e->signer, signer,
			                   sizeof(e->signer));
			(void)mash_strlcpy(e->key_id, stem, sizeof(e->key_id));
			t->n++;
		} else if (stem_of(de->d_name, REV_SUFFIX, stem) &&
		           mash_trust_id_valid(stem)) {
			struct revocation *nr;

			if (*nrev >= MASH_TRUST_MAX_KEYS) {
				rc = MASH_ERR_TOO_BIG;
				mash_why(why, whylen,
				         "trust store: %s: too many "
				         "revocation records",
				         sdir);
				goto out;
			}
			nr = mash_realloc(*revs, (*nrev + 1) * sizeof(**revs));
			if (nr == NULL) {
				rc = MASH_ERR_NOMEM;
				goto out;
			}
			*revs = nr;
			memset(&nr[*nrev], 0, sizeof(nr[*nrev]));
			(void)mash_strlcpy(nr[*nrev].signer, signer,
			                   sizeof(nr[*nrev].signer));
			(void)mash_strlcpy(nr[*nrev].key_id, stem,
			                   sizeof(nr[*nrev].key_id));
			nr[*nrev].at = read_revocation_time(path);
			(*nrev)++;
		} else {
			rc = MASH_ERR_CONFIG;
			mash_why(why, whylen,
			         "trust store: unexpected file %s (want "
			         "<key_id>" PUB_SUFFIX " or <key_id>" REV_SUFFIX
			         ")",
			         path);
			goto out;
		}
	}
	if (errno != 0) {
		mash_why(why, whylen, "trust store: reading %s: %s", sdir,
		         strerror(errno));
		goto out;
	}
	rc = MASH_OK;
out:
	if (d != NULL)
		closedir(d);
	return rc;
}

int
mash_trust_load(const char *dir, struct mash_trust **out, char *why,
                size_t whylen)
{
	struct mash_trust *t = NULL;
	struct revocation *revs = NULL;
	size_t nrev = 0, i;
	char path[PATH_BUF];
	DIR *d = NULL;
	struct dirent *de;
	struct stat st;
	int rc = MASH_ERR_INVAL;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (out == NULL)
		return MASH_ERR_INVAL;
	*out = NULL;
	if (dir == NULL)
		goto out;
	t = mash_calloc(1, sizeof(*t));
	if (t == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	d = opendir(dir);
	if (d == NULL) {
		rc = errno == ENOENT ? MASH_ERR_NOT_FOUND : MASH_ERR_IO;
		mash_why(why, whylen, "trust store: cannot open %s: %s", dir,
		         strerror(errno));
		goto out;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (mash_snprintf(path, sizeof(path), "%s/%s", dir,
		                  de->d_name) != MASH_OK) {
			rc = MASH_ERR_INVAL;
			mash_why(why, whylen, "trust store: path too long: %s",
			         dir);
			goto out;
		}
		if (lstat(path, &st) != 0) {
			rc = MASH_ERR_IO;
			mash_why(why, whylen, "trust store: %s: %s", path,
			         strerror(errno));
			goto out;
		}
		if (S_ISREG(st.st_mode))
			continue; /* README and the like */
		if (!S_ISDIR(st.st_mode)) {
			rc = MASH_ERR_CONFIG;
			mash_why(why, whylen,
			         "trust store: %s is not a directory "
			         "(symlinks are refused)",
			         path);
			goto out;
		}
		if (!mash_trust_id_valid(de->d_name)) {
			rc = MASH_ERR_BAD_ID;
			mash_why(why, whylen,
			         "trust store: %s: signer is not "
			         "[a-z0-9._-]{1,64}",
			         path);
			goto out;
		}
		rc = load_signer(t, dir, de->d_name, &revs, &nrev, why, whylen);
		if (rc != MASH_OK)
			goto out;
	}
	if (errno != 0) {
		rc = MASH_ERR_IO;
		mash_why(why, whylen, "trust store: reading %s: %s", dir,
		         strerror(errno));
		goto out;
	}
	if (t->n > 1)
		qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
	/* A revocation for a key not in the store revokes nothing. */
	for (i = 0; i < nrev; i++) {
		struct entry *e = find(t, revs[i].signer, revs[i].key_id);

		if (e != NULL) {
			e->revoked = 1;
			e->revoked_at_ms = revs[i].at;
		}
	}
	*out = t;
	t = NULL; /* transferred */
	rc = MASH_OK;
out:
	if (d != NULL)
		closedir(d);
	mash_free(revs);
	mash_trust_free(t);
	return rc;
}

int
mash_trust_lookup(const struct mash_trust *t, const char *signer,
                  const char *key_id, const struct mash_key **key)
{
	const struct entry *e;

	if (key != NULL)
		*key = NULL;
	if (t == NULL)
		return MASH_ERR_INVAL;
	e = find(t, signer, key_id);
	if (e == NULL)
		return MASH_ERR_UNKNOWN_KEY;
	if (e->revoked)
		return MASH_ERR_REVOKED_KEY;
	if (key != NULL)
		*key = e->key;
	return MASH_OK;
}

size_t
mash_trust_count(const struct mash_trust *t)
{
	return t == NULL ? 0 : t->n;
}

int
mash_trust_get(const struct mash_trust *t, size_t i,
               struct mash_trust_info *out)
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (t == NULL || i >= t->n)
		return MASH_ERR_INVAL;
	out->signer = t->e[i].signer;
	out->key_id = t->e[i].key_id;
	out->revoked = t->e[i].revoked;
	out->revoked_at_ms = t->e[i].revoked_at_ms;
	return MASH_OK;
}

static int
ensure_dir(const char *path, char *why, size_t whylen)
{
	struct stat st;

	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		mash_why(why, whylen, "trust store: cannot create %s: %s", path,
		         strerror(errno));
		return MASH_ERR_IO;
	}
	if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		mash_why(why, whylen, "trust store: %s is not a directory",
		         path);
		return MASH_ERR_IO;
	}
	return MASH_OK;
}

static int
key_paths(const char *dir, const char *signer, const char *key_id, char *sdir,
          char *pub, char *rev, char *why, size_t whylen)
{
	if (dir == NULL || signer == NULL || key_id == NULL)
		return MASH_ERR_INVAL;
	if (!mash_trust_id_valid(signer)) {
		mash_why(why, whylen,
		         "signer \"%.64s\" is not [a-z0-9._-]{1,64}", signer);
		return MASH_ERR_BAD_ID;
	}
	if (!mash_trust_id_valid(key_id)) {
		mash_why(why, whylen,
		         "key id \"%.64s\" is not [a-z0-9._-]{1,64}", key_id);
		return MASH_ERR_BAD_ID;
	}
	if (mash_snprintf(sdir, PATH_BUF, "%s/%s", dir, signer) != MASH_OK ||
	    mash_snprintf(pub, PATH_BUF, "%s/%s" PUB_SUFFIX, sdir, key_id) !=
	        MASH_OK ||
	    mash_snprintf(rev, PATH_BUF, "%s/%s" REV_SUFFIX, sdir, key_id) !=
	        MASH_OK) {
		mash_why(why, whylen, "trust store: path too long: %s", dir);
		return MASH_ERR_INVAL;
	}
	return MASH_OK;
}

int
mash_trust_add_key(const char *dir, const char *signer, const char *key_id,
                   const struct mash_key *key, char *why, size_t whylen)
{
	char sdir[PATH_BUF], pub[PATH_BUF], rev[PATH_BUF];
	struct stat st;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (key == NULL)
		return MASH_ERR_INVAL;
	rc = key_paths(dir, signer, key_id, sdir, pub, rev, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = ensure_dir(dir, why, whylen);
	if (rc != MASH_OK)
		goto out;
	rc = ensure_dir(sdir, why, whylen);
	if (rc != MASH_OK)
		goto out;
	if (lstat(rev, &st) == 0) {
		rc = MASH_ERR_EXISTS;
		mash_why(why, whylen,
		         "key %s/%s was revoked; key ids are never "
		         "reused",
		         signer, key_id);
		goto out;
	}
	rc = mash_key_save_public(key, pub);
	if (rc == MASH_ERR_EXISTS)
		mash_why(why, whylen, "key %s/%s is already in the store (%s)",
		         signer, key_id, pub);
	else if (rc != MASH_OK)
		mash_why(why, whylen, "cannot write %s: %s", pub,
		         mash_strerror(rc));
out:
	return rc;
}

int
mash_trust_add(const char *dir, const char *signer, const char *key_id,
               const char *pubfile, char *why, size_t whylen)
{
	struct mash_key *k = NULL;
	int rc = MASH_ERR_INVAL;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (pubfile == NULL)
		goto out;
	rc = mash_key_load_public(pubfile, &k);
	if (rc != MASH_OK) {
		mash_why(why, whylen, "%s: %s", pubfile, mash_strerror(rc));
		goto out;
	}
	rc = mash_trust_add_key(dir, signer, key_id, k, why, whylen);
out:
	mash_key_free(k);
	return rc;
}

int
mash_trust_revoke(const char *dir, const char *signer, const char *key_id,
                  const struct mash_clock *clock, char *why, size_t whylen)
{
	char sdir[PATH_BUF], pub[PATH_BUF], rev[PATH_BUF], line[64];
	struct stat st;
	size_t off = 0, n;
	int fd = -1, rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (clock == NULL)
		return MASH_ERR_INVAL;
	rc = key_paths(dir, signer, key_id, sdir, pub, rev, why, whylen);
	if (rc != MASH_OK)
		goto out;
	if (lstat(pub, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = MASH_ERR_UNKNOWN_KEY;
		mash_why(why, whylen, "key %s/%s is not in the store %s",
		         signer, key_id, dir);
		goto out;
	}
	(void)mash_snprintf(line, sizeof(line), "revoked_at_ms=%lld\n",
	                    (long long)mash_clock_now(clock));
	fd = open(rev, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	          0644);
	if (fd < 0 && errno == EEXIST) {
		rc = MASH_OK; /* already revoked: keep the first time */
		goto out;
	}
	if (fd < 0) {
		rc = MASH_ERR_IO;
		mash_why(why, whylen, "cannot create %s: %s", rev,
		         strerror(errno));
		goto out;
	}
	n = strlen(line);
	while (off < n) {
		ssize_t w = write(fd, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	/* A short write still revokes (the record's existence does). */
	rc = off == n && fsync(fd) == 0 ? MASH_OK : MASH_ERR_IO;
	if (rc != MASH_OK)
		mash_why(why, whylen,
		         "writing %s: %s (the key is revoked, the "
		         "record's time may be missing)",
		         rev, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

void
mash_trust_free(struct mash_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		mash_key_free(t->e[i].key);
	mash_free(t->e);
	mash_free(t);
}
