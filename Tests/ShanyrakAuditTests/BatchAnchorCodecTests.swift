import Foundation
import ShanyrakAudit
import ShanyrakCore
import Testing

@testable import ShanyrakAudit

/// Field 15 of an entry: the batch anchors of an ingest or rewrap (docs/audit.md, section 1.1).
struct BatchAnchorCodecTests {
    static let digest = [UInt8](repeating: 0xCD, count: 32)

    let small = AuditEntry(
        sequence: 1, timeMicroseconds: 2,
        draft: AuditEntryDraft(
            actorId: "a", role: "r", action: "x", view: "v", subjects: ["s2", "s1", "s2"], decision: .deny,
            policyIds: ["p"], policySetHash: [0xAA], requestId: "q"))

    var anchored: AuditEntry {
        var entry = small
        entry.batchAnchors = [BatchAnchor(batch: 7, source: "pol", records: 3, digest: Self.digest)]
        return entry
    }

    @Test("an entry with one anchor has the bytes docs/audit.md gives")
    func knownBytes() throws {
        // The example of section 1.1, then field 15 written out by hand.
        let want = unhex(
            "01" + "0000000000000001" + "0000000000000002" + "0000000161" + "0000000172" + "0000000178"
                + "0000000176" + "00000002" + "000000027331" + "000000027332" + "00000000" + "00" + "00000001"
                + "0000000170" + "00000001aa" + "0000000171" + "00"
                + "01" + "00000001" + "0000000000000007" + "00000003706f6c" + "0000000000000003" + "00000020"
                + String(repeating: "cd", count: 32))
        #expect(AuditEntryCodec.encode(anchored) == want)
        #expect(try AuditEntryCodec.decode(want) == anchored)
        let fast = try want.withUnsafeBytes { try AuditEntryCodec.batchAnchors($0) }
        #expect(fast.anchors == anchored.batchAnchors && fast.sequence == 1)
        #expect(try want.withUnsafeBytes { try AuditEntryCodec.validate($0) }.sequence == 1)
    }

    @Test("an entry without anchors keeps the bytes it had before the field existed")
    func entriesWithoutAnchorsAreUnchanged() throws {
        let old = unhex(
            "01" + "0000000000000001" + "0000000000000002" + "0000000161" + "0000000172" + "0000000178"
                + "0000000176" + "00000002" + "000000027331" + "000000027332" + "00000000" + "00" + "00000001"
                + "0000000170" + "00000001aa" + "0000000171" + "00")
        let decoded = try AuditEntryCodec.decode(old)
        #expect(decoded.batchAnchors.isEmpty)
        #expect(AuditEntryCodec.encode(decoded) == old)
        #expect(try old.withUnsafeBytes { try AuditEntryCodec.batchAnchors($0) }.anchors.isEmpty)
    }

    @Test("anchors are kept by increasing batch, and their JSON form names the digest in hex")
    func sortedAndJSON() throws {
        var entry = small
        entry.batchAnchors = [
            BatchAnchor(batch: 9, source: "b", records: 0, digest: Self.digest),
            BatchAnchor(batch: 2, source: "a", records: 5, digest: Self.digest),
        ]
        let bytes = AuditEntryCodec.encode(entry)
        #expect(try AuditEntryCodec.decode(bytes).batchAnchors.map(\.batch) == [2, 9])
        let data = try JSONEncoder().encode(AuditEntry(sequence: 1, timeMicroseconds: 2, draft: entry.draft))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"digest\":\"" + String(repeating: "cd", count: 32) + "\""))
        #expect(try JSONDecoder().decode(AuditEntry.self, from: data).batchAnchors.map(\.batch) == [2, 9])
        #expect(!String(decoding: try JSONEncoder().encode(small), as: UTF8.self).contains("batchAnchors"))
    }

    @Test(
        "a non-canonical field 15 is refused",
        arguments: [
            ("presence byte 0 alone", "00"),
            (
                "presence byte 0 before an anchor (absent is no byte)",
                "0000000001" + "0000000000000007" + "0000000170" + "0000000000000003" + "00000020"
                    + String(repeating: "cd", count: 32)
            ),
            ("no anchor", "0100000000"),
            (
                "digest of 31 bytes",
                "0100000001" + "0000000000000007" + "0000000170" + "0000000000000003" + "0000001f"
                    + String(repeating: "cd", count: 31)
            ),
            (
                "batches not increasing",
                "0100000002"
                    + ("0000000000000007" + "0000000170" + "0000000000000003" + "00000020"
                        + String(repeating: "cd", count: 32))
                    + ("0000000000000007" + "0000000170" + "0000000000000003"
                        + "00000020" + String(repeating: "cd", count: 32))
            ),
            (
                "batch out of range",
                "0100000001" + "8000000000000000" + "0000000170" + "0000000000000003" + "00000020"
                    + String(repeating: "cd", count: 32)
            ),
        ])
    func rejectsNonCanonical(_ name: String, _ field: String) {
        let bytes = AuditEntryCodec.encode(small) + unhex(field)
        #expect(throws: AuditError.self, "\(name)") { try AuditEntryCodec.decode(bytes) }
        #expect(throws: AuditError.self, "\(name)") { try bytes.withUnsafeBytes { try AuditEntryCodec.validate($0) } }
        #expect(throws: AuditError.self, "\(name)") {
            try bytes.withUnsafeBytes { try AuditEntryCodec.batchAnchors($0) }
        }
    }

    @Test("the reader gives each batch's newest anchor, and reads only below a size when asked")
    func newestAnchorWins() async throws {
        let directory = try temporaryDirectory()
        let log = try await AuditLog(directory: directory, signer: try makeSigner())
        func anchor(_ batch: Int64, _ byte: UInt8) -> BatchAnchor {
            BatchAnchor(batch: batch, source: "labour", records: 1, digest: [UInt8](repeating: byte, count: 32))
        }
        var entries = [draft(0), draft(1), draft(2)]
        entries[0].batchAnchors = [anchor(1, 1), anchor(2, 1)]
        entries[2].batchAnchors = [anchor(2, 2)]
        for entry in entries { _ = try await log.append(entry) }
        await log.close()
        let reader = try AuditLogReader(directory: directory)
        let newest = try reader.newestBatchAnchors()
        #expect(newest.mapValues(\.anchor.digest.first) == [1: 1, 2: 2])
        #expect(newest[2]?.sequence == 2)
        #expect(newest.mapValues(\.replaced) == [1: 0, 2: 1])
        #expect(try reader.newestBatchAnchors(below: 2).mapValues(\.anchor.digest.first) == [1: 1, 2: 1])
        // From an entry on: only the anchors appended since (what a server's registry check reads again).
        #expect(try reader.newestBatchAnchors(from: 1).mapValues(\.anchor.digest.first) == [2: 2])
        #expect(try reader.newestBatchAnchors(from: 1, below: 2).isEmpty)
        // Read a chunk of entries per read transaction, the result is the same as in one.
        for chunk: UInt64 in [1, 2, 3] {
            #expect(try reader.newestBatchAnchors(from: 0, below: nil, chunk: chunk) == newest, "chunk \(chunk)")
            #expect(try reader.newestBatchAnchors(from: 0, below: 2, chunk: chunk).count == 2, "chunk \(chunk)")
        }
    }
}
