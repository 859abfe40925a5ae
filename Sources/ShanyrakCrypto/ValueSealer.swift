internal import CSodium
public import ShanyrakCore

/// The sealed-value formats, see `docs/crypto.md`.
///
/// - Version 1 (random nonce, registry values until 2026-11-29): `0x01 || nonce(24) || ciphertext || tag(16)`.
/// - Version 2 (synthetic nonce, registry values from 2026-11-30 until version 3):
///   `0x02 || iv(16) || ciphertext || tag(16)`, the nonce being `iv || 0^8`, where `iv` is keyed
///   BLAKE2b-128 (key `valuemac`) of `subject || indicator id || 0x00 || value`.
/// - Version 3 (synthetic nonce bound to the value's record, what the registry writes now):
///   `0x03 || iv(16) || ciphertext || tag(16)`, the nonce being `iv || 0^8`, where
///   `iv = BLAKE2b-128(iv key, ad || value)`, `ad` being the whole associated data below and the iv
///   key derived from the class data key of the value's version (`ValueKey`). The iv is a keyed
///   function of everything that differs between two values sealed under one key (format, place,
///   record, value), as SIV constructions require: a nonce repeats only for the same value with the
///   same associated data, and then the sealed bytes repeat too. It doubles as the value's MAC.
///
/// All are the canonical value's UTF-8 bytes under XChaCha20-Poly1305 with the class data key. The
/// associated data binds the ciphertext to its place:
/// `version || u16be(16) subject || u16be(len) indicator id || u32be key version`, and in version 3
/// also `|| u16be(len) observation date || u16be(len) source name`, as the registry stores them with
/// the value's record. A ciphertext copied to another person, indicator or key version (in version 3,
/// also to a record of another date or source) does not open; nor does a version 3 value whose
/// first byte was changed to an older version, since the version byte is in the associated data.
public enum SealedValueFormat {
    /// Version 1, random nonce: first byte of the sealed value and of its associated data.
    public static let version: UInt8 = 1
    /// Version 2, synthetic nonce keyed by `valuemac` (see the type's documentation).
    public static let syntheticVersion: UInt8 = 2
    /// Version 3, synthetic nonce bound to the value's record (see the type's documentation).
    public static let recordBoundVersion: UInt8 = 3
    /// Length of a version 2 or 3 synthetic iv (the first 16 bytes of the XChaCha20 nonce; the rest are zero).
    public static let syntheticIVLength = 16
    /// Bytes a version 1 sealed value adds to the plaintext: version, nonce, tag.
    public static let overhead = 1 + XChaCha20Poly1305.nonceLength + XChaCha20Poly1305.tagLength
    /// Bytes a version 2 or 3 sealed value adds to the plaintext: version, iv, tag.
    public static let syntheticOverhead = 1 + syntheticIVLength + XChaCha20Poly1305.tagLength
    /// The longest indicator id, observation date or source name (in UTF-8 bytes) that the associated
    /// data holds: each has a u16 length.
    public static let maximumFieldLength = Int(UInt16.max)

    /// The associated data for a version 1 value of `indicator` about `subject` under `keyVersion`.
    public static func associatedData(subject: Pseudonym, indicator: String, keyVersion: UInt32) -> [UInt8] {
        var ad: [UInt8] = []
        appendAssociatedData(to: &ad, subject: subject, indicator: indicator, keyVersion: keyVersion)
        return ad
    }

    /// Appends the associated data of a value in format `version` to `ad`.
    ///
    /// - Parameters:
    ///   - observedAt: the record's observation date as the registry stores it; bound in version 3 only.
    ///   - source: the record's source name; bound in version 3 only.
    /// - Precondition: every field is at most `maximumFieldLength` bytes.
    public static func appendAssociatedData(
        to ad: inout [UInt8], version: UInt8 = version, subject: Pseudonym, indicator: String, keyVersion: UInt32,
        observedAt: String = "", source: String = ""
    ) {
        withUTF8Bytes(indicator) { id in
            withUTF8Bytes(observedAt) { date in
                withUTF8Bytes(source) { src in
                    let start = ad.count
                    let length = associatedDataLength(
                        version: version, indicator: id.count, observedAt: date.count, source: src.count)
                    ad.append(contentsOf: repeatElement(0, count: length))
                    ad.withUnsafeMutableBytes { bytes in
                        writeAssociatedData(
                            version: version, subject: subject, indicator: id, keyVersion: keyVersion,
                            observedAt: date, source: src,
                            into: UnsafeMutableRawBufferPointer(rebasing: bytes[start..<(start + length)]))
                    }
                }
            }
        }
    }

