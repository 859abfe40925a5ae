import Dispatch
public import Foundation
public import Logging
public import ShanyrakAudit
import ShanyrakCore
public import ShanyrakStore
import Synchronization

/// Checks the registry against the batch anchors in the audit log while the server runs, as
/// `shanyrak registry verify` does by hand: an edit of the registry file that makes a record lose (a
/// survivor's newest protection order deleted so that an older one wins, a record re-dated or swapped) is
/// then found within one interval, not at the next manual run.
///
/// Each check is read-only and runs on a thread of its own: it reads the registry batch by batch, each batch
/// in a read transaction of its own (`Registry.digestBatches`), and the anchors from the log in chunks
/// (`AuditLogReader.newestBatchAnchors`); it takes no write lock. Results go to `/metrics`
/// (`ServerMetrics`, kinds only) and to the server log (one warning per problem, naming the batch, its
/// source and the kind, never a value or a pseudonym). A check that cannot run is logged and counted, and
/// the server goes on serving.
///
/// It reads the anchors from the entries as `registry anchor` does, without rebuilding the Merkle tree
/// (`audit verify` and `registry verify` do that): the entries this server appends are its own, and what
/// it compares the registry with is what the log holds.
public final class RegistryWatch: Sendable {
    /// When checks run.
    public struct Configuration: Sendable {
        /// The time from the end of one check to the start of the next (checks never overlap).
        public var interval: Duration
        /// The time from `run()`'s start to the first check.
        public var firstCheckDelay: Duration
        /// How long a check that found problems waits for anchors still being appended (an ingest appends its
        /// batch's anchor right after committing it) before it reads the log once more and keeps only the
        /// problems found both times.
        public var grace: Duration

        /// The default interval, one hour: a check reads every record (2.4 s of one core for 3 million records,
        /// docs/benchmarks.md), so hourly checks cost well under 1% of a core, and an edit of the registry file
        /// is served unnoticed for an hour at most.
        public static let defaultInterval: Duration = .seconds(3600)
        /// The default grace, 5 s: an anchor is one group commit of the audit log after its batch (milliseconds),
        /// and a commit that waits longer than the log's 5 s lock timeout fails, leaving the batch unanchored.
        public static let defaultGrace: Duration = .seconds(5)

        /// Creates a configuration.
        /// - Parameters:
        ///   - interval: the time between checks (default 1 hour).
        ///   - firstCheckDelay: the time to the first check (default: the interval, at most 10 s).
        ///   - grace: the wait before a check that found problems reads the log again (default 5 s).
        public init(
            interval: Duration = defaultInterval, firstCheckDelay: Duration? = nil, grace: Duration = defaultGrace
        ) {
            self.interval = interval
            self.firstCheckDelay = firstCheckDelay ?? min(interval, .seconds(10))
            self.grace = grace
        }

        /// The interval as `interval(parsing:)` reads it, in its largest whole unit: `1h`, `90m`, `2s`.
        public var intervalText: String {
            let seconds = interval.components.seconds
            for (unit, length) in [("d", Int64(86400)), ("h", 3600), ("m", 60)]
            where seconds % length == 0 && seconds > 0 {
                return "\(seconds / length)\(unit)"
            }
            return "\(seconds)s"
        }

        /// Reads an interval such as `30m`, `6h`, `90s`, `1h30m` or `2d` (whole numbers of seconds, minutes,
        /// hours and days); `0` means no checks.
        /// - Parameter text: the text given.
        /// - Returns: the interval, or nil when `text` is not one.
        public static func interval(parsing text: String) -> Duration? {
            if text == "0" { return .zero }
            let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            var total: Int64 = 0
            var digits = ""
            for character in text {
                if character.isASCII && character.isNumber {
                    digits.append(character)
                    continue
                }
                guard let number = Int64(digits), let unit = units[character] else { return nil }
                let (product, overflow) = number.multipliedReportingOverflow(by: unit)
                let (sum, overflowSum) = total.addingReportingOverflow(product)
                guard !overflow && !overflowSum else { return nil }
                total = sum
                digits = ""
            }
            guard digits.isEmpty, !text.isEmpty else { return nil }
            return .seconds(total)
        }
    }

    private let dataDirectory: URL
    private let reader: AuditLogReader
    private let metrics: ServerMetrics
    private let logger: Logger
    /// When checks run.
    public let configuration: Configuration
    private let queue = DispatchQueue(label: "shanyrak.registry-watch", qos: .utility)
    /// Runs between a check's registry read and its anchor read (tests: an ingest during a check).
    private let afterRegistryRead: (@Sendable () async throws -> Void)?
    /// The newest anchor of each batch in the log's first `size` entries, as the last check read them: the log
    /// is append-only, so each check reads only the entries appended since (a national log holds hundreds of
    /// millions of entries, and anchors are a few in each thousand).
    private let knownAnchors = Mutex<(size: UInt64, anchors: [Int64: BatchAnchor])>((0, [:]))
    /// Log entries read for their anchors so far, over all checks (tests: each is read once).
    let entriesReadForAnchors = Atomic<UInt64>(0)

    /// The most problems one check writes a line for; the rest are counted in one more line.
    static let problemLinesPerCheck = 100

    /// Creates a watch; `run()` starts it. `/metrics` shows the registry-check families from now on.
    /// - Parameters:
    ///   - dataDirectory: the data folder holding `registry.sqlite`.
    ///   - auditLog: read access to the server's audit log.
    ///   - metrics: where results go (the server's `ServerDependencies.metrics`).
    ///   - logger: the server log.
    ///   - configuration: when checks run.
    public convenience init(
        dataDirectory: URL, auditLog: AuditLogReader, metrics: ServerMetrics, logger: Logger,
        configuration: Configuration = .init()
    ) {
        self.init(
            dataDirectory: dataDirectory, auditLog: auditLog, metrics: metrics, logger: logger,
            configuration: configuration, afterRegistryRead: nil)
    }

