internal import CProcessHardening
internal import Foundation

/// Secrets given in environment variables, taken out of the process environment once, at start.
///
/// A variable's value would otherwise stay, for as long as the process runs, in the environment block
/// that `/proc/PID/environ` shows (to root and to the process's own user), and every child process would
/// inherit it. `unsetenv` alone removes only the pointer to it, not its bytes. So each variable of
/// `names` is read once through the C environment (never through `ProcessInfo`, which would copy it into
/// a Swift `String` that cannot be wiped), copied into locked memory (`SecureBytes`), and then its entry,
/// name and value, is overwritten with zeros where it lies and removed from the environment.
///
/// `process` does this the first time it is used; the `shanyrak` command uses it first thing in `main`,
/// before any other thread runs or any file is opened. Keys and tokens are then looked up here, never in
/// the environment (`Keyring.load`).
public struct EnvironmentSecrets: Sendable, ExpressibleByDictionaryLiteral {
    /// The master key, base64 (`Keyring`).
    public static let masterKey = "SHANYRAK_MASTER_KEY"
    /// The pseudonym key, base64 (`Keyring`).
    public static let pseudonymKey = "SHANYRAK_PSEUDONYM_KEY"
    /// The audit signing seed, base64 (`Keyring`).
    public static let auditSigningKey = "SHANYRAK_AUDIT_SIGNING_KEY"
    /// The token that opens the server's `GET /metrics` (`shanyrak serve`).
    public static let metricsToken = "SHANYRAK_METRICS_TOKEN"
    /// Every variable the service reads a secret from.
    public static let names = [masterKey, pseudonymKey, auditSigningKey, metricsToken]

    /// The secrets of this process's environment, taken out of it (see the type's description) the first
    /// time this property is used: Swift initialises a static property once, under a lock.
    public static let process = EnvironmentSecrets(takingFromProcessEnvironment: names)

    /// The value of each variable that was set; a failure when it could not be copied into locked memory.
    private let values: [String: Result<SecureBytes, CryptoError>]

    /// Takes the variables `names` out of the process environment: copies each value into locked memory,
    /// overwrites its entry with zeros and removes it. A variable that is not set is left alone; one set
    /// twice (which `execve` allows) is removed twice, and the first value is kept, as `getenv` reads it.
    /// Changes the environment without libc's lock: call it while no other thread may read or change the
    /// environment (the command line uses `process` first thing in `main`).
    /// - Parameter names: the variables to take.
    public init(takingFromProcessEnvironment names: [String]) {
        var values: [String: Result<SecureBytes, CryptoError>] = [:]
        for name in names {
            guard let value = getenv(name) else { continue }
            let bytes = UnsafeRawBufferPointer(start: value, count: strlen(value))
            values[name] = Result { () throws(CryptoError) in try SecureBytes(copying: bytes) }
            // Wiped and removed even when the copy failed: the value must not stay where it was.
            shanyrak_scrub_environment_variable(name)
        }
        self.values = values
    }

    /// Secrets given directly (tests, or a caller that holds them already); the texts are copied into
    /// locked memory. Nothing is read from or removed from the process environment.
    /// - Parameter elements: variable names and their values.
    public init(dictionaryLiteral elements: (String, String)...) {
        var values: [String: Result<SecureBytes, CryptoError>] = [:]
        for (name, text) in elements {
            values[name] = Result { () throws(CryptoError) in try SecureBytes(copying: text.utf8) }
        }
        self.values = values
    }

    /// Whether the variable `name` was set.
    /// - Parameter name: the variable.
    /// - Returns: true when it was set, even to an empty value.
    public func contains(_ name: String) -> Bool { values[name] != nil }

    /// The value the variable `name` had, in locked memory.
    /// - Parameter name: the variable.
    /// - Returns: its bytes, or nil when it was not set.
    /// - Throws: `CryptoError.allocationFailed` when it was set but could not be copied into locked memory.
    public func value(_ name: String) throws(CryptoError) -> SecureBytes? {
        try values[name]?.get()
    }
}
