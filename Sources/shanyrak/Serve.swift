import ArgumentParser
import Foundation
import Logging
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakServer
import ShanyrakStore

extension ServiceContext {
    /// The server's defaults for failed authentications per client address: burst and rate.
    static let failedAuthenticationDefaults = (
        burst: ServerDependencies.defaultFailedAuthenticationBurst,
        perSecond: ServerDependencies.defaultFailedAuthenticationsPerSecond
    )

    /// The HTTP API's dependencies over this data folder: the access path on the Cedar policies and the
    /// Merkle audit log (checkpoints every 1,024 entries or 60 s), feed ingestion, and request counters.
    /// Entries without a principal (failed authentications) name the actor `anonymous`.
    /// - Parameters:
    ///   - benchFixedRoute: mount `GET /bench/fixed` (load benchmark only).
    ///   - metricsToken: the token that opens `/metrics` (nil: it answers 404).
    ///   - failedAuthentications: the burst and rate of failed authentications per client address before
    ///     the next are throttled (`ServerDependencies`).
    func serverDependencies(
        benchFixedRoute: Bool = false, metricsToken: MetricsToken? = nil,
        failedAuthentications: (burst: Int, perSecond: Double) = ServiceContext.failedAuthenticationDefaults
    ) async throws -> (ServerDependencies, AuditLog) {
        let keys = try DataKeys.load(from: registry, keyring: keyring)
        let policy = try loadAccessPolicy()
        let log = try await openAuditLog()
        // The policy set this server decides with is part of the record: one entry per load,
        // carrying the bundle hash that every later decision entry refers to.
        do {
            _ = try await log.append(
                AuditEntryDraft(
                    actorId: OperatorAudit.actor, role: "operator", action: "policy.load", view: "none",
                    decision: .allow, policySetHash: policy.bundleDigest,
                    requestId: "policies:\(policiesDirectory.path)"))
        } catch {
            await log.close()
            throw CLIError("the audit log cannot be written (\(error)); refusing to serve", code: 5)
        }
        let accessLog = MerkleAccessAuditLog(
            log: log, policySetHash: policy.bundleDigest, anonymousActor: "anonymous")
        let pseudonymiser = try Pseudonymiser(key: keyring.pseudonymKey)
        let current = try reloading(keys)
        let service = AccessService(
            registry: registry, keys: current, catalog: catalog, policy: policy, auditLog: accessLog,
            pseudonymiser: pseudonymiser)
        let ingest = IngestDependencies(
            ingester: Ingester(registry: registry, keys: current, pseudonymiser: pseudonymiser, catalog: catalog),
            mappings: try sourceMappings(),
            sourcesDirectory: policiesDirectory.appendingPathComponent("sources"), catalog: catalog,
            spoolDirectory: dataDirectory.appendingPathComponent("spool"))
        let leftovers = ingest.removeLeftoverSpools()
        if leftovers > 0 {
            printError("shanyrak serve: removed \(leftovers) feed spool file(s) left by a stopped server")
        }
        let dependencies = ServerDependencies(
            access: service, accessLog: accessLog, auditLog: log, policy: policy, ingest: ingest,
            metricsToken: metricsToken, benchFixedRoute: benchFixedRoute,
            failedAuthenticationBurst: failedAuthentications.burst,
            failedAuthenticationsPerSecond: failedAuthentications.perSecond)
        return (dependencies, log)
    }

    /// Serves the API on `host:port` until SIGINT or SIGTERM, then closes the audit log. Says where it
    /// listens, and whether `/metrics` is on, once the server listens.
    /// - Parameters:
    ///   - metricsToken: the token that opens `/metrics` (nil: it answers 404).
    ///   - failedAuthentications: the burst and rate of failed authentications per client address.
    ///   - idleTimeout: how long a connection may stay idle before the server closes it.
    ///   - registryCheckInterval: how often the registry is checked against its anchors (zero: never).
    func serve(
        host: String, port: Int, metricsToken: MetricsToken?,
        failedAuthentications: (burst: Int, perSecond: Double) = ServiceContext.failedAuthenticationDefaults,
        idleTimeout: Duration = ShanyrakServer.defaultIdleTimeout,
        registryCheckInterval: Duration = RegistryWatch.Configuration.defaultInterval
    ) async throws {
        let benchFixed = ProcessInfo.processInfo.environment["SHANYRAK_BENCH_FIXED_ROUTE"] == "1"
        let (dependencies, log) = try await serverDependencies(
            benchFixedRoute: benchFixed, metricsToken: metricsToken, failedAuthentications: failedAuthentications)
        let logger = Logger(label: "shanyrak") { ServerLogHandler(label: $0, level: .notice) }
        let metrics = metricsToken == nil ? "off (no --metrics-token-file)" : "with the metrics token"
        let watch =
            registryCheckInterval == .zero
            ? nil
            : RegistryWatch(
                dataDirectory: dataDirectory, auditLog: log.reader, metrics: dependencies.metrics, logger: logger,
                configuration: .init(interval: registryCheckInterval))
        let checks = watch.map { "registry checked every \($0.configuration.intervalText)" } ?? "registry checks off"
        do {
            try await ShanyrakServer.run(
                dependencies, host: host, port: port, idleTimeout: idleTimeout, logger: logger, registryWatch: watch,
                onServerRunning: { bound in
                    print(
                        "shanyrak: serving http://\(host):\(bound) (openapi.yaml at /openapi.yaml; /metrics \(metrics); "
                            + "\(checks)); Ctrl-C stops")
                    fflush(nil)
                })
        } catch {
            await log.close()
            throw error
        }
        await log.close()
    }
}

