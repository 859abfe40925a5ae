import ArgumentParser
import Foundation
import ShanyrakAudit
import ShanyrakCore
import ShanyrakCrypto

#if canImport(Glibc)
    import Glibc
#endif

extension Shanyrak {
    /// `shanyrak audit`: the verifiable audit log (verify, export, checkpoints, proofs, queries).
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify, export, prove and query the verifiable audit log.",
            subcommands: [
                AuditVerify.self, AuditExport.self, AuditCheckpoint.self, AuditProve.self, AuditConsistency.self,
                AuditQueryCommand.self, AuditJustifications.self, AuditKeygen.self, AuditAppendDemo.self,
                AuditBenchProofs.self,
            ]
        )
    }
}

/// `--data DIR`: the data folder holding audit.sqlite.
struct AuditDataOptions: ParsableArguments {
    @Option(name: .customLong("data"), help: "Data folder holding audit.sqlite.")
    var data: String

    var url: URL { URL(fileURLWithPath: data) }

    func reader() throws -> AuditLogReader { try AuditLogReader(directory: url) }
}

/// `--keys DIR` and `--key-name NAME`: the checkpoint key.
struct AuditKeyOptions: ParsableArguments {
    /// The default key name, also the checkpoint origin.
    static let defaultName = "shanyrak.example/audit"

    @Option(help: "Folder holding audit-signing.key (base64 Ed25519 seed, mode 0600) and audit-signing.pub.")
    var keys: String?

    @Option(help: "Key name, also the checkpoint origin line.")
    var keyName: String = AuditKeyOptions.defaultName

    func signer() throws -> NoteSigner {
        guard let keys else { throw ValidationError("--keys DIR is required to sign checkpoints") }
        return try NoteSigner.load(keysDirectory: URL(fileURLWithPath: keys), name: keyName)
    }

    /// The verifier from `--keys DIR/audit-signing.pub`, or nil without `--keys`.
    func verifier() throws -> NoteVerifier? {
        guard let keys else { return nil }
        let url = URL(fileURLWithPath: keys).appendingPathComponent("audit-signing.pub")
        let raw = try KeyFile.readPublic(url, length: Ed25519.publicKeyLength)
        return try NoteVerifier(name: keyName, publicKey: Ed25519.PublicKey(rawBytes: raw))
    }
}

func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

struct AuditVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute every leaf and the tree, check every checkpoint, and prove append-only growth.",
        discussion: """
            Exits 0 when everything holds; otherwise exits 1 and names the first entry or checkpoint that fails.
            The trusted key comes from --keys DIR (audit-signing.pub) or --vkey FILE; without either, the first
            key recorded in the log is trusted, which checks consistency but not who signed.
            """)

    @OptionGroup var data: AuditDataOptions
    @OptionGroup var key: AuditKeyOptions

    @Option(help: "A file with verifier keys in signed-note form (name+hexkeyid+base64key), one per line.")
    var vkey: String?

    @Option(help: "A signed checkpoint kept earlier: prove the log is an append-only extension of it.")
    var checkpoint: String?

    @Option(help: "Expected checkpoint origin (default: the key name).")
    var origin: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    struct Report: Encodable {
        let valid: Bool
        let entriesVerified: UInt64
        let rootHash: String
        let checkpoints: Int
        let checkpointsVerified: Int
        let trustedCheckpointSize: UInt64?
        let consistencyProofVerified: Bool
        let trustedKeys: [String]
        let failures: [String]
    }

    /// The keys of `--vkey FILE` (one per line) and `--keys DIR`.
    static func verifiers(vkey: String?, key: AuditKeyOptions) throws -> [NoteVerifier] {
        var verifiers: [NoteVerifier] = []
        if let vkey {
            let text = try String(contentsOf: URL(fileURLWithPath: vkey), encoding: .utf8)
            for line in text.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                verifiers.append(try NoteVerifier(vkey: String(line)))
            }
        }
        if let v = try key.verifier() { verifiers.append(v) }
        return verifiers
    }

    /// The first key the log recorded, trusted with a warning when no key was given.
    static func firstRecordedVerifier(_ reader: AuditLogReader) throws -> NoteVerifier {
        guard let first = try reader.recordedVerifiers().first else {
            throw ValidationError("no trusted key: pass --keys DIR or --vkey FILE")
        }
        printError("warning: trusting the log's own first key \(first.vkey); pass --vkey for an independent check")
        return first
    }

    func run() async throws {
        var verifiers = try Self.verifiers(vkey: vkey, key: key)
        let reader = try data.reader()
        if verifiers.isEmpty { verifiers = [try Self.firstRecordedVerifier(reader)] }
        let trusted = try checkpoint.map { try String(contentsOf: URL(fileURLWithPath: $0), encoding: .utf8) }
        let report = try reader.verify(verifiers: verifiers, origin: origin, trustedCheckpoint: trusted)
        if json {
            try printJSON(
                Report(
                    valid: report.isValid, entriesVerified: report.entriesVerified, rootHash: base64(report.rootHash),
                    checkpoints: report.checkpointCount, checkpointsVerified: report.checkpointsVerified,
                    trustedCheckpointSize: report.trustedCheckpointSize,
                    consistencyProofVerified: report.consistencyProofVerified, trustedKeys: verifiers.map(\.vkey),
                    failures: report.failures.map(\.description)))
        } else if report.isValid {
            print("audit log OK: \(report.entriesVerified) entries, root \(base64(report.rootHash))")
            print("checkpoints: \(report.checkpointsVerified) of \(report.checkpointCount) verified")
            if let size = report.trustedCheckpointSize {
                print(
                    "append-only since the trusted checkpoint of size \(size)"
                        + (report.consistencyProofVerified ? " (consistency proof verified)" : ""))
            }
        }
        if let first = report.failures.first {
            printError("audit verify FAILED: \(first)")
            for more in report.failures.dropFirst() { printError("  also: \(more)") }
            throw ExitCode(1)
        }
    }
}

