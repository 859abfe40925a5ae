internal import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIRuntime
import ShanyrakAccess
import ShanyrakCore

/// Wraps the router: gives each request its id, turns every error into an RFC 9457 problem,
/// records failed authentications in the audit log, and counts requests.
struct ShanyrakResponder<Inner: HTTPResponder<ShanyrakRequestContext>>: HTTPResponder {
    typealias Context = ShanyrakRequestContext
    let inner: Inner
    let dependencies: ServerDependencies

    func respond(to request: Request, context: ShanyrakRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        let requestID = RequestID.make()
        context.requestID = requestID
        var response: Response
        do {
            response = try await RequestScope.$requestID.withValue(requestID) {
                try await inner.respond(to: request, context: context)
            }
            // A small body leaves with its head in one write (see `collectedInMemory`).
            response.body = try await response.body.collectedInMemory()
        } catch {
            response = await problem(for: error, requestID: requestID, context: context).response()
        }
        let matched = context.endpointPath.map { $0 != "NotFound" } ?? false
        // The router's own answers (no such route, method not allowed) become problems too.
        if !matched && response.status.code >= 400 && response.headers[.contentType] == nil {
            var problem =
                response.status == .notFound
                ? Problem.notFound
                : Problem(
                    "http-error", title: response.status.reasonPhrase, status: response.status,
                    detail: response.status.reasonPhrase)
            problem.instance = "urn:uuid:" + requestID
            response = problem.response()
        }
        // JSON has no charset parameter (RFC 8259, section 11): send the bare media type, as the
        // contract names it, rather than the generated layer's "application/json; charset=utf-8".
        if response.headers[.contentType] == "application/json; charset=utf-8" {
            response.headers[.contentType] = "application/json"
        }
        response.headers[HeaderNames.requestID] = requestID
        // Views, audit entries and proofs must not stay in a browser's or a proxy's cache.
        response.headers[.cacheControl] = "no-store"
        let seconds = (ContinuousClock.now - started).inSeconds
        let route = context.endpointPath.map { $0 == "NotFound" ? "unmatched" : $0 } ?? "unmatched"
        dependencies.metrics.record(
            method: request.method.rawValue, route: route, status: response.status.code, seconds: seconds)
        return response
    }

    private func problem(for error: any Error, requestID: String, context: ShanyrakRequestContext) async -> Problem {
        var problem: Problem
        switch error {
        case let error as ServerError:
            // Thrown by the generated layer: the handler's or middleware's own error, or the runtime's
            // refusal of the request (a malformed parameter or body, a wrong Content-Type).
            if Self.isOwn(error.underlyingError) {
                return await self.problem(for: error.underlyingError, requestID: requestID, context: context)
            }
            problem = Self.problem(for: error, logger: context.logger)
        case let error as Problem:
            problem = error
        case is Unauthenticated:
            problem = await failedAuthentication(requestID: requestID, context: context, answer: .unauthenticated)
        case is MetricsUnauthenticated:
            problem = await failedAuthentication(
                requestID: requestID, context: context, answer: .metricsUnauthenticated)
        case is AccessDenied:
            problem = .accessDenied
        case let error as InvalidJustification:
            problem = .badRequest(error.rule)
        case is AuditLogUnavailable:
            problem = .auditUnavailable
        case let error as HTTPError:
            switch error.status {
            case .notFound: problem = .notFound
            case .contentTooLarge: problem = .tooLarge
            case .badRequest: problem = .badRequest("the request is malformed")
            default:
                problem = Problem(
                    "http-error", title: error.status.reasonPhrase, status: error.status,
                    detail: error.status.reasonPhrase)
            }
        default:
            context.logger.error("request failed: \(type(of: error))")
            problem = .internalError
        }
        problem.instance = "urn:uuid:" + requestID
        return problem
    }

