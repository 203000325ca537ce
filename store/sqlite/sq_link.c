/*
 * sq_link.c - linkage: which case an event is about (store.h
 * sq_case_link).
 */
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "event/evt.h"
#include "store/sqlite/sq_int.h"

/* ------------------------------------------------------------------ */
/* Cases and linkage                                                   */

/*
 * The NHS number, spaces ignored (numbers are printed 3-3-4), checked
 * with event/'s Modulus 11 rule so that linkage and validation agree.
 * Writes the 10 digits to out[11]; MASH_OK, or MASH_ERR_BAD_NHS.
 */
static int
norm_nhs(const char *s, char out[11])
{
	size_t n = 0;

	out[0] = '\0';
	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (n == 10)
			return MASH_ERR_BAD_NHS;
		out[n++] = *s;
	}
	out[n] = '\0';
	if (!mash_evt_nhs_valid(out)) {
		out[0] = '\0';
		return MASH_ERR_BAD_NHS;
	}
	return MASH_OK;
}

/* The subject after checking and normalising. Empty string = absent.
 * With store keys (sq_identity.c) the four linkage values are replaced by
 * their MACs before any lookup: every rule below compares for equality,
 * which MACs keep. keyed: that happened; the clear subject is then kept
 * only in the sealed identity (ident). */
struct norm_subject {
	char nhs[MASH_ATREST_MAC_HEX];
	char family[MASH_MAX_SHORT + 1];
	char postcode[MASH_MAX_SHORT + 1];
	char dobbuf[MASH_ATREST_MAC_HEX];
	const char *dob;
	int keyed;
	char clear_nhs[11];
	const char *ident[SQ_ID_FIELDS];
};

static int
present(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static int
normalise_subject(const struct mash_store_subject *s, struct norm_subject *n)
{
	const char *fields[6];
	struct mash_date dob;
	size_t i;
	int rc;

	memset(n, 0, sizeof(*n));
	fields[0] = s->nhs_number;
	fields[1] = s->given_name;
	fields[2] = s->family_name;
	fields[3] = s->date_of_birth;
	fields[4] = s->postcode;
	fields[5] = s->sex;
	for (i = 0; i < 6; i++) {
		rc = mash_str_check(fields[i], MASH_MAX_SHORT);
		if (rc != MASH_OK)
			return rc;
	}
	if (present(s->nhs_number)) {
		rc = norm_nhs(s->nhs_number, n->nhs);
		if (rc != MASH_OK)
			return rc;
	}
	if (present(s->date_of_birth)) {
		if (mash_evt_date_parse(s->date_of_birth, &dob) != MASH_OK)
			return MASH_ERR_BAD_DATE;
		n->dob = s->date_of_birth;
	}
	/* event/'s normalisers, the ones validation used to decide the
	 * subject has full demographics. Inputs are at most MASH_MAX_SHORT
	 * bytes, so the buffers cannot truncate. */
	if (present(s->family_name))
		(void)mash_evt_norm_family(s->family_name, n->family,
		                           sizeof(n->family));
	if (present(s->postcode))
		(void)mash_evt_norm_postcode(s->postcode, n->postcode,
		                             sizeof(n->postcode));
	if (n->nhs[0] == '\0' &&
	    (n->family[0] == '\0' || n->dob == NULL || n->postcode[0] == '\0'))
		return MASH_ERR_NO_IDENTITY;
	return MASH_OK;
}

/* With store keys: keep the clear subject for the sealed identity, and
 * link on the MACs of its linkage values. */
static int
key_subject(struct mash_store_be *st, const struct mash_store_subject *s,
            struct norm_subject *n)
{
	int rc, k = sq_link_keyed(st);

	if (k < 0)
		return MASH_ERR_DENIED;
	if (k == 0)
		return MASH_OK;
	n->keyed = 1;
	(void)mash_strlcpy(n->clear_nhs, n->nhs, sizeof(n->clear_nhs));
	n->ident[SQ_ID_NHS] = n->clear_nhs[0] != '\0' ? n->clear_nhs : NULL;
	n->ident[SQ_ID_GIVEN] = present(s->given_name) ? s->given_name : NULL;
	n->ident[SQ_ID_FAMILY] =
	    present(s->family_name) ? s->family_name : NULL;
	n->ident[SQ_ID_DOB] = n->dob;
	n->ident[SQ_ID_POSTCODE] = present(s->postcode) ? s->postcode : NULL;
	n->ident[SQ_ID_SEX] = present(s->sex) ? s->sex : NULL;
	rc = sq_link_mac(st, SQ_MAC_NHS, n->nhs, sizeof(n->nhs));
	if (rc == MASH_OK)
		rc = sq_link_mac(st, SQ_MAC_FAMILY, n->family,
		                 sizeof(n->family));
	if (rc == MASH_OK)
		rc = sq_link_mac(st, SQ_MAC_POSTCODE, n->postcode,
		                 sizeof(n->postcode));
	if (rc == MASH_OK && n->dob != NULL) {
		(void)mash_strlcpy(n->dobbuf, n->dob, sizeof(n->dobbuf));
		rc = sq_link_mac(st, SQ_MAC_DOB, n->dobbuf, sizeof(n->dobbuf));
		n->dob = n->dobbuf;
	}
	return rc;
}

/* What the display columns get: the value in a clear store, NULL when
 * the identity is sealed. */
static const char *
shown(const struct norm_subject *n, const char *v)
{
	return n->keyed ? NULL : v;
}

/* Look up one case id by a single text key (S_CASE_BY_NHS). */
static int
case_by_key(struct mash_store_be *st, enum stmt_id id, const char *key,
            char case_id[MASH_STORE_CASE_ID_SIZE])
{
	sqlite3_stmt *s = NULL;
	int rc;
	int src;

	case_id[0] = '\0';
	rc = sq_stmt(st, id, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "case bind");
		goto out;
	}
	src = sqlite3_step(s);
	if (src == SQLITE_DONE) {
		rc = MASH_ERR_NOT_FOUND;
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = sq_fail(st, src, "case lookup");
		goto out;
	}
	sq_col_text(s, 0, case_id, MASH_STORE_CASE_ID_SIZE);
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}

