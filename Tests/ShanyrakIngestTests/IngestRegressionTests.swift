import Foundation
import GRDB
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest
import ShanyrakStore
import Testing

/// Regressions: history and key lifecycle edge cases found in review.
struct IngestRegressionTests {
    let persons = makePersons(4)

    /// A value that changes A -> B -> A on the same observation date must end as A
    /// (only the newest stored version counts as "identical").
    @Test func revertedValueBecomesTheNewestVersion() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        for income in ["100", "200"] {
            try f.ingest("labour", [labourHeader, labourRow(persons[0].iin, income: income)].joined(separator: "\n"))
        }
        let back = try f.ingest(
            "labour", [labourHeader, labourRow(persons[0].iin, income: "100")].joined(separator: "\n"))
        do {
            #expect(back.valuesWritten == 1)
            // The newest income observation (latest date, then latest record) comes from the last batch.
            var newest: (date: String, record: Int64, batch: Int64)?
            try f.registry.forEachStoredValue { value in
                guard value.indicator == "economic.monthly_income" else { return }
                if let n = newest, (n.date, n.record) > (value.observedAt, value.recordID) { return }
                newest = (value.observedAt, value.recordID, value.batch)
            }
            #expect(newest?.batch == back.batch)
        }
    }

    /// After `keys rotate --class quarantine` and `keys rewrap`, the old quarantine version can be retired.
    @Test func quarantineKeyCanBeRotatedAndRetired() throws {
        let f = try Fixture()
        try f.ingest("population", populationCSV(persons))
        try f.ingest("labour", [labourHeader, labourRow(persons[0].iin, income: "x")].joined(separator: "\n"))
        #expect(try f.registry.rotateDataKey(className: DataKeys.quarantineClass, keyring: f.keyring) == 2)
        #expect(try f.registry.rewrap(className: DataKeys.quarantineClass, keyring: f.keyring) == 1)
        try f.registry.retireDataKey(className: DataKeys.quarantineClass, version: 1)
    }
}
