internal import CProcessHardening
internal import Foundation

/// Process-wide settings that keep secrets and personal data out of files they were never meant for.
public enum ProcessHardening {
    /// Forbids core dumps and sets the file-creation mask to 0077, before anything else runs.
    ///
    /// A core dump would hold the unwrapped data keys, the pseudonym key and every value being opened
    /// at the time; the design says keys never appear in one. Making the process non-dumpable also
    /// keeps other processes of the same user from attaching to it or reading its memory. The mask
    /// makes every file the process creates (registry, audit log, WAL files, spools, exports)
    /// readable by its owner only, whatever the shell's umask.
    /// - Returns: nil, or what could not be set (the process goes on: the checks of key-file modes
    ///   and folder modes still apply).
    @discardableResult
    public static func apply() -> String? {
        umask(0o077)
        let rc = shanyrak_forbid_core_dumps()
        return rc == 0 ? nil : "core dumps could not be turned off (errno \(rc))"
    }

    /// Whether the process can no longer dump core (non-dumpable, core limit 0).
    public static var coreDumpsForbidden: Bool { shanyrak_may_dump_core() == 0 }
}
