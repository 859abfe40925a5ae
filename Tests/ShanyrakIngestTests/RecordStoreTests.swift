import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import Testing

@testable import ShanyrakStore

/// The record layout of the registry: one record per feed row, values sealed one by one inside.
struct RecordStoreTests {
    let persons = makePersons(6)

    /// Payload format 3 holds values sealed in format 3 (bound to the record's date and source), whose
    /// iv's first 8 bytes are the MAC; payload format 2 stores the same iv start apart.
    @Test(arguments: [RecordPayload.formatVersion, RecordPayload.separateMACFormat])
    func recordBoundPayloadReadsItsValuesAndTheirMACs(format: UInt8) throws {
        let subject = try #require(Pseudonym(bytes: Array(0..<16)))
        var sealer = ValueSealer()
        var payload = RecordPayload(format: format)
        let values = [
            ("economic.monthly_income", "150000"), ("employment.status", "employed"), ("economic.pension", ""),
        ]
        var keys: [ValueKey] = []
        for (number, (id, value)) in values.enumerated() {
            let key = try ValueKey(version: UInt32(number + 1), key: SecureBytes.random(count: 32))
            keys.append(key)
            try payload.appendSealing(
                value, indicator: Int64(number), indicatorID: id, subject: subject, observedAt: "2024-02-01",
                source: "labour", key: key, sealer: &sealer)
        }
        #expect(payload.format == format && payload.count == 3)
        var read = 0
        try RecordPayload.forEachEntry(in: payload.bytes) { entry in
            let (id, value) = values[read]
            #expect(entry.indicator == Int64(read) && entry.keyVersion == UInt32(read + 1))
            #expect(entry.sealedFormat == SealedValueFormat.recordBoundVersion)
            let iv = try SealedValueFormat.recordBoundIV(
                value, subject: subject, indicator: id, observedAt: "2024-02-01", source: "labour", key: keys[read])
            #expect(Array(entry.sealed[1..<17]) == iv)
            #expect(Array(entry.mac) == Array(iv.prefix(RecordPayload.macLength)))
            let opened = try SealedValueFormat.open(
                Array(entry.sealed), subject: subject, indicator: id, keyVersion: entry.keyVersion,
                observedAt: "2024-02-01", source: "labour", key: keys[read].key)
            #expect(opened == value)
            read += 1
        }
        #expect(read == 3)
        // Copying entries keeps the bytes.
        var copy = RecordPayload(format: format)
        try RecordPayload.forEachEntry(in: payload.bytes) { try copy.append($0) }
        #expect(copy.bytes == payload.bytes)
        // Payload format 3 takes no random-nonce value.
        guard format == RecordPayload.formatVersion else { return }
        var oldStyle: [UInt8] = []
        try sealer.seal(
            "1", subject: subject, indicator: "economic.pension", keyVersion: 1, key: keys[0].key,
            appendingTo: &oldStyle)
        #expect(throws: StoreError.self) {
            try copy.append(indicator: 1, keyVersion: 1, mac: [UInt8](repeating: 0, count: 8), sealed: oldStyle)
        }
        #expect(copy.bytes == payload.bytes)
    }

    @Test func formatTwoPayloadRoundTripsEveryEntryInOrder() throws {
        var payload = RecordPayload(format: RecordPayload.separateMACFormat)
        let n = RecordPayload.macLength
        let entries: [(Int64, UInt32, [UInt8], [UInt8])] = [
            (0, 1, Array(repeating: 1, count: n), []),
            (65_535, 7, Array(repeating: 2, count: n), Array(repeating: 4, count: 200)),  // two-byte length
            (12, UInt32.max, Array(repeating: 3, count: n), [9]),  // five-byte key version
        ]
        for (indicator, version, mac, sealed) in entries {
            try payload.append(indicator: indicator, keyVersion: version, mac: mac, sealed: sealed)
        }
        #expect(payload.count == 3)
        #expect(payload.bytes.first == RecordPayload.separateMACFormat)
        var read: [(Int64, UInt32, [UInt8], [UInt8])] = []
        try RecordPayload.forEachEntry(in: payload.bytes) {
            read.append(($0.indicator, $0.keyVersion, Array($0.mac), Array($0.sealed)))
        }
        #expect(read.count == entries.count)
        for (a, b) in zip(read, entries) {
            #expect(a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3)
        }
    }

    /// Payloads of the first layout (16-byte MAC, fixed-width numbers) still read; their MAC is
    /// compared by its first 8 bytes, as new MACs are.
    @Test func formatOnePayloadsStillRead() throws {
        var bytes: [UInt8] = [1]
        bytes += [5, 0]  // indicator 5
        bytes += [3, 0, 0, 0]  // key version 3
        bytes += Array(1...16)  // MAC
        bytes += [2, 0, 0, 0]  // sealed length 2
        bytes += [0xAA, 0xBB]
        var read: [(Int64, UInt32, [UInt8], [UInt8])] = []
        try RecordPayload.forEachEntry(in: bytes) {
            read.append(($0.indicator, $0.keyVersion, Array($0.mac), Array($0.sealed)))
        }
        #expect(read.count == 1)
        #expect(read.first?.0 == 5 && read.first?.1 == 3)
        #expect(read.first?.2 == Array(1...8) && read.first?.3 == [0xAA, 0xBB])
        #expect(throws: StoreError.self) { try RecordPayload.forEachEntry(in: Array(bytes.dropLast())) { _ in } }
    }

    @Test func payloadRefusesWhatItCannotStoreOrRead() throws {
        var payload = RecordPayload(format: RecordPayload.separateMACFormat)
        let mac = [UInt8](repeating: 0, count: RecordPayload.macLength)
        #expect(throws: StoreError.self) { try payload.append(indicator: 65_536, keyVersion: 1, mac: mac, sealed: []) }
        #expect(throws: StoreError.self) { try payload.append(indicator: -1, keyVersion: 1, mac: mac, sealed: []) }
        #expect(throws: StoreError.self) {
            try payload.append(indicator: 1, keyVersion: 1, mac: [1, 2, 3], sealed: [])
        }
        #expect(payload.isEmpty && payload.bytes == [RecordPayload.separateMACFormat])
        try payload.append(indicator: 3, keyVersion: 1, mac: mac, sealed: Array(repeating: 5, count: 40))
        let good = payload.bytes
        // A payload of the format byte alone is empty; every other truncation, a wrong format byte
        // and a length pointing past the end are refused.
        for cut in 2..<good.count {
            #expect(throws: StoreError.self) { try RecordPayload.forEachEntry(in: Array(good[..<cut])) { _ in } }
        }
        var wrongFormat = good
        wrongFormat[0] = 4
        #expect(throws: StoreError.self) { try RecordPayload.forEachEntry(in: wrongFormat) { _ in } }
        // Read as format 3, the same bytes hold no synthetic-nonce value where one must be.
        wrongFormat[0] = 3
        #expect(throws: StoreError.self) { try RecordPayload.forEachEntry(in: wrongFormat) { _ in } }
        var longLength = good
        longLength[1 + 2 + 1 + RecordPayload.macLength] = 41
        #expect(throws: StoreError.self) { try RecordPayload.forEachEntry(in: longLength) { _ in } }
        var endlessVarint = good
        endlessVarint[1 + 2 + 1 + RecordPayload.macLength] = 0x80
        #expect(throws: StoreError.self) { try RecordPayload.forEachEntry(in: endlessVarint) { _ in } }
        #expect(throws: StoreError.self) { try RecordPayload.forEachEntry(in: []) { _ in } }
    }

    @Test func oneRecordPerRowAndOnlyChangedValuesInTheNextOne() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let records = {
            try f.registry.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM record") ?? -1 }
        }
        #expect(try records() == persons.count)
        var perRecord: [Int64: Int] = [:]
        try f.registry.forEachStoredValue { perRecord[$0.recordID, default: 0] += 1 }
        #expect(perRecord.count == persons.count && perRecord.values.allSatisfy { $0 > 5 })

        try f.ingest("labour", [labourHeader, labourRow(persons[0].iin, income: "100")].joined(separator: "\n"))
        let second = try f.ingest(
            "labour", [labourHeader, labourRow(persons[0].iin, income: "200")].joined(separator: "\n"))
        // Same date, employment unchanged: the new record holds only the income.
        #expect(second.valuesWritten == 1 && second.valuesUnchanged == 1)
        var last: [StoredValue] = []
        try f.registry.forEachStoredValue { if $0.batch == second.batch { last.append($0) } }
        #expect(last.map(\.indicator) == ["economic.monthly_income"])
        #expect(try records() == persons.count + 2)

        let stats = try f.registry.statistics()
        var counted = 0
        try f.registry.forEachStoredValue { _ in counted += 1 }
        #expect(stats.valuesByClass.values.reduce(0, +) == counted)
    }

    /// A source's first delivery skips the lookup of stored values for new subjects; a subject
    /// met twice in that delivery is still compared with its first row.
    @Test func aSubjectTwiceInAFirstDeliveryIsComparedWithItsFirstRow() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let feed = [
            labourHeader, labourRow(persons[0].iin, income: "100"), labourRow(persons[1].iin, income: "100"),
            labourRow(persons[0].iin, income: "200"), labourRow(persons[0].iin, income: "200"),
        ].joined(separator: "\n")
        let summary = try f.ingest("labour", feed)
        #expect(summary.valuesWritten == 5)  // 2 + 2 + the new income
        #expect(summary.valuesUnchanged == 3)  // employment once, then both values of the repeated row
        // Delivered again, the rows replay in order against what is stored: 200 -> 100 -> 200.
        let again = try f.ingest("labour", feed)
        #expect(again.valuesWritten == 2 && again.valuesUnchanged == 6)
    }

    /// A row about a stranger is quarantined, sealed, by line, whether the registry is a pool
    /// (the service) or a queue (an in-memory registry).
    @Test(arguments: [true, false])
    func strangersAreQuarantinedInAPoolOrAQueue(pool: Bool) throws {
        let f = try Fixture()
        let registry = pool ? f.registry : try Registry(DatabaseQueue())
        if !pool { try registry.initialise(catalog: shippedCatalog, keyring: f.keyring) }
        let ingester = Ingester(
            registry: registry, keys: try DataKeys.load(from: registry, keyring: f.keyring),
            pseudonymiser: try Pseudonymiser(key: f.keyring.pseudonymKey), catalog: shippedCatalog)
        func ingest(_ source: String, _ text: String) throws -> IngestSummary {
            try ingester.ingest(
                file: try f.file("\(source)-\(UUID().uuidString).csv", text),
                mapping: try SourceMapping.load(source: source, directory: sourcesDirectory, catalog: shippedCatalog))
        }
        _ = try ingest("population", populationCSV(Array(persons.prefix(3))))
        let stranger = persons[4]
        let summary = try ingest(
            "labour",
            [
                labourHeader, labourRow(persons[0].iin, income: "1"), labourRow(stranger.iin, income: "2"),
                labourRow(persons[1].iin, income: "3"),
            ]
            .joined(separator: "\n"))
        #expect(summary.rowsAccepted == 2 && summary.rowsQuarantined == 1)
        #expect(
            summary.problems.map { "\($0.line) \($0.column) \($0.rule)" } == [
                "3 iin person is not in the population register"
            ])
        let quarantined = try registry.writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine WHERE line = 3")
        }
        #expect(quarantined == 1)
        // Counts kept with the batches agree with what is stored (the stranger's values are not counted).
        var stored = 0
        try registry.forEachStoredValue { _ in stored += 1 }
        let byClass = try registry.statistics().valuesByClass
        #expect(byClass.values.reduce(0, +) == stored, "\(byClass) vs \(stored)")
    }

    /// The file digest comes from the parsing pass: it must equal a keyed hash of the whole file.
    @Test func fileDigestIsTheKeyedHashOfTheWholeFile() throws {
        let f = try Fixture()
        let csv = populationCSV(persons)
        let summary = try f.ingest("population", csv)
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        let macKey = try #require(keys.writeKey(for: DataKeys.valueMACClass)).key
        let expected = try KeyedBLAKE2b.hash(Array(csv.utf8), key: macKey).map { String(format: "%02x", $0) }.joined()
        #expect(summary.fileDigest == expected)
        let stored = try f.registry.writer.read { db in
            try String.fetchOne(db, sql: "SELECT file_digest FROM batch WHERE id = ?", arguments: [summary.batch])
        }
        #expect(stored == expected)
        // Read in many small chunks, with lines split across them, the digest is the same.
        let hasher = try KeyedBLAKE2b.Hasher(key: macKey)
        var reader = try CSVLineReader(url: try f.file("digest.csv", csv), bufferSize: 512, digest: hasher)
        var lines = 0
        while try reader.nextLine() != nil { lines += 1 }
        #expect(lines == persons.count + 1)
        #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == expected)
    }

    @Test func newestObservationsTakeTheLatestDateThenTheLatestRecord() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let p = persons[1].iin
        for (income, date) in [("100", "2024-03-01"), ("200", "2024-01-01"), ("300", "2024-03-01")] {
            try f.ingest("labour", [labourHeader, labourRow(p, income: income, date: date)].joined(separator: "\n"))
        }
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        let subject = try Pseudonymiser(key: f.keyring.pseudonymKey).person(try IIN(validating: p))
        let found = try f.registry.newestObservations(
            subjects: [subject], indicators: ["economic.monthly_income", "employment.status", "no.such_indicator"])
        #expect(found.map(\.indicator) == ["economic.monthly_income", "employment.status"])
        let income = try #require(found.first)
        #expect(try income.opened(keyClass: "economic", keys: keys) == "300")
        // Nothing asked, nothing read.
        #expect(try f.registry.newestObservations(subjects: [subject], indicators: []).isEmpty)

        // Two subjects whose records interleave: each gets its own newest, grouped by subject.
        let q = persons[2].iin
        for (income, date) in [("700", "2024-05-01"), ("800", "2024-02-01")] {
            try f.ingest("labour", [labourHeader, labourRow(q, income: income, date: date)].joined(separator: "\n"))
        }
        try f.ingest("labour", [labourHeader, labourRow(p, income: "400", date: "2024-02-28")].joined(separator: "\n"))
        let other = try Pseudonymiser(key: f.keyring.pseudonymKey).person(try IIN(validating: q))
        let both = try f.registry.newestObservations(
            subjects: [other, subject], indicators: ["economic.monthly_income"])
        #expect(Set(both.map(\.subject)) == [subject, other])
        #expect(both.count == 2)
        // A subject named twice is read once.
        #expect(
            try f.registry.newestObservations(
                subjects: [other, subject, other], indicators: ["economic.monthly_income"]) == both)
        for observation in both {
            let value = try observation.opened(keyClass: "economic", keys: keys)
            #expect(value == (observation.subject == subject ? "300" : "700"))
        }
    }

    /// A registry written with the one-row-per-value layout keeps every value, id and count.
    /// Household membership follows the register: a person met twice in a first delivery, or
    /// moved in a later one, ends in the household and relation of the last row.
    @Test func membershipFollowsTheLastRegisterRow() throws {
        let f = try Fixture()
        func moved(_ p: TestPerson, to household: String) -> TestPerson {
            TestPerson(
                iin: p.iin, birthDate: p.birthDate, sex: p.sex, lastName: p.lastName, firstName: p.firstName,
                patronymic: p.patronymic, address: p.address, phone: p.phone, household: household, relation: "head")
        }
        let sizesAndHeads = {
            try f.registry.writer.read { db in
                (
                    try Int.fetchAll(db, sql: "SELECT count(*) FROM person GROUP BY household ORDER BY 1"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM person WHERE relation = 'head'") ?? -1
                )
            }
        }
        try f.ingest("population", populationCSV(persons + [moved(persons[1], to: "H9")]))
        #expect(try sizesAndHeads() == ([1, 2, 3], 3))
        try f.ingest("population", populationCSV([moved(persons[2], to: "H7")]))
        #expect(try sizesAndHeads() == ([1, 1, 2, 2], 4))
        let unchanged = try f.ingest("population", populationCSV([moved(persons[2], to: "H7")]))
        #expect(unchanged.valuesWritten == 0)
        #expect(try sizesAndHeads() == ([1, 1, 2, 2], 4))
    }

    @Test func migrationFromValueRowsKeepsEveryValue() throws {
        let queue = try DatabaseQueue()
        try Registry.migrator.migrate(queue, upTo: "v2: staff")
        let subject = Array(repeating: UInt8(7), count: Pseudonym.byteCount)
        try queue.write { db in
            try db.execute(
                sql:
                    "INSERT INTO indicator (number, id, class, survivor_sensitive) VALUES (1, 'a.one', 'economic', 0), (2, 'a.two', 'health', 0)"
            )
            for (indicator, id, date, version, sealed) in [
                (1, Int64(1) << 32 | 1, "2024-01-01", 1, [UInt8](repeating: 1, count: 30)),
                (2, Int64(1) << 32 | 2, "2024-01-01", 1, [UInt8](repeating: 2, count: 30)),
                (1, Int64(2) << 32 | 1, "2024-02-01", 2, [UInt8](repeating: 3, count: 30)),
            ] as [(Int64, Int64, String, Int64, [UInt8])] {
                try db.execute(
                    sql: """
                        INSERT INTO value (subject, indicator, id, observed_at, source, mac, key_version, sealed, batch)
                        VALUES (?, ?, ?, ?, 'labour', ?, ?, ?, ?)
                        """,
                    arguments: [
                        Data(subject), indicator, id, date, Data(repeating: 0, count: 16), version, Data(sealed),
                        id >> 32,
                    ])
            }
        }
        let registry = try Registry(queue)
        var values: [StoredValue] = []
        try registry.forEachStoredValue { values.append($0) }
        let expectedIDs: [Int64] = [1 << 32 | 1, 1 << 32 | 2, 2 << 32 | 1]
        #expect(values.map(\.recordID) == expectedIDs)
        #expect(values.map(\.source) == ["labour", "labour", "labour"])
        let firstBytes: [UInt8?] = values.map { $0.sealed.first }
        #expect(firstBytes == [1, 2, 3])
        let newest = try registry.newestObservations(
            subjects: [try #require(Pseudonym(bytes: subject))], indicators: ["a.one"])
        let newestFirst: [UInt8?] = newest.map { $0.sealed.first }
        #expect(newestFirst == [3])
        #expect(newest.map(\.keyVersion) == [2])
        let counts = try queue.read { db in try registry.valueCountsByClassAndVersion(db) }
        #expect(
            counts.map { "\($0.keyClass)/\($0.version)=\($0.count)" }.sorted() == [
                "economic/1=1", "economic/2=1", "health/1=1",
            ])
        #expect(try queue.read { db in try db.tableExists("value") } == false)
    }
}
