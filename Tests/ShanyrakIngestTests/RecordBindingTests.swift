import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
@_spi(Testing) import ShanyrakStore
import Testing

/// Registry values in sealed-value format 3: bound to their record's date and source, recognised
/// when delivered again whatever format and key version the stored value has, and upgraded from
/// older formats by `keys rewrap`.
struct RecordBindingTests {
    let persons = makePersons(5)

    var feed: String {
        ([labourHeader] + persons.map { labourRow($0.iin, income: "150000") }).joined(separator: "\n") + "\n"
    }

    func populated() throws -> Fixture {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest("labour", feed)
        return f
    }

    /// Every stored value, opened with its record's stored date and source (and so failing for a record
    /// edited since it was sealed), with its sealed format and key version.
    func storedValues(_ f: Fixture) throws -> [(indicator: String, value: String, format: UInt8, version: UInt32)] {
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        let classes = Dictionary(
            uniqueKeysWithValues: shippedCatalog.indicators.map { ($0.id, $0.indicatorClass.rawValue) })
        var out: [(String, String, UInt8, UInt32)] = []
        try f.registry.forEachStoredValue { stored in
            let keyClass = try #require(classes[stored.indicator])
            let value = try stored.opened(keyClass: keyClass, keys: keys)
            out.append((stored.indicator, value, stored.sealed.first ?? 0, stored.keyVersion))
        }
        return out
    }

    /// The payload formats of the stored records, each once, in order.
    func payloadFormats(_ f: Fixture) throws -> [Int] {
        try f.registry.writer.read { db in
            try Int.fetchAll(db, sql: "SELECT DISTINCT unicode(substr(payload, 1, 1)) FROM record ORDER BY 1")
        }
    }

