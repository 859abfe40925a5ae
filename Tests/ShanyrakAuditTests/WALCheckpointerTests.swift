import Foundation
import GRDB
import Testing

@testable import ShanyrakAudit

/// The audit log's WAL is copied into the database file by a thread of its own, not by the commits.
struct WALCheckpointerTests {
    @Test func theWALIsCheckpointedOffTheCommitPathAndTheLogStaysWhole() async throws {
        let directory = try temporaryDirectory()
        let signer = try makeSigner()
        let log = try await AuditLog(
            directory: directory, signer: signer,
            configuration: .init(
                checkpointEveryEntries: 50, checkpointInterval: nil, walCheckpointInterval: .milliseconds(20)))
        let checkpointer = try #require(log.checkpointer)
        for i in 0..<300 { _ = try await log.append(draft(i)) }
        // Within a few passes every frame of the WAL is in the database file.
        var pass = checkpointer.lastPass
        for _ in 0..<250 where !(pass.logFrames > 0 && pass.checkpointed == pass.logFrames) {
            try await Task.sleep(for: .milliseconds(20))
            pass = checkpointer.lastPass
        }
        #expect(pass.logFrames > 0 && pass.checkpointed == pass.logFrames)
        // The writer checkpoints only past its bound, far beyond SQLite's default of 1,000 pages.
        let bound = try await log.writerAutocheckpointPages()
        #expect(bound == AuditStore.writerAutocheckpointPages)
        _ = try await log.append(draft(300))
        await log.close()
        checkpointer.stop()  // a second stop is harmless
        // Nothing was lost or reordered by checkpoints running beside the commits.
        let report = try AuditLogReader(directory: directory).verify(
            verifiers: [signer.verifier], trustedCheckpoint: nil)
        #expect(report.isValid && report.entriesVerified == 301)
    }

    @Test func withoutAnIntervalThereIsNoCheckpointThread() async throws {
        let log = try await AuditLog(
            directory: try temporaryDirectory(), signer: nil, configuration: .init(walCheckpointInterval: nil))
        #expect(log.checkpointer == nil)
        _ = try await log.append(draft(0))
        await log.close()
    }
}
