import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakTestSupport
import Testing

/// `canonicalJSON()` writes the household card directly; its bytes must be exactly `JSONEncoder`'s.
struct CanonicalJSONTests {
    /// Ids chosen to tell orders apart: digits (numeric or byte order), case, `_` against letters.
    static let ids = [
        "economic.income", "economic.income_2", "economic.income_10", "economic.Income_b", "economic.income2",
        "economic.income10", "housing.rooms", "housing.Rooms_x", "housing.rooms.a", "social.a_b", "social.ab",
        "social.a-b", "social.a.b", "health.z", "education.level", "education.level_1",
    ]

    static let catalog: IndicatorCatalog = {
        let indicators = ids.map {
            Indicator(
                id: $0, type: .string, unit: nil, indicatorClass: .economic, sphere: .economic, sources: [],
                survivorSensitive: false, description: "")
        }
        return try! IndicatorCatalog(indicators: indicators)
    }()

    static func pseudonym(_ n: Int) -> Pseudonym {
        Pseudonym(bytes: (0..<16).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n &* 7) })!
    }

    @Test("direct writer equals JSONEncoder, byte for byte", arguments: [UInt64(1), 2, 3, 4, 5])
    func sameBytes(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let texts = [
            "1", "female", "a/b", "x y", "Алматы", "quote\"d", "back\\slash", "tab\there", "", "~^|{}", "Медет",
            "line\u{2028}sep", "del\u{7F}", "é😀", "<>&'",
        ]
        for round in 0..<200 {
            let members = (0..<Int.random(in: 0...6, using: &rng)).map { m in
                var values: [String: String] = [:]
                for id in Self.ids where Bool.random(using: &rng) {
                    values[id] = texts.randomElement(using: &rng)!
                }
                return HouseholdView.MemberInput(
                    pseudonym: Self.pseudonym(round * 10 + m), relation: texts.randomElement(using: &rng)!,
                    sex: ["male", "female", nil, "x"].randomElement(using: &rng)!,
                    ageBand: AgeBand.allCases.randomElement(using: &rng)!, indicators: values)
            }
            let view = try HouseholdView(
                household: Self.pseudonym(round), district: texts.randomElement(using: &rng)!, members: members,
                catalog: Self.catalog)
            #expect(try view.canonicalJSON() == view.encoderCanonicalJSON())
        }
    }

    @Test("person views: direct writer equals JSONEncoder, byte for byte", arguments: [UInt64(1), 2, 3])
    func personSameBytes(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        let texts = ["1", "male", "a/b", "Алматы", "quote\"d", "back\\slash", "nl\nx", "", "line\u{2029}sep", "é😀"]
        var ids = Self.ids
        ids.append(contentsOf: ["violence.protection_order", "identity.phone", "identity.address"])
        for round in 0..<300 {
            var values: [String: String] = [:]
            for id in ids where Bool.random(using: &rng) {
                values[id] = texts.randomElement(using: &rng)!
            }
            let view = PersonView(
                person: Self.pseudonym(round), household: Self.pseudonym(round + 1000),
                relation: texts.randomElement(using: &rng)!,
                sex: ["male", "female", nil, "x"].randomElement(using: &rng)!,
                ageBand: AgeBand.allCases.randomElement(using: &rng)!, indicators: values)
            #expect(try view.canonicalJSON() == view.encoderCanonicalJSON())
        }
    }

    @Test("age bands by arithmetic agree with the calendar")
    func utcDates() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var t = -2_000_000_000.0
        while t < 4_000_000_000 {
            let date = Date(timeIntervalSince1970: t)
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            for birth in ["2000-02-29", "1999-12-31", "2026-11-29", "1970-01-01", "1950-06-15"] {
                let parts = birth.split(separator: "-").map { Int($0)! }
                var age = c.year! - parts[0]
                if (c.month!, c.day!) < (parts[1], parts[2]) { age -= 1 }
                let band = AgeBand.of(birthDate: birth, on: date)
                switch age {
                case ..<0: #expect(band == .unknown)
                case 0...5: #expect(band == .upTo5)
                case 6...17: #expect(band == .from6To17)
                case 18...29: #expect(band == .from18To29)
                case 30...44: #expect(band == .from30To44)
                case 45...59: #expect(band == .from45To59)
                default: #expect(band == .from60)
                }
            }
            t += 86_400 * 3.7 + 1_234.5
        }
    }
}
