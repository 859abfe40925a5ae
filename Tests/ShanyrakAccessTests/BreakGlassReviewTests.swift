import Foundation
import ShanyrakAccess
import ShanyrakCore
import ShanyrakStore
import Testing

/// Auditors can read what a break-glass caller wrote, and only for the entry it was written for.
struct BreakGlassReviewTests {
    @Test("a sealed justification opens for its own request id and key version only")
    func openOnlyWhereItBelongs() throws {
        let fixture = try Fixture()
        let text = "Police asked for an urgent welfare check (case 17)"
        let sealed = try SealedJustification.seal(text, requestID: "r-1", keys: fixture.keys)
        #expect(sealed.keyClass == DataKeys.justificationClass)
        #expect(!String(decoding: sealed.sealed, as: UTF8.self).contains("welfare"))
        #expect(try sealed.open(requestID: "r-1", keys: fixture.keys) == text)
        // Moved to another entry, claimed under another version, or tampered with: refused.
        #expect(throws: AccessFailure.self) { try sealed.open(requestID: "r-2", keys: fixture.keys) }
        var otherVersion = sealed
        otherVersion.keyVersion += 1
        #expect(throws: AccessFailure.self) { try otherVersion.open(requestID: "r-1", keys: fixture.keys) }
        var flipped = sealed
        flipped.sealed[flipped.sealed.count - 1] ^= 1
        #expect(throws: AccessFailure.self) { try flipped.open(requestID: "r-1", keys: fixture.keys) }
    }

    @Test("the justification in a break-glass audit entry opens to what the caller wrote")
    func breakGlassEntryOpens() async throws {
        let fixture = try Fixture()
        let people = Fixture.population(households: 1, seed: 7).map {
            var p = $0
            p.district = "01-01"
            return p
        }
        try fixture.ingest("population", Fixture.populationCSV(people))
        let (gbv, _) = try await fixture.staff(.gbvSpecialist)
        let person = try fixture.personID(iin: people[0].iin)
        let text = "Hospital called: injured woman, partner waiting outside"
        _ = try await fixture.service.breakGlassPersonView(
            principal: gbv, personID: person, justification: text, requestID: "bg-9")
        let entry = try #require(await fixture.log.entries.first { $0.requestID == "bg-9" })
        let sealed = try #require(entry.justification)
        #expect(try sealed.open(requestID: entry.requestID, keys: fixture.keys) == text)
    }
}
