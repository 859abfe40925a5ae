public import Foundation
public import ShanyrakCore

/// Whether a request was allowed or denied.
public enum AccessAuditDecision: String, Sendable, Hashable, Codable {
    /// Data (or a change) was released.
    case allow
    /// Nothing was released.
    case deny
}

/// A break-glass justification, sealed: the text may name people, so the log holds
/// only ciphertext (XChaCha20-Poly1305 under the current `justification` data key,
/// a class of its own that is never retired, bound to the request id and key version).
/// Auditors open it with `shanyrak audit justifications`, which is audited in turn.
public struct SealedJustification: Sendable, Hashable, Codable {
    /// The data-key class that sealed it.
    public var keyClass: String
    /// The data-key version that sealed it.
    public var keyVersion: UInt32
    /// `nonce || ciphertext || tag`.
    public var sealed: [UInt8]

    /// Creates a sealed justification.
    public init(keyClass: String, keyVersion: UInt32, sealed: [UInt8]) {
        self.keyClass = keyClass
        self.keyVersion = keyVersion
        self.sealed = sealed
    }

    enum CodingKeys: String, CodingKey {
        case keyClass = "key_class"
        case keyVersion = "key_version"
        case sealed
    }

    /// Decodes `sealed` from base64.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        keyClass = try c.decode(String.self, forKey: .keyClass)
        keyVersion = try c.decode(UInt32.self, forKey: .keyVersion)
        guard let bytes = Data(base64Encoded: try c.decode(String.self, forKey: .sealed)) else {
            throw DecodingError.dataCorruptedError(forKey: .sealed, in: c, debugDescription: "not base64")
        }
        sealed = Array(bytes)
    }

    /// Encodes `sealed` as base64.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(keyClass, forKey: .keyClass)
        try c.encode(keyVersion, forKey: .keyVersion)
        try c.encode(Data(sealed).base64EncodedString(), forKey: .sealed)
    }
}

/// One audit entry: who did what to which subjects, and what was disclosed. Never values.
public struct AccessAuditEntry: Sendable, Hashable, Codable {
    /// When the service decided (Unix seconds).
    public var time: Int64
    /// The staff id, or nil when the caller was not authenticated.
    public var actor: Int64?
    /// The actor's role, when known.
    public var role: Role?
    /// What was asked.
    public var action: AccessAction
    /// The view asked for.
    public var view: ViewKind
    /// Pseudonyms (hex) of the households and persons concerned.
    public var subjects: [String]
    /// Indicator ids disclosed (empty on a denial). A household or person view always
    /// also discloses sex and age band, recorded as `demographic.sex` and `identity.birth_date`.
    public var indicators: [String]
    /// Allow or deny.
    public var decision: AccessAuditDecision
    /// The policies that determined the decision.
    public var policyIDs: [String]
    /// The request id (also sent in the response headers).
    public var requestID: String
    /// Whether break-glass was invoked (auditors review these).
    public var breakGlass: Bool
    /// The sealed break-glass justification, if any.
    public var justification: SealedJustification?
    /// For an ingest that committed: the anchor of the batch's records (`registry verify`).
    public var batchAnchors: [BatchAnchor]?
    /// For a summary of failed authentications that were throttled and not recorded one by one: how many
    /// refused requests the entry stands for. Nil for every other entry (it stands for one).
    public var occurrences: UInt64?

    /// Creates an entry.
    public init(
        time: Int64, actor: Int64?, role: Role?, action: AccessAction, view: ViewKind, subjects: [String],
        indicators: [String], decision: AccessAuditDecision, policyIDs: [String], requestID: String,
        breakGlass: Bool = false, justification: SealedJustification? = nil, batchAnchors: [BatchAnchor]? = nil,
        occurrences: UInt64? = nil
    ) {
        self.time = time
        self.actor = actor
        self.role = role
        self.action = action
        self.view = view
        self.subjects = subjects
        self.indicators = indicators
        self.decision = decision
        self.policyIDs = policyIDs
        self.requestID = requestID
        self.breakGlass = breakGlass
        self.justification = justification
        self.batchAnchors = batchAnchors
        self.occurrences = occurrences
    }

    enum CodingKeys: String, CodingKey {
        case time, actor, role, action, view, subjects, indicators, decision, justification
        case batchAnchors = "batch_anchors"
        case policyIDs = "policy_ids"
        case requestID = "request_id"
        case breakGlass = "break_glass"
        case occurrences
    }

    /// The entry as canonical JSON (sorted keys): the bytes a log stores.
    /// - Throws: an encoding error.
    public func canonicalJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// The audit log as the access path sees it.
///
/// `append` returns only once the entry is durable; it throws when it cannot make
/// it durable, and then the access path releases nothing.
public protocol AccessAuditLog: Sendable {
    /// Appends `entry` and returns once it is durable.
    /// - Throws: when the entry could not be made durable.
    func append(_ entry: AccessAuditEntry) async throws

    /// Appends `entry`, awaits durability, and only then runs `release`.
    /// - Returns: what `release` returns.
    /// - Throws: the append's error (then `release` never runs) or `release`'s error.
    func recordThenRelease<T: Sendable>(_ entry: AccessAuditEntry, release: @Sendable () throws -> T) async throws -> T
}

extension AccessAuditLog {
    /// Default: `append`, then `release`.
    public func recordThenRelease<T: Sendable>(_ entry: AccessAuditEntry, release: @Sendable () throws -> T)
        async throws -> T
    {
        try await append(entry)
        return try release()
    }
}

/// A simple durable audit log: one canonical JSON entry per line, appended and
/// `fsync`ed before `append` returns. Serialised by the actor.
///
/// Not a Merkle log: it stands in for the command line until the Merkle log of
/// ShanyrakAudit is wired in, and keeps the same durability promise.
public actor JSONLinesAccessAuditLog: AccessAuditLog {
    private let url: URL

    /// Creates (or continues) a log file at `url` (mode 0600).
    public init(url: URL) {
        self.url = url
    }

    /// Appends one line and syncs it to disk.
    /// - Throws: `AuditLogUnavailable` when the file cannot be opened, written or synced.
    public func append(_ entry: AccessAuditEntry) async throws {
        var line = try entry.canonicalJSON()
        line.append(0x0a)
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw AuditLogUnavailable() }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else { throw AuditLogUnavailable() }
    }
}