    /// Length of the associated data in format `version` for fields of these lengths (in bytes).
    static func associatedDataLength(version: UInt8, indicator: Int, observedAt: Int, source: Int) -> Int {
        let place = 1 + 2 + Pseudonym.byteCount + 2 + indicator + 4
        return version == recordBoundVersion ? place + 2 + observedAt + 2 + source : place
    }

    /// Whether fields of these lengths fit their u16 length prefixes.
    static func fieldsFit(indicator: Int, observedAt: Int, source: Int) -> Bool {
        indicator <= maximumFieldLength && observedAt <= maximumFieldLength && source <= maximumFieldLength
    }

    /// The associated data's layout: the one definition every builder uses. Writes exactly
    /// `associatedDataLength` bytes at the start of `out`, which must hold them. Views open tens of
    /// values per request, so each part is copied whole, not byte by byte.
    static func writeAssociatedData(
        version: UInt8, subject: Pseudonym, indicator: UnsafeRawBufferPointer, keyVersion: UInt32,
        observedAt: UnsafeRawBufferPointer, source: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(fieldsFit(indicator: indicator.count, observedAt: observedAt.count, source: source.count))
        precondition(
            out.count
                >= associatedDataLength(
                    version: version, indicator: indicator.count, observedAt: observedAt.count, source: source.count))
        var writer = FieldWriter(out: out)
        writer.byte(version)
        subject.withUnsafeBytes { writer.field($0) }
        writer.field(indicator)
        writer.bigEndian(keyVersion)
        if version == recordBoundVersion {
            writer.field(observedAt)
            writer.field(source)
        }
    }

    /// Writes the associated data's parts one after the other.
    private struct FieldWriter {
        let out: UnsafeMutableRawBufferPointer
        var offset = 0

        mutating func byte(_ value: UInt8) {
            out[offset] = value
            offset += 1
        }

        /// `u16be(length) || bytes`.
        mutating func field(_ bytes: UnsafeRawBufferPointer) {
            bigEndian(UInt16(truncatingIfNeeded: bytes.count))
            copy(bytes)
        }

