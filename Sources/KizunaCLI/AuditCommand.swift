import ArgumentParser
import Foundation
import KizunaChain
import KizunaCore
import KizunaNode
import KizunaRocksDB

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify a whole chain from genesis without trusting its source, and reproduce the statutory reports.",
        discussion: """
        Source: a node's data folder (--data, read-only, also while the node runs; the stored \
        state is compared with the replay value by value) or an export file (--export). \
        Checks every block's hash link and header, every commit certificate against the \
        validator set, every transaction signature (on all cores), and replays the ledger \
        checking each block's state root and the invariants of design §2.4. Stops at the first \
        failure, says what and where, and exits 1. See docs/audit.md.
        """
    )

    @Option(help: "The genesis JSON the chain must start from (the auditor's own copy).") var genesis: String
    @Option(help: "A node's data folder.") var data: String?
    @Option(help: "An export file written by `kizuna export`.") var export: String?
    @Option(help: "Write the summary and reports as JSON to this file.") var json: String?
    @Option(help: "Write the reports as a Markdown document to this file.") var markdown: String?
    @Option(help: "Check the invariants every N blocks (always at the tip).") var invariantsEvery: UInt64 = 1
    @Option(help: "An export file of a chain already trusted: the audit fails at the first height where the chains differ.") var reference: String?

    func run() throws {
        guard (data == nil) != (export == nil) else { throw ValidationError("give exactly one source: --data or --export") }
        let genesisValue = try NodeRunner.loadGenesis(path: genesis)
        let source: any ChainSource
        var storedState: RocksDBStore?
        if let data {
            let store = try RocksDBStore(path: data + "/chain", readOnly: true)
            storedState = store
            source = try BlockStore(store: store, genesis: genesisValue)
        } else {
            let file = try ExportFile(path: export!)
            guard (try? Genesis(json: file.genesisJSON))?.hash == genesisValue.hash else {
                print("AUDIT FAILED at block 0: genesis: the export's genesis is not the one given with --genesis")
                throw ExitCode(1)
            }
            source = file
        }
        var auditor = ChainAuditor(genesis: genesisValue, source: source)
        auditor.invariantsEveryBlocks = max(1, invariantsEvery)
        if let reference { auditor.reference = try ExportFile(path: reference) }
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
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a node's chain (genesis, blocks, certificates) to one portable file for auditors.",
        discussion: "Reads the data folder read-only. The format is in docs/audit.md."
    )

    @Option(help: "The node's data folder.") var data: String
    @Option(help: "The genesis JSON file.") var genesis: String
    @Option(help: "The export file to write.") var out: String

    func run() throws {
        let blocks = try openChain(data: data, genesisPath: genesis)
        guard let genesisJSON = FileManager.default.contents(atPath: genesis) else { throw ValidationError("cannot read \(genesis)") }
        try ExportFile.write(from: blocks, genesisJSON: genesisJSON, to: out) { height, tip in
            FileHandle.standardError.write(Data("\rexport: block \(height)/\(tip)   ".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print("wrote \(out): \(try blocks.tipHeight()) blocks")
    }
}
