import Foundation
import GRDB
import ShanyrakAccess
import ShanyrakCore
import ShanyrakStore
import Testing

struct AccessServiceTests {
    /// Two households in district 01-01; one victim with violence data in the first.
    struct World {
        let fixture: Fixture
        let people: [GeneratedPerson]
        let first: String
        let second: String
        let victim: String

        init() throws {
            fixture = try Fixture()
            let people = Fixture.population(households: 2, seed: 42).map {
                var p = $0
                p.district = "01-01"
                return p
            }
            self.people = people
            try fixture.ingest("population", Fixture.populationCSV(people))
            try fixture.ingest("labour", Fixture.labourCSV(people, seed: 42))
            let v = people[0]
            try fixture.ingest(
                "police",
                "iin,indicator,value,observed_on\n\(v.iin),violence.protection_order,true,2026-04-01\n\(v.iin),violence.dv_report_count,2,2026-04-01\n"
            )
            first = fixture.householdID(registerID: people[0].household)
            second = fixture.householdID(registerID: people.first { $0.household != people[0].household }!.household)
            victim = try fixture.personID(iin: v.iin)
        }

        func assign(_ principal: Principal, _ household: String) async throws {
            try await fixture.service.setAssignment(
                staffID: principal.id, household: .id(household), assigned: true, actor: nil, requestID: "setup")
        }
    }

