/*
 * feed.h - bounded readers for agency feeds: JSON lines (jansson) and CSV
 * with a header row (libcsv). Both turn one input record into the same flat
 * list of (name, value, type) fields, so the per-agency mapping does not care
 * which format the agency's system exports.
 *
 * Feeds are untrusted input (style rule 10): a physical line is at most
 * MASH_MAX_FEED_LINE bytes, a CSV record (which may span lines inside
 * quotes) at most MASH_MAX_FEED_LINE bytes in total, a record at most
 * MASH_FEED_MAX_FIELDS fields, a column name at most MASH_FEED_MAX_NAME
 * bytes; every value is valid UTF-8 without NUL. A bad record is reported
 * (line number and reason) and skipped; the reader then goes on with the
 * next record.
 *
 * The reader can tail a growing file (follow mode): a record that is not yet
 * complete at end of file is not consumed; the reader rewinds to its start
 * and says MASH_FEED_AGAIN, so a later call sees the whole record.
 */
#ifndef MASH_AGENT_FEED_H
#define MASH_AGENT_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"

/* Most fields (CSV columns, JSON members) in one record. */
#define MASH_FEED_MAX_FIELDS 64u
/* Longest column / member name (bytes). */
#define MASH_FEED_MAX_NAME 64u
/* Longest reason text in a struct mash_feed_err. */
#define MASH_FEED_MAX_MSG 256u

/* Non-error results of mash_feed_next (errors are negative, common/err.h). */
#define MASH_FEED_EOF   1 /* clean end of input */
#define MASH_FEED_AGAIN 2 /* follow mode: record incomplete at end of file */

enum mash_feed_format {
	MASH_FEED_JSONL = 1,
	MASH_FEED_CSV = 2,
};

/* The type a value had in the feed. CSV values are untyped text; JSON
 * values keep their JSON type so that the mapping can reject, e.g., a
 * severity given as a string or an object. */
enum mash_feed_type {
	MASH_FEED_T_TEXT = 0, /* CSV cell: parse as needed */
	MASH_FEED_T_STRING,
	MASH_FEED_T_INTEGER,
	MASH_FEED_T_REAL,
	MASH_FEED_T_BOOL,
	MASH_FEED_T_NULL,
	MASH_FEED_T_ARRAY,
	MASH_FEED_T_OBJECT,
};

struct mash_feed_field {
	const char *name;  /* column / member name, NUL-terminated */
	const char *value; /* NUL-terminated; "" for null/array/object */
	size_t len;        /* strlen(value) */
	enum mash_feed_type type;
};

/* One record. Owned by the reader; valid until the next call on it. */
struct mash_feed_rec {
	unsigned long line; /* physical line (1-based) the record starts on */
	size_t nfields;
	struct mash_feed_field fields[MASH_FEED_MAX_FIELDS];
};

/* Why a record (or the whole feed) was rejected. */
struct mash_feed_err {
	unsigned long line;                 /* 1-based; 0 if not line-bound */
	char field[MASH_FEED_MAX_NAME + 1]; /* column, or "" for the record */
	char msg[MASH_FEED_MAX_MSG];        /* reason, never sensitive values */
	int fatal; /* 1: the feed cannot be read further (bad header, I/O) */
};

struct mash_feed;

/*
 * Open the feed file at path in the given format. name (NULL: the
 * basename of path) is used in messages. MASH_OK and *out set (free with
 * mash_feed_free), MASH_ERR_IO if the file cannot be opened,
 * MASH_ERR_INVAL on bad arguments, MASH_ERR_NOMEM.
 */
int mash_feed_open(const char *path, enum mash_feed_format fmt,
                   const char *name, struct mash_feed **out);

/*
 * A reader over a copy of buf[0..len) (tests, fuzzing). Same results as
 * mash_feed_open; the caller keeps buf.
 */
int mash_feed_open_mem(const void *buf, size_t len, enum mash_feed_format fmt,
                       const char *name, struct mash_feed **out);

/* Free a reader; NULL allowed. Record memory is wiped. */
void mash_feed_free(struct mash_feed *f);

/* The name used in messages ("police.csv"). Never NULL. */
const char *mash_feed_name(const struct mash_feed *f);

/*
 * Guess the format from the file name: ".csv" is CSV, ".jsonl", ".json",
 * ".ndjson" are JSON lines. MASH_OK or MASH_ERR_INVAL (unknown suffix).
 */
int mash_feed_format_from_name(const char *path, enum mash_feed_format *out);

/*
 * Read the next record. follow != 0: an incomplete record at end of file
 * is left unconsumed (MASH_FEED_AGAIN); follow == 0: end of file ends the
 * last record.
 *
 * Returns:
 *  MASH_OK          *rec points at the record (reader-owned);
 *  MASH_FEED_EOF    no more records (follow: nothing new yet);
 *  MASH_FEED_AGAIN  follow mode, a partial record is waiting;
 *  negative error   the record was bad and has been skipped: err says
 *                   where and why; if err->fatal the reader is done
 *                   (e.g. CSV header missing or invalid, I/O error).
 * *rec is NULL and err cleared on entry.
 */
int mash_feed_next(struct mash_feed *f, int follow,
                   const struct mash_feed_rec **rec, struct mash_feed_err *err);

/*
 * The position after the last record returned or skipped: byte offset and
 * the number of physical lines consumed. A reader reopened on the same file
 * and given this position with mash_feed_seek goes on where this one
 * stopped.
 */
void mash_feed_tell(const struct mash_feed *f, uint64_t *offset,
                    unsigned long *lines);

/*
 * Continue from a position returned by mash_feed_tell (CSV: the header is
 * still read from the start of the file first). MASH_OK, MASH_ERR_IO if the
 * file is shorter than offset (it was truncated or replaced: the caller
 * should start again from 0), MASH_ERR_INVAL.
 */
int mash_feed_seek(struct mash_feed *f, uint64_t offset, unsigned long lines);

/* The field called name in rec, or NULL if absent. */
const struct mash_feed_field *mash_feed_get(const struct mash_feed_rec *rec,
                                            const char *name);

/* Human name of a type ("string", "integer", ...); static storage. */
const char *mash_feed_type_name(enum mash_feed_type t);

#endif
