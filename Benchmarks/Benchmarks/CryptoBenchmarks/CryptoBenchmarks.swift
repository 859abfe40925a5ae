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

    // Ingest's path since 2026-11-30: the iv (keyed BLAKE2b-128, also the value's MAC) and the
    // seal, appended to a reused buffer as a record payload is built.
    let ivKey = try! SecureBytes.random(count: 32)
    Benchmark("seal value, synthetic nonce (ingest)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var sealer = ValueSealer()
        var out: [UInt8] = []
        out.reserveCapacity(256)
        for _ in benchmark.scaledIterations {
            out.removeAll(keepingCapacity: true)
            try sealer.sealSynthetic(
                "employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key, ivKey: ivKey,
                appendingTo: &out)
            blackHole(out)
        }
    }

    var synthetic: [UInt8] = []
    try! sealer.sealSynthetic(
        "employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key, ivKey: ivKey,
        appendingTo: &synthetic)
    Benchmark("open value, synthetic nonce (views)", configuration: .init(scalingFactor: .kilo)) { benchmark in
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
