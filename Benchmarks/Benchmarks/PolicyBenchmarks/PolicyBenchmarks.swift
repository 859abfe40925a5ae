import Benchmark
import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakPolicy

// Policy decisions with the default policies (policies/*.cedar) and catalog (policies/indicators.yaml):
// one authorization, the household-view decision table, and the request set that
// scripts/bench-policy-cedarpy.py times with cedarpy (Benchmarks/Fixtures/, same entities, same requests).
//
// Targets (issue 3): one authorization at most 2 us median; a full household-view decision table
// (5 members, 40 indicators) at most 20 us.

/// The repository root, found from this file's path (Benchmarks/Benchmarks/PolicyBenchmarks/).
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("PolicyBenchmarks: \(message)\n".utf8))
    exit(1)
}

/// The fixture written by scripts/bench-policy-cedarpy.py: requests with the decision cedarpy gave each.
func loadCedarpyFixture() -> (entities: CedarEntities, requests: [CedarRequest], expected: [(String, [String])]) {
    let dir = repositoryRoot.appendingPathComponent("Benchmarks/Fixtures")
    do {
        let entities = try CedarEntities.fromJSON(Data(contentsOf: dir.appendingPathComponent("policy-entities.json")))
        let data = try Data(contentsOf: dir.appendingPathComponent("policy-requests.json"))
        guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            fail("policy-requests.json: expected an array of objects")
        }
        var requests: [CedarRequest] = []
        var expected: [(String, [String])] = []
        for var item in list {
            guard let exp = item.removeValue(forKey: "expected") as? [String: Any],
                let decision = exp["decision"] as? String, let reasons = exp["reasons"] as? [String]
            else { fail("policy-requests.json: a request lacks \"expected\"") }
            requests.append(try CedarRequest.fromJSON(JSONSerialization.data(withJSONObject: item)))
            expected.append((decision, reasons))
        }
        return (entities, requests, expected)
    } catch {
        fail("cannot read Benchmarks/Fixtures (run scripts/bench-policy-cedarpy.py first): \(error)")
    }
}

