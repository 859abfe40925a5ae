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
    }

    /// The counters in the Prometheus text exposition format (version 0.0.4).
    /// - Parameter groupCommits: the audit log's group commits, when the server has the log.
    /// - Returns: the text.
    public func exposition(groupCommits: GroupCommitStatistics? = nil) -> String {
        let snapshot = counters.withLock { $0 }
        let keys = snapshot.keys.sorted { ($0.route, $0.method, $0.status) < ($1.route, $1.method, $1.status) }
        var out = "# HELP shanyrak_http_requests_total HTTP requests by method, route template and status.\n"
        out += "# TYPE shanyrak_http_requests_total counter\n"
        for key in keys {
            out += "shanyrak_http_requests_total{\(labels(key))} \(snapshot[key]?.count ?? 0)\n"
        }
        out += "# HELP shanyrak_http_request_duration_seconds_sum Time spent answering, by route.\n"
        out += "# TYPE shanyrak_http_request_duration_seconds_sum counter\n"
        for key in keys {
            let seconds = snapshot[key]?.seconds ?? 0
            out += "shanyrak_http_request_duration_seconds_sum{\(labels(key))} \(String(format: "%.6f", seconds))\n"
        }
        out +=
            "# HELP shanyrak_failed_authentications_total Requests refused for a missing, unknown or revoked token.\n"
        out += "# TYPE shanyrak_failed_authentications_total counter\n"
        out += "shanyrak_failed_authentications_total \(failedAuthentications.load(ordering: .relaxed))\n"
        out += "# HELP shanyrak_audit_unavailable_total Requests refused because the audit log could not be written.\n"
        out += "# TYPE shanyrak_audit_unavailable_total counter\n"
        out += "shanyrak_audit_unavailable_total \(auditUnavailable.load(ordering: .relaxed))\n"
        if let groupCommits { out += Self.exposition(groupCommits) }
        return out
    }

    /// The audit log's group commits: a duration histogram (every request waits for one), entries and failures.
    static func exposition(_ stats: GroupCommitStatistics) -> String {
        var out = "# HELP shanyrak_audit_group_commit_seconds Time for a group commit of the audit log to be durable.\n"
        out += "# TYPE shanyrak_audit_group_commit_seconds histogram\n"
        var cumulative = 0
        for (bound, count) in zip(GroupCommitStatistics.bucketBounds, stats.bucketCounts) {
            cumulative += count
            out += "shanyrak_audit_group_commit_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "shanyrak_audit_group_commit_seconds_bucket{le=\"+Inf\"} \(stats.commits)\n"
        out += "shanyrak_audit_group_commit_seconds_sum \(String(format: "%.6f", stats.seconds))\n"
        out += "shanyrak_audit_group_commit_seconds_count \(stats.commits)\n"
        out += "# HELP shanyrak_audit_group_commit_slowest_seconds The slowest group commit since the server started.\n"
        out += "# TYPE shanyrak_audit_group_commit_slowest_seconds gauge\n"
        out += "shanyrak_audit_group_commit_slowest_seconds \(String(format: "%.6f", stats.slowest))\n"
        out += "# HELP shanyrak_audit_entries_total Entries the audit log's group commits made durable.\n"
        out += "# TYPE shanyrak_audit_entries_total counter\n"
        out += "shanyrak_audit_entries_total \(stats.entries)\n"
        out += "# HELP shanyrak_audit_group_commit_failures_total Group commits that failed (their requests got 503).\n"
        out += "# TYPE shanyrak_audit_group_commit_failures_total counter\n"
        out += "shanyrak_audit_group_commit_failures_total \(stats.failures)\n"
        return out
    }

    private func labels(_ key: Key) -> String {
        "method=\"\(key.method)\",route=\"\(key.route)\",status=\"\(key.status)\""
    }
}