/* Fill the case's unknown demographics (and NHS number) from s. */
static int
case_fill(struct mash_store_be *st, const char *case_id,
          const struct mash_store_subject *s, const struct norm_subject *n)
{
	sqlite3_stmt *q = NULL;
	int rc;
	int src;

	rc = sq_stmt(st, S_CASE_FILL, &q);
	if (rc != MASH_OK)
		goto out;
	if (sq_bind_text_or_null(q, 1, n->nhs) ||
	    sq_bind_text_or_null(q, 2, shown(n, s->given_name)) ||
	    sq_bind_text_or_null(q, 3, shown(n, s->family_name)) ||
	    sq_bind_text_or_null(q, 4, n->dob) ||
	    sq_bind_text_or_null(q, 5, shown(n, s->postcode)) ||
	    sq_bind_text_or_null(q, 6, shown(n, s->sex)) ||
	    sq_bind_text_or_null(q, 7, n->family) ||
	    sq_bind_text_or_null(q, 8, n->postcode) ||
	    sqlite3_bind_text(q, 9, case_id, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "case fill bind");
		goto out;
	}
	src = sqlite3_step(q);
	rc = src == SQLITE_DONE ? MASH_OK : sq_fail(st, src, "case fill");
	if (rc == MASH_OK && n->keyed)
		rc = sq_identity_fill(st, case_id, n->ident);
out:
	sq_stmt_done(q);
	return rc;
}

/* Candidates for possible-match rows. */
struct candidates {
	char case_id[MASH_STORE_MAX_CANDIDATES][MASH_STORE_CASE_ID_SIZE];
	const char *reason[MASH_STORE_MAX_CANDIDATES];
	size_t n;
};

static void
cand_add(struct candidates *c, const char *case_id, const char *reason)
{
	if (c->n == MASH_STORE_MAX_CANDIDATES)
		return;
	(void)mash_strlcpy(c->case_id[c->n], case_id, MASH_STORE_CASE_ID_SIZE);
	c->reason[c->n] = reason;
	c->n++;
}

