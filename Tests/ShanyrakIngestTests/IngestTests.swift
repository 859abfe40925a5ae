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

let repoRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let sourcesDirectory = repoRoot.appendingPathComponent("policies/sources")
let shippedCatalog = try! IndicatorCatalog.load(contentsOf: repoRoot.appendingPathComponent("policies/indicators.yaml"))

/// A person of the synthetic population register.
struct TestPerson {
    let iin: String
    let birthDate: String
    let sex: String
    let lastName, firstName, patronymic, address, phone: String
    let household: String
    let relation: String
}

/// `count` distinct persons with valid IINs (check digit from `IIN.checkDigit`).
func makePersons(_ count: Int, serialBase: Int = 0) -> [TestPerson] {
    var out: [TestPerson] = []
    var serial = serialBase
    while out.count < count {
        let i = out.count
        let year = 50 + i % 50
        let month = 1 + i % 12
        let day = 1 + i % 28
        let female = i % 2 == 1
        let first11 = String(format: "%02d%02d%02d%d%04d", year, month, day, female ? 4 : 3, serial % 10_000)
        serial += 1
        guard let check = IIN.checkDigit(first11.utf8.map { Int($0 - 0x30) }) else { continue }
        let iin = first11 + String(check)
        out.append(
            TestPerson(
                iin: iin, birthDate: String(format: "19%02d-%02d-%02d", year, month, day),
                sex: female ? "female" : "male", lastName: "Нұрланова\(i)қыз", firstName: "Әйгерім\(i)Ж",
                patronymic: "Серікқызы\(i)П", address: "Абай даңғылы \(i), пәтер \(i * 7)",
                phone: String(format: "+770155%05d", i), household: "H\(i / 4)", relation: i % 4 == 0 ? "head" : "child"
            ))
    }
    return out
}

let populationHeader =
    "iin,observed_on,household_id,relation_to_head,district_code,last_name,first_name,patronymic,birth_date,sex,marital_status,citizenship,address,phone"

func populationCSV(_ persons: [TestPerson]) -> String {
    ([populationHeader]
        + persons.map { p in
            "\(p.iin),2024-01-01,\(p.household),\(p.relation),01-02,\(p.lastName),\(p.firstName),\(p.patronymic),\(p.birthDate),\(p.sex),married,kz,\"\(p.address)\",\(p.phone)"
        }).joined(separator: "\n") + "\n"
}

let labourHeader =
    "iin,observed_on,employment_status,registered_unemployed,sector,monthly_income,targeted_social_assistance,pension,disability_benefit,child_benefit,housing_tenure,housing_waiting_list,large_family"

/// A labour row with only the monthly income and employment status filled in.
func labourRow(_ iin: String, income: String, date: String = "2024-02-01") -> String {
    "\(iin),\(date),employed,,,\(income),,,,,,,"
}

func statsJSON(_ r: Registry) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = .sortedKeys
    let extra = try r.writer.read { db in
        try [
            Int.fetchOne(db, sql: "SELECT count(*) FROM record") ?? -1,
            Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine") ?? -1,
            Int.fetchOne(db, sql: "SELECT count(*) FROM batch") ?? -1,
            Int.fetchOne(db, sql: "SELECT count(*) FROM person") ?? -1,
        ]
    }
    return String(decoding: try e.encode(r.statistics()), as: UTF8.self) + "\(extra)"
}

/// A fresh key folder and registry in a temporary folder.
final class Fixture {
    let root: URL
    let keysDir: URL
    let dataDir: URL
    let keyring: Keyring
    let registry: Registry

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("shanyrak-ingest-\(UUID().uuidString)")
        keysDir = root.appendingPathComponent("keys")
        dataDir = root.appendingPathComponent("data")
        try Keyring.create(at: keysDir)
        keyring = try Keyring.load(from: keysDir, environment: [:])
        registry = try Registry.create(dataDirectory: dataDir)
        try registry.initialise(catalog: shippedCatalog, keyring: keyring)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// The newest value of `indicator` for each of `persons`, opened with the data keys that
    /// `keyring` (by default the fixture's) unwraps now.
    func newestValues(of indicator: String, for persons: [TestPerson], keyring: Keyring? = nil) throws -> [String] {
        let keyring = keyring ?? self.keyring
        let keys = try DataKeys.load(from: registry, keyring: keyring)
        let pseudonymiser = try Pseudonymiser(key: keyring.pseudonymKey)
        let subjects = try persons.map { pseudonymiser.person(try IIN(validating: $0.iin)) }
        let cls = try #require(shippedCatalog.indicators.first { $0.id == indicator }).indicatorClass.rawValue
        return try registry.newestObservations(subjects: subjects, indicators: [indicator]).map {
            try $0.opened(keyClass: cls, keys: keys)
        }
    }

