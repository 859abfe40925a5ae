import Foundation
import ShanyrakCore
import ShanyrakIngest
import Testing

@testable import ShanyrakAccess

/// The household card must not change, byte for byte, whatever happens to its members' violence data.
struct SurvivorSafetyTests {
    /// Every household view for every role, as bytes (or a denial marker).
    static func allViews(_ fixture: Fixture, households: [String], principals: [Principal]) async throws -> [String:
        Data]
    {
        var out: [String: Data] = [:]
        for principal in principals {
            for household in households {
                let key = "\(principal.role.rawValue)/\(principal.id)/\(household)"
                do {
                    let view = try await fixture.service.householdView(
                        principal: principal, householdID: household, requestID: "r")
                    out[key] = try view.canonicalJSON()
                    // The access path builds each member's values in the JSON's order; the bytes written from
                    // that order must be the encoder's, and the direct writer must be the one that wrote them.
                    #expect(out[key] == (try view.encoderCanonicalJSON()))
                    #expect(view.members.allSatisfy { $0.indicators.isCanonicallyOrdered })
                } catch is AccessDenied {
                    out[key] = Data("denied".utf8)
                }
            }
        }
        return out
    }

    /// A policy that grants everything to everyone: the card must stay survivor-safe even then.
    struct GrantEverything: AccessPolicy {
        func decide(principal: Principal, action: AccessAction, context: AccessContext, indicators: [String]) throws
            -> AccessDecision
        { AccessDecision(allowed: Set(indicators), policyIDs: ["grant-everything"]) }

        func decide(principal: Principal, serviceAction: ServiceAction) throws -> ServiceDecision {
            ServiceDecision(isAllowed: true, policyIDs: ["grant-everything"])
        }
    }

