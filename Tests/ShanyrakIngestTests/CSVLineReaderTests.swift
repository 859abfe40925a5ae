import Foundation
import GRDB
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Testing

/// Line endings, a byte-order mark and the line length limit, as agencies' files have them.
struct CSVLineReaderTests {
    let persons = makePersons(4)
    static let byteOrderMark = "\u{FEFF}"

    /// Every line of `text`, read with a buffer of `bufferSize` bytes.
    func lines(_ text: String, bufferSize: Int) throws -> [String] {
        let f = try Fixture()
        var reader = try CSVLineReader(url: try f.file("lines.csv", text), bufferSize: bufferSize)
        var out: [String] = []
        while let line = try reader.nextLine() { out.append(String(decoding: line, as: UTF8.self)) }
        #expect(reader.lineNumber == out.count)
        return out
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let text: String
        let lines: [String]
        let name: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(text: "a,b\nc,d\n", lines: ["a,b", "c,d"], name: "LF"),
        Case(text: "a,b\r\nc,d\r\n", lines: ["a,b", "c,d"], name: "CRLF"),
        Case(text: "a,b\r\nc,d", lines: ["a,b", "c,d"], name: "no line ending at the end"),
        Case(text: "a,b\r\nc,d\r", lines: ["a,b", "c,d"], name: "a lone CR at the end"),
        Case(text: "a,b\nc,d\n\r", lines: ["a,b", "c,d", ""], name: "a lone CR after the last line"),
        Case(text: byteOrderMark + "a,b\nc,d\n", lines: ["a,b", "c,d"], name: "a byte-order mark"),
        Case(text: byteOrderMark + "a,b\r\nc,d\r", lines: ["a,b", "c,d"], name: "a byte-order mark and CRs"),
        Case(text: byteOrderMark + "\n", lines: [""], name: "only a byte-order mark"),
        Case(text: "a,b\n" + byteOrderMark + "c\n", lines: ["a,b", byteOrderMark + "c"], name: "a later mark is data"),
        Case(text: "\u{FEFF}\u{FEFF}a\n", lines: ["\u{FEFF}a"], name: "only the first mark is skipped"),
    ]

    /// The same lines whatever the buffer size, so also when the end of a line arrives in a later read.
    @Test(arguments: cases, [8, 9, 10, 11, 12, 1 << 22])
    func lineEndingsAndByteOrderMark(_ c: Case, bufferSize: Int) throws {
        let longest = c.text.utf8.split(separator: 0x0a, omittingEmptySubsequences: false).map(\.count).max() ?? 0
        try #require(longest < bufferSize)
        #expect(try lines(c.text, bufferSize: bufferSize) == c.lines)
    }

    /// A line with its line ending must fit in the buffer; one byte more and the read fails,
    /// naming the file, the line and the rule, never the content.
    @Test(arguments: ["\n", "\r\n"])
    func theLineLengthLimitCountsTheLineEnding(_ ending: String) throws {
        let fits = String(repeating: "7", count: 16 - ending.utf8.count)
        #expect(try lines("a\n" + fits + ending + "b\n", bufferSize: 16) == ["a", fits, "b"])
        let f = try Fixture()
        let url = try f.file("long.csv", "a\n" + fits + "8" + ending + "b\n")
        var reader = try CSVLineReader(url: url, bufferSize: 16)
        #expect(try reader.nextLine().map { Array($0) } == Array("a".utf8))
        do {
            _ = try reader.nextLine()
            Issue.record("a line longer than the buffer was read")
        } catch let error as IngestError {
            #expect(error.exitCode == 2)
            #expect(error.message.hasPrefix("\(url.path):2: line 2 "), "\(error.message)")
            #expect(error.message.contains("line length limit (16 bytes"), "\(error.message)")
            // The file's path (a random temporary name, which may hold "777") aside, no content is quoted.
            #expect(!error.message.replacingOccurrences(of: url.path, with: "FILE").contains("777"))
        }
    }

    /// A feed saved by a spreadsheet: a byte-order mark, CRLF, and a last line ending in a lone CR.
    @Test func aFeedWithAByteOrderMarkAndCRLoadsWhole() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let rows = [labourHeader] + persons.map { labourRow($0.iin, income: "150000") + "false" }
        let csv = Self.byteOrderMark + rows.joined(separator: "\r\n") + "\r"
        let s = try f.ingest("labour", csv)
        #expect(s.rowsRead == persons.count)
        #expect(s.rowsAccepted == persons.count, "\(s.problems)")
        #expect(s.problems.isEmpty)
        // The file's digest is of every byte of the file, the mark included.
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        let macKey = try #require(keys.writeKey(for: DataKeys.valueMACClass)).key
        let expected = try KeyedBLAKE2b.hash(Array(csv.utf8), key: macKey).map { String(format: "%02x", $0) }.joined()
        #expect(s.fileDigest == expected)
        // The same rows without the mark and with LF are the same values.
        let again = try f.ingest("labour", rows.joined(separator: "\n") + "\n")
        #expect(again.valuesWritten == 0 && again.valuesUnchanged == s.valuesWritten)
    }

    /// The CR of a last line is not kept in its last value: a string indicator would store it.
    @Test func aLoneCRAtTheEndIsNotPartOfTheLastValue() throws {
        let f = try Fixture()
        let csv = populationCSV(persons)
        let first = try f.ingest("population", String(csv.dropLast()) + "\r")
        #expect(first.rowsAccepted == persons.count)
        let again = try f.ingest("population", csv)
        #expect(again.valuesWritten == 0, "the last phone number was stored with its CR")
    }

    /// A line over the limit refuses the whole feed, naming the line and the rule, not its content.
    @Test(arguments: [1, 3])
    func aLineOverTheLimitRefusesTheFeed(line: Int) throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let before = try statsJSON(f.registry)
        let secret = "Zh\u{0430}ksylykova"
        let long = labourRow(persons[1].iin, income: "1") + String(repeating: secret, count: (1 << 22) / 10)
        var rows = [labourHeader, labourRow(persons[0].iin, income: "2"), labourRow(persons[2].iin, income: "3")]
        rows[line - 1] = line == 1 ? labourHeader + "," + String(repeating: secret, count: (1 << 22) / 10) : long
        do {
            try f.ingest("labour", rows.joined(separator: "\n") + "\n")
            Issue.record("a feed with a line over 4 MiB was loaded")
        } catch let error as IngestError {
            #expect(error.exitCode == 2)
            #expect(error.message.contains(":\(line): line \(line) is longer than the line length limit"))
            #expect(error.message.contains("4194304 bytes"))
            #expect(!error.message.contains(persons[1].iin))
            #expect(!error.message.contains(secret))
        }
        #expect(try statsJSON(f.registry) == before)
    }
}
