/*
 * trigger_view.c - a trigger as one attendee may read it. See
 * trigger_view.h.
 */
#include <string.h>

#include "common/err.h"
#include "common/str.h"
#include "daemon/trigger_view.h"

/* The agencies a reason sentence can start with (s47.c's sentences put
 * the reporting agency first). */
static const char *const agencies[] = {"police", "health",  "education",
                                       "yot",    "housing", "social-care"};
#define N_AGENCIES (sizeof(agencies) / sizeof(agencies[0]))

/* The agency sentence s is about, or NULL for one about no single
 * agency (a count of agencies). */
static const char *
sentence_agency(const char *s, size_t len)
{
	size_t i, n;

	for (i = 0; i < N_AGENCIES; i++) {
		n = strlen(agencies[i]);
		if (len > n && strncmp(s, agencies[i], n) == 0 && s[n] == ' ')
			return agencies[i];
	}
	return NULL;
}

/* Length of the rule id that reason starts with ("id: "), 0 if none. The
 * longest wins (an id may be a prefix of another). */
static size_t
rule_at(const char *const *ids, size_t n_ids, const char *s)
{
	size_t i, len, best = 0;

	for (i = 0; i < n_ids; i++) {
		if (ids[i] == NULL)
			continue;
		len = strlen(ids[i]);
		if (len > best && strncmp(s, ids[i], len) == 0 &&
		    s[len] == ':' && s[len + 1] == ' ')
			best = len;
	}
	return best;
}

/* Where the piece starting at s ends: at the " " before the next
 * "rule_id: ", or at the end. */
static const char *
piece_end(const char *const *ids, size_t n_ids, const char *s)
{
	const char *p;

	for (p = strchr(s, ' '); p != NULL; p = strchr(p + 1, ' '))
		if (rule_at(ids, n_ids, p + 1) > 0)
			return p;
	return s + strlen(s);
}

/* Append text[0, len) to out (with a " " between pieces); 0 if it does
 * not fit (nothing appended). */
static int
append(char *out, size_t outsz, const char *text, size_t len)
{
	size_t at = strlen(out), sep = at > 0 ? 1 : 0;

	if (at + sep + len + 1 > outsz)
		return 0;
	if (sep)
		out[at++] = ' ';
	memcpy(out + at, text, len);
	out[at + len] = '\0';
	return 1;
}

int
mashd_trigger_view_for(const struct mash_s47_policy *pol,
                       const struct mash_s47_open *trig, const char *case_id,
                       const char *recipient, mashd_sees_fn sees, void *ctx,
                       char *out, size_t outsz, int *keep)
{
	const char *ids[MASH_S47_MAX_RULES];
	size_t n_ids, i;

	if (trig == NULL)
		return MASH_ERR_INVAL;
	n_ids = mash_s47_policy_rule_count(pol);
	if (n_ids > MASH_S47_MAX_RULES)
		n_ids = MASH_S47_MAX_RULES;
	for (i = 0; i < n_ids; i++)
		ids[i] = mash_s47_policy_rule_id(pol, i);
	return mashd_trigger_view(
	    ids, n_ids, trig->reason,
	    (const char(*)[MASH_S47_MAX_REF])trig->events,
	    trig->n_events < MASH_S47_MAX_CONTRIB ? trig->n_events
	                                          : MASH_S47_MAX_CONTRIB,
	    case_id, recipient, trig->level, sees, ctx, out, outsz, keep);
}

int
mashd_trigger_view(const char *const *rule_ids, size_t n_rule_ids,
                   const char *reason, const char (*events)[MASH_S47_MAX_REF],
                   size_t n_events, const char *case_id, const char *recipient,
                   unsigned level, mashd_sees_fn sees, void *ctx, char *out,
                   size_t outsz, int *keep)
{
	int record[MASH_S47_MAX_CONTRIB], signpost[MASH_S47_MAX_CONTRIB];
	const char *p, *end, *ag;
	char piece[MASH_S47_MAX_REASON + 64];
	unsigned n_ag = 0;
	size_t i, k, idlen;
	int rec_all, sign_any, found;

	if (reason == NULL || (events == NULL && n_events > 0) ||
	    case_id == NULL || recipient == NULL || sees == NULL ||
	    out == NULL || outsz == 0 || (keep == NULL && n_events > 0) ||
	    n_events > MASH_S47_MAX_CONTRIB)
		return MASH_ERR_INVAL;
	out[0] = '\0';
	/* How many agencies the trigger draws on (known to several). */
	for (k = 0; k < N_AGENCIES; k++)
		for (i = 0; i < n_events; i++)
			if (strncmp(events[i], agencies[k],
			            strlen(agencies[k])) == 0 &&
			    events[i][strlen(agencies[k])] == '/') {
				n_ag++;
				break;
			}
	for (i = 0; i < n_events; i++) {
		record[i] = signpost[i] = 0;
		if (sees(ctx, case_id, recipient, events[i], level, n_ag,
		         &record[i], &signpost[i]) != MASH_OK)
			record[i] = signpost[i] = 0;
		keep[i] = record[i];
	}
	for (p = reason; *p != '\0'; p = *end ? end + 1 : end) {
		idlen = rule_at(rule_ids, n_rule_ids, p);
		end = idlen > 0 ? piece_end(rule_ids, n_rule_ids, p + idlen)
		                : p + strlen(p);
		ag = idlen > 0 ? sentence_agency(p + idlen + 2,
		                                 (size_t)(end - p) - idlen - 2)
		               : NULL;
		if (idlen == 0) {
			/* Not in the form s47.c writes: told only to an
			 * attendee who sees every contributing event. */
			for (i = 0, rec_all = 1; i < n_events; i++)
				rec_all &= record[i];
			if (rec_all)
				(void)append(out, outsz, p, strlen(p));
			break;
		}
		if (ag == NULL) {
			(void)append(out, outsz, p, (size_t)(end - p));
			continue;
		}
		rec_all = 1;
		sign_any = found = 0;
		for (i = 0; i < n_events; i++) {
			if (strncmp(events[i], ag, strlen(ag)) != 0 ||
			    events[i][strlen(ag)] != '/')
				continue;
			found = 1;
			rec_all &= record[i];
			sign_any |= signpost[i] | record[i];
		}
		if (found && rec_all) {
			(void)append(out, outsz, p, (size_t)(end - p));
		} else if (sign_any &&
		           mash_snprintf(piece, sizeof(piece),
		                         "%.*s: %s contributed.", (int)idlen, p,
		                         ag) == MASH_OK) {
			(void)append(out, outsz, piece, strlen(piece));
		}
	}
	return MASH_OK;
}
