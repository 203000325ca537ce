/*
 * dir.h - the directory of principals: who is who in the MASH.
 *
 * A libconfig file (policy/directory.cfg) maps each principal (MQTT user /
 * certificate CN) to a role (SHARED-DEFS.md), an agency, a team and a
 * contact line, and gives each agency a contact line for signposting
 * (ContactPoint's successor, seed 002_*.txt para 4.6-4.7). The daemon fans
 * every stored event out to each principal in file order.
 *
 * Invariants: principal names match [a-z0-9._-]{1,64} (they are MQTT topic
 * segments); every role is a known role; names are unique; a loaded
 * directory is immutable (reload = load a new one and swap).
 */
#ifndef MASH_DIR_H
#define MASH_DIR_H

#include <stddef.h>
#include <stdint.h>

#define MASH_DIR_MAX_PRINCIPALS 1024u
#define MASH_DIR_MAX_NAME       64u  /* principal name length */
#define MASH_DIR_MAX_TEXT       256u /* team / contact length */
#define MASH_DIR_ENC_KEY_LEN    32u  /* X25519 public key (enc_key) */

struct mash_dir;

/* One principal; strings borrowed from the directory (valid while it
 * lives). team and contact are "" when absent. */
struct mash_dir_entry {
	const char *principal;
	const char *role;
	const char *agency;
	const char *team;
	const char *contact;
	/* The principal's X25519 public key (MASH_DIR_ENC_KEY_LEN bytes) for
	 * sealed deliveries, or NULL when the directory gives none. */
	const uint8_t *enc_pub;
};

/*
 * Load the directory at path. File format:
 *   principals = ( { name = "sw.sam"; role = "la-social-worker";
 *                    agency = "social-care"; team = "..."; contact = "...";
 *                    enc_key = "keys/sw.sam/e1.pub.pem"; },
 * (enc_key: the X25519 public key for sealed deliveries, inline PEM or a
 * path relative to the file; optional; malformed is MASH_ERR_CONFIG)
 * ... ); agencies = ( { agency = "police"; contact = "..."; }, ... );
 * (optional) Returns MASH_OK and *out (free with mash_dir_free), or
 * MASH_ERR_IO, MASH_ERR_TOO_BIG, MASH_ERR_PARSE, MASH_ERR_CONFIG (bad name,
 * unknown role or agency, duplicate, unknown key, too many, over-long); then
 * *out is NULL and errbuf holds "file:line: principal 'x': message".
 */
int mash_dir_load(const char *path, struct mash_dir **out, char *errbuf,
                  size_t errlen);

/* Free; NULL allowed. */
void mash_dir_free(struct mash_dir *dir);

/* Number of principals (0 for NULL). */
size_t mash_dir_count(const struct mash_dir *dir);

/* Entry i in file order: MASH_OK, or MASH_ERR_NOT_FOUND if i is out of
 * range (*out cleared). */
int mash_dir_get(const struct mash_dir *dir, size_t i,
                 struct mash_dir_entry *out);

/* Look a principal up: MASH_OK, or MASH_ERR_UNKNOWN_PRINCIPAL (*out
 * cleared). */
int mash_dir_lookup(const struct mash_dir *dir, const char *principal,
                    struct mash_dir_entry *out);

/* Contact line of an agency for signposting, or NULL if none is given. */
const char *mash_dir_agency_contact(const struct mash_dir *dir,
                                    const char *agency);

/* 1 if name is a valid principal name ([a-z0-9._-]{1,64}), else 0. */
int mash_dir_name_valid(const char *name);

#endif
