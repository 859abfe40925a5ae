public import Foundation
public import ShanyrakCore

/// An age band, computed from a sealed birth date: the household card shows the band, never the date.
public enum AgeBand: String, Sendable, Hashable, Codable, CaseIterable {
    /// 0 to 5 years.
    case upTo5 = "0-5"
    /// 6 to 17 years.
    case from6To17 = "6-17"
    /// 18 to 29 years.
    case from18To29 = "18-29"
    /// 30 to 44 years.
    case from30To44 = "30-44"
    /// 45 to 59 years.
    case from45To59 = "45-59"
    /// 60 years and more.
    case from60 = "60+"
    /// No valid birth date is recorded.
    case unknown

    /// The band of someone born on `birthDate` (`YYYY-MM-DD`), on `today` (UTC).
    /// - Returns: `.unknown` for a missing or malformed date, or one in the future.
    public static func of(birthDate: String?, on today: Date) -> AgeBand {
        guard let birthDate, let (y, m, d) = parseDate(birthDate) else { return .unknown }
        let age = CivilDate.age(
            born: (y, m, d), on: CivilDate.civil(CivilDate.day(secondsSince1970: today.timeIntervalSince1970)))
        switch age {
        case ..<0: return .unknown
        case 0...5: return .upTo5
        case 6...17: return .from6To17
        case 18...29: return .from18To29
        case 30...44: return .from30To44
        case 45...59: return .from45To59
        default: return .from60
        }
    }

    /// Year, month and day of `YYYY-MM-DD` (each part one or more ASCII digits, as `Int(_:)` reads them),
    /// read from the UTF-8 bytes: every member of every card has one, and splitting the string cost more
    /// than the rest of the band.
    static func parseDate(_ text: String) -> (year: Int, month: Int, day: Int)? {
        var parts = (0, 0, 0)
        var index = 0
        var digits = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "-") {
                guard digits > 0, index < 2 else { return nil }
                index += 1
                digits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
            let digit = Int(byte - UInt8(ascii: "0"))
            switch index {
            case 0: parts.0 = parts.0 * 10 + digit
            case 1: parts.1 = parts.1 * 10 + digit
            default: parts.2 = parts.2 * 10 + digit
            }
            digits += 1
        }
        guard index == 2, digits > 0 else { return nil }
        return parts
    }
}

/// Why a household view could not be built. Names the indicator id and the rule, never a value.
public struct HouseholdViewError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The indicator id refused.
    public let indicator: String
    /// The rule that refused it.
    public let rule: String
    /// Creates an error.
    public init(indicator: String, rule: String) {
        self.indicator = indicator
        self.rule = rule
    }
    /// Indicator and rule.
    public var description: String { "household view refuses \(indicator): \(rule)" }
}

/// The survivor-safe household card: a fixed shape, and nothing else.
///
/// The household's pseudonym and district, and for each member the pseudonym,
/// relation, sex, age band and the indicators policy granted for a household view.
/// The initialiser refuses any indicator that is not in the catalog, that is
/// violence-class or survivor-sensitive (`Indicator.mayAppearInHouseholdView`), that
/// is a person-level address or phone, whatever the catalog file says, or that the card
/// shows otherwise or not at all (the birth date, shown as the age band; the IIN, a
/// national identifier kept for the person view); the stored properties are immutable,
/// so no path can add one afterwards.
///
/// The encoding is canonical (see `canonicalJSON()`): keys sorted, members sorted by
/// pseudonym, indicators keyed by id; nothing per request. The same household seen
/// twice by the same user is the same bytes.
public struct HouseholdView: Sendable, Hashable, Encodable {
    /// One member of the household, as the card shows them.
    public struct Member: Sendable, Hashable, Encodable {
        /// The member's pseudonym.
        public let pseudonym: Pseudonym
        /// Relation to the head of household.
        public let relation: String
        /// `male`, `female` or `unknown`.
        public let sex: String
        /// The age band.
        public let ageBand: AgeBand
        /// Granted indicator values (canonical value strings), in the order the card's JSON writes them.
        public let indicators: IndicatorValueList

        enum CodingKeys: String, CodingKey {
            case pseudonym, relation, sex, indicators
            case ageBand = "age_band"
        }
    }

    /// A member as handed to the initialiser, before the checks.
    public struct MemberInput: Sendable {
        /// The member's pseudonym.
        public var pseudonym: Pseudonym
        /// Relation to the head of household.
        public var relation: String
        /// `male`, `female` or nil when not recorded.
        public var sex: String?
        /// The age band.
        public var ageBand: AgeBand
        /// Granted indicator values by indicator id.
        public var indicators: [String: String]

