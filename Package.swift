// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Kizuna target: Swift 6 language mode plus the upcoming
/// features the Hummingbird codebase uses, so dependencies that leak into a public API
/// are marked `public import`.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Kizuna",
    platforms: [.macOS(.v15), .iOS(.v18)],
    products: [
        .executable(name: "kizuna", targets: ["KizunaCLI"]),
        // The wallet-side product: core types, encoding, signing, and the wallet helpers.
        // It depends on no server package (no RocksDB, no NIO) so a phone app can use it.
        .library(name: "KizunaWallet", targets: ["KizunaWallet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Already in the graph through hummingbird and postgres-nio; named for the API's HTTPS.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Layer 1 — Core: types, canonical encoding, hashing, signatures. No I/O.
        // SHA-256 from the system's libcrypto, without an allocation per hash (ADR 0026).
        .systemLibrary(
            name: "CSHA256",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "KizunaCore",
            dependencies: ["CSHA256", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Wallet side: keys, addresses, building and signing transactions.
        .target(
            name: "KizunaWallet",
            dependencies: ["KizunaCore"],
            swiftSettings: swiftSettings
        ),
        // Key files sealed with a passphrase (scrypt + ChaCha20-Poly1305, ADR 0009) for the
        // operator's tools; kept out of the wallet product so a phone app does not link them.
        .target(
            name: "KizunaKeyStore",
            dependencies: [
                "KizunaCore", "KizunaWallet",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The storage protocol (declared where it is used) and an in-memory store.
        .target(
            name: "KizunaStorage",
            dependencies: ["KizunaCore"],
            swiftSettings: swiftSettings
        ),
        // The state commitment: a sparse Merkle radix tree over the storage protocol.
        .target(
            name: "KizunaStateTree",
            dependencies: ["KizunaCore", "KizunaStorage"],
            swiftSettings: swiftSettings
        ),
        // Layer 2 — Ledger: the deterministic state machine.
        .target(
            name: "KizunaLedger",
            dependencies: ["KizunaCore", "KizunaStorage", "KizunaStateTree"],
            swiftSettings: swiftSettings
        ),
        // Layer 3 — Consensus: a pure Tendermint-style state machine, the signer's safety
        // rules, and the deterministic simulator. No sockets, timers or disk.
        .target(
            name: "KizunaConsensus",
            dependencies: ["KizunaCore"],
            swiftSettings: swiftSettings
        ),
        // The chain: block store, commit certificates, startup verification.
        .target(
            name: "KizunaChain",
            dependencies: ["KizunaCore", "KizunaStorage", "KizunaLedger", "KizunaConsensus"],
            swiftSettings: swiftSettings
        ),
        // The auditor's remote source: a chain read block by block from a node's API
        // (`kizuna audit --remote`), verified by KizunaChain's auditor like a data folder.
        .target(
            name: "KizunaAudit",
            dependencies: ["KizunaCore", "KizunaChain"],
            swiftSettings: swiftSettings
        ),
        // The indexer (`kizuna index`): follows a node's committed blocks over its API, verifies
        // them by replay as the auditor does, and writes them into PostgreSQL (docs/indexer.md).
        .target(
            name: "KizunaIndexer",
            dependencies: [
                "KizunaCore", "KizunaStorage", "KizunaLedger", "KizunaChain", "KizunaAudit", "KizunaNode",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 4 — Store: RocksDB behind the storage protocol.
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        .target(
            name: "KizunaRocksDB",
            dependencies: ["CRocksDB", "KizunaCore", "KizunaStorage"],
            swiftSettings: swiftSettings
        ),
        // Layer 5 — Network: the encrypted link, peer framing, the authenticated handshake
        // (pure state machines), their SwiftNIO channel handlers, and the peer protocol's messages.
        .target(
            name: "KizunaNetwork",
            dependencies: [
                "KizunaCore", "KizunaConsensus",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 6 — Node: the replica's services — the node actor (chain, mempool, admission),
        // the consensus engine, configuration (TOML) and metrics.
        .target(
            name: "KizunaNode",
            dependencies: [
                "KizunaCore", "KizunaStorage", "KizunaLedger", "KizunaChain", "KizunaRocksDB", "KizunaConsensus", "KizunaNetwork",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 7 — API: HTTP routes, access control and views over a node.
        .target(
            name: "KizunaAPI",
            dependencies: [
                "KizunaCore", "KizunaStorage", "KizunaLedger", "KizunaChain", "KizunaNode",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            // The OpenAPI document it serves; docs/openapi.yaml is a link to this file.
            resources: [.copy("Resources/openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        // Layer 7, beside the API — Console: the web console at /console (issue 17,
        // docs/console.md): server-rendered Mustache templates and SVG charts over a node.
        .target(
            name: "KizunaConsole",
            dependencies: [
                "KizunaCore", "KizunaStorage", "KizunaLedger", "KizunaChain", "KizunaNode",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // The templates and stylesheets it serves.
            resources: [.copy("Resources/templates"), .copy("Resources/static")],
            swiftSettings: swiftSettings
        ),
        // Layer 8 — Server: wires one process — store, node, consensus engine, peer network
        // and API — under one service group.
        .target(
            name: "KizunaServer",
            dependencies: [
                "KizunaCore", "KizunaStorage", "KizunaChain", "KizunaRocksDB", "KizunaConsensus", "KizunaNetwork", "KizunaNode", "KizunaAPI", "KizunaConsole",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The card custodian (`kizuna card-service`, docs/cards.md, issue 19): holds card keys
        // sealed under the operator's passphrase, checks PINs, signs and settles card payments.
        // Its own process beside the node, on the API's conventions (signed requests, problems).
        .target(
            name: "KizunaCardService",
            dependencies: [
                "KizunaCore", "KizunaWallet", "KizunaStorage", "KizunaLedger", "KizunaRocksDB", "KizunaNode", "KizunaAPI",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks (`kizuna bench …`): the single node, the ledger, the auditor's tool and the
        // four-validator network with its HTTP load client. Only the CLI depends on it.
        .target(
            name: "KizunaBench",
            dependencies: [
                "KizunaCore", "KizunaWallet", "KizunaStorage", "KizunaStateTree", "KizunaLedger", "KizunaChain", "KizunaRocksDB", "KizunaConsensus", "KizunaNetwork", "KizunaNode", "KizunaAPI", "KizunaConsole", "KizunaIndexer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 9 — CLI: argument parsing only.
        .executableTarget(
            name: "KizunaCLI",
            dependencies: [
                "KizunaCore", "KizunaWallet", "KizunaKeyStore", "KizunaNode", "KizunaAPI", "KizunaServer", "KizunaBench", "KizunaAudit", "KizunaIndexer", "KizunaChain", "KizunaLedger", "KizunaRocksDB", "KizunaConsensus", "KizunaNetwork", "KizunaCardService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "KizunaCoreTests", dependencies: ["KizunaCore", "KizunaWallet"], resources: [.copy("Vectors")], swiftSettings: swiftSettings),
        .testTarget(name: "KizunaStorageTests", dependencies: ["KizunaStorage", "KizunaRocksDB"], swiftSettings: swiftSettings),
        // Test support shared by test targets (they cannot share sources): the recording proxy.
        .target(
            name: "KizunaTestSupport",
            dependencies: ["KizunaNetwork", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Tests/KizunaTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "KizunaNetworkTests", dependencies: ["KizunaCore", "KizunaConsensus", "KizunaNetwork", "KizunaTestSupport", .product(name: "Crypto", package: "swift-crypto"), .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio")], swiftSettings: swiftSettings),
        .testTarget(name: "KizunaConsensusTests", dependencies: ["KizunaCore", "KizunaConsensus"], swiftSettings: swiftSettings),
        .testTarget(name: "KizunaStateTreeTests", dependencies: ["KizunaCore", "KizunaStorage", "KizunaStateTree"], swiftSettings: swiftSettings),
        .testTarget(name: "KizunaLedgerTests", dependencies: ["KizunaCore", "KizunaWallet", "KizunaStorage", "KizunaStateTree", "KizunaLedger", "KizunaChain"], swiftSettings: swiftSettings),
        .testTarget(name: "KizunaNodeTests", dependencies: ["KizunaTestSupport", "KizunaCore", "KizunaWallet", "KizunaKeyStore", "KizunaAudit", "KizunaIndexer", .product(name: "PostgresNIO", package: "postgres-nio"), "KizunaNode", "KizunaAPI", "KizunaConsole", "KizunaServer", "KizunaCardService", "KizunaChain", "KizunaRocksDB", "KizunaLedger", "KizunaStorage", "KizunaConsensus", "KizunaNetwork", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log")], swiftSettings: swiftSettings),
    ]
)

// MARK: - Fuzzing (only with KIZUNA_FUZZ set; see tools/fuzz and docs/reliability.md)
//
// Without the variable nothing below runs and the package is exactly the one above. With it,
// every Kizuna library is compiled with libFuzzer's coverage instrumentation and one fuzz
// executable per input boundary is added. Build them one product at a time (`--product`),
// as tools/fuzz does: they are libFuzzer programs, not part of the normal build.
if Context.environment["KIZUNA_FUZZ"] != nil {
    let fuzzFlags = ["-sanitize=fuzzer"] + (Context.environment["KIZUNA_FUZZ_ASAN"] != nil ? ["-sanitize=address"] : [])
    for target in package.targets where target.type == .regular && target.name.hasPrefix("Kizuna") {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(fuzzFlags)]
    }
    package.targets += [
        // Declares libFuzzer's LLVMFuzzerRunDriver, which each fuzz executable's entry calls.
        .target(name: "CFuzzerDriver", path: "Fuzz/Sources/CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["KizunaCore", "CFuzzerDriver"], path: "Fuzz/Sources/FuzzSupport", swiftSettings: swiftSettings + [.unsafeFlags(fuzzFlags)]),
    ]
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzDecoder", ["KizunaCore"]),
        ("FuzzTransaction", ["KizunaCore"]),
        ("FuzzBlock", ["KizunaCore"]),
        ("FuzzCommitCertificate", ["KizunaCore"]),
        ("FuzzText", ["KizunaCore"]),
        ("FuzzGenesis", ["KizunaCore"]),
        ("FuzzFrame", ["KizunaCore", "KizunaNetwork", .product(name: "NIOCore", package: "swift-nio")]),
        ("FuzzHandshake", ["KizunaCore", "KizunaNetwork"]),
        ("FuzzConsensusMessage", ["KizunaCore", "KizunaConsensus"]),
        ("FuzzNodeConfiguration", ["KizunaNode"]),
        ("FuzzPeerMessage", ["KizunaCore", "KizunaNetwork", "KizunaConsensus"]),
        ("FuzzStoredBlock", ["KizunaCore", "KizunaChain"]),
    ]
    for fuzzTarget in fuzzTargets {
        package.targets.append(.executableTarget(
            name: fuzzTarget.name,
            dependencies: ["FuzzSupport"] + fuzzTarget.dependencies,
            path: "Fuzz/Sources/\(fuzzTarget.name)",
            swiftSettings: swiftSettings + [.unsafeFlags(fuzzFlags + ["-parse-as-library"])],
            linkerSettings: [.unsafeFlags(fuzzFlags)]
        ))
    }
}
