/*
 * dispatch.c - route a received message to the handler for its topic, one
 * handler per message type (after Mosquitto's src/handle_*.c). Add a line
 * here for a new topic family; nothing else in the daemon changes.
 */
#include <string.h>

#include "broker-adapters/mq.h"
#include "common/err.h"
#include "common/log.h"
#include "common/topics.h"
#include "daemon/handle_picture.h"
#include "daemon/mashd.h"

void
mashd_dispatch(struct mashd *d, const struct mash_mq_msg *msg)
{
	d->stats.received++;
	if (strncmp(msg->topic, MASH_TOPIC_EVENTS_PREFIX,
	            strlen(MASH_TOPIC_EVENTS_PREFIX)) == 0) {
		(void)mashd_handle_event(d, msg);
		return;
	}
	if (strcmp(msg->topic, MASHD_PICTURE_TOPIC) == 0) {
		(void)mashd_handle_picture_msg(d, msg);
		return;
	}
	/* Anything else (a topic the broker's ACL should not have let us
	 * see): everything on an events topic is quarantined by
	 * handle_event; other topics carry no agency data we asked for, so
	 * they are logged by topic only and dropped. */
	mash_warn("message on unexpected topic %.64s (%zu bytes) ignored",
	          msg->topic, msg->len);
}
