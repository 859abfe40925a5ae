import Foundation

/// Principals of recently authenticated tokens, so that a request does not read the staff table each time.
///
/// Keyed by the SHA-256 of the token (what the staff table stores; the token itself is never kept).
/// Only successful authentications are held, each for at most `lifetime` on the monotonic clock: an
/// unknown or revoked token always goes to the database, so a new account works at once. A revocation
/// made through this process's `AccessService.revokeStaff` removes the account's entries at once; one made
/// by another process (the command line on the same data folder) takes effect within `lifetime`.
/// Bounded: at `capacity` entries the expired ones are dropped, and if none has expired, all of them.
///
/// `@unchecked Sendable`: `entries` is only touched while holding `lock`.
final class AuthenticationCache: @unchecked Sendable {
    private struct Entry {
        let principal: Principal
        let expires: UInt64
    }

    private let lock = NSLock()
    private var entries: [[UInt8]: Entry] = [:]
    /// Bumped by every removal: a database read that began before a revocation must not be stored after it.
    private var generation: UInt64 = 0
    private let lifetime: UInt64
    private let capacity: Int
    private let uptime: @Sendable () -> UInt64

    /// Creates a cache.
    /// - Parameters:
    ///   - lifetime: how long an entry serves; zero disables the cache.
    ///   - capacity: the most entries held.
    ///   - uptime: the monotonic clock in nanoseconds (tests may pass their own).
    init(
        lifetime: Duration, capacity: Int = 4096,
        uptime: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        let (seconds, attoseconds) = lifetime.components
        let nanoseconds = Int64(seconds) * 1_000_000_000 + attoseconds / 1_000_000_000
        self.lifetime = nanoseconds > 0 ? UInt64(nanoseconds) : 0
        self.capacity = max(1, capacity)
        self.uptime = uptime
    }

    /// Whether entries are kept at all.
    var isEnabled: Bool { lifetime > 0 }

    /// The principal authenticated with this token hash within the lifetime, or nil.
    func principal(tokenHash: [UInt8]) -> Principal? {
        guard isEnabled else { return nil }
        let now = uptime()
        lock.lock()
        defer { lock.unlock() }
        guard let entry = entries[tokenHash] else { return nil }
        guard now < entry.expires else {
            entries[tokenHash] = nil
            return nil
        }
        return entry.principal
    }

    /// Taken before a database read whose result may be stored: when it was taken, and the generation.
    struct Ticket {
        fileprivate let time: UInt64
        fileprivate let generation: UInt64
    }

    /// A ticket for a database read about to begin.
    func ticket() -> Ticket {
        let time = uptime()
        lock.lock()
        defer { lock.unlock() }
        return Ticket(time: time, generation: generation)
    }

    /// Remembers a successful authentication read from the database after `ticket` was taken.
    /// Nothing is stored when an account was removed since (the read may predate a revocation).
    func store(_ principal: Principal, tokenHash: [UInt8], ticket: Ticket) {
        guard isEnabled else { return }
        let expires = ticket.time &+ lifetime
        lock.lock()
        defer { lock.unlock() }
        guard ticket.generation == generation else { return }
        if entries.count >= capacity, entries[tokenHash] == nil {
            let now = uptime()
            entries = entries.filter { now < $0.value.expires }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[tokenHash] = Entry(principal: principal, expires: expires)
    }

    /// Drops every entry of the account (its revocation takes effect at once in this process).
    func remove(staffID: Int64) {
        lock.lock()
        defer { lock.unlock() }
        generation &+= 1
        entries = entries.filter { $0.value.principal.id != staffID }
    }
}
