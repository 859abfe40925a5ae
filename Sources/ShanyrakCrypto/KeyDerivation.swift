internal import CSodium

/// libsodium's key derivation, `crypto_kdf_derive_from_key`: independent subkeys of one key.
///
/// A subkey is BLAKE2b keyed with the parent key over the empty message, with the subkey id
/// (u64 little-endian, then eight zero bytes) as BLAKE2b's salt and the 8-byte context (then
/// eight zero bytes) as its personalisation. Knowing subkeys tells nothing of the parent key
/// or of other subkeys.
public enum KeyDerivation {
    /// Length of a context, in bytes (`crypto_kdf_CONTEXTBYTES`).
    public static let contextLength = 8
    /// Length of a parent key, in bytes (`crypto_kdf_KEYBYTES`).
    public static let keyLength = 32

    /// Derives subkey number `subkeyID` of `key` for `context`, straight into locked memory.
    /// - Parameters:
    ///   - key: the parent key (32 bytes).
    ///   - subkeyID: which subkey.
    ///   - context: 8 ASCII bytes naming what the subkey is for.
    ///   - length: the subkey's length, 16 to 64 bytes.
    /// - Returns: the subkey.
    /// - Throws: `CryptoError` on a wrong key or subkey length.
    public static func derive(from key: SecureBytes, subkeyID: UInt64, context: String, length: Int = 32)
        throws(CryptoError) -> SecureBytes
    {
        try Sodium.ensureInitialised()
        guard key.count == keyLength else { throw .invalidKeyLength(expected: keyLength, actual: key.count) }
        let ctx = context.utf8.map { CChar(bitPattern: $0) }
        // Contexts are constants of the code that derives, never input.
        precondition(ctx.count == contextLength, "a key-derivation context is \(contextLength) bytes")
        guard (crypto_kdf_bytes_min()...crypto_kdf_bytes_max()).contains(length) else {
            throw .invalidKeyLength(expected: crypto_kdf_bytes_max(), actual: length)
        }
        var rc: Int32 = -1
        let subkey: SecureBytes
        do {
            subkey = try SecureBytes(count: length) { out in
                rc = key.withUnsafeBytes { k in
                    crypto_kdf_derive_from_key(out.sodiumPointer, length, subkeyID, ctx, k.sodiumPointer)
                }
            }
        } catch {
            throw (error as? CryptoError) ?? .allocationFailed
        }
        try Sodium.check(rc, "crypto_kdf_derive_from_key")
        return subkey
    }
}
