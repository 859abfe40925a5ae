import Foundation

/// Decisions of a `CedarAccessPolicy`, keyed by every input of the evaluation.
///
/// Bounded: when `capacity` is reached the cache is emptied and fills again (the working set of a
/// server is small: a decision depends on the principal and a few context facts, not on the household).
///
/// `@unchecked Sendable`: `entries` is only read or replaced while holding `lock`.
final class DecisionCache: @unchecked Sendable {
    /// Everything a decision is computed from.
    struct Key: Hashable {
        let principal: Principal
        let action: AccessAction
        let context: AccessContext
        let indicators: [String]

        /// Hashes the indicator list by its length and ends only: a view passes the same list (the same
        /// array) on every request, so hashing its 20-70 ids each time bought nothing. Equality still
        /// compares every id (at once when both are the same array).
        func hash(into hasher: inout Hasher) {
            hasher.combine(principal)
            hasher.combine(action)
            hasher.combine(context)
            hasher.combine(indicators.count)
            hasher.combine(indicators.first)
            hasher.combine(indicators.last)
        }
    }

    private let lock = NSLock()
    private var entries: [Key: AccessDecision] = [:]
    private let capacity: Int

    /// Creates a cache holding at most `capacity` decisions (zero: none).
    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// The remembered decision for `key`; setting stores one.
    ///
    /// A lookup holds the lock only to take the table (a reference): hashing the key, which covers every
    /// indicator id asked about, happens outside it, so concurrent requests do not queue on the lock. A store
    /// copies the table only while a lookup still holds the old one (copy-on-write).
    subscript(key: Key) -> AccessDecision? {
        get {
            guard capacity > 0 else { return nil }
            let table = lock.withLock { entries }
            return table[key]
        }
        set {
            guard capacity > 0 else { return }
            lock.withLock {
                if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
                entries[key] = newValue
            }
        }
    }
}
