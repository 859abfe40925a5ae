"""A straightforward Python ingester (PyNaCl + sqlite3), the yardstick for
`scripts/bench-ingest.sh`: parse, pseudonymise (keyed BLAKE2b), seal each value
(XChaCha20-Poly1305) and insert, one transaction per feed. No validation beyond
what the CSV module does, so it is an upper bound for a Python implementation."""
import csv, hashlib, os, sqlite3, sys, time
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt as seal

feeds, dbpath = sys.argv[1], sys.argv[2]
if os.path.exists(dbpath):
    os.remove(dbpath)
db = sqlite3.connect(dbpath)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE value (subject BLOB, indicator TEXT, observed_at TEXT, sealed BLOB, "
           "PRIMARY KEY (subject, indicator, observed_at, sealed)) WITHOUT ROWID")
pkey, dkey = os.urandom(32), os.urandom(32)
total, elapsed = 0, 0.0
for source in ["population", "labour", "health", "education", "police", "justice"]:
    start = time.perf_counter()
    n = 0
    with open(os.path.join(feeds, source + ".csv"), newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        long = "indicator" in header
        for row in rows:
            subject = hashlib.blake2b(b"p\0" + row[0].encode(), key=pkey, digest_size=16).digest()
            obs = row[-1]
            cells = [(row[1], row[2])] if long else list(zip(header[1:-1], row[1:-1]))
            for col, val in cells:
                if not val:
                    continue
                nonce = os.urandom(24)
                ad = b"\x01" + subject + col.encode()
                db.execute("INSERT OR IGNORE INTO value VALUES (?,?,?,?)",
                           (subject, col, obs, nonce + seal(val.encode(), ad, nonce, dkey)))
                n += 1
    db.commit()
    secs = time.perf_counter() - start
    total += n
    elapsed += secs
    print(f"python {source}: {n} values in {secs:.2f} s = {n / secs:.0f} values/s")
print(f"python total: {total} values in {elapsed:.2f} s = {total / elapsed:.0f} values/s")