        mutating func bigEndian<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.bigEndian) { copy($0) }
        }

        private mutating func copy(_ bytes: UnsafeRawBufferPointer) {
            guard !bytes.isEmpty else { return }
            UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
            offset += bytes.count
        }
    }

    /// Whether `sealed` is in version 2 or 3 (synthetic nonce) and long enough to hold its iv and tag.
    public static func isSynthetic(_ sealed: some Collection<UInt8>) -> Bool {
        guard let format = sealed.first else { return false }
        return (format == syntheticVersion || format == recordBoundVersion) && sealed.count >= syntheticOverhead
    }

    /// The overhead and nonce position of a sealed value's format, from its first byte.
    private static func layout(of format: UInt8) -> (overhead: Int, nonceLength: Int)? {
        switch format {
        case version: (overhead, XChaCha20Poly1305.nonceLength)
        case syntheticVersion, recordBoundVersion: (syntheticOverhead, syntheticIVLength)
        default: nil
        }
    }

    /// Opens a sealed value of any version.
    ///
    /// - Parameters:
    ///   - observedAt: the observation date of the record that holds the value, as the registry stores
    ///     it; a version 3 value opens only with the date it was sealed with (versions 1 and 2 ignore it).
    ///   - source: the source name of that record, likewise.
    /// - Returns: the canonical value.
    /// - Throws: `CryptoError.authenticationFailed` when the value does not belong to this place, record or key.
    public static func open(
        _ sealed: [UInt8], subject: Pseudonym, indicator: String, keyVersion: UInt32, observedAt: String,
        source: String, key: SecureBytes
    ) throws(CryptoError) -> String {
        let opened = sealed.withUnsafeBytes { bytes in
            withUTF8Bytes(observedAt) { date in
                withUTF8Bytes(source) { src in
                    Result { () throws(CryptoError) -> String in
                        try open(
                            bytes, subject: subject, indicator: indicator, keyVersion: keyVersion, observedAt: date,
                            source: src, key: key)
                    }
                }
            }
        }
        return try opened.get()
    }

    /// Opens a sealed value where it lies, with its record's fields where they lie (the access path
    /// opens values in SQLite's memory).
    ///
    /// Decrypts straight into the returned string's storage: no copy of the nonce, the
    /// ciphertext or the plaintext is made (views open tens of values per request).
    /// - Parameters:
    ///   - observedAt: the UTF-8 observation date of the value's record (bound in version 3 only).
    ///   - source: the UTF-8 source name of the value's record (bound in version 3 only).
    /// - Returns: the canonical value.
    /// - Throws: `CryptoError.authenticationFailed` when the value does not belong to this place, record or key.
    public static func open(
        _ sealed: UnsafeRawBufferPointer, subject: Pseudonym, indicator: String, keyVersion: UInt32,
        observedAt: UnsafeRawBufferPointer, source: UnsafeRawBufferPointer, key: SecureBytes
    ) throws(CryptoError) -> String {
        guard let format = sealed.first, let (overhead, storedNonce) = layout(of: format) else {
            throw sealed.isEmpty ? .ciphertextTooShort : .authenticationFailed
        }
        guard sealed.count >= overhead, let base = sealed.baseAddress else { throw .ciphertextTooShort }
        try Sodium.ensureInitialised()
        guard key.count == XChaCha20Poly1305.keyLength else {
            throw .invalidKeyLength(expected: XChaCha20Poly1305.keyLength, actual: key.count)
        }
        // Nothing longer can have been sealed.
        guard fieldsFit(indicator: indicator.utf8.count, observedAt: observedAt.count, source: source.count) else {
            throw .authenticationFailed
        }
        // Views open tens of values per request: the associated data and the nonce are built on
        // the stack, not in arrays (growing one cost a fifth of opening a value).
        var ad = AssociatedDataBuffer(
            version: format, subject: subject, indicator: indicator, keyVersion: keyVersion, observedAt: observedAt,
            source: source)
        // A version 2 or 3 nonce is its 16 stored bytes followed by eight zero bytes.
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

    /// The version 3 iv that sealing `value` at this place of this record under `key` gives
    /// (`ValueSealer.sealRecordBound` stores it after the version byte).
    ///
    /// Ingest compares a new value with a stored one of another key version through it.
    /// - Returns: the 16-byte iv.
    /// - Throws: `CryptoError.fieldTooLong` for a field over `maximumFieldLength` bytes.
    public static func recordBoundIV(
        _ value: String, subject: Pseudonym, indicator: String, observedAt: String, source: String, key: ValueKey
    ) throws(CryptoError) -> [UInt8] {
        var input: [UInt8] = []
        defer { wipe(&input) }
        _ = try fillRecordBoundInput(
            &input, value, subject: subject, indicator: indicator, keyVersion: key.version, observedAt: observedAt,
            source: source)
        return try KeyedBLAKE2b.hash(input, key: key.ivKey, outputLength: syntheticIVLength)
    }

    /// The version 2 iv of `value` at this place: `BLAKE2b-128(macKey, subject || indicator id || 0x00 || value)`
    /// under the `valuemac` key. Its first 8 bytes are the re-delivery MAC of every value stored before
    /// version 3 (version 1 values too, whose records stored it apart).
    /// - Returns: the 16 bytes.
    /// - Throws: `CryptoError` for a bad key.
    public static func legacyMAC(_ value: String, subject: Pseudonym, indicator: String, macKey: SecureBytes)
        throws(CryptoError) -> [UInt8]
    {
        var input: [UInt8] = []
        defer { wipe(&input) }
        fillLegacyInput(&input, value, subject: subject, indicator: indicator)
        return try KeyedBLAKE2b.hash(input, key: macKey, outputLength: syntheticIVLength)
    }

    /// Fills `buffer` with what a version 2 iv is the hash of: `subject || indicator id || 0x00 || value`.
    static func fillLegacyInput(_ buffer: inout [UInt8], _ value: String, subject: Pseudonym, indicator: String) {
        buffer.removeAll(keepingCapacity: true)
        subject.withUnsafeBytes { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: indicator.utf8)
        buffer.append(0)
        buffer.append(contentsOf: value.utf8)
    }

    /// Fills `buffer` with what a version 3 iv is the hash of, `ad || value`, the associated data first.
    /// - Returns: the associated data's length (the prefix of `buffer` to authenticate).
    /// - Throws: `CryptoError.fieldTooLong` for a field over `maximumFieldLength` bytes.
    static func fillRecordBoundInput(
        _ buffer: inout [UInt8], _ value: String, subject: Pseudonym, indicator: String, keyVersion: UInt32,
        observedAt: String, source: String
    ) throws(CryptoError) -> Int {
        let fits = fieldsFit(
            indicator: indicator.utf8.count, observedAt: observedAt.utf8.count, source: source.utf8.count)
        guard fits else { throw .fieldTooLong }
        buffer.removeAll(keepingCapacity: true)
        appendAssociatedData(
            to: &buffer, version: recordBoundVersion, subject: subject, indicator: indicator, keyVersion: keyVersion,
            observedAt: observedAt, source: source)
        let adLength = buffer.count
        buffer.append(contentsOf: value.utf8)
        return adLength
    }
}

