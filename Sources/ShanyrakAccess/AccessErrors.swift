/// The one answer to a request that is not allowed, whatever the reason: no such
/// household, not in the caseload, role without access, bad token. It says nothing
/// more, so that it cannot reveal whether a household exists.
public struct AccessDenied: Error, Sendable, Equatable, CustomStringConvertible {
    /// Creates the error.
    public init() {}
    /// "access denied".
    public var description: String { "access denied" }
}

/// A break-glass justification that is blank or too long (HTTP 400). The attempt is recorded in the
/// audit log as a denied break-glass read, without the text.
public struct InvalidJustification: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule the justification broke, in words (never the text itself).
    public let rule: String
    /// Creates the error.
    /// - Parameter rule: the rule broken.
    public init(rule: String) { self.rule = rule }
    /// The rule.
    public var description: String { rule }
}

/// The audit log could not record the request, so nothing was released (HTTP 503).
public struct AuditLogUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    /// Creates the error.
    public init() {}
    /// What happened, without detail.
    public var description: String { "the audit log cannot be written; nothing was released" }
}

/// A stored record could not be read (a value that does not open, a missing key).
/// Names the condition only, never a value or subject.
public struct AccessFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    /// Creates the error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}
