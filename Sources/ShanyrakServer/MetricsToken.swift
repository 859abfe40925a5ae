public import Foundation
import ShanyrakAccess
public import ShanyrakCrypto
import Synchronization

/// The token that opens `GET /metrics`, and only that: Prometheus sends it as a bearer token
/// (`authorization: {credentials_file: ...}` in a scrape config).
///
/// Only its SHA-256 is kept, as for staff tokens (`StaffToken.hash`), and a presented token is compared
/// with it in constant time. Staff tokens do not open `/metrics`, and this token opens nothing else: it
/// is not an account.
///
/// Failed metrics authentications are audited like staff-token failures (a denial by `anonymous`), and
/// throttled like them beyond a burst per client address (`FailedAuthenticationLimiter`): a scraper left
/// with a wrong token leaves one entry per scrape, a flood a bounded number of entries that count it all.
///
/// A token read from a file (`init(file:report:)`) follows the file: when `/metrics` is asked for, the
/// file is looked at (one `stat`) at most once per `fileCheckInterval`, and read again when it changed,
/// so the token can be changed without a restart. A file that no longer passes the checks (mode, size,
/// content) opens `/metrics` to no one until it does again: the old token is not kept, since a changed
/// file says the operator meant to retire it.
public final class MetricsToken: Sendable {
    /// The fewest characters a token may have (32 characters of base64 or hex carry at least 128 bits).
    public static let minimumLength = 32
    /// The most characters a token may have.
    public static let maximumLength = 256
    /// The token file is looked at no more often than this, in nanoseconds (one second).
    public static let fileCheckInterval: UInt64 = 1_000_000_000

    /// SHA-256 of the token; nil while its file does not pass the checks (nothing opens `/metrics`).
    private let digest: Mutex<[UInt8]?>
    /// The file the token is read from, with what is known of it; nil for a token given once.
    private let file: TokenFile?

    /// A token file and what its last look found.
    private final class TokenFile: Sendable {
        let url: URL
        /// Says that the file was read again, or why it could not be (never the token).
        let report: @Sendable (_ message: String, _ isFailure: Bool) -> Void
        /// The file's identity at the last read (nil: it could not be looked at), and when to look next
        /// (monotonic nanoseconds).
        let state: Mutex<(identity: FileIdentity?, nextCheck: UInt64)>

        init(url: URL, identity: FileIdentity?, report: @escaping @Sendable (String, Bool) -> Void) {
            self.url = url
            self.report = report
            self.state = Mutex((identity, 0))
        }
    }

    /// What changes when a file is replaced or written: device, inode, size, modification and change times.
    struct FileIdentity: Equatable {
        let fields: [Int]

        /// The identity of the file at `path` now, or nil when it cannot be looked at.
        init?(path: String) {
            var info = stat()
            guard lstat(path, &info) == 0 else { return nil }
            fields = [
                Int(truncatingIfNeeded: info.st_dev), Int(truncatingIfNeeded: info.st_ino),
                Int(truncatingIfNeeded: info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec,
                info.st_ctim.tv_sec, info.st_ctim.tv_nsec,
            ]
        }
    }

    /// Keeps the SHA-256 of a token given as bytes: a file's content or a variable's value. Spaces, tabs
    /// and line ends around it are dropped, as Prometheus drops them from its credentials file.
    /// - Parameters:
    ///   - secret: the bytes as given.
    ///   - what: where they came from, for messages (`metrics token file PATH`); never the token.
    /// - Throws: `CryptoError.keyFile` naming `what` when the token is shorter than `minimumLength`,
    ///   longer than `maximumLength`, or holds anything but visible ASCII characters.
    public convenience init(secret: SecureBytes, from what: String) throws(CryptoError) {
        self.init(digest: try Self.digest(of: secret, from: what), file: nil)
    }

