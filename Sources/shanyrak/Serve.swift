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
    /// The HTTP API's dependencies over this data folder: the access path on the Cedar policies and the
    /// Merkle audit log (checkpoints every 1,024 entries or 60 s), feed ingestion, and request counters.
    /// Entries without a principal (failed authentications) name the actor `anonymous`.
    /// - Parameter benchFixedRoute: mount `GET /bench/fixed` (load benchmark only).
    func serverDependencies(benchFixedRoute: Bool = false) async throws -> (ServerDependencies, AuditLog) {
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
            benchFixedRoute: benchFixedRoute)
        return (dependencies, log)
    }

    /// Serves the API on `host:port` until SIGINT or SIGTERM, then closes the audit log.
    /// - Parameter ready: called with the bound port once the server listens.
    func serve(host: String, port: Int, ready: @escaping @Sendable (Int) -> Void) async throws {
        let benchFixed = ProcessInfo.processInfo.environment["SHANYRAK_BENCH_FIXED_ROUTE"] == "1"
        let (dependencies, log) = try await serverDependencies(benchFixedRoute: benchFixed)
        let logger = Logger(label: "shanyrak") { ServerLogHandler(label: $0, level: .notice) }
        do {
            try await ShanyrakServer.run(
                dependencies, host: host, port: port, logger: logger, onServerRunning: { ready($0) })
        } catch {
            await log.close()
            throw error
        }
        await log.close()
    }
}

extension Shanyrak {
    /// `shanyrak serve`: the HTTP API.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the HTTP API (openapi.yaml; docs/api.md) on a data folder.",
            discussion: "Set SHANYRAK_BENCH_FIXED_ROUTE=1 to add GET /bench/fixed (a fixed string, for benchmarks).")

        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Address to listen on.")
        var host = "127.0.0.1"
        @Option(name: .long, help: "Port to listen on (0 picks a free one).")
        var port = 8080

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let host = host
                try await context.serve(host: host, port: port) { bound in
                    print("shanyrak: serving http://\(host):\(bound) (openapi.yaml at /openapi.yaml); Ctrl-C stops")
                    fflush(nil)
                }
            }
        }
    }
}
