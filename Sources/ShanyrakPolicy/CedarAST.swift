/// The four request variables.
public enum CedarVariable: String, Sendable, Hashable {
    case principal, action, resource, context
}

/// A binary operator of the expression language.
enum BinaryOperator: String, Sendable {
    case eq = "=="
    case neq = "!="
    case lt = "<"
    case le = "<="
    case gt = ">"
    case ge = ">="
    case add = "+"
    case sub = "-"
    case mul = "*"
    case `in` = "in"
    case contains, containsAll, containsAny
}

/// An expression with its source location.
struct Expr: Sendable {
    indirect enum Kind: Sendable {
        case literal(CedarValue)
        case variable(CedarVariable)
        case not(Expr)
        case negate(Expr)
        case binary(BinaryOperator, Expr, Expr)
        case and(Expr, Expr)
        case or(Expr, Expr)
        case ifThenElse(Expr, Expr, Expr)
        case getAttr(Expr, String)
        case hasAttr(Expr, String)
        case like(Expr, [PatternElement], String)
        case isType(Expr, String, Expr?)
        case set([Expr])
        case record([(String, Expr)])
        case isEmpty(Expr)
    }
    let kind: Kind
    let location: SourceLocation
}

/// The constraint on the principal or the resource in a policy's scope.
enum EntityScope: Sendable {
    case any
    case eq(CedarEntityUID)
    case `in`(CedarEntityUID)
    case `is`(String)
    case isIn(String, CedarEntityUID)
}

/// The constraint on the action in a policy's scope.
enum ActionScope: Sendable {
    case any
    case eq(CedarEntityUID)
    case `in`(CedarEntityUID)
    case inSet([CedarEntityUID])
}

/// `permit` or `forbid`.
public enum PolicyEffect: String, Sendable, Hashable, Codable {
    /// Grants access when satisfied.
    case permit
    /// Denies access when satisfied, overriding every permit.
    case forbid
}

/// A `when` or `unless` clause.
struct Condition: Sendable {
    let isWhen: Bool
    let body: Expr
    /// The clause as written, for explanations.
    let text: String
}

/// One parsed policy.
public struct CedarPolicy: Sendable {
    /// The policy id: its `@id` annotation, else `policyN`.
    public let id: String
    /// The `policyN` id Cedar's own tools give this policy.
    public let positionalID: String
    /// `permit` or `forbid`.
    public let effect: PolicyEffect
    /// Annotations in source order (`@id("x")` gives `("id", "x")`).
    public let annotations: [(key: String, value: String)]
    /// Where the policy starts.
    public let location: SourceLocation
    /// The policy text as written.
    public let text: String
    let principal: EntityScope
    let action: ActionScope
    let resource: EntityScope
    let conditions: [Condition]
    let principalLocation: SourceLocation
    let actionLocation: SourceLocation
    let resourceLocation: SourceLocation

    /// True when the policy has an `@id` annotation.
    public var hasIDAnnotation: Bool { annotations.contains { $0.key == "id" } }
}
