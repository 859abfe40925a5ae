import Foundation
import ShanyrakCore
import Testing

@testable import ShanyrakIngest

/// Tests of the synthetic population generator against the contracts ingest relies on:
/// determinism, valid IINs, headers equal to the source mappings, values valid for the
/// catalog, the region weights, and deliberate corruptions that are all detectable.
struct GeneratorTests {
    static let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Generates into a fresh temporary folder.
    static func generate(households: Int, seed: UInt64, errorRate: Double = 0) throws -> (URL, GenerationSummary) {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("shanyrak-gen-\(UUID().uuidString)", isDirectory: true)
        let summary = try PopulationGenerator(households: households, seed: seed, errorRate: errorRate)
            .write(to: dir)
        return (dir, summary)
    }

    static func lines(_ dir: URL, _ source: String) throws -> [Substring] {
        let text = try String(contentsOf: dir.appendingPathComponent("\(source).csv"), encoding: .utf8)
        #expect(text.utf8.last == 0x0A)
        #expect(!text.utf8.contains(0x0D))
        // Split on the bytes: splitting a String on Characters is slow in debug builds.
        return text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast().map { Substring($0) }
    }

    /// Splits one CSV line by RFC 4180; nil when its quoting is malformed.
    static func fields(_ line: Substring) -> [String]? {
        let bytes = Array(line.utf8)
        var result: [String] = []
        var i = 0
        while true {
            var field: [UInt8] = []
            if i < bytes.count && bytes[i] == 0x22 {
                i += 1
                var closed = false
                while i < bytes.count {
                    let c = bytes[i]
                    i += 1
                    if c == 0x22 {
                        if i < bytes.count && bytes[i] == 0x22 {
                            field.append(0x22)
                            i += 1
                        } else {
                            closed = true
                            break
                        }
                    } else {
                        field.append(c)
                    }
                }
                guard closed, i == bytes.count || bytes[i] == 0x2C else { return nil }
            } else {
                let start = i
                while i < bytes.count && bytes[i] != 0x2C {
                    if bytes[i] == 0x22 { return nil }
                    i += 1
                }
                field = Array(bytes[start..<i])
            }
            result.append(String(decoding: field, as: UTF8.self))
            guard i < bytes.count else { break }
            i += 1
        }
        return result
    }

    /// A source mapping read from `policies/sources/NAME.yaml` by simple line parsing.
    struct Mapping {
        var subject = ""
        var observedAt = ""
        var household: [String] = []
        /// Column name to indicator id, in file order.
        var columns: [(String, String)] = []
        var format = ""
        var indicatorColumn = ""
        var valueColumn = ""

        var expectedHeader: [String] {
            if format == "long" {
                return [subject, indicatorColumn, valueColumn, observedAt]
            }
            var header = [subject, observedAt] + household
            for (column, _) in columns where !header.contains(column) { header.append(column) }
            return header
        }
    }

