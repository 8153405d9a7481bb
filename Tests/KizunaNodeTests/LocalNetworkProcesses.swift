import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KizunaConsensus
import KizunaNode
import KizunaCore
import KizunaWallet

/// Four validator processes (and optionally an observer) on 127.0.0.1, each with its own
/// folder, TOML configuration, signer record and free ports, on a four-validator genesis.
/// Started, killed and restarted one by one by the tests.
final class LocalNetworkProcesses: @unchecked Sendable {
    static let validatorNames = ["city", "chamber", "operator", "bank"]
    static let observerName = "observer"
    static let observerKey = DevelopmentKeys.privateKey("auditor")
    /// A fifth node with a validator key of its own that no genesis or configuration names:
    /// it joins the set by governance (ADR 0018). Made only when asked (`newcomer: true`).
    static let newcomerName = "newcomer"
    static let newcomerKey = DevelopmentKeys.privateKey("validator-newcomer")
    static let registrar = DevelopmentKeys.privateKey("registrar")
    static let coinIssuer = DevelopmentKeys.privateKey("coin-issuer")
    static let auditorToken = "local-auditor-token"
    static let auditorTokenSha256 = "a9f3b6b8b833a5f01463c31248e4b4cbd3d004dc18b0b00946ae3e61fb38e7cf"

    let folder: URL
    let genesis: Genesis
    var apiPorts: [String: Int] = [:]
    var peerPorts: [String: Int] = [:]
    /// The port the others dial to reach a node, when it differs from its listening port (a
    /// test's proxy in between); `writeConfigurations()` after changing it.
    var peerDialPorts: [String: Int] = [:]
    /// TOML appended to every node's configuration (e.g. an `[access]` section);
    /// `writeConfigurations()` after changing it.
    var extraConfiguration = ""
    private var processes: [String: Process] = [:]
    private var runCounts: [String: Int] = [:]

    static func key(_ name: String) -> PrivateKey {
        name == observerName ? observerKey : name == newcomerName ? newcomerKey : DevelopmentKeys.privateKey("validator-\(name)")
    }

    /// Every node this network made: the validators, the observer and any newcomer.
    let names: [String]

    /// Extra environment for the node processes (e.g. `KIZUNA_DEV_CLOCK_OFFSET_MS`).
    var environment: [String: String] = [:]

    /// How far the processes' clocks are shifted (`KIZUNA_DEV_CLOCK_OFFSET_MS`, set for the
    /// processes started after this is set). The clients `client(_:)` and `clock` make are
    /// shifted with them, so that their signed requests are not stale to the nodes.
    var clockOffsetMilliseconds: Int64 = 0 {
        didSet { environment["KIZUNA_DEV_CLOCK_OFFSET_MS"] = String(clockOffsetMilliseconds) }
    }

    /// Milliseconds since 1970 UTC on the processes' shifted clock.
    var clock: @Sendable () -> UInt64 {
        let offset = clockOffsetMilliseconds
        return { UInt64(Int64(Date().timeIntervalSince1970 * 1000) + offset) }
    }