    func ingester() throws -> Ingester {
        Ingester(
            registry: registry, keys: try DataKeys.load(from: registry, keyring: keyring),
            pseudonymiser: try Pseudonymiser(key: keyring.pseudonymKey), catalog: shippedCatalog)
    }

    func file(_ name: String, _ text: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Ingests `text` as a feed of `source`, with `ingester` (by default one that loads the keys now).
    @discardableResult
    func ingest(
        _ source: String, _ text: String, allOrNothing: Bool = false, now: Date? = nil, using ingester: Ingester? = nil
    ) throws
        -> IngestSummary
    {
        let mapping = try SourceMapping.load(source: source, directory: sourcesDirectory, catalog: shippedCatalog)
        return try (ingester ?? self.ingester()).ingest(
            file: try file("\(source)-\(UUID().uuidString).csv", text), mapping: mapping,
            options: IngestOptions(allOrNothing: allOrNothing, now: now))
    }
}

struct IngestTests {
    let persons = makePersons(8)

    @Test func populationRowsAreAccepted() throws {
        let f = try Fixture()
        let s = try f.ingest("population", populationCSV(persons))
        #expect(s.rowsRead == 8)
        #expect(s.rowsAccepted == 8)
        #expect(s.rowsQuarantined == 0)
        #expect(s.valuesWritten == 8 * 10)
        #expect(s.problems.isEmpty)
        let stats = try f.registry.statistics()
        #expect(stats.persons == 8)
        #expect(stats.households == 2)
        #expect(stats.valuesByClass["identity"] == 8 * 7)
        #expect(stats.valuesByClass["demographic"] == 8 * 3)
        #expect(stats.batches == 1)
        let l = try f.ingest(
            "labour", ([labourHeader] + persons.map { labourRow($0.iin, income: "150000") }).joined(separator: "\n"))
        #expect(l.rowsAccepted == 8)
        #expect(l.valuesWritten == 16)
        #expect(try f.registry.statistics().valuesByClass["economic"] == 8)
    }

    struct BadRow: Sendable, CustomTestStringConvertible {
        let name: String
        let source: String
        let header: String
        let line: String
        let column: String
        let rule: String
        let secrets: [String]
        var testDescription: String { name }
    }

    static let known = makePersons(8)
    static let stranger = makePersons(1, serialBase: 5000)[0]
    static let badIIN = String(known[1].iin.prefix(11)) + String((Int(String(known[1].iin.last!))! + 1) % 10)

    static let badRows: [BadRow] = [
        BadRow(
            name: "bad IIN check digit", source: "labour", header: labourHeader,
            line: labourRow(badIIN, income: "123456"), column: "iin", rule: "check digit", secrets: [badIIN, "123456"]),
        BadRow(
            name: "person not in register", source: "labour", header: labourHeader,
            line: labourRow(stranger.iin, income: "654321"), column: "iin", rule: "not in the population register",
            secrets: [stranger.iin, "654321"]),
        BadRow(
            name: "wrong type", source: "labour", header: labourHeader,
            line: labourRow(known[1].iin, income: "lots9876"), column: "monthly_income", rule: "integer expected",
            secrets: [known[1].iin, "lots9876"]),
        BadRow(
            name: "police may not supply guardianship", source: "police", header: "iin,observed_on,indicator,value",
            line: "\(known[1].iin),2024-03-01,social.guardianship,true", column: "indicator", rule: "may not supply",
            secrets: [known[1].iin]),
        BadRow(
            name: "malformed CSV", source: "labour", header: labourHeader,
            line: "\(known[1].iin),2024-02-01,\"employed,,,777111,,,,,,,", column: "*", rule: "malformed CSV",
            secrets: [known[1].iin, "777111"]),
        BadRow(
            name: "too few fields", source: "labour", header: labourHeader,
            line: "\(known[1].iin),2024-02-01,employed,,,888222", column: "*", rule: "fields",
            secrets: [known[1].iin, "888222"]),
        BadRow(
            name: "bad observation date", source: "labour", header: labourHeader,
            line: labourRow(known[1].iin, income: "999333", date: "2024-02-30"), column: "observed_on", rule: "date",
            secrets: [known[1].iin, "999333"]),
    ]

