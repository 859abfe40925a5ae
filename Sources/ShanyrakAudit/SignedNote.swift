public import Foundation
public import ShanyrakCrypto

/// A C2SP signed-note verifier key: a name and an Ed25519 public key.
///
/// Key id = the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). The text form ("vkey") is
/// `name+hexkeyid+base64(0x01 || public key)`.
public struct NoteVerifier: Sendable, Hashable {
    /// The key name (for the audit log, also the checkpoint origin by default).
    public let name: String
    /// The 4-byte key id.
    public let keyID: [UInt8]
    /// The Ed25519 public key.
    public let publicKey: Ed25519.PublicKey

    /// A verifier from a name and a public key.
    /// - Parameters:
    ///   - name: the key name: non-empty, no spaces, no `+`.
    ///   - publicKey: the Ed25519 public key.
    /// - Throws: `AuditError.key` when the name is not allowed.
    public init(name: String, publicKey: Ed25519.PublicKey) throws(AuditError) {
        try NoteVerifier.checkName(name)
        self.name = name
        self.publicKey = publicKey
        self.keyID = NoteVerifier.keyID(name: name, publicKey: publicKey.rawBytes)
    }

    /// Parses a vkey line `name+hexkeyid+base64(0x01 || key)`.
    /// - Parameter vkey: the text (surrounding whitespace ignored).
    /// - Throws: `AuditError.key` when malformed, not Ed25519, or the key id does not match.
    public init(vkey: String) throws(AuditError) {
        let text = vkey.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let id = bytes(fromHex: String(parts[1])), id.count == 4, parts[1].count == 8,
            let keyData = Data(base64Encoded: String(parts[2]))
        else { throw .key("verifier key is not name+hexkeyid+base64key") }
        let key = Array(keyData)
        guard key.count == 33, key[0] == 0x01 else { throw .key("verifier key is not an Ed25519 (0x01) key") }
        let publicKey: Ed25519.PublicKey
        do { publicKey = try Ed25519.PublicKey(rawBytes: Array(key[1...])) } catch { throw .key("bad public key") }
        try self.init(name: String(parts[0]), publicKey: publicKey)
        guard keyID == id else { throw .key("verifier key id does not match its name and key") }
    }

    /// The vkey text form.
    public var vkey: String {
        "\(name)+\(hex(keyID))+\(Data([0x01] + publicKey.rawBytes).base64EncodedString())"
    }

    /// Whether `signature` (64 bytes) is this key's signature over `message`.
    func isValid(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        publicKey.isValidSignature(signature, for: message)
    }

    static func keyID(name: String, publicKey: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(Array(name.utf8) + [0x0A, 0x01] + publicKey).prefix(4))
    }

    static func checkName(_ name: String) throws(AuditError) {
        guard !name.isEmpty, !name.unicodeScalars.contains(where: { $0 == "+" || $0.properties.isWhitespace })
        else { throw .key("key name must be non-empty without spaces or '+'") }
    }
}

/// The key that signs checkpoints: a C2SP signed-note Ed25519 signer.
public struct NoteSigner: Sendable {
    /// The matching verifier (name, key id, public key).
    public let verifier: NoteVerifier
    private let key: Ed25519.SigningKey

    /// A signer from a name and an Ed25519 signing key.
    /// - Parameters:
    ///   - name: the key name (non-empty, no spaces, no `+`).
    ///   - signingKey: the key.
    /// - Throws: `AuditError.key` when the name is not allowed.
    public init(name: String, signingKey: Ed25519.SigningKey) throws(AuditError) {
        self.verifier = try NoteVerifier(name: name, publicKey: signingKey.publicKey)
        self.key = signingKey
    }

    /// Loads `audit-signing.key` (base64 32-byte seed, mode 0600) from a keys folder.
    /// - Parameters:
    ///   - keysDirectory: the folder.
    ///   - name: the key name.
    /// - Returns: the signer.
    /// - Throws: `AuditError.key` naming the file and rule.
    public static func load(keysDirectory: URL, name: String) throws(AuditError) -> NoteSigner {
        let url = keysDirectory.appendingPathComponent("audit-signing.key")
        do {
            let seed = try KeyFile.readSecret(url, length: Ed25519.seedLength)
            return try NoteSigner(name: name, signingKey: try Ed25519.SigningKey(seed: seed))
        } catch let error as AuditError {
            throw error
        } catch {
            throw .key("\(error)")
        }
    }

    /// Signs `text` (which must end with a newline) as a signed note.
    /// - Parameter text: the note text.
    /// - Returns: the note: text, a blank line, one signature line.
    public func sign(_ text: String) -> String {
        let signature = key.signature(for: Array(text.utf8))
        return text + "\n\u{2014} \(verifier.name) \(Data(verifier.keyID + signature).base64EncodedString())\n"
    }
}

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
