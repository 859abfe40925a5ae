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
                            "{\"change\":\(jsonString(sign == "+" ? "gain" : "loss")),\"role\":\(jsonString(c.role)),"
                                + "\"action\":\(jsonString(c.action)),\"view\":\(jsonString(c.view)),"
                                + "\"facts\":\(jsonString(c.facts)),\"resource\":\(jsonString(c.resource))}")
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
