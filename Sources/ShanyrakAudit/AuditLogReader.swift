public import Foundation
import GRDB

/// Read access to an audit log: proofs, checkpoints, queries, export and verification.
///
/// Reads see committed data only. Proofs read O(log n) stored node hashes in one query.
public struct AuditLogReader: Sendable {
    let store: AuditStore

    init(store: AuditStore) { self.store = store }

    /// Opens the log in `directory` for reading only.
    /// - Parameter directory: the data folder holding `audit.sqlite`.
    /// - Throws: `AuditError.storage` when there is no log or it cannot be opened.
    public init(directory: URL) throws(AuditError) {
        self.store = try AuditStore(directory: directory, readOnly: true, busyTimeout: .seconds(5))
    }

    func read<T>(_ body: (Database) throws -> T) throws(AuditError) -> T {
        do {
            return try store.pool.read(body)
        } catch let error as AuditError {
            throw error
        } catch {
            throw .storage("cannot read the log: \(AuditStore.describe(error))")
        }
    }

    /// The number of entries.
    /// - Throws: `AuditError.storage`.
    public func treeSize() throws(AuditError) -> UInt64 {
        try read { try AuditStore.size($0) }
    }

    /// The root hash of the first `size` entries, from stored nodes.
    /// - Parameter size: a tree size up to the current one.
    /// - Returns: the root hash.
    /// - Throws: `AuditError.argument` past the end, `AuditError.storage` on a read error.
    public func rootHash(size: UInt64) throws(AuditError) -> [UInt8] {
        try read { db in
            let current = try AuditStore.size(db)
            guard size <= current else { throw AuditError.argument("tree size \(size) exceeds the log's \(current)") }
            return try Self.root(db, size: size, memo: store.memo)
        }
    }

    static func root(_ db: Database, size: UInt64, memo: NodeMemo?) throws -> [UInt8] {
        guard size > 0 else { return Merkle.emptyRoot }
        return try AuditStore.rangeHashes(db, [0..<size], memo: memo)[0]
    }

    /// The canonical bytes and decoded fields of one entry.
    /// - Parameter index: the sequence number.
    /// - Returns: bytes and entry.
    /// - Throws: `AuditError.argument` when absent, `AuditError.encoding` when it does not decode.
    public func entry(at index: UInt64) throws(AuditError) -> (bytes: [UInt8], entry: AuditEntry) {
        let data = try read { db in
            try Data.fetchOne(db, sql: "SELECT entry FROM entries WHERE seq = ?", arguments: [Int64(index)])
        }
        guard let data else { throw .argument("no entry \(index)") }
        let bytes = Array(data)
        return (bytes, try AuditEntryCodec.decode(bytes))
    }

    /// The inclusion proof of entry `index` in the tree of `treeSize` entries (default: the whole log).
    /// - Parameters:
    ///   - index: the sequence number.
    ///   - treeSize: the tree size, at most the current size; nil for the current size.
    /// - Returns: the proof with its leaf hash and root.
    /// - Throws: `AuditError.argument` when the index or size is out of range.
    public func inclusionProof(index: UInt64, treeSize: UInt64? = nil) throws(AuditError) -> InclusionProof {
        try read { db in
            let current = try AuditStore.size(db)
            let size = treeSize ?? current
            guard size <= current else { throw AuditError.argument("tree size \(size) exceeds the log's \(current)") }
            guard index < size else { throw AuditError.argument("entry \(index) is not below tree size \(size)") }
            let plan = Merkle.inclusionPlan(index: index, size: size)
            var ranges = plan
            ranges.append(index..<(index + 1))
            ranges.append(0..<size)
            let hashes = try AuditStore.rangeHashes(db, ranges, memo: store.memo)
            return InclusionProof(
                leafIndex: index, treeSize: size, leafHash: hashes[plan.count], rootHash: hashes[plan.count + 1],
                hashes: Array(hashes[0..<plan.count]))
        }
    }

