internal import Foundation
internal import GRDB

extension Registry {
    /// Named, append-only migrations. Never edit a shipped migration: add one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: registry") { db in
            try db.execute(
                sql: """
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

                    -- The indicator catalog as loaded by `init`; values refer to indicators by number.
                    CREATE TABLE indicator (
                        number INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        class TEXT NOT NULL,
                        survivor_sensitive INTEGER NOT NULL
                    );

                    -- Data keys per class and version, wrapped by the master key.
                    -- Classes: the indicator classes, plus `quarantine` and `valuemac`.
                    CREATE TABLE data_key (
                        class TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        wrapped BLOB NOT NULL,
                        state TEXT NOT NULL CHECK (state IN ('active', 'retired')),
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (class, version)
                    );

                    CREATE TABLE household (
                        pseudonym BLOB PRIMARY KEY,
                        district TEXT NOT NULL
                    ) WITHOUT ROWID;

                    CREATE TABLE person (
                        pseudonym BLOB PRIMARY KEY,
                        household BLOB NOT NULL REFERENCES household(pseudonym),
                        relation TEXT NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX person_household ON person(household);

                    -- One row per observation, clustered by subject and source so that a
                    -- person's values sit together and ingest finds a source's previous values
                    -- in one short range (one B-tree, no secondary index: ingest writes
                    -- each value once). `id` = batch << 32 | sequence within the batch, so
                    -- it orders versions by ingest. History is kept; the newest observation
                    -- wins (observed_at, then id). `mac` is a keyed hash of the canonical
                    -- value (key `valuemac`), so that an identical re-delivery is
                    -- recognised without opening anything.
                    CREATE TABLE value (
                        subject BLOB NOT NULL,
                        indicator INTEGER NOT NULL, -- indicator.number; no FOREIGN KEY: ingest checks it, a constraint would cost a lookup per value
                        id INTEGER NOT NULL,
                        observed_at TEXT NOT NULL,
                        source TEXT NOT NULL,
                        mac BLOB NOT NULL,
                        key_version INTEGER NOT NULL,
                        sealed BLOB NOT NULL,
                        batch INTEGER NOT NULL,
                        PRIMARY KEY (subject, source, indicator, id)
                    ) WITHOUT ROWID;

                    CREATE TABLE batch (
                        id INTEGER PRIMARY KEY,
                        source TEXT NOT NULL,
                        file_digest TEXT NOT NULL, -- keyed BLAKE2b (valuemac key): a plain hash of a small feed could be brute-forced
                        started_at INTEGER NOT NULL,
                        finished_at INTEGER NOT NULL,
                        rows_read INTEGER NOT NULL,
                        rows_accepted INTEGER NOT NULL,
                        rows_quarantined INTEGER NOT NULL,
                        values_written INTEGER NOT NULL,
                        values_unchanged INTEGER NOT NULL
                    );

                    -- Rejected rows: the raw line sealed under the `quarantine` key; line,
                    -- column and rule in plaintext (they carry no personal value).
                    CREATE TABLE quarantine (
                        id INTEGER PRIMARY KEY,
                        batch INTEGER NOT NULL REFERENCES batch(id),
                        line INTEGER NOT NULL,
                        column_name TEXT NOT NULL,
                        rule TEXT NOT NULL,
                        key_version INTEGER NOT NULL,
                        sealed_line BLOB NOT NULL
                    );
                    """)
        }
        registerStaffMigration(&migrator)
        registerRecordMigration(&migrator)
        registerSealedFormatFloorMigration(&migrator)
        return migrator
    }

    /// v3: one record per feed row instead of one row per value (see `RecordPayload`).
    ///
    /// Records are keyed by their id (batch << 32 | sequence), so ingest appends to the
    /// table instead of inserting at random subjects, and the only random-order B-tree is
    /// the small `(subject, source)` index. Values of a v1 registry move into records of
    /// one value each, with their ids, so history and order are kept.
    static func registerRecordMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3: records") { db in
            try db.execute(
                sql: """
                    -- Feed sources by number, so that records and their index stay short.
                    CREATE TABLE source (number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);

                    -- One row per accepted feed row with something new: the newest observation
                    -- of an indicator about a subject is the first one met in
                    -- (observed_at DESC, id DESC) order.
                    CREATE TABLE record (
                        id INTEGER PRIMARY KEY, -- batch << 32 | sequence within the batch: ingest order
                        subject BLOB NOT NULL,
                        source INTEGER NOT NULL,
                        observed_at TEXT NOT NULL,
                        payload BLOB NOT NULL -- RecordPayload: the values, each sealed on its own
                    );
                    CREATE INDEX record_subject ON record(subject, source);

                    -- How many stored values each indicator has under each key version, kept in the
                    -- same transactions that write records, so that `stats` and `keys status`
                    -- do not read every payload.
                    CREATE TABLE value_count (
                        indicator INTEGER NOT NULL,
                        key_version INTEGER NOT NULL,
                        n INTEGER NOT NULL,
                        PRIMARY KEY (indicator, key_version)
                    ) WITHOUT ROWID;
                    """)
            let values = try Row.fetchCursor(
                db,
                sql:
                    "SELECT subject, indicator, id, observed_at, source, mac, key_version, sealed FROM value ORDER BY id"
            )
            var counts = ValueCounts()
            while let row = try values.next() {
                let source: String = row["source"]
                try db.execute(sql: "INSERT OR IGNORE INTO source (name) VALUES (?)", arguments: [source])
                var payload = RecordPayload(format: RecordPayload.separateMACFormat)
                let mac: Data = row["mac"]
                let sealed: Data = row["sealed"]
                let indicator: Int64 = row["indicator"]
                let version = UInt32(row["key_version"] as Int64)
                try payload.append(indicator: indicator, keyVersion: version, mac: mac, sealed: sealed)
                try db.execute(
                    sql: """
                        INSERT INTO record (id, subject, source, observed_at, payload)
                        VALUES (?, ?, (SELECT number FROM source WHERE name = ?), ?, ?)
                        """,
                    arguments: [
                        row["id"] as Int64, row["subject"] as Data, source, row["observed_at"] as String,
                        Data(payload.bytes),
                    ])
                counts.add(indicator: indicator, keyVersion: version)
            }
            try counts.save(db)
            try db.execute(sql: "DROP TABLE value")
        }
    }
}
