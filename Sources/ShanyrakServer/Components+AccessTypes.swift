import Foundation
import ShanyrakAccess
import ShanyrakAudit
import ShanyrakCore
import ShanyrakIngest

// The generated schema types of `openapi.yaml`, built from what the access path, the audit log and
// the ingester return. The runtime encodes them with sorted keys and no whitespace, which is exactly
// `canonicalJSON()` of the access path's views (a test compares the bytes).

extension Components.Schemas.HouseholdView {
    /// The household card as the contract types it.
    /// - Parameter view: the card built by the access path.
    /// - Throws: `Problem.internalError` for a sex or age band outside the contract (not expected).
    init(_ view: ShanyrakAccess.HouseholdView) throws {
        var members: [Components.Schemas.HouseholdMember] = []
        members.reserveCapacity(view.members.count)
        for member in view.members {
            members.append(
                .init(
                    pseudonym: member.pseudonym.hex, relation: member.relation, sex: try .init(member.sex),
                    ageBand: try .init(member.ageBand), indicators: member.indicators))
        }
        self.init(household: view.household.hex, district: view.district, members: members)
    }
}

extension Components.Schemas.PersonView {
    /// The person view as the contract types it.
    /// - Parameter view: the view built by the access path.
    /// - Throws: `Problem.internalError` for a sex or age band outside the contract (not expected).
    init(_ view: ShanyrakAccess.PersonView) throws {
        self.init(
            person: view.person.hex, household: view.household.hex, relation: view.relation, sex: try .init(view.sex),
            ageBand: try .init(view.ageBand), indicators: view.indicators)
    }
}

extension Components.Schemas.Caseload {
    /// The caseload as the contract types it.
    /// - Parameter caseload: the caseload from the access path.
    init(_ caseload: ShanyrakAccess.Caseload) {
        self.init(households: caseload.households.map { .init(household: $0.household.hex, district: $0.district) })
    }
}

extension Components.Schemas.Sex {
    /// The contract's value for the access path's `male`, `female` or `unknown`.
    /// - Throws: `Problem.internalError` for anything else.
    init(_ sex: String) throws {
        guard let value = Self(rawValue: sex) else { throw Problem.internalError }
        self = value
    }
}

extension Components.Schemas.AgeBand {
    /// The contract's value for an age band.
    /// - Throws: `Problem.internalError` for a band the contract does not list.
    init(_ band: ShanyrakAccess.AgeBand) throws {
        guard let value = Self(rawValue: band.rawValue) else { throw Problem.internalError }
        self = value
    }
}

extension Components.Schemas.IngestSummary {
    /// The ingest summary as the contract types it (the fields of `shanyrak ingest --json`).
    /// - Parameter summary: the ingester's summary.
    init(_ summary: ShanyrakIngest.IngestSummary) {
        self.init(
            source: summary.source, batch: summary.batch, rowsRead: summary.rowsRead,
            rowsAccepted: summary.rowsAccepted, rowsQuarantined: summary.rowsQuarantined,
            valuesWritten: summary.valuesWritten, valuesUnchanged: summary.valuesUnchanged, seconds: summary.seconds,
            fileDigest: summary.fileDigest,
            problems: summary.problems.map { .init(line: $0.line, column: $0.column, rule: $0.rule) })
    }
}

extension Components.Schemas.AuditEntry {
    /// An audit entry in its JSON form (hash as lowercase hex, justification as base64, anchors and occurrences
    /// absent when there are none or one), as `shanyrak audit export` writes it.
    /// - Parameter entry: the entry read from the log.
    init(_ entry: ShanyrakAudit.AuditEntry) {
        self.init(
            sequence: Int64(entry.sequence), time: entry.timeMicroseconds, actorId: entry.actorId, role: entry.role,
            action: entry.action, view: entry.view, subjects: entry.subjects, indicatorIds: entry.indicatorIds,
            decision: entry.decision == .allow ? .allow : .deny, policyIds: entry.policyIds,
            policySetHash: Hex.encode(entry.policySetHash), requestId: entry.requestId,
            sealedJustification: entry.sealedJustification.map { Data($0).base64EncodedString() },
            batchAnchors: entry.batchAnchors.isEmpty
                ? nil
                : entry.batchAnchors.map {
                    .init(batch: $0.batch, source: $0.source, records: $0.records, digest: Hex.encode($0.digest))
                },
            occurrences: entry.occurrences > 1 ? Int64(clamping: entry.occurrences) : nil)
    }
}
