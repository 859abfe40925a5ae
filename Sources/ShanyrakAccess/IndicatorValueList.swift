/// Granted indicator values of a member or a person, held in the order their canonical JSON writes the ids.
///
/// A view's JSON is `JSONEncoder`'s with sorted keys. Held in a dictionary, the values had to be sorted
/// into that order again for every view (a hash lookup per id, then a sort). The access path knows the
/// order of every indicator it may disclose from the start (`CanonicalIndicatorOrder`), so it builds
/// the list in order and the writer only walks it.
public struct IndicatorValueList: Sendable, Hashable {
    /// One indicator's value.
    public struct Entry: Sendable, Hashable {
        /// The indicator id.
        public let id: String
        /// Its canonical value string.
        public let value: String
    }

    /// The entries: in `JSONEncoder`'s sorted-keys order of their ids when `isCanonicallyOrdered`,
    /// otherwise sorted by `<` (ids the encoder's order could not be learnt for; the JSON writer then
    /// leaves the view to the encoder).
    public let entries: [Entry]
    /// Whether `entries` are in the order the canonical JSON writes them.
    let isCanonicallyOrdered: Bool

    /// The values of a dictionary, put in the encoder's order (learnt from the encoder when an id is new).
    public init(_ values: [String: String]) {
        if let ordered = IndicatorKeyOrder.shared.ordered(values) {
            entries = ordered.map { Entry(id: $0.key, value: $0.value) }
            isCanonicallyOrdered = true
        } else {
            entries = values.sorted { $0.key < $1.key }.map { Entry(id: $0.key, value: $0.value) }
            isCanonicallyOrdered = false
        }
    }

    /// Entries already in the encoder's order (the caller took it from a `CanonicalIndicatorOrder`).
    init(canonicallyOrdered entries: [Entry]) {
        self.entries = entries
        self.isCanonicallyOrdered = true
    }

    /// No values.
    public static let empty = IndicatorValueList(canonicallyOrdered: [])

    /// The value of `id`, if granted and recorded.
    public subscript(id: String) -> String? {
        entries.first { $0.id == id }?.value
    }

    /// The ids, in the list's order.
    public var keys: [String] { entries.map(\.id) }
    /// Whether there are no values.
    public var isEmpty: Bool { entries.isEmpty }
    /// How many values there are.
    public var count: Int { entries.count }
    /// The values by id.
    public var dictionary: [String: String] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0.value) })
    }
}

extension IndicatorValueList: Codable {
    /// An indicator id as a coding key.
    private struct IndicatorKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes an object of string values keyed by id, and puts them in the encoder's order.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: IndicatorKey.self)
        var values: [String: String] = [:]
        for key in container.allKeys { values[key.stringValue] = try container.decode(String.self, forKey: key) }
        self.init(values)
    }

    /// Encodes an object of string values keyed by id (a dictionary's JSON).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: IndicatorKey.self)
        for entry in entries { try container.encode(entry.value, forKey: IndicatorKey(stringValue: entry.id)) }
    }
}

/// A fixed set of indicator ids in the order the canonical JSON writes them, learnt once from the encoder
/// (`IndicatorKeyOrder`), for building `IndicatorValueList`s without sorting.
struct CanonicalIndicatorOrder: Sendable {
    /// The ids, in the encoder's order (or sorted by `<` when it could not be learnt).
    let ids: [String]
    /// Whether `ids` is the encoder's order.
    let isCanonical: Bool

    /// The order of `ids` (duplicates are dropped).
    init(_ ids: [String]) {
        let unique = Array(Set(ids))
        var probe: [String: String] = [:]
        for id in unique { probe[id] = "" }
        if let ordered = IndicatorKeyOrder.shared.ordered(probe) {
            self.ids = ordered.map(\.key)
            self.isCanonical = true
        } else {
            self.ids = unique.sorted()
            self.isCanonical = false
        }
    }

    /// The list of the non-nil `values`, `values[i]` being the value of `ids[i]`.
    func list(_ values: [String?]) -> IndicatorValueList {
        var entries: [IndicatorValueList.Entry] = []
        entries.reserveCapacity(values.count)
        for (i, value) in values.enumerated() {
            if let value { entries.append(IndicatorValueList.Entry(id: ids[i], value: value)) }
        }
        return isCanonical
            ? IndicatorValueList(canonicallyOrdered: entries)
            : IndicatorValueList(Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0.value) }))
    }
}
