/*
 * dir.c - the directory of principals (libconfig). Every principal becomes
 * an MQTT topic segment (mash/v1/inbox/{principal}) and a recipient of
 * policy decisions, so names are checked strictly and roles must be the
 * roles the policy knows (SHARED-DEFS.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libconfig.h>

#include "common/err.h"
#include "common/limits.h"
#include "common/mem.h"
#include "common/str.h"
#include "crypto/key.h"
#include "policy/cfgfile.h"
#include "policy/dir.h"
#include "policy/pol.h"

struct dir_principal {
	char *name;
	char *role;
	char *agency;
	char *team;
	char *contact;
	int has_enc;
	uint8_t enc_pub[MASH_DIR_ENC_KEY_LEN];
};

struct dir_agency {
	char *agency;
	char *contact;
};

struct mash_dir {
	struct dir_principal *p;
	size_t n;
	struct dir_agency *a;
	size_t n_a;
};

int
mash_dir_name_valid(const char *name)
{
	size_t n = 0;

	if (name == NULL)
		return 0;
	for (; name[n] != '\0'; n++) {
		char c = name[n];

		if (n >= MASH_DIR_MAX_NAME)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n >= 1;
}

void
mash_dir_free(struct mash_dir *dir)
{
	if (dir == NULL)
		return;
	for (size_t i = 0; i < dir->n; i++) {
		mash_free(dir->p[i].name);
		mash_free(dir->p[i].role);
		mash_free(dir->p[i].agency);
		mash_free_str(dir->p[i].team);
		mash_free_str(dir->p[i].contact);
	}
	mash_free(dir->p);
	for (size_t i = 0; i < dir->n_a; i++) {
		mash_free(dir->a[i].agency);
		mash_free_str(dir->a[i].contact);
	}
	mash_free(dir->a);
	mash_free(dir);
}

struct dctx {
	const char *path;
	char *errbuf;
	size_t errlen;
	int failed;
};

static void dproblem(struct dctx *d, const config_setting_t *s, const char *who,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Keep the first problem, located "file:line: principal 'x': message". */
static void
dproblem(struct dctx *d, const config_setting_t *s, const char *who,
         const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (d->failed++ > 0 || d->errbuf == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (who != NULL)
		(void)snprintf(d->errbuf, d->errlen, "%s:%u: %s: %s", d->path,
		               s != NULL ? config_setting_source_line(s) : 0u,
		               who, msg);
	else
		(void)snprintf(d->errbuf, d->errlen, "%s:%u: %s", d->path,
		               s != NULL ? config_setting_source_line(s) : 0u,
		               msg);
}

/* A string member of group g: MASH_OK with a copy in *out (""), or a
 * reported problem. */
static int
member_str(struct dctx *d, const config_setting_t *g, const char *key,
           int required, size_t max, const char *who, char **out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v;

	*out = NULL;
	if (s == NULL) {
		if (required) {
			dproblem(d, g, who, "missing '%s'", key);
			return MASH_ERR_CONFIG;
		}
		*out = mash_strdup("");
		return *out != NULL ? MASH_OK : MASH_ERR_NOMEM;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		dproblem(d, s, who, "'%s' must be a string", key);
		return MASH_ERR_CONFIG;
	}
	v = config_setting_get_string(s);
	if (v == NULL || mash_str_check(v, max) != MASH_OK) {
		dproblem(d, s, who,
		         "'%s' is not valid UTF-8 or longer than %zu bytes",
		         key, max);
		return MASH_ERR_CONFIG;
	}
	*out = mash_strdup(v);
	return *out != NULL ? MASH_OK : MASH_ERR_NOMEM;
}

static int
only_keys(struct dctx *d, const config_setting_t *g, const char *who,
          const char *const *keys, size_t nk)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s =
		    config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);
		size_t j;

		for (j = 0; j < nk; j++)
			if (k != NULL && strcmp(k, keys[j]) == 0)
				break;
		if (j == nk) {
			dproblem(d, s, who, "unknown key '%.64s'",
			         k != NULL ? k : "");
			return MASH_ERR_CONFIG;
		}
	}
	return MASH_OK;
}

