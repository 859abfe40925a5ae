import Foundation
import ShanyrakCore
import Testing

struct ShippedCatalogTests {
    let catalog = try! IndicatorCatalog.load(contentsOf: repoRoot.appendingPathComponent("policies/indicators.yaml"))

    @Test func coversEveryClass() {
        #expect(catalog.indicators.count >= 30)
        #expect(Set(catalog.indicators.map(\.indicatorClass)) == Set(IndicatorClass.allCases))
        #expect(Set(catalog.indicators.map(\.id)).count == catalog.indicators.count)
    }

    @Test func violenceIsSurvivorSensitive() {
        let violence = catalog.indicators.filter { $0.indicatorClass == .violence }
        #expect(violence.filter(\.survivorSensitive).count >= 4)
        for v in violence {
            #expect(v.survivorSensitive, "\(v.id)")
            #expect(!v.mayAppearInHouseholdView, "\(v.id)")
        }
        #expect(catalog["identity.address"]?.mayAppearInHouseholdView == false)
        #expect(catalog["economic.monthly_income"]?.mayAppearInHouseholdView == true)
    }

    @Test func lookupByID() {
        #expect(catalog["economic.monthly_income"]?.type == .integer(min: 0, max: 100_000_000))
        #expect(catalog["no.such"] == nil)
    }
}

struct MalformedCatalogTests {
    static func yaml(_ entries: String) -> String {
        """
        version: 1
        indicators:
          - {id: health.ok, type: boolean, class: health, sphere: health, sources: [health], survivor_sensitive: false}
        \(entries)
        """
    }

    @Test(arguments: [
        (
            "  - {id: health.bad, type: float, class: health, sphere: health, sources: [health], survivor_sensitive: false}",
            "unknown type 'float'"
        ),
        (
            "  - {id: health.bad, type: boolean, class: medical, sphere: health, sources: [health], survivor_sensitive: false}",
            "unknown class 'medical'"
        ),
        (
            "  - {id: health.ok, type: boolean, class: health, sphere: health, sources: [health], survivor_sensitive: false}",
            "duplicate id"
        ),
        (
            "  - {id: violence.bad, type: boolean, class: violence, sphere: social, sources: [police], survivor_sensitive: false}",
            "survivor_sensitive"
        ),
        (
            "  - {id: health.bad, type: enum, class: health, sphere: health, sources: [health], survivor_sensitive: false}",
            "values"
        ),
        (
            "  - {id: health.bad, type: enum, values: [], class: health, sphere: health, sources: [health], survivor_sensitive: false}",
            "values"
        ),
        (
            "  - {id: health.bad, type: integer, min: 5, max: 1, class: health, sphere: health, sources: [health], survivor_sensitive: false}",
            "min"
        ),
        (
            "  - {id: health.bad, type: boolean, class: health, sphere: health, sources: [], survivor_sensitive: false}",
            "sources"
        ),
        (
            "  - {id: health.bad, type: boolean, class: health, sphere: moon, sources: [health], survivor_sensitive: false}",
            "sphere"
        ),
        (
            "  - {id: health.bad, type: boolean, class: health, sphere: health, sources: [health, Police], survivor_sensitive: false}",
            "source 2 of 'sources'"
        ),
        (
            // "caf\u{E9}" and "cafe\u{301}" are one String to Swift and two names to Cedar: non-ASCII is refused.
            "  - {id: health.bad, type: boolean, class: health, sphere: health, sources: [caf\u{E9}], survivor_sensitive: false}",
            "breaks the rule for names"
        ),
        (
            "  - {id: Bad-Id, type: boolean, class: health, sphere: health, sources: [health], survivor_sensitive: false}",
            "id must be"
        ),
    ])
    func refusedNamingTheEntry(_ entry: String, _ rule: String) {
        do {
            _ = try IndicatorCatalog.parse(yaml: Self.yaml(entry))
            Issue.record("catalog with a bad entry was accepted")
        } catch {
            #expect(error.message.contains("indicator 2"), "\(error.message)")
            #expect(error.message.contains(rule), "\(error.message)")
        }
    }

