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
