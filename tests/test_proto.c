/* Protobuf round trips of every wire-contract message
 * (shared/spec/wire-contract.md): pack, unpack, re-pack to the same bytes,
 * and the named fields come back with their values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mash/v1/mash.pb-c.h"

/* Pack m, unpack as its type, re-pack: must be byte-identical. Returns the
 * unpacked copy (caller frees with protobuf_c_message_free_unpacked). */
static ProtobufCMessage *
round_trip(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m), n2;
	uint8_t *a = malloc(n + 1), *b;
	ProtobufCMessage *back;

	ck_assert_uint_eq(protobuf_c_message_pack(m, a), n);
	back = protobuf_c_message_unpack(m->descriptor, NULL, n, a);
	ck_assert_ptr_nonnull(back);
	n2 = protobuf_c_message_get_packed_size(back);
	ck_assert_uint_eq(n2, n);
	b = malloc(n2 + 1);
	protobuf_c_message_pack(back, b);
	ck_assert_mem_eq(a, b, n);
	free(a);
	free(b);
	return back;
}

START_TEST(signed_envelope_round_trips)
{
	Mash__V1__SignedEnvelope e = MASH__V1__SIGNED_ENVELOPE__INIT, *b;
	uint8_t payload[3] = {1, 0, 2}, sig[64];

	memset(sig, 0xab, sizeof(sig));
	e.version = 1;
	e.signer = "police";
	e.key_id = "police-2026";
	e.payload_type = "mash.v1.AgencyEvent";
	e.payload.data = payload;
	e.payload.len = 3;
	e.signature.data = sig;
	e.signature.len = 64;
	b = (Mash__V1__SignedEnvelope *)round_trip(&e.base);
	ck_assert_uint_eq(b->version, 1);
	ck_assert_str_eq(b->signer, "police");
	ck_assert_str_eq(b->key_id, "police-2026");
	ck_assert_str_eq(b->payload_type, "mash.v1.AgencyEvent");
	ck_assert_uint_eq(b->payload.len, 3);
	ck_assert_mem_eq(b->payload.data, payload, 3);
	ck_assert_mem_eq(b->signature.data, sig, 64);
	mash__v1__signed_envelope__free_unpacked(b, NULL);
}
END_TEST

START_TEST(subject_with_local_ids_round_trips)
{
	Mash__V1__Subject s = MASH__V1__SUBJECT__INIT, *b;
	Mash__V1__Subject__LocalIdsEntry e1 =
	    MASH__V1__SUBJECT__LOCAL_IDS_ENTRY__INIT;
	Mash__V1__Subject__LocalIdsEntry e2 =
	    MASH__V1__SUBJECT__LOCAL_IDS_ENTRY__INIT;
	Mash__V1__Subject__LocalIdsEntry *ids[2] = {&e1, &e2};

	s.nhs_number = "9434765919";
	s.given_name = "Jordan";
	s.family_name = "Reed";
	s.date_of_birth = "2011-05-14";
	s.postcode = "NE61 1AA";
	s.sex = "M";
	e1.key = "police";
	e1.value = "NP-77";
	e2.key = "education";
	e2.value = "UPN-A123";
	s.n_local_ids = 2;
	s.local_ids = ids;
	b = (Mash__V1__Subject *)round_trip(&s.base);
	ck_assert_str_eq(b->nhs_number, "9434765919");
	ck_assert_str_eq(b->given_name, "Jordan");
	ck_assert_str_eq(b->family_name, "Reed");
	ck_assert_str_eq(b->date_of_birth, "2011-05-14");
	ck_assert_str_eq(b->postcode, "NE61 1AA");
	ck_assert_str_eq(b->sex, "M");
	ck_assert_uint_eq(b->n_local_ids, 2);
	ck_assert_str_eq(b->local_ids[1]->key, "education");
	ck_assert_str_eq(b->local_ids[1]->value, "UPN-A123");
	mash__v1__subject__free_unpacked(b, NULL);
}
END_TEST

/* AgencyEvent with each detail of the oneof in turn. */
static const int details[] = {
    MASH__V1__AGENCY_EVENT__DETAIL_POLICE,
    MASH__V1__AGENCY_EVENT__DETAIL_HEALTH,
    MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION,
    MASH__V1__AGENCY_EVENT__DETAIL_YOT,
    MASH__V1__AGENCY_EVENT__DETAIL_HOUSING,
    MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE,
    MASH__V1__AGENCY_EVENT__DETAIL__NOT_SET,
};

