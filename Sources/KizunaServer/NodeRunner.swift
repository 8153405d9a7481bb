public import Logging
public import KizunaCore
public import KizunaNode
import KizunaAPI
import KizunaConsole
import KizunaChain
import KizunaConsensus
import KizunaNetwork
import KizunaRocksDB
import KizunaStorage
import Hummingbird
import ServiceLifecycle
import Foundation
import Synchronization
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// Starts a node from its configuration: opens the store, checks the stored chain, then
/// runs the block producer and the API under one service group until SIGTERM or SIGINT.
public enum NodeRunner {
    /// - Parameter fromSnapshot: a state snapshot file (`docs/snapshots.md`) to start a new
    ///   data folder from: verified (certificate, block, state root) and installed before the
    ///   chain is opened; ignored, with a notice, when the data folder already holds a chain.
    public static func run(configuration: NodeConfiguration, validatorKey: PrivateKey, fromSnapshot: String? = nil, logger: Logger) async throws {
        // The API's certificate and key are checked before anything else is opened.
        let apiServer = try APITransport.serverBuilder(for: configuration.api)
        let genesis = try Genesis.load(path: configuration.genesisFile)
        logger.info("starting node", metadata: ["chain": "\(genesis.chainId)", "genesis": "\(genesis.hash)", "data": "\(configuration.dataDirectory)"])
        if genesis.isLocalChain {
            logger.warning("this is a LOCAL development chain: its published development keys protect nothing")
        }
        if let offset = try DevelopmentClock.adopt(environment: ProcessInfo.processInfo.environment, chainId: genesis.chainId) {
            logger.warning("the clock of this LOCAL chain's node is shifted for a test", metadata: ["offsetMilliseconds": "\(offset)"])
        }
        var storeOptions = RocksDBConfiguration.default
        storeOptions.blockCacheBytes = configuration.blockCacheMiB << 20
        storeOptions.stateValueCacheBytes = configuration.stateValueCacheMiB << 20
        storeOptions.stateCompactionAtCloseBytesMax = UInt64(configuration.stateCompactionAtCloseMiB) << 20
        let store = try RocksDBStore(path: configuration.dataDirectory + "/chain", configuration: storeOptions)
        defer { store.close() }
        if let fromSnapshot {
            switch try NodeSnapshot.prepare(store: store, snapshotPath: fromSnapshot, genesis: genesis) {
            case .installed(let summary):
                logger.notice("started the data folder from a state snapshot; blocks below it are not held", metadata: [
                    "snapshot": "\(fromSnapshot)", "height": "\(summary.height)", "block": "\(summary.blockHash)",
                    "stateRoot": "\(summary.stateRoot)", "records": "\(summary.records)",
                ])
            case .alreadyHeld(let tipHeight):
                logger.notice("the data folder already holds the chain; the snapshot is not used", metadata: ["snapshot": "\(fromSnapshot)", "height": "\(tipHeight)"])
            }
        }
        let blocks = try BlockStore(store: store, genesis: genesis, treeCacheLevels: configuration.stateTreeCacheLevels) { indexedHeight, tipHeight in
            // Only a data folder of store format version 1 gets here (ADR 0006).
            logger.notice("migrating the store from format version 1: building the account-history index", metadata: [
                "height": "\(indexedHeight)", "tip": "\(tipHeight)",
            ])
        } treeMigrationProgress: { done, entries in
            // Only a data folder of store format version 1 or 2 gets here (ADR 0023).
            logger.notice("migrating the store to format version 3: rebuilding the state tree in pages", metadata: [
                "entries": "\(done)", "of": "\(entries)",
            ])
        }
        if let formatBefore = blocks.formatVersionAtOpen, formatBefore < BlockStore.formatVersion {
            // What a version-4 folder changes from now on; a version-3 one also starts storing
            // blocks compact. Nothing already stored is rewritten.
            let compact = formatBefore < 4 ? "blocks committed from now on are stored in the compact form (ADR 0029); " : ""
            logger.notice("the store is now of format version \(BlockStore.formatVersion): \(compact)transactions committed from now on are indexed by 8 bytes of their id (ADR 0031); the blocks and index entries already stored stay as they are and read the same; an older release refuses this folder", metadata: [
                "formatBefore": "\(formatBefore)",
            ])
        }
        let summary = try ChainVerifier(blocks: blocks).verify { height, tip in
            logger.info("verifying stored chain", metadata: ["height": "\(height)", "tip": "\(tip)"])
        }
        logger.info("stored chain verified", metadata: [
            "height": "\(summary.height)", "tip": "\(summary.tipHash)", "stateRoot": "\(summary.stateRoot)",
            "transactions": "\(summary.transactions)", "stateEntries": "\(summary.stateEntries)", "snapshotHeight": "\(summary.snapshotHeight)",
        ])
        let mode: Node.Mode = configuration.network == nil ? .single : .consensus
        let node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: validatorKey, mode: mode, logger: logger)
        node.metrics.addCollector { [store, blocks] metrics in
            let tree = blocks.stateTreeCacheCounts
            metrics.set("kizuna_state_tree_cache_hits_total", Double(tree.hits))
            metrics.set("kizuna_state_tree_cache_misses_total", Double(tree.misses))
            guard let statistics = store.stateValueCacheStatistics else { return }
            metrics.set("kizuna_state_value_cache_hits_total", Double(statistics.hits))
            metrics.set("kizuna_state_value_cache_misses_total", Double(statistics.misses))
            metrics.set("kizuna_state_value_cache_entries", Double(statistics.entries))
            metrics.set("kizuna_state_value_cache_bytes", Double(statistics.bytes))
        }
        var services: [any Service]
        if let networkSettings = configuration.network {
            services = [try await consensusService(node: node, blocks: blocks, genesis: genesis, key: validatorKey, configuration: configuration, network: networkSettings, logger: logger)]
        } else {
            services = [BlockProducerService(node: node, intervalMilliseconds: configuration.blockIntervalMilliseconds, logger: logger)]
        }
        // The web console (docs/console.md) on the API's port, with its summaries kept current.
        let console = configuration.console.enabled ? try Console(node: node, logger: logger) : nil
        if let console { services.append(ConsoleService(console: console)) }
        bootstrapMetrics(node.metrics)
        var allServices = services
        if let listen = configuration.metrics?.listen, let (metricsHost, metricsPort) = NodeConfiguration.hostAndPort(listen) {
            allServices.append(Application(
                router: APIServer.metricsRouter(node: node),
                configuration: .init(address: .hostname(metricsHost, port: metricsPort), serverName: "kizuna-metrics"),
                onServerRunning: { _ in
                    logger.notice("operator metrics listening", metadata: ["url": "http://\(metricsHost):\(metricsPort)/metrics"])
                },
                logger: logger
            ))
        }
        let host = configuration.api.host
        let port = configuration.api.port
        let scheme = configuration.api.usesTLS ? "https" : "http"
        let application = Application(
            router: APIServer.router(node: node, addRoutes: { router in console?.addRoutes(to: router) }),
            server: apiServer,
            configuration: .init(address: .hostname(host, port: port), serverName: "kizuna"),
            services: allServices,
            onServerRunning: { _ in
                logger.notice("API listening", metadata: ["url": "\(scheme)://\(host):\(port)/v1/status"])
                if console != nil { logger.notice("console listening", metadata: ["url": "\(scheme)://\(host):\(port)/console"]) }
            },
            logger: logger
        )
        try await application.runService()
        logger.notice("node stopped", metadata: ["height": "\((try? blocks.tipHeight()) ?? 0)"])
    }

    private static let metricsBootstrapped = NIOLockedValueBox(false)

    /// Whether `KIZUNA_DEV_PLAIN_PEER_LINKS` asks for peer links without encryption.
    /// - Throws: `node.development_plain_links` on a chain that is not local, or a value not `1`.
    public static func developmentPlainLinks(environment: [String: String], genesis: Genesis) throws(Node.StartError) -> Bool {
        guard let text = environment[DevelopmentPlainLinks.environmentVariable] else { return false }
        guard genesis.isLocalChain else {
            throw Node.StartError(.developmentPlainLinks, "\(DevelopmentPlainLinks.environmentVariable) turns off the encryption of peer links on a LOCAL development chain only (a benchmark's baseline); chain '\(genesis.chainId)' is not one")
        }
        guard text == "1" else {
            throw Node.StartError(.developmentPlainLinks, "\(DevelopmentPlainLinks.environmentVariable)='\(text)': set it to 1, or leave it unset for encrypted links")
        }
        return true
    }

    /// Points swift-metrics (process-wide, once) at the node's registry, so the API's
    /// per-route request histograms are rendered with the node's metrics.
    static func bootstrapMetrics(_ metrics: NodeMetrics) {
        let first = metricsBootstrapped.withLockedValue { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: metrics.registry)
        factory.defaultDurationHistogramBuckets = NodeMetrics.durations(NodeMetrics.apiBucketsSeconds)
        MetricsSystem.bootstrap(factory)
    }

    /// Wires the consensus engine, the peer network and the node's gossip hook.
    static func consensusService(node: Node, blocks: BlockStore, genesis: Genesis, key: PrivateKey, configuration: NodeConfiguration,
                                 network settings: NodeConfiguration.Network, logger: Logger) async throws -> ConsensusService {
        // A genesis validator dials the validators with greater keys (each pair once); any
        // other node — an observer, or a validator governance added (ADR 0018), whose address
        // the others' configurations do not hold — dials every peer it is given.
        let isValidator = genesis.validators.validator(for: key.publicKey) != nil
        if DevelopmentKeys.allPublicKeys.contains(key.publicKey) && !genesis.isLocalChain {
            throw Node.StartError(.developmentKey, "refusing to run with a published DEVELOPMENT key on chain '\(genesis.chainId)'")
        }
        if isValidator {
            // A node set up by an earlier version kept its signer record in a file of its own.
            let recordFile = configuration.signerStateFile ?? configuration.validatorKeyFile + ".signer-state"
            var journal = StoreConsensusJournal(store: blocks.store)
            if try ValidatorJournal.importRecordFile(at: recordFile, into: &journal) {
                logger.notice("imported the signer record of an earlier version into the consensus journal", metadata: ["file": "\(recordFile)", "renamedTo": "\(recordFile).imported"])
            }
        }
        let engine = try ConsensusEngine(node: node, blocks: blocks, key: key, settings: configuration.consensus, logger: logger)
        var peers: [PeerAddress] = []
        for peer in settings.peers {
            // Validated when the configuration was loaded.
            guard let (host, port) = NodeConfiguration.hostAndPort(peer.address), let address = try? Address(parsing: peer.publicKey) else { continue }
            peers.append(PeerAddress(name: peer.name, host: host, port: port, publicKey: address.publicKey))
        }
        var allowed = Set(genesis.validators.validators.map(\.publicKey))
        for text in settings.observerKeys {
            if let address = try? Address(parsing: text) { allowed.insert(address.publicKey) }
        }
        let listen = settings.listen.flatMap(NodeConfiguration.hostAndPort)
        var peerConfiguration = PeerNetworkConfiguration(
            handshake: HandshakeConfiguration(chainId: genesis.chainId, privateKey: key, allowedKeys: allowed, governedKeys: engine.governedKeys),
            listenHost: listen?.host, listenPort: listen?.port ?? 0, peers: peers, dialsEveryPeer: !isValidator,
            frameBytesMax: settings.frameBytesMax, outboundBytesMaxPerPeer: settings.outboundQueueBytesMaxPerPeer)
        peerConfiguration.plainLinksForDevelopment = try developmentPlainLinks(environment: ProcessInfo.processInfo.environment, genesis: genesis)
        if peerConfiguration.plainLinksForDevelopment {
            logger.warning("peer links of this LOCAL chain's node are NOT encrypted (\(DevelopmentPlainLinks.environmentVariable)): a benchmark's baseline only")
        }
        let network = PeerNetwork(configuration: peerConfiguration) { event in engine.deliver(event) }
        await engine.attach(network)
        await node.setAdmissionObserver { transaction in engine.gossip(transaction) }
        return ConsensusService(engine: engine, network: network, logger: logger)
    }
}

