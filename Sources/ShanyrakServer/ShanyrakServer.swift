internal import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import OpenAPIHummingbird
import OpenAPIRuntime
import ShanyrakAccess

/// The HTTP API of Shanyrak on Hummingbird 2: the server interface generated from `openapi.yaml`
/// (served at `/openapi.yaml`) by swift-openapi-generator, mounted with its Hummingbird transport.
public enum ShanyrakServer {
    /// The OpenAPI contract, as shipped with the module.
    /// - Throws: when the resource is missing from the build.
    public static func openAPIDocument() throws -> String {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// How the generated layer encodes JSON: sorted keys, no whitespace, slashes unescaped, so a
    /// view's body is its canonical JSON, the same bytes for the same view.
    static let configuration = Configuration(jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes])

    /// The query parameters each operation of `openapi.yaml` declares, by operation id (a test checks
    /// the table against the contract). Only these names are ever quoted back in a problem.
    static let queryParameters: [String: Set<String>] = [
        "listAuditEntries": ["subject", "actor", "action", "since", "limit"],
        "getInclusionProof": ["index", "size"],
        "getConsistencyProof": ["from", "to"],
    ]

    /// The router with every operation of the contract.
    /// - Parameter dependencies: the access path and the rest.
    /// - Returns: the router.
    public static func router(_ dependencies: ServerDependencies) -> Router<ShanyrakRequestContext> {
        let router = Router(context: ShanyrakRequestContext.self)
        let api = ShanyrakAPI(dependencies: dependencies, contract: (try? openAPIDocument()) ?? "")
        do {
            try api.registerHandlers(
                on: router, configuration: configuration,
                middlewares: [
                    BearerAuthenticationMiddleware(
                        access: dependencies.access, metricsToken: dependencies.metricsToken),
                    RequestBodyLimitMiddleware(maximumBytes: dependencies.maximumRequestBodyBytes),
                ])
        } catch {
            // Only an invalid server URL makes registration throw, and the default ("/") is valid.
            preconditionFailure("the generated handlers could not be registered: \(error)")
        }
        // Not part of the contract: a fixed string, the baseline of the load benchmark.
        if dependencies.benchFixedRoute {
            router.get("bench/fixed") { _, _ in "fixed\n" }
        }
        return router
    }

    /// The responder: request ids, problem details, failed-authentication audit and metrics around
    /// the router.
    /// - Parameter dependencies: the access path and the rest.
    /// - Returns: the responder.
    public static func responder(_ dependencies: ServerDependencies) -> some HTTPResponder<ShanyrakRequestContext> {
        ShanyrakResponder(inner: router(dependencies).buildResponder(), dependencies: dependencies)
    }

    /// How long a connection may stay idle, or take to send a request's head, before the server closes it
    /// (`application`'s default): a client cannot hold connections (and their descriptors) open for nothing.
    public static let defaultIdleTimeout: Duration = .seconds(60)

    /// The application, listening on `host:port` (port 0 picks a free one).
    /// - Parameters:
    ///   - dependencies: the access path and the rest.
    ///   - host: the address to bind.
    ///   - port: the port to bind.
    ///   - idleTimeout: how long a connection may stay idle between requests (or before a request's head is
    ///     complete) before it is closed; a request being read or answered is never cut.
    ///   - logger: the server log (never tokens or record data).
    ///   - onServerRunning: called with the bound port once the server listens.
    /// - Returns: the application; run it with `runService()`.
    public static func application(
        _ dependencies: ServerDependencies, host: String = "127.0.0.1", port: Int = 8080,
        idleTimeout: Duration = defaultIdleTimeout, logger: Logger? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            responder: responder(dependencies),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(idleTimeout / .nanoseconds(1))))),
            configuration: .init(address: .hostname(host, port: port), serverName: "shanyrak"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// How often a running server records the failed authentications it throttled (and once more when it stops).
    static let throttledFailuresInterval: Duration = .seconds(60)

    /// Serves until SIGINT or SIGTERM. Meanwhile, and once more when the server has stopped, the failed
    /// authentications it throttled are recorded in the audit log (`recordThrottledFailures`).
    /// - Parameters:
    ///   - dependencies: the access path and the rest.
    ///   - host: the address to bind.
    ///   - port: the port to bind (0 picks a free one).
    ///   - idleTimeout: how long a connection may stay idle (see `application`).
    ///   - logger: the server log.
    ///   - registryWatch: checks of the registry against its anchors, run in the background while the server
    ///     runs (nil: none).
    ///   - onServerRunning: called with the bound port once the server listens.
    /// - Throws: when the server cannot start.
    public static func run(
        _ dependencies: ServerDependencies, host: String, port: Int, idleTimeout: Duration = defaultIdleTimeout,
        logger: Logger? = nil, registryWatch: RegistryWatch? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        // Stopped with the server; a check under way is read-only, so it is not waited for.
        let watching = registryWatch.map { watch in Task { await watch.run() } }
        defer { watching?.cancel() }
        let log = logger ?? Logger(label: "shanyrak")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await application(
                    dependencies, host: host, port: port, idleTimeout: idleTimeout, logger: logger,
                    onServerRunning: onServerRunning
                ).runService()
            }
            group.addTask {
                // Ends only when cancelled (the server stopped), after recording what was left.
                while !Task.isCancelled {
                    try? await Task.sleep(for: throttledFailuresInterval)
                    await dependencies.recordThrottledFailures(logger: log)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
