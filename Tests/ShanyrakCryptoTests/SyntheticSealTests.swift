import ShanyrakCore
import ShanyrakCrypto
import Testing

/// Sealed-value format 2 (no longer written, still opened): a synthetic nonce derived from the value
/// and its place under the `valuemac` key.
struct SyntheticSealTests {
    let key = try! SecureBytes.random(count: 32)
    let ivKey = try! SecureBytes.random(count: 32)
    let subject = Pseudonym(bytes: Array(0..<16))!
    let otherSubject = Pseudonym(bytes: Array(1...16))!
    let indicator = "economic.monthly_income"

    func seal(
        _ value: String, subject: Pseudonym? = nil, indicator: String? = nil, version: UInt32 = 1,
        key: SecureBytes? = nil
    ) throws -> [UInt8] {
        var sealer = ValueSealer()
        var out: [UInt8] = []
        try sealer.sealSynthetic(
            value, subject: subject ?? self.subject, indicator: indicator ?? self.indicator, keyVersion: version,
            key: key ?? self.key, ivKey: ivKey, appendingTo: &out)
        return out
    }

    /// The bytes follow the documented construction, rebuilt here from the primitives that the
    /// Wycheproof and BLAKE2b tests check: iv = BLAKE2b-128(ivKey, subject || id || 0 || value),
    /// nonce = iv || 0^8, associated data with version byte 2.
    @Test(arguments: ["", "0", "150000", "Әлия Нұрланқызы", String(repeating: "x", count: 300)])
    func matchesTheDocumentedConstruction(_ value: String) throws {
        let sealed = try seal(value, version: 7)
        let ivInput = subject.bytes + Array(indicator.utf8) + [0] + Array(value.utf8)
        let iv = try KeyedBLAKE2b.hash(ivInput, key: ivKey, outputLength: 16)
        var ad: [UInt8] = []
        SealedValueFormat.appendAssociatedData(
            to: &ad, version: 2, subject: subject, indicator: indicator, keyVersion: 7)
        #expect(ad.first == 2)
        let body = try XChaCha20Poly1305.encrypt(
            Array(value.utf8), nonce: iv + [UInt8](repeating: 0, count: 8), associatedData: ad, key: key)
        #expect(sealed == [2] + iv + body)
        #expect(try SealedValueFormat.legacyMAC(value, subject: subject, indicator: indicator, macKey: ivKey) == iv)
        #expect(sealed.count == value.utf8.count + SealedValueFormat.syntheticOverhead)
        #expect(
            try SealedValueFormat.open(
                sealed, subject: subject, indicator: indicator, keyVersion: 7, observedAt: "", source: "", key: key)
                == value
        )
    }

    /// Deterministic at one place; any change of value, place or key gives other bytes, and a
    /// change of value or place another iv (so no nonce repeats under one key for two plaintexts).
    @Test func sameValueSameBytesAnythingElseDiffers() throws {
        let a = try seal("150000")
        #expect(try seal("150000") == a)
        let others = [
            try seal("150001"), try seal("150000", subject: otherSubject),
            try seal("150000", indicator: "economic.pension"),
            try seal("150000", version: 2), try seal("150000", key: SecureBytes.random(count: 32)),
        ]
        for other in others { #expect(other != a) }
        let iv = { (s: [UInt8]) in Array(s[1..<17]) }
        for other in others.prefix(3) { #expect(iv(other) != iv(a)) }
        // The format 2 iv does not depend on the data key or its version (format 3's does).
        for other in others.suffix(2) { #expect(iv(other) == iv(a)) }
    }

    @Test func doesNotOpenElsewhereAndEveryFlipIsDetected() throws {
        let sealed = try seal("targeted assistance", version: 2)
        let otherKey = try SecureBytes.random(count: 32)
        for (s, i, v, k) in [
            (otherSubject, indicator, UInt32(2), key), (subject, "economic.pension", 2, key),
            (subject, indicator, 1, key),
            (subject, indicator, 2, otherKey),
        ] {
            #expect(throws: CryptoError.authenticationFailed) {
                try SealedValueFormat.open(
                    sealed, subject: s, indicator: i, keyVersion: v, observedAt: "", source: "", key: k)
            }
        }
        for i in sealed.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var tampered = sealed
                tampered[i] ^= mask
                #expect(throws: CryptoError.self, "byte \(i) mask \(mask)") {
                    try SealedValueFormat.open(
                        tampered, subject: subject, indicator: indicator, keyVersion: 2, observedAt: "", source: "",
                        key: key)
                }
            }
        }
        for n in 0..<sealed.count {
            #expect(throws: CryptoError.self) {
                try SealedValueFormat.open(
                    Array(sealed.prefix(n)), subject: subject, indicator: indicator, keyVersion: 2, observedAt: "",
                    source: "", key: key)
            }
        }
    }

    /// Indicator ids of any length open (a long one takes the associated data off the stack).
    @Test(arguments: [1, 99, 100, 101, 400])
    func indicatorIdsOfAnyLengthOpen(_ length: Int) throws {
        let id = String(repeating: "i", count: length)
        for synthetic in [true, false] {
            var sealer = ValueSealer()
            var sealed: [UInt8] = []
            if synthetic {
                try sealer.sealSynthetic(
                    "42", subject: subject, indicator: id, keyVersion: 3, key: key, ivKey: ivKey, appendingTo: &sealed)
            } else {
                sealed = try sealer.seal("42", subject: subject, indicator: id, keyVersion: 3, key: key)
            }
            #expect(
                try SealedValueFormat.open(
                    sealed, subject: subject, indicator: id, keyVersion: 3, observedAt: "", source: "", key: key)
                    == "42")
            #expect(throws: CryptoError.authenticationFailed) {
                try SealedValueFormat.open(
                    sealed, subject: subject, indicator: id + "x", keyVersion: 3, observedAt: "", source: "", key: key)
            }
        }
    }
}
