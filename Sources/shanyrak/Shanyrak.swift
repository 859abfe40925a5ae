import ArgumentParser
import Foundation

/// The `shanyrak` command-line tool: one subcommand per task (started by `main.swift`).
struct Shanyrak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shanyrak",
        abstract: "Shanyrak: privacy-preserving Family Social Card service.",
        subcommands: [
            Keys.self, Init.self, Generate.self, Ingest.self, Stats.self,
            Policy.self, Audit.self, RegistryCommand.self, Users.self, Assign.self, Unassign.self, Households.self,
            Serve.self, Demo.self,
        ]
    )

}

/// The option that names the data folder.
struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The data folder (created by `shanyrak init`).")
    var data: String
}
