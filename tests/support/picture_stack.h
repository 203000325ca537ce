/*
 * picture_stack.h - integration-test harness for pictures: a real
 * mosquitto (support/broker.h), keys and a trust store for mashd, the
 * agencies and the demo principals, a real mashd with a policy, and the
 * story of SHARED-DEFS.md ingested as signed events; then signed picture
 * requests, audit-trail queries and `mashctl picture` runs against it.
 *
 * Tests only (prefix mash_picture_stack_). Every wait is bounded; free
 * stops mashd and the broker.
 */
#ifndef MASH_TEST_PICTURE_STACK_H
#define MASH_TEST_PICTURE_STACK_H

#include <stdint.h>

#include "mash/v1/mash.pb-c.h"

struct mash_picture_stack;

/*
 * Start a stack: temp dir, broker, keys (mashd, the six agencies,
 * analyst.amara, housing.officer1, auditor.ada, sw.sam), trust store,
 * mashd with policy_text written next to a copy of policy/s47.cfg (NULL:
 * the repository's policy/default.cfg) and policy/directory.cfg; then
 * publish the six story events for Jordan (NHS 9434765919) and one
 * education event for Alex (NHS 4010232137) and wait for their ACCEPTED
 * receipts. NULL on failure (reason on stderr, everything stopped).
 */
struct mash_picture_stack *mash_picture_stack_start(const char *tag,
                                                    const char *policy_text);

/* Stop mashd and the broker, remove the temp dir, free. NULL allowed. */
void mash_picture_stack_free(struct mash_picture_stack *s);

/* One picture request. */
struct mash_picture_ask {
	const char *principal;      /* signs; required */
	const char *purpose;        /* required */
	const char *nhs;            /* lookup by subject.nhs_number, or */
	const char *case_id;        /* by case id */
	const char *break_glass;    /* NULL: none */
	const char *response_topic; /* NULL: mash/v1/inbox/{principal} */
	/* Also watch this topic and count messages carrying our correlation
	 * data that arrive there (NULL: none). */
	const char *watch_topic;
};

/*
 * Sign and publish a PictureRequest; wait up to timeout_ms for the
 * answer with our correlation data on the principal's own inbox, verify
 * it (signed by mashd) and decode it into *out (free with
 * mash__v1__picture__free_unpacked(p, mash_env_pb_allocator())).
 * *stray (may be NULL) counts correlated messages seen on watch_topic
 * (after a further 500 ms grace). MASH_OK, MASH_ERR_TIMEOUT, or an error.
 */
int mash_picture_stack_ask(struct mash_picture_stack *s,
                           const struct mash_picture_ask *a,
                           Mash__V1__Picture **out, int *stray, int timeout_ms);

/* As ask, and also wait for a mashd-signed SharedRecord on
 * mash/v1/inbox/{notified} (the break-glass notification) into *note
 * (free with mash__v1__shared_record__free_unpacked; NULL if none came). */
int mash_picture_stack_ask_with_notice(struct mash_picture_stack *s,
                                       const struct mash_picture_ask *a,
                                       Mash__V1__Picture **out,
                                       const char *notified,
                                       Mash__V1__SharedRecord **note,
                                       int timeout_ms);

/* Publish a request claiming to be from principal but signed with a key
 * that is not in the trust store; wait timeout_ms for an answer.
 * MASH_ERR_TIMEOUT when none came (the expected outcome), MASH_OK if one
 * did. */
int mash_picture_stack_ask_forged(struct mash_picture_stack *s,
                                  const char *principal, int timeout_ms);

/* Audit records of type (e.g. "PICTURE_GRANTED") whose recipient is
 * principal (NULL: any), read from the store; -1 on error. */
int64_t mash_picture_stack_audit_count(struct mash_picture_stack *s,
                                       const char *type, const char *principal);

/* The canonical JSON of audit record seq (caller frees), or NULL. */
char *mash_picture_stack_audit_record(struct mash_picture_stack *s,
                                      uint64_t seq);

/*
 * Run `mashctl picture --config <stack's picture.cfg> ARGS...` (NULL-
 * terminated), bounded to 30 s; *out gets stdout+stderr (caller frees).
 * Returns the exit status, or -1 if it did not exit normally.
 */
int mash_picture_stack_mashctl(struct mash_picture_stack *s, char **out, ...);

/* The stack's paths (owned by s). */
const char *mash_picture_stack_dir(const struct mash_picture_stack *s);
const char *mash_picture_stack_db(const struct mash_picture_stack *s);

#endif
