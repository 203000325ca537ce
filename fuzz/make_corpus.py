#!/usr/bin/python3
"""Write the seed corpora for the fuzz harnesses (run from fuzz/):
corpus/evt_validate/*: topic byte + a packed AgencyEvent per agency;
corpus/env_open/*: those events sealed with the fuzzing-only key below
(its public half is embedded in fuzz_env_open.c). Needs protoc and
python3-cryptography/python3-protobuf (Debian)."""
import os, subprocess, sys, tempfile
from cryptography.hazmat.primitives import serialization

KEY = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEILbRb05PXRGuoYZu+Sg41OvPXa8whnpRsl7OVc6Gq/Jk
-----END PRIVATE KEY-----
"""
tmp = tempfile.mkdtemp()
subprocess.check_call(["protoc", "-I", "../proto", "--python_out=" + tmp,
                       "../proto/mash/v1/mash.proto"])
sys.path.insert(0, tmp)
from mash.v1 import mash_pb2 as pb  # noqa: E402

key = serialization.load_pem_private_key(KEY, password=None)
agencies = ["police", "health", "education", "yot", "housing", "social-care"]
for i, agency in enumerate(agencies):
    ev = pb.AgencyEvent(event_id="6f1c2a7e-0000-4000-8000-00000000000%d" % i,
                        agency=agency, occurred_at=1790899200000,
                        recorded_at=1790902800000, category=pb.SELF_HARM,
                        severity=2, consent=pb.GIVEN, summary="seed",
                        reporter="r", agency_ref="ref")
    ev.subject.nhs_number = "9434765919"
    ev.subject.family_name = "Reed"
    ev.subject.date_of_birth = "2011-05-14"
    ev.subject.postcode = "NE61 1AA"
    ev.subject.local_ids[agency] = "L1"
    ev.handling.classification = "OFFICIAL-SENSITIVE"
    ev.handling.restrict_to_agencies.append("health")
    ev.vcl.add(factor="self_harm", score=3, evidence="e")
    ev.related.add(role="mother", family_name="Reed", date_of_birth="1985-03-02")
    getattr(ev, agency.replace("-", "_")).SetInParent()
    if agency == "police":
        ev.police.dash_risk = "high"; ev.police.offences.append("x")
    if agency == "education":
        ev.education.attendance_pct = 71; ev.education.exclusion_type = "fixed-term"
    if agency == "yot":
        ev.yot.next_court_date = "2027-01-15"
    if agency == "social-care":
        ev.category = pb.STRATEGY_DISCUSSION_HELD; ev.social_care.held_at = 1
    payload = ev.SerializeToString()
    with open("corpus/evt_validate/%s" % agency, "wb") as f:
        f.write(bytes([i]) + payload)
    ptype = "mash.v1.AgencyEvent"
    sig = key.sign(b"mash.v1.envelope\n" + ptype.encode() + b"\n" + payload)
    env = pb.SignedEnvelope(version=1, signer="police", key_id="p1",
                            payload_type=ptype, payload=payload, signature=sig)
    with open("corpus/env_open/%s" % agency, "wb") as f:
        f.write(env.SerializeToString())


# Receipts as an agent reads them (fuzz_receipt: agency "police") and
# picture requests as mashd reads them (fuzz_picture_req), issue 31;
# they come from make_corpus_text.sh (protoc --encode only).
subprocess.check_call(["sh", "make_corpus_text.sh"])