    /// Reads the token from a file (checked as a key file: a regular file that neither group nor others
    /// can read), and follows the file from then on (see the type's documentation).
    /// - Parameters:
    ///   - url: the token file.
    ///   - report: told when the file is read again after a change (`isFailure` false) or does not pass the
    ///     checks (true); the message names the file and the rule, never the token.
    /// - Throws: `CryptoError.keyFile` naming the file and the rule it breaks.
    public convenience init(
        file url: URL, report: @escaping @Sendable (_ message: String, _ isFailure: Bool) -> Void
    ) throws(CryptoError) {
        let identity = FileIdentity(path: url.path)
        let digest = try Self.digest(of: KeyFile.readSecretFile(url, what: "metrics token file"), from: Self.name(url))
        self.init(digest: digest, file: TokenFile(url: url, identity: identity, report: report))
    }

    private init(digest: [UInt8], file: TokenFile?) {
        self.digest = Mutex(digest)
        self.file = file
    }

    /// How messages name a token file.
    private static func name(_ url: URL) -> String { "metrics token file \(url.path)" }

    /// SHA-256 of the token that `secret` holds, after the checks of `init(secret:from:)`.
    private static func digest(of secret: SecureBytes, from what: String) throws(CryptoError) -> [UInt8] {
        let digest = secret.withUnsafeBytes { bytes -> [UInt8]? in
            func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d }
            guard let first = bytes.firstIndex(where: { !isBlank($0) }),
                let last = bytes.lastIndex(where: { !isBlank($0) })
            else { return nil }
            let token = UnsafeRawBufferPointer(rebasing: bytes[first...last])
            guard (Self.minimumLength...Self.maximumLength).contains(token.count),
                token.allSatisfy({ (0x21...0x7e).contains($0) })
            else { return nil }
            return SHA256.hash(token)
        }
        guard let digest else {
            throw .keyFile(
                "\(what) must hold one token of \(Self.minimumLength) to \(Self.maximumLength) visible ASCII "
                    + "characters, without spaces (make one with: openssl rand -base64 32)")
        }
        return digest
    }

    /// Whether `presented` is the token (constant-time comparison of the SHA-256 digests), after a look
    /// at the token file when one is due.
    /// - Parameter presented: the bearer token of a request.
    /// - Returns: true when it is the metrics token.
    func matches(_ presented: String) -> Bool {
        matches(presented, at: DispatchTime.now().uptimeNanoseconds)
    }

    /// `matches(_:)` at a given time of the monotonic clock.
    /// - Parameters:
    ///   - presented: the bearer token of a request.
    ///   - now: nanoseconds of the monotonic clock.
    /// - Returns: true when it is the metrics token.
    func matches(_ presented: String, at now: UInt64) -> Bool {
        followFile(at: now)
        guard let current = digest.withLock({ $0 }) else { return false }
        return constantTimeEquals(StaffToken.hash(presented), current)
    }

    /// Reads the token file again when it changed since it was last read, at most once per
    /// `fileCheckInterval`; a file that does not pass the checks leaves no token.
    private func followFile(at now: UInt64) {
        guard let file else { return }
        let path = file.url.path
        // One caller looks at a time, and none before the next check is due; the others go on with the token
        // they find.
        let changed = file.state.withLock { state in
            guard now >= state.nextCheck else { return false }
            state.nextCheck = now &+ Self.fileCheckInterval
            let identity = FileIdentity(path: path)
            guard identity != state.identity else { return false }
            state.identity = identity
            return true
        }
        guard changed else { return }
        do throws(CryptoError) {
            let fresh = try Self.digest(
                of: KeyFile.readSecretFile(file.url, what: "metrics token file"), from: Self.name(file.url))
            digest.withLock { $0 = fresh }
            file.report("\(Self.name(file.url)) changed: read again", false)
        } catch {
            digest.withLock { $0 = nil }
            file.report("\(error); /metrics is closed to every token until the file passes", true)
        }
    }
}
