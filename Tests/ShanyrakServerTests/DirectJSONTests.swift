import Foundation
import HTTPTypes
@_spi(Generated) import OpenAPIRuntime
import ShanyrakAccess
import ShanyrakTestSupport
import Testing

@testable import ShanyrakServer

/// The household card and the person view are written without `JSONEncoder` (`Converter+CanonicalViews.swift`):
/// the bytes must be exactly those of the runtime's own JSON encoding, and the direct path must be the one taken.
@Suite("HTTP API: views written directly")
struct DirectJSONTests {
    /// Texts that tell the writer's cases apart: plain ASCII and Cyrillic, and every kind that needs escaping.
    static let plainTexts = ["1", "head", "a/b", "x y", "Алматы", "", "~^|{}", "é😀", "<>&'"]
    static let escapedTexts = ["quote\"d", "back\\slash", "tab\there", "line\u{2028}sep", "del\u{7F}", "nl\nx"]

    /// A text, plain 49 times in 50, so that about half the cards are plain throughout.
    static func text(_ rng: inout SeededRandom) -> String {
        Int.random(in: 0..<50, using: &rng) < 1
            ? escapedTexts.randomElement(using: &rng)! : plainTexts.randomElement(using: &rng)!
    }
    static let ids = [
        "economic.income", "economic.income_2", "economic.income_10", "economic.Income_b", "economic.income2",
        "housing.rooms", "housing.Rooms_x", "housing.rooms.a", "social.a_b", "social.ab", "social.a-b", "health.z",
    ]

    /// The runtime's generic method, as the generated code would call it without the overloads.
    static func runtimeBody<Value: Encodable>(_ value: Value) throws -> HTTPBody {
        var headers = HTTPFields()
        return try Converter(configuration: ShanyrakServer.configuration).setResponseBodyAsJSON(
            value, headerFields: &headers, contentType: "application/json; charset=utf-8")
    }

    static func indicators(_ rng: inout SeededRandom) -> [String: String] {
        var values: [String: String] = [:]
        for id in ids where Bool.random(using: &rng) { values[id] = text(&rng) }
        return values
    }

    static func allPlain(_ strings: [String]) -> Bool {
        strings.allSatisfy { text in
            !text.unicodeScalars.contains {
                $0.value < 0x20 || $0 == "\"" || $0 == "\\" || $0.value == 0x7F
                    || $0 == "\u{2028}" || $0 == "\u{2029}"
            }
        }
    }

    @Test("the writer's self-checks against the runtime's encoder hold")
    func selfChecks() {
        #expect(Components.Schemas.HouseholdView.writerAgreesWithEncoder)
        #expect(Components.Schemas.PersonView.writerAgreesWithEncoder)
    }

    @Test("household cards: the same bytes and headers as the runtime's encoding", arguments: [UInt64(1), 2, 3])
    func householdCards(seed: UInt64) async throws {
        var rng = SeededRandom(seed: seed)
        var direct = 0
        for round in 0..<150 {
            let members = (0..<Int.random(in: 0...5, using: &rng)).map { m in
                Components.Schemas.HouseholdMember(
                    pseudonym: String(format: "%032x", round * 10 + m), relation: Self.text(&rng),
                    sex: Components.Schemas.Sex.allCases.randomElement(using: &rng)!,
                    ageBand: Components.Schemas.AgeBand.allCases.randomElement(using: &rng)!,
                    indicators: IndicatorValues(Self.indicators(&rng)))
            }
            let card = Components.Schemas.HouseholdView(
                household: String(format: "%032x", round), district: Self.text(&rng),
                members: members)
            var headers = HTTPFields()
            let body = try Converter(configuration: ShanyrakServer.configuration).setResponseBodyAsJSON(
                card, headerFields: &headers, contentType: "application/json; charset=utf-8")
            let bytes = try await Data(collecting: body, upTo: 1 << 20)
            let expected = try await Data(collecting: Self.runtimeBody(card), upTo: 1 << 20)
            #expect(bytes == expected)
            #expect(headers[.contentType] == "application/json; charset=utf-8")
            #expect(headers[.contentLength] == String(bytes.count))
            let strings =
                [card.district]
                + members.flatMap { [$0.relation] + $0.indicators.entries.flatMap { [$0.id, $0.value] } }
            // Plain cards take the direct path; the others go back to the encoder.
            #expect((card.directCanonicalJSON() != nil) == Self.allPlain(strings))
            if card.directCanonicalJSON() != nil { direct += 1 }
        }
        #expect(direct > 10)
    }

    @Test("person views: the same bytes and headers as the runtime's encoding", arguments: [UInt64(4), 5])
    func personViews(seed: UInt64) async throws {
        var rng = SeededRandom(seed: seed)
        var direct = 0
        for round in 0..<200 {
            let view = Components.Schemas.PersonView(
                person: String(format: "%032x", round), household: String(format: "%032x", round + 1000),
                relation: Self.text(&rng),
                sex: Components.Schemas.Sex.allCases.randomElement(using: &rng)!,
                ageBand: Components.Schemas.AgeBand.allCases.randomElement(using: &rng)!,
                indicators: IndicatorValues(Self.indicators(&rng)))
            var headers = HTTPFields()
            let body = try Converter(configuration: ShanyrakServer.configuration).setResponseBodyAsJSON(
                view, headerFields: &headers, contentType: "application/json; charset=utf-8")
            let bytes = try await Data(collecting: body, upTo: 1 << 20)
            #expect(bytes == (try await Data(collecting: Self.runtimeBody(view), upTo: 1 << 20)))
            #expect(headers[.contentLength] == String(bytes.count))
            let strings = [view.relation] + view.indicators.entries.flatMap { [$0.id, $0.value] }
            #expect((view.directCanonicalJSON() != nil) == Self.allPlain(strings))
            if view.directCanonicalJSON() != nil { direct += 1 }
        }
        #expect(direct > 10)
    }
}
