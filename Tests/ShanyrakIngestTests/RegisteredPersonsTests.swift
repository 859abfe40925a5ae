import ShanyrakCore
import ShanyrakCrypto
@testable import ShanyrakStore
import Testing

/// The in-memory register that large feeds check their rows against.
struct RegisteredPersonsTests {
    /// Agrees with a Swift `Set` on registered and unregistered pseudonyms, including collisions
    /// of the first word (the hash) and the all-zero pseudonym.
    @Test func agreesWithASet() {
        var generator = SystemRandomNumberGenerator()
        var table = RegisteredPersons(capacity: 3_000)
        var reference = Set<[UInt8]>()
        func random() -> [UInt8] { (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) } }
        var inserted: [[UInt8]] = []
        for i in 0..<3_000 {
            // Every tenth shares its first eight bytes (the probe start) with the previous one.
            let bytes = i % 10 == 9 ? Array(inserted[i - 1].prefix(8)) + random().suffix(8) : random()
            inserted.append(bytes)
        }
        inserted.append([UInt8](repeating: 0, count: 16))
        inserted.append(inserted[0])  // a repeat changes nothing
        for bytes in inserted {
            bytes.withUnsafeBytes { table.insert($0) }
            reference.insert(bytes)
        }
        #expect(table.count == reference.count)
        for bytes in inserted { #expect(bytes.withUnsafeBytes { table.contains($0) }) }
        for _ in 0..<3_000 {
            let stranger = random()
            #expect(stranger.withUnsafeBytes { table.contains($0) } == reference.contains(stranger))
        }
        var nearMiss = inserted[5]
        nearMiss[15] ^= 1
        #expect(!nearMiss.withUnsafeBytes { table.contains($0) })
        #expect(![UInt8](repeating: 0, count: 15).withUnsafeBytes { table.contains($0) })
        #expect(!RegisteredPersons(capacity: 0).contains(inserted[0].withUnsafeBytes { $0 }))
    }

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
}
