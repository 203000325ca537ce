/*
 * delivery_view.c - one opened inbox delivery, decoded and shown: the
 * terminal view and the JSON that `mashctl inbox read` prints and the web
 * console's inbox lists (picture_view.h).
 */
#include <string.h>

#include "cli/picture_view.h"
#include "common/err.h"
#include "common/str.h"
#include "crypto/env.h"
#include "event/evt.h"
#include "s47/cal.h"

static const struct {
	const char *type;
	const ProtobufCMessageDescriptor *desc;
	const char *key;
} kinds[] = {
    {"mash.v1.SharedRecord", &mash__v1__shared_record__descriptor, "record"},
    {"mash.v1.StrategyDiscussionTrigger",
     &mash__v1__strategy_discussion_trigger__descriptor, "trigger"},
    {"mash.v1.Picture", &mash__v1__picture__descriptor, "picture"},
};

int
mashctl_delivery_decode(const char *payload_type, const uint8_t *payload,
                        size_t len, struct mashctl_delivery *out, char *why,
                        size_t whylen)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(payload_type, kinds[i].type) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0])) {
		mash_why(why, whylen, "unknown delivery type %s", payload_type);
		return MASH_ERR_DECODE;
	}
	/* Agency free text: refused whole if any string is not UTF-8. */
	if (!mash_evt_wire_strings_valid(kinds[i].desc, payload, len)) {
		mash_why(why, whylen, "%s has a string that is not UTF-8",
		         payload_type);
		return MASH_ERR_BAD_UTF8;
	}
	out->msg = protobuf_c_message_unpack(
	    kinds[i].desc, mash_env_pb_allocator(), len, payload);
	if (out->msg == NULL) {
		mash_why(why, whylen, "%s does not decode", payload_type);
		return MASH_ERR_DECODE;
	}
	out->type = kinds[i].type;
	out->key = kinds[i].key;
	return MASH_OK;
}

void
mashctl_delivery_clear(struct mashctl_delivery *d)
{
	if (d->msg != NULL)
		protobuf_c_message_free_unpacked(d->msg,
		                                 mash_env_pb_allocator());
	memset(d, 0, sizeof(*d));
}

int
mashctl_delivery_render(FILE *out, const struct mashctl_delivery *d,
                        const struct mashctl_view_opts *vo)
{
	if (strcmp(d->key, "record") == 0)
		return mashctl_record_render(
		    out, (const Mash__V1__SharedRecord *)d->msg);
	if (strcmp(d->key, "picture") == 0)
		return mashctl_picture_render(
		    out, (const Mash__V1__Picture *)d->msg, vo);
	return mashctl_trigger_render(
	    out, (const Mash__V1__StrategyDiscussionTrigger *)d->msg, vo);
}

json_t *
mashctl_delivery_to_json(const struct mashctl_delivery *d,
                         const char *recipient,
                         const struct mashctl_view_opts *vo)
{
	json_t *j, *doc;

	if (strcmp(d->key, "record") == 0)
		j = mashctl_record_to_json(
		    (const Mash__V1__SharedRecord *)d->msg);
	else if (strcmp(d->key, "picture") == 0)
		j = mashctl_picture_to_json((const Mash__V1__Picture *)d->msg,
		                            vo);
	else
		j = mashctl_trigger_to_json(
		    (const Mash__V1__StrategyDiscussionTrigger *)d->msg, vo);
	if (j == NULL)
		return NULL;
	doc = json_pack("{s:s,s:s,s:o}", "type", d->type, "recipient",
	                recipient, d->key, j);
	return doc;
}

/*
 * Working days from the London date of from_ms to that of to_ms on the
 * England and Wales calendar: the number of working days after today up to
 * and including the due day (0: due today), negative when the due day has
 * passed. Bounded by MASH_CAL_MAX_WORKING_DAYS calendar days either way.
 */
int
mashctl_working_days(void *ctx, int64_t from_ms, int64_t to_ms, int64_t *out)
{
	const struct mash_cal *cal = ctx;
	int32_t from, to, d;
	int64_t n = 0;

	*out = 0;
	from = mash_cal_local_day(from_ms);
	to = mash_cal_local_day(to_ms);
	if ((int64_t)to - from > MASH_CAL_MAX_WORKING_DAYS * 2 ||
	    (int64_t)from - to > MASH_CAL_MAX_WORKING_DAYS * 2)
		return MASH_ERR_INVAL;
	if (to >= from) {
		for (d = from + 1; d <= to; d++)
			n += mash_cal_is_working_day(cal, d);
	} else {
		for (d = to + 1; d <= from; d++)
			n -= mash_cal_is_working_day(cal, d);
		/* Due on a past day: at least one day overdue. */
		if (n == 0)
			n = -1;
	}
	*out = n;
	return MASH_OK;
}
