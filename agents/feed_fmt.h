/*
 * feed_fmt.h - the seam between the feed reader core (feed.c) and its two
 * format back-ends (feed_json.c, feed_csv.c), after curl's vtls dispatcher
 * and one file per back-end. Not a public header: only agents/feed*.c
 * include it.
 */
#ifndef MASH_AGENT_FEED_FMT_H
#define MASH_AGENT_FEED_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "agents/feed.h"

enum feed__line_st {
	FEED__LINE_OK = 0,  /* a line ending in '\n' (not included) */
	FEED__LINE_PARTIAL, /* bytes at end of file without '\n' */
	FEED__LINE_EOF,     /* nothing left */
	FEED__LINE_IOERR,   /* read error */
};

/*
 * Read one physical line into the reader's buffer: *buf and *len (no '\n', a
 * trailing '\r' kept). *toolong is set if the line had more than
 * MASH_MAX_FEED_LINE bytes: then the whole line has been consumed and
 * *len is 0. Advances the reader's position.
 */
enum feed__line_st feed__read_line(struct mash_feed *f, const char **buf,
                                   size_t *len, int *toolong);
/* Current position (byte offset of the next unread byte, lines consumed). */
void feed__pos(const struct mash_feed *f, uint64_t *pos, unsigned long *lines);
/* Go back to a position returned by feed__pos; MASH_OK or MASH_ERR_IO. */
int feed__rewind(struct mash_feed *f, uint64_t pos, unsigned long lines);
/* Start a new record beginning on physical line `line`. */
void feed__rec_reset(struct mash_feed *f, unsigned long line);
/* Append a field (name and value copied into the record's arena).
 * MASH_OK, MASH_ERR_TOO_BIG (too many fields or too many bytes). */
int feed__rec_add(struct mash_feed *f, const char *name, const char *val,
                  size_t len, enum mash_feed_type type);
/* Number of fields in the record being built. */
size_t feed__rec_nfields(const struct mash_feed *f);
/* The record being built. */
const struct mash_feed_rec *feed__rec(const struct mash_feed *f);
/* Fill err (cleared first); the reason is printf-formatted. */
void feed__err(struct mash_feed_err *err, unsigned long line, const char *field,
               int fatal, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* JSON lines back-end (feed_json.c). Same results as mash_feed_next. */
int feed__json_next(struct mash_feed *f, int follow, struct mash_feed_err *err);

/* CSV back-end (feed_csv.c); state holds the header and the parser. */
struct feed_csv;
int feed__csv_new(struct feed_csv **out);
void feed__csv_free(struct feed_csv *c);
/* 1 once the header row has been read. */
int feed__csv_has_header(const struct feed_csv *c);
/* Read the header row if not yet read (MASH_OK, MASH_FEED_AGAIN,
 * MASH_FEED_EOF when the file is empty, or a fatal error). */
int feed__csv_header(struct mash_feed *f, struct feed_csv *c, int follow,
                     struct mash_feed_err *err);
int feed__csv_next(struct mash_feed *f, struct feed_csv *c, int follow,
                   struct mash_feed_err *err);

#endif
