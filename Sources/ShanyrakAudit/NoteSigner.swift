public import Foundation
public import ShanyrakCrypto

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
