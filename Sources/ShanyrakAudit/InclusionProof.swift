/// An inclusion proof (RFC 9162 section 2.1.3) of one entry in a tree of a given size.
public struct InclusionProof: Sendable, Hashable {
    /// The leaf index (sequence number).
    public let leafIndex: UInt64
    /// The tree size the proof is for.
    public let treeSize: UInt64
    /// The leaf hash of the entry.
    public let leafHash: [UInt8]
    /// The root hash of the tree of `treeSize` leaves.
    public let rootHash: [UInt8]
    /// The audit path, bottom-up.
    public let hashes: [[UInt8]]

    /// Checks the proof (RFC 9162 section 2.1.3.2).
    /// - Throws: `AuditError` (proof) when it does not verify.
    public func verify() throws(AuditError) {
        try Merkle.verifyInclusion(
            index: leafIndex, treeSize: treeSize, leafHash: leafHash, proof: hashes, rootHash: rootHash)
    }
}
