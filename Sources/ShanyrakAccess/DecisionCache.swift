import Foundation

/// Decisions of a `CedarAccessPolicy`, keyed by every input of the evaluation.
///
/// Bounded: when `capacity` is reached the cache is emptied and fills again (the working set of a
/// server is small: a decision depends on the principal and a few context facts, not on the household).
///
/// `@unchecked Sendable`: `entries` is only touched while holding `lock`.
final class DecisionCache: @unchecked Sendable {
    /// Everything a decision is computed from.
    struct Key: Hashable {
        let principal: Principal
        let action: AccessAction
        let context: AccessContext
        let indicators: [String]
    }

    private let lock = NSLock()
    private var entries: [Key: AccessDecision] = [:]
    private let capacity: Int

    /// Creates a cache holding at most `capacity` decisions (zero: none).
    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// The remembered decision for `key`; setting stores one.
    subscript(key: Key) -> AccessDecision? {
        get {
            guard capacity > 0 else { return nil }
            lock.lock()
            defer { lock.unlock() }
            return entries[key]
        }
        set {
            guard capacity > 0 else { return }
            lock.lock()
            defer { lock.unlock() }
            if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = newValue
        }
    }
}