    static func mapping(_ source: String) throws -> Mapping {
        let text = try String(
            contentsOf: repoRoot.appendingPathComponent("policies/sources/\(source).yaml"), encoding: .utf8)
        var m = Mapping()
        var section = ""
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let indented = line.hasPrefix(" ")
            if !indented {
                section = value.isEmpty ? key : ""
                switch key {
                case "subject": m.subject = value
                case "observed_at": m.observedAt = value
                case "format": m.format = value
                case "indicator_column": m.indicatorColumn = value
                case "value_column": m.valueColumn = value
                default: break
                }
            } else if section == "household" {
                m.household.append(value)
            } else if section == "columns" {
                m.columns.append((key, value))
            }
        }
        return m
    }

    static func catalog() throws -> IndicatorCatalog {
        try IndicatorCatalog.load(contentsOf: repoRoot.appendingPathComponent("policies/indicators.yaml"))
    }

    @Test func sameSeedIsByteIdenticalAndOtherSeedDiffers() throws {
        let (a, _) = try Self.generate(households: 400, seed: 42, errorRate: 0.05)
        let (b, _) = try Self.generate(households: 400, seed: 42, errorRate: 0.05)
        let (c, _) = try Self.generate(households: 400, seed: 43, errorRate: 0.05)
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(at: d) } }
        for source in PopulationGenerator.sources {
            let x = try Data(contentsOf: a.appendingPathComponent("\(source).csv"))
            let y = try Data(contentsOf: b.appendingPathComponent("\(source).csv"))
            let z = try Data(contentsOf: c.appendingPathComponent("\(source).csv"))
            #expect(x == y, "\(source).csv differs between two runs with the same seed")
            if source != "justice" && source != "police" {
                #expect(x != z, "\(source).csv is the same for two seeds")
            }
        }
    }

    @Test func errorRateDoesNotChangeThePopulation() throws {
        let (a, _) = try Self.generate(households: 300, seed: 9)
        let (b, _) = try Self.generate(households: 300, seed: 9, errorRate: 0.3)
        defer { for d in [a, b] { try? FileManager.default.removeItem(at: d) } }
        let x = try Data(contentsOf: a.appendingPathComponent("population.csv"))
        let y = try Data(contentsOf: b.appendingPathComponent("population.csv"))
        #expect(x == y)
    }

    @Test func refusesToOverwriteUnlessAsked() throws {
        let (dir, _) = try Self.generate(households: 5, seed: 1)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: GeneratorError.self) {
            _ = try PopulationGenerator(households: 5, seed: 2).write(to: dir)
        }
        _ = try PopulationGenerator(households: 5, seed: 2).write(to: dir, overwrite: true)
    }

    @Test func headersMatchTheSourceMappings() throws {
        let (dir, _) = try Self.generate(households: 50, seed: 3)
        defer { try? FileManager.default.removeItem(at: dir) }
        for source in PopulationGenerator.sources {
            let m = try Self.mapping(source)
            let header = try #require(Self.fields(try Self.lines(dir, source)[0]))
            #expect(Set(header) == Set(m.expectedHeader), "\(source): header \(header) vs mapping \(m.expectedHeader)")
            #expect(header.count == m.expectedHeader.count)
            #expect(header == PopulationGenerator.header(for: source))
        }
    }

    @Test func everyIINIsValidUniqueAndAgreesWithBirthDateAndSex() throws {
        let (dir, summary) = try Self.generate(households: 2000, seed: 11)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try Self.lines(dir, "population")
        let header = try #require(Self.fields(lines[0]))
        let col = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        var seen = Set<String>()
        var households = Set<String>()
        var relations = Set<String>()
        var withoutPatronymic = 0
        var moved = 0
        var headAddress: [String: String] = [:]
        for line in lines.dropFirst() {
            let f = try #require(Self.fields(line))
            #expect(f.count == header.count)
            let text = f[col["iin"]!]
            let iin = try IIN(validating: text)
            #expect(seen.insert(text).inserted, "duplicate IIN")
            #expect(iin.birthDate.description == f[col["birth_date"]!])
            #expect(iin.sex.rawValue == f[col["sex"]!])
            let century = Int(String(Array(text)[6]))!
            #expect(iin.birthDate.year >= 2000 ? century >= 5 : (century == 3 || century == 4))
            let household = f[col["household_id"]!]
            #expect(household.range(of: #"^H[0-9]{9}$"#, options: .regularExpression) != nil)
            households.insert(household)
            let district = f[col["district_code"]!]
            #expect(district.range(of: #"^(0[1-9]|1[0-9]|20)-[0-9]{2}$"#, options: .regularExpression) != nil)
            let phone = f[col["phone"]!]
            #expect(phone.isEmpty || phone.range(of: #"^\+77[0-9]{9}$"#, options: .regularExpression) != nil)
            let relation = f[col["relation_to_head"]!]
            relations.insert(relation)
            if relation == "head" { headAddress[household] = f[col["address"]!] }
            if f[col["patronymic"]!].isEmpty { withoutPatronymic += 1 }
            if let a = headAddress[household], a != f[col["address"]!] { moved += 1 }
        }
        #expect(seen.count == summary.persons)
        #expect(households.count == 2000)
        #expect(
            relations.isSubset(of: [
                "head", "spouse", "child", "parent", "grandchild", "sibling",
                "other_relative", "non_relative",
            ]))
        #expect(relations.count >= 6)
        #expect(withoutPatronymic > 0)
        #expect(moved > 0)
        let mean = Double(summary.persons) / 2000
        #expect(mean > 3.2 && mean < 3.8, "mean household size \(mean)")
    }

    /// Checks every row of the five agency files; returns the number of invalid rows.
    static func invalidRows(in dir: URL, catalog: IndicatorCatalog, persons: Set<String>) throws -> [String: Int] {
        var invalid: [String: Int] = [:]
        for source in PopulationGenerator.sources.dropFirst() {
            let m = try mapping(source)
            let lines = try Self.lines(dir, source)
            let header = try #require(fields(lines[0]))
            var bad = 0
            for line in lines.dropFirst() {
                guard let f = fields(line), f.count == header.count else {
                    bad += 1
                    continue
                }
                guard (try? IIN(validating: f[0])) != nil, persons.contains(f[0]) else {
                    bad += 1
                    continue
                }
                var ok = true
                if m.format == "long" {
                    #expect(f[3].count == 10)
                    if let indicator = catalog[f[1]], indicator.sources.contains(source),
                        let canonical = try? indicator.canonicalValue(f[2][...])
                    {
                        #expect(canonical == f[2])
                    } else {
                        ok = false
                    }
                } else {
                    for (i, name) in header.enumerated() where i >= 2 {
                        let id = try #require(m.columns.first { $0.0 == name }?.1)
                        let indicator = try #require(catalog[id])
                        #expect(indicator.sources.contains(source))
                        if let canonical = try? indicator.canonicalValue(f[i][...]) {
                            #expect(canonical == f[i])
                        } else {
                            ok = false
                        }
                    }
                }
                if !ok { bad += 1 }
            }
            invalid[source] = bad
        }
        return invalid
    }

    static func personSet(_ dir: URL) throws -> Set<String> {
        Set(try lines(dir, "population").dropFirst().map { String($0.prefix(12)) })
    }

    @Test func everyValueFitsTheCatalog() throws {
        let catalog = try Self.catalog()
        let (dir, summary) = try Self.generate(households: 2000, seed: 5)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Population: every non-empty mapped cell is valid; empty cells only for patronymic and phone.
        let m = try Self.mapping("population")
        let lines = try Self.lines(dir, "population")
        let header = try #require(Self.fields(lines[0]))
        for line in lines.dropFirst() {
            let f = try #require(Self.fields(line))
            for (i, name) in header.enumerated() {
                guard let id = m.columns.first(where: { $0.0 == name })?.1 else { continue }
                let indicator = try #require(catalog[id])
                if f[i].isEmpty {
                    #expect(name == "patronymic" || name == "phone", "empty \(name)")
                    continue
                }
                let canonical = try indicator.canonicalValue(f[i][...])
                #expect(canonical == f[i])
            }
        }
        let invalid = try Self.invalidRows(in: dir, catalog: catalog, persons: try Self.personSet(dir))
        for (source, count) in invalid { #expect(count == 0, "\(source): \(count) invalid rows") }
        // Every long-format indicator the brief names occurs.
        let police = Set(try Self.lines(dir, "police").dropFirst().compactMap { Self.fields($0)?[1] })
        #expect(
            police.isSuperset(of: [
                "violence.dv_report_count", "violence.last_report_date",
                "violence.protection_order", "violence.offender_registered",
            ]))
        let justice = Set(try Self.lines(dir, "justice").dropFirst().compactMap { Self.fields($0)?[1] })
        #expect(
            justice.isSuperset(of: [
                "violence.restraining_order_until", "social.guardianship",
                "social.alimony_debtor",
            ]))
        #expect(summary.statistics.violenceVictims > 0)
    }

    @Test func everyDeliberateCorruptionIsDetectable() throws {
        let catalog = try Self.catalog()
        let (dir, summary) = try Self.generate(households: 1500, seed: 77, errorRate: 0.2)
        defer { try? FileManager.default.removeItem(at: dir) }
        let invalid = try Self.invalidRows(in: dir, catalog: catalog, persons: try Self.personSet(dir))
        for file in summary.files.dropFirst() {
            #expect(invalid[file.source] == file.corruptedRows, "\(file.source)")
            #expect(file.corruptedRows > 0)
        }
        #expect(summary.files[0].corruptedRows == 0)
        let kinds = Set(summary.files.flatMap { $0.corruptions.map(\.kind) })
        #expect(kinds == Set(CorruptionKind.allCases))
    }

    @Test func violenceIsCoherentWithinHouseholds() throws {
        let (dir, _) = try Self.generate(households: 3000, seed: 21)
        defer { try? FileManager.default.removeItem(at: dir) }
        var household: [String: String] = [:]
        var sex: [String: String] = [:]
        var age: [String: Int] = [:]
        for line in try Self.lines(dir, "population").dropFirst() {
            let f = try #require(Self.fields(line))
            household[f[0]] = f[2]
            sex[f[0]] = f[9]
            age[f[0]] = 2026 - Int(f[8].prefix(4))!
        }
        var victims: [String] = []
        var offenders: [String] = []
        for line in try Self.lines(dir, "police").dropFirst() {
            let f = try #require(Self.fields(line))
            if f[1] == "violence.dv_report_count" { victims.append(f[0]) }
            if f[1] == "violence.offender_registered" { offenders.append(f[0]) }
        }
        #expect(victims.count > 10)
        let women = victims.filter { sex[$0] == "female" && age[$0]! >= 18 }.count
        #expect(Double(women) / Double(victims.count) > 0.8)
        let victimHouseholds = Set(victims.compactMap { household[$0] })
        for offender in offenders {
            #expect(sex[offender] == "male")
            #expect(victimHouseholds.contains(household[offender]!))
        }
    }

    @Test func regionSharesFollowTheWeights() throws {
        let (dir, summary) = try Self.generate(households: 20_000, seed: 2026)
        defer { try? FileManager.default.removeItem(at: dir) }
        var householdsByRegion = [Int](repeating: 0, count: 21)
        var personsByRegion = [Int](repeating: 0, count: 21)
        for line in try Self.lines(dir, "population").dropFirst() {
            // iin,observed_on,household_id,relation_to_head,district_code: no quotes before the district;
            // every household has exactly one head.
            let f = line.split(separator: ",", maxSplits: 5, omittingEmptySubsequences: false)
            let region = Int(f[4].prefix(2))!
            personsByRegion[region] += 1
            if f[3] == "head" { householdsByRegion[region] += 1 }
        }
        #expect(householdsByRegion.reduce(0, +) == summary.households)
        let n = Double(summary.households)
        for (i, expected) in Region.householdWeights.enumerated() {
            let observed = Double(householdsByRegion[i + 1]) / n
            let sigma = (expected * (1 - expected) / n).squareRoot()
            #expect(abs(observed - expected) < 4 * sigma + 0.002, "region \(i + 1): \(observed) vs \(expected)")
        }
        for (i, expected) in Region.populationWeights.enumerated() {
            let observed = Double(personsByRegion[i + 1]) / Double(summary.persons)
            #expect(abs(observed - expected) < 0.012, "region \(i + 1) persons: \(observed) vs \(expected)")
        }
    }
}