/*
 * Exact demographic match: the first case (oldest) that has no NHS number,
 * or any case if the subject has none, goes to found[]; a case whose NHS
 * number differs from the subject's is a candidate.
 */
static int
match_demographics(struct mash_store_be *st, const struct norm_subject *n,
                   char found[MASH_STORE_CASE_ID_SIZE], struct candidates *c)
{
	sqlite3_stmt *s = NULL;
	char id[MASH_STORE_CASE_ID_SIZE];
	int rc;
	int src;

	found[0] = '\0';
	rc = sq_stmt(st, S_CASE_BY_DEMOGRAPHICS, &s);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(s, 1, n->family, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, n->dob, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, n->postcode, -1, SQLITE_STATIC)) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "demo bind");
		goto out;
	}
	for (;;) {
		src = sqlite3_step(s);
		if (src == SQLITE_DONE)
			break;
		if (src != SQLITE_ROW) {
			rc = sq_fail(st, src, "demographic match");
			goto out;
		}
		sq_col_text(s, 0, id, sizeof(id));
		if (n->nhs[0] == '\0' ||
		    sqlite3_column_type(s, 1) == SQLITE_NULL) {
			if (found[0] == '\0')
				(void)mash_strlcpy(found, id,
				                   MASH_STORE_CASE_ID_SIZE);
		} else {
			cand_add(c, id, "demographics-nhs-differs");
		}
	}
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}

/*
 * Partial matches (never merged, Working Together 2013: identity must be
 * confirmed by a practitioner, not inferred): same family name and DOB
 * with another postcode; same DOB and postcode with another family name.
 */
