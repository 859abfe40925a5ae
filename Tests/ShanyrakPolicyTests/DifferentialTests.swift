import Foundation
import ShanyrakPolicy
import Testing

/// Runs generated policies, hierarchies and requests through this engine and through cedarpy (Cedar's
/// Rust implementation) and requires identical decisions, determining policies and erroring policies.
struct DifferentialTests {
    struct Outcome: Equatable, CustomStringConvertible {
        var decision: String
        var reasons: [String]
        var errors: [String]
        var description: String { "\(decision) reasons=\(reasons) errors=\(errors)" }
    }

    static var python: String? { ProcessInfo.processInfo.environment["SHANYRAK_PYTHON"] }
    static var requireTools: Bool { ProcessInfo.processInfo.environment["SHANYRAK_REQUIRE_TOOLS"] == "1" }

    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/cedar_reference.py").path
    }

    /// Runs the reference script with a JSON document on stdin; nil when cedarpy is not available.
    static func runReference(_ input: Data) throws -> Data? {
        guard let python else {
            if requireTools { Issue.record("SHANYRAK_REQUIRE_TOOLS=1 but SHANYRAK_PYTHON is not set") }
            print("DifferentialTests: skipped, SHANYRAK_PYTHON is not set (make test sets it)")
            return nil
        }
        var importable = false
        if FileManager.default.isExecutableFile(atPath: python) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: python)
            probe.arguments = ["-c", "import cedarpy"]
            probe.standardError = FileHandle.nullDevice
            try probe.run()
            probe.waitUntilExit()
            importable = probe.terminationStatus == 0
        }
        if !importable {
            if requireTools {
                Issue.record("cedarpy is not importable by \(python); SHANYRAK_REQUIRE_TOOLS=1 makes that a failure")
            } else {
                print("DifferentialTests: skipped, cedarpy is not importable by \(python)")
            }
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [scriptPath]
        let inPipe = Pipe()
        let outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        try p.run()
        // Write on another thread so a large output cannot deadlock the pipes.
        let writer = Thread {
            inPipe.fileHandleForWriting.write(input)
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "cedar_reference.py failed")
        return out
    }

    @Test("generated policies: this engine agrees with cedarpy", arguments: [UInt64(20_261_129), 7, 424_242])
    func agreesWithCedar(seed: UInt64) throws {
        var gen = CedarCaseGenerator(seed: seed)
        var cases: [[String: Any]] = []
        var ours: [[Outcome]] = []
        for _ in 0..<150 {
            let policies = gen.policySet()
            let entities = gen.entities()
            let requests = (0..<20).map { _ in gen.request() }
            cases.append(["policies": policies, "entities": entities, "requests": requests])
            let store = try CedarEntities.fromJSON(JSONSerialization.data(withJSONObject: entities))
            var outcomes: [Outcome] = []
            let set = try? CedarPolicySet(text: policies)
            for r in requests {
                guard let set else {
                    outcomes.append(Outcome(decision: "parse_error", reasons: [], errors: []))
                    continue
                }
                let request = try CedarRequest.fromJSON(JSONSerialization.data(withJSONObject: r))
                let response = set.authorize(request, entities: store)
                outcomes.append(
                    Outcome(
                        decision: response.decision.rawValue, reasons: response.determiningPolicies.sorted(),
                        errors: response.errors.map(\.policyID).sorted()))
            }
            ours.append(outcomes)
        }
        let input = try JSONSerialization.data(withJSONObject: ["cases": cases])
        guard let output = try Self.runReference(input) else { return }
        let doc = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        let results = try #require(doc["results"] as? [[[String: Any]]])
        #expect(results.count == cases.count)
        var mismatches = 0
        var compared = 0
        var allowCount = 0
        var errorCount = 0
        var parseErrors = 0
        for (i, caseResults) in results.enumerated() {
            for (j, r) in caseResults.enumerated() {
                let theirs = Outcome(
                    decision: r["decision"] as? String ?? "?", reasons: r["reasons"] as? [String] ?? [],
                    errors: r["decision"] as? String == "parse_error" ? [] : (r["errors"] as? [String] ?? []))
                compared += 1
                if theirs.decision == "allow" { allowCount += 1 }
                if !theirs.errors.isEmpty { errorCount += 1 }
                if theirs.decision == "parse_error" { parseErrors += 1 }
                if theirs != ours[i][j] {
                    mismatches += 1
                    if mismatches <= 5 {
                        Issue.record(
                            """
                            case \(i) request \(j): cedar \(theirs) but engine \(ours[i][j])
                            policies:
                            \(cases[i]["policies"] ?? "")
                            request: \(String(data: try JSONSerialization.data(withJSONObject: (cases[i]["requests"] as? [Any])?[j] ?? [:]), encoding: .utf8) ?? "")
                            """)
                    }
                }
            }
        }
        print(
            "DifferentialTests seed \(seed): \(compared) requests compared, \(allowCount) allowed, \(errorCount) with errors, \(parseErrors) not parsed, \(mismatches) mismatches"
        )
        #expect(mismatches == 0)
        // The generator must exercise both outcomes and erroring policies, or the comparison proves little.
        #expect(allowCount > compared / 20)
        #expect(errorCount > compared / 20)
        #expect(parseErrors < compared / 20)
    }
}
