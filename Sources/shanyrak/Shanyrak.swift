import ArgumentParser

/// The `shanyrak` command-line tool: one subcommand per task.
@main
struct Shanyrak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shanyrak",
        abstract: "Shanyrak: privacy-preserving Family Social Card service.",
        subcommands: [Audit.self]
    )
}
