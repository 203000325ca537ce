/*
 * picture_triggers.c - see picture_triggers.h. The trigger's reason names
 * rules and counts, never personal data (s47.h), so it is shown as stored.
 */
#include <string.h>

#include "common/err.h"
#include "common/str.h"
#include "daemon/picture_triggers.h"
#include "s47/s47_store.h"
#include "store/store.h"

int
mashd_picture_triggers_load(struct mash_store *st, const char *case_id,
                            struct mashd_picture_triggers *t)
{
	Mash__V1__StrategyDiscussionTrigger *m;
	size_t i, n;
	int rc;

	if (t == NULL)
		return MASH_ERR_INVAL;
	memset(t, 0, sizeof(*t));
	if (st == NULL || case_id == NULL ||
	    mash_strlcpy(t->case_id, case_id, sizeof(t->case_id)) != MASH_OK)
		return MASH_ERR_INVAL;
	rc = mash_s47_store_load_open(st, case_id, &t->raw);
	if (rc != MASH_OK || !t->raw.open) {
		memset(&t->raw, 0, sizeof(t->raw));
		return rc;
	}
	m = &t->msg;
	mash__v1__strategy_discussion_trigger__init(m);
	m->case_id = t->case_id;
	m->trigger_id = t->raw.trigger_id;
	m->rule_id = t->raw.rule_id;
	m->reason = t->raw.reason;
	for (i = 0; i < t->raw.n_events && i < MASH_S47_MAX_CONTRIB; i++)
		t->events[i] = t->raw.events[i];
	m->n_contributing_events = i;
	m->contributing_events = t->events;
	for (i = 0; i < t->raw.n_roles && i < MASH_S47_MAX_ROLES; i++)
		t->roles[i] = t->raw.roles[i];
	m->n_required_attendees = i;
	m->required_attendees = t->roles;
	m->raised_at = t->raw.raised_at;
	m->discussion_due_by = t->raw.due_by;
	m->level = t->raw.level;
	/* The trigger's latest state in the contract's words: raised,
	 * updated by later events, or escalated once its clock passed. */
	m->kind = t->raw.updates > 0 ? "updated" : "raised";
	/* The strategy-discussion clock is the authority on the due time
	 * (a same-day rule may have brought it forward) and on whether it
	 * has passed and been escalated to the MASH manager. */
	n = 0;
	rc = mash_s47_store_list_clocks(st, case_id, 1, t->clocks,
	                                MASHD_PICTURE_MAX_CLOCKS, &n);
	if (rc != MASH_OK) {
		memset(t, 0, sizeof(*t));
		return rc;
	}
	for (i = 0; i < n; i++) {
		if (t->clocks[i].kind != MASH_S47_CLOCK_STRATEGY ||
		    strcmp(t->clocks[i].trigger_id, t->raw.trigger_id) != 0)
			continue;
		m->discussion_due_by = t->clocks[i].due_at;
		if (t->clocks[i].escalated_at != 0)
			m->kind = "escalated";
	}
	t->open = 1;
	return MASH_OK;
}

void
mashd_picture_triggers_clear(struct mashd_picture_triggers *t)
{
	if (t == NULL)
		return;
	memset(t, 0, sizeof(*t));
}
