public import Hummingbird

/// The one request context of the server: Hummingbird's storage and the request id.
public struct ShanyrakRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The request id (a UUID made by the server, sent back in `X-Request-ID` and recorded in the audit log).
    public var requestID: String

    /// Creates the context for a new request.
    /// - Parameter source: the channel the request came in on.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = ""
    }
}

/// A missing, unknown or revoked token (HTTP 401). Carries nothing about the token.
public struct Unauthenticated: Error, Sendable, Equatable, CustomStringConvertible {
    /// Creates the error.
    public init() {}
    /// "authentication required".
    public var description: String { "authentication required" }
}

/// A request to `/metrics` without the metrics token (HTTP 401): none, a wrong one, or a staff token.
/// Carries nothing about the token.
struct MetricsUnauthenticated: Error, Sendable, Equatable, CustomStringConvertible {
    /// "the metrics token is required".
    var description: String { "the metrics token is required" }
}
