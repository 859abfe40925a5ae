import Foundation
public import ShanyrakAudit
import ShanyrakStore
import Synchronization

/// A small Prometheus counter set: requests by method, route template and status, and their durations.
///
/// Labels are the route template (`/v1/households/{id}`), never the request path, so no pseudonym,
/// IIN or token can reach a label.
public final class ServerMetrics: Sendable {
    private struct Key: Hashable {
        let method: String
        let route: String
        let status: Int
    }

    private struct Totals {
        var count = 0
        var seconds = 0.0
    }

    /// What the registry watch (`RegistryWatch`) has found so far.
    struct RegistryChecks {
        /// Problems of the last completed check by kind (nil until one completed).
        var problems: [BatchAnchorProblem.Kind: Int]?
        /// When the last check completed (Unix seconds; 0: none yet) and how long it took.
        var lastCompleted = 0.0
        var lastSeconds = 0.0
        /// Checks by result: passed, found problems, could not run.
        var passed = 0
        var foundProblems = 0
        var failed = 0
    }

    private let counters = Mutex<[Key: Totals]>([:])
    private let auditUnavailable = Atomic<Int>(0)
    private let failedAuthentications = Atomic<Int>(0)
    private let throttledAuthentications = Atomic<Int>(0)
    /// Nil while the server has no registry watch: then `/metrics` shows no registry-check family.
    private let registryChecks = Mutex<RegistryChecks?>(nil)

    /// Creates an empty counter set.
    public init() {}

    /// Counts one request.
    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - route: the matched route template, or `unmatched`.
    ///   - status: the status code answered.
    ///   - seconds: how long it took.
    public func record(method: String, route: String, status: Int, seconds: Double) {
        let key = Key(method: method, route: route, status: status)
        counters.withLock {
            $0[key, default: Totals()].count += 1
            $0[key, default: Totals()].seconds += seconds
        }
        if status == 503 { auditUnavailable.add(1, ordering: .relaxed) }
        if status == 401 { failedAuthentications.add(1, ordering: .relaxed) }
        // The server answers 429 only to failed authentications over their address's budget.
        if status == 429 { throttledAuthentications.add(1, ordering: .relaxed) }
    }

    /// Shows the registry-check families on `/metrics` (a server with a `RegistryWatch`).
    func enableRegistryChecks() {
        registryChecks.withLock { $0 = $0 ?? RegistryChecks() }
    }

    /// Records a completed registry check: its problems become the gauges until the next one completes.
    /// - Parameters:
    ///   - problems: what it found.
    ///   - seconds: how long it took.
    ///   - completedAt: when it completed.
    func recordRegistryCheck(problems: [BatchAnchorProblem], seconds: Double, completedAt: Date) {
        var counts = Dictionary(uniqueKeysWithValues: BatchAnchorProblem.Kind.allCases.map { ($0, 0) })
        for problem in problems { counts[problem.kind, default: 0] += 1 }
        registryChecks.withLock { checks in
            var updated = checks ?? RegistryChecks()
            updated.problems = counts
            updated.lastCompleted = completedAt.timeIntervalSince1970
            updated.lastSeconds = seconds
            if problems.isEmpty { updated.passed += 1 } else { updated.foundProblems += 1 }
            checks = updated
        }
    }

    /// Counts a registry check that could not run (the gauges keep the last completed check's values).
    func recordRegistryCheckFailure() {
        registryChecks.withLock { checks in
            var updated = checks ?? RegistryChecks()
            updated.failed += 1
            checks = updated
        }
    }

    /// The name of a kind of registry problem in metric labels and log lines.
    static func label(_ kind: BatchAnchorProblem.Kind) -> String {
        switch kind {
        case .changed: "changed"
        case .missing: "missing"
        case .unanchored: "unanchored"
        case .unknownBatch: "unknown"
        case .predatesAnchors: "predates_anchors"
        }
    }

