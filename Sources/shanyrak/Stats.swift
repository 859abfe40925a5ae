import ArgumentParser
import Foundation
import ShanyrakStore

extension Shanyrak {
    /// `shanyrak stats`: counts only, no personal data.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts of households, persons, values by class and quarantined rows (no personal data).")
        @OptionGroup var data: DataOption
        @OptionGroup var output: JSONOption

        func run() async throws {
            try await data.printReport(
                json: output.json, read: { try $0.statistics() },
                text: { stats in
                    print(
                        "households: \(stats.households)\npersons: \(stats.persons)\nquarantined rows: \(stats.quarantinedRows)"
                    )
                    for (cls, n) in stats.valuesByClass.sorted(by: { $0.key < $1.key }) { print("values \(cls): \(n)") }
                })
        }
    }
}