START_TEST(agency_event_round_trips_with_each_detail)
{
	Mash__V1__AgencyEvent e = MASH__V1__AGENCY_EVENT__INIT, *b;
	Mash__V1__Subject s = MASH__V1__SUBJECT__INIT;
	Mash__V1__Handling h = MASH__V1__HANDLING__INIT;
	Mash__V1__VclScore v = MASH__V1__VCL_SCORE__INIT, *vp[1] = {&v};
	Mash__V1__RelatedPerson r = MASH__V1__RELATED_PERSON__INIT,
	                        *rp[1] = {&r};
	Mash__V1__PoliceDetail pd = MASH__V1__POLICE_DETAIL__INIT;
	Mash__V1__HealthDetail hd = MASH__V1__HEALTH_DETAIL__INIT;
	Mash__V1__EducationDetail ed = MASH__V1__EDUCATION_DETAIL__INIT;
	Mash__V1__YotDetail yd = MASH__V1__YOT_DETAIL__INIT;
	Mash__V1__HousingDetail hod = MASH__V1__HOUSING_DETAIL__INIT;
	Mash__V1__SocialCareDetail sd = MASH__V1__SOCIAL_CARE_DETAIL__INIT;
	char *agencies[2] = {"police", "health"};
	char *offences[1] = {"possession"};

	e.event_id = "6f1c2a7e-0000-4000-8000-000000000006";
	e.agency = "police";
	e.occurred_at = 1793664000000LL;
	e.recorded_at = 1793667600000LL;
	s.nhs_number = "9434765919";
	e.subject = &s;
	e.category = MASH__V1__CATEGORY__SEXUAL_EXPLOITATION;
	e.severity = 3;
	e.summary = "summary text";
	e.consent = MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM;
	h.classification = "OFFICIAL-SENSITIVE";
	h.do_not_disclose_to_family = 1;
	h.n_restrict_to_agencies = 2;
	h.restrict_to_agencies = agencies;
	e.handling = &h;
	e.reporter = "DC 99";
	e.agency_ref = "NP-6";
	v.factor = "risk_of_sexual_exploitation";
	v.score = 4;
	v.evidence = "seen with older males";
	e.n_vcl = 1;
	e.vcl = vp;
	r.role = "mother";
	r.given_name = "Ann";
	r.family_name = "Reed";
	r.date_of_birth = "1985-03-02";
	e.n_related = 1;
	e.related = rp;
	pd.incident_ref = "INC-6";
	pd.dash_risk = "high";
	pd.children_present = 1;
	pd.n_offences = 1;
	pd.offences = offences;
	pd.intelligence = "intel";
	hd.setting = "ED";
	hd.diagnosis = "dx";
	hd.attendances_12m = 3;
	hd.explanation_consistent = 1;
	ed.school_urn = "122000";
	ed.attendance_pct = 71;
	ed.exclusion_days = 2;
	yd.order_type = "referral order";
	yd.asset_score = 17;
	yd.next_court_date = "2027-01-15";
	hod.homelessness_duty = "relief";
	hod.overcrowded = 1;
	sd.trigger_id = "trig-1";
	sd.held_at = 1793700000000LL;
	sd.outcome = "s47-enquiry";
	e.detail_case = (Mash__V1__AgencyEvent__DetailCase)details[_i];
	switch (details[_i]) {
	case MASH__V1__AGENCY_EVENT__DETAIL_POLICE:
		e.police = &pd;
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_HEALTH:
		e.health = &hd;
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION:
		e.education = &ed;
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_YOT:
		e.yot = &yd;
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_HOUSING:
		e.housing = &hod;
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE:
		e.social_care = &sd;
		break;
	default:
		break;
	}
	b = (Mash__V1__AgencyEvent *)round_trip(&e.base);
	ck_assert_str_eq(b->event_id, e.event_id);
	ck_assert_int_eq(b->occurred_at, 1793664000000LL);
	ck_assert_int_eq(b->recorded_at, 1793667600000LL);
	ck_assert_str_eq(b->subject->nhs_number, "9434765919");
	ck_assert_int_eq(b->category, MASH__V1__CATEGORY__SEXUAL_EXPLOITATION);
	ck_assert_uint_eq(b->severity, 3);
	ck_assert_int_eq(b->consent,
	                 MASH__V1__CONSENT__NOT_REQUIRED_RISK_OF_HARM);
	ck_assert_int_eq(b->handling->do_not_disclose_to_family, 1);
	ck_assert_str_eq(b->handling->restrict_to_agencies[1], "health");
	ck_assert_uint_eq(b->vcl[0]->score, 4);
	ck_assert_str_eq(b->related[0]->role, "mother");
	ck_assert_int_eq(b->detail_case, details[_i]);
	switch (details[_i]) {
	case MASH__V1__AGENCY_EVENT__DETAIL_POLICE:
		ck_assert_str_eq(b->police->offences[0], "possession");
		ck_assert_int_eq(b->police->children_present, 1);
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_HEALTH:
		ck_assert_uint_eq(b->health->attendances_12m, 3);
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_EDUCATION:
		ck_assert_uint_eq(b->education->attendance_pct, 71);
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_YOT:
		ck_assert_str_eq(b->yot->next_court_date, "2027-01-15");
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_HOUSING:
		ck_assert_int_eq(b->housing->overcrowded, 1);
		break;
	case MASH__V1__AGENCY_EVENT__DETAIL_SOCIAL_CARE:
		ck_assert_int_eq(b->social_care->held_at, 1793700000000LL);
		break;
	default:
		ck_assert_ptr_null(b->police);
		break;
	}
	mash__v1__agency_event__free_unpacked(b, NULL);
}
END_TEST

