/*
 * pol.h - the sharing-policy engine: necessary and proportionate.
 *
 * One question, many times a second: may this recipient, for this purpose,
 * see which fields of this event, now? The engine answers it from a
 * declarative libconfig policy file (policy/default.cfg) and says why: the
 * rule, its legal basis and its reason sentence. No MQTT and no SQLite in
 * here, so it is testable alone and fast (see docs/internals/policy.md).
 *
 * Invariants:
 *   - deny by default: a field no rule shares is withheld; a recipient no
 *     rule names receives nothing; no policy loaded (pol == NULL) denies
 *     everything;
 *   - a loaded policy is immutable: reload means load a NEW object and swap
 *     pointers; a failed load never touches the old one;
 *   - rules are evaluated in file order and, for each field, the first
 *     matching rule that names the field decides it (share or withhold).
 */
#ifndef MASH_POL_H
#define MASH_POL_H

#include <stddef.h>
#include <stdint.h>

#include "mash/v1/mash.pb-c.h"

/* Hard limits on a policy file (style rule 10). */
#define MASH_POL_MAX_RULES 256u /* rules in one file */
#define MASH_POL_MAX_LIST  64u  /* entries in any list of a rule */
#define MASH_POL_MAX_ID    64u  /* rule id length */
#define MASH_POL_MAX_LEGAL_BASIS                                               \
	128u /* legal_basis length (fits an                                    \
	        audit record's string field) */
#define MASH_POL_MAX_TEXT                                                      \
	256u                       /* reason length (fits an audit             \
	                              record's reason) */
#define MASH_POL_MAX_INCLUDES 8u   /* @include lines hashed with the file */
#define MASH_POL_ERRLEN       512u /* a good size for errbuf */

/*
 * The field catalogue: every field of an AgencyEvent a recipient can be
 * given, named as in the SharedRecord `fields` map (wire-contract.md). The
 * enum value is the bit number in a field set (uint64_t).
 */
enum mash_pol_field {
	/* signpost class: that an agency is involved, and how to reach it */
	MASH_POL_F_SIGNPOST = 0,
	MASH_POL_F_LEAD, /* "social-care" leads at L3+ */
	/* identity class */
	MASH_POL_F_GIVEN_NAME,
	MASH_POL_F_FAMILY_NAME,
	MASH_POL_F_DATE_OF_BIRTH,
	MASH_POL_F_NHS_NUMBER,
	MASH_POL_F_POSTCODE,
	MASH_POL_F_SEX,
	/* concern class */
	MASH_POL_F_CATEGORY,
	MASH_POL_F_SEVERITY,
	MASH_POL_F_OCCURRED_AT,
	MASH_POL_F_CONSENT,
	MASH_POL_F_CLASSIFICATION,
	MASH_POL_F_DO_NOT_DISCLOSE,
	MASH_POL_F_RESTRICT_TO,
	/* narrative class: summary, who recorded it, agency detail */
	MASH_POL_F_SUMMARY,
	MASH_POL_F_REPORTER,
	MASH_POL_F_AGENCY_REF,
	MASH_POL_F_POLICE_INCIDENT_REF,
	MASH_POL_F_POLICE_INCIDENT_TYPE,
	MASH_POL_F_POLICE_DASH_RISK,
	MASH_POL_F_POLICE_CHILDREN_PRESENT,
	MASH_POL_F_POLICE_OFFENCES,
	MASH_POL_F_POLICE_INTELLIGENCE,
	MASH_POL_F_POLICE_OFFICER,
	MASH_POL_F_HEALTH_SETTING,
	MASH_POL_F_HEALTH_COMPLAINT,
	MASH_POL_F_HEALTH_DIAGNOSIS,
	MASH_POL_F_HEALTH_CLINICAL_NOTES,
	MASH_POL_F_HEALTH_EXPLANATION,
	MASH_POL_F_HEALTH_ATTENDANCES,
	MASH_POL_F_HEALTH_NAMED_PRO,
	MASH_POL_F_EDU_URN,
	MASH_POL_F_EDU_SCHOOL,
	MASH_POL_F_EDU_ATTENDANCE,
	MASH_POL_F_EDU_EXCLUSION_TYPE,
	MASH_POL_F_EDU_EXCLUSION_DAYS,
	MASH_POL_F_EDU_YEAR_GROUP,
	MASH_POL_F_EDU_DSL,
	MASH_POL_F_YOT_ORDER,
	MASH_POL_F_YOT_OFFENCE,
	MASH_POL_F_YOT_ASSET,
	MASH_POL_F_YOT_WORKER,
	MASH_POL_F_YOT_COURT_DATE,
	MASH_POL_F_HOUSING_TENANCY,
	MASH_POL_F_HOUSING_DUTY,
	MASH_POL_F_HOUSING_ACCOMMODATION,
	MASH_POL_F_HOUSING_OVERCROWDED,
	MASH_POL_F_HOUSING_LANDLORD,
	MASH_POL_F_SC_DECISION,
	MASH_POL_F_SC_TRIGGER,
	MASH_POL_F_SC_HELD_AT,
	MASH_POL_F_SC_SOCIAL_WORKER,
	MASH_POL_F_SC_OUTCOME,
	/* related class */
	MASH_POL_F_RELATED,
	/* vcl class */
	MASH_POL_F_VCL,
	MASH_POL_F_VCL_EVIDENCE,
	MASH_POL_F_COUNT
};

