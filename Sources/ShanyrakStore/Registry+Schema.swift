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
        return migrator
    }
}
