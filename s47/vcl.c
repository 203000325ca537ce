/*
 * vcl.c - Northumberland risk matrix bands and the RMG register rule.
 */
#include <string.h>

#include "common/err.h"
#include "s47/vcl.h"

#define MAX_ASSESSMENTS 4096u

static const char *const band_names[4] = {"LOW", "MEDIUM", "HIGH", "VERY_HIGH"};

enum mash_vcl_band
mash_vcl_band_from_max(uint32_t max_score)
{
	/* Risk matrix: 4 very high, 3 high, 2 medium, 0-1 low. */
	if (max_score >= 4)
		return MASH_VCL_VERY_HIGH;
	if (max_score == 3)
		return MASH_VCL_HIGH;
	if (max_score == 2)
		return MASH_VCL_MEDIUM;
	return MASH_VCL_LOW;
}

int
mash_vcl_band_from_scores(const uint32_t *scores, size_t n,
                          enum mash_vcl_band *out)
{
	uint32_t max = 0;
	size_t i;

	*out = MASH_VCL_LOW;
	if (scores == NULL && n > 0)
		return MASH_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if (scores[i] > MASH_VCL_MAX_SCORE)
			return MASH_ERR_INVAL;
		if (scores[i] > max)
			max = scores[i];
	}
	*out = mash_vcl_band_from_max(max);
	return MASH_OK;
}

const char *
mash_vcl_band_name(enum mash_vcl_band band)
{
	if ((int)band < 0 || (int)band > 3)
		return band_names[0];
	return band_names[band];
}

int
mash_vcl_band_parse(const char *s, enum mash_vcl_band *out)
{
	int i;

	for (i = 0; s != NULL && i < 4; i++) {
		if (strcmp(s, band_names[i]) == 0) {
			*out = (enum mash_vcl_band)i;
			return MASH_OK;
		}
	}
	return MASH_ERR_BAD_ENUM;
}

int
mash_vcl_band_refers_to_rmg(enum mash_vcl_band band)
{
	/* Procedure 6.6: "Where an assessment indicates a high or very high
	 * level of risk information should be referred to the multi-agency
	 * Risk Management Group". */
	return band == MASH_VCL_HIGH || band == MASH_VCL_VERY_HIGH;
}

/* 1 if assessment i comes after assessment j in (at_ms, index) order. */
static int
later(const struct mash_vcl_assessment *a, size_t i, size_t j)
{
	return a[i].at_ms > a[j].at_ms || (a[i].at_ms == a[j].at_ms && i > j);
}

int
mash_vcl_register_status(const struct mash_vcl_assessment *a, size_t n,
                         struct mash_vcl_register *out)
{
	size_t i, latest = n, last_off = n, first_on = n;

	memset(out, 0, sizeof(*out));
	out->band = MASH_VCL_LOW;
	if ((a == NULL && n > 0) || n > MAX_ASSESSMENTS)
		return MASH_ERR_INVAL;
	if (n == 0)
		return MASH_OK;
	/*
	 * 7.1: a young person reduced to medium/low "will no longer be
	 * reviewed as part of the RMG"; an increase to high/very high is a
	 * re-referral, so the current spell starts at the first referring
	 * assessment after the latest non-referring one.
	 */
	for (i = 0; i < n; i++) {
		if (latest == n || later(a, i, latest))
			latest = i;
		if (!mash_vcl_band_refers_to_rmg(a[i].band) &&
		    (last_off == n || later(a, i, last_off)))
			last_off = i;
	}
	out->band = a[latest].band;
	if (!mash_vcl_band_refers_to_rmg(a[latest].band))
		return MASH_OK;
	for (i = 0; i < n; i++) {
		if (!mash_vcl_band_refers_to_rmg(a[i].band))
			continue;
		if (last_off != n && !later(a, i, last_off))
			continue;
		if (first_on == n || later(a, first_on, i))
			first_on = i;
	}
	out->on_register = 1;
	out->since_ms = a[first_on].at_ms;
	/* "Assessments and plans are reviewed every three weeks". */
	out->next_review_ms = a[latest].at_ms + MASH_VCL_REVIEW_MS;
	return MASH_OK;
}
