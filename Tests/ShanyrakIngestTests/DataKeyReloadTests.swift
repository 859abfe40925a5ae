import Foundation
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A long-running process (the server) picks up rotated data keys by itself: its ingester loads them anew
/// when a batch is refused as sealed under rotated keys, one reload serves every caller that needs it at
/// once, and a reload that cannot be done leaves the keys it had in use and says why.
struct DataKeyReloadTests {
    let persons = makePersons(4)

    func labourFeed(income: String) -> String {
        ([labourHeader] + persons.map { labourRow($0.iin, income: income) }).joined(separator: "\n") + "\n"
    }

    func populated() throws -> Fixture {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest("labour", labourFeed(income: "180000"))
        return f
    }

    /// What a server holds: the keys loaded at start, reloaded from the key folder under its lock.
    func serverKeys(_ f: Fixture, lockTimeout: TimeInterval = 5, reports: Reports = Reports()) throws
        -> CurrentDataKeys
    {
        CurrentDataKeys(
            try DataKeys.load(from: f.registry, keyring: f.keyring), registry: f.registry, keysDirectory: f.keysDir,
            lockTimeout: lockTimeout, report: { message, isFailure in reports.add(message, isFailure) })
    }

    /// `keys rotate --class C`, `keys rewrap` and `keys retire --class C --version 1`, as the command runs them.
    func rotateRewrapRetire(_ f: Fixture, _ cls: String, keyring: Keyring? = nil) throws {
        let keyring = keyring ?? f.keyring
        let version = try MasterKeyLock.withLock(keysDirectory: f.keysDir, purpose: "test rotation") {
            try f.registry.rotateDataKey(className: cls, keyring: keyring)
        }
        _ = try f.registry.rewrap(className: nil, keyring: keyring)
        try f.registry.retireDataKey(className: cls, version: version - 1)
    }

    /// What a holder reported, in order.
    final class Reports: Sendable {
        private let entries = Mutex<[(message: String, isFailure: Bool)]>([])
        func add(_ message: String, _ isFailure: Bool) { entries.withLock { $0.append((message, isFailure)) } }
        var all: [(message: String, isFailure: Bool)] { entries.withLock { $0 } }
    }

    @Test func anIngesterOverReloadableKeysIngestsAfterRotateRewrapAndRetire() throws {
        let f = try populated()
        let reports = Reports()
        let keys = try serverKeys(f, reports: reports)
        let ingester = Ingester(
            registry: f.registry, keys: keys, pseudonymiser: try Pseudonymiser(key: f.keyring.pseudonymKey),
            catalog: shippedCatalog)
        try rotateRewrapRetire(f, "economic")

        let summary = try f.ingest("labour", labourFeed(income: "200000"), using: ingester)

        #expect(summary.valuesWritten == persons.count)
        #expect(try f.newestValues(of: "economic.monthly_income", for: persons) == Array(repeating: "200000", count: 4))
        #expect(try f.registry.keyStatus().first { $0.keyClass == "economic" && $0.version == 2 }?.sealedCount == 8)
        // The retired key has left the holder; the new one is used for writing.
        #expect(keys.current.generation == 1)
        #expect(keys.current.keys.key(for: "economic", version: 1) == nil)
        #expect(keys.current.keys.writeKey(for: "economic")?.version == 2)
        #expect(reports.all.map(\.isFailure) == [false])
        #expect(reports.all.first?.message.contains("new economic v2; no longer active economic v1") == true)
    }

