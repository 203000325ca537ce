/*
 * aud_json.h - the canonical encoding of an audit record (the Merkle
 * leaf), internal to audit/: compact JSON with its keys sorted, byte for
 * byte what jansson's json_dumps(JSON_COMPACT | JSON_SORT_KEYS) gives for
 * the same object, which is what verify.c checks every stored record
 * against. See aud.h for the format.
 */
#ifndef MASH_AUD_JSON_H
#define MASH_AUD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "audit/aud.h"

/* The indexed columns of a row, masked exactly like the leaf; "" when the
 * record has no such value. */
struct mash_aud_cols {
	char actor[MASH_AUD_MAX_ID + 1];
	char case_id[MASH_AUD_MAX_ID + 1];
	char agency[MASH_AUD_MAX_ID + 1];
	char event_id[MASH_AUD_MAX_ID + 1];
	char recipient[MASH_AUD_MAX_ID + 1];
};

/*
 * rec as its leaf with the given seq and time: *out (mash_malloc'd,
 * NUL-terminated) and *len; cols (may be NULL) the columns. The checks
 * run in the record's field order whatever the key order, so a record
 * with several faults always names the same one: MASH_ERR_INVAL (a
 * missing actor, an empty field name, a rule without fields, an "extra"
 * that is not a JSON object, a float in it), MASH_ERR_FIELD_TOO_LONG,
 * MASH_ERR_BAD_UTF8, MASH_ERR_TOO_BIG (over MASH_AUD_MAX_RECORD),
 * MASH_ERR_NOMEM.
 */
int mash_aud_json(const struct mash_aud_record *rec, uint64_t seq,
                  int64_t time_ms, char **out, size_t *len,
                  struct mash_aud_cols *cols);

#endif
