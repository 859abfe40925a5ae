import ShanyrakCrypto

/// The Merkle tree of RFC 9162 section 2.1 (SHA-256): hashing, proofs and their verifiers.
///
/// Leaf hash = SHA-256(0x00 || data); node hash = SHA-256(0x01 || left || right); the root of the
/// empty tree is SHA-256(""). A tree of n leaves splits at the largest power of two below n.
public enum Merkle {
    /// Length of every hash in bytes.
    public static let hashLength = 32

    /// The root of the empty tree, SHA-256 of the empty string.
    public static let emptyRoot: [UInt8] = SHA256.hash([UInt8]())

    /// The leaf hash of `data`: SHA-256(0x00 || data).
    /// - Parameter data: the leaf data (an entry's canonical bytes).
    /// - Returns: 32 bytes.
    public static func leafHash(_ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { leafHash($0) }
    }

    /// The leaf hash of `data`: SHA-256(0x00 || data).
    /// - Parameter data: the leaf data.
    /// - Returns: 32 bytes.
    public static func leafHash(_ data: UnsafeRawBufferPointer) -> [UInt8] {
        SHA256.hash(prefix: 0x00, data, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// The interior node hash: SHA-256(0x01 || left || right).
    /// - Parameters:
    ///   - left: the left child hash.
    ///   - right: the right child hash.
    /// - Returns: 32 bytes.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        left.withUnsafeBytes { l in right.withUnsafeBytes { r in SHA256.hash(prefix: 0x01, l, r) } }
    }

    /// The root of the tree over `leafHashes`, by the recursive definition (reference; O(n)).
    /// - Parameter leafHashes: leaf hashes in order.
    /// - Returns: the root hash.
    public static func rootHash(leafHashes: [[UInt8]]) -> [UInt8] {
        var range = CompactRange()
        for leaf in leafHashes { range.append(leaf) }
        return range.rootHash
    }

    /// The inclusion proof (audit path, bottom-up) of leaf `index` in the tree over `leafHashes` (RFC 9162 2.1.3.1).
    /// - Parameters:
    ///   - index: leaf index, below `leafHashes.count`.
    ///   - leafHashes: all leaf hashes of the tree.
    /// - Returns: the proof hashes.
    /// - Throws: `AuditError.argument` when the index is out of range.
    public static func inclusionProof(index: UInt64, leafHashes: [[UInt8]]) throws(AuditError) -> [[UInt8]] {
        let size = UInt64(leafHashes.count)
        guard index < size else { throw .argument("leaf index \(index) is not below tree size \(size)") }
        return inclusionPlan(index: index, size: size).map { subtreeHash($0, leafHashes) }
    }

    /// The consistency proof between the first `size1` leaves and all of `leafHashes` (RFC 9162 2.1.4.1).
    /// - Parameters:
    ///   - size1: the older tree size, 1...count.
    ///   - leafHashes: all leaf hashes of the newer tree.
    /// - Returns: the proof hashes.
    /// - Throws: `AuditError.argument` when `size1` is 0 or above the tree size.
    public static func consistencyProof(size1: UInt64, leafHashes: [[UInt8]]) throws(AuditError) -> [[UInt8]] {
        let size2 = UInt64(leafHashes.count)
        guard size1 >= 1, size1 <= size2 else {
            throw .argument("sizes \(size1) -> \(size2) have no consistency proof")
        }
        return consistencyPlan(size1: size1, size2: size2).map { subtreeHash($0, leafHashes) }
    }

    private static func subtreeHash(_ range: Range<UInt64>, _ leaves: [[UInt8]]) -> [UInt8] {
        var compact = CompactRange()
        for i in range { compact.append(leaves[Int(i)]) }
        return compact.rootHash
    }

    // MARK: Verifiers (RFC 9162 2.1.3.2 and 2.1.4.2)

    /// Verifies an inclusion proof (RFC 9162 section 2.1.3.2).
    /// - Parameters:
    ///   - index: the leaf index.
    ///   - treeSize: the tree size the proof is for.
    ///   - leafHash: the leaf hash (already hashed with the 0x00 prefix).
    ///   - proof: the audit path, bottom-up.
    ///   - rootHash: the root the proof must reach.
    /// - Throws: `AuditError` (proof) naming the rule that failed.
    public static func verifyInclusion(
        index: UInt64, treeSize: UInt64, leafHash: [UInt8], proof: [[UInt8]], rootHash: [UInt8]
    ) throws(AuditError) {
        guard index < treeSize else { throw .proof("leaf index \(index) is not below tree size \(treeSize)") }
        guard leafHash.count == hashLength, rootHash.count == hashLength else {
            throw .proof("leaf and root hashes must be \(hashLength) bytes")
        }
        guard proof.allSatisfy({ $0.count == hashLength }) else { throw .proof("every proof hash must be 32 bytes") }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw .proof("inclusion proof is longer than the path") }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .proof("inclusion proof is shorter than the path") }
        guard constantTimeEquals(r, rootHash) else { throw .proof("inclusion proof does not reach the root") }
    }

    /// Verifies a consistency proof (RFC 9162 section 2.1.4.2).
    /// - Parameters:
    ///   - size1: the older tree size (at least 1).
    ///   - size2: the newer tree size.
    ///   - rootHash1: the older root.
    ///   - rootHash2: the newer root.
    ///   - proof: the consistency proof.
    /// - Throws: `AuditError` (proof) naming the rule that failed.
    public static func verifyConsistency(
        size1: UInt64, size2: UInt64, rootHash1: [UInt8], rootHash2: [UInt8], proof: [[UInt8]]
    ) throws(AuditError) {
        guard size1 >= 1 else { throw .proof("the older tree size must be at least 1") }
        guard size1 <= size2 else { throw .proof("the older tree size \(size1) exceeds the newer \(size2)") }
        if size1 == size2 {
            // As transparency-dev/merkle: equal sizes prove nothing beyond equal roots, whatever their length.
            guard proof.isEmpty else { throw .proof("equal sizes need an empty proof") }
            guard constantTimeEquals(rootHash1, rootHash2) else { throw .proof("equal sizes with different roots") }
            return
        }
        guard rootHash1.count == hashLength, rootHash2.count == hashLength else {
            throw .proof("root hashes must be \(hashLength) bytes")
        }
        guard proof.allSatisfy({ $0.count == hashLength }) else { throw .proof("every proof hash must be 32 bytes") }
        guard !proof.isEmpty else { throw .proof("consistency proof is empty") }
        var path = proof
        if size1 & (size1 - 1) == 0 { path.insert(rootHash1, at: 0) }
        var fn = size1 - 1
        var sn = size2 - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw .proof("consistency proof is longer than needed") }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw .proof("consistency proof is shorter than needed") }
        guard constantTimeEquals(fr, rootHash1) else { throw .proof("consistency proof does not reach the older root") }
        guard constantTimeEquals(sr, rootHash2) else { throw .proof("consistency proof does not reach the newer root") }
    }

    // MARK: Proof plans: which subtree hashes a proof is made of

    /// The leaf ranges whose subtree hashes form the inclusion proof of `index` in a tree of `size` leaves,
    /// bottom-up. Each range is either a complete, aligned power-of-two subtree or a suffix `[a, size)`.
    static func inclusionPlan(index: UInt64, size: UInt64) -> [Range<UInt64>] {
        var plan: [Range<UInt64>] = []
        var lo: UInt64 = 0
        var hi = size
        // Top-down, then reversed so the proof is bottom-up.
        while hi - lo > 1 {
            let k = largestPowerOfTwo(below: hi - lo)
            if index < lo + k {
                plan.append((lo + k)..<hi)
                hi = lo + k
            } else {
                plan.append(lo..<(lo + k))
                lo += k
            }
        }
        return plan.reversed()
    }

    /// The leaf ranges whose subtree hashes form the consistency proof from `size1` to `size2` (RFC 9162 SUBPROOF).
    static func consistencyPlan(size1: UInt64, size2: UInt64) -> [Range<UInt64>] {
        guard size1 < size2 else { return [] }
        var plan: [Range<UInt64>] = []
        var lo: UInt64 = 0
        var hi = size2
        var complete = true  // the "b" flag of SUBPROOF
        while true {
            if size1 == hi {
                if !complete { plan.append(lo..<hi) }
                break
            }
            let k = largestPowerOfTwo(below: hi - lo)
            if size1 <= lo + k {
                plan.append((lo + k)..<hi)
                hi = lo + k
            } else {
                plan.append(lo..<(lo + k))
                lo += k
                complete = false
            }
        }
        return plan.reversed()
    }

    /// The largest power of two strictly below `n` (n >= 2).
    static func largestPowerOfTwo(below n: UInt64) -> UInt64 {
        UInt64(1) << (63 - UInt64((n - 1).leadingZeroBitCount))
    }
}

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

