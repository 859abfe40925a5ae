import ShanyrakAccess

/// What the generated handlers know about the request they answer, bound as task-local values.
///
/// The generated `APIProtocol` methods receive only their typed input, not Hummingbird's request
/// context, so the server binds the request id (`ShanyrakResponder`) and the authenticated principal
/// (`BearerAuthenticationMiddleware`) for the duration of one request.
enum RequestScope {
    /// The request id of the request being answered (a UUID, also sent as `X-Request-ID`).
    @TaskLocal static var requestID = ""

    /// The principal authenticated for this request; nil for public operations.
    @TaskLocal static var principal: Principal?

    /// Whether this request presented the metrics token (bound for the metrics operations only).
    @TaskLocal static var metricsTokenPresented = false

    /// Checks that the request presented the metrics token.
    /// - Throws: `MetricsUnauthenticated` when it did not: the metrics handler cannot run without it.
    static func requireMetricsToken() throws {
        guard metricsTokenPresented else { throw MetricsUnauthenticated() }
    }

    /// The authenticated principal.
    /// - Returns: the principal the bearer token of this request belongs to.
    /// - Throws: `Unauthenticated` when no principal is bound: a handler cannot run unauthenticated.
    static func authenticatedPrincipal() throws -> Principal {
        guard let principal else { throw Unauthenticated() }
        return principal
    }
}