START_TEST(receipt_round_trips_each_status)
{
	Mash__V1__Receipt r = MASH__V1__RECEIPT__INIT, *b;

	r.event_id = "e-1";
	r.agency = "health";
	r.status = (Mash__V1__Receipt__Status)_i;
	r.reason = _i == MASH__V1__RECEIPT__STATUS__REJECTED
	               ? "subject.nhs_number: check digit mismatch"
	               : "";
	r.case_id = "case-1";
	r.audit_seq = 18446744073709551615ULL;
	b = (Mash__V1__Receipt *)round_trip(&r.base);
	ck_assert_int_eq(b->status, _i);
	ck_assert_str_eq(b->reason, r.reason);
	ck_assert_str_eq(b->case_id, "case-1");
	ck_assert_uint_eq(b->audit_seq, 18446744073709551615ULL);
	mash__v1__receipt__free_unpacked(b, NULL);
}
END_TEST

static void
fill_record(Mash__V1__SharedRecord *r, Mash__V1__SharedRecord__FieldsEntry **fp,
            Mash__V1__SharedRecord__FieldsEntry *f, char **withheld,
            char **flags)
{
	f[0].key = "summary";
	f[0].value = "shared summary";
	f[1].key = "category";
	f[1].value = "SELF_HARM";
	fp[0] = &f[0];
	fp[1] = &f[1];
	r->case_id = "case-1";
	r->event_id = "e-4";
	r->agency = "health";
	r->category = MASH__V1__CATEGORY__SELF_HARM;
	r->severity = 3;
	r->occurred_at = 1792454400000LL;
	r->n_fields = 2;
	r->fields = fp;
	r->n_withheld = 2;
	r->withheld = withheld;
	r->rule_id = "health-to-mash";
	r->legal_basis = "Children Act 2004 s11";
	r->purpose = "mash-triage";
	r->audit_seq = 77;
	r->reason = "necessary and proportionate";
	r->n_flags = 1;
	r->flags = flags;
}

START_TEST(shared_record_with_fields_map_round_trips)
{
	Mash__V1__SharedRecord r = MASH__V1__SHARED_RECORD__INIT, *b;
	Mash__V1__SharedRecord__FieldsEntry f[2] = {
	    MASH__V1__SHARED_RECORD__FIELDS_ENTRY__INIT,
	    MASH__V1__SHARED_RECORD__FIELDS_ENTRY__INIT};
	Mash__V1__SharedRecord__FieldsEntry *fp[2];
	char *withheld[2] = {"health.diagnosis", "health.clinical_notes"};
	char *flags[1] = {"consent-refused"};

	fill_record(&r, fp, f, withheld, flags);
	b = (Mash__V1__SharedRecord *)round_trip(&r.base);
	ck_assert_uint_eq(b->n_fields, 2);
	ck_assert_str_eq(b->fields[0]->key, "summary");
	ck_assert_str_eq(b->fields[0]->value, "shared summary");
	ck_assert_str_eq(b->withheld[1], "health.clinical_notes");
	ck_assert_str_eq(b->legal_basis, "Children Act 2004 s11");
	ck_assert_str_eq(b->flags[0], "consent-refused");
	ck_assert_uint_eq(b->audit_seq, 77);
	mash__v1__shared_record__free_unpacked(b, NULL);
}
END_TEST