/* Flags shown to a recipient with a decision (SharedRecord.flags). */
enum mash_pol_flag {
	MASH_POL_FLAG_CONSENT_REFUSED = 1u << 0, /* "consent-refused" */
	MASH_POL_FLAG_DO_NOT_DISCLOSE = 1u
	                                << 1, /* "do-not-disclose-to-family" */
	MASH_POL_FLAG_OFFICIAL_SENSITIVE = 1u << 2, /* "official-sensitive" */
	MASH_POL_FLAG_RESTRICTED = 1u << 3,  /* "restricted-to-agencies" */
	MASH_POL_FLAG_BREAK_GLASS = 1u << 4, /* "break-glass" */
	MASH_POL_FLAG_COUNT_ = 5
};

struct mash_policy;

/*
 * What the engine needs to know about one event. Build it with
 * mash_pol_event_view() from a decoded AgencyEvent; strings are borrowed
 * from that event and must outlive the view.
 */
struct mash_pol_event {
	const char *agency;     /* police, health, ... */
	int category;           /* Mash__V1__Category value */
	unsigned severity;      /* 0-4 */
	int consent;            /* Mash__V1__Consent value */
	int official_sensitive; /* classification OFFICIAL-SENSITIVE */
	int do_not_disclose_to_family;
	char *const *restrict_to; /* handling.restrict_to_agencies */
	size_t n_restrict_to;
	uint64_t present; /* field set: fields the event carries */
};

/* The child's case as the decision sees it. */
struct mash_pol_case {
	unsigned level;        /* threshold level 1-4 */
	unsigned n_agencies;   /* distinct agencies that reported */
	int known_to_multiple; /* known to 2+ agencies by other means */
};

/* The recipient, from the directory. */
struct mash_pol_recipient {
	const char *principal;
	const char *role;
	const char *agency;
};

/* Facts for mash_pol_case_level(). */
struct mash_pol_case_facts {
	unsigned max_severity; /* highest severity of the case's events */
	unsigned n_agencies;   /* distinct agencies that reported */
	int trigger_open;      /* a strategy discussion was triggered */
};

/*
 * One decision. Strings point into the policy that made it (or static
 * storage) and stay valid until that policy is freed.
 */
struct mash_pol_decision {
	int receives;            /* 1 if at least one field is shared */
	uint64_t shared;         /* present fields shared */
	uint64_t withheld;       /* present fields withheld */
	const char *rule_id;     /* the rule in force ("default-deny") */
	const char *legal_basis; /* its legal basis ("" when denied) */
	const char *reason;      /* its reason sentence */
	const char *purpose;     /* the purpose decided for */
	unsigned flags;          /* MASH_POL_FLAG_* */
	unsigned level;          /* the case level decided at */
	int break_glass_refused; /* asked with break_glass by a role the
	                            policy does not give it to (rule 8) */
	unsigned n_rules;        /* rules that decided a field */
	uint16_t rules[16];      /* their indices (first 16), file order */
	/* The rule that decided each field (share or withhold), by index;
	 * -1 when none did (denied by default). mash_pol_decision_groups. */
	int16_t field_rule[MASH_POL_F_COUNT];
	const struct mash_policy *pol; /* that made it (NULL: none) */
};

/* The fields of one decision decided by one rule (issue 26: an auditor
 * asks which rule shared, and which withheld, each field). */
struct mash_pol_rule_group {
	const char *rule_id;     /* "default-deny" when no rule named them */
	const char *legal_basis; /* "" for default-deny */
	int shared;              /* 1 the rule shared them, 0 withheld */
	uint64_t fields;         /* present fields only */
};

