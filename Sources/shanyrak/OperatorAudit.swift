import Foundation
import ShanyrakAudit
import ShanyrakCrypto

/// Records operator actions (ingest batches, key operations) in the data folder's audit log.
enum OperatorAudit {
    /// The actor id for commands run on this machine: the operating-system user.
    static var actor: String {
        "operator:" + (ProcessInfo.processInfo.environment["USER"] ?? String(getuid()))
    }

    /// Appends one allow entry for an operator action and waits until it is durable.
    /// - Throws: `CLIError` (exit 5) when the entry cannot be made durable.
    static func record(
        _ context: ServiceContext, action: String, indicatorIds: [String] = [], requestId: String
    ) async throws {
        do {
            let log = try await context.openAuditLog()
            _ = try await log.append(
                AuditEntryDraft(
                    actorId: actor, role: "operator", action: action, view: "none", indicatorIds: indicatorIds,
                    decision: .allow, requestId: requestId))
            await log.close()
        } catch {
            throw CLIError(
                "\(action) (\(requestId)) is done but its audit entry could not be written: \(error); "
                    + "run `shanyrak audit verify --data \(context.dataDirectory.path)`", code: 5)
        }
    }
}

extension ServiceContext {
    /// Opens the data folder's audit log (`audit.sqlite`), signing checkpoints with the keyring's audit key.
    func openAuditLog(configuration: AuditLog.Configuration = .init()) async throws -> AuditLog {
        let signer = try NoteSigner(name: AuditKeyOptions.defaultName, signingKey: keyring.auditSigning)
        return try await AuditLog(directory: dataDirectory, signer: signer, configuration: configuration)
    }
}
