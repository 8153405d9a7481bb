import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KizunaCore
import KizunaWallet
import KizunaTestSupport

/// A `kizuna node` process started by a test, in its own temporary folder with its own
/// genesis, key, configuration and free port on 127.0.0.1.
final class NodeProcess: @unchecked Sendable {
    let folder: URL
    let port: Int
    let genesis: Genesis
    private(set) var process: Process?
    private var runCount = 0

    static let validatorKey = DevelopmentKeys.privateKey("validator-city")
    static let registrar = DevelopmentKeys.privateKey("registrar")
    static let coinIssuer = DevelopmentKeys.privateKey("coin-issuer")

    init(name: String) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-\(name)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try NodeProcess.freePort()
        genesis = Genesis(
            chainId: "local-test-node",
            genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
            validators: [Validator(name: "city", organisation: "Test City", publicKey: NodeProcess.validatorKey.publicKey, votingPower: 1)],
            authorities: Authorities(coinIssuer: NodeProcess.coinIssuer.publicKey, registrar: NodeProcess.registrar.publicKey, city: DevelopmentKeys.privateKey("city").publicKey, auditor: DevelopmentKeys.privateKey("auditor").publicKey),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy
        )
        try genesis.jsonData().write(to: folder.appendingPathComponent("genesis.json"))
        try KeyFile(key: NodeProcess.validatorKey).write(path: folder.appendingPathComponent("validator.key.json").path)
        let configuration = """
        {"dataDirectory": "data", "genesisFile": "genesis.json", "validatorKeyFile": "validator.key.json",
         "api": {"host": "127.0.0.1", "port": \(port)}, "blockIntervalMilliseconds": 20,
         "emptyBlockIntervalMilliseconds": 500, "logLevel": "info"}
        """
        try Data(configuration.utf8).write(to: folder.appendingPathComponent("node.json"))
    }

    var dataDirectory: String { folder.appendingPathComponent("data").path }
    var client: NodeClient { NodeClient(baseURL: URL(string: "http://127.0.0.1:\(port)")!) }
    var logPath: String { folder.appendingPathComponent("node-\(runCount).log").path }

    /// The `kizuna` executable built beside the test bundle.
    static func executable() -> URL {
        var candidates: [URL] = []
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("kizuna"))
            directory = directory.deletingLastPathComponent()
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/kizuna"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    /// Starts the node and waits (a bounded number of polls) until its API answers (or, with
    /// `isReady`, until that says so). Returns false if the process exited instead.
    @discardableResult
    func start(isReady: (@Sendable () async -> Bool)? = nil) async throws -> Bool {
        runCount += 1
        let process = Process()
        process.executableURL = NodeProcess.executable()
        process.arguments = ["node", "--config", folder.appendingPathComponent("node.json").path]
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        for _ in 0..<1200 {
            if !process.isRunning { return false }
            if let isReady {
                if await isReady() { return true }
            } else if let reply = try? await client.get("v1/status"), reply.statusCode == 200 {
                return true
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }

    /// SIGKILL: no chance to flush or clean up.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait for a graceful stop.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Waits for the process to exit by itself (bounded); returns its status.
    func waitForExit() async throws -> Int32? {
        guard let process else { return nil }
        for _ in 0..<1200 where process.isRunning {
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    func remove() {
        kill()
        try? FileManager.default.removeItem(at: folder)
    }

    /// A free port on 127.0.0.1 below the ephemeral range (`TestPorts`).
    static func freePort() throws -> Int { try TestPorts.freePort() }
}

/// SplitMix64: a seeded generator, so a failing run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
