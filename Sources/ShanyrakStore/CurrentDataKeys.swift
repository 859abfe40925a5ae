internal import Dispatch
public import Foundation
internal import GRDB
public import ShanyrakCrypto

/// The data keys a long-running process uses (the server's access path and ingester share one), loaded
/// again when the registry's data keys change, so that a `keys rotate`, `keys rewrap` and `keys retire`
/// need no restart.
///
/// A reader takes `current` when its work begins and keeps that set to the end, so a request in flight
/// never sees its keys change. When the set it holds lacks a key the registry needs (a value sealed under a
/// version it never loaded, a batch refused with `StoreError.dataKeysRotated`), it asks for
/// `reload(replacing:)` and tries once more with what comes back
/// (`retryingAfterReload(when:_:)` and `retryingAfterReloadSynchronously(when:_:)` do both).
///
/// A reload first compares the registry's active (class, version) pairs and its sealed-format floor
/// (`SealedFormatFloor`) with the loaded ones (a handful of rows, no key material); a raised floor alone is
/// taken in with the keys in hand, and only when the versions differ does it load the keys anew, with the
/// `load` closure given at creation (for a server: under the key folder's `MasterKeyLock`, see
/// `init(_:registry:keysDirectory:lockTimeout:report:)`). Reloads run one at a time on a queue of their own, never on the caller's thread
/// for an `async` caller; callers that ask while a reload runs share the next one, so many requests that
/// need new keys at once cause one reload. A reload that fails leaves the loaded set in use and is reported
/// (without any key material). The keys of a replaced set are wiped (`SecureBytes` frees them with
/// `sodium_free`) when the last request that holds the set finishes.
///
/// `@unchecked Sendable`: `state` and `timer` are only touched while holding `lock`; everything else is
/// immutable.
public final class CurrentDataKeys: @unchecked Sendable {
    /// One loaded set of data keys.
    public struct Loaded: Sendable {
        /// The keys.
        public let keys: DataKeys
        /// 0 for the set the holder was made with, one more for each reload that changed the keys.
        public let generation: Int
        /// The active keys of each class by version, in the order of `DataKeys.allClasses` (see
        /// `classIndex(of:)`): for a reader that opens many values and finds a class by its position.
        public let keysByClass: [[UInt32: SecureBytes]]
        /// The lowest sealed-value format the registry accepted when the set was loaded
        /// (`DataKeys.sealedFormatFloor`): a reader refuses a stored value whose first byte is below it.
        public var sealedFormatFloor: UInt8 { keys.sealedFormatFloor }
        /// The active (class, version) pairs of `keys`.
        let versions: Set<KeyVersion>

        init(keys: DataKeys, generation: Int) {
            self.keys = keys
            self.generation = generation
            keysByClass = DataKeys.allClasses.map { keys.versions(of: $0) }
            var versions = Set<KeyVersion>()
            for (cls, byVersion) in zip(DataKeys.allClasses, keysByClass) {
                for version in byVersion.keys { versions.insert(KeyVersion(keyClass: cls, version: version)) }
            }
            self.versions = versions
        }

        /// The position of `className` in `DataKeys.allClasses` (and so in `keysByClass`), if it is a class.
        public static func classIndex(of className: String) -> Int? {
            DataKeys.allClasses.firstIndex(of: className)
        }
    }

    /// A data-key class and version.
    struct KeyVersion: Hashable, Comparable, CustomStringConvertible {
        let keyClass: String
        let version: UInt32

        static func < (a: KeyVersion, b: KeyVersion) -> Bool { (a.keyClass, a.version) < (b.keyClass, b.version) }

        var description: String { "\(keyClass) v\(version)" }
    }

    private struct State {
        var loaded: Loaded
        /// Reload attempts started so far (each attempt runs to its end before the next starts).
        var attempts: UInt64 = 0
    }

