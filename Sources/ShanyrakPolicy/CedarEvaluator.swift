/// An authorization request: who (principal) does what (action) to what (resource), in which context.
public struct CedarRequest: Sendable, Hashable {
    /// The principal, for example `Shanyrak::Staff::"u1"`.
    public var principal: CedarEntityUID
    /// The action, for example `Shanyrak::Action::"read"`.
    public var action: CedarEntityUID
    /// The resource, for example `Shanyrak::Indicator::"health.chronic_illness"`.
    public var resource: CedarEntityUID
    /// The context record.
    public var context: [String: CedarValue]

    /// Creates a request.
    public init(
        principal: CedarEntityUID, action: CedarEntityUID, resource: CedarEntityUID,
        context: [String: CedarValue] = [:]
    ) {
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context
    }
}

/// Why an expression could not be evaluated (Cedar's evaluation errors).
public struct EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message, in Cedar's words where Cedar has them.
    public let message: String
    init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }

    static func type(_ expected: String, _ got: CedarValue) -> EvaluationError {
        EvaluationError("type error: expected \(expected), got \(got.typeName)")
    }
}

/// Evaluates expressions for one request over one entity store.
struct Evaluator {
    let request: CedarRequest
    let entities: CedarEntities

    func eval(_ e: Expr) throws(EvaluationError) -> CedarValue {
        switch e.kind {
        case .literal(let v):
            return v
        case .variable(let v):
            switch v {
            case .principal: return .entity(request.principal)
            case .action: return .entity(request.action)
            case .resource: return .entity(request.resource)
            case .context: return .record(request.context)
            }
        case .not(let x):
            return .bool(!(try bool(x)))
        case .negate(let x):
            let v = try eval(x)
            guard case .long(let i) = v else { throw EvaluationError.type("long", v) }
            let (r, o) = Int64(0).subtractingReportingOverflow(i)
            if o { throw EvaluationError("integer overflow while attempting to negate the value `\(i)`") }
            return .long(r)
        case .and(let l, let r):
            guard try bool(l) else { return .bool(false) }
            return .bool(try bool(r))
        case .or(let l, let r):
            if try bool(l) { return .bool(true) }
            return .bool(try bool(r))
        case .ifThenElse(let c, let t, let f):
            return try bool(c) ? try eval(t) : try eval(f)
        case .binary(let op, let l, let r):
            return try binary(op, try eval(l), try eval(r))
        case .getAttr(let x, let name):
            // Fast paths: attributes of the request variables, without boxing the context record.
            if case .variable(let variable) = x.kind {
                switch variable {
                case .context:
                    guard let a = request.context[name] else {
                        throw EvaluationError("record does not have the attribute `\(name)`")
                    }
                    return a
                case .principal: return try attribute(of: request.principal, name)
                case .resource: return try attribute(of: request.resource, name)
                case .action: return try attribute(of: request.action, name)
                }
            }
            let v = try eval(x)
            switch v {
            case .record(let rec):
                guard let a = rec[name] else { throw EvaluationError("record does not have the attribute `\(name)`") }
                return a
            case .entity(let uid):
                return try attribute(of: uid, name)
            default:
                throw EvaluationError.type("one of [record, (entity of type `any_entity_type`)]", v)
            }
        case .hasAttr(let x, let name):
            let v = try eval(x)
            switch v {
            case .record(let rec): return .bool(rec[name] != nil)
            case .entity(let uid): return .bool(entities.entity(uid)?.attributes[name] != nil)
            default: throw EvaluationError.type("one of [record, (entity of type `any_entity_type`)]", v)
            }
        case .like(let x, let pattern, _):
            let v = try eval(x)
            guard case .string(let s) = v else { throw EvaluationError.type("string", v) }
            return .bool(Self.matches(Array(s.unicodeScalars), pattern))
        case .isType(let x, let type, let inExpr):
            let v = try eval(x)
            guard case .entity(let uid) = v else {
                throw EvaluationError.type("(entity of type `any_entity_type`)", v)
            }
            guard uid.type == type else { return .bool(false) }
            guard let inExpr else { return .bool(true) }
            return try binary(.in, v, try eval(inExpr))
        case .set(let items):
            var s: Set<CedarValue> = []
            s.reserveCapacity(items.count)
            for item in items { s.insert(try eval(item)) }
            return .set(s)
        case .record(let fields):
            var r: [String: CedarValue] = [:]
            for (k, x) in fields { r[k] = try eval(x) }
            return .record(r)
        case .isEmpty(let x):
            let v = try eval(x)
            guard case .set(let s) = v else { throw EvaluationError.type("set", v) }
            return .bool(s.isEmpty)
        }
    }

    @inline(__always)
    func attribute(of uid: CedarEntityUID, _ name: String) throws(EvaluationError) -> CedarValue {
        guard let entity = entities.entity(uid) else {
            throw EvaluationError("entity `\(uid)` does not exist")
        }
        guard let a = entity.attributes[name] else {
            throw EvaluationError("`\(uid)` does not have the attribute `\(name)`")
        }
        return a
    }

