internal import Foundation
internal import GRDB
public import ShanyrakCore
public import ShanyrakCrypto

/// The unwrapped data keys of a registry, by class and version.
///
/// Keys are random 32-byte XChaCha20-Poly1305 keys, one per indicator class and
/// version, plus service classes: `quarantine` (seals rejected feed lines), `valuemac`
/// (keys the MACs of values stored before sealed-value format 3, and feed file digests)
/// and `justification`. New values are sealed under the newest active version of their
/// class; every active version opens. Each indicator-class key comes with the iv key that
/// format 3 derives from it (`ValueKey`), derived once here. The registry's sealed-format floor
/// (`SealedFormatFloor`) is loaded with them, so that a reader holds both from one read.
public struct DataKeys: Sendable {
    /// Class name of the key that seals quarantined lines.
    public static let quarantineClass = "quarantine"
    /// Class name of the key of the MACs of values stored before sealed-value format 3 (which
    /// re-delivery detection still computes for them) and of feed file digests.
    public static let valueMACClass = "valuemac"
    /// Class name of the key that seals break-glass justifications in audit entries.
    /// Its versions are never retired: the audit log keeps what they seal forever.
    public static let justificationClass = "justification"
    /// Every class that has data keys.
    public static var allClasses: [String] {
        IndicatorClass.allCases.map(\.rawValue) + [quarantineClass, valueMACClass, justificationClass]
    }

    private let keys: [String: [UInt32: SecureBytes]]
    private let current: [String: UInt32]
    /// The keys of the indicator classes with their derived iv keys, by class and version.
    private let valueKeys: [String: [UInt32: ValueKey]]
    /// The lowest sealed-value format the registry accepted when the keys were loaded
    /// (`SealedFormatFloor`): a stored value whose first byte is below it is refused unopened.
    public let sealedFormatFloor: UInt8

    /// Unwraps every active data key of `registry` with the master key of `keyring`.
    /// - Throws: `StoreError` when a key does not unwrap (wrong master key) or a class has none.
    public static func load(from registry: Registry, keyring: Keyring) throws -> DataKeys {
        let (rows, floor) = try registry.writer.read { db in
            (
                try Row.fetchAll(db, sql: "SELECT class, version, wrapped FROM data_key WHERE state = 'active'"),
                try Registry.sealedFormatFloor(db)
            )
        }
        var keys: [String: [UInt32: SecureBytes]] = [:]
        var current: [String: UInt32] = [:]
        var valueKeys: [String: [UInt32: ValueKey]] = [:]
        let indicatorClasses = Set(IndicatorClass.allCases.map(\.rawValue))
        for row in rows {
            let (cls, version, key) = try unwrap(row, keyring: keyring, sealedFormatFloor: floor)
            keys[cls, default: [:]][version] = key
            current[cls] = max(current[cls] ?? 0, version)
            if indicatorClasses.contains(cls) {
                valueKeys[cls, default: [:]][version] = try ValueKey(version: version, key: key)
            }
        }
        for cls in allClasses where current[cls] == nil {
            throw StoreError(message: "registry has no active data key for class \(cls)")
        }
        return DataKeys(keys: keys, current: current, valueKeys: valueKeys, sealedFormatFloor: floor)
    }

    /// These keys with the registry's floor `floor` (a reload that found the floor raised and the keys unchanged).
    func withSealedFormatFloor(_ floor: UInt8) -> DataKeys {
        DataKeys(keys: keys, current: current, valueKeys: valueKeys, sealedFormatFloor: floor)
    }

    /// Whether a stored value whose first byte is `format` is of a format the registry accepts: one byte
    /// compare, made for every value before it is opened.
    @inlinable
    public func accepts(sealedFormat format: UInt8) -> Bool {
        format >= sealedFormatFloor
    }

