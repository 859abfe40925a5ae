import Foundation
import Logging
import Testing

@testable import ShanyrakServer

/// The server's log handler writes one line per message at or above its level, with the metadata sorted.
@Suite("HTTP API: server log lines")
struct ServerLogHandlerTests {
    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.withLock { lines.append(line) } }
        var all: [String] { lock.withLock { lines } }
    }

    @Test("levels below the handler's are dropped; metadata of the logger and the message are both written")
    func lines() {
        let lines = Lines()
        var logger = Logger(label: "shanyrak") { ServerLogHandler(label: $0, level: .notice, output: lines.append) }
        logger[metadataKey: "hb.request.id"] = "7"
        logger.info("not written")
        logger.error("request failed: Problem", metadata: ["operation": "getHousehold"])
        #expect(lines.all.count == 1)
        let line = lines.all.first ?? ""
        #expect(line.hasSuffix(" error shanyrak: request failed: Problem [hb.request.id=7 operation=getHousehold]\n"))
        // The line starts with an ISO 8601 time.
        let time = String(line.prefix { $0 != " " })
        #expect((try? Date(time, strategy: .iso8601)) != nil)
    }
}
