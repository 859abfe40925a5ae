public import Foundation
internal import GRDB
internal import GRDBSQLite
public import ShanyrakCore

/// One way the registry differs from what the audit log anchors (`Registry.verifyAnchors`). It names
/// the batch (id, source, time), never a value, a subject or an IIN.
public struct BatchAnchorProblem: Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The batch's records differ from its newest anchor (one deleted, added, re-dated, moved or
        /// its payload changed).
        case changed
        /// The log anchors the batch, but the registry holds neither its row nor any of its records.
        case missing
        /// The batch (its row or records) is in the registry, but no entry of the log anchors it.
        case unanchored
        /// Like `unanchored`, for a batch older than the first anchored one: written before ingest
        /// anchored its batches (or made to look so).
        case predatesAnchors
        /// Records whose batch the `batch` table does not hold.
        case unknownBatch
    }

    /// What is wrong.
    public var kind: Kind
    /// The batch id.
    public var batch: Int64
    /// The source, from the batch table or else the anchor.
    public var source: String?
    /// When the batch started (Unix seconds), from the batch table.
    public var startedAt: Int64?
    /// How many records its newest anchor counts, when anchored.
    public var anchoredRecords: Int64?
    /// How many records of the batch the registry holds.
    public var foundRecords: Int64

    /// The batch as it is named in messages: `batch 12 (police, 2026-11-30T10:00:00Z)`.
    public var batchName: String {
        var details: [String] = []
        if let source { details.append(source) }
        if let startedAt {
            details.append(Date(timeIntervalSince1970: TimeInterval(startedAt)).formatted(.iso8601))
        }
        return "batch \(batch)" + (details.isEmpty ? "" : " (\(details.joined(separator: ", ")))")
    }

    /// What is wrong, in words.
    public var description: String {
        let anchored = anchoredRecords.map { "\($0)" } ?? "?"
        switch kind {
        case .changed:
            return "\(batchName): its records differ from its anchor in the audit log "
                + "(anchored \(anchored) records, the registry holds \(foundRecords)): records were deleted, "
                + "added, re-dated, moved or changed since"
        case .missing:
            return "\(batchName): anchored in the audit log (\(anchored) records) but missing from the registry"
        case .unanchored:
            return "\(batchName): \(foundRecords) records and no anchor in the audit log: an ingest interrupted "
                + "between its commit and its audit entry leaves this, and so does a batch added to the registry "
                + "file; look for the ingest in `shanyrak audit query --action ingest`, and if the batch is genuine "
                + "anchor it with `shanyrak registry anchor --batch \(batch)`"
        case .predatesAnchors:
            return "\(batchName): \(foundRecords) records, written before ingest anchored its batches; not verified"
        case .unknownBatch:
            return "\(batchName): \(foundRecords) records whose batch the registry's batch table does not hold"
                + (anchoredRecords == nil ? " (and no anchor in the audit log)" : "")
        }
    }
}

/// What `Registry.verifyAnchors` found.
public struct RegistryAnchorReport: Sendable {
    /// Batches whose records match their newest anchor.
    public var batchesVerified = 0
    /// Records in those batches.
    public var recordsVerified: Int64 = 0
    /// Batches the registry holds (rows of the batch table, or ids of records).
    public var batchesInRegistry = 0
    /// Records read.
    public var recordsRead: Int64 = 0
    /// Batches the audit log anchors.
    public var batchesAnchored = 0
    /// Everything that differs, by batch id.
    public var problems: [BatchAnchorProblem] = []

    /// Whether every batch matches its anchor and every anchor its batch.
    public var isValid: Bool { problems.isEmpty }
}

extension Registry {
    /// The anchors of `batches` as their records are stored now (for the audit entry of a command that
    /// rewrote them, such as `keys rewrap`, or of `registry anchor`). A batch the `batch` table does not
    /// hold gets its records' anchor under an empty source name.
    /// - Parameter batches: batch ids.
    /// - Returns: one anchor per batch, by increasing id.
    /// - Throws: a database error.
    public func anchors(ofBatches batches: some Sequence<Int64>) throws -> [BatchAnchor] {
        try writer.read { db in
            let sources = try Self.sourceNames(db)
            var out: [BatchAnchor] = []
            for batch in Set(batches).sorted() {
                let source = try String.fetchOne(db, sql: "SELECT source FROM batch WHERE id = ?", arguments: [batch])
                var digest = BatchRecordsDigest()
                try Self.forEachRecord(db, from: batch << 32, to: (batch + 1) << 32, sources: sources) { _, record in
                    record(&digest)
                }
                out.append(digest.anchor(batch: batch, source: source ?? ""))
            }
            return out
        }
    }

