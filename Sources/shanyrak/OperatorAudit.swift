import Foundation
import ShanyrakAudit
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakIngest

/// Records operator actions (ingest batches, key operations) in the data folder's audit log.
enum OperatorAudit {
    /// The actor id for commands run on this machine: the operating-system user.
    static var actor: String {
        "operator:" + (ProcessInfo.processInfo.environment["USER"] ?? String(getuid()))
    }

    /// The most batch anchors one entry carries (about 100 bytes each, far below the entry limit).
    static let anchorsPerEntry = 1_000

    /// Appends one allow entry for an operator action and waits until it is durable.
    /// - Parameter batchAnchors: anchors of the registry batches the action wrote (`registry verify`);
    ///   more than `anchorsPerEntry` go into as many entries as needed.
    /// - Throws: `CLIError` (exit 5) when the entry cannot be made durable.
    static func record(
        _ context: ServiceContext, action: String, indicatorIds: [String] = [], requestId: String,
        batchAnchors: [BatchAnchor] = []
    ) async throws {
        do {
            let log = try await context.openAuditLog()
            var chunks = stride(from: 0, to: batchAnchors.count, by: anchorsPerEntry).map {
                Array(batchAnchors[$0..<min($0 + anchorsPerEntry, batchAnchors.count)])
            }
            if chunks.isEmpty { chunks = [[]] }
            for anchors in chunks {
                _ = try await log.append(
                    AuditEntryDraft(
                        actorId: actor, role: "operator", action: action, view: "none", indicatorIds: indicatorIds,
                        decision: .allow, requestId: requestId, batchAnchors: anchors))
            }
            await log.close()
        } catch {
            throw CLIError(
                "\(action) (\(requestId)) is done but its audit entry could not be written: \(error); "
                    + "run `shanyrak audit verify --data \(context.dataDirectory.path)`", code: 5)
        }
    }
}

extension OperatorAudit {
    /// Records a committed ingest batch with its anchor (`ingest`, `demo`).
    /// - Throws: `CLIError` (exit 5) when the entry cannot be made durable.
    static func recordIngest(_ context: ServiceContext, summary: IngestSummary, mapping: SourceMapping) async throws {
        try await record(
            context, action: "ingest", indicatorIds: mapping.suppliableIndicators(in: context.catalog),
            requestId: "batch-\(summary.batch ?? 0):\(mapping.source):\(summary.valuesWritten)-written",
            batchAnchors: summary.anchor.map { [$0] } ?? [])
    }
}

extension ServiceContext {
    /// Opens the data folder's audit log (`audit.sqlite`), signing checkpoints with the keyring's audit key.
    func openAuditLog(configuration: AuditLog.Configuration = .init()) async throws -> AuditLog {
        let signer = try NoteSigner(name: AuditKeyOptions.defaultName, signingKey: keyring.auditSigning)
        return try await AuditLog(directory: dataDirectory, signer: signer, configuration: configuration)
    }
}
