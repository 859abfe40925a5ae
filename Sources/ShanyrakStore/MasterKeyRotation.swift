public import Foundation
internal import GRDB
public import ShanyrakCrypto

/// Rotating the master key: every active data key is rewrapped under a new master key. Values,
/// pseudonyms, the audit log and the other key files are untouched (the design: "rotating the
/// master key rewraps data keys only"); retired data keys are already erased.
///
/// The key file and the registry cannot change in one atomic step, so the rotation is ordered to
/// be recoverable:
/// 1. the new key is written to `master.key.next` (mode 0600, synced), and the folder is synced
///    so that the file's name is durable before anything depends on it;
/// 2. every active data key is rewrapped in one registry transaction, which checks, just before it
///    commits, that `master.key.next` still holds the new key;
/// 3. `master.key.next` replaces `master.key` (one `rename`, then the folder is synced).
///
/// The rotation holds the key folder's `MasterKeyLock` from before step 1 until after step 3, and so
/// does `recover`, which every command runs before it uses the keys: a command that starts during a
/// rotation waits for it, instead of taking the new key file for the leftover of an interrupted one.
///
/// A rotation interrupted between steps leaves `master.key.next` behind. `recover` then checks
/// which key the registry's data keys open with: the current one means step 2 never committed, and
/// the unused new key is moved aside to `master.key.next.unused-<time>` (never deleted); the new one
/// means only step 3 was missing, and it is done. Nothing is ever left that opens with neither.
public enum MasterKeyRotation {
    /// The new master key's file while a rotation is in progress.
    public static let pendingFileName = "master.key.next"
    /// The start of the name an unused new key is moved aside to (followed by a UTC time).
    public static let setAsideFilePrefix = "master.key.next.unused-"

    /// What `recover` found.
    public enum Outcome: Sendable, Equatable {
        /// No rotation was pending.
        case nothingPending
        /// The registry already used the new key: the rotation was finished.
        case finished
        /// The registry still used the old key: the new key, which opens nothing in this registry,
        /// was moved aside to the file given.
        case abandoned(movedTo: URL)

        /// What to tell the operator about it, nil when nothing was pending.
        public var message: String? {
            switch self {
            case .nothingPending: nil
            case .finished: "finished an interrupted master-key rotation"
            case .abandoned(let movedTo):
                "an interrupted master-key rotation had changed nothing; its unused new key was moved to "
                    + "\(movedTo.path) (the registry does not use it; delete it once you have checked that no other "
                    + "data folder uses this key folder)"
            }
        }
    }

    /// A step of a rotation, reported to tests as it is done.
    enum Step: Equatable {
        /// Step 1: the new key's file is written and synced.
        case pendingWritten
        /// The folder at this path was synced (after step 1 and inside step 3).
        case folderSynced(String)
        /// Step 2: the registry's transaction committed.
        case rewrapped
        /// Step 3: the new key replaced the old one.
        case renamed
    }

    /// Rotates the master key of `keysDirectory` and rewraps the registry's active data keys under it.
    /// - Parameters:
    ///   - registry: the registry whose data keys are rewrapped.
    ///   - keysDirectory: the folder holding `master.key`.
    ///   - keyring: the keyring loaded from that folder (its master key must open every active data key).
    ///   - environment: keys given in environment variables; a master key given by `SHANYRAK_MASTER_KEY` is refused.
    ///   - lockTimeout: seconds to wait for the key folder's lock.
    /// - Returns: the new keyring and how many data keys were rewrapped.
    /// - Throws: `StoreError` naming what is wrong; `master.key` and the registry are then as they were.
    public static func rotate(
        registry: Registry, keysDirectory: URL, keyring: Keyring,
        environment: EnvironmentSecrets = .process,
        lockTimeout: TimeInterval = MasterKeyLock.defaultTimeout
    ) throws -> (keyring: Keyring, rewrapped: Int) {
        try rotate(
            registry: registry, keysDirectory: keysDirectory, keyring: keyring, environment: environment,
            lockTimeout: lockTimeout, observe: { _ in })
    }

