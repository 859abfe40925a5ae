import ArgumentParser
import Foundation
import ShanyrakPolicy

extension Shanyrak.Policy {
    /// `policy check [DIR]`: parse, schema, catalog and survivor-safety invariant.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a policy set: syntax, schema, catalog, and the survivor-safety invariant.",
            discussion: "Exits 0 when the set is valid (warnings allowed), 1 otherwise.")

        @Argument(help: "The policy directory.")
        var directory: String = "policies"

        func run() async throws {
            let engine = try loadEngine(directory)
            let findings = engine.check()
            for f in findings { printError(f.description) }
            let errors = findings.filter { $0.severity == .error }.count
            let warnings = findings.count - errors
            if errors > 0 {
                printError("\(directory): \(errors) error(s), \(warnings) warning(s): the policy set is refused")
                throw ExitCode(1)
            }
            print(
                "\(directory): \(engine.policySet.policies.count) policies valid (\(warnings) warning(s)); "
                    + "survivor-safety invariant holds")
        }
    }
}
