/// One version of an indicator class's data key, with the iv key that sealed-value format 3
/// derives from it (see `SealedValueFormat`).
///
/// The iv key is derived once, when the key is loaded, and held in locked memory like the data
/// key: `KeyDerivation.derive(from: data key, subkeyID: 3, context: "sealediv")`. So each class
/// key version has its own iv key, and rotating a class key rotates the key of its ivs too.
public struct ValueKey: Sendable {
    /// Context of the iv key's derivation.
    public static let ivKeyContext = "sealediv"
    /// Subkey id of the iv key's derivation: the sealed-value format it serves.
    public static let ivKeySubkeyID: UInt64 = 3

    /// The data-key version.
    public let version: UInt32
    /// The data key: the XChaCha20-Poly1305 key of every format.
    public let key: SecureBytes
    /// The key of format 3's synthetic ivs (keyed BLAKE2b-128), derived from `key`.
    let ivKey: SecureBytes

    /// Takes `key` (version `version` of a class data key) and derives its iv key.
    /// - Throws: `CryptoError` for a key that is not 32 bytes, or when locked memory is unavailable.
    public init(version: UInt32, key: SecureBytes) throws(CryptoError) {
        guard key.count == XChaCha20Poly1305.keyLength else {
            throw .invalidKeyLength(expected: XChaCha20Poly1305.keyLength, actual: key.count)
        }
        self.version = version
        self.key = key
        self.ivKey = try KeyDerivation.derive(from: key, subkeyID: Self.ivKeySubkeyID, context: Self.ivKeyContext)
    }
}
