internal import Foundation
public import Hummingbird
import ShanyrakAccess

/// An RFC 9457 problem details answer (`application/problem+json`).
///
/// Titles and details are fixed texts chosen by the server: they never carry a token,
/// an IIN, a pseudonym or a value.
public struct Problem: Error, Sendable, Equatable, Encodable {
    /// A URI naming the kind of problem.
    public let type: String
    /// A short summary of the kind of problem.
    public let title: String
    /// The HTTP status code.
    public let status: Int
    /// What happened, for this occurrence.
    public let detail: String
    /// The request id of this occurrence (`urn:uuid:...`).
    public var instance: String?
    /// Seconds after which the same request may succeed (the `Retry-After` header; not in the body).
    public var retryAfterSeconds: Int?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance
    }

    /// Creates a problem.
    /// - Parameters:
    ///   - kind: the last part of the type URI (`access-denied`).
    ///   - title: the summary.
    ///   - status: the HTTP status.
    ///   - detail: the explanation.
    public init(_ kind: String, title: String, status: HTTPResponse.Status, detail: String) {
        self.type = "https://shanyrak.example/problems/" + kind
        self.title = title
        self.status = status.code
        self.detail = detail
        self.instance = nil
        self.retryAfterSeconds = nil
    }

    /// 401: missing, unknown or revoked bearer token.
    public static let unauthenticated = Problem(
        "unauthenticated", title: "Unauthorized", status: .unauthorized,
        detail: "a valid bearer token is required")
    /// 401: `/metrics` without the metrics token (a staff token does not open it).
    public static let metricsUnauthenticated = Problem(
        "unauthenticated", title: "Unauthorized", status: .unauthorized, detail: "the metrics token is required")
    /// 429: a failed authentication from a client address that has failed too often; it is counted in a
    /// summary audit entry instead of one of its own.
    /// - Parameter retryAfterSeconds: when the address may fail again and be answered 401.
    /// - Returns: the problem.
    public static func tooManyFailedAuthentications(retryAfterSeconds: Int) -> Problem {
        var problem = Problem(
            "too-many-failed-authentications", title: "Too Many Requests", status: .tooManyRequests,
            detail: "too many requests without a valid token came from this address; try again later with a valid one")
        problem.retryAfterSeconds = retryAfterSeconds
        return problem
    }

    /// 404: `/metrics` on a server started without a metrics token.
    public static let metricsOff = Problem(
        "metrics-off", title: "Not Found", status: .notFound,
        detail: "metrics are off: the operator turns them on with shanyrak serve --metrics-token-file FILE")
    /// 403: the one denial, whatever the reason.
    public static let accessDenied = Problem(
        "access-denied", title: "Forbidden", status: .forbidden, detail: "access denied")
    /// 503: the audit log cannot be written, so nothing was released.
    public static let auditUnavailable = Problem(
        "audit-log-unavailable", title: "Service Unavailable", status: .serviceUnavailable,
        detail: "the audit log cannot be written; nothing was released")
    /// 500: anything unexpected (details go to the server log only).
    public static let internalError = Problem(
        "internal-error", title: "Internal Server Error", status: .internalServerError,
        detail: "the request could not be completed")
    /// 404: no such route.
    public static let notFound = Problem(
        "not-found", title: "Not Found", status: .notFound, detail: "no such endpoint")

    /// 413: a body over the server's limit.
    public static let tooLarge = Problem(
        "too-large", title: "Content Too Large", status: .contentTooLarge, detail: "the body is too large")
    /// 415: a body whose `Content-Type` the operation does not take.
    public static let unsupportedMediaType = Problem(
        "unsupported-media-type", title: "Unsupported Media Type", status: .unsupportedMediaType,
        detail: "the Content-Type of the body is not one this operation takes")

    /// 400 with a fixed explanation.
    /// - Parameter detail: which parameter or field is wrong (never its value).
    /// - Returns: the problem.
    public static func badRequest(_ detail: String) -> Problem {
        Problem("bad-request", title: "Bad Request", status: .badRequest, detail: detail)
    }

    /// 503: another feed is being loaded; nothing of this one was read or recorded.
    public static let ingestBusy: Problem = {
        var problem = Problem(
            "ingest-busy", title: "Service Unavailable", status: .serviceUnavailable,
            detail: "another feed is being loaded; send this one again later")
        problem.retryAfterSeconds = 30
        return problem
    }()

    /// 503: the batch was loaded, but the audit entry naming its batch could not be written (the attempt's
    /// entry was, before anything was loaded).
    /// - Parameter batch: the batch number.
    /// - Returns: the problem.
    public static func batchLoadedUnrecorded(batch: Int64) -> Problem {
        Problem(
            "audit-log-unavailable", title: "Service Unavailable", status: .serviceUnavailable,
            detail: "batch \(batch) was loaded and its attempt recorded, but the audit log cannot record its outcome")
    }

    /// 503: the data keys were rotated since this server loaded them, and the feed was refused again after
    /// it tried to load them anew: the new keys could not be loaded (its log says why), or they were rotated
    /// once more meanwhile. Nothing was loaded; the feed can be sent again.
    public static let dataKeysRotated: Problem = {
        var problem = Problem(
            "data-keys-rotated", title: "Service Unavailable", status: .serviceUnavailable,
            detail: "the data keys were rotated and this server could not load the new ones (its log says why), "
                + "or they were rotated again meanwhile; nothing was loaded; send the feed again later")
        problem.retryAfterSeconds = 60
        return problem
    }()

    /// 422: an ingest batch of which nothing was loaded.
    /// - Parameter detail: the rule that failed.
    /// - Returns: the problem.
    public static func nothingLoaded(_ detail: String) -> Problem {
        Problem("nothing-loaded", title: "Unprocessable Content", status: .unprocessableContent, detail: detail)
    }

    /// The response: the problem as JSON with sorted keys, with `Content-Type: application/problem+json`.
    /// - Returns: the response.
    public func response() -> Response {
        let body = json()
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if status == 401 { headers[.wwwAuthenticate] = #"Bearer realm="shanyrak""# }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Problem {
    /// The body: JSON with sorted keys and slashes unescaped, as `JSONEncoder` writes it. Every denial
    /// answers with one, so a problem whose texts `JSONEncoder` writes verbatim (`CanonicalViewJSON.isPlain`;
    /// all of the server's own) is written directly; anything else goes to `JSONEncoder`. `ProblemTests`
    /// compares the two.
    func json() -> Data {
        let texts = [detail, instance ?? "", title, type]
        guard Self.fieldOrderHolds, texts.allSatisfy(CanonicalViewJSON.isPlain) else { return encoderJSON() }
        var out = #"{"detail":""# + detail + "\""
        if let instance { out += #","instance":""# + instance + "\"" }
        out += #","status":"# + String(status) + #","title":""# + title + #"","type":""# + type + #""}"#
        return Data(out.utf8)
    }

    /// The body as `JSONEncoder` writes it (the reference for `json()`).
    func encoderJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data(#"{"status":500}"#.utf8)
    }

    /// Whether `JSONEncoder` orders the fields as `json()` writes them (checked once per process).
    static let fieldOrderHolds: Bool = {
        var sample = Problem("x", title: "T", status: .forbidden, detail: "d")
        sample.instance = "urn:uuid:0"
        let expected =
            #"{"detail":"d","instance":"urn:uuid:0","status":403,"title":"T","type":"https://shanyrak.example/problems/x"}"#
        return sample.encoderJSON() == Data(expected.utf8)
    }()
}