    @Test(arguments: badRows)
    func badRowIsQuarantinedWithoutItsValues(_ bad: BadRow) throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(Self.known))
        let good =
            bad.source == "police"
            ? "\(Self.known[0].iin),2024-03-01,violence.dv_report_count,2" : labourRow(Self.known[0].iin, income: "100")
        let s = try f.ingest(bad.source, [bad.header, good, bad.line, good].joined(separator: "\n") + "\n")
        #expect(s.rowsRead == 3)
        #expect(s.rowsAccepted == 2)
        #expect(s.rowsQuarantined == 1)
        let problem = try #require(s.problems.first)
        #expect(problem.line == 3)
        #expect(problem.column == bad.column)
        #expect(problem.rule.contains(bad.rule), "\(problem.rule)")
        let encoded = String(decoding: try JSONEncoder().encode(s), as: UTF8.self)
        for secret in bad.secrets {
            #expect(!problem.rule.contains(secret))
            #expect(!encoded.contains(secret))
        }
        let stored = try f.registry.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT line, column_name, rule, sealed_line FROM quarantine")
        }
        #expect(stored.count == 1)
        #expect((stored.first?["line"] as Int64?) == 3)
        #expect((stored.first?["column_name"] as String?) == bad.column)
        let sealedLine: Data = try #require(stored.first?["sealed_line"])
        let storedRule: String = try #require(stored.first?["rule"])
        for secret in bad.secrets {
            #expect(!storedRule.contains(secret))
            #expect(sealedLine.range(of: Data(secret.utf8)) == nil)
        }
        #expect(try f.registry.statistics().quarantinedRows == 1)
    }

    @Test func identicalRedeliveryWritesNothingAndChangeAddsAVersion() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let feed = ([labourHeader] + persons.map { labourRow($0.iin, income: "150000") }).joined(separator: "\n")
        let first = try f.ingest("labour", feed)
        #expect(first.valuesWritten == 16)
        let before = try f.registry.statistics().valuesByClass
        let again = try f.ingest("labour", feed)
        #expect(again.valuesWritten == 0)
        #expect(again.valuesUnchanged == 16)
        #expect(again.rowsAccepted == 8)
        #expect(try f.registry.statistics().valuesByClass == before)
        let changed = try f.ingest(
            "labour", [labourHeader, labourRow(persons[0].iin, income: "175000")].joined(separator: "\n"))
        #expect(changed.valuesWritten == 1)
        #expect(changed.valuesUnchanged == 1)
        #expect(try f.registry.statistics().valuesByClass["economic"] == (before["economic"] ?? 0) + 1)
        #expect(try f.registry.statistics().valuesByClass["employment"] == before["employment"])
    }

    @Test func allOrNothingLeavesTheRegistryExactlyAsBefore() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let before = try statsJSON(f.registry)
        let feed = [
            labourHeader, labourRow(persons[0].iin, income: "1"), labourRow(persons[1].iin, income: "x"),
            labourRow(persons[2].iin, income: "3"),
        ].joined(separator: "\n")
        do {
            try f.ingest("labour", feed, allOrNothing: true)
            Issue.record("a bad row was accepted under all-or-nothing")
        } catch let error as IngestError {
            #expect(error.exitCode == 4)
            #expect(error.message.contains("line 3"))
            #expect(!error.message.contains(persons[1].iin))
        }
        #expect(try statsJSON(f.registry) == before)
        // Without the flag, the good rows load.
        #expect(try f.ingest("labour", feed).rowsAccepted == 2)
    }

    @Test func aDatabaseErrorMidBatchLeavesNothing() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let before = try statsJSON(f.registry)
        // The fifth record of a labour batch fails inside SQLite, after four were written.
        try f.registry.writer.write { db in
            try db.execute(
                sql: """
                    CREATE TEMP TRIGGER fail_mid_batch BEFORE INSERT ON main.record
                    WHEN (SELECT count(*) FROM main.record WHERE id >> 32 = NEW.id >> 32) >= 4
                    BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END
                    """)
        }
        let feed = ([labourHeader] + persons.map { labourRow($0.iin, income: "150000") }).joined(separator: "\n")
        #expect(throws: (any Error).self) { try f.ingest("labour", feed) }
        #expect(try statsJSON(f.registry) == before)
    }

    @Test func wrongHeaderAndUnknownSourceWriteNothing() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let before = try statsJSON(f.registry)
        for header in [
            labourHeader + ",extra", labourHeader.replacingOccurrences(of: "monthly_income,", with: ""),
            "iin,iin," + labourHeader.dropFirst(4), "",
        ] {
            do {
                try f.ingest("labour", header + (header.isEmpty ? "" : "\n" + labourRow(persons[0].iin, income: "5")))
                Issue.record("header accepted: \(header)")
            } catch let error as IngestError {
                #expect(error.exitCode == 2)
                #expect(!error.message.contains(persons[0].iin))
            }
        }
        for source in ["nosuchagency", "../population", "Population"] {
            do {
                _ = try SourceMapping.load(source: source, directory: sourcesDirectory, catalog: shippedCatalog)
                Issue.record("source accepted: \(source)")
            } catch let error as IngestError {
                #expect(error.exitCode == 2)
            }
        }
        #expect(try statsJSON(f.registry) == before)
    }

    @Test func registryCannotBeInitialisedTwice() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let before = try statsJSON(f.registry)
        #expect(throws: StoreError.alreadyInitialised(f.dataDir.path)) { try Registry.create(dataDirectory: f.dataDir) }
        #expect(throws: StoreError.self) { try f.registry.initialise(catalog: shippedCatalog, keyring: f.keyring) }
        #expect(try statsJSON(f.registry) == before)
        let other = Keyring(
            master: try SecureBytes.random(count: 32), pseudonymKey: f.keyring.pseudonymKey,
            auditSigning: f.keyring.auditSigning)
        #expect(throws: StoreError.self) { try DataKeys.load(from: f.registry, keyring: other) }
    }

    /// Every economic value with its subject, opened with the class key of its version.
    func openEconomic(_ f: Fixture) throws -> [String: [UInt32]] {
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        let economic = try Set(
            f.registry.writer.read { db in
                try String.fetchAll(db, sql: "SELECT id FROM indicator WHERE class = 'economic'")
            })
        var out: [String: [UInt32]] = [:]
        try f.registry.forEachStoredValue { value in
            guard economic.contains(value.indicator) else { return }
            let plain = try value.opened(keyClass: "economic", keys: keys)
            out[plain, default: []].append(value.keyVersion)
        }
        return out
    }

    @Test func rotateRewrapRetire() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest(
            "labour", ([labourHeader] + persons.map { labourRow($0.iin, income: "150000") }).joined(separator: "\n"))
        #expect(try openEconomic(f) == ["150000": Array(repeating: 1, count: 8)])

        #expect(try f.registry.rotateDataKey(className: "economic", keyring: f.keyring) == 2)
        #expect(throws: StoreError.self) { try f.registry.rotateDataKey(className: "nosuch", keyring: f.keyring) }
        #expect(throws: StoreError.self) { try f.registry.rotateDataKey(className: "valuemac", keyring: f.keyring) }
        try f.ingest("labour", [labourHeader, labourRow(persons[0].iin, income: "175000")].joined(separator: "\n"))
        // Old values still open under v1, the new one is sealed under v2.
        let opened = try openEconomic(f)
        #expect(opened["150000"] == Array(repeating: 1, count: 8))
        #expect(opened["175000"] == [2])

        func status(_ v: UInt32) throws -> KeyVersionStatus? {
            try f.registry.keyStatus().first { $0.keyClass == "economic" && $0.version == v }
        }
        #expect(try status(1)?.sealedCount == 8)
        #expect(try status(1)?.current == false)
        #expect(try status(2)?.sealedCount == 1)
        #expect(try status(2)?.current == true)
        #expect(try f.registry.keyStatus().first { $0.keyClass == "identity" }?.sealedCount == 8 * 7)

        #expect(throws: StoreError.self) { try f.registry.retireDataKey(className: "economic", version: 1) }
        #expect(throws: StoreError.self) { try f.registry.retireDataKey(className: "economic", version: 2) }

        #expect(try f.registry.rewrap(className: "economic", keyring: f.keyring, batchSize: 3) == 8)
        #expect(try f.registry.rewrap(className: nil, keyring: f.keyring) == 0)
        #expect(try status(1)?.sealedCount == 0)
        #expect(try status(2)?.sealedCount == 9)
        #expect(try openEconomic(f) == ["150000": Array(repeating: 2, count: 8), "175000": [2]])

        try f.registry.retireDataKey(className: "economic", version: 1)
        #expect(try status(1)?.state == "retired")
        #expect(throws: StoreError.self) { try f.registry.retireDataKey(className: "economic", version: 2) }
        #expect(throws: StoreError.self) { try f.registry.retireDataKey(className: "economic", version: 9) }
        // The retired key is erased, and everything still opens.
        let wrapped = try f.registry.writer.read { db in
            try Data.fetchOne(db, sql: "SELECT wrapped FROM data_key WHERE class = 'economic' AND version = 1")
        }
        #expect(wrapped.map { $0.allSatisfy { $0 == 0 } } == true)
        #expect(try openEconomic(f) == ["150000": Array(repeating: 2, count: 8), "175000": [2]])
        let again = try f.ingest(
            "labour", [labourHeader, labourRow(persons[0].iin, income: "175000")].joined(separator: "\n"))
        #expect(again.valuesWritten == 0)
        // Re-sealed values got the iv (and MAC) of the new version: delivering the first feed again changes nothing.
        let first = try f.ingest(
            "labour",
            ([labourHeader] + persons.dropFirst().map { labourRow($0.iin, income: "150000") }).joined(separator: "\n"))
        #expect(first.valuesWritten == 0 && first.valuesUnchanged == 2 * (persons.count - 1))
    }
}

