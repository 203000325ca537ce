#!/usr/bin/env bash
# Issue 24: nobody connects without a certificate, and each identity
# reaches only its own topics. A real Mosquitto with a TLS listener
# (require_certificate, use_identity_as_username, allow_anonymous false)
# and the ACL that `mashctl acl generate` writes from the shipped
# directory; every certificate from `mashctl pki`. Each refusal is shown
# next to a control that the same subscriber does receive what it may.
# Then the chain works over mutual TLS: the police agent's event reaches
# mashd, its receipt the agent, the sharing decision an analyst's inbox.
set -euo pipefail
SRC=${MASH_SOURCE_DIR:?}
BIN=${MASH_BIN_DIR:?}
MOSQ=${MASH_MOSQUITTO:-/usr/sbin/mosquitto}
for need in mosquitto_pub mosquitto_sub "$MOSQ" "$BIN/mashd" "$BIN/mashctl" "$BIN/mash-agent"; do
  command -v "$need" >/dev/null || { echo "it_tls_acl: missing $need (make deps)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/mash-tls-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${MASH_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
fail() {
  echo "it_tls_acl: FAIL: $*" >&2
  for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}

# The PKI and the ACL, as an operator makes them.
"$BIN/mashctl" pki init --dir "$T/pki" >/dev/null || fail "pki init"
"$BIN/mashctl" pki issue --dir "$T/pki" --name broker --server \
  --host localhost --host 127.0.0.1 >/dev/null || fail "pki issue broker"
"$BIN/mashctl" pki issue --dir "$T/pki" --directory "$SRC/policy/directory.cfg" \
  >/dev/null || fail "pki issue --directory"
"$BIN/mashctl" pki init --dir "$T/rogue" --cn rogue-ca >/dev/null || fail "rogue ca"
"$BIN/mashctl" pki issue --dir "$T/rogue" --name police >/dev/null || fail "rogue cert"
"$BIN/mashctl" acl generate --directory "$SRC/policy/directory.cfg" --out "$T/acl" \
  || fail "acl generate"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
  echo "per_listener_settings false"
  echo "allow_anonymous false"
  echo "acl_file $T/acl"
  echo "persistence false"
  [ "$(id -u)" -eq 0 ] && echo "user root"
  echo "listener $PORT 127.0.0.1"
  echo "cafile $T/pki/ca.pem"
  echo "certfile $T/pki/broker.pem"
  echo "keyfile $T/pki/broker.key"
  echo "require_certificate true"
  echo "use_identity_as_username true"
  echo "log_dest stderr"
  echo "log_type all"
} >"$T/mosquitto.conf"
grep -q "allow_anonymous true" "$T/mosquitto.conf" && fail "anonymous access configured"
"$MOSQ" -c "$T/mosquitto.conf" >"$T/mosquitto.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),0.2)" 2>/dev/null && break
  sleep 0.1
done

# as WHO [DIR]: the client options of identity WHO (certificate from DIR).
as() {
  local who=$1 dir=${2:-$T/pki}
  echo "--cafile $T/pki/ca.pem --cert $dir/$who.pem --key $dir/$who.key -h localhost -p $PORT -V mqttv5"
}
# listen NAME WHO TOPIC: a background subscriber for one message (4 s);
# its pid is added to WAITS.
WAITS=()
listen() {
  local name=$1 who=$2 topic=$3
  # shellcheck disable=SC2046
  timeout 10 mosquitto_sub $(as "$who") -q 1 -t "$topic" -C 1 -W 4 \
    >"$T/$name.out" 2>"$T/$name.err" &
  WAITS+=($!)
}
# settle: wait for every listener (each ends at a message or its 4 s).
settle() {
  for p in "${WAITS[@]}"; do wait "$p" || true; done
  WAITS=()
}
publish() { # WHO TOPIC MESSAGE
  # shellcheck disable=SC2046
  timeout 10 mosquitto_pub $(as "$1") -q 1 -t "$2" -m "$3" 2>"$T/pub.err" || true
}
got() { grep -qxF "$2" "$T/$1.out"; }

# 1. No certificate, a certificate of another CA, plain MQTT: refused.
if timeout 10 mosquitto_pub --cafile "$T/pki/ca.pem" -h localhost -p "$PORT" \
     -t mash/v1/events/police -m anon 2>"$T/anon.err"; then
  fail "a client without a certificate connected"
fi
# shellcheck disable=SC2046
if timeout 10 mosquitto_pub $(as police "$T/rogue") -t mash/v1/events/police \
     -m rogue 2>"$T/rogue.err"; then
  fail "a certificate from another CA connected"
fi
if timeout 10 mosquitto_pub -h 127.0.0.1 -p "$PORT" -t mash/v1/events/police \
     -m plain 2>"$T/plain.err"; then
  fail "a plaintext client connected"
