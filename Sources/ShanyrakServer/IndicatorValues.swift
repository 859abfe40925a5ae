/// `#/components/schemas/Indicators` of `openapi.yaml`: granted indicator values by indicator id,
/// each a canonical value string (the generator's `typeOverrides` maps the schema to this type).
///
/// Hand-written instead of generated for speed only: the generated type encoded its map through
/// a generic runtime function that JSONEncoder could not specialise (a dynamic cast per value,
/// about a tenth of a household view's CPU). This one calls the concrete `String` overloads.
/// The bytes are the same: an object of string values, keys sorted by the encoder.
struct IndicatorValues: Codable, Hashable, Sendable {
    /// Value by indicator id.
    var values: [String: String]

    /// Wraps `values`.
    init(_ values: [String: String] = [:]) { self.values = values }

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
        self.values = values
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: IndicatorKey.self)
        for (id, value) in values { try container.encode(value, forKey: IndicatorKey(stringValue: id)) }
    }
}
