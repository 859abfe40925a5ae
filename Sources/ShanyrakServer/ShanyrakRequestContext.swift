public import Hummingbird
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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

    /// The client's address as the failed-authentication limiter counts it: its IPv4 address, or the /64
    /// network of its IPv6 address (one host commonly holds a whole /64, so counting single IPv6 addresses
    /// would give it billions of budgets); nil when the connection has none (a test's channel).
    var clientAddress: String? {
        guard let address = channel.remoteAddress, let text = address.ipAddress else { return nil }
        guard case .v6 = address else { return text }
        var parsed = in6_addr()
        guard inet_pton(AF_INET6, text, &parsed) == 1 else { return text }
        return Self.network64(parsed) ?? text
    }

    /// `a:b:c:d::/64` for the first 64 bits of an IPv6 address; nil for an IPv4-mapped one (`::ffff:a.b.c.d`),
    /// which is an IPv4 client and is counted by its own address.
    static func network64(_ address: in6_addr) -> String? {
        let bytes = withUnsafeBytes(of: address) { Array($0) }
        guard bytes.count == 16 else { return nil }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return nil }
        let groups = stride(from: 0, to: 8, by: 2).map { i in
            String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16)
        }
        return groups.joined(separator: ":") + "::/64"
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
