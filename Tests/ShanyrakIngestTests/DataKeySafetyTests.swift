import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Testing

/// A record that cannot be re-sealed stops a rewrap with its id.
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

    func sealedCount(_ f: Fixture, _ cls: String, _ version: UInt32) throws -> Int? {
        try f.registry.keyStatus().first { $0.keyClass == cls && $0.version == version }?.sealedCount
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
