import ShanyrakCore
import ShanyrakCrypto
import Testing

struct SealedValueTests {
    let key = try! SecureBytes.random(count: 32)
    let subject = Pseudonym(bytes: Array(0..<16))!
    let otherSubject = Pseudonym(bytes: Array(1...16))!

    func seal(_ value: String, version: UInt32 = 1) throws -> [UInt8] {
        var sealer = ValueSealer()
        return try sealer.seal(
            value, subject: subject, indicator: "economic.monthly_income", keyVersion: version, key: key)
    }

    @Test(arguments: ["", "0", "150000", "Әлия Нұрланқызы", String(repeating: "x", count: 512)])
    func roundTrip(_ value: String) throws {
        let sealed = try seal(value, version: 3)
        #expect(sealed.count == Array(value.utf8).count + SealedValueFormat.overhead)
        #expect(sealed.first == 1)
        let opened = try SealedValueFormat.open(
            sealed, subject: subject, indicator: "economic.monthly_income", keyVersion: 3, observedAt: "", source: "",
            key: key)
        #expect(opened == value)
    }

    @Test func sealingTwiceUsesFreshNonces() throws {
        #expect(try seal("150000") != seal("150000"))
    }

    @Test func doesNotOpenElsewhere() throws {
        let sealed = try seal("150000", version: 2)
        let otherKey = try SecureBytes.random(count: 32)
        #expect(throws: CryptoError.authenticationFailed) {
            try SealedValueFormat.open(
                sealed, subject: otherSubject, indicator: "economic.monthly_income", keyVersion: 2, observedAt: "",
                source: "", key: key)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try SealedValueFormat.open(
                sealed, subject: subject, indicator: "economic.pension", keyVersion: 2, observedAt: "", source: "",
                key: key)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try SealedValueFormat.open(
                sealed, subject: subject, indicator: "economic.monthly_income", keyVersion: 1, observedAt: "",
                source: "", key: key)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try SealedValueFormat.open(
                sealed, subject: subject, indicator: "economic.monthly_income", keyVersion: 2, observedAt: "",
                source: "", key: otherKey)
        }
    }

    @Test func everySingleByteFlipIsDetected() throws {
        let sealed = try seal("targeted assistance")
        for i in sealed.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var tampered = sealed
                tampered[i] ^= mask
                #expect(throws: CryptoError.self, "byte \(i) mask \(mask)") {
                    try SealedValueFormat.open(
                        tampered, subject: subject, indicator: "economic.monthly_income", keyVersion: 1, observedAt: "",
                        source: "", key: key)
                }
            }
        }
    }

    @Test func truncatedValuesAreRefused() throws {
        let sealed = try seal("1")
        for n in 0..<sealed.count {
            #expect(throws: CryptoError.self) {
                try SealedValueFormat.open(
                    Array(sealed.prefix(n)), subject: subject, indicator: "economic.monthly_income", keyVersion: 1,
                    observedAt: "", source: "", key: key)
            }
        }
    }

    @Test func wrongKeyLengthIsRefused() throws {
        var sealer = ValueSealer()
        let short = try SecureBytes.random(count: 16)
        #expect(throws: CryptoError.invalidKeyLength(expected: 32, actual: 16)) {
            try sealer.seal("1", subject: subject, indicator: "a.b", keyVersion: 1, key: short)
        }
    }

    @Test func sealOpenWithRandomNonceAndTamperedAssociatedData() throws {
        let sealed = try XChaCha20Poly1305.seal(Array("hello".utf8), associatedData: [1, 2, 3], key: key)
        #expect(try XChaCha20Poly1305.open(sealed, associatedData: [1, 2, 3], key: key) == Array("hello".utf8))
        #expect(throws: CryptoError.authenticationFailed) {
            try XChaCha20Poly1305.open(sealed, associatedData: [1, 2, 4], key: key)
        }
        #expect(throws: CryptoError.ciphertextTooShort) {
            try XChaCha20Poly1305.open(Array(sealed.prefix(39)), associatedData: [1, 2, 3], key: key)
        }
    }
}
