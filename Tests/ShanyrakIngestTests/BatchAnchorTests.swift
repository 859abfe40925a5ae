import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Testing

/// Batch anchors: every ingest batch's digest of its records, kept (in the audit log) apart from the
/// registry, so that `registry verify` sees a record deleted, re-dated, swapped, reordered or added
/// by someone who can write the registry file.
struct BatchAnchorTests {
    let persons = makePersons(6)

    /// A registry with three batches: the register (1), a labour feed (2) and a newer one (3); and the
    /// anchors their ingests returned, by batch, as the audit log keeps them.
    func populated() throws -> (Fixture, [Int64: BatchAnchor]) {
        let f = try Fixture()
        var anchors: [Int64: BatchAnchor] = [:]
        for (source, text) in [
            ("population", populationCSV(persons)),
            ("labour", feed(income: "150000", date: "2024-02-01")),
            ("labour", feed(income: "90000", date: "2024-03-01")),
        ] {
            let anchor = try #require(try f.ingest(source, text).anchor)
            anchors[anchor.batch] = anchor
        }
        #expect(anchors.keys.sorted() == [1, 2, 3])
        return (f, anchors)
    }

    func feed(income: String, date: String) -> String {
        ([labourHeader] + persons.map { labourRow($0.iin, income: income, date: date) }).joined(separator: "\n") + "\n"
    }

    func verify(_ f: Fixture, _ anchors: [Int64: BatchAnchor]) throws -> RegistryAnchorReport {
        try Registry.verifyAnchors(dataDirectory: f.dataDir) { anchors }
    }

    /// Runs `sql` on the registry file through a connection of its own, as a DBA would.
    func edit(_ f: Fixture, _ sql: String) throws {
        let queue = try DatabaseQueue(path: f.dataDir.appendingPathComponent(Registry.fileName).path)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }

    @Test("an untouched registry matches its anchors, and an anchor is what the registry digests now")
    func untouchedRegistryVerifies() throws {
        let (f, anchors) = try populated()
        let report = try verify(f, anchors)
        #expect(report.isValid, "\(report.problems)")
        #expect(report.batchesVerified == 3)
        #expect(report.recordsVerified == Int64(persons.count * 3))
        #expect(try f.registry.anchors(ofBatches: [3, 1, 2]) == anchors.keys.sorted().compactMap { anchors[$0] })
        #expect(anchors[3]?.source == "labour" && anchors[3]?.records == Int64(persons.count))
    }

    /// Edits by someone who can write the registry file, and what verify must say of them.
    static let edits: [(name: String, sql: String, expected: [BatchAnchorProblem.Kind: [Int64]])] = [
        (
            "delete a subject's newest record",
            "DELETE FROM record WHERE id = (SELECT max(id) FROM record WHERE id >> 32 = 3)",
            [.changed: [3]]
        ),
        (
            "date a record back",
            "UPDATE record SET observed_at = '2024-01-15' WHERE id = (SELECT max(id) FROM record)",
            [.changed: [3]]
        ),
        (
            "swap the payloads of two records",
            """
            CREATE TEMP TABLE kept AS SELECT id, payload FROM record WHERE id IN ((2 << 32 | 1), (3 << 32 | 1));
            UPDATE record SET payload = (SELECT payload FROM kept WHERE kept.id <> record.id)
            WHERE id IN ((2 << 32 | 1), (3 << 32 | 1))
            """,
            [.changed: [2, 3]]
        ),
        (
            "reorder two records of one batch",
            """
            UPDATE record SET id = -1 WHERE id = (3 << 32 | 1);
            UPDATE record SET id = (3 << 32 | 1) WHERE id = (3 << 32 | 2);
            UPDATE record SET id = (3 << 32 | 2) WHERE id = -1
            """,
            [.changed: [3]]
        ),
        ("delete a batch", "DELETE FROM record WHERE id >> 32 = 3; DELETE FROM batch WHERE id = 3", [.missing: [3]]),
        ("delete a batch's records only", "DELETE FROM record WHERE id >> 32 = 2", [.changed: [2]]),
        (
            "add a copy of a record to its batch",
            "INSERT INTO record SELECT (2 << 32 | 99), subject, source, observed_at, payload FROM record WHERE id = (2 << 32 | 1)",
            [.changed: [2]]
        ),
        (
            "add a record of a batch that does not exist",
            "INSERT INTO record SELECT (9 << 32 | 1), subject, source, '2025-01-01', payload FROM record WHERE id = (3 << 32 | 1)",
            [.unknownBatch: [9]]
        ),
        (
            // Views take the newest record by date, then id: one with a negative id still wins by its date.
            "add a record with a negative id",
            "INSERT INTO record SELECT -5, subject, source, '2025-01-01', payload FROM record WHERE id = (3 << 32 | 1)",
            [.unknownBatch: [-1]]
        ),
        (
            "add a batch",
            """
            INSERT INTO batch SELECT 4, source, file_digest, started_at, finished_at, rows_read, rows_accepted,
                rows_quarantined, values_written, values_unchanged FROM batch WHERE id = 3;
            INSERT INTO record SELECT (4 << 32 | 1), subject, source, '2025-01-01', payload FROM record WHERE id = (3 << 32 | 1)
            """,
            [.unanchored: [4]]
        ),
        ("give a source another name", "UPDATE source SET name = 'health' WHERE name = 'labour'", [.changed: [2, 3]]),
    ]

