import ShanyrakAccess

/// `#/components/schemas/Indicators` of `openapi.yaml`: granted indicator values by indicator id,
/// each a canonical value string (the generator's `typeOverrides` maps the schema to this type).
///
/// Hand-written instead of generated for speed only: it holds the access path's `IndicatorValueList`,
/// already in the order the JSON writes the ids, so that the view writer (`CanonicalViewJSON`) walks it
/// instead of hashing and sorting the ids of every view again. The generated type also encoded its map
/// through a generic runtime function that JSONEncoder could not specialise. The bytes are the same:
/// an object of string values, keys sorted by the encoder.
struct IndicatorValues: Codable, Hashable, Sendable {
    /// The values, in the order the JSON writes their ids.
    var list: IndicatorValueList

    /// Wraps a list from the access path.
    init(_ list: IndicatorValueList) { self.list = list }

    /// The values of a dictionary.
    init(_ values: [String: String] = [:]) { self.list = IndicatorValueList(values) }

    /// An indicator id as a coding key.
    private struct IndicatorKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: IndicatorKey.self)
        var values: [String: String] = [:]
        for key in container.allKeys { values[key.stringValue] = try container.decode(String.self, forKey: key) }
        self.list = IndicatorValueList(values)
    }

    func encode(to encoder: any Encoder) throws {
        try list.encode(to: encoder)
    }
}
