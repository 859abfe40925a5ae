internal import Foundation
internal import ShanyrakCore
internal import ShanyrakCrypto

/// A value ready to seal.
struct ValidatedValue {
    /// The indicator (a copy of a catalog entry's id: no allocation).
    let indicator: String
    /// Index of its column in `RowLayout.columns`, or nil for the long format's indicator column.
    let slot: Int?
    /// The canonical value.
    let value: String
}

/// A row that passed every check.
struct ValidatedRow {
    let subject: Pseudonym
    let observedAt: String
    let household: (pseudonym: Pseudonym, district: String, relation: String)?
    let values: [ValidatedValue]
}

/// One mapped column: where it sits, what it holds, and what it must agree with.
///
/// A class, so that the per-row loop over columns retains one reference instead of
/// copying an `Indicator` (half a dozen reference-counted fields) per column per row.
final class MappedColumn: Sendable {
    /// What a column's value must agree with in the subject's IIN.
    enum IINAgreement { case none, birthDate, sex, digits }

    let index: Int
    let column: String
    let indicator: Indicator
    let agreement: IINAgreement

    init(index: Int, column: String, indicator: Indicator) {
        self.index = index
        self.column = column
        self.indicator = indicator
        agreement =
            switch indicator.id {
            case "identity.birth_date": .birthDate
            case "demographic.sex": .sex
            case "identity.iin": .digits
            default: .none
            }
    }
}

/// Where each mapped column sits in the header, and the row checks.
struct RowLayout {
    let subject: Int
    let observedAt: Int
    let household: (id: Int, relation: Int, district: Int)?
    let columns: [MappedColumn]
    let indicatorColumn: Int?
    let valueColumn: Int?
    let width: Int
    /// The latest observation date accepted, `YYYY-MM-DD`: the ingest day plus the tolerance.
    /// The newest observation wins, so a row dated in the future would hide every later
    /// correction until that day came.
    let latestObservation: String

    /// Days after the ingest day (UTC) that an observation date may name: a feed produced in a
    /// time zone ahead of UTC may carry the next day's date.
    static let observationToleranceDays = 1

    /// Checks the header against the mapping: every expected column present, no
    /// unknown or repeated column.
    /// - Parameter latestObservation: the latest observation date a row may carry, `YYYY-MM-DD`.
    init(
        header: [String], mapping: SourceMapping, catalog: IndicatorCatalog, file: String, latestObservation: String
    ) throws {
        var index: [String: Int] = [:]
        for (i, name) in header.enumerated() {
            if let first = index[name] {
                throw IngestError.input(
                    "\(file):1: \(Self.describe(header, i)) has the same name as column \(first + 1)")
            }
            index[name] = i
        }
        let expected = mapping.expectedColumns
        for name in expected where index[name] == nil {
            throw IngestError.input(
                "\(file):1: header lacks column '\(name)' required by the \(mapping.source) mapping")
        }
        for (i, name) in header.enumerated() where !expected.contains(name) {
            throw IngestError.input(
                "\(file):1: \(Self.describe(header, i)) is not in the \(mapping.source) mapping")
        }
        func at(_ name: String) -> Int { index[name] ?? 0 }
        subject = at(mapping.subjectColumn)
        observedAt = at(mapping.observedAtColumn)
        household = mapping.household.map { (at($0.id), at($0.relation), at($0.district)) }
        columns = mapping.columns.compactMap { c in
            catalog[c.indicator].map { MappedColumn(index: at(c.column), column: c.column, indicator: $0) }
        }
        indicatorColumn = mapping.indicatorColumn.map(at)
        valueColumn = mapping.valueColumn.map(at)
        width = header.count
        self.latestObservation = latestObservation
    }

