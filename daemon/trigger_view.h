/*
 * trigger_view.h - a strategy-discussion trigger as one attendee may read
 * it (issue 26): its reason and contributing events filtered by the same
 * sharing policy as the records themselves.
 *
 * A trigger's reason is "rule_id: sentence" pieces (s47/s47.c), and a
 * sentence about one agency's event names the agency and what it found
 * ("police scored a Vulnerability Checklist factor 4 ..."). An attendee
 * whom the policy does not give that agency's record (its concern and VCL
 * score) would learn it from the trigger all the same: the housing
 * officer read police's VCL score although police's record was withheld
 * from them. So each such piece is kept only for an attendee who sees
 * every contributing event of that agency as a record; otherwise it
 * becomes "rule_id: police contributed." when the policy signposts that
 * agency to them, and is left out when it does not. Pieces that name no
 * agency ("3 agencies reported ...") are counts and kept. A contributing
 * event is listed only to an attendee who sees it as a record.
 */
#ifndef MASHD_TRIGGER_VIEW_H
#define MASHD_TRIGGER_VIEW_H

#include <stddef.h>

#include "s47/s47.h"

/*
 * What recipient may learn of the contributing event event_ref
 * ("agency/event_id") of case_id, at the trigger's level, the case known
 * to n_agencies agencies: *record 1 if its concern (category, severity)
 * and any VCL score are shared with them, *signpost 1 if the agency's
 * involvement is (or the record is). MASH_OK, or an error (the attendee
 * then learns nothing of that event).
 */
typedef int (*mashd_sees_fn)(void *ctx, const char *case_id,
                             const char *recipient, const char *event_ref,
                             unsigned level, unsigned n_agencies, int *record,
                             int *signpost);

/*
 * The reason recipient may read into out (outsz bytes, NUL-terminated;
 * truncated at a piece boundary if short) and keep[i] = 1 for each of
 * events[0, n_events) they may see. rule_ids are the s47 policy's rule
 * ids (the piece boundaries). Nothing sees anything when sees fails.
 * MASH_OK or MASH_ERR_INVAL.
 */
int mashd_trigger_view(const char *const *rule_ids, size_t n_rule_ids,
                       const char *reason,
                       const char (*events)[MASH_S47_MAX_REF], size_t n_events,
                       const char *case_id, const char *recipient,
                       unsigned level, mashd_sees_fn sees, void *ctx, char *out,
                       size_t outsz, int *keep);

/* mashd_trigger_view with the piece boundaries taken from the s47 policy
 * pol's rule ids (the daemon's two callers: deliveries and the picture). */
int mashd_trigger_view_for(const struct mash_s47_policy *pol,
                           const struct mash_s47_open *trig,
                           const char *case_id, const char *recipient,
                           mashd_sees_fn sees, void *ctx, char *out,
                           size_t outsz, int *keep);

#endif
