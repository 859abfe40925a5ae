public import Foundation

/// Fresh directories for tests, under the system's temporary folder, removed when the test process exits.
///
/// Registries made by tests hold synthetic records, audit logs and keys; thousands of them were left in
/// `/tmp` by every run before. Removing them at exit, rather than at the end of each test, keeps fixtures
/// simple (a fixture is a value that may be copied) and leaves the files in place while a test runs.
public enum TestDirectory {
    private static let created = Registry()

    /// Creates `<temporary folder>/<prefix>-<UUID>` and registers it for removal at exit.
    /// - Parameter prefix: names the test area, such as `shanyrak-access`.
    /// - Returns: the new, empty directory.
    /// - Throws: when it cannot be created.
    public static func make(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        created.add(url)
        return url
    }

    /// The directories to remove, and the exit handler that removes them (installed with the first one).
    private final class Registry: @unchecked Sendable {
        private let lock = NSLock()
        private var urls: [URL] = []
        private var installed = false

        func add(_ url: URL) {
            lock.lock()
            defer { lock.unlock() }
            urls.append(url)
            guard !installed else { return }
            installed = true
            atexit { TestDirectory.created.removeAll() }
        }

        func removeAll() {
            lock.lock()
            defer { lock.unlock() }
            for url in urls { try? FileManager.default.removeItem(at: url) }
            urls.removeAll()
        }
    }
}