    private let lock = NSLock()
    private var state: State
    private var timer: (any DispatchSourceTimer)?
    private let registry: Registry?
    private let load: (@Sendable () throws -> DataKeys)?
    private let report: @Sendable (_ message: String, _ isFailure: Bool) -> Void
    private let queue = DispatchQueue(label: "shanyrak.data-keys.reload", qos: .userInitiated)

    /// A set that is never reloaded (a command that runs once, tests): `reload(replacing:)` returns it.
    /// - Parameter keys: the keys.
    public init(_ keys: DataKeys) {
        state = State(loaded: Loaded(keys: keys, generation: 0))
        registry = nil
        load = nil
        report = { _, _ in }
    }

    /// A set that is loaded again with `load` when the registry's active data-key versions differ from it.
    /// - Parameters:
    ///   - keys: the keys loaded now.
    ///   - registry: the registry whose `data_key` table is compared with the loaded versions.
    ///   - load: loads the registry's data keys (it may wait, for the key folder's lock).
    ///   - report: told of each reload that changed the keys and of each failed one, with a message that
    ///     names classes, versions and files, never key material; `isFailure` for a failure.
    public init(
        _ keys: DataKeys, registry: Registry, load: @escaping @Sendable () throws -> DataKeys,
        report: @escaping @Sendable (_ message: String, _ isFailure: Bool) -> Void = { _, _ in }
    ) {
        state = State(loaded: Loaded(keys: keys, generation: 0))
        self.registry = registry
        self.load = load
        self.report = report
    }

    deinit {
        timer?.cancel()
    }

    /// The set to use for work that begins now.
    public var current: Loaded {
        lock.withLock { state.loaded }
    }

    /// `reload(replacing:)` for a caller that may wait on its thread (one of its own, such as the ingest
    /// thread; never a thread of Swift's cooperative pool).
    /// - Parameter used: the set the caller worked with and found stale.
    /// - Returns: the set to use now: a newer one, or the same one when the keys did not change or could
    ///   not be loaded (then the caller fails as it would have).
    public func reloadSynchronously(replacing used: Loaded) -> Loaded {
        guard let ticket = ticket(replacing: used) else { return current }
        return queue.sync { attempt(unlessStartedAfter: ticket) }
    }

