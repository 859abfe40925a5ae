internal import Foundation
internal import GRDB
internal import GRDBSQLite
public import ShanyrakCore

/// Indicator numbers and ids of a registry, cached: the indicator table only grows
/// (`syncCatalog`), so a number or id not found triggers one reload, never a stale answer.
///
/// `@unchecked Sendable`: the maps are guarded by `lock`.
/// The destructor that makes SQLite copy a bound buffer (`SQLITE_TRANSIENT`, which Swift does not
/// import): for bindings whose buffer does not outlive the call that binds it.
let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

// The access path's reads run on every request: they step SQLite's own statement (cached by GRDB,
// parsed once per connection) instead of going through GRDB's argument and row decoding.
extension Registry {
    /// Steps the cached statement for `sql`: `bind` sets its parameters (returning the first SQLite
    /// error code, or `SQLITE_OK`), then `row` is called for each result row until it returns false.
    /// The statement is reset and its bindings cleared afterwards, whatever happens.
    /// - Throws: a database error, `StoreError` when binding or stepping fails, or what `row` throws.
    static func forEachRow(
        _ db: some PreparedStatements, _ sql: String, bind: (OpaquePointer) -> Int32,
        row: (OpaquePointer) throws -> Bool
    ) throws {
        let stmt = try db.prepared(sql)
        sqlite3_reset(stmt)
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        let bound = bind(stmt)
        guard bound == SQLITE_OK else { throw StoreError(message: "cannot bind a parameter (SQLite code \(bound))") }
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw StoreError(message: "reading the registry failed: \(String(cString: sqlite3_errstr(rc)))")
            }
            guard try row(stmt) else { return }
        }
    }

    /// Binds `pseudonym`'s 16 bytes to parameter `index` (copied by SQLite).
    static func bind(_ pseudonym: Pseudonym, to stmt: OpaquePointer, at index: Int32) -> Int32 {
        pseudonym.withUnsafeBytes { sqlite3_bind_blob(stmt, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
    }

    /// Column `index` of the current row as text; nil when it is NULL.
    static func text(_ stmt: OpaquePointer, _ index: Int32) -> String? {
        guard let text = sqlite3_column_text(stmt, index) else { return nil }
        return String(
            decoding: UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(stmt, index))), as: UTF8.self)
    }

    /// Column `index` of the current row as a blob (valid until the next step or reset).
    static func blob(_ stmt: OpaquePointer, _ index: Int32) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: sqlite3_column_blob(stmt, index), count: Int(sqlite3_column_bytes(stmt, index)))
    }
}

final class IndicatorNameCache: @unchecked Sendable {
    private let lock = NSLock()
    private var idByNumber: [Int64: String] = [:]
    private var numberByID: [String: Int64] = [:]
    /// How many times the table was read (tests check that known ids do not cause a read).
    private(set) var reloads = 0

    /// One row of the indicator table.
    struct Entry: Sendable {
        /// The number records use for the indicator.
        let number: Int64
        /// The indicator id.
        let id: String
        /// The class whose data key seals its values.
        let keyClass: String
    }

    /// Reads the whole table (the one place that does), refreshes the cache, and returns its rows.
    @discardableResult
    func reload(_ db: some PreparedStatements) throws -> [Entry] {
        var entries: [Entry] = []
        try Registry.forEachRow(
            db, "SELECT number, id, class FROM indicator", bind: { _ in SQLITE_OK },
            row: { stmt in
                guard let id = Registry.text(stmt, 1), let keyClass = Registry.text(stmt, 2) else {
                    throw StoreError(message: "the indicator table has an empty id or class")
                }
                entries.append(Entry(number: sqlite3_column_int64(stmt, 0), id: id, keyClass: keyClass))
                return true
            })
        var ids: [Int64: String] = [:]
        var numbers: [String: Int64] = [:]
        for entry in entries {
            ids[entry.number] = entry.id
            numbers[entry.id] = entry.number
        }
        lock.withLock {
            idByNumber = ids
            numberByID = numbers
            reloads += 1
        }
        return entries
    }