struct AuditExport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write entries.jsonl, checkpoints.txt and audit.vkey for offline verification (docs/audit.md).")

    @OptionGroup var data: AuditDataOptions
    @OptionGroup var key: AuditKeyOptions

    @Option(help: "Output folder.")
    var out: String

    func run() async throws {
        let verifiers = try key.verifier().map { [$0] }
        // With the signing key at hand, a checkpoint of the log as it is now first: the export ends at the
        // newest checkpoint, so this one makes it hold every entry so far.
        if key.keys != nil {
            let log = try await AuditLog(
                directory: data.url, signer: key.signer(),
                configuration: .init(checkpointEveryEntries: nil, checkpointInterval: nil))
            _ = try await log.checkpoint()
            await log.close()
        }
        let summary = try data.reader().export(to: URL(fileURLWithPath: out), verifiers: verifiers)
        print("exported \(summary.entries) entries and \(summary.checkpoints) checkpoints to \(out)")
    }
}

struct AuditCheckpoint: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Issue, store and print a signed checkpoint of the log now.")

    @OptionGroup var data: AuditDataOptions
    @OptionGroup var key: AuditKeyOptions

    func run() async throws {
        let log = try await AuditLog(
            directory: data.url, signer: key.signer(),
            configuration: .init(checkpointEveryEntries: nil, checkpointInterval: nil))
        let checkpoint = try await log.checkpoint()
        await log.close()
        print(checkpoint.note, terminator: "")
    }
}

struct AuditProve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove", abstract: "Print the inclusion proof of one entry as JSON (RFC 9162 2.1.3).")

    @OptionGroup var data: AuditDataOptions

    @Option(help: "Sequence number of the entry.")
    var index: UInt64

    @Option(help: "Tree size (default: the whole log).")
    var size: UInt64?

    struct Output: Encodable {
        let leafIndex: UInt64
        let treeSize: UInt64
        let leafHash: String
        let rootHash: String
        let proof: [String]
        let entry: String
    }

    func run() async throws {
        let reader = try data.reader()
        let proof = try reader.inclusionProof(index: index, treeSize: size)
        try proof.verify()
        try printJSON(
            Output(
                leafIndex: proof.leafIndex, treeSize: proof.treeSize, leafHash: base64(proof.leafHash),
                rootHash: base64(proof.rootHash), proof: proof.hashes.map(base64),
                entry: base64(try reader.entry(at: index).bytes)))
    }
}