    /// `rotate`, reporting each step to `observe` as it is done (tests use it to see the order of the
    /// steps and to act between them).
    static func rotate(
        registry: Registry, keysDirectory: URL, keyring: Keyring, environment: EnvironmentSecrets,
        lockTimeout: TimeInterval, observe: (Step) throws -> Void
    ) throws -> (keyring: Keyring, rewrapped: Int) {
        guard !environment.contains(EnvironmentSecrets.masterKey) else {
            throw StoreError(
                message: "the master key comes from SHANYRAK_MASTER_KEY, not from a file this command could replace; "
                    + "unset it to rotate the key in \(keysDirectory.path)")
        }
        guard
            let lock = try MasterKeyLock.acquire(
                keysDirectory: keysDirectory, purpose: "master-key rotation", timeout: lockTimeout)
        else {
            throw StoreError(
                message: "cannot create \(MasterKeyLock.fileName) in \(keysDirectory.path): "
                    + "the key folder must be writable to rotate its master key")
        }
        defer { lock.release() }
        let current = keysDirectory.appendingPathComponent(Keyring.FileName.master)
        let pending = keysDirectory.appendingPathComponent(pendingFileName)
        guard FileManager.default.fileExists(atPath: current.path) else {
            throw StoreError(message: "no \(Keyring.FileName.master) in \(keysDirectory.path)")
        }
        guard !FileManager.default.fileExists(atPath: pending.path) else {
            throw StoreError(
                message:
                    "\(pending.path) exists: an earlier rotation was interrupted; run any command on the data folder to settle it first"
            )
        }
        // The current key must open everything before anything changes (under the lock: a rotation
        // that finished while this one waited has left a key this keyring does not hold).
        do {
            _ = try DataKeys.load(from: registry, keyring: keyring)
        } catch {
            throw StoreError(
                message: "\(error); if a master-key rotation finished since this command loaded the key, run it again")
        }
        let next = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: keyring.pseudonymKey,
            auditSigning: keyring.auditSigning)
        do {
            try KeyFile.writeSecret(next.master, to: pending)  // step 1
        } catch {
            throw StoreError(message: "cannot write \(pending.path): \(error)")
        }
        do {
            try observe(.pendingWritten)
            try syncFolder(of: pending)  // the new file's name is durable before the registry depends on it
            try observe(.folderSynced(keysDirectory.path))
        } catch {
            try? removeAndSync(pending)
            throw error
        }
        let rewrapped: Int
        do {
            rewrapped = try registry.rewrapDataKeys(from: keyring, to: next, confirmingKeyFile: pending)  // step 2
        } catch {
            // The transaction rolled back: remove the new key, but only when it is certainly ours and unused.
            if (try? DataKeys.load(from: registry, keyring: keyring)) != nil,
                (try? KeyFile.readSecret(pending, length: 32)) == next.master
            {
                try? removeAndSync(pending)
            }
            throw error
        }
        try observe(.rewrapped)
        do {
            try replace(current, with: pending, observe: observe)  // step 3
        } catch let error as StoreError {
            throw StoreError(
                message: "\(error.message); the registry already uses the new key in \(pending.path), "
                    + "and the next command on the data folder finishes the rotation")
        }
        try observe(.renamed)
        return (next, rewrapped)
    }

    /// Loads the keyring of `keysDirectory` and settles an interrupted rotation, both under the key
    /// folder's lock, so that a command started during a rotation waits for it and then uses the key
    /// the rotation left.
    /// - Parameters:
    ///   - registry: the registry whose data keys the master key wraps.
    ///   - keysDirectory: the key folder.
    ///   - environment: keys given in environment variables (they take precedence over the files).
    ///   - lockTimeout: seconds to wait for the key folder's lock.
    /// - Returns: the keyring to use and what was found.
    /// - Throws: `CryptoError` for a key file that cannot be used, `StoreError` as `recover` does.
    public static func loadKeyring(
        registry: Registry, keysDirectory: URL, environment: EnvironmentSecrets = .process,
        lockTimeout: TimeInterval = MasterKeyLock.defaultTimeout
    ) throws -> (keyring: Keyring, outcome: Outcome) {
        try withKeyring(
            registry: registry, keysDirectory: keysDirectory, environment: environment, lockTimeout: lockTimeout,
            purpose: "checking for an interrupted master-key rotation", { $0 })
    }

    /// `loadKeyring`, with `body` run on the keyring before the key folder's lock is released: a server
    /// reloading its data keys unwraps them with a master key that no rotation can replace meanwhile.
    /// - Parameters:
    ///   - purpose: what the lock is taken for, named to whoever waits for it.
    ///   - body: what to do with the keyring to use, under the lock.
    /// - Returns: what `body` returned, and what was found.
    /// - Throws: as `loadKeyring` does, and what `body` throws.
    public static func withKeyring<T>(
        registry: Registry, keysDirectory: URL, environment: EnvironmentSecrets = .process,
        lockTimeout: TimeInterval = MasterKeyLock.defaultTimeout, purpose: String, _ body: (Keyring) throws -> T
    ) throws -> (T, outcome: Outcome) {
        try MasterKeyLock.withLock(keysDirectory: keysDirectory, purpose: purpose, timeout: lockTimeout) {
            let keyring = try Keyring.load(from: keysDirectory, environment: environment)
            let (recovered, outcome) = try recoverLocked(
                registry: registry, keysDirectory: keysDirectory, keyring: keyring)
            return (try body(recovered), outcome)
        }
    }

    /// Settles a rotation that was interrupted (see the type's description); does nothing when none is
    /// pending. Holds the key folder's lock while it looks, so a rotation in progress is waited for,
    /// never settled from outside.
    /// - Parameter lockTimeout: seconds to wait for the key folder's lock.
    /// - Returns: the keyring to use from now on, and what was found.
    /// - Throws: `StoreError` when neither key opens the registry's data keys (nothing is changed then),
    ///   or when the lock stays taken for `lockTimeout` seconds.
    public static func recover(
        registry: Registry, keysDirectory: URL, keyring: Keyring,
        lockTimeout: TimeInterval = MasterKeyLock.defaultTimeout
    ) throws -> (keyring: Keyring, outcome: Outcome) {
        try locked(keysDirectory: keysDirectory, timeout: lockTimeout) {
            try recoverLocked(registry: registry, keysDirectory: keysDirectory, keyring: keyring)
        }
    }

    /// Runs `body` under the key folder's lock. A read-only folder without a lock file cannot be
    /// changed by anyone, so `body` runs without the lock there.
    private static func locked<T>(keysDirectory: URL, timeout: TimeInterval, _ body: () throws -> T) throws -> T {
        try MasterKeyLock.withLock(
            keysDirectory: keysDirectory, purpose: "checking for an interrupted master-key rotation", timeout: timeout,
            body)
    }

    /// `recover` for a caller that holds the key folder's lock already.
    private static func recoverLocked(registry: Registry, keysDirectory: URL, keyring: Keyring) throws
        -> (keyring: Keyring, outcome: Outcome)
    {
        let pending = keysDirectory.appendingPathComponent(pendingFileName)
        guard FileManager.default.fileExists(atPath: pending.path) else { return (keyring, .nothingPending) }
        if (try? DataKeys.load(from: registry, keyring: keyring)) != nil {
            // Step 2 never committed (the new key file may even be incomplete). The key is not
            // deleted: if this judgement were ever wrong, deleting it would lose every data key.
            return (keyring, .abandoned(movedTo: try setAside(pending)))
        }
        let next: Keyring
        do {
            next = Keyring(
                master: try KeyFile.readSecret(pending, length: 32), pseudonymKey: keyring.pseudonymKey,
                auditSigning: keyring.auditSigning)
        } catch {
            throw StoreError(
                message:
                    "the registry's data keys open with neither \(Keyring.FileName.master) nor \(pending.path) (\(error))"
            )
        }
        guard (try? DataKeys.load(from: registry, keyring: next)) != nil else {
            throw StoreError(
                message: "the registry's data keys open with neither \(Keyring.FileName.master) nor \(pending.path)")
        }
        try replace(keysDirectory.appendingPathComponent(Keyring.FileName.master), with: pending, observe: { _ in })
        return (next, .finished)
    }

    /// Moves an unused new key to `master.key.next.unused-<UTC time>` (a name not taken yet) and syncs
    /// the folder.
    /// - Returns: where it is now.
    private static func setAside(_ pending: URL) throws -> URL {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let stem = setAsideFilePrefix + formatter.string(from: Date())
        let folder = pending.deletingLastPathComponent()
        var target = folder.appendingPathComponent(stem)
        var n = 1
        while FileManager.default.fileExists(atPath: target.path) {  // under the lock: nobody else names files here
            n += 1
            target = folder.appendingPathComponent("\(stem)-\(n)")
        }
        try replace(target, with: pending, observe: { _ in })
        return target
    }

    /// Renames `source` over `target` and syncs the folder, so that the rename survives a crash.
    private static func replace(_ target: URL, with source: URL, observe: (Step) throws -> Void) throws {
        guard rename(source.path, target.path) == 0 else {
            throw StoreError(message: "cannot move \(source.path) to \(target.path) (errno \(errno))")
        }
        try syncFolder(of: target)
        try observe(.folderSynced(target.deletingLastPathComponent().path))
    }

    private static func removeAndSync(_ file: URL) throws {
        guard unlink(file.path) == 0 else { throw StoreError(message: "cannot remove \(file.path) (errno \(errno))") }
        try syncFolder(of: file)
    }

    private static func syncFolder(of file: URL) throws {
        let fd = open(file.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw StoreError(message: "cannot open \(file.deletingLastPathComponent().path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StoreError(message: "cannot sync \(file.deletingLastPathComponent().path)") }
    }
}

extension Registry {
    /// Rewraps every active data key from `old`'s master key to `new`'s, in one transaction.
    /// - Parameter keyFile: when given, the transaction checks, after the updates and before it
    ///   commits (so under the registry's write lock), that this file exists and holds `new`'s
    ///   master key: the registry never commits to a key that is not on disk.
    /// - Returns: how many keys were rewrapped.
    /// - Throws: `StoreError` when a key does not open with `old`'s master key or `keyFile` does not
    ///   hold the new key; nothing is changed then.
    func rewrapDataKeys(from old: Keyring, to new: Keyring, confirmingKeyFile keyFile: URL? = nil) throws -> Int {
        try writer.write { db in
            // The keys stay bound to the registry's sealed-format floor under the new master key.
            let floor = try Self.sealedFormatFloor(db)
            let rewrapped = try Self.rewrapActiveDataKeys(db, from: old, floor: floor, to: new, floor: floor)
            if let keyFile {
                let onDisk: SecureBytes
                do {
                    onDisk = try KeyFile.readSecret(keyFile, length: 32)
                } catch {
                    throw StoreError(
                        message: "\(keyFile.path) no longer holds the new master key (\(error)); "
                            + "nothing was rewrapped and \(Keyring.FileName.master) still opens the registry")
                }
                guard onDisk == new.master else {
                    throw StoreError(
                        message: "\(keyFile.path) holds another key than the one this rotation wrote; "
                            + "nothing was rewrapped and \(Keyring.FileName.master) still opens the registry")
                }
            }
            return rewrapped
        }
    }
}
