import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakServer
import ShanyrakStore
import ShanyrakTestSupport
import Testing

/// An audit log that can be told to fail: the fault injected for the 503 tests.
actor SwitchableAuditLog: AccessAuditLog {
    let inner: MerkleAccessAuditLog
    private(set) var failing = false
    private(set) var releases = 0

    init(inner: MerkleAccessAuditLog) { self.inner = inner }

    func setFailing(_ value: Bool) { failing = value }

    func append(_ entry: AccessAuditEntry) async throws {
        if failing { throw InjectedFault() }
        try await inner.append(entry)
    }

    func recordThenRelease<T: Sendable>(_ entry: AccessAuditEntry, release: @Sendable () throws -> T) async throws -> T
    {
        if failing { throw InjectedFault() }
        let value = try await inner.recordThenRelease(entry, release: release)
        releases += 1
        return value
    }

    struct InjectedFault: Error {}
}

/// A data folder with a generated population, the repository's Cedar policies, a real Merkle log,
/// and one account per role.
struct ServerFixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The token that opens `/metrics` in the fixture's dependencies.
    static let metricsToken = "metrics-" + String(repeating: "7f", count: 20)

    struct Account {
        let role: String
        let principal: Principal?
        let token: String?
    }

    let directory: URL
    /// The key folder (`shanyrak keys init`), as a data folder's.
    let keysDirectory: URL
    let keyring: Keyring
    /// The data keys the server's access path and ingester share, reloaded from `keysDirectory`.
    let keys: CurrentDataKeys
    let registry: Registry
    let dependencies: ServerDependencies
    let log: SwitchableAuditLog
    let auditLog: AuditLog
    let pseudonymiser: Pseudonymiser
    /// Assigned to the social worker and the GBV specialist; has a member with a police record.
    let household: String
    /// That member.
    let person: String
    /// A household in the same district, assigned to nobody.
    let otherHousehold: String
    /// A member of `otherHousehold`.
    let otherPerson: String
    /// Every IIN of the population (to check that none leaks).
    let iins: [String]
    /// Police CSV with a few valid rows, for the agency.
    let policeCSV: String
    var accounts: [String: Account] = [:]

    static func make(households: Int = 120) async throws -> ServerFixture {
        let directory = try TestDirectory.make("shanyrak-server")
        let catalog = try IndicatorCatalog.load(contentsOf: root.appendingPathComponent("policies/indicators.yaml"))
        let keysDirectory = directory.appendingPathComponent("keys")
        try Keyring.create(at: keysDirectory)
        let keyring = try Keyring.load(from: keysDirectory, environment: [:])
        let signingKey = keyring.auditSigning
        let registry = try Registry.create(dataDirectory: directory)
        try registry.initialise(catalog: catalog, keyring: keyring)
        let keys = CurrentDataKeys(
            try DataKeys.load(from: registry, keyring: keyring), registry: registry, keysDirectory: keysDirectory)
        let pseudonymiser = try Pseudonymiser(key: keyring.pseudonymKey)
        let feeds = directory.appendingPathComponent("feeds")
        _ = try PopulationGenerator(households: households, seed: 7).write(to: feeds)
        let ingester = Ingester(registry: registry, keys: keys, pseudonymiser: pseudonymiser, catalog: catalog)
        let sources = root.appendingPathComponent("policies/sources")
        for source in PopulationGenerator.sources {
            let mapping = try SourceMapping.load(source: source, directory: sources, catalog: catalog)
            _ = try ingester.ingest(file: feeds.appendingPathComponent("\(source).csv"), mapping: mapping)
        }

        // Households and districts by IIN; a victim in the police feed.
        var home: [String: (household: String, district: String)] = [:]
        var byDistrict: [String: [String]] = [:]
        var membersOf: [String: [String]] = [:]
        let population = try String(contentsOf: feeds.appendingPathComponent("population.csv"), encoding: .utf8)
        for line in population.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            home[f[0]] = (f[2], f[4])
            membersOf[f[2], default: []].append(f[0])
            if byDistrict[f[4]]?.contains(f[2]) != true { byDistrict[f[4], default: []].append(f[2]) }
        }
        let policeLines = try String(contentsOf: feeds.appendingPathComponent("police.csv"), encoding: .utf8)
            .split(separator: "\n")
        let victimIIN = try #require(
            policeLines.dropFirst().map { String($0.prefix { $0 != "," }) }.first { iin in
                guard let h = home[iin] else { return false }
                return (byDistrict[h.district]?.count ?? 0) >= 2
            })
        let victimHome = try #require(home[victimIIN])
        let otherRegisterID = try #require(byDistrict[victimHome.district]?.first { $0 != victimHome.household })
        let otherIIN = try #require(membersOf[otherRegisterID]?.first)

        let policy = try CedarAccessPolicy.load(directory: root.appendingPathComponent("policies"), catalog: catalog)
        let auditLog = try await AuditLog(
            directory: directory, signer: try NoteSigner(name: "shanyrak.example/audit", signingKey: signingKey))
        let log = SwitchableAuditLog(inner: MerkleAccessAuditLog(log: auditLog, anonymousActor: "anonymous"))
        let service = AccessService(
            registry: registry, keys: keys, catalog: catalog, policy: policy, auditLog: log,
            pseudonymiser: pseudonymiser)
        let dependencies = ServerDependencies(
            access: service, accessLog: log, auditLog: auditLog, policy: policy,
            ingest: try IngestDependencies(
                ingester: ingester, sourcesDirectory: sources, catalog: catalog,
                spoolDirectory: directory.appendingPathComponent("spool")),
            metricsToken: try MetricsToken(secret: SecureBytes(copying: Array(metricsToken.utf8)), from: "test"),
            benchFixedRoute: true,
            // Every request of a router test comes from no address, so they share one budget: the tests that
            // are not about throttling (the authorization matrix makes dozens of failures) get a large one.
            failedAuthenticationBurst: 10_000)

        var fixture = ServerFixture(
            directory: directory, keysDirectory: keysDirectory, keyring: keyring, keys: keys, registry: registry,
            dependencies: dependencies, log: log, auditLog: auditLog,
            pseudonymiser: pseudonymiser,
            household: pseudonymiser.household(registerID: victimHome.household).hex,
            person: pseudonymiser.person(try IIN(validating: victimIIN)).hex,
            otherHousehold: pseudonymiser.household(registerID: otherRegisterID).hex,
            otherPerson: pseudonymiser.person(try IIN(validating: otherIIN)).hex,
            iins: Array(home.keys),
            policeCSV: policeLines.prefix(4).joined(separator: "\n") + "\n")

        let district = victimHome.district
        for (role, source) in [
            (Role.socialWorker, nil), (.gbvSpecialist, nil), (.researcher, nil), (.administrator, nil), (.auditor, nil),
            (.agency, "police"),
        ] as [(Role, String?)] {
            let (id, token) = try await service.addStaff(
                name: role.rawValue, role: role, district: role == .agency ? nil : district, organisation: nil,
                source: source, actor: nil, requestID: "setup")
            fixture.accounts[role.rawValue] = Account(
                role: role.rawValue, principal: try service.authenticate(token: token), token: token)
            if role == .socialWorker || role == .gbvSpecialist {
                try await service.setAssignment(
                    staffID: id, household: .id(fixture.household), assigned: true, actor: nil, requestID: "setup")
            }
        }
        let (revokedID, revokedToken) = try await service.addStaff(
            name: "gone", role: .socialWorker, district: district, organisation: nil, source: nil, actor: nil,
            requestID: "setup")
        _ = try await service.revokeStaff(id: revokedID, actor: nil, requestID: "setup")
        fixture.accounts["revoked token"] = Account(role: "revoked token", principal: nil, token: revokedToken)
        fixture.accounts["no token"] = Account(role: "no token", principal: nil, token: nil)
        fixture.accounts["metrics token"] = Account(role: "metrics token", principal: nil, token: metricsToken)
        fixture.accounts["wrong token"] = Account(
            role: "wrong token", principal: nil, token: "shk_" + String(repeating: "0", count: 43))
        return fixture
    }

    func application() -> some ApplicationProtocol {
        ShanyrakServer.application(dependencies, host: "127.0.0.1", port: 0)
    }

    func headers(_ account: String, contentType: String? = nil) -> HTTPFields {
        var fields: HTTPFields = [:]
        if let token = accounts[account]?.token { fields[.authorization] = "Bearer \(token)" }
        if let contentType { fields[.contentType] = contentType }
        return fields
    }

    func close() async {
        await auditLog.close()
        try? FileManager.default.removeItem(at: directory)
    }
}
