import Foundation
import GRDB
import ShanyrakCrypto

/// The outcome of `AuditLogReader.verify`: what was checked and every failure found, first one first.
public struct AuditVerificationReport: Sendable {
    /// Entries whose leaves, sequence numbers and stored tree nodes were recomputed and matched.
    public var entriesVerified: UInt64 = 0
    /// The root hash recomputed over the verified entries.
    public var rootHash: [UInt8] = Merkle.emptyRoot
    /// Stored checkpoints whose signature and root held.
    public var checkpointsVerified = 0
    /// Stored checkpoints in all.
    public var checkpointCount = 0
    /// The size of the auditor's checkpoint, when one was given and it held.
    public var trustedCheckpointSize: UInt64?
    /// Whether a consistency proof from the auditor's checkpoint to the current tree was built from the
    /// stored nodes and verified (RFC 9162 2.1.4.2).
    public var consistencyProofVerified = false
    /// Every failure, entries first, then stored checkpoints in order, then the auditor's checkpoint.
    public var failures: [AuditError] = []

    /// Whether everything held.
    public var isValid: Bool { failures.isEmpty }
}

extension AuditLogReader {
    /// Verifies the whole log: recomputes every leaf and the tree from the entries, compares them with the
    /// stored tree nodes, checks every stored checkpoint's signature and root, and, given a checkpoint an
    /// auditor kept, that the log is an append-only extension of it.
    ///
    /// Entries are streamed in order; memory stays O(log n).
    /// - Parameters:
    ///   - verifiers: the trusted checkpoint keys.
    ///   - origin: the expected checkpoint origin (nil: the first verifier's name).
    ///   - trustedCheckpoint: a signed checkpoint the auditor kept earlier, or nil.
    /// - Returns: the report; `failures.first` names the first entry or checkpoint that fails.
    /// - Throws: `AuditError.storage` only when the log cannot be read at all.
    public func verify(verifiers: [NoteVerifier], origin: String? = nil, trustedCheckpoint: String? = nil)
        throws(AuditError) -> AuditVerificationReport
    {
        let expectedOrigin = origin ?? verifiers.first?.name
        var report = AuditVerificationReport()
        let stored = try checkpoints()
        report.checkpointCount = stored.count

        // Parse and check signatures first; roots are compared once the stream reaches their size.
        var checkpointFailures: [Int: AuditError] = [:]
        var parsed: [(StoredCheckpoint, Checkpoint)] = []
        var previousSize: UInt64 = 0
        for s in stored {
            do {
                let c = try Checkpoint(verifying: s.note, verifiers: verifiers, origin: expectedOrigin)
                if c.size != s.size {
                    checkpointFailures[s.number] = .checkpoint(
                        s.number, "note says size \(c.size) but it is stored as \(s.size)")
                } else if c.size < previousSize {
                    checkpointFailures[s.number] = .checkpoint(
                        s.number, "size \(c.size) is smaller than the previous checkpoint's \(previousSize)")
                } else {
                    parsed.append((s, c))
                }
                previousSize = max(previousSize, c.size)
            } catch {
                checkpointFailures[s.number] = .checkpoint(s.number, error.rule)
            }
        }
        var trusted: Checkpoint?
        var trustedFailure: AuditError?
        if let trustedCheckpoint {
            do {
                trusted = try Checkpoint(verifying: trustedCheckpoint, verifiers: verifiers, origin: expectedOrigin)
            } catch {
                trustedFailure = .trustedCheckpoint(error.rule)
            }
        }
        var wanted = Set(parsed.map { $0.1.size })
        if let trusted { wanted.insert(trusted.size) }
        var roots: [UInt64: [UInt8]] = [:]
        if wanted.contains(0) { roots[0] = Merkle.emptyRoot }

        let streamed = try stream(wanted: wanted)
        roots.merge(streamed.roots) { a, _ in a }
        report.entriesVerified = streamed.size
        report.rootHash = streamed.root
        if let failure = streamed.failure { report.failures.append(failure) }

        for s in stored {
            if let failure = checkpointFailures[s.number] {
                report.failures.append(failure)
                continue
            }
            guard let c = parsed.first(where: { $0.0.number == s.number })?.1 else { continue }
            guard let root = roots[c.size] else {
                report.failures.append(
                    .checkpoint(
                        s.number,
                        "covers \(c.size) entries but only \(streamed.size) entries are present and verify (log truncated or damaged?)"
                    ))
                continue
            }
            if constantTimeEquals(root, c.rootHash) {
                report.checkpointsVerified += 1
            } else {
                report.failures.append(
                    .checkpoint(
                        s.number, "root hash for size \(c.size) does not match the root recomputed from the entries"))
            }
        }

        if let trustedFailure { report.failures.append(trustedFailure) }
        if let trusted {
            if let root = roots[trusted.size] {
                if !constantTimeEquals(root, trusted.rootHash) {
                    report.failures.append(
                        .trustedCheckpoint(
                            "root for size \(trusted.size) differs from the log's: the log was rewritten, not only appended to"
                        ))
                } else {
                    report.trustedCheckpointSize = trusted.size
                    if trusted.size >= 1, streamed.failure == nil {
                        do {
                            let proof = try consistencyProof(from: trusted.size, to: streamed.size)
                            try Merkle.verifyConsistency(
                                size1: trusted.size, size2: streamed.size, rootHash1: trusted.rootHash,
                                rootHash2: streamed.root, proof: proof.hashes)
                            report.consistencyProofVerified = true
                        } catch {
                            report.failures.append(.trustedCheckpoint("consistency proof failed: \(error.rule)"))
                        }
                    }
                }
            } else {
                report.failures.append(
                    .trustedCheckpoint(
                        "covers \(trusted.size) entries but only \(streamed.size) entries are present and verify (log truncated?)"
                    ))
            }
        }
        return report
    }

