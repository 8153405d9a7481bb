import ArgumentParser
import Foundation
import KizunaCore
import KizunaChain
import KizunaNode
import KizunaServer
import KizunaWallet
import Logging

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a node from its configuration file.",
        discussion: """
        The configuration (TOML if the file name ends in .toml, else JSON) names the data \
        folder, the genesis file, the node's key file, the API address and, for a network, the \
        peers to connect to; see docs/operations.md. With a [network] section the node runs \
        consensus with its peers (a key outside the validator set makes it an observer that \
        replicates without voting); without one it is a single validator that commits alone. \
        The node checks its stored chain on start (hash links, certificates, state root) and \
        refuses a store that does not match its genesis. Stop it with SIGTERM or Ctrl-C; the \
        data stays and a restart resumes (a validator needs its signer record: \
        `kizuna signer init --data <dataDirectory>` once). Metrics: GET /metrics on the API port \
        (or the [metrics] port). `kizuna node init` writes a commented default configuration.
        """,
        subcommands: [NodeInitCommand.self]
    )

    @Option(name: .long, help: "Path of the node configuration file (.toml or .json); required to run a node.")
    var config: String?

    @Option(name: .long, help: "Override the API port of the configuration.")
    var apiPort: Int?

    @Option(name: .long, help: "File whose first line is the passphrase of a sealed key file (`kizuna keys --passphrase-file`); or set KIZUNA_KEY_PASSPHRASE_FILE.")
    var passphraseFile: String?

    @Option(name: .long, help: "Log lines as text (swift-log's) or json (one object per line, for log collectors).")
    var logFormat: LogFormat = .text

    @Option(name: .long, help: "A state snapshot file (`kizuna snapshot create`) to start a NEW data folder from: verified against the genesis validators and the state root, then the node syncs from the height after it (docs/snapshots.md). Ignored when the data folder already holds the chain.")
    var fromSnapshot: String?

    func run() async throws {
        guard let config else {
            throw ValidationError("--config <file> is required to run a node; `kizuna node init` writes a commented one")
        }
        var configuration = try refusingAsUsage { try NodeConfiguration.load(path: config) }
        if let apiPort { configuration.api.port = apiPort }
        let logger = bootstrapLogging(level: configuration.logLevel, format: logFormat, label: "kizuna.node")
        let key = try loadKey(path: configuration.validatorKeyFile, passphraseFile: passphraseFile)
        do {
            try await NodeRunner.run(configuration: configuration, validatorKey: key, fromSnapshot: fromSnapshot, logger: logger)
        } catch let error as GenesisError {
            // A genesis the node refuses is the operator's to fix: say so on stderr plainly.
            logger.critical("node refused its genesis", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("kizuna node: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as SnapshotError {
            // A refused snapshot is the operator's to fix (another file, or from genesis).
            logger.critical("node refused its snapshot", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("kizuna node: \(error)\n".utf8))
            throw ExitCode(1)
        } catch {
            logger.critical("node failed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

/// Sends every log to standard error at `level` (a configuration's `logLevel`; `info` when it
/// names no level) in `format`, and returns the command's logger.
func bootstrapLogging(level: String, format: LogFormat, label: String) -> Logger {
    format.bootstrap(level: Logger.Level(rawValue: level) ?? .info)
    return Logger(label: label)
}

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate an Ed25519 key and write it to a key file (mode 0600).",
        discussion: "Prints the address (kz1…). The key file holds the private seed: keep it off shared disks."
    )

    @Option(name: .long, help: "Where to write the key file. Refuses to overwrite.")
    var out: String

    func run() throws {
        guard !FileManager.default.fileExists(atPath: out) else {
            throw ValidationError("\(out) already exists; choose another path")
        }
        let key = PrivateKey()
        try KeyFile(key: key).write(path: out)
        print(key.publicKey.address)
    }
}

struct DevKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-keys",
        abstract: "Write the published DEVELOPMENT keys of the local network.",
        discussion: """
        These keys are derived from a phrase in Kizuna's source: anyone can compute them, so \
        they protect nothing. Nodes accept them only on chains whose id starts with 'local-'.
        """
    )

    @Option(name: .long, help: "Folder to write the key files to.")
    var out: String

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for name in DevelopmentKeys.names {
            let path = "\(out)/\(name).key.json"
            let key = DevelopmentKeys.privateKey(name)
            if FileManager.default.fileExists(atPath: path) {
                guard (try? KeyFile.load(path: path))?.publicKey == key.publicKey else {
                    throw ValidationError("\(path) exists and is not the development key '\(name)'")
                }
                continue
            }
            try KeyFile(key: key, note: "DEVELOPMENT KEY, published in Kizuna's source. NEVER use in production.").write(path: path)
            print("\(name)\t\(key.publicKey.address)")
        }
    }
}

/// `--log-format text|json` on the long-running commands (node, index).
extension LogFormat: ExpressibleByArgument {}