/// The catalog plus synthetic indicators up to `count` (a household view of 40 indicators, as issue 3 states it).
func catalog(paddedTo count: Int, from base: IndicatorCatalog) -> IndicatorCatalog {
    var list = base.indicators
    var n = 0
    while list.count < count {
        n += 1
        list.append(
            Indicator(
                id: "social.benchmark_extra_\(n)", type: .boolean, unit: nil, indicatorClass: .social, sphere: .social,
                sources: ["labour"], survivorSensitive: false, description: "Synthetic indicator for benchmarks"))
    }
    do { return try IndicatorCatalog(indicators: list) } catch { fail("\(error)") }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    let policies = repositoryRoot.appendingPathComponent("policies")
    let engine: PolicyEngine
    let engine40: PolicyEngine
    do {
        let base = try IndicatorCatalog.load(contentsOf: policies.appendingPathComponent("indicators.yaml"))
        engine = try PolicyEngine.load(directory: policies, catalog: base)
        engine40 = try PolicyEngine.load(directory: policies, catalog: catalog(paddedTo: 40, from: base))
    } catch {
        fail("cannot load the default policies: \(error)")
    }
    let worker = ShanyrakModel.Staff(
        id: "sw1", roles: ["social_worker"], district: "almaty-bostandyk", organisation: "akimat")
    let household = ShanyrakModel.context(view: .household, assigned: true, sameDistrict: true)
    let indicatorUIDs = engine.catalog.indicators.map { ShanyrakModel.indicatorUID($0.id) }
    let members = 5

    // Sanity: the household table must allow the plain indicators and deny the sensitive ones.
    let table = engine.decisionTable(staff: worker, action: .read, context: household)
    for (i, ind) in engine.catalog.indicators.enumerated()
    where table.isAllowed(catalogIndex: i) != ind.mayAppearInHouseholdView {
        fail("household table disagrees with the catalog on \(ind.id)")
    }
    let table40 = engine40.decisionTable(staff: worker, action: .read, context: household)
    FileHandle.standardError.write(
        Data(
            ("PolicyBenchmarks: household read table: \(table.evaluations) evaluations for "
                + "\(engine.catalog.indicators.count) indicators; \(table40.evaluations) for "
                + "\(engine40.catalog.indicators.count)\n").utf8))

    // 1. One authorization through the convenience API: builds the request and the per-staff entity store.
    Benchmark(
        "authorize: social worker, household view (staff, action, resource, context)",
        configuration: .init(scalingFactor: .kilo)
    ) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            blackHole(engine.authorize(staff: worker, action: .read, resource: indicatorUIDs[i], context: household))
            i = i == indicatorUIDs.count - 1 ? 0 : i + 1
        }
    }

    // 2. One authorization with the entity store built once per staff member (as a request handler would).
    let store = engine.entities(for: worker)
    Benchmark(
        "authorize: social worker, household view, prebuilt entity store",
        configuration: .init(scalingFactor: .kilo)
    ) { benchmark in
        var request = CedarRequest(
            principal: worker.uid, action: ShanyrakModel.Action.read.uid, resource: indicatorUIDs[0],
            context: household)
        var i = 0
        for _ in benchmark.scaledIterations {
            request.resource = indicatorUIDs[i]
            blackHole(engine.authorize(request, entities: store))
            i = i == indicatorUIDs.count - 1 ? 0 : i + 1
        }
    }

    // 3. The cedarpy request set (8 scenarios x catalog), same entities; decisions checked against cedarpy's.
    let fixture = loadCedarpyFixture()
    for (request, (decision, reasons)) in zip(fixture.requests, fixture.expected) {
        let r = engine.policySet.authorize(request, entities: fixture.entities)
        if r.decision.rawValue != decision || r.determiningPolicies.sorted() != reasons {
            fail("decision differs from cedarpy for \(request): \(r) vs \(decision) \(reasons)")
        }
    }
    Benchmark(
        "authorize: cedarpy request set (\(fixture.requests.count) requests), per request",
        configuration: .init(scalingFactor: .kilo)
    ) { benchmark in
        var i = 0
        for _ in benchmark.scaledIterations {
            blackHole(engine.authorize(fixture.requests[i], entities: fixture.entities))
            i = i == fixture.requests.count - 1 ? 0 : i + 1
        }
    }

    // 4. The household view: one decision table (the context is the household's), read for every member.
    Benchmark(
        "household view: 1 decision table, \(members) members x \(engine.catalog.indicators.count) indicators",
        configuration: .init(scalingFactor: .one)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            let table = engine.decisionTable(staff: worker, action: .read, context: household)
            var allowed = 0
            for _ in 0..<members {
                for i in 0..<indicatorUIDs.count where table.isAllowed(catalogIndex: i) { allowed += 1 }
            }
            blackHole(allowed)
        }
    }

    // 5. The worst case the target names: 40 indicators, and one table per member (as if each member's
    //    context differed).
    Benchmark(
        "household view: \(members) decision tables, \(members) members x \(engine40.catalog.indicators.count) indicators",
        configuration: .init(scalingFactor: .one)
    ) { benchmark in
        let n = engine40.catalog.indicators.count
        for _ in benchmark.scaledIterations {
            var allowed = 0
            for _ in 0..<members {
                let table = engine40.decisionTable(staff: worker, action: .read, context: household)
                for i in 0..<n where table.isAllowed(catalogIndex: i) { allowed += 1 }
            }
            blackHole(allowed)
        }
    }

    // 6. The service's own decision for a household card: ShanyrakAccess's CedarAccessPolicy.decide over the
    //    indicators that may appear on a card (one decision table, responses looked up by indicator id,
    //    determining policies collected), as AccessService.householdView calls it. The decision cache is off:
    //    this measures the evaluation a cache miss costs (a hit is one dictionary lookup).
    let access = CedarAccessPolicy(engine: engine, decisionCacheCapacity: 0)
    let principal = Principal(id: 1, role: .socialWorker, district: "almaty-bostandyk", organisation: "akimat")
    let candidates = engine.catalog.indicators.map(\.id).filter { HouseholdView.mayAppear($0, catalog: engine.catalog) }
    let cardContext = AccessContext(view: .household, assigned: true, sameDistrict: true)
    Benchmark(
        "household view through CedarAccessPolicy.decide (\(candidates.count) candidate indicators)",
        configuration: .init(scalingFactor: .one)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try access.decide(principal: principal, action: .read, context: cardContext, indicators: candidates))
        }
    }

    // 7. For contrast: the household view without tables, one authorization per member and indicator.
    Benchmark(
        "household view without tables: \(members) x \(indicatorUIDs.count) authorizations",
        configuration: .init(scalingFactor: .one)
    ) { benchmark in
        var request = CedarRequest(
            principal: worker.uid, action: ShanyrakModel.Action.read.uid, resource: indicatorUIDs[0],
            context: household)
        for _ in benchmark.scaledIterations {
            var allowed = 0
            for _ in 0..<members {
                for uid in indicatorUIDs {
                    request.resource = uid
                    if engine.authorize(request, entities: store).decision == .allow { allowed += 1 }
                }
            }
            blackHole(allowed)
        }
    }
}