    /// Validates one row; the first failing rule is returned, naming the column.
    func validate(
        _ f: [String], mapping: SourceMapping, catalog: IndicatorCatalog, pseudonymiser: Pseudonymiser
    ) -> Result<ValidatedRow, IngestProblem> {
        func problem(_ column: String, _ rule: String) -> Result<ValidatedRow, IngestProblem> {
            .failure(IngestProblem(line: 0, column: column, rule: rule))
        }
        guard f.count == width else { return problem("*", "row has \(f.count) fields, header has \(width)") }
        let iin: IIN
        do { iin = try IIN(validating: f[subject]) } catch { return problem(mapping.subjectColumn, error.description) }
        let date: String
        do {
            date = try Self.dateIndicator.canonicalValue(Substring(f[observedAt]))
        } catch { return problem(mapping.observedAtColumn, "observation date: \(error.rule)") }
        // Both are `YYYY-MM-DD`, so the order of the strings is the order of the days.
        guard date <= latestObservation else {
            return problem(
                mapping.observedAtColumn, "observation date: in the future (after the ingest day plus one day, UTC)")
        }
        let subjectPseudonym = pseudonymiser.person(iin)
        var householdInfo: (Pseudonym, String, String)?
        if let h = household, let names = mapping.household {
            let id = f[h.id]
            guard !id.isEmpty, id.utf8.count <= 64, id.utf8.allSatisfy({ Self.isIDByte($0) }) else {
                return problem(names.id, "household id must be 1-64 letters, digits, '-' or '_'")
            }
            guard Ingester.relations.contains(f[h.relation]) else {
                return problem(
                    names.relation, "relation must be one of \(Ingester.relations.sorted().joined(separator: ", "))")
            }
            let d = Array(f[h.district].utf8)
            guard d.count == 5, d[2] == 0x2d, [0, 1, 3, 4].allSatisfy({ d[$0] >= 0x30 && d[$0] <= 0x39 }) else {
                return problem(names.district, "district code must be RR-DD (two digits, dash, two digits)")
            }
            householdInfo = (pseudonymiser.household(registerID: id), f[h.district], f[h.relation])
        }
        var values: [ValidatedValue] = []
        values.reserveCapacity(columns.count + 1)
        for (slot, c) in columns.enumerated() {
            let raw = f[c.index]
            if raw.isEmpty { continue }  // no observation in this column
            do {
                let v = try c.indicator.canonicalValue(Substring(raw))
                switch c.agreement {
                case .none: break
                case .birthDate where v != iin.birthDate.description:
                    return problem(c.column, "birth date disagrees with the IIN")
                case .sex where v != iin.sex.rawValue:
                    return problem(c.column, "sex disagrees with the IIN")
                case .digits where v != iin.digits:
                    return problem(c.column, "identity column disagrees with the subject IIN")
                case .birthDate, .sex, .digits: break
                }
                values.append(ValidatedValue(indicator: c.indicator.id, slot: slot, value: v))
            } catch {
                return problem(c.column, "\(c.indicator.type.name) expected for \(c.indicator.id): \(error.rule)")
            }
        }
        if let ic = indicatorColumn, let vc = valueColumn, let icName = mapping.indicatorColumn,
            let vcName = mapping.valueColumn
        {
            guard let indicator = catalog[f[ic]] else { return problem(icName, "unknown indicator") }
            guard indicator.sources.contains(mapping.source) else {
                return problem(icName, "source \(mapping.source) may not supply \(indicator.id)")
            }
            do {
                values.append(
                    ValidatedValue(
                        indicator: indicator.id, slot: nil, value: try indicator.canonicalValue(Substring(f[vc]))))
            } catch {
                return problem(vcName, "\(indicator.type.name) expected for \(indicator.id): \(error.rule)")
            }
        }
        return .success(
            ValidatedRow(
                subject: subjectPseudonym, observedAt: date,
                household: householdInfo.map { (pseudonym: $0.0, district: $0.1, relation: $0.2) }, values: values))
    }

    /// How an error names header cell `i`: quoted when it looks like a column name, else by its
    /// position. A file without a header line has a data row there, whose IINs and names must
    /// not travel back to the agency or into logs.
    static func describe(_ header: [String], _ i: Int) -> String {
        looksLikeColumnName(header[i]) ? "column '\(header[i])'" : "column \(i + 1) of the header"
    }

    /// 1-64 ASCII letters, digits, '_' and '.', starting with a letter or '_' (so never an IIN,
    /// a number or a date).
    static func looksLikeColumnName(_ name: String) -> Bool {
        let u = name.utf8
        guard let first = u.first, u.count <= 64, first == 0x5f || isLetter(first) else { return false }
        return u.allSatisfy { isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f || $0 == 0x2e }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) }

    private static func isIDByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
    }

    private static let dateIndicator = Indicator(
        id: "observed.on", type: .date, unit: nil, indicatorClass: .demographic, sphere: .social, sources: [],
        survivorSensitive: false, description: "")
}
