import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCore
import ShanyrakServer
import Testing

@testable import ShanyrakServer
@testable import ShanyrakStore

/// One request of the matrix.
struct Endpoint: CustomStringConvertible {
    let name: String
    let method: HTTPRequest.Method
    let path: String
    let body: String?
    /// Expected status by caller (roles, and the three kinds of failed authentication).
    let expected: [String: HTTPResponse.Status]
    var description: String { name }
}

@Suite("HTTP API")
struct ServerTests {
    static let roles = ["social_worker", "gbv_specialist", "researcher", "administrator", "auditor", "agency"]
    /// Callers without a staff token; the metrics token is one of them: it opens `/metrics` only.
    static let unauthenticated = ["no token", "wrong token", "revoked token", "metrics token"]

    static func matrix(_ f: ServerFixture) -> [Endpoint] {
        func only(_ allowed: [String], _ status: HTTPResponse.Status = .ok, others: HTTPResponse.Status = .forbidden)
            -> [String: HTTPResponse.Status]
        {
            var out: [String: HTTPResponse.Status] = [:]
            for role in roles { out[role] = allowed.contains(role) ? status : others }
            for caller in unauthenticated { out[caller] = .unauthorized }
            return out
        }
        var everyone: [String: HTTPResponse.Status] = [:]
        for caller in roles + unauthenticated { everyone[caller] = .ok }
        // Only the metrics token opens /metrics: no staff token does, the administrator's included.
        var metricsTokenOnly: [String: HTTPResponse.Status] = [:]
        for caller in roles + unauthenticated { metricsTokenOnly[caller] = .unauthorized }
        metricsTokenOnly["metrics token"] = .ok
        return [
            Endpoint(
                name: "household in caseload", method: .get, path: "/v1/households/\(f.household)", body: nil,
                expected: only(["social_worker"])),
            Endpoint(
                name: "household outside caseload", method: .get, path: "/v1/households/\(f.otherHousehold)",
                body: nil, expected: only([])),
            Endpoint(
                name: "household that does not exist", method: .get,
                path: "/v1/households/\(String(repeating: "ab", count: 16))", body: nil, expected: only([])),
            Endpoint(
                name: "person in caseload", method: .get, path: "/v1/persons/\(f.person)", body: nil,
                expected: only(["social_worker", "gbv_specialist"])),
            Endpoint(
                name: "person outside caseload", method: .get, path: "/v1/persons/\(f.otherPerson)", body: nil,
                expected: only([])),
            Endpoint(
                name: "break-glass", method: .post, path: "/v1/persons/\(f.otherPerson)/break-glass",
                body: #"{"justification":"child at risk tonight, supervisor informed"}"#,
                expected: only(["social_worker", "gbv_specialist"])),
            Endpoint(name: "caseload", method: .get, path: "/v1/caseload", body: nil, expected: only(roles)),
            Endpoint(
                name: "ingest own source", method: .post, path: "/v1/ingest/police", body: f.policeCSV,
                expected: only(["agency"])),
            Endpoint(
                name: "ingest other source", method: .post, path: "/v1/ingest/labour", body: "iin\n",
                expected: only([])),
            Endpoint(name: "checkpoint", method: .get, path: "/v1/audit/checkpoint", body: nil, expected: everyone),
            Endpoint(
                name: "audit entries", method: .get, path: "/v1/audit/entries?limit=5", body: nil,
                expected: only(["auditor"])),
            Endpoint(
                name: "inclusion proof", method: .get, path: "/v1/audit/proof/inclusion?index=0", body: nil,
                expected: only(["auditor"])),
            Endpoint(
                name: "consistency proof", method: .get, path: "/v1/audit/proof/consistency?from=1", body: nil,
                expected: only(["auditor"])),
            Endpoint(name: "health", method: .get, path: "/health", body: nil, expected: everyone),
            Endpoint(name: "metrics", method: .get, path: "/metrics", body: nil, expected: metricsTokenOnly),
            Endpoint(name: "openapi", method: .get, path: "/openapi.yaml", body: nil, expected: everyone),
        ]
    }

