import ArgumentParser
import Foundation
import KizunaChain
import KizunaCore
import KizunaNode
import KizunaRocksDB
import KizunaAudit
import KizunaWallet

/// The remote source has the methods of `ChainSource`; the wallet module cannot see the
/// protocol, so the conformance is declared here.

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify a whole chain from genesis without trusting its source, and reproduce the statutory reports.",
        discussion: """
        Source: a node's data folder (--data, read-only, also while the node runs; the stored \
        state is compared with the replay value by value), an export file (--export), or a \
        remote node's API (--remote, with a member's or auditor's token from --token-file or \
        the environment variable KIZUNA_TOKEN). \
        Checks every block's hash link and header, every commit certificate against the \
        validator set, every transaction signature (on all cores), and replays the ledger \
        checking each block's state root and the invariants of design §2.4. Stops at the first \
        failure, says what and where, and exits 1. See docs/audit.md.
        """
    )

    @Option(help: "The genesis JSON the chain must start from (the auditor's own copy).") var genesis: String
    @Option(help: "A node's data folder.") var data: String?
    @Option(help: "An export file written by `kizuna export`.") var export: String?
    @Option(help: "A node's API, e.g. http://127.0.0.1:8080 (blocks are read with a member's or auditor's token).") var remote: String?
    @Option(help: "A file holding the bearer token for --remote (else the environment variable KIZUNA_TOKEN).") var tokenFile: String?
    @Option(help: "Write the summary and reports as JSON to this file.") var json: String?
    @Option(help: "Write the reports as a Markdown document to this file.") var markdown: String?
    @Option(help: "The invariants are checked after every block at the cost of what it changed, and by a scan of the whole state at the tip; also scan the whole state every N blocks (0: only at the tip).") var invariantsEvery: UInt64 = 0
    @Option(help: "An export file of a chain already trusted: the audit fails at the first height where the chains differ.") var reference: String?
    @Option(help: "Audit up to this height only (default: the source's tip), e.g. to set the reports beside a running node's `?height=` answers; below the tip the stored state is not compared.") var height: UInt64?

    func run() throws {
        guard [data, export, remote].compactMap({ $0 }).count == 1 else { throw ValidationError("give exactly one source: --data, --export or --remote") }
        guard tokenFile == nil || remote != nil else { throw ValidationError("--token-file goes with --remote") }
        let genesisValue = try Genesis.load(path: genesis)
        let source: any ChainSource
        var storedState: RocksDBStore?
        if let data {
            let store = try RocksDBStore(path: data + "/chain", readOnly: true)
            storedState = store
            source = try BlockStore(store: store, genesis: genesisValue)
        } else if let remote {
            source = try remoteSource(remote)
        } else {
            let file = try ExportFile(path: export!)
            guard (try? Genesis(json: file.genesisJSON))?.hash == genesisValue.hash else {
                print("AUDIT FAILED at block 0: genesis: the export's genesis is not the one given with --genesis")
                throw ExitCode(1)
            }
            source = file
        }
        var auditor = ChainAuditor(genesis: genesisValue, source: source)
        auditor.invariantsEveryBlocks = invariantsEvery
        if let reference { auditor.reference = try ExportFile(path: reference) }
        auditor.throughHeight = height
        let result: (summary: ChainAuditor.Summary, replica: BlockStore)
        do {
            result = try auditor.run(storedState: storedState) { progress in
                let line = String(format: "\raudit: block %llu/%llu  %.0f blocks/s  %.0f tx/s  %.0f s left   ", progress.height, progress.tip, progress.blocksPerSecond, progress.transactionsPerSecond, progress.secondsLeft)
                FileHandle.standardError.write(Data(line.utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("\n".utf8))
            print(error)
            throw ExitCode(1)
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let summary = result.summary
        print("ok: \(summary.blocks) blocks, \(summary.transactions) transactions, tip \(summary.tipHash), state root \(summary.stateRoot), invariants \(summary.invariants)\(summary.storedStateCompared ? ", stored state equals the replay" : "") (\(String(format: "%.1f", summary.seconds)) s)")
        let report = try AuditReport(summary: summary, replica: result.replica)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
        if let markdown {
            try Data(report.markdown.utf8).write(to: URL(fileURLWithPath: markdown))
        }
    }

    /// The node's API as a source. The token comes from a file or the environment, never
    /// from an argument (which every user of the machine sees in `ps`).
    func remoteSource(_ remote: String) throws -> RemoteChainSource {
        guard let url = URL(string: remote), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw ValidationError("--remote must be an http:// or https:// URL, e.g. http://127.0.0.1:8080")
        }
        let token: String?
        if let tokenFile {
            guard let contents = FileManager.default.contents(atPath: tokenFile) else { throw ValidationError("cannot read the token file \(tokenFile)") }
            token = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if let attributes = try? FileManager.default.attributesOfItem(atPath: tokenFile), let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0 {
                warn("warning: \(tokenFile) is readable by other users (mode \(String(mode, radix: 8))); chmod 600 it")
            }
        } else {
            token = ProcessInfo.processInfo.environment["KIZUNA_TOKEN"]?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if token?.isEmpty ?? true {
            warn("warning: no token (--token-file or KIZUNA_TOKEN): the node serves blocks only to members and auditors")
        }
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host.lowercased()) || host.hasPrefix("127.")
        if scheme == "http", !loopback, token != nil {
            warn("warning: \(remote) is plain HTTP: the token travels in clear; use https:// (docs/api.md §4)")
        }
        return RemoteChainSource(baseURL: url, token: (token?.isEmpty ?? true) ? nil : token)
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a node's chain (genesis, blocks, certificates) to one portable file for auditors.",
        discussion: "Reads the data folder read-only. The format is in docs/audit.md."
    )

    @OptionGroup var chain: StoredChain
    @Option(help: "The export file to write.") var out: String

    func run() throws {
        let blocks = try chain.open()
        guard let genesisJSON = FileManager.default.contents(atPath: chain.genesis) else { throw ValidationError("cannot read \(chain.genesis)") }
        try ExportFile.write(from: blocks, genesisJSON: genesisJSON, to: out) { height, tip in
            FileHandle.standardError.write(Data("\rexport: block \(height)/\(tip)   ".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print("wrote \(out): \(try blocks.tipHeight()) blocks")
    }
}
