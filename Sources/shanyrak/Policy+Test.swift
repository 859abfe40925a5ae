import ArgumentParser
import Foundation
import ShanyrakPolicy

extension Shanyrak.Policy {
    /// `policy test [DIR]`: runs the expected decisions in `DIR/tests/*.json`.
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the expected decisions in DIR/tests/*.json and explain each failure.")

        @Argument(help: "The policy directory.")
        var directory: String = "policies"

        func run() async throws {
            let engine = try loadEngine(directory)
            let cases: [PolicyTestCase]
            do {
                cases = try PolicyEngine.loadTests(
                    directory: URL(fileURLWithPath: directory).appendingPathComponent("tests"))
            } catch {
                printError("shanyrak policy test: \(error.message)")
                throw ExitCode(1)
            }
            var failed = 0
            for r in engine.run(cases) where !r.passed {
                failed += 1
                let c = r.testCase
                print("FAIL \(c.file): \(c.name)")
                print(
                    "  expected \(c.decision.rawValue)"
                        + (c.reasons.map { " by [\($0.joined(separator: ", "))]" } ?? ""))
                print(r.explanation.report().split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            }
            print("\(cases.count - failed) of \(cases.count) policy tests passed")
            if failed > 0 || cases.isEmpty { throw ExitCode(1) }
        }
    }
}