/// Addressing of stored complete-subtree nodes by post-order position.
///
/// Node (level, index) covers leaves [index << level, (index + 1) << level). Nodes are stored in the order
/// `CompactRange.append` creates them, so position = 2L - popcount(L) + level, with L the subtree's last leaf.
enum NodeAddress {
    static func position(level: Int, index: UInt64) -> Int64 {
        let last = ((index + 1) << UInt64(level)) - 1
        return Int64(2 * last - UInt64(last.nonzeroBitCount) + UInt64(level))
    }

    /// Number of stored nodes for a tree of `size` leaves.
    static func count(forSize size: UInt64) -> Int64 { Int64(2 * size - UInt64(size.nonzeroBitCount)) }

    /// The position of the complete, aligned subtree covering `range`, or nil if it is not one.
    static func position(of range: Range<UInt64>) -> Int64? {
        let width = range.upperBound - range.lowerBound
        guard width > 0, width & (width - 1) == 0, range.lowerBound % width == 0 else { return nil }
        let level = width.trailingZeroBitCount
        return position(level: level, index: range.lowerBound >> UInt64(level))
    }

    /// The peaks of a tree of `size` leaves: complete subtrees, largest first, as leaf ranges.
    static func peaks(size: UInt64) -> [Range<UInt64>] {
        var out: [Range<UInt64>] = []
        var start: UInt64 = 0
        for bit in stride(from: 63, through: 0, by: -1) where size & (UInt64(1) << UInt64(bit)) != 0 {
            out.append(start..<(start + (UInt64(1) << UInt64(bit))))
            start += UInt64(1) << UInt64(bit)
        }
        return out
    }

    /// Decomposes any range that a proof plan yields into complete subtrees, largest first.
    static func decompose(_ range: Range<UInt64>) -> [Range<UInt64>] {
        if position(of: range) != nil { return [range] }
        // A suffix [a, n) of a tree whose prefix [0, a) is aligned: the peaks of n that start at or after a.
        var out: [Range<UInt64>] = []
        var start = range.lowerBound
        while start < range.upperBound {
            var width = UInt64(1) << UInt64(63 - (range.upperBound - start).leadingZeroBitCount)
            while start % width != 0 { width >>= 1 }
            out.append(start..<(start + width))
            start += width
        }
        return out
    }
}