/* The principal's X25519 public key for sealed deliveries (issue 25):
 * enc_key is a PEM SubjectPublicKeyInfo inline, or the path of one
 * (relative to the directory file). Absent: no key (nothing is sealed
 * to this principal, so nothing is delivered). Malformed: refused. */
static int
enc_key(struct dctx *d, const config_setting_t *g, const char *who,
        struct dir_principal *out)
{
	const config_setting_t *s = config_setting_get_member(g, "enc_key");
	struct mash_key *k = NULL;
	char path[4096];
	const char *v, *slash;
	int rc;

	if (s == NULL)
		return MASH_OK;
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    (v = config_setting_get_string(s)) == NULL || v[0] == '\0') {
		dproblem(d, s, who, "'enc_key' must be a PEM key or a path");
		return MASH_ERR_CONFIG;
	}
	if (strncmp(v, "-----BEGIN", 10) == 0) {
		rc = mash_key_parse_public_kind(MASH_KEY_X25519, v, strlen(v),
		                                &k);
	} else {
		slash = strrchr(d->path, '/');
		if (v[0] == '/' || slash == NULL)
			rc = mash_snprintf(path, sizeof(path), "%s", v);
		else
			rc = mash_snprintf(path, sizeof(path), "%.*s/%s",
			                   (int)(slash - d->path), d->path, v);
		if (rc == MASH_OK)
			rc = mash_key_load_kind(MASH_KEY_X25519, 0, path, &k);
		if (rc == MASH_ERR_NOT_FOUND || rc == MASH_ERR_IO) {
			dproblem(d, s, who, "enc_key %s: %s", path,
			         mash_file_strerror(rc));
			return MASH_ERR_CONFIG;
		}
	}
	if (rc == MASH_OK)
		rc = mash_key_public_raw(k, out->enc_pub);
	mash_key_free(k);
	if (rc != MASH_OK) {
		dproblem(d, s, who,
		         "enc_key is not an X25519 public key (PEM "
		         "SubjectPublicKeyInfo; mashctl keygen --kind x25519)");
		return MASH_ERR_CONFIG;
	}
	out->has_enc = 1;
	return MASH_OK;
}

static int
parse_principal(struct dctx *d, const config_setting_t *g,
                struct dir_principal *out, const struct dir_principal *prev,
                size_t n_prev)
{
	static const char *const keys[] = {"name", "role",    "agency",
	                                   "team", "contact", "enc_key"};
	char who[MASH_DIR_MAX_NAME + 32];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!config_setting_is_group(g)) {
		dproblem(d, g, NULL, "a principal must be a group { ... }");
		return MASH_ERR_CONFIG;
	}
	rc = member_str(d, g, "name", 1, MASH_DIR_MAX_NAME + 1, NULL,
	                &out->name);
	if (rc != MASH_OK)
		return rc;
	if (!mash_dir_name_valid(out->name)) {
		dproblem(d, config_setting_get_member(g, "name"), NULL,
		         "principal '%.64s': name must be [a-z0-9._-]{1,64}",
		         out->name);
		return MASH_ERR_CONFIG;
	}
	(void)snprintf(who, sizeof(who), "principal '%s'", out->name);
	for (size_t i = 0; i < n_prev; i++)
		if (strcmp(prev[i].name, out->name) == 0) {
			dproblem(d, g, who, "duplicate principal");
			return MASH_ERR_CONFIG;
		}
	rc = only_keys(d, g, who, keys, sizeof(keys) / sizeof(keys[0]));
	if (rc == MASH_OK)
		rc = member_str(d, g, "role", 1, MASH_MAX_SHORT, who,
		                &out->role);
	if (rc == MASH_OK && !mash_pol_role_valid(out->role)) {
		dproblem(d, config_setting_get_member(g, "role"), who,
		         "unknown role '%.64s'", out->role);
		rc = MASH_ERR_CONFIG;
	}
	if (rc == MASH_OK)
		rc = member_str(d, g, "agency", 1, MASH_MAX_AGENCY, who,
		                &out->agency);
	if (rc == MASH_OK && !mash_pol_agency_valid(out->agency)) {
		dproblem(d, config_setting_get_member(g, "agency"), who,
		         "unknown agency '%.64s'", out->agency);
		rc = MASH_ERR_CONFIG;
	}
	if (rc == MASH_OK)
		rc = member_str(d, g, "team", 0, MASH_DIR_MAX_TEXT, who,
		                &out->team);
	if (rc == MASH_OK)
		rc = member_str(d, g, "contact", 0, MASH_DIR_MAX_TEXT, who,
		                &out->contact);
	if (rc == MASH_OK)
		rc = enc_key(d, g, who, out);
	return rc;
}