    /// Loads the keys again if the registry's have changed since `used` was loaded. The caller's task is
    /// suspended, not its thread: the reload runs on the holder's queue. Callers that ask while a reload
    /// runs share the next one.
    /// - Parameter used: the set the caller worked with and found stale.
    /// - Returns: the set to use now: a newer one, or the same one when the keys did not change or could
    ///   not be loaded (then the caller fails as it would have).
    public func reload(replacing used: Loaded) async -> Loaded {
        guard let ticket = ticket(replacing: used) else { return current }
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.attempt(unlessStartedAfter: ticket)) }
        }
    }

    /// Runs `body` with the set to use now; when it fails with an error that `isStale` takes for a sign of
    /// keys changed since the set was loaded, loads the keys anew (`reloadSynchronously(replacing:)`: this
    /// thread waits, so call it from a thread of the caller's own, never from Swift's cooperative pool) and
    /// runs `body` once more, from its start, with the new set.
    /// - Parameters:
    ///   - isStale: whether an error `body` threw means that the set it used is stale.
    ///   - body: the work; it may run twice, and must then start afresh.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws: its first error when no newer set could be loaded, otherwise what the
    ///   second run throws.
    public func retryingAfterReloadSynchronously<T>(
        when isStale: (any Error) -> Bool, _ body: (Loaded) throws -> T
    ) throws -> T {
        let loaded = current
        do {
            return try body(loaded)
        } catch let error where isStale(error) {
            let reloaded = reloadSynchronously(replacing: loaded)
            guard reloaded.generation != loaded.generation else { throw error }
            return try body(reloaded)
        }
    }

    /// `retryingAfterReloadSynchronously(when:_:)` for an `async` caller: the reload runs on the holder's
    /// queue (`reload(replacing:)`), shared with the callers that need one at the same moment, and the
    /// caller's task is suspended, not its thread.
    /// - Parameters:
    ///   - isStale: whether an error `body` threw means that the set it used is stale.
    ///   - body: the work; it may run twice, and must then start afresh.
    /// - Returns: what `body` returns.
    /// - Throws: what `body` throws: its first error when no newer set could be loaded, otherwise what the
    ///   second run throws.
    public func retryingAfterReload<T>(when isStale: (any Error) -> Bool, _ body: (Loaded) throws -> T)
        async throws -> T
    {
        let loaded = current
        do {
            return try body(loaded)
        } catch let error where isStale(error) {
            let reloaded = await reload(replacing: loaded)
            guard reloaded.generation != loaded.generation else { throw error }
            return try body(reloaded)
        }
    }

    /// Compares the registry's data-key versions with the loaded ones now, and reloads when they differ;
    /// waits on this thread, as `reloadSynchronously(replacing:)` does.
    /// - Returns: the set to use now.
    @discardableResult
    public func checkNow() -> Loaded {
        queue.sync { attempt(unlessStartedAfter: nil) }
    }

    /// Starts comparing the registry's data-key versions with the loaded ones every `interval` (a small
    /// read; the keys are loaded only when the versions differ), so that a retired key leaves memory and
    /// new versions are used for writing without waiting for a request to need them. Does nothing on a
    /// set that is never reloaded, or when the check runs already.
    /// - Parameter interval: the time between two checks.
    public func checkPeriodically(every interval: Duration) {
        guard load != nil else { return }
        let (seconds, attoseconds) = interval.components
        let nanoseconds = max(1_000_000, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        lock.withLock {
            guard timer == nil else { return }
            let source = DispatchSource.makeTimerSource(queue: queue)
            source.schedule(
                deadline: .now() + .nanoseconds(nanoseconds), repeating: .nanoseconds(nanoseconds),
                leeway: .nanoseconds(nanoseconds / 10))
            source.setEventHandler { [weak self] in _ = self?.attempt(unlessStartedAfter: nil) }
            source.resume()
            timer = source
        }
    }

    /// The number of attempts started before the caller found `used` stale, or nil when a newer set is
    /// loaded already (the caller uses it) or the set is never reloaded.
    private func ticket(replacing used: Loaded) -> UInt64? {
        guard load != nil else { return nil }
        return lock.withLock { state.loaded.generation == used.generation ? state.attempts : nil }
    }

    /// One reload attempt, on `queue`. With a ticket: none when an attempt started after the ticket was
    /// taken has run already (its outcome serves, whatever it was).
    private func attempt(unlessStartedAfter ticket: UInt64?) -> Loaded {
        dispatchPrecondition(condition: .onQueue(queue))
        let loaded: Loaded? = lock.withLock {
            if let ticket, state.attempts > ticket { return nil }
            state.attempts += 1
            return state.loaded
        }
        guard let loaded else { return current }
        guard let registry, let load else { return loaded }
        do {
            let (active, registryFloor) = try registry.activeDataKeyVersions()
            let floor = keptFloor(registryFloor, loaded: loaded.sealedFormatFloor)
            guard active != loaded.versions else {
                guard floor != loaded.sealedFormatFloor else { return loaded }
                // Only the floor changed (a `keys rewrap` found no value left in an older format): the
                // keys stay, nothing is loaded from the key folder.
                let next = Loaded(
                    keys: loaded.keys.withSealedFormatFloor(floor), generation: loaded.generation + 1)
                lock.withLock { state.loaded = next }
                report("sealed-value formats below \(floor) are refused from now on", false)
                return next
            }
            let keys = try load()
            let next = Loaded(
                keys: keys.sealedFormatFloor < floor ? keys.withSealedFormatFloor(floor) : keys,
                generation: loaded.generation + 1)
            lock.withLock { state.loaded = next }
            let added = next.versions.subtracting(loaded.versions).sorted().map(\.description)
            let dropped = loaded.versions.subtracting(next.versions).sorted().map(\.description)
            report(
                "data keys reloaded: new \(added.isEmpty ? "none" : added.joined(separator: ", ")); "
                    + "no longer active \(dropped.isEmpty ? "none" : dropped.joined(separator: ", "))", false)
            return next
        } catch {
            report(
                "data keys could not be reloaded (\(Self.describe(error))); the keys loaded before stay in use",
                true)
            return loaded
        }
    }

    /// The floor to hold: the registry's, unless it is below the one loaded. No command lowers it, so a
    /// lower one means that the registry was edited or replaced under the running process, which then
    /// keeps refusing what it refused (and says so, as a failure, at each check).
    private func keptFloor(_ registryFloor: UInt8, loaded: UInt8) -> UInt8 {
        guard registryFloor < loaded else { return registryFloor }
        report(
            "the registry's sealed-format floor went down from \(loaded) to \(registryFloor), which no command "
                + "does (was the registry file edited or replaced?); sealed-value formats below \(loaded) stay "
                + "refused here", true)
        return loaded
    }

    /// An error's text for the report: the library's own errors say what failed without key material;
    /// anything else is named by its type only.
    private static func describe(_ error: any Error) -> String {
        if let error = error as? StoreError { return error.message }
        if let error = error as? CryptoError { return String(describing: error) }
        return "\(type(of: error))"
    }
}