    /// Turns the records of `source` into what an older version wrote: sealed-value format 1 in payload
    /// format 2 with its `valuemac` MAC apart, or format 2 (iv keyed by `valuemac`) in payload format 3;
    /// and the registry into one made before the sealed-format floor (it has none: every format opens).
    static func makeLegacy(_ f: Fixture, source: String, sealedFormat: UInt8) throws {
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        let macKey = try #require(keys.writeKey(for: DataKeys.valueMACClass)).key
        try f.registry.removeSealedFormatFloor(keyring: f.keyring)
        try f.registry.writer.write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.id, r.subject, r.payload, r.observed_at FROM record r JOIN source s ON s.number = r.source
                    WHERE s.name = ?
                    """, arguments: [source])
            var sealer = ValueSealer()
            for row in rows {
                let subject = try #require(Pseudonym(bytes: Array(row[1] as Data)))
                var legacy = RecordPayload(format: sealedFormat == 1 ? 2 : 3)
                try RecordPayload.forEachEntry(in: Array(row[2] as Data)) { entry in
                    let (id, keyClass) = try #require(
                        try Row.fetchOne(
                            db, sql: "SELECT id, class FROM indicator WHERE number = ?", arguments: [entry.indicator]
                        )
                        .map { ($0[0] as String, $0[1] as String) })
                    let key = try #require(keys.key(for: keyClass, version: entry.keyVersion))
                    let plain = try SealedValueFormat.open(
                        Array(entry.sealed), subject: subject, indicator: id, keyVersion: entry.keyVersion,
                        observedAt: row[3], source: source, key: key)
                    var sealed: [UInt8] = []
                    if sealedFormat == 1 {
                        sealed = try sealer.seal(
                            plain, subject: subject, indicator: id, keyVersion: entry.keyVersion, key: key)
                    } else {
                        try sealer.sealSynthetic(
                            plain, subject: subject, indicator: id, keyVersion: entry.keyVersion, key: key,
                            ivKey: macKey, appendingTo: &sealed)
                    }
                    let mac = try SealedValueFormat.legacyMAC(plain, subject: subject, indicator: id, macKey: macKey)
                    try legacy.append(
                        indicator: entry.indicator, keyVersion: entry.keyVersion, mac: mac, sealed: sealed)
                }
                try db.execute(
                    sql: "UPDATE record SET payload = ? WHERE id = ?", arguments: [Data(legacy.bytes), row[0] as Int64])
            }
        }
    }

    @Test func ingestSealsEveryValueInFormatThreeBoundToItsRecord() throws {
        let f = try populated()
        let values = try storedValues(f)
        #expect(
            values.filter { $0.indicator == "economic.monthly_income" }.map(\.value)
                == Array(repeating: "150000", count: persons.count))
        #expect(values.allSatisfy { $0.format == SealedValueFormat.recordBoundVersion })
        #expect(try payloadFormats(f) == [3])
        // The same value on the same date from another source, or on another date, gets another iv.
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        let key = try #require(keys.writeValueKey(for: "economic"))
        let subject = try Pseudonymiser(key: f.keyring.pseudonymKey).person(try IIN(validating: persons[0].iin))
        let iv = { (date: String, source: String) in
            try SealedValueFormat.recordBoundIV(
                "150000", subject: subject, indicator: "economic.monthly_income", observedAt: date, source: source,
                key: key)
        }
        #expect(try iv("2024-02-01", "labour") != iv("2024-02-02", "labour"))
        #expect(try iv("2024-02-01", "labour") != iv("2024-02-01", "health"))
    }

    /// Records written before format 3 keep working: a re-delivery of their values is recognised
    /// through their `valuemac` MACs, and `keys rewrap`, without any rotation, upgrades them to format
    /// 3 under their current key version; then re-deliveries are recognised as before.
    @Test(arguments: [UInt8(1), 2])
    func olderRecordsAreRecognisedAndUpgradedByRewrap(sealedFormat: UInt8) throws {
        let f = try populated()
        try Self.makeLegacy(f, source: "labour", sealedFormat: sealedFormat)
        #expect(try payloadFormats(f) == (sealedFormat == 1 ? [2, 3] : [3]))
        let legacy = try storedValues(f).filter { $0.format == sealedFormat }
        #expect(legacy.count == 2 * persons.count)
        let status = try f.registry.keyStatus()

        let again = try f.ingest("labour", feed)
        #expect(again.valuesWritten == 0 && again.valuesUnchanged == 2 * persons.count)

        #expect(try f.registry.rewrap(className: nil, keyring: f.keyring, batchSize: 2) == 2 * persons.count)
        #expect(try f.registry.rewrap(className: nil, keyring: f.keyring) == 0)
        let upgraded = try storedValues(f)
        #expect(upgraded.allSatisfy { $0.format == SealedValueFormat.recordBoundVersion && $0.version == 1 })
        #expect(upgraded.filter { $0.indicator == "economic.monthly_income" }.allSatisfy { $0.value == "150000" })
        #expect(try payloadFormats(f) == [3])
        #expect(try f.registry.keyStatus() == status, "nothing moved between key versions")

        let third = try f.ingest("labour", feed)
        #expect(third.valuesWritten == 0 && third.valuesUnchanged == 2 * persons.count)
        let changed = try f.ingest(
            "labour", [labourHeader, labourRow(persons[0].iin, income: "151000")].joined(separator: "\n"))
        #expect(changed.valuesWritten == 1 && changed.valuesUnchanged == 1)
    }

    /// A rewrap of one class leaves a record's random-nonce values of other classes as they are: the
    /// record stays in payload format 2, its new format 3 value's stored MAC being its iv's start, so
    /// that re-deliveries of both are still recognised.
    @Test func aRewrapOfOneClassKeepsARecordWithOtherOldValuesInPayloadFormatTwo() throws {
        let f = try populated()
        try Self.makeLegacy(f, source: "labour", sealedFormat: 1)
        #expect(try f.registry.rewrap(className: "economic", keyring: f.keyring) == persons.count)
        #expect(try payloadFormats(f) == [2, 3])
        let labour = try storedValues(f).filter {
            $0.indicator.hasPrefix("economic.") || $0.indicator.hasPrefix("employment.")
        }
        #expect(labour.filter { $0.indicator.hasPrefix("economic.") }.allSatisfy { $0.format == 3 })
        #expect(labour.filter { $0.indicator.hasPrefix("employment.") }.allSatisfy { $0.format == 1 })
        let again = try f.ingest("labour", feed)
        #expect(again.valuesWritten == 0 && again.valuesUnchanged == 2 * persons.count)
        #expect(try f.registry.rewrap(className: nil, keyring: f.keyring) == persons.count)
        #expect(try payloadFormats(f) == [3])
    }

    /// After a class key rotation, new values are sealed under the new version with its own iv key, so
    /// their ivs differ from the stored ones: an identical re-delivery is still recognised (the stored
    /// MAC is computed again for the new value, under the stored value's key), nothing is stored
    /// twice, and a changed value is stored under the new version. After the rewrap, the same.
    @Test(arguments: [false, true])
    func aRedeliveryAfterAClassKeyRotationIsRecognised(legacy: Bool) throws {
        let f = try populated()
        if legacy { try Self.makeLegacy(f, source: "labour", sealedFormat: 2) }
        func count(_ version: UInt32) throws -> Int? {
            try f.registry.keyStatus().first { $0.keyClass == "economic" && $0.version == version }?.sealedCount
        }
        let stale = try f.ingester()
        #expect(try f.registry.rotateDataKey(className: "economic", keyring: f.keyring) == 2)

        let again = try f.ingest("labour", feed)
        #expect(again.valuesWritten == 0 && again.valuesUnchanged == 2 * persons.count)
        #expect(try count(1) == persons.count && count(2) == 0)

        let changed = try f.ingest(
            "labour", [labourHeader, labourRow(persons[0].iin, income: "175000")].joined(separator: "\n"))
        #expect(changed.valuesWritten == 1 && changed.valuesUnchanged == 1)
        #expect(try count(1) == persons.count && count(2) == 1)

        // A process that loaded the keys before the rotation meets a stored value under a version it
        // does not know: it is refused as a process with stale keys, and writes nothing.
        let before = try statsJSON(f.registry)
        let error = #expect(throws: StoreError.self) {
            try f.ingest(
                "labour", [labourHeader, labourRow(persons[0].iin, income: "175000")].joined(separator: "\n"),
                using: stale)
        }
        #expect(error?.isDataKeysRotated == true)
        #expect(try statsJSON(f.registry) == before)

        #expect(try f.registry.rewrap(className: "economic", keyring: f.keyring) == persons.count)
        #expect(try count(1) == 0 && count(2) == persons.count + 1)
        let afterRewrap = try f.ingest("labour", feed)
        // persons[0]'s newest income is 175000: the feed's 150000 is a change for them.
        #expect(afterRewrap.valuesWritten == 1 && afterRewrap.valuesUnchanged == 2 * persons.count - 1)
        let last = try f.ingest("labour", feed)
        #expect(last.valuesWritten == 0 && last.valuesUnchanged == 2 * persons.count)
    }

    /// What an attacker who can write the registry file might change about a record, and how.
    struct Edit: Sendable, CustomTestStringConvertible {
        let name: String
        let sql: String
        /// An indicator whose value in the record no longer opens, and its class.
        var indicator = "economic.monthly_income"
        var keyClass = "economic"
        var testDescription: String { name }
    }

    static let edits: [Edit] = [
        Edit(name: "re-dated", sql: "UPDATE record SET observed_at = '2030-01-01' WHERE id = ?1"),
        Edit(name: "dated a day earlier", sql: "UPDATE record SET observed_at = '2024-01-31' WHERE id = ?1"),
        Edit(
            name: "given to another source",
            sql: "UPDATE record SET source = (SELECT number FROM source WHERE name = 'population') WHERE id = ?1"),
        Edit(name: "its source renamed", sql: "UPDATE source SET name = 'health' WHERE name = 'labour'"),
        Edit(name: "its source row deleted", sql: "DELETE FROM source WHERE name = 'labour'"),
        // Payload format 3: format byte, u16 indicator, one-byte key version and length, then the first
        // value (the employment status, the feed's first column), whose first byte is its format.
        Edit(
            name: "its first value's format byte downgraded to 2",
            sql: """
                UPDATE record SET payload = CAST(substr(payload, 1, 5) || x'02' || substr(payload, 7) AS BLOB)
                WHERE id = ?1
                """, indicator: "employment.status", keyClass: "employment"),
    ]

    /// A record changed in the SQLite file, with another connection, as an attacker would: its values
    /// no longer open, for the access path's read and for a rewrap, which stops at it.
    @Test(arguments: edits)
    func anEditedRecordDoesNotOpen(_ edit: Edit) throws {
        let f = try populated()
        #expect(try f.newestValues(of: edit.indicator, for: [persons[0]]).count == 1)
        let id = try #require(
            try f.registry.writer.read { db in
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT r.id FROM record r JOIN source s ON s.number = r.source WHERE s.name = 'labour'
                        ORDER BY r.id LIMIT 1
                        """)
            })
        let attacker = try DatabaseQueue(path: f.dataDir.appendingPathComponent(Registry.fileName).path)
        try attacker.write { db in
            try db.execute(sql: edit.sql, arguments: edit.sql.contains("?1") ? [id] : [])
        }
        try attacker.close()

        #expect(throws: CryptoError.authenticationFailed) { try f.newestValues(of: edit.indicator, for: [persons[0]]) }
        _ = try f.registry.rotateDataKey(className: edit.keyClass, keyring: f.keyring)
        let error = #expect(throws: StoreError.self) {
            try f.registry.rewrap(className: edit.keyClass, keyring: f.keyring)
        }
        #expect(error?.message.contains("record \(id) ") == true)
    }
}
