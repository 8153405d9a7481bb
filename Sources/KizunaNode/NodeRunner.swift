public import Logging
public import KizunaCore
import KizunaChain
import KizunaRocksDB
import KizunaStorage
import Hummingbird
import ServiceLifecycle
import Foundation

/// Starts a node from its configuration: opens the store, checks the stored chain, then
/// runs the block producer and the API under one service group until SIGTERM or SIGINT.
public enum NodeRunner {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }

    /// Loads the genesis document at `path`.
    public static func loadGenesis(path: String) throws -> Genesis {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GenesisError(.unreadable, "cannot read the genesis file \(path)")
        }
        return try Genesis(json: data)
    }

    public static func run(configuration: NodeConfiguration, validatorKey: PrivateKey, logger: Logger) async throws {
        let genesis = try loadGenesis(path: configuration.genesisFile)
        logger.info("starting node", metadata: ["chain": "\(genesis.chainId)", "genesis": "\(genesis.hash)", "data": "\(configuration.dataDirectory)"])
        if genesis.isLocalChain {
            logger.warning("this is a LOCAL development chain: its published development keys protect nothing")
        }
        let store = try RocksDBStore(path: configuration.dataDirectory + "/chain")
        defer { store.close() }
        let blocks = try BlockStore(store: store, genesis: genesis)
        let summary = try ChainVerifier(blocks: blocks).verify { height, tip in
            logger.info("verifying stored chain", metadata: ["height": "\(height)", "tip": "\(tip)"])
        }
        logger.info("stored chain verified", metadata: [
            "height": "\(summary.height)", "tip": "\(summary.tipHash)", "stateRoot": "\(summary.stateRoot)",
            "transactions": "\(summary.transactions)", "stateEntries": "\(summary.stateEntries)",
        ])
        let node = try Node(configuration: configuration, genesis: genesis, blocks: blocks, key: validatorKey, logger: logger)
        let producer = BlockProducerService(node: node, intervalMilliseconds: configuration.blockIntervalMilliseconds, logger: logger)
        let host = configuration.api.host
        let port = configuration.api.port
        let application = Application(
            router: APIServer.router(node: node),
            configuration: .init(address: .hostname(host, port: port), serverName: "kizuna"),
            services: [producer],
            onServerRunning: { _ in
                logger.notice("API listening", metadata: ["url": "http://\(host):\(port)/v1/status"])
            },
            logger: logger
        )
        try await application.runService()
        logger.notice("node stopped", metadata: ["height": "\((try? blocks.tipHeight()) ?? 0)"])
    }
}

/// Ticks the node's block producer on a real clock until shutdown.
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