struct AuditConsistency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency",
        abstract: "Print a consistency proof between two tree sizes as JSON (RFC 9162 2.1.4).")

    @OptionGroup var data: AuditDataOptions

    @Option(help: "The older tree size (at least 1).")
    var from: UInt64

    @Option(help: "The newer tree size (default: the whole log).")
    var to: UInt64?

    struct Output: Encodable {
        let size1: UInt64
        let size2: UInt64
        let root1: String
        let root2: String
        let proof: [String]
    }

    func run() async throws {
        let proof = try data.reader().consistencyProof(from: from, to: to)
        try proof.verify()
        try printJSON(
            Output(
                size1: proof.size1, size2: proof.size2, root1: base64(proof.rootHash1), root2: base64(proof.rootHash2),
                proof: proof.hashes.map(base64)))
    }
}

struct AuditQueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "List entries by subject, actor, action or time, for auditors.")

    @OptionGroup var data: AuditDataOptions

    @Option(help: "Subject pseudonym.")
    var subject: String?

    @Option(help: "Actor id.")
    var actor: String?

    @Option(help: "Action.")
    var action: String?

    @OptionGroup var window: AuditWindowOptions

    func run() async throws {
        let filter = AuditQuery(
            subject: subject, actorId: actor, action: action, sinceMicroseconds: window.sinceMicroseconds,
            limit: window.limit)
        let entries = try data.reader().query(filter)
        let encoder = AuditWindowOptions.lineEncoder()
        let iso = AuditWindowOptions.timeFormatter()
        for e in entries {
            if window.json {
                print(String(decoding: try encoder.encode(e), as: UTF8.self))
            } else {
                print(
                    "\(e.sequence)\t\(iso.string(from: e.date))\t\(e.actorId)/\(e.role)\t\(e.action)\t\(e.view)\t"
                        + "\(e.decision.rawValue)\tsubjects=\(e.subjects.joined(separator: ","))\t"
                        + "indicators=\(e.indicatorIds.joined(separator: ","))\trequest=\(e.requestId)"
                        + (e.sealedJustification == nil ? "" : "\tbreak-glass")
                        + (e.occurrences > 1 ? "\toccurrences=\(e.occurrences)" : ""))
            }
        }
    }
}

/// `--since`, `--limit` and `--json` of the commands that list audit entries.
struct AuditWindowOptions: ParsableArguments {
    @Option(help: "Earliest time: ISO 8601 (2026-01-31T12:00:00Z) or Unix seconds.")
    var since: String?

    @Option(help: "At most this many entries.")
    var limit: Int?

    @Flag(help: "One JSON object per line.")
    var json = false

    func validate() throws {
        if let since, Self.parseTime(since) == nil { throw ValidationError("--since must be ISO 8601 or Unix seconds") }
        if let limit, limit <= 0 { throw ValidationError("--limit must be positive") }
    }

    /// `--since` in microseconds since the Unix epoch.
    var sinceMicroseconds: Int64? { since.flatMap(Self.parseTime) }

    static func parseTime(_ text: String) -> Int64? {
        if let seconds = Double(text) { return Int64(seconds * 1_000_000) }
        guard let date = ISO8601DateFormatter().date(from: text) else { return nil }
        return Int64(date.timeIntervalSince1970 * 1_000_000)
    }

    /// The encoder of `--json` lines, shared so that every listing prints entries in one format: compact (one
    /// object per line) and with sorted keys, so that lines compare and grep alike.
    static func lineEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// The time format of listed entries, with fractional seconds because entries are stamped in microseconds.
    static func timeFormatter() -> ISO8601DateFormatter {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return iso
    }
}

struct AuditKeygen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Create audit-signing.key (mode 0600) and audit-signing.pub in a folder.")

    @OptionGroup var key: AuditKeyOptions

    func run() async throws {
        guard let keys = key.keys else { throw ValidationError("--keys DIR is required") }
        let dir = URL(fileURLWithPath: keys)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let signing = try Ed25519.SigningKey.generate()
        try KeyFile.writeSecret(signing.seed, to: dir.appendingPathComponent("audit-signing.key"))
        try KeyFile.writePublic(signing.publicKey.rawBytes, to: dir.appendingPathComponent("audit-signing.pub"))
        print(try NoteVerifier(name: key.keyName, publicKey: signing.publicKey).vkey)
    }
}