    /// `cardPolicy`: the genesis's card policy (issue 19), for the card custodian's tests.
    init(name: String, cardPolicy: CardPolicy? = nil, newcomer: Bool = false) throws {
        names = Self.validatorNames + [Self.observerName] + (newcomer ? [Self.newcomerName] : [])
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kizuna-\(name)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        genesis = Genesis(
            chainId: "local-test-network",
            genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
            validators: Self.validatorNames.map { Validator(name: $0, organisation: "Test \($0)", publicKey: Self.key($0).publicKey, votingPower: 1) },
            authorities: Authorities(coinIssuer: Self.coinIssuer.publicKey, registrar: Self.registrar.publicKey, city: DevelopmentKeys.privateKey("city").publicKey, auditor: DevelopmentKeys.privateKey("auditor").publicKey),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy, cardPolicy: cardPolicy
        )
        try genesis.jsonData().write(to: folder.appendingPathComponent("genesis.json"))
        for name in names {
            apiPorts[name] = try NodeProcess.freePort()
            peerPorts[name] = try NodeProcess.freePort()
        }
        for name in names {
            let nodeFolder = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: nodeFolder, withIntermediateDirectories: true)
            try KeyFile(key: Self.key(name)).write(path: nodeFolder.appendingPathComponent("node.key.json").path)
            if name != Self.observerName {
                try ValidatorJournal.initialize(dataDirectory: nodeFolder.appendingPathComponent("data").path)
            }
            try Data(configuration(name).utf8).write(to: nodeFolder.appendingPathComponent("node.toml"))
        }
    }

    /// Short timeouts so that rounds after a fault pass quickly.
    func configuration(_ name: String) -> String {
        var text = """
        dataDirectory = "data"
        genesisFile = "../genesis.json"
        validatorKeyFile = "node.key.json"
        logLevel = "info"
        commitWaitMilliseconds = 5000

        [api]
        host = "127.0.0.1"
        port = \(apiPorts[name]!)

        [consensus]
        timeoutProposeMilliseconds = 1000
        timeoutPrevoteMilliseconds = 500
        timeoutPrecommitMilliseconds = 500
        timeoutDeltaMilliseconds = 250
        emptyProposalWaitMilliseconds = 300

        [network]

        """
        if Self.validatorNames.contains(name) {
            text += "listen = \"127.0.0.1:\(peerPorts[name]!)\"\n"
            text += "observerKeys = [\"\(Self.observerKey.publicKey.address)\"]\n"
        }
        for peer in Self.validatorNames where peer != name {
            text += """

            [[network.peers]]
            name = "\(peer)"
            address = "127.0.0.1:\(peerDialPorts[peer] ?? peerPorts[peer]!)"
            publicKey = "\(Self.key(peer).publicKey.address)"

            """
        }
        // The published development auditor token ("local-auditor-token", Network/local/*.toml):
        // blocks with certificates are served to members and auditors only (the indexer's tests).
        text += """

        [[access.credentials]]
        name = "local-auditor"
        role = "auditor"
        tokenSha256 = "\(Self.auditorTokenSha256)"

        """
        return text + extraConfiguration
    }

    /// Rewrites every node's configuration (after `peerDialPorts` changed).
    func writeConfigurations() throws {
        for name in names {
            try Data(configuration(name).utf8).write(to: folder.appendingPathComponent(name).appendingPathComponent("node.toml"))
        }
    }

    func dataDirectory(_ name: String) -> String { folder.appendingPathComponent(name).appendingPathComponent("data").path }
    func client(_ name: String) -> NodeClient { NodeClient(baseURL: URL(string: "http://127.0.0.1:\(apiPorts[name]!)")!, clock: clock) }
    func logPath(_ name: String) -> String { folder.appendingPathComponent(name).appendingPathComponent("node-\(runCounts[name, default: 0]).log").path }
    func isRunning(_ name: String) -> Bool { processes[name]?.isRunning == true }

    /// Starts a node (with `arguments` after its configuration) and waits (bounded polls) until
    /// its API answers; false if it exited.
    @discardableResult
    func start(_ name: String, arguments: [String] = []) async throws -> Bool {
        runCounts[name, default: 0] += 1
        let process = Process()
        process.executableURL = NodeProcess.executable()
        process.arguments = ["node", "--config", folder.appendingPathComponent(name).appendingPathComponent("node.toml").path] + arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        FileManager.default.createFile(atPath: logPath(name), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath(name)))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        processes[name] = process
        for _ in 0..<1200 {
            if !process.isRunning { return false }
            if let reply = try? await client(name).get("v1/status"), reply.statusCode == 200 { return true }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }

    func kill(_ name: String) {
        guard let process = processes[name], process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop(_ name: String) {
        guard let process = processes[name], process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: logPath(name), encoding: .utf8)) ?? "" }

    struct Status: Equatable {
        var height: UInt64
        var tipHash: String
        var stateRoot: String
    }

    func status(_ name: String) async -> Status? {
        guard let json = try? await client(name).get("v1/status").json,
              let height = json["height"] as? Int, let tip = json["tipHash"] as? String, let root = json["stateRoot"] as? String else { return nil }
        return Status(height: UInt64(height), tipHash: tip, stateRoot: root)
    }

    /// The block hash and state root a node reports at `height` (nil if it has no such block).
    func header(_ name: String, at height: UInt64) async -> (hash: String, stateRoot: String)? {
        guard let json = try? await client(name).header(at: height).json,
              let hash = json["hash"] as? String, let root = json["stateRoot"] as? String else { return nil }
        return (hash, root)
    }

    /// Polls (at most `polls` × 100 ms, three minutes by default: generous, since the process
    /// tests run side by side on two cores) until `condition` holds; returns whether it did.
    func eventually(polls: Int = 1_800, _ condition: () async -> Bool) async -> Bool {
        for _ in 0..<polls {
            if await condition() { return true }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        return await condition()
    }

    func removeAll() {
        for name in processes.keys { kill(name) }
        try? FileManager.default.removeItem(at: folder)
        if holdsGate {
            holdsGate = false
            Task { await FourValidatorGate.shared.release() }
        }
    }

    /// Whether this network holds `FourValidatorGate` (released by `removeAll`).
    private var holdsGate = false

    /// A network made once no other test's four-validator network runs (`FourValidatorGate`).
    static func exclusive(name: String, cardPolicy: CardPolicy? = nil, newcomer: Bool = false) async throws -> LocalNetworkProcesses {
        await FourValidatorGate.shared.acquire()
        do {
            let network = try LocalNetworkProcesses(name: name, cardPolicy: cardPolicy, newcomer: newcomer)
            network.holdsGate = true
            return network
        } catch {
            await FourValidatorGate.shared.release()
            throw error
        }
    }
}

/// The tests that run four validator processes take turns: side by side with each other (and
/// the rest of the suite) on two cores their bounded waits ran out, and a wait long enough for
/// that load would hide real stalls. Each test takes the gate when it makes its network and
/// gives it back in `removeAll` (its `defer`); the other suites still run in parallel.
actor FourValidatorGate {
    static let shared = FourValidatorGate()
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }
}
