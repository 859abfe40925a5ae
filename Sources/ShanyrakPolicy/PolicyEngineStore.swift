public import Foundation
public import ShanyrakCrypto

/// Why a policy set was not taken into use: it did not load, verify or pass `check`.
public struct PolicyReloadError: Error, Sendable, CustomStringConvertible {
    /// Every reason, one per line (file:line:column where there is one).
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Holds the policy engine in use. `reload` replaces it only with a set that loads, verifies against
/// the policy public key (when one is configured) and passes `check`; otherwise the set in use stays.
///
/// `@unchecked Sendable`: the only mutable state, `engine`, is read and written under `lock`.
public final class PolicyEngineStore: @unchecked Sendable {
    private let lock = NSLock()
    private var engine: PolicyEngine
    private let publicKey: Ed25519.PublicKey?

    /// Loads the first set.
    /// - Parameters:
    ///   - directory: the policy directory.
    ///   - publicKey: the policy public key; when given, an unsigned or mis-signed set is refused.
    /// - Throws: `PolicyReloadError` with every reason the set is refused.
    public init(directory: URL, publicKey: Ed25519.PublicKey?) throws(PolicyReloadError) {
        self.publicKey = publicKey
        self.engine = try Self.accept(directory: directory, publicKey: publicKey)
    }

    /// The engine in use.
    public var current: PolicyEngine {
        lock.lock()
        defer { lock.unlock() }
        return engine
    }

    /// Replaces the engine with the set in `directory`, or keeps the current one and throws.
    /// - Throws: `PolicyReloadError` with every reason the new set is refused.
    public func reload(directory: URL) throws(PolicyReloadError) {
        let next = try Self.accept(directory: directory, publicKey: publicKey)
        lock.lock()
        engine = next
        lock.unlock()
    }

    static func accept(directory: URL, publicKey: Ed25519.PublicKey?) throws(PolicyReloadError) -> PolicyEngine {
        // One read of the folder: with a key, what is loaded is exactly what was verified.
        let files: [PolicyFile]
        do throws(PolicySignatureError) {
            if let publicKey {
                files = try PolicyBundleSignature.verify(directory: directory, publicKey: publicKey)
            } else {
                files = try PolicyBundleSignature.read(directory: directory)
            }
        } catch {
            throw PolicyReloadError(error.message)
        }
        let engine: PolicyEngine
        do {
            engine = try PolicyEngine.load(files: files)
        } catch {
            throw PolicyReloadError(error.message)
        }
        let errors = engine.check().filter { $0.severity == .error }
        guard errors.isEmpty else {
            throw PolicyReloadError(errors.map(\.description).joined(separator: "\n"))
        }
        return engine
    }
}
