import Foundation
import ShanyrakStore
import Testing

@testable import ShanyrakIngest

/// Header errors reach the agency (HTTP) and the operator (CLI). A file without its header line
/// has a data row there, so an error quotes a header cell only when it looks like a column name.
struct HeaderMessageTests {
    static let persons = makePersons(4)

    /// A header line and what the error about it says after `FILE:1: `, and must not say.
    struct Case: Sendable, CustomTestStringConvertible {
        let source: String
        let header: String
        let says: String
        let secrets: [String]
        var testDescription: String { says }
    }

    static let p = persons[1]
    /// The row of `p` in the population register, as `populationCSV` writes it.
    static let registerRow = String(populationCSV([p]).split(separator: "\n")[1])

    static let cases: [Case] = [
        // No header line: a register row with a name twice.
        Case(
            source: "population",
            header: "\(p.iin),2024-01-01,H1,head,01-02,\(p.lastName),\(p.lastName),\(p.patronymic),\(p.birthDate)",
            says: "column 7 of the header has the same name as column 6", secrets: [p.iin, p.lastName, p.patronymic]),
        // No header line: an IIN twice.
        Case(
            source: "labour", header: "\(p.iin),\(p.iin),2024-02-01,employed",
            says: "column 2 of the header has the same name as column 1", secrets: [p.iin]),
        // No header line: a date twice.
        Case(
            source: "labour", header: "\(p.iin),2024-02-01,2024-02-01,employed",
            says: "column 3 of the header has the same name as column 2", secrets: [p.iin, "2024-02-01"]),
        // A register row run on after the header line.
        Case(
            source: "population",
            header: populationHeader + "," + registerRow,
            says: "column 15 of the header is not in the population mapping", secrets: [p.iin, p.lastName]),
        // An address after the header line.
        Case(
            source: "population",
            header: populationHeader + ",\"\(p.address)\"",
            says: "column 15 of the header is not in the population mapping", secrets: [p.address]),
        // A phone number twice.
        Case(
            source: "population",
            header: populationHeader + ",\(p.phone),\(p.phone)",
            says: "column 16 of the header has the same name as column 15", secrets: [p.phone]),
        // A name longer than 64 bytes.
        Case(
            source: "labour", header: labourHeader + "," + String(repeating: "a", count: 65),
            says: "column 14 of the header is not in the labour mapping", secrets: [String(repeating: "a", count: 65)]),
        // Column names are still quoted, so that an operator sees which one is wrong: a column twice,
        Case(
            source: "labour", header: "iin,iin," + labourHeader.dropFirst(4),
            says: "column 'iin' has the same name as column 1", secrets: []),
        // an extra column,
        Case(
            source: "labour", header: labourHeader + ",extra_col.v2",
            says: "column 'extra_col.v2' is not in the labour mapping", secrets: []),
        // a missing column.
        Case(
            source: "labour",
            header: labourHeader.replacingOccurrences(of: "monthly_income,", with: ""),
            says: "header lacks column 'monthly_income' required by the labour mapping", secrets: []),
    ]

    @Test(arguments: cases)
    func headerErrorsQuoteOnlyColumnNames(_ c: Case) throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(Self.persons))
        let before = try statsJSON(f.registry)
        let next = c.source == "labour" ? labourRow(Self.persons[0].iin, income: "1") : Self.registerRow
        do {
            try f.ingest(c.source, [c.header, next].joined(separator: "\n") + "\n")
            Issue.record("header accepted")
        } catch let error as IngestError {
            #expect(error.exitCode == 2)
            #expect(error.message.hasSuffix(":1: " + c.says), "\(error.message)")
            for secret in c.secrets { #expect(!error.message.contains(secret), "\(error.message)") }
        }
        #expect(try statsJSON(f.registry) == before)
    }

    @Test(arguments: [
        ("iin", true), ("observed_on", true), ("_x", true), ("a.b_2", true), ("Serik", true),
        (String(repeating: "a", count: 64), true), (String(repeating: "a", count: 65), false), ("", false),
        ("900101300017", false), ("2024-01-01", false), ("1st", false), (".x", false), ("a b", false),
        ("a-b", false), ("Әйгерім", false), ("+77015550001", false), ("iin\u{0}", false),
    ])
    func whatLooksLikeAColumnName(_ name: String, _ looks: Bool) {
        #expect(RowLayout.looksLikeColumnName(name) == looks)
    }
}