    /// Creates a watch with a hook that runs between a check's registry read and its anchor read (tests).
    init(
        dataDirectory: URL, auditLog: AuditLogReader, metrics: ServerMetrics, logger: Logger,
        configuration: Configuration, afterRegistryRead: (@Sendable () async throws -> Void)?
    ) {
        self.dataDirectory = dataDirectory
        self.reader = auditLog
        self.metrics = metrics
        self.logger = logger
        self.configuration = configuration
        self.afterRegistryRead = afterRegistryRead
        metrics.enableRegistryChecks()
    }

    /// Runs checks until the task running it is cancelled: the first after `firstCheckDelay`, then each one
    /// `interval` after the previous one ended.
    public func run() async {
        var delay = configuration.firstCheckDelay
        while (try? await Task.sleep(for: delay)) != nil {
            await check()
            delay = configuration.interval
        }
    }

    /// Runs one check and records its outcome in the metrics and the log.
    /// - Returns: what it found; nil when it could not run (logged and counted) or was cancelled.
    @discardableResult
    public func check() async -> RegistryAnchorReport? {
        let clock = ContinuousClock()
        let started = clock.now
        do {
            let (report, entries) = try await compare()
            let seconds = (clock.now - started).inSeconds
            metrics.recordRegistryCheck(problems: report.problems, seconds: seconds, completedAt: Date())
            log(report, entries: entries, seconds: seconds)
            return report
        } catch is CancellationError {
            return nil
        } catch {
            metrics.recordRegistryCheckFailure()
            logger.error("registry check could not run: \(error); the server goes on serving and checks again later")
            return nil
        }
    }

    /// Reads the registry and the anchors and compares them; also returns how many log entries were read.
    private func compare() async throws -> (RegistryAnchorReport, UInt64) {
        // The log's size before the registry is read: every anchor below it was appended after its batch
        // committed, so that batch is in what is read next; an anchor appended later may be of a batch committed
        // after the read, and is not taken (it would be reported missing).
        let (size, digests) = try await queue.run {
            (try self.reader.treeSize(), try Registry.digestBatches(dataDirectory: self.dataDirectory))
        }
        try await afterRegistryRead?()
        var anchors = try await queue.run { try self.anchors(below: size) }
        let first = digests.compare(with: anchors)
        guard !first.isValid else { return (first, size) }
        // A batch committed before the registry was read may have its anchor at or after `size`: an ingest
        // appends it after its commit, and `keys rewrap` after re-sealing. Read the entries appended since
        // (after a grace for appends still under way) and keep what both comparisons find.
        try await Task.sleep(for: configuration.grace)
        let (later, newer) = try await queue.run {
            let later = try self.reader.treeSize()
            return (later, try self.reader.newestBatchAnchors(from: size, below: later).mapValues(\.anchor))
        }
        anchors.merge(newer) { $1 }
        var second = digests.compare(with: anchors)
        let found = Set(first.problems.map(\.batch))
        second.problems.removeAll { !found.contains($0.batch) }
        return (second, later)
    }

    /// One warning per problem (at most `problemLinesPerCheck`), naming the batch, its source and the kind;
    /// one notice when the check passed.
    /// The newest anchor of each batch in the log's first `size` entries: those the last check read, merged
    /// with the entries appended since.
    private func anchors(below size: UInt64) throws -> [Int64: BatchAnchor] {
        let (known, anchors) = knownAnchors.withLock { $0 }
        guard size > known else { return anchors }
        let newer = try reader.newestBatchAnchors(from: known, below: size).mapValues(\.anchor)
        entriesReadForAnchors.add(size - known, ordering: .relaxed)
        let merged = anchors.merging(newer) { $1 }
        knownAnchors.withLock { $0 = (size, merged) }
        return merged
    }

    private func log(_ report: RegistryAnchorReport, entries: UInt64, seconds: Double) {
        let took = ServerMetrics.seconds(seconds)
        guard !report.isValid else {
            let line =
                "registry check passed: \(report.batchesVerified) batches, \(report.recordsVerified) records match "
                + "their anchors in the audit log (\(entries) entries read, \(took) s)"
            logger.notice("\(line)")
            return
        }
        let legacy = report.problems.filter { $0.kind == .predatesAnchors }
        let others = report.problems.filter { $0.kind != .predatesAnchors }
        var lines = others.prefix(Self.problemLinesPerCheck).map {
            "registry check: \(ServerMetrics.label($0.kind)): \($0.description)"
        }
        let verify = "`shanyrak registry verify --data \(dataDirectory.path)`"
        if others.count > Self.problemLinesPerCheck {
            lines.append(
                "registry check: \(others.count - Self.problemLinesPerCheck) more problems not listed; \(verify) "
                    + "lists them all")
        }
        if let first = legacy.first, let last = legacy.last {
            // One line for them all: a registry written before anchors has every batch in this case.
            lines.append(
                "registry check: \(ServerMetrics.label(.predatesAnchors)): \(legacy.count) batches (ids \(first.batch) "
                    + "to \(last.batch)) were written before ingest anchored its batches and are not verified; "
                    + "`shanyrak registry anchor --data \(dataDirectory.path)` anchors them once you trust them")
        }
        lines.append(
            "registry check FAILED: \(others.count) batches do not match their anchors, \(legacy.count) not verified; "
                + "\(report.batchesVerified) of the registry's \(report.batchesInRegistry) batches verified (\(took) s); "
                + "\(verify) says more")
        for line in lines { logger.warning("\(line)") }
    }
}
