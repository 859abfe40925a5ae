import Foundation
import GRDB
import ShanyrakStore

/// The write lock of a registry file, held by a connection of its own, as another process holds it
/// while it writes: other writers wait until it is released.
final class RegistryWriteLock: Sendable {
    private let release = DispatchSemaphore(value: 0)
    private let holder: Background<Void>

    /// Opens the registry of `dataDirectory`, begins an immediate transaction, runs `body` in it,
    /// and returns once the lock is held.
    /// - Parameter commit: whether `releaseLock()` commits what `body` wrote (otherwise it rolls back).
    init(
        dataDirectory: URL, commit: Bool = false, _ body: @escaping @Sendable (Database) throws -> Void = { _ in }
    ) throws {
        let queue = try DatabaseQueue(path: dataDirectory.appendingPathComponent(Registry.fileName).path)
        let holding = DispatchSemaphore(value: 0)
        let release = release
        holder = Background {
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try body(db)
                holding.signal()
                release.wait()
                try db.execute(sql: commit ? "COMMIT" : "ROLLBACK")
            }
        }
        guard holding.wait(timeout: .now() + 60) == .success else {
            throw StoreError(message: "the registry's write lock was not taken within a minute")
        }
    }

    /// Commits or rolls back, and so releases the lock.
    /// - Throws: what the holding connection threw.
    func releaseLock() throws {
        release.signal()
        try holder.wait()?.get()
    }
}
