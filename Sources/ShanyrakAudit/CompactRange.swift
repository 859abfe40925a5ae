/// The right edge of a Merkle tree: the roots of its complete subtrees ("peaks"), largest first.
///
/// Appending a leaf merges equal-sized peaks, which yields every complete subtree node in post-order;
/// the log stores those nodes, so proofs never rehash the log.
public struct CompactRange: Sendable, Equatable {
    /// Number of leaves covered.
    public private(set) var size: UInt64 = 0
    /// Peak hashes, left to right (largest subtree first).
    public private(set) var peaks: [[UInt8]] = []

    /// An empty range.
    public init() {}

    /// A range from stored peaks.
    /// - Parameters:
    ///   - size: the number of leaves.
    ///   - peaks: one hash per set bit of `size`, largest subtree first.
    /// - Throws: `AuditError.storage` when the count of peaks does not match `size`.
    public init(size: UInt64, peaks: [[UInt8]]) throws(AuditError) {
        guard peaks.count == size.nonzeroBitCount else {
            throw .storage("compact range of \(size) needs \(size.nonzeroBitCount) peaks")
        }
        self.size = size
        self.peaks = peaks
    }

    /// Appends a leaf hash.
    /// - Parameter leafHash: the leaf hash.
    /// - Returns: the new complete-subtree hashes in post-order: the leaf, then each merged parent.
    @discardableResult
    public mutating func append(_ leafHash: [UInt8]) -> [[UInt8]] {
        var created = [leafHash]
        var h = leafHash
        var s = size
        while s & 1 == 1 {
            if let left = peaks.popLast() { h = Merkle.nodeHash(left, h) }
            created.append(h)
            s >>= 1
        }
        peaks.append(h)
        size += 1
        return created
    }

    /// Appends a leaf hash after `check` accepted each new complete-subtree hash (post-order); when `check`
    /// rejects one, the range is left unchanged. Used by verification to compare with stored nodes.
    /// - Parameters:
    ///   - leafHash: the leaf hash.
    ///   - check: called with each new node hash in post-order; returns whether it is as expected.
    /// - Returns: whether every new node was accepted (and the leaf appended).
    /// - Throws: what `check` throws.
    public mutating func append(_ leafHash: [UInt8], checking check: ([UInt8]) throws -> Bool) rethrows -> Bool {
        guard try check(leafHash) else { return false }
        var h = leafHash
        var s = size
        var index = peaks.count - 1
        var merged = 0
        while s & 1 == 1 {
            h = Merkle.nodeHash(peaks[index], h)
            guard try check(h) else { return false }
            index -= 1
            merged += 1
            s >>= 1
        }
        peaks.removeLast(merged)
        peaks.append(h)
        size += 1
        return true
    }

    /// The root hash of the covered tree (`Merkle.emptyRoot` when empty).
    public var rootHash: [UInt8] {
        guard var h = peaks.last else { return Merkle.emptyRoot }
        for p in peaks.dropLast().reversed() { h = Merkle.nodeHash(p, h) }
        return h
    }
}