    /// Unwraps a `data_key` row (`class`, `version`, `wrapped`) with `keyring`'s master key, bound to the
    /// registry's sealed-format floor `floor` as read in the same transaction (see
    /// `SealedFormatFloor.wrappingBinding`).
    /// - Throws: `StoreError` naming the key when it does not open.
    static func unwrap(_ row: Row, keyring: Keyring, sealedFormatFloor floor: UInt8) throws
        -> (className: String, version: UInt32, key: SecureBytes)
    {
        let cls: String = row["class"]
        let version = UInt32(row["version"] as Int64)
        let wrapped: Data = row["wrapped"]
        do {
            let key = try keyring.unwrapDataKey(
                Array(wrapped), className: cls, version: version,
                sealedFormatFloor: SealedFormatFloor.wrappingBinding(floor))
            return (cls, version, key)
        } catch {
            throw StoreError(
                message: "data key \(cls) v\(version) does not open with this master key and the registry's "
                    + "sealed-format floor (\(floor)): the wrong master key, or a floor lowered or deleted in the "
                    + "database, which no command does (the keys are bound to the floor so that older sealed "
                    + "formats cannot be let back in)")
        }
    }

    /// The version and key that new values of `className` are sealed under.
    public func writeKey(for className: String) -> (version: UInt32, key: SecureBytes)? {
        guard let v = current[className], let k = keys[className]?[v] else { return nil }
        return (v, k)
    }

    /// The key of `className` at `version`, if it is active.
    public func key(for className: String, version: UInt32) -> SecureBytes? {
        keys[className]?[version]
    }

    /// Every active key of `className`, by version (the access path keeps them per indicator).
    public func versions(of className: String) -> [UInt32: SecureBytes] {
        keys[className] ?? [:]
    }

    /// The key, with its iv key, that new values of indicator class `className` are sealed under.
    public func writeValueKey(for className: String) -> ValueKey? {
        current[className].flatMap { valueKey(for: className, version: $0) }
    }

    /// The key of indicator class `className` at `version`, with its iv key, if it is active.
    public func valueKey(for className: String, version: UInt32) -> ValueKey? {
        valueKeys[className]?[version]
    }
}

/// How many values one data-key version still seals.
public struct KeyVersionStatus: Sendable, Codable, Equatable {
    /// Class name.
    public let keyClass: String
    /// Version number.
    public let version: UInt32
    /// `active` or `retired`.
    public let state: String
    /// Whether new values are sealed under it.
    public let current: Bool
    /// Values (or quarantined lines) sealed under it.
    public let sealedCount: Int

    enum CodingKeys: String, CodingKey {
        case keyClass = "class"
        case version, state, current
        case sealedCount = "sealed_count"
    }
}

/// What one `keys rewrap` run did (`Registry.rewrapValues`).
public struct RewrapOutcome: Sendable, Equatable {
    /// Values (and quarantined lines) re-sealed.
    public let resealed: Int
    /// Values the run left in a sealed-value format older than 3 (of classes it was not asked to
    /// re-seal), or nil when it did not read the records (only quarantined lines were asked for).
    public let olderFormatsLeft: Int?
    /// Whether the run raised the registry's sealed-format floor (`SealedFormatFloor`).
    public let raisedSealedFormatFloor: Bool
    /// The registry's sealed-format floor after the run.
    public let sealedFormatFloor: UInt8

    /// What an operator is told of the floor: that the run raised it, or that values of other classes
    /// keep it from being raised; nil when there is nothing to say.
    public var floorMessage: String? {
        if raisedSealedFormatFloor {
            return "no value is left in a sealed-value format older than \(sealedFormatFloor): the registry now "
                + "refuses older formats (sealed-format floor raised to \(sealedFormatFloor))"
        }
        guard let left = olderFormatsLeft, left > 0 else { return nil }
        return "\(left) values of other classes are still in sealed-value formats 1 and 2: run `keys rewrap` "
            + "without --class to re-seal them, which then makes the registry refuse older formats"
    }

    /// What the run's audit entry adds to its request id: `:sealed-format-floor-3` when it raised the floor.
    public var auditNote: String {
        raisedSealedFormatFloor ? ":sealed-format-floor-\(sealedFormatFloor)" : ""
    }
}

