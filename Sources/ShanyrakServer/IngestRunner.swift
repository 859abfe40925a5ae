import Dispatch
import Foundation
import ShanyrakIngest
import Synchronization

/// Runs feed ingests one at a time, on a thread of their own.
///
/// An ingest is long, synchronous work (a population feed is about a minute of CPU): run on Swift's
/// cooperative pool, which has one thread per core, two at once would stall every other request of
/// the server, health checks and the audit log's commits included. A second feed that arrives while
/// one is being loaded is refused at once (503 with `Retry-After`), before its body is read.
final class IngestRunner: Sendable {
    private let queue = DispatchQueue(label: "shanyrak.ingest", qos: .utility)
    private let busy = Mutex(false)

    /// Reserves the runner for one ingest, or returns nil when another one holds it.
    func reserve() -> Reservation? {
        let reserved = busy.withLock { busy in
            guard !busy else { return false }
            busy = true
            return true
        }
        return reserved ? Reservation(runner: self) : nil
    }

    fileprivate func release() { busy.withLock { $0 = false } }

    /// The right to run one ingest; released when it is dropped or `run` finishes.
    final class Reservation: Sendable {
        private let runner: IngestRunner
        private let released = Mutex(false)

        fileprivate init(runner: IngestRunner) { self.runner = runner }

        deinit { finish() }

        /// Runs `work` on the ingest thread and waits for it without holding a cooperative thread.
        /// - Throws: what `work` throws.
        func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
            defer { finish() }
            return try await runner.queue.run(work)
        }

        private func finish() {
            let first = released.withLock { released in
                defer { released = true }
                return !released
            }
            if first { runner.release() }
        }
    }
}
