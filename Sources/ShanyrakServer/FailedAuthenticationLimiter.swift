import Logging
import ShanyrakAccess
import ShanyrakCore
import Synchronization

/// Bounds how many failed authentications the server records one by one, per client address, so that a
/// flood of requests with wrong tokens cannot grow the audit log (and its disk) without limit.
///
/// Each address has a bucket of `burst` failures that refills at `perSecond`. A failure that finds a token
/// in its bucket is recorded as before (its own audit entry, 401). A failure that finds the bucket empty is
/// throttled: it is answered 429 with `Retry-After` and counted, by address and by what it tried to do, and
/// `takeSummaries` hands the counts over so that the server records them as one audit entry per kind with
/// its number of occurrences (`AccessAuditEntry.occurrences`). No failure goes unrecorded; only their
/// number of entries is bounded.
///
/// Only failures touch the limiter: a request with a valid token is never held back, even from an address
/// that is being throttled (a colleague behind the same gateway as a flood keeps working).
///
/// The table holds at most `maximumAddresses` addresses. When it is full, idle addresses (a full bucket and
/// nothing uncounted) are forgotten; if none is idle, the failures of new addresses share one bucket.
final class FailedAuthenticationLimiter: Sendable {
    /// How failures are limited.
    struct Configuration: Sendable {
        /// Failures an address may make in a row before it is throttled.
        var burst = ServerDependencies.defaultFailedAuthenticationBurst
        /// Failures an address may make per second in the long run.
        var perSecond = ServerDependencies.defaultFailedAuthenticationsPerSecond
        /// Addresses remembered at most.
        var maximumAddresses: Int = 4096
    }

    /// What to do with a failure.
    enum Verdict: Equatable, Sendable {
        /// Record it in the audit log as its own entry and answer 401.
        case record
        /// Answer 429; it is counted for the next summary. `retryAfterSeconds`: when the address has a token again.
        case throttle(retryAfterSeconds: Int)
    }

    /// What throttled failures of one kind from one address added up to since the last summary.
    struct Summary: Equatable, Sendable {
        /// The client address (for the server log; the audit entry does not carry it).
        var address: String
        /// What the requests tried to do.
        var action: AccessAction
        /// The view they asked for.
        var view: ViewKind
        /// How many there were.
        var count: UInt64
        /// The request id of the first of them (sent back in its `X-Request-ID`), to find it in the server log.
        var firstRequestID: String
    }

    /// The key under which addresses share one bucket when the table is full.
    static let overflowAddress = "(other addresses)"

    private struct Kind: Hashable {
        let action: AccessAction
        let view: ViewKind
    }

    private struct Bucket {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
        /// Throttled failures not yet handed over, by kind: count and first request id.
        var uncounted: [Kind: (count: UInt64, firstRequestID: String)] = [:]
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        /// Summaries taken from buckets that were forgotten or not yet handed over.
        var pending: [Summary] = []
    }

    let configuration: Configuration
    private let state = Mutex(State())

    /// Creates a limiter.
    /// - Parameter configuration: burst, rate and table size.
    init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Accounts for one failed authentication from `address`.
    /// - Parameters:
    ///   - address: the client's address (IP, without port); nil when unknown (then all such share a bucket).
    ///   - action: what the request tried to do.
    ///   - view: the view it asked for.
    ///   - requestID: its request id.
    ///   - now: the time on the monotonic clock.
    /// - Returns: whether to record it or throttle it.
    func failed(
        address: String?, action: AccessAction, view: ViewKind, requestID: String,
        now: ContinuousClock.Instant = .now
    ) -> Verdict {
        state.withLock { state in
            let key = self.key(for: address ?? Self.overflowAddress, in: &state, now: now)
            var bucket =
                state.buckets[key] ?? Bucket(tokens: Double(configuration.burst), refilledAt: now)
            refill(&bucket, now: now)
            defer { state.buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return .record
            }
            let kind = Kind(action: action, view: view)
            if let existing = bucket.uncounted[kind] {
                bucket.uncounted[kind] = (existing.count + 1, existing.firstRequestID)
            } else {
                bucket.uncounted[kind] = (1, requestID)
            }
            let wait = (1 - bucket.tokens) / configuration.perSecond
            return .throttle(retryAfterSeconds: max(1, Int(wait.rounded(.up))))
        }
    }

