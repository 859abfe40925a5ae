import ArgumentParser
import Foundation
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakStore

/// `shanyrak audit justifications`: break-glass reads with their justifications opened, for review.
struct AuditJustifications: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "justifications",
        abstract: "List break-glass reads with their written justifications opened, for auditors (this is audited).",
        discussion: """
            Justifications are sealed in the log because they may name people. Opening them needs the
            data folder's keys, and the opening is itself recorded (action `audit.justifications`)
            before anything is printed. Exit 6 when a justification does not open.
            """)

    @OptionGroup var data: DataOption

    @OptionGroup var window: AuditWindowOptions

    /// One reviewed entry as printed with `--json`.
    struct Reviewed: Encodable {
        let sequence: UInt64
        let time: String
        let actor: String
        let role: String
        let decision: String
        let subjects: [String]
        let requestId: String
        let justification: String?
        let problem: String?

        enum CodingKeys: String, CodingKey {
            case sequence, time, actor, role, decision, subjects, justification, problem
            case requestId = "request_id"
        }
    }

    func run() async throws {
        try await runReportingErrors {
            let context = try ServiceContext.open(data: data.data)
            let keys = try DataKeys.load(from: context.registry, keyring: context.keyring)
            let entries = try AuditLogReader(directory: context.dataDirectory).query(
                AuditQuery(action: "break-glass", sinceMicroseconds: window.sinceMicroseconds, limit: window.limit))
            // Record the review first: if the log cannot take it, nothing is opened or printed.
            try await OperatorAudit.record(
                context, action: "audit.justifications",
                requestId: "\(entries.count)-entries-from-\(entries.first?.sequence ?? 0)")
            let iso = AuditWindowOptions.timeFormatter()
            let encoder = AuditWindowOptions.lineEncoder()
            var unopened = 0
            for e in entries {
                var text: String?
                var problem: String?
                do {
                    guard let bytes = e.sealedJustification else {
                        throw AccessFailure("the entry holds no justification")
                    }
                    let sealed = try JSONDecoder().decode(SealedJustification.self, from: Data(bytes))
                    text = try sealed.open(requestID: e.requestId, keys: keys)
                } catch {
                    unopened += 1
                    problem = "\(error)"
                }
                let reviewed = Reviewed(
                    sequence: e.sequence, time: iso.string(from: e.date), actor: e.actorId, role: e.role,
                    decision: e.decision.rawValue, subjects: e.subjects, requestId: e.requestId, justification: text,
                    problem: problem)
                if window.json {
                    print(String(decoding: try encoder.encode(reviewed), as: UTF8.self))
                } else {
                    // The text is the caller's: escape it so that it cannot forge lines or columns.
                    let shown =
                        text.map { t in (try? encoder.encode(t)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\"" }
                        ?? "(does not open: \(problem ?? ""))"
                    print(
                        "\(e.sequence)\t\(reviewed.time)\t\(e.actorId)/\(e.role)\t\(e.decision.rawValue)\t"
                            + "subjects=\(e.subjects.joined(separator: ","))\trequest=\(e.requestId)\t\(shown)")
                }
            }
            if unopened > 0 { throw CLIError("\(unopened) of \(entries.count) justifications do not open", code: 6) }
        }
    }
}
