/*
 * bench_policy: the sharing-policy engine alone (no MQTT, no SQLite):
 * decisions per second for a 10-recipient directory (policy/directory.cfg)
 * on a realistic police event (identity, narrative, police detail with
 * intelligence, household, VCL; OFFICIAL-SENSITIVE, do-not-disclose), at
 * every level L1-L4 in turn, with the default policy (policy/default.cfg).
 * A second figure includes building each recipient's SharedRecord (what
 * the daemon does for everyone who receives something). Each mode runs
 * RUNS times; the median rate is printed.
 *
 * usage: bench_policy [SOURCE_DIR] [EVENTS] [RUNS]   (SOURCE_DIR defaults
 * to $MASH_SOURCE_DIR or ".")
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "common/err.h"
#include "common/str.h"
#include "policy/dir.h"
#include "policy/pol.h"

#define MAX_RUNS 15

struct fixture {
	Mash__V1__AgencyEvent ev;
	Mash__V1__Subject subj;
	Mash__V1__Handling h;
	Mash__V1__PoliceDetail pd;
	Mash__V1__RelatedPerson rp[2], *rps[2];
	Mash__V1__VclScore vs, *vss[1];
	char *offences[2];
};

static void
make_event(struct fixture *f)
{
	mash__v1__agency_event__init(&f->ev);
	mash__v1__subject__init(&f->subj);
	mash__v1__handling__init(&f->h);
	mash__v1__police_detail__init(&f->pd);
	mash__v1__vcl_score__init(&f->vs);
	f->subj.nhs_number = "9434765919";
	f->subj.given_name = "Jordan";
	f->subj.family_name = "Reed";
	f->subj.date_of_birth = "2011-05-14";
	f->subj.postcode = "NE61 1AA";
	f->subj.sex = "M";
	f->ev.subject = &f->subj;
	f->ev.event_id = "7d3c1c54-0006-4000-8000-000000000006";
	f->ev.agency = "police";
	f->ev.occurred_at = 1793664000000LL;
	f->ev.recorded_at = 1793667600000LL;
	f->ev.category = MASH__V1__CATEGORY__SEXUAL_EXPLOITATION;
	f->ev.severity = 3;
	f->ev.consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	f->ev.summary = "Found in a car with two adult males known for "
	                "exploitation; disclosed gifts and travel. Strategy "
	                "discussion requested.";
	f->ev.reporter = "DC 4411";
	f->ev.agency_ref = "NP-2026-1103-0042";
	f->h.classification = "OFFICIAL-SENSITIVE";
	f->h.do_not_disclose_to_family = 1;
	f->ev.handling = &f->h;
	for (int i = 0; i < 2; i++) {
		mash__v1__related_person__init(&f->rp[i]);
		f->rps[i] = &f->rp[i];
	}
	f->rp[0].role = "mother";
	f->rp[0].given_name = "Alex";
	f->rp[0].family_name = "Reed";
	f->rp[1].role = "alleged_perpetrator";
	f->rp[1].given_name = "Unknown";
	f->ev.n_related = 2;
	f->ev.related = f->rps;
	f->vs.factor = "risk_of_sexual_exploitation";
	f->vs.score = 4;
	f->vs.evidence = "older associates, gifts, missing episodes";
	f->vss[0] = &f->vs;
	f->ev.n_vcl = 1;
	f->ev.vcl = f->vss;
	f->pd.incident_ref = "INC-2026-1103-17";
	f->pd.incident_type = "child-sexual-exploitation";
	f->pd.dash_risk = "high";
	f->offences[0] = "SOA 2003 s14";
	f->offences[1] = "CAA 1984 s2";
	f->pd.n_offences = 2;
	f->pd.offences = f->offences;
	f->pd.intelligence = "Vehicle linked to an organised network.";
	f->pd.officer_in_case = "DS 1201";
	f->ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	f->ev.police = &f->pd;
}

int
main(int argc, char **argv)
{
	const char *src = argc > 1 ? argv[1] : getenv("MASH_SOURCE_DIR");
	int64_t events = 20000, runs = 7;
	char ppath[1024], dpath[1024], eb[MASH_POL_ERRLEN];
	struct mash_policy *pol = NULL;
	struct mash_dir *dir = NULL;
	struct mash_dir_entry ents[16];
	struct mash_pol_recipient rcp[16];
	struct mash_pol_event view;
	struct fixture f;
	double rate[2][MAX_RUNS];
	size_t n;
	long sink = 0;

	if (src == NULL)
		src = ".";
	if ((argc > 2 &&
	     mash_parse_i64(argv[2], 1, 100000000, &events) != MASH_OK) ||
	    (argc > 3 &&
	     mash_parse_i64(argv[3], 1, MAX_RUNS, &runs) != MASH_OK)) {
		fprintf(stderr,
		        "usage: bench_policy [SOURCE_DIR] [EVENTS] "
		        "[RUNS<=%d]\n",
		        MAX_RUNS);
		return 2;
	}
	(void)mash_snprintf(ppath, sizeof(ppath), "%s/policy/default.cfg", src);
	(void)mash_snprintf(dpath, sizeof(dpath), "%s/policy/directory.cfg",
	                    src);
	if (mash_pol_load(ppath, &pol, eb, sizeof(eb)) != MASH_OK ||
	    mash_dir_load(dpath, &dir, eb, sizeof(eb)) != MASH_OK) {
		fprintf(stderr, "bench_policy: %s\n", eb);
		return 2;
	}
	n = mash_dir_count(dir);
	if (n > 16)
		n = 16;
	for (size_t i = 0; i < n; i++) {
		(void)mash_dir_get(dir, i, &ents[i]);
		rcp[i].principal = ents[i].principal;
		rcp[i].role = ents[i].role;
		rcp[i].agency = ents[i].agency;
	}
	make_event(&f);
	mash_pol_event_view(&f.ev, &view);

	for (int mode = 0; mode < 2; mode++) {
		for (int64_t r = 0; r < runs; r++) {
			double t0 = bench_now_s(), dt;

			for (int64_t e = 0; e < events; e++) {
				struct mash_pol_case c = {(unsigned)(e % 4) + 1,
				                          3, 0};
				const char *purpose =
				    mash_pol_delivery_purpose(pol, c.level);

				for (size_t i = 0; i < n; i++) {
					struct mash_pol_decision d;

					(void)mash_pol_decide(pol, &view, &c,
					                      &rcp[i], purpose,
					                      0, &d);
					sink += d.receives;
					if (mode == 1 && d.receives) {
						Mash__V1__SharedRecord rec;

						if (mash_pol_record_build(
						        &f.ev, &d, "case-1",
						        "PPU, 101",
						        &rec) == MASH_OK)
							sink +=
							    (long)rec.n_fields;
						mash_pol_record_clear(&rec);
					}
				}
			}
			dt = bench_now_s() - t0;
			rate[mode][r] = (double)events * (double)n / dt;
		}
		qsort(rate[mode], (size_t)runs, sizeof(double),
		      bench_cmp_double);
	}
	printf("policy engine, %zu recipients, %lld events x %lld runs "
	       "(median)\n",
	       n, (long long)events, (long long)runs);
	printf("  decide only:          %12.0f decisions/s  (%.0f events/s)\n",
	       rate[0][runs / 2], rate[0][runs / 2] / (double)n);
	printf("  decide + SharedRecord: %11.0f decisions/s  (%.0f events/s)\n",
	       rate[1][runs / 2], rate[1][runs / 2] / (double)n);
	if (sink == 42)
		printf("\n");
	mash_dir_free(dir);
	mash_pol_free(pol);
	return 0;
}
