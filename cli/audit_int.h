/*
 * audit_int.h - what cmd_audit.c (verify, query, export, prove and the
 * option parsing) shares with audit_report.c. Not a public interface.
 */
#ifndef MASHCTL_AUDIT_INT_H
#define MASHCTL_AUDIT_INT_H

#include <stdint.h>

#include <jansson.h>

#include "store/store.h"
#include "store/store_aud.h"

#define G "audit"

struct audit_opts {
	const char *verb;
	const char *db;
	const char *trust;
	const char *pub;
	const char *case_id;
	const char *agency;
	const char *principal;
	const char *type;
	int64_t since, until; /* [since, until) ms; -1 unset */
	uint64_t seq, from, to;
	int consistency;
	int json, csv;
};

/* The store filter for the filters of o (unset ones match anything). */
void audit_filter(const struct audit_opts *o, struct mash_store_aud_filter *f);

/* The string member k of o, or "-". */
const char *audit_jstr(json_t *o, const char *k);

/* mashctl audit report: the exit code. */
int audit_report(const struct audit_opts *o, struct mash_store *st);

#endif