    private struct StreamResult {
        var size: UInt64
        var root: [UInt8]
        var roots: [UInt64: [UInt8]]
        var failure: AuditError?
    }

    /// Streams entries and stored nodes together, recomputing the tree; stops at the first bad entry.
    private func stream(wanted: Set<UInt64>) throws(AuditError) -> StreamResult {
        try read { db in
            let entries = try Row.fetchCursor(db, sql: "SELECT seq, entry FROM entries ORDER BY seq")
            let nodes = try Row.fetchCursor(db, sql: "SELECT pos, hash FROM nodes ORDER BY pos")
            var range = CompactRange()
            var roots: [UInt64: [UInt8]] = [:]
            var expected: UInt64 = 0
            var nodePosition: Int64 = 0
            var previousTime = Int64.min
            var failure: AuditError?
            entryLoop: while let row = try entries.next() {
                let seq: Int64 = row[0]
                guard seq >= 0, UInt64(seq) == expected else {
                    failure = .entry(
                        expected,
                        seq > Int64(expected)
                            ? "missing (the next stored entry is \(seq)): entries were deleted"
                            : "stored under a negative sequence number")
                    break
                }
                let checked: Result<(UInt64, Int64, [UInt8]), AuditError> = try row.withUnsafeData(atIndex: 1) { data in
                    guard let data else { return .failure(.entry(expected, "has no bytes")) }
                    return data.withUnsafeBytes {
                        (raw: UnsafeRawBufferPointer) -> Result<(UInt64, Int64, [UInt8]), AuditError> in
                        do throws(AuditError) {
                            let header = try AuditEntryCodec.validate(raw)
                            return .success((header.sequence, header.timeMicroseconds, Merkle.leafHash(raw)))
                        } catch {
                            return .failure(.entry(expected, "does not decode (\(error.rule))"))
                        }
                    }
                }
                let sequence: UInt64
                let time: Int64
                let leaf: [UInt8]
                switch checked {
                case .failure(let error):
                    failure = error
                    break entryLoop
                case .success(let v): (sequence, time, leaf) = v
                }
                guard sequence == expected else {
                    failure = .entry(
                        expected, "holds sequence number \(sequence): entries were reordered, moved or replaced")
                    break
                }
                guard time >= previousTime else {
                    failure = .entry(expected, "time goes backwards from the previous entry")
                    break
                }
                previousTime = time
                let accepted = try range.append(leaf) { h in
                    guard let node = try nodes.next(), (node[0] as Int64) == nodePosition,
                        try node.withUnsafeData(atIndex: 1, { $0.map { $0.elementsEqual(h) } ?? false })
                    else { return false }
                    nodePosition += 1
                    return true
                }
                guard accepted else {
                    failure = .entry(
                        expected,
                        "stored tree node \(nodePosition) differs from the hash recomputed from the entries "
                            + "(entry changed after it was appended, or the tree was altered)")
                    break
                }
                expected += 1
                if wanted.contains(expected) { roots[expected] = range.rootHash }
            }
            if failure != nil {
                return StreamResult(size: expected, root: range.rootHash, roots: roots, failure: failure)
            }
            if try nodes.next() != nil {
                failure = .entry(
                    expected,
                    "missing: the stored tree has nodes past the last entry \(Int64(expected) - 1) (log truncated?)")
            }
            return StreamResult(size: expected, root: range.rootHash, roots: roots, failure: failure)
        }
    }
}
