import ArgumentParser
import Foundation
import ShanyrakPolicy

extension Shanyrak.Policy {
    /// `policy sign DIR --key FILE`: signs every file of the set.
    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign every file of a policy set (Ed25519); writes DIR/policies.sig.")

        @Argument(help: "The policy directory.")
        var directory: String = "policies"

        @Option(help: "The Ed25519 secret key file.")
        var key: String

        func run() async throws {
            printError("shanyrak policy sign: not available yet")
            throw ExitCode(1)
        }
    }
}
