public import Foundation
internal import GRDB
internal import GRDBSQLite
public import ShanyrakCore

// Staff accounts, caseloads and the narrow read queries of the access path.
//
// Everything here is the SQL side of `ShanyrakAccess`: that module holds the rules
// (who may see what); this file only stores and fetches. Keeping the SQL in the
// store keeps GRDB out of the access module and keeps the store replaceable.

/// One staff account (a row of `staff`).
///
/// The display name is stored in plaintext: it names an employee, not a person
/// the registry is about, and auditors need it readable. The token is never
/// stored, only its hash.
public struct StaffRecord: Sendable, Equatable, Codable {
    /// Service-assigned id.
    public var id: Int64
    /// Display name of the employee.
    public var name: String
    /// Role name (`social_worker`, `gbv_specialist`, ...).
    public var role: String
    /// District code the account works in, if any.
    public var district: String?
    /// Employing organisation, if any.
    public var organisation: String?
    /// The agency source an `agency` account is bound to, if any.
    public var source: String?
    /// Unix time of revocation; nil while the account is active.
    public var revokedAt: Int64?
    /// Unix time of creation.
    public var createdAt: Int64

    /// Creates a record.
    public init(
        id: Int64, name: String, role: String, district: String?, organisation: String?, source: String?,
        revokedAt: Int64?, createdAt: Int64
    ) {
        self.id = id
        self.name = name
        self.role = role
        self.district = district
        self.organisation = organisation
        self.source = source
        self.revokedAt = revokedAt
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, role, district, organisation, source
        case revokedAt = "revoked_at"
        case createdAt = "created_at"
    }

    init(row: Row) {
        self.init(
            id: row["id"], name: row["name"], role: row["role"], district: row["district"],
            organisation: row["organisation"], source: row["source"], revokedAt: row["revoked_at"],
            createdAt: row["created_at"])
    }
}

/// A household's structure: district and members, no values.
public struct HouseholdRecord: Sendable, Equatable {
    /// The household pseudonym.
    public var pseudonym: Pseudonym
    /// District code.
    public var district: String
    /// Members with their relation to the head, sorted by pseudonym.
    public var members: [(pseudonym: Pseudonym, relation: String)]

    /// Creates a record.
    public init(pseudonym: Pseudonym, district: String, members: [(pseudonym: Pseudonym, relation: String)]) {
        self.pseudonym = pseudonym
        self.district = district
        self.members = members
    }

    /// Compares pseudonym, district and members.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.pseudonym == rhs.pseudonym && lhs.district == rhs.district
            && lhs.members.map(\.pseudonym) == rhs.members.map(\.pseudonym)
            && lhs.members.map(\.relation) == rhs.members.map(\.relation)
    }
}

/// A person's place in the register: household, relation, district.
public struct PersonRecord: Sendable, Equatable {
    /// The person pseudonym.
    public var pseudonym: Pseudonym
    /// The household pseudonym.
    public var household: Pseudonym
    /// Relation to the head of household.
    public var relation: String
    /// The household's district code.
    public var district: String

    /// Creates a record.
    public init(pseudonym: Pseudonym, household: Pseudonym, relation: String, district: String) {
        self.pseudonym = pseudonym
        self.household = household
        self.relation = relation
        self.district = district
    }
}

/// The newest stored observation of one indicator about one subject, still sealed, with the
/// fields of its record that sealed-value format 3 binds (it opens only with them).
public struct SealedObservation: Sendable, Equatable {
    /// The subject pseudonym.
    public var subject: Pseudonym
    /// Indicator id.
    public var indicator: String
    /// Data-key version it is sealed under.
    public var keyVersion: UInt32
    /// The sealed bytes (format of `SealedValueFormat`).
    public var sealed: [UInt8]
    /// Observation date of its record, as stored (`YYYY-MM-DD`).
    public var observedAt: String
    /// Source name of its record, as stored (empty when the record's source is missing).
    public var source: String

    /// Creates an observation.
    public init(
        subject: Pseudonym, indicator: String, keyVersion: UInt32, sealed: [UInt8], observedAt: String, source: String
    ) {
        self.subject = subject
        self.indicator = indicator
        self.keyVersion = keyVersion
        self.sealed = sealed
        self.observedAt = observedAt
        self.source = source
    }
}

