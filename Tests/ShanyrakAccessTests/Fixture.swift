import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import ShanyrakTestSupport
import Testing

/// A fake audit log: records entries, can be told to fail, counts releases.
actor FakeAuditLog: AccessAuditLog {
    private(set) var entries: [AccessAuditEntry] = []
    private(set) var releases = 0
    var failing = false

    func setFailing(_ value: Bool) { failing = value }

    func append(_ entry: AccessAuditEntry) async throws {
        if failing { throw FakeLogError() }
        entries.append(entry)
    }

    func recordThenRelease<T: Sendable>(_ entry: AccessAuditEntry, release: @Sendable () throws -> T) async throws -> T
    {
        try await append(entry)
        releases += 1
        return try release()
    }

    struct FakeLogError: Error {}
}

/// A generated person of the population register.
struct GeneratedPerson {
    var iin: String
    var birthDate: String
    var sex: String
    var relation: String
    var household: String
    var district: String
}

/// A registry in a temporary folder with fresh keys, the repository's catalog and mappings.
struct Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixedNow = Date(timeIntervalSince1970: 1_780_000_000)  // 2026-05-28

    let directory: URL
    let registry: Registry
    let catalog: IndicatorCatalog
    let keys: DataKeys
    let keyring: Keyring
    let pseudonymiser: Pseudonymiser
    let log = FakeAuditLog()
    let service: AccessService

    init(policy: ((IndicatorCatalog) -> any AccessPolicy)? = nil) throws {
        directory = try TestDirectory.make("shanyrak-access")
        catalog = try IndicatorCatalog.load(contentsOf: Self.root.appendingPathComponent("policies/indicators.yaml"))
        keyring = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: try SecureBytes.random(count: 32),
            auditSigning: try Ed25519.SigningKey.generate())
        registry = try Registry.create(dataDirectory: directory)
        try registry.initialise(catalog: catalog, keyring: keyring)
        keys = try DataKeys.load(from: registry, keyring: keyring)
        pseudonymiser = try Pseudonymiser(key: keyring.pseudonymKey)
        let catalog = self.catalog
        service = AccessService(
            registry: registry, keys: keys, catalog: catalog,
            policy: policy?(catalog) ?? DefaultAccessPolicy(catalog: catalog), auditLog: log,
            pseudonymiser: pseudonymiser, clock: { Fixture.fixedNow })
    }

    /// Ingests `csv` as a feed of `source`; every row must be accepted.
    @discardableResult
    func ingest(_ source: String, _ csv: String) throws -> IngestSummary {
        let file = directory.appendingPathComponent("\(source)-\(UUID().uuidString).csv")
        try csv.write(to: file, atomically: true, encoding: .utf8)
        let mapping = try SourceMapping.load(
            source: source, directory: Self.root.appendingPathComponent("policies/sources"), catalog: catalog)
        let summary = try Ingester(registry: registry, keys: keys, pseudonymiser: pseudonymiser, catalog: catalog)
            .ingest(file: file, mapping: mapping)
        #expect(summary.rowsQuarantined == 0, "\(summary.problems)")
        return summary
    }

    /// Creates an account and returns its principal and token.
    func staff(_ role: Role, district: String? = "01-01") async throws -> (Principal, String) {
        let (id, token) = try await service.addStaff(
            name: "\(role.rawValue) \(UUID().uuidString.prefix(4))", role: role, district: district, organisation: nil,
            source: nil, actor: nil, requestID: "setup")
        let principal = try #require(try service.authenticate(token: token))
        #expect(principal.id == id)
        return (principal, token)
    }

    func householdID(registerID: String) -> String { pseudonymiser.household(registerID: registerID).hex }
    func personID(iin: String) throws -> String { pseudonymiser.person(try IIN(validating: iin)).hex }

    // MARK: Generated populations

    /// A valid IIN for a birth date and sex.
    static func makeIIN(year: Int, month: Int, day: Int, female: Bool, rng: inout SeededRandom) -> String {
        while true {
            let centuryBase = year >= 2000 ? 5 : (year >= 1900 ? 3 : 1)
            var d = [
                year % 100 / 10, year % 10, month / 10, month % 10, day / 10, day % 10, centuryBase + (female ? 1 : 0),
            ]
            for _ in 0..<4 { d.append(Int.random(in: 0...9, using: &rng)) }
            if let check = IIN.checkDigit(d) {
                return (d + [check]).map(String.init).joined()
            }
        }
    }

    /// Generates `count` households of 1 to 6 members in three districts.
    static func population(households count: Int, seed: UInt64) -> [GeneratedPerson] {
        var rng = SeededRandom(seed: seed)
        var people: [GeneratedPerson] = []
        let districts = ["01-01", "01-02", "02-01"]
        for h in 0..<count {
            let size = Int.random(in: 1...6, using: &rng)
            let district = districts[Int.random(in: 0..<districts.count, using: &rng)]
            for m in 0..<size {
                let relation =
                    m == 0
                    ? "head"
                    : (m == 1
                        ? "spouse"
                        : ["child", "parent", "grandchild", "sibling"].randomElement(using: &rng) ?? "child")
                let year =
                    relation == "child" || relation == "grandchild"
                    ? Int.random(in: 2005...2025, using: &rng) : Int.random(in: 1940...2004, using: &rng)
                let month = Int.random(in: 1...12, using: &rng)
                let day = Int.random(in: 1...28, using: &rng)
                let female = Bool.random(using: &rng)
                people.append(
                    GeneratedPerson(
                        iin: makeIIN(year: year, month: month, day: day, female: female, rng: &rng),
                        birthDate: String(format: "%04d-%02d-%02d", year, month, day), sex: female ? "female" : "male",
                        relation: relation, household: "H\(seed)-\(h)", district: district))
            }
        }
        return people
    }

    static func populationCSV(_ people: [GeneratedPerson]) -> String {
        var out =
            "iin,last_name,first_name,patronymic,birth_date,sex,marital_status,citizenship,address,phone,household_id,relation_to_head,district_code,observed_on\n"
        for (i, p) in people.enumerated() {
            out +=
                "\(p.iin),Family\(i),Name\(i),,\(p.birthDate),\(p.sex),single,kz,\"Street \(i), flat 2\",+7700000\(String(format: "%04d", i % 10000)),\(p.household),\(p.relation),\(p.district),2026-01-10\n"
        }
        return out
    }

    static func labourCSV(_ people: [GeneratedPerson], seed: UInt64) -> String {
        var rng = SeededRandom(seed: seed ^ 0xABCD)
        var out =
            "iin,observed_on,employment_status,registered_unemployed,sector,monthly_income,targeted_social_assistance,pension,disability_benefit,child_benefit,housing_tenure,housing_waiting_list,large_family\n"
        for p in people {
            let status =
                ["employed", "unemployed", "retired", "student", "inactive"].randomElement(using: &rng) ?? "employed"
            let income = Int.random(in: 0...500_000, using: &rng)
            out +=
                "\(p.iin),2026-02-01,\(status),\(status == "unemployed"),none,\(income),\(Bool.random(using: &rng)),,,\(Bool.random(using: &rng)),rented,false,false\n"
        }
        return out
    }

    static func healthCSV(_ people: [GeneratedPerson], seed: UInt64) -> String {
        var rng = SeededRandom(seed: seed ^ 0x1234)
        var out = "iin,observed_on,disability_group,chronic_illness,dispensary_registered,pregnancy_registered\n"
        for p in people where Bool.random(using: &rng) {
            out += "\(p.iin),2026-03-01,none,\(Bool.random(using: &rng)),false,\n"
        }
        return out
    }
}
