/*
 * audit_deliveries.h - per recipient, the deliveries queued and what
 * became of each (delivered, awaiting the broker's acknowledgement,
 * failed, dropped): part of `mashctl audit report` (issue 31).
 */
#ifndef MASHCTL_AUDIT_DELIVERIES_H
#define MASHCTL_AUDIT_DELIVERIES_H

#include <jansson.h>

#include "audit/aud.h"

struct mash_store;
struct mash_store_aud_filter;

/*
 * Count the deliveries whose queuing records f selects, their outcomes
 * found anywhere in db's trail. json: *out = an array of {recipient,
 * queued, awaiting_ack, delivered, failed, dropped} (the caller owns it);
 * else a table on stdout (nothing when none). A mashctl exit code; errors
 * said on stderr naming dbname.
 */
int audit_deliveries(const struct mash_store_aud_filter *f,
                     struct mash_store *db, const char *dbname, int json,
                     json_t **out);

#endif
