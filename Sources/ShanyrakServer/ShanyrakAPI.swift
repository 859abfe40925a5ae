import Foundation
import HTTPTypes
import OpenAPIRuntime
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCore
import ShanyrakIngest
import ShanyrakStore

/// The handlers of the API: the generated `APIProtocol` of `openapi.yaml`, one method per operation.
///
/// Handlers are thin: they read the typed input, call the access path, and return the typed output.
/// Errors (`AccessDenied`, `Problem`, `AuditLogUnavailable`, ...) are thrown and become problem details
/// in `ShanyrakResponder`, in one place for every operation.
struct ShanyrakAPI: APIProtocol {
    let dependencies: ServerDependencies
    /// The contract, served at `/openapi.yaml`.
    let contract: String

    // MARK: Views (through the access path)

    func getHousehold(_ input: Operations.GetHousehold.Input) async throws -> Operations.GetHousehold.Output {
        let view = try await dependencies.access.householdView(
            principal: try RequestScope.authenticatedPrincipal(), householdID: input.path.id,
            requestID: RequestScope.requestID)
        return .ok(.init(body: .json(try Components.Schemas.HouseholdView(view))))
    }

    func getPerson(_ input: Operations.GetPerson.Input) async throws -> Operations.GetPerson.Output {
        let view = try await dependencies.access.personView(
            principal: try RequestScope.authenticatedPrincipal(), personID: input.path.id,
            requestID: RequestScope.requestID)
        return .ok(.init(body: .json(try Components.Schemas.PersonView(view))))
    }

    func breakGlassPerson(_ input: Operations.BreakGlassPerson.Input) async throws
        -> Operations.BreakGlassPerson.Output
    {
        let principal = try RequestScope.authenticatedPrincipal()
        // A blank or too long justification is refused by the access path, which records the attempt.
        guard case .json(let body) = input.body else {
            throw Problem.badRequest("the body must be a JSON object {\"justification\": \"...\"}")
        }
        let view = try await dependencies.access.breakGlassPersonView(
            principal: principal, personID: input.path.id, justification: body.justification,
            requestID: RequestScope.requestID)
        return .ok(.init(body: .json(try Components.Schemas.PersonView(view))))
    }

    func getCaseload(_ input: Operations.GetCaseload.Input) async throws -> Operations.GetCaseload.Output {
        let caseload = try await dependencies.access.caseload(
            principal: try RequestScope.authenticatedPrincipal(), requestID: RequestScope.requestID)
        return .ok(.init(body: .json(Components.Schemas.Caseload(caseload))))
    }

    // MARK: Ingest