    /// Compares every batch of the registry in `dataDirectory` with its newest anchor, reading the registry
    /// file read-only (`digestBatches`), then calling `anchors` and comparing (`RegistryBatchDigests.compare`).
    ///
    /// `anchors` is called once the registry has been read: a batch that an ingest commits while this runs
    /// is then either not seen or seen with its anchor (unless its ingest has yet to append it).
    /// - Parameters:
    ///   - dataDirectory: the data folder holding `registry.sqlite`.
    ///   - anchors: gives the newest anchor of each batch the audit log anchors, by batch id.
    /// - Returns: what matches and what does not.
    /// - Throws: `StoreError` when the registry cannot be read, or what `anchors` throws.
    public static func verifyAnchors(
        dataDirectory: URL, anchors: () throws -> [Int64: BatchAnchor]
    ) throws -> RegistryAnchorReport {
        try digestBatches(dataDirectory: dataDirectory).compare(with: try anchors())
    }

    /// Reads every batch of the registry in `dataDirectory` read-only and digests its records as ingest
    /// anchored them: records are streamed in id order and digested batch by batch, so memory grows with
    /// the number of batches, not of records.
    ///
    /// Each batch is read in a read transaction of its own (with its row of the `batch` table and the
    /// source names), not the whole registry in one: a running server's registry can then be checkpointed
    /// between two batches, and the longest snapshot held is that of the largest batch (about a second for
    /// a million-person population feed). A batch is written in one transaction and only rewritten whole
    /// by `keys rewrap`, so each one is read as a commit left it. Records of any id are read, negative ones
    /// included (their batch is then unknown).
    /// - Parameter dataDirectory: the data folder holding `registry.sqlite`.
    /// - Returns: the batch rows and the digest of each batch's records.
    /// - Throws: `StoreError` when the registry cannot be read.
    public static func digestBatches(dataDirectory: URL) throws -> RegistryBatchDigests {
        let path = dataDirectory.appendingPathComponent(fileName).path
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError.notInitialised(dataDirectory.path) }
        let connection = try ReadConnection(path: path)
        var digests = RegistryBatchDigests()
        try connection.transaction {
            try forEachRow(
                connection, "SELECT id, source, started_at FROM batch", bind: { _ in SQLITE_OK },
                row: { stmt in
                    digests.rows[sqlite3_column_int64(stmt, 0)] = (text(stmt, 1) ?? "", sqlite3_column_int64(stmt, 2))
                    return true
                })
        }
        var next: Int64? = Int64.min
        while let from = next {
            next = try connection.transaction {
                guard let first = try firstRecordID(connection, from: from) else { return nil }
                let batch = first >> 32
                // The last possible batch has no successor to bound it: read to the end.
                let end: Int64? = batch < Int64.max >> 32 ? (batch + 1) << 32 : nil
                // A batch committed after the rows were read: its row is read with its records.
                if digests.rows[batch] == nil, let row = try batchRow(connection, batch) { digests.rows[batch] = row }
                var digest = BatchRecordsDigest()
                try forEachRecord(connection, from: batch << 32, to: end, sources: try sourceNames(connection)) {
                    _, record in record(&digest)
                }
                digests.found[batch] = digest.anchor(batch: batch, source: "")
                return end
            }
        }
        return digests
    }

    /// The smallest record id at or above `from`, or nil when there is none.
    private static func firstRecordID(_ db: some PreparedStatements, from: Int64) throws -> Int64? {
        var first: Int64?
        try forEachRow(
            db, "SELECT id FROM record WHERE id >= ?1 ORDER BY id LIMIT 1",
            bind: { sqlite3_bind_int64($0, 1, from) },
            row: { stmt in
                first = sqlite3_column_int64(stmt, 0)
                return false
            })
        return first
    }

    /// The source name and start time of batch `id`, or nil when the batch table does not hold it.
    private static func batchRow(_ db: some PreparedStatements, _ id: Int64) throws -> (
        source: String, startedAt: Int64
    )? {
        var found: (source: String, startedAt: Int64)?
        try forEachRow(
            db, "SELECT source, started_at FROM batch WHERE id = ?1", bind: { sqlite3_bind_int64($0, 1, id) },
            row: { stmt in
                found = (text(stmt, 0) ?? "", sqlite3_column_int64(stmt, 1))
                return false
            })
        return found
    }

    /// The name of every source by number, as bytes (what records are digested with).
    static func sourceNames(_ db: some PreparedStatements) throws -> [Int64: [UInt8]] {
        var sources: [Int64: [UInt8]] = [:]
        try forEachRow(
            db, "SELECT number, name FROM source", bind: { _ in SQLITE_OK },
            row: { stmt in
                sources[sqlite3_column_int64(stmt, 0)] = Array(blob(stmt, 1))
                return true
            })
        return sources
    }

    /// Calls `body` for each record with id in `from..<to` (to the end when `to` is nil), in id order, with
    /// its batch and a function that adds the record to a digest. A record whose source number the
    /// `source` table does not hold is digested with an empty source name (so it does not match).
    static func forEachRecord(
        _ db: some PreparedStatements, from: Int64, to: Int64?, sources: [Int64: [UInt8]],
        _ body: (Int64, (inout BatchRecordsDigest) -> Void) throws -> Void
    ) throws {
        try forEachRow(
            db,
            "SELECT id, subject, source, observed_at, payload FROM record WHERE id >= ?1 AND id < ?2 ORDER BY id",
            bind: { stmt in
                let rc = sqlite3_bind_int64(stmt, 1, from)
                return rc == SQLITE_OK ? sqlite3_bind_int64(stmt, 2, to ?? Int64.max) : rc
            },
            row: { stmt in
                let id = sqlite3_column_int64(stmt, 0)
                let name = sources[sqlite3_column_int64(stmt, 2)] ?? []
                // Text first: asking for the date's bytes after its text keeps the pointer valid.
                let date = UnsafeRawBufferPointer(
                    start: sqlite3_column_text(stmt, 3), count: Int(sqlite3_column_bytes(stmt, 3)))
                try body(id >> 32) { digest in
                    name.withUnsafeBytes { source in
                        digest.add(
                            id: id, subject: blob(stmt, 1), source: source, observedAt: date, payload: blob(stmt, 4))
                    }
                }
                return true
            })
    }
}

