public import Foundation
public import ShanyrakAccess
public import ShanyrakAudit
public import ShanyrakCore
public import ShanyrakIngest

/// Everything the HTTP API needs: the access path and the pieces around it.
public struct ServerDependencies: Sendable {
    /// The access path: every read of record data goes through it.
    public var access: AccessService
    /// The audit log the access path appends to; the server also records ingest batches and
    /// auditor reads in it.
    public var accessLog: any AccessAuditLog
    /// The Merkle log for checkpoints, entries and proofs (nil: those endpoints answer 503).
    public var auditLog: AuditLog?
    /// The policy engine, for the ingest decision (nil: only role and source are checked).
    public var policy: (any AccessPolicy)?
    /// Feed ingestion (nil: `POST /v1/ingest/{source}` answers 503).
    public var ingest: IngestDependencies?
    /// Request counters for `/metrics`.
    public var metrics: ServerMetrics
    /// The token that opens `/metrics` (nil: `/metrics` is off and answers 404).
    public var metricsToken: MetricsToken?
    /// Whether `GET /bench/fixed` (a fixed string, for the load benchmark) is mounted.
    public var benchFixedRoute: Bool
    /// The largest request body of any operation but ingest (which has `IngestDependencies.maximumBytes`);
    /// a longer one is refused with 413 before it is decoded.
    public var maximumRequestBodyBytes: Int
    /// Failed authentications per client address: beyond a burst they are throttled (429) and recorded in
    /// summary entries (`recordThrottledFailures`), so a flood cannot grow the audit log without bound.
    var failedAuthentications: FailedAuthenticationLimiter

    /// The default of `init`'s `failedAuthenticationBurst`: 30 failures in a row per client address.
    public static let defaultFailedAuthenticationBurst = 30
    /// The default of `init`'s `failedAuthenticationsPerSecond`: one a second per client address.
    public static let defaultFailedAuthenticationsPerSecond = 1.0

    /// The default of `maximumRequestBodyBytes`: 64 KiB, far above any JSON body of the contract.
    public static let defaultMaximumRequestBodyBytes = 64 * 1024

    /// Creates the dependencies.
    /// - Parameters:
    ///   - access: the access path.
    ///   - accessLog: the audit log the access path appends to.
    ///   - auditLog: the Merkle log, for auditor endpoints.
    ///   - policy: the policy engine, for ingest decisions.
    ///   - ingest: feed ingestion.
    ///   - metrics: request counters.
    ///   - metricsToken: the token that opens `/metrics` (nil: it answers 404).
    ///   - benchFixedRoute: mount `GET /bench/fixed`.
    ///   - maximumRequestBodyBytes: the largest body of an operation other than ingest (default 64 KiB).
    ///   - failedAuthenticationBurst: failed authentications a client address may make in a row before the
    ///     next are throttled (default 30).
    ///   - failedAuthenticationsPerSecond: the rate at which an address may go on failing (default 1).
    public init(
        access: AccessService, accessLog: any AccessAuditLog, auditLog: AuditLog? = nil,
        policy: (any AccessPolicy)? = nil, ingest: IngestDependencies? = nil, metrics: ServerMetrics = ServerMetrics(),
        metricsToken: MetricsToken? = nil, benchFixedRoute: Bool = false,
        maximumRequestBodyBytes: Int = ServerDependencies.defaultMaximumRequestBodyBytes,
        failedAuthenticationBurst: Int = defaultFailedAuthenticationBurst,
        failedAuthenticationsPerSecond: Double = defaultFailedAuthenticationsPerSecond
    ) {
        self.access = access
        self.accessLog = accessLog
        self.auditLog = auditLog
        self.policy = policy
        self.ingest = ingest
        self.metrics = metrics
        self.metricsToken = metricsToken
        self.benchFixedRoute = benchFixedRoute
        self.maximumRequestBodyBytes = maximumRequestBodyBytes
        self.failedAuthentications = FailedAuthenticationLimiter(
            configuration: .init(
                burst: max(1, failedAuthenticationBurst), perSecond: max(0.001, failedAuthenticationsPerSecond)))
    }
}

/// What `POST /v1/ingest/{source}` needs.
public struct IngestDependencies: Sendable {
    /// The ingester over the registry.
    public var ingester: Ingester
    /// The folder of source mappings (`policies/sources`).
    public var sourcesDirectory: URL
    /// The indicator catalog.
    public var catalog: IndicatorCatalog
    /// Where request bodies are spooled while they are ingested (removed afterwards).
    public var spoolDirectory: URL
    /// Largest accepted body in bytes.
    public var maximumBytes: Int
    /// Runs one ingest at a time, off the request threads (shared by copies of these dependencies).
    let runner = IngestRunner()
    /// The source mappings, read once when the dependencies were made (from the policy files the server
    /// verified at start), by source name: a mapping edited while the server runs is not used.
    let mappings: [String: SourceMapping]

    /// Creates the ingest dependencies.
    /// - Parameters:
    ///   - ingester: the ingester.
    ///   - sourcesDirectory: the mappings folder.
    ///   - catalog: the catalog.
    ///   - spoolDirectory: where bodies are spooled.
    ///   - maximumBytes: largest body (default 1 GiB).
    /// - Throws: `IngestError` naming the mapping file and rule when a mapping in `sourcesDirectory` is invalid.
    public init(
        ingester: Ingester, sourcesDirectory: URL, catalog: IndicatorCatalog, spoolDirectory: URL,
        maximumBytes: Int = 1 << 30
    ) throws {
        var mappings: [String: SourceMapping] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sourcesDirectory.path)) ?? []
        for name in names.sorted() where name.hasSuffix(".yaml") {
            let source = String(name.dropLast(".yaml".count))
            mappings[source] = try SourceMapping.load(source: source, directory: sourcesDirectory, catalog: catalog)
        }
        self.init(
            ingester: ingester, mappings: mappings, sourcesDirectory: sourcesDirectory, catalog: catalog,
            spoolDirectory: spoolDirectory, maximumBytes: maximumBytes)
    }

    /// Creates the ingest dependencies with mappings already read (from a verified policy set).
    /// - Parameters:
    ///   - ingester: the ingester.
    ///   - mappings: the feed mappings by source name.
    ///   - sourcesDirectory: the mappings folder (named in messages only).
    ///   - catalog: the catalog.
    ///   - spoolDirectory: where bodies are spooled.
    ///   - maximumBytes: largest body (default 1 GiB).
    public init(
        ingester: Ingester, mappings: [String: SourceMapping], sourcesDirectory: URL, catalog: IndicatorCatalog,
        spoolDirectory: URL, maximumBytes: Int = 1 << 30
    ) {
        self.ingester = ingester
        self.sourcesDirectory = sourcesDirectory
        self.catalog = catalog
        self.spoolDirectory = spoolDirectory
        self.maximumBytes = maximumBytes
        self.mappings = mappings
    }
}

extension IngestDependencies {
    /// The prefix of a spooled body's file name; the request id and `.csv` follow.
    static let spoolPrefix = "ingest-"

    /// Removes the spool files a server that stopped mid-ingest left behind (each holds a feed in
    /// plaintext). Call it when a server starts on the data folder, before it accepts requests: one
    /// server serves a data folder at a time.
    /// - Returns: how many files were removed.
    @discardableResult
    public func removeLeftoverSpools() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: spoolDirectory.path)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(Self.spoolPrefix) && name.hasSuffix(".csv") {
            if (try? FileManager.default.removeItem(at: spoolDirectory.appendingPathComponent(name))) != nil {
                removed += 1
            }
        }
        return removed
    }
}
