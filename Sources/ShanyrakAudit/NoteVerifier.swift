import Foundation
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