static void
fill_trigger(Mash__V1__StrategyDiscussionTrigger *t, char **events,
             char **roles)
{
	t->case_id = "case-1";
	t->trigger_id = "trig-1";
	t->rule_id = "s47.accumulation";
	t->reason = "4 agencies within 90 days, severity sum 8";
	t->n_contributing_events = 2;
	t->contributing_events = events;
	t->n_required_attendees = 2;
	t->required_attendees = roles;
	t->raised_at = 1792454400000LL;
	t->discussion_due_by = 1792713600000LL;
	t->level = 4;
	t->audit_seq = 90;
	t->kind = "raised";
}

START_TEST(strategy_discussion_trigger_round_trips)
{
	Mash__V1__StrategyDiscussionTrigger
	    t = MASH__V1__STRATEGY_DISCUSSION_TRIGGER__INIT,
	    *b;
	char *events[2] = {"police/e-1", "health/e-4"};
	char *roles[2] = {"la-social-worker", "police-public-protection"};

	fill_trigger(&t, events, roles);
	b = (Mash__V1__StrategyDiscussionTrigger *)round_trip(&t.base);
	ck_assert_str_eq(b->rule_id, "s47.accumulation");
	ck_assert_str_eq(b->contributing_events[1], "health/e-4");
	ck_assert_str_eq(b->required_attendees[0], "la-social-worker");
	ck_assert_int_eq(b->discussion_due_by, 1792713600000LL);
	ck_assert_uint_eq(b->level, 4);
	ck_assert_str_eq(b->kind, "raised");
	mash__v1__strategy_discussion_trigger__free_unpacked(b, NULL);
}
END_TEST

START_TEST(picture_request_round_trips)
{
	Mash__V1__PictureRequest p = MASH__V1__PICTURE_REQUEST__INIT, *b;
	Mash__V1__Subject s = MASH__V1__SUBJECT__INIT;

	s.nhs_number = "9434765919";
	p.case_id = "case-1";
	p.subject = &s;
	p.purpose = "strategy-discussion";
	p.break_glass_reason = "child missing tonight";
	b = (Mash__V1__PictureRequest *)round_trip(&p.base);
	ck_assert_str_eq(b->case_id, "case-1");
	ck_assert_str_eq(b->subject->nhs_number, "9434765919");
	ck_assert_str_eq(b->purpose, "strategy-discussion");
	ck_assert_str_eq(b->break_glass_reason, "child missing tonight");
	mash__v1__picture_request__free_unpacked(b, NULL);
}
END_TEST

START_TEST(picture_round_trips_with_records_and_triggers)
{
	Mash__V1__Picture p = MASH__V1__PICTURE__INIT, *b;
	Mash__V1__Subject s = MASH__V1__SUBJECT__INIT;
	Mash__V1__SharedRecord r = MASH__V1__SHARED_RECORD__INIT, *rp[1] = {&r};
	Mash__V1__SharedRecord__FieldsEntry f[2] = {
	    MASH__V1__SHARED_RECORD__FIELDS_ENTRY__INIT,
	    MASH__V1__SHARED_RECORD__FIELDS_ENTRY__INIT};
	Mash__V1__SharedRecord__FieldsEntry *fp[2];
	Mash__V1__StrategyDiscussionTrigger
	    t = MASH__V1__STRATEGY_DISCUSSION_TRIGGER__INIT,
	    *tp[1] = {&t};
	char *withheld[2] = {"a", "b"}, *flags[1] = {"x"};
	char *events[2] = {"police/e-1", "health/e-4"};
	char *roles[2] = {"la-social-worker", "police-public-protection"};
	char *agencies[3] = {"police", "health", "yot"};

	fill_record(&r, fp, f, withheld, flags);
	fill_trigger(&t, events, roles);
	s.family_name = "Reed";
	p.case_id = "case-1";
	p.subject = &s;
	p.level = 4;
	p.n_agencies_involved = 3;
	p.agencies_involved = agencies;
	p.n_records = 1;
	p.records = rp;
	p.n_open_triggers = 1;
	p.open_triggers = tp;
	p.vcl_band = "VERY_HIGH";
	p.audit_seq = 123;
	p.denied_reason = "";
	p.break_glass = 1;
	p.rmg_register = 1;
	b = (Mash__V1__Picture *)round_trip(&p.base);
	ck_assert_str_eq(b->subject->family_name, "Reed");
	ck_assert_uint_eq(b->level, 4);
	ck_assert_str_eq(b->agencies_involved[2], "yot");
	ck_assert_str_eq(b->records[0]->fields[1]->value, "SELF_HARM");
	ck_assert_str_eq(b->open_triggers[0]->trigger_id, "trig-1");
	ck_assert_str_eq(b->vcl_band, "VERY_HIGH");
	ck_assert_int_eq(b->break_glass, 1);
	ck_assert_int_eq(b->rmg_register, 1);
	mash__v1__picture__free_unpacked(b, NULL);
}
END_TEST