fi

# 2. Health cannot publish as police; mashd (the only reader of events)
#    does not see it, and does see health's own.
listen spoof mashd 'mash/v1/events/+'; sleep 0.5
publish health mash/v1/events/police "spoofed by health"
settle
got spoof "spoofed by health" && fail "health published on police's topic"
listen own mashd 'mash/v1/events/+'; sleep 0.5
publish health mash/v1/events/health "health's own"
settle
got own "health's own" || fail "control: mashd did not get health's own event"

# 3. A housing principal reads neither an analyst's inbox nor inbox/#;
#    the analyst does.
listen peek housing.officer1 mash/v1/inbox/analyst.amara
listen peekall housing.officer1 'mash/v1/inbox/#'
listen mine analyst.amara mash/v1/inbox/analyst.amara; sleep 0.5
publish mashd mash/v1/inbox/analyst.amara "for amara only"
settle
got peek "for amara only" && fail "housing read the analyst's inbox"
got peekall "for amara only" && fail "housing read mash/v1/inbox/#"
got mine "for amara only" || fail "control: the analyst did not get her inbox"

# 4. A principal cannot forge a receipt or an inbox message; mashd can.
listen forged police mash/v1/receipts/police
listen forgedbox sw.sam mash/v1/inbox/sw.sam; sleep 0.5
publish analyst.amara mash/v1/receipts/police "forged receipt"
publish analyst.amara mash/v1/inbox/sw.sam "forged delivery"
settle
got forged "forged receipt" && fail "a principal published a receipt"
got forgedbox "forged delivery" && fail "a principal published an inbox message"
listen realreceipt police mash/v1/receipts/police; sleep 0.5
publish mashd mash/v1/receipts/police "receipt from mashd"
settle
got realreceipt "receipt from mashd" || fail "control: police did not get mashd's receipt"
grep -q "Denied PUBLISH" "$T/mosquitto.log" || fail "the broker logged no denial"

# 5. The chain over mutual TLS: police agent -> mashd -> receipt, inbox.
mkdir -p "$T/keys"
"$BIN/mashctl" keygen --signer mashd --key-id k1 --out "$T/keys/mashd" >/dev/null 2>&1 || fail "keygen mashd"
"$BIN/mashctl" keygen --signer police --key-id k1 --out "$T/keys/police" >/dev/null 2>&1 || fail "keygen police"
"$BIN/mashctl" trust add --store "$T/trust" --signer mashd --key-id k1 \
  --pub "$T/keys/mashd/k1.pub.pem" >/dev/null 2>&1 || fail "trust mashd"
"$BIN/mashctl" trust add --store "$T/trust" --signer police --key-id k1 \
  --pub "$T/keys/police/k1.pub.pem" >/dev/null 2>&1 || fail "trust police"
# The analyst's encryption key, in a copy of the directory (issue 25:
# deliveries are sealed to it; the others, without one, are held).
mkdir -p "$T/enc"
"$BIN/mashctl" keygen --kind x25519 --signer analyst.amara --key-id e1 \
  --out "$T/enc/analyst.amara" >/dev/null 2>&1 || fail "keygen x25519"
sed "s|name = \"analyst.amara\";|name = \"analyst.amara\"; enc_key = \"$T/enc/analyst.amara/e1.pub.pem\";|" \
  "$SRC/policy/directory.cfg" >"$T/directory.cfg"
grep -q "enc_key" "$T/directory.cfg" || fail "directory copy without the key"
TLS() { # WHO: the mqtt block's TLS settings for identity WHO
  echo "ca_file = \"$T/pki/ca.pem\"; cert_file = \"$T/pki/$1.pem\"; key_file = \"$T/pki/$1.key\";"
}
cat >"$T/mashd.cfg" <<EOF
mqtt = { uri = "ssl://localhost:$PORT"; client_id = "mashd-tls"; $(TLS mashd) };
signer = "mashd";
key_id = "k1";
key_file = "$T/keys/mashd/k1.key.pem";
trust_store = "$T/trust";
store = "$T/mash.db";
policy = "$SRC/policy/default.cfg";
directory = "$T/directory.cfg";
calendar = "$SRC/s47/holidays.cfg";
EOF
"$BIN/mashd" --config "$T/mashd.cfg" >"$T/mashd.log" 2>&1 &
MASHD=$!
PIDS+=($MASHD)
for _ in $(seq 200); do grep -q "mashd ready" "$T/mashd.log" && break; sleep 0.1; done
grep -q "mashd ready" "$T/mashd.log" || fail "mashd not ready over TLS"
# shellcheck disable=SC2046
timeout 30 mosquitto_sub $(as analyst.amara) -q 1 -t mash/v1/inbox/analyst.amara \
  -C 1 -W 25 -N >"$T/inbox.bin" 2>"$T/inbox.err" &
