import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakPolicy
import ShanyrakTestSupport
import Testing

/// The access path under the repository's Cedar policies (ShanyrakPolicy).
struct CedarAccessPolicyTests {
    static func cedar(_ catalog: IndicatorCatalog) -> any AccessPolicy {
        // The repository's default policies; a load failure fails the test through the force-try.
        try! CedarAccessPolicy.load(directory: Fixture.root.appendingPathComponent("policies"), catalog: catalog)
    }

    /// One household in district 01-01 with a victim, under the Cedar policies.
    static func world() async throws -> (Fixture, household: String, victim: String) {
        let fixture = try Fixture(policy: cedar)
        let people = Fixture.population(households: 1, seed: 9).map {
            var p = $0
            p.district = "01-01"
            return p
        }
        try fixture.ingest("population", Fixture.populationCSV(people))
        try fixture.ingest("labour", Fixture.labourCSV(people, seed: 9))
        try fixture.ingest(
            "police", "iin,indicator,value,observed_on\n\(people[0].iin),violence.protection_order,true,2026-04-01\n")
        return (fixture, fixture.householdID(registerID: people[0].household), try fixture.personID(iin: people[0].iin))
    }

    @Test(
        "Cedar policies: social worker reads the card, GBV specialist violence data in person views, researcher nothing"
    )
    func cedarRoles() async throws {
        let (fixture, household, victim) = try await Self.world()
        let (sw, _) = try await fixture.staff(.socialWorker)
        let (gbv, _) = try await fixture.staff(.gbvSpecialist)
        let (researcher, _) = try await fixture.staff(.researcher)
        for p in [sw, gbv, researcher] {
            try await fixture.service.setAssignment(
                staffID: p.id, household: .id(household), assigned: true, actor: nil, requestID: "s")
        }
        let card = try await fixture.service.householdView(principal: sw, householdID: household, requestID: "c1")
        #expect(card.members.contains { $0.indicators["employment.status"] != nil })
        // Names are on the card; birth dates (the card shows the age band) and IINs are not.
        #expect(card.members.allSatisfy { $0.indicators["identity.last_name"] != nil && $0.ageBand != .unknown })
        #expect(card.members.allSatisfy { $0.indicators["identity.birth_date"] == nil })
        #expect(card.members.allSatisfy { $0.indicators["identity.iin"] == nil })
        let swPerson = try await fixture.service.personView(principal: sw, personID: victim, requestID: "c2")
        #expect(swPerson.indicators.keys.allSatisfy { !$0.hasPrefix("violence.") })
        // The person view of an assigned member keeps the birth date and the IIN.
        #expect(swPerson.indicators["identity.birth_date"] != nil && swPerson.indicators["identity.iin"] != nil)
        let gbvPerson = try await fixture.service.personView(principal: gbv, personID: victim, requestID: "c3")
        #expect(gbvPerson.indicators["violence.protection_order"] == "true")
        // The repository's policies give GBV specialists person views only.
        await #expect(throws: AccessDenied.self) {
            _ = try await fixture.service.householdView(principal: gbv, householdID: household, requestID: "c4")
        }
        await #expect(throws: AccessDenied.self) {
            _ = try await fixture.service.householdView(principal: researcher, householdID: household, requestID: "c5")
        }
        let entry = try #require(await fixture.log.entries.first { $0.requestID == "c1" })
        #expect(!entry.policyIDs.isEmpty)
    }

    @Test(
        "Cedar policies: break-glass person view in the district; never violence, phone or address for a social worker"
    )
    func cedarBreakGlass() async throws {
        let (fixture, _, victim) = try await Self.world()
        let (sw, _) = try await fixture.staff(.socialWorker)
        await #expect(throws: AccessDenied.self) {
            _ = try await fixture.service.personView(principal: sw, personID: victim, requestID: "b1")
        }
        let view = try await fixture.service.breakGlassPersonView(
            principal: sw, personID: victim, justification: "child at risk, school called", requestID: "b2")
        #expect(view.indicators.keys.allSatisfy { !$0.hasPrefix("violence.") })
        #expect(view.indicators["identity.phone"] == nil && view.indicators["identity.address"] == nil)
        #expect(view.indicators["identity.last_name"] != nil)
        #expect(await fixture.log.entries.first { $0.requestID == "b2" }?.breakGlass == true)
        // A GBV specialist under break-glass gets where the survivor can be reached.
        let (gbv, _) = try await fixture.staff(.gbvSpecialist)
        let gbvView = try await fixture.service.breakGlassPersonView(
            principal: gbv, personID: victim, justification: "hospital called about her injuries", requestID: "b3")
        #expect(gbvView.indicators["identity.phone"] != nil && gbvView.indicators["identity.address"] != nil)
    }

    @Test("the access path refuses a policy set that fails `policy check`, signed or not")
    func uncheckedSetsAreRefused() throws {
        let catalog = try IndicatorCatalog.load(
            contentsOf: Fixture.root.appendingPathComponent("policies/indicators.yaml"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policies-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Fixture.root.appendingPathComponent("policies"), to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        try? FileManager.default.removeItem(at: dir.appendingPathComponent("policies.sig"))
        _ = try CedarAccessPolicy.load(directory: dir, catalog: catalog)
        // Without the survivor-safety forbids, the social worker's permit would put sensitive values on cards.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("00-survivor-safety.cedar"))
        #expect(throws: (any Error).self) { _ = try CedarAccessPolicy.load(directory: dir, catalog: catalog) }
    }

    @Test("decision cache: every answer equals a fresh evaluation, whoever asked before")
    func decisionCacheIsExact() throws {
        let catalog = try IndicatorCatalog.load(
            contentsOf: Fixture.root.appendingPathComponent("policies/indicators.yaml"))
        let engine = try PolicyEngine.load(directory: Fixture.root.appendingPathComponent("policies"), catalog: catalog)
        let cached = CedarAccessPolicy(engine: engine, decisionCacheCapacity: 7)
        let fresh = CedarAccessPolicy(engine: engine, decisionCacheCapacity: 0)
        let all = catalog.indicators.map(\.id)
        let household = all.filter { HouseholdView.mayAppear($0, catalog: catalog) }
        // The cache hashes a list by its length and ends: a list with the same ones and other ids between
        // (violence and survivor-sensitive ids, which policy grants differently) must not get the card's answer.
        let others = all.filter { !household.contains($0) }
        var sameEnds = household
        for i in 1..<(household.count - 1) { sameEnds[i] = others[(i - 1) % others.count] }
        #expect(household.count >= 3 && sameEnds != household)
        // Principals that differ in one attribute at a time, the same id among them.
        var principals: [Principal] = []
        for role in Role.allCases {
            for district in ["01-01", "01-02", nil] as [String?] {
                principals.append(Principal(id: 7, role: role, district: district))
            }
            principals.append(Principal(id: 8, role: role, district: "01-01", organisation: "org"))
            principals.append(Principal(id: 7, role: role, district: "01-01", source: "police"))
        }
        var contexts: [AccessContext] = []
        for view in ViewKind.allCases {
            for assigned in [false, true] {
                for sameDistrict in [false, true] {
                    for breakGlass in [false, true] {
                        for purpose in [nil, "case review"] as [String?] {
                            contexts.append(
                                AccessContext(
                                    view: view, assigned: assigned, sameDistrict: sameDistrict,
                                    breakGlass: breakGlass, purpose: purpose))
                        }
                    }
                }
            }
        }
        var rng = SeededRandom(seed: 17)
        var granting = 0
        for round in 0..<4000 {
            let principal = principals[Int(rng.next() % UInt64(principals.count))]
            let context = contexts[Int(rng.next() % UInt64(contexts.count))]
            // Reads half the time (the policies grant little else).
            let action =
                round % 2 == 0 ? .read : AccessAction.allCases[Int(rng.next() % UInt64(AccessAction.allCases.count))]
            let indicators = [all, household, sameEnds][round % 3]
            let got = try cached.decide(principal: principal, action: action, context: context, indicators: indicators)
            let want = try fresh.decide(principal: principal, action: action, context: context, indicators: indicators)
            #expect(got == want, "\(principal) \(action) \(context)")
            if !want.allowed.isEmpty { granting += 1 }
        }
        // The table must exercise grants as well as denials.
        #expect(granting > 40)
    }

    @Test("reading the audit log is the policy set's decision: auditors only, as the Swift default policy says")
    func readAuditByRole() throws {
        let catalog = try IndicatorCatalog.load(
            contentsOf: Fixture.root.appendingPathComponent("policies/indicators.yaml"))
        let cedar = Self.cedar(catalog)
        let swift = DefaultAccessPolicy(catalog: catalog)
        for role in Role.allCases {
            let principal = Principal(id: 7, role: role, district: "01-01", source: role == .agency ? "police" : nil)
            let decision = try cedar.decide(principal: principal, serviceAction: .readAudit)
            #expect(decision.isAllowed == (role == .auditor), "\(role)")
            #expect(decision.isAllowed == (try swift.decide(principal: principal, serviceAction: .readAudit)).isAllowed)
            #expect(decision.policyIDs == (role == .auditor ? ["auditor.read-audit-log"] : []), "\(role)")
        }
    }
}