    @Test(
        "household views are byte-identical across violence-data changes",
        arguments: [UInt64(1), 2, 3], ["default", "grant-everything", "cedar"])
    func householdViewsIgnoreViolenceData(seed: UInt64, policy: String) async throws {
        let fixture: Fixture
        switch policy {
        case "grant-everything": fixture = try Fixture(policy: { _ in GrantEverything() })
        case "cedar": fixture = try Fixture(policy: CedarAccessPolicyTests.cedar)
        default: fixture = try Fixture()
        }
        let people = Fixture.population(households: 25, seed: seed)
        try fixture.ingest("population", Fixture.populationCSV(people))
        try fixture.ingest("labour", Fixture.labourCSV(people, seed: seed))
        try fixture.ingest("health", Fixture.healthCSV(people, seed: seed))
        let households = Array(Set(people.map { fixture.householdID(registerID: $0.household) })).sorted()

        var principals: [Principal] = []
        for role in Role.allCases {
            for district in ["01-01", "02-01"] {
                let (principal, _) = try await fixture.staff(role, district: district)
                principals.append(principal)
                // Half of the accounts get every household in their caseload, so grants are exercised.
                if district == "01-01" {
                    for h in households {
                        try await fixture.service.setAssignment(
                            staffID: principal.id, household: .id(h), assigned: true, actor: nil, requestID: "setup")
                    }
                }
            }
        }

        let before = try await Self.allViews(fixture, households: households, principals: principals)
        // The property is not vacuous: assigned social workers do see granted indicators.
        let socialWorker = try #require(principals.first { $0.role == .socialWorker && $0.district == "01-01" })
        let granted = households.compactMap { before["social_worker/\(socialWorker.id)/\($0)"] }
            .filter { String(decoding: $0, as: UTF8.self).contains("employment.status") }
        #expect(!granted.isEmpty)
        for bytes in before.values {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(
                !text.contains("violence.") && !text.contains("identity.address") && !text.contains("identity.phone"))
        }
        #expect(before.values.contains { $0 != Data("denied".utf8) })

        // A GBV specialist's person view of a victim is our witness that violence data did change.
        let gbv = try #require(principals.first { $0.role == .gbvSpecialist && $0.district == "01-01" })
        let victims = people.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        let witness = try fixture.personID(iin: victims[0].iin)
        let witnessBefore = try await fixture.service.personView(principal: gbv, personID: witness, requestID: "w")
        // The person view's values too are built in the JSON's order.
        #expect(witnessBefore.indicators.isCanonicallyOrdered)
        #expect(try witnessBefore.canonicalJSON() == witnessBefore.encoderCanonicalJSON())

        // Add reports, protection orders, offender registration; mark protected survivors.
        var police = "iin,indicator,value,observed_on\n"
        var justice = "iin,indicator,value,observed_on\n"
        for (i, v) in victims.enumerated() {
            police += "\(v.iin),violence.dv_report_count,\(i % 5 + 1),2026-04-01\n"
            police += "\(v.iin),violence.last_report_date,2026-03-30,2026-04-01\n"
            police += "\(v.iin),violence.protection_order,true,2026-04-01\n"
            police += "\(v.iin),violence.protected_survivor,true,2026-04-01\n"
            justice += "\(v.iin),violence.restraining_order_until,2027-04-01,2026-04-02\n"
            justice += "\(v.iin),violence.protected_survivor,true,2026-04-02\n"
        }
        for p in people.enumerated().filter({ $0.offset % 7 == 1 }).map(\.element) {
            police += "\(p.iin),violence.offender_registered,true,2026-04-01\n"
        }
        try fixture.ingest("police", police)
        try fixture.ingest("justice", justice)
        let afterAdding = try await Self.allViews(fixture, households: households, principals: principals)
        #expect(afterAdding == before)

        let witnessDuring = try await fixture.service.personView(principal: gbv, personID: witness, requestID: "w")
        #expect(witnessDuring.indicators["violence.protection_order"] == "true")
        #expect(witnessDuring != witnessBefore)

        // Newer observations remove them again.
        var policeRemove = "iin,indicator,value,observed_on\n"
        var justiceRemove = "iin,indicator,value,observed_on\n"
        for v in victims {
            policeRemove += "\(v.iin),violence.dv_report_count,0,2026-05-01\n"
            policeRemove += "\(v.iin),violence.protection_order,false,2026-05-01\n"
            policeRemove += "\(v.iin),violence.protected_survivor,false,2026-05-01\n"
            justiceRemove += "\(v.iin),violence.protected_survivor,false,2026-05-02\n"
        }
        try fixture.ingest("police", policeRemove)
        try fixture.ingest("justice", justiceRemove)
        let afterRemoving = try await Self.allViews(fixture, households: households, principals: principals)
        #expect(afterRemoving == before)
        let witnessAfter = try await fixture.service.personView(principal: gbv, personID: witness, requestID: "w")
        #expect(witnessAfter.indicators["violence.protection_order"] == "false")
    }

    @Test(
        "the household view type refuses survivor-sensitive indicators",
        arguments: [
            "violence.protection_order", "violence.dv_report_count", "identity.address", "identity.phone", "no.such",
        ])
    func typeRefuses(indicator: String) throws {
        let fixture = try Fixture()
        let member = HouseholdView.MemberInput(
            pseudonym: try #require(Pseudonym(hex: String(repeating: "ab", count: 16))), relation: "head",
            sex: "female",
            ageBand: .from30To44, indicators: [indicator: "x"])
        #expect(throws: HouseholdViewError.self) {
            try HouseholdView(
                household: try #require(Pseudonym(hex: String(repeating: "cd", count: 16))), district: "01-01",
                members: [member], catalog: fixture.catalog)
        }
    }

    @Test("age bands")
    func ageBands() {
        let now = Fixture.fixedNow  // 2026-05-28
        #expect(AgeBand.of(birthDate: "2026-01-01", on: now) == .upTo5)
        #expect(AgeBand.of(birthDate: "2020-05-29", on: now) == .upTo5)
        #expect(AgeBand.of(birthDate: "2020-05-28", on: now) == .from6To17)
        #expect(AgeBand.of(birthDate: "2008-05-29", on: now) == .from6To17)
        #expect(AgeBand.of(birthDate: "1996-05-28", on: now) == .from30To44)
        #expect(AgeBand.of(birthDate: "1966-05-28", on: now) == .from60)
        #expect(AgeBand.of(birthDate: nil, on: now) == .unknown)
        #expect(AgeBand.of(birthDate: "2030-01-01", on: now) == .unknown)
        // Malformed dates give no band, whatever part is wrong.
        for malformed in [
            "", "1990", "1990-05", "1990-05-01-02", "1990--05-01", "-1990-05-01", "1990-05-", "1990-0x-01",
            "+1990-05-01", "1990-05-01 ", "١٩٩٠-05-01", String(repeating: "9", count: 30) + "-01-01",
        ] {
            #expect(AgeBand.of(birthDate: malformed, on: now) == .unknown, "\(malformed)")
        }
        #expect(AgeBand.of(birthDate: "1990-5-1", on: now) == .from30To44)
    }
}

