import GRDB
import ShanyrakCore
import ShanyrakCrypto
@testable import ShanyrakStore
import Testing

/// The registry's cache of indicator numbers reads the table once, not per request.
struct IndicatorNameCacheTests {
    @Test func knownIdsAskedTwiceDoNotReadTheTableAgain() throws {
        let f = try Fixture()
        let ids = ["demographic.sex", "identity.birth_date", "economic.monthly_income"]
        let cache = f.registry.indicatorNames
        let first = try f.registry.writer.read { db in try cache.numbers(of: ids + ["demographic.sex"], db) }
        #expect(Set(first.values) == Set(ids))
        let reads = cache.reloads
        for _ in 0..<3 {
            let again = try f.registry.writer.read { db in try cache.numbers(of: ids + ids, db) }
            #expect(again == first)
        }
        #expect(cache.reloads == reads)
        // An id the registry does not know is looked for once per ask, and left out.
        let unknown = try f.registry.writer.read { db in try cache.numbers(of: ["no.such"] + ids, db) }
        #expect(unknown == first && cache.reloads == reads + 1)
    }
}

/// The access path's read snapshots: one transaction, and a failure inside leaves no transaction open.
struct SnapshotReadTests {
    struct Refused: Error {}

    @Test func aFailedSnapshotLeavesTheConnectionsUsable() throws {
        let f = try Fixture()
        let persons = makePersons(4)
        try f.ingest("population", populationCSV(persons))
        let household = try Pseudonymiser(key: f.keyring.pseudonymKey).household(registerID: persons[0].household)
        for round in 0..<12 {
            if round % 3 == 0 {
                #expect(throws: Refused.self) {
                    _ = try f.registry.householdSnapshot(household, staffID: 1) { _, _ -> (Int, [String]) in throw Refused() }
                }
                continue
            }
            let snapshot = try #require(
                try f.registry.householdSnapshot(household, staffID: 1) { _, assigned in (round, ["demographic.sex"]) })
            #expect(snapshot.decision == round && !snapshot.assigned)
            #expect(snapshot.record.members.count == 4 && snapshot.observations.count == 4)
            // Outside a snapshot no transaction is left open on any reader.
            try f.registry.writer.unsafeRead { db in #expect(!db.isInsideTransaction) }
        }
    }
}
