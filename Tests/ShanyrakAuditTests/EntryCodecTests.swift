import Foundation
import ShanyrakAudit
import Testing

struct EntryCodecTests {
    let small = AuditEntry(
        sequence: 1, timeMicroseconds: 2,
        draft: AuditEntryDraft(
            actorId: "a", role: "r", action: "x", view: "v", subjects: ["s2", "s1", "s2"], decision: .deny,
            policyIds: ["p"], policySetHash: [0xAA], requestId: "q"))

    @Test func knownBytes() throws {
        // Written out by hand from docs/audit.md, not produced by the encoder.
        let want = unhex(
            "01" + "0000000000000001" + "0000000000000002" + "0000000161" + "0000000172" + "0000000178"
                + "0000000176" + "00000002" + "000000027331" + "000000027332" + "00000000" + "00" + "00000001"
                + "0000000170" + "00000001aa" + "0000000171" + "00")
        #expect(AuditEntryCodec.encode(small) == want)
        #expect(try AuditEntryCodec.decode(want) == small)
    }

    @Test func sameEntrySameBytes() throws {
        var other = small
        other.subjects = ["s1", "s2"]
        #expect(AuditEntryCodec.encode(other) == AuditEntryCodec.encode(small))
        var e = AuditEntry(sequence: 7, timeMicroseconds: 1_700_000_000_000_000, draft: draft(3))
        e.sealedJustification = [1, 2, 3]
        let bytes = AuditEntryCodec.encode(e)
        #expect(try AuditEntryCodec.decode(bytes) == e)
        #expect(AuditEntryCodec.encode(try AuditEntryCodec.decode(bytes)) == bytes)
        let validated = try bytes.withUnsafeBytes { try AuditEntryCodec.validate($0) }
        #expect(validated.sequence == 7)
    }

    @Test func jsonRoundTrip() throws {
        var e = small
        e.sealedJustification = [9, 9]
        let data = try JSONEncoder().encode(e)
        #expect(try JSONDecoder().decode(AuditEntry.self, from: data) == e)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"policySetHash\":\"aa\""))
    }

    @Test("a draft changed after it was made is canonical again in its entry, and its JSON stays flat")
    func draftFieldsAreTheEntrysOwn() throws {
        var draft = small.draft
        draft.subjects = ["s3", "s1", "s3"]
        draft.indicatorIds = ["b.y", "a.x"]
        let entry = AuditEntry(sequence: 5, timeMicroseconds: 6, draft: draft)
        #expect(entry.subjects == ["s1", "s3"])
        #expect(entry.indicatorIds == ["a.x", "b.y"])
        #expect(entry.actorId == "a" && entry.draft.actorId == "a")
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry)) as! [String: Any]
        #expect(object["draft"] == nil)
        #expect(object["actorId"] as? String == "a")
        #expect(object["subjects"] as? [String] == ["s1", "s3"])
    }

    @Test(arguments: [
        ("unknown version", "02"),
        ("trailing byte", "TRAIL"),
        ("truncated", "CUT"),
        ("unsorted set", "UNSORTED"),
        ("bad decision", "DECISION"),
    ])
    func rejectsNonCanonical(_ name: String, _ how: String) {
        var bytes = AuditEntryCodec.encode(small)
        switch how {
        case "02": bytes[0] = 2
        case "TRAIL": bytes.append(0)
        case "CUT": bytes.removeLast()
        case "UNSORTED":
            // swap "s1" and "s2" in the subjects list
            let i = bytes.firstIndex(of: 0x31)!
            bytes[i] = 0x32
            bytes[i + 6] = 0x31
        default:
            // decision byte follows the empty indicator list
            let i = bytes.count - 24
            #expect(bytes[i] == 0)
            bytes[i] = 2
        }
        #expect(throws: AuditError.self, "\(name)") { try AuditEntryCodec.decode(bytes) }
        #expect(throws: AuditError.self, "\(name)") { try bytes.withUnsafeBytes { try AuditEntryCodec.validate($0) } }
    }

    @Test func rejectsInvalidUTF8() {
        var bytes = AuditEntryCodec.encode(small)
        bytes[21] = 0xFF  // the actor id "a"
        #expect(throws: AuditError.self) { try AuditEntryCodec.decode(bytes) }
        #expect(throws: AuditError.self) { try bytes.withUnsafeBytes { try AuditEntryCodec.validate($0) } }
    }
}
