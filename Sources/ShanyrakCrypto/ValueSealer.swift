internal import CSodium
public import ShanyrakCore

/// The sealed-value format (version 1), see `docs/crypto.md`.
///
/// A sealed value is `0x01 || nonce(24) || ciphertext || tag(16)`: the canonical
/// value's UTF-8 bytes under XChaCha20-Poly1305 with the class data key. The
/// associated data binds the ciphertext to its place:
/// `0x01 || u16be(len) subject || u16be(len) indicator id || u32be key version`.
/// A ciphertext copied to another person, indicator or key version does not open.
public enum SealedValueFormat {
    /// The format version, first byte of every sealed value and of its associated data.
    public static let version: UInt8 = 1
    /// Bytes added to the plaintext: version, nonce, tag.
    public static let overhead = 1 + XChaCha20Poly1305.nonceLength + XChaCha20Poly1305.tagLength

    /// The associated data for a value of `indicator` about `subject` under `keyVersion`.
    public static func associatedData(subject: Pseudonym, indicator: String, keyVersion: UInt32) -> [UInt8] {
        var ad: [UInt8] = []
        appendAssociatedData(to: &ad, subject: subject, indicator: indicator, keyVersion: keyVersion)
        return ad
    }

    /// Appends the associated data to `buffer` (ingest reuses one buffer for every value).
    public static func appendAssociatedData(
        to ad: inout [UInt8], subject: Pseudonym, indicator: String, keyVersion: UInt32
    ) {
        ad.append(version)
        ad.append(0)
        ad.append(UInt8(Pseudonym.byteCount))
        ad.append(contentsOf: subject.bytes)
        let id = indicator.utf8
        ad.append(UInt8(truncatingIfNeeded: id.count >> 8))
        ad.append(UInt8(truncatingIfNeeded: id.count))
        ad.append(contentsOf: id)
        for shift in stride(from: 24, through: 0, by: -8) { ad.append(UInt8(truncatingIfNeeded: keyVersion >> shift)) }
    }

    /// Opens a sealed value.
    ///
    /// Decrypts straight into the returned string's storage: no copy of the nonce, the
    /// ciphertext or the plaintext is made (views open tens of values per request).
    /// - Returns: the canonical value.
    /// - Throws: `CryptoError.authenticationFailed` when the value does not belong to this place or key.
    public static func open(
        _ sealed: [UInt8], subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes
    ) throws(CryptoError) -> String {
        guard sealed.count >= overhead else { throw .ciphertextTooShort }
        guard sealed[0] == version else { throw .authenticationFailed }
        try Sodium.ensureInitialised()
        guard key.count == XChaCha20Poly1305.keyLength else {
            throw .invalidKeyLength(expected: XChaCha20Poly1305.keyLength, actual: key.count)
        }
        let ad = associatedData(subject: subject, indicator: indicator, keyVersion: keyVersion)
        let bodyStart = 1 + XChaCha20Poly1305.nonceLength
        let plainLength = sealed.count - overhead
        var opened = false
        let value = String(unsafeUninitializedCapacity: plainLength) { out in
            let rc = sealed.withUnsafeBufferPointer { s in
                key.withUnsafeBytes { k in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out.baseAddress, nil, nil, s.baseAddress! + bodyStart, UInt64(sealed.count - bodyStart), ad,
                        UInt64(ad.count), s.baseAddress! + 1, k.sodiumPointer)
                }
            }
            opened = rc == 0
            return opened ? plainLength : 0
        }
        guard opened else { throw .authenticationFailed }
        return value
    }
}

/// Seals many values quickly (bulk nonces, one reused associated-data buffer).
/// Not thread-safe: one per task.
public struct ValueSealer: ~Copyable {
    private var bulk = BulkSealer()
    private var ad: [UInt8] = []

    /// Creates a sealer.
    public init() { ad.reserveCapacity(128) }

    /// Seals the canonical `value` of `indicator` about `subject` under `key` (version `keyVersion`).
    /// - Returns: the sealed value in format version 1.
    /// - Throws: `CryptoError` on a wrong key length.
    public mutating func seal(
        _ value: String, subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes
    ) throws(CryptoError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + SealedValueFormat.overhead)
        try seal(value, subject: subject, indicator: indicator, keyVersion: keyVersion, key: key, appendingTo: &out)
        return out
    }

    /// Seals like `seal(_:subject:indicator:keyVersion:key:)`, appending the sealed value
    /// to `output` (ingest packs a row's values into one buffer without a copy each).
    /// - Throws: `CryptoError` on a wrong key length; `output` is then unchanged.
    public mutating func seal(
        _ value: String, subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes,
        appendingTo output: inout [UInt8]
    ) throws(CryptoError) {
        ad.removeAll(keepingCapacity: true)
        SealedValueFormat.appendAssociatedData(to: &ad, subject: subject, indicator: indicator, keyVersion: keyVersion)
        let start = output.count
        output.append(SealedValueFormat.version)
        var value = value
        let adCopy = ad
        let result = value.withUTF8 { plain in
            adCopy.withUnsafeBytes { a in
                Result { () throws(CryptoError) in
                    try bulk.seal(UnsafeRawBufferPointer(plain), associatedData: a, key: key, appendingTo: &output)
                }
            }
        }
        if case .failure = result { output.removeSubrange(start...) }
        try result.get()
    }
}