/// The same property over the synthetic population of `PopulationGenerator` (all six agency feeds).
struct GeneratedPopulationSurvivorSafetyTests {
    /// Reads `iin` and `household_id` columns of the generated population register.
    static func register(_ url: URL) throws -> [(iin: String, household: String)] {
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let iin = try #require(header.firstIndex(of: "iin"))
        let household = try #require(header.firstIndex(of: "household_id"))
        return lines.dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return (f[iin], f[household])
        }
    }

    @Test("household views of a generated population ignore its police and justice feeds", arguments: [UInt64(7), 11])
    func generatedPopulation(seed: UInt64) async throws {
        let fixture = try Fixture()
        let folder = fixture.directory.appendingPathComponent("generated")
        _ = try PopulationGenerator(households: 120, seed: seed).write(to: folder)
        func feed(_ source: String) throws -> String {
            try String(contentsOf: folder.appendingPathComponent("\(source).csv"), encoding: .utf8)
        }
        for source in ["population", "labour", "health", "education"] { try fixture.ingest(source, try feed(source)) }
        let register = try Self.register(folder.appendingPathComponent("population.csv"))
        let households = Array(Set(register.map { fixture.householdID(registerID: $0.household) })).sorted()

        var principals: [Principal] = []
        for role in Role.allCases {
            let (principal, _) = try await fixture.staff(role, district: nil)
            principals.append(principal)
            for h in households {
                try await fixture.service.setAssignment(
                    staffID: principal.id, household: .id(h), assigned: true, actor: nil, requestID: "setup")
            }
        }
        let before = try await SurvivorSafetyTests.allViews(fixture, households: households, principals: principals)
        #expect(before.values.contains { String(decoding: $0, as: UTF8.self).contains("\"members\"") })

        // The generator's own violence data (its justice feed also carries social indicators such as
        // guardianship, which may rightly change a card: only the violence rows are taken), then every
        // person marked as a protected survivor.
        var violenceRows = 0
        for source in ["police", "justice"] {
            let lines = try feed(source).split(separator: "\n")
            let violence = lines.dropFirst().filter {
                $0.split(separator: ",").dropFirst().first?.hasPrefix("violence.") == true
            }
            violenceRows += violence.count
            if !violence.isEmpty { try fixture.ingest(source, ([lines[0]] + violence).joined(separator: "\n") + "\n") }
        }
        #expect(violenceRows > 0)
        var marks = "iin,indicator,value,observed_on\n"
        for person in register {
            marks += "\(person.iin),violence.protected_survivor,true,2026-10-10\n"
            marks += "\(person.iin),violence.protection_order,true,2026-10-10\n"
        }
        try fixture.ingest("police", marks)
        #expect(
            try await SurvivorSafetyTests.allViews(fixture, households: households, principals: principals) == before)

        // Newer observations lift them again.
        var lifts = "iin,indicator,value,observed_on\n"
        for person in register {
            lifts += "\(person.iin),violence.protected_survivor,false,2026-10-11\n"
            lifts += "\(person.iin),violence.protection_order,false,2026-10-11\n"
            lifts += "\(person.iin),violence.dv_report_count,0,2026-10-11\n"
        }
        try fixture.ingest("police", lifts)
        #expect(
            try await SurvivorSafetyTests.allViews(fixture, households: households, principals: principals) == before)
    }
}
