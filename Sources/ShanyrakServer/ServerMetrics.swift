import Foundation
public import ShanyrakAudit
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

    private let counters = Mutex<[Key: Totals]>([:])
    private let auditUnavailable = Atomic<Int>(0)
    private let failedAuthentications = Atomic<Int>(0)
    private let throttledAuthentications = Atomic<Int>(0)

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
        return out
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
