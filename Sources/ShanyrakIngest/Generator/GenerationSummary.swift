/// What a generator run wrote: counts per file, deliberate corruptions, and headline
/// statistics of the population, for reports and for checking the distributions.
public struct GenerationSummary: Sendable, Codable, Equatable {
    /// Households generated.
    public var households: Int
    /// Persons generated (rows of `population.csv`).
    public var persons: Int
    /// The seed the run used.
    public var seed: UInt64
    /// The share of non-population rows deliberately corrupted.
    public var errorRate: Double
    /// One entry per file, in the fixed order population, labour, health, education, police, justice.
    public var files: [File]
    /// Headline counts of the generated population.
    public var statistics: Statistics

    /// One written CSV file.
    public struct File: Sendable, Codable, Equatable {
        /// The agency source the file is named after (`labour` for `labour.csv`).
        public var source: String
        /// The file name inside the output folder.
        public var fileName: String
        /// Data rows written (header excluded), corrupted rows included.
        public var rows: Int
        /// The `observed_on` date of every row, `YYYY-MM-DD`.
        public var observedOn: String
        /// Rows deliberately corrupted, by kind (only kinds that occurred, in a fixed order).
        public var corruptions: [CorruptionCount]

        /// Total corrupted rows of this file: after ingest, its quarantined rows.
        public var corruptedRows: Int
    }

    /// A number of rows corrupted in one way.
    public struct CorruptionCount: Sendable, Codable, Equatable {
        /// The kind of corruption.
        public var kind: CorruptionKind
        /// How many rows.
        public var rows: Int
    }

    /// Headline counts; persons unless the name says households.
    public struct Statistics: Sendable, Codable, Equatable {
        /// Persons under 18.
        public var children = 0
        /// Persons at or above pension age (63 men, 61 women).
        public var pensionAge = 0
        /// Persons with any disability group (children's disability included).
        public var disabled = 0
        /// Persons in households receiving targeted social assistance.
        public var targetedSocialAssistance = 0
        /// Households registered as large families (four or more children under 18).
        public var largeFamilyHouseholds = 0
        /// Persons with at least one domestic violence report as victim.
        public var violenceVictims = 0
        /// Victims with an active police protection order.
        public var protectionOrders = 0
        /// Victims with a court restraining order (active or expired).
        public var restrainingOrders = 0
        /// Registered offenders.
        public var registeredOffenders = 0
        /// Children of school age (7 to 17) not attending school.
        public var outOfSchool = 0
        /// Persons whose personal address differs from the household address.
        public var movedPersons = 0
        /// Households with five or more members.
        public var householdsOfFiveOrMore = 0

        /// Creates zeroed statistics.
        public init() {}
    }
}

/// How a row of an agency file is deliberately broken by `--error-rate`, so that ingest's
/// quarantine can be tested. Population rows are never corrupted: they establish the persons.
public enum CorruptionKind: String, Sendable, Codable, CaseIterable {
    /// The IIN's twelfth digit does not match its check digit.
    case badCheckDigit = "bad_check_digit"
    /// A valid IIN of nobody in the population register (serial 8000-9998, never issued by the generator).
    case unknownPerson = "unknown_person"
    /// A value that does not fit the indicator's type (`maybe`, `12.5`, `-1`, `2026-02-30`, `n/a`).
    case wrongType = "wrong_type"
    /// A long-format row naming an indicator the source may not supply (police and justice only).
    case disallowedIndicator = "disallowed_indicator"
    /// A field with a bare quote inside, or text after a closing quote: not RFC 4180.
    case malformedQuoting = "malformed_quoting"
}

/// Progress of a running generation, reported every few thousand households.
public struct GenerationProgress: Sendable {
    /// Households written so far.
    public var households: Int
    /// Households to write in all.
    public var totalHouseholds: Int
    /// Persons written so far.
    public var persons: Int
}

/// Why a generation could not run. Names the file or rule, never a personal value.
public struct GeneratorError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// The output folder already holds generated files and overwriting was not asked for.
    static func wouldOverwrite(path: String) -> Self {
        Self(description: "\(path) already exists; pass --force (overwrite: true) to replace it")
    }
    /// A file could not be created.
    static func cannotWrite(path: String) -> Self {
        Self(description: "cannot create \(path)")
    }
    /// A parameter is out of range.
    static func invalid(_ rule: String) -> Self {
        Self(description: rule)
    }
}