    @Test("a social worker sees their caseload and is denied, audited, outside it")
    func socialWorkerCaseload() async throws {
        let world = try World()
        let (sw, _) = try await world.fixture.staff(.socialWorker)
        try await world.assign(sw, world.first)

        let view = try await world.fixture.service.householdView(
            principal: sw, householdID: world.first, requestID: "a1")
        #expect(view.household.hex == world.first)
        #expect(!view.members.isEmpty)
        #expect(view.members.allSatisfy { $0.indicators.keys.allSatisfy { !$0.hasPrefix("violence.") } })
        let caseload = try await world.fixture.service.caseload(principal: sw, requestID: "c1")
        #expect(caseload.households.map(\.household.hex) == [world.first])

        await #expect(throws: AccessDenied.self) {
            _ = try await world.fixture.service.householdView(principal: sw, householdID: world.second, requestID: "a2")
        }
        let entries = await world.fixture.log.entries
        let denial = try #require(entries.first { $0.requestID == "a2" })
        #expect(denial.decision == .deny)
        #expect(denial.actor == sw.id)
        #expect(denial.subjects == [world.second])
        #expect(denial.indicators.isEmpty)
        let allowed = try #require(entries.first { $0.requestID == "a1" })
        #expect(allowed.decision == .allow)
        #expect(allowed.indicators.contains("employment.status"))
        #expect(!allowed.indicators.contains { $0.hasPrefix("violence.") })
    }

    @Test("a household that does not exist gets the same denial, audited")
    func unknownHousehold() async throws {
        let world = try World()
        let (sw, _) = try await world.fixture.staff(.socialWorker)
        for id in [String(repeating: "0", count: 32), "not-a-pseudonym"] {
            do {
                _ = try await world.fixture.service.householdView(principal: sw, householdID: id, requestID: "u")
                Issue.record("expected a denial")
            } catch let error as AccessDenied {
                #expect(String(describing: error) == "access denied")
            }
        }
        let denials = await world.fixture.log.entries.filter { $0.requestID == "u" }
        #expect(denials.count == 2)
        #expect(denials.allSatisfy { $0.decision == .deny })
        #expect(denials[1].subjects == ["invalid"])
    }

    @Test("a GBV specialist with the case sees violence indicators in a person view; a social worker does not")
    func personViews() async throws {
        let world = try World()
        let (gbv, _) = try await world.fixture.staff(.gbvSpecialist)
        let (sw, _) = try await world.fixture.staff(.socialWorker)
        try await world.assign(gbv, world.first)
        try await world.assign(sw, world.first)

        let gbvView = try await world.fixture.service.personView(
            principal: gbv, personID: world.victim, requestID: "p1")
        #expect(gbvView.indicators["violence.protection_order"] == "true")
        #expect(gbvView.indicators["violence.dv_report_count"] == "2")
        let swView = try await world.fixture.service.personView(principal: sw, personID: world.victim, requestID: "p2")
        #expect(swView.indicators.keys.allSatisfy { !$0.hasPrefix("violence.") })
        #expect(swView.indicators["identity.address"] == nil)
        #expect(swView.indicators["employment.status"] != nil)

        // The household view of the GBV specialist still holds no violence data.
        let card = try await world.fixture.service.householdView(
            principal: gbv, householdID: world.first, requestID: "p3")
        let text = String(decoding: try card.canonicalJSON(), as: UTF8.self)
        #expect(!text.contains("violence"))
        #expect(!text.contains("identity.address"))
    }

    @Test(
        "researchers, auditors, administrators and agencies get no views",
        arguments: [
            Role.researcher, .auditor, .administrator, .agency,
        ])
    func otherRolesDenied(role: Role) async throws {
        let world = try World()
        let (principal, _) = try await world.fixture.staff(role)
        try await world.assign(principal, world.first)
        await #expect(throws: AccessDenied.self) {
            _ = try await world.fixture.service.householdView(
                principal: principal, householdID: world.first, requestID: "r1")
        }
        await #expect(throws: AccessDenied.self) {
            _ = try await world.fixture.service.personView(
                principal: principal, personID: world.victim, requestID: "r2")
        }
        let entries = await world.fixture.log.entries.filter { $0.requestID.hasPrefix("r") }
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0.decision == .deny && $0.actor == principal.id })
    }

    @Test("tokens: right one authenticates, wrong and revoked ones do not")
    func tokens() async throws {
        let world = try World()
        let (sw, token) = try await world.fixture.staff(.socialWorker)
        #expect(try world.fixture.service.authenticate(token: token) == sw)
        #expect(try world.fixture.service.authenticate(token: token + "x") == nil)
        #expect(try world.fixture.service.authenticate(token: "") == nil)
        #expect(try world.fixture.service.authenticate(token: StaffToken.generate()) == nil)
        #expect(try await world.fixture.service.revokeStaff(id: sw.id, actor: nil, requestID: "rv"))
        #expect(try world.fixture.service.authenticate(token: token) == nil)
        #expect(try await world.fixture.service.revokeStaff(id: sw.id, actor: nil, requestID: "rv") == false)
        #expect(token.hasPrefix("shk_") && token.count == 68)
    }

    @Test("tokens: a rotated token stops working at once, the new one works, the account keeps its caseload")
    func rotatedToken() async throws {
        let world = try World()
        // A cache that would remember the old token for an hour: rotation must forget it.
        let service = Self.service(world, authenticationCacheLifetime: .seconds(3600))
        let (sw, oldToken) = try await world.fixture.staff(.socialWorker)
        try await world.assign(sw, world.first)
        #expect(try service.authenticate(token: oldToken) == sw)
        let newToken = try #require(try await service.rotateToken(staffID: sw.id, actor: nil, requestID: "rot"))
        #expect(newToken != oldToken && newToken.hasPrefix("shk_"))
        #expect(try service.authenticate(token: oldToken) == nil)
        let again = try #require(try service.authenticate(token: newToken))
        #expect(again == sw)
        _ = try await service.householdView(principal: again, householdID: world.first, requestID: "after-rotation")
        let entry = try #require(await world.fixture.log.entries.first { $0.requestID == "rot" })
        #expect(entry.policyIDs == ["users.rotate-token"] && entry.subjects == ["staff:\(sw.id)"])
        #expect(entry.decision == .allow && entry.indicators.isEmpty)
        // A revoked or unknown account gets no token, and nothing is recorded for it.
        #expect(try await service.revokeStaff(id: sw.id, actor: nil, requestID: "rv"))
        #expect(try await service.rotateToken(staffID: sw.id, actor: nil, requestID: "rot-revoked") == nil)
        #expect(try await service.rotateToken(staffID: 9_999, actor: nil, requestID: "rot-unknown") == nil)
        #expect(try service.authenticate(token: newToken) == nil)
        let refused = await world.fixture.log.entries.filter { $0.requestID.hasPrefix("rot-") }
        #expect(refused.isEmpty)
    }

    @Test("tokens: a rotation that cannot be audited replaces nothing")
    func rotationNeedsTheAuditLog() async throws {
        let world = try World()
        let (sw, token) = try await world.fixture.staff(.socialWorker)
        await world.fixture.log.setFailing(true)
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await world.fixture.service.rotateToken(staffID: sw.id, actor: nil, requestID: "rot")
        }
        await world.fixture.log.setFailing(false)
        #expect(try world.fixture.service.authenticate(token: token) == sw)
    }

    /// A service over the world's registry with its own authentication cache lifetime.
    static func service(_ world: World, authenticationCacheLifetime: Duration) -> AccessService {
        let f = world.fixture
        return AccessService(
            registry: f.registry, keys: f.keys, catalog: f.catalog, policy: DefaultAccessPolicy(catalog: f.catalog),
            auditLog: f.log, pseudonymiser: f.pseudonymiser, clock: { Fixture.fixedNow },
            authenticationCacheLifetime: authenticationCacheLifetime)
    }

    @Test("tokens: a remembered authentication is revoked at once through the service")
    func rememberedTokenRevokedThroughService() async throws {
        let world = try World()
        let service = Self.service(world, authenticationCacheLifetime: .seconds(3600))
        let (sw, token) = try await world.fixture.staff(.socialWorker)
        let (other, otherToken) = try await world.fixture.staff(.gbvSpecialist)
        for _ in 0..<3 {
            #expect(try service.authenticate(token: token) == sw)
            #expect(try service.authenticate(token: otherToken) == other)
        }
        #expect(try await service.revokeStaff(id: sw.id, actor: nil, requestID: "rv"))
        #expect(try service.authenticate(token: token) == nil)
        #expect(try service.authenticate(token: otherToken) == other)
    }

    @Test("tokens: a revocation by another process takes effect within the cache lifetime, or at once without one")
    func revocationElsewhere() async throws {
        let world = try World()
        let lifetime = Duration.milliseconds(300)
        let cached = Self.service(world, authenticationCacheLifetime: lifetime)
        let uncached = Self.service(world, authenticationCacheLifetime: .zero)
        let (sw, token) = try await world.fixture.staff(.socialWorker)
        #expect(try cached.authenticate(token: token) == sw)
        #expect(try uncached.authenticate(token: token) == sw)
        // The command line revokes through its own service, i.e. straight in the registry for this one.
        #expect(try world.fixture.registry.revokeStaff(id: sw.id))
        #expect(try uncached.authenticate(token: token) == nil)
        try await Task.sleep(for: lifetime + .milliseconds(50))
        #expect(try cached.authenticate(token: token) == nil)
        // Unknown and revoked tokens are never remembered: a new account works at once.
        let (newcomer, newToken) = try await world.fixture.staff(.researcher)
        #expect(try cached.authenticate(token: newToken) == newcomer)
    }

    @Test("when the audit log fails, nothing is released")
    func auditFailure() async throws {
        let world = try World()
        let (sw, _) = try await world.fixture.staff(.socialWorker)
        try await world.assign(sw, world.first)
        let releasesBefore = await world.fixture.log.releases
        await world.fixture.log.setFailing(true)
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await world.fixture.service.householdView(principal: sw, householdID: world.first, requestID: "f1")
        }
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await world.fixture.service.personView(principal: sw, personID: world.victim, requestID: "f2")
        }
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await world.fixture.service.caseload(principal: sw, requestID: "f3")
        }
        // A denial that cannot be audited is reported as the log failure, not silently.
        await #expect(throws: AuditLogUnavailable.self) {
            _ = try await world.fixture.service.householdView(principal: sw, householdID: world.second, requestID: "f4")
        }
        #expect(await world.fixture.log.releases == releasesBefore)
        await world.fixture.log.setFailing(false)
        _ = try await world.fixture.service.householdView(principal: sw, householdID: world.first, requestID: "f5")
        #expect(await world.fixture.log.releases == releasesBefore + 1)
    }

    @Test("break-glass: allowed in the district with a justification, flagged and sealed in the log")
    func breakGlass() async throws {
        let world = try World()
        let (gbv, _) = try await world.fixture.staff(.gbvSpecialist)
        await #expect(throws: AccessDenied.self) {
            _ = try await world.fixture.service.personView(principal: gbv, personID: world.victim, requestID: "b0")
        }
        // A blank or over-long justification is refused with its rule, and the attempt is recorded as a
        // denied break-glass read without the text.
        await #expect(throws: InvalidJustification(rule: "the justification must not be blank")) {
            _ = try await world.fixture.service.breakGlassPersonView(
                principal: gbv, personID: world.victim, justification: " \n\u{3000}", requestID: "b1")
        }
        let tooLong = String(repeating: "ж", count: AccessService.maximumJustificationLength + 1)
        await #expect(throws: InvalidJustification(rule: "the justification must be at most 1024 characters")) {
            _ = try await world.fixture.service.breakGlassPersonView(
                principal: gbv, personID: world.victim, justification: tooLong, requestID: "b1-long")
        }
        for id in ["b1", "b1-long"] {
            let refused = try #require(await world.fixture.log.entries.first { $0.requestID == id })
            #expect(refused.decision == .deny && refused.breakGlass && refused.justification == nil)
        }
        let longest = String(repeating: "ж", count: AccessService.maximumJustificationLength)
        _ = try await world.fixture.service.breakGlassPersonView(
            principal: gbv, personID: world.victim, justification: longest, requestID: "b1-longest")
        let justification = "Hospital called about an injured woman"
        let view = try await world.fixture.service.breakGlassPersonView(
            principal: gbv, personID: world.victim, justification: justification, requestID: "b2")
        #expect(view.indicators["violence.protection_order"] == "true")
        let entry = try #require(await world.fixture.log.entries.first { $0.requestID == "b2" })
        #expect(entry.breakGlass)
        #expect(entry.policyIDs == ["gbv-break-glass"])
        let sealed = try #require(entry.justification)
        let encoded = String(decoding: try entry.canonicalJSON(), as: UTF8.self)
        #expect(!encoded.contains("Hospital"))
        #expect(sealed.sealed.count > justification.utf8.count)

        let (other, _) = try await world.fixture.staff(.gbvSpecialist, district: "09-09")
        await #expect(throws: AccessDenied.self) {
            _ = try await world.fixture.service.breakGlassPersonView(
                principal: other, personID: world.victim, justification: justification, requestID: "b3")
        }
    }

    @Test("a view whose stored value does not open is an error, and the attempt is in the log as a denial")
    func failedReadsAreRecorded() async throws {
        let world = try World()
        let (sw, _) = try await world.fixture.staff(.socialWorker)
        try await world.fixture.service.setAssignment(
            staffID: sw.id, household: .id(world.first), assigned: true, actor: nil, requestID: "s")
        _ = try await world.fixture.service.householdView(principal: sw, householdID: world.first, requestID: "ok")
        // Flip the last byte of every stored record: its last sealed value no longer authenticates.
        try await world.fixture.registry.writer.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, payload FROM record")
            for row in rows {
                var payload: [UInt8] = Array(row["payload"] as Data)
                payload[payload.count - 1] ^= 0x01
                try db.execute(
                    sql: "UPDATE record SET payload = ? WHERE id = ?", arguments: [Data(payload), row["id"] as Int64])
            }
        }
        await #expect(throws: (any Error).self) {
            _ = try await world.fixture.service.householdView(principal: sw, householdID: world.first, requestID: "bad")
        }
        let entry = try #require(await world.fixture.log.entries.first { $0.requestID == "bad" })
        #expect(entry.decision == .deny && entry.indicators.isEmpty)
    }

    /// Changes to a record that an attacker with write access to the registry file could make to change
    /// what a view shows: the older "false" protection order re-dated to win over the newer "true", the
    /// newer record moved to another source, or the source renamed.
    static let recordEdits: [String] = [
        "UPDATE record SET observed_at = '2026-05-01' WHERE observed_at = '2026-03-01'",
        """
        UPDATE record SET source = (SELECT number FROM source WHERE name = 'labour')
        WHERE observed_at = '2026-04-01' AND source = (SELECT number FROM source WHERE name = 'police')
        """,
        "UPDATE source SET name = 'justice' WHERE name = 'police'",
    ]

    @Test(
        "a record re-dated or re-sourced in the registry file does not open: the view fails, audited as a denial",
        arguments: recordEdits)
    func editedRecordsFailTheView(_ edit: String) async throws {
        let world = try World()
        try world.fixture.ingest(
            "police",
            "iin,indicator,value,observed_on\n\(world.people[0].iin),violence.protection_order,false,2026-03-01\n")
        let (gbv, _) = try await world.fixture.staff(.gbvSpecialist)
        try await world.assign(gbv, world.first)
        let before = try await world.fixture.service.personView(principal: gbv, personID: world.victim, requestID: "ok")
        #expect(before.indicators["violence.protection_order"] == "true")

        let attacker = try DatabaseQueue(
            path: world.fixture.directory.appendingPathComponent(Registry.fileName).path)
        try await attacker.write { db in
            try db.execute(sql: edit)
            #expect(db.changesCount > 0)
        }
        try attacker.close()

        await #expect(throws: AccessFailure.self) {
            _ = try await world.fixture.service.personView(principal: gbv, personID: world.victim, requestID: "edited")
        }
        let entry = try #require(await world.fixture.log.entries.first { $0.requestID == "edited" })
        #expect(entry.decision == .deny && entry.indicators.isEmpty)
        #expect(await world.fixture.log.entries.filter { $0.requestID == "edited" }.count == 1)
    }

    @Test("the same household seen twice by the same user is the same bytes")
    func canonicalBytes() async throws {
        let world = try World()
        let (sw, _) = try await world.fixture.staff(.socialWorker)
        try await world.assign(sw, world.first)
        let a = try await world.fixture.service.householdView(principal: sw, householdID: world.first, requestID: "x1")
        let b = try await world.fixture.service.householdView(principal: sw, householdID: world.first, requestID: "x2")
        #expect(try a.canonicalJSON() == b.canonicalJSON())
        let text = String(decoding: try a.canonicalJSON(), as: UTF8.self)
        #expect(!text.contains("x1"))
        #expect(a.members.map(\.pseudonym) == a.members.map(\.pseudonym).sorted())
        #expect(a.members.allSatisfy { $0.sex == "male" || $0.sex == "female" })
        #expect(a.members.allSatisfy { $0.ageBand != .unknown })
    }

    @Test("administrators find households by IIN or register id, and the lookup is audited")
    func findHousehold() async throws {
        let world = try World()
        let iin = try IIN(validating: world.people[0].iin)
        let byIIN = try await world.fixture.service.findHousehold(.iin(iin), actor: nil, requestID: "h1")
        let byRegister = try await world.fixture.service.findHousehold(
            .registerID(world.people[0].household), actor: nil, requestID: "h2")
        #expect(byIIN.hex == world.first)
        #expect(byRegister == byIIN)
        await #expect(throws: AccessDenied.self) {
            _ = try await world.fixture.service.findHousehold(.registerID("nope"), actor: nil, requestID: "h3")
        }
        let entries = await world.fixture.log.entries.filter { $0.requestID.hasPrefix("h") }
        #expect(entries.map(\.decision) == [.allow, .allow, .deny])
    }
}