static int
match_partial(struct mash_store_be *st, const struct norm_subject *n,
              struct candidates *c)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *other;
	char id[MASH_STORE_CASE_ID_SIZE];
	int rc = MASH_OK;
	int src;

	if (n->family[0] != '\0' && n->dob != NULL) {
		rc = sq_stmt(st, S_CASE_BY_FAMILY_DOB, &s);
		if (rc != MASH_OK)
			goto out;
		if (sqlite3_bind_text(s, 1, n->family, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(s, 2, n->dob, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int(s, 3, (int)MASH_STORE_MAX_CANDIDATES)) {
			rc = sq_fail(st, sqlite3_errcode(st->db), "fd bind");
			goto out;
		}
		while ((src = sqlite3_step(s)) == SQLITE_ROW) {
			other = sqlite3_column_text(s, 1);
			/* Same postcode too: handled as an exact match. */
			if (n->postcode[0] != '\0' && other != NULL &&
			    strcmp((const char *)other, n->postcode) == 0)
				continue;
			sq_col_text(s, 0, id, sizeof(id));
			cand_add(c, id, "family-dob");
		}
		if (src != SQLITE_DONE) {
			rc = sq_fail(st, src, "family-dob match");
			goto out;
		}
		sq_stmt_done(s);
		s = NULL;
	}
	if (n->dob != NULL && n->postcode[0] != '\0') {
		rc = sq_stmt(st, S_CASE_BY_DOB_POSTCODE, &s);
		if (rc != MASH_OK)
			goto out;
		if (sqlite3_bind_text(s, 1, n->dob, -1, SQLITE_STATIC) ||
		    sqlite3_bind_text(s, 2, n->postcode, -1, SQLITE_STATIC) ||
		    sqlite3_bind_int(s, 3, (int)MASH_STORE_MAX_CANDIDATES)) {
			rc = sq_fail(st, sqlite3_errcode(st->db), "dp bind");
			goto out;
		}
		while ((src = sqlite3_step(s)) == SQLITE_ROW) {
			other = sqlite3_column_text(s, 1);
			if (n->family[0] != '\0' && other != NULL &&
			    strcmp((const char *)other, n->family) == 0)
				continue;
			sq_col_text(s, 0, id, sizeof(id));
			cand_add(c, id, "dob-postcode");
		}
		if (src != SQLITE_DONE) {
			rc = sq_fail(st, src, "dob-postcode match");
			goto out;
		}
	}
	rc = MASH_OK;
out:
	sq_stmt_done(s);
	return rc;
}

/* A fresh, unused case id "C-" + 12 hex digits from the random source. */
static int
new_case_id(struct mash_store_be *st, char case_id[MASH_STORE_CASE_ID_SIZE])
{
	unsigned char rnd[6];
	char hex[13];
	char tmp[MASH_STORE_CASE_ID_SIZE];
	int attempt;
	int rc;

	case_id[0] = '\0';
	for (attempt = 0; attempt < 16; attempt++) {
		rc = st->rnd(st->rnd_ctx, rnd, sizeof(rnd));
		if (rc != MASH_OK)
			return rc;
		mash_hex(rnd, sizeof(rnd), hex);
		rc = mash_snprintf(case_id, MASH_STORE_CASE_ID_SIZE, "C-%s",
		                   hex);
		if (rc != MASH_OK)
			return rc;
		rc = case_by_key(st, S_CASE_EXISTS, case_id, tmp);
		if (rc == MASH_ERR_NOT_FOUND)
			return MASH_OK;
		if (rc != MASH_OK)
			return rc;
	}
	case_id[0] = '\0';
	mash_err("store: random source keeps repeating case ids");
	return MASH_ERR_INTERNAL;
}

static int
case_insert(struct mash_store_be *st, const char *case_id,
            const struct mash_store_subject *s, const struct norm_subject *n)
{
	sqlite3_stmt *q = NULL;
	uint8_t *ident = NULL;
	size_t ilen = 0;
	int rc;
	int src;

	if (n->keyed) {
		rc = sq_identity_seal(st, case_id, n->ident, &ident, &ilen);
		if (rc != MASH_OK)
			goto out;
	}
	rc = sq_stmt(st, S_CASE_INSERT, &q);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(q, 1, case_id, -1, SQLITE_STATIC) ||
	    sq_bind_text_or_null(q, 2, n->nhs) ||
	    sq_bind_text_or_null(q, 3, shown(n, s->given_name)) ||
	    sq_bind_text_or_null(q, 4, shown(n, s->family_name)) ||
	    sq_bind_text_or_null(q, 5, n->dob) ||
	    sq_bind_text_or_null(q, 6, shown(n, s->postcode)) ||
	    sq_bind_text_or_null(q, 7, shown(n, s->sex)) ||
	    sq_bind_text_or_null(q, 8, n->family) ||
	    sq_bind_text_or_null(q, 9, n->postcode) ||
	    sqlite3_bind_int64(q, 10, mash_clock_now(st->clock)) ||
	    (ident != NULL ? sq_bind_blob(q, 11, ident, ilen)
	                   : sqlite3_bind_null(q, 11))) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "case bind");
		goto out;
	}
	src = sqlite3_step(q);
	rc = src == SQLITE_DONE ? MASH_OK : sq_fail(st, src, "case insert");
out:
	sq_stmt_done(q);
	mash_free(ident);
	return rc;
}

