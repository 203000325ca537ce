/*
 * limits.h - hard limits on untrusted input. Every length read from MQTT,
 * a feed, a policy or a config file is checked against one of these before
 * anything is allocated for it.
 */
#ifndef MASH_LIMITS_H
#define MASH_LIMITS_H

/* Largest serialized SignedEnvelope accepted from MQTT (bytes). */
#define MASH_MAX_ENVELOPE (256u * 1024u)
/* Largest inner payload (bytes); leaves room for the envelope fields. */
#define MASH_MAX_PAYLOAD (MASH_MAX_ENVELOPE - 1024u)
/* Identifiers: event_id, agency_ref, key_id, signer, case_id, principal. */
#define MASH_MAX_ID 128u
/* Agency name (police, health, education, yot, housing, social-care). */
#define MASH_MAX_AGENCY 32u
/* Free-text summary: the most sensitive field. */
#define MASH_MAX_SUMMARY 8192u
/* Names, postcodes, roles, short strings. */
#define MASH_MAX_SHORT 256u
/* Medium text fields (detail narrative, evidence). */
#define MASH_MAX_TEXT 4096u
/* Repeated fields (vcl, related, restrict_to_agencies, offences). */
#define MASH_MAX_REPEATED 64u
/* MQTT topic length. */
#define MASH_MAX_TOPIC 256u
/* One line of an agency feed. */
#define MASH_MAX_FEED_LINE (64u * 1024u)
/* Policy and config files. */
#define MASH_MAX_CONFIG_FILE (1024u * 1024u)

#endif
