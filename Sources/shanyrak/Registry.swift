import ArgumentParser
import Foundation
import ShanyrakAudit
import ShanyrakCore
import ShanyrakCrypto
import ShanyrakServer
import ShanyrakStore
import Synchronization

extension Shanyrak {
    /// `shanyrak registry ...`: check the registry's records against their anchors in the audit log.
    struct RegistryCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registry",
            abstract: "Verify the registry's records against the batch anchors in the audit log.",
            subcommands: [RegistryVerify.self, RegistryAnchor.self])
    }
}

/// The audit log's trusted keys for the registry commands: `--keys DIR`, `--vkey FILE`, or else the
/// `audit-signing.pub` of the data folder's key folder.
struct RegistryTrustOptions: ParsableArguments {
    @OptionGroup var key: AuditKeyOptions

    @Option(help: "A file with verifier keys in signed-note form (name+hexkeyid+base64key), one per line.")
    var vkey: String?

    /// The trusted checkpoint keys, and a warning when none was given and the log's own first key is trusted.
    func verifiers(data: URL, reader: AuditLogReader) throws -> [NoteVerifier] {
        var verifiers = try AuditVerify.verifiers(vkey: vkey, key: key)
        if verifiers.isEmpty, let config = try? ServiceConfig.load(dataDirectory: data) {
            let options = try AuditKeyOptions.parse(["--keys", config.keys, "--key-name", key.keyName])
            if let verifier = try? options.verifier() { verifiers = [verifier] }
        }
        return verifiers.isEmpty ? [try AuditVerify.firstRecordedVerifier(reader)] : verifiers
    }
}

