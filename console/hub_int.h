/*
 * hub_int.h - what the console's link to the hub shares between its files
 * (hub.c: the link, its reader and the inbox; hub_picture.c: picture
 * requests and their answers). Not for other modules.
 */
#ifndef MASH_CONSOLE_HUB_INT_H
#define MASH_CONSOLE_HUB_INT_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "broker-adapters/mq.h"
#include "common/topics.h"
#include "console/hub.h"
#include "crypto/key.h"

#define INBOX_PREFIX MASH_TOPIC_INBOX_PREFIX
#define CORR_LEN     16u

/* A picture request waiting for the answer with its correlation data. */
struct ask {
	int used;
	unsigned char corr[CORR_LEN];
	struct mash_mq_msg *answer; /* handed over by the reader */
};

struct con_hub {
	struct con_hub *next; /* in the registry; refs guarded by its mutex */
	unsigned refs;
	char principal[MASH_ACCT_NAME_MAX + 1];
	const struct con_hub_cfg *cfg;
	struct mash_mq *mq;
	struct mash_key *enc, *sign;
	char key_id[MASH_ACCT_NAME_MAX + 1];
	int fd_cert, fd_key;
	pthread_t reader;
	int reader_started;
	pthread_mutex_t mu; /* items, last, refused, closing */
	pthread_cond_t cond;
	json_t *items;
	uint64_t last, refused;
	int closing;
	struct ask asks[CON_HUB_MAX_ASKS];
};

/* Reader side: 1 when msg answers a waiting picture request (taken, or
 * dropped when nobody waits any more), 0 for an ordinary delivery. */
int con_hub_answer_taken(struct con_hub *h, struct mash_mq_msg *msg);

#endif
