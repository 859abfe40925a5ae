public import Foundation

/// Allow or deny.
public enum PolicyDecision: String, Sendable, Hashable, Codable {
    /// At least one permit is satisfied and no forbid is.
    case allow
    /// Default deny, or a satisfied forbid.
    case deny
}

/// A policy that could not be evaluated for a request: Cedar skips it and reports it.
public struct PolicyEvaluationFailure: Sendable, Hashable, CustomStringConvertible {
    /// The policy's id.
    public let policyID: String
    /// What went wrong.
    public let error: EvaluationError

    /// Cedar's wording: "error while evaluating policy `id`: message".
    public var description: String { "error while evaluating policy `\(policyID)`: \(error.message)" }
}

/// The answer to one request.
public struct CedarResponse: Sendable, Hashable {
    /// Allow or deny.
    public let decision: PolicyDecision
    /// The determining policies: the satisfied forbids if any, else the satisfied permits (empty on default deny).
    public let determiningPolicies: [String]
    /// Policies skipped because their evaluation failed.
    public let errors: [PolicyEvaluationFailure]
}

/// A set of parsed policies with stable ids, and Cedar's authorization algorithm over it.
public struct CedarPolicySet: Sendable {
    /// The policies in set order (files in lexicographic path order, then source order).
    public let policies: [CedarPolicy]
    /// The same policies in a compact form for evaluation (one reference per policy).
    let compiled: [CompiledPolicy]
    /// Policy indices to try per action named in an `action ==` scope (plus every policy without one).
    private let byAction: [CedarEntityUID: [Int]]
    private let general: [Int]

    /// Creates a set from policies already numbered.
    public init(policies: [CedarPolicy]) {
        self.policies = policies
        self.compiled = policies.map(CompiledPolicy.init)
        var eq: [CedarEntityUID: [Int]] = [:]
        var general: [Int] = []
        for (i, p) in policies.enumerated() {
            if case .eq(let a) = p.action { eq[a, default: []].append(i) } else { general.append(i) }
        }
        self.general = general
        self.byAction = eq.mapValues { ($0 + general).sorted() }
    }

    /// Parses policy text (one file's worth) as a whole set.
    /// - Parameters:
    ///   - text: Cedar policies.
    ///   - file: the name used in error locations.
    /// - Throws: `PolicyParseError` with file, line, column and what was expected.
    public init(text: String, file: String = "<policies>") throws(PolicyParseError) {
        self.init(policies: try CedarParser.parse(source: text, file: file, firstIndex: 0))
    }

    /// Parses several files as one set, numbering `policyN` across them in the order given.
    /// - Parameter files: (name, text) pairs, already in set order.
    /// - Throws: `PolicyParseError` for the first file that does not parse.
    public init(files: [(name: String, text: String)]) throws(PolicyParseError) {
        var all: [CedarPolicy] = []
        for f in files {
            all += try CedarParser.parse(source: f.text, file: f.name, firstIndex: all.count)
        }
        self.init(policies: all)
    }

    /// Loads every `.cedar` file under a directory (recursively), in lexicographic order of the path
    /// inside the directory.
    /// - Throws: `PolicyLoadError` if a file cannot be read or does not parse.
    public init(directory: URL) throws(PolicyLoadError) {
        let files = try PolicyFiles.cedarFiles(in: directory)
        do {
            self = try CedarPolicySet(files: files)
        } catch {
            throw PolicyLoadError(error.description)
        }
    }

    /// The policy with this id, if any.
    public func policy(id: String) -> CedarPolicy? { policies.first { $0.id == id } }

    /// Decides a request with Cedar's semantics: default deny, a satisfied forbid overrides every permit,
    /// a policy whose evaluation errors is skipped and reported, policy order does not matter.
    /// - Parameters:
    ///   - request: the request.
    ///   - entities: the entity store (principal, its roles, the resource and its class...).
    /// - Returns: decision, determining policy ids, errors.
    public func authorize(_ request: CedarRequest, entities: CedarEntities) -> CedarResponse {
        let evaluator = Evaluator(request: request, entities: entities)
        var permits: [String] = []
        var forbids: [String] = []
        var errors: [PolicyEvaluationFailure] = []
        for i in byAction[request.action] ?? general {
            let p = compiled[i]
            do {
                if try evaluator.isSatisfied(p) {
                    if p.effect == .permit { permits.append(p.id) } else { forbids.append(p.id) }
                }
            } catch {
                errors.append(PolicyEvaluationFailure(policyID: p.id, error: error))
            }
        }
        if !forbids.isEmpty { return CedarResponse(decision: .deny, determiningPolicies: forbids, errors: errors) }
        if !permits.isEmpty { return CedarResponse(decision: .allow, determiningPolicies: permits, errors: errors) }
        return CedarResponse(decision: .deny, determiningPolicies: [], errors: errors)
    }
}

/// A policy set that could not be loaded: which file and why.
public struct PolicyLoadError: Error, Sendable, CustomStringConvertible {
    /// The message, with file:line:column where there is one.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Finds the files of a policy set.
enum PolicyFiles {
    /// Every regular file under `directory` with its relative path, sorted by that path (bytewise).
    static func allFiles(in directory: URL) throws(PolicyLoadError) -> [(name: String, url: URL)] {
        let fm = FileManager.default
        let root = directory.standardizedFileURL.path
        guard let walker = fm.enumerator(atPath: root) else {
            throw PolicyLoadError("\(directory.path): cannot read the policy directory")
        }
        var result: [(name: String, url: URL)] = []
        while let rel = walker.nextObject() as? String {
            let url = URL(fileURLWithPath: root).appendingPathComponent(rel)
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue {
                result.append((rel, url))
            }
        }
        return result.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    static func cedarFiles(in directory: URL) throws(PolicyLoadError) -> [(name: String, text: String)] {
        var out: [(name: String, text: String)] = []
        for f in try allFiles(in: directory) where f.name.hasSuffix(".cedar") {
            guard let text = try? String(contentsOf: f.url, encoding: .utf8) else {
                throw PolicyLoadError("\(f.name): cannot read the file as UTF-8")
            }
            out.append((f.name, text))
        }
        return out
    }
}

/// A policy as the evaluator needs it, behind one reference so that the hot loop copies one pointer.
final class CompiledPolicy: Sendable {
    let id: String
    let effect: PolicyEffect
    let principal: EntityScope
    let action: ActionScope
    let resource: EntityScope
    let conditions: [Condition]

    init(_ p: CedarPolicy) {
        id = p.id
        effect = p.effect
        principal = p.principal
        action = p.action
        resource = p.resource
        conditions = p.conditions
    }
}
