public import Hummingbird
public import ShanyrakAccess

/// The one request context of the server: the request id, and the access path that
/// authenticated routes use to authenticate in their child context.
public struct ShanyrakRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The request id (a UUID made by the server, sent back in `X-Request-ID` and recorded in the audit log).
    public var requestID: String
    /// The access path, set by the server before routing.
    public var access: AccessService?
    /// The bearer token of the `Authorization` header, if any; never logged or recorded.
    public var bearerToken: String?

    /// Creates the context for a new request.
    /// - Parameter source: the channel the request came in on.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.access = nil
        self.bearerToken = nil
    }
}

/// The context of authenticated routes: deriving it authenticates the bearer token.
///
/// Its initialiser throws `Unauthenticated` for a missing, unknown or revoked token; the server
/// records that failure in the audit log (without the token) and answers 401.
public struct AuthenticatedRequestContext: ChildRequestContext {
    /// Hummingbird's per-request storage (shared with the parent context).
    public var coreContext: CoreRequestContextStorage
    /// The request id.
    public let requestID: String
    /// The access path.
    public let access: AccessService
    /// Who is asking.
    public let principal: Principal

    /// Authenticates the request's bearer token.
    /// - Parameter context: the parent context.
    /// - Throws: `Unauthenticated` when the token is missing, unknown or revoked.
    public init(context: ShanyrakRequestContext) throws {
        guard let access = context.access else { throw Unauthenticated() }
        guard let token = context.bearerToken, let principal = try access.authenticate(token: token) else {
            throw Unauthenticated()
        }
        self.coreContext = context.coreContext
        self.requestID = context.requestID
        self.access = access
        self.principal = principal
    }
}

/// A missing, unknown or revoked token (HTTP 401). Carries nothing about the token.
public struct Unauthenticated: Error, Sendable, Equatable, CustomStringConvertible {
    /// Creates the error.
    public init() {}
    /// "authentication required".
    public var description: String { "authentication required" }
}
