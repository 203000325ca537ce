#!/usr/bin/env bash
# A third-party agency system, built with none of our C code: Python
# (python3-cryptography, protoc --python_out) seals an AgencyEvent with its
# own Ed25519 key, `mosquitto_pub` publishes it over MQTT v5 to a real
# mosquitto, the real mashd accepts it, and `mosquitto_sub` receives the
# signed Receipt, which Python verifies with mashd's public key.
set -euo pipefail
SRC=${MASH_SOURCE_DIR:?}
BIN=${MASH_BIN_DIR:?}
PY=/usr/bin/python3
MOSQ=${MASH_MOSQUITTO:-/usr/sbin/mosquitto}
for need in "$PY" protoc mosquitto_pub mosquitto_sub "$MOSQ" "$BIN/mashd" "$BIN/mashctl"; do
  command -v "$need" >/dev/null || { echo "it_third_party: missing $need (make deps)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/mash-third-party-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${MASH_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "it_third_party: FAIL: $*" >&2; for f in "$T"/*.log; do echo "== $f" >&2; tail -20 "$f" >&2; done; exit 1; }

# Broker on a free loopback port.
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/mosq"
{
  echo "listener $PORT 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence true"
  echo "persistence_location $T/mosq/"
  [ "$(id -u)" -eq 0 ] && echo "user root"
} >"$T/mosquitto.conf"
"$MOSQ" -c "$T/mosquitto.conf" >"$T/mosquitto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break
  sleep 0.1
done

# Keys: mashd's from mashctl; the agency's born in Python.
mkdir -p "$T/py"
protoc -I "$SRC/proto" --python_out="$T/py" "$SRC/proto/mash/v1/mash.proto"
export PYTHONPATH="$T/py"
"$BIN/mashctl" keygen --signer mashd --key-id k1 --out "$T/keys" >/dev/null 2>&1 || fail "mashctl keygen"
"$BIN/mashctl" trust add --store "$T/trust" --signer mashd --key-id k1 --pub "$T/keys/k1.pub.pem" 2>/dev/null || fail "trust add mashd"
"$PY" - "$T" <<'PYEOF' || fail "python key"
import sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
t = sys.argv[1]
k = Ed25519PrivateKey.generate()
open(f"{t}/police.key.pem", "wb").write(k.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open(f"{t}/police.pub.pem", "wb").write(k.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
PYEOF
"$BIN/mashctl" trust add --store "$T/trust" --signer police --key-id third1 --pub "$T/police.pub.pem" 2>/dev/null || fail "trust add police"

cat >"$T/mashd.cfg" <<EOF
mqtt = { uri = "tcp://127.0.0.1:$PORT"; client_id = "mashd-third-party"; insecure = true; };
signer = "mashd";
key_id = "k1";
key_file = "$T/keys/k1.key.pem";
trust_store = "$T/trust";
store = "$T/mash.db";
EOF
"$BIN/mashd" --config "$T/mashd.cfg" --check 2>"$T/check.log" || fail "mashd --check"
"$BIN/mashd" --config "$T/mashd.cfg" >"$T/mashd.log" 2>&1 &
MASHD=$!
PIDS+=($MASHD)
for _ in $(seq 200); do grep -q "mashd ready" "$T/mashd.log" && break; sleep 0.1; done
grep -q "mashd ready" "$T/mashd.log" || fail "mashd not ready"

# The receipt reader first, then the third-party publish.
timeout 30 mosquitto_sub -h 127.0.0.1 -p "$PORT" -V mqttv5 -q 1 -t mash/v1/receipts/police \
  -C 1 -W 25 -N >"$T/receipt.bin" 2>"$T/sub.log" &
SUB=$!
PIDS+=($SUB)
sleep 0.5
"$PY" - "$T" <<'PYEOF' || fail "python sealing"
import sys, time
from cryptography.hazmat.primitives import serialization
from mash.v1 import mash_pb2
t = sys.argv[1]
key = serialization.load_pem_private_key(open(f"{t}/police.key.pem", "rb").read(), password=None)
now = int(time.time() * 1000)
ev = mash_pb2.AgencyEvent(event_id="9e5d7c1a-3b2f-4d6e-8a9b-0c1d2e3f4a5b", agency="police",
    occurred_at=now - 86400000, recorded_at=now - 3600000,
    category=mash_pb2.MISSING_EPISODE, severity=2, consent=mash_pb2.NOT_SOUGHT,
    summary="missing overnight, found next morning")
ev.subject.nhs_number = "9434765919"
ev.subject.family_name = "Reed"
ev.subject.date_of_birth = "2011-05-14"
ev.subject.postcode = "NE61 1AA"
ev.handling.classification = "OFFICIAL"
payload = ev.SerializeToString()
ptype = "mash.v1.AgencyEvent"
sig = key.sign(b"mash.v1.envelope\n" + ptype.encode() + b"\n" + payload)
env = mash_pb2.SignedEnvelope(version=1, signer="police", key_id="third1",
    payload_type=ptype, payload=payload, signature=sig)
open(f"{t}/event.env", "wb").write(env.SerializeToString())
PYEOF
mosquitto_pub -h 127.0.0.1 -p "$PORT" -V mqttv5 -q 1 -t mash/v1/events/police -f "$T/event.env" \
  || fail "mosquitto_pub"
wait "$SUB" || fail "no receipt within 25 s"

"$PY" - "$T" <<'PYEOF' || fail "receipt check"
import sys
from cryptography.hazmat.primitives import serialization
from mash.v1 import mash_pb2
t = sys.argv[1]
env = mash_pb2.SignedEnvelope()
env.ParseFromString(open(f"{t}/receipt.bin", "rb").read())
assert env.signer == "mashd" and env.payload_type == "mash.v1.Receipt", env
pub = serialization.load_pem_public_key(open(f"{t}/keys/k1.pub.pem", "rb").read())
pub.verify(env.signature, b"mash.v1.envelope\n" + env.payload_type.encode() + b"\n" + env.payload)
r = mash_pb2.Receipt()
r.ParseFromString(env.payload)
assert r.status == mash_pb2.Receipt.ACCEPTED, r
assert r.event_id == "9e5d7c1a-3b2f-4d6e-8a9b-0c1d2e3f4a5b", r
assert r.agency == "police" and r.case_id and r.audit_seq > 0, r
print("it_third_party: ACCEPTED", r.case_id, "audit", r.audit_seq)
PYEOF

kill -TERM "$MASHD"
wait "$MASHD" || fail "mashd did not exit 0 on SIGTERM"
echo "it_third_party: ok"
