#!/usr/bin/env python3
"""Verify a `shanyrak audit export` folder offline (format: docs/audit.md).

Uses only the standard library and PyNaCl. Checks, in order:
  1. entries.jsonl: indices run 0, 1, 2, ...; each `entry` is a canonical version-1 encoding whose
     sequence number equals its index, times never decrease, and the decoded `fields` match the bytes;
  2. the Merkle tree (RFC 9162: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right))
     is recomputed from the entries;
  3. checkpoints.txt: every checkpoint is a C2SP signed note whose Ed25519 signature verifies under a key
     in the vkey file (`name+hexkeyid+base64(0x01 || pubkey)`), sizes never decrease, and every
     checkpoint's root equals the root recomputed over its first `size` entries; the newest checkpoint
     must cover the whole export.

Usage: verify_audit_export.py EXPORT_DIR [--vkey FILE] [--origin ORIGIN]
Exit 0 when everything holds; otherwise 1 and the first failure on stderr.
"""

import argparse
import base64
import hashlib
import json
import struct
import sys

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey


class Failure(Exception):
    pass


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class CompactRange:
    """The right edge of the tree: peak hashes of its complete subtrees, largest first."""

    def __init__(self):
        self.size = 0
        self.peaks = []

    def append(self, h):
        s = self.size
        while s & 1:
            h = node_hash(self.peaks.pop(), h)
            s >>= 1
        self.peaks.append(h)
        self.size += 1

    def root(self):
        if not self.peaks:
            return hashlib.sha256(b"").digest()
        h = self.peaks[-1]
        for p in reversed(self.peaks[:-1]):
            h = node_hash(p, h)
        return h


