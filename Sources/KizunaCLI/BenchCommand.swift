import ArgumentParser
import Foundation
import KizunaNode

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: a single validator (default) and the ledger state machine.",
        subcommands: [Node.self, LedgerStateMachine.self],
        defaultSubcommand: Node.self
    )

    struct LedgerStateMachine: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ledger",
            abstract: "Payments applied per second by the state machine alone, on a state of N residents with live lots.",
            discussion: "Signatures are verified before the clock starts. Execution (with the state-tree update) and the synced commit are timed separately."
        )
        @Option(help: "Residents in the state, each with coins and a live point lot.") var accounts = 100_000
        @Option(help: "Payments to apply in the measured phase.") var payments = 20_000
        @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench-ledger"
        @Option(help: "Also write the result as JSON to this file.") var json: String?

        func run() throws {
            let result = try LedgerBenchmark(accounts: accounts, payments: payments, folder: folder).run { print("bench: \($0)") }
            print("""

            | measure | value |
            |---|---|
            | residents (each with a live lot) | \(result.accounts) |
            | state entries | \(result.stateEntries) |
            | payments | \(result.payments) |
            | payments/s, execute + state root (one core) | \(Int(result.paymentsPerSecondExecute)) |
            | payments/s, including synced commits | \(Int(result.paymentsPerSecondWithCommit)) |
            | set-up time | \(Int(result.setupSeconds)) s |
            """)
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(result).write(to: URL(fileURLWithPath: json))
            }
        }
    }
}

extension BenchCommand {
  struct Node: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Measure a single validator committing transfers into RocksDB.",
        discussion: """
        Measures, in one run: Ed25519 verifications per second (one core and all cores), synced \
        RocksDB write batches per second, then the node's committed transactions and blocks per \
        second for a stream of pre-signed sends (verification, execution, state commitment and \
        the synced commit included), and bytes on disk per transaction after compaction. \
        Build in release for meaningful numbers: swift build -c release.
        """
    )

    @Option(help: "Residents to register and fund.") var residents = 1000
    @Option(help: "Sends to commit in the measured phase.") var transfers = 20_000
    @Option(help: "Transactions per block.") var blockTransactions = 2000
    @Option(help: "Scratch folder (deleted and recreated).") var folder = ".kizuna/bench"
    @Option(help: "Also write the result as JSON to this file.") var json: String?

    func run() async throws {
        let benchmark = SingleNodeBenchmark(residents: residents, transfers: transfers, blockTransactionsMax: blockTransactions, folder: folder)
        let result = try await benchmark.run { print("bench: \($0)") }
        print("""

        | measure | value |
        |---|---|
        | cores | \(result.cores) |
        | Ed25519 verify/s, one core | \(Int(result.ed25519VerifyPerSecondOneCore)) |
        | Ed25519 verify/s, all cores | \(Int(result.ed25519VerifyPerSecondAllCores)) |
        | synced RocksDB batches/s | \(Int(result.syncedBatchesPerSecond)) |
        | committed transactions/s | \(Int(result.transactionsPerSecond)) |
        | committed blocks/s | \(String(format: "%.1f", result.blocksPerSecond)) (\(result.blocks) blocks of ≤\(blockTransactions)) |
        | ratio to the verify bound (all cores ÷ 1 validator) | \(String(format: "%.2f", result.ratioToVerifyBound)) |
        | bytes on disk per transaction (after compaction) | \(Int(result.bytesOnDiskPerTransaction)) |
        """)
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        }
    }
}
}
