public import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive lock on a key folder, held while its master key or the data keys it wraps change.
///
/// It is an advisory `flock` on `master.key.lock` in the key folder, taken by every process that
/// works with the folder's master key: a master-key rotation holds it across its three steps,
/// `MasterKeyRotation.recover` (run by every command) while it looks for and settles an
/// interrupted rotation, `keys rotate` while it wraps a new data key, and a running server while it
/// loads its data keys anew (`CurrentDataKeys`). So a command started
/// during a rotation waits for it instead of mistaking the rotation's new key for the leftover
/// of an interrupted one.
///
/// The kernel drops the lock when its process exits, however it exits, so a crash leaves no
/// stale lock. A holder writes its process id, what it does and since when into the file; a
/// process that waits longer than its timeout fails with an error naming that holder.
public final class MasterKeyLock {
    /// The lock file's name inside the key folder.
    public static let fileName = "master.key.lock"
    /// How long a command waits for the lock by default, in seconds: longer than a rotation
    /// takes when it has to wait for the registry's write lock (30 seconds at most).
    public static let defaultTimeout: TimeInterval = 60

    private var descriptor: Int32
    private let writable: Bool

    private init(descriptor: Int32, writable: Bool) {
        self.descriptor = descriptor
        self.writable = writable
    }

    deinit { release() }

    /// Takes the lock of `keysDirectory`, waiting up to `timeout` seconds for another holder.
    /// - Parameters:
    ///   - keysDirectory: the key folder.
    ///   - purpose: what the caller does, recorded in the lock file for whoever waits (no secrets).
    ///   - timeout: seconds to wait before giving up.
    /// - Returns: the held lock (released by `release()` or when it is deinitialised), or `nil`
    ///   when the folder holds no lock file and none can be created (a read-only key folder, in
    ///   which nothing can change the key files either).
    /// - Throws: `StoreError` naming the holder when the lock stays taken for `timeout` seconds,
    ///   or when the lock file cannot be opened.
    public static func acquire(keysDirectory: URL, purpose: String, timeout: TimeInterval = defaultTimeout) throws
        -> MasterKeyLock?
    {
        let path = keysDirectory.appendingPathComponent(fileName).path
        var writable = true
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM) {
            writable = false
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            if fd < 0 && errno == ENOENT { return nil }
        }
        guard fd >= 0 else {
            throw StoreError(message: "cannot open the key folder's lock file \(path) (errno \(errno))")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            guard failure == EWOULDBLOCK || failure == EINTR else {
                close(fd)
                throw StoreError(message: "cannot lock \(path) (errno \(failure))")
            }
            guard Date() < deadline else {
                let holder = Self.holder(fd) ?? "another process"
                close(fd)
                throw StoreError(
                    message: "cannot start \(purpose): the key folder \(keysDirectory.path) is locked by \(holder) "
                        + "(\(fileName); waited \(Int(timeout.rounded())) s). A master-key rotation or a data-key "
                        + "change is in progress there: run the command again when it has finished. The lock goes "
                        + "away with the process that holds it.")
            }
            usleep(20_000)
        }
        let lock = MasterKeyLock(descriptor: fd, writable: writable)
        if writable {
            let since = ISO8601DateFormatter().string(from: Date())
            let text = Array(
                "pid \(getpid()) (\(ProcessInfo.processInfo.processName): \(purpose), since \(since))\n".utf8)
            _ = ftruncate(fd, 0)
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return lock
    }

    /// Runs `body` while holding the lock of `keysDirectory` (see `acquire`); in a read-only key
    /// folder without a lock file, runs it without one.
    /// - Returns: what `body` returns.
    /// - Throws: what `acquire` or `body` throws.
    public static func withLock<T>(
        keysDirectory: URL, purpose: String, timeout: TimeInterval = defaultTimeout, _ body: () throws -> T
    ) throws -> T {
        let lock = try acquire(keysDirectory: keysDirectory, purpose: purpose, timeout: timeout)
        defer { lock?.release() }
        return try body()
    }

    /// Releases the lock (and clears the holder recorded in the file); later calls do nothing.
    public func release() {
        guard descriptor >= 0 else { return }
        if writable { _ = ftruncate(descriptor, 0) }
        close(descriptor)  // closing the only descriptor of the open file releases the flock
        descriptor = -1
    }

    /// The holder recorded in the lock file, if any.
    private static func holder(_ fd: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