    /// The number of each of `ids`, in the same order; nil for an id the registry does not know.
    func numbers(of ids: [String], _ db: some PreparedStatements) throws -> [Int64?] {
        /// The numbers known now, and whether every id was among them. The lock is held only to take the
        /// table (a reference), not while hashing the ids: concurrent views do not queue on it.
        func lookup() -> (found: [Int64?], complete: Bool) {
            let known = lock.withLock { numberByID }
            let found = ids.map { known[$0] }
            return (found, !found.contains(nil))
        }
        let first = lookup()
        if first.complete { return first.found }
        try reload(db)
        return lookup().found
    }

    /// The id of indicator `number`, or nil when the registry has no such indicator.
    func id(of number: Int64, _ db: some PreparedStatements) throws -> String? {
        if let id = lock.withLock({ idByNumber[number] }) { return id }
        try reload(db)
        return lock.withLock { idByNumber[number] }
    }
}

/// One stored value, still sealed, with where it came from (for tests and maintenance).
public struct StoredValue: Sendable {
    /// The record that holds it (batch << 32 | sequence).
    public var recordID: Int64
    /// The ingest batch that wrote it.
    public var batch: Int64 { recordID >> 32 }
    /// Subject pseudonym.
    public var subject: Pseudonym
    /// Source name.
    public var source: String
    /// Indicator id.
    public var indicator: String
    /// Observation date, `YYYY-MM-DD`.
    public var observedAt: String
    /// Key version it is sealed under.
    public var keyVersion: UInt32
    /// The sealed value (`SealedValueFormat`).
    public var sealed: [UInt8]
}

extension Registry {
    /// The newest observation of each of `indicators` about each of `subjects`, still sealed,
    /// ordered by subject, then indicator id.
    ///
    /// Only the named indicators are copied out: the access path passes exactly the ones
    /// policy granted, and opens only those. The newest `observed_at` wins; ties go to the
    /// later record (ingest order), as everywhere in the registry.
    /// - Throws: a database error, or `StoreError` for a malformed record.
    public func newestObservations(subjects: [Pseudonym], indicators: [String]) throws -> [SealedObservation] {
        guard !subjects.isEmpty, !indicators.isEmpty else { return [] }
        var found: [SealedObservation] = []
        try snapshotRead { db in
            try forEachNewestObservation(subjects: subjects, indicators: indicators, db) { observation in
                found.append(
                    SealedObservation(
                        subject: observation.subject, indicator: observation.indicator,
                        keyVersion: observation.keyVersion, sealed: Array(observation.sealed),
                        observedAt: String(decoding: observation.observedAt, as: UTF8.self),
                        source: String(decoding: observation.source, as: UTF8.self)))
            }
        }
        found.sort { ($0.subject, $0.indicator) < ($1.subject, $1.indicator) }
        return found
    }

