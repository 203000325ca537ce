/*
 * picture_delivery.h - what became of the requester's own inbox delivery
 * of each record in a Picture (issue 31: "pictures show both states",
 * queued and delivered), read from the trail and the outbox.
 */
#ifndef MASHD_PICTURE_DELIVERY_H
#define MASHD_PICTURE_DELIVERY_H

#include <stddef.h>

#include "mash/v1/mash.pb-c.h"

struct mash_store;

/* The states a SharedRecord's `delivery` (field 17) may hold. */
#define MASHD_DLV_DELIVERED "delivered"
#define MASHD_DLV_QUEUED    "queued"
#define MASHD_DLV_RETRYING  "retrying"
#define MASHD_DLV_FAILED    "failed"
#define MASHD_DLV_DROPPED   "dropped"
#define MASHD_DLV_HELD      "held"
#define MASHD_DLV_RELEASED  "released"

/*
 * Set recs[i].delivery (a static string; "" left alone) for every record
 * of case case_id that was pushed to principal's inbox: the case's
 * DELIVERY_QUEUED / DELIVERY_HELD records naming principal (the newest per
 * agency and event), DELIVERY_DROPPED records naming what they queued, and
 * where the outbox has each one now. MASH_OK, MASH_ERR_INVAL,
 * MASH_ERR_NOMEM, MASH_ERR_STORE (then no record is marked).
 */
int mashd_picture_delivery(struct mash_store *st, const char *case_id,
                           const char *principal, Mash__V1__SharedRecord *recs,
                           size_t n);

#endif
