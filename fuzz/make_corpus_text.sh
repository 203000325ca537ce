#!/bin/sh
# Seeds written from protobuf text format with protoc --encode alone (run
# from fuzz/): corpus/receipt/* (fuzz_receipt, the agent's side: agency
# "police") and corpus/picture_req/* (fuzz_picture_req, mashd's side).
set -eu
enc() { # DIR NAME TYPE TEXT
  mkdir -p "corpus/$1"
  printf '%s\n' "$4" | protoc -I ../proto --encode="mash.v1.$3" \
    ../proto/mash/v1/mash.proto >"corpus/$1/$2"
}
enc receipt accepted Receipt 'event_id: "6f1c2a7e-0000-4000-8000-000000000000" agency: "police" status: ACCEPTED case_id: "c-0001" audit_seq: 42'
enc receipt duplicate Receipt 'event_id: "e2" agency: "police" status: DUPLICATE audit_seq: 7'
enc receipt rejected Receipt 'event_id: "e3" agency: "police" status: REJECTED reason: "BAD_NHS: check digit"'
enc receipt other-agency Receipt 'event_id: "e4" agency: "health" status: ACCEPTED'
enc picture_req by-case PictureRequest 'case_id: "c-0001" purpose: "mash-triage"'
enc picture_req by-nhs PictureRequest 'purpose: "s47-enquiry" subject { nhs_number: "9434765919" }'
enc picture_req break-glass PictureRequest 'case_id: "c-0001" purpose: "mash-triage" break_glass_reason: "child missing overnight"'
enc picture_req bad-purpose PictureRequest 'case_id: "c-0001" purpose: "curiosity"'