/// The token that opens `/metrics`: read from `file` (which must be mode 0600, as a key file, and is
/// read again when it changes; see `MetricsToken`) or from `SHANYRAK_METRICS_TOKEN`; nil when neither is
/// given, and `/metrics` is off.
/// - Parameters:
///   - file: the path given by `--metrics-token-file`.
///   - environment: secrets given in environment variables.
/// - Returns: the token's hash, or nil.
/// - Throws: `CLIError` when both are given; `CryptoError.keyFile` naming the file or variable and the rule.
func loadMetricsToken(file: String?, environment: EnvironmentSecrets = .process) throws -> MetricsToken? {
    let variable = EnvironmentSecrets.metricsToken
    switch (file, try environment.value(variable)) {
    case (nil, nil):
        return nil
    case (let file?, nil):
        let logger = Logger(label: "shanyrak") { ServerLogHandler(label: $0, level: .notice) }
        return try MetricsToken(
            file: URL(fileURLWithPath: file),
            report: { message, isFailure in
                if isFailure { logger.error("\(message)") } else { logger.notice("\(message)") }
            })
    case (nil, let secret?):
        return try MetricsToken(secret: secret, from: "environment variable \(variable)")
    case (_?, _?):
        throw CLIError("the metrics token is given twice, by --metrics-token-file and by \(variable): give one")
    }
}

extension Shanyrak {
    /// `shanyrak serve`: the HTTP API.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the HTTP API (openapi.yaml; docs/api.md) on a data folder.",
            discussion: """
                GET /metrics answers only to the metrics token, given by --metrics-token-file or \
                SHANYRAK_METRICS_TOKEN (one of them; the variable is taken out of the environment at start); \
                without one it is off (404). The file is read again when it changes (looked at once a second \
                at most, when /metrics is asked for): write a new token to it to change the token without a \
                restart. Set SHANYRAK_BENCH_FIXED_ROUTE=1 to add GET /bench/fixed (a fixed \
                string, for benchmarks).

                Requests without a valid token are answered 401 and each is recorded in the audit log, up to \
                --failed-authentication-burst from one client address in a row; beyond it they are answered \
                429 (Retry-After) until the address is back under --failed-authentications-per-second, and \
                recorded in summary entries, one per address and kind of request every minute and when the \
                server stops, each with its number of occurrences. A valid token is never refused this way. \
                Behind a reverse proxy every client has the proxy's address.
                """)

        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Address to listen on.")
        var host = "127.0.0.1"
        @Option(name: .long, help: "Port to listen on (0 picks a free one).")
        var port = 8080
        @Option(
            name: .long,
            help: ArgumentHelp(
                "File holding the token that opens GET /metrics (mode 0600).",
                discussion: "One line of 32 to 256 visible ASCII characters, e.g. from `openssl rand -base64 32`.",
                valueName: "path"))
        var metricsTokenFile: String?
        @Option(
            name: .long,
            help: "Failed authentications one client address may make in a row, each audited on its own (1 or more).")
        var failedAuthenticationBurst = ServerDependencies.defaultFailedAuthenticationBurst
        @Option(
            name: .long,
            help: "Failed authentications per second one address may go on making after its burst (above 0).")
        var failedAuthenticationsPerSecond = ServerDependencies.defaultFailedAuthenticationsPerSecond
        @Option(
            name: .long,
            help: ArgumentHelp(
                "Seconds a connection may stay idle, or take to send a request's head, before it is closed (1 or more).",
                valueName: "seconds"))
        var idleTimeout = 60
        @Option(
            name: .long,
            help: ArgumentHelp(
                "How often to check the registry against the batch anchors in the audit log (0: never).",
                discussion: """
                    A duration such as 30m, 6h or 1h30m. The first check runs 10 s after start (or after the \
                    interval, when shorter); each check compares every batch with its anchor as `registry \
                    verify` does (without verifying the log's tree again), read-only, on a thread of its own, and \
                    reports on /metrics and in the server log (docs/api.md). The default, 1h, bounds to an \
                    hour how long an edit of the registry file is served unnoticed, and costs well under 1% of \
                    a core: a check reads every record (about 2.4 s of CPU for 3 million records).
                    """,
                valueName: "duration"))
        var verifyRegistryEvery = "1h"

        func validate() throws {
            guard RegistryWatch.Configuration.interval(parsing: verifyRegistryEvery) != nil else {
                throw ValidationError(
                    "--verify-registry-every must be a duration such as 30m, 6h or 90s (0 turns the checks off), "
                        + "not '\(verifyRegistryEvery)'")
            }
            guard idleTimeout >= 1 else { throw ValidationError("--idle-timeout must be 1 second or more") }
            guard failedAuthenticationBurst >= 1 else {
                throw ValidationError("--failed-authentication-burst must be 1 or more")
            }
            guard failedAuthenticationsPerSecond > 0, failedAuthenticationsPerSecond.isFinite else {
                throw ValidationError("--failed-authentications-per-second must be a number above 0")
            }
        }

        func run() async throws {
            try await runReportingErrors {
                let metricsToken = try loadMetricsToken(file: metricsTokenFile)
                let context = try ServiceContext.open(data: data.data)
                try await context.serve(
                    host: host, port: port, metricsToken: metricsToken,
                    failedAuthentications: (failedAuthenticationBurst, failedAuthenticationsPerSecond),
                    idleTimeout: .seconds(idleTimeout),
                    registryCheckInterval: RegistryWatch.Configuration.interval(parsing: verifyRegistryEvery) ?? .zero)
            }
        }
    }
}
