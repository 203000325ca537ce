/*
 * picture_triggers.h - the open s47 trigger of a case, as a Picture shows
 * it: the s47 store's row (s47/s47_store.h) turned into a
 * StrategyDiscussionTrigger message whose strings live in the struct.
 */
#ifndef MASHD_PICTURE_TRIGGERS_H
#define MASHD_PICTURE_TRIGGERS_H

#include "mash/v1/mash.pb-c.h"
#include "s47/s47.h"
#include "s47/s47_store.h"

struct mash_store;

/* Open clocks of one case read to find the trigger's strategy clock. */
#define MASHD_PICTURE_MAX_CLOCKS 16u

struct mashd_picture_triggers {
	int open;                                /* 1 if msg is filled */
	Mash__V1__StrategyDiscussionTrigger msg; /* points into raw/ptrs */
	struct mash_s47_open raw;
	char case_id[MASH_MAX_ID + 1];
	char *events[MASH_S47_MAX_CONTRIB];
	char *roles[MASH_S47_MAX_ROLES];
	struct mash_s47_clock clocks[MASHD_PICTURE_MAX_CLOCKS];
};

/*
 * Load the open trigger of case_id into *t (cleared first; t->open = 0 if
 * the case has none). The due time is the open strategy-discussion
 * clock's; kind is "escalated" once that clock has passed and been
 * escalated, else "open". MASH_OK, MASH_ERR_INVAL, MASH_ERR_STORE.
 */
int mashd_picture_triggers_load(struct mash_store *st, const char *case_id,
                                struct mashd_picture_triggers *t);

/* Wipe *t. NULL allowed. */
void mashd_picture_triggers_clear(struct mashd_picture_triggers *t);

#endif
