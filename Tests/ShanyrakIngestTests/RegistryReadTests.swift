import GRDB
import ShanyrakCore
import ShanyrakCrypto
import Testing

@testable import ShanyrakStore

/// The registry's cache of indicator numbers reads the table once, not per request.
struct IndicatorNameCacheTests {
    @Test func knownIdsAskedTwiceDoNotReadTheTableAgain() throws {
        let f = try Fixture()
        let ids = ["demographic.sex", "identity.birth_date", "economic.monthly_income"]
        let cache = f.registry.indicatorNames
        let first = try f.registry.writer.read { db in try cache.numbers(of: ids + ["demographic.sex"], db) }
        // One number per id asked, in order: distinct ids have distinct numbers, a repeated id the same one.
        #expect(first.count == 4 && Set(first.compactMap { $0 }).count == 3 && first[3] == first[0])
        let reads = cache.reloads
        for _ in 0..<3 {
            let again = try f.registry.writer.read { db in try cache.numbers(of: ids + ids, db) }
            #expect(again == Array(first[..<3] + first[..<3]))
        }
        #expect(cache.reloads == reads)
        // An id the registry does not know is looked for once per ask, and has no number.
        let unknown = try f.registry.writer.read { db in try cache.numbers(of: ["no.such"] + ids, db) }
        #expect(unknown == [nil] + first[..<3] && cache.reloads == reads + 1)
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
        let staff = try f.registry.addStaff(
            name: "A", role: "social_worker", district: nil, organisation: nil, source: nil,
            tokenHash: [UInt8](repeating: 1, count: 32))
        for round in 0..<12 {
            // Every third round the decision fails, every third the reading of a value: both roll back.
            if round % 3 == 0 {
                #expect(throws: Refused.self) {
                    _ = try f.registry.householdSnapshot(
                        household, staffID: staff, select: { _, _ -> (Int, [String]) in throw Refused() },
                        observe: { _ in }
                    )
                }
            } else if round % 3 == 1 {
                #expect(throws: Refused.self) {
                    _ = try f.registry.householdSnapshot(
                        household, staffID: staff, select: { _, _ in (round, ["demographic.sex"]) },
                        observe: { _ in throw Refused() })
                }
            } else {
                var observed: [Pseudonym] = []
                let snapshot = try #require(
                    try f.registry.householdSnapshot(
                        household, staffID: staff, select: { _, _ in (round, ["demographic.sex"]) },
                        observe: { observed.append($0.subject) }))
                #expect(snapshot.decision == round && !snapshot.assigned)
                #expect(snapshot.record.members.count == 4)
                // One sex per member, each member once.
                #expect(observed.sorted() == snapshot.record.members.map(\.pseudonym).sorted())
            }
            // Outside a snapshot no transaction is left open on any reader: the registry's own read
            // connections, which a file registry's snapshots use, and GRDB's.
            let readers = try #require(f.registry.readers)
            #expect(readers.idleInTransaction == 0)
            try f.registry.writer.unsafeRead { db in #expect(!db.isInsideTransaction) }
        }
    }
}

/// A view's snapshot reads the account's standing in its own transaction.
struct SnapshotStandingTests {
    @Test("an account revoked after its token was checked, or one that does not exist, reads nothing")
    func revokedAccountsReadNothing() throws {
        let f = try Fixture()
        let persons = makePersons(3)
        try f.ingest("population", populationCSV(persons))
        let pseudonymiser = try Pseudonymiser(key: f.keyring.pseudonymKey)
        let household = pseudonymiser.household(registerID: persons[0].household)
        let person = pseudonymiser.person(try IIN(validating: persons[0].iin))
        let staff = try f.registry.addStaff(
            name: "A", role: "social_worker", district: nil, organisation: nil, source: nil,
            tokenHash: [UInt8](repeating: 2, count: 32))
        func views(_ id: Int64) throws -> (household: Bool, person: Bool) {
            var asked = 0
            func decide() -> (Int, [String]) {
                asked += 1
                return (0, ["demographic.sex"])
            }
            let h = try f.registry.householdSnapshot(
                household, staffID: id, select: { _, _ in decide() }, observe: { _ in })
            let p = try f.registry.personSnapshot(person, staffID: id, select: { _, _ in decide() }, observe: { _ in })
            // The decision is only asked for when the snapshot goes on.
            #expect(asked == (h == nil ? 0 : 1) + (p == nil ? 0 : 1))
            return (h != nil, p != nil)
        }
        #expect(try views(staff) == (true, true))
        #expect(try views(staff + 100) == (false, false))
        #expect(try f.registry.revokeStaff(id: staff))
        #expect(try views(staff) == (false, false))
    }
}

/// The registry's own read connections (`ReadConnections`), which the access path's snapshots use.
struct ReadConnectionTests {
    @Test func theyCannotWriteAndSeeWhatWasCommittedAfterTheyOpened() throws {
        let f = try Fixture()
        let readers = try #require(f.registry.readers)
        func persons() throws -> Int {
            try readers.read { connection in
                var n: Int64 = 0
                try Registry.forEachRow(connection, "SELECT pseudonym FROM person", bind: { _ in 0 }) { _ in
                    n += 1
                    return true
                }
                return Int(n)
            }
        }
        let before = try persons()
        #expect(before == 0)
        // A connection opened before the ingest sees its rows afterwards (each read is a new snapshot).
        try f.ingest("population", populationCSV(makePersons(5)))
        let after = try persons()
        #expect(after == 5)
        // Opened read-only: a write through one fails, and the transaction it was in is rolled back.
        #expect(throws: StoreError.self) {
            try readers.read { connection in
                try Registry.forEachRow(
                    connection, "INSERT INTO meta (key, value) VALUES ('written', 'by a reader')", bind: { _ in 0 }
                ) { _ in true }
            }
        }
        #expect(readers.idleInTransaction == 0)
        let written = try f.registry.writer.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'written'")
        }
        #expect(written == nil)
    }
}
