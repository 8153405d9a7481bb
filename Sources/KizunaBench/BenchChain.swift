import KizunaCore
import KizunaChain
import KizunaNode
import KizunaRocksDB
import KizunaAPI
import Hummingbird
import Logging
import Foundation
import Dispatch

/// The keys and genesis of a one-validator chain that the ledger, single-node and audit
/// benchmarks build their workloads on: fresh random keys, the default asset policies, a
/// fixed genesis time.
struct BenchChain {
    let validatorKey = PrivateKey()
    let registrar = PrivateKey()
    let city = PrivateKey()
    let issuer = PrivateKey()
    let genesis: Genesis

    init(chainId: String) {
        genesis = Genesis(
            chainId: chainId, genesisTime: CivilTime.parseRFC3339("2026-04-01T00:00:00+09:00")!,
            validators: [Validator(name: "bench", organisation: "benchmark", publicKey: validatorKey.publicKey, votingPower: 1)],
            authorities: Authorities(coinIssuer: issuer.publicKey, registrar: registrar.publicKey, city: city.publicKey, auditor: PrivateKey().publicKey),
            coin: Genesis.defaultCoinPolicy, point: Genesis.defaultPointPolicy, thanks: Genesis.defaultThanksPolicy
        )
    }
}

/// Commits a benchmark's transactions through a real single-validator `Node` into RocksDB,
/// as the audit and console benchmarks build their chains: transactions are signed and
/// verified on all cores, submitted, then committed in blocks whose timestamps advance by a
/// fixed step from genesis (the block timestamp is the only time the ledger knows, so a
/// chain can span weeks of chain time in minutes). Admission control is off: this is a bulk
/// set-up through the node, not a spike from clients.
final class BenchChainWriter {
    let node: Node
    let blocks: BlockStore
    let chainId: String
    let blockStepMilliseconds: UInt64
    let blockTransactionsMax: Int
    private(set) var clock: UInt64
    private(set) var committed = 0
    private let started = DispatchTime.now()
    private var lastLine = DispatchTime.now()
    private let cores = ProcessInfo.processInfo.activeProcessorCount
    /// For the progress line: how many transactions the chain will hold.
    let expectedTransactions: Int

    init(store: RocksDBStore, genesis: Genesis, validatorKey: PrivateKey, blockTransactionsMax: Int, pendingMax: Int, pendingPerAccountMax: Int, blockStepMilliseconds: UInt64, expectedTransactions: Int, label: String) throws {
        blocks = try BlockStore(store: store, genesis: genesis)
        var configuration = NodeConfiguration.defaults
        configuration.blockTransactionsMax = blockTransactionsMax
        configuration.mempoolTransactionsMax = pendingMax + 10
        configuration.mempoolTransactionsPerAccountMax = max(64, pendingPerAccountMax)
        configuration.admission.enabled = false
        var logger = Logger(label: label)
        logger.logLevel = .warning
        node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: validatorKey, logger: logger)
        chainId = genesis.chainId
        clock = genesis.genesisTime
        self.blockStepMilliseconds = blockStepMilliseconds
        self.blockTransactionsMax = blockTransactionsMax
        self.expectedTransactions = expectedTransactions
    }

    var elapsedSeconds: Double { SingleNodeBenchmark.seconds(since: started) }

    /// Signs and verifies `transactions`, then submits and commits them in order, one block's
    /// worth at a time: after every commit the node re-checks everything pending, so a deep
    /// mempool would cost a set-up O(pending) per block.
    func commit(_ transactions: [(KizunaCore.Transaction, PrivateKey)], progress: (String) -> Void, forceLine: Bool = false) async throws {
        let verified = try AuditBenchmark.signAndVerify(transactions, chainId: chainId, cores: cores)
        var start = 0
        while start < verified.count {
            let end = min(verified.count, start + blockTransactionsMax)
            for transaction in verified[start..<end] {
                try await node.submit(transaction)
            }
            try await commitPending(progress: progress, forceLine: forceLine && end == verified.count)
            start = end
        }
    }

    private func commitPending(progress: (String) -> Void, forceLine: Bool) async throws {
        while await node.pendingCount > 0 {
            clock += blockStepMilliseconds
            committed += try await node.produceBlock(nowMilliseconds: clock).transactions.count
            if forceLine || SingleNodeBenchmark.seconds(since: lastLine) >= 10 {
                lastLine = DispatchTime.now()
                let rate = Double(committed) / elapsedSeconds
                progress(String(format: "chain: %d/%d transactions, %llu blocks, %.0f tx/s, %.0f s left", committed, expectedTransactions, try blocks.tipHeight(), rate, Double(max(0, expectedTransactions - committed)) / max(rate, 1)))
            }
        }
    }
}

