import Foundation
internal import GRDBSQLite

/// Copies the audit log's write-ahead log into the database file on a thread of its own, so that group
/// commits never wait for it.
///
/// With SQLite's automatic checkpoints, the commit that crossed 1,000 WAL pages copied them into the
/// database file and synced it before returning, and every request of that group (and the groups queued
/// behind it) waited: on this machine's shared disk such a commit sometimes took 50-480 ms, which was the
/// cause of the benchmark's rare p99 stalls. Here a separate read-write connection runs a PASSIVE checkpoint
/// every `interval`: PASSIVE copies what it can without waiting for the writer or readers, and the writer
/// does not wait for it. The writer's automatic checkpoint stays on at `AuditStore.writerAutocheckpointPages`
/// as a bound on the WAL should this thread fall behind. Checkpoints do not change what is durable: a
/// commit is durable once its WAL frames are synced.
final class WALCheckpointer: @unchecked Sendable {
    // @unchecked: `handle` is used only by the checkpointer's thread, which closes it when it stops;
    // the counters are guarded by `lock`.
    private let handle: OpaquePointer
    private let interval: TimeInterval
    private let stopSignal = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false
    private var last: (logFrames: Int, checkpointed: Int) = (0, 0)

    /// Opens a connection to the log at `path` and starts the thread.
    /// - Throws: `AuditError.storage` when the connection cannot be opened.
    init(path: String, interval: TimeInterval = 0.25) throws(AuditError) {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            sqlite3_close_v2(handle)
            throw .storage("cannot open \(path) for checkpoints (SQLite code \(rc))")
        }
        // A checkpoint syncs the WAL before copying it and the database file after (FULL, as the writer).
        sqlite3_exec(handle, "PRAGMA synchronous = FULL", nil, nil, nil)
        sqlite3_busy_timeout(handle, 1_000)
        self.handle = handle
        self.interval = interval
        let thread = Thread { [self] in run() }
        thread.name = "shanyrak-audit-checkpoint"
        thread.start()
    }

    /// What the last successful pass found: frames in the WAL, and how many of them are in the database file.
    var lastPass: (logFrames: Int, checkpointed: Int) {
        lock.withLock { last }
    }

    /// Stops the thread after its current checkpoint, and waits for it. Safe to call more than once.
    func stop() {
        let first = lock.withLock {
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        stopSignal.signal()
        stopped.wait()
    }

    private func run() {
        defer { stopped.signal() }
        while stopSignal.wait(timeout: .now() + interval) == .timedOut {
            checkpoint()
        }
        // One last pass, so that a log closed cleanly leaves little in its WAL. The connection closes here,
        // before `stop()` returns, so that a closed log's file is not touched by this thread afterwards.
        checkpoint()
        sqlite3_close_v2(handle)
    }

    private func checkpoint() {
        var logFrames: Int32 = 0
        var copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(handle, "main", SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copied)
        // SQLITE_BUSY and the like: nothing is lost, the next pass (or the writer's bound) tries again.
        guard rc == SQLITE_OK else { return }
        lock.withLock { last = (Int(logFrames), Int(copied)) }
    }
}