/// The registry's batches as `Registry.digestBatches` read them: each batch's row of the `batch` table and the
/// digest of its records, to be compared with the audit log's anchors (`compare(with:)`) once or more.
public struct RegistryBatchDigests: Sendable {
    /// Rows of the `batch` table by id: source name and start time (Unix seconds).
    var rows: [Int64: (source: String, startedAt: Int64)] = [:]
    /// The digest of each batch's records by id, for every batch that has records (under an empty source name).
    var found: [Int64: BatchAnchor] = [:]

    /// Compares every batch read with its newest anchor.
    /// - Parameter anchors: the newest anchor of each batch the audit log anchors, by batch id.
    /// - Returns: what matches and what does not.
    public func compare(with anchors: [Int64: BatchAnchor]) -> RegistryAnchorReport {
        var check = AnchorCheck(rows: rows, anchors: anchors)
        for (batch, anchor) in found.sorted(by: { $0.key < $1.key }) { check.compare(batch: batch, found: anchor) }
        return check.report()
    }
}

/// The comparison of `RegistryBatchDigests.compare`, batch by batch.
private struct AnchorCheck {
    let rows: [Int64: (source: String, startedAt: Int64)]
    let anchors: [Int64: BatchAnchor]
    /// The smallest anchored batch id: unanchored batches below it predate anchoring.
    let firstAnchored: Int64?
    var seen: Set<Int64> = []
    var result = RegistryAnchorReport()

    init(rows: [Int64: (source: String, startedAt: Int64)], anchors: [Int64: BatchAnchor]) {
        self.rows = rows
        self.anchors = anchors
        firstAnchored = anchors.keys.min()
        result.batchesAnchored = anchors.count
    }

    /// Compares batch `batch`, whose records (possibly none) the registry digests as `found`.
    mutating func compare(batch: Int64, found: BatchAnchor) {
        seen.insert(batch)
        result.batchesInRegistry += 1
        result.recordsRead += found.records
        let row = rows[batch]
        let anchor = anchors[batch]
        var problem = BatchAnchorProblem(
            kind: .changed, batch: batch, source: row?.source ?? anchor?.source, startedAt: row?.startedAt,
            anchoredRecords: anchor?.records, foundRecords: found.records)
        if row == nil && found.records > 0 {
            problem.kind = .unknownBatch
        } else if let anchor {
            guard found.digest != anchor.digest || found.records != anchor.records else {
                result.batchesVerified += 1
                result.recordsVerified += found.records
                return
            }
        } else {
            problem.kind = firstAnchored.map { batch < $0 } ?? true ? .predatesAnchors : .unanchored
        }
        result.problems.append(problem)
    }

    /// The report, once every record was read: batch rows without records and anchors without batch are
    /// compared last.
    mutating func report() -> RegistryAnchorReport {
        for batch in rows.keys.sorted() where !seen.contains(batch) {
            compare(batch: batch, found: BatchRecordsDigest().anchor(batch: batch, source: ""))
        }
        for (batch, anchor) in anchors where !seen.contains(batch) {
            result.problems.append(
                BatchAnchorProblem(
                    kind: .missing, batch: batch, source: anchor.source, startedAt: nil,
                    anchoredRecords: anchor.records, foundRecords: 0))
        }
        result.problems.sort { $0.batch < $1.batch }
        return result
    }
}