static int
parse_agency(struct dctx *d, const config_setting_t *g, struct dir_agency *out,
             const struct dir_agency *prev, size_t n_prev)
{
	static const char *const keys[] = {"agency", "contact"};
	int rc;

	memset(out, 0, sizeof(*out));
	if (!config_setting_is_group(g)) {
		dproblem(d, g, NULL, "an agency must be a group { ... }");
		return MASH_ERR_CONFIG;
	}
	rc = only_keys(d, g, "agencies", keys, 2);
	if (rc == MASH_OK)
		rc = member_str(d, g, "agency", 1, MASH_MAX_AGENCY, "agencies",
		                &out->agency);
	if (rc == MASH_OK && !mash_pol_agency_valid(out->agency)) {
		dproblem(d, g, "agencies", "unknown agency '%.64s'",
		         out->agency);
		rc = MASH_ERR_CONFIG;
	}
	for (size_t i = 0; rc == MASH_OK && i < n_prev; i++)
		if (strcmp(prev[i].agency, out->agency) == 0) {
			dproblem(d, g, "agencies", "duplicate agency '%s'",
			         out->agency);
			rc = MASH_ERR_CONFIG;
		}
	if (rc == MASH_OK)
		rc = member_str(d, g, "contact", 1, MASH_DIR_MAX_TEXT,
		                "agencies", &out->contact);
	return rc;
}