struct RegistryVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute each ingest batch's digest from the registry and compare it with its audit-log anchor.",
        discussion: """
            Verifies the audit log first (as `audit verify` does) and refuses to go on if it does not verify. \
            Then every batch's records are digested (id order: id, subject, source, date, payload) and compared \
            with the newest anchor of the batch in the log. Reports batches whose records changed, anchored \
            batches missing from the registry, batches without an anchor and records of an unknown batch, by \
            batch id, source and time (never a value). Opens both databases read-only.
            Exit status: 0 everything matches; 1 the registry differs from its anchors; 2 nothing could be \
            verified (the audit log does not verify, or no batch is anchored).
            """)

    @OptionGroup var data: DataOption
    @OptionGroup var trust: RegistryTrustOptions
    @OptionGroup var output: JSONOption

    struct Report: Encodable {
        let valid: Bool
        let auditEntriesVerified: UInt64
        let batchesInRegistry: Int
        let batchesAnchored: Int
        let batchesVerified: Int
        let recordsVerified: Int64
        /// Batches whose newest anchor replaced an earlier one (`keys rewrap`, `registry anchor --renew`).
        let reanchoredBatches: [Int64]
        let problems: [Problem]
        let message: String?
    }

    struct Problem: Encodable {
        let kind: String
        let batch: Int64
        let source: String?
        let startedAt: Int64?
        let anchoredRecords: Int64?
        let foundRecords: Int64
        let anchorEntry: UInt64?
        let message: String
    }

    func run() async throws {
        try await runReportingErrors {
            let dir = URL(fileURLWithPath: data.data)
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("audit.sqlite").path) else {
                throw CLIError("no audit log in \(dir.path): registry verify compares the registry with it", code: 2)
            }
            let reader = try AuditLogReader(directory: dir)
            let verifiers = try trust.verifiers(data: dir, reader: reader)
            var logged: [Int64: LoggedBatchAnchor] = [:]
            var audit: AuditVerificationReport?
            // Anchors are taken below the log's size before the registry is read: one appended later may be of
            // a batch committed after the read, which would show as missing.
            let size = try reader.treeSize()
            let report = try Registry.verifyAnchors(dataDirectory: dir) {
                // Read after the registry: a batch committed before it has its anchor by now, unless its ingest
                // is still appending it.
                let verified = try reader.verify(verifiers: verifiers)
                audit = verified
                if let failure = verified.failures.first {
                    throw CLIError(
                        "the audit log does not verify (\(failure)); registry verify needs a log that does: run "
                            + "`shanyrak audit verify --data \(dir.path)`", code: 2)
                }
                logged = try reader.newestBatchAnchors(below: min(size, verified.entriesVerified))
                return logged.mapValues(\.anchor)
            }
            try printResult(report, auditEntries: audit?.entriesVerified ?? 0, logged: logged, dir: dir)
        }
    }

    private func printResult(
        _ report: RegistryAnchorReport, auditEntries: UInt64, logged: [Int64: LoggedBatchAnchor], dir: URL
    ) throws {
        let legacy = report.problems.filter { $0.kind == .predatesAnchors }
        let others = report.problems.filter { $0.kind != .predatesAnchors }
        var message: String?
        if report.batchesAnchored == 0 && !legacy.isEmpty {
            message =
                "no batch of this registry is anchored in the audit log: its \(legacy.count) batches were written "
                + "before ingest anchored its batches, so nothing can be verified. Once you trust the registry as it "
                + "is, `shanyrak registry anchor --data \(dir.path)` anchors them"
        } else if let first = legacy.first, let last = legacy.last {
            message =
                "\(legacy.count) batches (ids \(first.batch) to \(last.batch)) were written before ingest anchored its "
                + "batches and are not verified; `shanyrak registry anchor --data \(dir.path)` anchors them once you "
                + "trust them"
        }
        let reanchored = logged.filter { $0.value.replaced > 0 }.keys.sorted()
        if output.json {
            try printJSON(
                Report(
                    valid: report.isValid, auditEntriesVerified: auditEntries,
                    batchesInRegistry: report.batchesInRegistry, batchesAnchored: report.batchesAnchored,
                    batchesVerified: report.batchesVerified, recordsVerified: report.recordsVerified,
                    reanchoredBatches: reanchored,
                    problems: report.problems.map { problem in
                        Problem(
                            kind: problem.kind.rawValue, batch: problem.batch, source: problem.source,
                            startedAt: problem.startedAt, anchoredRecords: problem.anchoredRecords,
                            foundRecords: problem.foundRecords, anchorEntry: logged[problem.batch]?.sequence,
                            message: Self.describe(problem, logged[problem.batch]))
                    }, message: message))
        } else if report.isValid {
            print(
                "registry OK: \(report.batchesVerified) batches, \(report.recordsVerified) records match their anchors "
                    + "in the audit log (\(auditEntries) entries verified)")
        }
        if !output.json && !reanchored.isEmpty {
            // Not a failure, but what an auditor checks: each re-anchoring is an entry of its own in the log.
            print(
                "note: \(reanchored.count) batches were anchored again after they were written (keys rewrap or "
                    + "registry anchor): `shanyrak audit query --data \(dir.path) --action registry.anchor` lists them")
        }
        if report.isValid { return }
        if !output.json {
            for problem in others { printError("registry verify: \(Self.describe(problem, logged[problem.batch]))") }
            if let message { printError("registry verify: \(message)") }
            // Batches written before anchoring are not mismatches: they are counted apart, as unverified.
            let mismatched = others.isEmpty ? "" : "\(others.count) batches do not match their anchors; "
            let unverified = legacy.isEmpty ? "" : "\(legacy.count) batches written before anchoring not verified; "
            printError(
                "registry verify FAILED: \(mismatched)\(unverified)"
                    + "\(report.batchesVerified) of the registry's \(report.batchesInRegistry) batches verified")
        }
        throw ExitCode(others.isEmpty && report.batchesAnchored == 0 ? 2 : 1)
    }

    /// A problem's text, with the audit entry of the anchor it was compared with.
    static func describe(_ problem: BatchAnchorProblem, _ anchor: LoggedBatchAnchor?) -> String {
        guard let anchor, problem.kind == .changed || problem.kind == .missing else { return problem.description }
        let time = Date(timeIntervalSince1970: Double(anchor.timeMicroseconds) / 1_000_000).formatted(.iso8601)
        return problem.description + " (anchor: audit entry \(anchor.sequence), \(time))"
    }
}

