import Foundation
import ShanyrakIngest
import Testing

/// Rules a mapping file must follow before any feed goes through it.
struct SourceMappingTests {
    /// A folder holding one mapping `NAME.yaml` with `text`.
    final class MappingFolder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shanyrak-mapping-\(UUID().uuidString)")

        init(_ name: String, _ text: String) throws {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url.appendingPathComponent("\(name).yaml"))
        }

        deinit { try? FileManager.default.removeItem(at: url) }

        func load(_ name: String) throws -> SourceMapping {
            try SourceMapping.load(source: name, directory: url, catalog: shippedCatalog)
        }
    }

    /// The shipped mapping of `source`, as text.
    static func shipped(_ source: String) throws -> String {
        try String(contentsOf: sourcesDirectory.appendingPathComponent("\(source).yaml"), encoding: .utf8)
    }

    static let householdColumns =
        "household:\n  id: household_id\n  relation: relation_to_head\n  district: district_code\n"

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let source: String
        let text: String
        /// What the error must say after the file's name.
        let says: String
        var testDescription: String { name }
    }

    static let refused: [Case] = [
        Case(
            name: "police with household columns", source: "police", text: try! shipped("police") + householdColumns,
            says: "'household' columns need 'registers_persons: true'"),
        Case(
            name: "labour with household columns", source: "labour",
            text: try! shipped("labour") + householdColumns + "registers_persons: false\n",
            says: "'household' columns need 'registers_persons: true'"),
        Case(
            name: "household that is not a mapping", source: "police",
            text: try! shipped("police") + "household: yes\n",
            says: "'household' columns need 'registers_persons: true'"),
        Case(
            name: "register with 'registers_persons' not a boolean", source: "population",
            text: try! shipped("population").replacingOccurrences(
                of: "registers_persons: true", with: "registers_persons: \"sure\""),
            says: "'household' columns need 'registers_persons: true'"),
        Case(
            name: "police.yaml naming justice", source: "police",
            text: try! shipped("police").replacingOccurrences(of: "source: police", with: "source: justice"),
            says: "'source' is 'justice', but must be the file's name, 'police'"),
        Case(
            name: "labour.yaml naming the population register", source: "labour",
            text: try! shipped("labour").replacingOccurrences(of: "source: labour", with: "source: population"),
            says: "'source' is 'population', but must be the file's name, 'labour'"),
    ]

    @Test(arguments: refused)
    func aMappingBreakingARuleIsRefused(_ c: Case) throws {
        #expect(c.text != (try Self.shipped(c.source)))
        let folder = try MappingFolder(c.source, c.text)
        let file = folder.url.appendingPathComponent("\(c.source).yaml").path
        do {
            _ = try folder.load(c.source)
            Issue.record("mapping accepted")
        } catch let error as IngestError {
            #expect(error.exitCode == 2)
            #expect(error.message.hasPrefix(file + ":"), "\(error.message)")
            #expect(error.message.contains(c.says), "\(error.message)")
        }
    }

    /// Every shipped mapping follows the rules, and only the population register has household columns.
    @Test func everyShippedMappingLoads() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: sourcesDirectory.path)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        #expect(names == ["education", "health", "justice", "labour", "police", "population"])
        for name in names {
            let mapping = try SourceMapping.load(source: name, directory: sourcesDirectory, catalog: shippedCatalog)
            #expect(mapping.source == name)
            #expect((mapping.household != nil) == (name == "population"))
            #expect(mapping.registersPersons == (name == "population"))
        }
        // The same texts load from another folder under their own names.
        let folder = try MappingFolder("police", try Self.shipped("police"))
        #expect(try folder.load("police").source == "police")
    }

    /// Parsing text without a file name keeps the mapping's own `source:`.
    @Test func parseWithoutAnExpectedName() throws {
        let mapping = try SourceMapping.parse(
            yaml: try Self.shipped("justice"), file: "inline", catalog: shippedCatalog)
        #expect(mapping.source == "justice")
        #expect(throws: IngestError.self) {
            try SourceMapping.parse(
                yaml: try Self.shipped("justice"), file: "inline", catalog: shippedCatalog, expectedSource: "police")
        }
    }
}