int
mash_dir_load(const char *path, struct mash_dir **out, char *errbuf,
              size_t errlen)
{
	struct dctx d = {path, errbuf, errlen, 0};
	struct mash_dir *dir = NULL;
	config_t cfg;
	char *text = NULL;
	size_t len = 0;
	const config_setting_t *root, *s;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (path == NULL || out == NULL)
		return MASH_ERR_INVAL;
	config_init(&cfg);
	rc = policy__read_file(path, MASH_MAX_CONFIG_FILE, &text, &len, errbuf,
	                       errlen);
	if (rc != MASH_OK)
		goto out;
	rc = policy__parse(&cfg, path, text, errbuf, errlen);
	if (rc != MASH_OK)
		goto out;
	rc = MASH_ERR_NOMEM;
	dir = mash_calloc(1, sizeof(*dir));
	if (dir == NULL)
		goto out;
	rc = MASH_ERR_CONFIG;
	root = config_root_setting(&cfg);
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *e =
		    config_setting_get_elem(root, (unsigned)i);
		const char *k = config_setting_name(e);

		if (strcmp(k, "principals") != 0 &&
		    strcmp(k, "agencies") != 0) {
			dproblem(&d, e, NULL, "unknown key '%.64s'", k);
			goto out;
		}
	}
	s = config_setting_get_member(root, "principals");
	if (s == NULL || !config_setting_is_list(s)) {
		dproblem(&d, s != NULL ? s : root, NULL,
		         "'principals' must be a list ( {...}, ... )");
		goto out;
	}
	if ((unsigned)config_setting_length(s) > MASH_DIR_MAX_PRINCIPALS) {
		dproblem(&d, s, NULL, "more than %u principals",
		         MASH_DIR_MAX_PRINCIPALS);
		goto out;
	}
	dir->p =
	    mash_calloc((size_t)config_setting_length(s) + 1, sizeof(*dir->p));
	if (dir->p == NULL) {
		rc = MASH_ERR_NOMEM;
		goto out;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		int r =
		    parse_principal(&d, config_setting_get_elem(s, (unsigned)i),
		                    &dir->p[dir->n], dir->p, dir->n);

		dir->n++; /* so that free sees what was allocated */
		if (r != MASH_OK) {
			rc = r == MASH_ERR_NOMEM ? r : MASH_ERR_CONFIG;
			goto out;
		}
	}
	s = config_setting_get_member(root, "agencies");
	if (s != NULL) {
		if (!config_setting_is_list(s) ||
		    (unsigned)config_setting_length(s) > 16) {
			dproblem(&d, s, NULL,
			         "'agencies' must be a list of at most 16 "
			         "groups");
			goto out;
		}
		dir->a = mash_calloc((size_t)config_setting_length(s) + 1,
		                     sizeof(*dir->a));
		if (dir->a == NULL) {
			rc = MASH_ERR_NOMEM;
			goto out;
		}
		for (int i = 0; i < config_setting_length(s); i++) {
			int r = parse_agency(
			    &d, config_setting_get_elem(s, (unsigned)i),
			    &dir->a[dir->n_a], dir->a, dir->n_a);

			dir->n_a++;
			if (r != MASH_OK) {
				rc = r == MASH_ERR_NOMEM ? r : MASH_ERR_CONFIG;
				goto out;
			}
		}
	}
	*out = dir;
	dir = NULL; /* transferred */
	rc = MASH_OK;
out:
	if (rc == MASH_ERR_NOMEM && errbuf != NULL && errbuf[0] == '\0')
		(void)mash_snprintf(errbuf, errlen, "%s: out of memory", path);
	mash_dir_free(dir);
	config_destroy(&cfg);
	if (text != NULL)
		mash_free_secret(text, len);
	return rc;
}

size_t
mash_dir_count(const struct mash_dir *dir)
{
	return dir != NULL ? dir->n : 0;
}

static void
fill(const struct dir_principal *p, struct mash_dir_entry *out)
{
	out->principal = p->name;
	out->role = p->role;
	out->agency = p->agency;
	out->team = p->team;
	out->contact = p->contact;
	out->enc_pub = p->has_enc ? p->enc_pub : NULL;
}

int
mash_dir_get(const struct mash_dir *dir, size_t i, struct mash_dir_entry *out)
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (dir == NULL || i >= dir->n)
		return MASH_ERR_NOT_FOUND;
	fill(&dir->p[i], out);
	return MASH_OK;
}

int
mash_dir_lookup(const struct mash_dir *dir, const char *principal,
                struct mash_dir_entry *out)
{
	if (out == NULL)
		return MASH_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (dir == NULL || principal == NULL)
		return MASH_ERR_UNKNOWN_PRINCIPAL;
	for (size_t i = 0; i < dir->n; i++)
		if (strcmp(dir->p[i].name, principal) == 0) {
			fill(&dir->p[i], out);
			return MASH_OK;
		}
	return MASH_ERR_UNKNOWN_PRINCIPAL;
}

const char *
mash_dir_agency_contact(const struct mash_dir *dir, const char *agency)
{
	if (dir == NULL || agency == NULL)
		return NULL;
	for (size_t i = 0; i < dir->n_a; i++)
		if (strcmp(dir->a[i].agency, agency) == 0)
			return dir->a[i].contact;
	return NULL;
}
