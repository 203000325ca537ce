/*
 * topics.h - the MQTT topics of the wire contract (wire-contract.md), named
 * once for the daemon, mashctl and the console.
 */
#ifndef MASH_TOPICS_H
#define MASH_TOPICS_H

/* mash/v1/events/{agency}: agencies' signed events to mashd. */
#define MASH_TOPIC_EVENTS_PREFIX "mash/v1/events/"
/* mash/v1/receipts/{agency}: mashd's receipts to an agency. */
#define MASH_TOPIC_RECEIPTS_PREFIX "mash/v1/receipts/"
/* mash/v1/inbox/{principal}: deliveries sealed to one principal. */
#define MASH_TOPIC_INBOX_PREFIX "mash/v1/inbox/"
/* Picture requests to mashd (the answer goes to the requester's inbox). */
#define MASH_TOPIC_PICTURE_REQUESTS "mash/v1/requests/picture"

#endif