    /// Calls `body` with the newest observation of each of `indicators` about each of `subjects`, as
    /// `newestObservations` chooses them, straight from SQLite's rows: the access path opens each sealed
    /// value where SQLite holds it instead of copying it out first. Observations come grouped by subject,
    /// in no particular order within a subject.
    /// - Throws: a database error, `StoreError` for a malformed record, or what `body` throws.
    func forEachNewestObservation(
        subjects: [Pseudonym], indicators: [String], _ db: some PreparedStatements,
        _ body: (SealedObservationBytes) throws -> Void
    ) throws {
        guard !subjects.isEmpty, !indicators.isEmpty else { return }
        // The position in `indicators` of each wanted indicator, by number (numbers are small and dense); an
        // id asked for twice keeps its first position.
        let numbers = try indicatorNames.numbers(of: indicators, db)
        let highest = Int(numbers.lazy.compactMap { $0 }.max() ?? -1)
        guard highest >= 0 else { return }
        guard highest < 1 << 16 else { throw StoreError(message: "indicator number out of range") }
        var positionByNumber = [Int](repeating: -1, count: highest + 1)
        var wantedCount = 0
        for (position, number) in numbers.enumerated() {
            guard let number, number >= 0, positionByNumber[Int(number)] < 0 else { continue }
            positionByNumber[Int(number)] = position
            wantedCount += 1
        }
        // The wanted numbers the current subject has shown already: its records come newest first, so the
        // first observation met of an indicator is the one that wins.
        var seen = [Bool](repeating: false, count: highest + 1)
        var seenCount = 0
        // One subject at a time: with `subject IN (...)` SQLite built a temporary index of the subjects
        // for every view, and sorted all their payloads together.
        for (i, subject) in subjects.enumerated() where !subjects[..<i].contains(subject) {
            if seenCount > 0 {
                for n in seen.indices { seen[n] = false }
                seenCount = 0
            }
            // With each record, the date and source name that its format 3 values are sealed with. A record
            // whose source row is missing comes with an empty name, so that its values do not open.
            try Self.forEachRow(
                db,
                """
                SELECT r.payload, r.observed_at, s.name FROM record r LEFT JOIN source s ON s.number = r.source
                WHERE r.subject = ? ORDER BY r.observed_at DESC, r.id DESC
                """,
                bind: { Self.bind(subject, to: $0, at: 1) },
                row: { stmt in
                    let observedAt = Self.blob(stmt, 1)
                    let source = Self.blob(stmt, 2)
                    try RecordPayload.forEachEntry(in: Self.blob(stmt, 0)) { entry in
                        let n = Int(entry.indicator)
                        guard n >= 0, n < positionByNumber.count, !seen[n] else { return }
                        let position = positionByNumber[n]
                        guard position >= 0 else { return }
                        seen[n] = true
                        seenCount += 1
                        try body(
                            SealedObservationBytes(
                                subject: subject, indicator: indicators[position], requested: position,
                                keyVersion: entry.keyVersion, sealed: entry.sealed, observedAt: observedAt,
                                source: source))
                    }
                    // Every wanted indicator found: older records cannot win.
                    return seenCount < wantedCount
                })
        }
    }

    /// Calls `body` with every stored value (all versions), in ingest order.
    ///
    /// For tests and maintenance: it reads the whole registry.
    /// - Throws: a database error, `StoreError` for a malformed record, or what `body` throws.
    public func forEachStoredValue(_ body: (StoredValue) throws -> Void) throws {
        try writer.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT r.id, r.subject, s.name, r.observed_at, r.payload
                    FROM record r JOIN source s ON s.number = r.source ORDER BY r.id
                    """)
            while let row = try rows.next() {
                let subjectData: Data = row[1]
                guard let subject = Pseudonym(bytes: subjectData) else {
                    throw StoreError(message: "a stored record has a malformed subject")
                }
                let payload: Data = row[4]
                var values: [StoredValue] = []
                try RecordPayload.forEachEntry(in: Array(payload)) { entry in
                    guard let id = try indicatorNames.id(of: entry.indicator, db) else {
                        throw StoreError(message: "a stored record names unknown indicator number \(entry.indicator)")
                    }
                    values.append(
                        StoredValue(
                            recordID: row[0], subject: subject, source: row[2], indicator: id, observedAt: row[3],
                            keyVersion: entry.keyVersion, sealed: Array(entry.sealed)))
                }
                for value in values { try body(value) }
            }
        }
    }

    /// Stored values (all versions) per (indicator class, key version), from `value_count`.
    func valueCountsByClassAndVersion(_ db: Database) throws -> [(keyClass: String, version: UInt32, count: Int)] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT i.class, c.key_version, sum(c.n) FROM value_count c JOIN indicator i ON i.number = c.indicator
                GROUP BY i.class, c.key_version HAVING sum(c.n) > 0
                """
        ).map { row in (row[0], UInt32(row[1] as Int64), row[2]) }
    }
}