struct AuditAppendDemo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-demo", abstract: "Append synthetic entries (tests and benchmarks).", shouldDisplay: false)

    @OptionGroup var data: AuditDataOptions
    @OptionGroup var key: AuditKeyOptions

    @Option(help: "Number of entries.")
    var count: Int = 100

    @Option(help: "Concurrent appenders.")
    var concurrency: Int = 64

    @Option(help: "Entries between checkpoints.")
    var checkpointEvery: UInt64 = 1024

    @Option(help: "Group-commit gather window in microseconds (0 disables).")
    var gatherMicroseconds: Int = 300

    func validate() throws {
        guard count >= 0, concurrency >= 1 else { throw ValidationError("--count >= 0 and --concurrency >= 1") }
    }

    func run() async throws {
        let log = try await AuditLog(
            directory: data.url, signer: key.signer(),
            configuration: .init(
                checkpointEveryEntries: checkpointEvery, checkpointInterval: nil,
                gatherWindow: .microseconds(gatherMicroseconds)))
        let start = ContinuousClock.now
        let workers = concurrency
        let total = count
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<workers {
                group.addTask {
                    var i = w
                    while i < total {
                        _ = try await log.append(Self.demoDraft(i))
                        i += workers
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        let checkpoint = try await log.checkpoint()
        await log.close()
        let seconds = elapsed.inSeconds
        printError("appended \(total) entries with \(workers) appenders in \(String(format: "%.3f", seconds)) s")
        print(checkpoint.note, terminator: "")
    }

    static func demoDraft(_ i: Int) -> AuditEntryDraft {
        AuditEntryDraft(
            actorId: "officer-\(i % 7)", role: i % 11 == 0 ? "auditor" : "caseworker",
            action: i % 3 == 0 ? "export" : "read",
            view: "household-summary", subjects: ["pseud-\(i % 97)", "pseud-\((i * 31) % 97)"],
            indicatorIds: ["income.monthly", "household.size"], decision: i % 13 == 0 ? .deny : .allow,
            policyIds: ["policy.caseworker.read"], policySetHash: Array(repeating: 0x5A, count: 32),
            requestId: "demo-\(i)", sealedJustification: i % 50 == 0 ? Array(repeating: 0xEE, count: 40) : nil)
    }
}

struct AuditBenchProofs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-proofs", abstract: "Time inclusion and consistency proofs (benchmarks).",
        shouldDisplay: false)

    @OptionGroup var data: AuditDataOptions

    @Option(help: "Proofs of each kind.")
    var samples: Int = 10_000

    func run() async throws {
        let reader = try data.reader()
        let size = try reader.treeSize()
        guard size > 1, samples > 0 else { throw ValidationError("needs a log of at least 2 entries") }
        let indices = (0..<samples).map { _ in UInt64.random(in: 0..<size) }
        // Wall time and this thread's CPU time: on a shared machine the CPU time is the steadier figure.
        func cpu() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
        }
        func wall() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t)
            return Double(t.tv_sec) * 1e6 + Double(t.tv_nsec) / 1e3
        }
        var (w0, c0) = (wall(), cpu())
        for i in indices { _ = try reader.inclusionProof(index: i) }
        let inclusion = ((wall() - w0) / Double(samples), (cpu() - c0) / Double(samples))
        (w0, c0) = (wall(), cpu())
        for i in indices { _ = try reader.consistencyProof(from: max(1, i)) }
        let consistency = ((wall() - w0) / Double(samples), (cpu() - c0) / Double(samples))
        print(
            "tree size \(size), mean of \(samples): inclusion proof \(String(format: "%.1f", inclusion.0)) us wall, "
                + "\(String(format: "%.1f", inclusion.1)) us CPU; consistency proof "
                + "\(String(format: "%.1f", consistency.0)) us wall, \(String(format: "%.1f", consistency.1)) us CPU")
    }
}
