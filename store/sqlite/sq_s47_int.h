/*
 * sq_s47_int.h - what the two files of the SQLite back-end's s47 part
 * share: sq_s47.c (triggers, their events, applying an event) and
 * sq_s47_clock.c (statutory clocks). Nothing else includes it.
 */
#ifndef MASH_STORE_SQ_S47_INT_H
#define MASH_STORE_SQ_S47_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "s47/cal.h"
#include "s47/s47_store.h"

/* Column helper of the s47 files (statements: sq_prep, sq_int.h). */
void sq_s47_col_text(sqlite3_stmt *st, int col, char *dst, size_t dstsz);

/* Clocks (sq_s47_clock.c), for the triggers that start, move and
 * close them. */
int sq_s47_note_clock(struct mash_store_be *db, struct mash_s47_outcome *out,
                      enum mash_s47_clock_op op, int64_t clock_id);
int64_t sq_s47_open_clock(struct mash_store_be *db, const char *case_id,
                          int kind);
int sq_s47_start_clock(struct mash_store_be *db, const struct mash_cal *cal,
                       const char *case_id, int kind, const char *trigger_id,
                       int64_t from_ms, int days, struct mash_s47_outcome *out);
int sq_s47_close_clocks(struct mash_store_be *db, const char *case_id, int kind,
                        int64_t now_ms, const char *by,
                        struct mash_s47_outcome *out);

#endif
