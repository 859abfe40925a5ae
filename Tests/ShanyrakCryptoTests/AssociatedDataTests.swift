import ShanyrakCore
import Testing

@testable import ShanyrakCrypto

/// The associated data binds a sealed value to its place; its bytes are fixed by `docs/crypto.md`:
/// `version || u16be(16) subject || u16be(len) indicator id || u32be key version`.
struct AssociatedDataTests {
    static func expected(version: UInt8, subject: Pseudonym, indicator: String, keyVersion: UInt32) -> [UInt8] {
        let id = Array(indicator.utf8)
        return [version, 0, 16] + subject.bytes + [UInt8(id.count >> 8), UInt8(id.count & 0xFF)] + id
            + [
                UInt8(keyVersion >> 24), UInt8((keyVersion >> 16) & 0xFF), UInt8((keyVersion >> 8) & 0xFF),
                UInt8(keyVersion & 0xFF),
            ]
    }

    @Test(
        "the layout, in an array and in the inline buffer (long ids spill to an array)",
        arguments: [
            "demographic.sex", "", "я.кириллица", String(repeating: "x", count: 100),
            String(repeating: "y", count: 300),
        ])
    func layout(_ indicator: String) throws {
        let subject = try #require(Pseudonym(hex: "00112233445566778899aabbccddeeff"))
        for (version, keyVersion) in [(UInt8(1), UInt32(1)), (2, 7), (2, 0x0102_0304), (1, UInt32.max)] {
            let want = Self.expected(version: version, subject: subject, indicator: indicator, keyVersion: keyVersion)
            var ad: [UInt8] = [9, 9]  // appended after what is there
            SealedValueFormat.appendAssociatedData(
                to: &ad, version: version, subject: subject, indicator: indicator, keyVersion: keyVersion)
            #expect(ad == [9, 9] + want)
            var buffer = AssociatedDataBuffer(
                version: version, subject: subject, indicator: indicator, keyVersion: keyVersion)
            #expect(buffer.withBytes { Array($0) } == want)
        }
    }
}