/* ---- catalogue ---------------------------------------------------- */

/* Name of field f ("subject.given_name"); NULL if out of range. Static. */
const char *mash_pol_field_name(unsigned f);
/* Class of field f ("identity"); NULL if out of range. Static. */
const char *mash_pol_field_class(unsigned f);
/* Field number for an exact field name, or -1. */
int mash_pol_field_index(const char *name);
/*
 * Resolve one field pattern into a set: an exact name, a class ("@identity",
 * "@all"), or a prefix glob ("detail.health.*"). MASH_OK and *out set, or
 * MASH_ERR_NOT_FOUND if it names no field (*out = 0). A leading '!' is NOT
 * handled here (see the rule syntax).
 */
int mash_pol_fields_resolve(const char *pattern, uint64_t *out);
/* Name of one flag bit ("consent-refused"); NULL if not a flag. Static. */
const char *mash_pol_flag_name(unsigned flag);
/* 1 if role is one of the roles of SHARED-DEFS.md, else 0. */
int mash_pol_role_valid(const char *role);
/* 1 if purpose is one of the purposes of SHARED-DEFS.md, else 0. */
int mash_pol_purpose_valid(const char *purpose);
/* 1 if agency names a MASH agency (or "mash" for the hub's own staff). */
int mash_pol_agency_valid(const char *agency);

/* ---- loading ------------------------------------------------------ */

/*
 * Load the policy at path (libconfig; @include "s47.cfg" resolved relative
 * to the file's directory). Reads only the groups it owns (version, levels,
 * delivery, rules) and ignores other top-level settings (s47's triggers,
 * clocks), but rejects unknown keys inside its own groups.
 * Returns MASH_OK and a new policy in *out (caller frees with
 * mash_pol_free), or: MASH_ERR_IO (unreadable), MASH_ERR_TOO_BIG (file over
 * MASH_MAX_CONFIG_FILE), MASH_ERR_PARSE (syntax error), MASH_ERR_POLICY
 * (semantic error: unknown role/field/purpose, missing legal basis, too
 * many rules, over-long string, ...). On failure *out is NULL and errbuf
 * (if not NULL) holds one line "file:line: rule 'id': message".
 */
int mash_pol_load(const char *path, struct mash_policy **out, char *errbuf,
                  size_t errlen);

/* Free a policy; NULL allowed. */
void mash_pol_free(struct mash_policy *pol);

/*
 * Lint the policy at path: every problem load would reject, plus
 * unreachable rules (every field they name is already decided by earlier
 * rules whose conditions match a superset of theirs) and a file without
 * rules. Each problem is passed to report(ctx, "file:line: rule 'id':
 * message") (report may be NULL). *n_problems (may be NULL) gets the count.
 * Returns MASH_OK if the file was read and parsed (problems or not), or
 * MASH_ERR_IO / MASH_ERR_TOO_BIG / MASH_ERR_PARSE (one report made).
 */
int mash_pol_lint(const char *path, void (*report)(void *ctx, const char *msg),
                  void *ctx, unsigned *n_problems);

/* SHA-256 of the policy file bytes followed by each @include'd file's bytes,
 * as read at load time (for the POLICY_LOAD audit record). 32 bytes, valid
 * while pol lives. pol must not be NULL. */
const unsigned char *mash_pol_sha256(const struct mash_policy *pol);
/* SHA-256 of the policy file at path the same way (file bytes, then each
 * @include'd file's), for auditing a load that was refused. MASH_OK, or
 * MASH_ERR_IO / MASH_ERR_TOO_BIG / MASH_ERR_POLICY (bad @include) with out
 * zeroed. */
int mash_pol_file_sha256(const char *path, unsigned char out[32]);

/* The path it was loaded from; valid while pol lives. */
const char *mash_pol_path(const struct mash_policy *pol);
/* Number of rules; 0 for NULL. */
size_t mash_pol_rule_count(const struct mash_policy *pol);
/* Id of rule i; NULL if out of range. */
const char *mash_pol_rule_id(const struct mash_policy *pol, size_t i);
/* 1 if the policy's break_glass group gives role the override
 * (sharing-policy.md rule 8), else 0 (NULL policy: nobody). */
int mash_pol_break_glass_allowed(const struct mash_policy *pol,
                                 const char *role);
/* Id, legal basis ("" when none) and share (1) / withhold (0) of rule i
 * (each output may be NULL); MASH_ERR_NOT_FOUND if out of range. */
