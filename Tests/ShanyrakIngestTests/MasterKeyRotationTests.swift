import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import Testing

@testable import ShanyrakStore

#if canImport(Glibc)
    import Glibc
#endif

/// Master-key rotation rewraps the data keys only, and a rotation interrupted at any step is settled
/// so that the registry's keys always open with the key the folder then holds.
struct MasterKeyRotationTests {
    let persons = makePersons(4)

    /// The newest income values of the persons, opened with `keyring`'s data keys.
    func incomes(_ f: Fixture, _ keyring: Keyring) throws -> [String] {
        try f.newestValues(of: "economic.monthly_income", for: persons, keyring: keyring)
    }

    func loaded(_ f: Fixture) throws -> Keyring { try Keyring.load(from: f.keysDir, environment: [:]) }
    func masterFile(_ f: Fixture) -> URL { f.keysDir.appendingPathComponent(Keyring.FileName.master) }
    func pendingFile(_ f: Fixture) -> URL { f.keysDir.appendingPathComponent(MasterKeyRotation.pendingFileName) }

    func populated() throws -> Fixture {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest(
            "labour", ([labourHeader] + persons.map { labourRow($0.iin, income: "180000") }).joined(separator: "\n"))
        return f
    }

    @Test func rotationRewrapsEveryActiveDataKeyAndKeepsTheValues() throws {
        let f = try populated()
        let before = try incomes(f, f.keyring)
        #expect(before == Array(repeating: "180000", count: persons.count))
        let oldMaster = try Data(contentsOf: masterFile(f))

        let (next, rewrapped) = try MasterKeyRotation.rotate(
            registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:])

