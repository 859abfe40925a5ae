public import ShanyrakCore

/// A batch anchor as the log holds it: the anchor and the entry that carries it.
public struct LoggedBatchAnchor: Sendable, Hashable {
    /// The anchor.
    public var anchor: BatchAnchor
    /// The sequence number of the entry that carries it.
    public var sequence: UInt64
    /// The entry's time in microseconds since the Unix epoch.
    public var timeMicroseconds: Int64
    /// How many earlier anchors of the batch this one replaced (by `keys rewrap` or `registry anchor`).
    public var replaced: Int

    /// Creates a logged anchor.
    public init(anchor: BatchAnchor, sequence: UInt64, timeMicroseconds: Int64, replaced: Int = 0) {
        self.anchor = anchor
        self.sequence = sequence
        self.timeMicroseconds = timeMicroseconds
        self.replaced = replaced
    }
}

extension AuditLogReader {
    /// The newest anchor of every batch the log anchors (a later entry's anchor of a batch replaces an
    /// earlier one: a rewrap re-anchors the batches it re-sealed), by batch id.
    ///
    /// Streams the entries (memory grows with the number of batches, not of entries) and checks each
    /// one's canonical form; it does not check the tree: run `verify` for that. Entries are read
    /// `anchorReadChunk` at a time, each chunk in a read transaction of its own, so that reading a long log
    /// does not hold back the checkpoints of a log that a server appends to meanwhile.
    /// - Parameters:
    ///   - start: the first sequence number to read (0: from the beginning; later, to read only the entries
    ///     appended since an earlier call, whose result the caller merges with this one). `replaced` counts
    ///     the anchors replaced among the entries read.
    ///   - size: read only the entries below this sequence number (those a verification covered, or those
    ///     the log held at a given moment); nil for all.
    /// - Returns: the newest anchor of each batch.
    /// - Throws: `AuditError.storage`, or `AuditError.encoding` (naming the entry) when an entry does not decode.
    public func newestBatchAnchors(from start: UInt64 = 0, below size: UInt64? = nil) throws(AuditError) -> [Int64:
        LoggedBatchAnchor]
    {
        try newestBatchAnchors(from: start, below: size, chunk: Self.anchorReadChunk)
    }

    /// `newestBatchAnchors(from:below:)`, reading `chunk` entries per read transaction (tests: small chunks).
    func newestBatchAnchors(from start: UInt64, below size: UInt64?, chunk: UInt64) throws(AuditError) -> [Int64:
        LoggedBatchAnchor]
    {
        var newest: [Int64: LoggedBatchAnchor] = [:]
        var next = start
        var more = true
        while more {
            let chunkEnd = next + max(chunk, 1)
            more = false
            try forEachEntry(from: next) { index, bytes throws(AuditError) in
                if let size, index >= size { return false }
                guard index < chunkEnd else {
                    more = true
                    return false
                }
                let decoded = try Self.anchors(of: bytes, index: index)
                for anchor in decoded.anchors {
                    newest[anchor.batch] = LoggedBatchAnchor(
                        anchor: anchor, sequence: decoded.sequence, timeMicroseconds: decoded.timeMicroseconds,
                        replaced: newest[anchor.batch].map { $0.replaced + 1 } ?? 0)
                }
                return true
            }
            next = chunkEnd
        }
        return newest
    }

    /// How many entries `newestBatchAnchors` reads in one read transaction.
    static let anchorReadChunk: UInt64 = 65_536

    /// The anchors of one entry's bytes; an error names the entry.
    private static func anchors(of bytes: [UInt8], index: UInt64) throws(AuditError) -> (
        sequence: UInt64, timeMicroseconds: Int64, anchors: [BatchAnchor]
    ) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(AuditError) in try AuditEntryCodec.batchAnchors(raw) }
        }
        switch result {
        case .success(let decoded): return decoded
        case .failure(let error): throw .encoding("audit entry \(index): \(error)")
        }
    }
}
