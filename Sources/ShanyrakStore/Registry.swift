public import Foundation
public import GRDB
internal import ShanyrakCore

/// The registry database: households, persons, sealed values, data keys,
/// quarantine and ingest batches, in one SQLite file (WAL) in the data folder.
///
/// One `Sendable` wrapper around `any DatabaseWriter`, as in GRDB's `AppDatabase`
/// pattern: the server and the CLI use a `DatabasePool`, tests may use an
/// in-memory `DatabaseQueue`. Everything personal in it is sealed; the only
/// plaintext is structure (household membership, relation, district code),
/// indicator ids and counts. At national scale this interface is what a
/// PostgreSQL implementation replaces.
public struct Registry: Sendable {
    /// The database connection(s).
    public let writer: any DatabaseWriter
    /// Indicator numbers and ids, read once: records refer to indicators by number.
    let indicatorNames = IndicatorNameCache()
    /// Read-only connections for the access path's snapshot reads, when the registry is a file
    /// (`snapshotRead`); nil for a database in memory, which only GRDB's connection can see.
    let readers: ReadConnections?

    /// File name of the registry inside the data folder.
    public static let fileName = "registry.sqlite"

    /// Wraps a database and runs the migrations.
    /// - Throws: a database error when the schema cannot be created.
    public init(_ writer: any DatabaseWriter) throws {
        self.writer = writer
        self.readers = (writer as? DatabasePool).map { ReadConnections(path: $0.path) }
        try Self.migrator.migrate(writer)
    }

    /// Opens the registry file in `dataDirectory` (it must exist; see `create`).
    /// - Throws: `StoreError.notInitialised` when there is no registry there.
    public static func open(dataDirectory: URL) throws -> Registry {
        let url = dataDirectory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw StoreError.notInitialised(dataDirectory.path)
        }
        return try Registry(DatabasePool(path: url.path, configuration: configuration()))
    }

    /// Creates a new registry file in `dataDirectory`; refuses when one exists.
    /// - Throws: `StoreError.alreadyInitialised`.
    public static func create(dataDirectory: URL) throws -> Registry {
        let url = dataDirectory.appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: url.path) {
            throw StoreError.alreadyInitialised(dataDirectory.path)
        }
        try FileManager.default.createDirectory(
            at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try Registry(DatabasePool(path: url.path, configuration: configuration()))
    }

    /// The connection settings: WAL (set by DatabasePool), full sync at commit,
    /// foreign keys, secure delete so removed sealed bytes are overwritten.
    static func configuration() -> Configuration {
        var config = Configuration()
        config.prepareDatabase { db in
            // 16 KiB pages for a new file (no effect on an existing one): records are several hundred
            // bytes, and bigger pages mean fewer page splits, WAL frames and tree levels per row.
            try db.execute(sql: "PRAGMA page_size = 16384")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA cache_size = -262144")  // 256 MiB page cache: bounds ingest memory
        }
        config.busyMode = .timeout(30)
        return config
    }
}

/// An error from the registry, naming what is wrong without personal data.
public struct StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    /// What went wrong.
    public let message: String

    /// No registry in the data folder.
    public static func notInitialised(_ path: String) -> StoreError {
        StoreError(message: "no registry in \(path): run `shanyrak init --data \(path) --keys KEYDIR` first")
    }

    /// A registry is already there.
    public static func alreadyInitialised(_ path: String) -> StoreError {
        StoreError(message: "\(path) already holds a registry; refusing to initialise it again")
    }

    /// Any other condition.
    public init(message: String) { self.message = message }

    /// The message.
    public var description: String { message }
}