struct NoPlaintextTests {
    @Test func registryFilesHoldNoPersonalPlaintext() throws {
        let f = try Fixture()
        let persons = makePersons(300)
        let s = try f.ingest("population", populationCSV(persons))
        #expect(s.rowsAccepted == 300)
        try f.ingest(
            "labour",
            ([labourHeader] + persons.prefix(50).map { labourRow($0.iin, income: "150000") }).joined(separator: "\n"))
        try f.ingest(
            "labour",
            [labourHeader, labourRow(persons[0].iin, income: "x"), labourRow("123", income: "1")].joined(
                separator: "\n"))
        var needles: [String] = []
        for p in persons { needles += [p.iin, p.lastName, p.firstName, p.patronymic, p.address, p.phone] }
        var checked = 0
        var all: [UInt8] = []
        for suffix in ["", "-wal", "-shm"] {
            let url = f.dataDir.appendingPathComponent(Registry.fileName + suffix)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                #expect(suffix != "", "registry.sqlite must exist")
                continue
            }
            checked += data.count
            all += data
            for needle in occurrences(of: needles, in: Array(data)) {
                Issue.record("plaintext of length \(needle.utf8.count) found in \(url.lastPathComponent)")
            }
        }
        #expect(checked > 100_000)
        // The search can fail: it finds what is in the file in plaintext.
        #expect(
            Set(occurrences(of: ["economic.monthly_income", "identity.phone"], in: all)) == [
                "economic.monthly_income", "identity.phone",
            ])
        #expect(occurrences(of: [persons[3].iin], in: Array("x,\(persons[3].iin),y".utf8)) == [persons[3].iin])
    }
}

/// The needles (each at least 8 bytes) that occur in `hay`: an 8-byte prefix index, then a full compare.
func occurrences(of needles: [String], in hay: [UInt8]) -> [String] {
    var byPrefix: [UInt64: [[UInt8]]] = [:]
    func word(_ b: some Collection<UInt8>) -> UInt64 { b.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    for n in needles {
        let u = Array(n.utf8)
        precondition(u.count >= 8)
        byPrefix[word(u), default: []].append(u)
    }
    var found: [String] = []
    guard hay.count >= 8 else { return found }
    var w = word(hay[0..<8])
    var i = 0
    while true {
        if let candidates = byPrefix[w] {
            for c in candidates where i + c.count <= hay.count && hay[i..<i + c.count].elementsEqual(c) {
                found.append(String(decoding: c, as: UTF8.self))
            }
        }
        guard i + 8 < hay.count else { break }
        w = w << 8 | UInt64(hay[i + 8])
        i += 1
    }
    return found
}