    /// Hands over every throttled failure counted since the last call, one summary per address and kind.
    /// - Returns: the summaries, in no particular order.
    func takeSummaries() -> [Summary] {
        state.withLock { state in
            var out = state.pending
            state.pending = []
            for (address, bucket) in state.buckets where !bucket.uncounted.isEmpty {
                out += Self.summaries(of: bucket, address: address)
                state.buckets[address]?.uncounted = [:]
            }
            return out
        }
    }

    /// Puts summaries back after they could not be recorded, to be handed over again by `takeSummaries`.
    /// - Parameter summaries: what `takeSummaries` returned.
    func restore(_ summaries: [Summary]) {
        state.withLock { $0.pending += summaries }
    }

    /// Addresses currently remembered (for tests of the table's bound).
    var addressCount: Int { state.withLock { $0.buckets.count } }

    /// The bucket key for `address`: itself when it has or can get a bucket, else the shared overflow key.
    private func key(for address: String, in state: inout State, now: ContinuousClock.Instant) -> String {
        if state.buckets[address] != nil || state.buckets.count < configuration.maximumAddresses - 1 {
            return address
        }
        // Full: forget the idle buckets (refilled to the brim, nothing uncounted): they have nothing to report.
        for (known, var bucket) in state.buckets where known != Self.overflowAddress {
            refill(&bucket, now: now)
            if bucket.tokens >= Double(configuration.burst), bucket.uncounted.isEmpty {
                state.buckets[known] = nil
            }
        }
        return state.buckets.count < configuration.maximumAddresses - 1 ? address : Self.overflowAddress
    }

    private func refill(_ bucket: inout Bucket, now: ContinuousClock.Instant) {
        let seconds = (now - bucket.refilledAt).inSeconds
        bucket.tokens = min(Double(configuration.burst), bucket.tokens + seconds * configuration.perSecond)
        bucket.refilledAt = now
    }

    private static func summaries(of bucket: Bucket, address: String) -> [Summary] {
        bucket.uncounted.map { kind, counted in
            Summary(
                address: address, action: kind.action, view: kind.view, count: counted.count,
                firstRequestID: counted.firstRequestID)
        }
    }
}

extension ServerDependencies {
    /// Records the failed authentications throttled since the last call: one audit entry per client address and
    /// kind (what the requests tried to do), without a token, whose `occurrences` is how many there were and whose
    /// request id is the first one's. The address goes to the server log, not into the entry. What cannot be
    /// recorded (the audit log is unavailable) is kept for the next call and logged.
    /// - Parameter logger: the server log.
    /// - Returns: how many failed authentications the recorded entries stand for.
    @discardableResult
    func recordThrottledFailures(logger: Logger) async -> UInt64 {
        var summaries = failedAuthentications.takeSummaries()[...]
        var recorded: UInt64 = 0
        while let summary = summaries.first {
            do {
                try await access.recordFailedAuthentication(
                    requestID: summary.firstRequestID, action: summary.action, view: summary.view,
                    occurrences: summary.count)
            } catch {
                failedAuthentications.restore(Array(summaries))
                logger.error(
                    "\(summaries.count) summaries of throttled failed authentications could not be recorded in the audit log; kept for the next try"
                )
                break
            }
            summaries.removeFirst()
            recorded += summary.count
            logger.notice(
                "throttled \(summary.count) failed authentications from \(summary.address) (\(summary.action.rawValue) \(summary.view.rawValue)), recorded as one audit entry with the request id \(summary.firstRequestID)"
            )
        }
        return recorded
    }
}
