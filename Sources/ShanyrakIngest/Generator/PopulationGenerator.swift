public import Foundation
internal import ShanyrakCore

/// Writes a synthetic population of Kazakhstan as the agencies would deliver it: one CSV
/// per agency source (`population.csv`, `labour.csv`, `health.csv`, `education.csv`,
/// `police.csv`, `justice.csv`), with the columns their mappings in `policies/sources/` name.
///
/// The output is a pure function of `households`, `seed` and `errorRate`: the same inputs give
/// byte-identical files on every run. Households are generated and written one at a time, so
/// memory stays flat however large the population. Distributions and their sources are in
/// `docs/synthetic-population.md`.
public struct PopulationGenerator: Sendable {
    /// Number of households to generate (about 3.5 persons each).
    public let households: Int
    /// The seed of every random choice.
    public let seed: UInt64
    /// Share of rows in the five non-population files deliberately corrupted (0...1).
    public let errorRate: Double

    /// The six sources, in the order the files are written and reported.
    public static let sources = ["population", "labour", "health", "education", "police", "justice"]

    /// The header of each source's file, in column order.
    ///
    /// Wide sources: `iin`, `observed_on` and the mapped columns (the population register adds its
    /// household columns); long sources (police, justice): `iin,indicator,value,observed_on`.
    /// An empty cell means "no value" (a person without patronymic or phone).
    /// - Parameter source: one of `sources`.
    /// - Returns: the column names, or an empty array for an unknown source.
    public static func header(for source: String) -> [String] {
        switch source {
        case "population":
            return [
                "iin", "observed_on", "household_id", "relation_to_head", "district_code", "last_name", "first_name",
                "patronymic", "birth_date", "sex", "marital_status", "citizenship", "address", "phone",
            ]
        case "labour":
            return [
                "iin", "observed_on", "employment_status", "registered_unemployed", "sector", "monthly_income",
                "targeted_social_assistance", "pension", "disability_benefit", "child_benefit", "housing_tenure",
                "housing_waiting_list", "large_family",
            ]
        case "health":
            return [
                "iin", "observed_on", "disability_group", "chronic_illness", "dispensary_registered",
                "pregnancy_registered",
            ]
        case "education":
            return ["iin", "observed_on", "school_enrolled", "out_of_school", "special_needs", "preschool_enrolled"]
        case "police", "justice":
            return ["iin", "indicator", "value", "observed_on"]
        default:
            return []
        }
    }

    /// The `observed_on` date each source's rows carry, derived from the seed alone.
    ///
    /// 2026-10-01 minus `seed % 30` days for the population register; the other agencies a few
    /// days earlier (labour 3, health 5, education 7, police 2, justice 4).
    /// - Parameter source: one of `sources`.
    /// - Returns: `YYYY-MM-DD`.
    public func observedOn(source: String) -> String {
        CivilDate.string(observedDay(source: source))
    }

    func observedDay(source: String) -> Int {
        let base = CivilDate.days(year: 2026, month: 10, day: 1) - Int(seed % 30)
        switch source {
        case "labour": return base - 3
        case "health": return base - 5
        case "education": return base - 7
        case "police": return base - 2
        case "justice": return base - 4
        default: return base
        }
    }

    /// Creates a generator.
    /// - Parameters:
    ///   - households: households to generate, at least 1.
    ///   - seed: seed of every random choice; different seeds give different populations.
    ///   - errorRate: share of non-population rows to corrupt deliberately, 0 (default) to 1.
    public init(households: Int, seed: UInt64, errorRate: Double = 0) {
        self.households = households
        self.seed = seed
        self.errorRate = errorRate
    }

    /// Generates the population and writes the six CSV files into `directory`.
    ///
    /// - Parameters:
    ///   - directory: the output folder; created if missing.
    ///   - overwrite: replace existing CSV files of the six sources; when false (default) any of
    ///     them existing is refused before anything is written.
    ///   - progress: called every 4,096 households and once at the end, on the calling thread.
    /// - Returns: counts per file and headline statistics.
    /// - Throws: `GeneratorError` for bad parameters or existing files; file-system errors from writing.
    public func write(
        to directory: URL, overwrite: Bool = false, progress: ((GenerationProgress) -> Void)? = nil
    ) throws -> GenerationSummary {
        guard households >= 1, households <= 20_000_000 else {
            throw GeneratorError.invalid("households must be between 1 and 20,000,000")
        }
        guard errorRate >= 0, errorRate <= 1 else { throw GeneratorError.invalid("error rate must be between 0 and 1") }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let urls = Self.sources.map { directory.appendingPathComponent("\($0).csv") }
        if !overwrite {
            for url in urls where FileManager.default.fileExists(atPath: url.path) {
                throw GeneratorError.wouldOverwrite(path: url.path)
            }
        }
        var writers: [CSVFileWriter] = []
        for (source, url) in zip(Self.sources, urls) {
            writers.append(try CSVFileWriter(url: url, header: Self.header(for: source)))
        }
        var engine = GeneratorEngine(generator: self, writers: writers)
        try engine.run(progress: progress)
        for writer in writers { try writer.close() }
        return engine.summary()
    }
}
