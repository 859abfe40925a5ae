internal import CSodium

/// XChaCha20-Poly1305 (IETF construction) authenticated encryption from libsodium.
///
/// `seal` draws a random 24-byte nonce and returns `nonce || ciphertext || tag`;
/// `open` reverses it and fails on any change to nonce, ciphertext, tag, key or
/// associated data.
public enum XChaCha20Poly1305 {
    /// Key length in bytes.
    public static let keyLength = 32
    /// Nonce length in bytes.
    public static let nonceLength = 24
    /// Tag length in bytes.
    public static let tagLength = 16

    /// Encrypts with an explicit nonce (for known-answer tests; production code uses `seal`).
    /// - Returns: `ciphertext || tag`.
    /// - Throws: `CryptoError` on a wrong key or nonce length.
    public static func encrypt(
        _ plaintext: [UInt8], nonce: [UInt8], associatedData: [UInt8], key: SecureBytes
    ) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialised()
        guard key.count == keyLength else { throw .invalidKeyLength(expected: keyLength, actual: key.count) }
        guard nonce.count == nonceLength else { throw .invalidNonceLength(expected: nonceLength, actual: nonce.count) }
        var out = [UInt8](repeating: 0, count: plaintext.count + tagLength)
        var outLength: UInt64 = 0
        let rc = key.withUnsafeBytes { k in
            crypto_aead_xchacha20poly1305_ietf_encrypt(
                &out, &outLength, plaintext, UInt64(plaintext.count), associatedData,
                UInt64(associatedData.count), nil, nonce, k.sodiumPointer)
        }
        try Sodium.check(rc, "crypto_aead_xchacha20poly1305_ietf_encrypt")
        return out
    }

    /// Decrypts `ciphertext || tag` with an explicit nonce.
    /// - Throws: `CryptoError.authenticationFailed` when anything was changed.
    public static func decrypt(
        _ ciphertextAndTag: [UInt8], nonce: [UInt8], associatedData: [UInt8], key: SecureBytes
    ) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialised()
        guard key.count == keyLength else { throw .invalidKeyLength(expected: keyLength, actual: key.count) }
        guard nonce.count == nonceLength else { throw .invalidNonceLength(expected: nonceLength, actual: nonce.count) }
        guard ciphertextAndTag.count >= tagLength else { throw .authenticationFailed }
        var out = [UInt8](repeating: 0, count: ciphertextAndTag.count - tagLength)
        var outLength: UInt64 = 0
        let rc = key.withUnsafeBytes { k in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &out, &outLength, nil, ciphertextAndTag, UInt64(ciphertextAndTag.count), associatedData,
                UInt64(associatedData.count), nonce, k.sodiumPointer)
        }
        guard rc == 0 else { throw .authenticationFailed }
        return out
    }

    /// Seals with a fresh random nonce.
    /// - Returns: `nonce || ciphertext || tag`.
    public static func seal(_ plaintext: [UInt8], associatedData: [UInt8], key: SecureBytes) throws(CryptoError)
        -> [UInt8]
    {
        var nonce = [UInt8](repeating: 0, count: nonceLength)
        randombytes_buf(&nonce, nonceLength)
        return nonce + (try encrypt(plaintext, nonce: nonce, associatedData: associatedData, key: key))
    }

    /// Opens `nonce || ciphertext || tag`.
    /// - Throws: `CryptoError.ciphertextTooShort` or `.authenticationFailed`.
    public static func open(_ sealed: [UInt8], associatedData: [UInt8], key: SecureBytes) throws(CryptoError)
        -> [UInt8]
    {
        guard sealed.count >= nonceLength + tagLength else { throw .ciphertextTooShort }
        return try decrypt(
            Array(sealed[nonceLength...]), nonce: Array(sealed[..<nonceLength]), associatedData: associatedData,
            key: key)
    }
}

/// A sealer for many small values under one key: fills nonces from the CSPRNG in
/// bulk and writes `nonce || ciphertext || tag` into caller-owned storage, so that
/// ingest does not pay a system call and several allocations per value.
///
/// Not thread-safe: give each task its own sealer.
public struct BulkSealer: ~Copyable {
    private var nonces: [UInt8]
    private var next: Int
    private static let batch = 4096

    /// Creates a sealer.
    public init() {
        nonces = [UInt8](repeating: 0, count: Self.batch * XChaCha20Poly1305.nonceLength)
        next = Self.batch
    }

    /// Seals `plaintext` under `key` with `associatedData`, appending `nonce || ct || tag` to `output`.
    /// - Throws: `CryptoError` on a wrong key length.
    public mutating func seal(
        _ plaintext: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer, key: SecureBytes,
        appendingTo output: inout [UInt8]
    ) throws(CryptoError) {
        try Sodium.ensureInitialised()
        guard key.count == XChaCha20Poly1305.keyLength else {
            throw .invalidKeyLength(expected: XChaCha20Poly1305.keyLength, actual: key.count)
        }
        if next == Self.batch {
            let n = nonces.count
            nonces.withUnsafeMutableBytes { if let p = $0.baseAddress { randombytes_buf(p, n) } }
            next = 0
        }
        let start = output.count
        let nonceOffset = next * XChaCha20Poly1305.nonceLength
        next += 1
        output.append(contentsOf: nonces[nonceOffset..<nonceOffset + XChaCha20Poly1305.nonceLength])
        output.append(contentsOf: repeatElement(0, count: plaintext.count + XChaCha20Poly1305.tagLength))
        let rc = output.withUnsafeMutableBytes { outRaw in
            let out = outRaw.sodiumPointer
            return key.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_encrypt(
                    out + start + XChaCha20Poly1305.nonceLength, nil, plaintext.sodiumPointer, UInt64(plaintext.count),
                    associatedData.sodiumPointer, UInt64(associatedData.count), nil, UnsafePointer(out + start),
                    k.sodiumPointer)
            }
        }
        try Sodium.check(rc, "crypto_aead_xchacha20poly1305_ietf_encrypt")
    }
}