    /// A holder that loads the keys straight from the registry with the fixture's keyring, counting its
    /// loads, each of which takes at least `pause` seconds.
    func countingLoads(_ f: Fixture, pause: TimeInterval = 0) throws -> (keys: CurrentDataKeys, loads: Counter) {
        let loads = Counter()
        let (registry, keyring) = (f.registry, f.keyring)
        let keys = CurrentDataKeys(
            try DataKeys.load(from: registry, keyring: keyring), registry: registry,
            load: {
                loads.add()
                Thread.sleep(forTimeInterval: pause)
                return try DataKeys.load(from: registry, keyring: keyring)
            })
        return (keys, loads)
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    @Test func manyCallersThatNeedNewKeysAtOnceCauseOneReload() async throws {
        let f = try populated()
        // Each load long enough for every caller to ask while it runs.
        let (keys, loads) = try countingLoads(f, pause: 0.1)
        let stale = keys.current
        _ = try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)

        let generations = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { await keys.reload(replacing: stale).generation } }
            return await group.reduce(into: []) { $0.append($1) }
        }

        #expect(generations == Array(repeating: 1, count: 16))
        #expect(loads.value == 1)
        // A caller that still holds the old set gets the new one without another reload.
        #expect(await keys.reload(replacing: stale).generation == 1)
        #expect(loads.value == 1)
    }

    @Test func keysAreNotLoadedAgainWhileTheRegistryVersionsAreUnchanged() throws {
        let f = try populated()
        let (keys, loads) = try countingLoads(f)

        #expect(keys.reloadSynchronously(replacing: keys.current).generation == 0)
        #expect(keys.checkNow().generation == 0)
        #expect(loads.value == 0)
        _ = try f.registry.rotateDataKey(className: "quarantine", keyring: f.keyring)
        #expect(keys.checkNow().generation == 1)
        #expect(keys.current.keys.writeKey(for: "quarantine")?.version == 2)
        #expect(loads.value == 1)
    }

    @Test func theKeysLeaveMemoryWhenTheLastUserReleasesThem() throws {
        let f = try populated()
        let keys = try serverKeys(f)
        weak var retired: SecureBytes?
        var held: CurrentDataKeys.Loaded? = keys.current
        retired = held?.keys.key(for: "economic", version: 1)
        #expect(retired != nil)
        try rotateRewrapRetire(f, "economic")

        keys.checkNow()
        // A request that began before the reload keeps its keys to its end...
        #expect(retired != nil)
        #expect(held?.keys.key(for: "economic", version: 1) != nil)
        held = nil
        // ...then they are freed (`sodium_free` wipes them).
        #expect(retired == nil)
    }

    @Test func aReloadThatFailsKeepsTheKeysInUseAndSaysWhy() throws {
        let f = try populated()
        let reports = Reports()
        let keys = try serverKeys(f, reports: reports)
        try rotateRewrapRetire(f, "economic")
        let master = f.keysDir.appendingPathComponent(Keyring.FileName.master)
        let secret = try String(contentsOf: master, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(chmod(master.path, 0o644) == 0)

        #expect(keys.checkNow().generation == 0)
        #expect(keys.current.keys.writeKey(for: "economic")?.version == 1)
        let failure = try #require(reports.all.last)
        #expect(failure.isFailure)
        #expect(failure.message.contains("could not be reloaded"))
        #expect(failure.message.contains("chmod 600"))
        #expect(failure.message.contains("the keys loaded before stay in use"))
        #expect(!failure.message.contains(secret))

        #expect(chmod(master.path, 0o600) == 0)
        #expect(keys.checkNow().generation == 1)
        #expect(keys.current.keys.writeKey(for: "economic")?.version == 2)
    }

    /// A reload waits for the key folder's lock (a master-key rotation may hold it), and gives up after the
    /// lock timeout, naming the lock, with the keys it had still in use.
    @Test func aReloadWaitsForTheKeyFoldersLock() throws {
        let f = try populated()
        let reports = Reports()
        let keys = try serverKeys(f, lockTimeout: 0.3, reports: reports)
        try rotateRewrapRetire(f, "economic")
        let lock = try #require(try MasterKeyLock.acquire(keysDirectory: f.keysDir, purpose: "test holder"))

        #expect(keys.checkNow().generation == 0)
        #expect(reports.all.last?.message.contains(MasterKeyLock.fileName) == true)
        #expect(reports.all.last?.message.contains("test holder") == true)

        lock.release()
        #expect(keys.checkNow().generation == 1)
    }

    /// After the master key was rotated too, a reload reads the new one from the key folder.
    @Test func aReloadAfterAMasterKeyRotationUsesTheNewMasterKey() throws {
        let f = try populated()
        let keys = try serverKeys(f)
        let (next, _) = try MasterKeyRotation.rotate(
            registry: f.registry, keysDirectory: f.keysDir, keyring: f.keyring, environment: [:])
        try rotateRewrapRetire(f, "economic", keyring: next)

        #expect(keys.checkNow().generation == 1)
        #expect(keys.current.keys.writeKey(for: "economic")?.version == 2)
    }

    @Test func aPeriodicCheckPicksUpNewVersions() async throws {
        let f = try populated()
        let keys = try serverKeys(f)
        keys.checkPeriodically(every: .milliseconds(20))
        try rotateRewrapRetire(f, "economic")

        for _ in 0..<500 where keys.current.generation == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(keys.current.generation == 1)
        #expect(keys.current.keys.key(for: "economic", version: 1) == nil)
    }
}
