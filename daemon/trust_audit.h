/*
 * trust_audit.h - every change of who may publish is an audit record
 * (issue 28; shared/spec/audit.md KEY_CHANGE): when mashd puts a trust
 * store in force (start-up compares with nothing; SIGHUP compares with the
 * store in force), each key added, revoked or removed is one KEY_CHANGE
 * record, whoever changed the directory (mashctl trust add|revoke or an
 * operator by hand). The change takes effect when mashd loads it, so that
 * is when it is recorded.
 */
#ifndef MASHD_TRUST_AUDIT_H
#define MASHD_TRUST_AUDIT_H

#include <stddef.h>

struct mash_aud;
struct mash_trust;

/*
 * Append one KEY_CHANGE record to aud for each difference from old to
 * fresh (both sorted snapshots; old NULL: nothing recorded). *n (may be
 * NULL) gets the number written. MASH_OK, or the first append error: the
 * caller then keeps old in force (a change that cannot be audited is not
 * made).
 */
int mashd_trust_audit(struct mash_aud *aud, const struct mash_trust *old,
                      const struct mash_trust *fresh, size_t *n);

#endif
