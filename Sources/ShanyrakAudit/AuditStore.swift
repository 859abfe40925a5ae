import Foundation
import GRDB
import ShanyrakCore

/// The audit log's own SQLite file (`audit.sqlite`): entries, the stored Merkle nodes and checkpoints.
///
/// Tables (see docs/audit.md):
/// - `entries(seq INTEGER PRIMARY KEY, entry BLOB)`: canonical entry bytes by sequence number.
/// - `nodes(pos INTEGER PRIMARY KEY, hash BLOB)`: every complete-subtree hash (leaves included) in
///   post-order, the order appends create them; proofs read O(log n) of them by position.
/// - `checkpoints(id INTEGER PRIMARY KEY, size INTEGER, time INTEGER, note TEXT)`: signed notes in issue order.
/// - `signers(id INTEGER PRIMARY KEY, vkey TEXT UNIQUE)`: verifier keys that signed here, first one first.
///
/// The hot paths use raw cached statements rather than record types: an append writes one entry row and
/// on average two node rows, and `audit verify` streams millions of rows.
final class AuditStore: Sendable {
    let pool: DatabasePool
    /// Upper-level tree nodes already read, shared by every proof served from this store.
    let memo = NodeMemo()

    static let fileName = "audit.sqlite"
    /// WAL pages after which the writer checkpoints by itself: a bound (64 MiB at 4 KiB pages) should the
    /// `WALCheckpointer` fall behind; SQLite's default of 1,000 made commits wait for the copy.
    static let writerAutocheckpointPages = 16_384
    /// The size a WAL is cut back to when it restarts after a full checkpoint (bytes).
    static let walSizeLimit = 64 << 20

    /// The database file.
    let path: String

