import Foundation
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCore
import Testing

/// The access path over the Merkle audit log of ShanyrakAudit.
struct MerkleAccessAuditLogTests {
    @Test("Merkle log: every view is an entry before release; a closed log releases nothing")
    func merkle() async throws {
        let (fixture, household, _) = try await CedarAccessPolicyTests.world()
        let (sw, _) = try await fixture.staff(.socialWorker)
        try await fixture.service.setAssignment(
            staffID: sw.id, household: .id(household), assigned: true, actor: nil, requestID: "s")
        let log = try await AuditLog(directory: fixture.directory, signer: nil)
        let service = AccessService(
            registry: fixture.registry, keys: fixture.keys, catalog: fixture.catalog,
            policy: CedarAccessPolicyTests.cedar(fixture.catalog),
            auditLog: MerkleAccessAuditLog(log: log, policySetHash: [1, 2, 3]))
        _ = try await service.householdView(principal: sw, householdID: household, requestID: "m1")
        await #expect(throws: AccessDenied.self) {
            _ = try await service.householdView(
                principal: sw, householdID: String(repeating: "0", count: 32), requestID: "m2")
        }
        let entries = try log.reader.query(AuditQuery())
        #expect(entries.map(\.requestId) == ["m1", "m2"])
        #expect(entries[0].actorId == "staff:\(sw.id)")
        #expect(entries[0].decision == .allow && entries[1].decision == .deny)
        #expect(entries[0].subjects.contains(household))
        #expect(entries[0].indicatorIds.contains("employment.status"))
        #expect(entries[0].policySetHash == [1, 2, 3])

        await log.close()
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await service.householdView(principal: sw, householdID: household, requestID: "m3")
        }
        #expect(try log.reader.query(AuditQuery()).count == 2)
    }
}
