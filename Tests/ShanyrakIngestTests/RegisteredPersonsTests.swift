import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import Testing

@testable import ShanyrakStore

/// The register in memory that large feeds check their rows against.
struct RegisteredPersonsTests {
    /// Past the lookup threshold the writer answers from memory, with the same answers, and a
    /// person registered later in the same batch is known at once.
    @Test func writerAnswersTheSameFromMemory() throws {
        let f = try Fixture()
        let persons = makePersons(12)
        try f.ingest("population", populationCSV(Array(persons.prefix(10))))
        let pseudonymiser = try Pseudonymiser(key: f.keyring.pseudonymKey)
        let registered = try persons.prefix(10).map { pseudonymiser.person(try IIN(validating: $0.iin)) }
        let strangers = try persons.suffix(2).map { pseudonymiser.person(try IIN(validating: $0.iin)) }
        _ = try f.registry.writeBatch(source: "labour") { writer in
            writer.personLookupsBeforeLoading = 3
            for round in 0..<3 {
                for p in registered { #expect(try writer.personExists(p), "round \(round)") }
                for p in strangers { #expect(try !writer.personExists(p), "round \(round)") }
            }
            let household = pseudonymiser.household(registerID: "H99")
            try writer.upsertMembership(person: strangers[0], household: household, district: "01-02", relation: "head")
            #expect(try writer.personExists(strangers[0]))
            #expect(try !writer.personExists(strangers[1]))
            return BatchCounts()
        }
    }

    /// A second source that registers persons delivers, on its first delivery, persons that the
    /// population register already registered: the writer skips the lookup for them ("certainly
    /// new" to this source), the insert hits the primary key, and the person's membership is then
    /// compared and updated instead of the whole batch failing.
    @Test func aSecondRegisteringSourceUpdatesPersonsAlreadyRegistered() throws {
        let f = try Fixture()
        let persons = makePersons(4)
        try f.ingest("population", populationCSV(persons))
        let pseudonymiser = try Pseudonymiser(key: f.keyring.pseudonymKey)
        let subjects = try persons.map { pseudonymiser.person(try IIN(validating: $0.iin)) }
        let household = pseudonymiser.household(registerID: "H-civil-7")
        _ = try f.registry.writeBatch(source: "civil-registry") { writer in
            #expect(writer.isFirstDeliveryOfSource)
            for subject in subjects {
                try writer.upsertMembership(
                    person: subject, household: household, district: "01-05", relation: "other_relative",
                    certainlyNew: true)
            }
            return BatchCounts()
        }
        let stored = try f.registry.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT pseudonym, household, relation FROM person ORDER BY pseudonym")
        }
        #expect(stored.count == persons.count)
        for row in stored {
            #expect(Array(row["household"] as Data) == household.bytes)
            #expect(row["relation"] as String == "other_relative")
        }
    }
}
