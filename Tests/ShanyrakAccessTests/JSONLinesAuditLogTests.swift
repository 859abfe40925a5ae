import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakTestSupport
import Testing

struct JSONLinesAuditLogTests {
    static func entry(_ id: String) -> AccessAuditEntry {
        AccessAuditEntry(
            time: 1, actor: 7, role: .socialWorker, action: .read, view: .household, subjects: ["ab"],
            indicators: ["employment.status"], decision: .allow, policyIDs: ["p"], requestID: id)
    }

    @Test("appends one canonical line per entry and runs the release after it")
    func appends() async throws {
        let dir = try TestDirectory.make("jsonl")
        let log = JSONLinesAccessAuditLog(url: dir.appendingPathComponent("log.jsonl"))
        let released = try await log.recordThenRelease(Self.entry("one")) { 42 }
        try await log.append(Self.entry("two"))
        #expect(released == 42)
        let lines = try String(contentsOf: dir.appendingPathComponent("log.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 2)
        let decoded = try JSONDecoder().decode(AccessAuditEntry.self, from: Data(lines[0].utf8))
        #expect(decoded == Self.entry("one"))
        #expect(lines[1].contains("\"request_id\":\"two\""))
    }

    @Test("a log that cannot be written releases nothing, and the service says so")
    func failure() async throws {
        // A directory cannot be opened for writing, even by root: the append fails.
        let dir = try TestDirectory.make("jsonl")
        let log = JSONLinesAccessAuditLog(url: dir)
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await log.recordThenRelease(Self.entry("x")) { () -> Int in
                Issue.record("release ran although the append failed")
                return 0
            }
        }

        let fixture = try Fixture()
        let people = Fixture.population(households: 1, seed: 5)
        try fixture.ingest("population", Fixture.populationCSV(people))
        let (sw, _) = try await fixture.staff(.socialWorker)
        let household = fixture.householdID(registerID: people[0].household)
        try await fixture.service.setAssignment(
            staffID: sw.id, household: .id(household), assigned: true, actor: nil, requestID: "s")
        let service = AccessService(
            registry: fixture.registry, keys: fixture.keys, catalog: fixture.catalog,
            policy: DefaultAccessPolicy(catalog: fixture.catalog), auditLog: log)
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await service.householdView(principal: sw, householdID: household, requestID: "r")
        }
    }
}
