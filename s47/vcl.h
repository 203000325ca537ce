/*
 * vcl.h - Vulnerability Checklist bands and the Risk Management Group
 * register (Northumberland risk matrix, seed 003: factor scores 0 "no
 * apparent risk" to 4 "very high apparent risk: ... significant harm is
 * considered imminent"; procedure 6.6-6.10 and 7.1).
 *
 * Pure functions, no allocation, no state.
 */
#ifndef MASH_VCL_H
#define MASH_VCL_H

#include <stddef.h>
#include <stdint.h>

/* Highest factor score of the risk matrix. */
#define MASH_VCL_MAX_SCORE 4u
/* RMG review cycle: "Assessments and plans are reviewed every three weeks". */
#define MASH_VCL_REVIEW_MS (21LL * 86400000LL)

enum mash_vcl_band {
	MASH_VCL_LOW = 0,
	MASH_VCL_MEDIUM = 1,
	MASH_VCL_HIGH = 2,
	MASH_VCL_VERY_HIGH = 3,
};

/*
 * The band of one checklist from its factor scores: any 4 -> VERY_HIGH;
 * else any 3 -> HIGH; else any 2 -> MEDIUM; else LOW (also for n == 0).
 * MASH_OK, or MASH_ERR_INVAL if a score exceeds 4 or scores is NULL with
 * n > 0 (*out is then LOW).
 */
int mash_vcl_band_from_scores(const uint32_t *scores, size_t n,
                              enum mash_vcl_band *out);

/* The band of a highest factor score (scores above 4 count as 4). */
enum mash_vcl_band mash_vcl_band_from_max(uint32_t max_score);

/* "LOW", "MEDIUM", "HIGH", "VERY_HIGH" (static); "LOW" for a bad value. */
const char *mash_vcl_band_name(enum mash_vcl_band band);

/* Parse a band name exactly: MASH_OK or MASH_ERR_BAD_ENUM. */
int mash_vcl_band_parse(const char *s, enum mash_vcl_band *out);

/* 1 if the band refers the young person to the RMG (HIGH, VERY_HIGH). */
int mash_vcl_band_refers_to_rmg(enum mash_vcl_band band);

/* One checklist assessment of the young person. */
struct mash_vcl_assessment {
	int64_t at_ms; /* when it was assessed (unix ms) */
	enum mash_vcl_band band;
};

/* Register status after a series of assessments. */
struct mash_vcl_register {
	int on_register;         /* 1 if on the RMG register now */
	int64_t since_ms;        /* start of the current spell (0 if off) */
	int64_t next_review_ms;  /* latest assessment + 3 weeks (0 if off) */
	enum mash_vcl_band band; /* band of the latest assessment */
};

/*
 * Apply the register rule to assessments (any order; sorted by at_ms here,
 * ties keep array order): a HIGH or VERY_HIGH assessment puts the young
 * person on the register, a later LOW or MEDIUM assessment takes them off.
 * *out is cleared first. MASH_OK, or MASH_ERR_INVAL if a is NULL with n > 0
 * or n is larger than 4096.
 */
int mash_vcl_register_status(const struct mash_vcl_assessment *a, size_t n,
                             struct mash_vcl_register *out);

#endif
