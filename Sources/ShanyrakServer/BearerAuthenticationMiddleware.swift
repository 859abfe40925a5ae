import HTTPTypes
import OpenAPIRuntime
import ShanyrakAccess

/// Authenticates the bearer token of every operation the contract does not mark public
/// (`security: []`), and binds the principal for the handler (`RequestScope.principal`).
///
/// A missing, unknown or revoked token throws `Unauthenticated` before the handler runs; the
/// responder records that failure in the audit log (without the token) and answers 401.
/// The metrics operation takes the metrics token only (`MetricsToken`), never a staff token: without
/// one configured it is off (404), and a missing or wrong token throws `MetricsUnauthenticated` (401).
struct BearerAuthenticationMiddleware: ServerMiddleware {
    /// Operations of `openapi.yaml` with `security: []`; every other operation needs a token, so an
    /// operation added to the contract is authenticated unless it is listed here.
    static let publicOperations: Set<String> = ["getCheckpoint", "health", "openapi"]
    /// Operations of `openapi.yaml` with `security: [metricsToken: []]`: the metrics token opens them,
    /// and nothing else does.
    static let metricsOperations: Set<String> = ["metrics"]

    /// The access path, which knows the staff tokens.
    let access: AccessService
    /// The metrics token (nil: the metrics operations are off).
    let metricsToken: MetricsToken?

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        if Self.publicOperations.contains(operationID) {
            return try await next(request, body, metadata)
        }
        if Self.metricsOperations.contains(operationID) {
            guard let metricsToken else { throw Problem.metricsOff }
            guard let token = Self.bearerToken(request.headerFields[.authorization]), metricsToken.matches(token)
            else { throw MetricsUnauthenticated() }
            return try await RequestScope.$metricsTokenPresented.withValue(true) {
                try await next(request, body, metadata)
            }
        }
        guard let token = Self.bearerToken(request.headerFields[.authorization]),
            let principal = try access.authenticate(token: token)
        else { throw Unauthenticated() }
        return try await RequestScope.$principal.withValue(principal) {
            try await next(request, body, metadata)
        }
    }

    /// The token of an `Authorization: Bearer TOKEN` header, or nil.
    ///
    /// The scheme is matched without regard to case; spaces and tabs around the token are dropped.
    /// Written on the UTF-8 bytes: this runs on every request.
    /// - Parameter header: the header's value.
    /// - Returns: the token, or nil when the header is absent, not `Bearer`, or has no token.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let bytes = header.utf8
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        guard let schemeStart = bytes.firstIndex(where: { !isBlank($0) }) else { return nil }
        let schemeEnd = bytes[schemeStart...].firstIndex(where: isBlank) ?? bytes.endIndex
        // "bearer", compared with ASCII letters folded to lower case.
        guard bytes[schemeStart..<schemeEnd].elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }),
            let tokenStart = bytes[schemeEnd...].firstIndex(where: { !isBlank($0) }),
            let tokenLast = bytes[tokenStart...].lastIndex(where: { !isBlank($0) })
        else { return nil }
        return String(decoding: bytes[tokenStart...tokenLast], as: UTF8.self)
    }
}
