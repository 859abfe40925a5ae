/// Filters for `AuditLogReader.query`; every given filter must match.
public struct AuditQuery: Sendable, Hashable {
    /// Entries naming this subject pseudonym.
    public var subject: String?
    /// Entries by this actor.
    public var actorId: String?
    /// Entries with this action.
    public var action: String?
    /// Entries at or after this time (µs since the Unix epoch).
    public var sinceMicroseconds: Int64?
    /// At most this many entries (oldest first).
    public var limit: Int?

    /// Creates a query.
    /// - Parameters:
    ///   - subject: subject pseudonym.
    ///   - actorId: actor id.
    ///   - action: action.
    ///   - sinceMicroseconds: earliest time.
    ///   - limit: most entries returned.
    public init(
        subject: String? = nil, actorId: String? = nil, action: String? = nil, sinceMicroseconds: Int64? = nil,
        limit: Int? = nil
    ) {
        self.subject = subject
        self.actorId = actorId
        self.action = action
        self.sinceMicroseconds = sinceMicroseconds
        self.limit = limit
    }
}
