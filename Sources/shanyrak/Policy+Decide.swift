import ArgumentParser
import Foundation
import ShanyrakPolicy

extension Shanyrak.Policy {
    /// `policy decide`: JSON-lines requests on stdin, one decision per line on stdout.
    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decide requests read as JSON lines on standard input (Cedar's request form).",
            discussion: """
                Each input line: {"principal": "Shanyrak::Staff::\\"u1\\"", "action": ..., "resource": ..., \
                "context": {...}}. With --json each output line is {"decision": "allow"|"deny", "reasons": [...], \
                "errors": [...]}; without, a readable line.
                """)

        @Option(help: "The policy directory.")
        var policies: String = "policies"

        @Option(help: "Entities in Cedar's JSON format.")
        var entities: String

        @Flag(help: "Also load the indicator catalog's entities and the schema's actions from the policy directory.")
        var withCatalog = false

        @Flag(help: "Write one JSON object per line.")
        var json = false

        func run() async throws {
            let policySet: CedarPolicySet
            var store: CedarEntities
            do {
                policySet = try CedarPolicySet(directory: URL(fileURLWithPath: policies))
                let data = try Data(contentsOf: URL(fileURLWithPath: entities))
                let fileEntities = try CedarEntities.fromJSON(data)
                store = fileEntities
                if withCatalog {
                    let engine = try loadEngine(policies)
                    store = try engine.baseEntities.adding(fileEntities.all)
                }
            } catch let error as PolicyLoadError {
                printError("shanyrak policy decide: \(error.message)")
                throw ExitCode(1)
            } catch {
                printError("shanyrak policy decide: \(error)")
                throw ExitCode(1)
            }
            var lineNumber = 0
            while let line = readLine(strippingNewline: true) {
                lineNumber += 1
                if line.allSatisfy(\.isWhitespace) { continue }
                let decision: String
                let reasons: [String]
                let errors: [String]
                do {
                    let request = try CedarRequest.fromJSON(Data(line.utf8))
                    let r = policySet.authorize(request, entities: store)
                    decision = r.decision.rawValue
                    reasons = r.determiningPolicies
                    errors = r.errors.map(\.description)
                } catch {
                    decision = "deny"
                    reasons = []
                    errors = ["input line \(lineNumber): \(error.message)"]
                }
                if json {
                    print(
                        "{\"decision\":\(JSONWriter.string(decision)),\"reasons\":[\(reasons.map(JSONWriter.string).joined(separator: ","))],"
                            + "\"errors\":[\(errors.map(JSONWriter.string).joined(separator: ","))]}")
                } else {
                    var text = decision
                    if !reasons.isEmpty { text += " by " + reasons.joined(separator: ", ") }
                    for e in errors { text += "\n  " + e }
                    print(text)
                }
            }
        }
    }
}