/// Calls `body` with `text`'s UTF-8 bytes: in place for a native string, from a copy otherwise.
func withUTF8Bytes<R, E: Error>(_ text: String, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
    let inPlace = text.utf8.withContiguousStorageIfAvailable { bytes in
        Result { () throws(E) -> R in try body(UnsafeRawBufferPointer(bytes)) }
    }
    let result =
        inPlace ?? Array(text.utf8).withUnsafeBytes { bytes in Result { () throws(E) -> R in try body(bytes) } }
    return try result.get()
}

/// The associated data of one sealed value, built in place: 160 bytes inline, and an array only
/// for fields longer than that holds (no indicator id of the catalog and no source name comes near).
struct AssociatedDataBuffer {
    private var inline:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private var count = 0
    private var spilled: [UInt8]?

    /// The associated data of a value in format `version`; `observedAt` and `source` count in version 3 only.
    /// - Precondition: every field is at most `SealedValueFormat.maximumFieldLength` bytes.
    init(
        version: UInt8, subject: Pseudonym, indicator: String, keyVersion: UInt32,
        observedAt: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        source: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) {
        let needed = SealedValueFormat.associatedDataLength(
            version: version, indicator: indicator.utf8.count, observedAt: observedAt.count, source: source.count)
        func write(_ out: UnsafeMutableRawBufferPointer) {
            withUTF8Bytes(indicator) { id in
                SealedValueFormat.writeAssociatedData(
                    version: version, subject: subject, indicator: id, keyVersion: keyVersion, observedAt: observedAt,
                    source: source, into: out)
            }
        }
        guard needed <= MemoryLayout.size(ofValue: inline) else {
            var bytes = [UInt8](repeating: 0, count: needed)
            bytes.withUnsafeMutableBytes { write($0) }
            spilled = bytes
            return
        }
        count = needed
        withUnsafeMutableBytes(of: &inline) { write($0) }
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
    /// What a synthetic iv is the hash of (in version 3, the associated data and the value), reused
    /// for every value.
    private var ivInput: [UInt8] = []

    /// Creates a sealer.
    public init() {
        ivInput.reserveCapacity(256)
    }

    /// Seals the canonical `value` of `indicator` about `subject` in format 3, bound to its record's
    /// observation date and source, and appends `0x03 || iv || ciphertext || tag` to `output`.
    ///
    /// The iv is keyed BLAKE2b-128, under `key`'s iv key, of the whole associated data followed by
    /// the value (see `SealedValueFormat`); its first 8 bytes are the value's re-delivery MAC.
    /// - Parameters:
    ///   - observedAt: the record's observation date, exactly as the registry stores it (`YYYY-MM-DD`).
    ///   - source: the record's source name.
    ///   - key: the class data key of the version to seal under, with its iv key.
    /// - Throws: `CryptoError` for a field over `SealedValueFormat.maximumFieldLength` bytes; `output`
    ///   is then unchanged.
    public mutating func sealRecordBound(
        _ value: String, subject: Pseudonym, indicator: String, observedAt: String, source: String, key: ValueKey,
        appendingTo output: inout [UInt8]
    ) throws(CryptoError) {
        let adLength = try SealedValueFormat.fillRecordBoundInput(
            &ivInput, value, subject: subject, indicator: indicator, keyVersion: key.version, observedAt: observedAt,
            source: source)
        try ivInput.withUnsafeBytes { input in
            Result { () throws(CryptoError) in
                try Self.appendSynthetic(
                    SealedValueFormat.recordBoundVersion, value, ivInput: input, ivKey: key.ivKey,
                    associatedData: UnsafeRawBufferPointer(rebasing: input[..<adLength]), key: key.key,
                    appendingTo: &output)
            }
        }.get()
    }

    /// Seals the canonical `value` of `indicator` about `subject` under `key` (version `keyVersion`)
    /// in format version 1 (random nonce), which the registry no longer writes: for tests and tools
    /// that build a registry of that time.
    /// - Returns: the sealed value.
    /// - Throws: `CryptoError` on a wrong key length.
    public mutating func seal(
        _ value: String, subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes
    ) throws(CryptoError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + SealedValueFormat.overhead)
        try seal(value, subject: subject, indicator: indicator, keyVersion: keyVersion, key: key, appendingTo: &out)
        return out
    }

