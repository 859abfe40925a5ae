internal import CSQLiteTuning

/// SQLite settings that apply to the whole process and must be made before the first connection opens.
public enum SQLiteProcessSettings {
    /// Turns off SQLite's memory statistics, which nothing in Shanyrak reads: with them on, every
    /// allocation SQLite makes takes one process-wide mutex, and concurrent readers (the server's
    /// request threads) wait on each other for it.
    ///
    /// Call it first thing in `main`. Later, once a connection exists, SQLite refuses the change and
    /// nothing happens: the statistics stay on, which is slower but otherwise the same.
    /// - Returns: whether the setting was made.
    @discardableResult
    public static func apply() -> Bool {
        shanyrak_sqlite_disable_memory_statistics() == 0
    }
}
