public import Foundation
public import ShanyrakCore
internal import Yams

/// How one agency feed maps onto the catalog (`policies/sources/NAME.yaml`).
///
/// A `wide` feed has one row per person and one column per indicator; a `long`
/// feed has one observation per row (`indicator` and `value` columns), so a row
/// can name an indicator the source may not supply: that row is quarantined.
public struct SourceMapping: Sendable {
    /// The feed's layout.
    public enum Format: String, Sendable { case wide, long }

    /// Source name (the file name the feed arrives under, without `.csv`).
    public let source: String
    /// Layout.
    public let format: Format
    /// Column holding the IIN.
    public let subjectColumn: String
    /// Column holding the observation date.
    public let observedAtColumn: String
    /// Whether rows create persons and households (the population register).
    public let registersPersons: Bool
    /// Household structure columns (population register only).
    public let household: HouseholdColumns?
    /// Column name to indicator id, for wide feeds, in file order of the mapping.
    public let columns: [(column: String, indicator: String)]
    /// Indicator and value columns, for long feeds.
    public let indicatorColumn: String?
    /// Value column, for long feeds.
    public let valueColumn: String?

    /// Columns that give a household its shape.
    public struct HouseholdColumns: Sendable {
        /// The register's household id.
        public let id: String
        /// Relation to the head of household.
        public let relation: String
        /// District code.
        public let district: String
    }

    /// Loads `directory/NAME.yaml` and checks it against the catalog; its `source:` must be NAME.
    /// - Throws: `IngestError.configuration` naming the file and the rule.
    public static func load(source: String, directory: URL, catalog: IndicatorCatalog) throws -> SourceMapping {
        guard SourceName.isValid(source) else {
            throw IngestError.configuration("source name must be \(SourceName.rule) (got an invalid name)")
        }
        let url = directory.appendingPathComponent("\(source).yaml")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw IngestError.configuration("unknown source '\(source)': no mapping at \(url.path)")
        }
        return try parse(yaml: text, file: url.path, catalog: catalog, expectedSource: source)
    }

    /// Parses a mapping from YAML text.
    ///
    /// Only a source with `registers_persons: true` may have `household:` columns: household
    /// membership and districts decide who may see a family, so no other agency may change them.
    /// - Parameters:
    ///   - yaml: the mapping.
    ///   - file: the file's name, for errors.
    ///   - catalog: the indicator catalog the columns must map onto.
    ///   - expectedSource: the name the mapping's `source:` must have (the file name), if known.
    /// - Throws: `IngestError.configuration` naming `file` and the rule.
    public static func parse(
        yaml: String, file: String, catalog: IndicatorCatalog, expectedSource: String? = nil
    ) throws -> SourceMapping {
        let node: Node?
        do { node = try Yams.compose(yaml: yaml) } catch {
            throw IngestError.configuration("\(file): not valid YAML: \(error)")
        }
        guard let map = node?.mapping else { throw IngestError.configuration("\(file): must be a mapping") }
        func string(_ key: String, required: Bool = true) throws -> String? {
            guard let v = map[key] else {
                if required { throw IngestError.configuration("\(file): missing field '\(key)'") }
                return nil
            }
            guard let s = v.string else {
                throw IngestError.configuration("\(file):\(v.mark?.line ?? 0): '\(key)' must be a string")
            }
            return s
        }
        let source = try string("source") ?? ""
        if let expectedSource, source != expectedSource {
            throw IngestError.configuration(
                "\(file):\(map["source"]?.mark?.line ?? 0): 'source' is '\(source)', "
                    + "but must be the file's name, '\(expectedSource)'")
        }
        guard let format = Format(rawValue: try string("format") ?? "") else {
            throw IngestError.configuration("\(file): 'format' must be wide or long")
        }
        let subject = try string("subject") ?? ""
        let observed = try string("observed_at") ?? ""
        let registers = map["registers_persons"]?.bool ?? false
        var household: HouseholdColumns?
        if let h = map["household"]?.mapping {
            guard let id = h["id"]?.string, let rel = h["relation"]?.string, let d = h["district"]?.string else {
                throw IngestError.configuration("\(file): 'household' needs id, relation and district columns")
            }
            household = HouseholdColumns(id: id, relation: rel, district: d)
        }
        if registers && household == nil {
            throw IngestError.configuration("\(file): a source that registers persons needs 'household' columns")
        }
        if map["household"] != nil && !registers {
            throw IngestError.configuration(
                "\(file):\(map["household"]?.mark?.line ?? 0): 'household' columns need 'registers_persons: true' "
                    + "(only the population register may change household membership)")
        }
        var columns: [(String, String)] = []
        if let cols = map["columns"]?.mapping {
            for (k, v) in cols {
                guard let column = k.string, let indicatorID = v.string else {
                    throw IngestError.configuration(
                        "\(file):\((k.mark?.line ?? 0)): column mapping must be column: indicator")
                }
                guard let indicator = catalog[indicatorID] else {
                    throw IngestError.configuration(
                        "\(file):\(v.mark?.line ?? 0): column '\(column)' maps to unknown indicator '\(indicatorID)'")
                }
                guard indicator.sources.contains(source) else {
                    throw IngestError.configuration(
                        "\(file):\(v.mark?.line ?? 0): source '\(source)' may not supply '\(indicatorID)' (catalog sources: \(indicator.sources.sorted().joined(separator: ", ")))"
                    )
                }
                columns.append((column, indicatorID))
            }
        }
        if format == .wide && columns.isEmpty {
            throw IngestError.configuration("\(file): a wide feed needs 'columns'")
        }
        let indicatorColumn = try string("indicator_column", required: format == .long)
        let valueColumn = try string("value_column", required: format == .long)
        return SourceMapping(
            source: source, format: format, subjectColumn: subject, observedAtColumn: observed,
            registersPersons: registers,
            household: household, columns: columns, indicatorColumn: indicatorColumn, valueColumn: valueColumn)
    }

    /// The indicators this feed can carry: the mapped columns, or for a long feed
    /// every catalog indicator the source may supply. Sorted.
    public func suppliableIndicators(in catalog: IndicatorCatalog) -> [String] {
        switch format {
        case .wide: columns.map(\.indicator).sorted()
        case .long: catalog.indicators.filter { $0.sources.contains(source) }.map(\.id).sorted()
        }
    }

    /// Every column the header must hold, in no particular order.
    public var expectedColumns: [String] {
        var out = [subjectColumn, observedAtColumn]
        if let h = household { out += [h.id, h.relation, h.district] }
        out += columns.map(\.column)
        if let i = indicatorColumn { out.append(i) }
        if let v = valueColumn { out.append(v) }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }
}
