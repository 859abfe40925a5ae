public import Foundation
import ShanyrakCore

/// One finding of `policy check`.
public struct PolicyDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// How serious a finding is.
    public enum Severity: String, Sendable, Hashable {
        /// The set must not be used.
        case error
        /// Worth fixing; the set may be used.
        case warning
    }

    /// Error or warning.
    public let severity: Severity
    /// Where, when the finding concerns a place in a file.
    public let location: SourceLocation?
    /// What is wrong, naming the rule.
    public let message: String

    /// Creates a finding.
    public init(_ severity: Severity, _ location: SourceLocation?, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `file:line:column: error: message`.
    public var description: String {
        if let location { return "\(location): \(severity.rawValue): \(message)" }
        return "\(severity.rawValue): \(message)"
    }
}

/// A way some principal could be permitted a survivor-sensitive or violence-class indicator in a household view.
public struct SurvivorSafetyViolation: Sendable, Hashable, CustomStringConvertible {
    /// The principal's roles.
    public let roles: [String]
    /// The principal's attributes (district, organisation, source) and id.
    public let principal: String
    /// The action.
    public let action: String
    /// The indicators permitted.
    public let indicators: [String]
    /// The context that permits it.
    public let context: String
    /// The permitting policies.
    public let policies: [String]

    /// A sentence naming who, what, how and which policies.
    public var description: String {
        "survivor-safety invariant violated: a principal with roles [\(roles.joined(separator: ", "))] (\(principal)) "
            + "is permitted \(action) on [\(indicators.joined(separator: ", "))] in a household view "
            + "with context \(context), by \(policies.joined(separator: ", "))"
    }
}

extension PolicyEngine {
    /// Checks the set against its schema and catalog: unknown entity types, attributes, actions,
    /// indicators and indicator classes are errors; unknown roles and policies without `@id` are warnings;
    /// duplicate `@id`s are errors.
    /// - Returns: findings with file:line:column.
    public func validate() -> [PolicyDiagnostic] {
        var v = PolicyValidator(engine: self)
        return v.run()
    }

