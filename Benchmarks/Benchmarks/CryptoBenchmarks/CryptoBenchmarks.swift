import Benchmark
import ShanyrakCore
import ShanyrakCrypto

// Seal/open of one indicator value and pseudonymisation of one IIN: the per-value
// and per-row costs of ingest.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    let key = try! SecureBytes.random(count: 32)
    let subject = Pseudonym(bytes: [UInt8](repeating: 7, count: 16))!
    let iin = try! IIN(validating: "900101300017")
    let pseudonymiser = try! Pseudonymiser(key: SecureBytes.random(count: 32))

    Benchmark("seal value (ValueSealer)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var sealer = ValueSealer()
        for _ in benchmark.scaledIterations {
            blackHole(
                try sealer.seal("employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key))
        }
    }

    var sealer = ValueSealer()
    let sealed = try! sealer.seal("employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key)
    Benchmark("open value", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try SealedValueFormat.open(
                    sealed, subject: subject, indicator: "employment.status", keyVersion: 1, observedAt: "", source: "",
                    key: key))
        }
    }

    // Ingest's path: the iv (keyed BLAKE2b-128 of the associated data and the value, also the value's
    // MAC) and the seal, appended to a reused buffer as a record payload is built. Format 3 since
    // 2026-11-30; its iv key is derived once per loaded key (ValueKey), not per value.
    let valueKey = try! ValueKey(version: 1, key: key)
    /// Sealing one value after another into a reused buffer, as ingest builds a record payload.
    func sealing(_ name: String, _ seal: @escaping @Sendable (inout ValueSealer, inout [UInt8]) throws -> Void) {
        Benchmark(name, configuration: .init(scalingFactor: .kilo)) { benchmark in
            var sealer = ValueSealer()
            var out: [UInt8] = []
            out.reserveCapacity(256)
            for _ in benchmark.scaledIterations {
                out.removeAll(keepingCapacity: true)
                try seal(&sealer, &out)
                blackHole(out)
            }
        }
    }
    sealing("seal value, synthetic nonce (ingest)") { sealer, out in
        try sealer.sealRecordBound(
            "employed", subject: subject, indicator: "employment.status", observedAt: "2026-02-01", source: "labour",
            key: valueKey, appendingTo: &out)
    }

    var recordBound: [UInt8] = []
    try! sealer.sealRecordBound(
        "employed", subject: subject, indicator: "employment.status", observedAt: "2026-02-01", source: "labour",
        key: valueKey, appendingTo: &recordBound)
    // The access path opens values and their record's date and source where SQLite holds them.
    let date = Array("2026-02-01".utf8)
    let source = Array("labour".utf8)
    Benchmark("open value, synthetic nonce (views)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        recordBound.withUnsafeBytes { sealed in
            date.withUnsafeBytes { date in
                source.withUnsafeBytes { source in
                    for _ in benchmark.scaledIterations {
                        blackHole(
                            try? SealedValueFormat.open(
                                sealed, subject: subject, indicator: "employment.status", keyVersion: 1,
                                observedAt: date, source: source, key: key))
                    }
                }
            }
        }
    }

    // Format 2 (2026-11-30, before format 3), for comparison: iv keyed by `valuemac` over subject,
    // indicator and value only.
    let ivKey = try! SecureBytes.random(count: 32)
    sealing("seal value, synthetic nonce, format 2") { sealer, out in
        try sealer.sealSynthetic(
            "employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key, ivKey: ivKey,
            appendingTo: &out)
    }

    var synthetic: [UInt8] = []
    try! sealer.sealSynthetic(
        "employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key, ivKey: ivKey,
        appendingTo: &synthetic)
    Benchmark("open value, synthetic nonce, format 2", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try SealedValueFormat.open(
                    synthetic, subject: subject, indicator: "employment.status", keyVersion: 1, observedAt: "",
                    source: "", key: key))
        }
    }

    Benchmark("pseudonymise IIN", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(pseudonymiser.person(iin))
        }
    }

    Benchmark("validate IIN", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try IIN(validating: "900101300017"))
        }
    }
}
