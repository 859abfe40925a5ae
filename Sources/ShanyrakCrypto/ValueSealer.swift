internal import CSodium
public import ShanyrakCore

/// The sealed-value formats, see `docs/crypto.md`.
///
/// - Version 1 (random nonce): `0x01 || nonce(24) || ciphertext || tag(16)`.
/// - Version 2 (synthetic nonce, registry values since 2026-11-30):
///   `0x02 || iv(16) || ciphertext || tag(16)`, the nonce being `iv || 0^8`, where
///   `iv` is keyed BLAKE2b-128 (key `valuemac`) of `subject || indicator id || 0x00 || value`.
///   The nonce is then unique for every distinct value at its place, as SIV
///   constructions make it; the same value at the same place under the same key seals
///   to the same bytes, which reveals nothing the stored MAC did not (see `docs/crypto.md`).
///   The iv doubles as the value's MAC, so a record stores 16 bytes fewer per value.
///
/// Both are the canonical value's UTF-8 bytes under XChaCha20-Poly1305 with the class
/// data key. The associated data binds the ciphertext to its place:
/// `version || u16be(len) subject || u16be(len) indicator id || u32be key version`.
/// A ciphertext copied to another person, indicator or key version does not open.
public enum SealedValueFormat {
    /// Version 1, random nonce: first byte of the sealed value and of its associated data.
    public static let version: UInt8 = 1
    /// Version 2, synthetic nonce (see the type's documentation).
    public static let syntheticVersion: UInt8 = 2
    /// Length of a version 2 synthetic iv (the first 16 bytes of the XChaCha20 nonce; the rest are zero).
    public static let syntheticIVLength = 16
    /// Bytes a version 1 sealed value adds to the plaintext: version, nonce, tag.
    public static let overhead = 1 + XChaCha20Poly1305.nonceLength + XChaCha20Poly1305.tagLength
    /// Bytes a version 2 sealed value adds to the plaintext: version, iv, tag.
    public static let syntheticOverhead = 1 + syntheticIVLength + XChaCha20Poly1305.tagLength

    /// The associated data for a version 1 value of `indicator` about `subject` under `keyVersion`.
    public static func associatedData(subject: Pseudonym, indicator: String, keyVersion: UInt32) -> [UInt8] {
        var ad: [UInt8] = []
        appendAssociatedData(to: &ad, subject: subject, indicator: indicator, keyVersion: keyVersion)
        return ad
    }

    /// Appends the associated data of a value in format `version` to `buffer`
    /// (ingest reuses one buffer for every value).
    public static func appendAssociatedData(
        to ad: inout [UInt8], version: UInt8 = version, subject: Pseudonym, indicator: String, keyVersion: UInt32
    ) {
        let start = ad.count
        let length = associatedDataLength(indicator: indicator)
        ad.append(contentsOf: repeatElement(0, count: length))
        ad.withUnsafeMutableBytes { bytes in
            writeAssociatedData(
                version: version, subject: subject, indicator: indicator, keyVersion: keyVersion,
                into: UnsafeMutableRawBufferPointer(rebasing: bytes[start..<(start + length)]))
        }
    }

    /// Length of the associated data for `indicator`.
    static func associatedDataLength(indicator: String) -> Int {
        1 + 2 + Pseudonym.byteCount + 2 + indicator.utf8.count + 4
    }

