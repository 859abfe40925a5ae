import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import ShanyrakAccess
import ShanyrakAudit
import Testing

@testable import ShanyrakServer

/// Failed authentications beyond a burst per client address are answered 429 and recorded in summary entries
/// (`FailedAuthenticationLimiter`, `ServerDependencies.recordThrottledFailures`).
@Suite("failed authentications: throttled per address, every one still in the audit log")
struct FailedAuthenticationLimiterTests {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let logger = Logger(label: "test")

    static func limiter(burst: Int, perSecond: Double = 1, addresses: Int = 4096) -> FailedAuthenticationLimiter {
        FailedAuthenticationLimiter(
            configuration: .init(burst: burst, perSecond: perSecond, maximumAddresses: addresses))
    }
}

extension FailedAuthenticationLimiter {
    /// A failed household read from `address` at `now`.
    func fail(_ address: String, _ requestID: String, at now: ContinuousClock.Instant) -> Verdict {
        failed(address: address, action: .read, view: .household, requestID: requestID, now: now)
    }
}

extension FailedAuthenticationLimiterTests {

    @Test("an address gets its burst, then 429 with the seconds until its next token, and refills over time")
    func burstThenThrottleThenRefill() {
        let limiter = Self.limiter(burst: 3, perSecond: 0.5)
        let start = ContinuousClock.now
        for i in 0..<3 {
            #expect(
                limiter.fail("10.0.0.1", "r\(i)", at: start)
                    == .record)
        }
        #expect(
            limiter.fail("10.0.0.1", "r3", at: start)
                == .throttle(retryAfterSeconds: 2))
        // Another address has its own bucket.
        #expect(
            limiter.fail("10.0.0.2", "o", at: start)
                == .record)
        // One token back after 2 s at 0.5 a second, and only one.
        let later = start + .seconds(2)
        #expect(
            limiter.fail("10.0.0.1", "r4", at: later)
                == .record)
        #expect(
            limiter.fail("10.0.0.1", "r5", at: later)
                == .throttle(retryAfterSeconds: 2))
    }

    @Test("throttled failures are handed over once, by address and kind, with their count and first request id")
    func summariesCountEachKindOnce() {
        let limiter = Self.limiter(burst: 1)
        let now = ContinuousClock.now
        #expect(limiter.takeSummaries().isEmpty)
        #expect(limiter.fail("a", "first", at: now) == .record)
        for i in 0..<4 {
            _ = limiter.fail("a", "h\(i)", at: now)
        }
        _ = limiter.failed(address: "a", action: .read, view: .person, requestID: "p0", now: now)
        _ = limiter.fail("b", "b0", at: now)
        _ = limiter.fail("b", "b1", at: now)
        let summaries = limiter.takeSummaries().sorted {
            ($0.address, $0.view.rawValue) < ($1.address, $1.view.rawValue)
        }
        #expect(
            summaries == [
                .init(address: "a", action: .read, view: .household, count: 4, firstRequestID: "h0"),
                .init(address: "a", action: .read, view: .person, count: 1, firstRequestID: "p0"),
                .init(address: "b", action: .read, view: .household, count: 1, firstRequestID: "b1"),
            ])
        #expect(limiter.takeSummaries().isEmpty, "handed over once")
        // What could not be recorded comes back with the next summaries.
        limiter.restore(Array(summaries.prefix(1)))
        _ = limiter.fail("b", "b2", at: now)
        #expect(limiter.takeSummaries().map(\.count).sorted() == [1, 4])
    }

    @Test("the table of addresses is bounded: idle addresses are forgotten, else new ones share one bucket")
    func tableIsBounded() {
        let limiter = Self.limiter(burst: 2, perSecond: 1, addresses: 4)
        let start = ContinuousClock.now
        for address in ["a", "b", "c"] {
            _ = limiter.fail(address, address, at: start)
        }
        #expect(limiter.addressCount == 3)
        // Full, and nobody idle yet: "d" and "e" share the overflow bucket (burst 2, then throttled).
        #expect(limiter.fail("d", "d", at: start) == .record)
        #expect(limiter.fail("e", "e", at: start) == .record)
        #expect(limiter.fail("f", "f", at: start) != .record)
        #expect(limiter.addressCount == 4)
        #expect(
            limiter.takeSummaries().map(\.address) == [FailedAuthenticationLimiter.overflowAddress],
            "nothing is lost when the table is full")
        // Ten seconds later a, b and c are idle again (full buckets) and make room.
        let later = start + .seconds(10)
        #expect(limiter.fail("g", "g", at: later) == .record)
        #expect(limiter.addressCount <= 4)
        #expect(limiter.fail("g", "g2", at: later) == .record)
        #expect(limiter.fail("g", "g3", at: later) != .record)
    }

    @Test(
        "an IPv6 client is counted by its /64 network, an IPv4-mapped one by its IPv4 address",
        arguments: [
            ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("fe80::1", "fe80:0:0:0::/64"),
            ("::ffff:192.0.2.7", nil),
        ])
    func ipv6Network(_ text: String, _ expected: String?) throws {
        var address = in6_addr()
        #expect(inet_pton(AF_INET6, text, &address) == 1)
        #expect(ShanyrakRequestContext.network64(address) == expected)
    }

    @Test("over the burst: 429 with Retry-After, a valid token still works, and one summary entry counts the rest")
    func serverThrottlesAndSummarises() async throws {
        let f = try await ServerFixture.make()
        var dependencies = f.dependencies
        dependencies.failedAuthentications = Self.limiter(burst: 3, perSecond: 0.001)
        let before = try f.auditLog.reader.query(AuditQuery(limit: 100_000)).count
        let uri = "/v1/households/\(f.household)"
        let (individual, throttled) = try await ShanyrakServer.application(dependencies, port: 0).test(.router) {
            client -> ([String], [String]) in
            var individual: [String] = []
            var throttled: [String] = []
            for i in 0..<8 {
                let response = try await client.execute(
                    uri: uri, method: .get, headers: f.headers(i % 2 == 0 ? "wrong token" : "no token"))
                let id = try #require(response.headers[Self.requestID])
                if i < 3 {
                    #expect(response.status == .unauthorized)
                    individual.append(id)
                } else {
                    #expect(response.status == .tooManyRequests)
                    #expect(response.headers[.retryAfter].flatMap(Int.init).map { $0 >= 1 } == true)
                    #expect(response.headers[.contentType] == "application/problem+json")
                    let body = String(buffer: response.body)
                    #expect(body.contains("problems/too-many-failed-authentications"))
                    #expect(!body.contains(f.household))
                    throttled.append(id)
                }
            }
            // The flood's address does not lock out a valid token.
            let card = try await client.execute(uri: uri, method: .get, headers: f.headers("social_worker"))
            #expect(card.status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: f.headers("metrics token"))
            #expect(String(buffer: metrics.body).contains("shanyrak_failed_authentications_throttled_total 5"))
            return (individual, throttled)
        }
        func failures() throws -> [AuditEntry] {
            try f.auditLog.reader.query(AuditQuery(limit: 100_000)).dropFirst(before)
                .filter { $0.actorId == "anonymous" }
        }
        #expect(try failures().map(\.requestId) == individual, "the first three on their own, the rest not yet")
        #expect(await dependencies.recordThrottledFailures(logger: Self.logger) == 5)
        let summary = try #require(try failures().last)
        #expect(summary.occurrences == 5 && summary.requestId == throttled.first)
        #expect(summary.decision == .deny && summary.action == "read" && summary.view == "household")
        #expect(summary.subjects.isEmpty && summary.indicatorIds.isEmpty)
        #expect(try failures().dropLast().allSatisfy { $0.occurrences == 1 })
        #expect(await dependencies.recordThrottledFailures(logger: Self.logger) == 0, "recorded once")
        #expect(try failures().count == 4)
        // An auditor reading the log over the API sees the count too.
        try await ShanyrakServer.application(dependencies, port: 0).test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/audit/entries?actor=anonymous", method: .get, headers: f.headers("auditor"))
            let page = try #require(
                try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            let counts = (page["entries"] as? [[String: Any]] ?? []).compactMap { $0["occurrences"] as? Int }
            #expect(counts == [5], "only the summary carries occurrences")
        }
        await f.close()
    }

    @Test("a summary that cannot be recorded is kept and recorded once the audit log works again")
    func summaryKeptWhileLogFails() async throws {
        let f = try await ServerFixture.make()
        var dependencies = f.dependencies
        dependencies.failedAuthentications = Self.limiter(burst: 1, perSecond: 0.001)
        try await ShanyrakServer.application(dependencies, port: 0).test(.router) { client in
            for _ in 0..<4 {
                _ = try await client.execute(uri: "/v1/caseload", method: .get, headers: f.headers("wrong token"))
            }
        }
        let before = try f.auditLog.reader.query(AuditQuery(limit: 100_000)).count
        await f.log.setFailing(true)
        #expect(await dependencies.recordThrottledFailures(logger: Self.logger) == 0)
        #expect(try f.auditLog.reader.query(AuditQuery(limit: 100_000)).count == before)
        await f.log.setFailing(false)
        #expect(await dependencies.recordThrottledFailures(logger: Self.logger) == 3)
        let last = try #require(try f.auditLog.reader.query(AuditQuery(limit: 100_000)).last)
        #expect(last.occurrences == 3 && last.view == "caseload")
        await f.close()
    }
}