    @Test func missingFieldAndBadYAMLAreRefused() {
        #expect(throws: CatalogError.self) {
            try IndicatorCatalog.parse(yaml: Self.yaml("  - {id: health.bad, type: boolean, class: health}"))
        }
        #expect(throws: CatalogError.self) { try IndicatorCatalog.parse(yaml: "indicators: [") }
    }

    @Test func loadNamesTheFile() {
        let url = URL(fileURLWithPath: "/nonexistent/indicators.yaml")
        do {
            _ = try IndicatorCatalog.load(contentsOf: url)
            Issue.record("missing file accepted")
        } catch {
            #expect(error.message.contains(url.path))
        }
    }
}

struct CanonicalValueTests {
    static func indicator(_ type: IndicatorType) -> Indicator {
        Indicator(
            id: "test.value", type: type, unit: nil, indicatorClass: .health, sphere: .health, sources: ["health"],
            survivorSensitive: false, description: "")
    }

    @Test(arguments: [
        ("true", "true"), ("1", "true"), ("yes", "true"), ("false", "false"), ("0", "false"), ("no", "false"),
    ])
    func booleans(_ raw: String, _ canonical: String) throws {
        #expect(try Self.indicator(.boolean).canonicalValue(Substring(raw)) == canonical)
    }

    @Test(arguments: ["TRUE", "True", "y", "2", "", " true", "true "])
    func badBooleans(_ raw: String) {
        #expect(throws: ValueError.self) { try Self.indicator(.boolean).canonicalValue(Substring(raw)) }
    }

    @Test(arguments: [("0", "0"), ("100", "100"), ("0100", "100"), ("+5", "5"), ("-0", "0")])
    func integers(_ raw: String, _ canonical: String) throws {
        #expect(try Self.indicator(.integer(min: -10, max: 100)).canonicalValue(Substring(raw)) == canonical)
    }

    @Test(arguments: ["101", "-11", "1.5", "abc", "", " 1", "99999999999999999999"])
    func badIntegers(_ raw: String) {
        #expect(throws: ValueError.self) {
            try Self.indicator(.integer(min: -10, max: 100)).canonicalValue(Substring(raw))
        }
    }

    @Test(arguments: ["2024-02-29", "2000-02-29", "1999-12-31", "2023-01-01"])
    func dates(_ raw: String) throws {
        #expect(try Self.indicator(.date).canonicalValue(Substring(raw)) == raw)
    }

    @Test(arguments: [
        "2023-02-29", "1900-02-29", "2024-13-01", "2024-04-31", "2024-00-10", "2024-1-01", "24-01-01",
        "2024/01/01", "2024-01-1a", "",
    ])
    func badDates(_ raw: String) {
        #expect(throws: ValueError.self) { try Self.indicator(.date).canonicalValue(Substring(raw)) }
    }

    @Test func enumerations() throws {
        let i = Self.indicator(.enumeration(["owned", "rented"]))
        #expect(try i.canonicalValue("rented") == "rented")
        for bad in ["Rented", "rent", "", "owned "] {
            #expect(throws: ValueError.self) { try i.canonicalValue(Substring(bad)) }
        }
    }

    @Test func strings() throws {
        let i = Self.indicator(.string)
        #expect(try i.canonicalValue("Әлия, \"Нұр\"") == "Әлия, \"Нұр\"")
        #expect(try i.canonicalValue(Substring(String(repeating: "a", count: 512))).count == 512)
        for bad in ["", "a\u{0}b", "tab\there", "line\nbreak", "del\u{7f}", String(repeating: "a", count: 513)] {
            #expect(throws: ValueError.self) { try i.canonicalValue(Substring(bad)) }
        }
    }

    @Test func errorsNeverCarryTheValue() {
        let secret = "77012345678"
        do {
            _ = try Self.indicator(.integer(min: 0, max: 10)).canonicalValue(Substring(secret))
            Issue.record("accepted")
        } catch {
            #expect(!error.rule.contains(secret))
        }
    }
}
