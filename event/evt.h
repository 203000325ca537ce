/*
 * evt.h - AgencyEvent validation (shared/spec/wire-contract.md) and the
 * small pieces of it others need: agency names, NHS number Modulus 11,
 * calendar dates, linkage normalisers.
 *
 * mash_evt_validate rejects with the first failing rule and a reason that
 * names the field ("subject.nhs_number: check digit mismatch"); reasons
 * never contain field VALUES (no names, DOB, NHS numbers, summaries), so
 * they are safe to log and to send back in a Receipt.
 */
#ifndef MASH_EVT_H
#define MASH_EVT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/limits.h"
#include "mash/v1/mash.pb-c.h"

/* How far in the future occurred_at / recorded_at may be (clock skew). */
#define MASH_EVT_MAX_FUTURE_MS (24LL * 3600 * 1000)
/* Longest event_id ([A-Za-z0-9-]; a UUID is 36). */
#define MASH_EVT_ID_MAX 64u
/* A good size for a why buffer. */
#define MASH_EVT_WHY_LEN 256u
/* Normalised family name / postcode buffers (with NUL). */
#define MASH_EVT_NORM_MAX (MASH_MAX_SHORT + 1u)

struct mash_date {
	int year;  /* 1900..2999 */
	int month; /* 1..12 */
	int day;   /* 1..31, valid for the month */
};

/*
 * Validate ev as published on topic_agency's topic (NULL: only require a
 * known agency) at time now_ms (unix ms, injected). MASH_OK, or the first
 * failing rule's code with the field-naming reason in why[0..whylen) (why
 * may be NULL): UNKNOWN_AGENCY, AGENCY_MISMATCH (agency != topic; detail
 * of another agency; categories 30-32 not from social-care),
 * MISSING_FIELD, BAD_ID (event_id not [A-Za-z0-9-]{1,64}), BAD_TIME,
 * BAD_ENUM (category, consent, classification, dash_risk,
 * exclusion_type), BAD_SEVERITY (severity, vcl score), BAD_NHS, BAD_DATE,
 * NO_IDENTITY, FIELD_TOO_LONG (strings and repeated fields), BAD_UTF8,
 * INVAL (out-of-range numbers such as attendance_pct).
 */
int mash_evt_validate(const Mash__V1__AgencyEvent *ev, const char *topic_agency,
                      int64_t now_ms, char *why, size_t whylen);

/*
 * Decode an AgencyEvent payload (as returned by mash_env_open) into *out
 * (free with mash_evt_free), checking on the wire that every string field
 * at every depth is valid UTF-8 without NUL (protobuf-c would silently
 * truncate at a NUL). TOO_BIG over MASH_MAX_PAYLOAD, DECODE, BAD_UTF8;
 * reason in why. Does NOT call mash_evt_validate.
 */
int mash_evt_decode(const uint8_t *buf, size_t len, Mash__V1__AgencyEvent **out,
                    char *why, size_t whylen);

/* Free an event from mash_evt_decode. NULL allowed. */
void mash_evt_free(Mash__V1__AgencyEvent *ev);

/*
 * 1 if every string field of the serialized message buf[0..len) of type
 * desc (recursively, maps included) is valid UTF-8 without NUL, 0 if not
 * or if the bytes are malformed. Usable for any contract message.
 */
int mash_evt_wire_strings_valid(const ProtobufCMessageDescriptor *desc,
                                const uint8_t *buf, size_t len);

/* 1 if s is exactly 10 ASCII digits with a valid Modulus 11 check digit
 * (NHS Data Dictionary), else 0. NULL is invalid. */
int mash_evt_nhs_valid(const char *s);

/* Parse exactly "YYYY-MM-DD" (a real calendar date, leap years
 * included) into *out: MASH_OK or MASH_ERR_BAD_DATE (*out zeroed). */
int mash_evt_date_parse(const char *s, struct mash_date *out);

/* Days since 1970-01-01 of a valid date (negative before). */
int64_t mash_evt_date_days(const struct mash_date *d);

/* 1 if s is one of police, health, education, yot, housing, social-care. */
int mash_evt_agency_valid(const char *s);

/* The i-th agency (0-based, the order above), or NULL past the last:
 * every identity that publishes events (mashctl pki, acl). */
const char *mash_evt_agency_name(size_t i);

/* Case-folded ASCII letters of a family name ("O'Brien-Smith" ->
 * "obriensmith") into out[outsz]: MASH_OK, FIELD_TOO_LONG (truncated),
 * INVAL (NULL). */
int mash_evt_norm_family(const char *in, char *out, size_t outsz);

/* Upper-case postcode without spaces or punctuation ("ne61 1aa" ->
 * "NE611AA") into out[outsz]; same returns as mash_evt_norm_family. */
int mash_evt_norm_postcode(const char *in, char *out, size_t outsz);

/* The Category's enum name ("SELF_HARM"), or NULL if not a known value. */
const char *mash_evt_category_name(int category);

#endif
