import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ShanyrakAudit
import ShanyrakCore
import ShanyrakStore
import Testing

/// A running server goes on working through a data-key rotation (`keys rotate`, `keys rewrap`,
/// `keys retire`, through the library calls the command runs) without a restart: it loads the new keys
/// when a view meets a value sealed under a version it lacks, and when a feed is refused as sealed under
/// rotated keys.
struct KeyReloadTests {
    /// `keys rotate --class C` for each of `classes` (under the key folder's lock, as the command does),
    /// `keys rewrap`, then `keys retire --class C --version V` of each old version.
    static func rotateRewrapRetire(_ f: ServerFixture, _ classes: [String]) throws {
        var versions: [String: UInt32] = [:]
        for cls in classes {
            versions[cls] = try MasterKeyLock.withLock(keysDirectory: f.keysDirectory, purpose: "test rotation") {
                try f.registry.rotateDataKey(className: cls, keyring: f.keyring)
            }
        }
        _ = try f.registry.rewrap(className: nil, keyring: f.keyring)
        for (cls, version) in versions { try f.registry.retireDataKey(className: cls, version: version - 1) }
    }

    /// Batches in the registry.
    static func batches(_ f: ServerFixture) throws -> Int {
        try f.registry.writer.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM batch") ?? 0 }
    }

    @Test("after keys rotate, rewrap and retire, a running server opens the rewrapped values and takes a feed")
    func rotationWithoutRestart() async throws {
        let f = try await ServerFixture.make()
        let csv = f.headers("agency", contentType: "text/csv")
        try await f.application().test(.router) { client in
            let card = "/v1/households/\(f.household)"
            let before = try await client.execute(uri: card, method: .get, headers: f.headers("social_worker"))
            #expect(before.status == .ok)
            let person = try await client.execute(
                uri: "/v1/persons/\(f.person)", method: .get, headers: f.headers("gbv_specialist"))
            #expect(person.status == .ok)

            // Every value the server could open is now sealed under a version it never loaded.
            try Self.rotateRewrapRetire(f, IndicatorClass.allCases.map(\.rawValue))

            let after = try await client.execute(uri: card, method: .get, headers: f.headers("social_worker"))
            #expect(after.status == .ok)
            #expect(Data(after.body.readableBytesView) == Data(before.body.readableBytesView))
            let personAfter = try await client.execute(
                uri: "/v1/persons/\(f.person)", method: .get, headers: f.headers("gbv_specialist"))
            #expect(personAfter.status == .ok)
            #expect(Data(personAfter.body.readableBytesView) == Data(person.body.readableBytesView))
            #expect(f.keys.current.generation == 1)

            // A feed is sealed under the new versions and loaded.
            let batches = try Self.batches(f)
            let feed = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: csv, body: ByteBuffer(string: f.policeCSV))
            #expect(feed.status == .ok)
            #expect(try Self.batches(f) == batches + 1)
            let status = try f.registry.keyStatus()
            #expect(status.filter { $0.keyClass == "violence" }.map(\.version) == [1, 2])
            #expect(status.first { $0.keyClass == "violence" && $0.version == 1 }?.state == "retired")
        }
        // Nothing was refused on the way.
        let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000))
        #expect(entries.allSatisfy { $0.decision == .allow })
        await f.close()
    }

    @Test("a feed refused as sealed under rotated keys is loaded after the server loads the new keys")
    func aRefusedFeedIsLoadedWithTheNewKeys() async throws {
        let f = try await ServerFixture.make()
        let csv = f.headers("agency", contentType: "text/csv")
        try Self.rotateRewrapRetire(f, ["violence"])
        let batches = try Self.batches(f)
        try await f.application().test(.router) { client in
            let feed = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: csv, body: ByteBuffer(string: f.policeCSV))
            #expect(feed.status == .ok)
            let requestID = try #require(feed.headers[HTTPField.Name("X-Request-ID")!])
            let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000)).filter { $0.requestId == requestID }
            #expect(entries.map(\.subjects.first) == ["attempt:police", "batch:\(batches + 1)"])
            #expect(entries.allSatisfy { $0.decision == .allow })
        }
        #expect(try Self.batches(f) == batches + 1)
        #expect(f.keys.current.generation == 1)
        await f.close()
    }

    @Test("when the new keys cannot be loaded, the feed is refused and the view fails, as before, audited")
    func keysThatCannotBeLoadedFailAsBefore() async throws {
        let f = try await ServerFixture.make()
        let csv = f.headers("agency", contentType: "text/csv")
        try Self.rotateRewrapRetire(f, IndicatorClass.allCases.map(\.rawValue))
        // The master key file cannot be used (its mode is too open): no reload can happen.
        let master = f.keysDirectory.appendingPathComponent("master.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: master.path)
        let batches = try Self.batches(f)
        try await f.application().test(.router) { client in
            let feed = try await client.execute(
                uri: "/v1/ingest/police", method: .post, headers: csv, body: ByteBuffer(string: f.policeCSV))
            #expect(feed.status == .serviceUnavailable)
            #expect(String(buffer: feed.body).contains("data-keys-rotated"))
            #expect(feed.headers[.retryAfter] == "60")
            #expect(try Self.batches(f) == batches)

            let card = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("social_worker"))
            #expect(card.status == .internalServerError)
            let requestID = try #require(card.headers[HTTPField.Name("X-Request-ID")!])
            let entries = try f.auditLog.reader.query(AuditQuery(limit: 100_000)).filter { $0.requestId == requestID }
            #expect(entries.map(\.decision) == [.deny])
        }
        #expect(f.keys.current.generation == 0)
        // Once the key file is usable again, the next request loads the new keys.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: master.path)
        try await f.application().test(.router) { client in
            let card = try await client.execute(
                uri: "/v1/households/\(f.household)", method: .get, headers: f.headers("social_worker"))
            #expect(card.status == .ok)
        }
        await f.close()
    }
}
