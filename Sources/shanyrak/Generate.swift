import ArgumentParser
import Foundation
import ShanyrakIngest

extension Shanyrak {
    /// `shanyrak generate`: writes a synthetic population as the agencies would deliver it.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a synthetic population: one CSV per agency source.",
            discussion: """
                Writes population.csv, labour.csv, health.csv, education.csv, police.csv and justice.csv \
                into --out. The same --households and --seed give byte-identical files. --error-rate \
                corrupts that share of rows in the five agency files (never population.csv) so that \
                ingest quarantine can be tested; see docs/synthetic-population.md.
                """
        )

        @Option(help: "Number of households (about 3.5 persons each).")
        var households: Int

        @Option(help: "Seed of every random choice.")
        var seed: UInt64

        @Option(help: "Output folder (created if missing).")
        var out: String

        @Option(help: "Share of agency-file rows to corrupt deliberately, 0 to 1.")
        var errorRate: Double = 0

        @Flag(help: "Overwrite existing CSV files in the output folder.")
        var force = false

        @Flag(help: "Print the summary as JSON.")
        var json = false

        func validate() throws {
            guard households >= 1, households <= 20_000_000 else {
                throw ValidationError("--households must be between 1 and 20000000")
            }
            guard errorRate >= 0, errorRate <= 1 else {
                throw ValidationError("--error-rate must be between 0 and 1")
            }
        }

        func run() async throws {
            let generator = PopulationGenerator(households: households, seed: seed, errorRate: errorRate)
            let showProgress = isatty(STDERR_FILENO) != 0 && !json
            let start = Date()
            let summary: GenerationSummary
            do {
                summary = try generator.write(to: URL(fileURLWithPath: out), overwrite: force) { p in
                    guard showProgress else { return }
                    let line = "\rgenerating: \(p.households)/\(p.totalHouseholds) households, \(p.persons) persons"
                    FileHandle.standardError.write(Data(line.utf8))
                }
            } catch let error as GeneratorError {
                throw ValidationError(error.description)
            }
            if showProgress { FileHandle.standardError.write(Data("\n".utf8)) }
            let seconds = Date().timeIntervalSince(start)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
                return
            }
            let counts = "\(summary.households) households, \(summary.persons) persons"
            print("wrote \(counts) to \(out) in \(Self.format(seconds)) s")
            for file in summary.files {
                var line = "  \(file.fileName): \(file.rows) rows, observed_on \(file.observedOn)"
                if file.corruptedRows > 0 {
                    let kinds = file.corruptions.map { "\($0.kind.rawValue) \($0.rows)" }.joined(separator: ", ")
                    line += ", \(file.corruptedRows) corrupted (\(kinds))"
                }
                print(line)
            }
            let s = summary.statistics
            print(
                "  children \(s.children), pension age \(s.pensionAge), disabled \(s.disabled), "
                    + "TSA persons \(s.targetedSocialAssistance), large-family households \(s.largeFamilyHouseholds), "
                    + "DV victims \(s.violenceVictims), out of school \(s.outOfSchool)")
        }

        private static func format(_ seconds: Double) -> String {
            let tenths = Int((seconds * 10).rounded())
            return "\(tenths / 10).\(tenths % 10)"
        }
    }
}