/// What a benchmark writes last into its chain folder, once the chain is complete.
protocol BenchChainInfo: Codable, Sendable {
    var genesisHash: String { get }
    /// The build parameters in words: a folder is reused only for the same spec.
    var spec: String { get }
    var blocks: UInt64 { get }
    var transactions: Int { get }
}

/// A benchmark's chain folder: `chain/` (the node's store), `genesis.json` and
/// `chain-info.json` (written last; a folder without it is rebuilt). A chain of a million
/// transactions takes minutes to build, so a later run reuses it.
struct BenchChainFolder {
    let path: String
    var genesisPath: String { path + "/genesis.json" }
    var chainPath: String { path + "/chain" }
    var infoPath: String { path + "/chain-info.json" }

    /// The folder's info if it holds a complete chain built for `spec`, else nil (with the
    /// reason in a progress line).
    func reusable<Info: BenchChainInfo>(spec: String, progress: (String) -> Void) -> Info? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: infoPath), let info = try? JSONDecoder().decode(Info.self, from: data) else {
            progress("\(path) holds no complete chain; rebuilding it")
            return nil
        }
        guard info.spec == spec else {
            progress("\(path) holds \(info.spec); rebuilding it")
            return nil
        }
        do {
            let genesis = try Genesis.load(path: genesisPath)
            guard genesis.hash.hex == info.genesisHash else {
                progress("\(genesisPath) is not the genesis the chain was built from; rebuilding it")
                return nil
            }
            let store = try RocksDBStore(path: chainPath, readOnly: true)
            defer { store.close() }
            let tip = try BlockStore(store: store, genesis: genesis).tipHeight()
            guard tip == info.blocks else {
                progress("\(chainPath) has \(tip) blocks, the chain info says \(info.blocks); rebuilding it")
                return nil
            }
        } catch {
            progress("cannot reuse \(path) (\(error)); rebuilding it")
            return nil
        }
        return info
    }

    /// The folder's chain: reused when it is a complete one built for `spec` (unless `fresh`),
    /// else built by `build`; `reused` says which.
    func chain<Info: BenchChainInfo>(spec: String, fresh: Bool, progress: (String) -> Void, build: () async throws -> Info) async throws -> (info: Info, reused: Bool) {
        if !fresh, let info: Info = reusable(spec: spec, progress: progress) {
            progress("reusing the chain in \(path): \(info.blocks) blocks, \(info.transactions) transactions (--fresh rebuilds it)")
            return (info, true)
        }
        return (try await build(), false)
    }

    /// Empties the folder and writes the genesis a chain will be built from, approved by its
    /// one validator (the founding organisation: a node refuses a genesis without it);
    /// returns the genesis as read back (what the node and the audit will read).
    func prepare(_ genesis: Genesis, validatorKey: PrivateKey) throws -> Genesis {
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try genesis.jsonData(approvals: [try genesis.approve(with: validatorKey)]).write(to: URL(fileURLWithPath: genesisPath))
        let readBack = try Genesis.load(path: genesisPath)
        guard readBack.hash == genesis.hash else { throw BenchChainError(message: "the genesis read back from \(genesisPath) has another hash") }
        return readBack
    }

    func write<Info: BenchChainInfo>(_ info: Info) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(info).write(to: URL(fileURLWithPath: infoPath))
    }
}

struct BenchChainError: Error, CustomStringConvertible {
    let message: String
    var description: String { "bench: \(message)" }
}

/// An observer's node on a stored chain, for a benchmark that reads it over the API: it
/// serves what is stored and produces nothing; its API accepts the one bearer `token` as a
/// `role` (named `name` in its logs); it and its `logger` (`label`) log warnings and worse.
func benchObserverNode(
    genesis: Genesis, blocks: BlockStore, credential name: String, role: NodeConfiguration.Access.Role, token: String, label: String
) throws -> (node: Node, logger: Logger) {
    var configuration = NodeConfiguration.defaults
    configuration.access.credentials = [.init(name: name, role: role, tokenSha256: Hash.sha256(Array(token.utf8)).hex)]
    var logger = Logger(label: label)
    logger.logLevel = .warning
    let node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: PrivateKey(), mode: .consensus, logger: logger)
    return (node, logger)
}

/// Serves `router` (a node's API router) with Hummingbird on a free port of 127.0.0.1, as a
/// node's server does; returns the port and the server's task (cancel it to stop: the end of a
/// benchmark is the server's normal end, so only critical lines are logged).
func serveBenchRouter(_ router: Router<APIRequestContext>, serverName: String, logger: Logger) async throws -> (port: Int, server: Task<Void, any Error>) {
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    var serverLogger = logger
    serverLogger.logLevel = .critical
    let application = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: serverName),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        },
        logger: serverLogger
    )
    let server = Task { try await application.runService() }
    var ports = portStream.makeAsyncIterator()
    guard let port = await ports.next(), port > 0 else {
        server.cancel()
        throw BenchChainError(message: "the \(serverName) server did not start on 127.0.0.1")
    }
    return (port, server)
}
