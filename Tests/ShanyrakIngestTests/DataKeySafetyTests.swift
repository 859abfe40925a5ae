import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Data-key rotation, rewrap and retirement stay safe when other processes hold keys they loaded
/// earlier, and a record that cannot be re-sealed stops a rewrap with its id.
struct DataKeySafetyTests {
    let persons = makePersons(4)

    func labourFeed(income: String, extra: [String] = []) -> String {
        ([labourHeader] + persons.map { labourRow($0.iin, income: income) } + extra).joined(separator: "\n") + "\n"
    }

    func populated() throws -> Fixture {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest("labour", labourFeed(income: "180000"))
        return f
    }

    func incomes(_ f: Fixture) throws -> [String] {
        try f.newestValues(of: "economic.monthly_income", for: persons)
    }

    func sealedCount(_ f: Fixture, _ cls: String, _ version: UInt32) throws -> Int? {
        try f.registry.keyStatus().first { $0.keyClass == cls && $0.version == version }?.sealedCount
    }

    // MARK: Stale keys in a long-running process

    /// A server loads its data keys once. After `keys rotate`, `keys rewrap` and `keys retire`, it
    /// would still seal under the retired version, whose key is erased: such values could never be
    /// read again. Its batch is refused instead, and nothing of it is written.
    @Test func aProcessWhoseKeysWereRotatedCannotIngest() throws {
        let f = try populated()
        let longRunning = try f.ingester()
        _ = try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
        _ = try f.registry.rewrap(className: "economic", keyring: f.keyring)
        try f.registry.retireDataKey(className: "economic", version: 1)
        let before = try statsJSON(f.registry)

        let error = #expect(throws: StoreError.self) {
            try f.ingest("labour", labourFeed(income: "200000"), using: longRunning)
        }
        #expect(error?.message.contains("the data keys were rotated since this process loaded them") == true)
        #expect(error?.message.contains("economic values under version 1") == true)
        #expect(error?.message.contains("current economic version is 2") == true)
        #expect(try statsJSON(f.registry) == before)