    /// The counters in the Prometheus text exposition format (version 0.0.4).
    /// - Parameter groupCommits: the audit log's group commits, when the server has the log.
    /// - Returns: the text.
    public func exposition(groupCommits: GroupCommitStatistics? = nil) -> String {
        let snapshot = counters.withLock { $0 }
        let keys = snapshot.keys.sorted { ($0.route, $0.method, $0.status) < ($1.route, $1.method, $1.status) }
        var out = Self.family(
            "shanyrak_http_requests_total", .counter, "HTTP requests by method, route template and status.",
            keys.map { "{\(labels($0))} \(snapshot[$0]?.count ?? 0)" })
        out += Self.family(
            "shanyrak_http_request_duration_seconds_sum", .counter, "Time spent answering, by route.",
            keys.map { "{\(labels($0))} \(Self.seconds(snapshot[$0]?.seconds ?? 0))" })
        out += Self.family(
            "shanyrak_failed_authentications_total", .counter,
            "Requests refused for a missing, unknown or revoked token.",
            [" \(failedAuthentications.load(ordering: .relaxed))"])
        out += Self.family(
            "shanyrak_failed_authentications_throttled_total", .counter,
            "Failed authentications answered 429 (over their client address's budget), audited in summary entries.",
            [" \(throttledAuthentications.load(ordering: .relaxed))"])
        out += Self.family(
            "shanyrak_audit_unavailable_total", .counter,
            "Requests refused because the audit log could not be written.",
            [" \(auditUnavailable.load(ordering: .relaxed))"])
        if let groupCommits { out += Self.exposition(groupCommits) }
        if let checks = registryChecks.withLock({ $0 }) { out += Self.exposition(checks) }
        return out
    }

    /// The registry watch's results: checks by result, and the last completed check's problems by kind, time and
    /// duration. Labels are kinds only: batch ids and sources go to the server log.
    static func exposition(_ checks: RegistryChecks) -> String {
        let results = [("passed", checks.passed), ("problems", checks.foundProblems), ("failed", checks.failed)]
        var out = family(
            "shanyrak_registry_checks_total", .counter,
            "Registry checks against the batch anchors in the audit log, by result (failed: could not run).",
            results.map { "{result=\"\($0.0)\"} \($0.1)" })
        if let problems = checks.problems {
            out += family(
                "shanyrak_registry_check_problems", .gauge,
                "Batches the last completed registry check found differing from their anchors, by kind "
                    + "(predates_anchors: written before anchoring, not verified).",
                BatchAnchorProblem.Kind.allCases.map { "{kind=\"\(label($0))\"} \(problems[$0] ?? 0)" })
        }
        return out
            + family(
                "shanyrak_registry_check_last_completed_timestamp_seconds", .gauge,
                "When the last registry check completed (Unix time; 0: none yet).",
                [" \(seconds(checks.lastCompleted))"])
            + family(
                "shanyrak_registry_check_duration_seconds", .gauge, "How long the last completed registry check took.",
                [" \(seconds(checks.lastSeconds))"])
    }

    /// The audit log's group commits: a duration histogram (every request waits for one), entries and failures.
    static func exposition(_ stats: GroupCommitStatistics) -> String {
        var cumulative = 0
        var histogram: [String] = []
        for (bound, count) in zip(GroupCommitStatistics.bucketBounds, stats.bucketCounts) {
            cumulative += count
            histogram.append("_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        histogram += [
            "_bucket{le=\"+Inf\"} \(stats.commits)", "_sum \(seconds(stats.seconds))", "_count \(stats.commits)",
        ]
        return family(
            "shanyrak_audit_group_commit_seconds", .histogram,
            "Time for a group commit of the audit log to be durable.",
            histogram)
            + family(
                "shanyrak_audit_group_commit_slowest_seconds", .gauge,
                "The slowest group commit since the server started.",
                [" \(seconds(stats.slowest))"])
            + family(
                "shanyrak_audit_entries_total", .counter, "Entries the audit log's group commits made durable.",
                [" \(stats.entries)"])
            + family(
                "shanyrak_audit_group_commit_failures_total", .counter,
                "Group commits that failed (their requests got 503).", [" \(stats.failures)"])
    }

    /// Prometheus metric types.
    enum MetricType: String {
        case counter, gauge, histogram
    }

    /// One metric family: its `HELP` and `TYPE` lines, then a line per sample (`samples` are what follows
    /// the name: a suffix, labels and the value).
    static func family(_ name: String, _ type: MetricType, _ help: String, _ samples: [String]) -> String {
        var out = "# HELP \(name) \(help)\n# TYPE \(name) \(type.rawValue)\n"
        for sample in samples { out += name + sample + "\n" }
        return out
    }

    /// Seconds with six decimals.
    static func seconds(_ value: Double) -> String { String(format: "%.6f", value) }

    private func labels(_ key: Key) -> String {
        "method=\"\(key.method)\",route=\"\(key.route)\",status=\"\(key.status)\""
    }
}
