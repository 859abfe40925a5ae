public import Foundation
internal import Yams

/// The class of an indicator: it selects the data key that seals its values and
/// the `IndicatorClass` entity that policies scope over.
public enum IndicatorClass: String, CaseIterable, Codable, Sendable, Hashable, Comparable {
    case identity, demographic, economic, employment, health, education, housing, social, violence

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The sphere of the vulnerability model an indicator informs.
public enum Sphere: String, CaseIterable, Codable, Sendable, Hashable {
    case economic, social, housing, health, education
}

/// The type of an indicator's values, with its constraints.
public enum IndicatorType: Sendable, Hashable {
    /// Free text (non-empty, at most 512 bytes, no control characters).
    case string
    /// A 64-bit integer in `min...max`.
    case integer(min: Int64, max: Int64)
    /// `true` or `false`.
    case boolean
    /// A calendar date `YYYY-MM-DD`.
    case date
    /// One of a fixed list of values.
    case enumeration([String])

    /// The type's name as written in the catalog.
    public var name: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .boolean: "boolean"
        case .date: "date"
        case .enumeration: "enum"
        }
    }
}

/// One entry of the indicator catalog (`policies/indicators.yaml`).
public struct Indicator: Sendable, Hashable, Identifiable {
    /// Dotted identifier such as `employment.status`.
    public let id: String
    /// Value type and constraints.
    public let type: IndicatorType
    /// Unit of measure, where one applies.
    public let unit: String?
    /// The indicator's class.
    public let indicatorClass: IndicatorClass
    /// The vulnerability-model sphere.
    public let sphere: Sphere
    /// Agency sources that may supply it.
    public let sources: Set<String>
    /// True when the value could lead an abuser to a survivor or reveal violence.
    public let survivorSensitive: Bool
    /// Plain-words description.
    public let description: String

    /// Creates an indicator (the catalog file is the usual source).
    public init(
        id: String, type: IndicatorType, unit: String?, indicatorClass: IndicatorClass, sphere: Sphere,
        sources: Set<String>, survivorSensitive: Bool, description: String
    ) {
        self.id = id
        self.type = type
        self.unit = unit
        self.indicatorClass = indicatorClass
        self.sphere = sphere
        self.sources = sources
        self.survivorSensitive = survivorSensitive
        self.description = description
    }

    /// Whether a household view may ever carry this indicator, whatever the policy says.
    /// Violence-class and survivor-sensitive indicators never may.
    public var mayAppearInHouseholdView: Bool {
        !survivorSensitive && indicatorClass != .violence
    }
}

/// Why a value does not fit its indicator's type. Names the rule, never the value.
public struct ValueError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule that failed.
    public let rule: String
    /// Creates an error for a failed rule.
    public init(rule: String) { self.rule = rule }
    /// The rule.
    public var description: String { rule }
}

/// An error in the catalog file, naming the entry and the rule.
public struct CatalogError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, with the entry it concerns.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// The indicator catalog: every indicator the service knows.
public struct IndicatorCatalog: Sendable {
    /// Indicators in file order.
    public let indicators: [Indicator]
    private let byID: [String: Int]

    /// Creates a catalog from indicators, refusing duplicate ids.
    /// - Throws: `CatalogError` on a duplicate id.
    public init(indicators: [Indicator]) throws(CatalogError) {
        var index: [String: Int] = [:]
        for (i, indicator) in indicators.enumerated() {
            if index[indicator.id] != nil {
                throw CatalogError("indicator \(i + 1) ('\(indicator.id)'): duplicate id")
            }
            index[indicator.id] = i
        }
        self.indicators = indicators
        self.byID = index
    }

    /// The indicator with this id, if any.
    public subscript(id: String) -> Indicator? {
        byID[id].map { indicators[$0] }
    }