        #expect(rewrapped == DataKeys.allClasses.count)
        #expect(try Data(contentsOf: masterFile(f)) != oldMaster)
        #expect(!FileManager.default.fileExists(atPath: pendingFile(f).path))
        let mode = try FileManager.default.attributesOfItem(atPath: masterFile(f).path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // The folder now holds the new key; it opens everything, the old one nothing.
        #expect(try incomes(f, loaded(f)) == before)
        #expect(try incomes(f, next) == before)
        #expect(throws: StoreError.self) { try DataKeys.load(from: f.registry, keyring: f.keyring) }
        // Pseudonyms do not depend on the master key.
        #expect(
            try loaded(f).pseudonymKey.withUnsafeBytes(Array.init) == f.keyring.pseudonymKey.withUnsafeBytes(Array.init)
        )
    }

    @Test func aRotationInterruptedAfterTheRegistryCommittedIsFinished() throws {
        let f = try populated()
        let before = try incomes(f, f.keyring)
        // Steps 1 and 2 done, then the process died before the rename.
        let next = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: f.keyring.pseudonymKey,
            auditSigning: f.keyring.auditSigning)
        try KeyFile.writeSecret(next.master, to: pendingFile(f))
        _ = try f.registry.rewrapDataKeys(from: f.keyring, to: next)
        #expect(throws: StoreError.self) { try DataKeys.load(from: f.registry, keyring: loaded(f)) }

        let (keyring, outcome) = try MasterKeyRotation.recover(
            registry: f.registry, keysDirectory: f.keysDir, keyring: loaded(f))

        #expect(outcome == .finished)
        #expect(!FileManager.default.fileExists(atPath: pendingFile(f).path))
        #expect(try incomes(f, keyring) == before)
        #expect(try incomes(f, loaded(f)) == before)
        // Settled: nothing more to do.
        #expect(
            try MasterKeyRotation.recover(registry: f.registry, keysDirectory: f.keysDir, keyring: loaded(f)).outcome
                == .nothingPending)
    }

    @Test(arguments: [true, false])
    func aRotationInterruptedBeforeTheRegistryCommittedIsAbandoned(completeKeyFile: Bool) throws {
        let f = try populated()
        let oldMaster = try Data(contentsOf: masterFile(f))
        if completeKeyFile {
            try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pendingFile(f))
        } else {
            // The process died while writing the new key's file.
            try Data("c29tZQ".utf8).write(to: pendingFile(f))
        }
        let pendingBytes = try Data(contentsOf: pendingFile(f))

        let (keyring, outcome) = try MasterKeyRotation.recover(
            registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring)

        // The unused key is moved aside, never deleted.
        guard case .abandoned(let movedTo) = outcome else {
            Issue.record("expected the rotation to be abandoned, got \(outcome)")
            return
        }
        #expect(movedTo.deletingLastPathComponent().path == f.keysDir.path)
        #expect(movedTo.lastPathComponent.hasPrefix(MasterKeyRotation.setAsideFilePrefix))
        #expect(try Data(contentsOf: movedTo) == pendingBytes)
        #expect(!FileManager.default.fileExists(atPath: pendingFile(f).path))
        #expect(try Data(contentsOf: masterFile(f)) == oldMaster)
        #expect(try incomes(f, keyring) == Array(repeating: "180000", count: persons.count))
    }

    @Test func keysThatOpenWithNeitherKeyAreReportedAndNothingChanges() throws {
        let f = try populated()
        let elsewhere = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: f.keyring.pseudonymKey,
            auditSigning: f.keyring.auditSigning)
        _ = try f.registry.rewrapDataKeys(from: f.keyring, to: elsewhere)
        try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pendingFile(f))

        #expect(throws: StoreError.self) {
            try MasterKeyRotation.recover(registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring)
        }
        #expect(FileManager.default.fileExists(atPath: pendingFile(f).path))
        #expect(try incomes(f, elsewhere) == Array(repeating: "180000", count: persons.count))
    }

    @Test func rotationIsRefusedForAKeyFromTheEnvironmentOrWhileOneIsPending() throws {
        let f = try populated()
        let oldMaster = try Data(contentsOf: masterFile(f))
        #expect(throws: StoreError.self) {
            try MasterKeyRotation.rotate(
                registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring,
                environment: ["SHANYRAK_MASTER_KEY": "x"])
        }
        try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pendingFile(f))
        #expect(throws: StoreError.self) {
            try MasterKeyRotation.rotate(
                registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:])
        }
        #expect(try Data(contentsOf: masterFile(f)) == oldMaster)
        #expect(try incomes(f, f.keyring) == Array(repeating: "180000", count: persons.count))
    }

    // MARK: The key folder's lock

    /// The race the lock closes: a rotation waits in step 2 for the registry's write lock (another
    /// process is writing) while a second command starts. That command must not settle the
    /// rotation from outside (the old key still opens the rows, so it would have taken the new key
    /// for an abandoned one and removed it): it waits for the lock, gives up naming the holder, and
    /// the new key stays; the rotation then finishes, and the folder's key opens the registry.
    @Test func aCommandDuringARotationWaitsForItAndNeverRemovesItsKey() throws {
        let f = try populated()
        let before = try incomes(f, f.keyring)
        let registry = f.registry
        let keysDir = f.keysDir
        let keyring = f.keyring
        // Another process holds the registry's write lock (an ingest, say).
        let other = try RegistryWriteLock(dataDirectory: f.dataDir)
        let stepOneDone = DispatchSemaphore(value: 0)
        let rotation = Background {
            try MasterKeyRotation.rotate(
                registry: registry, keysDirectory: keysDir, keyring: keyring, environment: [:], lockTimeout: 10,
                observe: { step in if step == .pendingWritten { stepOneDone.signal() } })
        }
        #expect(stepOneDone.wait(timeout: .now() + 60) == .success)
        let pendingBytes = try Data(contentsOf: pendingFile(f))

        // The rotation is now in step 2, waiting for the registry. Every other use of the key folder waits.
        let recoverError = #expect(throws: StoreError.self) {
            try MasterKeyRotation.recover(
                registry: registry, keysDirectory: keysDir, keyring: keyring, lockTimeout: 0.5)
        }
        // The holder, as it recorded itself: "pid N (program: master-key rotation, since …)".
        #expect(recoverError?.message.contains("pid \(getpid()) (") == true)
        #expect(recoverError?.message.contains(": master-key rotation, since ") == true)
        #expect(recoverError?.message.contains(MasterKeyLock.fileName) == true)
        #expect(throws: StoreError.self) {
            try MasterKeyRotation.loadKeyring(
                registry: registry, keysDirectory: keysDir, environment: [:], lockTimeout: 0.5)
        }
        #expect(throws: StoreError.self) {
            try MasterKeyLock.withLock(keysDirectory: keysDir, purpose: "data-key rotation", timeout: 0.5) {
                try registry.rotateDataKey(className: "economic", keyring: keyring)
            }
        }
        #expect(try Data(contentsOf: pendingFile(f)) == pendingBytes)

        try other.releaseLock()
        let rotated = try #require(try rotation.wait()?.get())
        #expect(rotated.rewrapped == DataKeys.allClasses.count)
        #expect(!FileManager.default.fileExists(atPath: pendingFile(f).path))
        #expect(try Data(contentsOf: masterFile(f)) == pendingBytes)
        // The command run now loads the key the rotation left, and it opens everything.
        let (loadedNow, outcome) = try MasterKeyRotation.loadKeyring(
            registry: registry, keysDirectory: keysDir, environment: [:])
        #expect(outcome == .nothingPending)
        #expect(try incomes(f, loadedNow) == before)
    }

    /// Whoever holds the lock is named to whoever waits for it too long; a waiter gets the lock as
    /// soon as it is released, and settles an interrupted rotation only then.
    @Test func theLockIsWaitedForAndNamesItsHolder() throws {
        let f = try populated()
        try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pendingFile(f))
        let pendingBytes = try Data(contentsOf: pendingFile(f))
        let held = try #require(try MasterKeyLock.acquire(keysDirectory: f.keysDir, purpose: "a test that holds it"))

        let error = #expect(throws: StoreError.self) {
            try MasterKeyRotation.recover(
                registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, lockTimeout: 0.3)
        }
        #expect(error?.message.contains("a test that holds it") == true)
        #expect(try Data(contentsOf: pendingFile(f)) == pendingBytes)

        // Released while a waiter waits: it goes on, and settles the leftover only now.
        let registry = f.registry
        let keysDir = f.keysDir
        let keyring = f.keyring
        let waiter = Background {
            try MasterKeyRotation.recover(registry: registry, keysDirectory: keysDir, keyring: keyring, lockTimeout: 60)
                .outcome
        }
        usleep(300_000)
        #expect(FileManager.default.fileExists(atPath: pendingFile(f).path))
        held.release()
        let outcome = try #require(try waiter.wait()?.get())
        guard case .abandoned(let movedTo) = outcome else {
            Issue.record("expected the rotation to be abandoned, got \(outcome)")
            return
        }
        #expect(try Data(contentsOf: movedTo) == pendingBytes)
    }

    /// Step 2 checks, before it commits, that the new key is still on disk: whatever removed or
    /// replaced `master.key.next` in the meantime, the registry is not rewrapped under a key that
    /// the folder will not hold, and a file the rotation did not write is left alone.
    @Test(arguments: [false, true])
    func theRegistryIsNotRewrappedWhenTheNewKeyFileIsGone(replaced: Bool) throws {
        let f = try populated()
        let before = try incomes(f, f.keyring)
        let oldMaster = try Data(contentsOf: masterFile(f))
        let pending = pendingFile(f)
        let error = #expect(throws: StoreError.self) {
            try MasterKeyRotation.rotate(
                registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:],
                lockTimeout: 10,
                observe: { step in
                    guard step == .pendingWritten else { return }
                    try FileManager.default.removeItem(at: pending)
                    if replaced { try KeyFile.writeSecret(try SecureBytes.random(count: 32), to: pending) }
                })
        }
        #expect(error?.message.contains(MasterKeyRotation.pendingFileName) == true)
        #expect(try Data(contentsOf: masterFile(f)) == oldMaster)
        #expect(try incomes(f, f.keyring) == before)
        #expect(try incomes(f, loaded(f)) == before)
        #expect(FileManager.default.fileExists(atPath: pending.path) == replaced)
    }

    /// The new key's file is written, then the key folder is synced, before the registry commits to
    /// the new key; the rename of step 3 is synced too.
    @Test func theKeyFolderIsSyncedBeforeTheRegistryUsesTheNewKey() throws {
        let f = try populated()
        var steps: [MasterKeyRotation.Step] = []
        _ = try MasterKeyRotation.rotate(
            registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:], lockTimeout: 10,
            observe: { steps.append($0) })
        #expect(
            steps == [
                .pendingWritten, .folderSynced(f.keysDir.path), .rewrapped, .folderSynced(f.keysDir.path), .renamed,
            ])
    }

    /// `keys rotate` in a process that loaded the master key before a master-key rotation finished:
    /// the new data key would be wrapped under the retired master key, so it is refused, and the
    /// registry still opens with the folder's key.
    @Test func aDataKeyRotationUnderARetiredMasterKeyIsRefused() throws {
        let f = try populated()
        let before = try incomes(f, f.keyring)
        _ = try MasterKeyRotation.rotate(
            registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:])

        let error = #expect(throws: StoreError.self) {
            try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
        }
        #expect(error?.message.contains("run the command again") == true)
        #expect(try f.registry.keyStatus().filter { $0.keyClass == "economic" }.map(\.version) == [1])
        #expect(try incomes(f, loaded(f)) == before)
        #expect(try f.registry.rotateDataKey(className: "economic", keyring: loaded(f)) == 2)
        #expect(try incomes(f, loaded(f)) == before)
    }
}
