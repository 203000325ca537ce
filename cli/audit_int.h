/*
 * audit_int.h - what cmd_audit.c (verify, query, export, prove and the
 * option parsing) shares with audit_report.c. Not a public interface.
 */
#ifndef MASHCTL_AUDIT_INT_H
#define MASHCTL_AUDIT_INT_H

#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

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

/* Bind the filters of o to ?1 case, ?2 agency, ?3 principal, ?4 type,
 * ?5 since, ?6 until (unset ones stay NULL). MASH_OK or MASH_ERR_STORE. */
int audit_bind_filters(sqlite3_stmt *st, const struct audit_opts *o);

/* The string member k of o, or "-". */
const char *audit_jstr(json_t *o, const char *k);

/* mashctl audit report: the exit code. */
int audit_report(const struct audit_opts *o, sqlite3 *db);

#endif
