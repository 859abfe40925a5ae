import Foundation
import ShanyrakAudit
import ShanyrakCore
import Testing

/// Field 16 of an entry: how many refused requests a summary entry stands for (docs/audit.md, section 1.1).
struct OccurrencesCodecTests {
    /// The example entry of docs/audit.md, section 1.1, without its trailing fields.
    static let example = [
        "01", "0000000000000001", "0000000000000002", "0000000161", "0000000172", "0000000178", "0000000176",
        "00000002", "000000027331", "000000027332", "00000000", "00", "00000001", "0000000170", "00000001aa",
        "0000000171", "00",
    ].joined()
    static let anchorField = [
        "01", "00000001", "0000000000000007", "00000003706f6c", "0000000000000003", "00000020",
        String(repeating: "cd", count: 32),
    ].joined()

    let small = AuditEntry(
        sequence: 1, timeMicroseconds: 2,
        draft: AuditEntryDraft(
            actorId: "a", role: "r", action: "x", view: "v", subjects: ["s2", "s1"], decision: .deny,
            policyIds: ["p"], policySetHash: [0xAA], requestId: "q"))

    @Test("occurrences are written after the anchors as tag 2 and a u64, and only from 2 up")
    func knownBytes() throws {
        var entry = small
        entry.occurrences = 1234
        let alone = unhex(Self.example + "02" + "00000000000004d2")
        #expect(AuditEntryCodec.encode(entry) == alone)
        #expect(try AuditEntryCodec.decode(alone) == entry)
        #expect(try alone.withUnsafeBytes { try AuditEntryCodec.validate($0) }.sequence == 1)

        entry.batchAnchors = [
            BatchAnchor(batch: 7, source: "pol", records: 3, digest: [UInt8](repeating: 0xCD, count: 32))
        ]
        let both = unhex(Self.example + Self.anchorField + "02" + "00000000000004d2")
        #expect(AuditEntryCodec.encode(entry) == both)
        #expect(try AuditEntryCodec.decode(both) == entry)
        #expect(try both.withUnsafeBytes { try AuditEntryCodec.batchAnchors($0) }.anchors == entry.batchAnchors)

        // One occurrence is every other entry: nothing is written, so old entries keep their bytes.
        var one = small
        one.occurrences = 1
        #expect(AuditEntryCodec.encode(one) == unhex(Self.example))
        #expect(try AuditEntryCodec.decode(unhex(Self.example)).occurrences == 1)
        // 0 is not a count: a draft takes it as 1.
        let zero = AuditEntryDraft(
            actorId: "a", role: "r", action: "x", view: "v", decision: .deny, requestId: "q", occurrences: 0)
        #expect(zero.occurrences == 1)
    }

    @Test("the JSON form carries occurrences only from 2 up, and refuses a present count under 2")
    func json() throws {
        var entry = small
        entry.occurrences = 9
        let data = try JSONEncoder().encode(entry)
        #expect(String(decoding: data, as: UTF8.self).contains("\"occurrences\":9"))
        #expect(try JSONDecoder().decode(AuditEntry.self, from: data).occurrences == 9)
        #expect(!String(decoding: try JSONEncoder().encode(small), as: UTF8.self).contains("occurrences"))
        let one = String(decoding: try JSONEncoder().encode(small), as: UTF8.self)
            .replacingOccurrences(of: "}", with: ",\"occurrences\":1}")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AuditEntry.self, from: Data(one.utf8)) }
    }

    @Test(
        "a non-canonical field 16 is refused",
        arguments: [
            ("a count of 1 (written as nothing)", "020000000000000001"),
            ("a count of 0", "020000000000000000"),
            ("a truncated count", "0200000000000004"),
            ("presence byte 0", "000000000000000005"),
            ("anchors after occurrences (tags out of order)", "020000000000000005" + anchorField),
            ("occurrences twice", "020000000000000005020000000000000005"),
            ("an unknown tag", "030000000000000005"),
        ])
    func rejectsNonCanonical(_ name: String, _ field: String) {
        let bytes = unhex(Self.example + field)
        #expect(throws: AuditError.self, "\(name)") { try AuditEntryCodec.decode(bytes) }
        #expect(throws: AuditError.self, "\(name)") { try bytes.withUnsafeBytes { try AuditEntryCodec.validate($0) } }
    }
}