        /// Creates an input.
        public init(
            pseudonym: Pseudonym, relation: String, sex: String?, ageBand: AgeBand, indicators: [String: String]
        ) {
            self.pseudonym = pseudonym
            self.relation = relation
            self.sex = sex
            self.ageBand = ageBand
            self.indicators = indicators
        }
    }

    /// Indicator ids the card refuses whatever the catalog file and the policies say, with the rule:
    /// a person-level address or phone can lead an abuser to a survivor; the birth date is shown as
    /// the age band; the IIN is a national identifier, kept for the person view, where each read of
    /// it is audited for that one person.
    public static let refusedWhateverPolicySays: [String: String] = [
        "identity.address": "person-level address or phone",
        "identity.phone": "person-level address or phone",
        "identity.birth_date": "birth date or IIN: the card shows the age band only",
        "identity.iin": "birth date or IIN: the card shows the age band only",
    ]

    /// The household pseudonym.
    public let household: Pseudonym
    /// The district code.
    public let district: String
    /// Members, sorted by pseudonym.
    public let members: [Member]

    /// Builds a card, refusing anything that may not be on one.
    /// - Parameters:
    ///   - household: the household pseudonym.
    ///   - district: its district code.
    ///   - members: the members with their granted values.
    ///   - catalog: the indicator catalog the values belong to.
    /// - Throws: `HouseholdViewError` for an indicator that is unknown, violence-class,
    ///   survivor-sensitive or a person-level address or phone. Nothing is built then.
    public init(household: Pseudonym, district: String, members: [MemberInput], catalog: IndicatorCatalog) throws {
        try self.init(household: household, district: district, members: members) { id in
            try Self.check(id, catalog: catalog)
        }
    }

    /// A member as the access path hands it over: the values of `Permitted`'s ids, by position in its order.
    struct PermittedMemberInput {
        /// The member's pseudonym.
        var pseudonym: Pseudonym
        /// Relation to the head of household.
        var relation: String
        /// `male`, `female` or nil when not recorded.
        var sex: String?
        /// The age band.
        var ageBand: AgeBand
        /// `values[i]` is the value of `permitted.order.ids[i]`, nil when not granted or not recorded.
        var values: [String?]
    }

    /// Builds a card from values placed by `Permitted`'s order: only ids that passed every check of the card
    /// can be named that way, so nothing is looked up per value. A values array of another length is refused.
    init(household: Pseudonym, district: String, members: [PermittedMemberInput], permitted: Permitted) throws {
        var built: [Member] = []
        built.reserveCapacity(members.count)
        for input in members {
            guard input.values.count == permitted.order.ids.count else {
                throw HouseholdViewError(indicator: "-", rule: "values not placed by the card's permitted indicators")
            }
            built.append(
                Member(
                    pseudonym: input.pseudonym, relation: input.relation, sex: Self.sexShown(input.sex),
                    ageBand: input.ageBand, indicators: permitted.order.list(input.values)))
        }
        self.household = household
        self.district = district
        self.members = built.sorted { $0.pseudonym < $1.pseudonym }
    }

    /// The indicator ids of a catalog that pass every check of the card, computed once per catalog, in the
    /// order the card's JSON writes them.
    struct Permitted: Sendable {
        let catalog: IndicatorCatalog
        let order: CanonicalIndicatorOrder

        init(catalog: IndicatorCatalog) {
            self.catalog = catalog
            self.order = CanonicalIndicatorOrder(
                catalog.indicators.map(\.id).filter { HouseholdView.mayAppear($0, catalog: catalog) })
        }
    }

    /// The sex a card or view shows: `male`, `female`, or `unknown` for anything else.
    static func sexShown(_ sex: String?) -> String {
        sex.flatMap { $0 == "male" || $0 == "female" ? $0 : nil } ?? "unknown"
    }

    private init(
        household: Pseudonym, district: String, members: [MemberInput], check: (String) throws -> Void
    ) throws {
        var built: [Member] = []
        built.reserveCapacity(members.count)
        for input in members {
            for id in input.indicators.keys {
                try check(id)
            }
            built.append(
                Member(
                    pseudonym: input.pseudonym, relation: input.relation, sex: Self.sexShown(input.sex),
                    ageBand: input.ageBand, indicators: IndicatorValueList(input.indicators)))
        }
        self.household = household
        self.district = district
        self.members = built.sorted { $0.pseudonym < $1.pseudonym }
    }