/// A newest observation as the registry reads it, still sealed, for the access path to open at once.
///
/// `sealed` points into SQLite's current row: it is valid only during the call that receives it, and must
/// not be kept (copy it, or use `SealedObservation`, to keep it).
public struct SealedObservationBytes {
    /// The subject pseudonym.
    public let subject: Pseudonym
    /// Indicator id.
    public let indicator: String
    /// The indicator's position in the list of indicators the caller asked for (its first, if asked twice),
    /// so that the caller can find what it knows about it without looking the id up.
    public let requested: Int
    /// Data-key version it is sealed under.
    public let keyVersion: UInt32
    /// The sealed bytes (format of `SealedValueFormat`), valid only during the call.
    public let sealed: UnsafeRawBufferPointer
    /// The UTF-8 observation date of its record, as stored, valid only during the call: pass it to
    /// `SealedValueFormat.open`, which binds it in format 3.
    public let observedAt: UnsafeRawBufferPointer
    /// The UTF-8 source name of its record (empty when the record's source is missing), valid only
    /// during the call: pass it to `SealedValueFormat.open`, which binds it in format 3.
    public let source: UnsafeRawBufferPointer
}

extension Registry {
    /// Migration "v2: staff": staff accounts and caseload assignments.
    static func registerStaffMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2: staff") { db in
            try db.execute(
                sql: """
                    -- Staff accounts. token_hash is SHA-256 of a random 256-bit token;
                    -- the token itself is shown once and never stored.
                    CREATE TABLE staff (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL,
                        role TEXT NOT NULL,
                        district TEXT,
                        organisation TEXT,
                        source TEXT,
                        token_hash BLOB NOT NULL UNIQUE,
                        revoked_at INTEGER,
                        created_at INTEGER NOT NULL
                    );

                    -- Caseloads: which households a staff member is assigned to.
                    CREATE TABLE assignment (
                        staff_id INTEGER NOT NULL REFERENCES staff(id),
                        household BLOB NOT NULL REFERENCES household(pseudonym),
                        assigned_at INTEGER NOT NULL,
                        PRIMARY KEY (staff_id, household)
                    ) WITHOUT ROWID;
                    CREATE INDEX assignment_household ON assignment(household);
                    """)
        }
    }

    // MARK: Staff

    /// Adds a staff account.
    /// - Parameter tokenHash: the hash of the account's token (never the token).
    /// - Returns: the new account's id.
    /// - Throws: a database error.
    public func addStaff(
        name: String, role: String, district: String?, organisation: String?, source: String?, tokenHash: [UInt8],
        now: Date = Date()
    ) throws -> Int64 {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO staff (name, role, district, organisation, source, token_hash, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    name, role, district, organisation, source, Data(tokenHash), Int64(now.timeIntervalSince1970),
                ])
            return db.lastInsertedRowID
        }
    }

    /// Every staff account, by id.
    /// - Throws: a database error.
    public func listStaff() throws -> [StaffRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM staff ORDER BY id").map(StaffRecord.init(row:))
        }
    }

    /// The staff account with this id, if any.
    /// - Throws: a database error.
    public func staff(id: Int64) throws -> StaffRecord? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM staff WHERE id = ?", arguments: [id]).map(StaffRecord.init(row:))
        }
    }

    /// The account whose stored token hash is `tokenHash`, with that stored hash.
    ///
    /// The lookup uses the unique index on the hash: what it could leak through timing
    /// is the hash of a guess, which says nothing about any real token.
    /// - Throws: a database error.
    public func staff(tokenHash: [UInt8]) throws -> (record: StaffRecord, storedHash: [UInt8])? {
        try writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT * FROM staff WHERE token_hash = ?"), arguments: [Data(tokenHash)])
            else { return nil }
            let stored: Data = row["token_hash"]
            return (StaffRecord(row: row), Array(stored))
        }
    }

    /// Revokes an account (its token stops working at once).
    /// - Returns: false when there is no such account or it was already revoked.
    /// - Throws: a database error.
    public func revokeStaff(id: Int64, now: Date = Date()) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE staff SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [Int64(now.timeIntervalSince1970), id])
            return db.changesCount > 0
        }
    }

    /// Replaces the token hash of an active account: the old token stops working at once, the account keeps
    /// its id, role and caseload.
    /// - Returns: false when there is no such active account (unknown or revoked): nothing is changed.
    /// - Throws: a database error.
    public func replaceToken(id: Int64, tokenHash: [UInt8]) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE staff SET token_hash = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [Data(tokenHash), id])
            return db.changesCount > 0
        }
    }

    // MARK: Caseloads

    /// Assigns a household to a staff member.
    /// - Returns: false when it was already assigned.
    /// - Throws: `StoreError` when the account or the household does not exist.
    public func assign(staffID: Int64, household: Pseudonym, now: Date = Date()) throws -> Bool {
        try writer.write { db in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM staff WHERE id = ?", arguments: [staffID]) != nil else {
                throw StoreError(message: "no staff account with id \(staffID)")
            }
            guard
                try Int.fetchOne(
                    db, sql: "SELECT 1 FROM household WHERE pseudonym = ?", arguments: [Data(household.bytes)])
                    != nil
            else { throw StoreError(message: "no such household") }
            try db.execute(
                sql: "INSERT OR IGNORE INTO assignment (staff_id, household, assigned_at) VALUES (?, ?, ?)",
                arguments: [staffID, Data(household.bytes), Int64(now.timeIntervalSince1970)])
            return db.changesCount > 0
        }
    }

    /// Removes a household from a staff member's caseload.
    /// - Returns: false when it was not assigned.
    /// - Throws: a database error.
    public func unassign(staffID: Int64, household: Pseudonym) throws -> Bool {
        try writer.write { db in
            try db.execute(
                sql: "DELETE FROM assignment WHERE staff_id = ? AND household = ?",
                arguments: [staffID, Data(household.bytes)])
            return db.changesCount > 0
        }
    }

    /// Whether `id` is an account that exists and is not revoked.
    /// - Throws: a database error.
    public func isActiveStaff(id: Int64) throws -> Bool {
        try writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT \(Self.isActiveAccount)", arguments: [id]) ?? false
        }
    }

    /// SQL that is true when the account `?1` exists and is not revoked: one definition for every
    /// check of an account's standing.
    private static let isActiveAccount = "EXISTS (SELECT 1 FROM staff WHERE id = ?1 AND revoked_at IS NULL)"

    /// The standing of account `?1` towards household `?2`: active, and assigned (built once: views run it).
    private static let standingSQL =
        "SELECT \(isActiveAccount), EXISTS (SELECT 1 FROM assignment WHERE staff_id = ?1 AND household = ?2)"

    /// Whether `household` is in the caseload of `staffID`.
    /// - Throws: a database error.
    public func isAssigned(staffID: Int64, household: Pseudonym) throws -> Bool {
        try writer.read { db in try Self.isAssigned(staffID: staffID, household: household, db) }
    }

    private static func isAssigned(staffID: Int64, household: Pseudonym, _ db: some PreparedStatements) throws -> Bool {
        var found = false
        try forEachRow(
            db, "SELECT 1 FROM assignment WHERE staff_id = ? AND household = ?",
            bind: { stmt in
                let rc = sqlite3_bind_int64(stmt, 1, staffID)
                return rc == SQLITE_OK ? bind(household, to: stmt, at: 2) : rc
            },
            row: { _ in
                found = true
                return false
            })
        return found
    }

    /// Whether `staffID` is an account not revoked, and whether `household` is in its caseload, in one
    /// statement. Read in the view's own transaction: a token authenticated before its account was
    /// revoked (a request still arriving, a cached principal) is refused here.
    private static func standing(staffID: Int64, household: Pseudonym, _ db: some PreparedStatements) throws
        -> (active: Bool, assigned: Bool)
    {
        var standing = (active: false, assigned: false)
        try forEachRow(
            db, standingSQL,
            bind: { stmt in
                let rc = sqlite3_bind_int64(stmt, 1, staffID)
                return rc == SQLITE_OK ? bind(household, to: stmt, at: 2) : rc
            },
            row: { stmt in
                standing = (sqlite3_column_int64(stmt, 0) == 1, sqlite3_column_int64(stmt, 1) == 1)
                return false
            })
        return standing
    }

    /// Everything a household view reads, in one read transaction: the household's
    /// district and members, whether it is in `staffID`'s caseload, and the newest
    /// observation of the indicators `select` names.
    ///
    /// `select` sees the structure and the assignment and returns what it decided
    /// (for the caller) and exactly the indicators to read (none: nothing is read).
    /// The access path decides policy there, so only granted indicators are read,
    /// as with `newestObservations`. Each of those observations is passed to `observe`
    /// straight from SQLite's row (see `SealedObservationBytes`), grouped by member. One
    /// transaction instead of three: one snapshot, one connection checkout.
    /// - Returns: nil when the household does not exist or `staffID` is not an active account (revoked
    ///   since its token was checked): `select` is not called.
    /// - Throws: a database error, or what `select` or `observe` throws.
    public func householdSnapshot<Decision>(
        _ household: Pseudonym, staffID: Int64,
        select: (_ record: HouseholdRecord, _ assigned: Bool) throws -> (Decision, [String]),
        observe: (SealedObservationBytes) throws -> Void
    ) throws -> (record: HouseholdRecord, assigned: Bool, decision: Decision)? {
        try snapshotRead { db in
            guard let record = try Self.householdRecord(household, db) else { return nil }
            let (active, assigned) = try Self.standing(staffID: staffID, household: household, db)
            guard active else { return nil }
            let (decision, indicators) = try select(record, assigned)
            try forEachNewestObservation(
                subjects: record.members.map(\.pseudonym), indicators: indicators, db, observe)
            return (record, assigned, decision)
        }
    }

    /// The caseload of `staffID`: household pseudonyms with their districts, sorted by pseudonym.
    /// - Throws: a database error.
    public func assignedHouseholds(staffID: Int64) throws -> [(household: Pseudonym, district: String)] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT h.pseudonym AS pseudonym, h.district AS district FROM assignment a
                    JOIN household h ON h.pseudonym = a.household WHERE a.staff_id = ? ORDER BY h.pseudonym
                    """, arguments: [staffID]
            ).compactMap { row in
                let bytes: Data = row["pseudonym"]
                return Pseudonym(bytes: bytes).map { ($0, row["district"]) }
            }
        }
    }

    // MARK: Structure and values for the access path

    /// Runs `body` in one read transaction: on the registry's own read-only connections (`ReadConnections`)
    /// when the registry is a file, through GRDB's `read` when it is a database in memory (tests), which only
    /// GRDB's connection can see.
    /// - Throws: a database error, or what `body` throws (the transaction is then rolled back).
    func snapshotRead<T>(_ body: (any PreparedStatements) throws -> T) throws -> T {
        if let readers { return try readers.read { try body($0) } }
        return try writer.read { try body($0) }
    }

    /// The household's district and members, or nil when it does not exist.
    /// - Throws: a database error.
    public func householdRecord(_ household: Pseudonym) throws -> HouseholdRecord? {
        try writer.read { db in try Self.householdRecord(household, db) }
    }

    private static func householdRecord(_ household: Pseudonym, _ db: some PreparedStatements) throws
        -> HouseholdRecord?
    {
        // One statement for the district and the members: a household without members gives one
        // row with NULL member columns.
        var district: String?
        var members: [(pseudonym: Pseudonym, relation: String)] = []
        try forEachRow(
            db,
            """
            SELECT h.district, p.pseudonym, p.relation FROM household h
            LEFT JOIN person p ON p.household = h.pseudonym WHERE h.pseudonym = ? ORDER BY p.pseudonym
            """,
            bind: { bind(household, to: $0, at: 1) },
            row: { stmt in
                if district == nil { district = text(stmt, 0) }
                guard sqlite3_column_type(stmt, 2) != SQLITE_NULL, let relation = text(stmt, 2) else { return true }
                guard let member = Pseudonym(bytes: blob(stmt, 1)) else {
                    throw StoreError(message: "a stored person has a malformed pseudonym")
                }
                members.append((member, relation))
                return true
            })
        return district.map { HouseholdRecord(pseudonym: household, district: $0, members: members) }
    }

    /// The person's household, relation and district, or nil when the person is not registered.
    /// - Throws: a database error.
    public func personRecord(_ person: Pseudonym) throws -> PersonRecord? {
        try writer.read { db in try Self.personRecord(person, db) }
    }

    /// Everything a person view reads, in one read transaction, as `householdSnapshot` does
    /// for a household: the person's record, whether the household is in `staffID`'s
    /// caseload, and the newest observation of the indicators `select` names, each passed to `observe`.
    /// - Returns: nil when the person is not registered or `staffID` is not an active account (`select` is
    ///   not called).
    /// - Throws: a database error, or what `select` or `observe` throws.
    public func personSnapshot<Decision>(
        _ person: Pseudonym, staffID: Int64,
        select: (_ record: PersonRecord, _ assigned: Bool) throws -> (Decision, [String]),
        observe: (SealedObservationBytes) throws -> Void
    ) throws -> (record: PersonRecord, decision: Decision)? {
        try snapshotRead { db in
            guard let record = try Self.personRecord(person, db) else { return nil }
            let (active, assigned) = try Self.standing(staffID: staffID, household: record.household, db)
            guard active else { return nil }
            let (decision, indicators) = try select(record, assigned)
            try forEachNewestObservation(subjects: [person], indicators: indicators, db, observe)
            return (record, decision)
        }
    }

    private static func personRecord(_ person: Pseudonym, _ db: some PreparedStatements) throws -> PersonRecord? {
        var record: PersonRecord?
        try forEachRow(
            db,
            """
            SELECT p.household, p.relation, h.district
            FROM person p JOIN household h ON h.pseudonym = p.household WHERE p.pseudonym = ?
            """,
            bind: { bind(person, to: $0, at: 1) },
            row: { stmt in
                guard let household = Pseudonym(bytes: blob(stmt, 0)) else {
                    throw StoreError(message: "a stored person has a malformed household")
                }
                record = PersonRecord(
                    pseudonym: person, household: household, relation: text(stmt, 1) ?? "",
                    district: text(stmt, 2) ?? "")
                return false
            })
        return record
    }

    /// Whether a household with this pseudonym exists.
    /// - Throws: a database error.
    public func householdExists(_ household: Pseudonym) throws -> Bool {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT 1 FROM household WHERE pseudonym = ?", arguments: [Data(household.bytes)])
                != nil
        }
    }
}