    /// A failed authentication: recorded in the audit log on its own (without the token) and answered with
    /// `answer` (401), or, when its client address is over its budget (`FailedAuthenticationLimiter`),
    /// counted for the next summary entry and answered 429.
    /// - Returns: `answer`, the 429 problem, or the 503 problem when the failure could not be recorded.
    private func failedAuthentication(requestID: String, context: ShanyrakRequestContext, answer: Problem) async
        -> Problem
    {
        let (action, view) = Self.attempted(route: context.endpointPath)
        switch dependencies.failedAuthentications.failed(
            address: context.clientAddress, action: action, view: view, requestID: requestID)
        {
        case .throttle(let seconds):
            return .tooManyFailedAuthentications(retryAfterSeconds: seconds)
        case .record:
            do {
                try await dependencies.access.recordFailedAuthentication(
                    requestID: requestID, action: action, view: view)
                return answer
            } catch {
                return .auditUnavailable
            }
        }
    }

    /// What an unauthenticated request tried to do, by its route, for its audit entry.
    static func attempted(route: String?) -> (AccessAction, ViewKind) {
        guard let route else { return (.read, .administration) }
        if route.hasPrefix("/v1/households") { return (.read, .household) }
        if route.hasPrefix("/v1/persons") { return (.read, .person) }
        if route.hasPrefix("/v1/caseload") { return (.read, .caseload) }
        if route.hasPrefix("/v1/ingest") { return (.ingest, .administration) }
        if route.hasPrefix("/v1/audit") { return (.export, .administration) }
        return (.read, .administration)
    }

    /// Whether `error` is one the server throws itself (and maps above).
    private static func isOwn(_ error: any Error) -> Bool {
        error is Problem || error is Unauthenticated || error is MetricsUnauthenticated || error is AccessDenied
            || error is AuditLogUnavailable || error is HTTPError || error is InvalidJustification
    }

    /// The problem for a request the generated layer refused. The runtime's own description can quote
    /// the request (a header, a value), so the detail is fixed; it names the parameter or field when the
    /// decoding error says which, and never its value.
    private static func problem(for error: ServerError, logger: Logger) -> Problem {
        switch error.httpStatus {
        case .badRequest:
            if let field = fieldName(error.underlyingError) {
                return .badRequest("parameter or field \(field) is malformed or missing")
            }
            let names = queryParameterNames(error)
            if names.count == 1, let name = names.first {
                return .badRequest("query parameter \(name) is malformed or missing")
            }
            if !names.isEmpty {
                return .badRequest("one of the query parameters \(names.joined(separator: ", ")) is malformed")
            }
            return .badRequest("a parameter or the body is malformed or missing")
        case .unsupportedMediaType:
            return .unsupportedMediaType
        case let status where status.kind == .clientError:
            return Problem("http-error", title: status.reasonPhrase, status: status, detail: status.reasonPhrase)
        default:
            logger.error("request failed in \(error.operationID): \(type(of: error.underlyingError))")
            return .internalError
        }
    }

    /// The declared query parameters a refused request is about: the one the runtime says is missing,
    /// or else those the request carries (the runtime does not say which of them failed to decode).
    private static func queryParameterNames(_ error: ServerError) -> [String] {
        guard let declared = ShanyrakServer.queryParameters[error.operationID] else { return [] }
        let missing = "Missing required query parameter named: "
        if error.causeDescription.hasPrefix(missing) {
            let name = String(error.causeDescription.dropFirst(missing.count))
            return declared.contains(name) ? [name] : []
        }
        guard let path = error.request.path, let query = path.split(separator: "?", maxSplits: 1).dropFirst().first
        else { return [] }
        var names: [String] = []
        for item in query.split(separator: "&") {
            let name = String(item.prefix { $0 != "=" })
            if declared.contains(name), !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// The name of the parameter or field a decoding error is about, if it is a plain identifier.
    private static func fieldName(_ error: any Error) -> String? {
        guard let error = error as? DecodingError else { return nil }
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        case .keyNotFound(let key, let context):
            path = context.codingPath + [key]
        @unknown default:
            return nil
        }
        let names = path.map(\.stringValue).filter { !$0.isEmpty }
        guard let name = names.last, name.utf8.count <= 64,
            name.utf8.allSatisfy({ (0x61...0x7a).contains($0) || (0x41...0x5a).contains($0) || $0 == 0x5f })
        else { return nil }
        return name
    }
}

/// Header names the server sets.
enum HeaderNames {
    /// `X-Request-ID`.
    static let requestID = HTTPField.Name("X-Request-ID") ?? .contentLocation
}
