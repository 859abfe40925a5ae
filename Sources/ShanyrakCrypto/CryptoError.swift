/// An error from the cryptographic layer. Never carries key material or plaintext.
///
/// A struct over a private enum, so that new cases do not break callers.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Kind: Equatable {
        case initialisationFailed
        case invalidKeyLength(expected: Int, actual: Int)
        case invalidNonceLength(expected: Int, actual: Int)
        case authenticationFailed
        case ciphertextTooShort
        case fieldTooLong
        case allocationFailed
        case libsodiumFailure(String)
        case keyFile(String)
    }

    private let kind: Kind

    /// libsodium could not be initialised.
    public static let initialisationFailed = CryptoError(kind: .initialisationFailed)
    /// The ciphertext, associated data or key did not authenticate.
    public static let authenticationFailed = CryptoError(kind: .authenticationFailed)
    /// A sealed value shorter than nonce plus tag.
    public static let ciphertextTooShort = CryptoError(kind: .ciphertextTooShort)
    /// A field of a sealed value's associated data (indicator id, observation date, source) is
    /// longer than its u16 length prefix allows.
    public static let fieldTooLong = CryptoError(kind: .fieldTooLong)
    /// Locked memory could not be allocated.
    public static let allocationFailed = CryptoError(kind: .allocationFailed)

    /// A key of the wrong length.
    public static func invalidKeyLength(expected: Int, actual: Int) -> CryptoError {
        CryptoError(kind: .invalidKeyLength(expected: expected, actual: actual))
    }

    /// A nonce of the wrong length.
    public static func invalidNonceLength(expected: Int, actual: Int) -> CryptoError {
        CryptoError(kind: .invalidNonceLength(expected: expected, actual: actual))
    }

    /// A libsodium call returned an error.
    static func libsodium(_ function: String) -> CryptoError {
        CryptoError(kind: .libsodiumFailure(function))
    }

    /// A key file could not be used; the message names the file and the rule.
    public static func keyFile(_ message: String) -> CryptoError {
        CryptoError(kind: .keyFile(message))
    }

    /// What went wrong, in words.
    public var description: String {
        switch kind {
        case .initialisationFailed: "libsodium could not be initialised"
        case .invalidKeyLength(let e, let a): "key must be \(e) bytes, got \(a)"
        case .invalidNonceLength(let e, let a): "nonce must be \(e) bytes, got \(a)"
        case .authenticationFailed: "authentication failed: wrong key, wrong place, or tampered data"
        case .ciphertextTooShort: "sealed value is too short"
        case .fieldTooLong: "a field of the associated data is longer than 65,535 bytes"
        case .allocationFailed: "could not allocate locked memory for a secret"
        case .libsodiumFailure(let f): "libsodium call \(f) failed"
        case .keyFile(let m): m
        }
    }
}
