import Foundation
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Testing

/// An observation date after the ingest day (UTC) plus one day is quarantined: the newest
/// observation wins, so one row dated 9999-12-31 would otherwise fix a value for good.
struct ObservationDateTests {
    let persons = makePersons(4)

    /// `YYYY-MM-DDTHH:MM:SSZ` as an instant.
    static func instant(_ text: String) throws -> Date {
        try #require(ISO8601DateFormatter().date(from: text))
    }

    /// (the clock at ingest, the row's observation date, whether the row is accepted)
    static let cases: [(String, String, Bool)] = [
        ("2025-06-15T12:00:00Z", "2025-06-15", true),  // the ingest day
        ("2025-06-15T12:00:00Z", "2025-06-16", true),  // one day of tolerance
        ("2025-06-15T12:00:00Z", "2025-06-17", false),
        ("2025-06-15T12:00:00Z", "2026-06-15", false),
        ("2025-06-15T12:00:00Z", "9999-12-31", false),
        // 23:59:59 UTC is already the 16th in Astana (UTC+5): the ingest day is the UTC date.
        ("2025-06-15T23:59:59Z", "2025-06-17", false),
        ("2025-06-16T00:00:00Z", "2025-06-17", true),
        ("2025-12-31T12:00:00Z", "2026-01-01", true),
        ("2025-12-31T12:00:00Z", "2026-01-02", false),
        ("2024-02-28T12:00:00Z", "2024-02-29", true),
        ("2024-02-28T12:00:00Z", "2024-03-01", false),
    ]

    @Test(arguments: cases)
    func observationDateIsCheckedAgainstTheIngestDay(_ clock: String, _ observed: String, _ accepted: Bool) throws {
        let now = try Self.instant(clock)
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons), now: now)
        let feed = [
            labourHeader, labourRow(persons[0].iin, income: "100", date: "2024-01-02"),
            labourRow(persons[1].iin, income: "424242", date: observed),
        ].joined(separator: "\n")
        let s = try f.ingest("labour", feed, now: now)
        #expect(s.rowsRead == 2)
        #expect(s.rowsAccepted == (accepted ? 2 : 1))
        #expect(s.rowsQuarantined == (accepted ? 0 : 1))
        guard !accepted else { return }
        let problem = try #require(s.problems.first)
        #expect(problem.line == 3)
        #expect(problem.column == "observed_on")
        #expect(problem.rule.contains("observation date"), "\(problem.rule)")
        #expect(problem.rule.contains("future"), "\(problem.rule)")
        let encoded = String(decoding: try JSONEncoder().encode(s), as: UTF8.self)
        for secret in [observed, persons[1].iin, "424242"] {
            #expect(!problem.rule.contains(secret))
            #expect(!encoded.contains(secret))
        }
    }

    /// Without `now`, the ingest day is the clock's (three days ahead, so that midnight
    /// passing during the test cannot change the outcome).
    @Test func theClockFixesTheIngestDayByDefault() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        let today = CivilDate.day(secondsSince1970: Date().timeIntervalSince1970)
        let feed = [
            labourHeader, labourRow(persons[0].iin, income: "100", date: CivilDate.string(today)),
            labourRow(persons[1].iin, income: "200", date: CivilDate.string(today + 3)),
        ].joined(separator: "\n")
        let s = try f.ingest("labour", feed)
        #expect(s.rowsAccepted == 1)
        #expect(s.problems.map { "\($0.line) \($0.column)" } == ["3 observed_on"])
    }

    /// A hostile or mistyped far-future row must not fix a survivor's protection for good:
    /// the row is quarantined and a later correction is the newest observation.
    @Test func aFutureDatedRowCannotHideALaterCorrection() throws {
        let f = try Fixture()
        let now = try Self.instant("2025-06-15T12:00:00Z")
        try f.ingest("population", populationCSV(persons), now: now)
        let p = persons[2].iin
        let header = "iin,observed_on,indicator,value"
        let typo = try f.ingest(
            "police", [header, "\(p),9999-12-31,violence.protected_survivor,true"].joined(separator: "\n"), now: now)
        #expect(typo.rowsQuarantined == 1)
        #expect(typo.valuesWritten == 0)
        let correction = try f.ingest(
            "police", [header, "\(p),2025-06-15,violence.protected_survivor,false"].joined(separator: "\n"), now: now)
        #expect(correction.valuesWritten == 1)

        let subject = try Pseudonymiser(key: f.keyring.pseudonymKey).person(try IIN(validating: p))
        let found = try f.registry.newestObservations(subjects: [subject], indicators: ["violence.protected_survivor"])
        let newest = try #require(found.first)
        let keys = try DataKeys.load(from: f.registry, keyring: f.keyring)
        #expect(try newest.opened(keyClass: "violence", keys: keys) == "false")
    }
}
