import Foundation
public import ShanyrakAudit
internal import ShanyrakCore

/// `AccessAuditLog` over the Merkle audit log of ShanyrakAudit (group commit, signed checkpoints).
///
/// Each `AccessAuditEntry` becomes an `AuditEntryDraft`: actor id (`staff:<id>`, or
/// `cli` / `anonymous` when there is no principal), role, action (`break-glass` for
/// break-glass reads, so auditors can list them), view, subjects, indicator ids,
/// decision, policy ids, the policy-set hash in force, request id, the sealed
/// justification (its JSON form, still sealed), batch anchors and occurrences. The log assigns sequence
/// and time.
public struct MerkleAccessAuditLog: AccessAuditLog {
    /// The Merkle log.
    public let log: AuditLog
    /// Hash of the policy set in force, recorded in every entry.
    public let policySetHash: [UInt8]
    /// Actor id recorded when an entry has no principal.
    public let anonymousActor: String

    /// Wraps an open log.
    /// - Parameters:
    ///   - log: the Merkle log.
    ///   - policySetHash: hash of the policy set in force.
    ///   - anonymousActor: actor id for entries without a principal (`cli` for the command line).
    public init(log: AuditLog, policySetHash: [UInt8] = [], anonymousActor: String = "anonymous") {
        self.log = log
        self.policySetHash = policySetHash
        self.anonymousActor = anonymousActor
    }

    /// Appends the entry and returns once the group commit holding it is durable.
    /// - Throws: `AuditError` when it is not durable.
    public func append(_ entry: AccessAuditEntry) async throws {
        _ = try await log.append(draft(entry))
    }

    /// Appends through the log's own `recordThenRelease`: `release` runs only after a durable append.
    public func recordThenRelease<T: Sendable>(_ entry: AccessAuditEntry, release: @Sendable () throws -> T)
        async throws -> T
    {
        try await log.recordThenRelease(draft(entry)) { try release() }
    }

    /// The draft recorded for `entry`.
    public func draft(_ entry: AccessAuditEntry) -> AuditEntryDraft {
        let justification = entry.justification.flatMap { sealed -> [UInt8]? in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try? Array(encoder.encode(sealed))
        }
        return AuditEntryDraft(
            actorId: entry.actor.map { "staff:\($0)" } ?? anonymousActor, role: entry.role?.rawValue ?? "",
            action: entry.breakGlass ? "break-glass" : entry.action.rawValue, view: entry.view.rawValue,
            subjects: entry.subjects, indicatorIds: entry.indicators,
            decision: entry.decision == .allow ? .allow : .deny, policyIds: entry.policyIDs,
            policySetHash: policySetHash, requestId: entry.requestID, sealedJustification: justification,
            batchAnchors: entry.batchAnchors ?? [], occurrences: entry.occurrences ?? 1)
    }
}
