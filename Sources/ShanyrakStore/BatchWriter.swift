internal import Foundation
internal import GRDB
internal import GRDBSQLite
public import ShanyrakCore

/// Counts that an ingest batch reports when it finishes.
public struct BatchCounts: Sendable {
    /// Data rows read.
    public var rowsRead = 0
    /// Rows accepted.
    public var rowsAccepted = 0
    /// Rows quarantined.
    public var rowsQuarantined = 0
    /// New values stored.
    public var valuesWritten = 0
    /// Values identical to the newest stored version.
    public var valuesUnchanged = 0

    /// Zero counts.
    public init() {}
}

/// The newest stored version of one indicator about one subject from one source, by observation date.
public struct StoredValueKey: Hashable, Sendable {
    /// Registry number of the indicator.
    public let indicator: Int64
    /// Observation date, `YYYY-MM-DD`.
    public let observedAt: String

    /// Creates a key.
    public init(indicator: Int64, observedAt: String) {
        self.indicator = indicator
        self.observedAt = observedAt
    }
}

/// What re-delivery detection knows of the newest stored value of one indicator at one date (from
/// one source, about one subject): its MAC and how that MAC was computed.
public struct StoredMAC: Sendable, Equatable {
    /// The MAC's `RecordPayload.macLength` bytes as one number (`RecordPayload.Entry.macBits`).
    public let bits: UInt64
    /// The stored value's `SealedValueFormat` version: 3 for a MAC that is the start of a format 3
    /// iv (keyed by `keyVersion`'s iv key, over the value and its whole associated data); 1 or 2 for
    /// a MAC keyed by `valuemac` (`SealedValueFormat.legacyMAC`).
    public let sealedFormat: UInt8
    /// The data-key version the stored value is sealed under.
    public let keyVersion: UInt32

    /// What `entry` (a stored value) tells.
    public init(_ entry: RecordPayload.Entry) {
        bits = entry.macBits
        sealedFormat = entry.sealedFormat
        keyVersion = entry.keyVersion
    }
}

/// Writes one ingest batch inside one transaction (see `Registry.writeBatch`).
///
/// Uses prepared SQLite statements bound directly, because ingest writes hundreds
/// of thousands of values per second and per-value allocations would dominate.
/// Valid only inside the `writeBatch` closure that received it.
public final class BatchWriter {
    /// The batch's id in the `batch` table.
    public let batchID: Int64
    /// The source being ingested.
    public let source: String
    /// Keyed digest of the feed file (hex), recorded with the batch when it commits.
    public var fileDigest = ""
    private let sourceNumber: Int64
    /// Whether no batch of this source was ever committed: then no record of it is stored yet.
    public let isFirstDeliveryOfSource: Bool
    /// The household upserted last: members of a household arrive together, and one upsert is enough.
    private var lastHousehold: (pseudonym: Pseudonym, district: String)?
    /// Register lookups asked of SQLite so far, and the register in memory (about 32 bytes per
    /// person) once a feed has asked more than `personLookupsBeforeLoading`: then every row's
    /// "is this person registered?" is a hash probe instead of a B-tree seek, and a small feed
    /// never pays for loading it.
    private var personLookups = 0
    private var registeredPersons: Set<Pseudonym>?
    var personLookupsBeforeLoading = 50_000
    private let db: Database
    private var statements: [OpaquePointer] = []
    private var sequence: Int64 = 0
    /// The digest of the records written so far, which the batch's audit entry anchors.
    private var digest = BatchRecordsDigest()
    private let sourceName: [UInt8]
    /// Values written in this batch per (indicator number << 32 | key version), flushed to `value_count` at the end.
    private var valueCounts = ValueCounts()
    /// The key version every stored value must carry, by indicator number: the newest active
    /// version of the indicator's class, read when the batch's transaction began (0: none). Ingest
    /// seals with the keys its process loaded; if they were rotated since, its values would be
    /// sealed under an older version that may be retired, its key erased, at any time, so the
    /// batch is refused instead (see `StoreError.dataKeysRotated`). Values are checked through
    /// their counts (what `value_count`, and so `keys retire`, knows of them): when counts
    /// arrive, and for every count before the batch commits.
    private let currentVersions: [UInt32]
    /// The class of each indicator number, for the error message.
    private let indicatorClasses: [Int64: String]
    /// The current version of the quarantine key (0: none).
    private let currentQuarantineVersion: UInt32
    /// The refusal of values counted under a version that is not current, thrown by the next
    /// write and before the batch commits.
    private var staleKeys: StoreError?
    private let insertRecord: OpaquePointer
    private let latest: OpaquePointer
    private let exists: OpaquePointer
    private let upsertHousehold: OpaquePointer
    private let findPerson: OpaquePointer
    private let insertPerson: OpaquePointer
    private let updatePerson: OpaquePointer
    private let insertQuarantine: OpaquePointer

