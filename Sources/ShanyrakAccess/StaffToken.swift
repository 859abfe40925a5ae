import ShanyrakCore
import ShanyrakCrypto

/// API tokens of staff accounts.
///
/// A token is `shk_` followed by 64 hex digits: 32 bytes from libsodium's CSPRNG.
/// Only SHA-256 of the token is stored. A keyed hash is not needed: with 256 bits
/// of entropy a stolen hash cannot be brute-forced, and an unkeyed hash keeps the
/// tokens valid across master-key rotations. Tokens are compared in constant time.
public enum StaffToken {
    /// The prefix that makes a token recognisable in a secret scanner.
    public static let prefix = "shk_"

    /// A fresh random token.
    public static func generate() -> String {
        var bytes = SecureRandom.bytes(32)
        defer { wipe(&bytes) }
        return prefix + Hex.encode(bytes)
    }

    /// The stored form of `token`: SHA-256 of its UTF-8 bytes.
    public static func hash(_ token: String) -> [UInt8] {
        SHA256.hash(Array(token.utf8))
    }
}
