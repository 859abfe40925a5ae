// swift-tools-version:6.1
import PackageDescription

// Benchmarks live in their own package so that `make test` stays lean.
// Run: cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
let package = Package(
    name: "ShanyrakBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Shanyrak", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CryptoBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ShanyrakCrypto", package: "Shanyrak"),
                .product(name: "ShanyrakCore", package: "Shanyrak"),
            ],
            path: "Benchmarks/CryptoBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "PolicyBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ShanyrakPolicy", package: "Shanyrak"),
                .product(name: "ShanyrakCore", package: "Shanyrak"),
                .product(name: "ShanyrakAccess", package: "Shanyrak"),
            ],
            path: "Benchmarks/PolicyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "AccessBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ShanyrakAccess", package: "Shanyrak"),
                .product(name: "ShanyrakStore", package: "Shanyrak"),
                .product(name: "ShanyrakCrypto", package: "Shanyrak"),
                .product(name: "ShanyrakCore", package: "Shanyrak"),
            ],
            path: "Benchmarks/AccessBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "AuditBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ShanyrakAudit", package: "Shanyrak"),
            ],
            path: "Benchmarks/AuditBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
