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
    /// one's canonical form; it does not check the tree: run `verify` for that.
    /// - Parameter size: read only the entries below this sequence number (those a verification covered);
    ///   nil for all.
    /// - Returns: the newest anchor of each batch.
    /// - Throws: `AuditError.storage`, or `AuditError.encoding` (naming the entry) when an entry does not decode.
    public func newestBatchAnchors(below size: UInt64? = nil) throws(AuditError) -> [Int64: LoggedBatchAnchor] {
        var newest: [Int64: LoggedBatchAnchor] = [:]
        try forEachEntry { index, bytes throws(AuditError) in
            if let size, index >= size { return false }
            let decoded = try Self.anchors(of: bytes, index: index)
            for anchor in decoded.anchors {
                newest[anchor.batch] = LoggedBatchAnchor(
                    anchor: anchor, sequence: decoded.sequence, timeMicroseconds: decoded.timeMicroseconds,
                    replaced: newest[anchor.batch].map { $0.replaced + 1 } ?? 0)
            }
            return true
        }
        return newest
    }

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
