/*
 * map.h - per-agency mapping of one feed record (agents/feed.h) into a
 * Mash__V1__AgencyEvent with its typed detail (PoliceDetail, HealthDetail,
 * EducationDetail, YotDetail, HousingDetail, SocialCareDetail).
 *
 * Every agency shares the common columns (event_id, category, occurred_at,
 * nhs_number, ..., see agents/README.md) and adds its own record-reference
 * column, local person id column and detail columns (map_<agency>.c). A
 * record that the daemon would reject is rejected here, naming the column
 * and the reason; values are echoed in reasons only for non-sensitive
 * columns (dates of occurrence, categories, enums), never names, dates of
 * birth, NHS numbers or free text.
 */
#ifndef MASH_AGENT_MAP_H
#define MASH_AGENT_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "agents/feed.h"
#include "mash/v1/mash.pb-c.h"

/* "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx" + NUL. */
#define MASH_AGENT_UUID_LEN 37u
/* Separators inside list columns (offences, restrict_to_agencies, vcl,
 * related): items by ';', parts of a vcl / related item by ':'. */
#define MASH_AGENT_LIST_SEP ';'
#define MASH_AGENT_PART_SEP ':'

/* 1 if agency is one of the six agencies this agent maps, else 0. */
int mash_agent_agency_known(const char *agency);

/* The record-reference column of agency ("occurrence_ref" for police),
 * or NULL for an unknown agency. Static storage. */
const char *mash_agent_ref_column(const char *agency);

/*
 * The stable event id of (agency, agency_ref): a name-based (version 5,
 * SHA-1) UUID in the MASH agent namespace over "agency/ref", lower-case,
 * into out. Re-running a feed yields the same ids, so the daemon answers
 * DUPLICATE instead of storing the concern twice. MASH_OK or
 * MASH_ERR_INVAL (NULL or empty argument), MASH_ERR_CRYPTO.
 */
int mash_agent_event_id(const char *agency, const char *ref,
                        char out[MASH_AGENT_UUID_LEN]);

/*
 * Map rec (a record of agency's feed) into a new event in *out (caller
 * frees with mash_agent_event_free). now_ms is the injected time used for
 * the daemon's plausibility checks (occurred_at not in the future).
 *
 * MASH_OK, or a negative code with err filled (line = rec->line, field =
 * the column, msg = the reason): MISSING_FIELD, BAD_DATE, BAD_TIME,
 * BAD_ENUM (category, consent, classification, sex, vocabularies),
 * BAD_SEVERITY, BAD_NHS, NO_IDENTITY, FIELD_TOO_LONG, BAD_UTF8, INVAL
 * (wrong JSON type, number out of range, bad list item),
 * UNKNOWN_AGENCY, NOMEM. *out is NULL on failure.
 */
int mash_agent_map(const char *agency, const struct mash_feed_rec *rec,
                   int64_t now_ms, Mash__V1__AgencyEvent **out,
                   struct mash_feed_err *err);

/* Wipe every string of ev and free it; NULL allowed. Only for events from
 * mash_agent_map. */
void mash_agent_event_free(Mash__V1__AgencyEvent *ev);

#endif
