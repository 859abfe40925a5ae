import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import OpenAPIRuntime
import ShanyrakAccess
import ShanyrakAudit
import Testing

@testable import ShanyrakServer

/// What the generated OpenAPI layer adds: typed parameters and bodies refused with problem details,
/// responses that decode as the contract's schemas, and public operations that match the contract.
@Suite("HTTP API: generated layer")
struct GeneratedLayerTests {
    static func problem(_ response: TestResponse) throws -> [String: Any] {
        #expect(response.headers[.contentType] == "application/problem+json")
        return try #require(
            try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test(
        "a malformed or missing query parameter is a 400 problem naming the parameter, never its value",
        arguments: [
            ("/v1/audit/entries?limit=abc", "limit"),
            ("/v1/audit/entries?since=yesterday", "since"),
            ("/v1/audit/entries?limit=5000", "limit"),
            ("/v1/audit/entries?since=99999999999999999", "since"),
            ("/v1/audit/proof/inclusion", "index"),
            ("/v1/audit/proof/inclusion?index=-3", "index"),
            ("/v1/audit/proof/inclusion?index=zz9", "index"),
            ("/v1/audit/proof/consistency?from=1.5", "from"),
        ])
    func malformedQuery(path: String, parameter: String) async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            let response = try await client.execute(uri: path, method: .get, headers: f.headers("auditor"))
            #expect(response.status == .badRequest, "\(path)")
            let object = try Self.problem(response)
            #expect(object["status"] as? Int == 400)
            #expect(object["type"] as? String == "https://shanyrak.example/problems/bad-request")
            let detail = try #require(object["detail"] as? String)
            #expect(detail.contains(parameter), "\(path): \(detail)")
            for value in ["abc", "yesterday", "5000", "99999999999999999", "-3", "zz9", "1.5"] {
                #expect(!detail.contains(value), "\(path): \(detail)")
            }
        }
        await f.close()
    }

    @Test("an unknown route is a 404 problem, with or without a token")
    func unknownRoute() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            for (path, caller) in [("/v1/nothing", "social_worker"), ("/v1/households", "no token"), ("/", "auditor")] {
                let response = try await client.execute(uri: path, method: .get, headers: f.headers(caller))
                #expect(response.status == .notFound, "\(path)")
                let object = try Self.problem(response)
                #expect(object["type"] as? String == "https://shanyrak.example/problems/not-found")
                #expect(response.headers[HTTPField.Name("X-Request-ID")!] != nil)
            }
        }
        await f.close()
    }

    @Test("a body of the wrong media type is a 415 problem; an empty justification a 400")
    func wrongMediaType() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            var headers = f.headers("social_worker")
            headers[.contentType] = "text/plain"
            let response = try await client.execute(
                uri: "/v1/persons/\(f.otherPerson)/break-glass", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"justification":"urgent"}"#))
            #expect(response.status == .unsupportedMediaType)
            let object = try Self.problem(response)
            #expect(!(object["detail"] as? String ?? "").contains("text/plain"))
            headers[.contentType] = "application/json"
            let empty = try await client.execute(
                uri: "/v1/persons/\(f.otherPerson)/break-glass", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"justification":""}"#))
            #expect(empty.status == .badRequest)
            _ = try Self.problem(empty)
            let missing = try await client.execute(
                uri: "/v1/persons/\(f.otherPerson)/break-glass", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"reason":"urgent"}"#))
            #expect(missing.status == .badRequest)
            #expect((try Self.problem(missing)["detail"] as? String)?.contains("justification") == true)
        }
        await f.close()
    }

    @Test("a JSON body over the limit is a 413 problem before it is decoded; a break-glass attempt is not released")
    func jsonBodyTooLarge() async throws {
        let f = try await ServerFixture.make()
        let headers = f.headers("gbv_specialist", contentType: "application/json")
        let before = try f.auditLog.reader.query(AuditQuery(limit: 100_000)).count
        try await f.application().test(.router) { client in
            let filler = String(repeating: "a", count: ServerDependencies.defaultMaximumRequestBodyBytes)
            let response = try await client.execute(
                uri: "/v1/persons/\(f.person)/break-glass", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"justification":"\#(filler)"}"#))
            #expect(response.status == .contentTooLarge)
            let object = try Self.problem(response)
            #expect(object["type"] as? String == "https://shanyrak.example/problems/too-large")
        }
        // Refused before the access path: nothing read, nothing written to the log.
        #expect(try f.auditLog.reader.query(AuditQuery(limit: 100_000)).count == before)
        await f.close()
    }

    @Test("a body sent in chunks is counted as it arrives")
    func chunkedBodyIsCounted() async throws {
        /// Two chunks of 40 bytes, as a body of unknown length.
        func body() -> HTTPBody {
            let stream = AsyncThrowingStream<HTTPBody.ByteChunk, any Error> { continuation in
                continuation.yield(ArraySlice(repeating: 1, count: 40))
                continuation.yield(ArraySlice(repeating: 2, count: 40))
                continuation.finish()
            }
            return HTTPBody(stream, length: .unknown)
        }
        var total = 0
        for try await chunk in LimitedBytes(base: body(), maximumBytes: 80) { total += chunk.count }
        #expect(total == 80)
        await #expect(throws: Problem.tooLarge) {
            for try await _ in LimitedBytes(base: body(), maximumBytes: 79) {}
        }
    }

    @Test("a blank or over-long justification is a 400 naming the rule, recorded as a denied break-glass read")
    func invalidJustification() async throws {
        let f = try await ServerFixture.make()
        let headers = f.headers("gbv_specialist", contentType: "application/json")
        try await f.application().test(.router) { client in
            let tooLong = String(repeating: "x", count: AccessService.maximumJustificationLength + 1)
            for (text, rule) in [
                ("   ", "the justification must not be blank"),
                (tooLong, "the justification must be at most 1024 characters"),
            ] {
                let response = try await client.execute(
                    uri: "/v1/persons/\(f.person)/break-glass", method: .post, headers: headers,
                    body: ByteBuffer(string: #"{"justification":"\#(text)"}"#))
                #expect(response.status == .badRequest)
                let object = try Self.problem(response)
                #expect(object["detail"] as? String == rule)
                let requestID = try #require(response.headers[HTTPField.Name("X-Request-ID")!])
                let entry = try #require(
                    try f.auditLog.reader.query(AuditQuery(limit: 100_000)).first { $0.requestId == requestID })
                #expect(entry.decision == .deny && entry.sealedJustification == nil)
            }
        }
        await f.close()
    }

    @Test("a server starting on the folder removes the feed spools a stopped server left, and nothing else")
    func leftoverSpoolsAreRemoved() async throws {
        let f = try await ServerFixture.make()
        let ingest = try #require(f.dependencies.ingest)
        try FileManager.default.createDirectory(at: ingest.spoolDirectory, withIntermediateDirectories: true)
        for name in ["ingest-1b2c.csv", "ingest-3d4e.csv", "notes.txt"] {
            #expect(
                FileManager.default.createFile(
                    atPath: ingest.spoolDirectory.appendingPathComponent(name).path, contents: Data("iin\n".utf8)))
        }
        #expect(ingest.removeLeftoverSpools() == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ingest.spoolDirectory.path) == ["notes.txt"])
        await f.close()
    }

    @Test("feed mappings are read once, when the server starts: an invalid one stops it, a later edit is not used")
    func mappingsAreReadOnce() async throws {
        let f = try await ServerFixture.make()
        let ingest = try #require(f.dependencies.ingest)
        let sources = f.directory.appendingPathComponent("sources-copy")
        try FileManager.default.copyItem(at: ingest.sourcesDirectory, to: sources)
        let dependencies = try IngestDependencies(
            ingester: ingest.ingester, sourcesDirectory: sources, catalog: ingest.catalog,
            spoolDirectory: ingest.spoolDirectory)
        #expect(
            dependencies.mappings.keys.sorted() == ["education", "health", "justice", "labour", "police", "population"])
        try Data("source: police\ncolumns: [".utf8).write(to: sources.appendingPathComponent("police.yaml"))
        #expect(dependencies.mappings["police"] != nil)
        #expect(throws: (any Error).self) {
            _ = try IngestDependencies(
                ingester: ingest.ingester, sourcesDirectory: sources, catalog: ingest.catalog,
                spoolDirectory: ingest.spoolDirectory)
        }
        await f.close()
    }

    @Test("an ingest body over the limit is a 413 problem and loads nothing")
    func ingestTooLarge() async throws {
        let f = try await ServerFixture.make()
        var dependencies = f.dependencies
        dependencies.ingest?.maximumBytes = 16
        let app = ShanyrakServer.application(dependencies, host: "127.0.0.1", port: 0)
        try await app.test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: f.headers("agency"),
                body: ByteBuffer(string: f.policeCSV))
            #expect(response.status == .contentTooLarge)
            _ = try Self.problem(response)
        }
        let spool = f.directory.appendingPathComponent("spool")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: spool.path)) ?? []).isEmpty)
        await f.close()
    }

    @Test("every answer decodes as the contract's schema, and re-encodes to the same bytes")
    func responsesMatchTheContract() async throws {
        let f = try await ServerFixture.make()
        try await f.application().test(.router) { client in
            let sw = f.headers("social_worker")
            try Self.check(
                Components.Schemas.HouseholdView.self,
                try await client.execute(uri: "/v1/households/\(f.household)", method: .get, headers: sw), "household")
            try Self.check(
                Components.Schemas.PersonView.self,
                try await client.execute(
                    uri: "/v1/persons/\(f.person)", method: .get, headers: f.headers("gbv_specialist")), "person")
            try Self.check(
                Components.Schemas.Caseload.self,
                try await client.execute(uri: "/v1/caseload", method: .get, headers: sw), "caseload")
            try Self.check(
                Components.Schemas.IngestSummary.self,
                try await client.execute(
                    uri: "/v1/ingest/police", method: .post, headers: f.headers("agency"),
                    body: ByteBuffer(string: f.policeCSV)), "ingest")
            let auditor = f.headers("auditor")
            try Self.check(
                Components.Schemas.AuditEntryPage.self,
                try await client.execute(uri: "/v1/audit/entries?limit=1000", method: .get, headers: auditor),
                "entries")
            try Self.check(
                Components.Schemas.InclusionProof.self,
                try await client.execute(uri: "/v1/audit/proof/inclusion?index=0", method: .get, headers: auditor),
                "inclusion")
            try Self.check(
                Components.Schemas.ConsistencyProof.self,
                try await client.execute(uri: "/v1/audit/proof/consistency?from=1", method: .get, headers: auditor),
                "consistency")
            try Self.check(
                Components.Schemas.Health.self, try await client.execute(uri: "/health", method: .get), "health")
            let denied = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("researcher"))
            #expect(denied.status == .forbidden)
            _ = try JSONDecoder().decode(Components.Schemas.Problem.self, from: Data(denied.body.readableBytesView))
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: f.headers("metrics token"))
            let metricsType = try #require(metrics.headers[.contentType])
            #expect(metricsType.hasPrefix("text/plain;") && metricsType.contains("version=0.0.4"))
            let contract = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(contract.headers[.contentType] == "application/yaml")
        }
        await f.close()
    }

    /// Decodes a 200 answer as the schema's generated type (objects refuse unknown keys) and
    /// re-encodes it as the server does: the same bytes.
    static func check<T: Codable>(_ type: T.Type, _ response: TestResponse, _ name: String) throws {
        #expect(response.status == .ok, "\(name)")
        let bytes = Data(response.body.readableBytesView)
        let value = try JSONDecoder().decode(T.self, from: bytes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(try encoder.encode(value) == bytes, "\(name)")
    }

    @Test(
        "the public operations of the server are those with `security: []` in the contract, the metrics ones those with the metrics token"
    )
    func publicOperationsMatchTheContract() throws {
        let document = try ShanyrakServer.openAPIDocument()
        var operation: String?
        var publicOperations: Set<String> = []
        var metricsOperations: Set<String> = []
        for line in document.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("operationId: ") { operation = String(text.dropFirst("operationId: ".count)) }
            if text == "security: []", let operation { publicOperations.insert(operation) }
            if text == "- metricsToken: []", let operation { metricsOperations.insert(operation) }
            if line.hasPrefix("  /") { operation = nil }
        }
        #expect(publicOperations == BearerAuthenticationMiddleware.publicOperations)
        #expect(metricsOperations == BearerAuthenticationMiddleware.metricsOperations)
        #expect(publicOperations.isDisjoint(with: metricsOperations))
    }

    @Test(
        "the bearer token is read from the Authorization header, whatever the scheme's case and the spaces",
        arguments: [
            ("Bearer shk_abc", "shk_abc"), ("bearer shk_abc", "shk_abc"), ("BEARER \tshk_abc \t", "shk_abc"),
            ("  Bearer  shk_abc", "shk_abc"), ("Bearer shk_äbc", "shk_äbc"), ("Basic shk_abc", nil), ("Bearer", nil),
            ("Bearer   ", nil), ("Bearershk_abc", nil), ("Bearer: shk_abc", nil), ("", nil), ("bearer a b", "a b"),
        ] as [(String, String?)])
    func bearerToken(header: String, token: String?) {
        #expect(BearerAuthenticationMiddleware.bearerToken(header) == token)
        #expect(BearerAuthenticationMiddleware.bearerToken(nil) == nil)
    }

    @Test("the query parameters a problem may name are those the contract declares")
    func queryParametersMatchTheContract() throws {
        let document = try ShanyrakServer.openAPIDocument()
        let pattern = try Regex(#"name: ([A-Za-z_]+),?\s+in: query"#)
        var declared: [String: Set<String>] = [:]
        for operation in document.components(separatedBy: "operationId: ").dropFirst() {
            let id = String(operation.prefix { !$0.isNewline })
            let names = Set(operation.matches(of: pattern).compactMap { $0.output[1].substring.map(String.init) })
            if !names.isEmpty { declared[id] = names }
        }
        #expect(declared == ShanyrakServer.queryParameters)
    }
}
