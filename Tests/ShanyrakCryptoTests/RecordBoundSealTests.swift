import ShanyrakCore
import ShanyrakCrypto
import Testing

/// Sealed-value format 3: a synthetic nonce over the whole associated data, which binds the
/// value's record (observation date and source) besides its place, under an iv key derived
/// from the class data key of the value's version.
struct RecordBoundSealTests {
    let key = try! ValueKey(version: 4, key: SecureBytes.random(count: 32))
    let subject = Pseudonym(bytes: Array(0..<16))!
    let otherSubject = Pseudonym(bytes: Array(1...16))!
    let indicator = "violence.protection_order"
    let date = "2026-04-01"
    let source = "police"

    func seal(
        _ value: String, subject: Pseudonym? = nil, indicator: String? = nil, date: String? = nil,
        source: String? = nil, key: ValueKey? = nil
    ) throws -> [UInt8] {
        var sealer = ValueSealer()
        var out: [UInt8] = []
        try sealer.sealRecordBound(
            value, subject: subject ?? self.subject, indicator: indicator ?? self.indicator,
            observedAt: date ?? self.date,
            source: source ?? self.source, key: key ?? self.key, appendingTo: &out)
        return out
    }

    func open(
        _ sealed: [UInt8], subject: Pseudonym? = nil, indicator: String? = nil, version: UInt32? = nil,
        date: String? = nil, source: String? = nil, key: SecureBytes? = nil
    ) throws -> String {
        try SealedValueFormat.open(
            sealed, subject: subject ?? self.subject, indicator: indicator ?? self.indicator,
            keyVersion: version ?? self.key.version, observedAt: date ?? self.date, source: source ?? self.source,
            key: key ?? self.key.key)
    }