extension Registry {
    /// Fills a new registry: the catalog's indicators, version 1 of every data key, and the sealed-format
    /// floor at 3 (`SealedFormatFloor.recordBound`): it only ever writes format 3.
    /// - Throws: a database or crypto error; nothing is written then.
    public func initialise(catalog: IndicatorCatalog, keyring: Keyring) throws {
        try writer.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM indicator") ?? 0
            guard count == 0 else { throw StoreError(message: "registry is already initialised") }
            for (i, indicator) in catalog.indicators.enumerated() {
                try db.execute(
                    sql: "INSERT INTO indicator (number, id, class, survivor_sensitive) VALUES (?, ?, ?, ?)",
                    arguments: [i + 1, indicator.id, indicator.indicatorClass.rawValue, indicator.survivorSensitive])
            }
            // It writes format 3 only, so it never needs to open anything older; its keys are made bound
            // to that floor.
            _ = try Self.raiseSealedFormatFloor(db, to: SealedFormatFloor.recordBound, keyring: keyring)
            for cls in DataKeys.allClasses {
                try Self.insertDataKey(db, className: cls, version: 1, keyring: keyring)
            }
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('format', '1')")
        }
    }

    /// Adds any catalog indicators the registry does not know yet (catalog growth).
    /// Existing indicators keep their number; a changed class is refused.
    /// - Throws: `StoreError` when an indicator changed class.
    public func syncCatalog(_ catalog: IndicatorCatalog) throws {
        try writer.write { db in
            let known = try Row.fetchAll(db, sql: "SELECT id, class FROM indicator")
            var classes: [String: String] = [:]
            for row in known { classes[row["id"]] = row["class"] }
            var next = (try Int.fetchOne(db, sql: "SELECT max(number) FROM indicator") ?? 0) + 1
            for indicator in catalog.indicators {
                if let cls = classes[indicator.id] {
                    guard cls == indicator.indicatorClass.rawValue else {
                        throw StoreError(message: "indicator \(indicator.id) changed class from \(cls); not supported")
                    }
                    continue
                }
                try db.execute(
                    sql: "INSERT INTO indicator (number, id, class, survivor_sensitive) VALUES (?, ?, ?, ?)",
                    arguments: [next, indicator.id, indicator.indicatorClass.rawValue, indicator.survivorSensitive])
                next += 1
            }
        }
    }

    /// The registry's numbering of indicator ids.
    public func indicatorNumbers() throws -> [String: Int64] {
        try writer.read { db in
            Dictionary(uniqueKeysWithValues: try indicatorNames.reload(db).map { ($0.id, $0.number) })
        }
    }

    /// Makes a random data key and stores it wrapped under `keyring`'s master key, bound to the registry's
    /// sealed-format floor as it is in this transaction.
    static func insertDataKey(_ db: Database, className: String, version: UInt32, keyring: Keyring) throws {
        let key = try SecureBytes.random(count: 32)
        let wrapped = try keyring.wrapDataKey(
            key, className: className, version: version,
            sealedFormatFloor: SealedFormatFloor.wrappingBinding(try Self.sealedFormatFloor(db)))
        try db.execute(
            sql: "INSERT INTO data_key (class, version, wrapped, state, created_at) VALUES (?, ?, ?, 'active', ?)",
            arguments: [className, Int64(version), Data(wrapped), Int64(Date().timeIntervalSince1970)])
    }

    /// Makes a new data-key version for `className`; new values are sealed under it.
    ///
    /// Inside its write transaction it checks that `keyring`'s master key opens the class's current
    /// key: a master-key rotation that committed since the keyring was loaded would otherwise leave
    /// the new key wrapped under the retired master key, which the key folder no longer holds.
    /// (The command also holds the key folder's `MasterKeyLock` around this call.)
    /// - Returns: the new version.
    /// - Throws: `StoreError` for an unknown class or a master key that no longer wraps the registry's keys.
    public func rotateDataKey(className: String, keyring: Keyring) throws -> UInt32 {
        guard DataKeys.allClasses.contains(className) else {
            throw StoreError(
                message: "unknown key class '\(className)' (one of: \(DataKeys.allClasses.joined(separator: ", ")))")
        }
        guard className != DataKeys.valueMACClass else {
            throw StoreError(message: "the valuemac key cannot be rotated: re-delivery detection depends on it")
        }
        return try writer.write { db in
            if let current = try Row.fetchOne(
                db,
                sql:
                    "SELECT class, version, wrapped FROM data_key WHERE class = ? AND state = 'active' ORDER BY version DESC LIMIT 1",
                arguments: [className])
            {
                do {
                    _ = try DataKeys.unwrap(
                        current, keyring: keyring, sealedFormatFloor: try Self.sealedFormatFloor(db))
                } catch {
                    throw StoreError(
                        message: "\(error) (a master-key rotation finished since this command loaded the key, "
                            + "or it is the wrong key): a new \(className) key wrapped under it would open with "
                            + "no key the registry uses. Nothing was changed: run the command again")
                }
            }
            let latest =
                try Int64.fetchOne(db, sql: "SELECT max(version) FROM data_key WHERE class = ?", arguments: [className])
                ?? 0
            let version = UInt32(latest + 1)
            try Self.insertDataKey(db, className: className, version: version, keyring: keyring)
            return version
        }
    }

    /// Versions of every data key and how many values each still seals.
    public func keyStatus() throws -> [KeyVersionStatus] {
        try writer.read { db in try keyStatus(db) }
    }

    /// `keyStatus()` inside the caller's transaction.
    private func keyStatus(_ db: Database) throws -> [KeyVersionStatus] {
        var counts: [String: Int] = [:]
        for entry in try valueCountsByClassAndVersion(db) {
            counts["\(entry.keyClass)/\(entry.version)"] = entry.count
        }
        for row in try Row.fetchAll(
            db, sql: "SELECT key_version AS version, count(*) AS n FROM quarantine GROUP BY key_version")
        {
            counts["\(DataKeys.quarantineClass)/\(row["version"] as Int64)"] = row["n"]
        }
        let keys = try Row.fetchAll(db, sql: "SELECT class, version, state FROM data_key ORDER BY class, version")
        var newest: [String: Int64] = [:]
        for row in keys where (row["state"] as String) == "active" {
            newest[row["class"]] = max(newest[row["class"]] ?? 0, row["version"])
        }
        return keys.map { row in
            let cls: String = row["class"]
            let version: Int64 = row["version"]
            return KeyVersionStatus(
                keyClass: cls, version: UInt32(version), state: row["state"], current: newest[cls] == version,
                sealedCount: counts["\(cls)/\(version)"] ?? 0)
        }
    }

    /// Re-seals values of `className` (or every class) that are sealed under an older version or
    /// in a sealed-value format older than 3, into format 3 under the class's current version, in
    /// transactions of at most `batchSize` records (or quarantined lines). So a rewrap both moves
    /// values to a rotated class key and upgrades a registry written before format 3: each value
    /// gets bound to its record's observation date and source as they are stored when it runs, and
    /// an iv (and so a re-delivery MAC) keyed by its version's iv key instead of `valuemac`.
    /// Resumable: each transaction commits on its own and the next run picks up what is
    /// left. Class `quarantine` re-seals quarantined lines. Records are read once, whatever
    /// the number of classes.
    ///
    /// When the run has read every record and left none of its values in a format older than 3, it
    /// raises the registry's sealed-format floor (`SealedFormatFloor`) to 3: from then on a value in an
    /// older format is refused by every reader. A value below the floor stops the run (it is not opened).
    /// - Parameters:
    ///   - progress: called after each transaction with the number re-sealed so far.
    ///   - rewritten: called after each transaction that committed with the ids of the batches whose
    ///     records it rewrote (none for quarantined lines): their anchors in the audit log are to be
    ///     renewed (`anchors(ofBatches:)`) before the next transaction. When it throws, the run stops
    ///     there with its error.
    /// - Returns: how many values were re-sealed (0 once nothing is left to do).
    /// - Throws: `StoreError` for an unknown class, or a record whose value does not open, is below the
    ///   sealed-format floor, or whose source is missing.
    public func rewrap(
        className: String?, keyring: Keyring, batchSize: Int = 10_000, progress: (Int) -> Void = { _ in },
        rewritten: (Set<Int64>) throws -> Void = { _ in }
    ) throws -> Int {
        try rewrapValues(
            className: className, keyring: keyring, batchSize: batchSize, progress: progress, rewritten: rewritten
        ).resealed
    }

    /// `rewrap(className:keyring:batchSize:progress:rewritten:)`, telling also what became of the
    /// sealed-format floor.
    /// - Returns: what the run did.
    /// - Throws: as `rewrap(className:keyring:batchSize:progress:rewritten:)`.
    public func rewrapValues(
        className: String?, keyring: Keyring, batchSize: Int = 10_000, progress: (Int) -> Void = { _ in },
        rewritten: (Set<Int64>) throws -> Void = { _ in }
    ) throws -> RewrapOutcome {
        let keys = try DataKeys.load(from: self, keyring: keyring)
        let classes = className.map { [$0] } ?? (IndicatorClass.allCases.map(\.rawValue) + [DataKeys.quarantineClass])
        for cls in classes
        where keys.writeKey(for: cls) == nil || cls == DataKeys.valueMACClass || cls == DataKeys.justificationClass {
            throw StoreError(message: "unknown or non-rewrappable key class '\(cls)'")
        }
        // What to re-seal, by indicator number: the indicators of the classes asked for.
        let targets = try writer.read { db in
            var out: [Int64: RewrapTarget] = [:]
            for entry in try indicatorNames.reload(db) {
                guard classes.contains(entry.keyClass), let key = keys.writeValueKey(for: entry.keyClass) else {
                    continue
                }
                out[entry.number] = RewrapTarget(indicatorID: entry.id, keyClass: entry.keyClass, writeKey: key)
            }
            return out
        }
        // The versions this rewrap seals under; each transaction checks they are still the current ones.
        var sealingVersions: [String: UInt32] = [:]
        for cls in classes { sealingVersions[cls] = keys.writeKey(for: cls)?.version }
        var total = 0
        func passes(_ body: (Database, Int64) throws -> RewrapPass) throws {
            var cursor: Int64 = 0
            while true {
                let pass = try writer.write { db in
                    try Self.requireCurrentKeyVersions(db, sealingVersions)
                    return try body(db, cursor)
                }
                total += pass.resealed
                if !pass.batches.isEmpty { try rewritten(pass.batches) }
                progress(total)
                if pass.scanned < batchSize { break }
                cursor = pass.lastID
            }
        }
        // Values left in a format older than 3 in the records read; nil when the records were not read.
        var olderFormatsLeft: Int?
        if !targets.isEmpty {
            olderFormatsLeft = 0
            try passes { db, cursor in
                let pass = try Self.rewrapRecords(db, after: cursor, limit: batchSize, keys: keys, targets: targets)
                olderFormatsLeft? += pass.olderFormatsLeft
                return pass
            }
        }
        if classes.contains(DataKeys.quarantineClass), let (version, key) = keys.writeKey(for: DataKeys.quarantineClass)
        {
            try passes { db, cursor in
                try Self.rewrapQuarantine(db, after: cursor, limit: batchSize, keys: keys, to: version, key: key)
            }
        }
        // Every record was read and none holds an older format (ingest writes format 3 only): raise the floor.
        var raised = false
        if olderFormatsLeft == 0 {
            raised = try writer.write { db in
                try Self.raiseSealedFormatFloor(db, to: SealedFormatFloor.recordBound, keyring: keyring)
            }
        }
        return RewrapOutcome(
            resealed: total, olderFormatsLeft: olderFormatsLeft, raisedSealedFormatFloor: raised,
            sealedFormatFloor: raised ? SealedFormatFloor.recordBound : keys.sealedFormatFloor)
    }

    /// The newest active version of every data-key class: what new values of the class are sealed under.
    static func currentKeyVersions(_ db: Database) throws -> [String: UInt32] {
        var current: [String: UInt32] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT class, max(version) FROM data_key WHERE state = 'active' GROUP BY class")
        {
            current[row[0]] = UInt32(row[1] as Int64)
        }
        return current
    }

    /// Checks, inside a write transaction, that `sealingVersions` (class to version) are still the
    /// current versions of their classes.
    /// - Throws: `StoreError.dataKeysRotated` for the first class that was rotated since.
    static func requireCurrentKeyVersions(_ db: Database, _ sealingVersions: [String: UInt32]) throws {
        let current = try currentKeyVersions(db)
        for (cls, version) in sealingVersions.sorted(by: { $0.key < $1.key }) where current[cls] != version {
            throw StoreError.dataKeysRotated(className: cls, sealingVersion: version, currentVersion: current[cls])
        }
    }

    /// What one rewrap transaction did: rows scanned (records or quarantined lines), values re-sealed, last
    /// id, values of the records read that it left in a sealed-value format older than 3, and the batches
    /// whose records it rewrote.
    struct RewrapPass {
        var scanned = 0
        var resealed = 0
        var lastID: Int64 = 0
        var olderFormatsLeft = 0
        var batches: Set<Int64> = []
    }

    /// An indicator whose values a rewrap re-seals, with the key (and version) to re-seal them under.
    struct RewrapTarget {
        let indicatorID: String
        let keyClass: String
        let writeKey: ValueKey

        /// Whether a stored value of this indicator is to be re-sealed: it is under an older key
        /// version, or in a format older than 3.
        func wants(_ entry: RecordPayload.Entry) -> Bool {
            entry.keyVersion < writeKey.version || entry.sealedFormat != SealedValueFormat.recordBoundVersion
        }
    }

    /// Re-seals, in up to `limit` records after id `cursor`, the values of the `targets`
    /// indicators sealed under an older version than their target's, and moves their counts
    /// in `value_count`.
    private static func rewrapRecords(
        _ db: Database, after cursor: Int64, limit: Int, keys: DataKeys, targets: [Int64: RewrapTarget]
    ) throws -> RewrapPass {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT r.id, r.subject, r.payload, r.observed_at, s.name FROM record r
                LEFT JOIN source s ON s.number = r.source WHERE r.id > ? ORDER BY r.id LIMIT ?
                """,
            arguments: [cursor, limit])
        var pass = RewrapPass(scanned: rows.count, lastID: cursor)
        var sealer = ValueSealer()
        var moved = ValueCounts()
        for row in rows {
            let id: Int64 = row[0]
            pass.lastID = id
            let resealed: (bytes: [UInt8], count: Int)?
            do {
                resealed = try rewrapRecord(
                    subject: row[1], payload: row[2], observedAt: row[3], source: row[4], keys: keys, targets: targets,
                    sealer: &sealer, moved: &moved, olderFormatsLeft: &pass.olderFormatsLeft)
            } catch {
                throw rewrapStopped(at: "record \(id)", table: "record", cause: error)
            }
            if let resealed {
                try db.execute(
                    sql: "UPDATE record SET payload = ? WHERE id = ?", arguments: [Data(resealed.bytes), id])
                pass.resealed += resealed.count
                pass.batches.insert(id >> 32)
            }
        }
        try moved.save(db)
        return pass
    }

    /// Re-seals the values of one record that `targets` asks for, into format 3 bound to the record's
    /// stored date and source, and adds to `olderFormatsLeft` its values in an older format that it
    /// leaves as they are (of classes not asked for).
    /// - Returns: the rebuilt payload and how many of its values were re-sealed, or `nil` when none was.
    /// - Throws: `StoreError` or `CryptoError` saying what is wrong with the record (never a value): a
    ///   value to re-seal that is below the registry's sealed-format floor is refused unopened.
    private static func rewrapRecord(
        subject subjectData: Data, payload: Data, observedAt: String, source: String?, keys: DataKeys,
        targets: [Int64: RewrapTarget], sealer: inout ValueSealer, moved: inout ValueCounts,
        olderFormatsLeft: inout Int
    ) throws -> (bytes: [UInt8], count: Int)? {
        let subject = Pseudonym(bytes: subjectData)
        let bytes = Array(payload)
        // The rebuilt record is in payload format 3 when every value in it will have a synthetic iv (its
        // MAC); a random-nonce value left as it is (of a class not asked for) keeps it in format 2, where a
        // format 3 value's stored MAC is its iv's start.
        var wanted = 0
        var keepsRandomNonce = false
        try RecordPayload.forEachEntry(in: bytes) { entry in
            if let target = targets[entry.indicator], target.wants(entry) {
                wanted += 1
                return
            }
            if entry.sealedFormat < SealedValueFormat.recordBoundVersion { olderFormatsLeft += 1 }
            if !SealedValueFormat.isSynthetic(entry.sealed) { keepsRandomNonce = true }
        }
        guard wanted > 0 else { return nil }
        guard let subject else { throw StoreError(message: "its subject pseudonym is malformed") }
        guard let source else { throw StoreError(message: "its source is missing from the source table") }
        var rebuilt = RecordPayload(
            format: keepsRandomNonce ? RecordPayload.separateMACFormat : RecordPayload.formatVersion)
        var recordMoves = ValueCounts()
        try RecordPayload.forEachEntry(in: bytes) { entry in
            guard let target = targets[entry.indicator], target.wants(entry) else {
                try rebuilt.append(entry)
                return
            }
            guard keys.accepts(sealedFormat: entry.sealedFormat) else {
                throw StoreError.sealedFormatBelowFloor(
                    "its value of \(target.indicatorID)", format: entry.sealedFormat, floor: keys.sealedFormatFloor)
            }
            guard let oldKey = keys.key(for: target.keyClass, version: entry.keyVersion) else {
                throw StoreError(
                    message:
                        "its value of \(target.indicatorID) is sealed under retired \(target.keyClass) version \(entry.keyVersion)"
                )
            }
            let plain: String
            do {
                plain = try SealedValueFormat.open(
                    Array(entry.sealed), subject: subject, indicator: target.indicatorID, keyVersion: entry.keyVersion,
                    observedAt: observedAt, source: source, key: oldKey)
            } catch {
                throw StoreError(message: "its value of \(target.indicatorID) does not open (\(error))")
            }
            // Appended with the new iv's start as its MAC (payload format 2 stores it; format 3 reads it
            // from the iv): what re-delivery detection computes for a format 3 value of this version.
            try rebuilt.appendSealing(
                plain, indicator: entry.indicator, indicatorID: target.indicatorID, subject: subject,
                observedAt: observedAt, source: source, key: target.writeKey, sealer: &sealer)
            if entry.keyVersion != target.writeKey.version {
                recordMoves.add(indicator: entry.indicator, keyVersion: entry.keyVersion, -1)
                recordMoves.add(indicator: entry.indicator, keyVersion: target.writeKey.version)
            }
        }
        moved.add(recordMoves)
        return (rebuilt.bytes, wanted)
    }

    /// The error that stops a rewrap at one stored row. It names the row (never a value), so that
    /// the operator can look at it; the rewrap does not skip it, because a value it cannot re-seal
    /// would keep its old key version from being retired, and a skipped row would be forgotten.
    private static func rewrapStopped(at row: String, table: String, cause: any Error) -> StoreError {
        let reason = (cause as? StoreError)?.message ?? String(describing: cause)
        return StoreError(
            message: "keys rewrap stopped at \(row) (table \(table)): \(reason). Nothing in its transaction was "
                + "changed; the transactions before it are committed. Repair or remove \(row), then run "
                + "`keys rewrap` again: it continues where it stopped")
    }

    /// The associated data of a sealed quarantined line.
    public static func quarantineAssociatedData(batch: Int64, line: Int) -> [UInt8] {
        Array("shanyrak.quarantine.v1\u{0}\(batch)\u{0}\(line)".utf8)
    }

    private static func rewrapQuarantine(
        _ db: Database, after cursor: Int64, limit: Int, keys: DataKeys, to writeVersion: UInt32,
        key writeKey: SecureBytes
    ) throws -> RewrapPass {
        let after = cursor
        let rows = try Row.fetchAll(
            db,
            sql:
                "SELECT id, batch, line, key_version, sealed_line FROM quarantine WHERE id > ? AND key_version < ? ORDER BY id LIMIT ?",
            arguments: [after, Int64(writeVersion), limit])
        var last = RewrapPass(scanned: rows.count, resealed: rows.count, lastID: cursor)
        for row in rows {
            let id: Int64 = row["id"]
            last.lastID = id
            let batch: Int64 = row["batch"]
            let line: Int = row["line"]
            let resealed: [UInt8]
            do {
                let oldVersion = UInt32(row["key_version"] as Int64)
                guard let oldKey = keys.key(for: DataKeys.quarantineClass, version: oldVersion) else {
                    throw StoreError(message: "it is sealed under retired version \(oldVersion)")
                }
                let ad = quarantineAssociatedData(batch: batch, line: line)
                let sealed: Data = row["sealed_line"]
                var plain: [UInt8]
                do {
                    plain = try XChaCha20Poly1305.open(Array(sealed), associatedData: ad, key: oldKey)
                } catch {
                    throw StoreError(message: "it does not open (\(error))")
                }
                defer { wipe(&plain) }
                resealed = try XChaCha20Poly1305.seal(plain, associatedData: ad, key: writeKey)
            } catch {
                throw rewrapStopped(
                    at: "quarantined line \(id) (batch \(batch), line \(line))", table: "quarantine", cause: error)
            }
            try db.execute(
                sql: "UPDATE quarantine SET sealed_line = ?, key_version = ? WHERE id = ?",
                arguments: [Data(resealed), Int64(writeVersion), id])
        }
        return last
    }

    /// Retires a data-key version that no value is sealed under any more.
    ///
    /// One write transaction: the counts are read under the registry's write lock, so no batch or
    /// rewrap can seal a value under the version between the check and the erasure.
    /// - Throws: `StoreError` when it is the current version or still in use.
    public func retireDataKey(className: String, version: UInt32) throws {
        try writer.write { db in
            guard let entry = try keyStatus(db).first(where: { $0.keyClass == className && $0.version == version })
            else {
                throw StoreError(message: "no data key \(className) v\(version)")
            }
            guard !entry.current else {
                throw StoreError(message: "\(className) v\(version) is the current version; rotate first")
            }
            guard className != DataKeys.justificationClass else {
                throw StoreError(
                    message: "justification keys are never retired: audit entries sealed under them must stay readable")
            }
            guard entry.sealedCount == 0 else {
                throw StoreError(
                    message: "\(className) v\(version) still seals \(entry.sealedCount) values; run `keys rewrap` first"
                )
            }
            try db.execute(
                sql:
                    "UPDATE data_key SET state = 'retired', wrapped = zeroblob(length(wrapped)) WHERE class = ? AND version = ?",
                arguments: [className, Int64(version)])
        }
    }
}

extension StoreError {
    /// How `dataKeysRotated` errors begin.
    static let dataKeysRotatedPrefix = "the data keys were rotated since this process loaded them"

    /// Whether this is a `dataKeysRotated` refusal: the process must load the keys again (a server does so itself).
    public var isDataKeysRotated: Bool { message.hasPrefix(Self.dataKeysRotatedPrefix) }

    /// A process was about to seal values under a data-key version that is no longer the current
    /// one of its class: the keys were rotated (and the old version perhaps retired, its key erased)
    /// since the process loaded them. Nothing of the transaction is written.
    /// - Parameters:
    ///   - className: the key class.
    ///   - sealingVersion: the version the process would have sealed under.
    ///   - currentVersion: the class's current version in the registry, if it has one.
    public static func dataKeysRotated(className: String, sealingVersion: UInt32, currentVersion: UInt32?)
        -> StoreError
    {
        let now = currentVersion.map { "the registry's current \(className) version is \($0)" } ?? "it is not active"
        return StoreError(
            message: dataKeysRotatedPrefix + ": it would seal \(className) values "
                + "under version \(sealingVersion), but \(now); nothing of this transaction was written. Run the "
                + "command again (a running `shanyrak serve` loads the new keys and tries once more by itself)")
    }
}
