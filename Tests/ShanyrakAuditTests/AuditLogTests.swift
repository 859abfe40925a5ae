import Foundation
import GRDB
import ShanyrakAudit
import ShanyrakCrypto
import Testing

/// Counts calls from concurrent code.
private actor Counter {
    var value = 0
    func increment() { value += 1 }
}

struct AuditLogTests {
    let signer: NoteSigner
    let directory: URL

    init() throws {
        signer = try makeSigner()
        directory = try temporaryDirectory()
    }

    func open(_ configuration: AuditLog.Configuration = .init(checkpointEveryEntries: 5, checkpointInterval: nil))
        async throws
        -> AuditLog
    {
        try await AuditLog(directory: directory, signer: signer, configuration: configuration)
    }

    /// A plain connection to the log's file, as an attacker with file access edits it. It waits for locks
    /// as the log's own reader does: a log just closed may still be checkpointing its WAL.
    func database() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(
            path: directory.appendingPathComponent(AuditLog.fileName).path, configuration: configuration)
    }

    /// A closed log of `count` entries with a checkpoint every 5 entries.
    func filledLog(_ count: Int) async throws -> [AuditReceipt] {
        let log = try await open()
        var receipts: [AuditReceipt] = []
        for i in 0..<count { receipts.append(try await log.append(draft(i))) }
        await log.close()
        return receipts
    }

    func verify(trusted: String? = nil) throws -> AuditVerificationReport {
        try AuditLogReader(directory: directory).verify(verifiers: [signer.verifier], trustedCheckpoint: trusted)
    }

    @Test func appendsAssignSequenceAndServeProofs() async throws {
        let log = try await open()
        var leaves: [[UInt8]] = []
        for i in 0..<37 {
            let r = try await log.append(draft(i))
            #expect(r.sequence == UInt64(i))
            leaves.append(r.leafHash)
        }
        let reader = log.reader
        let stored = try reader.entry(at: 9)
        #expect(Merkle.leafHash(stored.bytes) == leaves[9])
        #expect(stored.entry.requestId == "req-9")
        for size in 1...37 {
            let leafSlice = Array(leaves.prefix(size))
            #expect(try reader.rootHash(size: UInt64(size)) == Merkle.rootHash(leafHashes: leafSlice))
            for index in 0..<size {
                let proof = try reader.inclusionProof(index: UInt64(index), treeSize: UInt64(size))
                #expect(proof.hashes == (try Merkle.inclusionProof(index: UInt64(index), leafHashes: leafSlice)))
                try proof.verify()
            }
            for size1 in 1...size {
                let proof = try reader.consistencyProof(from: UInt64(size1), to: UInt64(size))
                #expect(proof.hashes == (try Merkle.consistencyProof(size1: UInt64(size1), leafHashes: leafSlice)))
                try proof.verify()
            }
        }
        #expect(throws: AuditError.self) { try reader.inclusionProof(index: 37) }
        #expect(throws: AuditError.self) { try reader.consistencyProof(from: 0) }
        let checkpoints = try reader.checkpoints()
        #expect(checkpoints.map(\.size) == [5, 10, 15, 20, 25, 30, 35])
        let onDemand = try await log.checkpoint()
        #expect(onDemand.size == 37)
        #expect(onDemand.rootHash == Merkle.rootHash(leafHashes: leaves))
        #expect(try await log.checkpoint() == onDemand)  // same size, same key: not issued twice
        await log.close()
        let report = try verify()
        #expect(report.isValid, "\(report.failures)")
        #expect(report.entriesVerified == 37)
        #expect(report.checkpointsVerified == 8)
    }

    @Test func concurrentAppendsShareCommits() async throws {
        let log = try await open(.init(checkpointEveryEntries: nil, checkpointInterval: nil))
        let receipts = try await withThrowingTaskGroup(of: AuditReceipt.self) { group in
            for i in 0..<200 { group.addTask { try await log.append(draft(i)) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(receipts.map(\.sequence)) == Set(0..<200))
        // Entries committed in one group share one log time; 200 appenders never need 200 commits.
        #expect(Set(receipts.map(\.timeMicroseconds)).count < 200)
        #expect(try log.reader.treeSize() == 200)
        // Every commit is counted once, in one bucket of the histogram, with its entries.
        let stats = await log.groupCommitStatistics
        #expect(stats.entries == 200 && stats.failures == 0)
        #expect(stats.commits >= 1 && stats.commits < 200 && stats.bucketCounts.reduce(0, +) == stats.commits)
        #expect(stats.seconds > 0 && stats.slowest > 0 && stats.slowest <= stats.seconds)
        let times = try log.reader.query(AuditQuery()).map(\.timeMicroseconds)
        #expect(times == times.sorted())
        await log.close()
        #expect(try verify().isValid)
    }

    @Test func failedCommitThrowsAndNothingIsReleased() async throws {
        let log = try await open()
        _ = try await log.append(draft(0))
        let db = try database()
        try await db.write {
            try $0.execute(
                sql: "CREATE TRIGGER fail BEFORE INSERT ON entries BEGIN SELECT RAISE(ABORT, 'disk gone'); END")
        }
        let released = Counter()
        await #expect {
            try await log.recordThenRelease(draft(1)) { await released.increment() }
        } throws: { error in
            (error as? AuditError)?.isNotDurable == true
        }
        #expect(await released.value == 0)
        // The failed group made the log read its state again; a state that cannot be read is, to the
        // caller, the same failure: not durable.
        try await db.write { try $0.execute(sql: "ALTER TABLE entries RENAME TO entries_gone") }
        await #expect {
            try await log.append(draft(2))
        } throws: { error in
            (error as? AuditError)?.isNotDurable == true
        }
        try await db.write { try $0.execute(sql: "ALTER TABLE entries_gone RENAME TO entries") }
        try await db.write { try $0.execute(sql: "DROP TRIGGER fail") }
        let value = try await log.recordThenRelease(draft(3)) {
            await released.increment()
            return "disclosed"
        }
        #expect(value == "disclosed")
        #expect(await released.value == 1)
        #expect(try log.reader.treeSize() == 2)  // no gap: the failed groups took no sequence numbers
        // Two failed groups, counted apart from the commits (whose entries are the two durable ones).
        let stats = await log.groupCommitStatistics
        #expect(stats.failures == 2 && stats.entries == 2 && stats.bucketCounts.reduce(0, +) == stats.commits)
        #expect(try log.reader.entry(at: 1).entry.requestId == "req-3")
        await log.close()
        await #expect(throws: AuditError.self) { try await log.append(draft(4)) }
        #expect(try verify().isValid)
    }

    @Test("an entry the reader would refuse is not written; the appends beside it are, and the log verifies")
    func oversizedEntryIsRefused() async throws {
        let log = try await open()
        _ = try await log.append(draft(0))
        var big = draft(1)
        big.sealedJustification = [UInt8](repeating: 7, count: AuditEntryCodec.maximumEntryLength)
        // Appended concurrently, so that the refused entry shares a group commit with good ones.
        let oversized = big
        let refused = Task { try await log.append(oversized) }
        let beside = Task { try await log.append(draft(2)) }
        await #expect(throws: AuditError.self) { _ = try await refused.value }
        #expect(try await beside.value.sequence == 1)
        #expect(try await log.append(draft(3)).sequence == 2)
        await log.close()
        let report = try verify()
        #expect(report.isValid, "\(report.failures)")
        #expect(report.entriesVerified == 3)
        let reopened = try await open()
        #expect(await reopened.size == 3)
        await reopened.close()
    }

    @Test("the newest checkpoint is reissued for a reader only when the log grew and the last is old enough")
    func latestCheckpointIsRateLimited() async throws {
        let log = try await open(.init(checkpointEveryEntries: nil, checkpointInterval: nil))
        for i in 0..<2 { _ = try await log.append(draft(i)) }
        let first = try await log.latestCheckpoint(issuingIfOlderThan: .seconds(3600))
        #expect(first.size == 2)
        _ = try await log.append(draft(2))
        // Young: the last one is served, though the log grew.
        #expect(try await log.latestCheckpoint(issuingIfOlderThan: .seconds(3600)).note == first.note)
        // Old enough: a new one of the current size.
        let second = try await log.latestCheckpoint(issuingIfOlderThan: .zero)
        #expect(second.size == 3)
        // Not grown: the last one, however old.
        #expect(try await log.latestCheckpoint(issuingIfOlderThan: .zero).note == second.note)
        await log.close()
        #expect(try verify().isValid)
    }

    @Test("two writers on one log (a server and a command): every append lands, in one verified tree")
    func twoWritersShareTheLog() async throws {
        let server = try await open()
        let command = try await open()
        // Interleaved one by one: each writer's state is stale at every append after the other's.
        var sequences: [UInt64] = []
        for i in 0..<6 {
            sequences.append(try await (i % 2 == 0 ? server : command).append(draft(i)).sequence)
        }
        #expect(sequences == Array(0..<6))
        // And at once, from both.
        try await withThrowingTaskGroup(of: UInt64.self) { group in
            for i in 6..<46 {
                let log = i % 2 == 0 ? server : command
                group.addTask { try await log.append(draft(i)).sequence }
            }
            for try await sequence in group { sequences.append(sequence) }
        }
        #expect(sequences.sorted() == Array(0..<46))
        _ = try await command.checkpoint()
        await server.close()
        await command.close()
        let report = try verify()
        #expect(report.isValid, "\(report.failures)")
        #expect(report.entriesVerified == 46)
    }

    @Test("a stored checkpoint with a negative size is reported, not a crash")
    func negativeCheckpointSizeIsReported() async throws {
        _ = try await filledLog(7)
        try await database().write { db in try db.execute(sql: "UPDATE checkpoints SET size = -1") }
        var reported = false
        do {
            reported = try !verify().isValid
        } catch {
            reported = true
        }
        #expect(reported)
        await #expect(throws: AuditError.self) { _ = try await open() }
    }

    @Test func reopenContinuesTheLog() async throws {
        _ = try await filledLog(7)
        let log = try await open()
        let r = try await log.append(draft(7))
        #expect(r.sequence == 7)
        await log.close()
        let report = try verify()
        #expect(report.isValid, "\(report.failures)")
        #expect(report.entriesVerified == 8)
    }

    @Test func checkpointsByTime() async throws {
        let log = try await open(.init(checkpointEveryEntries: nil, checkpointInterval: .milliseconds(50)))
        _ = try await log.append(draft(0))
        var count = 0
        for _ in 0..<100 where count == 0 {
            try await Task.sleep(for: .milliseconds(20))
            count = try log.reader.checkpoints().count
        }
        #expect(count >= 1)
        await log.close()
    }

    @Test func queryFilters() async throws {
        _ = try await filledLog(12)
        let reader = try AuditLogReader(directory: directory)
        #expect(try reader.query(AuditQuery(actorId: "officer-1")).map(\.sequence) == [1, 4, 7, 10])
        #expect(try reader.query(AuditQuery(action: "export", limit: 2)).map(\.sequence) == [1, 3])
        #expect(try reader.query(AuditQuery(subject: "p-1")).count == 12)
        #expect(try reader.query(AuditQuery(subject: "nobody")).isEmpty)
    }

    @Test("an export ends at the newest checkpoint, so it always verifies; a checkpoint first takes in the rest")
    func exportEndsAtTheNewestCheckpoint() async throws {
        _ = try await filledLog(6)  // checkpoints every 5 entries: the newest covers 5
        let out = directory.appendingPathComponent("export-cut")
        #expect(try AuditLogReader(directory: directory).export(to: out).entries == 5)
        let log = try await open()
        #expect(try await log.checkpoint().size == 6)
        await log.close()
        #expect(try AuditLogReader(directory: directory).export(to: out).entries == 6)
    }

    @Test func exportWritesDocumentedFiles() async throws {
        _ = try await filledLog(6)
        let log = try await open()
        _ = try await log.checkpoint()
        await log.close()
        let out = directory.appendingPathComponent("export")
        let summary = try AuditLogReader(directory: directory).export(to: out)
        #expect(summary.entries == 6)
        #expect(summary.verifierKeys == [signer.verifier.vkey])
        let lines = try String(contentsOf: out.appendingPathComponent("entries.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 6)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["index"] as? Int == 0)
        let bytes = b64(first["entry"] as! String)
        #expect(try AuditEntryCodec.decode(bytes).requestId == "req-0")
        let notes = try String(contentsOf: out.appendingPathComponent("checkpoints.txt"), encoding: .utf8)
        #expect(notes.components(separatedBy: "\n\n").count == 2 * summary.checkpoints + 1)
    }

    // MARK: Tampering

    @Test func flippedByteIsNamed() async throws {
        _ = try await filledLog(20)
        try await database().write {
            try $0.execute(sql: "UPDATE entries SET entry = CAST(entry AS BLOB) || x'' WHERE seq = 7")
            let bytes = try Data.fetchOne($0, sql: "SELECT entry FROM entries WHERE seq = 7")!
            var b = Array(bytes)
            b[b.count - 2] ^= 0x01  // inside the request id
            try $0.execute(sql: "UPDATE entries SET entry = ? WHERE seq = 7", arguments: [Data(b)])
        }
        let report = try verify()
        #expect(!report.isValid)
        #expect(report.failures.first?.entryIndex == 7)
    }

    @Test func flippedByteWithRebuiltTreeIsCaughtByCheckpoint() async throws {
        _ = try await filledLog(20)
        try await database().write { db in
            let bytes = try Data.fetchOne(db, sql: "SELECT entry FROM entries WHERE seq = 7")!
            var b = Array(bytes)
            b[b.count - 2] ^= 0x01
            try db.execute(sql: "UPDATE entries SET entry = ? WHERE seq = 7", arguments: [Data(b)])
            // The attacker rebuilds the node table so it matches the altered entries.
            try db.execute(sql: "DELETE FROM nodes")
            var range = CompactRange()
            var pos: Int64 = 0
            for data in try Data.fetchAll(db, sql: "SELECT entry FROM entries ORDER BY seq") {
                for h in range.append(Merkle.leafHash(Array(data))) {
                    try db.execute(sql: "INSERT INTO nodes (pos, hash) VALUES (?, ?)", arguments: [pos, Data(h)])
                    pos += 1
                }
            }
        }
        let report = try verify()
        #expect(report.failures.first?.entryIndex == nil)
        #expect(report.failures.first?.checkpointNumber == 2)  // size 10 is the first checkpoint covering entry 7
    }

    @Test func deletedEntryIsNamed() async throws {
        _ = try await filledLog(20)
        try await database().write { try $0.execute(sql: "DELETE FROM entries WHERE seq = 7") }
        let report = try verify()
        #expect(report.failures.first?.entryIndex == 7)
        #expect(report.failures.first?.rule.contains("missing") == true)
    }

    @Test func reorderedEntriesAreNamed() async throws {
        _ = try await filledLog(20)
        try await database().write { db in
            let a = try Data.fetchOne(db, sql: "SELECT entry FROM entries WHERE seq = 7")!
            let b = try Data.fetchOne(db, sql: "SELECT entry FROM entries WHERE seq = 8")!
            try db.execute(sql: "UPDATE entries SET entry = ? WHERE seq = 7", arguments: [b])
            try db.execute(sql: "UPDATE entries SET entry = ? WHERE seq = 8", arguments: [a])
        }
        let report = try verify()
        #expect(report.failures.first?.entryIndex == 7)
        #expect(report.failures.first?.rule.contains("sequence number 8") == true)
    }

    @Test func truncationWithCheckpointByAnotherKeyIsNamed() async throws {
        _ = try await filledLog(20)
        let kept = try AuditLogReader(directory: directory).checkpoints().last!
        #expect(kept.size == 20)
        try await database().write { db in
            try db.execute(sql: "DELETE FROM entries WHERE seq >= 12")
            try db.execute(sql: "DELETE FROM nodes WHERE pos >= 2 * 12 - 2")  // 12 leaves -> 22 stored nodes
            try db.execute(sql: "DELETE FROM checkpoints WHERE size > 12")
        }
        let forger = try makeSigner(signer.verifier.name)
        let forged = try await AuditLog(
            directory: directory, signer: forger,
            configuration: .init(checkpointEveryEntries: nil, checkpointInterval: nil))
        let c = try await forged.checkpoint()
        #expect(c.size == 12)
        await forged.close()
        let report = try verify(trusted: kept.note)
        #expect(report.failures.first?.checkpointNumber == 3)  // the re-issued checkpoint (ids 3 and 4 were deleted)
        #expect(report.failures.contains { $0.isAboutTrustedCheckpoint })
        // Even with the forger's key trusted, the auditor's checkpoint shows the log was truncated.
        let lenient = try AuditLogReader(directory: directory).verify(
            verifiers: [signer.verifier, forger.verifier], trustedCheckpoint: kept.note)
        #expect(lenient.failures.count == 1)
        #expect(lenient.failures.first?.isAboutTrustedCheckpoint == true)
    }

    @Test func damagedLogIsNotAppendedTo() async throws {
        _ = try await filledLog(9)
        try await database().write { try $0.execute(sql: "DELETE FROM nodes WHERE pos = (SELECT max(pos) FROM nodes)") }
        await #expect(throws: AuditError.self) { try await open() }
    }

    @Test func timesNeverGoBackwards() async throws {
        let receipts = try await filledLog(30)
        let times = receipts.map(\.timeMicroseconds)
        #expect(times == times.sorted())
        #expect(receipts.map(\.sequence) == Array(0..<30))
    }

    @Test func trustedCheckpointProvesAppendOnly() async throws {
        _ = try await filledLog(10)
        let kept = try AuditLogReader(directory: directory).checkpoints().last!
        let log = try await open()
        for i in 10..<23 { _ = try await log.append(draft(i)) }
        await log.close()
        let report = try verify(trusted: kept.note)
        #expect(report.isValid, "\(report.failures)")
        #expect(report.trustedCheckpointSize == 10)
        #expect(report.consistencyProofVerified)
    }
}

/// The group-commit histogram's buckets (`/metrics` shows them cumulatively).
struct GroupCommitStatisticsTests {
    @Test func eachDurationFallsInTheFirstBucketThatHoldsIt() {
        var stats = GroupCommitStatistics()
        let durations = [0.0, 0.001, 0.0011, 0.003, 0.05, 0.0500001, 2.5, 7.0]
        for (i, seconds) in durations.enumerated() { stats.recordCommit(entries: i, seconds: seconds) }
        stats.recordFailure()
        // Bounds: 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, then the rest.
        #expect(stats.bucketCounts == [2, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1])
        #expect(stats.commits == 8 && stats.failures == 1 && stats.entries == 28)
        #expect(stats.slowest == 7.0 && abs(stats.seconds - durations.reduce(0, +)) < 1e-12)
    }
}
