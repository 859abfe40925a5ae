import Foundation

/// A parsed C2SP signed note: the text and its signature lines.
public struct SignedNote: Sendable, Hashable {
    /// One signature line.
    public struct Signature: Sendable, Hashable {
        /// The key name.
        public let name: String
        /// The 4-byte key id.
        public let keyID: [UInt8]
        /// The signature bytes (64 for Ed25519).
        public let signature: [UInt8]
    }

    /// The signed text, ending with a newline.
    public let text: String
    /// The signatures, in order.
    public let signatures: [Signature]

    /// Parses a signed note.
    /// - Parameter note: text, a blank line, then lines `— name base64(keyid || signature)`.
    /// - Throws: `AuditError.note` naming the rule.
    public init(parsing note: String) throws(AuditError) {
        guard !note.utf8.contains(0x0D) else { throw .note("note contains a carriage return") }
        guard let split = note.range(of: "\n\n", options: .backwards) else {
            throw .note("note has no blank line before its signatures")
        }
        let text = String(note[..<split.lowerBound]) + "\n"
        let block = note[split.upperBound...]
        guard block.hasSuffix("\n") else { throw .note("signature block must end with a newline") }
        var signatures: [Signature] = []
        for line in block.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix("\u{2014} ") else { throw .note("signature line does not start with an em dash") }
            let fields = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, let raw = Data(base64Encoded: String(fields[1])), raw.count >= 5 else {
                throw .note("signature line is not '— name base64'")
            }
            let bytes = Array(raw)
            signatures.append(
                Signature(name: String(fields[0]), keyID: Array(bytes[0..<4]), signature: Array(bytes[4...])))
        }
        guard !signatures.isEmpty else { throw .note("note has no signatures") }
        self.text = text
        self.signatures = signatures
    }

    /// Whether some signature line is a valid signature by `verifier` (matching name and key id).
    /// - Parameter verifier: the trusted key.
    /// - Returns: true when verified.
    public func isSigned(by verifier: NoteVerifier) -> Bool {
        let message = Array(text.utf8)
        return signatures.contains {
            $0.name == verifier.name && $0.keyID == verifier.keyID && verifier.isValid($0.signature, for: message)
        }
    }
}