    init(db: Database, batchID: Int64, source: String) throws {
        self.db = db
        self.batchID = batchID
        self.source = source
        self.sourceName = Array(source.utf8)
        try db.execute(sql: "INSERT OR IGNORE INTO source (name) VALUES (?)", arguments: [source])
        // The source row commits with the first batch of the source, so a new row means no record exists.
        isFirstDeliveryOfSource = db.changesCount == 1
        guard let number = try Int64.fetchOne(db, sql: "SELECT number FROM source WHERE name = ?", arguments: [source])
        else {
            throw StoreError(message: "cannot register source \(source)")
        }
        sourceNumber = number
        let current = try Registry.currentKeyVersions(db)
        var classes: [Int64: String] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT number, class FROM indicator") { classes[row[0]] = row[1] }
        var versions = [UInt32](repeating: 0, count: Int(classes.keys.max() ?? 0) + 1)
        for (indicator, cls) in classes where indicator >= 0 { versions[Int(indicator)] = current[cls] ?? 0 }
        currentVersions = versions
        indicatorClasses = classes
        currentQuarantineVersion = current[DataKeys.quarantineClass] ?? 0
        var prepared: [OpaquePointer] = []
        func prepare(_ sql: String) throws -> OpaquePointer {
            var stmt: OpaquePointer?
            let rc = sqlite3_prepare_v2(db.sqliteConnection, sql, -1, &stmt, nil)
            guard rc == SQLITE_OK, let stmt else {
                for s in prepared { sqlite3_finalize(s) }
                throw StoreError(message: "cannot prepare ingest statement (SQLite code \(rc))")
            }
            prepared.append(stmt)
            return stmt
        }
        insertRecord = try prepare(
            "INSERT INTO record (id, subject, source, observed_at, payload) VALUES (?1, ?2, ?3, ?4, ?5)")
        latest = try prepare("SELECT observed_at, payload, id FROM record WHERE subject = ?1 AND source = ?2")
        exists = try prepare("SELECT 1 FROM person WHERE pseudonym = ?1")
        upsertHousehold = try prepare(
            "INSERT INTO household (pseudonym, district) VALUES (?1, ?2) ON CONFLICT(pseudonym) DO UPDATE SET district = excluded.district"
        )
        // Not an upsert: with the foreign key to `household`, SQLite runs `INSERT ... ON CONFLICT
        // DO UPDATE` with a statement journal, which copied three 16 KiB pages to a temporary
        // file per person (38 GB of writes for a million people). A person is looked up, then
        // inserted, or updated only when the register changed.
        findPerson = try prepare("SELECT household, relation FROM person WHERE pseudonym = ?1")
        insertPerson = try prepare("INSERT INTO person (pseudonym, household, relation) VALUES (?1, ?2, ?3)")
        updatePerson = try prepare("UPDATE person SET household = ?2, relation = ?3 WHERE pseudonym = ?1")
        insertQuarantine = try prepare(
            "INSERT INTO quarantine (batch, line, column_name, rule, key_version, sealed_line) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        )
        statements = prepared
    }

    deinit {
        for s in statements { sqlite3_finalize(s) }
    }

    private func bind(_ stmt: OpaquePointer, _ index: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = sqlite3_bind_blob(stmt, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
    }

    private func bind(_ stmt: OpaquePointer, _ index: Int32, _ text: String) {
        _ = sqlite3_bind_text(stmt, index, text, -1, sqliteTransient)
    }

    private func run(_ stmt: OpaquePointer) throws {
        try check(stepAndReset(stmt))
    }

    /// Records that `person` belongs to `household` (creating either as needed).
    /// - Parameter certainlyNew: the person cannot be in the registry yet (a first delivery of
    ///   the population register, subject not met before in it): the lookup is skipped.
    public func upsertMembership(
        person: Pseudonym, household: Pseudonym, district: String, relation: String, certainlyNew: Bool = false
    ) throws {
        // Buffers are bound without a copy (SQLITE_STATIC): they stay valid until the step inside the closures.
        if lastHousehold?.pseudonym != household || lastHousehold?.district != district {
            let stmt = upsertHousehold
            try check(
                household.withUnsafeBytes { h in
                    district.withCString { d in
                        sqlite3_bind_blob(stmt, 1, h.baseAddress, Int32(h.count), nil)
                        sqlite3_bind_text(stmt, 2, d, -1, nil)
                        return stepAndReset(stmt)
                    }
                })
            lastHousehold = (household, district)
        }
        let write = { (stmt: OpaquePointer) in
            person.withUnsafeBytes { p in
                household.withUnsafeBytes { h in
                    relation.withCString { r in
                        sqlite3_bind_blob(stmt, 1, p.baseAddress, Int32(p.count), nil)
                        sqlite3_bind_blob(stmt, 2, h.baseAddress, Int32(h.count), nil)
                        sqlite3_bind_text(stmt, 3, r, -1, nil)
                        return self.stepAndReset(stmt)
                    }
                }
            }
        }
        if !certainlyNew {
            switch try storedMembership(of: person) {
            case nil: break
            case (household, relation)?: return
            case _?: return try check(write(updatePerson))
            }
        }
        let rc = write(insertPerson)
        if rc == SQLITE_DONE { registeredPersons?.insert(person) }
        // GRDB turns on extended result codes, so a primary-key violation comes back as
        // SQLITE_CONSTRAINT_PRIMARYKEY (1555), not SQLITE_CONSTRAINT: compare the primary code.
        if certainlyNew && rc & 0xff == SQLITE_CONSTRAINT {
            // Registered by another source after all (this source's first delivery cannot know the
            // persons other registering sources delivered): compare and update as for any delivery.
            return try upsertMembership(person: person, household: household, district: district, relation: relation)
        }
        try check(rc)
    }

    /// The household pseudonym and relation stored for `person`, or `nil` when it is not registered.
    private func storedMembership(of person: Pseudonym) throws -> (household: Pseudonym?, relation: String)? {
        let stmt = findPerson
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        let rc = person.withUnsafeBytes { p in
            sqlite3_bind_blob(stmt, 1, p.baseAddress, Int32(p.count), nil)
            return sqlite3_step(stmt)
        }
        switch rc {
        case SQLITE_DONE: return nil
        case SQLITE_ROW:
            let household = Pseudonym(
                bytes: UnsafeRawBufferPointer(
                    start: sqlite3_column_blob(stmt, 0), count: Int(sqlite3_column_bytes(stmt, 0))))
            let relation = sqlite3_column_text(stmt, 1).map { String(cString: $0) } ?? ""
            return (household, relation)
        default: throw StoreError(message: "lookup failed: \(String(cString: sqlite3_errstr(rc)))")
        }
    }

    /// Whether the population register knows `person`.
    public func personExists(_ person: Pseudonym) throws -> Bool {
        if let registeredPersons { return registeredPersons.contains(person) }
        personLookups += 1
        if personLookups > personLookupsBeforeLoading {
            try loadRegisteredPersons()
            return try personExists(person)
        }
        let stmt = exists
        let rc = person.withUnsafeBytes { p in
            sqlite3_bind_blob(stmt, 1, p.baseAddress, Int32(p.count), nil)
            return stepAndReset(stmt)
        }
        guard rc == SQLITE_ROW || rc == SQLITE_DONE else {
            throw StoreError(message: "lookup failed: \(String(cString: sqlite3_errstr(rc)))")
        }
        return rc == SQLITE_ROW
    }

    /// Reads every registered pseudonym into `registeredPersons` (one scan of the `person` table,
    /// inside this batch's transaction, so it is the register the batch sees).
    private func loadRegisteredPersons() throws {
        let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM person") ?? 0
        var table = Set<Pseudonym>(minimumCapacity: count)
        try Registry.forEachRow(
            db, "SELECT pseudonym FROM person", bind: { _ in SQLITE_OK },
            row: { stmt in
                guard let person = Pseudonym(bytes: Registry.blob(stmt, 0)) else {
                    throw StoreError(message: "the population register holds a malformed pseudonym")
                }
                table.insert(person)
                return true
            })
        registeredPersons = table
    }

    /// Steps `stmt` once, then resets it and clears its bindings (before the bound buffers go away).
    private func stepAndReset(_ stmt: OpaquePointer) -> Int32 {
        let rc = sqlite3_step(stmt)
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        return rc
    }

    private func check(_ rc: Int32) throws {
        guard rc == SQLITE_DONE else {
            throw StoreError(message: "ingest write failed: \(String(cString: sqlite3_errstr(rc)))")
        }
    }

    /// The MAC of the newest stored value per (indicator, observation date) for `subject` from this source.
    public func latestMACs(subject: Pseudonym) throws -> [StoredValueKey: StoredMAC] {
        _ = Registry.bind(subject, to: latest, at: 1)
        sqlite3_bind_int64(latest, 2, sourceNumber)
        defer {
            sqlite3_reset(latest)
            sqlite3_clear_bindings(latest)
        }
        var out: [StoredValueKey: StoredMAC] = [:]
        var newest: [StoredValueKey: Int64] = [:]
        while true {
            let rc = sqlite3_step(latest)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw StoreError(message: "lookup failed: \(String(cString: sqlite3_errstr(rc)))")
            }
            let date = sqlite3_column_text(latest, 0).map { String(cString: $0) } ?? ""
            let n = Int(sqlite3_column_bytes(latest, 1))
            let payload = UnsafeRawBufferPointer(start: sqlite3_column_blob(latest, 1), count: n)
            let id = sqlite3_column_int64(latest, 2)
            try RecordPayload.forEachEntry(in: payload) { entry in
                let key = StoredValueKey(indicator: entry.indicator, observedAt: date)
                if let seen = newest[key], seen > id { return }
                newest[key] = id
                out[key] = StoredMAC(entry)
            }
        }
        return out
    }

    /// Stores one feed row's new values as one record (a new version of each).
    ///
    /// Binds the buffers without copying (`SQLITE_STATIC`): they stay alive and
    /// unmoved until `sqlite3_step` returns, inside the nested closures.
    /// - Parameter counted: the caller has added the payload's values to `addValueCounts` already.
    /// - Throws: `StoreError.dataKeysRotated` when values of this batch were counted under another
    ///   key version than their class's current one (the caller's keys are stale), or a database error.
    public func insertRecord(subject: Pseudonym, observedAt: String, payload: RecordPayload, counted: Bool = false)
        throws
    {
        guard !payload.isEmpty else { return }
        if !counted {
            try RecordPayload.forEachEntry(in: payload.bytes) { entry in
                if staleKeys == nil {
                    staleKeys = staleVersion(indicator: entry.indicator, keyVersion: entry.keyVersion)
                }
                valueCounts.add(indicator: entry.indicator, keyVersion: entry.keyVersion)
            }
        }
        if let staleKeys { throw staleKeys }
        let stmt = insertRecord
        sequence += 1
        let id = batchID << 32 | sequence
        let rc = subject.withUnsafeBytes { s in
            payload.bytes.withUnsafeBytes { p in
                observedAt.withCString { date in
                    sqlite3_bind_int64(stmt, 1, id)
                    sqlite3_bind_blob(stmt, 2, s.baseAddress, Int32(s.count), nil)
                    sqlite3_bind_int64(stmt, 3, sourceNumber)
                    sqlite3_bind_text(stmt, 4, date, -1, nil)
                    sqlite3_bind_blob(stmt, 5, p.baseAddress, Int32(p.count), nil)
                    return stepAndReset(stmt)
                }
            }
        }
        try check(rc)
        var date = observedAt
        subject.withUnsafeBytes { s in
            payload.bytes.withUnsafeBytes { p in
                sourceName.withUnsafeBytes { name in
                    date.withUTF8 { d in
                        digest.add(id: id, subject: s, source: name, observedAt: UnsafeRawBufferPointer(d), payload: p)
                    }
                }
            }
        }
    }

    /// The anchor of the records this batch wrote, for its audit entry: taken once, when the batch is done.
    func takeAnchor() -> BatchAnchor {
        let finished = digest
        digest = BatchRecordsDigest()
        return finished.anchor(batch: batchID, source: source)
    }

    /// Throws the refusal that the values counted so far earn when one of them is under a key version
    /// that is not its class's current one (`StoreError.dataKeysRotated`); does nothing otherwise.
    /// `insertRecord` and the commit throw it anyway; a caller that meets a stored value under a
    /// version its keys do not know calls this first, for the error that says why.
    public func refuseIfKeysRotated() throws {
        if let error = staleKeys ?? staleVersion(in: valueCounts) { throw error }
    }

    /// The refusal of a value of `indicator` sealed under `keyVersion`, or `nil` when that is the
    /// current version of the indicator's class.
    private func staleVersion(indicator: Int64, keyVersion: UInt32) -> StoreError? {
        let current = indicator >= 0 && indicator < currentVersions.count ? currentVersions[Int(indicator)] : 0
        if current != 0 && current == keyVersion { return nil }
        guard let cls = indicatorClasses[indicator] else {
            return StoreError(message: "indicator number \(indicator) is not in the registry")
        }
        return StoreError.dataKeysRotated(
            className: cls, sealingVersion: keyVersion, currentVersion: current == 0 ? nil : current)
    }

    /// The refusal of the first value `counts` adds under a version that is not current, if any.
    private func staleVersion(in counts: ValueCounts) -> StoreError? {
        for (key, n) in counts.counts where n > 0 {
            if let error = staleVersion(indicator: key >> 32, keyVersion: UInt32(truncatingIfNeeded: key)) {
                return error
            }
        }
        return nil
    }

    /// Adds counts of values stored (or, negative, not stored) in this batch; they reach
    /// `value_count` when the batch commits. Values counted under a key version that is not the
    /// current one of their class make the batch fail (`StoreError.dataKeysRotated`) at the next
    /// write, and in any case before it commits.
    public func addValueCounts(_ counts: ValueCounts) {
        if staleKeys == nil { staleKeys = staleVersion(in: counts) }
        valueCounts.add(counts)
    }

    /// Adds this batch's value counts to `value_count` (called once, before commit).
    /// - Throws: `StoreError.dataKeysRotated` when a value was counted under a key version that is
    ///   not the current one of its class.
    func flushValueCounts() throws {
        try refuseIfKeysRotated()
        try valueCounts.save(db)
        valueCounts = ValueCounts()
    }

    /// Keeps a rejected line, sealed, with its line number, column and rule.
    /// - Throws: `StoreError.dataKeysRotated` when `keyVersion` is not the quarantine key's current version.
    public func quarantine(line: Int, column: String, rule: String, keyVersion: UInt32, sealedLine: [UInt8]) throws {
        guard keyVersion == currentQuarantineVersion else {
            throw StoreError.dataKeysRotated(
                className: DataKeys.quarantineClass, sealingVersion: keyVersion,
                currentVersion: currentQuarantineVersion == 0 ? nil : currentQuarantineVersion)
        }
        sqlite3_bind_int64(insertQuarantine, 1, batchID)
        sqlite3_bind_int64(insertQuarantine, 2, Int64(line))
        bind(insertQuarantine, 3, column)
        bind(insertQuarantine, 4, rule)
        sqlite3_bind_int64(insertQuarantine, 5, Int64(keyVersion))
        bind(insertQuarantine, 6, sealedLine)
        try run(insertQuarantine)
    }
}

extension Registry {
    /// Runs one ingest batch in one write transaction: either everything `body` wrote
    /// is committed together with the batch record, or (if `body` throws) nothing is.
    ///
    /// The writer refuses values and quarantined lines sealed under a data-key version that is
    /// not, inside this transaction, the current one of its class (`StoreError.dataKeysRotated`):
    /// a process that loaded its keys before a `keys rotate` cannot store what a later
    /// `keys retire` would make unreadable.
    /// - Parameters:
    ///   - source: the feed's source name.
    ///   - body: writes the batch; returns the counts to record.
    /// - Returns: the batch id, the counts, and the anchor of the records written (for the batch's audit entry).
    public func writeBatch(
        source: String, _ body: (BatchWriter) throws -> BatchCounts
    ) throws -> (batch: Int64, counts: BatchCounts, anchor: BatchAnchor) {
        try writer.write { db in
            let now = Int64(Date().timeIntervalSince1970)
            try db.execute(
                sql: """
                    INSERT INTO batch (source, file_digest, started_at, finished_at, rows_read, rows_accepted,
                        rows_quarantined, values_written, values_unchanged) VALUES (?, '', ?, ?, 0, 0, 0, 0, 0)
                    """, arguments: [source, now, now])
            let batch = db.lastInsertedRowID
            let batchWriter = try BatchWriter(db: db, batchID: batch, source: source)
            let counts = try body(batchWriter)
            try batchWriter.flushValueCounts()
            try db.execute(
                sql: """
                    UPDATE batch SET finished_at = ?, rows_read = ?, rows_accepted = ?, rows_quarantined = ?,
                        values_written = ?, values_unchanged = ?, file_digest = ? WHERE id = ?
                    """,
                arguments: [
                    Int64(Date().timeIntervalSince1970), counts.rowsRead, counts.rowsAccepted, counts.rowsQuarantined,
                    counts.valuesWritten, counts.valuesUnchanged, batchWriter.fileDigest, batch,
                ])
            return (batch, counts, batchWriter.takeAnchor())
        }
    }
}
