/// Whether one part of a policy held for a request.
public enum PartOutcome: Sendable, Hashable, CustomStringConvertible {
    /// The scope constraint or condition held.
    case held
    /// It did not hold.
    case failed
    /// Its evaluation failed with this error.
    case error(String)
    /// Not evaluated: an earlier part already decided the policy (Cedar short-circuits).
    case notEvaluated

    /// `held`, `failed`, `error: ...` or `not evaluated`.
    public var description: String {
        switch self {
        case .held: "held"
        case .failed: "failed"
        case .error(let m): "error: \(m)"
        case .notEvaluated: "not evaluated"
        }
    }
}

/// One part of a policy (a scope constraint or a condition) and its outcome.
public struct PolicyPartTrace: Sendable, Hashable {
    /// The part as written, such as `principal in Shanyrak::Role::"social_worker"` or `when { ... }`.
    public let text: String
    /// Whether it held.
    public let outcome: PartOutcome
}

/// How one policy fared for a request.
public struct PolicyTrace: Sendable, Hashable {
    /// The policy id.
    public let policyID: String
    /// `permit` or `forbid`.
    public let effect: PolicyEffect
    /// Where the policy is written.
    public let location: SourceLocation
    /// Principal, action and resource scope, then each condition in order.
    public let parts: [PolicyPartTrace]
    /// True when every part held (the policy is satisfied).
    public let satisfied: Bool
    /// True when the evaluation failed (the policy was skipped).
    public let errored: Bool
    /// True when the whole scope matched (the policy "mentions" the request).
    public let scopeMatched: Bool
}

/// A decision with, for each policy, which scope part or condition held or failed.
public struct PolicyExplanation: Sendable {
    /// The decision as `authorize` gives it.
    public let response: CedarResponse
    /// One trace per policy, in set order.
    public let traces: [PolicyTrace]

    /// A readable report: decision, determining policies, then each relevant policy part by part.
    /// - Parameter all: include policies whose scope did not match the request.
    public func report(all: Bool = false) -> String {
        var out = "decision: \(response.decision.rawValue)\n"
        out += "determining policies: "
        out +=
            response.determiningPolicies.isEmpty
            ? "none (default deny)\n" : response.determiningPolicies.joined(separator: ", ") + "\n"
        for e in response.errors { out += "error: \(e)\n" }
        for t in traces where all || t.scopeMatched || t.satisfied {
            let state = t.errored ? "skipped (error)" : (t.satisfied ? "satisfied" : "not satisfied")
            out += "\n\(t.effect.rawValue) \(t.policyID) (\(t.location)): \(state)\n"
            for p in t.parts {
                out += "  [\(p.outcome)] \(p.text)\n"
            }
        }
        return out
    }
}

extension EntityScope {
    func text(_ variable: String) -> String {
        switch self {
        case .any: return variable
        case .eq(let e): return "\(variable) == \(e)"
        case .in(let e): return "\(variable) in \(e)"
        case .is(let t): return "\(variable) is \(t)"
        case .isIn(let t, let e): return "\(variable) is \(t) in \(e)"
        }
    }
}

extension ActionScope {
    var text: String {
        switch self {
        case .any: return "action"
        case .eq(let e): return "action == \(e)"
        case .in(let e): return "action in \(e)"
        case .inSet(let l): return "action in [" + l.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

extension CedarPolicySet {
    /// Decides a request and explains it: for every policy, which scope part and condition held or failed.
    /// - Parameters:
    ///   - request: the request.
    ///   - entities: the entity store.
    /// - Returns: the response (identical to `authorize`) and one trace per policy.
    public func explain(_ request: CedarRequest, entities: CedarEntities) -> PolicyExplanation {
        let ev = Evaluator(request: request, entities: entities)
        var traces: [PolicyTrace] = []
        for p in policies {
            let scope: [(String, Bool)] = [
                (p.principal.text("principal"), ev.matches(p.principal, request.principal)),
                (p.action.text, ev.matches(p.action, request.action)),
                (p.resource.text("resource"), ev.matches(p.resource, request.resource)),
            ]
            var parts = scope.map { PolicyPartTrace(text: $0.0, outcome: $0.1 ? .held : .failed) }
            let scopeMatched = scope.allSatisfy(\.1)
            var decided = !scopeMatched
            var satisfied = scopeMatched
            var errored = false
            for c in p.conditions {
                if decided {
                    parts.append(PolicyPartTrace(text: c.text, outcome: .notEvaluated))
                    continue
                }
                do throws(EvaluationError) {
                    let v = try ev.eval(c.body)
                    guard case .bool(let b) = v else { throw EvaluationError.type("bool", v) }
                    if b == c.isWhen {
                        parts.append(PolicyPartTrace(text: c.text, outcome: .held))
                    } else {
                        parts.append(PolicyPartTrace(text: c.text, outcome: .failed))
                        decided = true
                        satisfied = false
                    }
                } catch {
                    parts.append(PolicyPartTrace(text: c.text, outcome: .error(error.message)))
                    decided = true
                    satisfied = false
                    errored = true
                }
            }
            traces.append(
                PolicyTrace(
                    policyID: p.id, effect: p.effect, location: p.location, parts: parts, satisfied: satisfied,
                    errored: errored, scopeMatched: scopeMatched))
        }
        return PolicyExplanation(response: authorize(request, entities: entities), traces: traces)
    }
}