    func bool(_ e: Expr) throws(EvaluationError) -> Bool {
        let v = try eval(e)
        guard case .bool(let b) = v else { throw EvaluationError.type("bool", v) }
        return b
    }

    func binary(_ op: BinaryOperator, _ l: CedarValue, _ r: CedarValue) throws(EvaluationError) -> CedarValue {
        switch op {
        case .eq: return .bool(l == r)
        case .neq: return .bool(l != r)
        case .lt, .le, .gt, .ge:
            guard case .long(let a) = l else { throw EvaluationError.type("one of [long, datetime, duration]", l) }
            guard case .long(let b) = r else { throw EvaluationError.type("one of [long, datetime, duration]", r) }
            switch op {
            case .lt: return .bool(a < b)
            case .le: return .bool(a <= b)
            case .gt: return .bool(a > b)
            default: return .bool(a >= b)
            }
        case .add, .sub, .mul:
            guard case .long(let a) = l else { throw EvaluationError.type("long", l) }
            guard case .long(let b) = r else { throw EvaluationError.type("long", r) }
            let (v, o): (Int64, Bool)
            let verb: String
            switch op {
            case .add:
                (v, o) = a.addingReportingOverflow(b)
                verb = "add"
            case .sub:
                (v, o) = a.subtractingReportingOverflow(b)
                verb = "subtract"
            default:
                (v, o) = a.multipliedReportingOverflow(by: b)
                verb = "multiply"
            }
            if o {
                throw EvaluationError("integer overflow while attempting to \(verb) the values `\(a)` and `\(b)`")
            }
            return .long(v)
        case .in:
            guard case .entity(let uid) = l else { throw EvaluationError.type("(entity of type `any_entity_type`)", l) }
            switch r {
            case .entity(let target):
                return .bool(entities.isDescendant(uid, orEqualTo: target))
            case .set(let targets):
                var found = false
                for t in targets {
                    guard case .entity(let tu) = t else {
                        throw EvaluationError.type("(entity of type `any_entity_type`)", t)
                    }
                    if !found && entities.isDescendant(uid, orEqualTo: tu) { found = true }
                }
                return .bool(found)
            default:
                throw EvaluationError.type("one of [set, (entity of type `any_entity_type`)]", r)
            }
        case .contains:
            guard case .set(let s) = l else { throw EvaluationError.type("set", l) }
            return .bool(s.contains(r))
        case .containsAll:
            guard case .set(let a) = l else { throw EvaluationError.type("set", l) }
            guard case .set(let b) = r else { throw EvaluationError.type("set", r) }
            return .bool(b.isSubset(of: a))
        case .containsAny:
            guard case .set(let a) = l else { throw EvaluationError.type("set", l) }
            guard case .set(let b) = r else { throw EvaluationError.type("set", r) }
            return .bool(!a.isDisjoint(with: b))
        }
    }

    /// Glob matching of `like`: `*` matches any sequence of scalars (iterative, linear backtracking).
    static func matches(_ s: [Unicode.Scalar], _ p: [PatternElement]) -> Bool {
        var i = 0
        var j = 0
        var starJ = -1
        var starI = 0
        while i < s.count {
            if j < p.count, case .scalar(let c) = p[j], c == s[i] {
                i += 1
                j += 1
            } else if j < p.count, p[j] == .wildcard {
                starJ = j
                starI = i
                j += 1
            } else if starJ >= 0 {
                j = starJ + 1
                starI += 1
                i = starI
            } else {
                return false
            }
        }
        while j < p.count, p[j] == .wildcard { j += 1 }
        return j == p.count
    }

    // MARK: scope

    func matches(_ scope: EntityScope, _ uid: CedarEntityUID) -> Bool {
        switch scope {
        case .any: return true
        case .eq(let e): return uid == e
        case .in(let e): return entities.isDescendant(uid, orEqualTo: e)
        case .is(let t): return uid.type == t
        case .isIn(let t, let e): return uid.type == t && entities.isDescendant(uid, orEqualTo: e)
        }
    }

    func matches(_ scope: ActionScope, _ uid: CedarEntityUID) -> Bool {
        switch scope {
        case .any: return true
        case .eq(let e): return uid == e
        case .in(let e): return entities.isDescendant(uid, orEqualTo: e)
        case .inSet(let list): return list.contains { entities.isDescendant(uid, orEqualTo: $0) }
        }
    }

    /// Whether the policy is satisfied: scope matches, every `when` is true and every `unless` false.
    func isSatisfied(_ policy: CompiledPolicy) throws(EvaluationError) -> Bool {
        guard matches(policy.principal, request.principal), matches(policy.action, request.action),
            matches(policy.resource, request.resource)
        else { return false }
        for c in policy.conditions {
            let v = try eval(c.body)
            guard case .bool(let b) = v else { throw EvaluationError.type("bool", v) }
            if b != c.isWhen { return false }
        }
        return true
    }
}
