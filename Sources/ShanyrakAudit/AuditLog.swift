public import Foundation
internal import GRDB
import ShanyrakCore

/// What the log returns once an append is durable.
public struct AuditReceipt: Sendable, Hashable {
    /// The sequence number (Merkle leaf index) the log assigned.
    public let sequence: UInt64
    /// The time the log assigned, in microseconds since the Unix epoch.
    public let timeMicroseconds: Int64
    /// The leaf hash, SHA-256(0x00 || entry bytes).
    public let leafHash: [UInt8]
    /// The tree size once the entry's group was committed (at least `sequence + 1`).
    public let treeSize: UInt64
}

/// The append side of the verifiable audit log: a group-committing writer over `DIR/audit.sqlite`.
///
/// Concurrent `append` calls queue up while a commit is in flight; the next commit takes all of
/// them (up to `Configuration.maximumBatch`) in one SQLite transaction (WAL, `synchronous=FULL`),
/// and each caller resumes once its own group is on disk. The log assigns sequence numbers and
/// times. A group that cannot be committed fails every caller in it with `AuditError.notDurable`.
///
/// The access path releases data only through `recordThenRelease(_:release:)`.
public actor AuditLog {
    /// When checkpoints are issued, and how the writer behaves.
    public struct Configuration: Sendable {
        /// The checkpoint origin line; nil uses the signer's key name.
        public var origin: String?
        /// Issue a checkpoint once this many entries have been appended since the last one (nil: never by count).
        public var checkpointEveryEntries: UInt64?
        /// Issue a checkpoint when this much time has passed and entries were appended (nil: never by time).
        public var checkpointInterval: Duration?
        /// Most requests committed in one transaction.
        public var maximumBatch: Int
        /// How long a commit waits for a database lock before failing.
        public var busyTimeout: Duration
        /// Longest wait for the previous group's callers to return before the next commit starts.
        public var gatherWindow: Duration
        /// How often a thread of the log's own copies the WAL into the database file (`WALCheckpointer`), so
        /// that commits do not; nil leaves it to the writer's own checkpoints.
        public var walCheckpointInterval: Duration?

        /// Creates a configuration.
        /// - Parameters:
        ///   - origin: the checkpoint origin (default: the signer's key name).
        ///   - checkpointEveryEntries: entries between checkpoints (default 1,024).
        ///   - checkpointInterval: time between checkpoints (default 60 s).
        ///   - maximumBatch: largest group commit (default 4,096).
        ///   - busyTimeout: lock wait before a commit fails (default 5 s).
        ///   - gatherWindow: longest wait to regroup the previous group's callers (default 300 µs; zero disables).
        ///   - walCheckpointInterval: how often the WAL is checkpointed off the commit path (default 250 ms).
        public init(
            origin: String? = nil, checkpointEveryEntries: UInt64? = 1024, checkpointInterval: Duration? = .seconds(60),
            maximumBatch: Int = 4096, busyTimeout: Duration = .seconds(5), gatherWindow: Duration = .microseconds(300),
            walCheckpointInterval: Duration? = .milliseconds(250)
        ) {
            self.gatherWindow = gatherWindow
            self.walCheckpointInterval = walCheckpointInterval
            self.origin = origin
            self.checkpointEveryEntries = checkpointEveryEntries
            self.checkpointInterval = checkpointInterval
            self.maximumBatch = max(1, maximumBatch)
            self.busyTimeout = busyTimeout
        }
    }

    /// The file name of the log inside the data folder.
    public static let fileName = AuditStore.fileName

    private enum Request {
        case append(AuditEntryDraft, CheckedContinuation<AuditReceipt, any Error>)
        case checkpoint(CheckedContinuation<Checkpoint, any Error>?)
    }

    private let store: AuditStore
    private let signer: NoteSigner?
    private let configuration: Configuration
    private let origin: String?
    /// Read access to the same file: proofs, queries, export, verification.
    public nonisolated let reader: AuditLogReader

    private var state: AuditStore.State?
    private var queue: [Request] = []
    private var draining = false
    private var closed = false
    private var signerRecorded = false
    private var statistics = GroupCommitStatistics()
    private var timer: Task<Void, Never>?
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    /// Checkpoints the WAL on a thread of its own (nil when the configuration leaves it to the writer).
    nonisolated let checkpointer: WALCheckpointer?

    /// Opens (creating if needed) the log in `directory`.
    /// - Parameters:
    ///   - directory: the data folder; the log is `directory/audit.sqlite`.
    ///   - signer: the checkpoint key, or nil for a log that appends without issuing checkpoints.
    ///   - configuration: checkpoint policy and writer limits.
    /// - Throws: `AuditError.storage` when the file cannot be opened or its entries and tree disagree.
    public init(directory: URL, signer: NoteSigner?, configuration: Configuration = .init()) async throws(AuditError) {
        let store = try AuditStore(directory: directory, readOnly: false, busyTimeout: configuration.busyTimeout)
        self.store = store
        self.signer = signer
        self.configuration = configuration
        self.origin = configuration.origin ?? signer?.verifier.name
        self.reader = AuditLogReader(store: store)
        self.checkpointer = try configuration.walCheckpointInterval.map { (interval) throws(AuditError) in
            try WALCheckpointer(path: store.path, interval: interval.inSeconds)
        }
        self.state = try await store.loadState()
    }

    deinit {
        checkpointer?.stop()
    }

    /// Appends one entry and returns once it is durable.
    /// - Parameter draft: what happened; the log adds sequence number and time.
    /// - Returns: the receipt (sequence number, time, leaf hash).
    /// - Throws: `AuditError.notDurable` when the group commit failed, `AuditError.closed` after `close()`,
    ///   `AuditError.encoding` when the entry would be longer than `AuditEntryCodec.maximumEntryLength`
    ///   (nothing is written).
    public func append(_ draft: AuditEntryDraft) async throws(AuditError) -> AuditReceipt {
        guard !closed else { throw .closed }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                enqueue(.append(draft, continuation))
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .notDurable("\(error)")
        }
    }

    /// Records the entry, waits until it is durable, and only then runs `release`.
    ///
    /// This is the only way the access path releases data: if the append throws, `release` never runs.
    /// `release` runs in the caller's isolation, not on the log's actor, so releases never queue behind
    /// each other. An error thrown by `release` is passed on; the entry stays in the log (the access
    /// was attempted).
    /// - Parameters:
    ///   - draft: the entry describing the disclosure.
    ///   - isolation: the caller's actor (filled in automatically).
    ///   - release: the disclosure: builds and returns the response.
    /// - Returns: what `release` returns.
    /// - Throws: `AuditError` when the append failed (then nothing was released), or what `release` throws.
    public func recordThenRelease<T>(
        _ draft: AuditEntryDraft, isolation: isolated (any Actor)? = #isolation,
        release: () async throws -> T
    ) async throws -> T {
        _ = try await append(draft)
        return try await release()
    }

    /// Issues (signs and stores) a checkpoint of the log as it stands after every append queued before it.
    /// - Returns: the checkpoint; if one of this size by this key exists already, that one.
    /// - Throws: `AuditError.key` when the log has no signer, `AuditError.notDurable` when it cannot be stored.
    public func checkpoint() async throws(AuditError) -> Checkpoint {
        guard !closed else { throw .closed }
        guard signer != nil else { throw .key("this log was opened without a signing key") }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                enqueue(.checkpoint(continuation))
            }
        } catch let error as AuditError {
            throw error
        } catch {
            throw .notDurable("\(error)")
        }
    }

    /// The newest checkpoint, issuing a new one only when the log has grown since the last and the last
    /// is at least `minimumAge` old: what the public checkpoint endpoint serves, so that anyone polling it
    /// makes the log sign and store at most one checkpoint per `minimumAge`.
    /// - Parameter minimumAge: how old the last checkpoint must be before a new one is issued for a request.
    /// - Returns: the checkpoint (it may lag the log by up to `minimumAge`).
    /// - Throws: as `checkpoint()`.
    public func latestCheckpoint(issuingIfOlderThan minimumAge: Duration) async throws(AuditError) -> Checkpoint {
        guard !closed else { throw .closed }
        if let state, let last = state.lastCheckpoint, let signer,
            last.size == state.range.size || now() - last.time < microseconds(minimumAge),
            let stored = try? Checkpoint(verifying: last.note, verifiers: [signer.verifier]),
            stored.origin == origin
        {
            return stored
        }
        return try await checkpoint()
    }

    /// The number of durable entries.
    public var size: UInt64 { state?.range.size ?? 0 }

    /// The writer connection's automatic-checkpoint bound, in pages (for tests).
    func writerAutocheckpointPages() throws -> Int? {
        try store.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }
    }

    /// How the group commits have gone since the log was opened (for `/metrics`).
    public var groupCommitStatistics: GroupCommitStatistics { statistics }

    /// Finishes queued commits, stops the checkpoint timer and refuses further appends.
    public func close() async {
        closed = true
        timer?.cancel()
        timer = nil
        if draining {
            await withCheckedContinuation { drainWaiters.append($0) }
        }
        checkpointer?.stop()
    }

    // MARK: The writer

    private func enqueue(_ request: Request) {
        queue.append(request)
        if timer == nil, !closed, let interval = configuration.checkpointInterval, signer != nil {
            timer = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    guard let self else { return }  // the log is gone: stop
                    await self.checkpointIfDue()
                }
            }
        }
        if !draining {
            draining = true
            Task { await self.drain() }
        }
    }

    private func checkpointIfDue() {
        guard !closed, let state, let interval = configuration.checkpointInterval else { return }
        let last = state.lastCheckpoint
        guard state.range.size > (last?.size ?? 0) else { return }
        let elapsed = now() - (last?.time ?? Int64.min / 2)
        if elapsed >= microseconds(interval) { enqueue(.checkpoint(nil)) }
    }

    private func drain() async {
        var previousGroup = 0
        while !queue.isEmpty {
            // Callers of the group just committed usually append again at once. Starting the next commit with
            // the first few of them would split them over two fsyncs, so wait briefly (bounded by
            // `gatherWindow`) until as many requests as last time are queued.
            if previousGroup > queue.count, configuration.gatherWindow > .zero {
                let deadline = ContinuousClock.now + configuration.gatherWindow
                while previousGroup > queue.count, ContinuousClock.now < deadline { await Task.yield() }
            }
            let count = min(queue.count, configuration.maximumBatch)
            previousGroup = count
            let batch = Array(queue.prefix(count))
            queue.removeFirst(count)
            await commit(batch)
        }
        draining = false
        let waiters = drainWaiters
        drainWaiters = []
        for w in waiters { w.resume() }
    }

    private func commit(_ requests: [Request]) async {
        // Other processes on the same data folder (the command line: `users add`, `assign`, `keys rotate`)
        // append to the log too. The write checks, in its transaction, that the log is still as this
        // process last saw it; if not, the state is read again and the group built anew on top of it.
        var pending = requests
        for _ in 0..<Self.commitAttempts {
            var current: AuditStore.State
            do {
                if let state {
                    current = state
                } else {
                    current = try await store.loadState()
                    state = current
                }
            } catch {
                statistics.recordFailure()
                fail(pending, error)
                return
            }
            let expectedSize = current.range.size
            let group = build(&pending, on: &current)
            if !group.batch.entries.isEmpty || group.batch.checkpoint != nil || group.batch.signerVKey != nil {
                do {
                    let started = ContinuousClock.now
                    try await store.write(group.batch, expectedSize: expectedSize)
                    statistics.recordCommit(
                        entries: group.batch.entries.count, seconds: (ContinuousClock.now - started).inSeconds)
                } catch  where error == .grownElsewhere {
                    state = nil  // another process appended: build the group again on the log as it is
                    continue
                } catch {
                    statistics.recordFailure()
                    state = nil  // reload from disk before the next group
                    fail(pending, error)
                    return
                }
            }
            if group.batch.signerVKey != nil { signerRecorded = true }
            if let c = group.batch.checkpoint { current.lastCheckpoint = c }
            state = current
            let size = current.range.size
            for (continuation, sequence, t, leaf) in group.receipts {
                continuation.resume(
                    returning: AuditReceipt(sequence: sequence, timeMicroseconds: t, leafHash: leaf, treeSize: size))
            }
            for waiter in group.checkpointWaiters {
                if let issued = group.issued {
                    waiter.resume(returning: issued)
                } else {
                    waiter.resume(throwing: AuditError.key("this log was opened without a signing key"))
                }
            }
            return
        }
        statistics.recordFailure()
        fail(pending, AuditError.notDurable("other processes kept appending to the log; nothing was released"))
    }

    /// How often a group is built again because another process appended first.
    static let commitAttempts = 5

    /// One group commit, built on `current` (which it advances): the batch to write, and who to answer.
    private struct Group {
        var batch = AuditStore.Batch()
        var receipts: [(CheckedContinuation<AuditReceipt, any Error>, UInt64, Int64, [UInt8])] = []
        var checkpointWaiters: [CheckedContinuation<Checkpoint, any Error>] = []
        var issued: Checkpoint?
    }

    /// Builds the group of `requests` on `current`. An entry the reader would refuse is answered here with
    /// an error and removed from `requests`, so that a group built again does not answer it twice.
    private func build(_ requests: inout [Request], on current: inout AuditStore.State) -> Group {
        var group = Group()
        group.batch.firstNodePosition = NodeAddress.count(forSize: current.range.size)
        var checkpointRequested = false
        let time = max(now(), current.lastTime)
        var kept: [Request] = []
        kept.reserveCapacity(requests.count)
        for request in requests {
            switch request {
            case .append(let draft, let continuation):
                let sequence = current.range.size
                let entry = AuditEntry(sequence: sequence, timeMicroseconds: time, draft: draft)
                let bytes = AuditEntryCodec.encode(entry)
                // An entry the log's reader would refuse is not written: it would make the log unreadable from
                // there on. Only this append fails; the rest of the group goes on.
                guard bytes.count <= AuditEntryCodec.maximumEntryLength else {
                    continuation.resume(
                        throwing: AuditError.encoding(
                            "entry of \(bytes.count) bytes is longer than \(AuditEntryCodec.maximumEntryLength)"))
                    continue
                }
                let leaf = Merkle.leafHash(bytes)
                group.batch.entries.append((Int64(sequence), bytes))
                group.batch.nodes.append(contentsOf: current.range.append(leaf))
                group.receipts.append((continuation, sequence, time, leaf))
            case .checkpoint(let continuation):
                checkpointRequested = true
                if let continuation { group.checkpointWaiters.append(continuation) }
            }
            kept.append(request)
        }
        requests = kept
        if !group.batch.entries.isEmpty { current.lastTime = time }
        if let signer, let origin {
            let size = current.range.size
            let last = current.lastCheckpoint
            let dueByCount =
                configuration.checkpointEveryEntries.map { size - min(size, last?.size ?? 0) >= $0 } ?? false
            if checkpointRequested || dueByCount {
                if let last, last.size == size,
                    let existing = try? Checkpoint(verifying: last.note, verifiers: [signer.verifier]),
                    existing.origin == origin
                {
                    group.issued = existing
                } else {
                    let checkpoint = Checkpoint(
                        origin: origin, size: size, rootHash: current.range.rootHash, signer: signer)
                    group.batch.checkpoint = (size, time, checkpoint.note)
                    group.issued = checkpoint
                }
            }
            if !signerRecorded { group.batch.signerVKey = signer.verifier.vkey }
        }
        return group
    }

    private func fail(_ requests: [Request], _ error: any Error) {
        // Whatever stopped the group (a write that failed, a state that would not load), to its callers
        // it means one thing: the entry is not durable and nothing may be released.
        let failure: AuditError
        if let error = error as? AuditError, error.isNotDurable || error == .closed {
            failure = error
        } else {
            failure = .notDurable("\(error)")
        }
        for request in requests {
            switch request {
            case .append(_, let c): c.resume(throwing: failure)
            case .checkpoint(let c): c?.resume(throwing: failure)
            }
        }
    }
}

/// Microseconds since the Unix epoch, now.
func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded(.down)) }

/// A duration in whole microseconds.
func microseconds(_ d: Duration) -> Int64 {
    d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000
}
