import Benchmark
import ShanyrakCore
import ShanyrakCrypto

// Seal/open of one indicator value and pseudonymisation of one IIN: the per-value
// and per-row costs of ingest.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(3))

    let key = try! SecureBytes.random(count: 32)
    let subject = Pseudonym(bytes: [UInt8](repeating: 7, count: 16))!
    let iin = try! IIN(validating: "900101300017")
    let pseudonymiser = try! Pseudonymiser(key: SecureBytes.random(count: 32))

    Benchmark("seal value (ValueSealer)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        var sealer = ValueSealer()
        for _ in benchmark.scaledIterations {
            blackHole(try sealer.seal("employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key))
        }
    }

    var sealer = ValueSealer()
    let sealed = try! sealer.seal("employed", subject: subject, indicator: "employment.status", keyVersion: 1, key: key)
    Benchmark("open value", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(
                try SealedValueFormat.open(sealed, subject: subject, indicator: "employment.status", keyVersion: 1, key: key))
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
