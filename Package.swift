// swift-tools-version:6.1
import PackageDescription

/// One set of Swift settings for every target, as Hummingbird uses them.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Shanyrak",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shanyrak", targets: ["shanyrak"]),
        .library(name: "ShanyrakCrypto", targets: ["ShanyrakCrypto"]),
        .library(name: "ShanyrakCore", targets: ["ShanyrakCore"]),
        .library(name: "ShanyrakPolicy", targets: ["ShanyrakPolicy"]),
        .library(name: "ShanyrakAudit", targets: ["ShanyrakAudit"]),
        .library(name: "ShanyrakStore", targets: ["ShanyrakStore"]),
        .library(name: "ShanyrakIngest", targets: ["ShanyrakIngest"]),
        .library(name: "ShanyrakAccess", targets: ["ShanyrakAccess"]),
        .library(name: "ShanyrakServer", targets: ["ShanyrakServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // One C call Swift cannot make (sqlite3_config is variadic), for SQLite's process-wide settings.
        .target(name: "CSQLiteTuning", linkerSettings: [.linkedLibrary("sqlite3")]),
        // Process settings Swift cannot make itself: no core dumps (prctl is variadic), and the removal of
        // secrets from the environment block (a walk over `environ`, a C global Swift 6 may not touch).
        .target(name: "CProcessHardening"),
        .target(
            name: "ShanyrakCrypto",
            dependencies: ["CSodium", "CProcessHardening", "ShanyrakCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShanyrakCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShanyrakPolicy",
            dependencies: ["ShanyrakCore", "ShanyrakCrypto"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShanyrakAudit",
            dependencies: [
                "ShanyrakCrypto", "ShanyrakCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShanyrakStore",
            dependencies: [
                "ShanyrakCrypto", "ShanyrakCore", "CSQLiteTuning",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShanyrakIngest",
            dependencies: ["ShanyrakCrypto", "ShanyrakCore", "ShanyrakStore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShanyrakAccess",
            dependencies: ["ShanyrakCore", "ShanyrakCrypto", "ShanyrakStore", "ShanyrakPolicy", "ShanyrakAudit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ShanyrakServer",
            dependencies: [
                "ShanyrakCore", "ShanyrakCrypto", "ShanyrakStore", "ShanyrakIngest", "ShanyrakAccess",
                "ShanyrakAudit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
            ],
            resources: [.copy("openapi.yaml")],
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .executableTarget(
            name: "shanyrak",
            dependencies: [
                "ShanyrakCrypto", "ShanyrakCore", "ShanyrakPolicy", "ShanyrakAudit", "ShanyrakStore",
                "ShanyrakIngest", "ShanyrakAccess", "ShanyrakServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets (seeded random numbers, directories removed at exit).
        .target(name: "ShanyrakTestSupport", path: "Tests/ShanyrakTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "ShanyrakCryptoTests", dependencies: ["ShanyrakCrypto", "ShanyrakCore"], swiftSettings: swiftSettings),
        .testTarget(name: "ShanyrakCoreTests", dependencies: ["ShanyrakCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ShanyrakPolicyTests",
            dependencies: ["ShanyrakPolicy", "ShanyrakCore", "ShanyrakCrypto", "ShanyrakTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShanyrakAuditTests",
            dependencies: [
                "ShanyrakAudit", "ShanyrakCrypto", "ShanyrakTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShanyrakIngestTests",
            dependencies: [
                "ShanyrakIngest", "ShanyrakStore", "ShanyrakCrypto", "ShanyrakCore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShanyrakServerTests",
            dependencies: [
                "ShanyrakServer", "ShanyrakAccess", "ShanyrakIngest", "ShanyrakStore", "ShanyrakCrypto",
                "ShanyrakCore", "ShanyrakPolicy", "ShanyrakAudit", "ShanyrakTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ShanyrakAccessTests",
            dependencies: [
                "ShanyrakAccess", "ShanyrakIngest", "ShanyrakStore", "ShanyrakCrypto", "ShanyrakCore", "ShanyrakPolicy",
                "ShanyrakAudit", "ShanyrakTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
