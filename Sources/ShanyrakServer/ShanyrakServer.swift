internal import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import ShanyrakAccess

/// The HTTP API of Shanyrak on Hummingbird 2, following `openapi.yaml` (served at `/openapi.yaml`).
public enum ShanyrakServer {
    /// The OpenAPI contract, as shipped with the module.
    /// - Throws: when the resource is missing from the build.
    public static func openAPIDocument() throws -> String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// The router with every route of the contract.
    /// - Parameter dependencies: the access path and the rest.
    /// - Returns: the router.
    public static func router(_ dependencies: ServerDependencies) -> Router<ShanyrakRequestContext> {
        let api = ShanyrakAPI(dependencies: dependencies)
        let router = Router(context: ShanyrakRequestContext.self)
        let contract = (try? openAPIDocument()) ?? ""
        let metrics = dependencies.metrics

        // Public routes.
        router.get("health") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.get("openapi.yaml") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/yaml"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: contract)))
        }
        router.get("v1/audit/checkpoint") { _, _ in try await api.checkpoint() }
        if dependencies.benchFixedRoute {
            router.get("bench/fixed") { _, _ in "fixed\n" }
        }

        // Authenticated routes: deriving the context authenticates.
        let v1 = router.group("v1", context: AuthenticatedRequestContext.self)
        v1.get("households/{id}") { _, context in
            try await api.household(id: try context.parameters.require("id"), context: context)
        }
        v1.get("persons/{id}") { _, context in
            try await api.person(id: try context.parameters.require("id"), context: context)
        }
        v1.post("persons/{id}/break-glass") { request, context in
            try await api.breakGlass(id: try context.parameters.require("id"), request: request, context: context)
        }
        v1.get("caseload") { _, context in try await api.caseload(context: context) }
        v1.post("ingest/{source}") { request, context in
            try await api.ingest(source: try context.parameters.require("source"), request: request, context: context)
        }
        v1.get("audit/entries") { request, context in try await api.entries(request: request, context: context) }
        v1.get("audit/proof/inclusion") { request, context in
            try await api.inclusionProof(request: request, context: context)
        }
        v1.get("audit/proof/consistency") { request, context in
            try await api.consistencyProof(request: request, context: context)
        }
        return router
    }

    /// The responder: request ids, bearer tokens, problem details, failed-authentication audit and metrics
    /// around the router.
    /// - Parameter dependencies: the access path and the rest.
    /// - Returns: the responder.
    public static func responder(_ dependencies: ServerDependencies) -> some HTTPResponder<ShanyrakRequestContext> {
        ShanyrakResponder(inner: router(dependencies).buildResponder(), dependencies: dependencies)
    }

    /// The application, listening on `host:port` (port 0 picks a free one).
    /// - Parameters:
    ///   - dependencies: the access path and the rest.
    ///   - host: the address to bind.
    ///   - port: the port to bind.
    ///   - logger: the server log (never tokens or record data).
    ///   - onServerRunning: called with the bound port once the server listens.
    /// - Returns: the application; run it with `runService()`.
    public static func application(
        _ dependencies: ServerDependencies, host: String = "127.0.0.1", port: Int = 8080, logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            responder: responder(dependencies),
            configuration: .init(address: .hostname(host, port: port), serverName: "shanyrak"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Serves until SIGINT or SIGTERM.
    /// - Parameters:
    ///   - dependencies: the access path and the rest.
    ///   - host: the address to bind.
    ///   - port: the port to bind (0 picks a free one).
    ///   - logger: the server log.
    ///   - onServerRunning: called with the bound port once the server listens.
    /// - Throws: when the server cannot start.
    public static func run(
        _ dependencies: ServerDependencies, host: String, port: Int, logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try await application(
            dependencies, host: host, port: port, logger: logger, onServerRunning: onServerRunning
        ).runService()
    }
}

/// Wraps the router: gives each request its id and the access path, turns every error into an
/// RFC 9457 problem, records failed authentications in the audit log, and counts requests.
struct ShanyrakResponder<Inner: HTTPResponder<ShanyrakRequestContext>>: HTTPResponder {
    typealias Context = ShanyrakRequestContext
    let inner: Inner
    let dependencies: ServerDependencies

    func respond(to request: Request, context: ShanyrakRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        let requestID = UUID().uuidString.lowercased()
        context.requestID = requestID
        context.access = dependencies.access
        context.bearerToken = Self.bearerToken(request.headers[.authorization])
        var response: Response
        do {
            response = try await inner.respond(to: request, context: context)
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
        response.headers[HeaderNames.requestID] = requestID
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let route = context.endpointPath.map { $0 == "NotFound" ? "unmatched" : $0 } ?? "unmatched"
        dependencies.metrics.record(
            method: request.method.rawValue, route: route, status: response.status.code, seconds: seconds)
        return response
    }

    private func problem(for error: any Error, requestID: String, context: ShanyrakRequestContext) async -> Problem {
        var problem: Problem
        switch error {
        case let error as Problem:
            problem = error
        case is Unauthenticated:
            do {
                try await dependencies.access.recordFailedAuthentication(requestID: requestID)
                problem = .unauthenticated
            } catch {
                problem = .auditUnavailable
            }
        case is AccessDenied:
            problem = .accessDenied
        case is AuditLogUnavailable:
            problem = .auditUnavailable
        case let error as HTTPError:
            switch error.status {
            case .notFound: problem = .notFound
            case .contentTooLarge:
                problem = Problem(
                    "too-large", title: "Content Too Large", status: .contentTooLarge, detail: "the body is too large")
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

    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

/// Header names the server sets.
enum HeaderNames {
    /// `X-Request-ID`.
    static let requestID = HTTPField.Name("X-Request-ID") ?? .contentLocation
}
