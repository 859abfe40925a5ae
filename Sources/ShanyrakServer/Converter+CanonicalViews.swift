import Foundation
import HTTPTypes
@_spi(Generated) import OpenAPIRuntime
import ShanyrakAccess

// The household card and the person view without JSONEncoder.
//
// The generated handlers encode every `application/json` body with the runtime's generic
// `converter.setResponseBodyAsJSON(_:headerFields:contentType:)`, which runs `JSONEncoder`:
// an eighth of a household view's CPU. The two overloads below take the view types
// themselves, so overload resolution picks them over the generic method in the generated
// code. They write the same bytes with `CanonicalViewJSON` and hand whatever that writer is
// not sure of (a string it would have to escape, an unexpected key order) back to the
// runtime's method. Tests compare the bytes with `JSONEncoder`'s, for random views and for
// the views the server answers. Should a later generator stop calling this method, the
// runtime's encoder simply takes over again: slower, same bytes.

/// A contract type whose JSON `CanonicalViewJSON` can write.
protocol DirectlyWrittenJSON: Encodable {
    /// The bytes the runtime's encoder writes for the value, written directly; nil when not certain.
    func directCanonicalJSON() -> Data?
}

extension Converter {
    /// A household card's body: the canonical bytes, written directly.
    /// - Throws: what the runtime's JSON encoding throws, when it is used.
    func setResponseBodyAsJSON(
        _ value: Components.Schemas.HouseholdView, headerFields: inout HTTPFields, contentType: String
    ) throws -> HTTPBody {
        try directBody(value, headerFields: &headerFields, contentType: contentType)
    }

    /// A person view's body: the canonical bytes, written directly.
    /// - Throws: what the runtime's JSON encoding throws, when it is used.
    func setResponseBodyAsJSON(
        _ value: Components.Schemas.PersonView, headerFields: inout HTTPFields, contentType: String
    ) throws -> HTTPBody {
        try directBody(value, headerFields: &headerFields, contentType: contentType)
    }

    /// The directly written bytes with the headers the runtime sets for a body of known length; or, when
    /// the writer is not sure of them, the runtime's own generic method (called from a generic context,
    /// so not one of the overloads above).
    private func directBody<Value: DirectlyWrittenJSON>(
        _ value: Value, headerFields: inout HTTPFields, contentType: String
    ) throws -> HTTPBody {
        guard let bytes = value.directCanonicalJSON() else {
            return try setResponseBodyAsJSON(value, headerFields: &headerFields, contentType: contentType)
        }
        headerFields[.contentType] = contentType
        headerFields[.contentLength] = String(bytes.count)
        return HTTPBody(bytes)
    }
}

extension Components.Schemas.HouseholdView: DirectlyWrittenJSON {
    /// The bytes the runtime's encoder writes for this card, written directly; nil when not certain.
    func directCanonicalJSON() -> Data? {
        guard Self.writerAgreesWithEncoder else { return nil }
        return CanonicalViewJSON.householdCard(
            household: household, district: district,
            members: members.map {
                CanonicalViewJSON.Member(
                    pseudonym: $0.pseudonym, relation: $0.relation, sex: $0.sex.rawValue, ageBand: $0.ageBand.rawValue,
                    indicators: $0.indicators)
            })
    }

    /// Whether the writer and the runtime's encoder agree on a sample card (checked once per process).
    static let writerAgreesWithEncoder: Bool = {
        let sample = Self(
            household: String(repeating: "ab", count: 16), district: "D1",
            members: [
                .init(
                    pseudonym: String(repeating: "cd", count: 16), relation: "head", sex: .female, ageBand: ._3044,
                    indicators: IndicatorValues(["x.y": "1", "a.b": "2"]))
            ])
        return ShanyrakServer.encodedByRuntime(sample)
            == CanonicalViewJSON.householdCard(
                household: sample.household, district: sample.district,
                members: [
                    CanonicalViewJSON.Member(
                        pseudonym: sample.members[0].pseudonym, relation: "head", sex: "female", ageBand: "30-44",
                        indicators: IndicatorValueList(["x.y": "1", "a.b": "2"]))
                ])
    }()
}

extension Components.Schemas.PersonView: DirectlyWrittenJSON {
    /// The bytes the runtime's encoder writes for this view, written directly; nil when not certain.
    func directCanonicalJSON() -> Data? {
        guard Self.writerAgreesWithEncoder else { return nil }
        return CanonicalViewJSON.personView(
            person: person, household: household, relation: relation, sex: sex.rawValue, ageBand: ageBand.rawValue,
            indicators: indicators)
    }

    /// Whether the writer and the runtime's encoder agree on a sample view (checked once per process).
    static let writerAgreesWithEncoder: Bool = {
        let sample = Self(
            person: String(repeating: "ab", count: 16), household: String(repeating: "cd", count: 16),
            relation: "child", sex: .male, ageBand: ._05, indicators: IndicatorValues(["x.y": "1", "a.b": "2"]))
        return ShanyrakServer.encodedByRuntime(sample)
            == CanonicalViewJSON.personView(
                person: sample.person, household: sample.household, relation: "child", sex: "male", ageBand: "0-5",
                indicators: IndicatorValueList(["x.y": "1", "a.b": "2"]))
    }()
}

extension ShanyrakServer {
    /// `value` encoded as the runtime's converter encodes a JSON body under `configuration`
    /// (the converter's own encoder is not reachable; this one is set up the same way).
    static func encodedByRuntime(_ value: some Encodable) -> Data? {
        let options = configuration.jsonEncodingOptions
        var formatting: JSONEncoder.OutputFormatting = []
        if options.contains(.sortedKeys) { formatting.insert(.sortedKeys) }
        if options.contains(.prettyPrinted) { formatting.insert(.prettyPrinted) }
        if options.contains(.withoutEscapingSlashes) { formatting.insert(.withoutEscapingSlashes) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        return try? encoder.encode(value)
    }
}
