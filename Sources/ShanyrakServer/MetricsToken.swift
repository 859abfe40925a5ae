internal import Foundation
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
/// Failed metrics authentications are audited like staff-token failures (a denial by `anonymous`), but
/// at most one per `failureAuditInterval`: a scraper left with a wrong token asks every few seconds,
/// and its failures would otherwise fill the audit log with entries that say the same thing. Every one
/// of them is still counted (`shanyrak_http_requests_total{route="/metrics",status="401"}`).
public final class MetricsToken: Sendable {
    /// The fewest characters a token may have (32 characters of base64 or hex carry at least 128 bits).
    public static let minimumLength = 32
    /// The most characters a token may have.
    public static let maximumLength = 256
    /// At most one failed metrics authentication is audited in this many nanoseconds (one minute).
    public static let failureAuditInterval: UInt64 = 60 * 1_000_000_000

    /// SHA-256 of the token.
    private let digest: [UInt8]
    /// When the last audited failure happened (monotonic nanoseconds, plus one), 0 before the first.
    private let lastAuditedFailure = Atomic<UInt64>(0)

    /// Keeps the SHA-256 of a token given as bytes: a file's content or a variable's value. Spaces, tabs
    /// and line ends around it are dropped, as Prometheus drops them from its credentials file.
    /// - Parameters:
    ///   - secret: the bytes as given.
    ///   - what: where they came from, for messages (`metrics token file PATH`); never the token.
    /// - Throws: `CryptoError.keyFile` naming `what` when the token is shorter than `minimumLength`,
    ///   longer than `maximumLength`, or holds anything but visible ASCII characters.
    public init(secret: SecureBytes, from what: String) throws(CryptoError) {
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
        self.digest = digest
    }

    /// Whether `presented` is the token (constant-time comparison of the SHA-256 digests).
    /// - Parameter presented: the bearer token of a request.
    /// - Returns: true when it is the metrics token.
    func matches(_ presented: String) -> Bool {
        constantTimeEquals(StaffToken.hash(presented), digest)
    }

    /// Whether a failed metrics authentication happening now is to be audited: the first one, and then
    /// one at most every `failureAuditInterval`.
    /// - Returns: true for the failure to audit.
    func shouldAuditFailure() -> Bool { shouldAuditFailure(at: DispatchTime.now().uptimeNanoseconds) }

    /// `shouldAuditFailure()` at a given time of the monotonic clock.
    /// - Parameter now: nanoseconds of the monotonic clock.
    /// - Returns: true when no failure was audited in the `failureAuditInterval` before `now`.
    func shouldAuditFailure(at now: UInt64) -> Bool {
        let stamp = now &+ 1
        var last = lastAuditedFailure.load(ordering: .relaxed)
        while true {
            if last != 0 && stamp < last &+ Self.failureAuditInterval { return false }
            let (exchanged, original) = lastAuditedFailure.compareExchange(
                expected: last, desired: stamp, ordering: .relaxed)
            if exchanged { return true }
            last = original
        }
    }
}
