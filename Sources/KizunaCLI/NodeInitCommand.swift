import ArgumentParser
import Foundation
import KizunaNode

/// `kizuna node init`: writes a commented configuration with every setting at its default, so
/// an operator edits a file that already names everything the node reads (issue 20).
struct NodeInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented default node configuration (TOML).",
        discussion: """
        Every optional setting is written commented out at its default, with what it means; \
        the three paths are written as given (relative to the file's folder). Refuses to \
        overwrite a file. Field by field: docs/operations.md, "Configuration".
        """
    )

    @Option(help: "Where to write the configuration (a .toml name).") var out: String = "node.toml"
    @Option(help: "The data folder (RocksDB in chain/ inside it).") var data: String = "data"
    @Option(help: "The genesis file (with every founding organisation's approval).") var genesis: String = "genesis.json"
    @Option(help: "This node's key file (`kizuna keys`).") var key: String = "validator.key.json"

    func run() throws {
        guard out.hasSuffix(".toml") else { throw ValidationError("--out must name a .toml file") }
        guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("\(out) already exists; choose another path") }
        try Data(Self.text(data: data, genesis: genesis, key: key).utf8).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
        print("wrote \(out): edit [api], [network] and [[access.credentials]], then `kizuna node --config \(out)`")
    }

    /// The configuration text; every commented value is the default of `NodeConfiguration`
    /// (a test parses it with each line uncommented).
    static func text(data: String, genesis: String, key: String) -> String {
        let defaults = NodeConfiguration.defaults
        let admission = defaults.admission
        let consensus = defaults.consensus
        return """
        # A Kizuna node (written by `kizuna node init`; docs/operations.md, "Configuration").
        # Relative paths are relative to this file's folder. Unknown fields are refused.
        dataDirectory = "\(data)"
        genesisFile = "\(genesis)"
        validatorKeyFile = "\(key)"

        # trace, debug, info, notice, warning, error or critical.
        # logLevel = "\(defaults.logLevel)"
        # Single-validator mode only (no [network]): how often the producer looks for pending
        # transactions, and the longest time between blocks (so time-based rules run).
        # blockIntervalMilliseconds = \(defaults.blockIntervalMilliseconds)
        # emptyBlockIntervalMilliseconds = \(defaults.emptyBlockIntervalMilliseconds)
        # Transactions per block.
        # blockTransactionsMax = \(defaults.blockTransactionsMax)
        # Pending transactions in all and per account (503 mempool.full / 429 past them).
        # mempoolTransactionsMax = \(defaults.mempoolTransactionsMax)
        # mempoolTransactionsPerAccountMax = \(defaults.mempoolTransactionsPerAccountMax)
        # A pending transaction older than this leaves the mempool (mempool.expired).
        # mempoolTransactionTtlMilliseconds = \(defaults.mempoolTransactionTtlMilliseconds)
        # On a network: transactions a proposal left out that wait for the next commit.
        # deferredTransactionsMax = \(defaults.deferredTransactionsMax)
        # Largest request body, in bytes.
        # requestBodyBytesMax = \(defaults.requestBodyBytesMax)
        # How long ?wait=commit waits, and how many such requests may wait at once.
        # commitWaitMilliseconds = \(defaults.commitWaitMilliseconds)
        # commitWaitersMax = \(defaults.commitWaitersMax)
        # Storage (docs/operations.md): levels of the state tree kept in memory (0-22), MiB of
        # RocksDB's block cache and of state values kept in memory, and the most MiB of state
        # and tree files a clean stop compacts (0: never).
        # stateTreeCacheLevels = \(defaults.stateTreeCacheLevels)
        # blockCacheMiB = \(defaults.blockCacheMiB)
        # stateValueCacheMiB = \(defaults.stateValueCacheMiB)
        # stateCompactionAtCloseMiB = \(defaults.stateCompactionAtCloseMiB)

        [api]
        # Where the HTTP API (and the console at /console) listens.
        host = "\(defaults.api.host)"
        port = \(defaults.api.port)
        # HTTPS on this port: set tlsCertificateFile (PEM chain, the server's certificate
        # first) and tlsKeyFile (its unencrypted PEM key) together; without them, plain HTTP.

        # The operator's metrics port: with it, /metrics and /health are served there and not
        # on the API port.
        # [metrics]
        # listen = "127.0.0.1:9464"

        # [console]
        # enabled = \(defaults.console.enabled)
        # Set when browsers reach the console over HTTPS (a TLS-terminating proxy).
        # secureCookie = \(defaults.console.secureCookie)
        # sessionMinutes = \(defaults.console.sessionMinutes)
        # sessionsMax = \(defaults.console.sessionsMax)

        # Spike admission control (docs/api.md §6).
        # [admission]
        # enabled = \(admission.enabled)
        # queueMilliseconds = \(admission.queueMilliseconds)
        # operationsLanePercent = \(admission.operationsLanePercent)
        # initialTransactionsPerSecond = \(admission.initialTransactionsPerSecond)
        # laneTransactionsMin = \(admission.laneTransactionsMin)
        # accountTransactionsUnderLoadMax = \(admission.accountTransactionsUnderLoadMax)
        # nonceGapWaitMilliseconds = \(admission.nonceGapWaitMilliseconds)

        # Consensus timeouts (docs/consensus.md); round r adds r × delta.
        # [consensus]
        # timeoutProposeMilliseconds = \(consensus.timeoutProposeMilliseconds)
        # timeoutPrevoteMilliseconds = \(consensus.timeoutPrevoteMilliseconds)
        # timeoutPrecommitMilliseconds = \(consensus.timeoutPrecommitMilliseconds)
        # timeoutDeltaMilliseconds = \(consensus.timeoutDeltaMilliseconds)
        # emptyProposalWaitMilliseconds = \(consensus.emptyProposalWaitMilliseconds)

        # With [network] the node runs consensus with its peers (links encrypted and bound to
        # the validator keys, docs/network.md); without it, it is a single validator.
        # [network]
        # listen = "0.0.0.0:26601"
        # observerKeys = []
        #
        # [[network.peers]]
        # name = "chamber"
        # address = "chamber.example:26601"
        # publicKey = "kz1…"

        # Members and auditors: the SHA-256 (hex) of each bearer token (docs/api.md §3).
        # [[access.credentials]]
        # name = "city-audit-office"
        # role = "auditor"
        # tokenSha256 = "…"

        """
    }
}
