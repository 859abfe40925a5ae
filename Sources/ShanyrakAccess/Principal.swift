public import ShanyrakCore

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