START_TEST(denied_picture_round_trips)
{
	Mash__V1__Picture p = MASH__V1__PICTURE__INIT, *b;

	p.case_id = "case-1";
	p.denied_reason = "no rule grants mash-triage to school-dsl";
	b = (Mash__V1__Picture *)round_trip(&p.base);
	ck_assert_str_eq(b->denied_reason, p.denied_reason);
	ck_assert_uint_eq(b->n_records, 0);
	mash__v1__picture__free_unpacked(b, NULL);
}
END_TEST

START_TEST(audit_checkpoint_round_trips)
{
	Mash__V1__AuditCheckpoint c = MASH__V1__AUDIT_CHECKPOINT__INIT, *b;
	uint8_t root[32];

	for (int i = 0; i < 32; i++)
		root[i] = (uint8_t)i;
	c.log_id = "mash-northumberland";
	c.tree_size = 4096;
	c.root_hash.data = root;
	c.root_hash.len = 32;
	c.timestamp = 1795435200000LL;
	b = (Mash__V1__AuditCheckpoint *)round_trip(&c.base);
	ck_assert_str_eq(b->log_id, "mash-northumberland");
	ck_assert_uint_eq(b->tree_size, 4096);
	ck_assert_uint_eq(b->root_hash.len, 32);
	ck_assert_mem_eq(b->root_hash.data, root, 32);
	ck_assert_int_eq(b->timestamp, 1795435200000LL);
	mash__v1__audit_checkpoint__free_unpacked(b, NULL);
}
END_TEST

START_TEST(descriptor_names_are_the_contract_names)
{
	ck_assert_str_eq(mash__v1__signed_envelope__descriptor.name,
	                 "mash.v1.SignedEnvelope");
	ck_assert_str_eq(mash__v1__agency_event__descriptor.name,
	                 "mash.v1.AgencyEvent");
	ck_assert_str_eq(mash__v1__receipt__descriptor.name, "mash.v1.Receipt");
	ck_assert_str_eq(mash__v1__shared_record__descriptor.name,
	                 "mash.v1.SharedRecord");
	ck_assert_str_eq(mash__v1__strategy_discussion_trigger__descriptor.name,
	                 "mash.v1.StrategyDiscussionTrigger");
	ck_assert_str_eq(mash__v1__picture_request__descriptor.name,
	                 "mash.v1.PictureRequest");
	ck_assert_str_eq(mash__v1__picture__descriptor.name, "mash.v1.Picture");
	ck_assert_str_eq(mash__v1__audit_checkpoint__descriptor.name,
	                 "mash.v1.AuditCheckpoint");
}
END_TEST

START_TEST(unknown_fields_are_skipped_for_forward_compatibility)
{
	/* Receipt{event_id:"e"} followed by field 99 (varint 7). */
	static const uint8_t wire[] = {0x0a, 0x01, 'e', 0x98, 0x06, 0x07};
	Mash__V1__Receipt *b;

	b = mash__v1__receipt__unpack(NULL, sizeof(wire), wire);
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b->event_id, "e");
	mash__v1__receipt__free_unpacked(b, NULL);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, signed_envelope_round_trips);
	tcase_add_test(tc, subject_with_local_ids_round_trips);
	tcase_add_loop_test(tc, agency_event_round_trips_with_each_detail, 0,
	                    sizeof(details) / sizeof(details[0]));
	tcase_add_loop_test(tc, receipt_round_trips_each_status, 0, 4);
	tcase_add_test(tc, shared_record_with_fields_map_round_trips);
	tcase_add_test(tc, strategy_discussion_trigger_round_trips);
	tcase_add_test(tc, picture_request_round_trips);
	tcase_add_test(tc, picture_round_trips_with_records_and_triggers);
	tcase_add_test(tc, denied_picture_round_trips);
	tcase_add_test(tc, audit_checkpoint_round_trips);
	tcase_add_test(tc, descriptor_names_are_the_contract_names);
	tcase_add_test(tc,
	               unknown_fields_are_skipped_for_forward_compatibility);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