    @Test("each edit of the registry file is reported, naming its batch", arguments: 0..<edits.count)
    func editIsReported(_ index: Int) throws {
        let (f, anchors) = try populated()
        let edit = Self.edits[index]
        try self.edit(f, edit.sql)
        let report = try verify(f, anchors)
        var found: [BatchAnchorProblem.Kind: [Int64]] = [:]
        for problem in report.problems { found[problem.kind, default: []].append(problem.batch) }
        #expect(found == edit.expected, "\(edit.name)")
        for problem in report.problems {
            #expect(problem.description.contains("batch \(problem.batch)"))
            for person in persons { #expect(!problem.description.contains(person.iin)) }
        }
    }

    @Test("a registry written before anchors (none in the log) is reported as such, batch by batch")
    func registryWithoutAnchors() throws {
        let (f, _) = try populated()
        let report = try verify(f, [:])
        #expect(report.batchesAnchored == 0)
        #expect(report.problems.map(\.kind) == [.predatesAnchors, .predatesAnchors, .predatesAnchors])
        var anchors = try f.registry.anchors(ofBatches: [2, 3])
        let partial = try verify(f, Dictionary(uniqueKeysWithValues: anchors.map { ($0.batch, $0) }))
        #expect(partial.problems.map(\.kind) == [.predatesAnchors])
        anchors += try f.registry.anchors(ofBatches: [1])
        #expect(try verify(f, Dictionary(uniqueKeysWithValues: anchors.map { ($0.batch, $0) })).isValid)
    }

    @Test("after keys rotate and rewrap, the batches it re-sealed verify against their new anchors only")
    func rewrapRenewsAnchors() throws {
        var (f, anchors) = try populated()
        _ = try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
        var rewritten = Set<Int64>()
        let resealed = try f.registry.rewrap(
            className: "economic", keyring: f.keyring, batchSize: 4, rewritten: { rewritten.formUnion($0) })
        #expect(resealed > 0)
        #expect(rewritten == [2, 3])
        let stale = try verify(f, anchors)
        #expect(stale.problems.map(\.kind) == [.changed, .changed])
        for anchor in try f.registry.anchors(ofBatches: rewritten) { anchors[anchor.batch] = anchor }
        let report = try verify(f, anchors)
        #expect(report.isValid, "\(report.problems)")
        #expect(try f.newestValues(of: "economic.monthly_income", for: persons).allSatisfy { $0 == "90000" })
    }

    @Test("verify leaves the registry file as it was")
    func verifyIsReadOnly() throws {
        let (f, anchors) = try populated()
        let files = ["", "-wal"].map { f.dataDir.appendingPathComponent(Registry.fileName + $0) }
        let before = try files.map { try Data(contentsOf: $0) }
        _ = try verify(f, anchors)
        #expect(try files.map { try Data(contentsOf: $0) } == before)
    }
}