static int
match_insert(struct mash_store_be *st, const char *a, const char *b,
             const char *reason)
{
	sqlite3_stmt *q = NULL;
	int rc;
	int src;

	rc = sq_stmt(st, S_MATCH_INSERT, &q);
	if (rc != MASH_OK)
		goto out;
	if (sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(q, 3, reason, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(q, 4, mash_clock_now(st->clock))) {
		rc = sq_fail(st, sqlite3_errcode(st->db), "match bind");
		goto out;
	}
	src = sqlite3_step(q);
	rc = src == SQLITE_DONE ? MASH_OK : sq_fail(st, src, "match insert");
out:
	sq_stmt_done(q);
	return rc;
}

/* The linkage rules of sq_case_link, without the savepoint. */
static int
case_link(struct mash_store_be *st, const struct mash_store_subject *s,
          char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new)
{
	struct norm_subject n;
	struct candidates cand;
	char id[MASH_STORE_CASE_ID_SIZE];
	size_t i;
	int rc = MASH_ERR_INVAL;

	if (case_id != NULL)
		case_id[0] = '\0';
	if (is_new != NULL)
		*is_new = 0;
	memset(&cand, 0, sizeof(cand));
	id[0] = '\0';
	if (st == NULL || s == NULL || case_id == NULL)
		goto out;
	rc = normalise_subject(s, &n);
	if (rc == MASH_OK)
		rc = key_subject(st, s, &n);
	if (rc != MASH_OK)
		goto out;
	/* 1. exact on a valid NHS number */
	if (n.nhs[0] != '\0') {
		rc = case_by_key(st, S_CASE_BY_NHS, n.nhs, id);
		if (rc == MASH_OK) {
			rc = case_fill(st, id, s, &n);
			if (rc != MASH_OK)
				goto out;
			goto found;
		}
		if (rc != MASH_ERR_NOT_FOUND)
			goto out;
	}
	/* 2. exact on normalised family name + DOB + postcode */
	if (n.family[0] != '\0' && n.dob != NULL && n.postcode[0] != '\0') {
		rc = match_demographics(st, &n, id, &cand);
		if (rc != MASH_OK)
			goto out;
		if (id[0] != '\0') {
			/* learns the NHS number if it had none */
			rc = case_fill(st, id, s, &n);
			if (rc != MASH_OK)
				goto out;
			goto found;
		}
	}
	/* 3. a new case, with any partial matches for an analyst */
	rc = match_partial(st, &n, &cand);
	if (rc != MASH_OK)
		goto out;
	rc = new_case_id(st, id);
	if (rc != MASH_OK)
		goto out;
	rc = case_insert(st, id, s, &n);
	if (rc != MASH_OK)
		goto out;
	for (i = 0; i < cand.n; i++) {
		rc = match_insert(st, cand.case_id[i], id, cand.reason[i]);
		if (rc != MASH_OK)
			goto out;
	}
	if (cand.n > 0)
		mash_info("store: case %s has %zu possible match(es)", id,
		          cand.n);
	if (is_new != NULL)
		*is_new = 1;
found:
	(void)mash_strlcpy(case_id, id, MASH_STORE_CASE_ID_SIZE);
	rc = MASH_OK;
out:
	return rc;
}

/*
 * Linkage writes up to three kinds of row (a case, its possible matches,
 * learnt fields); a savepoint makes it all-or-nothing even when the
 * caller forgot the transaction, and leaves the caller's transaction
 * usable when linkage fails.
 */
int
sq_case_link(struct mash_store_be *st, const struct mash_store_subject *s,
             char case_id[MASH_STORE_CASE_ID_SIZE], int *is_new)
{
	int rc;

	if (case_id != NULL)
		case_id[0] = '\0';
	if (is_new != NULL)
		*is_new = 0;
	if (st == NULL || s == NULL || case_id == NULL)
		return MASH_ERR_INVAL;
	rc = sq_step_done(st, S_LINK_SAVEPOINT, "link savepoint");
	if (rc != MASH_OK)
		return rc;
	rc = case_link(st, s, case_id, is_new);
	if (rc == MASH_OK) {
		rc = sq_step_done(st, S_LINK_RELEASE, "link release");
		if (rc == MASH_OK)
			return MASH_OK;
	}
	case_id[0] = '\0';
	if (is_new != NULL)
		*is_new = 0;
	(void)sq_step_done(st, S_LINK_ROLLBACK_TO, "link rollback");
	(void)sq_step_done(st, S_LINK_RELEASE, "link release");
	return rc;
}

int
sq_case_find_nhs(struct mash_store_be *st, const char *nhs,
                 char case_id[MASH_STORE_CASE_ID_SIZE])
{
	char n[MASH_ATREST_MAC_HEX];
	int rc, k;

	if (case_id != NULL)
		case_id[0] = '\0';
	if (st == NULL || nhs == NULL || case_id == NULL)
		return MASH_ERR_INVAL;
	rc = norm_nhs(nhs, n);
	if (rc != MASH_OK)
		return rc;
	k = sq_link_keyed(st);
	if (k < 0)
		return MASH_ERR_DENIED;
	rc = sq_link_mac(st, SQ_MAC_NHS, n, sizeof(n));
	if (rc != MASH_OK)
		return rc;
	return case_by_key(st, S_CASE_BY_NHS, n, case_id);
}