    init(directory: URL, readOnly: Bool, busyTimeout: Duration) throws(AuditError) {
        let url = directory.appendingPathComponent(AuditStore.fileName)
        self.path = url.path
        var config = Configuration()
        config.readonly = readOnly
        config.label = "ShanyrakAudit"
        let seconds = busyTimeout.inSeconds
        config.busyMode = seconds > 0 ? .timeout(seconds) : .immediateError
        config.prepareDatabase { db in
            // Proofs read scattered nodes and verification streams the whole file: map it rather than
            // copying every page through read(2), and keep a larger page cache.
            try db.execute(sql: "PRAGMA mmap_size = 17179869184; PRAGMA cache_size = -65536")
        }
        do {
            if readOnly {
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw AuditError.storage("no audit log at \(url.path)")
                }
            } else {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            }
            pool = try DatabasePool(path: url.path, configuration: config)
            if !readOnly {
                // Durable commits: WAL with a sync of the WAL on every commit. GRDB sets NORMAL when it turns on
                // WAL (after prepareDatabase), so set FULL on the writer connection afterwards and check it held.
                let mode = try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = FULL")
                    // Checkpoints are the `WALCheckpointer`'s work; the writer's own is only a bound on the WAL.
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = \(AuditStore.writerAutocheckpointPages)")
                    try db.execute(sql: "PRAGMA journal_size_limit = \(AuditStore.walSizeLimit)")
                    return try Int.fetchOne(db, sql: "PRAGMA synchronous")
                }
                guard mode == 2 else { throw AuditError.storage("cannot set synchronous=FULL on \(url.path)") }
                try AuditStore.migrator.migrate(pool)
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .storage("cannot open \(url.path): \(AuditStore.describe(error))")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-audit-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE entries (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL);
                    CREATE TABLE nodes (pos INTEGER PRIMARY KEY, hash BLOB NOT NULL);
                    CREATE TABLE checkpoints (
                        id INTEGER PRIMARY KEY, size INTEGER NOT NULL, time INTEGER NOT NULL, note TEXT NOT NULL);
                    CREATE TABLE signers (id INTEGER PRIMARY KEY, vkey TEXT NOT NULL UNIQUE);
                    """)
        }
        return m
    }

    /// A short description of a database error without SQL arguments (which could hold entry bytes).
    static func describe(_ error: any Error) -> String {
        if let db = error as? DatabaseError {
            return "SQLite error \(db.resultCode.rawValue): \(db.message ?? "unknown")"
        }
        return String(describing: type(of: error))
    }

    // MARK: Reading

    /// What the writer needs to continue the log.
    struct State: Sendable {
        var range: CompactRange
        var lastTime: Int64
        var lastCheckpoint: (size: UInt64, time: Int64, note: String)?
    }

    /// Number of entries, from the largest sequence number.
    static func size(_ db: Database) throws -> UInt64 {
        guard let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(seq) FROM entries")) else { return 0 }
        return UInt64(last) + 1
    }

    /// Loads the writer state and checks that entries and nodes agree in count.
    func loadState() async throws(AuditError) -> State {
        do {
            return try await pool.read { db in
                let size = try AuditStore.size(db)
                let nodeCount = (try Int64.fetchOne(db, sql: "SELECT max(pos) FROM nodes")).map { $0 + 1 } ?? 0
                guard nodeCount == NodeAddress.count(forSize: size) else {
                    throw AuditError.storage(
                        "log holds \(size) entries but \(nodeCount) tree nodes; run `shanyrak audit verify`")
                }
                let peaks = try AuditStore.fetchSubtrees(db, NodeAddress.peaks(size: size))
                var lastTime = Int64.min
                if size > 0,
                    let bytes = try Data.fetchOne(
                        db, sql: "SELECT entry FROM entries WHERE seq = ?", arguments: [Int64(size - 1)])
                {
                    lastTime = try bytes.withUnsafeBytes { raw in try AuditEntryCodec.validate(raw).timeMicroseconds }
                }
                var checkpoint: (UInt64, Int64, String)?
                if let row = try Row.fetchOne(
                    db, sql: "SELECT size, time, note FROM checkpoints ORDER BY id DESC LIMIT 1")
                {
                    guard let size = UInt64(exactly: row[0] as Int64) else {
                        throw AuditError.storage(
                            "the newest stored checkpoint has a negative size; run `shanyrak audit verify`")
                    }
                    checkpoint = (size, row[1], row[2])
                }
                return State(
                    range: try CompactRange(size: size, peaks: peaks), lastTime: lastTime, lastCheckpoint: checkpoint)
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .storage("cannot read the log state: \(AuditStore.describe(error))")
        }
    }

    static let fetchArity = 64
    static let fetchNodesSQL: [String] = (0...fetchArity).map { n in
        "SELECT pos, hash FROM nodes WHERE pos IN (" + Array(repeating: "?", count: max(n, 1)).joined(separator: ",")
            + ")"
    }

    /// Reads the hashes of complete subtrees (given as leaf ranges) in one query.
    static func fetchSubtrees(_ db: Database, _ ranges: [Range<UInt64>], memo: NodeMemo? = nil) throws -> [[UInt8]] {
        if ranges.isEmpty { return [] }
        var positions: [Int64] = []
        positions.reserveCapacity(ranges.count)
        var found: [Int64: [UInt8]] = [:]
        var missing: [Int64] = []
        var memoable: Set<Int64> = []
        for r in ranges {
            guard let p = NodeAddress.position(of: r) else { throw AuditError.storage("range \(r) is not a subtree") }
            positions.append(p)
            if r.upperBound - r.lowerBound >= NodeMemo.minimumWidth {
                memoable.insert(p)
            }
        }
        if let memo, !memoable.isEmpty { found = memo.lookup(memoable) }
        for p in Set(positions) where found[p] == nil { missing.append(p) }
        missing.sort()
        // One cached statement per number of positions (at most 64 per execution), so a proof costs one or
        // two executions of a prepared statement and no SQL compilation.
        var fetched: [Int64: [UInt8]] = [:]
        if !missing.isEmpty {
            var start = 0
            while start < missing.count {
                let chunk = missing[start..<min(start + fetchArity, missing.count)]
                let statement = try db.cachedStatement(sql: fetchNodesSQL[chunk.count])
                // The existential initialiser: the generic one instantiates a key path on every call.
                statement.setUncheckedArguments(StatementArguments(chunk.map { $0 as (any DatabaseValueConvertible)? }))
                let rows = try Row.fetchCursor(statement)
                while let row = try rows.next() {
                    let hash: Data = row[1]
                    fetched[row[0]] = Array(hash)
                }
                start += fetchArity
            }
        }
        if let memo {
            let keep = fetched.filter { memoable.contains($0.key) && $0.value.count == Merkle.hashLength }
            if !keep.isEmpty { memo.store(keep) }
        }
        found.merge(fetched) { a, _ in a }
        return try positions.map { p in
            guard let h = found[p], h.count == Merkle.hashLength else {
                throw AuditError.storage("tree node \(p) is missing or malformed; run `shanyrak audit verify`")
            }
            return h
        }
    }

    /// The hashes of arbitrary proof ranges (complete subtrees or right-edge suffixes), one query in all.
    static func rangeHashes(_ db: Database, _ ranges: [Range<UInt64>], memo: NodeMemo? = nil) throws -> [[UInt8]] {
        let parts = ranges.map(NodeAddress.decompose)
        let hashes = try fetchSubtrees(db, parts.flatMap { $0 }, memo: memo)
        var out: [[UInt8]] = []
        var offset = 0
        for p in parts {
            let slice = hashes[offset..<(offset + p.count)]
            offset += p.count
            var h = slice[slice.endIndex - 1]
            for left in slice.dropLast().reversed() { h = Merkle.nodeHash(left, h) }
            out.append(h)
        }
        return out
    }

    // MARK: Writing

    /// One group of appends (and maybe a checkpoint), written in one transaction.
    struct Batch: Sendable {
        var entries: [(seq: Int64, bytes: [UInt8])] = []
        var firstNodePosition: Int64 = 0
        var nodes: [[UInt8]] = []
        var checkpoint: (size: UInt64, time: Int64, note: String)?
        var signerVKey: String?
    }

    /// - Parameter expectedSize: the log's size the batch was built on; when the log holds more (another
    ///   process appended), nothing is written and `AuditError.grownElsewhere` is thrown.
    func write(_ batch: Batch, expectedSize: UInt64) async throws(AuditError) {
        do {
            try await pool.write { db in
                guard try AuditStore.size(db) == expectedSize else { throw AuditError.grownElsewhere }
                if !batch.entries.isEmpty {
                    // Arguments are set unchecked: both statements have exactly two parameters, given here.
                    let insertEntry = try db.cachedStatement(sql: "INSERT INTO entries (seq, entry) VALUES (?, ?)")
                    for e in batch.entries {
                        insertEntry.setUncheckedArguments([e.seq, Data(e.bytes)])
                        try insertEntry.execute()
                    }
                    let insertNode = try db.cachedStatement(sql: "INSERT INTO nodes (pos, hash) VALUES (?, ?)")
                    var pos = batch.firstNodePosition
                    for h in batch.nodes {
                        insertNode.setUncheckedArguments([pos, Data(h)])
                        try insertNode.execute()
                        pos += 1
                    }
                }
                if let vkey = batch.signerVKey {
                    try db.execute(sql: "INSERT OR IGNORE INTO signers (vkey) VALUES (?)", arguments: [vkey])
                }
                if let c = batch.checkpoint {
                    try db.execute(
                        sql: "INSERT INTO checkpoints (size, time, note) VALUES (?, ?, ?)",
                        arguments: [Int64(c.size), c.time, c.note])
                }
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .notDurable("the group commit failed (\(AuditStore.describe(error))); nothing was released")
        }
    }
}

/// A memo of stored tree nodes covering at least `minimumWidth` leaves.
///
/// Complete-subtree hashes never change once written (the log is append-only), so a node read once can
/// serve every later proof: the top levels of the tree, which every proof needs, stop costing B-tree
/// seeks. With `minimumWidth` 256 it holds at most one hash per 256 entries (about 40,000 for 10M).
final class NodeMemo: @unchecked Sendable {
    // @unchecked: `hashes` is only touched while holding `lock`.
    static let minimumWidth: UInt64 = 256
    private let lock = NSLock()
    private var hashes: [Int64: [UInt8]] = [:]

    func lookup(_ positions: Set<Int64>) -> [Int64: [UInt8]] {
        lock.lock()
        defer { lock.unlock() }
        var out: [Int64: [UInt8]] = [:]
        for p in positions { if let h = hashes[p] { out[p] = h } }
        return out
    }

    func store(_ found: [Int64: [UInt8]]) {
        lock.lock()
        defer { lock.unlock() }
        hashes.merge(found) { a, _ in a }
    }
}