struct RegistryAnchor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anchor",
        abstract: "Anchor registry batches that have no anchor in the audit log (after you have checked them).",
        discussion: """
            For batches written before ingest anchored its batches, or left unanchored by an ingest interrupted \
            between its commit and its audit entry. It anchors the records as they are now: run it on a registry \
            you trust. Without --batch, every unanchored batch is anchored. A batch that is anchored already is \
            refused, unless --renew is given for it: that is for the batches a `keys rewrap` re-sealed and was \
            killed before anchoring again (they are reported as changed); if the records of a batch were changed \
            by anyone else, restore them from a backup instead.
            """)

    @OptionGroup var data: DataOption
    @Option(name: .long, help: "A batch id to anchor (repeatable; default: every unanchored batch).")
    var batch: [Int64] = []
    @Flag(name: .long, help: "Also anchor the --batch batches whose records differ from their anchor.")
    var renew = false

    func validate() throws {
        if renew && batch.isEmpty { throw ValidationError("--renew needs the batches to renew, each with --batch") }
    }

    func run() async throws {
        try await runReportingErrors {
            let context = try ServiceContext.open(data: data.data)
            let reader = try AuditLogReader(directory: context.dataDirectory)
            let report = try Registry.verifyAnchors(dataDirectory: context.dataDirectory) {
                try reader.newestBatchAnchors().mapValues(\.anchor)
            }
            var kinds: Set<BatchAnchorProblem.Kind> = [.unanchored, .predatesAnchors]
            if renew { kinds.insert(.changed) }
            let anchorable = Set(report.problems.filter { kinds.contains($0.kind) }.map(\.batch))
            for id in batch where !anchorable.contains(id) {
                let problem = report.problems.first { $0.batch == id }
                throw CLIError(
                    "batch \(id) cannot be anchored: "
                        + (problem.map { "it is \($0.kind.rawValue)" }
                            ?? "it is anchored already and matches its anchor")
                        + (problem?.kind == .changed ? " (--renew anchors it as it is now)" : ""), code: 2)
            }
            let chosen = batch.isEmpty ? anchorable : Set(batch)
            let anchors = try context.registry.anchors(ofBatches: chosen)
            if !anchors.isEmpty {
                try await OperatorAudit.record(
                    context, action: "registry.anchor",
                    requestId: "registry-anchor\(renew ? "-renew" : ""):\(anchors.count)-batches", batchAnchors: anchors
                )
            }
            print("anchored \(anchors.count) batches")
        }
    }
}

extension ServiceContext {
    /// `keys rewrap` with the anchors of the batches it re-sealed renewed in the audit log after every
    /// transaction, before the next one: so an interrupted rewrap (killed, or the machine stopped) leaves at
    /// most one transaction's batches unanchored, and a registry check running meanwhile (`serve
    /// --verify-registry-every`) sees at most those as changed, for about the time of one transaction.
    ///
    /// The rewrap runs on a thread of its own, which waits for each anchor to be durable: the transactions are
    /// synchronous, the audit log's appends asynchronous, and a thread of Swift's cooperative pool must not be
    /// blocked waiting for another task.
    /// - Throws: the rewrap's error, or `CLIError` (exit 5) when an anchor cannot be recorded (then the rewrap
    ///   stops after the transaction whose batches it names).
    func rewrapAnchoringBatches(className: String?, batchSize: Int, progress: @escaping @Sendable (Int) -> Void)
        async throws -> RewrapOutcome
    {
        try await DispatchQueue(label: "shanyrak.rewrap").run {
            try self.registry.rewrapValues(
                className: className, keyring: self.keyring, batchSize: batchSize, progress: progress,
                rewritten: { batches in try self.anchorRewrittenWaiting(batches) })
        }
    }

    /// Records the renewed anchors of `batches` and waits until they are durable. Called on the rewrap's own
    /// thread, never on one of the cooperative pool.
    /// - Throws: `CLIError` (exit 5) naming the batches when they could not be recorded.
    private func anchorRewrittenWaiting(_ batches: Set<Int64>) throws {
        let done = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        Task {
            do {
                try await OperatorAudit.record(
                    self, action: "registry.anchor", requestId: "keys.rewrap:\(batches.count)-batches",
                    batchAnchors: try registry.anchors(ofBatches: batches))
            } catch {
                failure.withLock { $0 = error }
            }
            done.signal()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) {
            let ids = batches.sorted().map(String.init).joined(separator: ", ")
            throw CLIError(
                "the rewrap stopped: the new anchors of batches \(ids), which it re-sealed, could not be recorded "
                    + "(\(error)); once the audit log can be written, run `shanyrak registry anchor --renew` with "
                    + "--batch for each of them, then run the rewrap again", code: 5)
        }
    }
}