    /// The consistency proof from tree size `size1` to `size2` (default: the whole log).
    /// - Parameters:
    ///   - size1: the older size, at least 1.
    ///   - size2: the newer size, at most the current size; nil for the current size.
    /// - Returns: the proof with both roots.
    /// - Throws: `AuditError.argument` when the sizes are out of range.
    public func consistencyProof(from size1: UInt64, to size2: UInt64? = nil) throws(AuditError) -> ConsistencyProof {
        try read { db in
            let current = try AuditStore.size(db)
            let newer = size2 ?? current
            guard newer <= current else { throw AuditError.argument("tree size \(newer) exceeds the log's \(current)") }
            guard size1 >= 1, size1 <= newer else {
                throw AuditError.argument("no consistency proof from size \(size1) to \(newer)")
            }
            let plan = Merkle.consistencyPlan(size1: size1, size2: newer)
            let hashes = try AuditStore.rangeHashes(db, plan + [0..<size1, 0..<newer], memo: store.memo)
            return ConsistencyProof(
                size1: size1, size2: newer, rootHash1: hashes[plan.count], rootHash2: hashes[plan.count + 1],
                hashes: Array(hashes[0..<plan.count]))
        }
    }

    /// Every stored checkpoint, in issue order.
    /// - Returns: the checkpoints.
    /// - Throws: `AuditError.storage`.
    public func checkpoints() throws(AuditError) -> [StoredCheckpoint] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, size, time, note FROM checkpoints ORDER BY id").map { row in
                let number = Int(row[0] as Int64)
                // A negative size can only be written by hand: report it as that checkpoint's failure.
                guard let size = UInt64(exactly: row[1] as Int64) else {
                    throw AuditError.checkpoint(number, "stored size is negative")
                }
                return StoredCheckpoint(number: number, size: size, timeMicroseconds: row[2], note: row[3])
            }
        }
    }

    /// The verifier keys recorded by writers of this log, first one first (informational: an auditor
    /// should obtain the key independently).
    /// - Returns: the keys.
    /// - Throws: `AuditError.storage` or `AuditError.key`.
    public func recordedVerifiers() throws(AuditError) -> [NoteVerifier] {
        let lines = try read { db in try String.fetchAll(db, sql: "SELECT vkey FROM signers ORDER BY id") }
        var out: [NoteVerifier] = []
        for line in lines { out.append(try NoteVerifier(vkey: line)) }
        return out
    }

    /// Calls `body` with every entry in order (index, canonical bytes); `body` returns false to stop.
    /// - Parameters:
    ///   - from: the first sequence number.
    ///   - body: receives index and bytes.
    /// - Throws: `AuditError.storage`, or an `AuditError` that `body` throws.
    public func forEachEntry(from: UInt64 = 0, _ body: (UInt64, [UInt8]) throws(AuditError) -> Bool) throws(AuditError)
    {
        try read { db in
            let rows = try Row.fetchCursor(
                db, sql: "SELECT seq, entry FROM entries WHERE seq >= ? ORDER BY seq", arguments: [Int64(from)])
            while let row = try rows.next() {
                let seq: Int64 = row[0]
                let data: Data = row[1]
                if try !body(UInt64(seq), Array(data)) { break }
            }
        }
    }

    /// Entries matching `filter`, oldest first.
    /// - Parameter filter: the filters.
    /// - Returns: matching entries.
    /// - Throws: `AuditError.storage`, or `AuditError.encoding` when an entry does not decode.
    public func query(_ filter: AuditQuery) throws(AuditError) -> [AuditEntry] {
        var out: [AuditEntry] = []
        try forEachEntry { (_, bytes) throws(AuditError) in
            let e = try AuditEntryCodec.decode(bytes)
            if let s = filter.subject, !e.subjects.contains(s) { return true }
            if let a = filter.actorId, e.actorId != a { return true }
            if let a = filter.action, e.action != a { return true }
            if let t = filter.sinceMicroseconds, e.timeMicroseconds < t { return true }
            out.append(e)
            if let limit = filter.limit, out.count >= limit { return false }
            return true
        }
        return out
    }
}