    /// Seals like `seal(_:subject:indicator:keyVersion:key:)` (format 1), appending the sealed value to `output`.
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

    /// Seals `value` in format version 2 (synthetic nonce keyed by `ivKey`, the `valuemac` key),
    /// appending `0x02 || iv || ciphertext || tag` to `output`. The registry no longer writes it:
    /// for tests and tools that build a registry of that time.
    /// - Throws: `CryptoError` on a wrong key length; `output` is then unchanged.
    public mutating func sealSynthetic(
        _ value: String, subject: Pseudonym, indicator: String, keyVersion: UInt32, key: SecureBytes,
        ivKey: SecureBytes, appendingTo output: inout [UInt8]
    ) throws(CryptoError) {
        SealedValueFormat.fillLegacyInput(&ivInput, value, subject: subject, indicator: indicator)
        var ad = AssociatedDataBuffer(
            version: SealedValueFormat.syntheticVersion, subject: subject, indicator: indicator, keyVersion: keyVersion)
        try ivInput.withUnsafeBytes { input in
            ad.withBytes { a in
                Result { () throws(CryptoError) in
                    try Self.appendSynthetic(
                        SealedValueFormat.syntheticVersion, value, ivInput: input, ivKey: ivKey, associatedData: a,
                        key: key, appendingTo: &output)
                }
            }
        }.get()
    }

    /// Appends `format || iv || ciphertext || tag` to `output`, where `iv` is keyed BLAKE2b-128 of
    /// `ivInput` under `ivKey` and the ciphertext is `value` under `key` with the nonce `iv || 0^8`.
    /// - Throws: `CryptoError` on a wrong key length; `output` is then unchanged.
    private static func appendSynthetic(
        _ format: UInt8, _ value: String, ivInput: UnsafeRawBufferPointer, ivKey: SecureBytes,
        associatedData ad: UnsafeRawBufferPointer, key: SecureBytes, appendingTo output: inout [UInt8]
    ) throws(CryptoError) {
        try Sodium.ensureInitialised()
        guard key.count == XChaCha20Poly1305.keyLength else {
            throw .invalidKeyLength(expected: XChaCha20Poly1305.keyLength, actual: key.count)
        }
        // The 24-byte nonce: the iv's 16 bytes, then zeros.
        var nonce = (UInt64(0), UInt64(0), UInt64(0))
        try withUnsafeMutableBytes(of: &nonce) { n in
            Result { () throws(CryptoError) in
                try KeyedBLAKE2b.hash(
                    ivInput, key: ivKey,
                    into: UnsafeMutableRawBufferPointer(rebasing: n[..<SealedValueFormat.syntheticIVLength]))
            }
        }.get()
        let start = output.count
        output.append(format)
        withUnsafeBytes(of: &nonce) { output.append(contentsOf: $0[..<SealedValueFormat.syntheticIVLength]) }
        let bodyStart = output.count
        let plainLength = value.utf8.count
        output.append(contentsOf: repeatElement(0, count: plainLength + XChaCha20Poly1305.tagLength))
        let rc = withUTF8Bytes(value) { plain in
            output.withUnsafeMutableBytes { outRaw in
                withUnsafeBytes(of: &nonce) { n in
                    key.withUnsafeBytes { k in
                        crypto_aead_xchacha20poly1305_ietf_encrypt(
                            outRaw.sodiumPointer + bodyStart, nil, plain.sodiumPointer, UInt64(plainLength),
                            ad.sodiumPointer, UInt64(ad.count), nil, n.sodiumPointer, k.sodiumPointer)
                    }
                }
            }
        }
        if rc != 0 { output.removeSubrange(start...) }
        try Sodium.check(rc, "crypto_aead_xchacha20poly1305_ietf_encrypt")
    }
}
