import ArgumentParser
import Foundation
import ShanyrakStore

/// `--json` of the reports whose output a script may read, declared once so that they keep one flag and help text.
struct JSONOption: ParsableArguments {
    @Flag(name: .long, help: "Print JSON.")
    var json = false
}

/// Prints `value` with `printJSON` when `json` is set and with `text` otherwise, so that both forms show the
/// same fetched value and every `--json` prints the same JSON format.
/// - Parameters:
///   - value: What the command reports.
///   - json: Whether `--json` was given.
///   - text: Prints `value` for a reader.
/// - Throws: An encoding error of `printJSON`, or what `text` throws.
func printJSONOrText<Value: Encodable>(_ value: Value, json: Bool, text: (Value) throws -> Void) throws {
    if json {
        try printJSON(value)
    } else {
        try text(value)
    }
}

extension DataOption {
    /// Opens the data folder, reads one value from its registry and prints it as JSON or text: the read-only
    /// reports (`keys status`, `users list`, `stats`) differ only in what they read and how text shows it.
    /// - Parameters:
    ///   - json: Whether `--json` was given.
    ///   - read: Reads the value from the registry.
    ///   - text: Prints the value for a reader.
    /// - Throws: `ExitCode` after `runReportingErrors` has reported the failure.
    func printReport<Value: Encodable>(
        json: Bool, read: (Registry) throws -> Value, text: (Value) -> Void
    ) async throws {
        try await runReportingErrors {
            let context = try ServiceContext.open(data: data)
            try printJSONOrText(try read(context.registry), json: json, text: text)
        }
    }
}