    /// The associated data's layout: the one definition every builder uses. Writes exactly
    /// `associatedDataLength(indicator:)` bytes at the start of `out`, which must hold them (views open
    /// tens of values per request, so the parts are copied whole, not byte by byte).
    static func writeAssociatedData(
        version: UInt8, subject: Pseudonym, indicator: String, keyVersion: UInt32,
        into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(out.count >= associatedDataLength(indicator: indicator))
        out[0] = version
        // u16be(16) subject
        out[1] = 0
        out[2] = UInt8(Pseudonym.byteCount)
        subject.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: out[3..<(3 + Pseudonym.byteCount)]).copyMemory(from: $0)
        }
        // u16be(len) indicator id
        var i = 3 + Pseudonym.byteCount
        let idLength = indicator.utf8.count
        out[i] = UInt8(truncatingIfNeeded: idLength >> 8)
        out[i + 1] = UInt8(truncatingIfNeeded: idLength)
        i += 2
        let target = UnsafeMutableRawBufferPointer(rebasing: out[i..<(i + idLength)])
        if indicator.utf8.withContiguousStorageIfAvailable({ target.copyMemory(from: UnsafeRawBufferPointer($0)) })
            == nil
        {
            for (j, byte) in indicator.utf8.enumerated() { target[j] = byte }
        }
        i += idLength
        // u32be key version
        for (j, shift) in [24, 16, 8, 0].enumerated() { out[i + j] = UInt8(truncatingIfNeeded: keyVersion >> shift) }
    }

    /// Whether `sealed` is in version 2 (synthetic nonce) and long enough to hold its iv and tag.
    public static func isSynthetic(_ sealed: some Collection<UInt8>) -> Bool {
        sealed.first == syntheticVersion && sealed.count >= syntheticOverhead
    }

    /// The overhead and nonce position of a sealed value's format, from its first byte.
    private static func layout(of format: UInt8) -> (overhead: Int, nonceLength: Int)? {
        switch format {
        case version: (overhead, XChaCha20Poly1305.nonceLength)
        case syntheticVersion: (syntheticOverhead, syntheticIVLength)
        default: nil
        }
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
        let opened = sealed.withUnsafeBytes { bytes in
            Result { () throws(CryptoError) -> String in
                try open(bytes, subject: subject, indicator: indicator, keyVersion: keyVersion, key: key)
            }
        }
        return try opened.get()
    }

    /// Opens a sealed value where it lies (the access path opens values in SQLite's memory).
    /// - Returns: the canonical value.
    /// - Throws: `CryptoError.authenticationFailed` when the value does not belong to this place or key.
    public static func open(
        _ sealed: UnsafeRawBufferPointer, subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes
    ) throws(CryptoError) -> String {
        guard let format = sealed.first, let (overhead, storedNonce) = layout(of: format) else {
            throw sealed.isEmpty ? .ciphertextTooShort : .authenticationFailed
        }
        guard sealed.count >= overhead, let base = sealed.baseAddress else { throw .ciphertextTooShort }
        try Sodium.ensureInitialised()
        guard key.count == XChaCha20Poly1305.keyLength else {
            throw .invalidKeyLength(expected: XChaCha20Poly1305.keyLength, actual: key.count)
        }
        // Views open tens of values per request: the associated data and the nonce are built on
        // the stack, not in arrays (growing one cost a fifth of opening a value).
        var ad = AssociatedDataBuffer(version: format, subject: subject, indicator: indicator, keyVersion: keyVersion)
        // A version 2 nonce is its 16 stored bytes followed by eight zero bytes.
        var nonce = (UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &nonce) { n in
            n.copyMemory(from: UnsafeRawBufferPointer(rebasing: sealed[1..<(1 + storedNonce)]))
        }
        let bodyStart = 1 + storedNonce
        let plainLength = sealed.count - overhead
        var opened = false
        let value = String(unsafeUninitializedCapacity: plainLength) { out in
            let rc = key.withUnsafeBytes { k in
                withUnsafeBytes(of: &nonce) { n in
                    ad.withBytes { a in
                        crypto_aead_xchacha20poly1305_ietf_decrypt(
                            out.baseAddress, nil, nil, base.assumingMemoryBound(to: UInt8.self) + bodyStart,
                            UInt64(sealed.count - bodyStart), a.sodiumPointer, UInt64(a.count), n.sodiumPointer,
                            k.sodiumPointer)
                    }
                }
            }
            opened = rc == 0
            return opened ? plainLength : 0
        }
        guard opened else { throw .authenticationFailed }
        return value
    }
}

/// The associated data of one sealed value, built in place: 128 bytes inline, and an array only
/// for an indicator id longer than 100 bytes (none in the catalog is).
struct AssociatedDataBuffer {
    private var inline:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var count = 0
    private var spilled: [UInt8]?

    init(version: UInt8, subject: Pseudonym, indicator: String, keyVersion: UInt32) {
        let needed = SealedValueFormat.associatedDataLength(indicator: indicator)
        guard needed <= MemoryLayout.size(ofValue: inline) else {
            var bytes: [UInt8] = []
            SealedValueFormat.appendAssociatedData(
                to: &bytes, version: version, subject: subject, indicator: indicator, keyVersion: keyVersion)
            spilled = bytes
            return
        }
        count = needed
        withUnsafeMutableBytes(of: &inline) { out in
            SealedValueFormat.writeAssociatedData(
                version: version, subject: subject, indicator: indicator, keyVersion: keyVersion, into: out)
        }
    }

    mutating func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let result: Result<R, E>
        if let spilled {
            result = spilled.withUnsafeBytes { b in Result { () throws(E) in try body(b) } }
        } else {
            let n = count
            result = withUnsafeBytes(of: &inline) { b in
                Result { () throws(E) in try body(UnsafeRawBufferPointer(rebasing: b[..<n])) }
            }
        }
        return try result.get()
    }
}

