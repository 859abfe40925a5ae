/// A consistency proof (RFC 9162 section 2.1.4) between two tree sizes.
public struct ConsistencyProof: Sendable, Hashable {
    /// The older tree size.
    public let size1: UInt64
    /// The newer tree size.
    public let size2: UInt64
    /// The older root hash.
    public let rootHash1: [UInt8]
    /// The newer root hash.
    public let rootHash2: [UInt8]
    /// The proof hashes.
    public let hashes: [[UInt8]]

    /// Checks the proof (RFC 9162 section 2.1.4.2).
    /// - Throws: `AuditError` (proof) when it does not verify.
    public func verify() throws(AuditError) {
        try Merkle.verifyConsistency(
            size1: size1, size2: size2, rootHash1: rootHash1, rootHash2: rootHash2, proof: hashes)
    }
}