/// Runs the peer network and the consensus engine until shutdown.
struct ConsensusService: Service {
    let engine: ConsensusEngine
    let network: PeerNetwork
    let logger: Logger

    func run() async throws {
        let port = try await network.start()
        if network.configuration.listenHost != nil {
            logger.notice("peer network listening", metadata: ["address": "\(network.configuration.listenHost ?? ""):\(port)"])
        }
        await withTaskCancellationOrGracefulShutdownHandler {
            await engine.run()
        } onCancelOrGracefulShutdown: {
            engine.finishInbox()
        }
        await network.stop()
    }
}

/// Ticks the node's block producer on a real clock until shutdown.
/// Keeps the console's summaries current until shutdown.
struct ConsoleService: Service {
    let console: Console

    func run() async throws {
        try await cancelWhenGracefulShutdown { await console.run() }
    }
}

struct BlockProducerService: Service {
    let node: Node
    let intervalMilliseconds: UInt64
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await node.produceIfDue(nowMilliseconds: wallClockMilliseconds())
                } catch {
                    // A failed commit leaves the store as it was (the batch is atomic), but
                    // a node that cannot write must not pretend to run: stop loudly.
                    logger.critical("block production failed; stopping", metadata: ["error": "\(error)"])
                    fatalError("block production failed: \(error)")
                }
                try? await Task.sleep(nanoseconds: intervalMilliseconds * 1_000_000)
            }
        }
    }
}
