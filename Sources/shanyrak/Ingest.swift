import ArgumentParser
import Foundation
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore

extension IngestError: IngestErrorExit {}

extension Shanyrak {
    /// `shanyrak ingest`: load one agency feed.
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load one agency feed (CSV) through its mapping in policies/sources/.",
            discussion: """
                Exit status: 0 every row accepted; 3 loaded with rows quarantined; 2 nothing loaded \
                (unknown source, wrong header, unreadable file); 4 refused by --all-or-nothing.
                """)

        @OptionGroup var data: DataOption
        @Option(name: .long, help: "Source name: the mapping policies/sources/NAME.yaml.")
        var source: String
        @Argument(help: "The feed file (CSV with a header line).")
        var file: String
        @Flag(name: .long, help: "Refuse the whole batch if any row is bad.")
        var allOrNothing = false
        @Flag(name: .long, help: "Print the summary as JSON.")
        var json = false

        func run() async throws {
            try await runReportingErrors {
                let context = try ServiceContext.open(data: data.data)
                let mapping = try context.sourceMapping(source)
                let keys = try DataKeys.load(from: context.registry, keyring: context.keyring)
                let ingester = Ingester(
                    registry: context.registry, keys: keys,
                    pseudonymiser: try Pseudonymiser(key: context.keyring.pseudonymKey),
                    catalog: context.catalog)
                let fileURL = URL(fileURLWithPath: file)
                let size = (try? FileManager.default.attributesOfItem(atPath: fileURL.path)[.size] as? Int) ?? 0
                let terminal = standardErrorIsTerminal
                var options = IngestOptions(allOrNothing: allOrNothing)
                if terminal {
                    options.progress = { rows, bytes in
                        let percent = size > 0 ? bytes * 100 / size : 0
                        FileHandle.standardError.write(Data("\r\(source): \(rows) rows (\(percent)%)".utf8))
                    }
                }
                let summary = try ingester.ingest(file: fileURL, mapping: mapping, options: options)
                if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
                try await OperatorAudit.recordIngest(context, summary: summary, mapping: mapping)
                try printJSONOrText(summary, json: json) { summary in
                    print(
                        "\(source): \(summary.rowsRead) rows read, \(summary.rowsAccepted) accepted, \(summary.rowsQuarantined) quarantined; "
                            + "\(summary.valuesWritten) values written, \(summary.valuesUnchanged) unchanged in "
                            + String(format: "%.2f", summary.seconds) + " s")
                    for p in summary.problems.prefix(50) {
                        print("  line \(p.line), column \(p.column): \(p.rule)")
                    }
                    if summary.rowsQuarantined > 50 {
                        print("  ... \(summary.rowsQuarantined - 50) more quarantined rows (see --json)")
                    }
                }
                if summary.rowsQuarantined > 0 { throw ExitCode(3) }
            }
        }
    }
}
