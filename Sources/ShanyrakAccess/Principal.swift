/// A staff role. Policies scope over roles; the service never infers more from one.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable {
    /// Sees the household cards of the families assigned to them.
    case socialWorker = "social_worker"
    /// Works with survivors: violence indicators of their own cases, in person views.
    case gbvSpecialist = "gbv_specialist"
    /// Receives anonymised extracts only; no record views.
    case researcher
    /// Manages accounts, caseloads, policies and the catalog.
    case administrator
    /// Verifies the audit log.
    case auditor
    /// An agency system bound to one feed source.
    case agency
}

/// An authenticated staff member: who is asking.
public struct Principal: Sendable, Hashable, Codable {
    /// The staff account id.
    public let id: Int64
    /// The account's role.
    public let role: Role
    /// The district the account works in, if any.
    public let district: String?
    /// The employing organisation, if any.
    public let organisation: String?
    /// For `agency` accounts: the feed source they are bound to.
    public let source: String?

    /// Creates a principal.
    public init(id: Int64, role: Role, district: String? = nil, organisation: String? = nil, source: String? = nil) {
        self.id = id
        self.role = role
        self.district = district
        self.organisation = organisation
        self.source = source
    }
}
