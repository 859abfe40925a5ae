import Foundation

/// A C2SP tlog-checkpoint: origin, tree size and root hash, as the text of a signed note.
public struct Checkpoint: Sendable, Hashable {
    /// The log's origin line.
    public let origin: String
    /// The tree size.
    public let size: UInt64
    /// The root hash (32 bytes).
    public let rootHash: [UInt8]
    /// The whole signed note (text, blank line, signatures).
    public let note: String

    /// The checkpoint body: `origin\nsize\nbase64(root)\n`.
    /// - Parameters:
    ///   - origin: the origin line.
    ///   - size: the tree size.
    ///   - rootHash: the root hash.
    /// - Returns: the body text.
    public static func body(origin: String, size: UInt64, rootHash: [UInt8]) -> String {
        "\(origin)\n\(size)\n\(Data(rootHash).base64EncodedString())\n"
    }

    /// Creates and signs a checkpoint.
    /// - Parameters:
    ///   - origin: the origin line.
    ///   - size: the tree size.
    ///   - rootHash: the root hash.
    ///   - signer: the signing key.
    public init(origin: String, size: UInt64, rootHash: [UInt8], signer: NoteSigner) {
        self.origin = origin
        self.size = size
        self.rootHash = rootHash
        self.note = signer.sign(Checkpoint.body(origin: origin, size: size, rootHash: rootHash))
    }

    /// Parses a signed checkpoint and checks its signature.
    /// - Parameters:
    ///   - note: the signed note text.
    ///   - verifiers: trusted keys; one of them must have signed.
    ///   - origin: the expected origin line, or nil to accept any.
    /// - Throws: `AuditError.note` naming the rule that failed.
    public init(verifying note: String, verifiers: [NoteVerifier], origin: String? = nil) throws(AuditError) {
        let parsed = try SignedNote(parsing: note)
        guard verifiers.contains(where: { parsed.isSigned(by: $0) }) else {
            let names = parsed.signatures.map { "\($0.name)/\(hex($0.keyID))" }.joined(separator: ", ")
            throw .note("no valid signature by a trusted key (signed by \(names))")
        }
        try self.init(unverifiedNote: note, text: parsed.text)
        if let origin, self.origin != origin { throw .note("origin '\(self.origin)' is not '\(origin)'") }
    }

    /// Parses a checkpoint without checking signatures (for display only).
    /// - Parameter note: the signed note text.
    /// - Throws: `AuditError.note` when malformed.
    public init(unverified note: String) throws(AuditError) {
        let parsed = try SignedNote(parsing: note)
        try self.init(unverifiedNote: note, text: parsed.text)
    }

    private init(unverifiedNote note: String, text: String) throws(AuditError) {
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 3, !lines[0].isEmpty else { throw .note("checkpoint needs origin, size and root lines") }
        let sizeText = lines[1]
        guard let size = UInt64(sizeText), sizeText.allSatisfy({ $0.isASCII && $0.isNumber }),
            sizeText == "0" || !sizeText.hasPrefix("0")
        else { throw .note("checkpoint size is not a decimal number") }
        guard let root = Data(base64Encoded: String(lines[2])), root.count == Merkle.hashLength else {
            throw .note("checkpoint root is not base64 of 32 bytes")
        }
        self.origin = String(lines[0])
        self.size = size
        self.rootHash = Array(root)
        self.note = note
    }
}