extension CurrentDataKeys {
    /// A set for a server on a data folder: reloaded as the command line loads keys when it starts. Under
    /// the key folder's `MasterKeyLock` (so a master-key rotation in progress is waited for, up to
    /// `lockTimeout`), the keyring is read anew (`Keyring.load`, a master key from the environment first),
    /// a master-key rotation that was interrupted is settled as every command settles it
    /// (`MasterKeyRotation`; nothing is deleted), and the data keys are unwrapped, all before the lock is
    /// released.
    /// - Parameters:
    ///   - keys: the keys loaded when the server started.
    ///   - registry: the registry.
    ///   - keysDirectory: the key folder of the data folder.
    ///   - lockTimeout: seconds a reload waits for the key folder's lock before it fails.
    ///   - report: as for `init(_:registry:load:report:)`; also told when a reload settled an interrupted
    ///     master-key rotation.
    public convenience init(
        _ keys: DataKeys, registry: Registry, keysDirectory: URL,
        lockTimeout: TimeInterval = MasterKeyLock.defaultTimeout,
        report: @escaping @Sendable (_ message: String, _ isFailure: Bool) -> Void = { _, _ in }
    ) {
        self.init(
            keys, registry: registry,
            load: {
                let (keys, outcome) = try MasterKeyRotation.withKeyring(
                    registry: registry, keysDirectory: keysDirectory, lockTimeout: lockTimeout,
                    purpose: "reloading the data keys of a running server"
                ) { try DataKeys.load(from: registry, keyring: $0) }
                if let message = outcome.message { report(message, false) }
                return keys
            }, report: report)
    }
}

extension Registry {
    /// The active data-key versions (classes of `DataKeys.allClasses` only), without their keys, and the
    /// sealed-format floor, read together.
    /// - Throws: a database error.
    func activeDataKeyVersions() throws -> (versions: Set<CurrentDataKeys.KeyVersion>, sealedFormatFloor: UInt8) {
        let classes = Set(DataKeys.allClasses)
        return try writer.read { db in
            var versions = Set<CurrentDataKeys.KeyVersion>()
            for row in try Row.fetchAll(db, sql: "SELECT class, version FROM data_key WHERE state = 'active'") {
                let cls: String = row[0]
                if classes.contains(cls) {
                    versions.insert(CurrentDataKeys.KeyVersion(keyClass: cls, version: UInt32(row[1] as Int64)))
                }
            }
            return (versions, try Self.sealedFormatFloor(db))
        }
    }
}
