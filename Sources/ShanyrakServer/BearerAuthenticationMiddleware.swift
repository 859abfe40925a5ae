import Foundation
import HTTPTypes
import OpenAPIRuntime
import ShanyrakAccess

/// Authenticates the bearer token of every operation the contract does not mark public
/// (`security: []`), and binds the principal for the handler (`RequestScope.principal`).
///
/// A missing, unknown or revoked token throws `Unauthenticated` before the handler runs; the
/// responder records that failure in the audit log (without the token) and answers 401.
struct BearerAuthenticationMiddleware: ServerMiddleware {
    /// Operations of `openapi.yaml` with `security: []`; every other operation needs a token, so an
    /// operation added to the contract is authenticated unless it is listed here.
    static let publicOperations: Set<String> = ["getCheckpoint", "health", "metrics", "openapi"]

    /// The access path, which knows the tokens.
    let access: AccessService

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        if Self.publicOperations.contains(operationID) {
            return try await next(request, body, metadata)
        }
        guard let token = Self.bearerToken(request.headerFields[.authorization]),
            let principal = try access.authenticate(token: token)
        else { throw Unauthenticated() }
        return try await RequestScope.$principal.withValue(principal) {
            try await next(request, body, metadata)
        }
    }

    /// The token of an `Authorization: Bearer TOKEN` header, or nil.
    /// - Parameter header: the header's value.
    /// - Returns: the token, without surrounding spaces.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
