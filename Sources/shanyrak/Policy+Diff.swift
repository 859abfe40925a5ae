import ArgumentParser
import Foundation
import ShanyrakPolicy

extension Shanyrak.Policy {
    /// `policy diff OLD NEW`: the access matrix cells that change.
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show who gains and who loses access between two policy sets (role x indicator x view).")

        @Argument(help: "The current policy directory.")
        var old: String

        @Argument(help: "The proposed policy directory.")
        var new: String

        @Flag(help: "Write one JSON object per changed cell.")
        var json = false

        func run() async throws {
            let a = try loadEngine(old)
            let b = try loadEngine(new)
            let (gains, losses) = AccessMatrix.diff(old: a.accessMatrix(), new: b.accessMatrix())
            for (sign, cells) in [("+", gains), ("-", losses)] {
                for c in cells {
                    if json {
                        print(
                            "{\"change\":\(JSONWriter.string(sign == "+" ? "gain" : "loss")),\"role\":\(JSONWriter.string(c.role)),"
                                + "\"action\":\(JSONWriter.string(c.action)),\"view\":\(JSONWriter.string(c.view)),"
                                + "\"facts\":\(JSONWriter.string(c.facts)),\"resource\":\(JSONWriter.string(c.resource))}"
                        )
                    } else {
                        print("\(sign) \(c)")
                    }
                }
            }
            if !json {
                print("\(gains.count) gain(s), \(losses.count) loss(es)")
            }
        }
    }
}
