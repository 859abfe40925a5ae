import Foundation
import ShanyrakCore
import ShanyrakTestSupport
import Testing

@testable import ShanyrakPolicy

/// The default policies over the Shanyrak model: decision tables (one evaluation per indicator group)
/// must give, for every indicator, exactly what cedarpy decides for that indicator with the schema.
struct ModelDifferentialTests {
    static func json(_ uid: CedarEntityUID) -> [String: Any] { ["type": uid.type, "id": uid.id] }

    static func json(_ v: CedarValue) -> Any {
        switch v {
        case .bool(let b): return b
        case .long(let i): return i
        case .string(let s): return s
        case .entity(let u): return ["__entity": json(u)]
        case .set(let s): return s.map { json($0) }
        case .record(let r): return r.mapValues { json($0) }
        }
    }

    static func json(_ e: CedarEntity) -> [String: Any] {
        ["uid": json(e.uid), "attrs": e.attributes.mapValues { json($0) }, "parents": e.parents.map { json($0) }]
    }

    @Test("decision tables over the default policies agree with cedarpy for every indicator")
    func tablesAgreeWithCedar() throws {
        let dir = DefaultPolicyTests.policiesDir
        let engine = try PolicyEngine.load(directory: dir)
        var rng = SeededRandom(seed: 3)
        let roles = ShanyrakModel.Role.allCases.map(\.rawValue)
        let sources = ["", "police", "justice", "population", "labour", "health", "education"]
        var entities: [[String: Any]] = ShanyrakModel.catalogEntities(engine.catalog).map { Self.json($0) }
        entities += roles.map {
            [
                "uid": Self.json(CedarEntityUID(type: ShanyrakModel.roleType, id: $0)), "attrs": [:] as [String: Any],
                "parents": [] as [Any],
            ]
        }
        var requests: [[String: Any]] = []
        var ours: [(String, [String])] = []
        for n in 0..<70 {
            let staff = ShanyrakModel.Staff(
                id: "s\(n)", roles: Set(roles.filter { _ in Int.random(in: 0..<4, using: &rng) == 0 }),
                district: ["almaty", "astana"].randomElement(using: &rng) ?? "",
                organisation: "org", source: sources.randomElement(using: &rng) ?? "")
            entities.append(Self.json(staff.entities[0]))
            let action = ShanyrakModel.Action.allCases.randomElement(using: &rng) ?? .read
            let context = ShanyrakModel.context(
                view: ShanyrakModel.View.allCases.randomElement(using: &rng) ?? .person,
                assigned: Bool.random(using: &rng), sameDistrict: Bool.random(using: &rng),
                purpose: ["", "research"].randomElement(using: &rng) ?? "", breakGlass: Bool.random(using: &rng))
            let contextJSON = context.mapValues { Self.json($0) }
            if action.isDataAction {
                let table = engine.decisionTable(staff: staff, action: action, context: context)
                for ind in engine.catalog.indicators {
                    let r = try #require(table.response(for: ind.id))
                    ours.append((r.decision.rawValue, r.determiningPolicies.sorted()))
                    requests.append([
                        "principal": Self.json(staff.uid), "action": Self.json(action.uid),
                        "resource": Self.json(ShanyrakModel.indicatorUID(ind.id)), "context": contextJSON,
                    ])
                }
            } else {
                for resource in [ShanyrakModel.registry, ShanyrakModel.auditLog] {
                    let r = engine.authorize(staff: staff, action: action, resource: resource, context: context)
                    ours.append((r.decision.rawValue, r.determiningPolicies.sorted()))
                    requests.append([
                        "principal": Self.json(staff.uid), "action": Self.json(action.uid),
                        "resource": Self.json(resource), "context": contextJSON,
                    ])
                }
            }
        }
        let files = try PolicyFiles.cedarFiles(in: dir)
        let text = files.map(\.text).joined(separator: "\n")
        let schema = try String(contentsOf: dir.appendingPathComponent("schema.cedarschema.json"), encoding: .utf8)
        let input = try JSONSerialization.data(withJSONObject: [
            "cases": [["policies": text, "entities": entities, "requests": requests, "schema": schema]]
        ])
        guard let output = try DifferentialTests.runReference(input) else { return }
        let doc = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        let results = try #require((doc["results"] as? [[[String: Any]]])?.first)
        #expect(results.count == ours.count)
        var allowed = 0
        for (i, r) in results.enumerated() where i < ours.count {
            let theirs = (r["decision"] as? String ?? "?", r["reasons"] as? [String] ?? [])
            if theirs.0 == "allow" { allowed += 1 }
            #expect(theirs.0 == ours[i].0 && theirs.1 == ours[i].1, "request \(i): cedar \(theirs), engine \(ours[i])")
        }
        print("ModelDifferentialTests: \(results.count) requests compared, \(allowed) allowed")
        #expect(allowed > 20)
    }
}