INBOX=$!
PIDS+=($INBOX)
sleep 0.5
cat >"$T/agent.cfg" <<EOF
agent = {
  agency = "police";
  mqtt = { uri = "ssl://localhost:$PORT"; client_id = "agent-police-tls"; $(TLS police) };
  signer = { key_id = "k1"; key_file = "$T/keys/police/k1.key.pem"; };
  receipts = { trust_store = "$T/trust"; };
  outbox = { path = "$T/outbox.db"; };
  timeouts = { connect_ms = 10000; receipt_wait_ms = 20000; };
};
EOF
head -2 "$SRC/agents/samples/police.csv" >"$T/police.csv"
timeout 60 "$BIN/mash-agent" --config "$T/agent.cfg" --agency police \
  --input "$T/police.csv" >"$T/agent.log" 2>&1 || fail "the agent over TLS"
grep -q "accepted=1" "$T/agent.log" || fail "no accepted receipt over TLS"
wait "$INBOX" || fail "the analyst's inbox got nothing over TLS"
[ -s "$T/inbox.bin" ] || fail "empty inbox delivery"
# Sealed: signed by mashd, of type SealedMessage, no name in the clear.
"$BIN/mashctl" envelope verify --trust "$T/trust" --file "$T/inbox.bin" \
  --signer mashd --type mash.v1.SealedMessage >/dev/null \
  || fail "the delivery is not a sealed message signed by mashd"
grep -aq "Reed" "$T/inbox.bin" && fail "the child's name crossed the broker in clear"
kill -TERM "$MASHD"
wait "$MASHD" || fail "mashd did not exit 0 on SIGTERM"

# 6. An identity that cannot work is refused at start-up, one line
#    naming the file: a key of another certificate, a missing
#    certificate, an expired certificate (made with python3-cryptography
#    from the same CA).
python3 - "$T/pki" <<'PYEOF' || fail "expired certificate"
import datetime, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
d = sys.argv[1]
ca_key = serialization.load_pem_private_key(open(f"{d}/ca.key", "rb").read(), None)
ca = x509.load_pem_x509_certificate(open(f"{d}/ca.pem", "rb").read())
me = x509.load_pem_x509_certificate(open(f"{d}/police.pem", "rb").read())
now = datetime.datetime.now(datetime.timezone.utc)
old = (x509.CertificateBuilder().subject_name(me.subject).issuer_name(ca.subject)
       .public_key(me.public_key()).serial_number(x509.random_serial_number())
       .not_valid_before(now - datetime.timedelta(days=30))
       .not_valid_after(now - datetime.timedelta(days=1))
       .sign(ca_key, hashes.SHA256()))
open(f"{d}/police-expired.pem", "wb").write(old.public_bytes(serialization.Encoding.PEM))
PYEOF
refused() { # WANT_EXIT NEEDLE CONFIG: mashd must exit WANT_EXIT saying NEEDLE
  set +e; timeout 30 "$BIN/mashd" --config "$3" >"$T/refused.log" 2>&1; local rc=$?; set -e
  [ "$rc" -eq "$1" ] || fail "mashd with a bad identity exited $rc, want $1"
  grep -qF -- "$2" "$T/refused.log" || fail "mashd did not say '$2'"
}
sed "s|$T/pki/mashd.key|$T/pki/health.key|" "$T/mashd.cfg" >"$T/mashd-mismatch.cfg"
refused 2 "$T/pki/health.key: not the key of the certificate $T/pki/mashd.pem" "$T/mashd-mismatch.cfg"
sed "s|$T/pki/mashd.pem|$T/pki/gone.pem|" "$T/mashd.cfg" >"$T/mashd-missing.cfg"
refused 2 "$T/pki/gone.pem: no such file" "$T/mashd-missing.cfg"
# The agent with an expired certificate: refused before it reads its
# feed (which stays the source for the next run), and says which file.
sed "s|$T/pki/police.pem|$T/pki/police-expired.pem|; s|receipt_wait_ms = 20000|receipt_wait_ms = 2000|" \
  "$T/agent.cfg" >"$T/agent-expired.cfg"
sed -n 1p "$SRC/agents/samples/police.csv" >"$T/police-2.csv"
sed -n 3p "$SRC/agents/samples/police.csv" >>"$T/police-2.csv"
set +e
timeout 60 "$BIN/mash-agent" --config "$T/agent-expired.cfg" --agency police \
  --input "$T/police-2.csv" >"$T/agent-expired.log" 2>&1
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "the agent with an expired certificate exited 0"
grep -qF "$T/pki/police-expired.pem: certificate has expired" "$T/agent-expired.log" \
  || fail "the agent did not name its expired certificate"
echo "it_tls_acl: OK"
