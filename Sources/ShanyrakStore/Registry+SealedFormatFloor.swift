internal import Foundation
internal import GRDB
public import ShanyrakCrypto

/// The lowest sealed-value format (`SealedValueFormat`) that a registry's readers accept.
///
/// A value in an older format (1 or 2) is bound to its subject, indicator and key version only, so a copy
/// of one taken from an old backup still opens in its place under an active key version. Once
/// `keys rewrap` has re-sealed every value into format 3, it raises the floor to 3, and from then on every
/// reader (the access path, ingest's re-delivery check, `keys rewrap`) refuses a value whose first byte is
/// below it, before trying to open it. The floor is kept in the registry (`sealed_format_floor`), loaded
/// with the data keys (`DataKeys.sealedFormatFloor`), and never lowered. A registry made before the floor
/// existed has none, which accepts every format; `init` starts a registry at 3.
public enum SealedFormatFloor {
    /// What a registry without a floor accepts: every format (the oldest is 1).
    public static let acceptsAll: UInt8 = SealedValueFormat.version
    /// What `keys rewrap` raises the floor to once no value is left in an older format, and where a new
    /// registry starts: the format the registry writes.
    public static let recordBound: UInt8 = SealedValueFormat.recordBoundVersion

    /// What the wrapping of the data keys binds for a registry with floor `floor`
    /// (`Keyring.wrapDataKey(_:className:version:sealedFormatFloor:)`): nil while it accepts every format,
    /// so that keys wrapped before floors existed still open. Once raised, every active key is wrapped
    /// again bound to the floor, in the transaction that raises it: lowering or deleting the floor in the
    /// database then leaves the keys unopenable, so no command can be made to accept older formats again.
    static func wrappingBinding(_ floor: UInt8) -> UInt8? {
        floor > acceptsAll ? floor : nil
    }
}

extension Registry {
    /// Migration "v4: sealed-format floor": the table that holds the floor (see `SealedFormatFloor`). It
    /// starts empty: a registry made before accepts every format until `keys rewrap` finds none older.
    static func registerSealedFormatFloorMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: sealed-format floor") { db in
            try db.execute(
                sql: """
                    -- The lowest sealed-value format the registry's readers accept: at most one row; none
                    -- (a registry made before this table) accepts every format. Raised, never lowered.
                    CREATE TABLE sealed_format_floor (
                        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
                        minimum INTEGER NOT NULL CHECK (minimum BETWEEN 1 AND 255),
                        raised_at INTEGER NOT NULL
                    );
                    """)
        }
    }

    /// The registry's sealed-format floor (`SealedFormatFloor.acceptsAll` when it has none).
    /// - Throws: a database error.
    public func sealedFormatFloor() throws -> UInt8 {
        try writer.read { db in try Self.sealedFormatFloor(db) }
    }

    /// `sealedFormatFloor()` inside the caller's transaction.
    static func sealedFormatFloor(_ db: Database) throws -> UInt8 {
        guard let minimum = try Int.fetchOne(db, sql: "SELECT minimum FROM sealed_format_floor") else {
            return SealedFormatFloor.acceptsAll
        }
        return UInt8(clamping: minimum)
    }

    /// Raises the floor to `minimum` inside the caller's write transaction, and wraps every active data key
    /// again bound to it (`SealedFormatFloor.wrappingBinding`); a higher floor stays.
    /// - Parameter keyring: holds the master key the data keys are wrapped under.
    /// - Returns: whether the floor changed.
    /// - Throws: `StoreError` when a data key does not open with `keyring` and the current floor (nothing
    ///   is changed then: the caller's transaction is rolled back).
    static func raiseSealedFormatFloor(_ db: Database, to minimum: UInt8, keyring: Keyring) throws -> Bool {
        let floor = try sealedFormatFloor(db)
        guard floor < minimum else { return false }
        _ = try rewrapActiveDataKeys(db, from: keyring, floor: floor, to: keyring, floor: minimum)
        try db.execute(
            sql: """
                INSERT INTO sealed_format_floor (singleton, minimum, raised_at) VALUES (1, ?, ?)
                ON CONFLICT (singleton) DO UPDATE SET minimum = excluded.minimum, raised_at = excluded.raised_at
                """,
            arguments: [Int(minimum), Int64(Date().timeIntervalSince1970)])
        return true
    }
}

extension Registry {
    /// Makes the registry what one made before the sealed-format floor existed: no floor row, and every
    /// active data key wrapped without a floor. For tests that build registries of that time (no command
    /// lowers a floor).
    /// - Parameter keyring: holds the master key the data keys are wrapped under.
    /// - Throws: `StoreError` when a data key does not open.
    @_spi(Testing)
    public func removeSealedFormatFloor(keyring: Keyring) throws {
        try writer.write { db in
            let floor = try Self.sealedFormatFloor(db)
            _ = try Self.rewrapActiveDataKeys(
                db, from: keyring, floor: floor, to: keyring, floor: SealedFormatFloor.acceptsAll)
            try db.execute(sql: "DELETE FROM sealed_format_floor")
        }
    }
}

extension Registry {
    /// Wraps every active data key again, inside the caller's write transaction: opened with `old`'s master
    /// key bound to floor `oldFloor`, wrapped with `new`'s bound to `newFloor` (a master-key rotation, a
    /// raised floor). The one place that rewrites `data_key.wrapped`.
    /// - Returns: how many keys were wrapped again.
    /// - Throws: `StoreError` when a key does not open (the caller's transaction is then rolled back).
    static func rewrapActiveDataKeys(
        _ db: Database, from old: Keyring, floor oldFloor: UInt8, to new: Keyring, floor newFloor: UInt8
    ) throws -> Int {
        let rows = try Row.fetchAll(db, sql: "SELECT class, version, wrapped FROM data_key WHERE state = 'active'")
        for row in rows {
            let (cls, version, key) = try DataKeys.unwrap(row, keyring: old, sealedFormatFloor: oldFloor)
            let wrapped = try new.wrapDataKey(
                key, className: cls, version: version, sealedFormatFloor: SealedFormatFloor.wrappingBinding(newFloor))
            try db.execute(
                sql: "UPDATE data_key SET wrapped = ? WHERE class = ? AND version = ?",
                arguments: [Data(wrapped), cls, Int64(version)])
        }
        return rows.count
    }
}

extension StoreError {
    /// A stored value is in a sealed-value format below the registry's floor: it was not written by
    /// this registry since `keys rewrap` re-sealed every value (it was copied in, from an older copy of the
    /// registry for instance), so it is refused unopened.
    /// - Parameters:
    ///   - what: the value, named without its content (indicator, record).
    ///   - format: its format byte.
    ///   - floor: the registry's floor.
    public static func sealedFormatBelowFloor(_ what: String, format: UInt8, floor: UInt8) -> StoreError {
        StoreError(
            message: "\(what) is in sealed-value format \(format), older than this registry accepts "
                + "(\(floor) and newer, since `keys rewrap` re-sealed every older value): it was put there "
                + "after that, from an older copy of the registry for instance, and is refused unopened")
    }
}