def decode_entry(b):
    """Decodes a canonical version-1 entry; raises Failure on anything non-canonical."""
    pos = 0

    def take(n, what):
        nonlocal pos
        if pos + n > len(b):
            raise Failure(f"{what}: truncated")
        out = b[pos:pos + n]
        pos += n
        return out

    def u32(what):
        return struct.unpack(">I", take(4, what))[0]

    def text(what):
        raw = take(u32(what), what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Failure(f"{what}: not UTF-8")

    def strlist(what):
        items = [take(u32(what), what) for _ in range(u32(what))]
        for a, c in zip(items, items[1:]):
            if not a < c:
                raise Failure(f"{what}: not strictly increasing")
        try:
            return [i.decode("utf-8") for i in items]
        except UnicodeDecodeError:
            raise Failure(f"{what}: not UTF-8")

    def flag(what):
        v = take(1, what)[0]
        if v > 1:
            raise Failure(f"{what}: must be 0 or 1")
        return v

    if take(1, "version")[0] != 1:
        raise Failure("unknown version")
    seq, time = struct.unpack(">Qq", take(16, "sequence and time"))
    e = {"sequence": seq, "time": time}
    for name in ("actorId", "role", "action", "view"):
        e[name] = text(name)
    e["subjects"] = strlist("subjects")
    e["indicatorIds"] = strlist("indicatorIds")
    e["decision"] = "allow" if flag("decision") else "deny"
    e["policyIds"] = strlist("policyIds")
    e["policySetHash"] = take(u32("policySetHash"), "policySetHash").hex()
    e["requestId"] = text("requestId")
    if flag("sealedJustification presence"):
        sealed = take(u32("sealedJustification"), "sealedJustification")
        e["sealedJustification"] = base64.b64encode(sealed).decode()
    # Optional trailing fields: a tag byte and its contents, tags increasing; absent is no byte at all
    # (entries made before a field existed keep their bytes).
    def tagged(tag, what):
        if pos == len(b):
            return False
        if b[pos] == 0:
            raise Failure(f"{what} presence: 0 is written as no byte at all")
        if b[pos] != tag:
            return False
        take(1, what)
        return True

    if tagged(1, "batchAnchors"):
        # Field 15, batch anchors.
        count = u32("batchAnchors")
        if count == 0:
            raise Failure("batchAnchors: present with no anchor")
        anchors = []
        for i in range(count):
            what = f"batchAnchors[{i}]"
            batch = struct.unpack(">Q", take(8, what + ".batch"))[0]
            source = text(what + ".source")
            records = struct.unpack(">Q", take(8, what + ".records"))[0]
            digest = take(u32(what + ".digest"), what + ".digest")
            if batch >= 1 << 63 or records >= 1 << 63:
                raise Failure(f"{what}: batch or record count out of range")
            if len(digest) != 32:
                raise Failure(f"{what}.digest: not 32 bytes")
            if anchors and anchors[-1]["batch"] >= batch:
                raise Failure(f"{what}: batches not strictly increasing")
            anchors.append({"batch": batch, "source": source, "records": records, "digest": digest.hex()})
        e["batchAnchors"] = anchors
    if tagged(2, "occurrences"):
        # Field 16, occurrences: how many refused requests the entry stands for, at least 2.
        count = struct.unpack(">Q", take(8, "occurrences"))[0]
        if count < 2:
            raise Failure(f"occurrences: {count} is written as no field at all")
        e["occurrences"] = count
    if pos != len(b):
        raise Failure("bytes after the last field")
    return e


def parse_vkey(line):
    name, keyid, key = line.strip().split("+", 2)
    raw = base64.b64decode(key, validate=True)
    if len(raw) != 33 or raw[0] != 1:
        raise Failure("verifier key is not Ed25519")
    want = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if bytes.fromhex(keyid) != want:
        raise Failure("verifier key id does not match")
    return name, want, VerifyKey(raw[1:])


def open_checkpoint(note, keys, origin):
    """Returns (origin, size, root) of a signed checkpoint, or raises Failure."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep:
        raise Failure("no blank line before the signatures")
    text += "\n"
    signed = False
    for line in sigs.split("\n"):
        if not line.startswith("\u2014 "):
            raise Failure("signature line does not start with an em dash")
        name, _, blob = line[2:].partition(" ")
        raw = base64.b64decode(blob, validate=True)
        for kname, kid, vk in keys:
            if kname == name and kid == raw[:4]:
                try:
                    vk.verify(text.encode(), raw[4:])
                    signed = True
                except BadSignatureError:
                    pass
    if not signed:
        raise Failure("no valid signature by a trusted key")
    lines = text.split("\n")
    if len(lines) < 4 or not lines[1].isdigit() or (lines[1] != "0" and lines[1].startswith("0")):
        raise Failure("malformed checkpoint body")
    if origin is not None and lines[0] != origin:
        raise Failure(f"origin {lines[0]!r} is not {origin!r}")
    root = base64.b64decode(lines[2], validate=True)
    if len(root) != 32:
        raise Failure("root is not 32 bytes")
    return lines[0], int(lines[1]), root


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("export")
    ap.add_argument("--vkey", help="verifier key file (default: EXPORT/audit.vkey)")
    ap.add_argument("--origin", help="expected checkpoint origin (default: the first key's name)")
    args = ap.parse_args()
    where = "setup"
    try:
        with open(args.vkey or f"{args.export}/audit.vkey", encoding="utf-8") as f:
            keys = [parse_vkey(l) for l in f if l.strip()]
        if not keys:
            raise Failure("no verifier key")
        origin = args.origin or keys[0][0]
        with open(f"{args.export}/checkpoints.txt", encoding="utf-8") as f:
            blocks = f.read().split("\n\n")
        # Notes are "text\n\nsignatures\n" each followed by "\n": blocks alternate text, signatures.
        if blocks[-1] != "" or len(blocks) % 2 != 1:
            raise Failure("checkpoints.txt: malformed")
        notes = [blocks[i] + "\n\n" + blocks[i + 1] for i in range(0, len(blocks) - 1, 2)]
        checkpoints = []
        for n, note in enumerate(notes, 1):
            where = f"checkpoint #{n}"
            checkpoints.append(open_checkpoint(note, keys, origin))
            if len(checkpoints) > 1 and checkpoints[-1][1] < checkpoints[-2][1]:
                raise Failure("size decreases")
        wanted = {size for _, size, _ in checkpoints}
        roots = {0: hashlib.sha256(b"").digest()}
        tree = CompactRange()
        last_time = None
        with open(f"{args.export}/entries.jsonl", encoding="utf-8") as f:
            for i, line in enumerate(f):
                where = f"entry {i}"
                obj = json.loads(line)
                if obj.get("index") != i:
                    raise Failure(f"index {obj.get('index')} where {i} was expected (entries missing or reordered)")
                data = base64.b64decode(obj["entry"], validate=True)
                fields = decode_entry(data)
                if fields["sequence"] != i:
                    raise Failure(f"holds sequence number {fields['sequence']}")
                if last_time is not None and fields["time"] < last_time:
                    raise Failure("time goes backwards")
                last_time = fields["time"]
                if fields != obj.get("fields"):
                    raise Failure("decoded fields differ from the canonical bytes")
                tree.append(leaf_hash(data))
                if tree.size in wanted:
                    roots[tree.size] = tree.root()
        for n, (_, size, root) in enumerate(checkpoints, 1):
            where = f"checkpoint #{n}"
            if size not in roots:
                raise Failure(f"covers {size} entries but the export holds {tree.size}")
            if roots[size] != root:
                raise Failure(f"root for size {size} does not match the entries")
        where = "export"
        if not checkpoints or checkpoints[-1][1] != tree.size:
            raise Failure(f"the newest checkpoint does not cover all {tree.size} entries")
    except (Failure, ValueError, KeyError, OSError, json.JSONDecodeError) as e:
        print(f"audit export FAILED at {where}: {e}", file=sys.stderr)
        return 1
    print(f"audit export OK: {tree.size} entries, {len(checkpoints)} checkpoints, "
          f"root {base64.b64encode(tree.root()).decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
