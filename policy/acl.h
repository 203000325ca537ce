/*
 * acl.h - the broker's access control list, generated from the
 * directory of principals (issue 24), never written by hand.
 *
 * Mosquitto's acl_file format; with use_identity_as_username each
 * client's user is its certificate's CN (crypto/pki.h):
 *   mashd        reads mash/v1/events/+ and mash/v1/requests/picture;
 *                writes mash/v1/receipts/+, mash/v1/inbox/+ and
 *                mash/v1/audit/checkpoints; reads and writes
 *                mash/v1/status/daemon (its retained status and will)
 *   AGENCY       writes only mash/v1/events/AGENCY; reads only
 *                mash/v1/receipts/AGENCY and the daemon's status
 *   PRINCIPAL    reads only mash/v1/inbox/PRINCIPAL; writes only
 *                mash/v1/requests/picture; reads the audit checkpoints
 * and nothing for anyone else (Mosquitto denies what no line allows).
 * A principal named as an agency or as the daemon would inherit its
 * rights: refused.
 */
#ifndef MASH_ACL_H
#define MASH_ACL_H

#include <stddef.h>

struct mash_dir;

/* The daemon's identity (its certificate's CN). */
#define MASH_ACL_DAEMON "mashd"

/*
 * MASH_OK if no principal of dir has the name of an agency's agent or of
 * the daemon (it would share that certificate CN, so that MQTT user and
 * its rights); else MASH_ERR_CONFIG with err naming the principal.
 */
int mash_acl_check_identities(const struct mash_dir *dir, char *err,
                              size_t errlen);

/*
 * The ACL for every agency, the daemon and each principal of dir, as
 * text in *out (NUL-terminated, *len bytes; free with mash_free). source
 * (may be NULL) is named in the header comment. MASH_OK, MASH_ERR_CONFIG
 * (a principal named as an agency or the daemon; err says which),
 * MASH_ERR_NOMEM, MASH_ERR_INVAL.
 */
int mash_acl_generate(const struct mash_dir *dir, const char *source,
                      char **out, size_t *len, char *err, size_t errlen);

#endif