    /// Loads and checks a catalog file.
    /// - Parameter url: path of `indicators.yaml`.
    /// - Throws: `CatalogError` naming the file and the entry.
    public static func load(contentsOf url: URL) throws(CatalogError) -> IndicatorCatalog {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw CatalogError("\(url.path): cannot read the catalog file")
        }
        do {
            return try parse(yaml: text)
        } catch {
            throw CatalogError("\(url.path): \(error.message)")
        }
    }

    /// Parses a catalog from YAML text.
    /// - Throws: `CatalogError` naming the entry (1-based) and the rule.
    public static func parse(yaml: String) throws(CatalogError) -> IndicatorCatalog {
        let file: CatalogFile
        do {
            file = try YAMLDecoder().decode(CatalogFile.self, from: yaml)
        } catch let error as DecodingError {
            throw CatalogError("not a valid catalog: \(describe(error))")
        } catch {
            throw CatalogError("not valid YAML: \(error)")
        }
        var indicators: [Indicator] = []
        for (i, entry) in file.indicators.enumerated() {
            let at = "indicator \(i + 1) ('\(entry.id)')"
            guard entry.id.range(of: #"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"#, options: .regularExpression) != nil
            else { throw CatalogError("\(at): id must be 'class.name' in lower case") }
            guard let cls = IndicatorClass(rawValue: entry.class) else {
                throw CatalogError("\(at): unknown class '\(entry.class)'")
            }
            guard let sphere = Sphere(rawValue: entry.sphere) else {
                throw CatalogError("\(at): unknown sphere '\(entry.sphere)'")
            }
            let type: IndicatorType
            switch entry.type {
            case "string": type = .string
            case "boolean": type = .boolean
            case "date": type = .date
            case "integer":
                let lo = entry.min ?? Int64.min
                let hi = entry.max ?? Int64.max
                guard lo <= hi else { throw CatalogError("\(at): min is greater than max") }
                type = .integer(min: lo, max: hi)
            case "enum":
                guard let values = entry.values, !values.isEmpty else {
                    throw CatalogError("\(at): type enum needs a non-empty 'values' list")
                }
                guard Set(values).count == values.count else {
                    throw CatalogError("\(at): enum values must be distinct")
                }
                type = .enumeration(values)
            default:
                throw CatalogError("\(at): unknown type '\(entry.type)' (string, integer, boolean, date, enum)")
            }
            guard !entry.sources.isEmpty else { throw CatalogError("\(at): 'sources' must name at least one source") }
            if let bad = entry.sources.firstIndex(where: { !SourceName.isValid($0) }) {
                throw CatalogError(
                    "\(at): source \(bad + 1) of 'sources' breaks the rule for names: \(SourceName.rule)")
            }
            if cls == .violence && !entry.survivorSensitive {
                throw CatalogError("\(at): every violence-class indicator must be survivor_sensitive")
            }
            indicators.append(
                Indicator(
                    id: entry.id, type: type, unit: entry.unit, indicatorClass: cls, sphere: sphere,
                    sources: Set(entry.sources), survivorSensitive: entry.survivorSensitive,
                    description: entry.description ?? ""))
        }
        return try IndicatorCatalog(indicators: indicators)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field '\(key.stringValue)' at \(path(context.codingPath))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(context.debugDescription) at \(path(context.codingPath))"
        @unknown default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "entry \($0 + 1)" } ?? $0.stringValue }.joined(separator: ".")
    }

    private struct CatalogFile: Decodable {
        var version: Int
        var indicators: [Entry]
    }

    private struct Entry: Decodable {
        var id: String
        var type: String
        var values: [String]?
        var min: Int64?
        var max: Int64?
        var unit: String?
        var `class`: String
        var sphere: String
        var sources: [String]
        var survivorSensitive: Bool
        var description: String?

        enum CodingKeys: String, CodingKey {
            case id, type, values, min, max, unit, `class`, sphere, sources, description
            case survivorSensitive = "survivor_sensitive"
        }
    }
}

extension Indicator {
    /// Checks a raw value against this indicator's type and returns its canonical form.
    ///
    /// Canonical forms: integers without sign or leading zeros except `-`, booleans
    /// `true` / `false` (also accepting `1`/`0`, `yes`/`no`), dates `YYYY-MM-DD`.
    /// - Parameter raw: the value as delivered.
    /// - Returns: the canonical value, the bytes that are sealed.
    /// - Throws: `ValueError` naming the rule (never the value).
    public func canonicalValue(_ raw: Substring) throws(ValueError) -> String {
        switch type {
        case .string:
            guard !raw.isEmpty else { throw ValueError(rule: "string must not be empty") }
            guard raw.utf8.count <= 512 else { throw ValueError(rule: "string longer than 512 bytes") }
            for b in raw.utf8 where b < 0x20 || b == 0x7f {
                throw ValueError(rule: "string contains a control character")
            }
            return String(raw)
        case .integer(let lo, let hi):
            guard let v = Int64(raw) else { throw ValueError(rule: "not an integer") }
            guard v >= lo, v <= hi else { throw ValueError(rule: "integer outside \(lo)...\(hi)") }
            return String(v)
        case .boolean:
            switch raw {
            case "true", "1", "yes": return "true"
            case "false", "0", "no": return "false"
            default: throw ValueError(rule: "not a boolean (true/false)")
            }
        case .date:
            // Parsed in place: ingest checks a date or two in every row.
            var parts = (year: 0, month: 0, day: 0)
            var count = 0
            for (i, b) in raw.utf8.enumerated() {
                count += 1
                if i == 4 || i == 7 {
                    guard b == 0x2d else { throw ValueError(rule: "not a date YYYY-MM-DD") }
                    continue
                }
                guard b >= 0x30, b <= 0x39, i < 10 else { throw ValueError(rule: "not a date YYYY-MM-DD") }
                let digit = Int(b - 0x30)
                if i < 4 {
                    parts.year = parts.year * 10 + digit
                } else if i < 7 {
                    parts.month = parts.month * 10 + digit
                } else {
                    parts.day = parts.day * 10 + digit
                }
            }
            guard count == 10 else { throw ValueError(rule: "not a date YYYY-MM-DD") }
            guard parts.month >= 1, parts.month <= 12, parts.day >= 1,
                parts.day <= IIN.daysIn(month: parts.month, year: parts.year)
            else { throw ValueError(rule: "not a calendar date") }
            return String(raw)
        case .enumeration(let values):
            for v in values where v == raw { return v }
            throw ValueError(rule: "not one of the allowed values of \(id)")
        }
    }
}
