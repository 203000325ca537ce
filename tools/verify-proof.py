#!/usr/bin/env python3
"""Check a proof printed by `mashctl audit prove`, using only hashlib.

  verify-proof.py PROOF.json [--pub mashd.pub.pem]

Inclusion proof (prove --seq N): the leaf hash is SHA-256(0x00 || record)
of the canonical record bytes, the RFC 9162 2.1.3.2 path from it gives
the root, and that root is the one in the signed AuditCheckpoint.
Consistency proof (prove --consistency): RFC 9162 2.1.4.2.
With --pub, the checkpoint's Ed25519 signature (RFC 8032, over
"mash.v1.envelope\\n" + payload_type + "\\n" + payload) is checked too.
Exit 0 if the proof holds, 1 if it does not, 2 on bad input.
"""
import base64
import hashlib
import json
import sys


def sha256(b):
    return hashlib.sha256(b).digest()


def node(left, right):
    return sha256(b"\x01" + left + right)


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_root, second_root, path):
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not path and first_root == second_root
    if first == 0 or first > second or not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


def pb_fields(buf):
    """Minimal protobuf reader: {field_number: value} (varint or bytes)."""
    out, i = {}, 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    while i < len(buf):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            out[num] = varint()
        elif wt == 2:
            n = varint()
            out[num] = buf[i:i + n]
            i += n
        else:
            raise ValueError("unexpected wire type %d" % wt)
    return out


# Ed25519 verification (RFC 8032 section 5.1.7), SHA-512 from hashlib.
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - c, dd + c, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _decode_point(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def _eq(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and \
        (a[1] * b[2] - b[1] * a[2]) % P == 0


G = _decode_point((4 * pow(5, P - 2, P) % P).to_bytes(32, "little"))


def ed25519_verify(pub, msg, sig):
    if len(sig) != 64:
        return False
    a, r = _decode_point(pub), _decode_point(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(),
                       "little") % L
    return _eq(_mul(s, G), _add(r, _mul(k, a)))


def load_pub(path):
    """Raw 32-byte key from a SubjectPublicKeyInfo PEM (Ed25519)."""
    text = open(path).read()
    body = "".join(l for l in text.splitlines() if "-----" not in l)
    der = base64.b64decode(body)
    if len(der) != 44 or not der.startswith(bytes.fromhex("302a300506032b6570032100")):
        raise ValueError("%s: not an Ed25519 public key" % path)
    return der[12:]


def check_checkpoint(cp, pub):
    """The signed checkpoint: its (tree_size, root) from the payload."""
    env = pb_fields(bytes.fromhex(cp["envelope"]))
    ptype = env.get(4, b"").decode()
    payload = env.get(5, b"")
    if ptype != "mash.v1.AuditCheckpoint":
        raise ValueError("checkpoint envelope has payload_type %r" % ptype)
    if pub is not None:
        msg = b"mash.v1.envelope\n" + ptype.encode() + b"\n" + payload
        if not ed25519_verify(pub, msg, env.get(6, b"")):
            return None
    fields = pb_fields(payload)
    return fields.get(2, 0), fields.get(3, b""), fields.get(1, b"").decode()


def main(argv):
    args = argv[1:]
    pub = None
    if "--pub" in args:
        i = args.index("--pub")
        try:
            pub = load_pub(args[i + 1])
        except (IndexError, OSError, ValueError) as e:
            print("verify-proof: bad --pub: %s" % e, file=sys.stderr)
            return 2
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with (sys.stdin if args[0] == "-" else open(args[0])) as f:
            p = json.load(f)
        h = bytes.fromhex
        if "consistency_path" in p:
            ok = verify_consistency(p["first"], p["second"],
                                    h(p["first_root"]), h(p["second_root"]),
                                    [h(x) for x in p["consistency_path"]])
            what = "consistency %d -> %d" % (p["first"], p["second"])
            print(("OK: " if ok else "FAILED: ") + what)
            return 0 if ok else 1
        record = h(p["record_hex"])
        leaf = sha256(b"\x00" + record)
        if leaf != h(p["leaf_hash"]):
            print("FAILED: leaf hash is not SHA-256(0x00 || record)")
            return 1
        root = h(p["root_hash"])
        if not verify_inclusion(leaf, p["leaf_index"], p["tree_size"],
                                [h(x) for x in p["inclusion_path"]], root):
            print("FAILED: inclusion path does not lead to root_hash")
            return 1
        signed = check_checkpoint(p["checkpoint"], pub)
        if signed is None:
            print("FAILED: checkpoint signature does not verify")
            return 1
        size, sroot, log_id = signed
        if size != p["tree_size"] or sroot != root:
            print("FAILED: root_hash/tree_size differ from the signed "
                  "checkpoint")
            return 1
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        print("verify-proof: unreadable proof: %s" % e, file=sys.stderr)
        return 2
    print("OK: seq %d is in log %s at tree_size %d (root %s)%s" %
          (p["seq"], log_id, size, p["root_hash"],
           ", signature verified" if pub is not None else
           ", signature NOT checked (no --pub)"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