        // Run again (a process that loads the keys now): stored, and readable.
        #expect(try f.ingest("labour", labourFeed(income: "200000")).valuesWritten == persons.count)
        #expect(try incomes(f) == Array(repeating: "200000", count: persons.count))
    }

    /// The writer itself checks what it is given, whoever calls it: a record holding a value sealed
    /// under an older version is refused, and the batch leaves nothing behind.
    @Test func theBatchWriterRefusesAValueUnderAnOlderVersion() throws {
        let f = try populated()
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        _ = try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
        let before = try statsJSON(f.registry)
        let subject = try Pseudonymiser(key: f.keyring.pseudonymKey).person(try IIN(validating: persons[0].iin))
        let number = try #require(try f.registry.indicatorNumbers()["economic.monthly_income"])
        let key = try #require(keys.writeValueKey(for: "economic"))
        var payload = RecordPayload()
        var sealer = ValueSealer()
        try payload.appendSealing(
            "210000", indicator: number, indicatorID: "economic.monthly_income", subject: subject,
            observedAt: "2024-03-01", source: "labour", key: key, sealer: &sealer)

        let error = #expect(throws: StoreError.self) {
            try f.registry.writeBatch(source: "labour") { writer in
                try writer.insertRecord(subject: subject, observedAt: "2024-03-01", payload: payload)
                return BatchCounts()
            }
        }
        #expect(error?.message.contains("economic values under version 1") == true)
        #expect(try statsJSON(f.registry) == before)
    }

    /// The same holds for the quarantine key, which seals rejected lines.
    @Test func aProcessWhoseQuarantineKeyWasRotatedCannotQuarantine() throws {
        let f = try populated()
        let longRunning = try f.ingester()
        _ = try f.registry.rotateDataKey(className: DataKeys.quarantineClass, keyring: f.keyring)
        let before = try statsJSON(f.registry)

        let error = #expect(throws: StoreError.self) {
            try f.ingest(
                "labour", labourFeed(income: "180000", extra: [labourRow(persons[0].iin, income: "lots")]),
                using: longRunning)
        }
        #expect(error?.message.contains("quarantine values under version 1") == true)
        #expect(try statsJSON(f.registry) == before)
        #expect(try sealedCount(f, DataKeys.quarantineClass, 1) == 0)
    }

    /// A rewrap checks in each transaction that it still seals under the current version: when the
    /// class is rotated again, and the version it re-seals into retired, while it runs, it stops
    /// instead of re-sealing values under the erased key. Run again, it finishes.
    @Test func aRewrapStopsWhenItsTargetVersionIsRotatedAway() throws {
        let f = try populated()
        _ = try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
        var passes = 0
        let error = #expect(throws: StoreError.self) {
            // The population's records come first and hold no economic value: the first pass
            // re-seals nothing, then the keys change under the rewrap.
            try f.registry.rewrap(className: "economic", keyring: f.keyring, batchSize: persons.count) { _ in
                passes += 1
                guard passes == 1 else { return }
                _ = try? f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
                try? f.registry.retireDataKey(className: "economic", version: 2)
            }
        }
        #expect(error?.message.contains("economic values under version 2") == true)
        #expect(try f.registry.keyStatus().first { $0.keyClass == "economic" && $0.version == 2 }?.state == "retired")
        #expect(try incomes(f) == Array(repeating: "180000", count: persons.count))

        #expect(try f.registry.rewrap(className: "economic", keyring: f.keyring) == persons.count)
        #expect(try sealedCount(f, "economic", 1) == 0)
        #expect(try incomes(f) == Array(repeating: "180000", count: persons.count))
    }

    /// Retirement reads the counts under the registry's write lock: a value committed under the
    /// version while `keys retire` waits for the lock (by a process that does not check, here a
    /// direct write) keeps the version from being erased.
    @Test func retireChecksTheCountsInsideItsWriteTransaction() throws {
        let f = try populated()
        _ = try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
        _ = try f.registry.rewrap(className: "economic", keyring: f.keyring)
        #expect(try sealedCount(f, "economic", 1) == 0)
        let number = try #require(try f.registry.indicatorNumbers()["economic.monthly_income"])

        // Another process holds the write lock and is about to commit a value under version 1.
        let other = try RegistryWriteLock(dataDirectory: f.dataDir, commit: true) { db in
            try db.execute(
                sql: """
                    INSERT INTO value_count (indicator, key_version, n) VALUES (?, 1, 1)
                    ON CONFLICT (indicator, key_version) DO UPDATE SET n = n + 1
                    """, arguments: [number])
        }
        let registry = f.registry
        let retire = Background { try registry.retireDataKey(className: "economic", version: 1) }
        usleep(500_000)  // long enough for a retirement that reads outside its transaction to have read 0
        try other.releaseLock()

        let error = #expect(throws: StoreError.self) { try retire.wait()?.get() }
        #expect(error?.message.contains("still seals 1 values") == true)
        #expect(try f.registry.keyStatus().first { $0.keyClass == "economic" && $0.version == 1 }?.state == "active")
    }

    // MARK: A record that cannot be re-sealed

    /// A damaged record stops the rewrap (it is not skipped: its value would stay under the old
    /// version, which could then never be retired), and the error names the record by its id, never
    /// a value. The transactions before it are committed; a second run stops at the same record.
    @Test func aRewrapStopsAtADamagedRecordAndNamesIt() throws {
        let f = try populated()
        _ = try f.registry.rotateDataKey(className: "economic", keyring: f.keyring)
        let labour = try f.registry.writer.read { db in
            try Int64.fetchAll(
                db,
                sql:
                    "SELECT r.id FROM record r JOIN source s ON s.number = r.source WHERE s.name = 'labour' ORDER BY r.id"
            )
        }
        #expect(labour.count == persons.count)
        let damaged = labour[2]
        try f.registry.writer.write { db in
            try db.execute(sql: "UPDATE record SET payload = substr(payload, 1, 5) WHERE id = ?", arguments: [damaged])
        }

        for _ in 0..<2 {
            let error = #expect(throws: StoreError.self) {
                try f.registry.rewrap(className: "economic", keyring: f.keyring, batchSize: 1)
            }
            #expect(error?.message.contains("record \(damaged) ") == true)
            #expect(error?.message.contains("truncated") == true)
            #expect(error?.message.contains("180000") == false)
        }
        // The two labour records before it were re-sealed (one economic value each), the rest not.
        #expect(try sealedCount(f, "economic", 2) == 2)
        #expect(try sealedCount(f, "economic", 1) == 2)
    }

    /// The same for a quarantined line that does not open.
    @Test func aRewrapStopsAtADamagedQuarantinedLineAndNamesIt() throws {
        let f = try populated()
        try f.ingest("labour", labourFeed(income: "180000", extra: [labourRow(persons[1].iin, income: "lots9876")]))
        _ = try f.registry.rotateDataKey(className: DataKeys.quarantineClass, keyring: f.keyring)
        let (id, sealed) = try #require(
            try f.registry.writer.read { db in
                try Row.fetchOne(db, sql: "SELECT id, sealed_line FROM quarantine").map {
                    ($0["id"] as Int64, Array($0["sealed_line"] as Data))
                }
            })
        var damaged = sealed
        damaged[damaged.count - 1] ^= 1
        try f.registry.writer.write { db in
            try db.execute(
                sql: "UPDATE quarantine SET sealed_line = ? WHERE id = ?", arguments: [Data(damaged), id])
        }

        let error = #expect(throws: StoreError.self) {
            try f.registry.rewrap(className: DataKeys.quarantineClass, keyring: f.keyring)
        }
        #expect(error?.message.contains("quarantined line \(id) ") == true)
        #expect(error?.message.contains("does not open") == true)
        #expect(error?.message.contains("lots9876") == false)
        #expect(error?.message.contains(persons[1].iin) == false)
        #expect(try sealedCount(f, DataKeys.quarantineClass, 1) == 1)
    }
}
