import Foundation
import Hummingbird
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCore
import ShanyrakIngest

/// The handlers of the API, one method per operation of `openapi.yaml`. Routes stay thin:
/// they read parameters and call one of these; the access path does the rest.
struct ShanyrakAPI: Sendable {
    let dependencies: ServerDependencies

    // MARK: Views (through the access path)

    func household(id: String, context: AuthenticatedRequestContext) async throws -> Response {
        let view = try await context.access.householdView(
            principal: context.principal, householdID: id, requestID: context.requestID)
        return Self.json(try view.canonicalJSON())
    }

    func person(id: String, context: AuthenticatedRequestContext) async throws -> Response {
        let view = try await context.access.personView(
            principal: context.principal, personID: id, requestID: context.requestID)
        return Self.json(try view.canonicalJSON())
    }

    func breakGlass(id: String, request: Request, context: AuthenticatedRequestContext) async throws -> Response {
        struct Body: Decodable { let justification: String }
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView)) else {
            throw Problem.badRequest("the body must be a JSON object {\"justification\": \"...\"}")
        }
        let view = try await context.access.breakGlassPersonView(
            principal: context.principal, personID: id, justification: body.justification,
            requestID: context.requestID)
        return Self.json(try view.canonicalJSON())
    }

    func caseload(context: AuthenticatedRequestContext) async throws -> Response {
        let caseload = try await context.access.caseload(principal: context.principal, requestID: context.requestID)
        return Self.json(try caseload.canonicalJSON())
    }

    // MARK: Ingest

    func ingest(source: String, request: Request, context: AuthenticatedRequestContext) async throws -> Response {
        let principal = context.principal
        guard let ingest = dependencies.ingest else {
            throw Problem(
                "ingest-unavailable", title: "Service Unavailable", status: .serviceUnavailable,
                detail: "this server does not accept feeds")
        }
        // Only an agency account bound to this very source; the source name is checked before it is recorded.
        let validName =
            !source.isEmpty && source.utf8.count <= 64
            && source.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5f }
        let mapping =
            validName
            ? try? SourceMapping.load(source: source, directory: ingest.sourcesDirectory, catalog: ingest.catalog)
            : nil
        guard principal.role == .agency, principal.source == source, let mapping else {
            try await record(principal, action: .ingest, allowed: false, policyIDs: [], context: context)
            throw AccessDenied()
        }
        let indicators = mapping.suppliableIndicators(in: ingest.catalog)
        var policyIDs: [String] = []
        if let policy = dependencies.policy {
            let decision = try policy.decide(
                principal: principal, action: .ingest,
                context: AccessContext(view: .administration, assigned: false, sameDistrict: false),
                indicators: indicators)
            policyIDs = decision.policyIDs
            guard indicators.allSatisfy(decision.allowed.contains) else {
                try await record(principal, action: .ingest, allowed: false, policyIDs: policyIDs, context: context)
                throw AccessDenied()
            }
        }
        var request = request
        let body = try await request.collectBody(upTo: ingest.maximumBytes)
        try FileManager.default.createDirectory(at: ingest.spoolDirectory, withIntermediateDirectories: true)
        let spool = ingest.spoolDirectory.appendingPathComponent("ingest-\(context.requestID).csv")
        defer { try? FileManager.default.removeItem(at: spool) }
        guard
            FileManager.default.createFile(
                atPath: spool.path, contents: Data(body.readableBytesView), attributes: [.posixPermissions: 0o600])
        else { throw Problem.internalError }
        let summary: IngestSummary
        do {
            summary = try ingest.ingester.ingest(file: spool, mapping: mapping)
        } catch let error as IngestError {
            try await record(principal, action: .ingest, allowed: false, policyIDs: policyIDs, context: context)
            throw Problem.nothingLoaded(error.message.replacingOccurrences(of: spool.path, with: "body"))
        }
        // The batch is committed; record it (an unrecordable batch is reported, as the command line does).
        try await record(
            principal, action: .ingest, allowed: true, policyIDs: policyIDs, indicators: indicators,
            subjects: ["batch:\(summary.batch ?? 0)"], context: context)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Self.json(try encoder.encode(summary))
    }

    // MARK: Audit log (auditors; the checkpoint is public)

    func checkpoint() async throws -> Response {
        guard let log = dependencies.auditLog else { throw Problem.auditUnavailable }
        let checkpoint: Checkpoint
        do { checkpoint = try await log.checkpoint() } catch { throw Problem.auditUnavailable }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: checkpoint.note)))
    }

    func entries(request: Request, context: AuthenticatedRequestContext) async throws -> Response {
        let log = try await auditorLog(context)
        let q = request.uri.queryParameters
        let limit = try q["limit"].map { try Self.integer($0, "limit") } ?? 100
        guard limit >= 1, limit <= 1000 else { throw Problem.badRequest("limit must be between 1 and 1000") }
        let since = try q["since"].map { try Self.integer($0, "since") }
        let filter = AuditQuery(
            subject: q["subject"].map(String.init), actorId: q["actor"].map(String.init),
            action: q["action"].map(String.init), sinceMicroseconds: since.map { Int64($0) * 1_000_000 }, limit: limit)
        struct Page: Encodable { let entries: [AuditEntry] }
        let entries = try Self.audit { try log.reader.query(filter) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Self.json(try encoder.encode(Page(entries: entries)))
    }

    func inclusionProof(request: Request, context: AuthenticatedRequestContext) async throws -> Response {
        let log = try await auditorLog(context)
        let q = request.uri.queryParameters
        guard let indexText = q["index"] else { throw Problem.badRequest("query parameter index is required") }
        let index = UInt64(try Self.integer(indexText, "index"))
        let size = try q["size"].map { UInt64(try Self.integer($0, "size")) }
        struct Output: Encodable {
            let leaf_index: UInt64
            let tree_size: UInt64
            let leaf_hash: String
            let root_hash: String
            let proof: [String]
            let entry: String
        }
        let (proof, bytes) = try Self.audit {
            (try log.reader.inclusionProof(index: index, treeSize: size), try log.reader.entry(at: index).bytes)
        }
        let out = Output(
            leaf_index: proof.leafIndex, tree_size: proof.treeSize, leaf_hash: Self.base64(proof.leafHash),
            root_hash: Self.base64(proof.rootHash), proof: proof.hashes.map(Self.base64), entry: Self.base64(bytes))
        return Self.json(try Self.encoder.encode(out))
    }

    func consistencyProof(request: Request, context: AuthenticatedRequestContext) async throws -> Response {
        let log = try await auditorLog(context)
        let q = request.uri.queryParameters
        guard let fromText = q["from"] else { throw Problem.badRequest("query parameter from is required") }
        let from = UInt64(try Self.integer(fromText, "from"))
        let to = try q["to"].map { UInt64(try Self.integer($0, "to")) }
        struct Output: Encodable {
            let size1: UInt64
            let size2: UInt64
            let root1: String
            let root2: String
            let proof: [String]
        }
        let proof = try Self.audit { try log.reader.consistencyProof(from: from, to: to) }
        let out = Output(
            size1: proof.size1, size2: proof.size2, root1: Self.base64(proof.rootHash1),
            root2: Self.base64(proof.rootHash2), proof: proof.hashes.map(Self.base64))
        return Self.json(try Self.encoder.encode(out))
    }

    /// The Merkle log, for an auditor; the read (or its refusal) is recorded first.
    private func auditorLog(_ context: AuthenticatedRequestContext) async throws -> AuditLog {
        let allowed = context.principal.role == .auditor
        try await record(context.principal, action: .export, allowed: allowed, policyIDs: [], context: context)
        guard allowed else { throw AccessDenied() }
        guard let log = dependencies.auditLog else { throw Problem.auditUnavailable }
        return log
    }

    /// Appends an administrative entry (ingest, auditor read) and waits until it is durable.
    private func record(
        _ principal: Principal, action: AccessAction, allowed: Bool, policyIDs: [String], indicators: [String] = [],
        subjects: [String] = [], context: AuthenticatedRequestContext
    ) async throws {
        let entry = AccessAuditEntry(
            time: Int64(Date().timeIntervalSince1970), actor: principal.id, role: principal.role, action: action,
            view: .administration, subjects: subjects, indicators: allowed ? indicators.sorted() : [],
            decision: allowed ? .allow : .deny, policyIDs: policyIDs, requestID: context.requestID)
        do { try await dependencies.accessLog.append(entry) } catch { throw AuditLogUnavailable() }
    }

    // MARK: Helpers

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json(_ data: Data) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func integer(_ text: Substring, _ name: String) throws -> Int {
        guard let value = Int(text), value >= 0 else {
            throw Problem.badRequest("query parameter \(name) must be a non-negative integer")
        }
        return value
    }

    /// Runs a reader call; out-of-range arguments are the caller's problem (400), the rest is ours (500).
    static func audit<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as AuditError {
            if error.entryIndex != nil || error.isProofRejection || error.description.hasPrefix("audit: ") {
                throw Problem.badRequest("no such entry or tree size in the audit log")
            }
            throw Problem.internalError
        }
    }
}
