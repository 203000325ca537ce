/*
 * map_agency.h - the seam between the common mapping (map.c) and the one
 * file per agency (map_police.c, map_health.c, map_education.c,
 * map_yot.c, map_housing.c, map_social_care.c). Not a public header: only
 * agents/map*.c include it.
 */
#ifndef MASH_AGENT_MAP_AGENCY_H
#define MASH_AGENT_MAP_AGENCY_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "agents/feed.h"
#include "mash/v1/mash.pb-c.h"

/* One record being mapped. */
struct map__ctx {
	const struct mash_feed_rec *rec;
	struct mash_feed_err *err;
	const char *agency;
};

/* What an agency adds to the common columns. */
struct map__agency {
	const char *agency;       /* topic segment and signer */
	const char *ref_col;      /* the agency's record reference column */
	const char *local_id_col; /* the agency's person id column, or NULL */
	/* Fill ev's typed detail from the agency's columns; MASH_OK or an
	 * error set with map__fail. */
	int (*detail)(struct map__ctx *m, Mash__V1__AgencyEvent *ev);
};

extern const struct map__agency map__police;
extern const struct map__agency map__health;
extern const struct map__agency map__education;
extern const struct map__agency map__yot;
extern const struct map__agency map__housing;
extern const struct map__agency map__social_care;

/* Record a rejection of column col (NULL: the record) and return code. */
int map__fail(struct map__ctx *m, const char *col, int code, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));

/*
 * Column readers. Absent, empty and JSON null all mean "not given": the
 * optional readers then leave *dst as it is and set *present (when not
 * NULL) to 0. Values must be strings (CSV text or JSON string) unless the
 * reader says otherwise; a wrong JSON type is MASH_ERR_INVAL.
 */
/* A string of at most max bytes, valid UTF-8, copied into *dst
 * (mash_strdup; any previous non-default *dst is freed). */
int map__str(struct map__ctx *m, const char *col, size_t max, char **dst);
/* As map__str, but absent is MASH_ERR_MISSING_FIELD. */
int map__req_str(struct map__ctx *m, const char *col, size_t max, char **dst);
/* A whole number in [min,max] (CSV text or JSON integer). */
int map__uint(struct map__ctx *m, const char *col, uint32_t min, uint32_t max,
              uint32_t *dst, int *present);
/* A boolean: JSON true/false, or text true/false/yes/no/y/n/1/0. */
int map__bool(struct map__ctx *m, const char *col, protobuf_c_boolean *dst);
/* A calendar date (YYYY-MM-DD or DD/MM/YYYY) stored as YYYY-MM-DD.
 * echo: quote the bad value in the reason (never for dates of birth). */
int map__date(struct map__ctx *m, const char *col, int echo, char **dst);
/* A date or date-time (see agents/README.md) as unix ms; required: absent
 * is MASH_ERR_MISSING_FIELD. */
int map__time(struct map__ctx *m, const char *col, int required, int64_t *dst,
              int *present);
/* One word of vocab (NULL-terminated), case-insensitive, '_' and '-'
 * equal; *dst gets the vocabulary's spelling. */
int map__word(struct map__ctx *m, const char *col, const char *const *vocab,
              char **dst);
/* A ';'-separated list of at most max_items items of at most max_len
 * bytes each (items trimmed, empty items dropped): *items (array of
 * mash_strdup'd strings) and *n, replacing nothing (both must be empty). */
int map__list(struct map__ctx *m, const char *col, size_t max_items,
              size_t max_len, char ***items, size_t *n);

#endif
