import ArgumentParser
import Foundation
import ShanyrakPolicy

extension Shanyrak {
    /// `shanyrak policy ...`: check, test, decide, explain, diff and sign policy sets.
    struct Policy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy",
            abstract: "Work with the Cedar policy set: check, test, decide, explain, diff, sign.",
            subcommands: [Check.self, Test.self, Decide.self, Explain.self, Diff.self, Sign.self]
        )
    }
}

/// Writes a line to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Loads an engine or fails the command with the loader's message.
func loadEngine(_ directory: String) throws -> PolicyEngine {
    do {
        return try PolicyEngine.load(directory: URL(fileURLWithPath: directory))
    } catch {
        printError("shanyrak policy: \(error.message)")
        throw ExitCode(1)
    }
}
