import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ShanyrakAudit
import ShanyrakCrypto
import ShanyrakTestSupport
import Synchronization
import Testing

@testable import ShanyrakServer

@Suite("/metrics and its token")
struct MetricsTokenTests {
    static func token(_ text: String) throws -> MetricsToken {
        try MetricsToken(secret: SecureBytes(copying: Array(text.utf8)), from: "metrics token file /x/metrics.token")
    }

    static let requestID = HTTPField.Name("X-Request-ID")!

    @Test("without a metrics token /metrics is off: 404 with a problem saying how to turn it on, nothing audited")
    func offWithoutToken() async throws {
        let f = try await ServerFixture.make()
        var dependencies = f.dependencies
        dependencies.metricsToken = nil
        let before = try f.auditLog.reader.query(AuditQuery(limit: 100_000)).count
        try await ShanyrakServer.application(dependencies, port: 0).test(.router) { client in
            for caller in ["no token", "metrics token", "administrator", "wrong token"] {
                let response = try await client.execute(uri: "/metrics", method: .get, headers: f.headers(caller))
                #expect(response.status == .notFound, "\(caller)")
                #expect(response.headers[.contentType] == "application/problem+json")
                let problem = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                #expect(problem["type"] as? String == "https://shanyrak.example/problems/metrics-off")
                #expect((problem["detail"] as? String)?.contains("--metrics-token-file") == true)
                #expect(!String(buffer: response.body).contains("shanyrak_http_requests_total"))
            }
        }
        #expect(try f.auditLog.reader.query(AuditQuery(limit: 100_000)).count == before)
        await f.close()
    }

    @Test("a missing or wrong metrics token, or a staff token, gets 401, and each failure is audited")
    func failuresAnswer401AndAreAudited() async throws {
        let f = try await ServerFixture.make()
        let callers = ["no token", "wrong token", "administrator", "auditor", "wrong token", "no token"]
        let requestIDs = try await f.application().test(.router) { client -> [String] in
            var requestIDs: [String] = []
            for caller in callers {
                let response = try await client.execute(uri: "/metrics", method: .get, headers: f.headers(caller))
                #expect(response.status == .unauthorized, "\(caller)")
                #expect(response.headers[.wwwAuthenticate] != nil)
                #expect(String(buffer: response.body).contains(#""detail":"the metrics token is required""#))
                requestIDs.append(try #require(response.headers[Self.requestID]))
            }
            let metrics = try await client.execute(
                uri: "/metrics", method: .get, headers: f.headers("metrics token"))
            #expect(metrics.status == .ok)
            #expect(String(buffer: metrics.body).contains(#"route="/metrics",status="401"} \#(callers.count)"#))
            return requestIDs
        }
        let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000))
        let audited = entries.filter { requestIDs.contains($0.requestId) }
        // Throttled beyond a burst, as staff-token failures are (FailedAuthenticationLimiterTests); these are fewer.
        #expect(audited.map(\.requestId).sorted() == requestIDs.sorted(), "one entry per failure")
        #expect(audited.allSatisfy { $0.actorId == "anonymous" && $0.decision == .deny && $0.occurrences == 1 })
        #expect(audited.allSatisfy { $0.view == "administration" })
        await f.close()
    }

    @Test(
        "a token is compared by its hash, with spaces and line ends around it dropped",
        arguments: [
            ("  " + String(repeating: "x", count: 40) + "\n", String(repeating: "x", count: 40), true),
            (String(repeating: "x", count: 40), String(repeating: "x", count: 39), false),
            (String(repeating: "x", count: 40), String(repeating: "x", count: 40) + "y", false),
            ("mJ0+/q0vYq8d0fFh0c9Uu1m2Yf2cJYjG6x3b1p5oQm4=\r\n", "mJ0+/q0vYq8d0fFh0c9Uu1m2Yf2cJYjG6x3b1p5oQm4=", true),
        ])
    func matching(configured: String, presented: String, matches: Bool) throws {
        #expect(try Self.token(configured).matches(presented) == matches)
    }

    @Test(
        "a token that is short, long, or holds spaces or other than visible ASCII is refused, named, not shown",
        arguments: [
            String(repeating: "s", count: 31), String(repeating: "l", count: 257), "", "\n",
            "with a space in it, long enough to pass the length rule",
            "tab\tinside-" + String(repeating: "t", count: 32),
            "ünïcödé-" + String(repeating: "u", count: 32),
        ])
    func badTokenRefused(_ text: String) {
        do {
            _ = try Self.token(text)
            Issue.record("accepted: \(text.debugDescription)")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("metrics token file /x/metrics.token"))
            #expect(message.contains("32 to 256 visible ASCII characters"))
            if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                #expect(!message.contains(text.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
    }

    @Test(
        "a token file is followed: a new token replaces the old after a look, a file failing the checks opens nothing")
    func tokenFileIsFollowed() throws {
        let folder = try TestDirectory.make("shanyrak-metrics-token")
        let url = folder.appendingPathComponent("metrics.token")
        let first = String(repeating: "a", count: 40)
        let second = String(repeating: "b", count: 44)
        func write(_ token: String, mode: Int = 0o600) throws {
            // A new file each time, as `openssl rand > file` or an editor's save would make.
            try? FileManager.default.removeItem(at: url)
            try Data((token + "\n").utf8).write(to: url)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        }
        try write(first)
        let reports = Mutex<[(String, Bool)]>([])
        let token = try MetricsToken(
            file: url, report: { message, failed in reports.withLock { $0.append((message, failed)) } })
        let second0: UInt64 = 1_000_000_000
        let start = 5 * second0
        #expect(token.matches(first, at: start))
        try write(second)
        // Not looked at again within a second: the old token still opens, the new one not yet.
        #expect(token.matches(first, at: start + second0 / 2))
        #expect(!token.matches(second, at: start + second0 / 2))
        #expect(token.matches(second, at: start + second0 + 1))
        #expect(!token.matches(first, at: start + second0 + 2))
        #expect(reports.withLock { $0.last?.1 } == false)
        // Readable by others: no token opens /metrics, and the report says why without the token.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        #expect(!token.matches(second, at: start + 3 * second0))
        #expect(!token.matches(first, at: start + 3 * second0))
        let failure = try #require(reports.withLock { $0.last })
        #expect(failure.1 && failure.0.contains("chmod 600") && failure.0.contains(url.path))
        #expect(!failure.0.contains(second) && !failure.0.contains(first))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
        #expect(token.matches(second, at: start + 5 * second0))
        // Gone: closed again, and said so.
        try FileManager.default.removeItem(at: url)
        #expect(!token.matches(second, at: start + 7 * second0))
        #expect(reports.withLock { $0.last.map { $0.1 && $0.0.contains("does not exist") } } == true)
    }

    @Test("a token given once (the environment) is not followed and keeps opening /metrics")
    func tokenGivenOnceStays() throws {
        let token = try Self.token(String(repeating: "c", count: 40))
        for second in 0..<5 {
            #expect(token.matches(String(repeating: "c", count: 40), at: UInt64(second) * 1_000_000_000))
        }
    }
}
