internal import GRDB

/// Counts that describe a registry without any personal data.
public struct RegistryStatistics: Sendable, Codable {
    /// Households known from the population register.
    public var households: Int
    /// Persons known from the population register.
    public var persons: Int
    /// Stored values (all versions) by indicator class.
    public var valuesByClass: [String: Int]
    /// Rows held in quarantine.
    public var quarantinedRows: Int
    /// Ingest batches committed.
    public var batches: Int

    enum CodingKeys: String, CodingKey {
        case households, persons, batches
        case valuesByClass = "values_by_class"
        case quarantinedRows = "quarantined_rows"
    }
}

extension Registry {
    /// Counts for `shanyrak stats`.
    public func statistics() throws -> RegistryStatistics {
        try writer.read { db in
            var byClass: [String: Int] = [:]
            for entry in try valueCountsByClassAndVersion(db) { byClass[entry.keyClass, default: 0] += entry.count }
            return RegistryStatistics(
                households: try Int.fetchOne(db, sql: "SELECT count(*) FROM household") ?? 0,
                persons: try Int.fetchOne(db, sql: "SELECT count(*) FROM person") ?? 0,
                valuesByClass: byClass,
                quarantinedRows: try Int.fetchOne(db, sql: "SELECT count(*) FROM quarantine") ?? 0,
                batches: try Int.fetchOne(db, sql: "SELECT count(*) FROM batch") ?? 0)
        }
    }
}
