public import Foundation

/// One expected decision from `policies/tests/*.json`.
public struct PolicyTestCase: Sendable {
    /// The case's name.
    public let name: String
    /// The file it comes from.
    public let file: String
    /// The request.
    public let request: CedarRequest
    /// Entities of the case (the file's shared entities plus the case's own).
    public let entities: [CedarEntity]
    /// The expected decision.
    public let decision: PolicyDecision
    /// The expected determining policies, when the case names them.
    public let reasons: [String]?
}

/// The result of one policy test case.
public struct PolicyTestResult: Sendable {
    /// The case.
    public let testCase: PolicyTestCase
    /// The explanation of the actual decision.
    public let explanation: PolicyExplanation
    /// Whether decision and (when given) determining policies match.
    public var passed: Bool {
        explanation.response.decision == testCase.decision
            && (testCase.reasons.map { Set($0) == Set(explanation.response.determiningPolicies) } ?? true)
    }
}

extension PolicyEngine {
    /// Reads the test files of a directory (`*.json`, lexicographic order).
    ///
    /// File format: `{"entities": [...shared...], "cases": [{"name", "request", "entities"?, "decision",
    /// "reasons"?}]}`; requests and entities in Cedar's JSON forms. The catalog's entities are added to
    /// every case.
    /// - Throws: `PolicyLoadError` naming the file and the case.
    public static func loadTests(directory: URL) throws(PolicyLoadError) -> [PolicyTestCase] {
        var cases: [PolicyTestCase] = []
        for f in try PolicyFiles.allFiles(in: directory) where f.name.hasSuffix(".json") && !f.name.contains("/") {
            guard let data = try? Data(contentsOf: f.url) else { throw PolicyLoadError("\(f.name): cannot read") }
            do throws(CedarJSONError) {
                let doc = try JSONValue.parse(data, what: f.name)
                guard let o = doc.object, let list = o["cases"]?.array else {
                    throw CedarJSONError("expected an object with a \"cases\" array")
                }
                let shared = try o["entities"].map { v throws(CedarJSONError) in try CedarEntities.parseList(v) } ?? []
                for (i, c) in list.enumerated() {
                    guard let co = c.object else { throw CedarJSONError("cases[\(i)]: expected an object") }
                    let name = co["name"]?.string ?? "case \(i + 1)"
                    guard let r = co["request"] else { throw CedarJSONError("\(name): missing \"request\"") }
                    let own =
                        try co["entities"].map { v throws(CedarJSONError) in try CedarEntities.parseList(v) } ?? []
                    guard let d = co["decision"]?.string, let decision = PolicyDecision(rawValue: d) else {
                        throw CedarJSONError("\(name): \"decision\" must be \"allow\" or \"deny\"")
                    }
                    let reasons = co["reasons"]?.array?.compactMap(\.string)
                    cases.append(
                        PolicyTestCase(
                            name: name, file: f.name, request: try CedarRequest.fromJSONValue(r),
                            entities: shared + own, decision: decision, reasons: reasons))
                }
            } catch {
                throw PolicyLoadError("\(f.name): \(error.message)")
            }
        }
        return cases
    }

    /// Runs test cases against this engine.
    /// - Returns: one result per case, with the explanation of the actual decision.
    public func run(_ cases: [PolicyTestCase]) -> [PolicyTestResult] {
        cases.map { c in
            let store: CedarEntities
            do {
                store = try baseEntities.adding(c.entities)
            } catch {
                store = baseEntities
            }
            return PolicyTestResult(testCase: c, explanation: explain(c.request, entities: store))
        }
    }
}