int mash_pol_rule_info(const struct mash_policy *pol, size_t i, const char **id,
                       const char **legal_basis, int *share);

/* ---- deciding ----------------------------------------------------- */

/*
 * Fill *out with the view of ev (ev must not be NULL; out cleared first).
 * Borrowed strings: the view is valid while ev is.
 */
void mash_pol_event_view(const Mash__V1__AgencyEvent *ev,
                         struct mash_pol_event *out);

/*
 * Decide what recipient r may see of event ev in case c for purpose
 * (break_glass: 1 if the requester gave a break_glass_reason; it counts
 * only for a role the policy's break_glass group names, otherwise the
 * decision is the ordinary one with break_glass_refused set).
 * *out is always filled: on any failure, and when pol is NULL, it denies
 * everything (receives = 0). Returns MASH_OK (pol NULL included: rule_id
 * "no-policy"), or MASH_ERR_INVAL for a NULL argument, an unknown role or
 * purpose, or a level outside 1-4 (deny, rule_id "invalid-input").
 */
int mash_pol_decide(const struct mash_policy *pol,
                    const struct mash_pol_event *ev,
                    const struct mash_pol_case *c,
                    const struct mash_pol_recipient *r, const char *purpose,
                    int break_glass, struct mash_pol_decision *out);

/*
 * The case threshold level (1-4) from the `levels` group of the policy:
 * the highest level any of whose criteria (min_severity, min_agencies,
 * trigger_open) the facts meet; 1 otherwise, and 1 when pol or f is NULL.
 */
unsigned mash_pol_case_level(const struct mash_policy *pol,
                             const struct mash_pol_case_facts *f);

/*
 * The purpose automatic delivery decides for at a level (the `delivery`
 * group; defaults L1-L2 mash-triage, L3 s17-assessment, L4
 * strategy-discussion). Static or policy storage; never NULL.
 */
const char *mash_pol_delivery_purpose(const struct mash_policy *pol,
                                      unsigned level);

/*
 * The present fields of d (shared and withheld) grouped by the rule that
 * decided them, in the order of the rules' first field in the catalogue;
 * the fields no rule named in one "default-deny" group. pol is the policy
 * that made d (NULL: everything is default-deny). Writes at most max groups
 * to out and returns how many there are (MASH_POL_F_COUNT + 1 at most).
 * policy/explain.c.
 */
size_t mash_pol_decision_groups(const struct mash_policy *pol,
                                const struct mash_pol_decision *d,
                                struct mash_pol_rule_group *out, size_t max);

/* ---- building what a recipient receives ---------------------------- */

/*
 * Fill rec (a SharedRecord the caller owns, initialised with
 * mash__v1__shared_record__init) from ev and decision d: event_id and
 * agency always; category, severity, occurred_at only when granted; the
 * `fields` map with the granted fields only (values rendered as text);
 * `withheld` with the names of withheld fields; rule_id, legal_basis,
 * purpose, reason, flags. case_id is copied when not NULL. signpost_contact
 * (may be NULL) is how to reach the source agency (directory), used for the
 * "signpost" value. The caller sets audit_seq.
 * Returns MASH_OK, or MASH_ERR_NOMEM / MASH_ERR_INVAL; on failure rec is
 * cleared (no allocation left). Free with mash_pol_record_clear().
 */
int mash_pol_record_build(const Mash__V1__AgencyEvent *ev,
                          const struct mash_pol_decision *d,
                          const char *case_id, const char *signpost_contact,
                          Mash__V1__SharedRecord *rec);

/* Wipe and free everything mash_pol_record_build() allocated in rec and
 * re-initialise it. NULL allowed. */
void mash_pol_record_clear(Mash__V1__SharedRecord *rec);

/*
 * Write the comma-separated names of the fields in set into buf
 * ("subject.given_name,category"); MASH_OK or MASH_ERR_FIELD_TOO_LONG
 * (truncated at a name boundary). For audit records and messages.
 */
int mash_pol_fields_join(uint64_t set, char *buf, size_t len);

/* The names of the fields in set, in catalogue order, into names[0..max)
 * (static strings); returns how many were written. */
size_t mash_pol_field_names(uint64_t set, const char **names, size_t max);

/* Write the names of the flags in flags, separated by sep, into buf
 * ("consent-refused do-not-disclose-to-family"); "" for none. MASH_OK or
 * MASH_ERR_FIELD_TOO_LONG (truncated at a name boundary). */
int mash_pol_flags_join(unsigned flags, const char *sep, char *buf, size_t len);

#endif
