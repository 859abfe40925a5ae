import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ShanyrakAudit
import ShanyrakCore
import ShanyrakIngest
import ShanyrakStore
import Synchronization
import Testing

@testable import ShanyrakServer

/// The running server checks its registry against the batch anchors in the audit log (`RegistryWatch`), as
/// `shanyrak registry verify` does by hand, and reports on `/metrics` and in the server log.
@Suite("HTTP API: the registry watch")
struct RegistryWatchTests {
    /// The fixture's registry with every batch anchored in its log, as ingest would have left it.
    static func anchoredFixture() async throws -> ServerFixture {
        let f = try await ServerFixture.make()
        try await append(f, anchors: try f.registry.anchors(ofBatches: try batches(f)))
        return f
    }

    /// The registry's batch ids, and the police batch's (the fixture's registry has one).
    static func batches(_ f: ServerFixture, source: String? = nil) throws -> [Int64] {
        try f.registry.writer.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM batch WHERE ?1 IS NULL OR source = ?1", arguments: [source])
        }
    }

    /// Appends an operator entry carrying `anchors` to the fixture's log.
    static func append(_ f: ServerFixture, anchors: [BatchAnchor]) async throws {
        _ = try await f.auditLog.append(
            AuditEntryDraft(
                actorId: "operator:test", role: "operator", action: "registry.anchor", view: "none", decision: .allow,
                requestId: "test", batchAnchors: anchors))
    }

    /// A watch over the fixture, writing its log lines to `lines`.
    static func watch(
        _ f: ServerFixture, _ lines: ServerLogHandlerTests.Lines, interval: Duration = .seconds(3600),
        afterRegistryRead: (@Sendable () async throws -> Void)? = nil
    ) -> RegistryWatch {
        let logger = Logger(label: "shanyrak") { ServerLogHandler(label: $0, level: .notice, output: lines.append) }
        return RegistryWatch(
            dataDirectory: f.directory, auditLog: f.auditLog.reader, metrics: f.dependencies.metrics, logger: logger,
            configuration: .init(interval: interval, firstCheckDelay: .zero, grace: .milliseconds(50)),
            afterRegistryRead: afterRegistryRead)
    }

    /// The value of one sample of `/metrics` (name with its labels), or nil when it is not shown.
    static func sample(_ text: String, _ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    /// Runs `sql` on the registry file through a connection of its own, as someone who can write it would.
    static func edit(_ f: ServerFixture, _ sql: String) throws {
        let queue = try DatabaseQueue(path: f.directory.appendingPathComponent(Registry.fileName).path)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }

    /// Edits that make a value lose or change, with the kind the check must report.
    static let edits: [(name: String, sql: @Sendable (_ person: String, _ police: Int64) -> String)] = [
        (
            "a survivor's newest police record deleted, so that an older one wins",
            { person, police in
                "DELETE FROM record WHERE id = (SELECT max(id) FROM record WHERE subject = X'\(person)' "
                    + "AND id >> 32 = \(police))"
            }
        ),
        (
            "a payload changed",
            { _, police in
                "UPDATE record SET payload = zeroblob(length(payload)) WHERE id = (SELECT min(id) FROM record "
                    + "WHERE id >> 32 = \(police))"
            }
        ),
    ]

    @Test(
        "a check passes on an untouched registry; after an edit through SQLite the next one reports it",
        arguments: 0..<2)
    func editIsReported(_ index: Int) async throws {
        let f = try await Self.anchoredFixture()
        let lines = ServerLogHandlerTests.Lines()
        let watch = Self.watch(f, lines)
        let metrics = f.dependencies.metrics
        let batches = try Self.batches(f).count

        let clean = try #require(await watch.check())
        #expect(clean.isValid, "\(clean.problems)")
        #expect(clean.batchesVerified == batches && batches == PopulationGenerator.sources.count)
        var text = metrics.exposition()
        #expect(Self.sample(text, #"shanyrak_registry_check_problems{kind="changed"}"#) == 0)
        #expect(Self.sample(text, #"shanyrak_registry_checks_total{result="passed"}"#) == 1)
        #expect(Self.sample(text, "shanyrak_registry_check_last_completed_timestamp_seconds") ?? 0 > 0)
        #expect(
            lines.all.count == 1 && lines.all[0].contains(" notice shanyrak: registry check passed: \(batches) batches")
        )

        let police = try #require(try Self.batches(f, source: "police").first)
        try Self.edit(f, Self.edits[index].sql(f.person, police))
        let report = try #require(await watch.check())
        #expect(report.problems.map(\.kind) == [.changed], "\(Self.edits[index].name)")
        #expect(report.problems.map(\.batch) == [police])
        text = try await f.application().test(.router) { client in
            let response = try await client.execute(uri: "/metrics", method: .get, headers: f.headers("metrics token"))
            return String(buffer: response.body)
        }
        #expect(Self.sample(text, #"shanyrak_registry_check_problems{kind="changed"}"#) == 1)
        for kind in ["missing", "unanchored", "unknown", "predates_anchors"] {
            #expect(Self.sample(text, "shanyrak_registry_check_problems{kind=\"\(kind)\"}") == 0)
        }
        #expect(Self.sample(text, #"shanyrak_registry_checks_total{result="problems"}"#) == 1)
        #expect(Self.sample(text, "shanyrak_registry_check_duration_seconds") != nil)
        // One warning naming the batch, its source and the kind, then the summary; never a pseudonym or an IIN.
        let warnings = lines.all.filter { $0.contains(" warning shanyrak: ") }
        #expect(warnings.count == 2)
        #expect(warnings.first?.contains("registry check: changed: batch \(police) (police, ") == true)
        #expect(warnings.last?.contains("registry check FAILED: 1 batches do not match their anchors") == true)
        for line in lines.all + [text] {
            #expect(!line.contains(f.person) && !line.contains(f.household))
            for iin in f.iins { #expect(!line.contains(iin)) }
        }
        await f.close()
    }

    @Test("each check reads only the log entries appended since the last one for their anchors, and finds them")
    func anchorsAreReadIncrementally() async throws {
        let f = try await Self.anchoredFixture()
        let watch = Self.watch(f, ServerLogHandlerTests.Lines())
        #expect(try #require(await watch.check()).isValid)
        let size = try f.auditLog.reader.treeSize()
        #expect(watch.entriesReadForAnchors.load(ordering: .relaxed) == size)
        // A batch re-anchored with another digest: the next check reads that one entry and reports the batch.
        let police = try #require(try Self.batches(f, source: "police").first)
        var anchor = try #require(try f.registry.anchors(ofBatches: [police]).first)
        anchor.digest = [UInt8](repeating: 0, count: 32)
        try await Self.append(f, anchors: [anchor])
        let report = try #require(await watch.check())
        #expect(report.problems.map(\.batch) == [police] && report.problems.map(\.kind) == [.changed])
        #expect(watch.entriesReadForAnchors.load(ordering: .relaxed) == size + 1)
        await f.close()
    }

    /// The fixture's police rows observed on `date`: new records for a registry that holds them already.
    static func policeFeed(_ f: ServerFixture, observedOn date: String) -> String {
        let lines = f.policeCSV.split(separator: "\n")
        return
            ([String(lines[0])]
            + lines.dropFirst().map { $0.split(separator: ",").dropLast().joined(separator: ",") + "," + date })
            .joined(separator: "\n") + "\n"
    }

    @Test("a batch ingested during a check is not reported, whether its anchor lands during the check or before")
    func ingestDuringCheck() async throws {
        let f = try await Self.anchoredFixture()
        let ingest = try #require(f.dependencies.ingest)
        let mapping = try #require(ingest.mappings["police"])
        let feed = f.directory.appendingPathComponent("police-feed.csv")
        try Self.policeFeed(f, observedOn: "2026-01-15").write(to: feed, atomically: true, encoding: .utf8)
        // Committed before the check reads the registry, anchored only after: an ingest between its commit and
        // its audit entry.
        let pending = try #require(try ingest.ingester.ingest(file: feed, mapping: mapping).anchor)
        try await f.application().test(.router) { client in
            let once = Mutex(true)
            let lines = ServerLogHandlerTests.Lines()
            let watch = Self.watch(f, lines) {
                guard
                    once.withLock({ first in
                        defer { first = false }
                        return first
                    })
                else { return }
                try await Self.append(f, anchors: [pending])
                // And one loaded through the API once the registry has been read: batch and anchor both new.
                let loaded = try await client.execute(
                    uri: "/v1/ingest/police", method: .post, headers: f.headers("agency", contentType: "text/csv"),
                    body: ByteBuffer(string: Self.policeFeed(f, observedOn: "2026-02-15")))
                #expect(loaded.status == .ok)
            }
            let during = try #require(await watch.check())
            #expect(during.isValid, "\(during.problems)")
            #expect(pending.records == 3, "the pending batch wrote no records")
            let batches = try Self.batches(f).count
            // The next check verifies both.
            let after = try #require(await watch.check())
            #expect(after.isValid, "\(after.problems)")
            #expect(after.batchesVerified == during.batchesVerified + 1 && after.batchesVerified == batches)
            #expect(
                Self.sample(f.dependencies.metrics.exposition(), #"shanyrak_registry_checks_total{result="passed"}"#)
                    == 2)
        }
        await f.close()
    }

    @Test("a check that cannot read the registry is logged and counted; the server serves and the watch goes on")
    func failedCheck() async throws {
        let f = try await Self.anchoredFixture()
        let lines = ServerLogHandlerTests.Lines()
        let watch = Self.watch(f, lines, interval: .milliseconds(20))
        let metrics = f.dependencies.metrics
        let file = f.directory.appendingPathComponent(Registry.fileName)
        let away = f.directory.appendingPathComponent("moved-away.sqlite")
        func waitFor(_ result: String) async throws -> Bool {
            for _ in 0..<500 {
                if Self.sample(metrics.exposition(), "shanyrak_registry_checks_total{result=\"\(result)\"}") ?? 0 > 0 {
                    return true
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }
        try FileManager.default.moveItem(at: file, to: away)
        let running = Task { await watch.run() }
        #expect(try await waitFor("failed"))
        try FileManager.default.moveItem(at: away, to: file)
        #expect(try await waitFor("passed"))
        running.cancel()
        await running.value
        #expect(lines.all.contains { $0.contains(" error shanyrak: registry check could not run: ") })
        #expect(Self.sample(metrics.exposition(), #"shanyrak_registry_check_problems{kind="changed"}"#) == 0)
        try await f.application().test(.router) { client in
            let card = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("social_worker"))
            #expect(card.status == .ok)
        }
        await f.close()
    }

    @Test("without a watch, /metrics shows no registry-check family")
    func noWatchNoFamily() {
        #expect(!ServerMetrics().exposition().contains("shanyrak_registry_check"))
    }

    @Test(
        "--verify-registry-every reads durations; anything else is refused",
        arguments: [
            ("1h", 3600), ("30m", 1800), ("90s", 90), ("1h30m", 5400), ("2d", 172_800), ("0", 0), ("0s", 0),
            ("", nil), ("1", nil), ("h", nil), ("1x", nil), ("-1h", nil), ("1.5h", nil), ("99999999999999999d", nil),
        ] as [(String, Int64?)])
    func intervals(_ text: String, _ seconds: Int64?) {
        let parsed = RegistryWatch.Configuration.interval(parsing: text)
        #expect(parsed == seconds.map { .seconds($0) }, "\(text)")
        if let parsed, parsed > .zero {
            #expect(
                RegistryWatch.Configuration.interval(
                    parsing: RegistryWatch.Configuration(interval: parsed).intervalText) == parsed)
        }
    }
}
