/// How the audit log's group commits have gone since it was opened: how many there were, how many entries
/// they made durable, and how long each took, as a histogram.
///
/// Every request the service answers waits for the commit that holds its entry, so a slow commit (a slow
/// `fsync` of a busy disk) holds back every request of its group: these figures, on `/metrics`, are where
/// an operator sees that. Failed commits are counted apart; their durations are not in the histogram.
public struct GroupCommitStatistics: Sendable, Equatable {
    /// Upper bounds, in seconds, of the duration histogram's buckets (a last bucket takes the rest).
    public static let bucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    /// Commits that made their entries durable.
    public private(set) var commits = 0
    /// Entries those commits appended.
    public private(set) var entries = 0
    /// Commits that failed (their callers were refused).
    public private(set) var failures = 0
    /// Total time of the successful commits, in seconds.
    public private(set) var seconds = 0.0
    /// The slowest successful commit, in seconds.
    public private(set) var slowest = 0.0
    /// Successful commits per bucket, not cumulative: `bucketCounts[i]` took more than `bucketBounds[i - 1]`
    /// (or 0) and at most `bucketBounds[i]`; the last element counts those slower than every bound.
    public private(set) var bucketCounts = [Int](repeating: 0, count: bucketBounds.count + 1)

    /// No commits yet.
    public init() {}

    /// Counts a commit of `entries` entries that took `seconds`.
    public mutating func recordCommit(entries: Int, seconds: Double) {
        commits += 1
        self.entries += entries
        self.seconds += seconds
        slowest = max(slowest, seconds)
        bucketCounts[Self.bucketBounds.firstIndex { seconds <= $0 } ?? Self.bucketBounds.count] += 1
    }

    /// Counts a failed commit.
    public mutating func recordFailure() {
        failures += 1
    }
}
