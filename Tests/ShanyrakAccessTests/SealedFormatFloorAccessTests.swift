import Foundation
import GRDB
import ShanyrakAccess
import ShanyrakCore
import ShanyrakCrypto
@_spi(Testing) import ShanyrakStore
import Testing

/// The access path and the sealed-format floor: an old-format value opens until `keys rewrap` has
/// upgraded the registry; copied back into its record afterwards, it is refused and the view is audited
/// as a denial.
struct SealedFormatFloorAccessTests {
    /// Re-seals the values of the police record of `world`'s victim in sealed-value format 2 (as a registry
    /// of that time stored them) and removes the floor, as a registry made before it has none.
    /// - Returns: the record's id and its old-format payload.
    func makePoliceRecordFormatTwo(_ world: AccessServiceTests.World) throws -> (id: Int64, payload: Data) {
        let f = world.fixture
        let subject = try #require(Pseudonym(hex: world.victim))
        let macKey = try #require(f.keys.writeKey(for: DataKeys.valueMACClass)).key
        try f.registry.removeSealedFormatFloor(keyring: f.keyring)
        return try f.registry.writer.write { db in
            let row = try #require(
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT r.id, r.payload, r.observed_at FROM record r JOIN source s ON s.number = r.source
                        WHERE s.name = 'police' AND r.subject = ?
                        """, arguments: [Data(subject.bytes)]))
            var sealer = ValueSealer()
            var old = RecordPayload(format: RecordPayload.formatVersion)
            try RecordPayload.forEachEntry(in: Array(row[1] as Data)) { entry in
                let id = try #require(
                    try String.fetchOne(
                        db, sql: "SELECT id FROM indicator WHERE number = ?", arguments: [entry.indicator]))
                let key = try #require(f.keys.key(for: "violence", version: entry.keyVersion))
                let plain = try SealedValueFormat.open(
                    Array(entry.sealed), subject: subject, indicator: id, keyVersion: entry.keyVersion,
                    observedAt: row[2], source: "police", key: key)
                var sealed: [UInt8] = []
                try sealer.sealSynthetic(
                    plain, subject: subject, indicator: id, keyVersion: entry.keyVersion, key: key, ivKey: macKey,
                    appendingTo: &sealed)
                try old.append(
                    indicator: entry.indicator, keyVersion: entry.keyVersion,
                    mac: try SealedValueFormat.legacyMAC(plain, subject: subject, indicator: id, macKey: macKey),
                    sealed: sealed)
            }
            let payload = Data(old.bytes)
            try db.execute(sql: "UPDATE record SET payload = ? WHERE id = ?", arguments: [payload, row[0] as Int64])
            return (row[0], payload)
        }
    }

    @Test("an old-format value opens until the floor is raised; copied back after, the view is refused and audited")
    func anOldValueCopiedBackIsRefused() async throws {
        let world = try AccessServiceTests.World()
        let f = world.fixture
        let (id, oldPayload) = try makePoliceRecordFormatTwo(world)
        // What a server holds: keys (and floor) loaded at start, checked again as it runs.
        let (registry, keyring) = (f.registry, f.keyring)
        let keys = CurrentDataKeys(
            try DataKeys.load(from: registry, keyring: keyring), registry: registry,
            load: { try DataKeys.load(from: registry, keyring: keyring) })
        let service = AccessService(
            registry: registry, keys: keys, catalog: f.catalog, policy: DefaultAccessPolicy(catalog: f.catalog),
            auditLog: f.log, clock: { Fixture.fixedNow })
        let (gbv, _) = try await f.staff(.gbvSpecialist)
        try await world.assign(gbv, world.first)

        let before = try await service.personView(principal: gbv, personID: world.victim, requestID: "before")
        #expect(before.indicators["violence.protection_order"] == "true")
        #expect(before.indicators["violence.dv_report_count"] == "2")

        #expect(try registry.rewrapValues(className: nil, keyring: keyring).raisedSealedFormatFloor)
        #expect(keys.checkNow().sealedFormatFloor == 3)
        let upgraded = try await service.personView(principal: gbv, personID: world.victim, requestID: "upgraded")
        #expect(upgraded.indicators == before.indicators)

        let attacker = try DatabaseQueue(path: f.directory.appendingPathComponent(Registry.fileName).path)
        try await attacker.write { db in
            try db.execute(sql: "UPDATE record SET payload = ? WHERE id = ?", arguments: [oldPayload, id])
        }
        try attacker.close()

        let error = await #expect(throws: AccessFailure.self) {
            _ = try await service.personView(principal: gbv, personID: world.victim, requestID: "replayed")
        }
        #expect(error?.message.contains("older than the registry accepts") == true)
        #expect(error?.message.contains("true") == false)
        let entries = await f.log.entries.filter { $0.requestID == "replayed" }
        #expect(entries.count == 1)
        #expect(entries.first?.decision == .deny && entries.first?.indicators.isEmpty == true)
    }
}
