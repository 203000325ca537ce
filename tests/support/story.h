/*
 * story.h - the demo story of SHARED-DEFS.md as signed AgencyEvents, for
 * tests: Jordan Reed (NHS 9434765919), six events from five agencies, plus
 * one education event about Alex Morgan (NHS 4010232137), a child known to
 * one agency only.
 */
#ifndef MASH_TEST_STORY_H
#define MASH_TEST_STORY_H

#include <stddef.h>
#include <stdint.h>

#include "mash/v1/mash.pb-c.h"

struct mash_key;

#define MASH_TEST_NHS_JORDAN "9434765919"
#define MASH_TEST_NHS_ALEX   "4010232137"

struct mash_test_story_event {
	const char *agency;
	const char *event_id;
	const char *date; /* occurred, 09:00 UTC */
	int category;
	unsigned severity;
	int consent;
	const char *summary;
	const char *nhs;
	int official_sensitive;
	int dnd_family;   /* do_not_disclose_to_family */
	unsigned vcl_rse; /* risk_of_sexual_exploitation score, 0 none */
};

/* Number of story events (7: Jordan's six in order, then Alex's). */
size_t mash_test_story_count(void);

/* Event i (static storage), NULL if out of range. */
const struct mash_test_story_event *mash_test_story_get(size_t i);

/* Unix ms of "YYYY-MM-DD" at 09:00 UTC; 0 if it does not parse. */
int64_t mash_test_story_ms(const char *date);

/*
 * Seal event i as its agency with key (key id key_id): a serialized
 * SignedEnvelope in *env (caller frees with mash_free), length *len.
 * MASH_OK or an error code.
 */
int mash_test_story_seal(size_t i, const struct mash_key *key,
                         const char *key_id, uint8_t **env, size_t *len);

#endif
