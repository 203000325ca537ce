/*
 * bench_env: the per-message crypto and validation cost, alone (no MQTT,
 * no SQLite): envelope seals/s and opens/s (trust lookup + Ed25519 verify
 * + copies) for a 1 KiB payload, inbox seals/s (one sealed delivery:
 * X25519 + HKDF + AES-GCM to the recipient, then signed; issue 25), event
 * decode+validate/s for a realistic police event, and the time to (re)load a
 * trust store of 6 x 50 keys (what SIGHUP costs). Each figure is the median of
 * RUNS runs.
 *
 * usage: bench_env [N] [RUNS]   (N messages per run, default 20000)
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "common/err.h"
#include "common/mem.h"
#include "crypto/env.h"
#include "crypto/inbox.h"
#include "crypto/key.h"
#include "crypto/trust.h"
#include "event/evt.h"

#define MAX_RUNS 15
#define NOW_MS   1795435200000LL

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return 0;
}

static uint8_t *
packed_event(size_t *n)
{
	Mash__V1__AgencyEvent ev = MASH__V1__AGENCY_EVENT__INIT;
	Mash__V1__Subject s = MASH__V1__SUBJECT__INIT;
	Mash__V1__Handling h = MASH__V1__HANDLING__INIT;
	Mash__V1__PoliceDetail pd = MASH__V1__POLICE_DETAIL__INIT;
	Mash__V1__VclScore v = MASH__V1__VCL_SCORE__INIT, *vp[1] = {&v};
	Mash__V1__RelatedPerson r = MASH__V1__RELATED_PERSON__INIT,
	                        *rp[1] = {&r};
	uint8_t *buf;

	ev.event_id = "6f1c2a7e-0000-4000-8000-000000000006";
	ev.agency = "police";
	ev.occurred_at = NOW_MS - 20LL * 86400000;
	ev.recorded_at = NOW_MS - 20LL * 86400000 + 3600000;
	s.nhs_number = "9434765919";
	s.given_name = "Jordan";
	s.family_name = "Reed";
	s.date_of_birth = "2011-05-14";
	s.postcode = "NE61 1AA";
	s.sex = "M";
	ev.subject = &s;
	ev.category = MASH__V1__CATEGORY__SEXUAL_EXPLOITATION;
	ev.severity = 3;
	ev.summary = "Found in a car with two adult males known for CSE "
	             "concerns; returned home by officers at 02:10. Child "
	             "declined to say where they had been.";
	ev.consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	h.classification = "OFFICIAL-SENSITIVE";
	h.do_not_disclose_to_family = 1;
	ev.handling = &h;
	ev.reporter = "DC 4411";
	ev.agency_ref = "NP-2026-118822";
	v.factor = "risk_of_sexual_exploitation";
	v.score = 4;
	v.evidence = "older males, car, late night";
	ev.n_vcl = 1;
	ev.vcl = vp;
	r.role = "mother";
	r.given_name = "Ann";
	r.family_name = "Reed";
	r.date_of_birth = "1985-03-02";
	ev.n_related = 1;
	ev.related = rp;
	pd.incident_ref = "INC-6";
	pd.dash_risk = "high";
	pd.intelligence = "vehicle linked to two other missing episodes";
	ev.detail_case = MASH__V1__AGENCY_EVENT__DETAIL_POLICE;
	ev.police = &pd;
	*n = mash__v1__agency_event__get_packed_size(&ev);
	buf = malloc(*n);
	mash__v1__agency_event__pack(&ev, buf);
	return buf;
}

int
main(int argc, char **argv)
{
	static const char *const signers[] = {
	    "police", "health", "education", "yot", "housing", "social-care"};
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5, r, s, k;
	double seal[MAX_RUNS], open[MAX_RUNS], val[MAX_RUNS], load[MAX_RUNS],
	    inbox[MAX_RUNS], shared[MAX_RUNS], batch[MAX_RUNS];
	struct mash_seal_eph eph;
	struct mash_seal_to to;
	uint8_t rcpt_pub[MASH_KEY_PUB_LEN];
	struct mash_key *rcpt = NULL;
	char dir[] = "/tmp/mash-bench-env-XXXXXX", id[32];
	struct mash_key *key = NULL, *tmp;
	struct mash_trust *trust = NULL;
	uint8_t payload[1024], *env = NULL, *evbuf;
	size_t envlen = 0, evlen = 0;
	long i;

	if (n < 1 || runs < 1 || runs > MAX_RUNS) {
		fprintf(stderr, "usage: bench_env [N>0] [RUNS 1..%d]\n",
		        MAX_RUNS);
		return 2;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	for (s = 0; s < 6; s++) {
		for (k = 0; k < 50; k++) {
			snprintf(id, sizeof(id), "%s-%d", signers[s], k);
			if (mash_key_generate(&tmp) != MASH_OK ||
			    mash_trust_add_key(dir, signers[s], id, tmp, NULL,
			                       0) != MASH_OK)
				return 1;
			if (s == 0 && k == 0)
				key = tmp;
			else
				mash_key_free(tmp);
		}
	}
	if (mash_key_generate_kind(MASH_KEY_X25519, &rcpt) != MASH_OK ||
	    mash_key_public_raw(rcpt, rcpt_pub) != MASH_OK)
		return 1;
	memset(payload, 0x5a, sizeof(payload));
	evbuf = packed_event(&evlen);
	for (r = 0; r < runs; r++) {
		double t0 = bench_now_s();
		struct mash_trust *t = NULL;

		if (mash_trust_load(dir, &t, NULL, 0) != MASH_OK)
			return 1;
		load[r] = (bench_now_s() - t0) * 1e3;
		mash_trust_free(trust);
		trust = t;

		t0 = bench_now_s();
		for (i = 0; i < n; i++) {
			mash_free(env);
			if (mash_env_seal(key, "police", "police-0",
			                  "mash.v1.AgencyEvent", payload,
			                  sizeof(payload), &env,
			                  &envlen) != MASH_OK)
				return 1;
		}
		seal[r] = (double)n / (bench_now_s() - t0);

		t0 = bench_now_s();
		for (i = 0; i < n; i++) {
			struct mash_env_opened *o = NULL;

			if (mash_env_open(trust, env, envlen,
			                  "mash.v1.AgencyEvent", "police", &o,
			                  NULL, 0) != MASH_OK)
				return 1;
			mash_env_opened_free(o);
		}
		open[r] = (double)n / (bench_now_s() - t0);

		t0 = bench_now_s();
		for (i = 0; i < n; i++) {
			Mash__V1__AgencyEvent *ev = NULL;

			if (mash_evt_decode(evbuf, evlen, &ev, NULL, 0) !=
			        MASH_OK ||
			    mash_evt_validate(ev, "police", NOW_MS, NULL, 0) !=
			        MASH_OK)
				return 1;
			mash_evt_free(ev);
		}
		val[r] = (double)n / (bench_now_s() - t0);

		t0 = bench_now_s();
		for (i = 0; i < n; i++) {
			mash_free(env);
			env = NULL;
			if (mash_inbox_seal(key, "mashd", "police-0", "analyst",
			                    rcpt_pub, "mash.v1.SharedRecord",
			                    payload, sizeof(payload), &env,
			                    &envlen) != MASH_OK)
				return 1;
		}
		inbox[r] = (double)n / (bench_now_s() - t0);

		/* As mashd seals an event's deliveries: one ephemeral key
		 * for every 10 (issue 32), against one each above. */
		t0 = bench_now_s();
		for (i = 0; i < n; i++) {
			if (i % 10 == 0 && mash_seal_eph_new(&eph) != MASH_OK)
				return 1;
			mash_free(env);
			env = NULL;
			if (mash_inbox_seal_with(
			        &eph, key, "mashd", "police-0", "analyst",
			        rcpt_pub, "mash.v1.SharedRecord", payload,
			        sizeof(payload), &env, &envlen) != MASH_OK)
				return 1;
		}
		mash_seal_eph_clear(&eph);
		shared[r] = (double)n / (bench_now_s() - t0);

		/* As mashd seals a batch: one ephemeral key for the batch
		 * and each inbox's key derived once for it; a batch of 32
		 * events sends an inbox about 32 messages (issue 32). */
		t0 = bench_now_s();
		for (i = 0; i < n; i++) {
			if (i % 32 == 0 &&
			    (mash_seal_eph_new(&eph) != MASH_OK ||
			     mash_seal_to_derive(&eph, rcpt_pub, &to) !=
			         MASH_OK))
				return 1;
			mash_free(env);
			env = NULL;
			if (mash_inbox_seal_to(
			        &to, key, "mashd", "police-0", "analyst",
			        "mash.v1.SharedRecord", payload,
			        sizeof(payload), &env, &envlen) != MASH_OK)
				return 1;
		}
		mash_seal_eph_clear(&eph);
		mash_seal_to_clear(&to);
		batch[r] = (double)n / (bench_now_s() - t0);
	}
	printf("envelope seal (1 KiB payload):   %10.0f /s\n",
	       bench_median(seal, (size_t)runs));
	printf("envelope open (1 KiB payload):   %10.0f /s\n",
	       bench_median(open, (size_t)runs));
	printf("inbox seal (1 KiB, sealed+signed): %8.0f /s\n",
	       bench_median(inbox, (size_t)runs));
	printf("  one ephemeral key per 10 seals:  %8.0f /s (%.2fx)\n",
	       bench_median(shared, (size_t)runs),
	       bench_median(shared, (size_t)runs) /
	           bench_median(inbox, (size_t)runs));
	printf("  one key per inbox per 32 seals:  %8.0f /s (%.2fx)\n",
	       bench_median(batch, (size_t)runs),
	       bench_median(batch, (size_t)runs) /
	           bench_median(inbox, (size_t)runs));
	printf("event decode+validate (%zu B):  %10.0f /s\n", evlen,
	       bench_median(val, (size_t)runs));
	printf("trust store load (300 keys):     %10.2f ms\n",
	       bench_median(load, (size_t)runs));
	mash_free(env);
	free(evbuf);
	mash_key_free(key);
	mash_key_free(rcpt);
	mash_trust_free(trust);
	(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
