public import Foundation

/// The service's keys, loaded from a key folder or the environment.
///
/// | file | what | used for |
/// | --- | --- | --- |
/// | `master.key` | 32 random bytes | wraps the per-class data keys |
/// | `pseudonym.key` | 32 random bytes | person, household and project pseudonyms |
/// | `audit-signing.key` / `.pub` | Ed25519 seed / public key | signs audit checkpoints |
/// | `policy-signing.key` / `.pub` | Ed25519 seed / public key | signs policy sets |
///
/// Secret files must be mode 0600 (or stricter). The environment variables
/// `SHANYRAK_MASTER_KEY`, `SHANYRAK_PSEUDONYM_KEY` and `SHANYRAK_AUDIT_SIGNING_KEY`
/// (base64) take precedence over the files; they are taken out of the process
/// environment when first looked at (`EnvironmentSecrets`).
public struct Keyring: Sendable {
    /// Wraps the data keys.
    public let master: SecureBytes
    /// Derives pseudonyms.
    public let pseudonymKey: SecureBytes
    /// Signs audit checkpoints.
    public let auditSigning: Ed25519.SigningKey

    /// File names inside a key folder.
    public enum FileName {
        /// Master key.
        public static let master = "master.key"
        /// Pseudonym key.
        public static let pseudonym = "pseudonym.key"
        /// Audit signing seed.
        public static let auditSigning = "audit-signing.key"
        /// Audit verification key.
        public static let auditPublic = "audit-signing.pub"
        /// Policy signing seed.
        public static let policySigning = "policy-signing.key"
        /// Policy verification key.
        public static let policyPublic = "policy-signing.pub"
    }

    /// Creates a keyring from loaded keys.
    public init(master: SecureBytes, pseudonymKey: SecureBytes, auditSigning: Ed25519.SigningKey) {
        self.master = master
        self.pseudonymKey = pseudonymKey
        self.auditSigning = auditSigning
    }

    /// Loads the keyring from `directory`, with environment overrides.
    /// - Parameters:
    ///   - directory: the key folder.
    ///   - environment: keys given in environment variables (by default those of this process, taken out
    ///     of its environment); each takes precedence over its file.
    /// - Throws: `CryptoError.keyFile` naming the file or variable and the rule.
    public static func load(from directory: URL, environment: EnvironmentSecrets = .process)
        throws(CryptoError) -> Keyring
    {
        func secret(_ file: String, env: String) throws(CryptoError) -> SecureBytes {
            if let text = try environment.value(env) {
                return try KeyFile.decodeSecret(base64: text, length: 32, what: "environment variable \(env)")
            }
            return try KeyFile.readSecret(directory.appendingPathComponent(file), length: 32)
        }
        let master = try secret(FileName.master, env: EnvironmentSecrets.masterKey)
        let pseudonym = try secret(FileName.pseudonym, env: EnvironmentSecrets.pseudonymKey)
        let audit = try Ed25519.SigningKey(
            seed: secret(FileName.auditSigning, env: EnvironmentSecrets.auditSigningKey))
        return Keyring(master: master, pseudonymKey: pseudonym, auditSigning: audit)
    }

    /// Loads the policy signing key from `directory/policy-signing.key`.
    /// - Throws: `CryptoError.keyFile` naming the file and the rule.
    public static func loadPolicySigningKey(from directory: URL) throws(CryptoError) -> Ed25519.SigningKey {
        try Ed25519.SigningKey(
            seed: KeyFile.readSecret(directory.appendingPathComponent(FileName.policySigning), length: 32))
    }

    /// Creates a new key folder with fresh random keys (folder 0700, secrets 0600).
    /// Refuses a folder that already holds any of the key files.
    /// - Returns: the names of the files written.
    /// - Throws: `CryptoError.keyFile` when a file exists or cannot be written.
    @discardableResult
    public static func create(at directory: URL) throws(CryptoError) -> [String] {
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .keyFile("key folder \(directory.path) cannot be created")
        }
        let all = [
            FileName.master, FileName.pseudonym, FileName.auditSigning, FileName.auditPublic, FileName.policySigning,
            FileName.policyPublic,
        ]
        for name in all where FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
            throw .keyFile(
                "\(directory.appendingPathComponent(name).path) already exists; refusing to overwrite a keyring")
        }
        let url = { (name: String) in directory.appendingPathComponent(name) }
        try KeyFile.writeSecret(SecureBytes.random(count: 32), to: url(FileName.master))
        try KeyFile.writeSecret(SecureBytes.random(count: 32), to: url(FileName.pseudonym))
        let audit = try Ed25519.SigningKey.generate()
        try KeyFile.writeSecret(audit.seed, to: url(FileName.auditSigning))
        try KeyFile.writePublic(audit.publicKey.rawBytes, to: url(FileName.auditPublic))
        let policy = try Ed25519.SigningKey.generate()
        try KeyFile.writeSecret(policy.seed, to: url(FileName.policySigning))
        try KeyFile.writePublic(policy.publicKey.rawBytes, to: url(FileName.policyPublic))
        return all
    }

    /// Wraps a data key under the master key, bound to its class and version, and to the registry's
    /// sealed-format floor when one is given.
    /// - Parameter sealedFormatFloor: the lowest sealed-value format the registry accepts, bound into the
    ///   wrapping so that the key opens only with the same floor: a floor lowered or deleted in the
    ///   database leaves the keys unopenable rather than older formats accepted. Nil for a registry that
    ///   accepts every format (the wrapping of keys made before floors existed).
    /// - Returns: `nonce || ciphertext || tag`.
    public func wrapDataKey(_ key: SecureBytes, className: String, version: UInt32, sealedFormatFloor: UInt8? = nil)
        throws(CryptoError) -> [UInt8]
    {
        var plain = key.withUnsafeBytes { Array($0) }
        defer { wipe(&plain) }
        return try XChaCha20Poly1305.seal(
            plain, associatedData: Self.wrapContext(className, version, sealedFormatFloor), key: master)
    }

    /// Unwraps a data key stored by `wrapDataKey`, with the same sealed-format floor (or none).
    /// - Throws: `CryptoError.authenticationFailed` for a wrong master key, class, version or floor.
    public func unwrapDataKey(_ wrapped: [UInt8], className: String, version: UInt32, sealedFormatFloor: UInt8? = nil)
        throws(CryptoError) -> SecureBytes
    {
        var plain = try XChaCha20Poly1305.open(
            wrapped, associatedData: Self.wrapContext(className, version, sealedFormatFloor), key: master)
        defer { wipe(&plain) }
        return try SecureBytes(copying: plain)
    }

    /// `shanyrak.datakey.v1 NUL class NUL version`, and `NUL floor NUL n` when the key is bound to a floor.
    private static func wrapContext(_ className: String, _ version: UInt32, _ floor: UInt8?) -> [UInt8] {
        let base = "shanyrak.datakey.v1\u{0}\(className)\u{0}\(version)"
        return Array((floor.map { base + "\u{0}floor\u{0}\($0)" } ?? base).utf8)
    }
}
