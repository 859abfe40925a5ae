public import Foundation
internal import GRDB
public import ShanyrakCrypto

/// Rotating the master key: every active data key is rewrapped under a new master key. Values,
/// pseudonyms, the audit log and the other key files are untouched (the design: "rotating the
/// master key rewraps data keys only"); retired data keys are already erased.
///
/// The key file and the registry cannot change in one atomic step, so the rotation is ordered to
/// be recoverable:
/// 1. the new key is written to `master.key.next` (mode 0600, synced);
/// 2. every active data key is rewrapped in one registry transaction;
/// 3. `master.key.next` replaces `master.key` (one `rename`, then the folder is synced).
///
/// A rotation interrupted between steps leaves `master.key.next` behind. `recover`, which every
/// command runs before it uses the keys, then checks which key the registry's data keys open
/// with: the current one means step 2 never committed, and the unused new key is removed; the new
/// one means only step 3 was missing, and it is done. Nothing is ever left that opens with neither.
public enum MasterKeyRotation {
    /// The new master key's file while a rotation is in progress.
    public static let pendingFileName = "master.key.next"

    /// What `recover` found.
    public enum Outcome: Sendable, Equatable {
        /// No rotation was pending.
        case nothingPending
        /// The registry already used the new key: the rotation was finished.
        case finished
        /// The registry still used the old key: the new key was removed.
        case abandoned
    }

    /// Rotates the master key of `keysDirectory` and rewraps the registry's active data keys under it.
    /// - Parameters:
    ///   - registry: the registry whose data keys are rewrapped.
    ///   - keysDirectory: the folder holding `master.key`.
    ///   - keyring: the keyring loaded from that folder (its master key must open every active data key).
    ///   - environment: the process environment; a master key given by `SHANYRAK_MASTER_KEY` is refused.
    /// - Returns: the new keyring and how many data keys were rewrapped.
    /// - Throws: `StoreError` naming what is wrong; `master.key` and the registry are then as they were.
    public static func rotate(
        registry: Registry, keysDirectory: URL, keyring: Keyring,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (keyring: Keyring, rewrapped: Int) {
        guard environment["SHANYRAK_MASTER_KEY"] == nil else {
            throw StoreError(
                message: "the master key comes from SHANYRAK_MASTER_KEY, not from a file this command could replace; "
                    + "unset it to rotate the key in \(keysDirectory.path)")
        }
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
        // The current key must open everything before anything changes.
        _ = try DataKeys.load(from: registry, keyring: keyring)
        let next = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: keyring.pseudonymKey,
            auditSigning: keyring.auditSigning)
        do {
            try KeyFile.writeSecret(next.master, to: pending)  // step 1
        } catch {
            throw StoreError(message: "cannot write \(pending.path): \(error)")
        }
        let rewrapped: Int
        do {
            rewrapped = try registry.rewrapDataKeys(from: keyring, to: next)  // step 2
        } catch {
            try? removeAndSync(pending)
            throw error
        }
        do {
            try replace(current, with: pending)  // step 3
        } catch let error as StoreError {
            throw StoreError(
                message: "\(error.message); the registry already uses the new key in \(pending.path), "
                    + "and the next command on the data folder finishes the rotation")
        }
        return (next, rewrapped)
    }

    /// Settles a rotation that was interrupted (see the type's description); does nothing when none is pending.
    /// - Returns: the keyring to use from now on, and what was found.
    /// - Throws: `StoreError` when neither key opens the registry's data keys (nothing is changed then).
    public static func recover(registry: Registry, keysDirectory: URL, keyring: Keyring) throws
        -> (keyring: Keyring, outcome: Outcome)
    {
        let pending = keysDirectory.appendingPathComponent(pendingFileName)
        guard FileManager.default.fileExists(atPath: pending.path) else { return (keyring, .nothingPending) }
        if (try? DataKeys.load(from: registry, keyring: keyring)) != nil {
            // Step 2 never committed (the new key file may even be incomplete): drop the new key.
            try removeAndSync(pending)
            return (keyring, .abandoned)
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
        try replace(keysDirectory.appendingPathComponent(Keyring.FileName.master), with: pending)
        return (next, .finished)
    }

    /// Renames `source` over `target` and syncs the folder, so that the rename survives a crash.
    private static func replace(_ target: URL, with source: URL) throws {
        guard rename(source.path, target.path) == 0 else {
            throw StoreError(message: "cannot move \(source.path) to \(target.path) (errno \(errno))")
        }
        try syncFolder(of: target)
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
    /// - Returns: how many keys were rewrapped.
    /// - Throws: `StoreError` when a key does not open with `old`'s master key; nothing is changed then.
    func rewrapDataKeys(from old: Keyring, to new: Keyring) throws -> Int {
        try writer.write { db in
            let rows = try Row.fetchAll(db, sql: "SELECT class, version, wrapped FROM data_key WHERE state = 'active'")
            for row in rows {
                let (cls, version, key) = try DataKeys.unwrap(row, keyring: old)
                try db.execute(
                    sql: "UPDATE data_key SET wrapped = ? WHERE class = ? AND version = ?",
                    arguments: [Data(try new.wrapDataKey(key, className: cls, version: version)), cls, Int64(version)])
            }
            return rows.count
        }
    }
}
