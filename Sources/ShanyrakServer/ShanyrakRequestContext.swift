public import Hummingbird
import NIOCore

/// The one request context of the server: Hummingbird's storage, the request id and the connection.
public struct ShanyrakRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage
    /// The request id (a UUID made by the server, sent back in `X-Request-ID` and recorded in the audit log).
    public var requestID: String
    /// The connection the request came in on: its peer's address is read only when a request fails to
    /// authenticate (`FailedAuthenticationLimiter`), so other requests pay nothing for it.
    private let channel: any Channel

    /// Creates the context for a new request.
    /// - Parameter source: the channel the request came in on.
    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.channel = source.channel
    }

    /// The client's IP address (without port), or nil when the connection has none (a test's channel).
    var clientAddress: String? { channel.remoteAddress?.ipAddress }
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