    func ingestFeed(_ input: Operations.IngestFeed.Input) async throws -> Operations.IngestFeed.Output {
        let principal = try RequestScope.authenticatedPrincipal()
        let source = input.path.source
        guard let ingest = dependencies.ingest else {
            throw Problem(
                "ingest-unavailable", title: "Service Unavailable", status: .serviceUnavailable,
                detail: "this server does not accept feeds")
        }
        // Only an agency account bound to this very source; the source name is checked before it is recorded.
        let mapping = SourceName.isValid(source) ? ingest.mappings[source] : nil
        guard principal.role == .agency, principal.source == source, let mapping else {
            try await record(principal, action: .ingest, allowed: false, policyIDs: [])
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
                try await record(principal, action: .ingest, allowed: false, policyIDs: policyIDs)
                throw AccessDenied()
            }
        }
        guard case .csv(let body) = input.body else { throw Problem.badRequest("the body must be text/csv") }
        // One feed at a time, refused before its body is read or anything is recorded.
        guard let reservation = ingest.runner.reserve() else { throw Problem.ingestBusy }
        // The attempt is durable before anything is loaded: a batch never lands without its entry.
        try await record(
            principal, action: .ingest, allowed: true, policyIDs: policyIDs, indicators: indicators,
            subjects: ["attempt:\(source)"])
        let spool = ingest.spoolDirectory.appendingPathComponent(
            IngestDependencies.spoolPrefix + RequestScope.requestID + ".csv")
        defer { try? FileManager.default.removeItem(at: spool) }
        let summary: IngestSummary
        do {
            try await Self.spool(body, to: spool, directory: ingest.spoolDirectory, maximumBytes: ingest.maximumBytes)
            // A token revoked while the body arrived loads nothing.
            guard try dependencies.access.isActive(principal) else { throw AccessDenied() }
            let ingester = ingest.ingester
            summary = try await reservation.run { try ingester.ingest(file: spool, mapping: mapping) }
        } catch {
            // The outcome of a refused or failed attempt is recorded too (the attempt already is).
            try? await record(principal, action: .ingest, allowed: false, policyIDs: policyIDs)
            if let error = error as? IngestError {
                throw Problem.nothingLoaded(error.message.replacingOccurrences(of: spool.path, with: "body"))
            }
            if let error = error as? StoreError, error.isDataKeysRotated { throw Problem.dataKeysRotated }
            throw error
        }
        // The batch is committed and its attempt recorded; record which batch it became, with the anchor of its
        // records (a crash before this entry leaves the batch unanchored, which `registry verify` reports).
        do {
            try await record(
                principal, action: .ingest, allowed: true, policyIDs: policyIDs, indicators: indicators,
                subjects: ["batch:\(summary.batch ?? 0)"], batchAnchors: summary.anchor.map { [$0] })
        } catch {
            throw Problem.batchLoadedUnrecorded(batch: summary.batch ?? 0)
        }
        return .ok(.init(body: .json(Components.Schemas.IngestSummary(summary))))
    }

    /// Writes the request body to a new file (mode 0600) as it arrives, refusing more than `maximumBytes`.
    private static func spool(_ body: HTTPBody, to file: URL, directory: URL, maximumBytes: Int) async throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600])
        else { throw Problem.internalError }
        let handle = try FileHandle(forWritingTo: file)
        defer { try? handle.close() }
        var total = 0
        for try await chunk in body {
            total += chunk.count
            guard total <= maximumBytes else { throw Problem.tooLarge }
            try handle.write(contentsOf: chunk)
        }
    }

    // MARK: Audit log (auditors; the checkpoint is public)

    func getCheckpoint(_ input: Operations.GetCheckpoint.Input) async throws -> Operations.GetCheckpoint.Output {
        guard let log = dependencies.auditLog else { throw Problem.auditUnavailable }
        let checkpoint: Checkpoint
        // Public: anyone polling it may make the log issue at most one checkpoint a second.
        do {
            checkpoint = try await log.latestCheckpoint(issuingIfOlderThan: .seconds(1))
        } catch { throw Problem.auditUnavailable }
        return .ok(.init(body: .textPlainCharsetUtf8(HTTPBody(checkpoint.note))))
    }

    func listAuditEntries(_ input: Operations.ListAuditEntries.Input) async throws
        -> Operations.ListAuditEntries.Output
    {
        let q = input.query
        // Whose access history was looked up is part of the record (a pseudonym only; anything else
        // typed there is not recorded verbatim).
        let log = try await auditorLog(subjects: q.subject.map { [Pseudonym(hex: $0) == nil ? "invalid" : $0] } ?? [])
        let limit = q.limit ?? 100
        guard (1...1000).contains(limit) else { throw Problem.badRequest("limit must be between 1 and 1000") }
        var since: Int64?
        if let seconds = q.since {
            let (micro, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
            guard seconds >= 0, !overflow else { throw Problem.badRequest("since must be a Unix time in seconds") }
            since = micro
        }
        let filter = AuditQuery(
            subject: q.subject, actorId: q.actor, action: q.action, sinceMicroseconds: since, limit: limit)
        let entries = try Self.audit { try log.reader.query(filter) }
        return .ok(.init(body: .json(.init(entries: entries.map(Components.Schemas.AuditEntry.init)))))
    }

    func getInclusionProof(_ input: Operations.GetInclusionProof.Input) async throws
        -> Operations.GetInclusionProof.Output
    {
        let log = try await auditorLog()
        let index = try Self.size(input.query.index, "index")
        let size = try input.query.size.map { try Self.size($0, "size") }
        let (proof, bytes) = try Self.audit {
            (try log.reader.inclusionProof(index: index, treeSize: size), try log.reader.entry(at: index).bytes)
        }
        return .ok(
            .init(
                body: .json(
                    .init(
                        leafIndex: Int64(proof.leafIndex), treeSize: Int64(proof.treeSize),
                        leafHash: Self.base64(proof.leafHash), rootHash: Self.base64(proof.rootHash),
                        proof: proof.hashes.map(Self.base64), entry: Self.base64(bytes)))))
    }

    func getConsistencyProof(_ input: Operations.GetConsistencyProof.Input) async throws
        -> Operations.GetConsistencyProof.Output
    {
        let log = try await auditorLog()
        let from = try Self.size(input.query.from, "from")
        let to = try input.query.to.map { try Self.size($0, "to") }
        let proof = try Self.audit { try log.reader.consistencyProof(from: from, to: to) }
        return .ok(
            .init(
                body: .json(
                    .init(
                        size1: Int64(proof.size1), size2: Int64(proof.size2), root1: Self.base64(proof.rootHash1),
                        root2: Self.base64(proof.rootHash2), proof: proof.hashes.map(Self.base64)))))
    }

    // MARK: Service endpoints (public, and metrics with the metrics token)

    func health(_ input: Operations.Health.Input) async throws -> Operations.Health.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func metrics(_ input: Operations.Metrics.Input) async throws -> Operations.Metrics.Output {
        try RequestScope.requireMetricsToken()
        let groupCommits = await dependencies.auditLog?.groupCommitStatistics
        return .ok(
            .init(
                body: .textPlainCharsetUtf8Version_0_0_4(
                    HTTPBody(dependencies.metrics.exposition(groupCommits: groupCommits)))))
    }

    func openapi(_ input: Operations.Openapi.Input) async throws -> Operations.Openapi.Output {
        .ok(.init(body: .yaml(HTTPBody(contract))))
    }

    // MARK: Helpers

    /// The Merkle log, for an auditor; the read (or its refusal) is recorded first.
    /// - Parameter subjects: the subjects the read is about, when it names any.
    private func auditorLog(subjects: [String] = []) async throws -> AuditLog {
        let principal = try RequestScope.authenticatedPrincipal()
        // The policy set decides (`auditor.read-audit-log`); without one, the role alone. An engine that
        // cannot decide denies.
        let decision =
            dependencies.policy.map { policy in
                (try? policy.decide(principal: principal, serviceAction: .readAudit))
                    ?? ServiceDecision(isAllowed: false, policyIDs: [])
            } ?? ServiceDecision(isAllowed: principal.role == .auditor, policyIDs: [])
        try await record(
            principal, action: .export, allowed: decision.isAllowed, policyIDs: decision.policyIDs, subjects: subjects)
        guard decision.isAllowed else { throw AccessDenied() }
        guard let log = dependencies.auditLog else { throw Problem.auditUnavailable }
        return log
    }

    /// Appends an administrative entry (ingest, auditor read) and waits until it is durable.
    private func record(
        _ principal: Principal, action: AccessAction, allowed: Bool, policyIDs: [String], indicators: [String] = [],
        subjects: [String] = [], batchAnchors: [BatchAnchor]? = nil
    ) async throws {
        let entry = AccessAuditEntry(
            time: Int64(Date().timeIntervalSince1970), actor: principal.id, role: principal.role, action: action,
            view: .administration, subjects: subjects, indicators: allowed ? indicators.sorted() : [],
            decision: allowed ? .allow : .deny, policyIDs: policyIDs, requestID: RequestScope.requestID,
            batchAnchors: batchAnchors)
        do { try await dependencies.accessLog.append(entry) } catch { throw AuditLogUnavailable() }
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// A tree size or leaf index from a query parameter (the runtime has checked it is an integer).
    static func size(_ value: Int64, _ name: String) throws -> UInt64 {
        guard value >= 0 else { throw Problem.badRequest("query parameter \(name) must be a non-negative integer") }
        return UInt64(value)
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
