/*
 * explain.c - which rule decided which field of a decision. See pol.h
 * (mash_pol_decision_groups).
 *
 * An auditor or Caldicott guardian asks of every disclosure what was
 * shared, what was withheld, and which rule decided each (issue 26): the
 * one rule_id of a decision names only the rule that shared the most.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "policy/pol.h"

#define FBIT(f) ((uint64_t)1 << (f))

size_t
mash_pol_decision_groups(const struct mash_policy *pol,
                         const struct mash_pol_decision *d,
                         struct mash_pol_rule_group *out, size_t max)
{
	int16_t key[MASH_POL_F_COUNT + 1];
	uint64_t fields[MASH_POL_F_COUNT + 1];
	uint64_t present;
	size_t n = 0, g, i;
	int deny = -1; /* the default-deny group, once made */

	if (d == NULL)
		return 0;
	present = d->shared | d->withheld;
	for (unsigned f = 0; f < MASH_POL_F_COUNT; f++) {
		int16_t r = d->field_rule[f];

		if ((present & FBIT(f)) == 0)
			continue;
		/* A rule index the policy does not have (a decision from
		 * another policy) explains nothing: default-deny. */
		if (r >= 0 && mash_pol_rule_info(pol, (size_t)r, NULL, NULL,
		                                 NULL) != MASH_OK)
			r = -1;
		for (g = 0; g < n && key[g] != r; g++)
			;
		if (g == n) {
			key[n] = r;
			fields[n] = 0;
			if (r < 0)
				deny = (int)n;
			n++;
		}
		fields[g] |= FBIT(f);
	}
	/* default-deny last: the rules first, in the order they decided */
	for (i = 0, g = 0; i < n; i++) {
		struct mash_pol_rule_group e;

		if ((int)i == deny)
			continue;
		(void)mash_pol_rule_info(pol, (size_t)key[i], &e.rule_id,
		                         &e.legal_basis, NULL);
		e.fields = fields[i];
		/* A rule either shares or withholds all it decides; the
		 * decision is the authority on which. */
		e.shared = (fields[i] & d->shared) != 0;
		if (g < max)
			out[g] = e;
		g++;
	}
	if (deny >= 0) {
		if (g < max) {
			out[g].rule_id = "default-deny";
			out[g].legal_basis = "";
			out[g].shared = 0;
			out[g].fields = fields[deny];
		}
		g++;
	}
	return g;
}
