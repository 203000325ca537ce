#!/usr/bin/env bash
# Real interop with a third-party Ed25519 + protobuf stack: Debian's
# python3-cryptography and protoc --python_out (python3-protobuf).
#   1. keys from `mashctl keygen` load in Python (PKCS#8 / SPKI PEM);
#   2. an envelope sealed in Python verifies with `mashctl envelope verify`
#      (with the mashctl key, and with a key generated in Python and added
#      with `mashctl trust add`); a tampered one is rejected (exit 1);
#   3. an envelope sealed by `mashctl envelope seal` verifies in Python.
set -euo pipefail
SRC=${MASH_SOURCE_DIR:?}
BIN=${MASH_BIN_DIR:?}
PY=/usr/bin/python3
M="$BIN/mashctl"
for need in "$PY" protoc "$M"; do
  command -v "$need" >/dev/null || { echo "it_interop_python: missing $need (make deps)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/mash-interop-XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/py"
protoc -I "$SRC/proto" --python_out="$T/py" "$SRC/proto/mash/v1/mash.proto"
export PYTHONPATH="$T/py"

fail() { echo "it_interop_python: FAIL: $*" >&2; exit 1; }

"$M" keygen --signer police --key-id p1 --out "$T/keys" >/dev/null 2>&1 || fail "mashctl keygen"
"$M" trust add --store "$T/trust" --signer police --key-id p1 --pub "$T/keys/p1.pub.pem" 2>/dev/null || fail "trust add"

# 1 + 2: Python loads the mashctl keys, builds an AgencyEvent, seals it.
"$PY" - "$T" <<'PYEOF' || fail "python sealing"
import os, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from mash.v1 import mash_pb2

t = sys.argv[1]
priv = serialization.load_pem_private_key(
    open(f"{t}/keys/p1.key.pem", "rb").read(), password=None)
pub = serialization.load_pem_public_key(open(f"{t}/keys/p1.pub.pem", "rb").read())
assert isinstance(priv, Ed25519PrivateKey), type(priv)
assert isinstance(pub, Ed25519PublicKey), type(pub)
raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
assert priv.public_key().public_bytes(*raw) == pub.public_bytes(*raw)
assert (os.stat(f"{t}/keys/p1.key.pem").st_mode & 0o777) == 0o600

ev = mash_pb2.AgencyEvent(
    event_id="6f1c2a7e-0000-4000-8000-000000000001", agency="police",
    occurred_at=1790899200000, recorded_at=1790902800000,
    category=mash_pb2.MISSING_EPISODE, severity=2,
    consent=mash_pb2.NOT_SOUGHT, summary="missing overnight")
ev.subject.nhs_number = "9434765919"
ev.subject.local_ids["police"] = "NP-77"
ev.police.incident_ref = "INC-1"
payload = ev.SerializeToString()
ptype = "mash.v1.AgencyEvent"

def seal(key, signer, key_id, payload):
    sig = key.sign(b"mash.v1.envelope\n" + ptype.encode() + b"\n" + payload)
    return mash_pb2.SignedEnvelope(version=1, signer=signer, key_id=key_id,
        payload_type=ptype, payload=payload, signature=sig).SerializeToString()

open(f"{t}/py.env", "wb").write(seal(priv, "police", "p1", payload))
open(f"{t}/py.payload", "wb").write(payload)
bad = bytearray(payload); bad[-1] ^= 1
env = mash_pb2.SignedEnvelope(); env.ParseFromString(seal(priv, "police", "p1", payload))
env.payload = bytes(bad)
open(f"{t}/py.tampered", "wb").write(env.SerializeToString())

# A key born in Python, exported as PKCS#8 / SPKI PEM.
k2 = Ed25519PrivateKey.generate()
open(f"{t}/health.pub.pem", "wb").write(k2.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
fd = os.open(f"{t}/health.key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, k2.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
os.close(fd)
ev.agency = "health"
open(f"{t}/py2.env", "wb").write(seal(k2, "health", "h1", ev.SerializeToString()))
PYEOF

out=$("$M" envelope verify --trust "$T/trust" --file "$T/py.env" --signer police \
      --type mash.v1.AgencyEvent --payload-out "$T/c.payload") || fail "mashctl rejected the Python envelope"
case "$out" in "ok signer=police key_id=p1 type=mash.v1.AgencyEvent"*) ;; *) fail "verify said: $out";; esac
cmp -s "$T/c.payload" "$T/py.payload" || fail "payload not returned as sent"

set +e
"$M" envelope verify --trust "$T/trust" --file "$T/py.tampered" 2>"$T/err"; rc=$?
set -e
[ "$rc" -eq 1 ] || fail "tampered envelope: exit $rc, want 1"
grep -q BAD_SIGNATURE "$T/err" || fail "tampered envelope: $(cat "$T/err")"

# A Python-made key: trusted with mashctl trust add, verified by mashctl,
# and its PKCS#8 private key usable by mashctl envelope seal.
set +e
"$M" envelope verify --trust "$T/trust" --file "$T/py2.env" 2>"$T/err"; rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q UNKNOWN_KEY "$T/err" || fail "untrusted health key: exit $rc $(cat "$T/err")"
"$M" trust add --store "$T/trust" --signer health --key-id h1 --pub "$T/health.pub.pem" 2>/dev/null \
  || fail "trust add of a Python SPKI PEM"
"$M" envelope verify --trust "$T/trust" --file "$T/py2.env" --signer health >/dev/null \
  || fail "mashctl rejected the Python-key envelope"

# 3: mashctl seals (with both keys), Python verifies.
"$M" envelope seal --key "$T/keys/p1.key.pem" --signer police --key-id p1 \
  --type mash.v1.AgencyEvent --in "$T/py.payload" --out "$T/c.env" || fail "mashctl seal"
"$M" envelope seal --key "$T/health.key.pem" --signer health --key-id h1 \
  --type mash.v1.AgencyEvent --in "$T/py.payload" --out "$T/c2.env" || fail "mashctl seal with a Python key"
"$PY" - "$T" <<'PYEOF' || fail "python verifying"
import sys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from mash.v1 import mash_pb2

t = sys.argv[1]
for envfile, pubfile, signer in (("c.env", "keys/p1.pub.pem", "police"),
                                 ("c2.env", "health.pub.pem", "health")):
    pub = serialization.load_pem_public_key(open(f"{t}/{pubfile}", "rb").read())
    env = mash_pb2.SignedEnvelope()
    env.ParseFromString(open(f"{t}/{envfile}", "rb").read())
    assert env.version == 1 and env.signer == signer, env
    assert env.payload_type == "mash.v1.AgencyEvent"
    pub.verify(env.signature, b"mash.v1.envelope\n" +
               env.payload_type.encode() + b"\n" + env.payload)
    try:
        pub.verify(env.signature, b"mash.v1.envelope\n" +
                   env.payload_type.encode() + b"\n" + env.payload + b"x")
        raise SystemExit("tampered payload verified")
    except InvalidSignature:
        pass
    ev = mash_pb2.AgencyEvent(); ev.ParseFromString(env.payload)
    assert ev.subject.nhs_number == "9434765919"
    assert ev.subject.local_ids["police"] == "NP-77"
    assert ev.WhichOneof("detail") == "police"
PYEOF
echo "it_interop_python: ok"