    /// Searches for a principal and context under which a survivor-sensitive or violence-class indicator
    /// is permitted in a household view (see docs/policies.md for the method and its limits).
    /// - Parameter limit: stop after this many violations.
    /// - Returns: the violations found, how many requests were evaluated, and an error when the search
    ///   space is too large to cover (the invariant is then not established).
    public func checkSurvivorSafety(limit: Int = 10) -> (
        violations: [SurvivorSafetyViolation], evaluated: Int, incomplete: String?
    ) {
        let literals = PolicyAnalysis.entityLiterals(in: policySet)
        var roles = Set(ShanyrakModel.Role.allCases.map(\.rawValue))
        var staffIDs: Set<String> = ["survivor-check-probe"]
        for uid in literals {
            if uid.type == ShanyrakModel.roleType { roles.insert(uid.id) }
            if uid.type == ShanyrakModel.staffType { staffIDs.insert(uid.id) }
        }
        let roleList = roles.sorted()
        var roleSets: [[String]] = [[]] + roleList.map { [$0] }
        for (i, a) in roleList.enumerated() {
            for b in roleList[(i + 1)...] { roleSets.append([a, b]) }
        }
        if roleList.count > 2 { roleSets.append(roleList) }
        var strings = PolicyAnalysis.stringLiterals(in: policySet)
        for ind in catalog.indicators {
            strings.formUnion(ind.sources)
            strings.insert(ind.sphere.rawValue)
        }
        strings.insert("")
        strings.insert(PolicyAnalysis.freshString)
        let mentioned = PolicyAnalysis.attributeNames(in: policySet)
        func values(_ attr: String) -> [String] {
            mentioned.contains(attr) ? strings.sorted() : [PolicyAnalysis.freshString]
        }
        let districts = values("district")
        let organisations = values("organisation")
        let sources = values("source")
        let purposes = values("purpose")
        let actions: [CedarEntityUID] =
            schema.map { s in
                s.actions.values.filter { $0.resourceTypes.contains(ShanyrakModel.indicatorType) }.map(\.uid).sorted()
            } ?? ShanyrakModel.Action.allCases.filter(\.isDataAction).map(\.uid)
        let total =
            staffIDs.count * roleSets.count * districts.count * organisations.count * sources.count * purposes.count * 8
            * actions.count * 8
        if total > 20_000_000 {
            return (
                [], 0,
                "survivor-safety invariant: \(total) combinations to evaluate is more than this check covers; "
                    + "reduce the distinct string literals compared with principal or context attributes"
            )
        }
        var sensitiveGroups: [CedarEntityUID: [[Int]]] = [:]
        for a in actions {
            sensitiveGroups[a] = grouping(for: a).groups.map { g in
                g.filter { !catalog.indicators[$0].mayAppearInHouseholdView }
            }.filter { !$0.isEmpty }
        }
        var violations: [SurvivorSafetyViolation] = []
        var seen: Set<String> = []
        var evaluated = 0
        for id in staffIDs.sorted() {
            for rs in roleSets {
                for d in districts {
                    for o in organisations {
                        for src in sources {
                            let staff = ShanyrakModel.Staff(
                                id: id, roles: Set(rs), district: d, organisation: o, source: src)
                            let store = entities(for: staff)
                            for p in purposes {
                                for bits in 0..<8 {
                                    let ctx = ShanyrakModel.context(
                                        view: .household, assigned: bits & 1 != 0, sameDistrict: bits & 2 != 0,
                                        purpose: p, breakGlass: bits & 4 != 0)
                                    for a in actions {
                                        var request = CedarRequest(
                                            principal: staff.uid, action: a, resource: a, context: ctx)
                                        // Indicators of a group get the same decision: try one sensitive member.
                                        for g in sensitiveGroups[a] ?? [] {
                                            request.resource = ShanyrakModel.indicatorUID(catalog.indicators[g[0]].id)
                                            let r = policySet.authorize(request, entities: store)
                                            evaluated += 1
                                            guard r.decision == .allow else { continue }
                                            // One witness per (permitting policies, action, indicator group).
                                            let key = "\(r.determiningPolicies)|\(a.id)|\(g[0])"
                                            guard seen.insert(key).inserted else { continue }
                                            violations.append(
                                                SurvivorSafetyViolation(
                                                    roles: rs,
                                                    principal:
                                                        "id \(id), district \"\(d)\", organisation \"\(o)\", source \"\(src)\"",
                                                    action: a.id, indicators: g.map { catalog.indicators[$0].id },
                                                    context: CedarValue.record(ctx).description,
                                                    policies: r.determiningPolicies))
                                            if violations.count >= limit { return (violations, evaluated, nil) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (violations, evaluated, nil)
    }

    /// Everything `policy check` reports: schema and catalog validation, then (if those pass) the
    /// survivor-safety invariant.
    public func check() -> [PolicyDiagnostic] {
        var out = validate()
        guard !out.contains(where: { $0.severity == .error }) else { return out }
        let (violations, _, incomplete) = checkSurvivorSafety(limit: 25)
        if let incomplete { out.append(PolicyDiagnostic(.error, nil, incomplete)) }
        for v in violations {
            let loc = v.policies.first.flatMap { policySet.policy(id: $0)?.location }
            out.append(PolicyDiagnostic(.error, loc, v.description))
        }
        return out
    }

    /// Loads and checks a policy directory; a set that does not load gives one error finding.
    /// - Parameter directory: the policy directory.
    public static func check(directory: URL) -> [PolicyDiagnostic] {
        do {
            return try load(directory: directory).check()
        } catch {
            return [PolicyDiagnostic(.error, nil, error.message)]
        }
    }
}

extension PolicyAnalysis {
    /// A string value no policy mentions, standing for every such value.
    static let freshString = "~fresh~"

    /// Every attribute name read with `.name`, `["name"]` or tested with `has`.
    static func attributeNames(in set: CedarPolicySet) -> Set<String> {
        var out: Set<String> = []
        for p in set.policies {
            for c in p.conditions {
                walk(c.body) { e in
                    switch e.kind {
                    case .getAttr(_, let n), .hasAttr(_, let n): out.insert(n)
                    default: break
                    }
                }
            }
        }
        return out
    }
}

/// Validates policies against the schema and the catalog.
struct PolicyValidator {
    let engine: PolicyEngine
    var findings: [PolicyDiagnostic] = []

    init(engine: PolicyEngine) { self.engine = engine }

    indirect enum StaticType {
        case entities([String])
        case record([String: StaticType], what: String)
        case set
        case other
    }

    static func from(_ t: CedarSchemaType) -> StaticType {
        switch t {
        case .entity(let n): return .entities([n])
        case .record(let r): return .record(r.mapValues { from($0.type) }, what: "record")
        case .set: return .set
        default: return .other
        }
    }

    mutating func error(_ loc: SourceLocation, _ m: String) { findings.append(PolicyDiagnostic(.error, loc, m)) }

    mutating func run() -> [PolicyDiagnostic] {
        var seenIDs: [String: SourceLocation] = [:]
        if engine.policySet.policies.isEmpty {
            findings.append(PolicyDiagnostic(.warning, nil, "the set has no policies: every request is denied"))
        }
        for p in engine.policySet.policies {
            if !p.hasIDAnnotation {
                findings.append(
                    PolicyDiagnostic(.warning, p.location, "policy has no @id annotation; it is reported as \(p.id)"))
            } else if let first = seenIDs[p.id] {
                error(p.location, "duplicate @id(\"\(p.id)\"), first used at \(first)")
            } else {
                seenIDs[p.id] = p.location
            }
            checkPolicy(p)
        }
        return findings
    }

    mutating func checkPolicy(_ p: CedarPolicy) {
        guard let schema = engine.schema else {
            // Without a schema only the catalog can be checked.
            for uid in PolicyAnalysis.entityLiterals(in: CedarPolicySet(policies: [p])) {
                checkEntity(uid, at: p.location)
            }
            return
        }
        // actions the policy applies to
        var actions: [CedarSchema.Action] = []
        switch p.action {
        case .any: actions = Array(schema.actions.values)
        case .eq(let a), .in(let a):
            checkEntity(a, at: p.actionLocation)
            actions = schema.actions.values.filter { $0.uid == a || $0.memberOf.contains(a) }
        case .inSet(let list):
            for a in list { checkEntity(a, at: p.actionLocation) }
            actions = schema.actions.values.filter { act in list.contains { $0 == act.uid || act.memberOf.contains($0) }
            }
        }
        var principalTypes = Set(actions.flatMap(\.principalTypes))
        var resourceTypes = Set(actions.flatMap(\.resourceTypes))
        func scope(_ s: EntityScope, _ loc: SourceLocation, _ types: inout Set<String>, _ validator: inout Self) {
            switch s {
            case .any: break
            case .eq(let e):
                validator.checkEntity(e, at: loc)
                types = types.intersection([e.type])
            case .in(let e): validator.checkEntity(e, at: loc)
            case .is(let t):
                validator.checkType(t, at: loc)
                types = types.intersection([t])
            case .isIn(let t, let e):
                validator.checkType(t, at: loc)
                validator.checkEntity(e, at: loc)
                types = types.intersection([t])
            }
        }
        scope(p.principal, p.principalLocation, &principalTypes, &self)
        scope(p.resource, p.resourceLocation, &resourceTypes, &self)
        var context: [String: StaticType] = [:]
        for a in actions { for (k, v) in a.context { context[k] = Self.from(v.type) } }
        let env: [CedarVariable: StaticType] = [
            .principal: .entities(principalTypes.sorted()), .resource: .entities(resourceTypes.sorted()),
            .context: .record(context, what: "context"), .action: .other,
        ]
        for c in p.conditions { _ = typeOf(c.body, env) }
    }

    mutating func checkType(_ t: String, at loc: SourceLocation) {
        guard let schema = engine.schema else { return }
        if schema.entityTypes[t] == nil && !t.hasSuffix("::Action") && t != "Action" {
            error(loc, "unknown entity type `\(t)`")
        }
    }

    mutating func checkEntity(_ uid: CedarEntityUID, at loc: SourceLocation) {
        if let schema = engine.schema {
            if uid.type.hasSuffix("::Action") || uid.type == "Action" {
                if schema.actions[uid] == nil { error(loc, "unknown action \(uid)") }
                return
            }
            if schema.entityTypes[uid.type] == nil {
                error(loc, "unknown entity type `\(uid.type)` in \(uid)")
                return
            }
        }
        switch uid.type {
        case ShanyrakModel.indicatorType where engine.catalog[uid.id] == nil:
            error(loc, "unknown indicator \(uid): not in the indicator catalog")
        case ShanyrakModel.indicatorClassType where IndicatorClass(rawValue: uid.id) == nil:
            error(
                loc,
                "unknown indicator class \(uid) (\(IndicatorClass.allCases.map(\.rawValue).joined(separator: ", ")))")
        case ShanyrakModel.roleType where ShanyrakModel.Role(rawValue: uid.id) == nil:
            findings.append(PolicyDiagnostic(.warning, loc, "role \(uid) is not one the service assigns"))
        case ShanyrakModel.systemType where uid != ShanyrakModel.registry && uid != ShanyrakModel.auditLog:
            error(loc, "unknown system resource \(uid) (registry, audit)")
        default: break
        }
    }

    mutating func typeOf(_ e: Expr, _ env: [CedarVariable: StaticType]) -> StaticType {
        switch e.kind {
        case .variable(let v): return env[v] ?? .other
        case .literal(let v):
            var uids: Set<CedarEntityUID> = []
            PolicyAnalysis.collect(v, into: &uids)
            for u in uids.sorted() { checkEntity(u, at: e.location) }
            if case .entity(let u) = v { return .entities([u.type]) }
            if case .set = v { return .set }
            return .other
        case .getAttr(let x, let name):
            let t = typeOf(x, env)
            return attribute(name, of: t, at: e.location)
        case .hasAttr(let x, _):
            _ = typeOf(x, env)
            return .other
        case .isType(let x, let t, let y):
            _ = typeOf(x, env)
            checkType(t, at: e.location)
            if let y { _ = typeOf(y, env) }
            return .other
        case .record(let fields):
            var r: [String: StaticType] = [:]
            for (k, x) in fields { r[k] = typeOf(x, env) }
            return .record(r, what: "record literal")
        case .ifThenElse(let a, let b, let c):
            _ = typeOf(a, env)
            _ = typeOf(b, env)
            _ = typeOf(c, env)
            return .other
        case .set(let items):
            for x in items { _ = typeOf(x, env) }
            return .set
        case .not(let x), .negate(let x), .like(let x, _, _), .isEmpty(let x):
            _ = typeOf(x, env)
            return .other
        case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b):
            _ = typeOf(a, env)
            _ = typeOf(b, env)
            return .other
        }
    }

    mutating func attribute(_ name: String, of t: StaticType, at loc: SourceLocation) -> StaticType {
        switch t {
        case .entities(let types):
            guard let schema = engine.schema, !types.isEmpty else { return .other }
            let known = types.compactMap { schema.entityTypes[$0] }
            guard known.count == types.count else { return .other }
            for k in known { if let a = k.attributes[name] { return Self.from(a.type) } }
            error(loc, "unknown attribute `\(name)` of entity type \(types.joined(separator: " or "))")
            return .other
        case .record(let attrs, let what):
            if let a = attrs[name] { return a }
            error(loc, "unknown attribute `\(name)` of \(what)")
            return .other
        default:
            return .other
        }
    }
}
