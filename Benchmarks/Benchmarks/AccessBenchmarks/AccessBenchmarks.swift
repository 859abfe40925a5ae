import Benchmark
import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakStore

// The access path alone, without HTTP: what one household view, person view or denial costs in
// `AccessService` (one read transaction, the policy's decision table, opening each granted value,
// the view's type, its canonical JSON), on a demo folder made by `shanyrak demo --no-serve`.
//
// It answers the question issue 5's ratio target raises: how much of a request's CPU is the price of
// privacy (this path, plus the audit log's durable append) and how much is HTTP. The audit log here
// releases at once (`ReleasingAuditLog`): its append is measured by AuditBenchmarks and
// `shanyrak audit append-demo`.
//
// Run with scripts/bench-access.sh, which makes the folder and passes it in SHANYRAK_BENCH_DEMO.

/// The repository root, found from this file's path (Benchmarks/Benchmarks/AccessBenchmarks/).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("AccessBenchmarks: \(message)\n".utf8))
    exit(1)
}

/// An audit log that records nothing and releases at once: the access path's own cost, without the log's.
struct ReleasingAuditLog: AccessAuditLog {
    func append(_ entry: AccessAuditEntry) async throws {}
}

/// The demo folder's accounts (`demo-accounts.json`), as far as the benchmarks need them.
struct DemoAccounts: Decodable {
    struct Account: Decodable {
        var role: String
        var token: String
        var households: [String]
    }
    var accounts: [Account]
    var examplePerson: String

    enum CodingKeys: String, CodingKey {
        case accounts
        case examplePerson = "example_person"
    }
}

/// The service over the demo folder, and the callers and subjects of the HTTP benchmark's mix
/// (scripts/bench_mix.py).
struct AccessWorld: Sendable {
    let service: AccessService
    let socialWorker: Principal
    let gbvSpecialist: Principal
    let researcher: Principal
    let administrator: Principal
    let households: [String]
    let person: String

    init(folder: URL) {
        do {
            let policies = repositoryRoot.appendingPathComponent("policies")
            let catalog = try IndicatorCatalog.load(contentsOf: policies.appendingPathComponent("indicators.yaml"))
            let registry = try Registry.open(dataDirectory: folder)
            let keyring = try Keyring.load(from: repositoryRoot.appendingPathComponent("keys-example"))
            let keys = try DataKeys.load(from: registry, keyring: keyring)
            let policy = try CedarAccessPolicy.load(directory: policies, catalog: catalog)
            let service = AccessService(
                registry: registry, keys: keys, catalog: catalog, policy: policy, auditLog: ReleasingAuditLog())
            let accounts = try JSONDecoder().decode(
                DemoAccounts.self, from: Data(contentsOf: folder.appendingPathComponent("demo-accounts.json")))
            func account(_ role: Role) throws -> (principal: Principal, households: [String]) {
                guard let a = accounts.accounts.first(where: { $0.role == role.rawValue }),
                    let principal = try service.authenticate(token: a.token)
                else { fail("demo-accounts.json has no working \(role.rawValue) account") }
                return (principal, a.households)
            }
            let socialWorker = try account(.socialWorker)
            self.service = service
            self.socialWorker = socialWorker.principal
            self.households = socialWorker.households
            self.gbvSpecialist = try account(.gbvSpecialist).principal
            self.researcher = try account(.researcher).principal
            self.administrator = try account(.administrator).principal
            self.person = accounts.examplePerson
        } catch {
            fail("cannot open the demo folder \(folder.path): \(error)")
        }
    }

    /// The social worker's card of the `i`th caseload household (cycling).
    func card(_ i: Int) async throws -> HouseholdView {
        try await service.householdView(
            principal: socialWorker, householdID: households[i % households.count], requestID: "bench")
    }

    /// The GBV specialist's view of the example person.
    func personView() async throws -> PersonView {
        try await service.personView(principal: gbvSpecialist, personID: person, requestID: "bench")
    }

    /// Asks for the example person's view (`asksForPerson`) or the first caseload household's card as
    /// `caller`, and stops the benchmark unless it is denied.
    func expectDenied(_ caller: Principal, asksForPerson: Bool) async throws {
        do {
            if asksForPerson {
                _ = try await service.personView(principal: caller, personID: person, requestID: "bench")
            } else {
                _ = try await service.householdView(principal: caller, householdID: households[0], requestID: "bench")
            }
        } catch is AccessDenied {
            return
        }
        fail("a denial of the mix was allowed")
    }

    /// The HTTP benchmark's mix of 20 requests: 14 household views, 3 person views (each with its JSON),
    /// and 3 denials (the researcher's person and household views, the administrator's household view).
    func mix() async throws {
        for i in 0..<14 { blackHole(try await card(i).canonicalJSON()) }
        for _ in 0..<3 { blackHole(try await personView().canonicalJSON()) }
        try await expectDenied(researcher, asksForPerson: true)
        try await expectDenied(researcher, asksForPerson: false)
        try await expectDenied(administrator, asksForPerson: false)
    }
}

let benchmarks: @Sendable () -> Void = {
    guard let path = ProcessInfo.processInfo.environment["SHANYRAK_BENCH_DEMO"] else {
        print("AccessBenchmarks: skipped; run scripts/bench-access.sh (it sets SHANYRAK_BENCH_DEMO to a demo folder)")
        return
    }
    let world = AccessWorld(folder: URL(fileURLWithPath: path))
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    Benchmark("household view (access path only; log releasing at once)") { benchmark in
        for i in benchmark.scaledIterations { blackHole(try await world.card(i)) }
    }

    Benchmark("household view and its canonical JSON") { benchmark in
        for i in benchmark.scaledIterations { blackHole(try await world.card(i).canonicalJSON()) }
    }

    Benchmark("person view (GBV specialist) and its canonical JSON") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try await world.personView().canonicalJSON()) }
    }

    Benchmark("denial (researcher asks for a person view)") { benchmark in
        for _ in benchmark.scaledIterations { try await world.expectDenied(world.researcher, asksForPerson: true) }
    }

    Benchmark("the HTTP benchmark's mix of 20 requests, without HTTP") { benchmark in
        for _ in benchmark.scaledIterations { try await world.mix() }
    }
}
