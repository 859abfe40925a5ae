import ShanyrakCore
import Testing

@testable import ShanyrakCrypto

/// The associated data binds a sealed value to its place; its bytes are fixed by `docs/crypto.md`:
/// `version || u16be(16) subject || u16be(len) indicator id || u32be key version`, and in version 3
/// `|| u16be(len) observation date || u16be(len) source`.
struct AssociatedDataTests {
    static func expected(
        version: UInt8, subject: Pseudonym, indicator: String, keyVersion: UInt32, date: String, source: String
    ) -> [UInt8] {
        func field(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
        }
        let place =
            [version, 0, 16] + subject.bytes + field(indicator)
            + [
                UInt8(keyVersion >> 24), UInt8((keyVersion >> 16) & 0xFF), UInt8((keyVersion >> 8) & 0xFF),
                UInt8(keyVersion & 0xFF),
            ]
        return version == 3 ? place + field(date) + field(source) : place
    }

    @Test(
        "the layout, in an array and in the inline buffer (long fields spill to an array)",
        arguments: [
            "demographic.sex", "", "я.кириллица", String(repeating: "x", count: 100),
            String(repeating: "y", count: 300),
        ])
    func layout(_ indicator: String) throws {
        let subject = try #require(Pseudonym(hex: "00112233445566778899aabbccddeeff"))
        for (version, keyVersion) in [(UInt8(1), UInt32(1)), (2, 7), (2, 0x0102_0304), (1, UInt32.max), (3, 9)] {
            for (date, source) in [
                ("2026-04-01", "police"), ("", ""), ("2026-01-10", String(repeating: "p", count: 90)),
            ] {
                let want = Self.expected(
                    version: version, subject: subject, indicator: indicator, keyVersion: keyVersion, date: date,
                    source: source)
                var ad: [UInt8] = [9, 9]  // appended after what is there
                SealedValueFormat.appendAssociatedData(
                    to: &ad, version: version, subject: subject, indicator: indicator, keyVersion: keyVersion,
                    observedAt: date, source: source)
                #expect(ad == [9, 9] + want)
                let built = Array(date.utf8).withUnsafeBytes { d in
                    Array(source.utf8).withUnsafeBytes { s in
                        var buffer = AssociatedDataBuffer(
                            version: version, subject: subject, indicator: indicator, keyVersion: keyVersion,
                            observedAt: d, source: s)
                        return buffer.withBytes { Array($0) }
                    }
                }
                #expect(built == want)
            }
        }
    }
}
