#ifndef CSQLITETUNING_H
#define CSQLITETUNING_H

/// Turns off SQLite's memory statistics for the whole process (SQLITE_CONFIG_MEMSTATUS, 0).
///
/// With statistics on (the default of Debian's libsqlite3), every allocation SQLite makes takes one
/// process-wide mutex, which every reading connection then contends for. `sqlite3_config` is variadic,
/// so Swift cannot call it directly. It only works before SQLite is initialised (before the first
/// connection is opened): it returns SQLITE_OK then, and SQLITE_MISUSE afterwards.
int shanyrak_sqlite_disable_memory_statistics(void);

#endif