    /// Whether `id` may ever appear on a household card under `catalog`.
    public static func mayAppear(_ id: String, catalog: IndicatorCatalog) -> Bool {
        (try? check(id, catalog: catalog)) != nil
    }

    private static func check(_ id: String, catalog: IndicatorCatalog) throws {
        guard let indicator = catalog[id] else {
            throw HouseholdViewError(indicator: id, rule: "not in the indicator catalog")
        }
        guard indicator.mayAppearInHouseholdView, indicator.indicatorClass != .violence, !indicator.survivorSensitive
        else { throw HouseholdViewError(indicator: id, rule: "violence-class or survivor-sensitive") }
        if let rule = refusedWhateverPolicySays[id] { throw HouseholdViewError(indicator: id, rule: rule) }
    }

    enum CodingKeys: String, CodingKey {
        case household, district, members
    }

    /// A card from members already checked (the fast JSON writer's self-check only).
    init(unchecked household: Pseudonym, district: String, members: [Member]) {
        self.household = household
        self.district = district
        self.members = members
    }

    /// The canonical bytes of the card: JSON with sorted keys, no whitespace, slashes unescaped.
    ///
    /// Written directly when every string is plain ASCII (`fastCanonicalJSON`), byte for byte
    /// what `JSONEncoder` writes; otherwise by `JSONEncoder`.
    /// - Throws: an encoding error (not expected for this shape).
    public func canonicalJSON() throws -> Data {
        if let fast = fastCanonicalJSON() { return fast }
        return try encoderCanonicalJSON()
    }

    /// The canonical bytes as `JSONEncoder` writes them (the reference for `canonicalJSON()`).
    /// - Throws: an encoding error.
    public func encoderCanonicalJSON() throws -> Data {
        try canonicalEncoder().encode(self)
    }
}

/// The person view: what policy granted about one person in a person view.
public struct PersonView: Sendable, Hashable, Encodable {
    /// The person's pseudonym.
    public let person: Pseudonym
    /// The household's pseudonym.
    public let household: Pseudonym
    /// Relation to the head of household.
    public let relation: String
    /// `male`, `female` or `unknown`.
    public let sex: String
    /// The age band.
    public let ageBand: AgeBand
    /// Granted indicator values (canonical value strings), in the order the view's JSON writes them.
    public let indicators: IndicatorValueList

    /// Creates a person view.
    public init(
        person: Pseudonym, household: Pseudonym, relation: String, sex: String?, ageBand: AgeBand,
        indicators: [String: String]
    ) {
        self.init(
            person: person, household: household, relation: relation, sex: sex, ageBand: ageBand,
            indicators: IndicatorValueList(indicators))
    }

    /// Creates a person view from values already in order.
    init(
        person: Pseudonym, household: Pseudonym, relation: String, sex: String?, ageBand: AgeBand,
        indicators: IndicatorValueList
    ) {
        self.person = person
        self.household = household
        self.relation = relation
        self.sex = HouseholdView.sexShown(sex)
        self.ageBand = ageBand
        self.indicators = indicators
    }

    enum CodingKeys: String, CodingKey {
        case person, household, relation, sex, indicators
        case ageBand = "age_band"
    }

    /// The canonical bytes of the view (sorted keys, no whitespace, slashes unescaped).
    ///
    /// Written directly when every string is plain (as for the household card), byte for byte what
    /// `JSONEncoder` writes; otherwise by `JSONEncoder`.
    /// - Throws: an encoding error.
    public func canonicalJSON() throws -> Data {
        if let fast = fastCanonicalJSON() { return fast }
        return try encoderCanonicalJSON()
    }

    /// The canonical bytes as `JSONEncoder` writes them (the reference for `canonicalJSON()`).
    /// - Throws: an encoding error.
    public func encoderCanonicalJSON() throws -> Data {
        try canonicalEncoder().encode(self)
    }
}

/// The caller's caseload: assigned households with their districts.
public struct Caseload: Sendable, Hashable, Encodable {
    /// One assigned household.
    public struct Entry: Sendable, Hashable, Encodable {
        /// The household pseudonym.
        public let household: Pseudonym
        /// Its district code.
        public let district: String
    }
    /// Assigned households, sorted by pseudonym.
    public let households: [Entry]

    /// The canonical bytes (sorted keys, no whitespace).
    /// - Throws: an encoding error.
    public func canonicalJSON() throws -> Data {
        try canonicalEncoder().encode(self)
    }
}

func canonicalEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
}
