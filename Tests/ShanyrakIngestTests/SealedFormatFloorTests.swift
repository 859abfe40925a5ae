import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Synchronization
import Testing

/// The sealed-format floor: a registry upgraded by `keys rewrap` refuses values in sealed-value formats
/// 1 and 2 from then on, so that one copied back from an old backup (bound to subject, indicator and key
/// version only) is not taken for a value of the record it was put in.
struct SealedFormatFloorTests {
    let persons = makePersons(4)

    var feed: String {
        ([labourHeader] + persons.map { labourRow($0.iin, income: "150000") }).joined(separator: "\n") + "\n"
    }

    /// A registry written before format 3: its labour records in format `sealedFormat`, no floor.
    func legacy(_ sealedFormat: UInt8) throws -> Fixture {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest("labour", feed)
        try RecordBindingTests.makeLegacy(f, source: "labour", sealedFormat: sealedFormat)
        return f
    }

    /// The id and payload of the first labour record.
    func firstLabourRecord(_ f: Fixture) throws -> (id: Int64, payload: Data) {
        try #require(
            try f.registry.writer.read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT r.id, r.payload FROM record r JOIN source s ON s.number = r.source
                        WHERE s.name = 'labour' ORDER BY r.id LIMIT 1
                        """
                ).map { ($0[0] as Int64, $0[1] as Data) }
            })
    }

    /// Writes `payload` into record `id` through a connection of its own, as someone with write access to
    /// the registry file would.
    func replay(_ payload: Data, into id: Int64, _ f: Fixture) throws {
        let attacker = try DatabaseQueue(path: f.dataDir.appendingPathComponent(Registry.fileName).path)
        try attacker.write { db in
            try db.execute(sql: "UPDATE record SET payload = ? WHERE id = ?", arguments: [payload, id])
        }
        try attacker.close()
    }

    @Test func aNewRegistryAcceptsFormatThreeOnly() throws {
        let f = try Fixture()
        #expect(try f.registry.sealedFormatFloor() == SealedValueFormat.recordBoundVersion)
        #expect(try DataKeys.load(from: f.registry, keyring: f.keyring).sealedFormatFloor == 3)
    }

    /// A rewrap of one class leaves the other classes' old values, and the floor where it is; the run that
    /// leaves none raises it, says so, and the next run (nothing to re-seal) leaves it at 3.
    @Test(arguments: [UInt8(1), 2])
    func rewrapRaisesTheFloorOnceNoOlderFormatIsLeft(sealedFormat: UInt8) throws {
        let f = try legacy(sealedFormat)
        #expect(try f.registry.sealedFormatFloor() == 1, "a registry made before the floor accepts every format")

        let economic = try f.registry.rewrapValues(className: "economic", keyring: f.keyring)
        #expect(economic.resealed == persons.count && economic.olderFormatsLeft == persons.count)
        #expect(!economic.raisedSealedFormatFloor && economic.sealedFormatFloor == 1)
        #expect(economic.floorMessage?.contains("\(persons.count) values of other classes") == true)
        #expect(try f.registry.sealedFormatFloor() == 1)

        let rest = try f.registry.rewrapValues(className: nil, keyring: f.keyring, batchSize: 2)
        #expect(rest.resealed == persons.count && rest.olderFormatsLeft == 0)
        #expect(rest.raisedSealedFormatFloor && rest.sealedFormatFloor == 3)
        #expect(rest.floorMessage?.contains("sealed-format floor raised to 3") == true)
        #expect(rest.auditNote == ":sealed-format-floor-3")
        #expect(try f.registry.sealedFormatFloor() == 3)

        let done = try f.registry.rewrapValues(className: nil, keyring: f.keyring)
        #expect(done.resealed == 0 && done.olderFormatsLeft == 0)
        #expect(!done.raisedSealedFormatFloor && done.sealedFormatFloor == 3 && done.floorMessage == nil)
        // Re-deliveries are still recognised once the floor is raised.
        let again = try f.ingest("labour", feed)
        #expect(again.valuesWritten == 0 && again.valuesUnchanged == 2 * persons.count)
        // The raise wrapped the data keys again, bound to the floor: deleting it in the file does not let
        // older formats back in, it leaves the keys unopenable.
        try Self.deleteFloorAsAnAttacker(f)
        let refused = #expect(throws: StoreError.self) { try DataKeys.load(from: f.registry, keyring: f.keyring) }
        #expect(refused?.message.contains("sealed-format floor (1)") == true)
    }

    /// Deletes the registry's floor through a connection of its own, as someone who can write the file could.
    static func deleteFloorAsAnAttacker(_ f: Fixture) throws {
        let attacker = try DatabaseQueue(path: f.dataDir.appendingPathComponent(Registry.fileName).path)
        try attacker.write { db in try db.execute(sql: "DELETE FROM sealed_format_floor") }
        try attacker.close()
    }

    /// A rewrap of the quarantine alone reads no record, so it cannot tell and leaves the floor alone.
    @Test func aRewrapOfTheQuarantineAloneLeavesTheFloor() throws {
        let f = try legacy(2)
        let outcome = try f.registry.rewrapValues(className: "quarantine", keyring: f.keyring)
        #expect(outcome.olderFormatsLeft == nil && !outcome.raisedSealedFormatFloor)
        #expect(try f.registry.sealedFormatFloor() == 1)
    }

    /// Before the floor is raised, an old value is a value like any other (the fence does not break the
    /// upgrade); after, the same bytes copied back into their record are refused by the re-delivery check
    /// and by a rewrap, each naming what it refused and never the value.
    @Test(arguments: [UInt8(1), 2])
    func anOldValueCopiedBackAfterTheUpgradeIsRefused(sealedFormat: UInt8) throws {
        let f = try legacy(sealedFormat)
        let (id, oldPayload) = try firstLabourRecord(f)
        // Before: a re-delivery is recognised against the old values, and they open.
        let before = try f.ingest("labour", feed)
        #expect(before.valuesWritten == 0 && before.valuesUnchanged == 2 * persons.count)
        #expect(try f.newestValues(of: "economic.monthly_income", for: persons) == Array(repeating: "150000", count: 4))

        #expect(try f.registry.rewrapValues(className: nil, keyring: f.keyring).raisedSealedFormatFloor)
        try replay(oldPayload, into: id, f)
        let statsBefore = try statsJSON(f.registry)

        let redelivery = #expect(throws: StoreError.self) { try f.ingest("labour", feed) }
        let redeliveryMessage = try #require(redelivery?.message)
        #expect(redeliveryMessage.contains("in sealed-value format \(sealedFormat), older than this registry accepts"))
        #expect(redeliveryMessage.contains("from source labour"))
        #expect(!redeliveryMessage.contains("150000") && !redeliveryMessage.contains("employed"))
        #expect(try statsJSON(f.registry) == statsBefore, "the refused feed wrote nothing")

        let rewrap = #expect(throws: StoreError.self) { try f.registry.rewrap(className: nil, keyring: f.keyring) }
        let rewrapMessage = try #require(rewrap?.message)
        #expect(rewrapMessage.contains("keys rewrap stopped at record \(id) "))
        #expect(rewrapMessage.contains("in sealed-value format \(sealedFormat), older than this registry accepts"))
        #expect(!rewrapMessage.contains("150000") && !rewrapMessage.contains("employed"))
        #expect(try f.registry.sealedFormatFloor() == 3, "the floor is never lowered")
    }

    /// A process that holds the keys (a server) takes a raised floor in at its next check, without loading
    /// the keys from the key folder again.
    @Test func aHolderOfTheKeysTakesARaisedFloorInWithoutLoadingThem() throws {
        let f = try legacy(2)
        let loads = Mutex(0)
        let (registry, keyring) = (f.registry, f.keyring)
        let messages = Mutex<[String]>([])
        let keys = CurrentDataKeys(
            try DataKeys.load(from: registry, keyring: keyring), registry: registry,
            load: {
                loads.withLock { $0 += 1 }
                return try DataKeys.load(from: registry, keyring: keyring)
            }, report: { message, _ in messages.withLock { $0.append(message) } })
        #expect(keys.current.sealedFormatFloor == 1)
        #expect(keys.checkNow().generation == 0)

        _ = try f.registry.rewrap(className: nil, keyring: f.keyring)
        let checked = keys.checkNow()

        #expect(checked.generation == 1 && checked.sealedFormatFloor == 3 && checked.keys.sealedFormatFloor == 3)
        #expect(keys.current.sealedFormatFloor == 3)
        #expect(loads.withLock { $0 } == 0)
        #expect(messages.withLock { $0 } == ["sealed-value formats below 3 are refused from now on"])
    }

    /// No command lowers the floor: a process that holds it keeps it when the registry's goes down (its
    /// row deleted by someone who can write the file), whether or not the keys are loaded again, and its
    /// log says so.
    @Test func aHolderOfTheKeysKeepsItsFloorWhenTheRegistrysGoesDown() throws {
        let f = try Fixture()
        let (registry, keyring) = (f.registry, f.keyring)
        let failures = Mutex<[String]>([])
        let keys = CurrentDataKeys(
            try DataKeys.load(from: registry, keyring: keyring), registry: registry,
            load: { try DataKeys.load(from: registry, keyring: keyring) },
            report: { message, isFailure in if isFailure { failures.withLock { $0.append(message) } } })
        #expect(keys.current.sealedFormatFloor == 3)
        try Self.deleteFloorAsAnAttacker(f)
        #expect(try registry.sealedFormatFloor() == 1)

        #expect(keys.checkNow().sealedFormatFloor == 3)
        // Anyone who reads the registry afresh finds keys that do not open with the lowered floor (they are
        // bound to the floor they were wrapped under): no command can be made to accept older formats, and
        // none makes a key under it.
        let load = #expect(throws: StoreError.self) { try DataKeys.load(from: registry, keyring: keyring) }
        #expect(load?.message.contains("sealed-format floor (1)") == true)
        #expect(throws: StoreError.self) { try registry.rotateDataKey(className: "economic", keyring: keyring) }
        let held = keys.checkNow()
        #expect(held.generation == 0 && held.sealedFormatFloor == 3 && held.keys.sealedFormatFloor == 3)
        #expect(failures.withLock { $0.count } == 2)
        #expect(failures.withLock { $0 }.allSatisfy { $0.contains("went down from 3 to 1") })
    }
}
