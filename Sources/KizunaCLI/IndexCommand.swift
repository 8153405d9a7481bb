import ArgumentParser
import Foundation
import KizunaCore
import KizunaIndexer
import KizunaNode
import Logging

/// `kizuna index`: the indexer into PostgreSQL (docs/indexer.md).
struct IndexCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Follow a node's committed blocks and write them, verified, into PostgreSQL for the city's data platform.",
        discussion: """
        A separate process beside a node. It reads each committed block with its certificate \
        from the node's API (GET /v1/blocks/{height}/canonical, with a member's or auditor's \
        token), verifies it as `kizuna audit` does (certificate against the genesis validator \
        set, every signature, replay of the ledger with the state root and the invariants), and \
        writes blocks, transactions, receipts, settlement and program records and the opt-in, \
        suppressed payment aggregates into the schema `kizuna`, and views for BI tools into \
        `kizuna_bi` (the only schema the BI role may read). Each batch of blocks is written in \
        one PostgreSQL transaction together with the indexed height and tip hash, so a crash at \
        any instant loses nothing and doubles nothing: start it again and it resumes.

        The configuration file (TOML; relative paths from its folder):

          genesisFile = "genesis.json"     # the chain's genesis
          logLevel = "info"                # trace … critical
          [node]
          url = "http://127.0.0.1:8081"    # the node's API
          tokenFile = "auditor.token"      # else KIZUNA_TOKEN
          [postgres]
          host = "127.0.0.1"
          port = 5432
          user = "kizuna_indexer"          # owns kizuna, kizuna_bi
          passwordFile = "pg.password"     # else KIZUNA_POSTGRES_PASSWORD
          database = "kizuna"
          biRole = "kizuna_bi"             # gets the BI views only
          [indexer]
          batchBlocksMax = 64              # blocks per transaction
          pollMilliseconds = 500           # wait at the node's tip
          invariantsEveryBlocks = 0        # also scan the whole state every N blocks (0: never)

        Exit status: 0 when --until-height or --once is reached; 1 with a coded error \
        (indexer.bad_config, indexer.wrong_chain, indexer.fork, indexer.verify_failed, \
        indexer.node, indexer.database, indexer.concurrent_writer, indexer.schema_version, \
        indexer.value_out_of_range) on standard error. The schema, the views, the roles and \
        resumption are in docs/indexer.md.
        """
    )

    @Option(help: "The indexer's configuration file (TOML).") var config: String
    @Option(help: "Stop once this height is indexed (default: follow the node for ever).") var untilHeight: UInt64?
    @Flag(help: "Index up to the node's tip as it is at the start, then stop.") var once = false
    @Option(help: "Log lines as text (swift-log's) or json (one object per line, for log collectors).") var logFormat: LogFormat = .text

    func run() async throws {
        let configuration = try await exitingOnError { try IndexerConfiguration.load(path: config) }
        let logger = bootstrapLogging(level: configuration.logLevel, format: logFormat, label: "kizuna.index")
        try await exitingOnError(logger: logger) {
            let indexer = try Indexer(configuration: configuration, logger: logger)
            logger.info("indexing \(indexer.genesis.chainId) from \(configuration.nodeURL) into \(configuration.postgres.database) at \(configuration.postgres.host):\(configuration.postgres.port)")
            try await indexer.run(untilHeight: untilHeight, once: once) { progress in
                // One line per batch on standard output (the log has the details).
                FileHandle.standardOutput.write(Data(("index: height \(progress.height)/\(progress.nodeTip), \(progress.blocks) blocks and \(progress.transactions) transactions in this run, \(Int(progress.blocksPerSecond)) blocks/s, \(Int(progress.transactionsPerSecond)) tx/s\n").utf8))
            }
        }
    }
}