/// Seals many values quickly (bulk nonces, reused scratch buffers).
/// Not thread-safe: one per task.
public struct ValueSealer: ~Copyable {
    private var bulk = BulkSealer()
    private var ivInput: [UInt8] = []

    /// Creates a sealer.
    public init() {
        ivInput.reserveCapacity(256)
    }

    /// Seals the canonical `value` of `indicator` about `subject` under `key` (version `keyVersion`).
    /// - Returns: the sealed value in format version 1 (random nonce).
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
        var ad = AssociatedDataBuffer(
            version: SealedValueFormat.version, subject: subject, indicator: indicator, keyVersion: keyVersion)
        let start = output.count
        output.append(SealedValueFormat.version)
        var value = value
        let result = value.withUTF8 { plain in
            Result { () throws(CryptoError) in
                try ad.withBytes { a throws(CryptoError) in
                    try bulk.seal(UnsafeRawBufferPointer(plain), associatedData: a, key: key, appendingTo: &output)
                }
            }
        }
        if case .failure = result { output.removeSubrange(start...) }
        try result.get()
    }

    /// Seals `value` in format version 2 (synthetic nonce), deriving its iv under `ivKey`
    /// (the `valuemac` key) and appending `0x02 || iv || ciphertext || tag` to `output`.
    ///
    /// The iv's first 8 bytes equal the MAC that format 2 records stored, so a
    /// re-delivery is still recognised against values stored before.
    /// - Throws: `CryptoError` on a wrong key length; `output` is then unchanged.
    public mutating func sealSynthetic(
        _ value: String, subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes,
        ivKey: SecureBytes, appendingTo output: inout [UInt8]
    ) throws(CryptoError) {
        ivInput.removeAll(keepingCapacity: true)
        subject.withUnsafeBytes { ivInput.append(contentsOf: $0) }
        ivInput.append(contentsOf: indicator.utf8)
        ivInput.append(0)
        ivInput.append(contentsOf: value.utf8)
        var iv = (UInt64(0), UInt64(0))
        let input = ivInput
        try withUnsafeMutableBytes(of: &iv) { ivBytes in
            input.withUnsafeBytes { bytes in
                Result { () throws(CryptoError) in try KeyedBLAKE2b.hash(bytes, key: ivKey, into: ivBytes) }
            }
        }.get()
        let ivCopy = iv
        try withUnsafeBytes(of: ivCopy) { ivBytes in
            Result { () throws(CryptoError) in
                try sealSynthetic(
                    value, subject: subject, indicator: indicator, keyVersion: keyVersion, key: key, iv: ivBytes,
                    appendingTo: &output)
            }
        }.get()
    }

    /// Seals `value` in format version 2 with a known `iv` (16 bytes): a rewrap re-seals a
    /// value under a new key version with the iv it had, which is still its MAC.
    /// - Throws: `CryptoError` on a wrong key or iv length; `output` is then unchanged.
    public mutating func sealSynthetic(
        _ value: String, subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes,
        iv: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]
    ) throws(CryptoError) {
        try Sodium.ensureInitialised()
        guard key.count == XChaCha20Poly1305.keyLength else {
            throw .invalidKeyLength(expected: XChaCha20Poly1305.keyLength, actual: key.count)
        }
        guard iv.count == SealedValueFormat.syntheticIVLength else {
            throw .invalidNonceLength(expected: SealedValueFormat.syntheticIVLength, actual: iv.count)
        }
        var ad = AssociatedDataBuffer(
            version: SealedValueFormat.syntheticVersion, subject: subject, indicator: indicator, keyVersion: keyVersion)
        var nonce = (UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &nonce) { $0.copyMemory(from: iv) }
        let start = output.count
        output.append(SealedValueFormat.syntheticVersion)
        output.append(contentsOf: iv)
        let bodyStart = output.count
        var value = value
        let plainLength = value.utf8.count
        output.append(contentsOf: repeatElement(0, count: plainLength + XChaCha20Poly1305.tagLength))
        let rc = value.withUTF8 { plain in
            output.withUnsafeMutableBytes { outRaw in
                withUnsafeBytes(of: &nonce) { n in
                    key.withUnsafeBytes { k in
                        ad.withBytes { a in
                            crypto_aead_xchacha20poly1305_ietf_encrypt(
                                outRaw.sodiumPointer + bodyStart, nil, plain.baseAddress, UInt64(plainLength),
                                a.sodiumPointer, UInt64(a.count), nil, n.sodiumPointer, k.sodiumPointer)
                        }
                    }
                }
            }
        }
        if rc != 0 { output.removeSubrange(start...) }
        try Sodium.check(rc, "crypto_aead_xchacha20poly1305_ietf_encrypt")
    }
}