    @Test("authorization matrix: every caller x every endpoint")
    func authorizationMatrix() async throws {
        let f = try await ServerFixture.make()
        let endpoints = Self.matrix(f)
        try await f.application().test(.router) { client in
            for endpoint in endpoints {
                for caller in Self.roles + Self.unauthenticated {
                    var headers = f.headers(caller)
                    if endpoint.body != nil {
                        headers[.contentType] = endpoint.path.contains("ingest") ? "text/csv" : "application/json"
                    }
                    let response = try await client.execute(
                        uri: endpoint.path, method: endpoint.method, headers: headers,
                        body: endpoint.body.map { ByteBuffer(string: $0) })
                    #expect(
                        response.status == endpoint.expected[caller],
                        "\(endpoint.name) as \(caller): \(response.status)")
                    if response.status != .ok {
                        #expect(response.headers[.contentType] == "application/problem+json", "\(endpoint.name)")
                    }
                    #expect(response.headers[HTTPField.Name("X-Request-ID")!] != nil)
                    #expect(response.headers[.cacheControl] == "no-store", "\(endpoint.name) as \(caller)")
                }
            }
        }
        // Denials and failed authentications are in the log too.
        let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000))
        let sw = try #require(f.accounts["social_worker"]?.principal)
        #expect(
            entries.contains {
                $0.actorId == "staff:\(sw.id)" && $0.decision == .deny && $0.subjects == [f.otherHousehold]
            }, "a social worker's request outside the caseload is audited")
        #expect(
            entries.filter { $0.actorId == "anonymous" && $0.decision == .deny }.count >= 3 * Self.matrix(f).count / 2)
        await f.close()
    }

    @Test("the audit log cannot be written: data endpoints answer 503 and release nothing")
    func auditFaultGives503() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            let sw = f.headers("social_worker")
            let ok = try await client.execute(uri: "/v1/households/\(f.household)", method: .get, headers: sw)
            #expect(ok.status == .ok)
            await f.log.setFailing(true)
            let releasesBefore = await f.log.releases
            let requests: [(String, HTTPRequest.Method, HTTPFields, String?)] = [
                ("/v1/households/\(f.household)", .get, sw, nil),
                ("/v1/persons/\(f.person)", .get, f.headers("gbv_specialist"), nil),
                ("/v1/persons/\(f.otherPerson)/break-glass", .post, sw, #"{"justification":"urgent"}"#),
                ("/v1/caseload", .get, sw, nil),
                ("/v1/households/\(f.otherHousehold)", .get, sw, nil),
                ("/v1/households/\(f.household)", .get, f.headers("wrong token"), nil),
                ("/v1/ingest/police", .post, f.headers("agency"), f.policeCSV),
                ("/v1/audit/entries", .get, f.headers("auditor"), nil),
            ]
            for (path, method, headers, body) in requests {
                let response = try await client.execute(
                    uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                #expect(response.status == .serviceUnavailable, "\(path)")
                #expect(response.headers[.contentType] == "application/problem+json")
                let text = String(buffer: response.body)
                #expect(!text.contains(f.household) && !text.contains(f.person) && !text.contains("members"))
                #expect(!text.contains("indicators"))
            }
            #expect(await f.log.releases == releasesBefore)
            await f.log.setFailing(false)
            let again = try await client.execute(uri: "/v1/households/\(f.household)", method: .get, headers: sw)
            #expect(again.status == .ok)
        }
        await f.close()
    }

    @Test("errors are RFC 9457 problem details without personal data")
    func problemDetails() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            let researcher = try await client.execute(
                uri: "/v1/persons/\(f.person)", method: .get, headers: f.headers("researcher"))
            #expect(researcher.status == .forbidden)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(researcher.body.readableBytesView)) as? [String: Any])
            #expect(object["status"] as? Int == 403)
            #expect(object["title"] as? String == "Forbidden")
            #expect(object["detail"] as? String == "access denied")
            #expect((object["type"] as? String)?.hasPrefix("https://") == true)
            #expect((object["instance"] as? String)?.hasPrefix("urn:uuid:") == true)
            #expect(Set(object.keys) == ["type", "title", "status", "detail", "instance"])
            // The same answer whether or not the person exists.
            let missing = try await client.execute(
                uri: "/v1/persons/\(String(repeating: "cd", count: 16))", method: .get,
                headers: f.headers("researcher"))
            let missingObject = try #require(
                try JSONSerialization.jsonObject(with: Data(missing.body.readableBytesView)) as? [String: Any])
            #expect(missing.status == .forbidden && missingObject["detail"] as? String == "access denied")

            let token = try #require(f.accounts["wrong token"]?.token)
            let unauthorized = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("wrong token"))
            #expect(unauthorized.status == .unauthorized)
            #expect(unauthorized.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let text = String(buffer: unauthorized.body)
            #expect(!text.contains(token) && !text.contains(f.household))

            let badBody = try await client.execute(
                uri: "/v1/persons/\(f.otherPerson)/break-glass", method: .post, headers: f.headers("social_worker"),
                body: ByteBuffer(string: "not json"))
            #expect(badBody.status == .badRequest)
            #expect(badBody.headers[.contentType] == "application/problem+json")
            let notFound = try await client.execute(uri: "/v2/nothing", method: .get)
            #expect(notFound.status == .notFound)
            #expect(notFound.headers[.contentType] == "application/problem+json")
            let wrongMethod = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .delete, headers: f.headers("social_worker"))
            #expect(wrongMethod.status.code >= 400 && wrongMethod.status.code < 500)
            #expect(wrongMethod.headers[.contentType] == "application/problem+json")
            #expect(!String(buffer: wrongMethod.body).contains(f.household))
        }
        // Failed authentications are recorded without the token.
        let entries = try f.auditLog.reader.query(AuditQuery(actorId: "anonymous"))
        #expect(!entries.isEmpty)
        let token = try #require(f.accounts["wrong token"]?.token)
        for entry in entries { #expect(!"\(entry)".contains(token)) }
        await f.close()
    }

    @Test("the household card is the same bytes on two requests, exactly the canonical JSON")
    func householdBytesStable() async throws {
        let f = try await ServerFixture.make()
        let principal = try #require(f.accounts["social_worker"]?.principal)
        let canonical = try await f.dependencies.access.householdView(
            principal: principal, householdID: f.household, requestID: "direct"
        ).canonicalJSON()
        try await f.application().test(.router) { client in
            let first = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("social_worker"))
            let second = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("social_worker"))
            #expect(first.status == .ok)
            #expect(Data(first.body.readableBytesView) == Data(second.body.readableBytesView))
            #expect(Data(first.body.readableBytesView) == canonical)
            #expect(first.headers[.contentType] == "application/json")
            let id1 = first.headers[HTTPField.Name("X-Request-ID")!]
            let id2 = second.headers[HTTPField.Name("X-Request-ID")!]
            #expect(id1 != nil && id1 != id2)
        }
        await f.close()
    }

    @Test("the contract is served at /openapi.yaml")
    func openAPIServed() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            let response = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(text == (try ShanyrakServer.openAPIDocument()))
            for path in [
                "/v1/households/{id}:", "/v1/persons/{id}:", "/v1/caseload:", "/v1/persons/{id}/break-glass:",
                "/v1/ingest/{source}:", "/v1/audit/checkpoint:", "/v1/audit/entries:", "/v1/audit/proof/inclusion:",
                "/v1/audit/proof/consistency:", "/health:", "/metrics:",
            ] {
                #expect(text.contains("\n  \(path)\n"), "\(path)")
            }
        }
        await f.close()
    }

    @Test("/metrics counts requests by route template and holds no pseudonym, IIN or token")
    func metricsHoldNoPersonalData() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            for caller in ["social_worker", "researcher", "wrong token"] {
                _ = try await client.execute(
                    uri: "/v1/households/\(f.household)", method: .get, headers: f.headers(caller))
                _ = try await client.execute(uri: "/v1/persons/\(f.person)", method: .get, headers: f.headers(caller))
            }
            let response = try await client.execute(uri: "/metrics", method: .get, headers: f.headers("metrics token"))
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(text.contains(#"route="/v1/households/{id}",status="200""#))
            #expect(text.contains(#"route="/v1/persons/{id}",status="403""#))
            #expect(text.contains("shanyrak_failed_authentications_total 2"))
            // The audit log's group commits: a cumulative histogram whose last bucket is the count.
            let buckets = text.split(separator: "\n").filter {
                $0.hasPrefix("shanyrak_audit_group_commit_seconds_bucket")
            }
            .compactMap { Int($0.split(separator: " ").last ?? "") }
            #expect(buckets.count == 12 && buckets == buckets.sorted() && buckets.last ?? 0 >= 1)
            #expect(text.contains("shanyrak_audit_group_commit_seconds_count \(buckets.last ?? -1)\n"))
            #expect(text.contains("shanyrak_audit_group_commit_failures_total 0\n"))
            #expect(!text.contains(f.household) && !text.contains(f.person))
            for iin in f.iins { #expect(!text.contains(iin)) }
            for account in f.accounts.values { if let token = account.token { #expect(!text.contains(token)) } }
        }
        await f.close()
    }

    @Test("ingest answers the command line's summary; nothing loaded is 422")
    func ingestSummary() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            let ok = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: f.headers("agency"),
                body: ByteBuffer(string: f.policeCSV))
            #expect(ok.status == .ok)
            let summary = try #require(
                try JSONSerialization.jsonObject(with: Data(ok.body.readableBytesView)) as? [String: Any])
            #expect(summary["source"] as? String == "police")
            #expect(summary["rows_read"] as? Int == 3)
            #expect(summary["rows_quarantined"] as? Int == 0)
            // An auditor reading the log over the API sees the batch's anchor, as the export shows it.
            let entries = try await client.execute(
                uri: "/v1/audit/entries?action=ingest", method: .get, headers: f.headers("auditor"))
            #expect(entries.status == .ok)
            let page = try #require(
                try JSONSerialization.jsonObject(with: Data(entries.body.readableBytesView)) as? [String: Any])
            let anchors = (page["entries"] as? [[String: Any]] ?? []).compactMap {
                $0["batchAnchors"] as? [[String: Any]]
            }
            let anchor = try #require(anchors.last?.first, "the ingest entry's anchor is in the API's JSON")
            #expect(anchor["source"] as? String == "police" && anchor["batch"] as? Int == summary["batch"] as? Int)
            #expect((anchor["digest"] as? String)?.count == 64)
            let quarantined = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: f.headers("agency"),
                body: ByteBuffer(string: "iin,indicator,value,observed_on\n123,violence.x,1,2026-01-01\n"))
            #expect(quarantined.status == .ok)
            let q = try #require(
                try JSONSerialization.jsonObject(with: Data(quarantined.body.readableBytesView)) as? [String: Any])
            #expect(q["rows_quarantined"] as? Int == 1)
            let bad = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: f.headers("agency"),
                body: ByteBuffer(string: "wrong,header\n"))
            #expect(bad.status == .unprocessableContent)
            #expect(!String(buffer: bad.body).contains(f.directory.path))
        }
        await f.close()
    }

    @Test("ingest: the attempt is durable before anything loads, one feed at a time, standing read after the body")
    func ingestIsRecordedFirstAndAlone() async throws {
        let f = try await ServerFixture.make()
        let csv = f.headers("agency", contentType: "text/csv")
        // Batches in the registry: every ingest that got as far as loading makes one.
        @Sendable func batches() throws -> Int {
            try f.registry.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM batch") ?? 0 }
        }
        let before = try batches()
        try await f.application().test(.router) { client in
            // The log cannot record the attempt: nothing is read from the body, nothing is loaded.
            await f.log.setFailing(true)
            let unrecorded = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: csv, body: ByteBuffer(string: f.policeCSV))
            #expect(unrecorded.status == .serviceUnavailable)
            #expect(try batches() == before)
            await f.log.setFailing(false)

            // While a feed is being loaded, another is refused at once, with Retry-After.
            let ingest = try #require(f.dependencies.ingest)
            var reservation = ingest.runner.reserve()
            #expect(reservation != nil && ingest.runner.reserve() == nil)
            let busy = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: csv, body: ByteBuffer(string: f.policeCSV))
            #expect(busy.status == .serviceUnavailable)
            #expect(busy.headers[.retryAfter] == "30")
            #expect(String(buffer: busy.body).contains("ingest-busy"))
            #expect(try batches() == before)
            reservation = nil

            // Then it loads, with the attempt recorded before the batch and both under the request id.
            let ok = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: csv, body: ByteBuffer(string: f.policeCSV))
            #expect(ok.status == .ok)
            #expect(try batches() == before + 1)
            let requestID = try #require(ok.headers[HTTPField.Name("X-Request-ID")!])
            let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000)).filter { $0.requestId == requestID }
            #expect(entries.count == 2)
            #expect(entries.first?.subjects == ["attempt:police"])
            #expect(entries.last?.subjects.first?.hasPrefix("batch:") == true)
            #expect(entries.count == 2 && entries[0].sequence < entries[1].sequence)
            #expect(entries.allSatisfy { $0.decision == .allow })
            // The batch's entry anchors its records (what `registry verify` compares the registry with).
            let anchor = try #require(entries.last?.batchAnchors.first)
            #expect(entries.last?.subjects == ["batch:\(anchor.batch)"])
            #expect(anchor.source == "police" && anchor.digest.count == 32)
            #expect(try f.registry.anchors(ofBatches: [anchor.batch]) == [anchor])
            #expect(entries.first?.batchAnchors.isEmpty == true)
        }
        // The agency's standing is read from the registry, not from the authentication cache: an account
        // revoked while its feed arrived is refused before anything loads.
        let agency = try #require(f.accounts["agency"]?.principal)
        #expect(try f.dependencies.access.isActive(agency))
        #expect(try f.registry.revokeStaff(id: agency.id))
        #expect(try !f.dependencies.access.isActive(agency))
        await f.close()
    }

    @Test("a failed authentication is recorded with what it tried; an auditor's lookup with whom it was about")
    func auditTrailSaysWhatWasTried() async throws {
        let f = try await ServerFixture.make()
        let requestIDs = try await f.application().test(.router) { client -> [String: String] in
            var requestIDs: [String: String] = [:]
            for (name, path, method) in [
                ("person", "/v1/persons/\(f.person)", HTTPRequest.Method.get),
                ("ingest", "/v1/ingest/police", .post),
                ("audit", "/v1/audit/entries", .get),
            ] {
                let response = try await client.execute(
                    uri: path, method: method, headers: f.headers("wrong token"), body: ByteBuffer(string: "x"))
                #expect(response.status == .unauthorized)
                requestIDs[name] = response.headers[HTTPField.Name("X-Request-ID")!]
            }
            let lookup = try await client.execute(
                uri: "/v1/audit/entries?subject=\(f.person)", method: .get, headers: f.headers("auditor"))
            #expect(lookup.status == .ok)
            requestIDs["lookup"] = lookup.headers[HTTPField.Name("X-Request-ID")!]
            return requestIDs
        }
        let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000))
        func entry(_ name: String) throws -> AuditEntry {
            try #require(entries.first { $0.requestId == requestIDs[name] })
        }
        #expect(try entry("person").action == "read" && entry("person").view == "person")
        #expect(try entry("ingest").action == "ingest")
        #expect(try entry("audit").action == "export")
        #expect(try entry("lookup").subjects == [f.person] && entry("lookup").actorId != "anonymous")
        await f.close()
    }

    @Test("an auditor reads the log because the policy set permits it, not because of the role alone")
    func auditorReadsAreDecidedByPolicy() async throws {
        let f = try await ServerFixture.make()
        // The repository's set, without the permit that lets auditors read the log.
        let policies = f.directory.appendingPathComponent("policies-without-audit")
        try FileManager.default.copyItem(
            at: ServerFixture.root.appendingPathComponent("policies"), to: policies)
        let administration = policies.appendingPathComponent("40-administration.cedar")
        let text = try String(contentsOf: administration, encoding: .utf8)
        let permit = try #require(text.range(of: #"@id("auditor.read-audit-log")"#))
        let end = try #require(text.range(of: ";", range: permit.upperBound..<text.endIndex))
        try text.replacingCharacters(in: permit.lowerBound..<end.upperBound, with: "")
            .write(to: administration, atomically: true, encoding: .utf8)
        let catalog = try IndicatorCatalog.load(contentsOf: policies.appendingPathComponent("indicators.yaml"))
        var withoutAudit = f.dependencies
        withoutAudit.policy = try CedarAccessPolicy.load(directory: policies, catalog: catalog)

        let granted = try await f.application().test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/audit/entries", method: .get, headers: f.headers("auditor"))
            #expect(response.status == .ok)
            return response.headers[HTTPField.Name("X-Request-ID")!]
        }
        let refused = try await ShanyrakServer.application(withoutAudit, host: "127.0.0.1", port: 0).test(.router) {
            client in
            let response = try await client.execute(
                uri: "/v1/audit/entries", method: .get, headers: f.headers("auditor"))
            #expect(response.status == .forbidden)
            return response.headers[HTTPField.Name("X-Request-ID")!]
        }
        let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000))
        let grant = try #require(entries.first { $0.requestId == granted })
        #expect(grant.decision == .allow && grant.policyIds == ["auditor.read-audit-log"])
        let refusal = try #require(entries.first { $0.requestId == refused })
        #expect(refusal.decision == .deny && refusal.action == "export")
        await f.close()
    }

    @Test("a live server on an ephemeral port")
    func live() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.live) { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            let card = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("social_worker"))
            #expect(card.status == .ok)
            #expect(card.headers[.date] != nil)
            #expect(card.headers[HTTPField.Name("X-Request-ID")!] != nil)
            let checkpoint = try await client.execute(uri: "/v1/audit/checkpoint", method: .get)
            #expect(checkpoint.status == .ok)
            #expect(String(buffer: checkpoint.body).hasPrefix("shanyrak.example/audit\n"))
        }
        await f.close()
    }
}