    /// The associated data as `docs/crypto.md` writes it, built here byte by byte.
    static func documentedAssociatedData(
        subject: Pseudonym, indicator: String, keyVersion: UInt32, date: String, source: String
    ) -> [UInt8] {
        func field(_ bytes: [UInt8]) -> [UInt8] { [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes }
        let version = (0..<4).map { UInt8(truncatingIfNeeded: keyVersion >> (24 - 8 * $0)) }
        return [3] + field(subject.bytes) + field(Array(indicator.utf8)) + version + field(Array(date.utf8))
            + field(Array(source.utf8))
    }

    /// libsodium's `crypto_kdf_derive_from_key` against an independent implementation (Python's
    /// hashlib.blake2b with key, salt = u64le(id) || 0^8 and person = context || 0^8).
    @Test func keyDerivationKnownAnswers() throws {
        let parent = try SecureBytes(copying: Array(0..<32))
        let cases: [(UInt64, String, Int, String)] = [
            (3, "sealediv", 32, "c8f1dec973a49261316035d346d5bdc32ae55508edd6a10faacbd614e17b0528"),
            (0, "KDF test", 32, "c13fcc2e6cd0cd0f82d93b163a5696c5105378f8c629d36baf3ae0239de9c280"),
            (1, "KDF test", 32, "13fea52bb8cba063f3ed93de27ed07e06d8c6367474e6ae4c9282913ac3c3a03"),
            (
                7, "sealediv", 64,
                "08ec149bd265b9fb60705e3f1af53f2792dc462e65afd5265dac0880e77d651fad3f7699260daab250e6152d7bbceee4b36c081c179d3d91eb15572f65f0e289"
            ),
        ]
        for (id, context, length, expected) in cases {
            let subkey = try KeyDerivation.derive(from: parent, subkeyID: id, context: context, length: length)
            #expect(subkey.withUnsafeBytes { Array($0) } == hexBytes(expected))
        }
        #expect(throws: CryptoError.self) {
            try KeyDerivation.derive(from: SecureBytes.random(count: 16), subkeyID: 3, context: "sealediv")
        }
        #expect(throws: CryptoError.self) {
            try KeyDerivation.derive(from: parent, subkeyID: 3, context: "sealediv", length: 8)
        }
        #expect(throws: CryptoError.self) { try ValueKey(version: 1, key: SecureBytes.random(count: 31)) }
    }

    /// Two values sealed from fixed keys by an independent implementation (Python: hashlib for
    /// BLAKE2b and the KDF, PyNaCl for XChaCha20-Poly1305), following `docs/crypto.md`.
    @Test func knownAnswers() throws {
        let key = try SecureBytes(copying: Array(0..<32))
        let cases: [(String, UInt32, String, String, String, String)] = [
            (
                "violence.protection_order", 2, "2026-04-01", "police", "true",
                "03c35451064ea448897a5da30a2738258d5b14b7d3d570b37a4c69f9a7de0e1a2b07aa161c"
            ),
            (
                "identity.last_name", 1, "2026-01-10", "population", "Нұрланқызы",
                "035e674be745d6e734d537d4bc0fe77d72319de67534820828d5a6e6165a063a6296e7b077ff7eaf5debe7935d536f616375f0b6a8"
            ),
        ]
        for (id, version, date, source, value, expected) in cases {
            let sealed = try seal(
                value, indicator: id, date: date, source: source, key: ValueKey(version: version, key: key))
            #expect(sealed == hexBytes(expected))
            #expect(try open(sealed, indicator: id, version: version, date: date, source: source, key: key) == value)
        }
    }

    /// The bytes follow the documented construction, rebuilt here from the primitives that the
    /// known-answer tests check (the KDF above, BLAKE2b, XChaCha20-Poly1305 against Wycheproof):
    /// iv key = KDF(data key, 3, "sealediv"), iv = BLAKE2b-128(iv key, ad || value), nonce = iv || 0^8.
    @Test(arguments: ["", "0", "true", "150000", "Әлия Нұрланқызы", String(repeating: "x", count: 300)])
    func matchesTheDocumentedConstruction(_ value: String) throws {
        let sealed = try seal(value)
        let ad = Self.documentedAssociatedData(
            subject: subject, indicator: indicator, keyVersion: key.version, date: date, source: source)
        var library: [UInt8] = []
        SealedValueFormat.appendAssociatedData(
            to: &library, version: 3, subject: subject, indicator: indicator, keyVersion: key.version,
            observedAt: date, source: source)
        #expect(library == ad)
        let ivKey = try KeyDerivation.derive(from: key.key, subkeyID: 3, context: "sealediv")
        let iv = try KeyedBLAKE2b.hash(ad + Array(value.utf8), key: ivKey, outputLength: 16)
        let body = try XChaCha20Poly1305.encrypt(
            Array(value.utf8), nonce: iv + [UInt8](repeating: 0, count: 8), associatedData: ad, key: key.key)
        #expect(sealed == [3] + iv + body)
        #expect(sealed.count == value.utf8.count + SealedValueFormat.syntheticOverhead)
        #expect(SealedValueFormat.isSynthetic(sealed))
        #expect(
            try SealedValueFormat.recordBoundIV(
                value, subject: subject, indicator: indicator, observedAt: date, source: source, key: key) == iv)
        #expect(try open(sealed) == value)
    }

    /// The iv is a keyed function of everything that differs between two values under one key: the
    /// same value at the same subject and indicator, on another date or from another source, must not
    /// reuse the nonce (that would reuse a Poly1305 key on two messages, which allows forgeries).
    @Test func theIVCoversTheWholeAssociatedDataAndTheValue() throws {
        let a = try seal("true")
        #expect(try seal("true") == a, "deterministic at one place of one record")
        let iv = { (s: [UInt8]) in Array(s[1..<17]) }
        let sameKeyOthers = [
            try seal("true", date: "2026-04-02"), try seal("true", date: "2026-4-1"),
            try seal("true", source: "justice"),
            try seal("true", source: "police "), try seal("false"), try seal("true", subject: otherSubject),
            try seal("true", indicator: "violence.protected_survivor"),
            try seal("true", key: ValueKey(version: key.version + 1, key: key.key)),
        ]
        for other in sameKeyOthers { #expect(iv(other) != iv(a)) }
        #expect(Set(sameKeyOthers.map(iv)).count == sameKeyOthers.count)
        // Another class key version, even with the same value and record, has another iv key.
        let rotated = try ValueKey(version: key.version, key: SecureBytes.random(count: 32))
        #expect(iv(try seal("true", key: rotated)) != iv(a))
        // A field's bytes cannot slide into its neighbour: the lengths are bound.
        #expect(iv(try seal("true", date: "2026-04-01p", source: "olice")) != iv(a))
    }

    @Test func doesNotOpenElsewhereAndEveryFlipIsDetected() throws {
        let sealed = try seal("true")
        #expect(try open(sealed) == "true")
        let wrongKey = try SecureBytes.random(count: 32)
        let elsewhere: [() throws -> String] = [
            { try open(sealed, subject: otherSubject) }, { try open(sealed, indicator: "violence.protected_survivor") },
            { try open(sealed, version: key.version - 1) }, { try open(sealed, version: key.version + 1) },
            { try open(sealed, date: "2026-04-02") }, { try open(sealed, date: "2020-01-01") },
            { try open(sealed, date: "") }, { try open(sealed, source: "justice") }, { try open(sealed, source: "") },
            { try open(sealed, key: wrongKey) },
        ]
        for attempt in elsewhere { #expect(throws: CryptoError.authenticationFailed) { try attempt() } }
        for i in sealed.indices {
            for mask: UInt8 in [0x01, 0x02, 0x80] {
                var tampered = sealed
                tampered[i] ^= mask
                #expect(throws: CryptoError.self, "byte \(i) mask \(mask)") { try open(tampered) }
            }
        }
        for n in 0..<sealed.count {
            #expect(throws: CryptoError.self) { try open(Array(sealed.prefix(n))) }
        }
    }

    /// The version byte is in the associated data: a format 3 value relabelled as format 2 (whose
    /// associated data has no date or source) or format 1 does not open, whatever date and source the
    /// reader passes; nor does a format 2 value relabelled as format 3.
    @Test func aChangedFormatByteDoesNotOpen() throws {
        let sealed = try seal("false")
        for format: UInt8 in [0, 1, 2, 4, 0xFF] {
            var downgraded = sealed
            downgraded[0] = format
            #expect(throws: CryptoError.self, "format \(format)") { try open(downgraded) }
            #expect(throws: CryptoError.self, "format \(format)") { try open(downgraded, date: "", source: "") }
        }
        var sealer = ValueSealer()
        var formatTwo: [UInt8] = []
        try sealer.sealSynthetic(
            "false", subject: subject, indicator: indicator, keyVersion: key.version, key: key.key,
            ivKey: SecureBytes.random(count: 32), appendingTo: &formatTwo)
        #expect(try open(formatTwo) == "false", "format 2 binds no record: any date opens it")
        var upgraded = formatTwo
        upgraded[0] = 3
        #expect(throws: CryptoError.authenticationFailed) { try open(upgraded) }
    }

    /// Fields too long for their u16 length cannot be sealed, and nothing opens with one.
    @Test func fieldsLongerThanTheirLengthPrefixAreRefused() throws {
        let long = String(repeating: "s", count: SealedValueFormat.maximumFieldLength + 1)
        var sealer = ValueSealer()
        var out: [UInt8] = [7]
        #expect(throws: CryptoError.fieldTooLong) {
            try sealer.sealRecordBound(
                "1", subject: subject, indicator: indicator, observedAt: date, source: long, key: key, appendingTo: &out
            )
        }
        #expect(out == [7])
        let sealed = try seal("1")
        #expect(throws: CryptoError.authenticationFailed) { try open(sealed, source: long) }
        #expect(throws: CryptoError.authenticationFailed) { try open(sealed, date: long) }
        // The longest allowed field seals and opens (the associated data leaves the stack for it).
        let longest = String(repeating: "s", count: SealedValueFormat.maximumFieldLength)
        #expect(try open(try seal("1", source: longest), source: longest) == "1")
    }
}
