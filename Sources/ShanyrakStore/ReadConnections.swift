internal import Foundation
internal import GRDB
internal import GRDBSQLite

/// What the access path's reads need from a connection: a prepared statement for a query, parsed once per
/// connection and reused. Both GRDB's `Database` and the registry's own `ReadConnection` give one.
protocol PreparedStatements {
    /// The connection's prepared statement for `sql` (valid while the connection is in use by the caller).
    /// - Throws: when SQLite cannot prepare it.
    func prepared(_ sql: String) throws -> OpaquePointer
}

extension Database: PreparedStatements {
    func prepared(_ sql: String) throws -> OpaquePointer {
        try cachedStatement(sql: sql).sqliteStatement
    }
}

/// Read-only SQLite connections to the registry file for the access path's snapshot reads, outside GRDB's
/// reader pool.
///
/// Every household and person view is one short read transaction. Through `DatabasePool.read`, checking a
/// reader out and back in took two dispatch-queue barriers and a semaphore, and concurrent requests waited
/// on each other there (about 6% of the server's CPU, and its main source of lock waits). Here a checkout is
/// one short lock: an idle connection is taken, or a new one opened when none is idle, so a read never waits
/// for another to finish. Connections are opened read-only (the access path cannot write through them) and
/// in SQLite's multi-thread mode (no per-call connection mutex): one caller at a time uses each.
///
/// `@unchecked Sendable`: `idle` is only touched while holding `lock`; a connection is used by the one
/// caller that took it.
final class ReadConnections: @unchecked Sendable {
    private let path: String
    private let lock = NSLock()
    private var idle: [ReadConnection] = []
    /// The most idle connections kept; more may be open at once, and the extra ones are closed on return.
    private let keptIdle: Int

    /// Connections to the database file at `path` (opened when first needed).
    init(path: String, keptIdle: Int = 8) {
        self.path = path
        self.keptIdle = keptIdle
    }

    /// Runs `body` with a connection of its own, in one read transaction (one snapshot of the file).
    /// - Throws: when no connection can be opened or the transaction fails, or what `body` throws (the
    ///   transaction is then rolled back).
    func read<T>(_ body: (ReadConnection) throws -> T) throws -> T {
        let connection = try lock.withLock { idle.popLast() } ?? ReadConnection(path: path)
        defer {
            // A connection left inside a transaction (its rollback failed) is not reused: it is closed.
            if !connection.isInsideTransaction {
                lock.withLock {
                    if idle.count < keptIdle { idle.append(connection) }
                }
            }
        }
        return try connection.transaction { try body(connection) }
    }

    /// How many idle connections are inside a transaction (for tests: always zero between reads).
    var idleInTransaction: Int {
        lock.withLock { idle.filter(\.isInsideTransaction).count }
    }
}

/// One read-only SQLite connection with its prepared statements (see `ReadConnections`).
final class ReadConnection: PreparedStatements {
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]

    /// Opens the database file at `path` read-only.
    /// - Throws: `StoreError` when it cannot be opened.
    init(path: String) throws {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(handle)
            throw StoreError(message: "cannot open the registry for reading: \(message)")
        }
        self.handle = handle
        // As the registry's other connections do: wait for a writer's lock instead of failing at once.
        sqlite3_busy_timeout(handle, 30_000)
        // A page cache of up to 64 MiB each (SQLite's default is 2 MiB), so that the pages of the
        // households being read stay parsed in memory instead of being read from the file again.
        sqlite3_exec(handle, "PRAGMA cache_size = -65536", nil, nil, nil)
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw StoreError(message: "cannot prepare a registry query: \(String(cString: sqlite3_errmsg(handle)))")
        }
        statements[sql] = statement
        return statement
    }

    /// Whether a transaction is open on the connection.
    var isInsideTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` between `BEGIN DEFERRED` and `COMMIT` (`ROLLBACK` when it throws).
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN DEFERRED TRANSACTION")
        let result: T
        do {
            result = try body()
        } catch {
            try? execute("ROLLBACK TRANSACTION")
            throw error
        }
        try execute("COMMIT TRANSACTION")
        return result
    }

    /// Steps a statement without results to its end.
    private func execute(_ sql: String) throws {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement) }
        let rc = sqlite3_step(statement)
        guard rc == SQLITE_DONE else {
            throw StoreError(message: "reading the registry failed: \(String(cString: sqlite3_errstr(rc)))")
        }
    }
}
