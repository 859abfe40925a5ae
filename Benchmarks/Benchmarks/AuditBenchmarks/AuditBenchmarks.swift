import Benchmark
import Foundation
import ShanyrakAudit

// The verifiable audit log (issue 4 targets: >= 50,000 durable appends/s with 64 concurrent appenders;
// `audit verify` of 1,000,000 entries <= 3 s; an inclusion proof from a 10,000,000-entry log <= 100 us).
//
// Building a 10,000,000-entry log takes minutes, so it is made once by scripts/bench-audit.sh
// (default /tmp/shanyrak-bench-audit/log-10m) and only read here; set SHANYRAK_BENCH_AUDIT_LOG to use
// another data folder. Without one, a 100,000-entry log is made once in /tmp/shanyrak-bench-audit/log-100k.
// `audit verify` of 1,000,000 entries is timed by scripts/bench-audit.sh through the command line.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("AuditBenchmarks: \(message)\n".utf8))
    exit(1)
}

/// A synthetic entry like the access path writes for a household view.
func draft(_ i: Int) -> AuditEntryDraft {
    AuditEntryDraft(
        actorId: "sw-\(i % 97)", role: "social_worker", action: "read", view: "household",
        subjects: (0..<5).map { "p-\((i &* 7 &+ $0) % 100_003)" },
        indicatorIds: ["demographic.sex", "economic.income_monthly", "employment.status", "housing.tenure"],
        decision: i % 13 == 0 ? .deny : .allow, policyIds: ["social-worker.read-assigned-households"],
        policySetHash: Array(repeating: 0x5A, count: 32), requestId: "bench-\(i)")
}

/// Appends `count` entries with `appenders` concurrent tasks.
func append(_ log: AuditLog, count: Int, appenders: Int, offset: Int) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for w in 0..<appenders {
            group.addTask {
                var i = w
                while i < count {
                    _ = try await log.append(draft(offset + i))
                    i += appenders
                }
            }
        }
        try await group.waitForAll()
    }
}

/// A temporary data folder under /tmp.
func temporaryFolder(_ name: String) -> URL {
    let url = URL(fileURLWithPath: "/tmp/shanyrak-bench-audit/tmp-\(name)-\(getpid())")
    try? FileManager.default.removeItem(at: url)
    do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
        fail("cannot create \(url.path): \(error)")
    }
    return url
}

/// Runs an async closure to completion from synchronous set-up code.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    switch box.result {
    case .success(let v): return v
    case .failure(let e): fail("\(e)")
    case nil: fail("set-up did not finish")
    }
}

/// The append benchmark's log: set in its set-up hook, read by its runs, closed in its tear-down, one
/// after the other (the harness does not overlap them).
final class LogBox: @unchecked Sendable {
    var log: AuditLog?
    var folder: URL?
}

/// Written once by the set-up task before the semaphore is signalled, read after the wait.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5))

    // Inclusion proofs: random leaves of the big log (or of a 100,000-entry log made now).
    let bigLog = ProcessInfo.processInfo.environment["SHANYRAK_BENCH_AUDIT_LOG"] ?? "/tmp/shanyrak-bench-audit/log-10m"
    let proofFolder: URL
    if FileManager.default.fileExists(atPath: bigLog + "/" + AuditLog.fileName) {
        proofFolder = URL(fileURLWithPath: bigLog)
    } else {
        // Made once and kept (a file named "complete" marks a finished log), like the big one.
        proofFolder = URL(fileURLWithPath: "/tmp/shanyrak-bench-audit/log-100k")
        let marker = proofFolder.appendingPathComponent("complete")
        if !FileManager.default.fileExists(atPath: marker.path) {
            try? FileManager.default.removeItem(at: proofFolder)
            do { try FileManager.default.createDirectory(at: proofFolder, withIntermediateDirectories: true) } catch {
                fail("cannot create \(proofFolder.path): \(error)")
            }
            blocking {
                let log = try await AuditLog(
                    directory: proofFolder, signer: nil,
                    configuration: .init(checkpointEveryEntries: nil, checkpointInterval: nil))
                try await append(log, count: 100_000, appenders: 1024, offset: 0)
                await log.close()
            }
            FileManager.default.createFile(atPath: marker.path, contents: nil)
        }
    }
    let reader: AuditLogReader
    let size: UInt64
    do {
        reader = try AuditLogReader(directory: proofFolder)
        size = try reader.treeSize()
    } catch {
        fail("cannot open \(proofFolder.path): \(error)")
    }
    let root = (try? reader.rootHash(size: size)) ?? []
    Benchmark(
        "inclusion proof, \(size.formatted()) entries, random leaf",
        configuration: .init(scalingFactor: .one, maxIterations: 100_000)
    ) { benchmark in
        var rng = SystemRandomNumberGenerator()
        for _ in benchmark.scaledIterations {
            blackHole(try reader.inclusionProof(index: UInt64.random(in: 0..<size, using: &rng)))
        }
    }

    // Client side: checking one proof against the root (what a verifier does per receipt).
    let sample = (try? reader.inclusionProof(index: size / 3)).map { [$0] } ?? []
    if let proof = sample.first {
        guard proof.rootHash == root else { fail("proof root differs from the log's root") }
        Benchmark(
            "verify inclusion proof, \(size.formatted()) entries",
            configuration: .init(scalingFactor: .kilo)
        ) { benchmark in
            for _ in benchmark.scaledIterations {
                try proof.verify()
            }
        }
    }

    // Durable appends: 64 concurrent appenders, 32,000 entries per iteration (500 each), synchronous=FULL.
    // Each iteration starts and drains the 64 tasks, so its first and last groups are small: the figure
    // is a little below the steady rate of `shanyrak audit append-demo` (scripts/bench-audit.sh).
    // The log is made in the benchmark's set-up and removed in its tear-down, so that benchmark processes
    // that do not run this benchmark leave nothing behind.
    let appendLog = LogBox()
    let perIteration = 32_000
    Benchmark(
        "durable appends, 64 concurrent appenders, \(perIteration.formatted()) appends per iteration",
        configuration: .init(
            scalingFactor: .one, maxDuration: .seconds(20), maxIterations: 20,
            setup: {
                let folder = temporaryFolder("appends")
                appendLog.folder = folder
                appendLog.log = try await AuditLog(
                    directory: folder, signer: nil,
                    configuration: .init(checkpointEveryEntries: nil, checkpointInterval: nil))
            },
            teardown: {
                await appendLog.log?.close()
                if let folder = appendLog.folder { try? FileManager.default.removeItem(at: folder) }
            })
    ) { benchmark in
        guard let log = appendLog.log else { fail("the append log was not opened") }
        for i in benchmark.scaledIterations {
            try await append(log, count: perIteration, appenders: 64, offset: i * perIteration)
        }
    }
}
