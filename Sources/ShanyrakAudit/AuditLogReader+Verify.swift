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

    /// One entry checked off the critical path: header fields and leaf hash, or why it failed.
    private struct CheckedEntry {
        var sequence: UInt64 = 0
        var time: Int64 = 0
        var leaf: [UInt8] = []
        var error: AuditError?
    }

    /// Streams entries and stored nodes together, recomputing the tree; stops at the first bad entry.
    ///
    /// Entries are read in chunks; decoding checks and leaf hashes (most of the SHA-256 work) run on all
    /// cores, then the tree is extended and compared with the stored nodes in order.
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
            let chunkSize = 8192
            let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
            var seqs: [Int64] = []
            var offsets: [Int] = []
            var buffer: [UInt8] = []
            seqs.reserveCapacity(chunkSize)
            offsets.reserveCapacity(chunkSize + 1)
            chunkLoop: while failure == nil {
                seqs.removeAll(keepingCapacity: true)
                offsets.removeAll(keepingCapacity: true)
                offsets.append(0)
                buffer.removeAll(keepingCapacity: true)
                while seqs.count < chunkSize, let row = try entries.next() {
                    seqs.append(row[0])
                    try row.withUnsafeData(atIndex: 1) { data in
                        if let data { buffer.append(contentsOf: data) }
                    }
                    offsets.append(buffer.count)
                }
                let count = seqs.count
                if count == 0 { break }
                var checked = [CheckedEntry](repeating: CheckedEntry(), count: count)
                buffer.withUnsafeBytes { raw in
                    checked.withUnsafeMutableBufferPointer { out in
                        Self.checkEntries(raw, offsets, into: out, workers: min(workers, count))
                    }
                }
                for i in 0..<count {
                    let seq = seqs[i]
                    guard seq >= 0, UInt64(seq) == expected else {
                        failure = .entry(
                            expected,
                            seq > Int64(expected)
                                ? "missing (the next stored entry is \(seq)): entries were deleted"
                                : "stored under a negative sequence number")
                        break chunkLoop
                    }
                    let c = checked[i]
                    if let error = c.error {
                        failure = .entry(expected, "does not decode (\(error.rule))")
                        break chunkLoop
                    }
                    guard c.sequence == expected else {
                        failure = .entry(
                            expected, "holds sequence number \(c.sequence): entries were reordered, moved or replaced")
                        break chunkLoop
                    }
                    guard c.time >= previousTime else {
                        failure = .entry(expected, "time goes backwards from the previous entry")
                        break chunkLoop
                    }
                    previousTime = c.time
                    let accepted = try range.append(c.leaf) { h in
                        guard let node = try nodes.next(), (node[0] as Int64) == nodePosition,
                            try node.withUnsafeData(
                                atIndex: 1,
                                { data in
                                    guard let data, data.count == h.count else { return false }
                                    return data.withUnsafeBytes { a in h.withUnsafeBytes { b in a.elementsEqual(b) } }
                                })
                        else { return false }
                        nodePosition += 1
                        return true
                    }
                    guard accepted else {
                        failure = .entry(
                            expected,
                            "stored tree node \(nodePosition) differs from the hash recomputed from the entries "
                                + "(entry changed after it was appended, or the tree was altered)")
                        break chunkLoop
                    }
                    expected += 1
                    if wanted.contains(expected) { roots[expected] = range.rootHash }
                }
            }
            if failure == nil, try nodes.next() != nil {
                failure = .entry(
                    expected,
                    "missing: the stored tree has nodes past the last entry \(Int64(expected) - 1) (log truncated?)")
            }
            return StreamResult(size: expected, root: range.rootHash, roots: roots, failure: failure)
        }
    }

    /// Validates and leaf-hashes the entries of one chunk, split over `workers` threads.
    private static func checkEntries(
        _ raw: UnsafeRawBufferPointer, _ offsets: [Int], into out: UnsafeMutableBufferPointer<CheckedEntry>,
        workers: Int
    ) {
        let count = out.count
        // Each worker writes a disjoint slice of `out` and only reads `raw`: no shared mutable state.
        nonisolated(unsafe) let output = out
        nonisolated(unsafe) let input = raw
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lower = count * w / workers
            let upper = count * (w + 1) / workers
            for i in lower..<upper {
                let bytes = UnsafeRawBufferPointer(rebasing: input[offsets[i]..<offsets[i + 1]])
                do throws(AuditError) {
                    let header = try AuditEntryCodec.validate(bytes)
                    output[i] = CheckedEntry(
                        sequence: header.sequence, time: header.timeMicroseconds, leaf: Merkle.leafHash(bytes))
                } catch {
                    output[i] = CheckedEntry(error: error)
                }
            }
        }
    }
}
